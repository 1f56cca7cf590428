//! TLS settings: trusted roots, a client identity, revocation lists, certificate pins and the
//! ignore flags that waive one certificate check each.
//!
//! Every type here is envoi's own; rustls types stay inside the crate. A [`TlsOptions`] is
//! turned into a rustls configuration once per client, so build it once and share the client.
//!
//! ```
//! use envoi::tls::{RootCertificates, TlsOptions, TlsVersion};
//!
//! let opts = TlsOptions::default()
//!     .root_certificates(RootCertificates::WebpkiAndNative)
//!     .min_version(TlsVersion::Tls13)
//!     .pin_public_key("sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")?;
//! # Ok::<(), envoi::Error>(())
//! ```

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use crate::error::{Error, ErrorKind, IgnoreFlag};
use crate::transport::tls::revocation::{self, BuildRevocation};

/// A DER-encoded X.509 certificate, to trust as a root.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    pub(crate) der: CertificateDer<'static>,
}

/// A client certificate chain with its private key, presented when a server asks for one.
#[derive(Clone)]
pub struct Identity {
    pub(crate) key: Arc<CertifiedKey>,
}

/// A DER-encoded certificate revocation list (CRL). A server certificate listed in a CRL
/// signed by its issuer is refused as revoked.
#[derive(Clone)]
pub struct Crl {
    pub(crate) der: CertificateRevocationListDer<'static>,
    /// The CRL checks, reached only through here so that programs without CRLs do not
    /// link them (see `transport::tls::revocation`).
    pub(crate) revocation: BuildRevocation,
}

/// A TLS protocol version.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.2.
    #[default]
    Tls12,
    /// TLS 1.3.
    Tls13,
}

/// Which built-in root certificates to trust, besides those added with
/// [`TlsOptions::add_root_certificate`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RootCertificates {
    /// Mozilla's root program, compiled in (the `webpki-roots` crate).
    #[default]
    Webpki,
    /// The platform's trust store (feature `native-roots`, on by default). Failing to load
    /// any root from it is an error.
    #[cfg(feature = "native-roots")]
    Native,
    /// Both; the platform's store may fail to load, the compiled-in roots remain (feature
    /// `native-roots`).
    #[cfg(feature = "native-roots")]
    WebpkiAndNative,
    /// Only the roots added with [`TlsOptions::add_root_certificate`].
    OnlyAdded,
}

/// How a client sets up TLS: roots, identity, revocation, pins, and which checks to waive.
///
/// Each `ignore_*` flag waives exactly one certificate check and keeps the others; they
/// combine. Pins, when set, are always checked, whatever the flags.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    pub(crate) roots: RootCertificates,
    pub(crate) added_roots: Vec<Certificate>,
    pub(crate) identity: Option<Identity>,
    pub(crate) crls: Vec<Crl>,
    pub(crate) min_version: TlsVersion,
    pub(crate) ignore_invalid_certificate: bool,
    pub(crate) ignore_certificate_name: bool,
    pub(crate) ignore_expired_certificate: bool,
    pub(crate) ignore_revocation: bool,
    pub(crate) pins: Vec<[u8; 32]>,
    pub(crate) key_log: Option<KeyLog>,
    pub(crate) server_name_override: Option<String>,
}

impl Certificate {
    /// Wraps a DER-encoded certificate. It is parsed when the client is built.
    pub fn from_der(der: Vec<u8>) -> Certificate {
        Certificate {
            der: CertificateDer::from(der),
        }
    }

    /// Every `CERTIFICATE` block of a PEM bundle, in order. Text outside the blocks is
    /// ignored; a bundle without any certificate is an error of kind
    /// [`ErrorKind::InvalidRequest`].
    pub fn from_pem(pem: &[u8]) -> Result<Vec<Certificate>, Error> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .map(|c| c.map(|der| Certificate { der }))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem_error("certificate bundle", e))?;
        if certs.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                "no `BEGIN CERTIFICATE` block found in the PEM data",
            ));
        }
        Ok(certs)
    }

    /// The DER bytes of the certificate.
    pub fn as_der(&self) -> &[u8] {
        &self.der
    }
}

impl Identity {
    /// A client identity from a PEM certificate chain (leaf first) and a PEM private key
    /// (PKCS#8, PKCS#1 or SEC1). The key must be usable and match the leaf certificate;
    /// otherwise the error is of kind [`ErrorKind::InvalidRequest`].
    pub fn from_pem(cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<Identity, Error> {
        let chain = Certificate::from_pem(cert_chain_pem)?
            .into_iter()
            .map(|c| c.der)
            .collect();
        let key =
            PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| pem_error("private key", e))?;
        // Load the key now, with the provider every connection uses, so a bad or mismatched
        // key fails here rather than in the middle of a handshake.
        let provider = rustls::crypto::ring::default_provider();
        let key = CertifiedKey::from_der(chain, key, &provider).map_err(|e| {
            let what = match e {
                rustls::Error::InconsistentKeys(_) => {
                    "the private key does not match the first certificate of the chain"
                }
                _ => "the private key cannot be used",
            };
            Error::new(ErrorKind::InvalidRequest, what).with_source(e)
        })?;
        Ok(Identity { key: Arc::new(key) })
    }
}

impl Crl {
    /// Wraps a DER-encoded CRL. It is parsed when the client is built.
    pub fn from_der(der: Vec<u8>) -> Crl {
        Crl::new(CertificateRevocationListDer::from(der))
    }

    /// Every `X509 CRL` block of a PEM file, in order; none is an error of kind
    /// [`ErrorKind::InvalidRequest`].
    pub fn from_pem(pem: &[u8]) -> Result<Vec<Crl>, Error> {
        let crls = CertificateRevocationListDer::pem_slice_iter(pem)
            .map(|c| c.map(Crl::new))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem_error("CRL", e))?;
        if crls.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                "no `BEGIN X509 CRL` block found in the PEM data",
            ));
        }
        Ok(crls)
    }

    /// The DER bytes of the CRL.
    pub fn as_der(&self) -> &[u8] {
        &self.der
    }

    fn new(der: CertificateRevocationListDer<'static>) -> Crl {
        Crl {
            der,
            revocation: revocation::build,
        }
    }
}

impl PartialEq for Crl {
    fn eq(&self, other: &Crl) -> bool {
        self.der == other.der
    }
}

impl Eq for Crl {}

impl TlsOptions {
    /// Trusts `cert` as a root, in addition to the [`RootCertificates`] choice.
    pub fn add_root_certificate(mut self, cert: Certificate) -> Self {
        self.added_roots.push(cert);
        self
    }

    /// Chooses the built-in roots (default: [`RootCertificates::Webpki`]).
    pub fn root_certificates(mut self, roots: RootCertificates) -> Self {
        self.roots = roots;
        self
    }

    /// Presents `identity` when a server asks for a client certificate.
    pub fn identity(mut self, identity: Identity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// Refuses server certificates listed in `crl` (when the CRL is signed by their issuer).
    /// Certificates no CRL covers are accepted.
    pub fn add_crl(mut self, crl: Crl) -> Self {
        self.crls.push(crl);
        self
    }

    /// The lowest protocol version offered (default: TLS 1.2).
    pub fn min_version(mut self, version: TlsVersion) -> Self {
        self.min_version = version;
        self
    }

    /// Accepts a certificate whose chain does not lead to a trusted root (unknown issuer,
    /// self-signed, bad chain signature). The leaf's name, dates and listing in the CRLs are
    /// still checked, unless waived by their own flags.
    pub fn ignore_invalid_certificate(mut self, on: bool) -> Self {
        self.ignore_invalid_certificate = on;
        self
    }

    /// Accepts a certificate whose names do not include the host. Its chain, dates and
    /// revocation are still checked.
    pub fn ignore_certificate_name(mut self, on: bool) -> Self {
        self.ignore_certificate_name = on;
        self
    }

    /// Accepts a certificate that has expired or is not yet valid: the chain is verified at a
    /// time inside the certificate's validity, and its name and revocation are still checked.
    pub fn ignore_expired_certificate(mut self, on: bool) -> Self {
        self.ignore_expired_certificate = on;
        self
    }

    /// Skips the revocation check against the CRLs added with [`add_crl`](Self::add_crl).
    pub fn ignore_revocation(mut self, on: bool) -> Self {
        self.ignore_revocation = on;
        self
    }

    /// Pins the server's public key, in curl's `--pinnedpubkey` syntax:
    /// `sha256//BASE64[;sha256//BASE64...]`, each the base64 SHA-256 of the DER
    /// SubjectPublicKeyInfo. Pins add up; a key matching any one passes. A pinned connection
    /// fails on any other key, whatever the ignore flags.
    pub fn pin_public_key(mut self, pins: &str) -> Result<Self, Error> {
        let parsed = pins
            .split(';')
            .map(parse_pin)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|why| {
                Error::new(
                    ErrorKind::InvalidRequest,
                    format!(
                        "pinned public key `{pins}`: {why}; expected sha256//BASE64, \
                         several separated by `;`"
                    ),
                )
            })?;
        self.pins.extend(parsed);
        Ok(self)
    }

    /// Pins the server's public key by the SHA-256 of its DER SubjectPublicKeyInfo.
    pub fn pin_public_key_sha256(mut self, sha256: [u8; 32]) -> Self {
        self.pins.push(sha256);
        self
    }

    /// Writes TLS secrets to the file named by `SSLKEYLOGFILE`, for Wireshark.
    pub fn key_log(mut self, on: bool) -> Self {
        self.key_log = on.then_some(KeyLog(|| Arc::new(rustls::KeyLogFile::new())));
        self
    }

    /// Verifies the certificate against this name instead of the URL's host, and sends it as
    /// SNI. An IP address (`[::1]` brackets allowed) is verified as one and sends no SNI.
    pub fn server_name_override(mut self, name: Option<String>) -> Self {
        self.server_name_override = name;
        self
    }

    /// Whether `flag` is set. Always false for the flags that are not about certificates.
    pub fn is_ignored(&self, flag: IgnoreFlag) -> bool {
        match flag {
            IgnoreFlag::InvalidCertificate => self.ignore_invalid_certificate,
            IgnoreFlag::CertificateName => self.ignore_certificate_name,
            IgnoreFlag::ExpiredCertificate => self.ignore_expired_certificate,
            IgnoreFlag::Revocation => self.ignore_revocation,
            _ => false,
        }
    }

    /// The SHA-256 pins set, in the order given.
    pub fn pinned_public_keys(&self) -> &[[u8; 32]] {
        &self.pins
    }

    /// The name set with [`server_name_override`](Self::server_name_override).
    pub fn get_server_name_override(&self) -> Option<&str> {
        self.server_name_override.as_deref()
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Certificate({} bytes of DER)", self.der.len())
    }
}

/// Where TLS secrets go when [`TlsOptions::key_log`] is on: made only from there, so that
/// programs that never turn it on do not link rustls' key log writer.
#[derive(Clone, Copy)]
pub(crate) struct KeyLog(pub(crate) fn() -> Arc<dyn rustls::KeyLog>);

impl fmt::Debug for KeyLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SSLKEYLOGFILE")
    }
}

impl fmt::Debug for Crl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Crl({} bytes of DER)", self.der.len())
    }
}

impl fmt::Debug for Identity {
    // Never show the key, not even its type.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("certificates", &self.key.cert.len())
            .finish_non_exhaustive()
    }
}

/// One `sha256//BASE64` item of a pin list.
fn parse_pin(item: &str) -> Result<[u8; 32], String> {
    let item = item.trim();
    let Some(b64) = item.strip_prefix("sha256//") else {
        return Err(format!("`{item}` does not start with `sha256//`"));
    };
    let bytes = BASE64
        .decode(b64)
        .map_err(|e| format!("`{b64}` is not base64 ({e})"))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("`{b64}` decodes to {} bytes, not 32", bytes.len()))
}

fn pem_error(what: &str, e: rustls_pki_types::pem::Error) -> Error {
    let message = match e {
        rustls_pki_types::pem::Error::NoItemsFound => format!("no {what} found in the PEM data"),
        _ => format!("invalid PEM {what}"),
    };
    Error::new(ErrorKind::InvalidRequest, message).with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIN_A: &str = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const PIN_B: &str = "sha256//AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

    #[test]
    fn pin_public_key_accepts_curl_syntax_with_several_pins() {
        let opts = TlsOptions::default()
            .pin_public_key(&format!("{PIN_A};{PIN_B}"))
            .unwrap();
        assert_eq!(opts.pinned_public_keys(), &[[0u8; 32], [1u8; 32]]);
        let more = opts.pin_public_key(&format!(" {PIN_A} ")).unwrap();
        assert_eq!(more.pinned_public_keys().len(), 3, "pins add up");
    }

    #[test]
    fn pin_public_key_rejects_garbage() {
        for bad in [
            "",
            "garbage",
            "sha1//AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "sha256//not base64!",
            "sha256//AAAA",
            &format!("{PIN_A};"),
            &format!("{PIN_A};sha256//"),
        ] {
            let err = TlsOptions::default().pin_public_key(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{bad:?}");
            assert!(err.to_string().contains("sha256//BASE64"), "{err}");
        }
    }

    #[test]
    fn certificate_from_pem_reads_every_block_and_rejects_garbage() {
        let a = rcgen::generate_simple_self_signed(vec!["a.test".to_owned()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["b.test".to_owned()]).unwrap();
        let bundle = format!("# comment\n{}\n{}", a.cert.pem(), b.cert.pem());
        let certs = Certificate::from_pem(bundle.as_bytes()).unwrap();
        assert_eq!(certs.len(), 2);
        assert_eq!(certs[0].as_der(), a.cert.der().as_ref());

        let err = Certificate::from_pem(b"no pem here").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        let broken = "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
        let err = Certificate::from_pem(broken.as_bytes()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert!(err.to_string().contains("invalid PEM"), "{err}");
    }

    #[test]
    fn identity_from_pem_rejects_a_key_of_another_certificate() {
        let a = rcgen::generate_simple_self_signed(vec!["a.test".to_owned()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["b.test".to_owned()]).unwrap();
        let cert = a.cert.pem();
        Identity::from_pem(cert.as_bytes(), a.key_pair.serialize_pem().as_bytes()).unwrap();
        let err =
            Identity::from_pem(cert.as_bytes(), b.key_pair.serialize_pem().as_bytes()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert!(err.to_string().contains("does not match"), "{err}");
        let err = Identity::from_pem(cert.as_bytes(), b"").unwrap_err();
        assert!(err.to_string().contains("no private key"), "{err}");
    }

    #[test]
    fn identity_debug_never_shows_the_key() {
        let a = rcgen::generate_simple_self_signed(vec!["a.test".to_owned()]).unwrap();
        let id = Identity::from_pem(
            a.cert.pem().as_bytes(),
            a.key_pair.serialize_pem().as_bytes(),
        )
        .unwrap();
        assert_eq!(format!("{id:?}"), "Identity { certificates: 1, .. }");
    }

    #[test]
    fn crl_from_pem_needs_a_crl_block() {
        let err = Crl::from_pem(b"").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert_eq!(Crl::from_der(vec![1, 2]).as_der(), &[1, 2]);
    }

    #[test]
    fn is_ignored_reports_each_certificate_flag() {
        let opts = TlsOptions::default().ignore_certificate_name(true);
        assert!(opts.is_ignored(IgnoreFlag::CertificateName));
        assert!(!opts.is_ignored(IgnoreFlag::ExpiredCertificate));
        assert!(!opts.is_ignored(IgnoreFlag::RedirectToHttp));
    }
}
