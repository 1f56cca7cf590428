//! The result of a [`Request`](super::Request): Godot's `HTTPRequest.Result`, and the one
//! table that maps every [`ErrorKind`] to it.

use crate::error::ErrorKind;

/// How a [`Request`](super::Request) ended (Godot's `HTTPRequest.Result`, with the same
/// numbers). The [`Error`](crate::Error) behind a failure stays in the
/// [`Completion`](super::Completion).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestResult {
    /// A response was received whole (whatever its status code).
    Success = 0,
    /// The body was shorter than announced: a chunked body without its last chunk, or a
    /// body short of its Content-Length.
    ChunkedBodySizeMismatch = 1,
    /// No connection could be made.
    CantConnect = 2,
    /// The host name could not be resolved.
    CantResolve = 3,
    /// The connection failed while the request was sent or the response read, or the
    /// response broke HTTP.
    ConnectionError = 4,
    /// The TLS handshake failed: a certificate check, a refused client certificate.
    TlsHandshakeError = 5,
    /// The server closed the connection without a response.
    NoResponse = 6,
    /// The (decoded) body is larger than `body_size_limit`.
    BodySizeLimitExceeded = 7,
    /// The compressed body is corrupt or cut short.
    BodyDecompressFailed = 8,
    /// The request could not be made as asked: an unusable redirect, a refused scheme
    /// change, a cancellation, a body that could not be read.
    RequestFailed = 9,
    /// The download file could not be created.
    DownloadFileCantOpen = 10,
    /// Writing the download file failed.
    DownloadFileWriteError = 11,
    /// More redirects than `max_redirects`, or a loop.
    RedirectLimitReached = 12,
    /// The request took longer than its timeout, in whichever phase.
    Timeout = 13,
}

/// The result a request that failed with `kind` ends with. Every kind has exactly one.
pub fn result_for(kind: ErrorKind) -> RequestResult {
    use ErrorKind as K;
    use RequestResult as R;
    match kind {
        K::CantResolve => R::CantResolve,
        K::CantConnect | K::ProxyFailed => R::CantConnect,
        K::ConnectionClosed | K::MalformedResponse => R::ConnectionError,
        K::NoResponse => R::NoResponse,
        K::TlsHandshake
        | K::CertificateUnknownIssuer
        | K::CertificateNameMismatch
        | K::CertificateExpired
        | K::CertificateRevoked
        | K::CertificatePinMismatch
        | K::ClientCertificateRequired => R::TlsHandshakeError,
        K::Timeout(_) => R::Timeout,
        K::TooManyRedirects => R::RedirectLimitReached,
        K::BodyTooLarge => R::BodySizeLimitExceeded,
        K::DecompressionFailed => R::BodyDecompressFailed,
        K::TruncatedBody => R::ChunkedBodySizeMismatch,
        K::DownloadFileCantOpen => R::DownloadFileCantOpen,
        K::DownloadFileWriteError => R::DownloadFileWriteError,
        K::InvalidUrl
        | K::UnsupportedScheme
        | K::InvalidHeader
        | K::InvalidRequest
        | K::Cancelled
        | K::InsecureRedirect
        | K::AuthenticationFailed
        | K::BodyNotReplayable
        | K::Busy
        | K::BodyIo => R::RequestFailed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TimeoutPhase;

    #[test]
    fn failures_map_to_their_godot_result() {
        assert_eq!(
            result_for(ErrorKind::CantResolve),
            RequestResult::CantResolve
        );
        assert_eq!(
            result_for(ErrorKind::Timeout(TimeoutPhase::Body)),
            RequestResult::Timeout
        );
        assert_eq!(
            result_for(ErrorKind::CertificateExpired),
            RequestResult::TlsHandshakeError
        );
        assert_eq!(
            result_for(ErrorKind::TooManyRedirects),
            RequestResult::RedirectLimitReached
        );
        assert_eq!(RequestResult::Timeout as i32, 13);
    }
}
