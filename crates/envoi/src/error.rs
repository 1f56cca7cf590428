//! The one error type of envoi: a stable, matchable kind plus the cause.
//!
//! Every failure is one [`ErrorKind`]. Security failures say which [`IgnoreFlag`] would let a
//! re-run through ([`Error::ignore_flag`]); timeouts say which [`TimeoutPhase`] ran out. The
//! underlying cause stays reachable through [`std::error::Error::source`] and shows in the
//! alternate form (`{:#}`), but no third-party error type is part of the API.

use std::error::Error as StdError;
use std::fmt;

/// What went wrong, as a stable, matchable kind.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The URL could not be parsed, or lacks a host.
    InvalidUrl,
    /// The URL's scheme is neither `http` nor `https`.
    UnsupportedScheme,
    /// A header name or value is invalid; nothing was sent.
    InvalidHeader,
    /// The request cannot be sent as built (a body longer or shorter than declared, a body for
    /// a request that declared none, conflicting framing fields).
    InvalidRequest,
    /// The host name could not be resolved.
    CantResolve,
    /// No connection could be made to any address of the host.
    CantConnect,
    /// The connection was reset or closed before the exchange completed.
    ConnectionClosed,
    /// The server closed the connection without sending a single byte of response.
    NoResponse,
    /// The TLS handshake failed for a reason other than the certificate.
    TlsHandshake,
    /// The server's certificate is not issued by a trusted authority, or is invalid in a way
    /// no other kind covers. Waived by [`IgnoreFlag::InvalidCertificate`].
    CertificateUnknownIssuer,
    /// The server's certificate is not valid for the host name. Waived by
    /// [`IgnoreFlag::CertificateName`].
    CertificateNameMismatch,
    /// The server's certificate has expired or is not yet valid. Waived by
    /// [`IgnoreFlag::ExpiredCertificate`].
    CertificateExpired,
    /// The server's certificate is revoked by a supplied CRL. Waived by
    /// [`IgnoreFlag::Revocation`].
    CertificateRevoked,
    /// The server's public key does not match the pinned SHA-256 hash.
    CertificatePinMismatch,
    /// The server requires a client certificate and none (or one it refused) was given.
    ClientCertificateRequired,
    /// A deadline ran out, in the given phase.
    Timeout(TimeoutPhase),
    /// The request was cancelled.
    Cancelled,
    /// More redirects than allowed, or a loop.
    TooManyRedirects,
    /// A redirect would change scheme in a way that is refused (https→http by default).
    InsecureRedirect,
    /// The (decoded) body exceeds the configured limit.
    BodyTooLarge,
    /// A compressed body is corrupt or truncated.
    DecompressionFailed,
    /// The body is shorter than its Content-Length, or a chunked body lacks its last chunk.
    TruncatedBody,
    /// The response breaks HTTP/1.1 (bad status line, bad fields, bad chunking, too large a
    /// head).
    MalformedResponse,
    /// The proxy refused or failed the request.
    ProxyFailed,
    /// The server refused the credentials.
    AuthenticationFailed,
    /// The request body is a one-shot stream and cannot be sent again.
    BodyNotReplayable,
    /// The download file cannot be created or opened.
    DownloadFileCantOpen,
    /// Writing the download file failed.
    DownloadFileWriteError,
    /// A request is already running on this poll-driven request.
    Busy,
    /// Reading or writing the request or response body failed in the caller's own stream.
    BodyIo,
}

/// The phase of a request in which a deadline ran out.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeoutPhase {
    /// Resolving the host name.
    Resolve,
    /// Opening the TCP connection.
    Connect,
    /// The TLS handshake.
    Tls,
    /// Sending the request.
    Send,
    /// Waiting for the first byte of the response.
    FirstByte,
    /// Reading the response body.
    Body,
    /// Waiting for a free connection from the pool.
    Pool,
}

/// A switch that lets a re-run through one security check, and only that one.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IgnoreFlag {
    /// Accept a certificate from an unknown issuer (other checks stay).
    InvalidCertificate,
    /// Accept a certificate whose names do not match the host (other checks stay).
    CertificateName,
    /// Accept a certificate outside its validity dates (other checks stay).
    ExpiredCertificate,
    /// Skip the revocation check against the supplied CRLs.
    Revocation,
    /// Follow a redirect from https to http.
    RedirectToHttp,
    /// Follow a redirect from http to https in strict mode.
    RedirectToHttps,
}

impl IgnoreFlag {
    /// The builder method that sets this flag.
    pub fn method_name(self) -> &'static str {
        match self {
            IgnoreFlag::InvalidCertificate => "ignore_invalid_certificate",
            IgnoreFlag::CertificateName => "ignore_certificate_name",
            IgnoreFlag::ExpiredCertificate => "ignore_expired_certificate",
            IgnoreFlag::Revocation => "ignore_revocation",
            IgnoreFlag::RedirectToHttp => "ignore_redirect_to_http",
            IgnoreFlag::RedirectToHttps => "ignore_redirect_to_https",
        }
    }
}

impl ErrorKind {
    /// The ignore flag that would let a re-run through this failure, if one would.
    pub fn ignore_flag(self) -> Option<IgnoreFlag> {
        match self {
            ErrorKind::CertificateUnknownIssuer => Some(IgnoreFlag::InvalidCertificate),
            ErrorKind::CertificateNameMismatch => Some(IgnoreFlag::CertificateName),
            ErrorKind::CertificateExpired => Some(IgnoreFlag::ExpiredCertificate),
            ErrorKind::CertificateRevoked => Some(IgnoreFlag::Revocation),
            _ => None,
        }
    }

    /// True for the failures of a certificate check.
    pub fn is_certificate(self) -> bool {
        matches!(
            self,
            ErrorKind::CertificateUnknownIssuer
                | ErrorKind::CertificateNameMismatch
                | ErrorKind::CertificateExpired
                | ErrorKind::CertificateRevoked
                | ErrorKind::CertificatePinMismatch
        )
    }

    fn describe(self) -> &'static str {
        match self {
            ErrorKind::InvalidUrl => "invalid URL",
            ErrorKind::UnsupportedScheme => "unsupported URL scheme",
            ErrorKind::InvalidHeader => "invalid header",
            ErrorKind::InvalidRequest => "invalid request",
            ErrorKind::CantResolve => "could not resolve host",
            ErrorKind::CantConnect => "could not connect",
            ErrorKind::ConnectionClosed => "connection closed early",
            ErrorKind::NoResponse => "empty reply from server",
            ErrorKind::TlsHandshake => "TLS handshake failed",
            ErrorKind::CertificateUnknownIssuer => "certificate from an unknown issuer",
            ErrorKind::CertificateNameMismatch => "certificate name does not match the host",
            ErrorKind::CertificateExpired => "certificate expired or not yet valid",
            ErrorKind::CertificateRevoked => "certificate revoked",
            ErrorKind::CertificatePinMismatch => "certificate public key does not match the pin",
            ErrorKind::ClientCertificateRequired => "the server requires a client certificate",
            ErrorKind::Timeout(phase) => match phase {
                TimeoutPhase::Resolve => "timed out resolving the host",
                TimeoutPhase::Connect => "timed out connecting",
                TimeoutPhase::Tls => "timed out in the TLS handshake",
                TimeoutPhase::Send => "timed out sending the request",
                TimeoutPhase::FirstByte => "timed out waiting for the response",
                TimeoutPhase::Body => "timed out reading the body",
                TimeoutPhase::Pool => "timed out waiting for a free connection",
            },
            ErrorKind::Cancelled => "request cancelled",
            ErrorKind::TooManyRedirects => "too many redirects",
            ErrorKind::InsecureRedirect => "insecure redirect refused",
            ErrorKind::BodyTooLarge => "body larger than the limit",
            ErrorKind::DecompressionFailed => "could not decompress the body",
            ErrorKind::TruncatedBody => "body truncated",
            ErrorKind::MalformedResponse => "malformed response",
            ErrorKind::ProxyFailed => "proxy failed",
            ErrorKind::AuthenticationFailed => "authentication failed",
            ErrorKind::BodyNotReplayable => "the request body cannot be sent again",
            ErrorKind::DownloadFileCantOpen => "cannot open the download file",
            ErrorKind::DownloadFileWriteError => "cannot write the download file",
            ErrorKind::Busy => "a request is already running",
            ErrorKind::BodyIo => "body stream failed",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

type Source = Box<dyn StdError + Send + Sync + 'static>;

/// An envoi error: a [`kind`](Error::kind), a message, the URL it concerns, and the cause.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    header: Option<String>,
    url: Option<String>,
    source: Option<Source>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                header: None,
                url: None,
                source: None,
            }),
        }
    }

    pub(crate) fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    pub(crate) fn with_header(mut self, name: impl Into<String>) -> Self {
        self.inner.header = Some(name.into());
        self
    }

    pub(crate) fn with_url(mut self, url: &crate::Url) -> Self {
        if self.inner.url.is_none() {
            self.inner.url = Some(url.as_str().to_owned());
        }
        self
    }

    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The URL of the request that failed, when known.
    pub fn url(&self) -> Option<&str> {
        self.inner.url.as_deref()
    }

    /// The header this error is about, for [`ErrorKind::InvalidHeader`].
    pub fn header(&self) -> Option<&str> {
        self.inner.header.as_deref()
    }

    /// The ignore flag that would let a re-run through, for a security failure.
    pub fn ignore_flag(&self) -> Option<IgnoreFlag> {
        self.inner.kind.ignore_flag()
    }

    /// True when a deadline ran out.
    pub fn is_timeout(&self) -> bool {
        matches!(self.inner.kind, ErrorKind::Timeout(_))
    }

    /// The kind of the protocol-core error behind this one, when there is one.
    pub fn protocol_kind(&self) -> Option<envoi_proto::ErrorKind> {
        self.inner
            .source
            .as_ref()?
            .downcast_ref::<envoi_proto::Error>()
            .map(envoi_proto::Error::kind)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.write_str(inner.kind.describe())?;
        if let Some(header) = &inner.header {
            write!(f, " `{header}`")?;
        }
        if !inner.message.is_empty() {
            write!(f, ": {}", inner.message)?;
        }
        if let Some(url) = &inner.url {
            write!(f, " ({url})")?;
        }
        if let Some(flag) = inner.kind.ignore_flag() {
            write!(f, "; to accept it, re-run with {}", flag.method_name())?;
        }
        if f.alternate() {
            let mut source = self.source();
            // A message that already ends with its cause's text (`invalid URL: `x`: empty
            // host`) does not say it twice.
            if let Some(first) = source {
                if inner.message.ends_with(&first.to_string()) {
                    source = first.source();
                }
            }
            while let Some(cause) = source {
                write!(f, ": {cause}")?;
                source = cause.source();
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind);
        if !self.inner.message.is_empty() {
            d.field("message", &self.inner.message);
        }
        if let Some(url) = &self.inner.url {
            d.field("url", url);
        }
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

impl From<envoi_proto::Error> for Error {
    fn from(e: envoi_proto::Error) -> Self {
        use envoi_proto::ErrorKind as P;
        let kind = match e.kind() {
            P::TruncatedBody => ErrorKind::TruncatedBody,
            P::ClosedBeforeResponse => ErrorKind::NoResponse,
            P::TruncatedHead => ErrorKind::ConnectionClosed,
            P::InvalidHeader | P::MissingHost => ErrorKind::InvalidHeader,
            P::InvalidTarget => ErrorKind::InvalidUrl,
            k if k.is_peer_violation() => ErrorKind::MalformedResponse,
            _ => ErrorKind::InvalidRequest,
        };
        let header = e.header().map(str::to_owned);
        let mut error = Error::new(kind, e.detail().to_owned());
        if let Some(name) = header {
            error = error.with_header(name);
        }
        error.with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_errors_name_the_flag_that_waives_them() {
        let e = Error::new(ErrorKind::CertificateExpired, "notAfter 2020-01-01");
        assert_eq!(e.ignore_flag(), Some(IgnoreFlag::ExpiredCertificate));
        assert!(e.to_string().contains("ignore_expired_certificate"), "{e}");
        assert_eq!(
            ErrorKind::CertificatePinMismatch.ignore_flag(),
            None,
            "no flag waives a pin"
        );
    }

    #[test]
    fn alternate_display_shows_the_cause_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = Error::new(ErrorKind::CantConnect, "127.0.0.1:1").with_source(io);
        assert_eq!(e.to_string(), "could not connect: 127.0.0.1:1");
        assert_eq!(format!("{e:#}"), "could not connect: 127.0.0.1:1: refused");
        assert!(e.source().is_some());
    }

    #[test]
    fn alternate_display_does_not_repeat_a_cause_the_message_ends_with() {
        let e = crate::Request::new(http::Method::GET, "http://exa mple.test/").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidUrl);
        let cause = e.source().expect("the url crate's error").to_string();
        let shown = format!("{e:#}");
        assert_eq!(shown.matches(cause.as_str()).count(), 1, "{shown}");
        assert_eq!(shown, e.to_string());
    }

    #[test]
    fn protocol_errors_map_to_their_kind_and_stay_reachable() {
        let mut conn = envoi_proto::Connection::default();
        let mut head = envoi_proto::RequestHead::new(
            http::Method::GET,
            envoi_proto::RequestTarget::parse("/").unwrap(),
        );
        head.try_append("Host", "h").unwrap();
        conn.send_request(&head, &mut Vec::new()).unwrap();
        conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab");
        conn.receive_eof();
        let err = loop {
            match conn.next_event() {
                Err(e) => break e,
                Ok(_) => continue,
            }
        };
        let e = Error::from(err);
        assert_eq!(e.kind(), ErrorKind::TruncatedBody);
        assert_eq!(
            e.protocol_kind(),
            Some(envoi_proto::ErrorKind::TruncatedBody)
        );
    }

    #[test]
    fn timeouts_say_their_phase() {
        let e = Error::new(ErrorKind::Timeout(TimeoutPhase::Connect), "after 30 s");
        assert!(e.is_timeout());
        assert_eq!(e.to_string(), "timed out connecting: after 30 s");
    }
}
