//! Request heads: the target forms, validation of every field, and encoding.
//!
//! Nothing is encoded until everything has been validated, so a refused request never leaves a
//! partial head in the caller's buffer.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Version};

use super::{content_length, find_invalid_value_byte, has_token, parse_name, parse_value};
use super::{transfer_coding, write_title_case, TransferCoding};
use crate::error::{Error, ErrorKind};

/// The four forms of request-target (RFC 9112 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query`, the usual form for a request straight to the origin server.
    Origin,
    /// `http://host/path`, for a request through a proxy.
    Absolute,
    /// `host:port`, only for CONNECT.
    Authority,
    /// `*`, only for a server-wide OPTIONS.
    Asterisk,
}

/// A validated request-target: visible ASCII only (no spaces, controls or fragment), in one of
/// the four forms.
///
/// ```
/// use envoi_proto::{RequestTarget, TargetForm};
/// assert_eq!(RequestTarget::parse("/get?a=1").unwrap().form(), TargetForm::Origin);
/// assert_eq!(RequestTarget::parse("example.org:443").unwrap().form(), TargetForm::Authority);
/// assert!(RequestTarget::parse("/a b").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestTarget {
    form: TargetForm,
    text: String,
}

impl RequestTarget {
    /// Parses a target, inferring its form: `*`, a path starting with `/`, an absolute URI
    /// (`scheme:` then more), or `host:port`.
    pub fn parse(target: &str) -> Result<Self, Error> {
        let form = if target == "*" {
            TargetForm::Asterisk
        } else if target.starts_with('/') {
            TargetForm::Origin
        } else if target.contains("://") {
            TargetForm::Absolute
        } else {
            TargetForm::Authority
        };
        Self::with_form(form, target)
    }

    /// Builds a target of a given form, checking that the text suits it.
    pub fn with_form(form: TargetForm, target: &str) -> Result<Self, Error> {
        let invalid = |detail: &str| {
            Error::new(
                ErrorKind::InvalidTarget,
                format!("{detail}: `{}`", target.escape_debug()),
            )
        };
        if target.is_empty() {
            return Err(invalid("empty target"));
        }
        if let Some(b) = target.bytes().find(|b| !(0x21..=0x7e).contains(b)) {
            return Err(invalid(&format!("byte 0x{b:02x} must be percent-encoded")));
        }
        if target.contains('#') {
            return Err(invalid("a fragment is never sent"));
        }
        let well_formed = match form {
            TargetForm::Origin => target.starts_with('/'),
            TargetForm::Asterisk => target == "*",
            TargetForm::Absolute => target.split_once(':').is_some_and(|(scheme, _)| {
                scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                    && scheme
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
            }),
            TargetForm::Authority => target.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty()
                    && !host.contains('/')
                    && !port.is_empty()
                    && port.bytes().all(|b| b.is_ascii_digit())
            }),
        };
        if !well_formed {
            return Err(invalid(&format!("not in {form:?} form")));
        }
        Ok(RequestTarget {
            form,
            text: target.to_owned(),
        })
    }

    /// The form of this target.
    pub fn form(&self) -> TargetForm {
        self.form
    }

    /// The target as sent on the request line.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// A request head: method, target, version and header fields.
///
/// Fields are [`http`] types, so names are always tokens; values set from text through
/// [`RequestHead::try_append`] are checked for CR, LF and NUL and refused with the header named.
///
/// ```
/// use envoi_proto::{RequestHead, RequestTarget};
/// let mut head = RequestHead::new(http::Method::GET, RequestTarget::parse("/get").unwrap());
/// head.try_append("Host", "127.0.0.1:8080").unwrap();
/// let err = head.try_append("X-Bad", "a\r\nInjected: 1").unwrap_err();
/// assert_eq!(err.header(), Some("X-Bad"));
/// ```
#[derive(Clone, Debug)]
pub struct RequestHead {
    /// The request method.
    pub method: Method,
    /// The request-target.
    pub target: RequestTarget,
    /// HTTP/1.1 (the default) or HTTP/1.0.
    pub version: Version,
    /// The header fields, sent in this map's order with Host first.
    pub headers: HeaderMap,
}

impl RequestHead {
    /// A head with no fields, in HTTP/1.1.
    pub fn new(method: Method, target: RequestTarget) -> Self {
        RequestHead {
            method,
            target,
            version: Version::HTTP_11,
            headers: HeaderMap::new(),
        }
    }

    /// Appends a field given as text, refusing a name that is not a token or a value that holds
    /// CR, LF, NUL or another control byte. The error names the header.
    pub fn try_append(&mut self, name: &str, value: &str) -> Result<(), Error> {
        let header_name = parse_name(name)?;
        let header_value = parse_value(name, value)?;
        self.headers.append(header_name, header_value);
        Ok(())
    }

    /// Appends a raw `Name: value` line (as Godot and WinHTTP take extra headers).
    pub fn try_append_line(&mut self, line: &str) -> Result<(), Error> {
        let (name, value) = line.split_once(':').ok_or_else(|| {
            Error::new(ErrorKind::InvalidHeader, "expected `Name: value`")
                .with_header(line.escape_debug().to_string())
        })?;
        self.try_append(name, value)
    }
}

/// How a request's body is framed on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestBody {
    /// No body: no Content-Length and no Transfer-Encoding (or Content-Length: 0).
    Empty,
    /// Exactly this many bytes (a u64: bodies over 4 GiB are ordinary).
    Length(u64),
    /// Chunked transfer coding: any number of chunks, then the last chunk.
    Chunked,
}

/// What a validated request implies for the rest of the exchange.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RequestInfo {
    pub(crate) body: RequestBody,
    pub(crate) is_head: bool,
    pub(crate) is_connect: bool,
    pub(crate) wants_upgrade: bool,
    pub(crate) expects_continue: bool,
    pub(crate) asks_close: bool,
    pub(crate) is_http10: bool,
    pub(crate) asks_keep_alive: bool,
}

/// Validates `head` entirely, then appends its encoding to `out`.
pub(crate) fn encode(
    head: &RequestHead,
    title_case: bool,
    out: &mut Vec<u8>,
) -> Result<RequestInfo, Error> {
    let info = validate(head)?;
    let version = if info.is_http10 {
        "HTTP/1.0"
    } else {
        "HTTP/1.1"
    };
    out.reserve(64 + head.target.as_str().len() + head.headers.len() * 32);
    out.extend_from_slice(head.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(head.target.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(version.as_bytes());
    out.extend_from_slice(b"\r\n");
    // Host goes first, as RFC 9112 §3.2 recommends and some servers expect.
    for value in head.headers.get_all(header::HOST) {
        write_field(&header::HOST, value, title_case, out);
    }
    for (name, value) in head.headers.iter().filter(|(n, _)| **n != header::HOST) {
        write_field(name, value, title_case, out);
    }
    out.extend_from_slice(b"\r\n");
    Ok(info)
}

fn write_field(name: &HeaderName, value: &HeaderValue, title_case: bool, out: &mut Vec<u8>) {
    if title_case {
        write_title_case(name.as_str(), out);
    } else {
        out.extend_from_slice(name.as_str().as_bytes());
    }
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn validate(head: &RequestHead) -> Result<RequestInfo, Error> {
    let is_http10 = match head.version {
        Version::HTTP_11 => false,
        Version::HTTP_10 => true,
        other => {
            return Err(Error::new(
                ErrorKind::UnsupportedVersion,
                format!("{other:?} cannot be encoded as HTTP/1.x"),
            ))
        }
    };
    let is_connect = head.method == Method::CONNECT;
    match (head.target.form(), is_connect) {
        (TargetForm::Authority, true) => {}
        (_, true) => {
            return Err(Error::new(
                ErrorKind::InvalidTarget,
                "CONNECT needs an authority-form target (host:port)",
            ))
        }
        (TargetForm::Authority, false) => {
            return Err(Error::new(
                ErrorKind::InvalidTarget,
                "an authority-form target is only for CONNECT",
            ))
        }
        (TargetForm::Asterisk, false) if head.method != Method::OPTIONS => {
            return Err(Error::new(
                ErrorKind::InvalidTarget,
                "an asterisk-form target is only for OPTIONS",
            ))
        }
        _ => {}
    }
    for (name, value) in &head.headers {
        if let Some(at) = find_invalid_value_byte(value.as_bytes()) {
            return Err(Error::new(
                ErrorKind::InvalidHeader,
                format!(
                    "the value holds the control byte 0x{:02x}",
                    value.as_bytes()[at]
                ),
            )
            .with_header(name.as_str()));
        }
    }
    let hosts = head.headers.get_all(header::HOST).iter().count();
    if hosts > 1 {
        return Err(
            Error::new(ErrorKind::InvalidHeader, "more than one Host field").with_header("host"),
        );
    }
    if hosts == 0 && !is_http10 {
        return Err(Error::new(
            ErrorKind::MissingHost,
            "HTTP/1.1 requires a Host field (RFC 9112 §3.2)",
        ));
    }
    let length = content_length(&head.headers).map_err(|e| {
        Error::new(ErrorKind::InvalidHeader, e.detail().to_owned()).with_header("content-length")
    })?;
    let coding = transfer_coding(&head.headers).map_err(|e| {
        Error::new(ErrorKind::InvalidHeader, e.detail().to_owned()).with_header("transfer-encoding")
    })?;
    let body = match (length, coding) {
        (Some(_), TransferCoding::ChunkedLast | TransferCoding::NotChunkedLast) => {
            return Err(Error::new(
                ErrorKind::ConflictingFraming,
                "a request must not declare both Content-Length and Transfer-Encoding",
            ))
        }
        (_, TransferCoding::NotChunkedLast) => {
            return Err(Error::new(
                ErrorKind::UnsupportedTransferEncoding,
                "a request's Transfer-Encoding must end in chunked",
            )
            .with_header("transfer-encoding"))
        }
        (_, TransferCoding::ChunkedLast) if is_http10 => {
            return Err(Error::new(
                ErrorKind::UnsupportedTransferEncoding,
                "HTTP/1.0 has no chunked transfer coding",
            )
            .with_header("transfer-encoding"))
        }
        (_, TransferCoding::ChunkedLast) => RequestBody::Chunked,
        (Some(0) | None, TransferCoding::Absent) => RequestBody::Empty,
        (Some(n), TransferCoding::Absent) => RequestBody::Length(n),
    };
    let connection = &header::CONNECTION;
    Ok(RequestInfo {
        body,
        is_head: head.method == Method::HEAD,
        is_connect,
        wants_upgrade: head.headers.contains_key(header::UPGRADE)
            && has_token(&head.headers, connection, "upgrade"),
        expects_continue: has_token(&head.headers, &header::EXPECT, "100-continue"),
        asks_close: has_token(&head.headers, connection, "close"),
        is_http10,
        asks_keep_alive: has_token(&head.headers, connection, "keep-alive"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(method: Method, target: &str, fields: &[(&str, &str)]) -> RequestHead {
        let mut h = RequestHead::new(method, RequestTarget::parse(target).unwrap());
        for (n, v) in fields {
            h.try_append(n, v).unwrap();
        }
        h
    }

    fn encoded(h: &RequestHead) -> Result<String, Error> {
        let mut out = Vec::new();
        encode(h, true, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn get_is_encoded_with_host_first_in_title_case() {
        let h = head(
            Method::GET,
            "/get?a=1",
            &[("accept", "*/*"), ("host", "h:1")],
        );
        assert_eq!(
            encoded(&h).unwrap(),
            "GET /get?a=1 HTTP/1.1\r\nHost: h:1\r\nAccept: */*\r\n\r\n"
        );
    }

    #[test]
    fn lowercase_names_are_kept_when_title_case_is_off() {
        let h = head(Method::GET, "/", &[("host", "h"), ("x-a", "1")]);
        let mut out = Vec::new();
        encode(&h, false, &mut out).unwrap();
        assert_eq!(out, b"GET / HTTP/1.1\r\nhost: h\r\nx-a: 1\r\n\r\n");
    }

    #[test]
    fn each_target_form_suits_only_its_method() {
        assert!(encoded(&head(Method::CONNECT, "h:443", &[("host", "h:443")])).is_ok());
        assert!(encoded(&head(Method::OPTIONS, "*", &[("host", "h")])).is_ok());
        assert!(encoded(&head(Method::GET, "http://h/x", &[("host", "h")])).is_ok());
        for (method, target) in [
            (Method::GET, "h:443"),
            (Method::CONNECT, "/x"),
            (Method::GET, "*"),
        ] {
            let e = encoded(&head(method, target, &[("host", "h")])).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidTarget, "{target}");
        }
    }

    #[test]
    fn target_with_space_control_fragment_or_non_ascii_is_refused() {
        for bad in ["/a b", "/a\r\n", "/a#frag", "/é", "", "host:", "host:x"] {
            let e = RequestTarget::parse(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidTarget, "{bad:?}");
        }
    }

    #[test]
    fn http11_request_without_host_is_refused() {
        let e = encoded(&head(Method::GET, "/", &[])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MissingHost);
        let mut h = head(Method::GET, "/", &[]);
        h.version = Version::HTTP_10;
        assert_eq!(encoded(&h).unwrap(), "GET / HTTP/1.0\r\n\r\n");
    }

    #[test]
    fn content_length_with_transfer_encoding_is_refused() {
        let h = head(
            Method::POST,
            "/",
            &[
                ("host", "h"),
                ("content-length", "3"),
                ("transfer-encoding", "chunked"),
            ],
        );
        assert_eq!(
            encoded(&h).unwrap_err().kind(),
            ErrorKind::ConflictingFraming
        );
    }

    #[test]
    fn invalid_content_length_names_the_header() {
        let h = head(Method::POST, "/", &[("host", "h"), ("content-length", "x")]);
        let e = encoded(&h).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidHeader);
        assert_eq!(e.header(), Some("content-length"));
    }

    #[test]
    fn transfer_encoding_not_ending_in_chunked_is_refused() {
        let h = head(
            Method::POST,
            "/",
            &[("host", "h"), ("transfer-encoding", "gzip")],
        );
        assert_eq!(
            encoded(&h).unwrap_err().kind(),
            ErrorKind::UnsupportedTransferEncoding
        );
        let mut h = head(Method::POST, "/", &[("transfer-encoding", "chunked")]);
        h.version = Version::HTTP_10;
        assert_eq!(
            encoded(&h).unwrap_err().kind(),
            ErrorKind::UnsupportedTransferEncoding
        );
    }

    #[test]
    fn request_body_framing_follows_the_headers() {
        let info = |fields: &[(&str, &str)]| {
            let mut all = vec![("host", "h")];
            all.extend_from_slice(fields);
            validate(&head(Method::POST, "/", &all)).unwrap().body
        };
        assert_eq!(info(&[]), RequestBody::Empty);
        assert_eq!(info(&[("content-length", "0")]), RequestBody::Empty);
        assert_eq!(
            info(&[("content-length", "5368709120")]),
            RequestBody::Length(5 * 1024 * 1024 * 1024)
        );
        assert_eq!(
            info(&[("transfer-encoding", "chunked")]),
            RequestBody::Chunked
        );
    }

    #[test]
    fn raw_header_lines_are_split_and_checked() {
        let mut h = head(Method::GET, "/", &[]);
        h.try_append_line("X-Token: abc ").unwrap();
        assert_eq!(h.headers["x-token"], "abc");
        assert_eq!(
            h.try_append_line("no colon").unwrap_err().kind(),
            ErrorKind::InvalidHeader
        );
        assert_eq!(
            h.try_append_line("X: a\0b").unwrap_err().header(),
            Some("X")
        );
    }

    #[test]
    fn nothing_is_written_when_validation_fails() {
        let h = head(Method::GET, "/", &[]);
        let mut out = b"before".to_vec();
        assert!(encode(&h, true, &mut out).is_err());
        assert_eq!(out, b"before");
    }
}
