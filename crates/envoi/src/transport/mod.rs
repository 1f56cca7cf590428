//! Opening connections: resolution, TCP, a proxy tunnel if the route has one (CONNECT through
//! an HTTP proxy, or SOCKS5), then TLS.

pub(crate) mod dns;
mod handshake;
mod mailbox;
#[allow(unsafe_code)]
pub(crate) mod os;
pub(crate) mod route;
#[cfg(feature = "socks")]
pub(crate) mod socks;
pub(crate) mod stream;
pub(crate) mod tcp;
pub(crate) mod tls;

/// A connected loopback TCP pair, client side first, for the unit tests that need a real
/// socket.
#[cfg(test)]
pub(crate) fn loopback_pair() -> (std::net::TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}
pub(crate) mod tunnel;

use std::net::SocketAddr;

use crate::config::Config;
use crate::error::Error;
use crate::event::{EventKind, EventSink};
use crate::exchange::Deadlines;
use route::Route;
use stream::Stream;

/// Opens a connection for `route`: to the origin, or to its proxy (with a CONNECT tunnel for
/// https through an HTTP proxy, a SOCKS5 tunnel for anything through a SOCKS5 proxy), and
/// with TLS for https, inside the tunnel. Resolution, TCP, the tunnel and TLS share the
/// connect deadline.
pub(crate) fn open(
    config: &Config,
    tls: &tls::ClientTls,
    route: &Route,
    deadlines: &Deadlines,
    sink: &mut EventSink,
) -> Result<(Stream, SocketAddr), Error> {
    let deadline = deadlines.connect();
    let (host, port) = route.connect_target();
    sink.emit(EventKind::Resolving {
        host: host.to_owned(),
    });
    let addrs = dns::resolve(config, host, port, deadline)?;
    sink.emit(EventKind::Resolved {
        addrs: addrs.clone(),
    });
    let (mut tcp, peer) = tcp::connect(&addrs, deadline, sink)?;
    sink.emit(EventKind::Connected {
        addr: peer,
        reused: false,
    });
    if route.is_tunnel() {
        tunnel::connect(config, route, &mut tcp, deadline, sink)?;
    }
    #[cfg(feature = "socks")]
    if route.is_socks() {
        socks::connect(config, route, &mut tcp, deadline, sink)?;
    }
    if !route.https {
        return Ok((Stream::Plain(tcp), peer));
    }
    let stream = handshake::run(
        &tls.config()?,
        &config.tls,
        &route.host,
        tcp,
        deadline,
        sink,
    )?;
    Ok((stream, peer))
}
