//! Test fixtures: certificates made with rcgen, a one-shot rustls server on 127.0.0.1, and a
//! client that handshakes with [`client_config`] and exchanges one byte.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType, IsCa,
    KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason, RevokedCertParams, SerialNumber,
};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConnection, RootCertStore, ServerConfig, ServerConnection, StreamOwned};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::{classify, classify_io, client_config, server_name, HandshakeFacts};
use crate::error::Error;
use crate::tls::{Certificate, Crl, Identity, RootCertificates, TlsOptions, TlsVersion};

/// Every socket operation in a test gives up after this long.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// A certificate authority.
pub(super) struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

/// A certificate with its key.
pub(super) struct Issued {
    pub(super) cert: rcgen::Certificate,
    key: KeyPair,
}

/// What to put in a leaf certificate. Valid 2000–2099 for `localhost` and 127.0.0.1 unless
/// changed.
pub(super) struct Leaf {
    names: Vec<String>,
    not_before: (i32, u8, u8),
    not_after: (i32, u8, u8),
    serial: u64,
}

impl Ca {
    pub(super) fn new(name: &str) -> Ca {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("CA certificate");
        Ca { cert, key }
    }

    pub(super) fn root(&self) -> Certificate {
        Certificate::from_der(self.cert.der().to_vec())
    }

    pub(super) fn issue(&self, leaf: Leaf) -> Issued {
        let key = KeyPair::generate().expect("key");
        let cert = leaf
            .params()
            .signed_by(&key, &self.cert, &self.key)
            .expect("leaf certificate");
        Issued { cert, key }
    }

    /// A CRL listing the given serial numbers.
    pub(super) fn crl(&self, revoked: &[u64]) -> Crl {
        let params = CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2000, 1, 1),
            next_update: rcgen::date_time_ymd(2099, 1, 1),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|&serial| RevokedCertParams {
                    serial_number: SerialNumber::from(serial),
                    revocation_time: rcgen::date_time_ymd(2001, 1, 1),
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&self.cert, &self.key).expect("CRL");
        Crl::from_der(crl.der().to_vec())
    }
}

impl Leaf {
    pub(super) fn new() -> Leaf {
        Leaf {
            names: vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
            not_before: (2000, 1, 1),
            not_after: (2099, 1, 1),
            serial: 1,
        }
    }

    pub(super) fn names(mut self, names: &[&str]) -> Leaf {
        self.names = names.iter().map(|n| (*n).to_owned()).collect();
        self
    }

    pub(super) fn expired(mut self) -> Leaf {
        (self.not_before, self.not_after) = ((2001, 1, 1), (2002, 1, 1));
        self
    }

    pub(super) fn not_yet_valid(mut self) -> Leaf {
        (self.not_before, self.not_after) = ((2090, 1, 1), (2099, 1, 1));
        self
    }

    pub(super) fn serial(mut self, serial: u64) -> Leaf {
        self.serial = serial;
        self
    }

    /// The leaf signed by its own key.
    pub(super) fn self_signed(self) -> Issued {
        let key = KeyPair::generate().expect("key");
        let cert = self.params().self_signed(&key).expect("certificate");
        Issued { cert, key }
    }

    fn params(&self) -> CertificateParams {
        let mut params = CertificateParams::new(self.names.clone()).expect("names");
        let cn = self.names.first().map_or("no name", String::as_str);
        params.distinguished_name.push(DnType::CommonName, cn);
        let (y, m, d) = self.not_before;
        params.not_before = rcgen::date_time_ymd(y, m, d);
        let (y, m, d) = self.not_after;
        params.not_after = rcgen::date_time_ymd(y, m, d);
        params.serial_number = Some(SerialNumber::from(self.serial));
        params
    }
}

impl Issued {
    pub(super) fn der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }

    /// The SubjectPublicKeyInfo of the certificate's key, as rcgen encodes it.
    pub(super) fn spki_der(&self) -> Vec<u8> {
        self.key.public_key_der()
    }

    fn key(&self) -> PrivateKeyDer<'static> {
        PrivatePkcs8KeyDer::from(self.key.serialize_der()).into()
    }

    pub(super) fn identity(&self) -> Identity {
        Identity::from_pem(
            self.cert.pem().as_bytes(),
            self.key.serialize_pem().as_bytes(),
        )
        .expect("identity")
    }
}

/// Options trusting only `ca`.
pub(super) fn trusting(ca: &Ca) -> TlsOptions {
    TlsOptions::default()
        .root_certificates(RootCertificates::OnlyAdded)
        .add_root_certificate(ca.root())
}

/// The server side of one test connection.
pub(super) struct Server {
    pub(super) cert: Issued,
    /// Ask for a client certificate issued by this CA ...
    pub(super) client_ca: Option<CertificateDer<'static>>,
    /// ... and go on without one (by default one is required).
    pub(super) client_auth_optional: bool,
    /// Speak only this version.
    pub(super) version: Option<TlsVersion>,
}

impl Server {
    pub(super) fn new(cert: Issued) -> Server {
        Server {
            cert,
            client_ca: None,
            client_auth_optional: false,
            version: None,
        }
    }

    /// Serves one connection on 127.0.0.1: reads a byte, echoes it, closes.
    pub(super) fn start(self) -> SocketAddr {
        let config = Arc::new(self.config());
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        thread::spawn(move || {
            if let Some(tcp) = accept(&listener) {
                serve(config, tcp);
            }
        });
        addr
    }

    fn config(&self) -> ServerConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: &[&rustls::SupportedProtocolVersion] = match self.version {
            None => rustls::ALL_VERSIONS,
            Some(TlsVersion::Tls12) => &[&rustls::version::TLS12],
            Some(TlsVersion::Tls13) => &[&rustls::version::TLS13],
        };
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(versions)
            .expect("versions");
        let builder = match &self.client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                roots.add(ca.clone()).expect("client CA");
                let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider);
                let verifier = match self.client_auth_optional {
                    true => verifier.allow_unauthenticated(),
                    false => verifier,
                };
                let verifier = verifier.build().expect("client verifier");
                builder.with_client_cert_verifier(verifier)
            }
        };
        builder
            .with_single_cert(vec![self.cert.der()], self.cert.key())
            .expect("server certificate")
    }
}

/// Handshakes with the server at `addr` as a client of `opts` would for `host`, then sends a
/// byte and reads it back, classifying any failure as the front ends do.
pub(super) fn exchange(addr: SocketAddr, opts: &TlsOptions, host: &str) -> Result<(), Error> {
    exchange_recording(addr, opts, host, &HandshakeFacts::new())
}

/// [`exchange`], recording into `facts`.
pub(super) fn exchange_recording(
    addr: SocketAddr,
    opts: &TlsOptions,
    host: &str,
    facts: &HandshakeFacts,
) -> Result<(), Error> {
    let config = client_config(opts)?;
    let name = server_name(host, opts)?;
    let conn = ClientConnection::new(config, name).map_err(|e| classify(&e, facts))?;
    let tcp = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect to the test server");
    set_timeouts(&tcp);
    let mut tls = StreamOwned::new(conn, tcp);
    facts
        .observe(|| -> io::Result<()> {
            while tls.conn.is_handshaking() {
                tls.conn.complete_io(&mut tls.sock)?;
            }
            tls.write_all(b"x")?;
            tls.flush()?;
            let mut byte = [0u8; 1];
            tls.read_exact(&mut byte)?;
            assert_eq!(&byte, b"x");
            Ok(())
        })
        .map_err(|e| classify_io(e, facts))
}

fn accept(listener: &TcpListener) -> Option<TcpStream> {
    // Bounded, so a test whose client never connects does not leave a thread behind forever.
    listener.set_nonblocking(true).ok()?;
    let deadline = Instant::now() + IO_TIMEOUT * 2;
    while Instant::now() < deadline {
        match listener.accept() {
            Ok((tcp, _)) => {
                tcp.set_nonblocking(false).ok()?;
                return Some(tcp);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(_) => return None,
        }
    }
    None
}

fn serve(config: Arc<ServerConfig>, tcp: TcpStream) {
    set_timeouts(&tcp);
    let Ok(conn) = ServerConnection::new(config) else {
        return;
    };
    let mut tls = StreamOwned::new(conn, tcp);
    let mut byte = [0u8; 1];
    let echoed = tls
        .read_exact(&mut byte)
        .and_then(|()| tls.write_all(&byte))
        .and_then(|()| tls.flush());
    if echoed.is_ok() {
        tls.conn.send_close_notify();
        let _ = tls.flush();
    }
    // On failure rustls has already written its alert. Half-close and drain what the client
    // still sends, so the client reads the alert rather than a reset.
    let _ = tls.sock.shutdown(Shutdown::Write);
    let _ = io::copy(&mut tls.sock, &mut io::sink());
}

fn set_timeouts(tcp: &TcpStream) {
    let _ = tcp.set_read_timeout(Some(IO_TIMEOUT));
    let _ = tcp.set_write_timeout(Some(IO_TIMEOUT));
}
