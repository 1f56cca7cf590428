//! The server certificate verifier: webpki's checks (through rustls), plus pins, plus ignore
//! flags that each waive exactly one check.
//!
//! Waivers change the question asked of webpki rather than its answer:
//! - expiry: verify at a time inside the certificate's validity ([`leaf::time_inside_validity`]);
//!   the chain, the name and revocation are still checked;
//! - name: verify against a name the certificate holds ([`leaf::held_name`]); the chain, the
//!   dates and revocation are still checked (a certificate holding no name at all fails only
//!   webpki's last check, the name, which is then waived);
//! - revocation: the chain is checked without the CRLs;
//! - invalid certificate (unknown issuer, bad chain): when the chain check fails, check the
//!   leaf alone: its dates, its listing in the CRLs and its name, each unless waived.
//!
//! Pins are checked first and always. Handshake signatures are always verified with the
//! provider's algorithms, whatever the flags.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, ServerName, UnixTime};

use super::classify::{self, PinMismatch};
use super::leaf;
use super::revocation::{BuildRevocation, RevocationCheck};
use crate::error::{Error, ErrorKind};

/// Which checks the ignore flags waive.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Waivers {
    pub(super) invalid_certificate: bool,
    pub(super) name: bool,
    pub(super) expiry: bool,
    pub(super) revocation: bool,
}

/// envoi's [`ServerCertVerifier`]; see the module documentation.
#[derive(Debug)]
pub(super) struct Verifier {
    /// The roots a chain must lead to; None when there is none, which only happens when
    /// unknown issuers are accepted.
    roots: Option<Arc<RootCertStore>>,
    /// The CRL checks; None without CRLs or when revocation is waived.
    revocation: Option<Box<dyn RevocationCheck>>,
    algorithms: WebPkiSupportedAlgorithms,
    pins: Vec<[u8; 32]>,
    waive: Waivers,
}

impl Verifier {
    /// A verifier trusting `roots` and refusing what the CRLs list: `crls` with the
    /// [`BuildRevocation`] their [`Crl`](crate::tls::Crl)s carry. The CRLs are parsed here,
    /// so a bad one fails when the client is built.
    pub(super) fn new(
        roots: RootCertStore,
        crls: Option<(Vec<CertificateRevocationListDer<'static>>, BuildRevocation)>,
        pins: Vec<[u8; 32]>,
        waive: Waivers,
        provider: &Arc<CryptoProvider>,
    ) -> Result<Verifier, Error> {
        let roots = (!roots.is_empty()).then(|| Arc::new(roots));
        let revocation = match crls {
            Some((crls, build)) if !waive.revocation => {
                Some(build(crls, roots.as_ref(), provider)?)
            }
            _ => None,
        };
        Ok(Verifier {
            roots,
            revocation,
            algorithms: provider.signature_verification_algorithms,
            pins,
            waive,
        })
    }

    /// Chain, dates, revocation, then the name, as rustls' webpki verifier checks them;
    /// without CRLs this asks webpki directly, which links no CRL parsing.
    fn verify_chain(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let Some(roots) = &self.roots else {
            return Err(CertificateError::UnknownIssuer.into());
        };
        if let Some(revocation) = &self.revocation {
            return revocation.verify_chain(end_entity, intermediates, server_name, now);
        }
        let cert = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        rustls::client::verify_server_name(&cert, server_name)
    }

    /// The pins first: a pinned connection accepts one of the pinned keys and nothing else.
    fn check_pins(&self, end_entity: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        if self.pins.is_empty() {
            return Ok(());
        }
        let spki = ParsedCertificate::try_from(end_entity)?.subject_public_key_info();
        let hash = sha256(spki.as_ref());
        if self.pins.contains(&hash) {
            return Ok(());
        }
        let pin = PinMismatch {
            presented: format!("sha256//{}", BASE64.encode(hash)),
        };
        Err(CertificateError::Other(OtherError(Arc::new(pin))).into())
    }

    /// What a failed chain verification becomes under the waivers.
    fn after_chain_failure(
        &self,
        err: rustls::Error,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let rustls::Error::InvalidCertificate(cert_err) = &err else {
            return Err(err);
        };
        match classify::certificate(cert_err).0 {
            // Only when the leaf holds no name to verify against: WebPkiServerVerifier checks
            // the name last, so this error means chain, dates and revocation all passed.
            ErrorKind::CertificateNameMismatch if self.waive.name => Ok(()),
            ErrorKind::CertificateUnknownIssuer if self.waive.invalid_certificate => {
                self.check_leaf_alone(end_entity, server_name, now)
            }
            _ => Err(err),
        }
    }

    /// The checks that remain without a chain, in webpki's order: dates, revocation, name.
    fn check_leaf_alone(
        &self,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        if !self.waive.expiry {
            leaf::check_dates(end_entity, now)?;
        }
        if let Some(revocation) = &self.revocation {
            if revocation.lists_leaf(end_entity)? {
                return Err(CertificateError::Revoked.into());
            }
        }
        if !self.waive.name {
            let parsed = ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_name(&parsed, server_name)?;
        }
        Ok(())
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        // rustls' own verifier only logs an OCSP response; this one ignores it.
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check_pins(end_entity)?;
        let time = if self.waive.expiry {
            leaf::time_inside_validity(end_entity, intermediates, now)
        } else {
            now
        };
        let held = self
            .waive
            .name
            .then(|| leaf::held_name(end_entity))
            .flatten();
        let name = held.as_ref().unwrap_or(server_name);
        match self.verify_chain(end_entity, intermediates, name, time) {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            Err(e) => self
                .after_chain_failure(e, end_entity, server_name, now)
                .map(|()| ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The SHA-256 of `data`, as a public-key pin holds it.
fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, data).as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{exchange, trusting, Ca, Issued, Leaf, Server};
    use super::*;
    use crate::tls::TlsOptions;

    /// Connects to a server presenting `cert`, verifying it for `localhost`.
    fn connect(cert: Issued, opts: &TlsOptions) -> Result<(), Error> {
        exchange(Server::new(cert).start(), opts, "localhost")
    }

    fn kind(result: Result<(), Error>) -> ErrorKind {
        result.expect_err("the handshake should have failed").kind()
    }

    fn spki_pin(cert: &Issued) -> [u8; 32] {
        sha256(&cert.spki_der())
    }

    #[test]
    fn valid_certificate_passes_for_its_name_and_its_ip() {
        let ca = Ca::new("test CA");
        connect(ca.issue(Leaf::new()), &trusting(&ca)).unwrap();
        let addr = Server::new(ca.issue(Leaf::new())).start();
        exchange(addr, &trusting(&ca), "127.0.0.1").unwrap();
    }

    #[test]
    fn expired_certificate_fails_as_expired_with_its_dates() {
        let ca = Ca::new("test CA");
        let err = connect(ca.issue(Leaf::new().expired()), &trusting(&ca)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CertificateExpired);
        let text = err.to_string();
        assert!(
            text.contains("expired on 2002-01-01 00:00:00 UTC"),
            "{text}"
        );
        assert!(text.contains("ignore_expired_certificate"), "{text}");
    }

    #[test]
    fn not_yet_valid_certificate_fails_as_expired_saying_so() {
        let ca = Ca::new("test CA");
        let err = connect(ca.issue(Leaf::new().not_yet_valid()), &trusting(&ca)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CertificateExpired);
        assert!(
            err.to_string().contains("not valid before 2090-01-01"),
            "{err}"
        );
    }

    #[test]
    fn wrong_name_fails_as_name_mismatch_naming_both() {
        let ca = Ca::new("test CA");
        let leaf = Leaf::new().names(&["wrong.example"]);
        let err = connect(ca.issue(leaf), &trusting(&ca)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CertificateNameMismatch);
        assert!(
            err.to_string()
                .contains("certificate is for wrong.example, not localhost"),
            "{err}"
        );
    }

    #[test]
    fn unknown_issuer_and_self_signed_fail_as_unknown_issuer() {
        let ca = Ca::new("test CA");
        let rogue = Ca::new("rogue CA");
        let err = connect(rogue.issue(Leaf::new()), &trusting(&ca)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CertificateUnknownIssuer);
        assert!(err.to_string().contains("chain check"), "{err}");
        let self_signed = Leaf::new().self_signed();
        assert_eq!(
            kind(connect(self_signed, &trusting(&ca))),
            ErrorKind::CertificateUnknownIssuer
        );
    }

    #[test]
    fn revoked_certificate_fails_with_the_crl_and_passes_with_ignore_revocation() {
        let ca = Ca::new("test CA");
        let opts = trusting(&ca).add_crl(ca.crl(&[7]));
        let err = connect(ca.issue(Leaf::new().serial(7)), &opts).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CertificateRevoked);
        assert!(err.to_string().contains("revocation check"), "{err}");
        // A certificate the CRL does not list passes.
        connect(ca.issue(Leaf::new().serial(8)), &opts).unwrap();
        let waived = opts.ignore_revocation(true);
        connect(ca.issue(Leaf::new().serial(7)), &waived).unwrap();
    }

    #[test]
    fn ignore_expired_waives_expiry_and_nothing_else() {
        let ca = Ca::new("test CA");
        let rogue = Ca::new("rogue CA");
        let opts = trusting(&ca).ignore_expired_certificate(true);
        connect(ca.issue(Leaf::new().expired()), &opts).unwrap();
        connect(ca.issue(Leaf::new().not_yet_valid()), &opts).unwrap();
        let expired_unknown = rogue.issue(Leaf::new().expired());
        assert_eq!(
            kind(connect(expired_unknown, &opts)),
            ErrorKind::CertificateUnknownIssuer
        );
        let revoked = trusting(&ca)
            .add_crl(ca.crl(&[5]))
            .ignore_expired_certificate(true);
        assert_eq!(
            kind(connect(ca.issue(Leaf::new().expired().serial(5)), &revoked)),
            ErrorKind::CertificateRevoked
        );
    }

    #[test]
    fn expired_certificate_with_a_wrong_name_still_fails_on_the_name_when_only_expiry_is_waived() {
        let ca = Ca::new("test CA");
        let leaf = || ca.issue(Leaf::new().expired().names(&["wrong.example"]));
        assert_eq!(
            kind(connect(leaf(), &trusting(&ca))),
            ErrorKind::CertificateExpired
        );
        let expiry_only = trusting(&ca).ignore_expired_certificate(true);
        assert_eq!(
            kind(connect(leaf(), &expiry_only)),
            ErrorKind::CertificateNameMismatch
        );
        let name_only = trusting(&ca).ignore_certificate_name(true);
        assert_eq!(
            kind(connect(leaf(), &name_only)),
            ErrorKind::CertificateExpired
        );
        connect(leaf(), &expiry_only.ignore_certificate_name(true)).unwrap();
    }

    #[test]
    fn ignore_name_waives_the_name_and_nothing_else() {
        let ca = Ca::new("test CA");
        let rogue = Ca::new("rogue CA");
        let opts = trusting(&ca).ignore_certificate_name(true);
        connect(ca.issue(Leaf::new().names(&["wrong.example"])), &opts).unwrap();
        let unknown = rogue.issue(Leaf::new().names(&["wrong.example"]));
        assert_eq!(
            kind(connect(unknown, &opts)),
            ErrorKind::CertificateUnknownIssuer
        );
        let revoked = opts.clone().add_crl(ca.crl(&[3]));
        let leaf = ca.issue(Leaf::new().names(&["wrong.example"]).serial(3));
        assert_eq!(kind(connect(leaf, &revoked)), ErrorKind::CertificateRevoked);
    }

    #[test]
    fn ignore_name_accepts_a_certificate_without_names_but_still_checks_its_chain() {
        let ca = Ca::new("test CA");
        let rogue = Ca::new("rogue CA");
        let opts = trusting(&ca).ignore_certificate_name(true);
        connect(ca.issue(Leaf::new().names(&[])), &opts).unwrap();
        assert_eq!(
            kind(connect(rogue.issue(Leaf::new().names(&[])), &opts)),
            ErrorKind::CertificateUnknownIssuer
        );
        assert_eq!(
            kind(connect(ca.issue(Leaf::new().names(&[]).expired()), &opts)),
            ErrorKind::CertificateExpired
        );
    }

    #[test]
    fn ignore_invalid_certificate_accepts_an_unknown_issuer_but_checks_the_leaf() {
        let ca = Ca::new("test CA");
        let rogue = Ca::new("rogue CA");
        let opts = trusting(&ca).ignore_invalid_certificate(true);
        connect(rogue.issue(Leaf::new()), &opts).unwrap();
        connect(Leaf::new().self_signed(), &opts).unwrap();
        let wrong_name = rogue.issue(Leaf::new().names(&["wrong.example"]));
        assert_eq!(
            kind(connect(wrong_name, &opts)),
            ErrorKind::CertificateNameMismatch
        );
        let expired = Leaf::new().expired().self_signed();
        assert_eq!(kind(connect(expired, &opts)), ErrorKind::CertificateExpired);
        // The leaf alone is still looked up in the CRLs of its (untrusted) issuer.
        let listed = opts.clone().add_crl(rogue.crl(&[9]));
        assert_eq!(
            kind(connect(rogue.issue(Leaf::new().serial(9)), &listed)),
            ErrorKind::CertificateRevoked
        );
        let waived = listed.ignore_revocation(true);
        connect(rogue.issue(Leaf::new().serial(9)), &waived).unwrap();
    }

    #[test]
    fn ignore_invalid_certificate_works_without_any_root() {
        let opts = TlsOptions::default()
            .root_certificates(crate::tls::RootCertificates::OnlyAdded)
            .ignore_invalid_certificate(true);
        connect(Leaf::new().self_signed(), &opts).unwrap();
        let wrong = Leaf::new().names(&["wrong.example"]).self_signed();
        assert_eq!(
            kind(connect(wrong, &opts)),
            ErrorKind::CertificateNameMismatch
        );
    }

    #[test]
    fn all_flags_together_accept_an_expired_misnamed_self_signed_certificate() {
        let ca = Ca::new("test CA");
        let opts = trusting(&ca)
            .ignore_invalid_certificate(true)
            .ignore_certificate_name(true)
            .ignore_expired_certificate(true)
            .ignore_revocation(true);
        let leaf = Leaf::new()
            .expired()
            .names(&["wrong.example"])
            .self_signed();
        connect(leaf, &opts).unwrap();
    }

    #[test]
    fn pin_mismatch_fails_even_with_every_flag_and_the_right_pin_passes() {
        let ca = Ca::new("test CA");
        let all_flags = trusting(&ca)
            .ignore_invalid_certificate(true)
            .ignore_certificate_name(true)
            .ignore_expired_certificate(true)
            .ignore_revocation(true);
        let wrong_pin = all_flags.clone().pin_public_key_sha256([0; 32]);
        let err = connect(ca.issue(Leaf::new()), &wrong_pin).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CertificatePinMismatch);
        assert_eq!(err.ignore_flag(), None);
        assert!(err
            .to_string()
            .contains("pin check: the server's public key sha256//"));

        let leaf = ca.issue(Leaf::new());
        let pin = format!("sha256//{}", BASE64.encode(spki_pin(&leaf)));
        let right_pin = trusting(&ca)
            .pin_public_key(&format!(
                "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;{pin}"
            ))
            .unwrap();
        connect(leaf, &right_pin).unwrap();
    }

    #[test]
    fn a_right_pin_does_not_waive_other_checks() {
        let ca = Ca::new("test CA");
        let leaf = ca.issue(Leaf::new().names(&["wrong.example"]));
        let opts = trusting(&ca).pin_public_key_sha256(spki_pin(&leaf));
        assert_eq!(
            kind(connect(leaf, &opts)),
            ErrorKind::CertificateNameMismatch
        );
    }

    #[test]
    fn server_name_override_is_what_the_certificate_is_checked_against() {
        let ca = Ca::new("test CA");
        let opts = trusting(&ca).server_name_override(Some("api.test".to_owned()));
        let leaf = ca.issue(Leaf::new().names(&["api.test"]));
        connect(leaf, &opts).unwrap();
        assert_eq!(
            kind(connect(ca.issue(Leaf::new()), &opts)),
            ErrorKind::CertificateNameMismatch
        );
    }
}
