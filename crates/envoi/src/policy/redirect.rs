//! Redirects: whether a 3xx is followed, where to, with which method and body, and which
//! credentials stay behind.
//!
//! A front end asks [`RedirectState::next`] after each response head; `None` means "deliver
//! this response", `Some` says what to send next, and [`apply_redirect`] rewrites the request
//! accordingly. The state remembers the chain of URLs so that loops and over-long chains end
//! as [`ErrorKind::TooManyRedirects`] naming every hop.

use std::fmt::Write as _;

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode};

use crate::error::{Error, ErrorKind, IgnoreFlag};
use crate::request::{Body, Request};
use crate::Url;

/// How many redirects are followed by default, as Godot's `HTTPRequest` and DESIGN.md say.
pub const DEFAULT_MAX_REDIRECTS: usize = 8;

/// Which redirects are followed: how many, across which scheme changes, and whether a POST
/// stays a POST.
///
/// The default follows at most [`DEFAULT_MAX_REDIRECTS`], refuses https→http and allows
/// http→https. Strict mode (WinDev's behaviour) refuses both scheme changes; each refusal is
/// lifted by its own switch, which the error names.
///
/// ```
/// use envoi::policy::RedirectPolicy;
///
/// let policy = RedirectPolicy::default()
///     .max_redirects(3)
///     .strict(true)
///     .ignore_redirect_to_https(true);
/// assert_eq!(policy.limit(), 3);
/// assert!(RedirectPolicy::none().limit() == 0, "0 means the 3xx is returned as it is");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectPolicy {
    max_redirects: usize,
    strict: bool,
    allow_to_http: bool,
    allow_to_https: bool,
    post301: bool,
    post302: bool,
    post303: bool,
    auto_referer: bool,
}

impl Default for RedirectPolicy {
    fn default() -> Self {
        RedirectPolicy {
            max_redirects: DEFAULT_MAX_REDIRECTS,
            strict: false,
            allow_to_http: false,
            allow_to_https: false,
            post301: false,
            post302: false,
            post303: false,
            auto_referer: false,
        }
    }
}

impl RedirectPolicy {
    /// A policy that follows nothing: every 3xx is returned as it is.
    pub fn none() -> Self {
        RedirectPolicy::default().max_redirects(0)
    }

    /// Follows at most `max` redirects; 0 returns every 3xx as it is.
    pub fn max_redirects(mut self, max: usize) -> Self {
        self.max_redirects = max;
        self
    }

    /// Strict mode refuses http→https as well as https→http (unless each is ignored).
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Follows a redirect from https to http.
    pub fn ignore_redirect_to_http(mut self, ignore: bool) -> Self {
        self.allow_to_http = ignore;
        self
    }

    /// Follows a redirect from http to https in strict mode.
    pub fn ignore_redirect_to_https(mut self, ignore: bool) -> Self {
        self.allow_to_https = ignore;
        self
    }

    /// Keeps a POST (and its body) across a 301, as curl's `--post301`.
    pub fn post301(mut self, keep: bool) -> Self {
        self.post301 = keep;
        self
    }

    /// Keeps a POST (and its body) across a 302, as curl's `--post302`.
    pub fn post302(mut self, keep: bool) -> Self {
        self.post302 = keep;
        self
    }

    /// Keeps a POST (and its body) across a 303, as curl's `--post303`.
    pub fn post303(mut self, keep: bool) -> Self {
        self.post303 = keep;
        self
    }

    /// Sends `Referer: <the URL redirected from>` with each redirected request, as curl's
    /// `-e ';auto'` (off by default). Never from https to http (RFC 9110 §10.1.3), and never
    /// with the URL's credentials or fragment.
    pub fn auto_referer(mut self, on: bool) -> Self {
        self.auto_referer = on;
        self
    }

    /// True when redirected requests carry a Referer (see
    /// [`auto_referer`](Self::auto_referer)).
    pub fn sets_referer(&self) -> bool {
        self.auto_referer
    }

    /// The most redirects followed for one request (0: none).
    pub fn limit(&self) -> usize {
        self.max_redirects
    }

    /// True in strict mode.
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// Lifts the refusal that `flag` names; flags that are not about redirects change nothing.
    pub fn ignore(self, flag: IgnoreFlag) -> Self {
        match flag {
            IgnoreFlag::RedirectToHttp => self.ignore_redirect_to_http(true),
            IgnoreFlag::RedirectToHttps => self.ignore_redirect_to_https(true),
            _ => self,
        }
    }
}

/// What the redirect rules need to know about the request that got the 3xx.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RequestFacts<'a> {
    pub(crate) method: &'a Method,
    pub(crate) url: &'a Url,
    pub(crate) body_replayable: bool,
    pub(crate) has_body: bool,
}

impl<'a> RequestFacts<'a> {
    pub(crate) fn of(request: &'a Request) -> Self {
        RequestFacts {
            method: &request.method,
            url: &request.url,
            body_replayable: request.body.is_replayable(),
            has_body: !request.body.is_empty(),
        }
    }
}

/// The request to send next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Redirect {
    pub(crate) method: Method,
    pub(crate) url: Url,
    /// Send the same body again; false means no body (and no body headers).
    pub(crate) keep_body: bool,
    /// The new URL has another origin: credentials must not follow.
    pub(crate) cross_origin: bool,
}

/// One request's redirect history.
#[derive(Clone, Debug, Default)]
pub(crate) struct RedirectState {
    hops: Vec<Hop>,
}

#[derive(Clone, Debug)]
struct Hop {
    from: Url,
    method: Method,
    to: Url,
}

impl RedirectState {
    pub(crate) fn new() -> Self {
        RedirectState::default()
    }

    /// How many redirects have been followed.
    pub(crate) fn count(&self) -> usize {
        self.hops.len()
    }

    /// The URLs visited so far, the first request's included.
    pub(crate) fn chain(&self) -> Vec<&Url> {
        let mut chain: Vec<&Url> = self.hops.first().map(|h| &h.from).into_iter().collect();
        chain.extend(self.hops.iter().map(|h| &h.to));
        chain
    }

    /// Decides what follows a response with `status` and `location` to `current`.
    ///
    /// `Ok(None)` delivers the response as it is: not a redirect status, no Location, or
    /// following turned off. Errors: an unusable Location (`InvalidUrl`,
    /// `UnsupportedScheme`), a refused scheme change (`InsecureRedirect`, naming the switch),
    /// a loop or one hop too many (`TooManyRedirects`, naming the chain), and a one-shot body
    /// that would have to be sent again (`BodyNotReplayable`).
    pub(crate) fn next(
        &mut self,
        policy: &RedirectPolicy,
        current: &RequestFacts<'_>,
        status: StatusCode,
        location: Option<&HeaderValue>,
    ) -> Result<Option<Redirect>, Error> {
        if !is_redirect(status) || policy.max_redirects == 0 {
            return Ok(None);
        }
        let Some(location) = location else {
            return Ok(None);
        };
        let target = self.resolve(current.url, location)?;
        self.check_scheme_change(policy, current.url, &target)?;
        self.check_loop(current, &target)?;
        if self.hops.len() >= policy.max_redirects {
            return Err(Error::new(
                ErrorKind::TooManyRedirects,
                format!(
                    "more than {} redirects: {}",
                    policy.max_redirects,
                    self.describe(current.url, &target)
                ),
            ));
        }

        let (method, drops_body) = rewrite_method(policy, status, current.method);
        let keep_body = current.has_body && !drops_body;
        if keep_body && !current.body_replayable {
            return Err(Error::new(
                ErrorKind::BodyNotReplayable,
                format!(
                    "a {} redirect sends the body again, but it is a one-shot stream: {}",
                    status.as_u16(),
                    self.describe(current.url, &target)
                ),
            ));
        }
        let cross_origin = !current.url.same_origin(&target);
        self.hops.push(Hop {
            from: current.url.clone(),
            method: current.method.clone(),
            to: target.clone(),
        });
        Ok(Some(Redirect {
            method,
            url: target,
            keep_body,
            cross_origin,
        }))
    }

    /// Resolves Location against the request URL (RFC 9110 §10.2.2), keeping the request's
    /// fragment when Location has none.
    fn resolve(&self, base: &Url, location: &HeaderValue) -> Result<Url, Error> {
        let text = location_text(location);
        let mut target = base.join(&text).map_err(|e| {
            Error::new(
                ErrorKind::InvalidUrl,
                format!(
                    "redirect Location `{text}` is not a URL ({e}): {}",
                    self.describe_to(base, &text)
                ),
            )
            .with_source(e)
        })?;
        if !matches!(target.scheme(), "http" | "https") {
            return Err(Error::new(
                ErrorKind::UnsupportedScheme,
                format!(
                    "redirect to `{}`: {}",
                    target.scheme(),
                    self.describe(base, &target)
                ),
            ));
        }
        if target.host_str().is_none_or(str::is_empty) {
            return Err(Error::new(
                ErrorKind::InvalidUrl,
                format!(
                    "redirect to a URL without a host: {}",
                    self.describe(base, &target)
                ),
            ));
        }
        if target.fragment().is_none() {
            target.set_fragment(base.fragment());
        }
        Ok(target)
    }

    fn check_scheme_change(
        &self,
        policy: &RedirectPolicy,
        from: &Url,
        to: &Url,
    ) -> Result<(), Error> {
        let refused = match (from.scheme(), to.scheme()) {
            ("https", "http") if !policy.allow_to_http => Some(IgnoreFlag::RedirectToHttp),
            ("http", "https") if policy.strict && !policy.allow_to_https => {
                Some(IgnoreFlag::RedirectToHttps)
            }
            _ => None,
        };
        match refused {
            None => Ok(()),
            Some(flag) => Err(Error::new(
                ErrorKind::InsecureRedirect,
                format!(
                    "{} to {}: {}; to follow it, re-run with {}",
                    from.scheme(),
                    to.scheme(),
                    self.describe(from, to),
                    flag.method_name()
                ),
            )),
        }
    }

    /// A loop is the same hop taken twice: same URL, same method, same target. Visiting a URL
    /// again by another hop is not one (a login dance sets a cookie and comes back).
    fn check_loop(&self, current: &RequestFacts<'_>, target: &Url) -> Result<(), Error> {
        let repeated = self.hops.iter().any(|hop| {
            hop.method == *current.method
                && same_resource(&hop.from, current.url)
                && same_resource(&hop.to, target)
        });
        if repeated {
            return Err(Error::new(
                ErrorKind::TooManyRedirects,
                format!("redirect loop: {}", self.describe(current.url, target)),
            ));
        }
        Ok(())
    }

    /// `a -> b -> c`, ending with the hop being decided.
    fn describe(&self, current: &Url, target: &Url) -> String {
        self.describe_to(current, &shown(target))
    }

    fn describe_to(&self, current: &Url, target: &str) -> String {
        let mut text = String::new();
        let chain = self.chain();
        for url in &chain {
            let _ = write!(text, "{} -> ", shown(url));
        }
        if chain.last().is_none_or(|last| *last != current) {
            let _ = write!(text, "{} -> ", shown(current));
        }
        text.push_str(target);
        text
    }
}

/// 301, 302, 303, 307 and 308 redirect; 300 (a choice), 304 (a cache answer) and 305/306
/// (deprecated) are delivered as they are.
fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// The method of the next request, and whether the body is dropped. 301/302 turn a POST
/// into a GET (what every browser and curl do, RFC 9110 §15.4.2 allows it); 303 turns every
/// method but HEAD into GET; 307/308 never change anything.
fn rewrite_method(policy: &RedirectPolicy, status: StatusCode, method: &Method) -> (Method, bool) {
    let to_get = match status.as_u16() {
        301 => *method == Method::POST && !policy.post301,
        302 => *method == Method::POST && !policy.post302,
        303 => *method != Method::HEAD && !(*method == Method::POST && policy.post303),
        _ => false,
    };
    if to_get {
        (Method::GET, true)
    } else {
        (method.clone(), false)
    }
}

/// Location as text. Servers do send raw UTF-8 or spaces there; those bytes are
/// percent-encoded (as curl does) rather than refused.
fn location_text(value: &HeaderValue) -> String {
    let bytes = value.as_bytes();
    let trimmed = bytes.trim_ascii();
    let mut text = String::with_capacity(trimmed.len());
    for &b in trimmed {
        if b.is_ascii_graphic() {
            text.push(char::from(b));
        } else {
            let _ = write!(text, "%{b:02X}");
        }
    }
    text
}

/// A URL for an error message: a password in it is masked.
fn shown(url: &Url) -> String {
    if url.password().is_none() {
        return url.to_string();
    }
    let mut masked = url.clone();
    masked.set_password(Some("***"));
    masked.to_string()
}

fn same_resource(a: &Url, b: &Url) -> bool {
    a.without_fragment() == b.without_fragment()
}

/// Rewrites `request` into the one `redirect` says to send.
pub(crate) fn apply_redirect(request: &mut Request, redirect: &Redirect) {
    if !redirect.keep_body {
        if !request.body.is_empty() || request.method != redirect.method {
            strip_body_headers(&mut request.headers);
        }
        request.body = Body::empty();
    }
    if redirect.cross_origin {
        strip_for_cross_origin(&mut request.headers);
    }
    request.method = redirect.method.clone();
    request.url = redirect.url.clone();
}

/// The Referer for a redirect from `from` to `to`: `from` without credentials or fragment;
/// none from https to a plain-text scheme (RFC 9110 §10.1.3).
pub(crate) fn referer_for(from: &Url, to: &Url) -> Option<HeaderValue> {
    if from.scheme() == "https" && to.scheme() != "https" {
        return None;
    }
    let mut referer = from.clone();
    referer.set_username("");
    referer.set_password(None);
    referer.set_fragment(None);
    HeaderValue::from_str(referer.as_str()).ok()
}

/// Removes what must not reach another origin: credentials, cookies set by hand (the jar
/// recomputes its own per URL), and a Host set by hand (it named the old origin; curl drops
/// it too).
pub(crate) fn strip_for_cross_origin(headers: &mut HeaderMap) {
    headers.remove(header::AUTHORIZATION);
    headers.remove(header::COOKIE);
    headers.remove(header::PROXY_AUTHORIZATION);
    headers.remove(header::HOST);
}

/// Removes the fields that describe a body once the body is dropped: framing, and the
/// content fields the Fetch standard lists as request-body headers.
pub(crate) fn strip_body_headers(headers: &mut HeaderMap) {
    for name in [
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONTENT_TYPE,
        header::CONTENT_ENCODING,
        header::CONTENT_LANGUAGE,
        header::CONTENT_LOCATION,
    ] {
        headers.remove(name);
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
