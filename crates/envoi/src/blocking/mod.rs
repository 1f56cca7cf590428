//! The blocking front end: send a request, wait for the response, read its body as a
//! `std::io::Read`.
//!
//! ```no_run
//! let client = envoi::blocking::Client::new()?;
//! let mut response = client.get("http://127.0.0.1:8080/get").send()?;
//! println!("{} {}", response.status(), response.text()?);
//! # Ok::<(), envoi::Error>(())
//! ```

pub(crate) mod busy_poll;
mod completion;
mod response;
mod transfer;
mod upload;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use http::Method;

use crate::config::{ClientBuilder, Config};
use crate::error::{Error, ErrorKind};
use crate::event::EventKind;
use crate::event::EventSink;
use crate::exchange::{
    answer_may_follow, reuse_for, Again, BodyOptions, Deadlines, Exchange, Next, COALESCE_LIMIT,
};
use crate::policy::CancelHandle;
use crate::pool::{Pool, PoolLimits, Reuse};
use crate::request::{read_stream_piece, BodySource, IntoUrl, Request, STREAM_READ};
use crate::transport::route::Route;
pub use completion::Completion;

pub use response::Response;
use transfer::Transfer;
pub use upload::Upload;

/// A blocking HTTP client. Cheap to clone (clones share one connection pool), `Send + Sync`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

pub(crate) struct ClientInner {
    pub(crate) config: Config,
    pub(crate) pool: Arc<Pool>,
    pub(crate) tls: crate::transport::tls::ClientTls,
}

impl Client {
    /// A client with the default settings.
    pub fn new() -> Result<Client, Error> {
        Client::builder().build()
    }

    /// A builder to change the settings.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    pub(crate) fn from_config(config: Config) -> Result<Client, Error> {
        let tls = crate::transport::tls::ClientTls::new(&config.tls)?;
        let pool = Pool::new(PoolLimits {
            idle_timeout: config.idle_timeout,
            max_idle_per_host: config.max_idle_per_host,
            max_per_host: config.max_connections_per_host,
            max_total: config.max_connections,
        });
        Ok(Client {
            inner: Arc::new(ClientInner { config, pool, tls }),
        })
    }

    /// Starts a request with any method.
    pub fn request(&self, method: Method, url: impl IntoUrl) -> RequestBuilder {
        RequestBuilder {
            client: self.clone(),
            request: Request::new(method, url),
        }
    }

    /// The proxy a request to `url` goes through, by the client's proxies and `no_proxy`
    /// list; `None` when it goes direct.
    pub fn proxy_for(&self, url: &crate::Url) -> Option<&crate::Proxy> {
        self.inner.config.proxy_for(url)
    }

    /// Starts a GET.
    pub fn get(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// Starts a HEAD.
    pub fn head(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// Starts a POST.
    pub fn post(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// Starts a PUT.
    pub fn put(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// Starts a PATCH.
    pub fn patch(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// Starts a DELETE.
    pub fn delete(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// Sends a request and waits for the response head. The request is left as it was, so it
    /// can be sent again (a stream body refuses a second send).
    pub fn execute(&self, request: &Request) -> Result<Response, Error> {
        self.execute_inner(request)
            .map_err(|e| e.with_url(&request.url))
    }

    /// Sends `request` on a thread of its own and calls `procedure` once with the outcome, the
    /// response (its body still readable in the procedure) or the typed error (WinDev's
    /// asynchronous `Send(request, procedure)`). The returned handle waits for the procedure's
    /// value or cancels the request; a cancelled request still calls the procedure, with
    /// [`ErrorKind::Cancelled`].
    pub fn send_then<T, F>(&self, request: Request, procedure: F) -> Completion<T>
    where
        F: FnOnce(Result<Response, Error>) -> T + Send + 'static,
        T: Send + 'static,
    {
        completion::start(self, request, procedure)
    }

    /// Downloads the response body of `request` to `path` through `<path>.part`, renamed when
    /// complete. With `resume`, an existing `.part` is continued with a Range request (a server
    /// that sends the whole body instead restarts it). Returns the response's status and the
    /// final path; a status other than 2xx leaves the file alone and is returned as it is.
    pub fn download(
        &self,
        request: &Request,
        path: impl AsRef<std::path::Path>,
        resume: bool,
    ) -> Result<(http::StatusCode, Option<std::path::PathBuf>), Error> {
        use crate::policy::download::{check_resume_answer, range_header, ResumeAnswer};
        if !resume {
            let response = self.execute(request)?;
            let status = response.status();
            if !status.is_success() {
                return Ok((status, None));
            }
            return Ok((status, Some(response.save_to(path)?)));
        }
        let (mut file, offset) = crate::DownloadFile::resume(path)?;
        let mut ranged = request.clone();
        if offset > 0 {
            ranged
                .headers
                .insert(http::header::RANGE, range_header(offset));
        }
        let response = self.execute(&ranged)?;
        let status = response.status();
        let answer = if offset == 0 && status.is_success() {
            ResumeAnswer::Continue
        } else {
            check_resume_answer(offset, status, response.headers())?
        };
        match answer {
            ResumeAnswer::Continue => {}
            ResumeAnswer::Restart => file.restart()?,
            ResumeAnswer::Complete => return Ok((status, Some(file.commit()?))),
            ResumeAnswer::NotTheFile => return Ok((status, None)),
        }
        Ok((status, Some(response.save_into(file)?)))
    }

    /// Sends the head of a request whose body the caller then writes through the returned
    /// [`Upload`] (WinHTTP's `WinHttpWriteData`): with a known total length (set
    /// Content-Length, or a body of that length) or chunked (no length). The request's own body
    /// is not used.
    pub fn send_streaming(&self, request: &Request, length: Option<u64>) -> Result<Upload, Error> {
        let request = crate::exchange::streaming_request(request, length);
        let config = &self.inner.config;
        let (_, mut sink, deadlines) = self.begin(&request);
        let mut exchange = Exchange::new(&request);
        let started = (|| {
            let route = exchange.route(config)?;
            let head = exchange.head(config, &route, SystemTime::now())?;
            Transfer::start(
                &self.inner,
                &request,
                &route,
                &head,
                &[],
                &mut sink,
                &deadlines,
                // The caller's writes cannot be sent again: the connection is checked.
                Reuse::Checked,
            )
        })();
        let transfer = started.map_err(|e| e.with_url(&request.url))?;
        Ok(Upload::new(transfer, sink, exchange))
    }

    fn begin(&self, request: &Request) -> (Instant, EventSink, Deadlines) {
        let start = Instant::now();
        let sink = EventSink::new(
            self.inner.config.observer.clone(),
            request.user_value.clone(),
            start,
        );
        let deadlines = Deadlines::new(&self.inner.config, request, start);
        (start, sink, deadlines)
    }

    fn execute_inner(&self, request: &Request) -> Result<Response, Error> {
        let config = &self.inner.config;
        let (start, mut sink, mut deadlines) = self.begin(request);
        let cancel = request.cancel.clone();
        let mut exchange = Exchange::new(request);
        loop {
            check_cancel(cancel.as_ref())?;
            let route = exchange.route(config)?;
            let head = exchange.head(config, &route, SystemTime::now())?;
            let hop = self.send_hop(exchange.request(), &route, &head, &mut sink, &deadlines);
            let (transfer, response_head) = match hop {
                Ok(pair) => pair,
                Err((error, answered)) => {
                    let error = cancelled_or(error, cancel.as_ref());
                    let retry = exchange.on_failure(
                        config,
                        &error,
                        answered,
                        start.elapsed(),
                        SystemTime::now(),
                    );
                    match retry {
                        Some(wait) => {
                            pause(wait, &deadlines, cancel.as_ref())?;
                            deadlines.start_hop(Instant::now());
                            continue;
                        }
                        None => return Err(error),
                    }
                }
            };
            let next =
                exchange.on_response(config, &response_head, SystemTime::now(), start.elapsed())?;
            let url = exchange.request().url.clone();
            match next {
                Next::Deliver => {
                    let body = exchange.body_options(config, &response_head);
                    return Ok(transfer.into_response(response_head, &sink, url, body));
                }
                Next::Again { wait, why } => {
                    if let Again::Redirect { location } = why {
                        sink.emit(EventKind::Redirect { location });
                    }
                    transfer
                        .into_response(response_head, &sink, url, BodyOptions::default())
                        .discard();
                    pause(wait, &deadlines, cancel.as_ref())?;
                    deadlines.start_hop(Instant::now());
                }
            }
        }
    }

    /// Sends one hop and reads its response head. A kept-alive connection that turns out to
    /// have been closed by the server is replaced by a fresh one once, when that cannot repeat
    /// an effect. On failure, says whether any response byte had arrived.
    fn send_hop(
        &self,
        request: &Request,
        route: &Route,
        head: &envoi_proto::RequestHead,
        sink: &mut EventSink,
        deadlines: &Deadlines,
    ) -> Result<(Transfer, envoi_proto::ResponseHead), (Error, bool)> {
        let mut source = request.body.open().map_err(|e| (e, false))?;
        let mut reuse = reuse_for(&request.method, request.body.is_replayable());
        let fill = request.body.len().is_some();
        loop {
            // A small bytes body rides in the head's write.
            let inline: &[u8] = match &source {
                BodySource::Bytes(b) if b.len() <= COALESCE_LIMIT => b,
                _ => &[],
            };
            let mut transfer = Transfer::start(
                &self.inner,
                request,
                route,
                head,
                inline,
                sink,
                deadlines,
                reuse,
            )
            .map_err(|e| (e, false))?;
            let inline_sent =
                !inline.is_empty() || matches!(&source, BodySource::Bytes(b) if b.is_empty());
            let result = match send_body(&mut transfer, &mut source, inline_sent, fill, sink) {
                Ok(()) => transfer.receive_head(sink),
                Err(e) if answer_may_follow(&e) => transfer.receive_head(sink).map_err(|_| e),
                Err(e) => Err(e),
            };
            // A one-shot stream is sent again only if none of it was taken.
            let stream_body = !request.body.is_replayable();
            match result {
                Ok(head) => return Ok((transfer, head)),
                Err(e)
                    if reuse != Reuse::Never
                        && transfer.may_retry_fresh(&e, &request.method, stream_body) =>
                {
                    // The request never reached a live server: send it again, on a new
                    // connection.
                    reuse = Reuse::Never;
                    if !stream_body {
                        source = request.body.open().map_err(|e| (e, false))?;
                    }
                }
                Err(e) => {
                    let answered = transfer.conn.proto.response_bytes_received() > 0;
                    return Err((e, answered));
                }
            }
        }
    }
}

/// `Cancelled` once the handle is cancelled.
fn check_cancel(cancel: Option<&CancelHandle>) -> Result<(), Error> {
    cancel.map_or(Ok(()), CancelHandle::check)
}

/// An error that a cancellation caused (a socket shut down under a read) is reported as the
/// cancellation.
pub(crate) fn cancelled_or(error: Error, cancel: Option<&CancelHandle>) -> Error {
    match cancel {
        Some(c) if c.is_cancelled() => Error::new(ErrorKind::Cancelled, "").with_source(error),
        _ => error,
    }
}

/// Sleeps before a retry, no later than the request's deadline, waking early on cancel.
fn pause(
    wait: Duration,
    deadlines: &Deadlines,
    cancel: Option<&CancelHandle>,
) -> Result<(), Error> {
    if wait.is_zero() {
        return Ok(());
    }
    let until = Instant::now() + wait;
    if deadlines.total().is_some_and(|t| t < until) {
        return Err(crate::exchange::timeout(crate::TimeoutPhase::FirstByte));
    }
    while Instant::now() < until {
        check_cancel(cancel)?;
        std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
    }
    check_cancel(cancel)
}

/// Sends the rest of the body after the head; a server that answers early (and stops reading)
/// gets its answer read rather than reported as a write failure.
fn send_body(
    transfer: &mut Transfer,
    source: &mut BodySource,
    inline_sent: bool,
    fill: bool,
    sink: &mut EventSink,
) -> Result<(), Error> {
    if transfer.awaits_continue() && !transfer.wait_for_continue(sink)? {
        return Ok(());
    }
    match source {
        BodySource::Bytes(_) if inline_sent => {}
        BodySource::Bytes(bytes) => transfer.write_body(bytes)?,
        BodySource::Stream(reader) => {
            let mut buf = vec![0u8; STREAM_READ];
            loop {
                match read_stream_piece(reader.as_mut(), &mut buf, fill)? {
                    0 => break,
                    n => transfer.write_body(&buf[..n])?,
                }
            }
        }
    }
    transfer.finish_body(sink)
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .finish()
    }
}

/// A request being built; errors (a bad URL or header) are kept until
/// [`send`](Self::send) or [`build`](Self::build) reports them, so nothing reaches the wire.
#[must_use]
pub struct RequestBuilder {
    client: Client,
    request: Result<Request, Error>,
}

impl RequestBuilder {
    crate::request_builder::request_builder_methods!();

    /// Sends the request and waits for the response head.
    pub fn send(self) -> Result<Response, Error> {
        let request = self.request?;
        self.client.execute(&request)
    }

    /// Sends the head; the caller writes the body through the returned [`Upload`].
    pub fn send_streaming(self, length: Option<u64>) -> Result<Upload, Error> {
        let request = self.request?;
        self.client.send_streaming(&request, length)
    }
}
