//! A SOCKS5 endpoint (RFC 1928, CONNECT only, with RFC 1929 username/password) for proxy
//! tests: it logs what each client asked for (a name or an address), can require credentials,
//! can refuse every request with a chosen reply code, can report its bound address as a name,
//! and can write its answers a byte at a time.
//!
//! It only ever connects to loopback: a name is resolved by the endpoint itself, `localhost`
//! and names under `.localhost` (RFC 6761) to `127.0.0.1`, any other name is "host
//! unreachable" (reply 4); an address that is not loopback is "not allowed by ruleset"
//! (reply 2). A refused connection is reply 5.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A client that has not sent its request by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The pause between bytes of a trickled answer.
const TRICKLE_PAUSE: Duration = Duration::from_millis(2);

/// How a SOCKS5 endpoint behaves; the default needs no authentication and connects.
///
/// ```
/// let options = envoi_testserver::SocksOptions {
///     credentials: Some(("user".into(), "secret".into())),
///     reply: Some(5), // connection refused, for every request
///     ..Default::default()
/// };
/// assert!(!options.bound_as_name);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SocksOptions {
    /// The user name and password required (method 2); without them, no authentication
    /// (method 0) is chosen.
    pub credentials: Option<(String, String)>,
    /// A reply code (1 to 255) sent to every CONNECT instead of connecting; the connection is
    /// closed after it.
    pub reply: Option<u8>,
    /// Reports the bound address as a domain name (`socks.localhost`) instead of an address.
    pub bound_as_name: bool,
    /// Writes every answer a byte at a time with a short pause, so a client receives each
    /// in pieces.
    pub trickle: bool,
}

/// The destination a client asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SocksTarget {
    /// A host name, for the endpoint to resolve (what a `socks5h` client sends).
    Name(String, u16),
    /// An address (what a `socks5` client sends).
    Address(SocketAddr),
}

impl SocksTarget {
    /// True when the client sent a host name.
    pub fn is_name(&self) -> bool {
        matches!(self, SocksTarget::Name(..))
    }
}

/// One CONNECT request the endpoint received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocksRequest {
    /// The authentication methods the client's greeting offered.
    pub methods: Vec<u8>,
    /// The user name the client authenticated with, when it did.
    pub user: Option<String>,
    /// Where the client asked to connect.
    pub target: SocksTarget,
}

/// A running SOCKS5 endpoint on `127.0.0.1`; it stops with its [`TestServer`](crate::TestServer).
///
/// ```
/// let server = envoi_testserver::TestServer::start();
/// let socks = server.socks5();
/// assert_eq!(socks.addr(), server.socks5_addr());
/// assert!(socks.requests().is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct SocksEndpoint {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<SocksRequest>>>,
}

impl SocksEndpoint {
    /// Binds `127.0.0.1:port` and spawns the accept loop on the current runtime.
    pub(crate) fn start(
        port: u16,
        options: SocksOptions,
        stopped: watch::Receiver<bool>,
    ) -> io::Result<SocksEndpoint> {
        let std_listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        std_listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(std_listener)?;
        let addr = listener.local_addr()?;
        let log = Arc::default();
        tokio::spawn(accept_loop(
            listener,
            Arc::new(options),
            Arc::clone(&log),
            stopped,
        ));
        Ok(SocksEndpoint { addr, log })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every CONNECT request received so far, in order.
    pub fn requests(&self) -> Vec<SocksRequest> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

async fn accept_loop(
    listener: TcpListener,
    options: Arc<SocksOptions>,
    log: Arc<Mutex<Vec<SocksRequest>>>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => return,
        };
        let Ok((client, _)) = accepted else {
            // Out of descriptors, say: try again shortly rather than spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = client.set_nodelay(true);
        let options = Arc::clone(&options);
        let log = Arc::clone(&log);
        let mut stop = stopped.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = serve(client, &options, &log) => {}
                _ = stop.changed() => {}
            }
        });
    }
}

/// One client: the handshake within [`HANDSHAKE_TIMEOUT`], then the relay.
async fn serve(mut client: TcpStream, options: &SocksOptions, log: &Mutex<Vec<SocksRequest>>) {
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(&mut client, options, log));
    let Ok(Ok(Some(mut upstream))) = handshake.await else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

/// Runs the handshake; the connection to the destination when the request is granted.
async fn handshake(
    client: &mut TcpStream,
    options: &SocksOptions,
    log: &Mutex<Vec<SocksRequest>>,
) -> io::Result<Option<TcpStream>> {
    // Greeting: VER NMETHODS METHODS.
    let [version, count] = read_array(client).await?;
    if version != 5 {
        return Ok(None);
    }
    let mut methods = vec![0; usize::from(count)];
    client.read_exact(&mut methods).await?;
    let wanted = if options.credentials.is_some() { 2 } else { 0 };
    if !methods.contains(&wanted) {
        send(client, &[5, 0xff], options.trickle).await?;
        return Ok(None);
    }
    send(client, &[5, wanted], options.trickle).await?;
    let mut user = None;
    if let Some((want_user, want_password)) = &options.credentials {
        // RFC 1929: VER ULEN UNAME PLEN PASSWD.
        let [_version, user_len] = read_array(client).await?;
        let mut name = vec![0; usize::from(user_len)];
        client.read_exact(&mut name).await?;
        let [password_len] = read_array(client).await?;
        let mut password = vec![0; usize::from(password_len)];
        client.read_exact(&mut password).await?;
        if name != want_user.as_bytes() || password != want_password.as_bytes() {
            send(client, &[1, 1], options.trickle).await?;
            return Ok(None);
        }
        send(client, &[1, 0], options.trickle).await?;
        user = Some(String::from_utf8_lossy(&name).into_owned());
    }
    // Request: VER CMD RSV ATYP DST.ADDR DST.PORT.
    let [_version, command, _reserved, atyp] = read_array(client).await?;
    let target = match atyp {
        1 => {
            let ip: [u8; 4] = read_array(client).await?;
            let port = u16::from_be_bytes(read_array(client).await?);
            SocksTarget::Address(SocketAddr::new(Ipv4Addr::from(ip).into(), port))
        }
        4 => {
            let ip: [u8; 16] = read_array(client).await?;
            let port = u16::from_be_bytes(read_array(client).await?);
            SocksTarget::Address(SocketAddr::new(Ipv6Addr::from(ip).into(), port))
        }
        3 => {
            let [len] = read_array(client).await?;
            let mut name = vec![0; usize::from(len)];
            client.read_exact(&mut name).await?;
            let port = u16::from_be_bytes(read_array(client).await?);
            SocksTarget::Name(String::from_utf8_lossy(&name).into_owned(), port)
        }
        _ => {
            refuse(client, 8, options.trickle).await?;
            return Ok(None);
        }
    };
    log.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(SocksRequest {
            methods,
            user,
            target: target.clone(),
        });
    if command != 1 {
        refuse(client, 7, options.trickle).await?;
        return Ok(None);
    }
    if let Some(code) = options.reply {
        refuse(client, code, options.trickle).await?;
        return Ok(None);
    }
    let destination = match target {
        SocksTarget::Address(addr) if addr.ip().is_loopback() => addr,
        SocksTarget::Address(_) => {
            refuse(client, 2, options.trickle).await?;
            return Ok(None);
        }
        SocksTarget::Name(name, port) => match resolve(&name) {
            Some(ip) => SocketAddr::new(ip, port),
            None => {
                refuse(client, 4, options.trickle).await?;
                return Ok(None);
            }
        },
    };
    let upstream = match TcpStream::connect(destination).await {
        Ok(upstream) => upstream,
        Err(_) => {
            refuse(client, 5, options.trickle).await?;
            return Ok(None);
        }
    };
    let _ = upstream.set_nodelay(true);
    let bound = upstream.local_addr()?;
    let mut reply = vec![5, 0, 0];
    if options.bound_as_name {
        let name = b"socks.localhost";
        reply.push(3);
        reply.push(name.len() as u8);
        reply.extend_from_slice(name);
    } else {
        match bound.ip() {
            IpAddr::V4(ip) => {
                reply.push(1);
                reply.extend_from_slice(&ip.octets());
            }
            IpAddr::V6(ip) => {
                reply.push(4);
                reply.extend_from_slice(&ip.octets());
            }
        }
    }
    reply.extend_from_slice(&bound.port().to_be_bytes());
    send(client, &reply, options.trickle).await?;
    Ok(Some(upstream))
}

/// The endpoint's own resolution: loopback names only (RFC 6761's `localhost`).
fn resolve(name: &str) -> Option<IpAddr> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    (name == "localhost" || name.ends_with(".localhost")).then_some(Ipv4Addr::LOCALHOST.into())
}

/// A failure reply with `code` and an empty IPv4 bound address.
async fn refuse(client: &mut TcpStream, code: u8, trickle: bool) -> io::Result<()> {
    send(client, &[5, code, 0, 1, 0, 0, 0, 0, 0, 0], trickle).await
}

async fn send(client: &mut TcpStream, bytes: &[u8], trickle: bool) -> io::Result<()> {
    if !trickle {
        return client.write_all(bytes).await;
    }
    for byte in bytes {
        client.write_all(&[*byte]).await?;
        client.flush().await?;
        tokio::time::sleep(TRICKLE_PAUSE).await;
    }
    Ok(())
}

async fn read_array<const N: usize>(client: &mut TcpStream) -> io::Result<[u8; N]> {
    let mut bytes = [0; N];
    client.read_exact(&mut bytes).await?;
    Ok(bytes)
}
