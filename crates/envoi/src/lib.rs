//! envoi: an HTTP client with one protocol core and three front ends.
//!
//! The protocol core, [`proto`] (the `envoi-proto` crate), performs no I/O: it takes bytes and
//! returns events, and every framing decision lives there. The front ends built on it move
//! bytes and wait:
//!
//! - **blocking**: `envoi::blocking::Client`, a synchronous client over std sockets and rustls
//!   (not yet built: issue 4).
//! - **async**: `envoi::AsyncClient` on tokio (not yet built: issue 6).
//! - **poll-driven**: `envoi::poll::HttpClient` and `envoi::poll::Request`, driven by calling
//!   `poll()` once a frame from a game or UI loop (not yet built: issue 7).
//!
//! Until those land, this crate re-exports the protocol core.

pub use envoi_proto as proto;
