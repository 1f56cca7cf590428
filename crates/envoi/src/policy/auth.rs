//! Authentication: Basic and Bearer sent up front, Digest (RFC 7616) in answer to a
//! challenge, and curl's `--anyauth` choice between them. Proxies (407,
//! Proxy-Authenticate) follow the same rules as servers (401, WWW-Authenticate).
//!
//! A challenge is answered once per request: a second 401 means the credentials are wrong,
//! and the caller delivers that 401 instead of looping. The one exception is a Digest
//! challenge marked `stale=true` (the nonce expired, the credentials were fine), which is
//! answered one more time.

#[cfg(feature = "digest")]
mod digest;
#[cfg(feature = "digest")]
mod md5;

use std::fmt;

use base64::Engine as _;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};

use crate::error::{Error, ErrorKind};
use crate::Url;
#[cfg(feature = "digest")]
use digest::{DigestChallenge, DigestInput};

/// Credentials for a server or a proxy.
///
/// ```
/// use envoi::policy::Auth;
///
/// let basic = Auth::basic("aladdin", "opensesame");
/// let digest = Auth::digest("Mufasa", "Circle of Life");
/// // Secrets never show in Debug output.
/// assert!(!format!("{basic:?} {digest:?}").contains("opensesame"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// Basic (RFC 7617), sent with the first request.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// A bearer token (RFC 6750), sent with the first request.
    Bearer(String),
    /// Digest (RFC 7616), sent in answer to the server's challenge (feature `digest`).
    #[cfg(feature = "digest")]
    Digest {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// Whichever of Digest or Basic the challenge offers, Digest first (curl's `--anyauth`);
    /// nothing is sent before the challenge. Without the feature `digest`, Basic only.
    Any {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
}

impl Auth {
    /// Basic credentials.
    pub fn basic(user: impl Into<String>, password: impl Into<String>) -> Auth {
        Auth::Basic {
            user: user.into(),
            password: password.into(),
        }
    }

    /// A bearer token.
    pub fn bearer(token: impl Into<String>) -> Auth {
        Auth::Bearer(token.into())
    }

    /// Digest credentials (feature `digest`).
    #[cfg(feature = "digest")]
    pub fn digest(user: impl Into<String>, password: impl Into<String>) -> Auth {
        Auth::Digest {
            user: user.into(),
            password: password.into(),
        }
    }

    /// Credentials for whichever scheme the server asks for.
    pub fn any(user: impl Into<String>, password: impl Into<String>) -> Auth {
        Auth::Any {
            user: user.into(),
            password: password.into(),
        }
    }

    /// Basic credentials from a URL's userinfo (percent-decoded), as curl reads
    /// `http://user:pass@host/`.
    pub(crate) fn from_url(url: &Url) -> Option<Auth> {
        if url.username().is_empty() {
            return None;
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        Some(Auth::basic(
            decode(url.username()),
            url.password().map(decode).unwrap_or_default(),
        ))
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (scheme, user) = match self {
            Auth::Basic { user, .. } => ("Basic", Some(user)),
            Auth::Bearer(_) => ("Bearer", None),
            #[cfg(feature = "digest")]
            Auth::Digest { user, .. } => ("Digest", Some(user)),
            Auth::Any { user, .. } => ("Any", Some(user)),
        };
        let mut d = f.debug_struct(scheme);
        if let Some(user) = user {
            d.field("user", user);
        }
        d.finish_non_exhaustive()
    }
}

/// Who asks for the credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuthTarget {
    /// The origin server: 401, WWW-Authenticate, Authorization.
    Server,
    /// The proxy: 407, Proxy-Authenticate, Proxy-Authorization.
    Proxy,
}

impl AuthTarget {
    fn challenge_status(self) -> StatusCode {
        match self {
            AuthTarget::Server => StatusCode::UNAUTHORIZED,
            AuthTarget::Proxy => StatusCode::PROXY_AUTHENTICATION_REQUIRED,
        }
    }

    fn challenge_header(self) -> HeaderName {
        match self {
            AuthTarget::Server => header::WWW_AUTHENTICATE,
            AuthTarget::Proxy => header::PROXY_AUTHENTICATE,
        }
    }

    /// The request field that carries the answer.
    pub(crate) fn answer_header(self) -> HeaderName {
        match self {
            AuthTarget::Server => header::AUTHORIZATION,
            AuthTarget::Proxy => header::PROXY_AUTHORIZATION,
        }
    }
}

/// One request's authentication with one party: what to send first, and the single answer
/// to a challenge.
#[derive(Clone, Debug)]
pub(crate) struct AuthState {
    auth: Auth,
    target: AuthTarget,
    answers: u8,
    #[cfg(feature = "digest")]
    nonce: Option<String>,
    #[cfg(feature = "digest")]
    nc: u32,
    /// A redirect left the origin the credentials were given for.
    withdrawn: bool,
}

impl AuthState {
    pub(crate) fn new(auth: Auth, target: AuthTarget) -> Self {
        AuthState {
            auth,
            target,
            answers: 0,
            #[cfg(feature = "digest")]
            nonce: None,
            #[cfg(feature = "digest")]
            nc: 0,
            withdrawn: false,
        }
    }

    /// A redirect is being followed. It is a new request, so a challenge may be answered
    /// again; but a server's credentials stay behind when the redirect leaves their origin
    /// (curl does the same unless told `--location-trusted`). A proxy's stay with the proxy.
    pub(crate) fn on_redirect(&mut self, cross_origin: bool) {
        self.answers = 0;
        if cross_origin && self.target == AuthTarget::Server {
            self.withdrawn = true;
        }
    }

    /// The field sent with the first request: Basic and Bearer go at once, Digest and Any
    /// wait for a challenge. A user name, password or token that cannot be a header value
    /// is [`ErrorKind::InvalidHeader`], found before anything is sent.
    pub(crate) fn initial_header(&self) -> Result<Option<HeaderValue>, Error> {
        if self.withdrawn {
            return Ok(None);
        }
        let text = match &self.auth {
            Auth::Basic { user, password } => basic_value(user, password),
            Auth::Bearer(token) => format!("Bearer {token}"),
            #[cfg(feature = "digest")]
            Auth::Digest { .. } => return Ok(None),
            Auth::Any { .. } => return Ok(None),
        };
        HeaderValue::from_str(&text).map(Some).map_err(|_| {
            Error::new(
                ErrorKind::InvalidHeader,
                "the credentials hold control characters",
            )
            .with_header(self.target.answer_header().as_str())
        })
    }

    /// Answers a 401 (or 407 for a proxy) carrying a challenge this auth can meet; `None`
    /// delivers the response as it is. `uri` is the request-target as sent; `cnonce` a fresh
    /// client nonce ([`crate::policy::new_cnonce`]). The answer goes into the head of the
    /// repeated request only (not into the request's own headers, where a redirect would
    /// carry a Digest answer made for another URI).
    pub(crate) fn on_challenge(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        method: &Method,
        uri: &str,
        cnonce: &str,
    ) -> Option<HeaderValue> {
        if self.withdrawn || status != self.target.challenge_status() {
            return None;
        }
        let challenges = parse_challenges(headers.get_all(self.target.challenge_header()));
        let (user, password, basic_allowed) = match &self.auth {
            // Sent with the first request already: a challenge now means it was refused.
            Auth::Basic { .. } | Auth::Bearer(_) => return None,
            #[cfg(feature = "digest")]
            Auth::Digest { user, password } => (user, password, false),
            Auth::Any { user, password } => (user, password, true),
        };
        #[cfg(not(feature = "digest"))]
        let _ = (method, uri, cnonce);
        #[cfg(feature = "digest")]
        if let Some(challenge) = DigestChallenge::pick(&challenges) {
            let allowed = match self.answers {
                0 => true,
                1 => challenge.stale,
                _ => false,
            };
            if !allowed {
                return None;
            }
            if self.nonce.as_deref() != Some(challenge.nonce.as_str()) {
                self.nonce = Some(challenge.nonce.clone());
                self.nc = 0;
            }
            self.nc = self.nc.saturating_add(1);
            self.answers += 1;
            let input = DigestInput {
                user,
                password,
                method: method.as_str(),
                uri,
                cnonce,
                nc: self.nc,
            };
            return HeaderValue::from_str(&challenge.answer(&input)).ok();
        }
        let offers_basic = challenges.iter().any(|c| c.scheme == "basic");
        if basic_allowed && offers_basic && self.answers == 0 {
            self.answers += 1;
            return HeaderValue::from_str(&basic_value(user, password)).ok();
        }
        None
    }
}

fn basic_value(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// One challenge of a WWW-Authenticate or Proxy-Authenticate field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Challenge {
    /// The scheme, lower-cased.
    pub(crate) scheme: String,
    /// The parameters, names lower-cased, values unquoted.
    pub(crate) params: Vec<(String, String)>,
    /// A token68 in place of parameters (e.g. Negotiate's blob).
    pub(crate) token68: Option<String>,
}

impl Challenge {
    #[cfg(any(feature = "digest", test))]
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every challenge in every field, in order (RFC 9110 §11.6.1: a field may hold several, and
/// a quoted string may hold commas and escapes). Never fails: what cannot be read is skipped.
pub(crate) fn parse_challenges<'a>(
    values: impl IntoIterator<Item = &'a HeaderValue>,
) -> Vec<Challenge> {
    let mut out = Vec::new();
    for value in values {
        let mut cursor = Cursor {
            s: value.as_bytes(),
            i: 0,
        };
        cursor.challenges(&mut out);
    }
    out
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn challenges(&mut self, out: &mut Vec<Challenge>) {
        loop {
            self.skip(|b| b == b',' || is_ws(b));
            if self.peek().is_none() {
                return;
            }
            let scheme = self.take(is_tchar);
            if scheme.is_empty() {
                self.skip_past_comma();
                continue;
            }
            let mut challenge = Challenge {
                scheme: String::from_utf8_lossy(scheme).to_ascii_lowercase(),
                ..Challenge::default()
            };
            self.skip(is_ws);
            challenge.token68 = self.token68();
            if challenge.token68.is_none() {
                self.params(&mut challenge);
            }
            out.push(challenge);
        }
    }

    /// A token68 stands alone: its characters, trailing `=`s, then the end or a comma.
    fn token68(&mut self) -> Option<String> {
        let start = self.i;
        let has_body = !self.take(is_token68_char).is_empty();
        self.skip(|b| b == b'=');
        let end = self.i;
        self.skip(is_ws);
        if has_body && matches!(self.peek(), None | Some(b',')) {
            return Some(String::from_utf8_lossy(&self.s[start..end]).into_owned());
        }
        self.i = start;
        None
    }

    fn params(&mut self, challenge: &mut Challenge) {
        loop {
            self.skip(is_ws);
            let start = self.i;
            let name = self.take(is_tchar);
            if name.is_empty() {
                match self.peek() {
                    None => return,
                    Some(b',') => self.i += 1,
                    Some(_) => self.skip_past_comma(),
                }
                continue;
            }
            self.skip(is_ws);
            if self.peek() != Some(b'=') {
                // A token with no `=`: the next challenge's scheme.
                self.i = start;
                return;
            }
            self.i += 1;
            self.skip(is_ws);
            let value = if self.peek() == Some(b'"') {
                self.quoted()
            } else {
                String::from_utf8_lossy(self.take(is_tchar)).into_owned()
            };
            challenge
                .params
                .push((String::from_utf8_lossy(name).to_ascii_lowercase(), value));
            self.skip(is_ws);
            match self.peek() {
                None => return,
                Some(b',') => self.i += 1,
                Some(_) => self.skip_past_comma(),
            }
        }
    }

    /// A quoted string after its opening quote; `\x` stands for `x`. An unterminated one
    /// runs to the end of the field.
    fn quoted(&mut self) -> String {
        self.i += 1;
        let mut bytes = Vec::new();
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(escaped) = self.peek() {
                        bytes.push(escaped);
                        self.i += 1;
                    }
                }
                _ => bytes.push(b),
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn take(&mut self, keep: impl Fn(u8) -> bool) -> &'a [u8] {
        let (s, start) = (self.s, self.i);
        self.skip(keep);
        &s[start..self.i]
    }

    fn skip(&mut self, skip: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&skip) {
            self.i += 1;
        }
    }

    /// Recovery from something unreadable: on to the next comma that is not in a quote.
    fn skip_past_comma(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b'"' => {
                    self.quoted();
                }
                b',' => {
                    self.i += 1;
                    return;
                }
                _ => self.i += 1,
            }
        }
    }
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

#[cfg(test)]
mod tests;
