//! What a handshake revealed about client authentication, recorded for error classification.
//!
//! A server that wants a client certificate and does not get one (or refuses ours) aborts
//! with an alert that, in TLS 1.2, is often a bare `handshake_failure`. Whether it had asked
//! for a certificate tells that case apart from, say, no cipher suite in common. rustls does
//! not expose the request, but it asks the configuration's [`ResolvesClientCert`] for a
//! certificate exactly when one is requested, so the resolver installed by
//! [`client_config`](super::client_config) records it.
//!
//! The resolver belongs to the shared `ClientConfig`, and rustls only resumes sessions made
//! with the very same resolver, so it cannot be made per connection. It therefore records
//! into the [`HandshakeFacts`] of whichever connection is being driven on this thread, as set
//! by [`HandshakeFacts::observe`]; rustls calls resolvers synchronously from
//! `process_new_packets` (and so from `complete_io`, `read` and `write` on a stream).

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use rustls::SignatureScheme;

/// What one connection's handshake showed about client authentication. Cheap to clone; the
/// clones share their state, so a clone kept beside a stream sees what the handshake recorded.
#[derive(Clone, Debug, Default)]
pub(crate) struct HandshakeFacts {
    inner: Arc<Facts>,
}

#[derive(Debug, Default)]
struct Facts {
    /// The server sent a CertificateRequest.
    requested: AtomicBool,
    /// We answered it with a certificate (we had one, and a signature scheme it accepts).
    sent: AtomicBool,
}

thread_local! {
    /// The facts of the connection whose TLS messages this thread is processing, if any.
    static CURRENT: RefCell<Option<Arc<Facts>>> = const { RefCell::new(None) };
}

impl HandshakeFacts {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Runs `f`, recording into these facts what the client-certificate resolver sees while
    /// `f` runs. Wrap every call that may process handshake messages: `complete_io`,
    /// `process_new_packets`, reads and writes on a stream still handshaking (in async code,
    /// each `poll` of the connect future). Calls nest; the innermost facts win.
    pub(crate) fn observe<T>(&self, f: impl FnOnce() -> T) -> T {
        /// Restores the previous facts even if `f` panics.
        struct Restore(Option<Arc<Facts>>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let previous = self.0.take();
                CURRENT.with(|c| *c.borrow_mut() = previous);
            }
        }
        let previous = CURRENT.with(|c| c.replace(Some(Arc::clone(&self.inner))));
        let _restore = Restore(previous);
        f()
    }

    /// Whether the server asked for a client certificate.
    pub(crate) fn certificate_requested(&self) -> bool {
        self.inner.requested.load(Ordering::Relaxed)
    }

    /// Whether we answered the request with a certificate.
    pub(crate) fn certificate_sent(&self) -> bool {
        self.inner.sent.load(Ordering::Relaxed)
    }

    #[cfg(test)]
    pub(crate) fn with(requested: bool, sent: bool) -> Self {
        let facts = Self::new();
        facts.inner.requested.store(requested, Ordering::Relaxed);
        facts.inner.sent.store(sent, Ordering::Relaxed);
        facts
    }
}

/// The client-certificate resolver of every envoi `ClientConfig`: presents the configured
/// identity, if any, and records each request in the current [`HandshakeFacts`].
#[derive(Debug)]
pub(super) struct RecordingResolver {
    pub(super) identity: Option<Arc<CertifiedKey>>,
}

impl ResolvesClientCert for RecordingResolver {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        // rustls sends the certificate only if the key can sign with a scheme the server
        // offered; ask the same question so "sent" means sent.
        let usable = self
            .identity
            .as_ref()
            .filter(|key| key.key.choose_scheme(sigschemes).is_some());
        CURRENT.with(|c| {
            if let Some(facts) = &*c.borrow() {
                facts.requested.store(true, Ordering::Relaxed);
                facts.sent.store(usable.is_some(), Ordering::Relaxed);
            }
        });
        self.identity.clone()
    }

    fn has_certs(&self) -> bool {
        self.identity.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{exchange, exchange_recording, trusting, Ca, Leaf, Server};
    use super::*;
    use crate::error::ErrorKind;
    use crate::tls::{Identity, TlsVersion};

    /// A server on `version` that asks `client_ca` for a client certificate.
    fn asking_server(ca: &Ca, client_ca: &Ca, version: TlsVersion, optional: bool) -> Server {
        let mut server = Server::new(ca.issue(Leaf::new()));
        server.client_ca = Some(client_ca.root().der.clone());
        server.client_auth_optional = optional;
        server.version = Some(version);
        server
    }

    fn client_identity(ca: &Ca) -> Identity {
        ca.issue(Leaf::new().names(&["client.test"])).identity()
    }

    #[test]
    fn server_requiring_a_client_certificate_fails_without_one() {
        let ca = Ca::new("test CA");
        // TLS 1.3 refuses after the handshake, on the first read; TLS 1.2 within it.
        for version in [TlsVersion::Tls13, TlsVersion::Tls12] {
            let addr = asking_server(&ca, &ca, version, false).start();
            let err = exchange(addr, &trusting(&ca), "localhost").unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::ClientCertificateRequired,
                "{version:?}: {err:#}"
            );
        }
    }

    #[test]
    fn server_requiring_a_client_certificate_accepts_the_identity() {
        let ca = Ca::new("test CA");
        for version in [TlsVersion::Tls13, TlsVersion::Tls12] {
            let addr = asking_server(&ca, &ca, version, false).start();
            let opts = trusting(&ca).identity(client_identity(&ca));
            let facts = HandshakeFacts::new();
            exchange_recording(addr, &opts, "localhost", &facts).unwrap();
            assert!(facts.certificate_requested() && facts.certificate_sent());
        }
    }

    #[test]
    fn server_refusing_our_client_certificate_fails_as_client_certificate_required() {
        let ca = Ca::new("test CA");
        let rogue = Ca::new("rogue CA");
        for version in [TlsVersion::Tls13, TlsVersion::Tls12] {
            let addr = asking_server(&ca, &ca, version, false).start();
            let opts = trusting(&ca).identity(client_identity(&rogue));
            let err = exchange(addr, &opts, "localhost").unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::ClientCertificateRequired,
                "{version:?}"
            );
            assert!(err.to_string().contains("refused"), "{err}");
        }
    }

    #[test]
    fn handshake_records_an_optional_request_left_unanswered() {
        let ca = Ca::new("test CA");
        for version in [TlsVersion::Tls13, TlsVersion::Tls12] {
            let addr = asking_server(&ca, &ca, version, true).start();
            let facts = HandshakeFacts::new();
            exchange_recording(addr, &trusting(&ca), "localhost", &facts).unwrap();
            assert!(facts.certificate_requested(), "{version:?}");
            assert!(!facts.certificate_sent(), "{version:?}");
        }
        let addr = Server::new(ca.issue(Leaf::new())).start();
        let facts = HandshakeFacts::new();
        exchange_recording(addr, &trusting(&ca), "localhost", &facts).unwrap();
        assert!(!facts.certificate_requested());
    }

    #[test]
    fn resolver_records_only_inside_observe() {
        let resolver = RecordingResolver { identity: None };
        let outside = HandshakeFacts::new();
        assert!(resolver.resolve(&[], &[]).is_none());
        assert!(!outside.certificate_requested());

        let facts = HandshakeFacts::new();
        facts.observe(|| resolver.resolve(&[], &[SignatureScheme::ED25519]));
        assert!(facts.certificate_requested());
        assert!(!facts.certificate_sent());
        assert!(!outside.certificate_requested());
    }

    #[test]
    fn observe_restores_the_outer_facts_when_nested() {
        let resolver = RecordingResolver { identity: None };
        let outer = HandshakeFacts::new();
        let inner = HandshakeFacts::new();
        outer.observe(|| {
            inner.observe(|| ());
            resolver.resolve(&[], &[]);
        });
        assert!(outer.certificate_requested());
        assert!(!inner.certificate_requested());
    }
}
