//! Checking server certificates against the certificate revocation lists (CRLs) the user adds.
//!
//! Only a [`Crl`](crate::tls::Crl) leads here: its constructors store [`build`] in it, and
//! the verifier reaches the CRL code through that pointer alone. So a program that never
//! makes a `Crl` links none of it, nor webpki's CRL parsing that rustls' verifier builder
//! pulls in (about 30 KB of machine code).

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, RootCertStore};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, ServerName, UnixTime};

use super::der::{CertificateFields, CrlFields};
use crate::error::{Error, ErrorKind};

/// How a [`Crl`](crate::tls::Crl) makes its checker: the CRLs (all of a client's), the roots
/// when there are any, and the crypto provider.
pub(crate) type BuildRevocation = fn(
    Vec<CertificateRevocationListDer<'static>>,
    Option<&Arc<RootCertStore>>,
    &Arc<CryptoProvider>,
) -> Result<Box<dyn RevocationCheck>, Error>;

/// The checks that need the CRLs.
pub(crate) trait RevocationCheck: fmt::Debug + Send + Sync {
    /// The chain check of rustls' webpki verifier, with the CRLs: chain, dates, revocation,
    /// then the name. Only called when there are roots.
    fn verify_chain(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), rustls::Error>;

    /// Whether a CRL from the leaf's issuer (by name) lists the leaf's serial number.
    ///
    /// Used only when the issuer is unknown, so the CRL's signature cannot be checked against
    /// it; the CRLs are the user's own, trusted as given, and a listing can only refuse, never
    /// admit.
    fn lists_leaf(&self, end_entity: &CertificateDer<'_>) -> Result<bool, CertificateError>;
}

/// Parses the CRLs, so a bad one fails when the client is built, and builds the checker.
pub(crate) fn build(
    crls: Vec<CertificateRevocationListDer<'static>>,
    roots: Option<&Arc<RootCertStore>>,
    provider: &Arc<CryptoProvider>,
) -> Result<Box<dyn RevocationCheck>, Error> {
    if let Some(n) = crls.iter().position(|crl| !crl_parses(crl)) {
        return Err(bad_crl(n, None));
    }
    let chain = match roots {
        Some(roots) => Some(
            WebPkiServerVerifier::builder_with_provider(Arc::clone(roots), Arc::clone(provider))
                .with_crls(crls.iter().cloned())
                // Only a certificate a CRL lists fails; one no CRL covers passes.
                .allow_unknown_revocation_status()
                .build()
                .map_err(|e| bad_crl(0, Some(e)))?,
        ),
        None => None,
    };
    Ok(Box::new(CrlCheck { chain, crls }))
}

#[derive(Debug)]
struct CrlCheck {
    chain: Option<Arc<WebPkiServerVerifier>>,
    crls: Vec<CertificateRevocationListDer<'static>>,
}

impl RevocationCheck for CrlCheck {
    fn verify_chain(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        match &self.chain {
            Some(chain) => chain
                .verify_server_cert(end_entity, intermediates, server_name, &[], now)
                .map(drop),
            None => Err(CertificateError::UnknownIssuer.into()),
        }
    }

    fn lists_leaf(&self, end_entity: &CertificateDer<'_>) -> Result<bool, CertificateError> {
        is_listed(end_entity, &self.crls)
    }
}

/// [`RevocationCheck::lists_leaf`] for `crls`.
pub(super) fn is_listed(
    end_entity: &CertificateDer<'_>,
    crls: &[CertificateRevocationListDer<'static>],
) -> Result<bool, CertificateError> {
    let cert = CertificateFields::parse(end_entity).ok_or(CertificateError::BadEncoding)?;
    Ok(crls.iter().any(|crl| {
        CrlFields::parse(crl).is_some_and(|crl| crl.issuer == cert.issuer && crl.lists(cert.serial))
    }))
}

/// Whether `crl` reads, every entry included, so that `lists_leaf` never skips one silently.
pub(super) fn crl_parses(crl: &CertificateRevocationListDer<'_>) -> bool {
    CrlFields::parse(crl).is_some()
}

fn bad_crl(index: usize, source: Option<rustls::client::VerifierBuilderError>) -> Error {
    let message = match &source {
        Some(_) => "a certificate revocation list cannot be used".to_owned(),
        None => format!(
            "certificate revocation list #{} cannot be parsed",
            index + 1
        ),
    };
    let err = Error::new(ErrorKind::InvalidRequest, message);
    match source {
        Some(source) => err.with_source(source),
        None => err,
    }
}
