//! The memory that body bytes are read straight into, reused instead of allocated afresh.
//!
//! Body reads land in a large block and each read's bytes are split off it and handed out
//! without a copy. A block whose room is used up is retired, not freed: once every piece
//! handed out of it has been dropped (the caller consumed it, or the download writer wrote
//! it), the block is taken back whole. A fresh block costs a page fault per 4 KiB the first
//! time it is touched, and the allocator gives large blocks back to the system when they are
//! freed, so allocating a fresh one each time put those faults into a few unlucky `poll()`
//! calls: taking blocks back brought `poll::Request`'s p99.9 call from 709–735 µs to 560–576 µs
//! (`bench/run-poll-bench.sh`, `PARTS=frame`).

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::coalesce::LOW_WATER;
use super::download_writer::BACKLOG;

/// Below this much room left (or less, when less is asked for), a read gets a new block: a
/// coalesced read waits until this much is queued, and should find room for all of it.
const MIN_READ: usize = LOW_WATER;
/// The smallest block.
const BLOCK: usize = 512 * 1024;
/// Retired blocks kept while their pieces are out: as many as the download writer can hold
/// bytes of, and one more, so the oldest can come back before a fresh one is needed.
const RETIRED: usize = BACKLOG as usize / BLOCK + 1;
/// Retired blocks kept once a body is complete: one, so the next body starts on reused
/// memory while an idle connection holds at most two blocks (1 MiB) with the current room.
const RETIRED_IDLE: usize = 1;

/// A block of room for body reads, and the retired blocks that may be taken back.
#[derive(Debug, Default)]
pub(crate) struct ReadBlock {
    /// The room left in the current block (zeroed or already written once; either way
    /// initialised, so a read can fill it).
    room: BytesMut,
    /// Blocks whose room ran out, oldest first, each as its last (empty) handle.
    retired: VecDeque<BytesMut>,
    /// Whether `room` is (the rest of) a block, rather than the empty start.
    made: bool,
}

impl ReadBlock {
    /// Room for a read of up to `want` bytes: at least `min(want, MIN_READ)`, at most `want`.
    pub(crate) fn room(&mut self, want: usize) -> &mut [u8] {
        let want = want.max(1);
        if self.room.len() < want.min(MIN_READ) {
            self.renew(want.max(BLOCK));
        }
        let n = want.min(self.room.len());
        &mut self.room[..n]
    }

    /// Takes the first `n` bytes of the room (which a read just filled) out as a piece.
    pub(crate) fn take(&mut self, n: usize) -> Bytes {
        self.room.split_to(n.min(self.room.len())).freeze()
    }

    /// The body is complete: most retired blocks are let go (each is freed once its pieces
    /// are), so an idle connection does not hold memory it has no use for.
    pub(crate) fn body_done(&mut self) {
        self.retired.truncate(RETIRED_IDLE);
    }

    /// Replaces the room with a block of at least `size` bytes: a retired one whose pieces
    /// are all gone, or a new one.
    fn renew(&mut self, size: usize) {
        if std::mem::take(&mut self.made) {
            let mut old = std::mem::take(&mut self.room);
            old.clear();
            self.retired.push_back(old);
        }
        let reusable = self.retired.iter_mut().position(|block| {
            // Succeeds only when this handle is the last one on the block; it then spans
            // the whole block again.
            block.try_reclaim(size)
        });
        let mut block = match reusable {
            Some(i) => self.retired.remove(i).unwrap_or_default(),
            None => BytesMut::new(),
        };
        if block.capacity() < size {
            block = BytesMut::zeroed(size);
        } else {
            // The memory is written already, but BytesMut only lends what it counts as
            // initialised; writing it again is a memset, not a page fault.
            block.resize(block.capacity(), 0);
        }
        self.room = block;
        self.made = true;
        while self.retired.len() > RETIRED {
            self.retired.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(block: &mut ReadBlock, want: usize, byte: u8) -> Bytes {
        let room = block.room(want);
        room.fill(byte);
        let n = room.len();
        block.take(n)
    }

    #[test]
    fn a_block_is_taken_back_once_its_pieces_are_dropped() {
        let mut block = ReadBlock::default();
        let first = fill(&mut block, BLOCK, 1);
        let first_at = first.as_ptr();
        assert_eq!(first.len(), BLOCK);
        drop(first);
        // The room is used up: the next read takes the first block back.
        let second = fill(&mut block, BLOCK, 2);
        assert_eq!(second.as_ptr(), first_at);
        assert!(second.iter().all(|&b| b == 2));
    }

    #[test]
    fn a_block_with_a_piece_still_out_is_not_reused() {
        let mut block = ReadBlock::default();
        let kept = fill(&mut block, BLOCK, 7);
        let fresh = fill(&mut block, BLOCK, 8);
        assert_ne!(fresh.as_ptr(), kept.as_ptr());
        // The piece kept by the caller is untouched by the reads after it.
        assert!(kept.iter().all(|&b| b == 7));
        assert!(fresh.iter().all(|&b| b == 8));
    }

    #[test]
    fn pieces_share_a_block_until_its_room_runs_out() {
        let mut block = ReadBlock::default();
        let a = fill(&mut block, 1000, 1);
        let b = fill(&mut block, 1000, 2);
        assert_eq!(a.len(), 1000);
        // Split off the same block, one after the other.
        assert_eq!(b.as_ptr(), a.as_ptr().wrapping_add(1000));
    }

    #[test]
    fn room_is_at_most_what_was_asked_and_never_empty() {
        let mut block = ReadBlock::default();
        assert_eq!(block.room(0).len(), 1);
        assert_eq!(block.room(5).len(), 5);
        // A larger want gets what is left of the block, until the room runs low.
        assert_eq!(block.room(BLOCK * 2).len(), BLOCK);
        block.take(BLOCK - 100);
        // Then a new block as large as the want.
        assert_eq!(block.room(BLOCK * 2).len(), BLOCK * 2);
    }

    #[test]
    fn the_retired_blocks_are_bounded() {
        let mut block = ReadBlock::default();
        let mut out = Vec::new();
        for i in 0..(RETIRED * 2) {
            out.push(fill(&mut block, BLOCK, i as u8));
        }
        assert!(block.retired.len() <= RETIRED);
        for (i, piece) in out.iter().enumerate() {
            assert!(
                piece.iter().all(|&b| b == i as u8),
                "piece {i} was overwritten"
            );
        }
        block.body_done();
        assert!(block.retired.len() <= RETIRED_IDLE);
    }
}
