//! The one error type of the crate.
//!
//! Every failure is an [`Error`] whose [`ErrorKind`] is stable and matchable. Kinds fall in two
//! families, told apart by [`ErrorKind::is_peer_violation`]: the peer broke HTTP (the response is
//! malformed, truncated, too large), or the caller misused the API or asked for a request that
//! cannot be sent (an invalid header, a body longer than declared, a request while another is in
//! flight). An error carries what a user needs to act on it: the header it is about, the byte
//! offset in the received stream, and the connection state it happened in.

use std::borrow::Cow;
use std::fmt;

/// What went wrong, as a stable, matchable kind.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    // The peer broke HTTP.
    /// The status line or a header line of the response is not valid HTTP/1.x.
    MalformedResponse,
    /// The response head is larger than [`Limits::max_head_size`](crate::Limits).
    HeadTooLarge,
    /// The response head has more fields than [`Limits::max_headers`](crate::Limits).
    TooManyHeaders,
    /// Content-Length is malformed, or given several times with different values.
    InvalidContentLength,
    /// Transfer-Encoding is malformed (empty, or `chunked` applied more than once).
    InvalidTransferEncoding,
    /// A chunk-size line or the CRLF after chunk data is malformed.
    InvalidChunk,
    /// A chunk size does not fit in 64 bits.
    ChunkSizeOverflow,
    /// A chunk-size line (with its extensions) is longer than
    /// [`Limits::max_chunk_line`](crate::Limits).
    ChunkLineTooLong,
    /// The trailer section is larger than [`Limits::max_trailer_size`](crate::Limits).
    TrailersTooLarge,
    /// The connection closed before the body was complete: fewer bytes than Content-Length, or a
    /// chunked body without its last chunk.
    TruncatedBody,
    /// The connection closed in the middle of the response head.
    TruncatedHead,
    /// The connection closed before a single byte of the response arrived.
    ClosedBeforeResponse,
    /// A `101 Switching Protocols` arrived for a request that asked for no upgrade.
    UnexpectedUpgrade,
    /// More interim (1xx) responses than [`Limits::max_informational`](crate::Limits).
    TooManyInformational,

    // The caller asked for something that cannot be sent, or used the API out of order.
    /// A header name or value is invalid (not a token, or holds CR, LF or NUL).
    InvalidHeader,
    /// The request-target is invalid, or its form does not suit the method.
    InvalidTarget,
    /// Only HTTP/1.0 and HTTP/1.1 requests can be encoded.
    UnsupportedVersion,
    /// An HTTP/1.1 request needs exactly one Host header.
    MissingHost,
    /// A request declares both Content-Length and Transfer-Encoding.
    ConflictingFraming,
    /// A request Transfer-Encoding that does not end in `chunked`, or chunked in HTTP/1.0.
    UnsupportedTransferEncoding,
    /// More body bytes were given than the request declared.
    BodyTooLong,
    /// The body was finished with fewer bytes than the request declared.
    BodyTooShort,
    /// Body bytes were given for a request that declared no body, or whose body must not be
    /// sent any more (the server answered before `100 Continue`).
    BodyNotAllowed,
    /// A request was started while the connection is not ready for one (a response still in
    /// flight, or a connection that must close).
    NotReady,
    /// A call that the connection's current state does not allow.
    InvalidState,
}

impl ErrorKind {
    /// True when the peer broke HTTP; false when the caller is at the origin of the error.
    pub fn is_peer_violation(self) -> bool {
        use ErrorKind::*;
        matches!(
            self,
            MalformedResponse
                | HeadTooLarge
                | TooManyHeaders
                | InvalidContentLength
                | InvalidTransferEncoding
                | InvalidChunk
                | ChunkSizeOverflow
                | ChunkLineTooLong
                | TrailersTooLarge
                | TruncatedBody
                | TruncatedHead
                | ClosedBeforeResponse
                | UnexpectedUpgrade
                | TooManyInformational
        )
    }

    fn describe(self) -> &'static str {
        use ErrorKind::*;
        match self {
            MalformedResponse => "malformed response",
            HeadTooLarge => "response head too large",
            TooManyHeaders => "too many response header fields",
            InvalidContentLength => "invalid Content-Length",
            InvalidTransferEncoding => "invalid Transfer-Encoding",
            InvalidChunk => "invalid chunked encoding",
            ChunkSizeOverflow => "chunk size overflows 64 bits",
            ChunkLineTooLong => "chunk-size line too long",
            TrailersTooLarge => "trailer section too large",
            TruncatedBody => "response body truncated",
            TruncatedHead => "response head truncated",
            ClosedBeforeResponse => "connection closed before any response byte",
            UnexpectedUpgrade => "unexpected 101 Switching Protocols",
            TooManyInformational => "too many interim (1xx) responses",
            InvalidHeader => "invalid request header",
            InvalidTarget => "invalid request-target",
            UnsupportedVersion => "unsupported HTTP version",
            MissingHost => "missing Host header",
            ConflictingFraming => "both Content-Length and Transfer-Encoding",
            UnsupportedTransferEncoding => "unsupported request Transfer-Encoding",
            BodyTooLong => "request body longer than declared",
            BodyTooShort => "request body shorter than declared",
            BodyNotAllowed => "request body not allowed",
            NotReady => "connection not ready for a request",
            InvalidState => "call not allowed in this state",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// An error of the HTTP/1.1 core: a kind plus the detail needed to act on it.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone, PartialEq, Eq)]
struct Inner {
    kind: ErrorKind,
    detail: Cow<'static, str>,
    header: Option<String>,
    offset: Option<u64>,
    state: Option<&'static str>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, detail: impl Into<Cow<'static, str>>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                detail: detail.into(),
                header: None,
                offset: None,
                state: None,
            }),
        }
    }

    pub(crate) fn with_header(mut self, name: impl Into<String>) -> Self {
        self.inner.header = Some(name.into());
        self
    }

    pub(crate) fn at_offset(mut self, offset: u64) -> Self {
        self.inner.offset = Some(offset);
        self
    }

    pub(crate) fn in_state(mut self, state: &'static str) -> Self {
        if self.inner.state.is_none() {
            self.inner.state = Some(state);
        }
        self
    }

    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// True when the peer broke HTTP; false when the caller is at the origin of the error.
    pub fn is_peer_violation(&self) -> bool {
        self.inner.kind.is_peer_violation()
    }

    /// The header field this error is about, when there is one.
    pub fn header(&self) -> Option<&str> {
        self.inner.header.as_deref()
    }

    /// The offset, counted in bytes from the first byte received on the connection, where the
    /// fault was found, when it concerns received bytes.
    pub fn offset(&self) -> Option<u64> {
        self.inner.offset
    }

    /// The connection state the error happened in, as text (`"reading chunked body"`).
    pub fn state(&self) -> Option<&'static str> {
        self.inner.state
    }

    /// A sentence of detail beyond the kind.
    pub fn detail(&self) -> &str {
        &self.inner.detail
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.write_str(inner.kind.describe())?;
        if !inner.detail.is_empty() {
            write!(f, ": {}", inner.detail)?;
        }
        if let Some(header) = &inner.header {
            write!(f, " (header `{header}`)")?;
        }
        if let Some(offset) = inner.offset {
            write!(f, " at byte {offset}")?;
        }
        if let Some(state) = inner.state {
            write!(f, " while {state}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &inner.kind);
        if !inner.detail.is_empty() {
            d.field("detail", &inner.detail);
        }
        if let Some(header) = &inner.header {
            d.field("header", header);
        }
        if let Some(offset) = inner.offset {
            d.field("offset", &offset);
        }
        if let Some(state) = inner.state {
            d.field("state", &state);
        }
        d.finish()
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_header_offset_and_state() {
        let e = Error::new(ErrorKind::MalformedResponse, "bad value")
            .with_header("x-a")
            .at_offset(42)
            .in_state("reading response head");
        assert_eq!(
            e.to_string(),
            "malformed response: bad value (header `x-a`) at byte 42 while reading response head"
        );
    }

    #[test]
    fn kinds_split_peer_violations_from_caller_errors() {
        assert!(ErrorKind::TruncatedBody.is_peer_violation());
        assert!(ErrorKind::HeadTooLarge.is_peer_violation());
        assert!(!ErrorKind::InvalidHeader.is_peer_violation());
        assert!(!ErrorKind::NotReady.is_peer_violation());
    }

    #[test]
    fn first_state_recorded_wins() {
        let e = Error::new(ErrorKind::InvalidChunk, "")
            .in_state("reading chunked body")
            .in_state("outer");
        assert_eq!(e.state(), Some("reading chunked body"));
    }
}
