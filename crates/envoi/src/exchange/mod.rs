//! One request's journey, shared by every front end: the head of each hop, and after each
//! response what comes next (deliver it, follow a redirect, answer an authentication
//! challenge, retry). The policy decides; nothing here performs I/O or reads a clock, so the
//! front ends pass the time in and move the bytes.

mod deadlines;
mod head;
mod upload;

use std::time::{Duration, SystemTime};

use envoi_proto::{RequestHead, ResponseHead};
use http::header::{self, HeaderMap, HeaderValue};
use http::StatusCode;

use crate::config::Config;
use crate::error::{Error, ErrorKind};
use crate::event::{EventKind, EventSink};
use crate::policy::auth::{AuthState, AuthTarget};
use crate::policy::decode::{self, ContentDecoder};
use crate::policy::redirect::{apply_redirect, referer_for, RedirectState, RequestFacts};
use crate::policy::retry::{retry_delay, Attempt, RetryCause};
use crate::policy::{Auth, CancelHandle};
use crate::pool::Reuse;
use crate::request::Request;
use crate::transport::route::Route;
pub(crate) use deadlines::{earliest, timeout, Deadlines};
pub(crate) use head::{connect_head, request_head};
#[cfg(feature = "poll")]
pub(crate) use head::{frame_body, host_value};
pub(crate) use upload::{answer_or, streaming_request, Halt};

/// A redirect's or challenge's body up to this size is read and dropped so its connection can
/// carry the next hop; a larger one closes the connection instead.
pub(crate) const DRAIN_LIMIT: u64 = 64 * 1024;

/// Size of each piece of a request body stream in the poll front end (which keeps each
/// `poll()` short) and of each write of an async streamed upload; the blocking and async
/// clients read a whole body stream in larger pieces (`request::STREAM_READ`).
#[cfg(any(feature = "poll", feature = "tokio"))]
pub(crate) const UPLOAD_CHUNK: usize = 64 * 1024;
/// A bytes body up to this size goes out in the same write as the head.
pub(crate) const COALESCE_LIMIT: usize = 16 * 1024;

/// What a hop that failed on its connection knows about itself.
pub(crate) struct FailedHop {
    /// The connection came from the pool.
    pub(crate) reused: bool,
    /// At least one response byte arrived.
    pub(crate) answered: bool,
    /// Request bytes that reached the socket.
    pub(crate) written: u64,
    /// The body could be sent again as it was.
    pub(crate) body_replayable: bool,
}

/// True when a failed write may still have an answer waiting behind it: a server that
/// answers early (a redirect, a refusal) and stops reading closes or resets the connection
/// while the body is still going out, and its answer is the better report. A write that timed
/// out has none (the server is still there, not reading). Blocking and async front ends read
/// for the head after such a failure; the poll front end keeps reading after one anyway.
pub(crate) fn answer_may_follow(write_failure: &Error) -> bool {
    write_failure.kind() == ErrorKind::ConnectionClosed
}

/// True when a failure on a reused connection happened before the server answered anything,
/// and sending again on a fresh connection cannot repeat an effect: either no byte of the
/// request reached the socket, or the method is idempotent and the body can be sent again.
/// Every front end asks this once per hop, before the retry policy.
pub(crate) fn retry_on_fresh_connection(
    error: &Error,
    method: &http::Method,
    hop: &FailedHop,
) -> bool {
    let closed = matches!(
        error.kind(),
        ErrorKind::ConnectionClosed | ErrorKind::NoResponse
    );
    hop.reused
        && !hop.answered
        && closed
        && (hop.written == 0 || (method.is_idempotent() && hop.body_replayable))
}

/// Where the wait for a response head stands after the protocol core's next events.
pub(crate) enum HeadProgress {
    /// The core needs more bytes from the connection.
    NeedData,
    /// The final head arrived.
    Final(envoi_proto::ResponseHead),
}

/// Takes the core's events while a response head is awaited, for every front end: each
/// interim (1xx) head is reported to `sink` and passed over; anything but a need for more
/// bytes or the final head is a malformed response.
pub(crate) fn next_head_event(
    proto: &mut envoi_proto::Connection,
    sink: &mut EventSink,
) -> Result<HeadProgress, Error> {
    loop {
        match proto.next_event()? {
            envoi_proto::Event::NeedData => return Ok(HeadProgress::NeedData),
            envoi_proto::Event::Informational(h) => sink.emit(EventKind::InterimResponse {
                status: h.status(),
                head: h.raw().clone(),
            }),
            envoi_proto::Event::ResponseHead(h) => return Ok(HeadProgress::Final(h)),
            other => {
                return Err(Error::new(
                    ErrorKind::MalformedResponse,
                    format!("unexpected {other:?} before the response head"),
                ))
            }
        }
    }
}

/// How a request's first attempt takes a pooled connection: without the staleness peek when
/// the fresh-connection retry above would cover a connection the server had closed (an
/// idempotent method with a body that can be sent again), with it otherwise.
pub(crate) fn reuse_for(method: &http::Method, body_replayable: bool) -> Reuse {
    if method.is_idempotent() && body_replayable {
        Reuse::Trusted
    } else {
        Reuse::Checked
    }
}

/// What to do after a response head.
#[derive(Debug)]
pub(crate) enum Next {
    /// Hand this response to the caller.
    Deliver,
    /// Send the (updated) request again, after `wait`: a redirect, an answer to a challenge,
    /// or a retry.
    Again { wait: Duration, why: Again },
}

/// Why a request goes again.
#[derive(Debug)]
pub(crate) enum Again {
    Redirect { location: String },
    Challenge,
    Retry,
}

/// How a delivered body is read, in every front end that hands out a response: decoded or
/// not, within the body limit, cancellable; and the redirects followed before it.
#[derive(Default)]
pub(crate) struct BodyOptions {
    pub(crate) decoder: Option<ContentDecoder>,
    pub(crate) limit: Option<u64>,
    pub(crate) redirects: usize,
    pub(crate) cancel: Option<CancelHandle>,
}

/// The policy state of one request across its hops.
pub(crate) struct Exchange {
    request: Request,
    redirects: RedirectState,
    auth: Option<AuthState>,
    /// Credentials for a forward proxy's challenge (407), made when one comes.
    proxy_auth: Option<AuthState>,
    /// Fields for the next hop only (an answer to a challenge).
    answer: HeaderMap,
    retries: u32,
    /// Whether this hop asked for compressed content (and so must decode it).
    asked_encoding: bool,
}

impl Exchange {
    pub(crate) fn new(request: &Request) -> Exchange {
        let auth = request
            .auth
            .clone()
            .or_else(|| Auth::from_url(&request.url))
            .map(|a| AuthState::new(a, AuthTarget::Server));
        Exchange {
            request: request.clone(),
            redirects: RedirectState::new(),
            auth,
            proxy_auth: None,
            answer: HeaderMap::new(),
            retries: 0,
            asked_encoding: false,
        }
    }

    /// The request as the next hop sends it.
    pub(crate) fn request(&self) -> &Request {
        &self.request
    }

    /// Redirects followed so far.
    pub(crate) fn redirect_count(&self) -> usize {
        self.redirects.count()
    }

    /// How the body of `head`, the response delivered, is read.
    pub(crate) fn body_options(&self, config: &Config, head: &ResponseHead) -> BodyOptions {
        BodyOptions {
            decoder: self.decoder(config, head),
            limit: config.max_body_size,
            redirects: self.redirect_count(),
            cancel: self.request.cancel.clone(),
        }
    }

    /// Where the next hop goes.
    pub(crate) fn route(&self, config: &Config) -> Result<Route, Error> {
        Route::for_url(&self.request.url, config)
    }

    /// The head of the next hop: the request's own fields and the client's defaults, then
    /// cookies from the jar, credentials, and Accept-Encoding when decoding is on.
    pub(crate) fn head(
        &mut self,
        config: &Config,
        route: &Route,
        now: SystemTime,
    ) -> Result<RequestHead, Error> {
        let mut head = request_head(config, &self.request, route)?;
        let headers = &mut head.headers;
        if !headers.contains_key(header::COOKIE) {
            if let Some(cookies) = config.cookies_for(&self.request.url, now) {
                headers.insert(header::COOKIE, cookies);
            }
        }
        if let Some(value) = self.answer.remove(header::PROXY_AUTHORIZATION) {
            headers.insert(header::PROXY_AUTHORIZATION, value);
        }
        if !headers.contains_key(header::AUTHORIZATION) {
            if let Some(value) = self.answer.remove(header::AUTHORIZATION) {
                headers.insert(header::AUTHORIZATION, value);
            } else if let Some(value) = self
                .auth
                .as_ref()
                .map(AuthState::initial_header)
                .transpose()?
                .flatten()
            {
                headers.insert(header::AUTHORIZATION, value);
            }
        }
        self.asked_encoding = config.decompress
            && !headers.contains_key(header::ACCEPT_ENCODING)
            && !headers.contains_key(header::RANGE);
        if self.asked_encoding {
            decode::add_accept_encoding(headers);
        }
        Ok(head)
    }

    /// Decides what follows a response head. `elapsed` is the time since the request started.
    pub(crate) fn on_response(
        &mut self,
        config: &Config,
        head: &ResponseHead,
        now: SystemTime,
        elapsed: Duration,
    ) -> Result<Next, Error> {
        let status = head.status();
        let headers = head.headers();
        config.store_cookies(&self.request.url, headers, now);
        let replayable = self.request.body.is_replayable();
        if status == StatusCode::UNAUTHORIZED && replayable {
            if let Some(auth) = &mut self.auth {
                let uri = origin_form(&self.request.url);
                let cnonce = crate::policy::new_cnonce();
                if let Some(answer) =
                    auth.on_challenge(status, headers, &self.request.method, &uri, &cnonce)
                {
                    self.answer.insert(header::AUTHORIZATION, answer);
                    return Ok(Next::Again {
                        wait: Duration::ZERO,
                        why: Again::Challenge,
                    });
                }
            }
        }
        if status == StatusCode::PROXY_AUTHENTICATION_REQUIRED && replayable {
            if let Some(answer) = self.answer_proxy(config, headers) {
                self.answer.insert(header::PROXY_AUTHORIZATION, answer);
                return Ok(Next::Again {
                    wait: Duration::ZERO,
                    why: Again::Challenge,
                });
            }
        }
        let facts = RequestFacts::of(&self.request);
        let redirect = self.redirects.next(
            &config.redirect,
            &facts,
            status,
            headers.get(header::LOCATION),
        )?;
        if let Some(redirect) = redirect {
            let location = redirect.url.to_string();
            if let Some(auth) = &mut self.auth {
                auth.on_redirect(redirect.cross_origin);
            }
            let referer = config
                .redirect
                .sets_referer()
                .then(|| referer_for(&self.request.url, &redirect.url))
                .flatten();
            apply_redirect(&mut self.request, &redirect);
            if let Some(referer) = referer {
                self.request.headers.insert(header::REFERER, referer);
            }
            self.answer.clear();
            return Ok(Next::Again {
                wait: Duration::ZERO,
                why: Again::Redirect { location },
            });
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            let cause = RetryCause::Status {
                status,
                retry_after: headers.get(header::RETRY_AFTER).cloned(),
            };
            if let Some(wait) = self.retry_after(config, &cause, elapsed, now) {
                return Ok(Next::Again {
                    wait,
                    why: Again::Retry,
                });
            }
        }
        Ok(Next::Deliver)
    }

    /// The answer to a forward proxy's challenge, once, when the proxy has credentials.
    fn answer_proxy(&mut self, config: &Config, headers: &HeaderMap) -> Option<HeaderValue> {
        if self.proxy_auth.is_none() {
            let route = self.route(config).ok()?;
            let proxy = route.proxy.as_ref().filter(|_| route.is_forward_proxy())?;
            self.proxy_auth = Some(AuthState::new(proxy.auth()?, AuthTarget::Proxy));
        }
        let uri = self.request.url.to_string();
        let cnonce = crate::policy::new_cnonce();
        let status = StatusCode::PROXY_AUTHENTICATION_REQUIRED;
        self.proxy_auth
            .as_mut()?
            .on_challenge(status, headers, &self.request.method, &uri, &cnonce)
    }

    /// Decides whether a failed hop goes again, and after how long. `answered` says whether
    /// any response byte had arrived.
    pub(crate) fn on_failure(
        &mut self,
        config: &Config,
        error: &Error,
        answered: bool,
        elapsed: Duration,
        now: SystemTime,
    ) -> Option<Duration> {
        let cause = match error.kind() {
            ErrorKind::CantConnect | ErrorKind::Timeout(crate::TimeoutPhase::Connect) => {
                RetryCause::ConnectFailed
            }
            ErrorKind::ConnectionClosed | ErrorKind::NoResponse if !answered => {
                RetryCause::ResetBeforeResponse
            }
            _ => return None,
        };
        self.retry_after(config, &cause, elapsed, now)
    }

    fn retry_after(
        &mut self,
        config: &Config,
        cause: &RetryCause,
        elapsed: Duration,
        now: SystemTime,
    ) -> Option<Duration> {
        let attempt = Attempt {
            retries: self.retries,
            method: &self.request.method,
            body_replayable: self.request.body.is_replayable(),
            elapsed,
        };
        let wait = retry_delay(&config.retry, &attempt, cause, crate::policy::jitter(), now)?;
        self.retries += 1;
        Some(wait)
    }

    /// The decoder for a delivered response's body, when this hop asked for compressed
    /// content and the response uses a coding envoi knows.
    pub(crate) fn decoder(&self, config: &Config, head: &ResponseHead) -> Option<ContentDecoder> {
        if !self.asked_encoding || head.framing() == envoi_proto::BodyFraming::Empty {
            return None;
        }
        ContentDecoder::for_headers(head.headers(), config.max_body_size)
    }
}

/// The request-target a Digest answer names: path and query.
fn origin_form(url: &crate::Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}
