//! gzip (RFC 1952) and deflate (RFC 1950, or raw RFC 1951 as some servers send), with
//! flate2 on the zlib-rs backend.

use flate2::{Decompress, FlushDecompress, Status};

use super::{corrupt, truncated};
use crate::error::Error;
use crate::policy::decode::Coding;

/// Up to two bytes read ahead (a gzip magic, a zlib header) to be fed to the codec first.
#[derive(Clone, Copy, Default)]
pub(super) struct Prefix {
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
pub(super) struct Inflate {
    z: Box<Decompress>,
    prefix: Prefix,
}

impl Inflate {
    pub(super) fn run(
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
    pub(super) fn finish(
        &mut self,
        coding: Coding,
        output: &mut [u8],
    ) -> Result<(usize, bool), Error> {
        let (_, made, end) = self.run(coding, &[], output)?;
        if made == 0 && !end {
            return Err(truncated(coding));
        }
        Ok((made, end))
    }
}

/// gzip (RFC 1952), one member after another.
pub(super) enum Gzip {
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
    pub(super) fn new() -> Gzip {
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

    pub(super) fn run(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), Error> {
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

    pub(super) fn finish(&mut self, output: &mut [u8]) -> Result<usize, Error> {
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
pub(super) enum Deflate {
    Sniff(Prefix),
    Inflate(Inflate),
    Done,
}

impl Deflate {
    pub(super) fn new() -> Deflate {
        Deflate::Sniff(Prefix::default())
    }

    pub(super) fn run(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), Error> {
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

    pub(super) fn finish(&mut self, output: &mut [u8]) -> Result<usize, Error> {
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
