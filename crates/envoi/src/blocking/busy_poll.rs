//! Busy polling ([`crate::ClientBuilder::busy_poll`]): reading the socket without
//! sleeping for a few microseconds, so that bytes that arrive at once cost no sleep and
//! wake-up in the kernel. On a virtual machine a wake-up across cores costs more than the
//! HTTP work of a small request. It is used for response heads, and for the body reads of
//! TLS connections, where a reader that sleeps between TLS records holds the sender back.

use std::io;
use std::time::{Duration, Instant};

use crate::transport::stream::Stream;

/// How many requests skip polling once polls found the server running on this CPU.
const SKIP_WHEN_SERVER_SHARES_CPU: u32 = 64;
/// A yield that took longer than this ran another thread on this CPU (or the hypervisor
/// took the CPU away, which is why one such poll proves nothing).
const YIELD_RAN_ANOTHER_THREAD: Duration = Duration::from_micros(4);
/// How many polls in a row must find their answer after such a yield before the server
/// counts as sharing this CPU.
const POLLS_TO_PROVE_SHARED_CPU: u8 = 4;

/// What a connection has learned about polling its server for response heads. TLS body
/// reads (`blocking::response::read_direct`) poll through [`ReadPolling::receive`] on every
/// read, without [`ReadPolling::worth_polling`]'s checks; a server they find sharing this
/// CPU still counts towards skipping the next heads' polls.
#[derive(Debug, Default)]
pub(crate) struct ReadPolling {
    /// How long the last response head took to arrive after the request went out.
    last_wait: Duration,
    /// Requests left that wait in the kernel without polling first.
    skip: u32,
    /// Polls in a row whose answer came while a yield ran another thread.
    answered_during_yield: u8,
}

impl ReadPolling {
    /// True when the next response head should be polled for, with `budget`. Not on a
    /// connection whose last head took longer than the budget (it will likely do so again,
    /// and polling would only burn the budget), nor for a while after a poll found the
    /// server on this CPU (then sleeping in `read` lets it run just as soon, for less).
    pub(crate) fn worth_polling(&mut self, budget: Duration) -> bool {
        if budget.is_zero() {
            return false;
        }
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        self.last_wait <= budget
    }

    /// Records how long a response head took to arrive.
    pub(crate) fn head_arrived_after(&mut self, wait: Duration) {
        self.last_wait = wait;
    }

    /// Reads from `stream` without sleeping until something arrives or `budget`, counted from
    /// `start` (a moment ago), runs out: `Some(n)` as `read` returns it, `None` when the budget
    /// ran out first.
    ///
    /// Each round first yields the CPU, so that a server on the same CPU runs at once (as it
    /// would if this thread slept in `read`) and the read that follows finds its answer.
    /// With no other thread to run, the yield returns at once; when it took long and the
    /// answer was there after it, for several requests in a row, the server shares this
    /// CPU and the next requests skip polling.
    pub(crate) fn receive(
        &mut self,
        stream: &mut Stream,
        buf: &mut [u8],
        budget: Duration,
        start: Instant,
    ) -> io::Result<Option<usize>> {
        // One clock read per round: the time after a round's read is the next one's time
        // before its yield, and the first round starts from `start`.
        let mut before_yield = start;
        loop {
            std::thread::yield_now();
            let ran_another_thread = before_yield.elapsed() > YIELD_RAN_ANOTHER_THREAD;
            match stream.read_now(buf) {
                Ok(Some(n)) => {
                    self.answered(ran_another_thread);
                    return Ok(Some(n));
                }
                Ok(None) => {
                    before_yield = Instant::now();
                    if before_yield.saturating_duration_since(start) >= budget {
                        return Ok(None);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => before_yield = Instant::now(),
                Err(e) => return Err(e),
            }
        }
    }

    fn answered(&mut self, during_yield_to_another_thread: bool) {
        if !during_yield_to_another_thread {
            self.answered_during_yield = 0;
            return;
        }
        self.answered_during_yield += 1;
        if self.answered_during_yield >= POLLS_TO_PROVE_SHARED_CPU {
            self.answered_during_yield = 0;
            self.skip = SKIP_WHEN_SERVER_SHARES_CPU;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpStream;

    fn connected_pair() -> (Stream, TcpStream) {
        let (client, server) = crate::transport::loopback_pair();
        (Stream::Plain(client), server)
    }

    #[test]
    fn a_connection_slower_than_the_budget_last_time_is_not_polled() {
        let b = Duration::from_micros(50);
        let mut polling = ReadPolling::default();
        assert!(polling.worth_polling(b));
        polling.head_arrived_after(Duration::from_micros(50));
        assert!(polling.worth_polling(b));
        polling.head_arrived_after(Duration::from_micros(51));
        assert!(!polling.worth_polling(b));
        polling.head_arrived_after(Duration::from_micros(10));
        assert!(polling.worth_polling(b));
        assert!(!polling.worth_polling(Duration::ZERO));
    }

    #[test]
    fn a_server_found_on_this_cpu_several_times_in_a_row_is_not_polled_for_a_while() {
        let b = Duration::from_micros(50);
        let mut polling = ReadPolling::default();
        for _ in 1..POLLS_TO_PROVE_SHARED_CPU {
            polling.answered(true);
        }
        polling.answered(false);
        polling.answered(true);
        assert!(
            polling.worth_polling(b),
            "a streak broken by a quick answer proves nothing"
        );
        for _ in 1..POLLS_TO_PROVE_SHARED_CPU {
            polling.answered(true);
        }
        let polled = (0..SKIP_WHEN_SERVER_SHARES_CPU + 1)
            .filter(|_| polling.worth_polling(b))
            .count();
        assert_eq!(polled, 1);
    }

    #[test]
    fn polling_gives_up_after_its_budget_when_nothing_arrives() {
        let (mut stream, _server) = connected_pair();
        let start = Instant::now();
        let got = ReadPolling::default()
            .receive(
                &mut stream,
                &mut [0; 64],
                Duration::from_millis(20),
                Instant::now(),
            )
            .unwrap();
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
        let got = ReadPolling::default()
            .receive(
                &mut stream,
                &mut buf,
                Duration::from_secs(10),
                Instant::now(),
            )
            .unwrap();
        assert_eq!(got, Some(17));
        assert_eq!(&buf[..17], b"HTTP/1.1 200 OK\r\n");
        drop(writer.join().unwrap());
    }

    #[test]
    fn a_closed_peer_is_reported_as_the_end_of_the_stream() {
        let (mut stream, server) = connected_pair();
        drop(server);
        let got = ReadPolling::default()
            .receive(
                &mut stream,
                &mut [0; 64],
                Duration::from_secs(10),
                Instant::now(),
            )
            .unwrap();
        assert_eq!(got, Some(0));
    }
}
