//! A small WHATWG URL parser covering what an HTTP client needs.
//!
//! For the special schemes `http`, `https`, `ws`, `wss` and `ftp` it accepts
//! exactly the inputs the `url` crate accepts and produces the same
//! serialization and accessor values, so it can stand in for `url` without
//! pulling in `idna` and ICU4X. Deliberate differences from `url`:
//!
//! * `file:` URLs (absolute, or as the result of [`Url::join`]) are rejected
//!   with "unsupported URL form".
//! * Hosts of non-special schemes (`socks5://…`) are parsed like special hosts:
//!   percent-decoded, lowercased, IPv4 forms normalized, non-ASCII sent to IDNA.
//!   `url` keeps them as opaque, percent-encoded text. An empty host is still
//!   allowed there, but `foo://@` and `foo://:@` are rejected as the WHATWG
//!   standard says (`url` accepts them).
//! * Without the `url` feature, a host that needs IDNA (non-ASCII after
//!   percent-decoding) is an error, and ASCII `xn--` labels are accepted as
//!   they are, without checking their Punycode.
//! * `..` after a segment that looks like a Windows drive letter (`http://h/a|/..`)
//!   removes it, as the WHATWG standard and browsers do outside `file:`; `url` 2.5
//!   keeps it (`http://h/a|/`).
//! * [`Url::port_or_known_default`] also knows the SOCKS port 1080.
//! * [`Url::same_origin`] compares scheme, host and port of special URLs only;
//!   like `url`'s opaque origins, any other URL is never same-origin.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

mod host;
mod parse;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub(crate) use parse::append_form_pairs;
use parse::{default_port, encode, is_special, parse, split_scheme, without_tab_newline};
use parse::{Parts, PathValue};
use parse::{FRAGMENT, USERINFO};

/// A parsed absolute URL, stored as its serialization plus component offsets.
///
/// ```
/// let base = envoi::Url::parse("HTTPS://Example.com:443/a/b?x=1#top")?;
/// assert_eq!(base.as_str(), "https://example.com/a/b?x=1#top");
/// assert_eq!(base.port_or_known_default(), Some(443));
/// assert_eq!(base.path_and_query(), "/a/b?x=1");
/// assert_eq!(base.join("../c d")?.as_str(), "https://example.com/c%20d");
/// # Ok::<(), envoi::http_url::ParseError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Url {
    serialization: String,
    scheme_end: u32,
    username_end: u32,
    host_start: u32,
    host_end: u32,
    host: HostKind,
    port: Option<u16>,
    path_start: u32,
    query_start: Option<u32>,
    fragment_start: Option<u32>,
}

/// What `host_start..host_end` holds. `None` means there is no `//` authority;
/// an empty `Domain` is the empty host non-special URLs may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum HostKind {
    None,
    Domain,
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
}

/// The host of a [`Url`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host<'a> {
    /// A domain name: lowercase ASCII, with Punycode for international names.
    Domain(&'a str),
    /// An IPv4 address, in whichever WHATWG form it was written.
    Ipv4(Ipv4Addr),
    /// An IPv6 address (written between brackets in the URL).
    Ipv6(Ipv6Addr),
}

/// Why an input is not a valid URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    kind: &'static str,
}

// The kinds, worded like `url`'s errors.
impl ParseError {
    const EMPTY_HOST: Self = Self::new("empty host");
    const IDNA: Self = Self::new("invalid international domain name");
    #[cfg(not(feature = "url"))]
    const IDNA_UNSUPPORTED: Self = Self::new("international domain name needs the `url` feature");
    const INVALID_PORT: Self = Self::new("invalid port number");
    const INVALID_IPV4: Self = Self::new("invalid IPv4 address");
    const INVALID_IPV6: Self = Self::new("invalid IPv6 address");
    const INVALID_DOMAIN_CHARACTER: Self = Self::new("invalid domain character");
    const RELATIVE_WITHOUT_BASE: Self = Self::new("relative URL without a base");
    const RELATIVE_WITH_OPAQUE_BASE: Self = Self::new("relative URL with a cannot-be-a-base base");
    const UNSUPPORTED: Self = Self::new("unsupported URL form");
    const OVERFLOW: Self = Self::new("URLs more than 4 GB are not supported");

    const fn new(kind: &'static str) -> Self {
        ParseError { kind }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind)
    }
}

impl std::error::Error for ParseError {}

impl Url {
    /// Parses an absolute URL.
    pub fn parse(input: &str) -> Result<Url, ParseError> {
        parse(input, None)
    }

    /// Resolves `input`, absolute or relative (e.g. a `Location` header), against `self`.
    pub fn join(&self, input: &str) -> Result<Url, ParseError> {
        parse(input, Some(self))
    }

    /// The whole serialization.
    pub fn as_str(&self) -> &str {
        &self.serialization
    }

    /// The scheme, lowercase, without the `:`.
    pub fn scheme(&self) -> &str {
        self.slice(0, self.scheme_end)
    }

    /// The percent-encoded username, `""` when there is none.
    pub fn username(&self) -> &str {
        let start = self.scheme_end.saturating_add(3);
        if self.host != HostKind::None && self.username_end > start {
            self.slice(start, self.username_end)
        } else {
            ""
        }
    }

    /// The percent-encoded password, if there is a non-empty one.
    pub fn password(&self) -> Option<&str> {
        let at = self.username_end as usize;
        let has =
            self.host != HostKind::None && self.serialization.as_bytes().get(at) == Some(&b':');
        has.then(|| self.slice(self.username_end + 1, self.host_start.saturating_sub(1)))
    }

    /// The host as written in the serialization (IPv6 with brackets).
    pub fn host_str(&self) -> Option<&str> {
        self.host()
            .map(|_| self.slice(self.host_start, self.host_end))
    }

    /// The parsed host; `None` when there is none or it is empty.
    pub fn host(&self) -> Option<Host<'_>> {
        match self.host {
            HostKind::None => None,
            HostKind::Domain => Some(self.slice(self.host_start, self.host_end))
                .filter(|domain| !domain.is_empty())
                .map(Host::Domain),
            HostKind::Ipv4(address) => Some(Host::Ipv4(address)),
            HostKind::Ipv6(address) => Some(Host::Ipv6(address)),
        }
    }

    /// The port, `None` when absent or equal to the scheme's WHATWG default.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The port, or the well-known port of the scheme when absent.
    pub fn port_or_known_default(&self) -> Option<u16> {
        self.port.or_else(|| match self.scheme() {
            "socks4" | "socks4a" | "socks5" | "socks5h" => Some(1080),
            scheme => default_port(scheme),
        })
    }

    /// The percent-encoded path.
    pub fn path(&self) -> &str {
        let end = self.query_start.or(self.fragment_start);
        self.slice(self.path_start, end.unwrap_or(self.len()))
    }

    /// The percent-encoded query, without the `?`.
    pub fn query(&self) -> Option<&str> {
        let end = self.fragment_start.unwrap_or(self.len());
        self.query_start.map(|start| self.slice(start + 1, end))
    }

    /// The percent-encoded fragment, without the `#`.
    pub fn fragment(&self) -> Option<&str> {
        self.fragment_start
            .map(|start| self.slice(start + 1, self.len()))
    }

    /// The path and query, as sent in an HTTP request line.
    pub fn path_and_query(&self) -> &str {
        self.slice(self.path_start, self.fragment_start.unwrap_or(self.len()))
    }

    /// The serialization without the fragment.
    pub fn without_fragment(&self) -> &str {
        self.slice(0, self.fragment_start.unwrap_or(self.len()))
    }

    /// Replaces or removes the fragment, percent-encoding it.
    pub fn set_fragment(&mut self, fragment: Option<&str>) {
        let mut parts = self.parts();
        parts.fragment = fragment.map(|f| encode(&without_tab_newline(f), FRAGMENT));
        if let (None, None, PathValue::Opaque(path)) = (fragment, &parts.query, &mut parts.path) {
            // As in `url`: the spaces were only kept to separate the path from the fragment.
            path.truncate(path.trim_end_matches(' ').len());
        }
        self.rebuild(&parts);
    }

    /// Sets the username, percent-encoding it; `""` removes it.
    /// Does nothing when the URL has no (or an empty) host.
    pub fn set_username(&mut self, username: &str) {
        if self.host().is_some() {
            let mut parts = self.parts();
            parts.username = encode(username, USERINFO);
            self.rebuild(&parts);
        }
    }

    /// Sets the password, percent-encoding it; `None` or `""` removes it.
    /// Does nothing when the URL has no (or an empty) host.
    pub fn set_password(&mut self, password: Option<&str>) {
        if self.host().is_some() {
            let mut parts = self.parts();
            parts.password = encode(password.unwrap_or(""), USERINFO);
            self.rebuild(&parts);
        }
    }

    /// Appends `name=value` pairs, `application/x-www-form-urlencoded`, to the query.
    ///
    /// Like `url`'s `query_pairs_mut()`, this leaves a `?` even when `pairs` is empty.
    pub fn append_query_pairs<'a>(&mut self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let mut parts = self.parts();
        let mut query = parts.query.take().unwrap_or_default();
        append_form_pairs(&mut query, pairs);
        parts.query = Some(query);
        self.rebuild(&parts);
    }

    /// Whether both URLs have the same (scheme, host, port) origin. As in `url`,
    /// only special schemes have such origins; other URLs never match.
    pub fn same_origin(&self, other: &Url) -> bool {
        is_special(self.scheme())
            && self.scheme() == other.scheme()
            && self.host() == other.host()
            && self.port_or_known_default() == other.port_or_known_default()
    }

    fn len(&self) -> u32 {
        // Every `Url` is built by `Parts::build`, which checks that this fits.
        u32::try_from(self.serialization.len()).unwrap_or(u32::MAX)
    }

    fn slice(&self, start: u32, end: u32) -> &str {
        self.serialization
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }

    fn has_opaque_path(&self) -> bool {
        self.host == HostKind::None && !self.path().starts_with('/')
    }

    fn parts(&self) -> Parts {
        let path = self.path();
        Parts {
            scheme: self.scheme().into(),
            username: self.username().into(),
            password: self.password().unwrap_or_default().into(),
            host: (self.host != HostKind::None)
                .then(|| (self.host, self.slice(self.host_start, self.host_end).into())),
            port: self.port,
            path: if self.has_opaque_path() {
                PathValue::Opaque(path.into())
            } else {
                PathValue::Segments(path.split('/').skip(1).map(String::from).collect())
            },
            query: self.query().map(String::from),
            fragment: self.fragment().map(String::from),
        }
    }

    fn rebuild(&mut self, parts: &Parts) {
        // Only a result over 4 GB can fail; then the URL is left unchanged.
        if let Ok(url) = parts.build() {
            *self = url;
        }
    }
}

/// The scheme `text` starts with (after leading spaces and controls), as the parser reads
/// it, whether or not the rest of `text` parses.
pub(crate) fn scheme_of(text: &str) -> Option<&str> {
    split_scheme(text.trim_start_matches(|c: char| c <= ' ')).map(|(scheme, _)| scheme)
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Url").field(&self.as_str()).finish()
    }
}

impl FromStr for Url {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Url, ParseError> {
        Url::parse(input)
    }
}

/// The same URL as the `url` crate's type (feature `url`), for code that takes one:
/// `url::Url::try_from(response.url())`. It reads envoi's serialization, which is the one
/// `url` makes, so it fails only where the module doc lists a difference.
#[cfg(feature = "url")]
impl TryFrom<&Url> for url::Url {
    type Error = url::ParseError;

    fn try_from(url: &Url) -> Result<url::Url, url::ParseError> {
        url::Url::parse(url.as_str())
    }
}
