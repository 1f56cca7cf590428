//! TCP connections: a timeout per attempt and Happy Eyeballs (RFC 8305) across addresses.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::mailbox::Mailbox;
use crate::error::{Error, ErrorKind, TimeoutPhase};
use crate::event::{EventKind, EventSink};

/// RFC 8305 §5's recommended "Connection Attempt Delay".
pub(crate) const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Connects to the first address that answers. Attempts start one after another,
/// [`ATTEMPT_DELAY`] apart or as soon as the previous one fails, and race; the first to
/// connect wins and the others are dropped.
pub(crate) fn connect(
    addrs: &[SocketAddr],
    deadline: Option<Instant>,
    sink: &mut EventSink,
) -> Result<(TcpStream, SocketAddr), Error> {
    if let [addr] = addrs {
        sink.emit(EventKind::Connecting { addr: *addr });
        return connect_one(*addr, deadline)
            .map(|s| (s, *addr))
            .map_err(|e| connect_error(*addr, e, deadline));
    }
    let outcomes = Mailbox::new();
    let mut next = 0;
    let mut running = 0;
    let mut last_error: Option<(SocketAddr, io::Error)> = None;
    loop {
        if next < addrs.len() {
            let addr = addrs[next];
            next += 1;
            running += 1;
            sink.emit(EventKind::Connecting { addr });
            let post = outcomes.clone();
            let spawned = std::thread::Builder::new()
                .name("envoi-connect".into())
                .spawn(move || post.post((addr, connect_one(addr, deadline))));
            if let Err(e) = spawned {
                running -= 1;
                last_error = Some((addr, e));
                continue;
            }
        }
        if running == 0 {
            break;
        }
        // Wait for an outcome, but no longer than the attempt delay while untried addresses
        // remain, and never past the deadline.
        let now = Instant::now();
        let mut wait = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(now));
        if next < addrs.len() {
            wait = wait.min(ATTEMPT_DELAY);
        }
        match outcomes.wait(wait) {
            Some((addr, Ok(stream))) => return Ok((stream, addr)),
            Some((addr, Err(e))) => {
                running -= 1;
                last_error = Some((addr, e));
            }
            None => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(Error::new(
                        ErrorKind::Timeout(TimeoutPhase::Connect),
                        format!("no answer from {} addresses", next),
                    ));
                }
            }
        }
    }
    match last_error {
        Some((addr, e)) => Err(connect_error(addr, e, deadline)),
        None => Err(Error::new(ErrorKind::CantConnect, "no address to try")),
    }
}

fn connect_one(addr: SocketAddr, deadline: Option<Instant>) -> io::Result<TcpStream> {
    let stream = match deadline {
        Some(deadline) => {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"));
            }
            TcpStream::connect_timeout(&addr, left)?
        }
        None => TcpStream::connect(addr)?,
    };
    // Requests are written whole; waiting for more bytes to coalesce only adds latency.
    stream.set_nodelay(true)?;
    Ok(stream)
}

pub(crate) fn connect_error(addr: SocketAddr, e: io::Error, deadline: Option<Instant>) -> Error {
    let timed_out = matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    ) || deadline.is_some_and(|d| Instant::now() >= d);
    let kind = if timed_out {
        ErrorKind::Timeout(TimeoutPhase::Connect)
    } else {
        ErrorKind::CantConnect
    };
    Error::new(kind, addr.to_string()).with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use envoi_testserver::ClosedPort;
    use std::net::TcpListener;

    fn sink() -> EventSink {
        EventSink::new(None, None, Instant::now())
    }

    #[test]
    fn refused_port_is_cant_connect() {
        let closed = ClosedPort::new();
        let e = connect(&[closed.addr()], None, &mut sink()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::CantConnect);
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn the_first_address_that_answers_wins() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let good = listener.local_addr().unwrap();
        let deadline = Some(Instant::now() + Duration::from_secs(5));
        let refused = ClosedPort::new();
        let (_stream, addr) = connect(&[refused.addr(), good], deadline, &mut sink()).unwrap();
        assert_eq!(addr, good);
    }

    #[test]
    fn every_address_refused_reports_the_last_failure() {
        let (first, second) = (ClosedPort::new(), ClosedPort::new());
        let e = connect(&[first.addr(), second.addr()], None, &mut sink()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::CantConnect);
    }
}
