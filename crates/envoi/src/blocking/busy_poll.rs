//! Busy polling for a response head ([`crate::ClientBuilder::busy_poll`]): reading the
//! socket without sleeping for a few microseconds, so that a server that answers at once
//! costs no sleep and wake-up in the kernel. On a virtual machine a wake-up across cores
//! costs more than the HTTP work of a small request.

use std::io;
use std::time::{Duration, Instant};

use crate::transport::stream::Stream;

/// True when a connection whose last response head took `last_wait` should be polled for
/// the next one: a server that took longer than the budget last time will likely do so
/// again, and polling it would only burn the budget.
pub(crate) fn worth_polling(budget: Duration, last_wait: Duration) -> bool {
    !budget.is_zero() && last_wait <= budget
}

/// Reads from `stream` without sleeping until something arrives or `budget` runs out:
/// `Some(n)` as `read` returns it, `None` when the budget ran out first.
///
/// Each round first yields the CPU, so that a server on the same CPU runs at once (as it
/// would if this thread slept in `read`) and the read that follows finds its answer;
/// with no other thread to run, the yield returns at once.
pub(crate) fn receive(
    stream: &mut Stream,
    buf: &mut [u8],
    budget: Duration,
) -> io::Result<Option<usize>> {
    let start = Instant::now();
    loop {
        std::thread::yield_now();
        match stream.read_now(buf) {
            Ok(None) if start.elapsed() < budget => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};

    fn connected_pair() -> (Stream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (Stream::Plain(client), server)
    }

    #[test]
    fn a_connection_slower_than_the_budget_last_time_is_not_polled() {
        let b = Duration::from_micros(50);
        assert!(worth_polling(b, Duration::ZERO));
        assert!(worth_polling(b, Duration::from_micros(50)));
        assert!(!worth_polling(b, Duration::from_micros(51)));
        assert!(!worth_polling(Duration::ZERO, Duration::ZERO));
    }

    #[test]
    fn polling_gives_up_after_its_budget_when_nothing_arrives() {
        let (mut stream, _server) = connected_pair();
        let start = Instant::now();
        let got = receive(&mut stream, &mut [0; 64], Duration::from_millis(20)).unwrap();
        assert_eq!(got, None);
        assert!(start.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn polling_returns_the_bytes_as_soon_as_they_arrive() {
        let (mut stream, mut server) = connected_pair();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            server.write_all(b"HTTP/1.1 200 OK\r\n").unwrap();
            server
        });
        let mut buf = [0; 64];
        let got = receive(&mut stream, &mut buf, Duration::from_secs(10)).unwrap();
        assert_eq!(got, Some(17));
        assert_eq!(&buf[..17], b"HTTP/1.1 200 OK\r\n");
        drop(writer.join().unwrap());
    }

    #[test]
    fn a_closed_peer_is_reported_as_the_end_of_the_stream() {
        let (mut stream, server) = connected_pair();
        drop(server);
        let got = receive(&mut stream, &mut [0; 64], Duration::from_secs(10)).unwrap();
        assert_eq!(got, Some(0));
    }
}
