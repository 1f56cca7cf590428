//! Read coalescing for a body polled in a tight loop.
//!
//! A caller that polls without pause reads each segment the moment it lands: one system call,
//! and one window update to the sender, per 64 KiB. On loopback that made nginx send the
//! same gigabyte with more CPU, and the poll client ran at 0.81× the blocking client's MB/s
//! (`bench/run-poll-bench.sh`, `PARTS=tight RUNS=9`). So while reads come close together, a
//! body read over plain TCP is only made once the kernel holds a worthwhile amount: the
//! socket's low-water mark (`SO_RCVLOWAT`) is set to that amount, and a zero-timeout
//! `poll(2)`, which honours it without taking the socket's lock, says when it is there.
//! Until then the read returns nothing, as it would with nothing to read: no call waits.
//!
//! Reads only go ahead of the chunk size once a read has been held since the last pause,
//! that is once the caller asks faster than bytes come. A frame loop finds bytes piled up
//! at each frame and reads chunk by chunk, which keeps its calls short: with read-ahead at
//! every coalesced read, its `read_response_body_chunk()` p99.9 was 778–1,415 µs against
//! 497–881 µs so (`RUNS=2`, alternating builds), at the same tight-loop MB/s.
//!
//! Only `poll::HttpClient` coalesces. A `poll::Request` step reads several chunks at once
//! already, and larger reads there made its slowest calls slower (p99.9 from about 570 µs to
//! 900–1,200 µs in the frame loop of the same benchmark).
//!
//! A read more than [`HOLD`] after the previous one goes ahead with whatever is there, so a
//! slow server's bytes are late by at most that, and a frame loop, whose calls are further
//! apart, is not held at all. The mark never asks for more than the body has left, and the
//! kernel counts the end of the stream, an error, or a receive window it could not fill as
//! readable too.

use std::time::{Duration, Instant};

use super::stream::PollStream;

/// The amount a read waits for while reads come close together.
pub(crate) const LOW_WATER: usize = 128 * 1024;
/// The longest a read is held back after the previous one.
pub(crate) const HOLD: Duration = Duration::from_millis(1);

/// What a direct body read does now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadPlan {
    /// Nothing worth a read is queued yet: report nothing.
    Hold,
    /// Read the chunk asked for.
    Read,
    /// The read follows another closely, an earlier one was held, and the low-water mark is
    /// reached: read up to [`READ_AHEAD`] whatever the chunk size, and hand the rest out in
    /// the next calls.
    ReadAhead,
}

/// The most a coalesced read takes at once: twice what it waited for, and small enough that
/// copying it stays far under a frame's time.
pub(crate) const READ_AHEAD: usize = 256 * 1024;

/// When a direct body read is worth its system call.
pub(crate) struct ReadCoalescing {
    /// The low-water mark the socket has now (1 is the kernel's default).
    low_water: usize,
    last_read: Option<Instant>,
    /// A read was held since the last pause: the caller asks faster than bytes come (a
    /// tight loop), so reads go ahead of the chunk size. A caller that finds bytes waiting at
    /// every call (a frame loop, whose bytes pile up between frames) reads chunk by chunk.
    caught_up: bool,
}

impl ReadCoalescing {
    pub(crate) fn new() -> Self {
        ReadCoalescing {
            low_water: 1,
            last_read: None,
            caught_up: false,
        }
    }

    /// What to do now, for a body with `remaining` bytes to come. A stream without a
    /// low-water mark (TLS, whose plaintext rustls may already hold, or a stream the caller
    /// provides) always reads.
    pub(crate) fn plan(&mut self, stream: &PollStream, remaining: u64, now: Instant) -> ReadPlan {
        if !stream.has_low_water() {
            return ReadPlan::Read;
        }
        let Some(last) = self.last_read else {
            return ReadPlan::Read;
        };
        if now.saturating_duration_since(last) >= HOLD {
            self.caught_up = false;
            return ReadPlan::Read;
        }
        let mark = usize::try_from(remaining).map_or(LOW_WATER, |r| r.clamp(1, LOW_WATER));
        if mark != self.low_water {
            if stream.set_low_water(mark).is_err() {
                return ReadPlan::Read;
            }
            self.low_water = mark;
        }
        match stream.readable_now() {
            true if self.caught_up => ReadPlan::ReadAhead,
            true => ReadPlan::Read,
            false => {
                self.caught_up = true;
                ReadPlan::Hold
            }
        }
    }

    /// A new response: its first body read is not held.
    pub(crate) fn new_body(&mut self) {
        self.last_read = None;
        self.caught_up = false;
    }

    /// Records a read that returned bytes.
    pub(crate) fn read_at(&mut self, now: Instant) {
        self.last_read = Some(now);
    }

    /// Puts the kernel's default mark back before anything waits for readability, which
    /// must not wait for more than one byte, and forgets the last read.
    pub(crate) fn off(&mut self, stream: &PollStream) {
        self.last_read = None;
        self.caught_up = false;
        if self.low_water != 1 && stream.set_low_water(1).is_ok() {
            self.low_water = 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poll::stream::Transport;
    use std::io::Write;
    use std::net::TcpStream;

    fn pair() -> (PollStream, TcpStream) {
        let (client, server) = crate::transport::loopback_pair();
        client.set_nonblocking(true).unwrap();
        (PollStream::plain(Transport::Tcp(client)), server)
    }

    /// A stream whose last body read was at the returned instant, so the next is coalesced.
    fn just_read() -> (PollStream, TcpStream, ReadCoalescing, Instant) {
        let (stream, server) = pair();
        let mut coalescing = ReadCoalescing::new();
        let now = Instant::now();
        coalescing.read_at(now);
        (stream, server, coalescing, now)
    }

    /// Waits (bounded) until `stream` is readable at its current mark.
    fn eventually_readable(stream: &PollStream) -> bool {
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if stream.readable_now() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        false
    }

    #[test]
    fn the_first_read_of_a_body_is_never_held() {
        let (stream, _server) = pair();
        let mut coalescing = ReadCoalescing::new();
        assert_eq!(
            coalescing.plan(&stream, 1 << 30, Instant::now()),
            ReadPlan::Read
        );
        assert_eq!(coalescing.low_water, 1);
    }

    #[test]
    fn a_read_soon_after_another_waits_for_the_low_water_mark() {
        let (stream, mut server, mut coalescing, now) = just_read();
        server.write_all(&[7u8; 1000]).unwrap();
        // A thousand bytes of a gigabyte are not worth a read yet...
        assert_eq!(coalescing.plan(&stream, 1 << 30, now), ReadPlan::Hold);
        assert_eq!(coalescing.low_water, LOW_WATER);
        // ...but once the mark is reached they are.
        server.write_all(&vec![7u8; LOW_WATER]).unwrap();
        assert!(eventually_readable(&stream));
        assert_eq!(coalescing.plan(&stream, 1 << 30, now), ReadPlan::ReadAhead);
    }

    #[test]
    fn the_mark_never_exceeds_what_the_body_has_left() {
        let (stream, mut server, mut coalescing, now) = just_read();
        server.write_all(b"the last 20 bytes..!").unwrap();
        assert!(eventually_readable(&stream));
        assert_eq!(coalescing.plan(&stream, 20, now), ReadPlan::Read);
        assert_eq!(coalescing.low_water, 20);
    }

    #[test]
    fn reads_go_ahead_of_the_chunk_only_once_the_caller_has_caught_up() {
        let (stream, mut server, mut coalescing, now) = just_read();
        // Bytes waiting at every call (a frame loop after its pause): chunk by chunk.
        server.write_all(&vec![1u8; LOW_WATER]).unwrap();
        assert!(eventually_readable(&stream));
        assert_eq!(coalescing.plan(&stream, 1 << 30, now), ReadPlan::Read);
        // A read that has to be held (the caller asks faster than bytes come)...
        let (stream, mut server) = pair();
        coalescing.off(&stream);
        coalescing.read_at(now);
        assert_eq!(coalescing.plan(&stream, 1 << 30, now), ReadPlan::Hold);
        // ...makes the next ones read ahead, until a pause.
        server.write_all(&vec![1u8; LOW_WATER]).unwrap();
        assert!(eventually_readable(&stream));
        assert_eq!(coalescing.plan(&stream, 1 << 30, now), ReadPlan::ReadAhead);
        assert_eq!(
            coalescing.plan(&stream, 1 << 30, now + HOLD),
            ReadPlan::Read
        );
        coalescing.read_at(now + HOLD);
        assert_eq!(
            coalescing.plan(&stream, 1 << 30, now + HOLD),
            ReadPlan::Read
        );
    }

    #[test]
    fn a_held_read_goes_ahead_once_the_hold_has_passed() {
        let (stream, mut server, mut coalescing, then) = just_read();
        server.write_all(b"a slow server's few bytes").unwrap();
        assert_eq!(coalescing.plan(&stream, 1 << 30, then), ReadPlan::Hold);
        assert_eq!(
            coalescing.plan(&stream, 1 << 30, then + HOLD),
            ReadPlan::Read
        );
    }

    #[test]
    fn the_end_of_the_stream_is_readable_below_the_mark() {
        let (stream, mut server, mut coalescing, now) = just_read();
        server.write_all(b"cut short").unwrap();
        drop(server);
        let until = Instant::now() + Duration::from_secs(5);
        while coalescing.plan(&stream, 1 << 30, now) == ReadPlan::Hold {
            assert!(
                Instant::now() < until,
                "a closed stream never became readable"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn off_puts_the_default_mark_back() {
        let (stream, mut server, mut coalescing, now) = just_read();
        assert_eq!(coalescing.plan(&stream, 1 << 30, now), ReadPlan::Hold);
        coalescing.off(&stream);
        assert_eq!(coalescing.low_water, 1);
        server.write_all(b"x").unwrap();
        assert!(eventually_readable(&stream));
        // And with no read on record, the next one is not held.
        assert_eq!(coalescing.plan(&stream, 1 << 30, now), ReadPlan::Read);
    }
}
