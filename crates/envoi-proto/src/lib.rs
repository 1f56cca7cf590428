//! Sans-IO HTTP/1.1 for clients: bytes in, events out.
//!
//! `envoi-proto` is the protocol core shared by every front end of envoi (blocking, async and
//! poll-driven) and by its command-line tool. Every framing decision lives here, so all of
//! them frame bytes identically.
//!
//! **In scope:** encoding request heads and validating every field before a byte is produced;
//! framing request bodies (known length as a `u64`, or chunked); parsing response heads from
//! any split of the input; interim 1xx responses; the response body length per RFC 9112 §6.3;
//! chunked decoding with trailers; whether the connection can carry another request, and a
//! typed reason when it cannot; limits on everything the peer can make us buffer.
//!
//! **Out of scope:** sockets, clocks, threads, TLS, name resolution, URLs (beyond the
//! request-target), redirects, cookies, content codings. The caller moves the bytes; time is
//! the caller's too (for instance how long to wait for `100 Continue`).
//!
//! # A whole exchange
//!
//! ```
//! use envoi_proto::{Connection, Event, RequestHead, RequestTarget};
//!
//! let mut conn = Connection::default();
//! let mut head = RequestHead::new(http::Method::POST, RequestTarget::parse("/post")?);
//! head.try_append("Host", "127.0.0.1")?;
//! head.try_append("Transfer-Encoding", "chunked")?;
//!
//! let mut out = Vec::new();
//! conn.send_request(&head, &mut out)?;
//! conn.send_body(b"hello", &mut out)?;
//! conn.finish_body(None, &mut out)?;
//! assert_eq!(
//!     out,
//!     b"POST /post HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n\
//!       5\r\nhello\r\n0\r\n\r\n"
//! );
//!
//! // Whatever the transport delivers, in whatever pieces.
//! conn.receive(b"HTTP/1.1 200 OK\r\nContent-Le");
//! assert!(matches!(conn.next_event()?, Event::NeedData));
//! conn.receive(b"ngth: 2\r\n\r\nok");
//! let Event::ResponseHead(response) = conn.next_event()? else { panic!() };
//! assert_eq!(response.status(), 200);
//! let Event::Data(body) = conn.next_event()? else { panic!() };
//! assert_eq!(&body[..], b"ok");
//! assert!(matches!(conn.next_event()?, Event::End));
//! assert!(conn.ready_for_request());
//! # Ok::<(), envoi_proto::Error>(())
//! ```
//!
//! # Errors
//!
//! One [`Error`] type with a stable [`ErrorKind`]. [`Error::is_peer_violation`] tells a peer
//! that broke HTTP from a caller that asked for something impossible; the error names the
//! header, the byte offset and the connection state where that helps.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod body;
mod connection;
mod error;
mod event;
mod framing;
mod head;
mod limits;
mod state;

pub use body::encode::DataFrame;
pub use connection::Connection;
pub use error::{Error, ErrorKind};
pub use event::Event;
pub use framing::BodyFraming;
pub use head::request::{RequestBody, RequestHead, RequestTarget, TargetForm};
pub use head::response::{RawField, ResponseHead};
pub use limits::{
    Limits, DEFAULT_MAX_CHUNK_LINE, DEFAULT_MAX_HEADERS, DEFAULT_MAX_HEAD_SIZE,
    DEFAULT_MAX_INFORMATIONAL, DEFAULT_MAX_TRAILER_SIZE,
};
pub use state::{CloseReason, ReadState, WriteState};

// Re-exported so callers name the same versions of the types in this API.
pub use bytes;
pub use http;
