//! br (RFC 7932), with brotli-decompressor.

use brotli_decompressor::{BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc};

use super::{corrupt, truncated};
use crate::error::Error;
use crate::policy::decode::Coding;

/// br (RFC 7932).
pub(super) struct Brotli {
    state: Box<BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>>,
    seen_input: bool,
    done: bool,
}

impl Brotli {
    pub(super) fn new() -> Brotli {
        let mut state = BrotliState::new(
            StandardAlloc::default(),
            StandardAlloc::default(),
            StandardAlloc::default(),
        );
        // RFC 7932 streams only: the large-window extension would let a server make us
        // allocate up to 1 GiB.
        state.large_window = false;
        Brotli {
            state: Box::new(state),
            seen_input: false,
            done: false,
        }
    }

    pub(super) fn run(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), Error> {
        if self.done {
            return Ok((input.len(), 0));
        }
        self.seen_input |= !input.is_empty();
        let (mut available_in, mut input_offset) = (input.len(), 0);
        let (mut available_out, mut output_offset, mut total_out) = (output.len(), 0, 0);
        let result = BrotliDecompressStream(
            &mut available_in,
            &mut input_offset,
            input,
            &mut available_out,
            &mut output_offset,
            output,
            &mut total_out,
            &mut self.state,
        );
        match result {
            BrotliResult::ResultSuccess => {
                self.done = true;
                Ok((input.len(), output_offset))
            }
            BrotliResult::NeedsMoreInput | BrotliResult::NeedsMoreOutput => {
                Ok((input_offset, output_offset))
            }
            BrotliResult::ResultFailure => Err(corrupt(Coding::Brotli, "invalid stream")),
        }
    }

    pub(super) fn finish(&mut self, output: &mut [u8]) -> Result<usize, Error> {
        if self.done || !self.seen_input {
            return Ok(0);
        }
        let (_, made) = self.run(&[], output)?;
        if made == 0 && !self.done {
            return Err(truncated(Coding::Brotli));
        }
        Ok(made)
    }
}
