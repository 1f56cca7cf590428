//! A loopback port that refuses connections, reserved for as long as the value lives.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::TcpSocket;

/// A TCP port on `127.0.0.1` where nothing listens, held for as long as this value lives:
/// a connect to [`addr`](Self::addr) is refused (the kernel answers the SYN with a reset,
/// `ECONNREFUSED`), the way a client sees a server that is down.
///
/// Why not bind a listener, note its port and drop it: once the listener is closed the port
/// is free, and while tests run in parallel another test's listener may be given it, or an
/// outgoing connection may take it as its ephemeral source port; on loopback a connect whose
/// source port equals its destination even connects to itself. A test that expects
/// "connection refused" then sometimes sees a connection that opens and closes instead.
///
/// This value keeps a socket bound to the port and never calls `listen` on it. A bound
/// socket accepts no connections, so connects are still refused, but the port stays taken:
/// the OS gives it to no other bind to port 0 and to no connect as a source port, and the
/// socket does not set `SO_REUSEADDR`, so no explicit bind can share it either. Keep the
/// value in a named variable for the whole test (`let closed = ClosedPort::new();`), not
/// in a temporary whose port is read and then dropped.
///
/// Binding without listening needs no tokio runtime: it works from a plain `#[test]`.
///
/// ```
/// let closed = envoi_testserver::ClosedPort::new();
/// let error = std::net::TcpStream::connect(closed.addr()).unwrap_err();
/// assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
/// ```
#[derive(Debug)]
pub struct ClosedPort {
    /// Bound, never listening; closing it frees the port.
    _socket: TcpSocket,
    addr: SocketAddr,
}

impl ClosedPort {
    /// Reserves a port on `127.0.0.1` chosen by the OS.
    ///
    /// # Panics
    ///
    /// If no socket can be created or bound: a test cannot go on without one.
    pub fn new() -> ClosedPort {
        ClosedPort::try_new().expect("a TCP socket bound to 127.0.0.1:0")
    }

    /// Like [`new`](Self::new), with the error returned instead of a panic.
    pub fn try_new() -> io::Result<ClosedPort> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        let addr = socket.local_addr()?;
        Ok(ClosedPort {
            _socket: socket,
            addr,
        })
    }

    /// The port, on `127.0.0.1`.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `127.0.0.1:` and the port.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Default for ClosedPort {
    fn default() -> ClosedPort {
        ClosedPort::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;

    #[test]
    fn connects_are_refused_every_time_while_it_lives() {
        let closed = ClosedPort::new();
        assert_eq!(closed.addr().ip(), Ipv4Addr::LOCALHOST);
        assert_ne!(closed.port(), 0);
        for attempt in 0..200 {
            let error =
                TcpStream::connect(closed.addr()).expect_err("nothing listens on a closed port");
            assert_eq!(
                error.kind(),
                io::ErrorKind::ConnectionRefused,
                "attempt {attempt}: {error}"
            );
        }
    }

    #[test]
    fn nobody_else_can_bind_its_port_while_it_lives() {
        let closed = ClosedPort::new();
        let error = std::net::TcpListener::bind(closed.addr()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
        let other = ClosedPort::new();
        assert_ne!(other.port(), closed.port());
    }
}
