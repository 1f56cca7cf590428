//! rustls server configurations for the TLS listeners.
//!
//! Every config installs the ring provider explicitly: a process-wide default provider can
//! panic when several are linked in (rustls#2070), and this crate is linked into other
//! people's test binaries.

use std::sync::Arc;

use rustls::crypto::ring::default_provider;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use crate::certs::{CertKind, Certs};

/// A config presenting the certificate of `kind`, with no client authentication.
pub(crate) fn server_config(
    certs: &Certs,
    kind: CertKind,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let identity = certs.server(kind);
    let mut config = ServerConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(identity.chain.clone(), identity.key_der())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A config presenting the valid certificate and requiring a client certificate issued by
/// the test CA.
pub(crate) fn client_auth_config(certs: &Certs) -> Result<Arc<ServerConfig>, rustls::Error> {
    let provider = Arc::new(default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(certs.ca_der.clone())?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))?;
    let identity = certs.server(CertKind::Valid);
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain.clone(), identity.key_der())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
