//! [`HttpClient`]: one connection to one host at a time, driven by `poll()` (Godot's
//! `HTTPClient`).

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use envoi_proto::{RequestHead, ResponseHead};
use http::{HeaderMap, Method};

use super::link::{Opening, TlsSetup};
use super::stream::{PollStream, Transport};
use super::wire::{Phase, Wire};
use super::{Port, Status};

mod response;
use crate::config::{ClientBuilder, Config};
use crate::error::{Error, ErrorKind};
use crate::event::{EventKind, EventSink};
use crate::exchange::{timeout, Deadlines};
use crate::request::BodySource;
use crate::tls::TlsOptions;
use crate::transport::route::Route;

/// Godot's default `read_chunk_size`.
pub const DEFAULT_READ_CHUNK_SIZE: usize = 64 * 1024;
/// Longest single wait of the opt-in blocking mode before deadlines are looked at again.
const BLOCKING_SLICE: Duration = Duration::from_millis(50);

/// A low-level HTTP/1.1 client for loops that must not block (Godot's `HTTPClient`): connect
/// to a host, then send requests one after another on that connection and read each
/// response in chunks. Call [`poll`](Self::poll) once a frame; nothing in it waits.
///
/// ```no_run
/// use envoi::poll::{HttpClient, Status};
///
/// let mut client = HttpClient::new();
/// client.connect_to_host("127.0.0.1", 8080, None)?;
/// while matches!(client.poll(), Status::Resolving | Status::Connecting) {
///     // draw a frame
/// }
/// client.request(http::Method::GET, "/get", &["Accept: application/json"], "")?;
/// while client.poll() == Status::Requesting {}
/// let mut body = Vec::new();
/// while client.status() == Status::Body {
///     body.extend_from_slice(&client.read_response_body_chunk());
/// }
/// println!("{:?}: {} bytes", client.response_code(), body.len());
/// # Ok::<(), envoi::Error>(())
/// ```
///
/// Failures leave the client in one of the error statuses ([`Status::CantResolve`],
/// [`Status::CantConnect`], [`Status::ConnectionError`], [`Status::TlsHandshakeError`]);
/// [`last_error`](Self::last_error) says exactly what went wrong, as a typed [`Error`].
pub struct HttpClient {
    config: Arc<Config>,
    conn: Conn,
    status: Status,
    error: Option<Error>,
    response: Option<ResponseHead>,
    trailers: Option<HeaderMap>,
    /// What the last failed request had done, for the retry decisions of `poll::Request`.
    failed_hop: Option<HopFacts>,
    pub(crate) sink: EventSink,
    deadlines: Deadlines,
    read_chunk_size: usize,
    blocking: bool,
    /// Whether body reads close together wait for a worthwhile amount (`poll/coalesce.rs`);
    /// off under a `poll::Request`, whose steps batch reads themselves.
    coalesce_reads: bool,
}

enum Conn {
    None,
    Opening(Box<Opening>),
    Open(Box<Wire>),
}

/// What a request on a connection had done when it failed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HopFacts {
    pub(crate) reused: bool,
    pub(crate) written: u64,
    pub(crate) answered: bool,
}

impl Default for HttpClient {
    fn default() -> Self {
        HttpClient::new()
    }
}

impl HttpClient {
    /// A client with the default settings.
    pub fn new() -> HttpClient {
        HttpClient::with_config(Arc::new(Config::default()))
    }

    /// A client with the builder's settings: default headers, limits, resolver and `resolve`
    /// overrides, proxies, TLS options (used when `connect_to_host` is given none) and
    /// timeouts (connect, read, write; Godot's client has none of its own).
    pub fn from_builder(builder: ClientBuilder) -> Result<HttpClient, Error> {
        Ok(HttpClient::with_config(Arc::new(builder.finish()?)))
    }

    pub(crate) fn with_config(config: Arc<Config>) -> HttpClient {
        let now = Instant::now();
        HttpClient {
            sink: EventSink::new(config.observer.clone(), None, now),
            deadlines: Deadlines::for_config(&config, now),
            config,
            conn: Conn::None,
            status: Status::Disconnected,
            error: None,
            response: None,
            trailers: None,
            failed_hop: None,
            read_chunk_size: DEFAULT_READ_CHUNK_SIZE,
            blocking: false,
            coalesce_reads: true,
        }
    }

    /// Starts connecting to `host` (a name or an IP address, optionally prefixed with
    /// `http://` or `https://`). `port` −1 (or `None`) means 80, or 443 with TLS. TLS is used
    /// when `tls` is given or the host says `https://` (then with the builder's TLS options).
    /// Any connection open before is closed. Resolution and the connection go on in
    /// [`poll`](Self::poll): the status is [`Status::Resolving`] now.
    pub fn connect_to_host(
        &mut self,
        host: &str,
        port: impl Into<Port>,
        tls: Option<TlsOptions>,
    ) -> Result<(), Error> {
        let (https, host) = match (host.strip_prefix("https://"), host.strip_prefix("http://")) {
            (Some(rest), _) => (true, rest),
            (None, Some(rest)) => (tls.is_some(), rest),
            (None, None) => (tls.is_some(), host),
        };
        let route = self.route_for(https, host, port.into())?;
        let setup = match https {
            true => Some(tls_setup(
                tls.as_ref().unwrap_or(&self.config.tls),
                &route.host,
            )?),
            false => None,
        };
        self.reset(Instant::now());
        let opening = Opening::start(Arc::clone(&self.config), route, setup, &mut self.sink);
        self.conn = Conn::Opening(Box::new(opening));
        self.status = Status::Resolving;
        Ok(())
    }

    /// Uses a stream the caller provides as the connection to `host` (Godot's `connection`
    /// property): any `Read + Write` that returns `WouldBlock` instead of waiting (a blocking
    /// one makes `poll()` block). `host` and `port` name the origin for the Host header; with
    /// `tls`, a TLS handshake runs over the stream first (status [`Status::Connecting`]),
    /// otherwise the client is [`Status::Connected`] at once.
    pub fn connect_over(
        &mut self,
        stream: impl Read + Write + Send + 'static,
        host: &str,
        port: impl Into<Port>,
        tls: Option<TlsOptions>,
    ) -> Result<(), Error> {
        let route = self.route_for(tls.is_some(), host, port.into())?;
        self.reset(Instant::now());
        let transport = Transport::Custom(Box::new(stream));
        match tls {
            Some(options) => {
                let setup = tls_setup(&options, &route.host)?;
                let config = Arc::clone(&self.config);
                let opening = Opening::over(config, route, transport, setup, &mut self.sink)?;
                self.conn = Conn::Opening(Box::new(opening));
                self.status = Status::Connecting;
            }
            None => self.opened(PollStream::plain(transport), None, route),
        }
        Ok(())
    }

    /// The route to `host:port` with this client's proxy rules, checked as a URL would be.
    fn route_for(&self, https: bool, host: &str, port: Port) -> Result<Route, Error> {
        let port = port.or_default(https)?;
        let scheme = if https { "https" } else { "http" };
        let host = match host.contains(':') && !host.starts_with('[') {
            true => format!("[{host}]"),
            false => host.to_owned(),
        };
        let text = format!("{scheme}://{host}:{port}/");
        let url = crate::Url::parse(&text).map_err(|e| {
            Error::new(ErrorKind::InvalidUrl, format!("host `{host}`: {e}")).with_source(e)
        })?;
        Route::for_url(&url, &self.config)
    }

    /// Makes progress without blocking (unless blocking mode is on) and returns the status.
    /// Resolution answers are picked up, connects and TLS handshakes advance, request bytes
    /// go out and the response head is read; the body is read by
    /// [`read_response_body_chunk`](Self::read_response_body_chunk).
    pub fn poll(&mut self) -> Status {
        self.step(Instant::now());
        while self.blocking && self.status.is_waiting() {
            self.wait(BLOCKING_SLICE);
            self.step(Instant::now());
        }
        self.status
    }

    pub(crate) fn step(&mut self, now: Instant) {
        match &mut self.conn {
            Conn::None => {}
            Conn::Opening(opening) => {
                if self.deadlines.connect().is_some_and(|d| now >= d) {
                    let (host, port) = opening.route().connect_target();
                    let error = Error::new(
                        ErrorKind::Timeout(opening.phase()),
                        format!("{host}:{port}"),
                    );
                    let status = opening.failed_status();
                    return self.fail(status, error);
                }
                match opening.step(now, &mut self.sink) {
                    Ok(None) => self.status = opening.status(),
                    Ok(Some((stream, peer))) => {
                        let route = opening.route().clone();
                        self.opened(stream, peer, route);
                    }
                    Err(e) => {
                        let status = opening.failed_status();
                        self.fail(status, e);
                    }
                }
            }
            Conn::Open(wire) => match wire.phase() {
                Phase::Idle if wire.stream.is_stale() => {
                    // The server closed the idle connection (Godot notices it the same way).
                    self.conn = Conn::None;
                    self.status = Status::Disconnected;
                }
                Phase::Idle | Phase::Body => {}
                Phase::Requesting => {
                    let deadline = match wire.sending() {
                        true => self.deadlines.write(|| wire.progress_at()),
                        false => self.deadlines.read(|| wire.progress_at()),
                    };
                    if deadline.is_some_and(|d| now >= d) {
                        let error = timeout(wire.timeout_phase());
                        return self.fail(Status::ConnectionError, error);
                    }
                    match wire.pump(now, &mut self.sink) {
                        Ok(()) => self.after_pump(),
                        Err(e) => self.fail(failure_status(&e), e),
                    }
                }
            },
        }
    }

    fn after_pump(&mut self) {
        let Conn::Open(wire) = &self.conn else {
            return;
        };
        if let (None, Some(head)) = (&self.response, wire.head()) {
            self.response = Some(head.clone());
        }
        match wire.phase() {
            Phase::Requesting => self.status = Status::Requesting,
            Phase::Body => self.status = Status::Body,
            Phase::Idle => self.after_body(),
        }
    }

    fn opened(&mut self, stream: PollStream, peer: Option<std::net::SocketAddr>, route: Route) {
        let mut proto = envoi_proto::Connection::new(self.config.limits.clone());
        proto.set_title_case_headers(self.config.title_case_headers);
        let expect = self.config.expect_continue_timeout;
        self.conn = Conn::Open(Box::new(Wire::new(stream, proto, peer, route, expect)));
        self.status = Status::Connected;
    }

    /// The body is complete: the connection stays when it may carry another request.
    fn after_body(&mut self) {
        let Conn::Open(wire) = &self.conn else {
            return;
        };
        self.trailers = wire.trailers().cloned();
        if wire.ready_for_request() {
            self.status = Status::Connected;
        } else {
            self.conn = Conn::None;
            self.status = Status::Disconnected;
        }
    }

    pub(crate) fn fail(&mut self, status: Status, error: Error) {
        self.drop_connection(status);
        self.error = Some(error);
    }

    /// Closes a failed connection, noting what its request had done.
    fn drop_connection(&mut self, status: Status) {
        if let Conn::Open(wire) = &self.conn {
            self.failed_hop = Some(HopFacts {
                reused: wire.reused(),
                written: wire.written(),
                answered: wire.proto.response_bytes_received() > 0,
            });
        }
        self.conn = Conn::None;
        self.status = status;
    }

    fn reset(&mut self, now: Instant) {
        self.close();
        self.sink = EventSink::new(self.config.observer.clone(), None, now);
        self.deadlines = Deadlines::for_config(&self.config, now);
    }

    /// The status as of the last call.
    pub fn status(&self) -> Status {
        self.status
    }

    /// What went wrong, when the status is an error status (or a request was refused).
    pub fn last_error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// Takes the last error out of the client.
    pub fn take_error(&mut self) -> Option<Error> {
        self.error.take()
    }

    /// Sends a request with a text body on the connected host. `target` is the part after
    /// the host (`/path?query`), an absolute URL for a proxy (a path is made absolute when an
    /// HTTP proxy is in use, as Godot does), `host:port` for CONNECT, or `*` for OPTIONS.
    /// `headers` are `Name: value` lines; Host, the client's default headers and
    /// Content-Length are added when missing. Refused (nothing sent) unless the status is
    /// [`Status::Connected`], or when a header or the target is invalid.
    pub fn request(
        &mut self,
        method: Method,
        target: &str,
        headers: &[&str],
        body: &str,
    ) -> Result<(), Error> {
        let body = Bytes::copy_from_slice(body.as_bytes());
        self.request_raw(method, target, headers, body)
    }

    /// [`request`](Self::request) with a body of raw bytes, sent as they are.
    pub fn request_raw(
        &mut self,
        method: Method,
        target: &str,
        headers: &[&str],
        body: impl Into<Bytes>,
    ) -> Result<(), Error> {
        let body = body.into();
        let route = match &self.conn {
            Conn::Open(wire) if wire.ready_for_request() => wire.route.clone(),
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    format!("the client is {:?}, not Connected", self.status),
                ))
            }
        };
        let head = super::raw::head(&self.config, &route, method, target, headers, body.len())?;
        let now = Instant::now();
        self.deadlines = Deadlines::for_config(&self.config, now);
        self.send(&head, BodySource::Bytes(body), now)
    }

    /// Sends a request on the open, ready connection. `poll()` then writes it and reads the
    /// response head.
    pub(crate) fn send(
        &mut self,
        head: &RequestHead,
        body: BodySource,
        now: Instant,
    ) -> Result<(), Error> {
        let Conn::Open(wire) = &mut self.conn else {
            return Err(Error::new(ErrorKind::InvalidRequest, "not connected"));
        };
        if wire.carried_a_request() {
            if let Some(addr) = wire.peer {
                self.sink.emit(EventKind::Connected { addr, reused: true });
            }
        }
        self.response = None;
        self.trailers = None;
        self.error = None;
        self.failed_hop = None;
        match wire.start(head, body, now, &mut self.sink) {
            Ok(()) => {
                self.status = Status::Requesting;
                Ok(())
            }
            Err(e) => {
                // The core refused before anything was written; the connection is unusable.
                self.conn = Conn::None;
                self.status = Status::Disconnected;
                Err(e)
            }
        }
    }

    /// Closes the connection; the client can connect again. The status turns
    /// [`Status::Disconnected`].
    pub fn close(&mut self) {
        self.conn = Conn::None;
        self.status = Status::Disconnected;
        self.error = None;
        self.response = None;
        self.trailers = None;
        self.failed_hop = None;
    }

    /// Sends `http` requests through the proxy at `host:port` (absolute-form targets), from
    /// the next `connect_to_host` on. An empty host or port −1 removes it.
    pub fn set_http_proxy(&mut self, host: &str, port: impl Into<Port>) {
        let proxy = super::raw::proxy(host, port.into());
        Arc::make_mut(&mut self.config).http_proxy = proxy;
    }

    /// Sends `https` requests through a CONNECT tunnel by the proxy at `host:port`, from the
    /// next `connect_to_host` on. An empty host or port −1 removes it.
    pub fn set_https_proxy(&mut self, host: &str, port: impl Into<Port>) {
        let proxy = super::raw::proxy(host, port.into());
        Arc::make_mut(&mut self.config).https_proxy = proxy;
    }

    /// Opt-in blocking mode: `poll()` waits until the status is no longer Resolving,
    /// Connecting or Requesting, and a chunk read waits until the chunk is full or the body
    /// ends (within the client's timeouts). Off by default.
    pub fn set_blocking_mode(&mut self, on: bool) {
        self.blocking = on;
    }

    /// Whether blocking mode is on.
    pub fn is_blocking_mode_enabled(&self) -> bool {
        self.blocking
    }

    /// `application/x-www-form-urlencoded` text from `fields`; see
    /// [`query_string_from_dict`](super::query_string_from_dict).
    pub fn query_string_from_dict<K, V>(fields: impl IntoIterator<Item = (K, V)>) -> String
    where
        K: AsRef<str>,
        V: Into<super::QueryValue>,
    {
        super::query_string_from_dict(fields)
    }

    // ---- For `poll::Request` ------------------------------------------------------------

    /// Starts a request's use of this client: its settings, events and deadlines.
    pub(crate) fn begin(&mut self, config: Arc<Config>, sink: EventSink, deadlines: Deadlines) {
        self.config = config;
        self.sink = sink;
        self.deadlines = deadlines;
        self.error = None;
        self.failed_hop = None;
    }

    /// Replaces the deadlines (a new hop of the same request).
    pub(crate) fn set_deadlines(&mut self, deadlines: Deadlines) {
        self.deadlines = deadlines;
    }

    /// True when the connection is open to `route`, idle, and still alive; any other
    /// connection is closed.
    pub(crate) fn ready_for(&mut self, route: &Route) -> bool {
        let ready = match &mut self.conn {
            Conn::Open(wire) => {
                wire.route == *route && wire.ready_for_request() && !wire.stream.is_stale()
            }
            _ => false,
        };
        if !ready {
            self.close();
        }
        ready
    }

    /// Starts opening a connection for `route`.
    pub(crate) fn open(&mut self, route: Route, tls: Option<TlsSetup>) {
        self.close();
        let opening = Opening::start(Arc::clone(&self.config), route, tls, &mut self.sink);
        self.conn = Conn::Opening(Box::new(opening));
        self.status = Status::Resolving;
    }

    /// The phase a deadline running out now would be reported in.
    pub(crate) fn timeout_phase(&self) -> crate::TimeoutPhase {
        match &self.conn {
            Conn::Opening(opening) => opening.phase(),
            Conn::Open(wire) => wire.timeout_phase(),
            Conn::None => crate::TimeoutPhase::Connect,
        }
    }

    /// The final response head of the current request, once received.
    pub(crate) fn response_head(&self) -> Option<&ResponseHead> {
        self.response.as_ref()
    }

    /// What the last failed request had done.
    pub(crate) fn failed_hop(&self) -> Option<HopFacts> {
        self.failed_hop
    }

    /// Turns read coalescing off, for a client driven by a request (whose step reads several
    /// chunks at once).
    pub(crate) fn no_read_coalescing(&mut self) {
        self.coalesce_reads = false;
    }

    /// Waits up to `max` for the connection to be able to move.
    pub(crate) fn wait(&mut self, max: Duration) {
        match &mut self.conn {
            Conn::Opening(opening) => opening.wait(max),
            Conn::Open(wire) => wire.wait(max),
            Conn::None => std::thread::sleep(max.min(Duration::from_millis(1))),
        }
    }
}

/// The status a failure on an open connection leaves: a TLS failure (a TLS 1.3 server
/// refuses a client certificate only after the handshake) or a connection error.
fn failure_status(error: &Error) -> Status {
    let kind = error.kind();
    if kind.is_certificate()
        || matches!(
            kind,
            ErrorKind::TlsHandshake | ErrorKind::ClientCertificateRequired
        )
    {
        Status::TlsHandshakeError
    } else {
        Status::ConnectionError
    }
}

/// The TLS configuration and server name for `host` with `options`.
pub(crate) fn tls_setup(options: &TlsOptions, host: &str) -> Result<TlsSetup, Error> {
    Ok(TlsSetup {
        config: crate::transport::tls::client_config(options)?,
        name: crate::transport::tls::server_name(host, options)?,
    })
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("status", &self.status)
            .field("error", &self.error)
            .field("read_chunk_size", &self.read_chunk_size)
            .field("blocking", &self.blocking)
            .finish_non_exhaustive()
    }
}
