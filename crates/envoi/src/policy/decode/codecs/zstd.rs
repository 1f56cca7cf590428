//! zstd (RFC 8878), with the zstd library.

use ::zstd::stream::raw::{DParameter, Decoder as ZstdDecoder, Operation as _};

use super::{corrupt, truncated};
use crate::error::Error;
use crate::policy::decode::Coding;

/// The largest zstd window accepted: RFC 9659 §3 caps the coding at 8 MiB so that a client's
/// memory stays bounded.
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// zstd (RFC 8878), frame after frame.
#[derive(Default)]
pub(super) struct Zstd {
    /// Made on first use, so that a failure to allocate is an error of the body, not a
    /// silent pass-through.
    decoder: Option<ZstdDecoder<'static>>,
    in_frame: bool,
}

impl Zstd {
    fn decoder(&mut self) -> Result<&mut ZstdDecoder<'static>, Error> {
        if self.decoder.is_none() {
            let mut decoder = ZstdDecoder::new()
                .map_err(|e| corrupt(Coding::Zstd, "cannot create a decoder").with_source(e))?;
            decoder
                .set_parameter(DParameter::WindowLogMax(ZSTD_WINDOW_LOG_MAX))
                .map_err(|e| corrupt(Coding::Zstd, "cannot limit the window").with_source(e))?;
            self.decoder = Some(decoder);
        }
        // Set just above.
        self.decoder
            .as_mut()
            .ok_or_else(|| corrupt(Coding::Zstd, "no decoder"))
    }

    pub(super) fn run(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), Error> {
        if input.is_empty() && self.decoder.is_none() {
            return Ok((0, 0));
        }
        let status = self
            .decoder()?
            .run_on_buffers(input, output)
            .map_err(|e| corrupt(Coding::Zstd, &e.to_string()).with_source(e))?;
        // `remaining` is 0 exactly when a frame is complete and flushed; a call that moved
        // nothing says nothing new.
        if status.bytes_read > 0 || status.bytes_written > 0 {
            self.in_frame = status.remaining != 0;
        }
        Ok((status.bytes_read, status.bytes_written))
    }

    pub(super) fn finish(&mut self, output: &mut [u8]) -> Result<usize, Error> {
        let (_, made) = self.run(&[], output)?;
        if made == 0 && self.in_frame {
            return Err(truncated(Coding::Zstd));
        }
        Ok(made)
    }
}
