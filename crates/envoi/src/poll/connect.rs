//! TCP connections opened without blocking: non-blocking sockets (socket2) whose completion is
//! checked with a zero-timeout `poll(2)`. Addresses race as in the blocking front
//! end (RFC 8305): the next attempt starts when the previous one fails or after the same
//! attempt delay, and the first to connect wins.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::error::{Error, ErrorKind};
use crate::event::{EventKind, EventSink};
use crate::transport::os::{self, PollFd};
use crate::transport::tcp::{connect_error, ATTEMPT_DELAY};

/// Attempts to connect to a host's addresses, raced.
pub(crate) struct Connector {
    addrs: Vec<SocketAddr>,
    next: usize,
    racing: Vec<(Socket, SocketAddr)>,
    last_start: Option<Instant>,
    last_error: Option<(SocketAddr, io::Error)>,
}

impl Connector {
    pub(crate) fn new(addrs: Vec<SocketAddr>) -> Self {
        Connector {
            addrs,
            next: 0,
            racing: Vec::new(),
            last_start: None,
            last_error: None,
        }
    }

    /// Starts the attempts that are due and checks those in flight, without waiting. Returns
    /// the connected stream once one attempt succeeds; the others are dropped.
    pub(crate) fn step(
        &mut self,
        now: Instant,
        sink: &mut EventSink,
    ) -> Result<Option<(TcpStream, SocketAddr)>, Error> {
        while self.next < self.addrs.len()
            && (self.racing.is_empty() || self.last_start.is_some_and(|t| now >= t + ATTEMPT_DELAY))
        {
            let addr = self.addrs[self.next];
            self.next += 1;
            self.last_start = Some(now);
            sink.emit(EventKind::Connecting { addr });
            match start(addr) {
                Ok((socket, true)) => return Ok(Some((socket.into(), addr))),
                Ok((socket, false)) => self.racing.push((socket, addr)),
                Err(e) => self.last_error = Some((addr, e)),
            }
        }
        if let Some(won) = self.check()? {
            return Ok(Some(won));
        }
        if self.racing.is_empty() && self.next >= self.addrs.len() {
            return Err(match self.last_error.take() {
                Some((addr, e)) => connect_error(addr, e, None),
                None => Error::new(ErrorKind::CantConnect, "no address to try"),
            });
        }
        Ok(None)
    }

    /// Polls the attempts in flight once, with a zero timeout.
    fn check(&mut self) -> Result<Option<(TcpStream, SocketAddr)>, Error> {
        if self.racing.is_empty() {
            return Ok(None);
        }
        let ready: Vec<bool> = {
            let mut fds: Vec<PollFd<'_>> = self
                .racing
                .iter()
                .map(|(socket, _)| PollFd::new(socket, false, true))
                .collect();
            match os::poll(&mut fds, Duration::ZERO) {
                Ok(_) => fds.iter().map(PollFd::is_ready).collect(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(None),
                Err(e) => {
                    return Err(
                        Error::new(ErrorKind::CantConnect, "polling the connect").with_source(e)
                    )
                }
            }
        };
        let mut index = 0;
        for done in ready {
            if !done {
                index += 1;
                continue;
            }
            let (socket, addr) = self.racing.remove(index);
            // A finished non-blocking connect reports its outcome in SO_ERROR.
            match socket.take_error() {
                Ok(None) => return Ok(Some((socket.into(), addr))),
                Ok(Some(e)) | Err(e) => self.last_error = Some((addr, e)),
            }
        }
        Ok(None)
    }

    /// Waits up to `max` for an attempt in flight to finish or the next one to be due (the
    /// opt-in blocking mode).
    pub(crate) fn wait(&self, max: Duration) {
        let mut max = max;
        if let (Some(last), true) = (self.last_start, self.next < self.addrs.len()) {
            max = max.min((last + ATTEMPT_DELAY).saturating_duration_since(Instant::now()));
        }
        let mut fds: Vec<PollFd<'_>> = self
            .racing
            .iter()
            .map(|(socket, _)| PollFd::new(socket, false, true))
            .collect();
        poll_for(&mut fds, max);
    }
}

/// Opens a non-blocking socket and starts connecting; true when it connected at once.
fn start(addr: SocketAddr) -> io::Result<(Socket, bool)> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    // Requests are written whole; waiting for more bytes to coalesce only adds latency.
    socket.set_tcp_nodelay(true)?;
    match socket.connect(&SockAddr::from(addr)) {
        Ok(()) => Ok((socket, true)),
        Err(e) if in_progress(&e) => Ok((socket, false)),
        Err(e) => Err(e),
    }
}

/// The error a non-blocking connect returns while the handshake goes on.
fn in_progress(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::EINPROGRESS)
}

/// Waits up to `max` for `fd` to be readable, or writable too when `write`.
pub(crate) fn wait_for(fd: &impl AsFd, write: bool, max: Duration) {
    poll_for(&mut [PollFd::new(fd, true, write)], max);
}

fn poll_for(fds: &mut [PollFd<'_>], max: Duration) {
    if fds.is_empty() {
        std::thread::sleep(max);
        return;
    }
    // An error or an interruption only ends the wait early; the caller looks again.
    let _ = os::poll(fds, max);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn sink() -> EventSink {
        EventSink::new(None, None, Instant::now())
    }

    fn run(connector: &mut Connector) -> Result<(TcpStream, SocketAddr), Error> {
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Some(done) = connector.step(Instant::now(), &mut sink())? {
                return Ok(done);
            }
            connector.wait(Duration::from_millis(10));
        }
        panic!("no outcome in 5 s");
    }

    #[test]
    fn a_listening_port_connects_and_a_closed_one_is_cant_connect() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let good = listener.local_addr().unwrap();
        let (_, addr) = run(&mut Connector::new(vec![good])).unwrap();
        assert_eq!(addr, good);
        let closed = envoi_testserver::ClosedPort::new();
        let e = run(&mut Connector::new(vec![closed.addr()])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::CantConnect);
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn a_refused_address_gives_way_to_the_next() {
        let closed = envoi_testserver::ClosedPort::new();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let good = listener.local_addr().unwrap();
        let (_, addr) = run(&mut Connector::new(vec![closed.addr(), good])).unwrap();
        assert_eq!(addr, good);
    }
}
