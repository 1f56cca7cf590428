//! TLS with rustls (ring provider): the client configuration built from [`TlsOptions`], the
//! server name to verify and send, and the mapping of every rustls failure to an
//! [`ErrorKind`].
//!
//! How a front end uses it:
//! 1. once per client: a [`ClientTls`], whose [`config`](ClientTls::config) builds the
//!    configuration on the first TLS connection (it loads roots and parses CRLs; shared, so
//!    sessions resume across connections);
//! 2. per connection: [`server_name`], `ClientConnection::new`, and a fresh
//!    [`HandshakeFacts`] whose [`observe`](HandshakeFacts::observe) wraps every call that
//!    drives the handshake (`complete_io`, `process_new_packets`, in async code each poll);
//! 3. on failure, in the handshake and in the first read after it (TLS 1.3 servers refuse a
//!    client certificate only then): [`classify_io`] for an `io::Error` from a stream or
//!    `complete_io`, [`classify`] for a `rustls::Error`, both with the connection's facts.

mod classify;
mod der;
mod facts;
mod leaf;
pub(crate) mod revocation;
mod verifier;

#[cfg(test)]
mod testkit;

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use rustls::{ClientConfig, RootCertStore, SupportedProtocolVersion};
use rustls_pki_types::ServerName;

pub(crate) use classify::{classify, classify_io};
pub(crate) use facts::HandshakeFacts;

use crate::error::{Error, ErrorKind};
use crate::tls::{RootCertificates, TlsOptions, TlsVersion};
use facts::RecordingResolver;
use verifier::{Verifier, Waivers};

/// The only protocol envoi speaks over TLS.
const ALPN_HTTP11: &[u8] = b"http/1.1";

/// A client's rustls configuration, built when its first TLS connection needs it: a client
/// that speaks plain HTTP only never builds a root store or runs rustls code, which keeps its start
/// quick and its memory small. Options that can fail to build (added roots, CRLs, the
/// platform's roots) are built with the client instead, so their error comes from `build()`.
pub(crate) struct ClientTls {
    opts: TlsOptions,
    config: OnceLock<Arc<ClientConfig>>,
}

impl ClientTls {
    /// The configuration for `opts`, built now when building it can fail.
    pub(crate) fn new(opts: &TlsOptions) -> Result<ClientTls, Error> {
        let tls = ClientTls {
            opts: opts.clone(),
            config: OnceLock::new(),
        };
        let cannot_fail = opts.roots == RootCertificates::Webpki
            && opts.added_roots.is_empty()
            && opts.crls.is_empty();
        if !cannot_fail {
            tls.config()?;
        }
        Ok(tls)
    }

    /// The shared configuration, built on first use.
    pub(crate) fn config(&self) -> Result<Arc<ClientConfig>, Error> {
        if let Some(config) = self.config.get() {
            return Ok(Arc::clone(config));
        }
        // Two first connections at once may both build it; one is kept, both are equal.
        let built = client_config(&self.opts)?;
        Ok(Arc::clone(self.config.get_or_init(|| built)))
    }
}

/// The rustls configuration for `opts`. Building it loads the roots (the platform's are
/// loaded once per process and cached) and checks the CRLs; callers build it once per
/// client and share it.
pub(crate) fn client_config(opts: &TlsOptions) -> Result<Arc<ClientConfig>, Error> {
    let provider = Arc::new(aes_128_first(rustls::crypto::ring::default_provider()));
    let waive = Waivers {
        invalid_certificate: opts.ignore_invalid_certificate,
        name: opts.ignore_certificate_name,
        expiry: opts.ignore_expired_certificate,
        revocation: opts.ignore_revocation,
    };
    // Every `Crl` carries the same builder; the first one's is used.
    let crls = opts.crls.first().map(|first| {
        let ders = opts.crls.iter().map(|crl| crl.der.clone()).collect();
        (ders, first.revocation)
    });
    let verifier = Verifier::new(root_store(opts)?, crls, opts.pins.clone(), waive, &provider)?;
    let resolver = RecordingResolver {
        identity: opts.identity.as_ref().map(|id| Arc::clone(&id.key)),
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions(opts.min_version))
        .map_err(|e| {
            Error::new(ErrorKind::TlsHandshake, "unsupported TLS versions").with_source(e)
        })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    if let Some(key_log) = opts.key_log {
        config.key_log = (key_log.0)();
    }
    Ok(Arc::new(config))
}

/// The provider with the AES-128-GCM suites offered first within each TLS version, as
/// browsers offer them, instead of rustls' AES-256-GCM first. Both are strong; AES-128 takes
/// 10 rounds against 14, so a server that follows the client's order (nginx by default)
/// spends less CPU per byte it sends, and so does the client decrypting it.
fn aes_128_first(mut provider: rustls::crypto::CryptoProvider) -> rustls::crypto::CryptoProvider {
    use rustls::CipherSuite;
    let rank = |suite: &rustls::SupportedCipherSuite| {
        let aes_128 = matches!(
            suite.suite(),
            CipherSuite::TLS13_AES_128_GCM_SHA256
                | CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                | CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        );
        2 * u8::from(suite.tls13().is_none()) + u8::from(!aes_128)
    };
    // A stable sort by rank, written out: `sort_by_key` links about 6 KB of sorting code
    // into every program, for a list of nine.
    let suites = std::mem::take(&mut provider.cipher_suites);
    for wanted in 0..4 {
        let ranked = suites.iter().filter(|suite| rank(suite) == wanted);
        provider.cipher_suites.extend(ranked.copied());
    }
    provider
}

/// The name the certificate is verified against and sent as SNI: the override if set, else
/// `host`. IP literals, bracketed or not (`[::1]`), become IP addresses, which send no SNI.
pub(crate) fn server_name(host: &str, opts: &TlsOptions) -> Result<ServerName<'static>, Error> {
    let (name, kind) = match &opts.server_name_override {
        Some(name) => (name.as_str(), ErrorKind::InvalidRequest),
        None => (host, ErrorKind::InvalidUrl),
    };
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(ServerName::from(ip));
    }
    ServerName::try_from(bare.to_owned()).map_err(|e| {
        Error::new(kind, format!("`{name}` is not a valid TLS server name")).with_source(e)
    })
}

fn versions(min: TlsVersion) -> &'static [&'static SupportedProtocolVersion] {
    static FROM_TLS12: [&SupportedProtocolVersion; 2] =
        [&rustls::version::TLS13, &rustls::version::TLS12];
    static FROM_TLS13: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
    match min {
        TlsVersion::Tls12 => &FROM_TLS12,
        TlsVersion::Tls13 => &FROM_TLS13,
    }
}

/// The trust anchors: the chosen built-in set plus the added roots. No root at all is an
/// error unless unknown issuers are accepted anyway.
fn root_store(opts: &TlsOptions) -> Result<RootCertStore, Error> {
    let mut store = RootCertStore::empty();
    match opts.roots {
        RootCertificates::Webpki => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        #[cfg(feature = "native-roots")]
        RootCertificates::Native => store.roots.extend(native_roots()?.roots.iter().cloned()),
        // The compiled-in roots remain if the platform's fail to load.
        #[cfg(feature = "native-roots")]
        RootCertificates::WebpkiAndNative => {
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            if let Ok(native) = native_roots() {
                store.roots.extend(native.roots.iter().cloned());
            }
        }
        RootCertificates::OnlyAdded => {}
    }
    for (i, cert) in opts.added_roots.iter().enumerate() {
        store.add(cert.der.clone()).map_err(|e| {
            let message = format!("added root certificate #{} cannot be used", i + 1);
            Error::new(ErrorKind::InvalidRequest, message).with_source(e)
        })?;
    }
    if store.is_empty() && !opts.ignore_invalid_certificate {
        return Err(Error::new(
            ErrorKind::InvalidRequest,
            "no root certificate to trust: RootCertificates::OnlyAdded and none added",
        ));
    }
    Ok(store)
}

/// The platform's trust anchors, loaded once per process. A failure is not cached, so a later
/// client tries again.
#[cfg(feature = "native-roots")]
fn native_roots() -> Result<Arc<RootCertStore>, Error> {
    static NATIVE: std::sync::OnceLock<Arc<RootCertStore>> = std::sync::OnceLock::new();
    if let Some(roots) = NATIVE.get() {
        return Ok(Arc::clone(roots));
    }
    let mut loaded = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    let (added, ignored) = store.add_parsable_certificates(loaded.certs);
    if added == 0 {
        let message = format!(
            "no usable root certificate in the platform's trust store \
             ({ignored} unusable, {} load errors)",
            loaded.errors.len()
        );
        let err = Error::new(ErrorKind::TlsHandshake, message);
        return Err(match loaded.errors.pop() {
            Some(cause) => err.with_source(cause),
            None => err,
        });
    }
    Ok(Arc::clone(NATIVE.get_or_init(|| Arc::new(store))))
}

#[cfg(test)]
mod tests {
    use super::testkit::{exchange, trusting, Ca, Leaf, Server};
    use super::*;
    use crate::tls::Certificate;

    #[test]
    fn aes_128_gcm_is_offered_first_and_no_suite_is_lost() {
        use rustls::CipherSuite;
        let default = rustls::crypto::ring::default_provider();
        let ordered = aes_128_first(rustls::crypto::ring::default_provider());
        let names = |p: &rustls::crypto::CryptoProvider| -> Vec<CipherSuite> {
            p.cipher_suites.iter().map(|s| s.suite()).collect()
        };
        let (before, after) = (names(&default), names(&ordered));
        assert_eq!(after[0], CipherSuite::TLS13_AES_128_GCM_SHA256);
        // TLS 1.3 suites still come before TLS 1.2 ones, and the set is the same.
        let tls13 = ordered
            .cipher_suites
            .iter()
            .take_while(|s| s.tls13().is_some());
        assert_eq!(
            tls13.count(),
            default
                .cipher_suites
                .iter()
                .filter(|s| s.tls13().is_some())
                .count()
        );
        let (mut before, mut after) = (before, after);
        before.sort_by_key(|s| u16::from(*s));
        after.sort_by_key(|s| u16::from(*s));
        assert_eq!(before, after);
    }

    #[test]
    fn server_name_accepts_ipv4_bracketed_ipv6_and_dns_names() {
        let opts = TlsOptions::default();
        let v4 = server_name("127.0.0.1", &opts).unwrap();
        assert!(matches!(v4, ServerName::IpAddress(_)));
        assert_eq!(v4.to_str(), "127.0.0.1");
        let v6 = server_name("[::1]", &opts).unwrap();
        assert!(matches!(v6, ServerName::IpAddress(_)));
        assert_eq!(v6.to_str(), "::1");
        assert!(matches!(
            server_name("::1", &opts).unwrap(),
            ServerName::IpAddress(_)
        ));
        let dns = server_name("example.com", &opts).unwrap();
        assert!(matches!(dns, ServerName::DnsName(_)));
        assert_eq!(dns.to_str(), "example.com");
    }

    #[test]
    fn server_name_override_wins_over_the_host() {
        let opts = TlsOptions::default().server_name_override(Some("api.test".to_owned()));
        assert_eq!(
            server_name("127.0.0.1", &opts).unwrap().to_str(),
            "api.test"
        );
        let opts = TlsOptions::default().server_name_override(Some("[::1]".to_owned()));
        assert!(matches!(
            server_name("example.com", &opts).unwrap(),
            ServerName::IpAddress(_)
        ));
    }

    #[test]
    fn server_name_rejects_what_is_no_name() {
        let err = server_name("bad name!", &TlsOptions::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidUrl);
        assert!(err.to_string().contains("bad name!"), "{err}");
        let opts = TlsOptions::default().server_name_override(Some(String::new()));
        let err = server_name("example.com", &opts).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    }

    #[test]
    fn client_config_offers_http11() {
        let config = client_config(&TlsOptions::default()).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn min_version_tls13_refuses_a_tls12_only_server() {
        let ca = Ca::new("test CA");
        let tls12_server = || {
            let mut server = Server::new(ca.issue(Leaf::new()));
            server.version = Some(TlsVersion::Tls12);
            server.start()
        };
        exchange(tls12_server(), &trusting(&ca), "localhost").unwrap();
        let tls13 = trusting(&ca).min_version(TlsVersion::Tls13);
        let err = exchange(tls12_server(), &tls13, "localhost").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TlsHandshake);
    }

    #[test]
    fn client_config_needs_a_root_unless_unknown_issuers_are_accepted() {
        let only = TlsOptions::default().root_certificates(RootCertificates::OnlyAdded);
        let err = client_config(&only).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert!(err.to_string().contains("no root certificate"), "{err}");
        client_config(&only.ignore_invalid_certificate(true)).unwrap();
    }

    #[test]
    fn client_config_rejects_a_root_or_crl_that_does_not_parse() {
        let opts = TlsOptions::default().add_root_certificate(Certificate::from_der(vec![1, 2]));
        let err = client_config(&opts).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert!(err.to_string().contains("root certificate #1"), "{err}");
        let opts = TlsOptions::default().add_crl(crate::tls::Crl::from_der(vec![1, 2]));
        let err = client_config(&opts).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert!(err.to_string().contains("revocation list #1"), "{err}");
        // A CRL that is not used is not read either.
        let waived = TlsOptions::default()
            .add_crl(crate::tls::Crl::from_der(vec![1, 2]))
            .ignore_revocation(true);
        client_config(&waived).unwrap();
    }

    #[test]
    fn client_tls_builds_the_default_configuration_on_first_use_and_keeps_it() {
        let tls = ClientTls::new(&TlsOptions::default()).unwrap();
        assert!(
            tls.config.get().is_none(),
            "nothing is built for a plain client"
        );
        let first = tls.config().unwrap();
        assert!(Arc::ptr_eq(&first, &tls.config().unwrap()));
    }

    #[test]
    fn client_tls_reports_options_that_cannot_be_built_at_once() {
        let bad_root = TlsOptions::default().add_root_certificate(Certificate::from_der(vec![1]));
        let only = TlsOptions::default().root_certificates(RootCertificates::OnlyAdded);
        for opts in [bad_root, only] {
            let err = ClientTls::new(&opts)
                .err()
                .expect("the options cannot be built");
            assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        }
    }
}
