//! The async front end, on tokio: send a request, `.await` the response, read its body as a
//! `tokio::io::AsyncRead` or a `Stream` of `Bytes`.
//!
//! It makes every decision the blocking front end makes by calling the same shared code (the
//! exchange for each hop's head and what follows a response, the policy for redirects,
//! cookies, auth, retries, decoding and limits, the transport for addresses, the CONNECT
//! tunnel and TLS, the protocol core for every byte); it differs only in how it waits: on
//! tokio's reactor and timers, with a [`CancelHandle`](crate::CancelHandle) as one more thing
//! to wait on.
//!
//! ```no_run
//! # async fn run() -> Result<(), envoi::Error> {
//! let client = envoi::AsyncClient::new()?;
//! let response = client.get("http://127.0.0.1:8080/get").send().await?;
//! println!("{} {}", response.status(), response.text().await?);
//! # Ok(())
//! # }
//! ```

mod body;
mod builder;
mod completion;
mod pool;
mod response;
mod stream;
mod transfer;
mod transport;
mod upload;
mod wait;

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use envoi_proto::{RequestHead, ResponseHead};
use http::{Method, StatusCode};

use crate::config::{ClientBuilder, Config};
use crate::error::{Error, ErrorKind, TimeoutPhase};
use crate::event::{EventKind, EventSink};
use crate::exchange::{
    answer_may_follow, reuse_for, timeout, Again, BodyOptions, Deadlines, Exchange, Next,
    COALESCE_LIMIT,
};
use crate::pool::{PoolLimits, Reuse};
use crate::request::{read_stream_piece, BodySource, IntoUrl, Request, STREAM_READ};
use crate::transport::route::Route;
pub use builder::AsyncRequestBuilder;
pub use completion::AsyncCompletion;
use pool::Pool;

pub use response::{AsyncResponse, BodyStream};
use transfer::Transfer;
pub use upload::AsyncUpload;
use wait::{unless_cancelled, CancelWatch};

/// An async HTTP client on tokio. Cheap to clone (clones share one connection pool),
/// `Send + Sync`; use it from any number of tasks.
///
/// Built with [`ClientBuilder::build_async`] from the same settings as the blocking client.
/// Requests need a tokio runtime with I/O and timers enabled.
#[derive(Clone)]
pub struct AsyncClient {
    inner: Arc<ClientInner>,
}

pub(crate) struct ClientInner {
    pub(crate) config: Config,
    pub(crate) pool: Arc<Pool>,
    pub(crate) tls: crate::transport::tls::ClientTls,
}

impl AsyncClient {
    /// A client with the default settings.
    pub fn new() -> Result<AsyncClient, Error> {
        ClientBuilder::new().build_async()
    }

    /// A builder to change the settings; finish it with [`ClientBuilder::build_async`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    pub(crate) fn from_config(config: Config) -> Result<AsyncClient, Error> {
        let tls = crate::transport::tls::ClientTls::new(&config.tls)?;
        let pool = Pool::new(PoolLimits {
            idle_timeout: config.idle_timeout,
            max_idle_per_host: config.max_idle_per_host,
            max_per_host: config.max_connections_per_host,
            max_total: config.max_connections,
        });
        Ok(AsyncClient {
            inner: Arc::new(ClientInner { config, pool, tls }),
        })
    }

    /// Starts a request with any method.
    pub fn request(&self, method: Method, url: impl IntoUrl) -> AsyncRequestBuilder {
        AsyncRequestBuilder::new(self.clone(), Request::new(method, url))
    }

    /// The proxy a request to `url` goes through, by the client's proxies and `no_proxy`
    /// list; `None` when it goes direct.
    pub fn proxy_for(&self, url: &crate::Url) -> Option<&crate::Proxy> {
        self.inner.config.proxy_for(url)
    }

    /// Starts a GET.
    pub fn get(&self, url: impl IntoUrl) -> AsyncRequestBuilder {
        self.request(Method::GET, url)
    }

    /// Starts a HEAD.
    pub fn head(&self, url: impl IntoUrl) -> AsyncRequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// Starts a POST.
    pub fn post(&self, url: impl IntoUrl) -> AsyncRequestBuilder {
        self.request(Method::POST, url)
    }

    /// Starts a PUT.
    pub fn put(&self, url: impl IntoUrl) -> AsyncRequestBuilder {
        self.request(Method::PUT, url)
    }

    /// Starts a PATCH.
    pub fn patch(&self, url: impl IntoUrl) -> AsyncRequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// Starts a DELETE.
    pub fn delete(&self, url: impl IntoUrl) -> AsyncRequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// Sends a request and waits for the response head. The request is left as it was, so it
    /// can be sent again (a stream body refuses a second send). Dropping the future cancels
    /// the request; its connection is closed, never pooled.
    pub fn execute<'a>(
        &'a self,
        request: &'a Request,
    ) -> impl Future<Output = Result<AsyncResponse, Error>> + Send + 'a {
        // Boxed once, here: a request's state (the exchange, the transfer, the response head,
        // held across its waits) runs to kilobytes, and every caller up the chain would move
        // it by value; behind a box each move is a pointer's.
        Box::pin(async move {
            let watch = request.cancel.as_ref().map(CancelWatch::new);
            let work = std::pin::pin!(self.execute_inner(request));
            unless_cancelled(watch.as_ref(), work)
                .await
                .map_err(|e| e.with_url(&request.url))
        })
    }

    /// Sends `request` in a background task and calls `procedure` once with the outcome, the
    /// response (its body still to read) or the typed error (WinDev's asynchronous
    /// `Send(request, procedure)`). The returned handle waits for the procedure's value or
    /// cancels the request; a cancelled request still calls the procedure, with
    /// [`ErrorKind::Cancelled`].
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, as `tokio::spawn` does.
    pub fn send_then<F, Fut>(&self, request: Request, procedure: F) -> AsyncCompletion<Fut::Output>
    where
        F: FnOnce(Result<AsyncResponse, Error>) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
    {
        completion::spawn(self.clone(), request, procedure)
    }

    /// Downloads the response body of `request` to `path` through `<path>.part`, renamed when
    /// complete, as [`blocking::Client::download`](crate::blocking::Client::download) does:
    /// with `resume`, an existing `.part` is continued with a Range request. Returns the
    /// response's status and the final path; a status other than 2xx leaves the file alone.
    pub async fn download(
        &self,
        request: &Request,
        path: impl AsRef<Path>,
        resume: bool,
    ) -> Result<(StatusCode, Option<PathBuf>), Error> {
        use crate::policy::download::{check_resume_answer, range_header, ResumeAnswer};
        let path = path.as_ref().to_path_buf();
        if !resume {
            let response = self.execute(request).await?;
            let status = response.status();
            if !status.is_success() {
                return Ok((status, None));
            }
            return Ok((status, Some(response.save_to(path).await?)));
        }
        let (file, offset) =
            response::on_blocking_pool(move || crate::DownloadFile::resume(path)).await?;
        let mut ranged = request.clone();
        if offset > 0 {
            ranged
                .headers
                .insert(http::header::RANGE, range_header(offset));
        }
        let response = self.execute(&ranged).await?;
        let status = response.status();
        let answer = if offset == 0 && status.is_success() {
            ResumeAnswer::Continue
        } else {
            check_resume_answer(offset, status, response.headers())?
        };
        let file = match answer {
            ResumeAnswer::Continue => file,
            ResumeAnswer::Restart => {
                response::on_blocking_pool(move || {
                    let mut file = file;
                    file.restart().map(|()| file)
                })
                .await?
            }
            ResumeAnswer::Complete => {
                let done = response::on_blocking_pool(move || file.commit()).await?;
                return Ok((status, Some(done)));
            }
            ResumeAnswer::NotTheFile => return Ok((status, None)),
        };
        Ok((status, Some(response.save_into(file).await?)))
    }

    /// Sends the head of a request whose body the caller then writes through the returned
    /// [`AsyncUpload`] (WinHTTP's `WinHttpWriteData`), as
    /// [`blocking::Client::send_streaming`](crate::blocking::Client::send_streaming) does:
    /// with a known total length (set Content-Length, or a body of that length) or chunked
    /// (no length). The request's own body is not used. Dropping the future, or cancelling
    /// the request's [`CancelHandle`](crate::CancelHandle), cancels the request.
    pub async fn send_streaming(
        &self,
        request: &Request,
        length: Option<u64>,
    ) -> Result<AsyncUpload, Error> {
        let request = crate::exchange::streaming_request(request, length);
        let watch = request.cancel.as_ref().map(CancelWatch::new);
        let work = std::pin::pin!(self.start_upload(&request));
        unless_cancelled(watch.as_ref(), work)
            .await
            .map_err(|e| e.with_url(&request.url))
    }

    async fn start_upload(&self, request: &Request) -> Result<AsyncUpload, Error> {
        let config = &self.inner.config;
        let (_, mut sink, deadlines) = self.begin(request);
        let mut exchange = Exchange::new(request);
        let route = exchange.route(config)?;
        let head = exchange.head(config, &route, SystemTime::now())?;
        // The caller's writes cannot be sent again: the connection is checked.
        let reuse = Reuse::Checked;
        let started = Transfer::start(
            &self.inner,
            &route,
            &head,
            &[],
            &mut sink,
            &deadlines,
            reuse,
        );
        let transfer = started.await?;
        Ok(AsyncUpload::new(transfer, sink, exchange))
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

    /// The blocking front end's loop over hops, awaiting where it blocks.
    async fn execute_inner(&self, request: &Request) -> Result<AsyncResponse, Error> {
        let config = &self.inner.config;
        let (start, mut sink, mut deadlines) = self.begin(request);
        let mut exchange = Exchange::new(request);
        loop {
            let route = exchange.route(config)?;
            let head = exchange.head(config, &route, SystemTime::now())?;
            let hop = self
                .send_hop(exchange.request(), &route, &head, &mut sink, &deadlines)
                .await;
            let (transfer, response_head) = match hop {
                Ok(pair) => pair,
                Err((error, answered)) => {
                    let retry = exchange.on_failure(
                        config,
                        &error,
                        answered,
                        start.elapsed(),
                        SystemTime::now(),
                    );
                    match retry {
                        Some(wait) => {
                            pause(wait, &deadlines).await?;
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
                    return Ok(AsyncResponse::new(response_head, transfer, sink, url, body));
                }
                Next::Again { wait, why } => {
                    if let Again::Redirect { location } = why {
                        sink.emit(EventKind::Redirect { location });
                    }
                    let options = BodyOptions::default();
                    let dropped =
                        AsyncResponse::new(response_head, transfer, sink.clone(), url, options);
                    // Boxed, as a redirect is the exception: it keeps the common path's future
                    // small.
                    Box::pin(dropped.discard()).await;
                    pause(wait, &deadlines).await?;
                    deadlines.start_hop(Instant::now());
                }
            }
        }
    }

    /// Sends one hop and reads its response head. A kept-alive connection that turns out to
    /// have been closed by the server is replaced by a fresh one once, when that cannot repeat
    /// an effect. On failure, says whether any response byte had arrived.
    async fn send_hop(
        &self,
        request: &Request,
        route: &Route,
        head: &RequestHead,
        sink: &mut EventSink,
        deadlines: &Deadlines,
    ) -> Result<(Transfer, ResponseHead), (Error, bool)> {
        let mut source = request.body.open().map_err(|e| (e, false))?;
        let mut reuse = reuse_for(&request.method, request.body.is_replayable());
        let fill = request.body.len().is_some();
        loop {
            // A small bytes body rides in the head's write.
            let inline = match &source {
                BodySource::Bytes(b) if b.len() <= COALESCE_LIMIT => b.clone(),
                _ => Bytes::new(),
            };
            let started =
                Transfer::start(&self.inner, route, head, &inline, sink, deadlines, reuse).await;
            let mut transfer = started.map_err(|e| (e, false))?;
            let inline_sent =
                !inline.is_empty() || matches!(&source, BodySource::Bytes(b) if b.is_empty());
            let result = match send_body(&mut transfer, &mut source, inline_sent, fill, sink).await
            {
                Ok(()) => transfer.receive_head(sink).await,
                Err(e) if answer_may_follow(&e) => transfer.receive_head(sink).await.map_err(|_| e),
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

/// Sleeps before a retry, no later than the request's deadline (cancellation ends the sleep,
/// as it ends every wait of the request).
async fn pause(wait: Duration, deadlines: &Deadlines) -> Result<(), Error> {
    if wait.is_zero() {
        return Ok(());
    }
    let until = Instant::now() + wait;
    if deadlines.total().is_some_and(|t| t < until) {
        return Err(timeout(TimeoutPhase::FirstByte));
    }
    tokio::time::sleep_until(until.into()).await;
    Ok(())
}

/// Sends the rest of the body after the head; a server that answers early (and stops reading)
/// gets its answer read rather than reported as a write failure.
async fn send_body(
    transfer: &mut Transfer,
    source: &mut BodySource,
    inline_sent: bool,
    fill: bool,
    sink: &mut EventSink,
) -> Result<(), Error> {
    if transfer.awaits_continue() && !transfer.wait_for_continue(sink).await? {
        return Ok(());
    }
    match source {
        BodySource::Bytes(_) if inline_sent => {}
        BodySource::Bytes(bytes) => transfer.write_body(bytes).await?,
        BodySource::Stream(_) => send_stream(transfer, source, fill).await?,
    }
    transfer.finish_body(sink).await
}

/// Sends a body read from the caller's `std::io::Read`. That read may block, so each piece is
/// read on tokio's blocking pool; the reader goes there and comes back with the piece.
async fn send_stream(
    transfer: &mut Transfer,
    source: &mut BodySource,
    fill: bool,
) -> Result<(), Error> {
    let mut buf = vec![0u8; STREAM_READ];
    loop {
        let mut reader = match std::mem::replace(source, BodySource::Bytes(Bytes::new())) {
            BodySource::Stream(reader) => reader,
            other => {
                *source = other;
                return Ok(());
            }
        };
        let (reader, back, read) = tokio::task::spawn_blocking(move || {
            let read = read_stream_piece(reader.as_mut(), &mut buf, fill);
            (reader, buf, read)
        })
        .await
        .map_err(|e| {
            Error::new(ErrorKind::BodyIo, "the request body reader failed").with_source(e)
        })?;
        *source = BodySource::Stream(reader);
        buf = back;
        match read? {
            0 => return Ok(()),
            n => transfer.write_body(&buf[..n]).await?,
        }
    }
}

impl fmt::Debug for AsyncClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncClient")
            .field("config", &self.inner.config)
            .finish()
    }
}
