//! Opening connections for the async front end: resolution, TCP with Happy Eyeballs, a
//! CONNECT tunnel through an HTTP proxy or a SOCKS5 tunnel, then TLS through tokio-rustls.
//! Every decision is the shared transport's (address order, the CONNECT request and the
//! reading of its answer, the SOCKS5 handshake, the TLS configuration, server name and error
//! classification); only the waiting is tokio's.

use std::future::{poll_fn, Future};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use super::stream::{AsyncStream, TlsConn};
use super::wait::within;
use super::ClientInner;
use crate::error::{Error, ErrorKind, TimeoutPhase};
use crate::event::{EventKind, EventSink};
use crate::exchange::Deadlines;
use crate::transport::route::Route;
#[cfg(feature = "socks")]
use crate::transport::socks::{self, Need};
use crate::transport::tcp::{connect_error, ATTEMPT_DELAY};
use crate::transport::tls::{self, HandshakeFacts};
use crate::transport::{dns, tunnel};

/// Opens a connection for `route`: to the origin, or to its proxy (with a CONNECT tunnel for
/// https through an HTTP proxy, a SOCKS5 tunnel for anything through a SOCKS5 proxy), and
/// with TLS for https, inside the tunnel. Resolution, TCP, the tunnel and TLS share the
/// connect deadline.
pub(crate) async fn open(
    client: &Arc<ClientInner>,
    route: &Route,
    deadlines: &Deadlines,
    sink: &mut EventSink,
) -> Result<(AsyncStream, SocketAddr), Error> {
    let deadline = deadlines.connect();
    let (host, port) = route.connect_target();
    sink.emit(EventKind::Resolving {
        host: host.to_owned(),
    });
    let addrs = resolve(client, host, port, deadline).await?;
    sink.emit(EventKind::Resolved {
        addrs: addrs.clone(),
    });
    let (mut tcp, peer) = connect(&addrs, deadline, sink).await?;
    sink.emit(EventKind::Connected {
        addr: peer,
        reused: false,
    });
    if route.is_tunnel() {
        open_tunnel(client, route, &mut tcp, deadline, sink).await?;
    }
    #[cfg(feature = "socks")]
    if route.is_socks() {
        open_socks(client, route, &mut tcp, deadline, sink).await?;
    }
    if !route.https {
        return Ok((AsyncStream::Plain(tcp), peer));
    }
    let stream = handshake(client, &route.host, tcp, deadline, sink).await?;
    Ok((stream, peer))
}

/// The shared resolution (`dns::resolve`: literals, overrides, the pluggable resolver, the
/// address order). A name that needs a lookup, which blocks, is looked up on tokio's blocking
/// pool and waited for no longer than the deadline; a late answer is dropped.
async fn resolve(
    client: &Arc<ClientInner>,
    host: &str,
    port: u16,
    deadline: Option<Instant>,
) -> Result<Vec<SocketAddr>, Error> {
    let config = &client.config;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let answered_at_once = bare.parse::<IpAddr>().is_ok()
        || config
            .resolve_overrides
            .contains_key(&(bare.to_ascii_lowercase(), port));
    if answered_at_once {
        return dns::resolve(config, host, port, None);
    }
    let owner = Arc::clone(client);
    let name = host.to_owned();
    let lookup = async move {
        tokio::task::spawn_blocking(move || dns::resolve(&owner.config, &name, port, None))
            .await
            .map_err(|e| {
                Error::new(ErrorKind::CantResolve, "the resolver task failed").with_source(e)
            })?
    };
    within(deadline, TimeoutPhase::Resolve, lookup)
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::Timeout(_) => {
                Error::new(ErrorKind::Timeout(TimeoutPhase::Resolve), bare.to_owned())
            }
            _ => e,
        })
}

/// Connects to the first address that answers (RFC 8305): attempts start one after another,
/// [`ATTEMPT_DELAY`] apart or as soon as the previous one fails, and race; the first to
/// connect wins and the others are dropped.
async fn connect(
    addrs: &[SocketAddr],
    deadline: Option<Instant>,
    sink: &mut EventSink,
) -> Result<(TcpStream, SocketAddr), Error> {
    if let [addr] = addrs {
        sink.emit(EventKind::Connecting { addr: *addr });
        let attempt = async { connect_one(*addr).await.map_err(|e| (*addr, e)) };
        return before(deadline, attempt)
            .await
            .unwrap_or_else(|| Err((*addr, timed_out())))
            .map(|s| (s, *addr))
            .map_err(|(addr, e)| connect_error(addr, e, deadline));
    }
    let mut attempts = JoinSet::new();
    let mut next = 0;
    let mut last_error: Option<(SocketAddr, io::Error)> = None;
    let race = async {
        loop {
            if let Some(&addr) = addrs.get(next) {
                next += 1;
                sink.emit(EventKind::Connecting { addr });
                attempts.spawn(async move { (addr, connect_one(addr).await) });
            }
            if attempts.is_empty() {
                return None;
            }
            let more = next < addrs.len();
            tokio::select! {
                joined = attempts.join_next() => match joined {
                    Some(Ok((addr, Ok(stream)))) => return Some((stream, addr)),
                    Some(Ok((addr, Err(e)))) => last_error = Some((addr, e)),
                    // An attempt that panicked or was aborted: the others go on.
                    Some(Err(_)) | None => {}
                },
                () = tokio::time::sleep(ATTEMPT_DELAY), if more => {}
            }
        }
    };
    let Some(won) = before(deadline, race).await else {
        return Err(Error::new(
            ErrorKind::Timeout(TimeoutPhase::Connect),
            format!("no answer from {next} addresses"),
        ));
    };
    if let Some(won) = won {
        return Ok(won);
    }
    match last_error {
        Some((addr, e)) => Err(connect_error(addr, e, deadline)),
        None => Err(Error::new(ErrorKind::CantConnect, "no address to try")),
    }
}

async fn connect_one(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr).await?;
    // Requests are written whole; waiting for more bytes to coalesce only adds latency.
    stream.set_nodelay(true)?;
    Ok(stream)
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "deadline passed")
}

/// Asks the proxy for a tunnel to the route's origin: the request and the reading of the
/// answer are the shared tunnel's, within the connect deadline.
async fn open_tunnel(
    client: &ClientInner,
    route: &Route,
    tcp: &mut TcpStream,
    deadline: Option<Instant>,
    sink: &mut EventSink,
) -> Result<(), Error> {
    let (mut proto, out) = tunnel::request(&client.config, route, sink)?;
    let failed =
        |e: io::Error| Error::new(ErrorKind::ProxyFailed, "proxy connection failed").with_source(e);
    let talk = async {
        tcp.write_all(&out).await.map_err(failed)?;
        let mut buf = vec![0u8; 4096];
        while !tunnel::answer(&mut proto, route, sink)? {
            let n = tcp.read(&mut buf).await.map_err(failed)?;
            if n == 0 {
                proto.receive_eof();
            }
            proto.receive(&buf[..n]);
        }
        Ok(())
    };
    before(deadline, talk).await.unwrap_or_else(|| {
        Err(Error::new(
            ErrorKind::Timeout(TimeoutPhase::Connect),
            "proxy CONNECT",
        ))
    })
}

/// The SOCKS5 handshake: the origin's name resolved first when the proxy is sent an
/// address, then the shared machine's bytes written and read (never more than it asks for),
/// within the connect deadline.
#[cfg(feature = "socks")]
async fn open_socks(
    client: &Arc<ClientInner>,
    route: &Route,
    tcp: &mut TcpStream,
    deadline: Option<Instant>,
    sink: &mut EventSink,
) -> Result<(), Error> {
    let talk = async {
        let target = match socks::target(route) {
            Some(target) => target,
            None => {
                let addrs = resolve(client, &route.host, route.port, deadline)
                    .await
                    .map_err(|e| socks::unresolved(route, e))?;
                socks::resolved(route, &addrs)?
            }
        };
        let mut handshake = socks::start(route, target)?;
        let mut buf = [0u8; socks::MAX_REPLY];
        loop {
            match handshake.need() {
                Need::Open => return Ok(()),
                Need::Write(bytes) => {
                    let n = tcp.write(bytes).await.map_err(socks::io_failed)?;
                    if n == 0 {
                        return Err(socks::io_failed(io::ErrorKind::WriteZero.into()));
                    }
                    handshake.wrote(n);
                }
                Need::Read(want) => {
                    let n = tcp
                        .read(&mut buf[..want.min(socks::MAX_REPLY)])
                        .await
                        .map_err(socks::io_failed)?;
                    if n == 0 {
                        return Err(handshake.receive_eof());
                    }
                    handshake.receive(&buf[..n], sink)?;
                }
            }
        }
    };
    before(deadline, talk).await.unwrap_or_else(|| {
        Err(Error::new(
            ErrorKind::Timeout(TimeoutPhase::Connect),
            "SOCKS5 handshake",
        ))
    })
}

/// The TLS handshake with the client's shared rustls configuration; every poll of the
/// handshake runs inside the connection's [`HandshakeFacts::observe`], so a refused client
/// certificate is told apart from other alerts.
async fn handshake(
    client: &ClientInner,
    host: &str,
    tcp: TcpStream,
    deadline: Option<Instant>,
    sink: &mut EventSink,
) -> Result<AsyncStream, Error> {
    let name = tls::server_name(host, &client.config.tls)?;
    sink.emit(EventKind::TlsHandshakeStarted);
    let facts = HandshakeFacts::new();
    let buffered =
        tokio::io::BufReader::with_capacity(crate::transport::stream::TLS_READ_BUFFER, tcp);
    let connector = tokio_rustls::TlsConnector::from(client.tls.config()?);
    let mut connecting = connector.connect(name, buffered);
    let handshake = poll_fn(|cx| facts.observe(|| Pin::new(&mut connecting).poll(cx)));
    let finished = before(deadline, handshake)
        .await
        .ok_or_else(|| Error::new(ErrorKind::Timeout(TimeoutPhase::Tls), host.to_owned()))?;
    let inner = finished.map_err(|e| tls::classify_io(e, &facts))?;
    let version = inner
        .get_ref()
        .1
        .protocol_version()
        .and_then(|v| v.as_str())
        .unwrap_or("TLS")
        .to_owned();
    sink.emit(EventKind::TlsHandshakeDone { version });
    Ok(AsyncStream::Tls(Box::new(TlsConn { inner, facts })))
}

/// The outcome of `work`, or `None` when the deadline passes first.
async fn before<F: Future>(deadline: Option<Instant>, work: F) -> Option<F::Output> {
    match deadline {
        None => Some(work.await),
        Some(d) => tokio::time::timeout_at(d.into(), work).await.ok(),
    }
}
