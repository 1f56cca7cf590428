//! The parser: text to [`Parts`], resolved against a base for [`Url::join`], and
//! [`Parts`] back to a [`Url`]; the percent-encode sets it writes with.

use std::borrow::Cow;
use std::fmt::Write as _;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::host::parse_host;
use super::{HostKind, ParseError, Url};

/// A URL taken apart, every component already percent-encoded. Parsing and the
/// setters work on this and serialize it with [`Parts::build`], which keeps the
/// offset bookkeeping in one place.
#[derive(Default)]
pub(super) struct Parts {
    pub(super) scheme: String,
    pub(super) username: String,
    pub(super) password: String,
    /// The kind and serialization of the host, `None` without an authority.
    pub(super) host: Option<(HostKind, String)>,
    pub(super) port: Option<u16>,
    pub(super) path: PathValue,
    pub(super) query: Option<String>,
    pub(super) fragment: Option<String>,
}

pub(super) enum PathValue {
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

    pub(super) fn build(&self) -> Result<Url, ParseError> {
        // Sized for the common case, so the pushes below do not reallocate.
        let estimate = [&self.scheme, &self.username, &self.password]
            .iter()
            .map(|part| part.len())
            .sum::<usize>()
            + self.host.as_ref().map_or(0, |(_, host)| host.len())
            + match &self.path {
                PathValue::Opaque(path) => path.len(),
                PathValue::Segments(segments) => segments.iter().map(|s| s.len() + 1).sum(),
            }
            + self.query.as_ref().map_or(0, String::len)
            + self.fragment.as_ref().map_or(0, String::len)
            + 16;
        let mut s = String::with_capacity(estimate);
        s.push_str(&self.scheme);
        s.push(':');
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

pub(super) fn parse(input: &str, base: Option<&Url>) -> Result<Url, ParseError> {
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
pub(super) fn split_scheme(input: &str) -> Option<(&str, &str)> {
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
        let is = |dots: &[&str]| dots.iter().any(|dot| piece.eq_ignore_ascii_case(dot));
        if is(&["..", ".%2e", "%2e.", "%2e%2e"]) {
            segments.pop();
        } else if !is(&[".", "%2e"]) {
            segments.push(encode(piece, PATH));
            continue;
        }
        // A dot segment at the end still leaves the path ending in a slash.
        if last {
            segments.push(String::new());
        }
    }
}

// The WHATWG percent-encode sets. Each holds the C0 controls and DEL, and
// `utf8_percent_encode` encodes every non-ASCII byte as well.
const CONTROLS: &AsciiSet = percent_encoding::CONTROLS;
pub(super) const FRAGMENT: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>').add(b'`');
const QUERY: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'<').add(b'>');
const SPECIAL_QUERY: &AsciiSet = &QUERY.add(b'\'');
const PATH: &AsciiSet = &QUERY.add(b'?').add(b'^').add(b'`').add(b'{').add(b'}');
pub(super) const USERINFO: &AsciiSet = &PATH
    .add(b'/')
    .add(b':')
    .add(b';')
    .add(b'=')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'|');
/// What `application/x-www-form-urlencoded` encodes: all but alphanumerics and `*-._`
/// (a space becomes `+`, see [`form_encode`]).
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

pub(super) fn encode(input: &str, set: &'static AsciiSet) -> String {
    utf8_percent_encode(input, set).to_string()
}

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
    for (i, piece) in input.split(' ').enumerate() {
        if i > 0 {
            out.push('+');
        }
        out.extend(utf8_percent_encode(piece, FORM));
    }
}

pub(super) fn without_tab_newline(input: &str) -> Cow<'_, str> {
    if !input.contains(['\t', '\n', '\r']) {
        return Cow::Borrowed(input);
    }
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
pub(super) fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

pub(super) fn is_special(scheme: &str) -> bool {
    default_port(scheme).is_some()
}
