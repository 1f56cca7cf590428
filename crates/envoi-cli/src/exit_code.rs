//! The one table from envoi's [`ErrorKind`] to curl's exit codes, and the codes the tool
//! itself returns (bad options, unreadable files, `-f`). `--help` prints [`CODES`].
//!
//! Each number means what curl's `docs/cmdline-opts/_EXITCODES.md` and
//! `docs/libcurl/libcurl-errors.md` say it means; numbers are never reused.

use envoi::ErrorKind;
#[cfg(test)]
use envoi::TimeoutPhase;

/// 1: the URL's scheme is not http or https, or a redirect to a refused scheme.
pub const UNSUPPORTED_PROTOCOL: u8 = 1;
/// 2: failed to initialize: a bad option or option value.
pub const FAILED_INIT: u8 = 2;
/// 3: the URL is malformed.
pub const URL_MALFORMAT: u8 = 3;
/// 4: a feature this build (or this library version) does not have.
pub const NOT_BUILT_IN: u8 = 4;
/// 5: the proxy's host name could not be resolved.
pub const COULDNT_RESOLVE_PROXY: u8 = 5;
/// 22: `-f` and an HTTP status of 400 or more.
pub const HTTP_RETURNED_ERROR: u8 = 22;
/// 23: writing the output (a file, stdout, a header dump) failed.
pub const WRITE_ERROR: u8 = 23;
/// 26: reading a local file (upload, data, form part, header file) failed.
pub const READ_ERROR: u8 = 26;
/// 33: `-C` and the server does not answer the range.
pub const RANGE_ERROR: u8 = 33;
/// 36: `-C N` does not match the file being continued.
pub const BAD_DOWNLOAD_RESUME: u8 = 36;
/// 47: more redirects than `--max-redirs`.
pub const TOO_MANY_REDIRECTS: u8 = 47;
/// 58: the client certificate or key given with `--cert`/`--key` cannot be used.
pub const SSL_CERTPROBLEM: u8 = 58;
/// 63: `--max-filesize` exceeded.
pub const FILESIZE_EXCEEDED: u8 = 63;
/// 77: the CA file or directory given with `--cacert`/`--capath` cannot be read.
pub const SSL_CACERT_BADFILE: u8 = 77;
/// 82: the CRL file given with `--crlfile` cannot be read.
pub const SSL_CRL_BADFILE: u8 = 82;
/// 97: the proxy handshake failed: a refused CONNECT, or any SOCKS5 failure.
pub const PROXY: u8 = 97;

/// curl's exit code for `error`. curl reports every failure of a SOCKS5 handshake as 97
/// (`CURLE_PROXY`, with the detail in `CURLINFO_PROXY_ERROR`), refused credentials and an
/// origin name the client could not resolve for a `socks5` proxy included, so an error that
/// carries a [`SocksFailure`](envoi::SocksFailure) is 97 whatever its kind; any other error
/// is its kind's code ([`for_kind`]).
pub fn for_error(error: &envoi::Error, via_proxy: bool) -> u8 {
    if error.socks_failure().is_some() {
        return PROXY;
    }
    for_kind(error.kind(), via_proxy)
}

/// curl's exit code for an error of `kind`. `via_proxy` is true when the request went to an
/// HTTP proxy, which turns "could not resolve" into curl's "could not resolve proxy" (5);
/// curl 7.88 reports a SOCKS5 proxy that does not resolve as 6, as any host.
pub fn for_kind(kind: ErrorKind, via_proxy: bool) -> u8 {
    match kind {
        ErrorKind::UnsupportedScheme | ErrorKind::InsecureRedirect => UNSUPPORTED_PROTOCOL,
        ErrorKind::InvalidUrl => 3,
        ErrorKind::CantResolve if via_proxy => COULDNT_RESOLVE_PROXY,
        ErrorKind::CantResolve => 6,
        ErrorKind::CantConnect => 7,
        ErrorKind::MalformedResponse => 8,
        ErrorKind::TruncatedBody => 18,
        ErrorKind::DownloadFileCantOpen | ErrorKind::DownloadFileWriteError => WRITE_ERROR,
        ErrorKind::BodyIo => READ_ERROR,
        ErrorKind::Timeout(_) => 28,
        ErrorKind::TlsHandshake => 35,
        ErrorKind::Cancelled => 42,
        ErrorKind::InvalidHeader | ErrorKind::InvalidRequest | ErrorKind::Busy => 43,
        ErrorKind::TooManyRedirects => TOO_MANY_REDIRECTS,
        ErrorKind::NoResponse => 52,
        ErrorKind::ConnectionClosed => 56,
        ErrorKind::CertificateUnknownIssuer
        | ErrorKind::CertificateNameMismatch
        | ErrorKind::CertificateExpired
        | ErrorKind::CertificateRevoked => 60,
        ErrorKind::DecompressionFailed => 61,
        ErrorKind::BodyTooLarge => FILESIZE_EXCEEDED,
        ErrorKind::BodyNotReplayable => 65,
        ErrorKind::AuthenticationFailed => 67,
        ErrorKind::CertificatePinMismatch => 90,
        ErrorKind::ProxyFailed => PROXY,
        ErrorKind::ClientCertificateRequired => 98,
        // A kind added to the library after this table: curl's catch-all for "could not
        // even get going" rather than a wrong specific code.
        _ => FAILED_INIT,
    }
}

/// One exit code: its number, curl's name for it, and what it means for envoi.
pub struct Code {
    /// The exit status.
    pub code: u8,
    /// curl's `CURLE_*` name.
    pub curl_name: &'static str,
    /// When envoi returns it.
    pub meaning: &'static str,
}

/// Every exit code envoi returns, in order; `--help` prints this list.
pub const CODES: &[Code] = &[
    code(
        1,
        "UNSUPPORTED_PROTOCOL",
        "scheme other than http/https; refused redirect scheme",
    ),
    code(2, "FAILED_INIT", "bad option or option value"),
    code(3, "URL_MALFORMAT", "malformed URL"),
    code(4, "NOT_BUILT_IN", "feature not supported by this build"),
    code(5, "COULDNT_RESOLVE_PROXY", "proxy host not resolved"),
    code(6, "COULDNT_RESOLVE_HOST", "host not resolved"),
    code(7, "COULDNT_CONNECT", "could not connect to host or proxy"),
    code(8, "WEIRD_SERVER_REPLY", "malformed response"),
    code(
        18,
        "PARTIAL_FILE",
        "body shorter than announced (truncated)",
    ),
    code(
        22,
        "HTTP_RETURNED_ERROR",
        "HTTP status >= 400 with -f/--fail-with-body",
    ),
    code(23, "WRITE_ERROR", "writing the output failed"),
    code(
        26,
        "READ_ERROR",
        "reading a local file or the upload failed",
    ),
    code(28, "OPERATION_TIMEDOUT", "a timeout ran out (any phase)"),
    code(33, "RANGE_ERROR", "-C: the server ignored the range"),
    code(35, "SSL_CONNECT_ERROR", "TLS handshake failed"),
    code(
        36,
        "BAD_DOWNLOAD_RESUME",
        "-C N does not match the file to continue",
    ),
    code(42, "ABORTED_BY_CALLBACK", "transfer cancelled"),
    code(
        43,
        "BAD_FUNCTION_ARGUMENT",
        "request refused before sending (bad header...)",
    ),
    code(47, "TOO_MANY_REDIRECTS", "more redirects than --max-redirs"),
    code(52, "GOT_NOTHING", "empty reply from server"),
    code(56, "RECV_ERROR", "connection closed or reset mid-transfer"),
    code(58, "SSL_CERTPROBLEM", "client certificate or key unusable"),
    code(
        60,
        "PEER_FAILED_VERIFICATION",
        "server certificate refused (any reason)",
    ),
    code(61, "BAD_CONTENT_ENCODING", "compressed body corrupt"),
    code(63, "FILESIZE_EXCEEDED", "--max-filesize exceeded"),
    code(65, "SEND_FAIL_REWIND", "upload stream cannot be sent again"),
    code(67, "LOGIN_DENIED", "credentials refused"),
    code(77, "SSL_CACERT_BADFILE", "--cacert/--capath unreadable"),
    code(82, "SSL_CRL_BADFILE", "--crlfile unreadable"),
    code(90, "SSL_PINNEDPUBKEYNOTMATCH", "--pinnedpubkey mismatch"),
    code(
        97,
        "PROXY",
        "proxy handshake failed (CONNECT refused; any SOCKS5 failure)",
    ),
    code(98, "SSL_CLIENTCERT", "server requires a client certificate"),
];

const fn code(code: u8, curl_name: &'static str, meaning: &'static str) -> Code {
    Code {
        code,
        curl_name,
        meaning,
    }
}

/// The table as `--help` shows it.
pub fn help_table() -> String {
    CODES
        .iter()
        .map(|c| format!("  {:>3}  {:<26} {}\n", c.code, c.curl_name, c.meaning))
        .collect()
}

/// Every error kind the library has today, for the tests.
#[cfg(test)]
pub const ALL_KINDS: &[ErrorKind] = &[
    ErrorKind::InvalidUrl,
    ErrorKind::UnsupportedScheme,
    ErrorKind::InvalidHeader,
    ErrorKind::InvalidRequest,
    ErrorKind::CantResolve,
    ErrorKind::CantConnect,
    ErrorKind::ConnectionClosed,
    ErrorKind::NoResponse,
    ErrorKind::TlsHandshake,
    ErrorKind::CertificateUnknownIssuer,
    ErrorKind::CertificateNameMismatch,
    ErrorKind::CertificateExpired,
    ErrorKind::CertificateRevoked,
    ErrorKind::CertificatePinMismatch,
    ErrorKind::ClientCertificateRequired,
    ErrorKind::Timeout(TimeoutPhase::Resolve),
    ErrorKind::Timeout(TimeoutPhase::Connect),
    ErrorKind::Timeout(TimeoutPhase::Tls),
    ErrorKind::Timeout(TimeoutPhase::Send),
    ErrorKind::Timeout(TimeoutPhase::FirstByte),
    ErrorKind::Timeout(TimeoutPhase::Body),
    ErrorKind::Timeout(TimeoutPhase::Pool),
    ErrorKind::Cancelled,
    ErrorKind::TooManyRedirects,
    ErrorKind::InsecureRedirect,
    ErrorKind::BodyTooLarge,
    ErrorKind::DecompressionFailed,
    ErrorKind::TruncatedBody,
    ErrorKind::MalformedResponse,
    ErrorKind::ProxyFailed,
    ErrorKind::AuthenticationFailed,
    ErrorKind::BodyNotReplayable,
    ErrorKind::DownloadFileCantOpen,
    ErrorKind::DownloadFileWriteError,
    ErrorKind::Busy,
    ErrorKind::BodyIo,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_maps_to_a_code_listed_in_help() {
        for &kind in ALL_KINDS {
            for via_proxy in [false, true] {
                let n = for_kind(kind, via_proxy);
                assert!(
                    CODES.iter().any(|c| c.code == n),
                    "{kind:?} maps to {n}, missing from CODES"
                );
            }
        }
    }

    #[test]
    fn the_codes_curl_documents() {
        let cases = [
            (ErrorKind::CantResolve, 6),
            (ErrorKind::CantConnect, 7),
            (ErrorKind::TruncatedBody, 18),
            (ErrorKind::Timeout(TimeoutPhase::Connect), 28),
            (ErrorKind::Timeout(TimeoutPhase::Body), 28),
            (ErrorKind::TlsHandshake, 35),
            (ErrorKind::TooManyRedirects, 47),
            (ErrorKind::NoResponse, 52),
            (ErrorKind::ConnectionClosed, 56),
            (ErrorKind::CertificateExpired, 60),
            (ErrorKind::CertificateNameMismatch, 60),
            (ErrorKind::CertificateUnknownIssuer, 60),
            (ErrorKind::CertificateRevoked, 60),
            (ErrorKind::DecompressionFailed, 61),
            (ErrorKind::BodyTooLarge, 63),
            (ErrorKind::CertificatePinMismatch, 90),
            (ErrorKind::InvalidUrl, 3),
            (ErrorKind::UnsupportedScheme, 1),
            (ErrorKind::ProxyFailed, 97),
        ];
        for (kind, code) in cases {
            assert_eq!(for_kind(kind, false), code, "{kind:?}");
        }
        assert_eq!(for_kind(ErrorKind::CantResolve, true), 5);
    }

    #[test]
    fn every_socks5_failure_is_97_as_in_curl_and_other_errors_keep_their_kind_code() {
        use envoi::{Error, Proxy, SocksFailure};
        // Real errors from the library: refused credentials (a kind that is 67 elsewhere)
        // and a name too long to send (43 elsewhere) are SOCKS5 failures, hence 97.
        let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = proxy.local_addr().unwrap().port();
        let long_user = "u".repeat(300);
        let client = envoi::blocking::Client::builder()
            .http_proxy(Proxy::socks5h("127.0.0.1", port).basic_auth(&long_user, "p"))
            .build()
            .unwrap();
        let error: Error = client.get("http://origin.test/").send().unwrap_err();
        assert_eq!(
            error.socks_failure(),
            Some(SocksFailure::CredentialsTooLong)
        );
        assert_eq!(error.kind(), ErrorKind::InvalidRequest);
        assert_eq!(for_kind(error.kind(), true), 43);
        assert_eq!(for_error(&error, true), PROXY);
        // Without a SOCKS5 failure the kind decides.
        let refused = envoi_testserver::ClosedPort::new();
        let client = envoi::blocking::Client::builder().build().unwrap();
        let error = client
            .get(format!("http://{}/", refused.addr()))
            .send()
            .unwrap_err();
        assert_eq!(error.socks_failure(), None);
        assert_eq!(for_error(&error, false), 7);
    }

    #[test]
    fn codes_are_listed_once_in_order() {
        for pair in CODES.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} then {}",
                pair[0].code,
                pair[1].code
            );
        }
        assert!(help_table().contains(" 60  PEER_FAILED_VERIFICATION"));
    }
}
