//! The poll-driven front end, for game and UI loops that must never block and may have no
//! async runtime: call `poll()` once a frame and look at the status (Godot's `HTTPClient` and
//! `HTTPRequest`).
//!
//! - [`HttpClient`]: one connection to one host at a time, reused for request after request;
//!   the caller sends each request and reads the body in chunks.
//! - [`Request`]: one whole request (redirects, cookies, decoding, limits, download to a
//!   file, timeout), ending with a [`Completion`] that holds a [`RequestResult`].
//!
//! Nothing in `poll()` waits: names are resolved on one resolver thread fed by a queue, a
//! download file is written on one writer thread the same way, connects and TLS handshakes
//! are non-blocking (rustls driven by hand), reads and writes stop at `WouldBlock`, and each
//! call does a bounded amount of work. Every rule (framing,
//! redirects, cookies, decoding, limits, timeouts, certificate checks) is the code the
//! blocking and async front ends run.
//!
//! ```no_run
//! use std::time::Duration;
//! use envoi::poll::{Request, RequestResult};
//!
//! let mut request = Request::new();
//! request.request("http://127.0.0.1:8080/get", &[], http::Method::GET, "")?;
//! let completion = loop {
//!     if let Some(done) = request.poll() {
//!         break done;
//!     }
//!     std::thread::sleep(Duration::from_millis(16)); // one frame
//! };
//! assert_eq!(completion.result(), RequestResult::Success);
//! println!("{:?}: {} bytes", completion.response_code(), completion.body().len());
//! # Ok::<(), envoi::Error>(())
//! ```

mod body;
mod client;
mod coalesce;
mod connect;
mod download_writer;
mod driver;
mod link;
mod query;
mod raw;
mod read_block;
mod request;
mod resolver;
mod result;
mod stream;
mod threaded;
mod wire;

pub use client::{HttpClient, DEFAULT_READ_CHUNK_SIZE};
pub use query::{query_string_from_dict, QueryValue};
pub use request::{Completion, Request};
pub use result::{result_for, RequestResult};

use crate::error::{Error, ErrorKind};

/// Where an [`HttpClient`] stands (Godot's `HTTPClient.Status`, with the same numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// No connection.
    Disconnected = 0,
    /// Resolving the host name (on the resolver thread).
    Resolving = 1,
    /// The host name could not be resolved.
    CantResolve = 2,
    /// Connecting: TCP, a proxy tunnel, the TLS handshake.
    Connecting = 3,
    /// No connection could be made (or the proxy refused the tunnel).
    CantConnect = 4,
    /// Connected and ready for a request.
    Connected = 5,
    /// Sending a request, or waiting for the response head.
    Requesting = 6,
    /// The response head is in; its body is to be read.
    Body = 7,
    /// The connection failed during a request (reset, closed early, malformed response,
    /// timeout).
    ConnectionError = 8,
    /// The TLS handshake failed (a certificate check, a refused client certificate, no
    /// common protocol).
    TlsHandshakeError = 9,
}

impl Status {
    /// True for the statuses a client moves on from by itself as `poll()` is called.
    pub fn is_waiting(self) -> bool {
        matches!(
            self,
            Status::Resolving | Status::Connecting | Status::Requesting
        )
    }

    /// True for the statuses a failure leaves.
    pub fn is_error(self) -> bool {
        matches!(
            self,
            Status::CantResolve
                | Status::CantConnect
                | Status::ConnectionError
                | Status::TlsHandshakeError
        )
    }
}

/// A port as Godot passes it: a number, or −1 (`None`) for the default (80, 443 with TLS; for
/// a proxy, none). Converts from `u16`, `i32` and `Option<u16>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Port(PortValue);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PortValue {
    Default,
    Number(u16),
    Invalid(i64),
}

impl Port {
    /// The port number, or `None` for the default (−1).
    pub fn number(self) -> Option<u16> {
        match self.0 {
            PortValue::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The number, or the scheme's default port; an out-of-range number is an error.
    fn or_default(self, https: bool) -> Result<u16, Error> {
        match self.0 {
            PortValue::Default => Ok(if https { 443 } else { 80 }),
            PortValue::Number(n) => Ok(n),
            PortValue::Invalid(n) => Err(Error::new(
                ErrorKind::InvalidUrl,
                format!("port {n} is not a TCP port"),
            )),
        }
    }
}

impl From<u16> for Port {
    fn from(port: u16) -> Self {
        Port(PortValue::Number(port))
    }
}

impl From<Option<u16>> for Port {
    fn from(port: Option<u16>) -> Self {
        port.map_or(Port(PortValue::Default), Port::from)
    }
}

impl From<i32> for Port {
    /// −1 (any negative number) is the default; above 65,535 is refused when used.
    fn from(port: i32) -> Self {
        match u16::try_from(port) {
            Ok(n) => Port(PortValue::Number(n)),
            Err(_) if port < 0 => Port(PortValue::Default),
            Err(_) => Port(PortValue::Invalid(port.into())),
        }
    }
}
