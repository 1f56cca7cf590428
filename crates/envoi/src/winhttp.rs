//! The WinHTTP error class of each [`ErrorKind`], for programs ported from WinHTTP or that
//! report errors the way Windows does. One table, [`ErrorKind::winhttp_error`].

use crate::error::ErrorKind;

/// A WinHTTP error (`ERROR_WINHTTP_*`, or a Windows error where WinHTTP has none), as
/// `GetLastError` would return it.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WinHttpError {
    /// `ERROR_WINHTTP_TIMEOUT`
    Timeout,
    /// `ERROR_WINHTTP_INVALID_URL`
    InvalidUrl,
    /// `ERROR_WINHTTP_UNRECOGNIZED_SCHEME`
    UnrecognizedScheme,
    /// `ERROR_WINHTTP_NAME_NOT_RESOLVED`
    NameNotResolved,
    /// `ERROR_WINHTTP_LOGIN_FAILURE`
    LoginFailure,
    /// `ERROR_WINHTTP_OPERATION_CANCELLED`
    OperationCancelled,
    /// `ERROR_WINHTTP_INCORRECT_HANDLE_STATE`
    IncorrectHandleState,
    /// `ERROR_WINHTTP_CANNOT_CONNECT`
    CannotConnect,
    /// `ERROR_WINHTTP_CONNECTION_ERROR`
    ConnectionError,
    /// `ERROR_WINHTTP_RESEND_REQUEST`
    ResendRequest,
    /// `ERROR_WINHTTP_SECURE_CERT_DATE_INVALID`
    SecureCertDateInvalid,
    /// `ERROR_WINHTTP_SECURE_CERT_CN_INVALID`
    SecureCertCnInvalid,
    /// `ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED`
    ClientAuthCertNeeded,
    /// `ERROR_WINHTTP_SECURE_INVALID_CA`
    SecureInvalidCa,
    /// `ERROR_WINHTTP_INVALID_SERVER_RESPONSE`
    InvalidServerResponse,
    /// `ERROR_WINHTTP_INVALID_HEADER`
    InvalidHeader,
    /// `ERROR_WINHTTP_REDIRECT_FAILED`
    RedirectFailed,
    /// `ERROR_WINHTTP_SECURE_CHANNEL_ERROR`
    SecureChannelError,
    /// `ERROR_WINHTTP_SECURE_CERT_REVOKED`
    SecureCertRevoked,
    /// `ERROR_WINHTTP_SECURE_FAILURE`
    SecureFailure,
    /// `ERROR_WINHTTP_RESPONSE_DRAIN_OVERFLOW`
    ResponseDrainOverflow,
    /// `ERROR_INVALID_PARAMETER` (a Windows error: WinHTTP has no class of its own).
    InvalidParameter,
    /// `ERROR_OPEN_FAILED` (a Windows error).
    OpenFailed,
    /// `ERROR_WRITE_FAULT` (a Windows error).
    WriteFault,
    /// `ERROR_READ_FAULT` (a Windows error).
    ReadFault,
}

impl WinHttpError {
    /// The numeric code `GetLastError` returns.
    pub fn code(self) -> u32 {
        use WinHttpError::*;
        match self {
            Timeout => 12002,
            InvalidUrl => 12005,
            UnrecognizedScheme => 12006,
            NameNotResolved => 12007,
            LoginFailure => 12015,
            OperationCancelled => 12017,
            IncorrectHandleState => 12019,
            CannotConnect => 12029,
            ConnectionError => 12030,
            ResendRequest => 12032,
            SecureCertDateInvalid => 12037,
            SecureCertCnInvalid => 12038,
            ClientAuthCertNeeded => 12044,
            SecureInvalidCa => 12045,
            InvalidServerResponse => 12152,
            InvalidHeader => 12153,
            RedirectFailed => 12156,
            SecureChannelError => 12157,
            SecureCertRevoked => 12170,
            SecureFailure => 12175,
            ResponseDrainOverflow => 12184,
            InvalidParameter => 87,
            OpenFailed => 110,
            WriteFault => 29,
            ReadFault => 30,
        }
    }
}

impl ErrorKind {
    /// The WinHTTP error a WinHTTP program would see for this failure.
    ///
    /// ```
    /// use envoi::{ErrorKind, winhttp::WinHttpError};
    /// assert_eq!(ErrorKind::CantResolve.winhttp_error(), WinHttpError::NameNotResolved);
    /// assert_eq!(WinHttpError::NameNotResolved.code(), 12007);
    /// ```
    pub fn winhttp_error(self) -> WinHttpError {
        use ErrorKind as K;
        use WinHttpError as W;
        match self {
            K::InvalidUrl => W::InvalidUrl,
            K::UnsupportedScheme => W::UnrecognizedScheme,
            K::InvalidHeader => W::InvalidHeader,
            K::InvalidRequest => W::InvalidParameter,
            K::CantResolve => W::NameNotResolved,
            K::CantConnect => W::CannotConnect,
            K::ConnectionClosed | K::NoResponse | K::TruncatedBody | K::ProxyFailed => {
                W::ConnectionError
            }
            K::TlsHandshake => W::SecureChannelError,
            K::CertificateUnknownIssuer => W::SecureInvalidCa,
            K::CertificateNameMismatch => W::SecureCertCnInvalid,
            K::CertificateExpired => W::SecureCertDateInvalid,
            K::CertificateRevoked => W::SecureCertRevoked,
            K::CertificatePinMismatch => W::SecureFailure,
            K::ClientCertificateRequired => W::ClientAuthCertNeeded,
            K::Timeout(_) => W::Timeout,
            K::Cancelled => W::OperationCancelled,
            K::TooManyRedirects | K::InsecureRedirect => W::RedirectFailed,
            K::BodyTooLarge => W::ResponseDrainOverflow,
            K::DecompressionFailed | K::MalformedResponse => W::InvalidServerResponse,
            K::AuthenticationFailed => W::LoginFailure,
            // WinHTTP asks the application to send again when a redirect or a challenge
            // needs a body it cannot replay itself.
            K::BodyNotReplayable => W::ResendRequest,
            K::DownloadFileCantOpen => W::OpenFailed,
            K::DownloadFileWriteError => W::WriteFault,
            K::Busy => W::IncorrectHandleState,
            K::BodyIo => W::ReadFault,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TimeoutPhase;

    #[test]
    fn each_kind_has_the_winhttp_class_a_winhttp_program_expects() {
        let table = [
            (ErrorKind::CantConnect, 12029),
            (ErrorKind::ConnectionClosed, 12030),
            (ErrorKind::Timeout(TimeoutPhase::Body), 12002),
            (ErrorKind::CertificateExpired, 12037),
            (ErrorKind::CertificateNameMismatch, 12038),
            (ErrorKind::CertificateUnknownIssuer, 12045),
            (ErrorKind::CertificateRevoked, 12170),
            (ErrorKind::ClientCertificateRequired, 12044),
            (ErrorKind::Cancelled, 12017),
            (ErrorKind::UnsupportedScheme, 12006),
            (ErrorKind::Busy, 12019),
        ];
        for (kind, code) in table {
            assert_eq!(kind.winhttp_error().code(), code, "{kind:?}");
        }
    }
}
