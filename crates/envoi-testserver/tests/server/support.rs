//! A minimal HTTP/1.1 client over `std::net::TcpStream` (and rustls for TLS), written by hand
//! so the tests see exactly what the server sends. Every socket has read and write timeouts,
//! so no test can hang.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use envoi_testserver::TestServer;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::ring::default_provider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// Every test socket gives up after this long without progress.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
}

impl Reply {
    /// The first value of header `name`, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// A client connection that can carry several requests (keep-alive).
pub struct Client<S: Read + Write> {
    io: BufReader<S>,
    host: String,
}

impl<S: Read + Write> Client<S> {
    /// Sends a request with `Host`, the given headers and `body` (with `Content-Length` when
    /// non-empty), and reads the reply.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Reply> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        self.write_all(head.as_bytes())?;
        self.write_all(body)?;
        self.read_reply(method == "HEAD")
    }

    /// `GET path`.
    pub fn get(&mut self, path: &str) -> io::Result<Reply> {
        self.send("GET", path, &[], b"")
    }

    /// Writes raw bytes.
    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let io = self.io.get_mut();
        io.write_all(bytes)?;
        io.flush()
    }

    /// Reads one final response (skipping 1xx), framed by chunking, length or EOF.
    pub fn read_reply(&mut self, head_request: bool) -> io::Result<Reply> {
        loop {
            let (status_line, headers) = self.read_head()?;
            let status: u16 = status_line
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
            if (100..200).contains(&status) {
                continue;
            }
            let mut reply = Reply {
                status,
                headers,
                body: Vec::new(),
                trailers: Vec::new(),
            };
            if head_request || status == 204 || status == 304 {
                return Ok(reply);
            }
            if reply
                .header("transfer-encoding")
                .is_some_and(|te| te.contains("chunked"))
            {
                self.read_chunked(&mut reply)?;
            } else if let Some(len) = reply.header("content-length") {
                let len: usize = len.parse().map_err(|_| bad("bad content-length"))?;
                reply.body = vec![0; len];
                self.io.read_exact(&mut reply.body)?;
            } else {
                self.io.read_to_end(&mut reply.body)?;
            }
            return Ok(reply);
        }
    }

    /// Reads until EOF or an error; returns what arrived and how it ended.
    pub fn read_until_close(&mut self) -> (Vec<u8>, io::Result<()>) {
        let mut bytes = Vec::new();
        let result = self.io.read_to_end(&mut bytes).map(|_| ());
        (bytes, result)
    }

    fn read_head(&mut self) -> io::Result<(String, Vec<(String, String)>)> {
        let status_line = self.read_line()?;
        let mut headers = Vec::new();
        loop {
            let line = self.read_line()?;
            if line.is_empty() {
                return Ok((status_line, headers));
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| bad(format!("bad header {line:?}")))?;
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }

    fn read_chunked(&mut self, reply: &mut Reply) -> io::Result<()> {
        loop {
            let line = self.read_line()?;
            let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| bad(format!("bad chunk size {line:?}")))?;
            if size == 0 {
                loop {
                    let trailer = self.read_line()?;
                    if trailer.is_empty() {
                        return Ok(());
                    }
                    if let Some((name, value)) = trailer.split_once(':') {
                        reply
                            .trailers
                            .push((name.trim().to_owned(), value.trim().to_owned()));
                    }
                }
            }
            let start = reply.body.len();
            reply.body.resize(start + size, 0);
            self.io.read_exact(&mut reply.body[start..])?;
            if !self.read_line()?.is_empty() {
                return Err(bad("chunk not followed by CRLF"));
            }
        }
    }

    fn read_line(&mut self) -> io::Result<String> {
        let mut line = Vec::new();
        self.io.read_until(b'\n', &mut line)?;
        if !line.ends_with(b"\n") {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed mid-line",
            ));
        }
        let text = String::from_utf8_lossy(&line);
        Ok(text.trim_end_matches(['\r', '\n']).to_owned())
    }
}

/// A plain connection to `addr`, with timeouts.
pub fn connect(addr: SocketAddr) -> Client<TcpStream> {
    Client {
        io: BufReader::new(tcp(addr)),
        host: addr.to_string(),
    }
}

/// A client over a connection already open to a server at `host` (a SOCKS5 tunnel, say).
pub fn over(tcp: TcpStream, host: &str) -> Client<TcpStream> {
    Client {
        io: BufReader::new(tcp),
        host: host.to_owned(),
    }
}

/// A TLS connection to `addr` for `localhost`, handshake completed.
pub fn connect_tls(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> Result<Client<StreamOwned<ClientConnection, TcpStream>>, rustls::Error> {
    let stream = handshake(addr, config)?;
    Ok(Client {
        io: BufReader::new(stream),
        host: format!("localhost:{}", addr.port()),
    })
}

/// Runs a TLS handshake for `localhost` with `addr`; the error is rustls' own when it has one.
pub fn handshake(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> Result<StreamOwned<ClientConnection, TcpStream>, rustls::Error> {
    let name = ServerName::try_from("localhost").expect("valid name");
    let mut conn = ClientConnection::new(config, name)?;
    let mut sock = tcp(addr);
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).map_err(rustls_error)?;
    }
    Ok(StreamOwned::new(conn, sock))
}

/// The rustls error inside an I/O error, or a general one describing it.
pub fn rustls_error(err: io::Error) -> rustls::Error {
    match err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(inner) => inner.clone(),
        None => rustls::Error::General(err.to_string()),
    }
}

/// A client config trusting the server's CA; with its CRL when `crl`; with the server's
/// client certificate when `client_cert`.
pub fn client_config(server: &TestServer, crl: bool, client_cert: bool) -> Arc<ClientConfig> {
    let provider = Arc::new(default_provider());
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(server.ca_cert_der().to_vec()))
        .expect("CA parses");
    let mut verifier =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    if crl {
        verifier = verifier.with_crls([CertificateRevocationListDer::from(
            server.crl_der().to_vec(),
        )]);
    }
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_webpki_verifier(verifier.build().expect("verifier"));
    let mut config = if client_cert {
        let cert = CertificateDer::from_pem_slice(server.client_cert_pem().as_bytes())
            .expect("client cert");
        let key =
            PrivateKeyDer::from_pem_slice(server.client_key_pem().as_bytes()).expect("client key");
        builder
            .with_client_auth_cert(vec![cert], key)
            .expect("client auth")
    } else {
        builder.with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// The server every test of this binary shares (started once, on first use).
pub fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(TestServer::start)
}

/// One request on a fresh plain connection.
pub fn get(server: &TestServer, path: &str) -> Reply {
    connect(server.http_addr())
        .get(path)
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// Sends raw request bytes on a fresh plain connection and reads until the server closes.
pub fn raw_exchange(server: &TestServer, path: &str) -> (Vec<u8>, io::Result<()>) {
    let mut client = connect(server.http_addr());
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    client
        .write_all(request.as_bytes())
        .expect("request written");
    client.read_until_close()
}

fn tcp(addr: SocketAddr) -> TcpStream {
    let sock = TcpStream::connect_timeout(&addr, TIMEOUT)
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    sock.set_read_timeout(Some(TIMEOUT)).expect("read timeout");
    sock.set_write_timeout(Some(TIMEOUT))
        .expect("write timeout");
    sock
}

fn bad(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}
