//! The few socket calls that std does not offer, made through libc. This is the
//! only unsafe code in envoi, kept in one place to be read as a whole.
//!
//! Why not a crate: rustix offered `poll` and a non-blocking `recv`, and with linux-raw-sys
//! it cost 5.1 s of the 111 s of compile time of a clean release build of a minimal program
//! (`cargo build --timings`, unit times), where issue 4 asks for a build as quick as ureq's. Three thin calls
//! are cheaper to audit than that is to build.

// Without the poll front end, only `recv_now` and `peek_now` have callers.
#![cfg_attr(not(feature = "poll"), allow(dead_code))]

use std::io;
use std::marker::PhantomData;
use std::net::TcpStream;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::Duration;

/// A descriptor to `poll` for reading, writing or both, and what `poll` found.
#[repr(transparent)]
pub(crate) struct PollFd<'fd> {
    raw: libc::pollfd,
    /// The descriptor stays open while it is polled.
    fd: PhantomData<BorrowedFd<'fd>>,
}

impl<'fd> PollFd<'fd> {
    /// Polls `fd` for readability, and for writability too when `write`.
    pub(crate) fn new(fd: &'fd impl AsFd, read: bool, write: bool) -> Self {
        let mut events = 0;
        if read {
            events |= libc::POLLIN;
        }
        if write {
            events |= libc::POLLOUT;
        }
        PollFd {
            raw: libc::pollfd {
                fd: fd.as_fd().as_raw_fd(),
                events,
                revents: 0,
            },
            fd: PhantomData,
        }
    }

    /// True when the last `poll` found the descriptor ready, ended or failed.
    pub(crate) fn is_ready(&self) -> bool {
        self.raw.revents != 0
    }
}

/// `poll(2)`: waits up to `timeout` (rounded up to whole milliseconds, the call's unit; zero
/// does not wait) for one of `fds` to be ready, and says how many are.
pub(crate) fn poll(fds: &mut [PollFd<'_>], timeout: Duration) -> io::Result<usize> {
    let millis = timeout.as_micros().div_ceil(1000);
    let millis = libc::c_int::try_from(millis).unwrap_or(libc::c_int::MAX);
    let count = libc::nfds_t::try_from(fds.len())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `PollFd` is a transparent wrapper of `libc::pollfd`, so the slice is `count`
    // contiguous pollfd structs, which poll(2) reads and whose `revents` it writes, and
    // nothing else; the borrow keeps them alive across the call. Each descriptor is
    // borrowed for the lifetime of its `PollFd`, so it is still open.
    let rc = unsafe { libc::poll(fds.as_mut_ptr().cast::<libc::pollfd>(), count, millis) };
    usize::try_from(rc).map_err(|_| io::Error::last_os_error())
}

/// True when `fd` is readable now (at its low-water mark), or has ended or failed; a failed
/// check counts as readable, so the read that follows finds out.
pub(crate) fn readable_now(fd: &impl AsFd) -> bool {
    !matches!(
        poll(&mut [PollFd::new(fd, true, false)], Duration::ZERO),
        Ok(0)
    )
}

/// `recv(2)` with `MSG_DONTWAIT`: what has arrived, without waiting and whatever the
/// socket's blocking mode; `None` when nothing has (no bytes, no end, no error).
pub(crate) fn recv_now(tcp: &TcpStream, buf: &mut [u8]) -> io::Result<Option<usize>> {
    recv(tcp, buf, libc::MSG_DONTWAIT)
}

/// [`recv_now`] with `MSG_PEEK`, for one byte: whether anything has arrived (bytes, an end or
/// an error), leaving it to be read.
pub(crate) fn peek_now(tcp: &TcpStream) -> io::Result<Option<usize>> {
    recv(tcp, &mut [0], libc::MSG_PEEK | libc::MSG_DONTWAIT)
}

fn recv(tcp: &TcpStream, buf: &mut [u8], flags: libc::c_int) -> io::Result<Option<usize>> {
    loop {
        // SAFETY: the descriptor belongs to `tcp`, borrowed for the whole call; recv(2)
        // writes at most `buf.len()` bytes into `buf`, which is initialised and exclusively
        // borrowed.
        let rc = unsafe {
            libc::recv(
                tcp.as_raw_fd(),
                buf.as_mut_ptr().cast::<libc::c_void>(),
                buf.len(),
                flags,
            )
        };
        if let Ok(n) = usize::try_from(rc) {
            return Ok(Some(n));
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::WouldBlock => return Ok(None),
            io::ErrorKind::Interrupted => continue,
            _ => return Err(e),
        }
    }
}

/// `setsockopt(SO_RCVLOWAT)`: how many bytes must be queued before `poll` reports the socket
/// readable. Read coalescing needs it (`poll/coalesce.rs`); it took the tight-loop download
/// from 0.68–0.87× to a median of 1.00× the blocking client's MB/s
/// (`bench/run-poll-bench.sh`, nine rounds).
pub(crate) fn set_receive_low_water(tcp: &TcpStream, bytes: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    let size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the descriptor belongs to `tcp`, which is borrowed for the whole call, and the
    // option value points to a c_int on this stack frame whose size is passed with it, which
    // is what setsockopt(2) reads for SO_RCVLOWAT. Nothing is written through the pointer.
    let rc = unsafe {
        libc::setsockopt(
            tcp.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            (&value as *const libc::c_int).cast(),
            size,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::loopback_pair as pair;
    use std::io::Write;
    use std::time::Instant;

    #[test]
    fn recv_now_returns_none_until_bytes_arrive_then_the_bytes_then_the_end() {
        let (client, mut server) = pair();
        let mut buf = [0u8; 16];
        // The socket is in blocking mode: the call still does not wait.
        assert_eq!(recv_now(&client, &mut buf).unwrap(), None);
        server.write_all(b"hello").unwrap();
        let mut fds = [PollFd::new(&client, true, false)];
        assert_eq!(poll(&mut fds, Duration::from_secs(5)).unwrap(), 1);
        assert!(fds[0].is_ready());
        assert_eq!(recv_now(&client, &mut buf).unwrap(), Some(5));
        assert_eq!(&buf[..5], b"hello");
        drop(server);
        let mut fds = [PollFd::new(&client, true, false)];
        poll(&mut fds, Duration::from_secs(5)).unwrap();
        assert_eq!(recv_now(&client, &mut buf).unwrap(), Some(0));
    }

    #[test]
    fn poll_with_a_zero_timeout_does_not_wait_and_finds_nothing_idle() {
        let (client, _server) = pair();
        let mut fds = [PollFd::new(&client, true, false)];
        let started = Instant::now();
        assert_eq!(poll(&mut fds, Duration::ZERO).unwrap(), 0);
        assert!(!fds[0].is_ready());
        assert!(started.elapsed() < Duration::from_secs(1));
        // A connected socket with room to send is writable at once.
        let mut fds = [PollFd::new(&client, false, true)];
        assert_eq!(poll(&mut fds, Duration::ZERO).unwrap(), 1);
    }

    #[test]
    fn the_low_water_mark_holds_readability_until_that_much_is_queued() {
        let (client, mut server) = pair();
        set_receive_low_water(&client, 100).unwrap();
        server.write_all(&[1u8; 50]).unwrap();
        let mut fds = [PollFd::new(&client, true, false)];
        assert_eq!(poll(&mut fds, Duration::from_millis(50)).unwrap(), 0);
        server.write_all(&[1u8; 50]).unwrap();
        let mut fds = [PollFd::new(&client, true, false)];
        assert_eq!(poll(&mut fds, Duration::from_secs(5)).unwrap(), 1);
    }
}
