//! [`Request`]: one whole request driven by `poll()`, ending with a [`Completion`] (Godot's
//! `HTTPRequest`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use envoi_proto::ResponseHead;
use http::{HeaderMap, Method, StatusCode};

use super::client::{HttpClient, DEFAULT_READ_CHUNK_SIZE};
use super::driver::{Driver, Step};
use super::threaded::Threaded;
use super::{result_for, Port, RequestResult, Status};
use crate::config::{ClientBuilder, Config};
use crate::error::{Error, ErrorKind};
use crate::request::Request as HttpRequest;
use crate::tls::TlsOptions;
use crate::Url;

/// How a [`Request`] ended: its result, and the response as far as it came (Godot's
/// `request_completed` signal, plus the typed error behind a failure).
#[derive(Debug)]
pub struct Completion {
    result: RequestResult,
    response_code: Option<StatusCode>,
    headers: Vec<String>,
    header_map: HeaderMap,
    body: Bytes,
    file: Option<PathBuf>,
    url: Url,
    error: Option<Error>,
}

impl Completion {
    pub(crate) fn success(
        head: &ResponseHead,
        headers: Vec<String>,
        body: Bytes,
        file: Option<PathBuf>,
        url: Url,
    ) -> Completion {
        Completion {
            result: RequestResult::Success,
            response_code: Some(head.status()),
            headers,
            header_map: head.headers().clone(),
            body,
            file,
            url,
            error: None,
        }
    }

    pub(crate) fn failure(
        head: Option<&ResponseHead>,
        headers: Vec<String>,
        error: Error,
        url: Url,
    ) -> Completion {
        Completion {
            result: result_for(error.kind()),
            response_code: head.map(ResponseHead::status),
            headers,
            header_map: head.map(|h| h.headers().clone()).unwrap_or_default(),
            body: Bytes::new(),
            file: None,
            url,
            error: Some(error),
        }
    }

    /// How the request ended.
    pub fn result(&self) -> RequestResult {
        self.result
    }

    /// True when a response was received whole.
    pub fn is_success(&self) -> bool {
        self.result == RequestResult::Success
    }

    /// The status code of the final response, when one came (Godot's 0 is `None`).
    pub fn response_code(&self) -> Option<StatusCode> {
        self.response_code
    }

    /// The response's fields as received, in order, as `Name: value` (without
    /// Content-Encoding and Content-Length when the body was decoded).
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The response's fields as a map, looked up without regard to case.
    pub fn header_map(&self) -> &HeaderMap {
        &self.header_map
    }

    /// The body, decoded; empty on failure and when it went to the download file.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Takes the body.
    pub fn into_body(self) -> Bytes {
        self.body
    }

    /// Where the download file was completed, when one was set.
    pub fn download_path(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The URL of the final response (after redirects), or the request's on failure.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The error behind a failure.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// Takes the error behind a failure.
    pub fn take_error(&mut self) -> Option<Error> {
        self.error.take()
    }
}

type Callback = Box<dyn FnMut(&Completion) + Send>;

/// One request at a time, driven by [`poll`](Self::poll) from a frame loop (Godot's
/// `HTTPRequest`): redirects, cookies, decompression, a body size limit, download to a file
/// and a timeout, all by the rules the other front ends share.
///
/// Start with [`request`](Self::request) (or [`start`](Self::start) for a request built with
/// [`crate::Request`]), then call `poll()` each frame until it returns the
/// [`Completion`]; a callback set with [`on_completed`](Self::on_completed) gets it too.
/// Settings changed while a request runs apply to the next one.
pub struct Request {
    config: Arc<Config>,
    tls: Option<Arc<rustls::ClientConfig>>,
    /// Kept between requests, so a kept-alive connection carries the next one.
    client: Option<HttpClient>,
    chunk: usize,
    download: Option<PathBuf>,
    use_threads: bool,
    run: Run,
    completion: Option<Completion>,
    on_completed: Option<Callback>,
    progress: (u64, Option<u64>),
}

enum Run {
    Idle,
    Inline(Box<Driver>),
    Threaded(Threaded),
}

impl Default for Request {
    fn default() -> Self {
        Request::new()
    }
}

impl Request {
    /// A request with the defaults (Godot's): decompression on, no body size limit, 8
    /// redirects, no timeout, chunks of 65,536 bytes, no download file, no thread.
    pub fn new() -> Request {
        Request::with_config(Config::default())
    }

    /// A request with the builder's settings: TLS options, resolver, timeouts, proxies,
    /// redirect policy, cookie jar, limits, observer.
    pub fn from_builder(builder: ClientBuilder) -> Result<Request, Error> {
        Ok(Request::with_config(builder.finish()?))
    }

    fn with_config(config: Config) -> Request {
        Request {
            config: Arc::new(config),
            tls: None,
            client: None,
            chunk: DEFAULT_READ_CHUNK_SIZE,
            download: None,
            use_threads: false,
            run: Run::Idle,
            completion: None,
            on_completed: None,
            progress: (0, None),
        }
    }

    /// Starts a request to `url` with `headers` (`Name: value` lines) and a text body.
    /// Refused with [`ErrorKind::Busy`] while a request runs, and with the URL's or a
    /// header's error before anything is sent.
    pub fn request(
        &mut self,
        url: &str,
        headers: &[&str],
        method: Method,
        body: &str,
    ) -> Result<(), Error> {
        let body = Bytes::copy_from_slice(body.as_bytes());
        self.request_raw(url, headers, method, body)
    }

    /// [`request`](Self::request) with a body of raw bytes.
    pub fn request_raw(
        &mut self,
        url: &str,
        headers: &[&str],
        method: Method,
        body: impl Into<Bytes>,
    ) -> Result<(), Error> {
        self.check_idle()?;
        let mut request = HttpRequest::new(method, url)?;
        for line in headers {
            let (name, value) = line.split_once(':').ok_or_else(|| {
                Error::new(ErrorKind::InvalidHeader, "expected `Name: value`")
                    .with_header(line.escape_debug().to_string())
            })?;
            request.append_header(name.trim(), value.trim())?;
        }
        request.set_body(body.into());
        self.start(&request)
    }

    /// Starts `request` (with its auth, cancel handle, per-request timeouts and user value).
    pub fn start(&mut self, request: &HttpRequest) -> Result<(), Error> {
        self.check_idle()?;
        self.completion = None;
        self.progress = (0, None);
        let client = match self.client.take() {
            Some(client) => client,
            None => HttpClient::with_config(Arc::clone(&self.config)),
        };
        let config = Arc::clone(&self.config);
        let download = self.download.clone();
        let started = Driver::start(
            config,
            self.tls.clone(),
            client,
            request,
            self.chunk,
            download,
        );
        let driver = match started {
            Ok(driver) => driver,
            Err(failed) => {
                let (error, client) = *failed;
                self.client = Some(client);
                return Err(error);
            }
        };
        self.run = match self.use_threads {
            false => Run::Inline(driver),
            true => match Threaded::spawn(driver) {
                Ok(threaded) => Run::Threaded(threaded),
                Err(Some(driver)) => Run::Inline(driver),
                Err(None) => {
                    return Err(Error::new(
                        ErrorKind::InvalidRequest,
                        "the request's thread could not be started",
                    ))
                }
            },
        };
        Ok(())
    }

    fn check_idle(&self) -> Result<(), Error> {
        match self.run {
            Run::Idle => Ok(()),
            _ => Err(Error::new(
                ErrorKind::Busy,
                "this request is still running; cancel it or wait for its completion",
            )),
        }
    }

    /// Moves the request on, a bounded amount, without waiting (with `use_threads`, only
    /// looks at what its thread did). Returns the completion once the request has ended, and
    /// until the next one starts; the completion callback runs once, in the call that ends
    /// it.
    pub fn poll(&mut self) -> Option<&Completion> {
        match &mut self.run {
            Run::Idle => {}
            Run::Inline(driver) => {
                if let Step::Done(completion) = driver.step(Instant::now()) {
                    self.progress = driver.progress();
                    if let Run::Inline(driver) = std::mem::replace(&mut self.run, Run::Idle) {
                        let driver = *driver;
                        self.client = Some(driver.client);
                        self.tls = driver.tls;
                    }
                    self.finish(*completion);
                }
            }
            Run::Threaded(threaded) => {
                if let Some(finished) = threaded.finished() {
                    self.progress = threaded.progress();
                    self.run = Run::Idle;
                    self.client = Some(finished.client);
                    self.tls = finished.tls;
                    self.finish(finished.completion);
                }
            }
        }
        self.completion.as_ref()
    }

    fn finish(&mut self, completion: Completion) {
        if let Some(callback) = &mut self.on_completed {
            callback(&completion);
        }
        self.completion = Some(completion);
    }

    /// The completion of the last request, once it has ended.
    pub fn completion(&self) -> Option<&Completion> {
        self.completion.as_ref()
    }

    /// Takes the completion of the last request.
    pub fn take_completion(&mut self) -> Option<Completion> {
        self.completion.take()
    }

    /// Calls `callback` with each completion, from the `poll()` that ends the request (Godot's
    /// `request_completed` signal).
    pub fn on_completed(&mut self, callback: impl FnMut(&Completion) + Send + 'static) {
        self.on_completed = Some(Box::new(callback));
    }

    /// True while a request runs.
    pub fn is_busy(&self) -> bool {
        !matches!(self.run, Run::Idle)
    }

    /// Stops the running request at once and closes its connection; no completion follows
    /// (as in Godot). The next request may start right away.
    pub fn cancel_request(&mut self) {
        if let Run::Inline(driver) = std::mem::replace(&mut self.run, Run::Idle) {
            // Its connection is mid-exchange: only the TLS settings are worth keeping.
            self.tls = driver.tls;
        }
        self.client = None;
    }

    /// Body bytes received so far (as they came, before decoding: the unit of
    /// [`body_size`](Self::body_size)).
    pub fn downloaded_bytes(&self) -> u64 {
        self.current_progress().0
    }

    /// The body size the response announced (Content-Length), or `None` (Godot's −1) when
    /// unknown or chunked.
    pub fn body_size(&self) -> Option<u64> {
        self.current_progress().1
    }

    fn current_progress(&self) -> (u64, Option<u64>) {
        match &self.run {
            Run::Idle => self.progress,
            Run::Inline(driver) => driver.progress(),
            Run::Threaded(threaded) => threaded.progress(),
        }
    }

    /// The status of the [`HttpClient`] underneath.
    pub fn http_client_status(&self) -> Status {
        match &self.run {
            Run::Inline(driver) => driver.status(),
            Run::Threaded(threaded) => threaded.status(),
            Run::Idle => self
                .client
                .as_ref()
                .map_or(Status::Disconnected, HttpClient::status),
        }
    }

    fn config_mut(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }

    /// Whether compressed responses are asked for and decoded (default on). The
    /// `Accept-Encoding` sent is the shared one (gzip, deflate, br, zstd) unless the request
    /// sets its own; off, no field is added and bodies come as received.
    pub fn accept_gzip(&self) -> bool {
        self.config.decompress
    }

    /// Turns decompression on or off.
    pub fn set_accept_gzip(&mut self, on: bool) {
        self.config_mut().decompress = on;
    }

    /// The most body bytes accepted, counted after decoding (`None`, Godot's −1: no limit).
    pub fn body_size_limit(&self) -> Option<u64> {
        self.config.max_body_size
    }

    /// Sets the body size limit.
    pub fn set_body_size_limit(&mut self, limit: Option<u64>) {
        self.config_mut().max_body_size = limit;
    }

    /// The most bytes read from the connection at a time (default 65,536).
    pub fn download_chunk_size(&self) -> usize {
        self.chunk
    }

    /// Sets the read size (at least 1).
    pub fn set_download_chunk_size(&mut self, size: usize) {
        self.chunk = size.max(1);
    }

    /// The file the body goes to instead of memory, if any.
    pub fn download_file(&self) -> Option<&Path> {
        self.download.as_deref()
    }

    /// Writes the body of the final response (whatever its status, as Godot does) to `path`,
    /// through `<path>.part` renamed once complete; `None` keeps bodies in memory. The file is
    /// written on a writer thread, so `poll()` never waits on the disk; the request completes
    /// once the file is flushed and under its final name.
    pub fn set_download_file(&mut self, path: Option<PathBuf>) {
        self.download = path;
    }

    /// The most redirects followed (default 8; 0 returns a redirect as the response).
    pub fn max_redirects(&self) -> usize {
        self.config.redirect.limit()
    }

    /// Sets the most redirects followed.
    pub fn set_max_redirects(&mut self, max: usize) {
        let config = self.config_mut();
        config.redirect = config.redirect.clone().max_redirects(max);
    }

    /// The bound on the whole request (`Duration::ZERO`: none, the default).
    pub fn timeout(&self) -> Duration {
        self.config.timeout.unwrap_or(Duration::ZERO)
    }

    /// Bounds the whole request; `Duration::ZERO` removes the bound.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.config_mut().timeout = (!timeout.is_zero()).then_some(timeout);
    }

    /// Whether requests run on a thread of their own.
    pub fn use_threads(&self) -> bool {
        self.use_threads
    }

    /// Runs each request on a thread of its own, `poll()` only collecting what it did (for
    /// throughput that does not depend on the frame rate).
    pub fn set_use_threads(&mut self, on: bool) {
        self.use_threads = on;
    }

    /// Sends `http` requests through the proxy at `host:port`; an empty host or port −1
    /// removes it.
    pub fn set_http_proxy(&mut self, host: &str, port: impl Into<Port>) {
        self.config_mut().http_proxy = super::raw::proxy(host, port.into());
    }

    /// Sends `https` requests through a CONNECT tunnel by the proxy at `host:port`; an empty
    /// host or port −1 removes it.
    pub fn set_https_proxy(&mut self, host: &str, port: impl Into<Port>) {
        self.config_mut().https_proxy = super::raw::proxy(host, port.into());
    }

    /// The TLS settings for https (roots, client identity, ignore flags, pins).
    pub fn set_tls_options(&mut self, options: TlsOptions) {
        self.config_mut().tls = options;
        self.tls = None;
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("busy", &self.is_busy())
            .field("status", &self.http_client_status())
            .field("completion", &self.completion)
            .finish_non_exhaustive()
    }
}
