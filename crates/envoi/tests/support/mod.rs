//! What every behaviour test needs: the test server, and one way per front end to send a
//! request and collect the outcome.

#![allow(dead_code)]

use std::time::Duration;

#[cfg(feature = "tokio")]
mod async_front;
#[cfg(feature = "tokio")]
#[allow(unused_imports)]
pub use async_front::Async;

pub use envoi::{ClientBuilder, Error, ErrorKind, Request};
#[allow(unused_imports)]
pub use envoi_testserver::{CertKind, TestServer};
pub use http::Method;

#[cfg(feature = "poll")]
mod poll_front;
#[cfg(feature = "poll")]
#[allow(unused_imports)]
pub use poll_front::Poll;

/// What a front end made of one request.
#[derive(Debug)]
pub struct Outcome {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Outcome {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// A way to send a request and read the whole response.
pub trait FrontEnd {
    /// Builds a client from `builder`, sends `request` and reads its body to the end.
    fn fetch(&self, builder: ClientBuilder, request: &Request) -> Result<Outcome, Error>;
}

/// The blocking client.
pub struct Blocking;

impl FrontEnd for Blocking {
    fn fetch(&self, builder: ClientBuilder, request: &Request) -> Result<Outcome, Error> {
        let client = builder.build()?;
        let response = client.execute(request)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes()?.to_vec();
        Ok(Outcome {
            status,
            headers,
            body,
        })
    }
}

/// Every event kind a client sees, in order.
pub type SeenEvents = std::sync::Arc<std::sync::Mutex<Vec<envoi::EventKind>>>;

/// `builder` with an observer that records every event kind; the record comes with it.
pub fn recording(builder: ClientBuilder) -> (ClientBuilder, SeenEvents) {
    let seen = SeenEvents::default();
    let sink = std::sync::Arc::clone(&seen);
    let builder = builder.observer(move |e| sink.lock().unwrap().push(e.kind.clone()));
    (builder, seen)
}

/// A client builder with timeouts that keep a broken test from hanging.
pub fn builder() -> ClientBuilder {
    ClientBuilder::new()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
}

/// A client builder that trusts the test server's CA.
pub fn tls_builder(server: &TestServer) -> ClientBuilder {
    builder().tls(tls_options(server))
}

pub fn tls_options(server: &TestServer) -> envoi::tls::TlsOptions {
    let ca = envoi::tls::Certificate::from_pem(server.ca_cert_pem().as_bytes()).unwrap();
    ca.into_iter().fold(
        envoi::tls::TlsOptions::default()
            .root_certificates(envoi::tls::RootCertificates::OnlyAdded),
        envoi::tls::TlsOptions::add_root_certificate,
    )
}

pub fn get(url: &str) -> Request {
    Request::new(Method::GET, url).unwrap()
}

/// The kind of the error `result` holds, failing the test on success.
pub fn error_kind<T: std::fmt::Debug>(result: Result<T, Error>) -> ErrorKind {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(e) => e.kind(),
    }
}
