//! One [`Request`](super::Request) in flight, a bounded step at a time. The shared
//! [`Exchange`] decides every hop (the head with cookies and credentials, then after each
//! response: deliver, follow a redirect, answer a challenge, retry); the [`HttpClient`] moves
//! the bytes; the shared decoder, limits and download file take the body. This file only
//! sequences them without waiting.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use envoi_proto::{RequestHead, ResponseHead};
use http::HeaderName;

use super::body::BodySink;
use super::client::{tls_setup, HttpClient};
use super::link::TlsSetup;
use super::request::Completion;
use super::wire::BodyRead;
use super::Status;
use crate::config::Config;
use crate::error::{Error, ErrorKind, TimeoutPhase};
use crate::event::{EventKind, EventSink};
use crate::exchange::{timeout, Again, Deadlines, Exchange, Next};
use crate::policy::decode::strip_decoded_headers;
use crate::policy::download::body_size;
use crate::policy::CancelHandle;
use crate::request::{BodySource, Request as HttpRequest};
use crate::transport::route::Route;
use crate::Url;

/// Body chunks read in one step at most.
const CHUNKS_PER_STEP: usize = 4;
/// Time one step may spend on the body before it hands control back to the frame. It is
/// looked at before each chunk, so a step can run one chunk (a read, and a decode or a copy
/// to the download writer) past it; this stays well under the 1 ms a frame can spare.
const BODY_TIME_PER_STEP: Duration = Duration::from_micros(300);

/// How long a request on its own thread sleeps while the download writer catches up.
const WRITER_WAIT: Duration = Duration::from_millis(1);

/// What a step came to.
pub(crate) enum Step {
    /// Still running.
    Running,
    /// Finished (the client stays in the driver, to keep for the next request).
    Done(Box<Completion>),
}

enum Phase {
    /// Opening a connection; the request goes out once it is open.
    Connecting { head: RequestHead, body: BodySource },
    /// The request is out (or going); waiting for the response head.
    Requesting,
    /// Reading and dropping the body of a redirect or challenge, then the next hop after
    /// `wait`.
    Draining { wait: Duration, drained: u64 },
    /// Waiting before the next hop (a retry's delay).
    Pausing { until: Instant },
    /// Reading the delivered body.
    Body,
}

/// A request being driven.
pub(crate) struct Driver {
    config: Arc<Config>,
    /// Built once, on the first https hop; handed back to the request to reuse.
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    pub(crate) client: HttpClient,
    exchange: Exchange,
    url: Url,
    start: Instant,
    deadlines: Deadlines,
    cancel: Option<CancelHandle>,
    phase: Phase,
    fresh_retry_used: bool,
    chunk: usize,
    download: Option<PathBuf>,
    delivered: Option<ResponseHead>,
    body: Option<BodySink>,
    /// Body bytes received (before decoding) and the size announced, kept past the end.
    received: u64,
    size: Option<u64>,
}

impl Driver {
    /// Starts `request`: the first hop's head is built at once, so a request that cannot be
    /// sent (an invalid header, an unusable URL) is refused before anything happens.
    pub(crate) fn start(
        config: Arc<Config>,
        tls: Option<Arc<rustls::ClientConfig>>,
        mut client: HttpClient,
        request: &HttpRequest,
        chunk: usize,
        download: Option<PathBuf>,
    ) -> Result<Box<Driver>, Box<(Error, HttpClient)>> {
        let start = Instant::now();
        let sink = EventSink::new(config.observer.clone(), request.user_value.clone(), start);
        let deadlines = Deadlines::new(&config, request, start);
        client.begin(Arc::clone(&config), sink, deadlines);
        // A step already reads several chunks at once, and a frame loop calls it once a
        // frame: reads held for a larger amount would only make a step's reads longer.
        client.no_read_coalescing();
        let mut driver = Box::new(Driver {
            tls,
            client,
            exchange: Exchange::new(request),
            url: request.url.clone(),
            start,
            deadlines,
            cancel: request.cancel.clone(),
            phase: Phase::Requesting,
            fresh_retry_used: false,
            chunk: chunk.max(1),
            download,
            delivered: None,
            body: None,
            received: 0,
            size: None,
            config,
        });
        match driver.begin_hop(start) {
            Ok(()) => Ok(driver),
            Err(e) => Err(Box::new((e.with_url(&request.url), driver.client))),
        }
    }

    /// The status of the client underneath.
    pub(crate) fn status(&self) -> Status {
        self.client.status()
    }

    /// Body bytes received so far (before decoding), and the body size the response
    /// announced.
    pub(crate) fn progress(&self) -> (u64, Option<u64>) {
        (self.received, self.size)
    }

    /// One bounded step.
    pub(crate) fn step(&mut self, now: Instant) -> Step {
        match self.advance(now) {
            Ok(true) => Step::Done(Box::new(self.complete())),
            Ok(false) => Step::Running,
            Err(e) => Step::Done(Box::new(self.failed(e))),
        }
    }

    /// Waits up to `max` for the connection to be able to move (a request on its own thread).
    pub(crate) fn wait(&mut self, max: Duration) {
        let writer_busy = self
            .body
            .as_ref()
            .is_some_and(|b| b.backlogged() || b.is_done());
        match self.phase {
            Phase::Pausing { until } => {
                std::thread::sleep(max.min(until.saturating_duration_since(Instant::now())))
            }
            // The next step waits on the download writer, not on the socket.
            Phase::Body if writer_busy => std::thread::sleep(max.min(WRITER_WAIT)),
            _ => self.client.wait(max),
        }
    }

    fn advance(&mut self, now: Instant) -> Result<bool, Error> {
        if let Some(cancel) = &self.cancel {
            cancel.check()?;
        }
        if self.deadlines.total().is_some_and(|t| now >= t) {
            return Err(timeout(self.timeout_phase()));
        }
        match std::mem::replace(&mut self.phase, Phase::Requesting) {
            Phase::Connecting { head, body } => {
                self.client.step(now);
                match self.client.status() {
                    Status::Connected => {
                        self.client.send(&head, body, now)?;
                        self.requesting(now)
                    }
                    Status::Resolving | Status::Connecting => {
                        self.phase = Phase::Connecting { head, body };
                        Ok(false)
                    }
                    _ => self.hop_failed(now),
                }
            }
            Phase::Requesting => self.requesting(now),
            Phase::Draining { wait, drained } => self.drain(now, wait, drained),
            Phase::Pausing { until } if now >= until => self.next_hop(now),
            Phase::Pausing { until } => {
                self.phase = Phase::Pausing { until };
                Ok(false)
            }
            Phase::Body => {
                self.phase = Phase::Body;
                self.read_body(now)
            }
        }
    }

    /// The phase a deadline running out now is reported in.
    fn timeout_phase(&self) -> TimeoutPhase {
        match self.phase {
            Phase::Body => TimeoutPhase::Body,
            Phase::Draining { .. } | Phase::Pausing { .. } => TimeoutPhase::FirstByte,
            _ => self.client.timeout_phase(),
        }
    }

    fn begin_hop(&mut self, now: Instant) -> Result<(), Error> {
        let route = self.exchange.route(&self.config)?;
        let head = self
            .exchange
            .head(&self.config, &route, SystemTime::now())?;
        let body = self.exchange.request().body.open()?;
        if self.client.ready_for(&route) {
            self.client.send(&head, body, now)?;
            self.phase = Phase::Requesting;
        } else {
            let tls = self.tls_for(&route)?;
            self.client.open(route, tls);
            self.phase = Phase::Connecting { head, body };
        }
        Ok(())
    }

    fn tls_for(&mut self, route: &Route) -> Result<Option<TlsSetup>, Error> {
        if !route.https {
            return Ok(None);
        }
        let options = &self.config.tls;
        let config = match &self.tls {
            Some(config) => Arc::clone(config),
            None => {
                let setup = tls_setup(options, &route.host)?;
                self.tls = Some(Arc::clone(&setup.config));
                return Ok(Some(setup));
            }
        };
        let name = crate::transport::tls::server_name(&route.host, options)?;
        Ok(Some(TlsSetup { config, name }))
    }

    fn requesting(&mut self, now: Instant) -> Result<bool, Error> {
        self.phase = Phase::Requesting;
        self.client.step(now);
        if let Some(head) = self.client.response_head() {
            let head = head.clone();
            return self.on_head(head, now);
        }
        match self.client.status() {
            Status::Requesting => Ok(false),
            _ => self.hop_failed(now),
        }
    }

    fn on_head(&mut self, head: ResponseHead, now: Instant) -> Result<bool, Error> {
        let elapsed = now.saturating_duration_since(self.start);
        let next = self
            .exchange
            .on_response(&self.config, &head, SystemTime::now(), elapsed)?;
        match next {
            Next::Deliver => self.deliver(head, now),
            Next::Again { wait, why } => {
                if let Again::Redirect { location } = why {
                    self.client.sink.emit(EventKind::Redirect { location });
                }
                self.drain(now, wait, 0)
            }
        }
    }

    fn deliver(&mut self, mut head: ResponseHead, now: Instant) -> Result<bool, Error> {
        let decoder = self.exchange.decoder(&self.config, &head);
        // Godot's body size: the announced length of the body as it comes over the wire.
        self.size = body_size(head.headers(), false);
        let size = body_size(head.headers(), decoder.is_some());
        if decoder.is_some() {
            // The caller sees the decoded body: its coding and length no longer apply.
            strip_decoded_headers(head.headers_mut());
        }
        let limit = self.config.max_body_size;
        let sink = BodySink::new(decoder, limit, size, self.download.as_deref())?;
        self.delivered = Some(head);
        self.body = Some(sink);
        self.phase = Phase::Body;
        self.read_body(now)
    }

    /// Moves the body on, within this step's budget; true once it is complete.
    fn read_body(&mut self, now: Instant) -> Result<bool, Error> {
        let Some(sink) = self.body.as_mut() else {
            return Ok(true);
        };
        let until = Instant::now() + BODY_TIME_PER_STEP;
        let budget = self.chunk.saturating_mul(CHUNKS_PER_STEP);
        let mut moved = 0;
        while moved < budget && Instant::now() < until {
            if sink.is_done() {
                return sink.settle();
            }
            // Decoding goes a chunk's worth at a time, so the clock is looked at in between.
            if sink.has_work() {
                moved += sink.work(self.chunk)?.max(1);
                continue;
            }
            if sink.backlogged() {
                // The download writer is behind: the socket waits, and TCP holds the server.
                return Ok(false);
            }
            match self.client.read_body(self.chunk, now)? {
                BodyRead::Data(data) => {
                    moved += data.len();
                    sink.push(data)?;
                    self.received = sink.received();
                    moved += sink.work(self.chunk)?;
                }
                BodyRead::Pending => return Ok(false),
                BodyRead::End => sink.end(),
            }
        }
        sink.settle()
    }

    /// Drops what arrives of a body that is not delivered, then starts the next hop.
    fn drain(&mut self, now: Instant, wait: Duration, mut drained: u64) -> Result<bool, Error> {
        for _ in 0..CHUNKS_PER_STEP {
            match self.client.read_body(self.chunk, now) {
                Ok(BodyRead::Data(data)) => {
                    drained += data.len() as u64;
                    if drained > crate::exchange::DRAIN_LIMIT {
                        self.client.close();
                        return self.pause(now, wait);
                    }
                }
                Ok(BodyRead::Pending) => {
                    self.phase = Phase::Draining { wait, drained };
                    return Ok(false);
                }
                // A body that fails on the way out only costs its connection.
                Ok(BodyRead::End) | Err(_) => return self.pause(now, wait),
            }
        }
        self.phase = Phase::Draining { wait, drained };
        Ok(false)
    }

    /// The next hop after `wait`, no later than the request's deadline.
    fn pause(&mut self, now: Instant, wait: Duration) -> Result<bool, Error> {
        if wait.is_zero() {
            return self.next_hop(now);
        }
        let until = now.checked_add(wait);
        let Some(until) = until.filter(|u| self.deadlines.total().is_none_or(|t| *u <= t)) else {
            return Err(timeout(TimeoutPhase::FirstByte));
        };
        self.phase = Phase::Pausing { until };
        Ok(false)
    }

    fn next_hop(&mut self, now: Instant) -> Result<bool, Error> {
        self.deadlines.start_hop(now);
        self.client.set_deadlines(self.deadlines);
        self.begin_hop(now)?;
        Ok(false)
    }

    /// A hop failed before its response was delivered: once on a fresh connection when a
    /// kept-alive one turned out closed, else as the retry policy says.
    fn hop_failed(&mut self, now: Instant) -> Result<bool, Error> {
        let error = self
            .client
            .take_error()
            .unwrap_or_else(|| Error::new(ErrorKind::ConnectionClosed, "the connection closed"));
        let facts = self.client.failed_hop();
        let request = self.exchange.request();
        let stale = facts.is_some_and(|f| {
            let hop = crate::exchange::FailedHop {
                reused: f.reused,
                answered: f.answered,
                written: f.written,
                body_replayable: request.body.is_replayable(),
            };
            crate::exchange::retry_on_fresh_connection(&error, &request.method, &hop)
        });
        if stale && !self.fresh_retry_used {
            // The request never reached a live server: send it again, on a new connection.
            self.fresh_retry_used = true;
            self.client.close();
            self.begin_hop(now)?;
            return Ok(false);
        }
        let answered = facts.is_some_and(|f| f.answered);
        let elapsed = now.saturating_duration_since(self.start);
        let retry =
            self.exchange
                .on_failure(&self.config, &error, answered, elapsed, SystemTime::now());
        match retry {
            Some(wait) => self.pause(now, wait),
            None => Err(error),
        }
    }

    fn complete(&mut self) -> Completion {
        let head = self.delivered.take();
        let finished = self.body.take().map(BodySink::finish).transpose();
        match (head, finished) {
            (Some(head), Ok(body)) => {
                let (body, file) = body.unwrap_or_default();
                let url = self.exchange.request().url.clone();
                Completion::success(&head, delivered_lines(&head), body, file, url)
            }
            (head, Err(e)) => self.failure(head, e),
            (None, Ok(_)) => self.failure(None, Error::new(ErrorKind::NoResponse, "")),
        }
    }

    fn failed(&mut self, error: Error) -> Completion {
        self.body = None;
        let head = self.delivered.take();
        // A connection left mid-exchange must not carry the next request; one that already
        // failed keeps its error status for the caller to see.
        if !self.client.status().is_error() {
            self.client.close();
        }
        self.failure(head, error)
    }

    fn failure(&mut self, head: Option<ResponseHead>, error: Error) -> Completion {
        let url = match head {
            Some(_) => self.exchange.request().url.clone(),
            None => self.url.clone(),
        };
        let lines = head.as_ref().map(delivered_lines).unwrap_or_default();
        Completion::failure(head.as_ref(), lines, error.with_url(&url), url)
    }
}

/// The fields as received, less those decoding removed from the head.
fn delivered_lines(head: &ResponseHead) -> Vec<String> {
    head.fields()
        .iter()
        .filter(|f| {
            HeaderName::from_bytes(&f.name).is_ok_and(|name| head.headers().contains_key(&name))
        })
        .map(|f| {
            format!(
                "{}: {}",
                String::from_utf8_lossy(&f.name),
                String::from_utf8_lossy(&f.value)
            )
        })
        .collect()
}
