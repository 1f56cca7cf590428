//! From rustls errors to envoi's [`ErrorKind`]s, with a message that names the failing check.
//!
//! rustls errors stay reachable as the source but never appear in envoi's API. Certificate
//! errors come from our verifier ([`super::verifier`]), which returns rustls'
//! `CertificateError`s (so the alert sent to the server stays accurate) plus one error of its
//! own, [`PinMismatch`], carried in `CertificateError::Other`.

use std::fmt;
use std::io;

use rustls::{AlertDescription, CertificateError};

use super::facts::HandshakeFacts;
use crate::error::{Error, ErrorKind, TimeoutPhase};

/// The server's key matched none of the pins.
#[derive(Debug)]
pub(super) struct PinMismatch {
    /// `sha256//BASE64` of the key the server presented.
    pub(super) presented: String,
}

impl fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server's public key {} matches none of the pinned keys",
            self.presented
        )
    }
}

impl std::error::Error for PinMismatch {}

/// The envoi error for a rustls error met while connecting. `facts` tell whether the server
/// had asked for a client certificate, which decides what its alerts mean.
pub(crate) fn classify(err: &rustls::Error, facts: &HandshakeFacts) -> Error {
    let (kind, message) = match err {
        rustls::Error::InvalidCertificate(e) => certificate(e),
        rustls::Error::InvalidCertRevocationList(e) => (
            ErrorKind::CertificateRevoked,
            format!("revocation check: a CRL cannot be used ({e:?})"),
        ),
        rustls::Error::AlertReceived(alert) => received_alert(*alert, facts),
        rustls::Error::NoCertificatesPresented => (
            ErrorKind::TlsHandshake,
            "the server presented no certificate".to_owned(),
        ),
        rustls::Error::PeerIncompatible(e) => (
            ErrorKind::TlsHandshake,
            format!("the server has no protocol version, cipher suite or group in common ({e:?})"),
        ),
        // Protocol violations, local failures and anything newer rustls may add: the
        // handshake failed, the source says how.
        _ => (ErrorKind::TlsHandshake, String::new()),
    };
    Error::new(kind, message).with_source(err.clone())
}

/// The envoi error for an I/O error from a rustls stream or `complete_io` during the
/// handshake or the first read after it. rustls errors arrive wrapped in an
/// `InvalidData` error; plain I/O errors mean the transport failed under TLS.
pub(crate) fn classify_io(err: io::Error, facts: &HandshakeFacts) -> Error {
    if let Some(tls) = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return classify(tls, facts);
    }
    let (kind, mut message) = match err.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => (
            ErrorKind::ConnectionClosed,
            "the server closed the connection during the TLS handshake".to_owned(),
        ),
        // A socket timeout shows as WouldBlock on Unix and TimedOut on Windows.
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            (ErrorKind::Timeout(TimeoutPhase::Tls), String::new())
        }
        _ => (ErrorKind::TlsHandshake, String::new()),
    };
    if kind == ErrorKind::ConnectionClosed && missing_certificate(facts) {
        // Only a hint: without an alert, the server's reason is a guess.
        message.push_str(" after asking for a client certificate, and none was configured");
    }
    Error::new(kind, message).with_source(err)
}

/// The kind of a certificate error and a message naming the check that failed. The
/// verifier uses the kind too, to know which ignore flag would waive the error.
pub(super) fn certificate(e: &CertificateError) -> (ErrorKind, String) {
    use CertificateError as C;
    use ErrorKind as K;
    match e {
        C::ExpiredContext { time, not_after } => (
            K::CertificateExpired,
            format!(
                "date check: the certificate expired on {}; it is now {}",
                utc(not_after.as_secs()),
                utc(time.as_secs())
            ),
        ),
        C::NotValidYetContext { time, not_before } => (
            K::CertificateExpired,
            format!(
                "date check: the certificate is not valid before {}; it is now {}",
                utc(not_before.as_secs()),
                utc(time.as_secs())
            ),
        ),
        C::Expired => (K::CertificateExpired, "date check: expired".to_owned()),
        C::NotValidYet => (
            K::CertificateExpired,
            "date check: not yet valid".to_owned(),
        ),
        C::NotValidForNameContext {
            expected,
            presented,
        } => (
            K::CertificateNameMismatch,
            format!(
                "name check: the certificate is for {}, not {}",
                presented_names(presented),
                expected.to_str()
            ),
        ),
        C::NotValidForName => (
            K::CertificateNameMismatch,
            "name check: the certificate is not valid for the host".to_owned(),
        ),
        C::Revoked => (
            K::CertificateRevoked,
            "revocation check: the certificate is listed in a revocation list".to_owned(),
        ),
        C::UnknownRevocationStatus | C::ExpiredRevocationList => {
            (K::CertificateRevoked, format!("revocation check: {e}"))
        }
        C::ExpiredRevocationListContext { .. } => (
            K::CertificateRevoked,
            "revocation check: the revocation list has expired".to_owned(),
        ),
        C::Other(other) => match other.0.downcast_ref::<PinMismatch>() {
            Some(pin) => (K::CertificatePinMismatch, format!("pin check: {pin}")),
            None => (K::CertificateUnknownIssuer, format!("chain check: {other}")),
        },
        C::UnknownIssuer => (
            K::CertificateUnknownIssuer,
            "chain check: the certificate is not issued by a trusted authority".to_owned(),
        ),
        // A bad signature, an unsupported algorithm, a wrong purpose, an unhandled critical
        // extension, bad encoding: the certificate is invalid in a way no other kind covers.
        _ => (K::CertificateUnknownIssuer, format!("chain check: {e}")),
    }
}

/// What an alert from the server means. Certificate alerts only ever concern a certificate
/// the client sent, and `handshake_failure` right after a certificate request we could not
/// answer is how TLS 1.2 servers say one is required.
fn received_alert(alert: AlertDescription, facts: &HandshakeFacts) -> (ErrorKind, String) {
    use AlertDescription as A;
    let about_our_certificate = matches!(
        alert,
        A::BadCertificate
            | A::UnsupportedCertificate
            | A::CertificateRevoked
            | A::CertificateExpired
            | A::CertificateUnknown
            | A::UnknownCA
            | A::AccessDenied
    );
    if alert == A::CertificateRequired
        || (missing_certificate(facts) && (about_our_certificate || alert == A::HandshakeFailure))
    {
        let message = format!(
            "the server asked for a client certificate and none was configured (alert {alert:?})"
        );
        return (ErrorKind::ClientCertificateRequired, message);
    }
    if facts.certificate_sent() && about_our_certificate {
        let message = format!("the server refused the client certificate (alert {alert:?})");
        return (ErrorKind::ClientCertificateRequired, message);
    }
    (
        ErrorKind::TlsHandshake,
        format!("the server aborted the handshake (alert {alert:?})"),
    )
}

fn missing_certificate(facts: &HandshakeFacts) -> bool {
    facts.certificate_requested() && !facts.certificate_sent()
}

/// `DnsName("a.example")` and `IpAddress(127.0.0.1)`, as webpki lists them, shown bare.
fn presented_names(presented: &[String]) -> String {
    if presented.is_empty() {
        return "no name at all".to_owned();
    }
    presented
        .iter()
        .map(|name| {
            let bare = name
                .strip_prefix("DnsName(\"")
                .and_then(|n| n.strip_suffix("\")"))
                .or_else(|| {
                    name.strip_prefix("IpAddress(")
                        .and_then(|n| n.strip_suffix(')'))
                });
            bare.unwrap_or(name)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Seconds since the Unix epoch as `YYYY-MM-DD hh:mm:ss UTC` (proleptic Gregorian, after
/// Howard Hinnant's `civil_from_days`).
pub(super) fn utc(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(err: rustls::Error, facts: &HandshakeFacts) -> ErrorKind {
        classify(&err, facts).kind()
    }

    #[test]
    fn certificate_required_alert_always_means_a_client_certificate_is_required() {
        let err = rustls::Error::AlertReceived(AlertDescription::CertificateRequired);
        assert_eq!(
            kind(err, &HandshakeFacts::new()),
            ErrorKind::ClientCertificateRequired
        );
    }

    #[test]
    fn handshake_failure_after_an_unanswered_request_means_a_certificate_is_required() {
        let err = rustls::Error::AlertReceived(AlertDescription::HandshakeFailure);
        let asked = HandshakeFacts::with(true, false);
        assert_eq!(
            kind(err.clone(), &asked),
            ErrorKind::ClientCertificateRequired
        );
        let bad = rustls::Error::AlertReceived(AlertDescription::BadCertificate);
        assert_eq!(kind(bad, &asked), ErrorKind::ClientCertificateRequired);
        // Without a request, handshake_failure is just that (no common cipher suite, say).
        assert_eq!(
            kind(err.clone(), &HandshakeFacts::new()),
            ErrorKind::TlsHandshake
        );
        // With our certificate sent, handshake_failure is not about the certificate.
        assert_eq!(
            kind(err, &HandshakeFacts::with(true, true)),
            ErrorKind::TlsHandshake
        );
    }

    #[test]
    fn certificate_alert_after_sending_ours_means_it_was_refused() {
        let err = rustls::Error::AlertReceived(AlertDescription::UnknownCA);
        let e = classify(&err, &HandshakeFacts::with(true, true));
        assert_eq!(e.kind(), ErrorKind::ClientCertificateRequired);
        assert!(e.to_string().contains("refused"), "{e}");
    }

    #[test]
    fn rustls_error_stays_reachable_as_the_source() {
        let err = rustls::Error::DecryptError;
        let e = classify(&err, &HandshakeFacts::new());
        assert_eq!(e.kind(), ErrorKind::TlsHandshake);
        let source = std::error::Error::source(&e).unwrap();
        assert!(source.downcast_ref::<rustls::Error>().is_some());
    }

    #[test]
    fn io_errors_unwrap_rustls_errors_and_map_plain_ones() {
        let facts = HandshakeFacts::new();
        let wrapped = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        assert_eq!(
            classify_io(wrapped, &facts).kind(),
            ErrorKind::CertificateUnknownIssuer
        );
        let eof = io::Error::from(io::ErrorKind::UnexpectedEof);
        assert_eq!(classify_io(eof, &facts).kind(), ErrorKind::ConnectionClosed);
        let timeout = io::Error::from(io::ErrorKind::WouldBlock);
        assert_eq!(
            classify_io(timeout, &facts).kind(),
            ErrorKind::Timeout(TimeoutPhase::Tls)
        );
        let other = io::Error::other("boom");
        assert_eq!(classify_io(other, &facts).kind(), ErrorKind::TlsHandshake);
    }

    #[test]
    fn certificate_errors_map_to_the_kind_whose_flag_waives_them() {
        use CertificateError as C;
        let cases = [
            (C::UnknownIssuer, ErrorKind::CertificateUnknownIssuer),
            (C::BadSignature, ErrorKind::CertificateUnknownIssuer),
            (C::InvalidPurpose, ErrorKind::CertificateUnknownIssuer),
            (C::NotValidForName, ErrorKind::CertificateNameMismatch),
            (C::Expired, ErrorKind::CertificateExpired),
            (C::NotValidYet, ErrorKind::CertificateExpired),
            (C::Revoked, ErrorKind::CertificateRevoked),
        ];
        for (err, want) in cases {
            assert_eq!(certificate(&err).0, want, "{err:?}");
        }
    }

    #[test]
    fn utc_formats_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_735_689_599), "2024-12-31 23:59:59 UTC");
    }
}
