//! An httpbin-compatible HTTP/1.1 test server on loopback, plain and TLS, with endpoints that
//! misbehave on purpose. It exists for envoi's tests, examples and benchmarks; it is a dev
//! tool, never a dependency of `envoi` itself.
//!
//! One [`TestServer`] listens on several loopback ports, all chosen by the OS:
//! - plain HTTP on `127.0.0.1` (and `[::1]` when IPv6 loopback exists),
//! - one TLS listener per [`CertKind`] (valid, expired, wrong name, ...), all with
//!   certificates made at start by a fresh test CA ([`TestServer::ca_cert_pem`]),
//! - TLS on `[::1]` with the valid certificate, when IPv6 loopback exists,
//! - a TLS listener that requires a client certificate issued by that CA,
//! - a SOCKS5 proxy endpoint ([`TestServer::socks5`]) that logs whether each client sent a
//!   name or an address; more, requiring credentials or refusing with a chosen reply code,
//!   start with [`TestServer::start_socks5`].
//!
//! Every listener serves the same routes: httpbin's (`/get`, `/post`, `/status/{code}`,
//! `/redirect/{n}`, `/cookies`, `/basic-auth`, `/digest-auth`, `/gzip`, `/bytes/{n}`,
//! `/range/{n}`, `/drip`, ...), a few of its own (`/upload-sink`, `/gzip-bomb/{n}`,
//! `/charset/{label}`), and scripted raw replies under `/raw/` that break HTTP byte for byte
//! (`/raw/truncated-length`, `/raw/bad-chunk-size`, `/raw/reset-mid-body`, ...). An index
//! of the routes is served at `/`.
//!
//! The server runs on its own tokio runtime, so it works from a plain `#[test]`; dropping the
//! [`TestServer`] stops it. It only ever listens on loopback.
//!
//! For tests of a failure to connect, [`ClosedPort`] holds a loopback port where connects
//! are refused, without the race of a port bound, noted and released.
//!
//! ```
//! use std::io::{Read, Write};
//!
//! let server = envoi_testserver::TestServer::start();
//! let mut tcp = std::net::TcpStream::connect(server.http_addr()).unwrap();
//! tcp.write_all(b"GET /status/204 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
//! let mut reply = String::new();
//! tcp.read_to_string(&mut reply).unwrap();
//! assert!(reply.starts_with("HTTP/1.1 204"));
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod auth;
mod body;
mod certs;
mod closed_port;
mod conn;
mod cookies;
mod echo;
mod encoding;
mod httpbin;
mod multipart;
mod pages;
mod raw;
mod socks;
mod streams;
mod tls;

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use rustls::ServerConfig;
use tokio::runtime::Runtime;
use tokio::sync::watch;

pub use certs::CertKind;
pub use closed_port::ClosedPort;
pub use socks::{SocksEndpoint, SocksOptions, SocksRequest, SocksTarget};

use certs::Certs;
use httpbin::State;

/// How long dropping a [`TestServer`] waits for its tasks to end.
const SHUTDOWN_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Fixed ports for the standalone binary; `0` (the default) lets the OS choose.
///
/// ```
/// let config = envoi_testserver::Config { http_port: 0, tls_port: 0 };
/// let server = envoi_testserver::TestServer::start_with(config).unwrap();
/// assert_ne!(server.http_addr().port(), 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Config {
    /// Port of the plain HTTP listener on `127.0.0.1`.
    pub http_port: u16,
    /// Port of the TLS listener on `127.0.0.1` that presents the valid certificate.
    pub tls_port: u16,
}

/// A running test server; dropping it stops every listener and connection.
///
/// ```
/// use envoi_testserver::{CertKind, TestServer};
///
/// let server = TestServer::start();
/// assert!(server.url("/get").starts_with("http://127.0.0.1:"));
/// assert!(server.https_url("/get").starts_with("https://localhost:"));
/// assert_ne!(server.tls_addr(CertKind::Expired), server.https_addr());
/// assert!(server.ca_cert_pem().contains("BEGIN CERTIFICATE"));
/// ```
pub struct TestServer {
    http: SocketAddr,
    http_v6: Option<SocketAddr>,
    tls: Vec<SocketAddr>,
    https_v6: Option<SocketAddr>,
    client_auth: SocketAddr,
    socks: SocksEndpoint,
    certs: Certs,
    /// The runtime the listeners run on, for endpoints started later.
    handle: tokio::runtime::Handle,
    /// Ends the accept loops of endpoints started later, as it does the others'.
    stopped: watch::Receiver<bool>,
    /// Dropping the sender (with the server) ends every accept loop and connection task.
    _shutdown: watch::Sender<bool>,
    /// The runtime `start` made; `None` for `start_async`, whose caller owns the runtime.
    runtime: Option<Runtime>,
}

impl TestServer {
    /// Starts a server on OS-chosen loopback ports, on a runtime of its own (two worker
    /// threads), and returns once every listener accepts connections.
    ///
    /// # Panics
    /// If the runtime, a loopback listener or the certificates cannot be made: a test cannot
    /// go on without its server. [`TestServer::start_with`] returns the error instead.
    ///
    /// ```
    /// let server = envoi_testserver::TestServer::start();
    /// assert!(server.http_addr().ip().is_loopback());
    /// ```
    pub fn start() -> TestServer {
        match TestServer::start_with(Config::default()) {
            Ok(server) => server,
            Err(err) => panic!("envoi-testserver failed to start: {err}"),
        }
    }

    /// Like [`TestServer::start`], with fixed ports from `config`, returning any error.
    ///
    /// ```
    /// let server = envoi_testserver::TestServer::start_with(Default::default()).unwrap();
    /// assert!(server.https_addr().ip().is_loopback());
    /// ```
    pub fn start_with(config: Config) -> io::Result<TestServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("envoi-testserver")
            .enable_all()
            .build()?;
        let guard = runtime.enter();
        let server = TestServer::launch(config);
        drop(guard);
        let mut server = server?;
        server.runtime = Some(runtime);
        Ok(server)
    }

    /// Starts a server on the tokio runtime of the caller, which must keep running for the
    /// server to answer. A blocking client must not run on that runtime's only thread.
    ///
    /// # Panics
    /// As [`TestServer::start`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
    /// # async fn main() {
    /// let server = envoi_testserver::TestServer::start_async().await;
    /// assert!(server.url("/get").ends_with("/get"));
    /// # }
    /// ```
    pub async fn start_async() -> TestServer {
        match TestServer::launch(Config::default()) {
            Ok(server) => server,
            Err(err) => panic!("envoi-testserver failed to start: {err}"),
        }
    }

    /// Makes the certificates, binds every listener and spawns its accept loop on the
    /// current runtime.
    fn launch(config: Config) -> io::Result<TestServer> {
        let certs = Certs::generate().map_err(io::Error::other)?;
        let state = Arc::new(State::default());
        let (shutdown, stopped) = watch::channel(false);
        let listen = |addr: SocketAddr, tls: Option<Arc<ServerConfig>>| -> io::Result<SocketAddr> {
            let std_listener = std::net::TcpListener::bind(addr)?;
            std_listener.set_nonblocking(true)?;
            let listener = tokio::net::TcpListener::from_std(std_listener)?;
            let local = listener.local_addr()?;
            tokio::spawn(conn::accept_loop(
                listener,
                tls,
                state.clone(),
                stopped.clone(),
            ));
            Ok(local)
        };
        let v4 = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, 0));

        let http = listen(v4(config.http_port), None)?;
        let mut tls = Vec::with_capacity(CertKind::ALL.len());
        for kind in CertKind::ALL {
            let port = if kind == CertKind::Valid {
                config.tls_port
            } else {
                0
            };
            tls.push(listen(
                v4(port),
                Some(tls::server_config(&certs, kind).map_err(io::Error::other)?),
            )?);
        }
        let client_auth = listen(
            v4(0),
            Some(tls::client_auth_config(&certs).map_err(io::Error::other)?),
        )?;
        // IPv6 loopback may be missing (containers): then the v6 listeners are just absent.
        let http_v6 = listen(v6, None).ok();
        let https_v6 = match http_v6 {
            Some(_) => listen(
                v6,
                Some(tls::server_config(&certs, CertKind::Valid).map_err(io::Error::other)?),
            )
            .ok(),
            None => None,
        };
        let socks = SocksEndpoint::start(0, SocksOptions::default(), stopped.clone())?;
        Ok(TestServer {
            http,
            http_v6,
            tls,
            https_v6,
            client_auth,
            socks,
            certs,
            handle: tokio::runtime::Handle::current(),
            stopped,
            _shutdown: shutdown,
            runtime: None,
        })
    }

    /// The plain HTTP listener on `127.0.0.1`.
    ///
    /// ```
    /// let server = envoi_testserver::TestServer::start();
    /// assert_eq!(server.http_addr().ip().to_string(), "127.0.0.1");
    /// ```
    pub fn http_addr(&self) -> SocketAddr {
        self.http
    }

    /// The plain HTTP listener on `[::1]`, if IPv6 loopback is available.
    ///
    /// ```
    /// let server = envoi_testserver::TestServer::start();
    /// if let Some(addr) = server.http_addr_v6() {
    ///     assert!(addr.is_ipv6());
    /// }
    /// ```
    pub fn http_addr_v6(&self) -> Option<SocketAddr> {
        self.http_v6
    }

    /// The TLS listener on `127.0.0.1` presenting the valid certificate.
    ///
    /// ```
    /// # use envoi_testserver::{CertKind, TestServer};
    /// let server = TestServer::start();
    /// assert_eq!(server.https_addr(), server.tls_addr(CertKind::Valid));
    /// ```
    pub fn https_addr(&self) -> SocketAddr {
        self.tls_addr(CertKind::Valid)
    }

    /// The TLS listener on `[::1]` presenting the valid certificate, if IPv6 loopback is
    /// available.
    ///
    /// ```
    /// let server = envoi_testserver::TestServer::start();
    /// assert_eq!(server.https_addr_v6().is_some(), server.http_addr_v6().is_some());
    /// ```
    pub fn https_addr_v6(&self) -> Option<SocketAddr> {
        self.https_v6
    }

    /// The TLS listener on `127.0.0.1` presenting the certificate of `kind`.
    ///
    /// ```
    /// # use envoi_testserver::{CertKind, TestServer};
    /// let server = TestServer::start();
    /// assert!(server.tls_addr(CertKind::WrongName).ip().is_loopback());
    /// ```
    pub fn tls_addr(&self, kind: CertKind) -> SocketAddr {
        self.tls[kind.index()]
    }

    /// The TLS listener that requires a client certificate ([`TestServer::client_cert_pem`]).
    ///
    /// ```
    /// let server = envoi_testserver::TestServer::start();
    /// assert!(server.client_auth_addr().ip().is_loopback());
    /// ```
    pub fn client_auth_addr(&self) -> SocketAddr {
        self.client_auth
    }

    /// The address of the SOCKS5 endpoint started with the server (no authentication; it
    /// connects to loopback only: see [`SocksOptions`]).
    ///
    /// ```
    /// let server = envoi_testserver::TestServer::start();
    /// assert_eq!(server.socks5_addr().ip().to_string(), "127.0.0.1");
    /// ```
    pub fn socks5_addr(&self) -> SocketAddr {
        self.socks.addr()
    }

    /// The SOCKS5 endpoint started with the server, with its log of requests.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use envoi_testserver::{SocksTarget, TestServer};
    ///
    /// let server = TestServer::start();
    /// let mut tcp = std::net::TcpStream::connect(server.socks5_addr()).unwrap();
    /// tcp.write_all(&[5, 1, 0]).unwrap(); // greeting: no authentication
    /// let mut method = [0; 2];
    /// tcp.read_exact(&mut method).unwrap();
    /// assert_eq!(method, [5, 0]);
    /// let port = server.http_addr().port().to_be_bytes();
    /// tcp.write_all(&[5, 1, 0, 3, 9]).unwrap(); // CONNECT to a name...
    /// tcp.write_all(b"localhost").unwrap();
    /// tcp.write_all(&port).unwrap(); // ...and the HTTP listener's port
    /// let mut reply = [0; 10];
    /// tcp.read_exact(&mut reply).unwrap();
    /// assert_eq!(reply[..2], [5, 0]); // granted
    /// let requests = server.socks5().requests();
    /// assert_eq!(requests[0].target, SocksTarget::Name("localhost".into(), server.http_addr().port()));
    /// ```
    pub fn socks5(&self) -> &SocksEndpoint {
        &self.socks
    }

    /// Starts another SOCKS5 endpoint on `127.0.0.1`, behaving as `options` say; it stops
    /// with the server.
    ///
    /// ```
    /// use envoi_testserver::{SocksOptions, TestServer};
    ///
    /// let server = TestServer::start();
    /// let options = SocksOptions {
    ///     credentials: Some(("user".into(), "secret".into())),
    ///     ..Default::default()
    /// };
    /// let socks = server.start_socks5(options).unwrap();
    /// assert_ne!(socks.addr(), server.socks5_addr());
    /// ```
    pub fn start_socks5(&self, options: SocksOptions) -> io::Result<SocksEndpoint> {
        let _guard = self.handle.enter();
        SocksEndpoint::start(0, options, self.stopped.clone())
    }

    /// `http://127.0.0.1:PORT` + `path` (a missing leading `/` is added).
    ///
    /// ```
    /// let server = envoi_testserver::TestServer::start();
    /// let port = server.http_addr().port();
    /// assert_eq!(server.url("/get"), format!("http://127.0.0.1:{port}/get"));
    /// ```
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, slash(path))
    }

    /// `https://localhost:PORT` + `path`, on the valid-certificate listener. The name is
    /// `localhost` so that certificate names check; the client resolves it itself.
    ///
    /// ```
    /// let server = envoi_testserver::TestServer::start();
    /// let port = server.https_addr().port();
    /// assert_eq!(server.https_url("/get"), format!("https://localhost:{port}/get"));
    /// ```
    pub fn https_url(&self, path: &str) -> String {
        self.tls_url(CertKind::Valid, path)
    }

    /// `http://[::1]:PORT` + `path`, if IPv6 loopback is available.
    ///
    /// ```
    /// let server = envoi_testserver::TestServer::start();
    /// if let Some(url) = server.http_url_v6("/get") {
    ///     assert!(url.starts_with("http://[::1]:"));
    /// }
    /// ```
    pub fn http_url_v6(&self, path: &str) -> Option<String> {
        self.http_v6
            .map(|addr| format!("http://{addr}{}", slash(path)))
    }

    /// `https://[::1]:PORT` + `path` (the valid certificate names `::1`), if IPv6 loopback is
    /// available.
    ///
    /// ```
    /// let server = envoi_testserver::TestServer::start();
    /// if let Some(url) = server.https_url_v6("/get") {
    ///     assert!(url.starts_with("https://[::1]:"));
    /// }
    /// ```
    pub fn https_url_v6(&self, path: &str) -> Option<String> {
        self.https_v6
            .map(|addr| format!("https://{addr}{}", slash(path)))
    }

    /// `https://localhost:PORT` + `path` on the listener presenting the certificate of `kind`.
    ///
    /// ```
    /// # use envoi_testserver::{CertKind, TestServer};
    /// let server = TestServer::start();
    /// let port = server.tls_addr(CertKind::Revoked).port();
    /// assert_eq!(server.tls_url(CertKind::Revoked, "get"), format!("https://localhost:{port}/get"));
    /// ```
    pub fn tls_url(&self, kind: CertKind, path: &str) -> String {
        format!(
            "https://localhost:{}{}",
            self.tls_addr(kind).port(),
            slash(path)
        )
    }

    /// `https://localhost:PORT` + `path` on the listener that requires a client certificate.
    ///
    /// ```
    /// let server = envoi_testserver::TestServer::start();
    /// assert!(server.client_auth_url("/get").starts_with("https://localhost:"));
    /// ```
    pub fn client_auth_url(&self, path: &str) -> String {
        format!(
            "https://localhost:{}{}",
            self.client_auth.port(),
            slash(path)
        )
    }

    /// The test CA certificate, PEM: trust it to verify every listener but `UnknownIssuer`.
    ///
    /// ```
    /// let server = envoi_testserver::TestServer::start();
    /// assert!(server.ca_cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    /// ```
    pub fn ca_cert_pem(&self) -> &str {
        &self.certs.ca_pem
    }

    /// The test CA certificate, DER.
    ///
    /// ```
    /// let server = envoi_testserver::TestServer::start();
    /// assert_eq!(server.ca_cert_der()[0], 0x30); // an ASN.1 SEQUENCE
    /// ```
    pub fn ca_cert_der(&self) -> &[u8] {
        &self.certs.ca_der
    }

    /// A client certificate issued by the test CA, PEM, for the client-auth listener.
    ///
    /// ```
    /// let server = envoi_testserver::TestServer::start();
    /// assert!(server.client_cert_pem().contains("BEGIN CERTIFICATE"));
    /// ```
    pub fn client_cert_pem(&self) -> &str {
        &self.certs.client_cert_pem
    }

    /// The private key of [`TestServer::client_cert_pem`], PKCS#8 PEM.
    ///
    /// ```
    /// let server = envoi_testserver::TestServer::start();
    /// assert!(server.client_key_pem().contains("BEGIN PRIVATE KEY"));
    /// ```
    pub fn client_key_pem(&self) -> &str {
        &self.certs.client_key_pem
    }

    /// The CA's certificate revocation list, DER; it lists the [`CertKind::Revoked`]
    /// certificate, and nothing else.
    ///
    /// ```
    /// let server = envoi_testserver::TestServer::start();
    /// assert_eq!(server.crl_der()[0], 0x30);
    /// ```
    pub fn crl_der(&self) -> &[u8] {
        &self.certs.crl_der
    }

    /// The CA's certificate revocation list, PEM.
    ///
    /// ```
    /// let server = envoi_testserver::TestServer::start();
    /// assert!(server.crl_pem().contains("BEGIN X509 CRL"));
    /// ```
    pub fn crl_pem(&self) -> &str {
        &self.certs.crl_pem
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            // Blocking inside another runtime (a `#[tokio::test]` that used `start`) would
            // panic: let the workers drop the tasks on their own, a moment later.
            runtime.shutdown_background();
        } else {
            // Wait for the tasks to be dropped, so the ports are closed once `drop` returns.
            runtime.shutdown_timeout(SHUTDOWN_WAIT);
        }
    }
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("http", &self.http)
            .field("http_v6", &self.http_v6)
            .field("https", &self.https_addr())
            .field("https_v6", &self.https_v6)
            .field("client_auth", &self.client_auth)
            .field("socks5", &self.socks.addr())
            .finish_non_exhaustive()
    }
}

fn slash(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}
