//! The decoder of each coding, behind one interface: `run` decodes what it can, `finish`
//! flushes at the end of the body and fails if the stream was cut short.

use brotli::enc::StandardAlloc;
use brotli::{BrotliDecompressStream, BrotliResult, BrotliState};
use flate2::{Decompress, FlushDecompress, Status};
use zstd::stream::raw::{DParameter, Decoder as ZstdDecoder, Operation as _};

use super::Coding;
use crate::error::{Error, ErrorKind};

/// The largest zstd window accepted: RFC 9659 §3 caps the coding at 8 MiB so that a client's
/// memory stays bounded.
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// One coding's decoder.
pub(super) struct Stage(Codec);

enum Codec {
    Gzip(Gzip),
    Deflate(Deflate),
    Brotli(Brotli),
    Zstd(Zstd),
}

impl Stage {
    pub(super) fn new(coding: Coding) -> Stage {
        Stage(match coding {
            Coding::Gzip => Codec::Gzip(Gzip::new()),
            Coding::Deflate => Codec::Deflate(Deflate::Sniff(Prefix::default())),
            Coding::Brotli => Codec::Brotli(Brotli::new()),
            Coding::Zstd => Codec::Zstd(Zstd::default()),
        })
    }

    /// Decodes what it can: (consumed, produced). `output` is never empty.
    pub(super) fn run(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), Error> {
        match &mut self.0 {
            Codec::Gzip(s) => s.run(input, output),
            Codec::Deflate(s) => s.run(input, output),
            Codec::Brotli(s) => s.run(input, output),
            Codec::Zstd(s) => s.run(input, output),
        }
    }

    /// The input has ended: flushes; 0 means complete, an error means cut short.
    pub(super) fn finish(&mut self, output: &mut [u8]) -> Result<usize, Error> {
        match &mut self.0 {
            Codec::Gzip(s) => s.finish(output),
            Codec::Deflate(s) => s.finish(output),
            Codec::Brotli(s) => s.finish(output),
            Codec::Zstd(s) => s.finish(output),
        }
    }
}

fn corrupt(coding: Coding, detail: &str) -> Error {
    Error::new(
        ErrorKind::DecompressionFailed,
        format!("{}: {detail}", coding.name()),
    )
}

fn truncated(coding: Coding) -> Error {
    corrupt(coding, "the body ends inside the compressed stream")
}

/// Up to two bytes read ahead (a gzip magic, a zlib header) to be fed to the codec first.
#[derive(Clone, Copy, Default)]
struct Prefix {
    bytes: [u8; 2],
    start: usize,
    len: usize,
}

impl Prefix {
    fn push(&mut self, b: u8) {
        if self.len < 2 {
            self.bytes[self.len] = b;
            self.len += 1;
        }
    }

    fn pending(&self) -> &[u8] {
        &self.bytes[self.start..self.len]
    }
}

/// A zlib-family decompressor fed first from a prefix, then from the input; reports
/// (consumed from input, produced, stream ended).
struct Inflate {
    z: Box<Decompress>,
    prefix: Prefix,
}

impl Inflate {
    fn run(
        &mut self,
        coding: Coding,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(usize, usize, bool), Error> {
        let mut produced = 0;
        if !self.prefix.pending().is_empty() {
            let pending = self.prefix;
            let (used, made, end) = self.step(coding, pending.pending(), output)?;
            self.prefix.start += used;
            produced += made;
            if end || !self.prefix.pending().is_empty() {
                return Ok((0, produced, end));
            }
        }
        let (used, made, end) = self.step(coding, input, &mut output[produced..])?;
        Ok((used, produced + made, end))
    }

    fn step(
        &mut self,
        coding: Coding,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(usize, usize, bool), Error> {
        let (in_before, out_before) = (self.z.total_in(), self.z.total_out());
        let status = self
            .z
            .decompress(input, output, FlushDecompress::None)
            .map_err(|e| {
                let detail = e.message().unwrap_or("invalid data").to_owned();
                corrupt(coding, &detail).with_source(e)
            })?;
        // Both deltas are bounded by the slices' lengths.
        let used = (self.z.total_in() - in_before) as usize;
        let made = (self.z.total_out() - out_before) as usize;
        Ok((used, made, status == Status::StreamEnd))
    }

    /// The input has ended: drains, then fails unless the stream ended.
    fn finish(&mut self, coding: Coding, output: &mut [u8]) -> Result<(usize, bool), Error> {
        let (_, made, end) = self.run(coding, &[], output)?;
        if made == 0 && !end {
            return Err(truncated(coding));
        }
        Ok((made, end))
    }
}

/// gzip (RFC 1952), one member after another.
enum Gzip {
    Member {
        inflate: Inflate,
        first: bool,
    },
    /// A member ended; a next one starts with the magic 1f 8b.
    Between(Prefix),
    /// Not a member: ignored.
    Trailing,
}

impl Gzip {
    fn new() -> Gzip {
        Gzip::member(Prefix::default(), true)
    }

    fn member(prefix: Prefix, first: bool) -> Gzip {
        Gzip::Member {
            inflate: Inflate {
                z: Box::new(Decompress::new_gzip(15)),
                prefix,
            },
            first,
        }
    }

    fn run(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), Error> {
        let (mut consumed, mut produced) = (0, 0);
        loop {
            match self {
                Gzip::Member { inflate, .. } => {
                    let (used, made, end) =
                        inflate.run(Coding::Gzip, &input[consumed..], &mut output[produced..])?;
                    consumed += used;
                    produced += made;
                    if !end {
                        return Ok((consumed, produced));
                    }
                    *self = Gzip::Between(Prefix::default());
                }
                Gzip::Between(magic) => {
                    let Some(&b) = input.get(consumed) else {
                        return Ok((consumed, produced));
                    };
                    consumed += 1;
                    magic.push(b);
                    match magic.pending() {
                        [0x1f] => {}
                        [0x1f, 0x8b] => *self = Gzip::member(*magic, false),
                        _ => *self = Gzip::Trailing,
                    }
                }
                Gzip::Trailing => return Ok((input.len(), produced)),
            }
        }
    }

    fn finish(&mut self, output: &mut [u8]) -> Result<usize, Error> {
        match self {
            Gzip::Member { inflate, first } => {
                if *first && inflate.z.total_in() == 0 {
                    // An empty body is complete, whatever its coding.
                    *self = Gzip::Trailing;
                    return Ok(0);
                }
                let (made, end) = inflate.finish(Coding::Gzip, output)?;
                if end {
                    *self = Gzip::Trailing;
                }
                Ok(made)
            }
            Gzip::Between(_) | Gzip::Trailing => Ok(0),
        }
    }
}

/// deflate: the zlib format (RFC 1950) as RFC 9110 says, or raw deflate (RFC 1951) as some
/// servers send; the first two bytes tell which.
enum Deflate {
    Sniff(Prefix),
    Inflate(Inflate),
    Done,
}

impl Deflate {
    fn run(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), Error> {
        let mut consumed = 0;
        loop {
            match self {
                Deflate::Sniff(prefix) => {
                    let Some(&b) = input.get(consumed) else {
                        return Ok((consumed, 0));
                    };
                    consumed += 1;
                    prefix.push(b);
                    if let [cmf, flg] = *prefix.pending() {
                        let zlib = is_zlib_header(cmf, flg);
                        *self = Deflate::Inflate(Inflate {
                            z: Box::new(Decompress::new(zlib)),
                            prefix: *prefix,
                        });
                    }
                }
                Deflate::Inflate(inflate) => {
                    let (used, made, end) =
                        inflate.run(Coding::Deflate, &input[consumed..], output)?;
                    if end {
                        *self = Deflate::Done;
                    }
                    return Ok((consumed + used, made));
                }
                Deflate::Done => return Ok((input.len(), 0)),
            }
        }
    }

    fn finish(&mut self, output: &mut [u8]) -> Result<usize, Error> {
        match self {
            Deflate::Sniff(prefix) if prefix.pending().is_empty() => Ok(0),
            Deflate::Sniff(_) => Err(truncated(Coding::Deflate)),
            Deflate::Inflate(inflate) => {
                let (made, end) = inflate.finish(Coding::Deflate, output)?;
                if end {
                    *self = Deflate::Done;
                }
                Ok(made)
            }
            Deflate::Done => Ok(0),
        }
    }
}

/// RFC 1950 §2.2: method 8 with a window of at most 32 KiB, a header checksum that divides
/// by 31, and no preset dictionary (HTTP has none to offer).
fn is_zlib_header(cmf: u8, flg: u8) -> bool {
    cmf & 0x0f == 8
        && cmf >> 4 <= 7
        && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
        && flg & 0x20 == 0
}

/// br (RFC 7932).
struct Brotli {
    state: Box<BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>>,
    seen_input: bool,
    done: bool,
}

impl Brotli {
    fn new() -> Brotli {
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

    fn run(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), Error> {
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

    fn finish(&mut self, output: &mut [u8]) -> Result<usize, Error> {
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

/// zstd (RFC 8878), frame after frame.
#[derive(Default)]
struct Zstd {
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

    fn run(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), Error> {
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

    fn finish(&mut self, output: &mut [u8]) -> Result<usize, Error> {
        let (_, made) = self.run(&[], output)?;
        if made == 0 && self.in_frame {
            return Err(truncated(Coding::Zstd));
        }
        Ok(made)
    }
}
