//! A whole body read into one buffer, for the blocking and async responses' `bytes()` and
//! `text()`: sized by the announced length, so a 13-byte body costs no 64 KiB scratch
//! buffer, and read straight into the result, so no byte is copied twice.

use bytes::{Bytes, BytesMut};

/// The first buffer for a body of unknown length.
const FIRST_GUESS: usize = 8 * 1024;
/// The most reserved up front for an announced length: a lying `Content-Length` must not
/// reserve gigabytes before a byte has arrived.
const UP_FRONT_LIMIT: u64 = 64 * 1024 * 1024;
/// The smallest growth once the buffer is full; the buffer itself grows by doubling.
const MIN_GROWTH: usize = 64 * 1024;

/// A body being collected: `filled` bytes of data at the front of `all`, whose whole length
/// has been initialised once (safe code cannot read into uninitialised memory, so each byte
/// is zeroed at most once, never again after a short read).
pub(crate) struct WholeBody {
    all: BytesMut,
    filled: usize,
}

impl WholeBody {
    /// A buffer for a body of `content_length` bytes, or of a first guess when unknown.
    pub(crate) fn new(content_length: Option<u64>) -> WholeBody {
        // The announced length plus the one byte of room that shows the end of the body
        // without a second buffer.
        let capacity = content_length.map_or(FIRST_GUESS, |n| n.min(UP_FRONT_LIMIT) as usize + 1);
        WholeBody {
            all: BytesMut::with_capacity(capacity),
            filled: 0,
        }
    }

    /// Where the next read goes: the room after the data, grown when there is none.
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        if self.filled == self.all.len() {
            if self.all.len() == self.all.capacity() {
                self.all.reserve(self.filled.max(MIN_GROWTH));
            }
            self.all.resize(self.all.capacity(), 0);
        }
        &mut self.all[self.filled..]
    }

    /// Keeps the `n` bytes the last read put into [`spare`](Self::spare); false when `n` is
    /// 0, the end of the body.
    pub(crate) fn commit(&mut self, n: usize) -> bool {
        self.filled += n;
        n > 0
    }

    /// The body.
    pub(crate) fn finish(mut self) -> Bytes {
        self.all.truncate(self.filled);
        self.all.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `body` through a `WholeBody` in reads of at most `step` bytes.
    fn collect(content_length: Option<u64>, body: &[u8], step: usize) -> Bytes {
        let mut whole = WholeBody::new(content_length);
        let mut rest = body;
        loop {
            let spare = whole.spare();
            assert!(!spare.is_empty(), "a read always gets room");
            let n = rest.len().min(step).min(spare.len());
            spare[..n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
            if !whole.commit(n) {
                return whole.finish();
            }
        }
    }

    #[test]
    fn an_announced_small_body_fits_its_first_buffer() {
        let mut whole = WholeBody::new(Some(13));
        assert_eq!(whole.spare().len(), 14);
        whole.spare()[..13].copy_from_slice(b"Hello, world\n");
        assert!(whole.commit(13));
        assert_eq!(whole.spare().len(), 1, "the room that shows the end");
        assert!(!whole.commit(0));
        assert_eq!(&whole.finish()[..], b"Hello, world\n");
    }

    #[test]
    fn bodies_of_any_length_come_back_whole() {
        let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        for (announced, step) in [(None, 1000), (None, 70_000), (Some(300_000), 4096)] {
            assert_eq!(&collect(announced, &body, step)[..], &body[..]);
        }
    }

    #[test]
    fn a_body_longer_than_announced_still_comes_back_whole() {
        // The framing layer refuses this on the wire; the buffer itself must not lose bytes.
        let body = vec![7u8; 50_000];
        assert_eq!(collect(Some(10), &body, 8192).len(), 50_000);
    }

    #[test]
    fn a_huge_announced_length_reserves_a_bounded_buffer() {
        let mut whole = WholeBody::new(Some(u64::MAX));
        assert_eq!(whole.spare().len() as u64, UP_FRONT_LIMIT + 1);
    }

    #[test]
    fn an_empty_body_is_empty() {
        assert!(collect(Some(0), b"", 10).is_empty());
        assert!(collect(None, b"", 10).is_empty());
    }
}
