//! The cookie jar: one per client, updated from every response (redirects included) and
//! consulted for every request.
//!
//! Matching (domain, host-only, path, Secure, HttpOnly) is `cookie_store`'s RFC 6265 code.
//! This module adds what it leaves out: public-suffix refusal from the compiled `psl` list,
//! Secure cookies and the `__Secure-`/`__Host-` prefixes accepted only from secure origins
//! (RFC 6265bis §4.1.3, as curl and browsers do), Max-Age counted from a `now` the caller
//! passes, and curl's Netscape cookie-file format.
//!
//! Time: `store_response_at` and `cookie_header_at` take `now`, and every expiry decision
//! made here uses it. `cookie_store` itself still reads the clock in one place: a cookie
//! that arrives already expired (Max-Age=0, an Expires in the past) deletes its namesake
//! "as of the system clock", which for such dates gives the same answer.

use std::fmt;
use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use cookie::time::OffsetDateTime;
use cookie_store::{CookieDomain, CookieExpiration, CookieStore, RawCookie};
use http::header::{self, HeaderMap, HeaderValue};
use url::Host;

use crate::error::{Error, ErrorKind};
use crate::Url;

/// A cookie jar shared by every clone (clones see the same cookies).
///
/// ```
/// use envoi::policy::CookieJar;
/// use http::header::{HeaderMap, HeaderValue, SET_COOKIE};
/// use envoi::Url;
///
/// let jar = CookieJar::default();
/// let url = Url::parse("https://shop.example.com/cart").unwrap();
/// let mut headers = HeaderMap::new();
/// headers.append(SET_COOKIE, HeaderValue::from_static("id=42; Path=/; Secure"));
/// jar.store_response(&url, &headers);
/// assert_eq!(jar.cookie_header(&url).unwrap(), "id=42");
/// ```
#[derive(Clone, Default)]
pub struct CookieJar {
    store: Arc<Mutex<CookieStore>>,
}

/// One cookie in a jar, as [`CookieJar::cookies`] lists it.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCookie {
    /// The name.
    pub name: String,
    /// The value.
    pub value: String,
    /// The domain, without a leading dot.
    pub domain: String,
    /// Sent to `domain` only (no Domain attribute), not to its subdomains.
    pub host_only: bool,
    /// The path.
    pub path: String,
    /// Sent over secure connections only.
    pub secure: bool,
    /// Not for scripts (kept for the file formats; an HTTP client sends it like any other).
    pub http_only: bool,
    /// When it expires; `None` for a session cookie.
    pub expires: Option<SystemTime>,
}

impl CookieJar {
    /// An empty jar.
    pub fn new() -> Self {
        CookieJar::default()
    }

    /// Stores every Set-Cookie of a response from `url`, as of the system clock.
    pub fn store_response(&self, url: &Url, headers: &HeaderMap) {
        self.store_response_at(url, headers, SystemTime::now());
    }

    /// The Cookie header for a request to `url`, as of the system clock; `None` when no
    /// cookie matches.
    pub fn cookie_header(&self, url: &Url) -> Option<HeaderValue> {
        self.cookie_header_at(url, SystemTime::now())
    }

    /// Every cookie not expired by the system clock, ordered by domain, path and name.
    pub fn cookies(&self) -> Vec<StoredCookie> {
        let now = OffsetDateTime::from(SystemTime::now());
        let store = self.lock();
        let mut cookies: Vec<StoredCookie> = store
            .iter_any()
            .filter(|c| !c.expires_by(&now))
            .map(stored)
            .collect();
        cookies.sort_by(|a, b| (&a.domain, &a.path, &a.name).cmp(&(&b.domain, &b.path, &b.name)));
        cookies
    }

    /// Removes every cookie.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Stores every Set-Cookie field of a response from `url`; Max-Age counts from `now`.
    /// Cookies the rules refuse are dropped one by one, never the whole response.
    pub(crate) fn store_response_at(&self, url: &Url, headers: &HeaderMap, now: SystemTime) {
        let mut fields = headers.get_all(header::SET_COOKIE).iter().peekable();
        if fields.peek().is_none() {
            return;
        }
        let Some(url) = &jar_url(url) else { return };
        let now = OffsetDateTime::from(now);
        let mut store = self.lock();
        for value in fields {
            // Set-Cookie is not UTF-8 by law, but cookie parsing needs text; a field that is
            // not is dropped like any other malformed cookie.
            if let Ok(text) = std::str::from_utf8(value.as_bytes()) {
                if let Some(raw) = accept(text, url, now) {
                    // cookie_store refuses a Domain that does not match the host, and an
                    // expired cookie deletes the one it names.
                    let _ = store.insert_raw(&raw, url);
                }
            }
        }
    }

    /// The Cookie header for `url` as of `now`: longer paths first (RFC 6265 §5.4).
    pub(crate) fn cookie_header_at(&self, url: &Url, now: SystemTime) -> Option<HeaderValue> {
        let now = OffsetDateTime::from(now);
        let store = self.lock();
        // An empty jar answers without turning the URL into cookie_store's type.
        store.iter_any().next()?;
        let url = &jar_url(url)?;
        let mut matching: Vec<_> = store
            .iter_any()
            .filter(|c| !c.expires_by(&now) && c.matches(url))
            .collect();
        if matching.is_empty() {
            return None;
        }
        matching.sort_by(|a, b| {
            let (pa, pb): (&str, &str) = (a.path.as_ref(), b.path.as_ref());
            pb.len().cmp(&pa.len()).then_with(|| a.name().cmp(b.name()))
        });
        let text = matching
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; ");
        HeaderValue::from_str(&text).ok()
    }

    /// Reads curl's Netscape cookie file (what `curl -c` writes and `-b` reads). Comment
    /// lines, blank lines and malformed lines are skipped, as curl does; expired cookies are
    /// dropped. Only a failing reader is an error ([`ErrorKind::BodyIo`]).
    pub fn load_netscape(reader: impl BufRead) -> Result<CookieJar, Error> {
        let now = OffsetDateTime::from(SystemTime::now());
        let mut store = CookieStore::default();
        for line in reader.lines() {
            let line = line.map_err(|e| file_error("reading the cookie file", e))?;
            if let Some((cookie, url)) = parse_netscape_line(&line) {
                if !cookie.expires_by(&now) {
                    let _ = store.insert(cookie, &url);
                }
            }
        }
        Ok(CookieJar::from_store(store))
    }

    /// Writes the jar in curl's Netscape format: session cookies included with expiry 0,
    /// HttpOnly ones prefixed `#HttpOnly_`, domain cookies with a leading dot.
    pub fn save_netscape(&self, mut writer: impl Write) -> Result<(), Error> {
        let mut text = String::from(
            "# Netscape HTTP Cookie File\n\
             # https://curl.se/docs/http-cookies.html\n\
             # This file was generated by envoi. Edit at your own risk.\n\n",
        );
        for c in self.cookies() {
            let expires = c
                .expires
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs().max(1));
            text.push_str(&format!(
                "{}{}{}\t{}\t{}\t{}\t{expires}\t{}\t{}\n",
                if c.http_only { "#HttpOnly_" } else { "" },
                if c.host_only { "" } else { "." },
                c.domain,
                flag(!c.host_only),
                c.path,
                flag(c.secure),
                c.name,
                c.value,
            ));
        }
        writer
            .write_all(text.as_bytes())
            .and_then(|()| writer.flush())
            .map_err(|e| file_error("writing the cookie file", e))
    }

    /// Reads cookies saved by [`save_json`](CookieJar::save_json) (`cookie_store`'s JSON).
    pub fn load_json(reader: impl BufRead) -> Result<CookieJar, Error> {
        let store = cookie_store::serde::json::load(reader)
            .map_err(|e| file_error("reading the JSON cookie file", e))?;
        Ok(CookieJar::from_store(store))
    }

    /// Writes every unexpired cookie, session cookies included, as JSON.
    pub fn save_json(&self, mut writer: impl Write) -> Result<(), Error> {
        let now = OffsetDateTime::from(SystemTime::now());
        let live = {
            let store = self.lock();
            let cookies = store
                .iter_any()
                .filter(|c| !c.expires_by(&now))
                .cloned()
                .map(Ok::<_, std::convert::Infallible>);
            match CookieStore::from_cookies(cookies, true) {
                Ok(live) => live,
                Err(never) => match never {},
            }
        };
        cookie_store::serde::json::save_incl_expired_and_nonpersistent(&live, &mut writer)
            .map_err(|e| file_error("writing the JSON cookie file", e))
    }

    fn from_store(store: CookieStore) -> CookieJar {
        CookieJar {
            store: Arc::new(Mutex::new(store)),
        }
    }

    /// The store; a poisoned lock (a panic elsewhere while holding it) still yields it, as
    /// the store is valid between any two operations.
    fn lock(&self) -> MutexGuard<'_, CookieStore> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: values are often secrets.
        let names: Vec<String> = self
            .cookies()
            .into_iter()
            .map(|c| format!("{}@{}{}", c.name, c.domain, c.path))
            .collect();
        f.debug_struct("CookieJar")
            .field("cookies", &names)
            .finish()
    }
}

/// Parses one Set-Cookie value and applies the rules `cookie_store` lacks; `None` refuses it.
fn accept(text: &str, url: &url::Url, now: OffsetDateTime) -> Option<RawCookie<'static>> {
    let mut raw = RawCookie::parse(text.to_owned()).ok()?;
    let secure_origin = is_secure_origin(url);
    if raw.secure() == Some(true) && !secure_origin {
        return None;
    }
    let name = raw.name();
    if name.starts_with("__Secure-") && !(raw.secure() == Some(true) && secure_origin) {
        return None;
    }
    if name.starts_with("__Host-")
        && !(raw.secure() == Some(true)
            && secure_origin
            && raw.domain().is_none()
            && raw.path() == Some("/"))
    {
        return None;
    }
    if let Some(domain) = raw.domain().map(|d| d.trim().to_ascii_lowercase()) {
        if is_public_suffix(&domain) {
            // RFC 6265 §5.3 step 5: a public suffix is refused as a Domain, unless it is the
            // very host, which then gets a host-only cookie.
            if url.host_str() != Some(domain.as_str()) {
                return None;
            }
            raw.unset_domain();
        }
    }
    if let Some(max_age) = raw.max_age() {
        // Max-Age wins over Expires (RFC 6265 §5.3 step 3); turned into a date here so that
        // it counts from the caller's `now`, not from cookie_store's clock.
        let expires = if max_age.is_positive() {
            now.checked_add(max_age).unwrap_or(MAX_EXPIRY)
        } else {
            OffsetDateTime::UNIX_EPOCH
        };
        raw.set_max_age(None);
        raw.set_expires(expires.min(MAX_EXPIRY));
    }
    Some(raw)
}

/// The latest date cookie_store keeps (it stores RFC 3339 years of four digits).
const MAX_EXPIRY: OffsetDateTime = match OffsetDateTime::from_unix_timestamp(253_402_300_799) {
    Ok(t) => t,
    Err(_) => OffsetDateTime::UNIX_EPOCH,
};

/// A known public suffix (`com`, `co.uk`, `github.io`); an unknown TLD (`test`, `localhost`)
/// is not one, as in cookie_store and curl.
fn is_public_suffix(domain: &str) -> bool {
    let domain = domain.trim_start_matches('.');
    psl::suffix(domain.as_bytes())
        .is_some_and(|s| s.is_known() && s.as_bytes().eq_ignore_ascii_case(domain.as_bytes()))
}

/// https, or plain http to this machine (where nobody can listen in).
fn is_secure_origin(url: &url::Url) -> bool {
    url.scheme() == "https"
        || match url.host() {
            Some(Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
}

fn stored(c: &cookie_store::Cookie<'static>) -> StoredCookie {
    let (domain, host_only) = match &c.domain {
        CookieDomain::HostOnly(d) => (d.clone(), true),
        CookieDomain::Suffix(d) => (d.clone(), false),
        CookieDomain::NotPresent | CookieDomain::Empty => (String::new(), true),
    };
    let expires = match &c.expires {
        CookieExpiration::AtUtc(t) => Some(to_system_time(*t)),
        CookieExpiration::SessionEnd => None,
    };
    StoredCookie {
        name: c.name().to_owned(),
        value: c.value().to_owned(),
        domain,
        host_only,
        path: String::from(&c.path),
        secure: c.secure() == Some(true),
        http_only: c.http_only() == Some(true),
        expires,
    }
}

fn to_system_time(t: OffsetDateTime) -> SystemTime {
    let seconds = t.unix_timestamp();
    match u64::try_from(seconds) {
        Ok(s) => SystemTime::UNIX_EPOCH + Duration::from_secs(s),
        Err(_) => SystemTime::UNIX_EPOCH,
    }
}

fn flag(on: bool) -> &'static str {
    if on {
        "TRUE"
    } else {
        "FALSE"
    }
}

/// One line of a Netscape cookie file: the cookie and the URL it is as if received from.
fn parse_netscape_line(line: &str) -> Option<(cookie_store::Cookie<'static>, url::Url)> {
    let line = line.trim_end_matches(['\r', '\n']);
    let (line, http_only) = match line.strip_prefix("#HttpOnly_") {
        Some(rest) => (rest, true),
        None if line.starts_with('#') || line.trim().is_empty() => return None,
        None => (line, false),
    };
    let fields: Vec<&str> = line.split('\t').collect();
    // curl writes seven fields; a cookie with an empty value may have lost the seventh.
    if fields.len() < 6 {
        return None;
    }
    let domain = fields[0].trim_start_matches('.');
    let subdomains = fields[1].eq_ignore_ascii_case("TRUE");
    let path = fields[2];
    let secure = fields[3].eq_ignore_ascii_case("TRUE");
    let expires: i64 = fields[4].trim().parse().ok()?;
    let name = fields[5];
    let value = fields.get(6..).map(|v| v.join("\t")).unwrap_or_default();
    if domain.is_empty() || name.is_empty() {
        return None;
    }
    let scheme = if secure { "https" } else { "http" };
    let url = url::Url::parse(&format!("{scheme}://{domain}/")).ok()?;
    let mut raw = RawCookie::new(name.to_owned(), value);
    raw.set_path(if path.starts_with('/') { path } else { "/" }.to_owned());
    raw.set_secure(secure);
    raw.set_http_only(http_only);
    if subdomains {
        raw.set_domain(domain.to_owned());
    }
    if expires != 0 {
        raw.set_expires(
            OffsetDateTime::from_unix_timestamp(expires)
                .ok()?
                .min(MAX_EXPIRY),
        );
    }
    let cookie = cookie_store::Cookie::try_from_raw_cookie(&raw, &url).ok()?;
    Some((cookie.into_owned(), url))
}

/// The URL as cookie_store takes it.
fn jar_url(url: &Url) -> Option<url::Url> {
    url::Url::try_from(url).ok()
}

fn file_error(what: &str, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::new(ErrorKind::BodyIo, what.to_owned()).with_source(e)
}

#[cfg(test)]
mod tests;
