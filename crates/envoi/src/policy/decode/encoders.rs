//! Encoders for the decoding tests: one per coding this build decodes.

#[cfg(any(feature = "gzip", feature = "brotli"))]
use std::io::Write as _;

/// Encodes a whole body.
pub(super) type Encode = fn(&[u8]) -> Vec<u8>;

#[cfg(feature = "gzip")]
pub(super) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[cfg(feature = "gzip")]
pub(super) fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[cfg(feature = "gzip")]
pub(super) fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[cfg(feature = "brotli")]
pub(super) fn brotli(data: &[u8]) -> Vec<u8> {
    let mut e = brotli::CompressorWriter::new(Vec::new(), 4096, 5, 22);
    e.write_all(data).unwrap();
    e.into_inner()
}

#[cfg(feature = "zstd")]
pub(super) fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).unwrap()
}

/// Each coding this build decodes, with an encoder for it (deflate twice: zlib-wrapped and
/// raw).
pub(super) fn encoders() -> Vec<(&'static str, Encode)> {
    let mut all: Vec<(&'static str, Encode)> = Vec::new();
    #[cfg(feature = "gzip")]
    all.extend([
        ("gzip", gzip as Encode),
        ("deflate", zlib),
        ("deflate", raw_deflate),
    ]);
    #[cfg(feature = "brotli")]
    all.push(("br", brotli));
    #[cfg(feature = "zstd")]
    all.push(("zstd", zstd));
    all
}
