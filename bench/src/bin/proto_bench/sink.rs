//! Where body bytes end up. Every large-body loop is generic over a `Sink`, so the timed runs
//! and the one checked run execute the same loop, monomorphised, with no dynamic dispatch.

use std::hint::black_box;

pub trait Sink {
    /// A piece of body the protocol layer handed out (envoi's `Event::Data`, a hyper frame):
    /// what a reader does with it.
    fn piece(&mut self, data: &[u8]);
    /// The direct path: the "socket read" lands in the reader's own buffer, so this is the
    /// only copy of these bytes.
    fn read_into(&mut self, src: &[u8]);
}

/// A page-aligned byte buffer. `rep movsb` copies on this CPU run several percent faster or
/// slower with the destination's alignment, so every destination buffer of every case is
/// aligned alike; otherwise malloc's placement would show up as a difference between cases.
pub struct Aligned {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl Aligned {
    const ALIGN: usize = 4096;

    pub fn new(len: usize) -> Aligned {
        let storage = vec![0; len + Self::ALIGN];
        let start = storage.as_ptr().align_offset(Self::ALIGN);
        Aligned {
            storage,
            start,
            len,
        }
    }

    pub fn get(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

/// A reader with a `READ_SIZE` destination buffer, as `std::io::Read::read` callers have.
pub struct CopyOut {
    dst: Aligned,
}

impl CopyOut {
    pub fn new(size: usize) -> CopyOut {
        CopyOut {
            dst: Aligned::new(size),
        }
    }

    fn copy(&mut self, src: &[u8]) {
        let dst = self.dst.get();
        // Pieces never exceed a read here, but a reader would loop, so this does too.
        for part in src.chunks(dst.len()) {
            dst[..part.len()].copy_from_slice(part);
            // Without this the optimiser may drop copies nobody reads.
            black_box(&mut *dst);
        }
    }
}

impl Sink for CopyOut {
    fn piece(&mut self, data: &[u8]) {
        self.copy(data);
    }

    fn read_into(&mut self, src: &[u8]) {
        self.copy(src);
    }
}

/// A consumer that takes the `Bytes` as they are (writes them on, hashes them in place):
/// issue 3's "drain `Data` events and sum lengths".
pub struct Count {
    pub total: u64,
}

impl Sink for Count {
    fn piece(&mut self, data: &[u8]) {
        self.total += black_box(data).len() as u64;
    }

    fn read_into(&mut self, _src: &[u8]) {
        unreachable!("a direct read always has a destination; use CopyOut")
    }
}

/// The check run: every byte delivered, in order, equals the body.
pub struct Check {
    body: &'static [u8],
    at: usize,
}

impl Check {
    pub fn new(body: &'static [u8]) -> Check {
        Check { body, at: 0 }
    }

    pub fn finish(&self) {
        assert_eq!(self.at, self.body.len(), "body length");
    }
}

impl Sink for Check {
    fn piece(&mut self, data: &[u8]) {
        let end = self.at + data.len();
        assert!(
            end <= self.body.len() && self.body[self.at..end] == *data,
            "body bytes differ at offset {}",
            self.at
        );
        self.at = end;
    }

    fn read_into(&mut self, src: &[u8]) {
        self.piece(src);
    }
}
