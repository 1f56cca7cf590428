//! envoi: an HTTP client with one protocol core and three front ends.
//!
//! The protocol core, [`proto`] (the `envoi-proto` crate), performs no I/O: it takes bytes and
//! returns events, and every framing decision lives there. The front ends built on it move
//! bytes and wait:
//!
//! - **blocking**: `envoi::blocking::Client`, a synchronous client over std sockets and rustls.
//! - **async**: `envoi::AsyncClient` on tokio (feature `tokio`, on by default): `send().await`,
//!   bodies as `tokio::io::AsyncRead` or a `Stream` of `Bytes`, a request body streamed after
//!   the head through `envoi::AsyncUpload` (`tokio::io::AsyncWrite`), one pool shared across tasks.
//! - **poll-driven**: `envoi::poll::HttpClient` and `envoi::poll::Request` (Godot's
//!   `HTTPClient` and `HTTPRequest`; feature `poll`, on by default), driven by calling
//!   `poll()` once a frame from a game or UI loop; nothing in it blocks.
//!
//! Features, all on by default: `url` (`url::Url` accepted wherever a URL is, and
//! international domain names in URLs given as text), `poll` (the poll-driven front end),
//! `tokio` (the async front end), `gzip` (gzip and deflate), `brotli` and `zstd` (content
//! decoding; a coding whose feature is off is not asked for and arrives raw), `cookies` (the
//! cookie jar, with the public suffix list), `charset` (`text()` in the charset
//! Content-Type names; UTF-8 only without it), `native-roots` (the platform's trust store),
//! `multipart` (`multipart/form-data` bodies), `socks` (SOCKS5 proxies) and `digest` (Digest
//! authentication). A program that wants a small binary and a quick build sets
//! `default-features = false` and picks what it uses.
//!
//! URLs are [`Url`], envoi's own type: it parses and joins as the `url` crate does (WHATWG),
//! without the Unicode tables that crate builds for international domain names, which the
//! `url` feature brings back, with `url::Url::try_from(response.url())` for code that wants
//! the `url` crate's type.

// The few system calls std lacks are in `transport/os.rs`, the one module
// allowed unsafe code.
#![deny(unsafe_code)]

#[cfg(feature = "tokio")]
mod async_client;
pub mod blocking;
mod config;
mod error;
mod event;
mod exchange;
pub mod http_url;
#[cfg(feature = "multipart")]
pub mod multipart;
pub mod policy;
#[cfg(feature = "poll")]
pub mod poll;
mod pool;
mod proxy;
mod request;
mod request_builder;
mod response_meta;
pub mod tls;
mod transport;
mod whole_body;
pub mod winhttp;

#[cfg(feature = "tokio")]
pub use async_client::{
    AsyncClient, AsyncCompletion, AsyncRequestBuilder, AsyncResponse, AsyncUpload, BodyStream,
};
pub use config::{
    ClientBuilder, IpVersion, DEFAULT_BUSY_POLL, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_EXPECT_CONTINUE_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_IDLE_PER_HOST,
};
pub use envoi_proto as proto;
pub use error::{Error, ErrorKind, IgnoreFlag, TimeoutPhase};
pub use event::{Event, EventKind, Timings};
pub use http_url::Url;
pub use policy::{Auth, CancelHandle, DownloadFile, Progress, RedirectPolicy, RetryPolicy};
#[cfg(feature = "cookies")]
pub use policy::{CookieJar, StoredCookie};
pub use proxy::{EnvProxies, Proxy, ProxyKind};
pub use request::{Body, IntoUrl, Request, UserValue};
pub use transport::dns::{Resolve, SystemResolver};
#[cfg(feature = "socks")]
pub use transport::socks::SocksFailure;
