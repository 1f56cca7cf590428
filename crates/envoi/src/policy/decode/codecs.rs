//! The decoder of each coding, behind one interface: `run` decodes what it can, `finish`
//! flushes at the end of the body and fails if the stream was cut short. Each library sits
//! behind its feature (`gzip`, `brotli`, `zstd`).

// With every decoding feature off there is no coding to decode: what remains compiles, and
// is never reached.
#![cfg_attr(
    not(any(feature = "gzip", feature = "brotli", feature = "zstd")),
    allow(unused_variables, unreachable_code, dead_code)
)]

use super::Coding;
use crate::error::{Error, ErrorKind};

#[cfg(feature = "brotli")]
mod br;
#[cfg(feature = "gzip")]
mod inflate;
#[cfg(feature = "zstd")]
mod zstd;

/// One coding's decoder.
pub(super) struct Stage(Codec);

enum Codec {
    #[cfg(feature = "gzip")]
    Gzip(inflate::Gzip),
    #[cfg(feature = "gzip")]
    Deflate(inflate::Deflate),
    #[cfg(feature = "brotli")]
    Brotli(br::Brotli),
    #[cfg(feature = "zstd")]
    Zstd(zstd::Zstd),
}

impl Stage {
    pub(super) fn new(coding: Coding) -> Stage {
        Stage(match coding {
            #[cfg(feature = "gzip")]
            Coding::Gzip => Codec::Gzip(inflate::Gzip::new()),
            #[cfg(feature = "gzip")]
            Coding::Deflate => Codec::Deflate(inflate::Deflate::new()),
            #[cfg(feature = "brotli")]
            Coding::Brotli => Codec::Brotli(br::Brotli::new()),
            #[cfg(feature = "zstd")]
            Coding::Zstd => Codec::Zstd(zstd::Zstd::default()),
        })
    }

    /// Decodes what it can: (consumed, produced). `output` is never empty.
    pub(super) fn run(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), Error> {
        match &mut self.0 {
            #[cfg(feature = "gzip")]
            Codec::Gzip(s) => s.run(input, output),
            #[cfg(feature = "gzip")]
            Codec::Deflate(s) => s.run(input, output),
            #[cfg(feature = "brotli")]
            Codec::Brotli(s) => s.run(input, output),
            #[cfg(feature = "zstd")]
            Codec::Zstd(s) => s.run(input, output),
            #[cfg(not(any(feature = "gzip", feature = "brotli", feature = "zstd")))]
            codec => match *codec {},
        }
    }

    /// The input has ended: flushes; 0 means complete, an error means cut short.
    pub(super) fn finish(&mut self, output: &mut [u8]) -> Result<usize, Error> {
        match &mut self.0 {
            #[cfg(feature = "gzip")]
            Codec::Gzip(s) => s.finish(output),
            #[cfg(feature = "gzip")]
            Codec::Deflate(s) => s.finish(output),
            #[cfg(feature = "brotli")]
            Codec::Brotli(s) => s.finish(output),
            #[cfg(feature = "zstd")]
            Codec::Zstd(s) => s.finish(output),
            #[cfg(not(any(feature = "gzip", feature = "brotli", feature = "zstd")))]
            codec => match *codec {},
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
