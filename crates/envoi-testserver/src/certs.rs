//! Certificates made fresh at every start with rcgen: a test CA, one server certificate per
//! [`CertKind`], a client certificate, and a CRL that revokes the `Revoked` certificate.
//!
//! Keys are ECDSA P-256 (rcgen's default), which takes microseconds to generate, so every
//! server gets its own CA and no key material is ever shared between test runs.

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SerialNumber,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

/// Which certificate a TLS listener presents. Every kind but `Valid` fails verification
/// against the test CA for exactly the reason its name gives.
///
/// ```
/// use envoi_testserver::{CertKind, TestServer};
///
/// let server = TestServer::start();
/// let url = server.tls_url(CertKind::Expired, "/get");
/// assert!(url.starts_with("https://localhost:"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertKind {
    /// Issued by the test CA for `localhost`, `127.0.0.1` and `::1`, valid now.
    Valid,
    /// Issued by the test CA for the right names, but its validity ended a year ago.
    Expired,
    /// Issued by the test CA for the right names, but valid only from next year on.
    NotYetValid,
    /// Issued by the test CA, valid now, but only for `wrong.example`.
    WrongName,
    /// Self-signed for the right names: not under the test CA.
    UnknownIssuer,
    /// Issued by the test CA for the right names, valid now, and listed in the CA's CRL
    /// ([`TestServer::crl_der`](crate::TestServer::crl_der)).
    Revoked,
    /// Issued by the test CA, expired, and only for `wrong.example`: two faults at once.
    ExpiredWrongName,
}

impl CertKind {
    /// Every kind, in declaration order.
    ///
    /// ```
    /// assert_eq!(envoi_testserver::CertKind::ALL.len(), 7);
    /// ```
    pub const ALL: [CertKind; 7] = [
        CertKind::Valid,
        CertKind::Expired,
        CertKind::NotYetValid,
        CertKind::WrongName,
        CertKind::UnknownIssuer,
        CertKind::Revoked,
        CertKind::ExpiredWrongName,
    ];

    /// A short kebab-case name (`"expired"`, `"wrong-name"`, ...), as the binary prints it.
    ///
    /// ```
    /// assert_eq!(envoi_testserver::CertKind::NotYetValid.name(), "not-yet-valid");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            CertKind::Valid => "valid",
            CertKind::Expired => "expired",
            CertKind::NotYetValid => "not-yet-valid",
            CertKind::WrongName => "wrong-name",
            CertKind::UnknownIssuer => "unknown-issuer",
            CertKind::Revoked => "revoked",
            CertKind::ExpiredWrongName => "expired-wrong-name",
        }
    }

    /// The position of `kind` in [`CertKind::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// The names a valid certificate covers: the client resolves `localhost` itself.
const GOOD_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];
/// The only name the wrong-name certificates cover; `.example` is reserved, never resolves.
const WRONG_NAMES: [&str; 1] = ["wrong.example"];
/// The serial number of the revoked certificate, as listed in the CRL.
const REVOKED_SERIAL: [u8; 8] = [0x0e, 0x77, 0x01, 0x1e, 0x5e, 0x0d, 0x00, 0x01];

/// A certificate chain (leaf first) and its private key, ready for rustls.
pub(crate) struct Identity {
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: PrivatePkcs8KeyDer<'static>,
}

impl Identity {
    /// The private key in the form rustls' config builders take.
    pub(crate) fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.clone_key())
    }
}

/// Everything the server and its clients need, generated once per server.
pub(crate) struct Certs {
    pub(crate) ca_pem: String,
    pub(crate) ca_der: CertificateDer<'static>,
    servers: Vec<Identity>,
    pub(crate) client_cert_pem: String,
    pub(crate) client_key_pem: String,
    pub(crate) crl_der: Vec<u8>,
    pub(crate) crl_pem: String,
}

impl Certs {
    /// Makes the CA, one server identity per [`CertKind`], a client identity and the CRL.
    pub(crate) fn generate() -> Result<Certs, rcgen::Error> {
        let now = OffsetDateTime::now_utc();
        let ca_key = KeyPair::generate()?;
        let ca = ca_params(now)?.self_signed(&ca_key)?;
        let ca_der = ca.der().clone();

        let servers = CertKind::ALL
            .iter()
            .map(|&kind| server_identity(kind, now, &ca, &ca_key))
            .collect::<Result<Vec<_>, _>>()?;

        let client_key = KeyPair::generate()?;
        let client = client_params(now)?.signed_by(&client_key, &ca, &ca_key)?;
        let crl = crl_params(now).signed_by(&ca, &ca_key)?;

        Ok(Certs {
            ca_pem: ca.pem(),
            ca_der,
            servers,
            client_cert_pem: client.pem(),
            client_key_pem: client_key.serialize_pem(),
            crl_der: crl.der().to_vec(),
            crl_pem: crl.pem()?,
        })
    }

    /// The identity a listener of `kind` presents.
    pub(crate) fn server(&self, kind: CertKind) -> &Identity {
        &self.servers[kind.index()]
    }
}

fn ca_params(now: OffsetDateTime) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "envoi-testserver test CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // CrlSign: webpki refuses a CRL whose issuer may not sign CRLs.
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(3650);
    params.key_identifier_method = KeyIdMethod::Sha256;
    Ok(params)
}

fn server_identity(
    kind: CertKind,
    now: OffsetDateTime,
    ca: &Certificate,
    ca_key: &KeyPair,
) -> Result<Identity, rcgen::Error> {
    let names: &[&str] = match kind {
        CertKind::WrongName | CertKind::ExpiredWrongName => &WRONG_NAMES,
        _ => &GOOD_NAMES,
    };
    // `CertificateParams::new` turns names that parse as IP addresses into IP SANs.
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
    params
        .distinguished_name
        .push(DnType::CommonName, format!("envoi-testserver {kind:?}"));
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = kind != CertKind::UnknownIssuer;
    (params.not_before, params.not_after) = match kind {
        CertKind::Expired | CertKind::ExpiredWrongName => {
            (now - Duration::days(730), now - Duration::days(365))
        }
        CertKind::NotYetValid => (now + Duration::days(365), now + Duration::days(730)),
        _ => (now - Duration::days(1), now + Duration::days(365)),
    };
    if kind == CertKind::Revoked {
        params.serial_number = Some(SerialNumber::from_slice(&REVOKED_SERIAL));
    }

    let key = KeyPair::generate()?;
    let chain = if kind == CertKind::UnknownIssuer {
        vec![params.self_signed(&key)?.der().clone()]
    } else {
        vec![
            params.signed_by(&key, ca, ca_key)?.der().clone(),
            ca.der().clone(),
        ]
    };
    Ok(Identity {
        chain,
        key: PrivatePkcs8KeyDer::from(key.serialize_der()),
    })
}

fn client_params(now: OffsetDateTime) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "envoi-testserver client");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(365);
    Ok(params)
}

fn crl_params(now: OffsetDateTime) -> CertificateRevocationListParams {
    CertificateRevocationListParams {
        this_update: now - Duration::hours(1),
        next_update: now + Duration::days(30),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from_slice(&REVOKED_SERIAL),
            revocation_time: now - Duration::hours(1),
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_gets_an_identity_and_only_unknown_issuer_lacks_the_ca() {
        let certs = Certs::generate().unwrap();
        for kind in CertKind::ALL {
            let chain = &certs.server(kind).chain;
            let expected = if kind == CertKind::UnknownIssuer {
                1
            } else {
                2
            };
            assert_eq!(chain.len(), expected, "{kind:?}");
        }
        assert!(certs.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(certs.crl_pem.contains("X509 CRL"));
    }
}
