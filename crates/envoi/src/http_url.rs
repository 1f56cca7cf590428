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

use std::fmt::{self, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

/// A parsed absolute URL, stored as its serialization plus component offsets.
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

/// A URL taken apart, every component already percent-encoded. Parsing and the
/// setters work on this and serialize it with [`Parts::build`], which keeps the
/// offset bookkeeping in one place.
#[derive(Default)]
struct Parts {
    scheme: String,
    username: String,
    password: String,
    /// The kind and serialization of the host, `None` without an authority.
    host: Option<(HostKind, String)>,
    port: Option<u16>,
    path: PathValue,
    query: Option<String>,
    fragment: Option<String>,
}

enum PathValue {
    Opaque(String),
    Segments(Vec<String>),
}

impl Default for PathValue {
    fn default() -> Self {
        PathValue::Segments(Vec::new())
    }
}

impl Parts {
    fn new(scheme: String) -> Parts {
        Parts {
            scheme,
            ..Parts::default()
        }
    }

    fn special(&self) -> bool {
        is_special(&self.scheme)
    }

    /// Parses a hierarchical path (after its first slash) and what follows it.
    fn path_and_after(mut self, input: &str) -> Parts {
        let (path, after) = split_path(input);
        let special = self.special();
        if let PathValue::Segments(segments) = &mut self.path {
            push_segments(segments, path, special);
        }
        self.query_and_fragment(after);
        self
    }

    /// Parses `input`, which is empty or starts with `?` or `#`.
    fn query_and_fragment(&mut self, input: &str) {
        let (before, fragment) = match input.split_once('#') {
            Some((before, fragment)) => (before, Some(fragment)),
            None => (input, None),
        };
        if let Some(query) = before.strip_prefix('?') {
            let set = if self.special() { SPECIAL_QUERY } else { QUERY };
            self.query = Some(encode(query, set));
        }
        if let Some(fragment) = fragment {
            self.fragment = Some(encode(fragment, FRAGMENT));
        }
    }

    fn build(&self) -> Result<Url, ParseError> {
        let mut s = format!("{}:", self.scheme);
        // Saturating is fine: the final length is checked, and it bounds all offsets.
        let at = |s: &String| u32::try_from(s.len()).unwrap_or(u32::MAX);
        let (mut username_end, mut host_start, mut host_end) = (at(&s), at(&s), at(&s));
        let mut host = HostKind::None;
        if let Some((kind, text)) = &self.host {
            s.push_str("//");
            s.push_str(&self.username);
            username_end = at(&s);
            if !self.password.is_empty() {
                s.push(':');
                s.push_str(&self.password);
            }
            if !self.username.is_empty() || !self.password.is_empty() {
                s.push('@');
            }
            host_start = at(&s);
            s.push_str(text);
            (host_end, host) = (at(&s), *kind);
            if let Some(port) = self.port {
                let _ = write!(s, ":{port}");
            }
        }
        let mut path_start = at(&s);
        match &self.path {
            PathValue::Opaque(path) => s.push_str(path),
            PathValue::Segments(segments) => {
                // Without "/." a path starting with "//" would read back as a host.
                if self.host.is_none()
                    && segments.len() > 1
                    && segments.first().is_some_and(String::is_empty)
                {
                    s.push_str("/.");
                    path_start = at(&s);
                }
                for segment in segments {
                    s.push('/');
                    s.push_str(segment);
                }
            }
        }
        let mut append = |sigil: char, component: &Option<String>| {
            let start = at(&s);
            component.as_ref().map(|text| {
                s.push(sigil);
                s.push_str(text);
                start
            })
        };
        let query_start = append('?', &self.query);
        let fragment_start = append('#', &self.fragment);
        if u32::try_from(s.len()).is_err() {
            return Err(ParseError::OVERFLOW);
        }
        Ok(Url {
            serialization: s,
            scheme_end: u32::try_from(self.scheme.len()).unwrap_or_default(),
            username_end,
            host_start,
            host_end,
            host,
            port: self.port,
            path_start,
            query_start,
            fragment_start,
        })
    }
}

fn parse(input: &str, base: Option<&Url>) -> Result<Url, ParseError> {
    // The standard ignores tabs and newlines anywhere, so they go up front.
    let input = without_tab_newline(input.trim_matches(|c: char| c <= ' '));
    parse_parts(&input, base)?.build()
}

fn parse_parts(input: &str, base: Option<&Url>) -> Result<Parts, ParseError> {
    let Some((scheme, rest)) = split_scheme(input) else {
        let base = base.ok_or(ParseError::RELATIVE_WITHOUT_BASE)?;
        if let Some(fragment) = input.strip_prefix('#') {
            let mut parts = base.parts();
            parts.fragment = Some(encode(fragment, FRAGMENT));
            return Ok(parts);
        }
        if base.has_opaque_path() {
            return Err(ParseError::RELATIVE_WITH_OPAQUE_BASE);
        }
        return relative(base, input);
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme == "file" {
        return Err(ParseError::UNSUPPORTED);
    }
    if is_special(&scheme) {
        let after_slashes = rest.trim_start_matches(is_slash);
        match base {
            // "http:foo" against an http base is relative, but "http://foo" is not.
            Some(base) if base.scheme() == scheme && rest.len() - after_slashes.len() < 2 => {
                relative(base, rest)
            }
            _ => authority(Parts::new(scheme), after_slashes),
        }
    } else if let Some(rest) = rest.strip_prefix("//") {
        authority(Parts::new(scheme), rest)
    } else if let Some(path) = rest.strip_prefix('/') {
        Ok(Parts::new(scheme).path_and_after(path))
    } else {
        let mut parts = Parts::new(scheme);
        let (path, after) = split_path(rest);
        parts.path = PathValue::Opaque(encode(path, CONTROLS));
        parts.query_and_fragment(after);
        Ok(parts)
    }
}

/// Splits `scheme:rest`; `None` when `input` does not start with a scheme.
fn split_scheme(input: &str) -> Option<(&str, &str)> {
    if !input.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let end = input.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))?;
    let (scheme, rest) = input.split_at(end);
    Some((scheme, rest.strip_prefix(':')?))
}

/// Resolves a reference that has no scheme of its own (or the base's special one).
fn relative(base: &Url, input: &str) -> Result<Parts, ParseError> {
    let mut parts = base.parts();
    parts.fragment = None;
    match input.chars().next() {
        None => Ok(parts),
        Some('?' | '#') => {
            if input.starts_with('?') {
                parts.query = None;
            }
            parts.query_and_fragment(input);
            Ok(parts)
        }
        Some('/' | '\\') => {
            // `url` treats `\` as a slash here for every scheme, and skips no
            // further slashes after an exact "//" (so "///x" has an empty host).
            let after_slashes = input.trim_start_matches(is_slash);
            if input.len() - after_slashes.len() >= 2 {
                let rest = input.strip_prefix("//").unwrap_or(after_slashes);
                return authority(Parts::new(parts.scheme), rest);
            }
            parts.path = PathValue::Segments(Vec::new());
            parts.query = None;
            Ok(parts.path_and_after(after_slashes))
        }
        Some(_) => {
            parts.query = None;
            if let PathValue::Segments(segments) = &mut parts.path {
                segments.pop();
            }
            Ok(parts.path_and_after(input))
        }
    }
}

/// Parses `userinfo@host:port` and everything after it.
fn authority(mut parts: Parts, input: &str) -> Result<Parts, ParseError> {
    let special = parts.special();
    let end = input.find(|c| matches!(c, '/' | '?' | '#') || (special && c == '\\'));
    let (authority, rest) = input.split_at(end.unwrap_or(input.len()));
    let host_and_port = match authority.rsplit_once('@') {
        Some((_, "")) => return Err(ParseError::EMPTY_HOST),
        Some((userinfo, host_and_port)) => {
            // Earlier `@`s belong to the userinfo and get percent-encoded.
            let (username, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            parts.username = encode(username, USERINFO);
            parts.password = encode(password, USERINFO);
            host_and_port
        }
        None => authority,
    };
    let (host, port) = split_port(host_and_port);
    if host.is_empty() && (special || port.is_some()) {
        return Err(ParseError::EMPTY_HOST);
    }
    parts.host = Some(if host.is_empty() {
        (HostKind::Domain, String::new())
    } else {
        parse_host(host)?
    });
    if let Some(port) = port {
        parts.port = parse_port(port, default_port(&parts.scheme))?;
    }
    if special {
        Ok(parts.path_and_after(rest.strip_prefix(is_slash).unwrap_or(rest)))
    } else if let Some(path) = rest.strip_prefix('/') {
        Ok(parts.path_and_after(path))
    } else {
        parts.query_and_fragment(rest);
        Ok(parts)
    }
}

/// Splits at the first `:` outside IPv6 brackets.
fn split_port(input: &str) -> (&str, Option<&str>) {
    let mut in_brackets = false;
    for (i, c) in input.char_indices() {
        match c {
            '[' => in_brackets = true,
            ']' => in_brackets = false,
            ':' if !in_brackets => {
                let (host, port) = input.split_at(i);
                return (host, port.get(1..));
            }
            _ => {}
        }
    }
    (input, None)
}

fn parse_port(input: &str, default: Option<u16>) -> Result<Option<u16>, ParseError> {
    let mut port = 0u16;
    for b in input.bytes() {
        let digit = b.is_ascii_digit().then(|| u16::from(b - b'0'));
        port = digit
            .and_then(|d| port.checked_mul(10)?.checked_add(d))
            .ok_or(ParseError::INVALID_PORT)?;
    }
    Ok(Some(port).filter(|&port| !input.is_empty() && Some(port) != default))
}

/// Appends path segments, resolving `.` and `..` (also as `%2e`) on the way.
fn push_segments(segments: &mut Vec<String>, path: &str, special: bool) {
    let mut pieces = path
        .split(|c| c == '/' || (special && c == '\\'))
        .peekable();
    while let Some(piece) = pieces.next() {
        let last = pieces.peek().is_none();
        let lower = piece.to_ascii_lowercase();
        match lower.as_str() {
            ".." | ".%2e" | "%2e." | "%2e%2e" => drop(segments.pop()),
            "." | "%2e" => {}
            _ => {
                segments.push(encode(piece, PATH));
                continue;
            }
        }
        // A dot segment at the end still leaves the path ending in a slash.
        if last {
            segments.push(String::new());
        }
    }
}

/// Returns the host's kind and serialization.
fn parse_host(input: &str) -> Result<(HostKind, String), ParseError> {
    if let Some(inner) = input.strip_prefix('[') {
        let address = inner.strip_suffix(']').and_then(parse_ipv6);
        return address.map(ipv6_host).ok_or(ParseError::INVALID_IPV6);
    }
    let domain = String::from_utf8(percent_decode(input)).map_err(|_| ParseError::IDNA)?;
    if domain
        .bytes()
        .any(|b| b <= b' ' || b == 0x7f || b"#%/:<>?@[\\]^|".contains(&b))
    {
        return Err(ParseError::INVALID_DOMAIN_CHARACTER);
    }
    if let Some(host) = idna_host(&domain) {
        return host;
    }
    let domain = domain.to_ascii_lowercase();
    if !ends_in_number(&domain) {
        return Ok((HostKind::Domain, domain));
    }
    let address = parse_ipv4(&domain).ok_or(ParseError::INVALID_IPV4)?;
    Ok((HostKind::Ipv4(address), address.to_string()))
}

/// IDNA (UTS #46) needs Unicode tables this module deliberately does not carry,
/// so hosts that need it go through `url`. `None`: plain ASCII, no IDNA needed.
#[cfg(feature = "url")]
fn idna_host(domain: &str) -> Option<Result<(HostKind, String), ParseError>> {
    let punycode = |label: &str| {
        label
            .get(..4)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("xn--"))
    };
    if domain.is_ascii() && !domain.split('.').any(punycode) {
        return None;
    }
    // `domain` holds no `%` any more, so `url` cannot percent-decode it twice.
    Some(match url::Host::parse(domain) {
        Ok(url::Host::Domain(domain)) => Ok((HostKind::Domain, domain)),
        Ok(url::Host::Ipv4(address)) => Ok((HostKind::Ipv4(address), address.to_string())),
        Ok(url::Host::Ipv6(address)) => Ok(ipv6_host(address)),
        Err(url::ParseError::EmptyHost) => Err(ParseError::EMPTY_HOST),
        Err(url::ParseError::InvalidIpv4Address) => Err(ParseError::INVALID_IPV4),
        Err(_) => Err(ParseError::IDNA),
    })
}

/// IDNA (UTS #46) needs Unicode tables this module deliberately does not carry.
/// `xn--` labels cannot be checked without them either, so they pass as ASCII.
#[cfg(not(feature = "url"))]
fn idna_host(domain: &str) -> Option<Result<(HostKind, String), ParseError>> {
    (!domain.is_ascii()).then_some(Err(ParseError::IDNA_UNSUPPORTED))
}

/// Whether the last label (ignoring one trailing dot) is an IPv4 number,
/// which makes the whole host an IPv4 address or an error.
fn ends_in_number(domain: &str) -> bool {
    let mut labels = domain.rsplit('.');
    let last = match labels.next() {
        Some("") => labels.next(),
        last => last,
    };
    last.is_some_and(|last| {
        (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
            || ipv4_number(last).is_some()
    })
}

/// Parses decimal, `0x` hex or leading-zero octal; saturates, as anything past
/// `u32` is rejected anyway.
fn ipv4_number(input: &str) -> Option<u64> {
    if input.is_empty() {
        return None;
    }
    let (digits, radix) = if let Some(hex) = input
        .strip_prefix("0x")
        .or_else(|| input.strip_prefix("0X"))
    {
        (hex, 16)
    } else if let Some(octal) = input.strip_prefix('0').filter(|rest| !rest.is_empty()) {
        (octal, 8)
    } else {
        (input, 10)
    };
    digits.chars().try_fold(0u64, |n, c| {
        let digit = c.to_digit(radix)?;
        Some(
            n.saturating_mul(u64::from(radix))
                .saturating_add(u64::from(digit)),
        )
    })
}

fn parse_ipv4(domain: &str) -> Option<Ipv4Addr> {
    let mut parts: Vec<&str> = domain.split('.').collect();
    if parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    if parts.len() > 4 {
        return None;
    }
    let numbers = parts
        .into_iter()
        .map(ipv4_number)
        .collect::<Option<Vec<u64>>>()?;
    let (&last, init) = numbers.split_last()?;
    // The last number fills all the bytes the earlier ones leave over.
    let free_bits = 8 * (5 - numbers.len() as u32);
    if init.iter().any(|&n| n > 255) || last >= 1u64 << free_bits {
        return None;
    }
    let address = init
        .iter()
        .zip([24, 16, 8])
        .fold(last, |address, (&n, shift)| address | n << shift);
    u32::try_from(address).ok().map(Ipv4Addr::from)
}

/// The WHATWG IPv6 parser: 1–4 hex digits a piece, at most one `::`, and
/// optionally a strict dotted IPv4 address as the last two pieces.
fn parse_ipv6(input: &str) -> Option<Ipv6Addr> {
    let (head, tail) = match input.split_once("::") {
        Some((head, tail)) => (ipv6_pieces(head, false)?, Some(ipv6_pieces(tail, true)?)),
        None => (ipv6_pieces(input, true)?, None),
    };
    let tail = tail.unwrap_or_default();
    let zeros = 8usize.checked_sub(head.len() + tail.len())?;
    // "::" stands for at least one zero piece, and only it can.
    if (zeros > 0) != input.contains("::") {
        return None;
    }
    let mut pieces = head;
    pieces.resize(pieces.len() + zeros, 0);
    pieces.extend(tail);
    <[u16; 8]>::try_from(pieces).ok().map(Ipv6Addr::from)
}

fn ipv6_pieces(input: &str, ipv4_last: bool) -> Option<Vec<u16>> {
    let mut pieces = Vec::new();
    if input.is_empty() {
        return Some(pieces);
    }
    let mut parts = input.split(':').peekable();
    while let Some(part) = parts.next() {
        if ipv4_last && parts.peek().is_none() && part.contains('.') {
            let number = |n: &str| {
                let canonical =
                    n.bytes().all(|b| b.is_ascii_digit()) && (n.len() == 1 || !n.starts_with('0'));
                n.parse::<u8>().ok().filter(|_| canonical)
            };
            let bytes = part.split('.').map(number).collect::<Option<Vec<u8>>>()?;
            let [a, b, c, d] = <[u8; 4]>::try_from(bytes).ok()?;
            pieces.extend([u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d])]);
        } else if (1..=4).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_hexdigit()) {
            pieces.push(u16::from_str_radix(part, 16).ok()?);
        } else {
            return None;
        }
    }
    Some(pieces)
}

/// Serializes lowercase hex pieces, the first longest run of two or more zeros as `::`.
fn ipv6_host(address: Ipv6Addr) -> (HostKind, String) {
    let pieces = address.segments();
    let mut zeros = 0..0;
    for start in 0..pieces.len() {
        let run = pieces
            .iter()
            .skip(start)
            .take_while(|&&piece| piece == 0)
            .count();
        if run >= 2 && run > zeros.len() {
            zeros = start..start + run;
        }
    }
    let hex = |pieces: Option<&[u16]>| {
        let pieces = pieces
            .unwrap_or_default()
            .iter()
            .map(|piece| format!("{piece:x}"));
        pieces.collect::<Vec<_>>().join(":")
    };
    let text = if zeros.is_empty() {
        hex(Some(&pieces))
    } else {
        format!(
            "{}::{}",
            hex(pieces.get(..zeros.start)),
            hex(pieces.get(zeros.end..))
        )
    };
    (HostKind::Ipv6(address), format!("[{text}]"))
}

fn percent_decode(input: &str) -> Vec<u8> {
    let bytes = input.as_bytes();
    let hex = |i: usize| bytes.get(i).and_then(|&b| char::from(b).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

// The WHATWG percent-encode sets, each also holding C0 controls, DEL and non-ASCII.
const CONTROLS: &[u8] = b"";
const FRAGMENT: &[u8] = b" \"<>`";
const QUERY: &[u8] = b" \"#<>";
const SPECIAL_QUERY: &[u8] = b" \"#<>'";
const PATH: &[u8] = b" \"#<>?^`{}";
const USERINFO: &[u8] = b" \"#<>?^`{}/:;=@[\\]|";

/// UTF-8 percent-encodes; going byte by byte is the same since every byte of
/// a non-ASCII character is encoded.
fn encode(input: &str, set: &[u8]) -> String {
    let mut out = String::with_capacity(input.len());
    for b in input.bytes() {
        if (0x20..0x7f).contains(&b) && !set.contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `application/x-www-form-urlencoded` byte serialization, as `form_urlencoded`.
/// Appends `name=value` pairs to `out`, `&`-separated, as
/// `application/x-www-form-urlencoded` writes them (space as `+`): a query's pairs, or a
/// form body.
pub(crate) fn append_form_pairs<'a>(
    out: &mut String,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) {
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        form_encode(out, name);
        out.push('=');
        form_encode(out, value);
    }
}

fn form_encode(out: &mut String, input: &str) {
    for b in input.bytes() {
        match b {
            b'*' | b'-' | b'.' | b'_' | b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
}

fn without_tab_newline(input: &str) -> String {
    input
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect()
}

/// Splits before the first `?` or `#`.
fn split_path(input: &str) -> (&str, &str) {
    input.split_at(input.find(['?', '#']).unwrap_or(input.len()))
}

fn is_slash(c: char) -> bool {
    c == '/' || c == '\\'
}

/// The WHATWG special schemes other than `file`, by their default ports.
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

fn is_special(scheme: &str) -> bool {
    default_port(scheme).is_some()
}
