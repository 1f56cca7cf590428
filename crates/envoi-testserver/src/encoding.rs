//! Compressed responses: `/gzip`, `/deflate`, `/brotli`, `/zstd` (httpbin's JSON, compressed)
//! and the decompression bombs `/{gzip,deflate,zstd,brotli}-bomb/{n}` (n zero bytes once
//! decoded, generated on the fly).
//!
//! The gzip, deflate and zstd bombs never run a compressor per request: they repeat one
//! compressed 1 MiB block of zeros. That is valid because every back-reference inside the
//! block points at zeros, wherever the block lands; for zstd, concatenated frames are valid.
//! Their size is therefore known up front and sent as `Content-Length`.

use std::io::Write;
use std::sync::OnceLock;

use bytes::Bytes;
use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use flate2::Compression;
use http::header::{HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use http::{Response, StatusCode};
use serde_json::Value;

use crate::body::{generated, json, Body, HttpError, Reply};

/// The decoded size of one repeated bomb block.
const BLOCK: usize = 1 << 20;

/// A content coding this server can produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    Deflate,
    Brotli,
    Zstd,
}

impl Coding {
    /// The coding an endpoint name like `gzip` or `deflate` stands for.
    pub(crate) fn from_name(name: &str) -> Option<Coding> {
        match name {
            "gzip" => Some(Coding::Gzip),
            "deflate" => Some(Coding::Deflate),
            "brotli" => Some(Coding::Brotli),
            "zstd" => Some(Coding::Zstd),
            _ => None,
        }
    }

    fn header(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Brotli => "br",
            Coding::Zstd => "zstd",
        }
    }

    /// The flag httpbin adds to the JSON (`"gzipped": true`, ...).
    pub(crate) fn json_flag(self) -> &'static str {
        match self {
            Coding::Gzip => "gzipped",
            Coding::Deflate => "deflated",
            Coding::Brotli => "brotli",
            Coding::Zstd => "zstd",
        }
    }
}

/// `value` as JSON, compressed with `coding`.
pub(crate) fn compressed_json(coding: Coding, value: &Value) -> Reply {
    let text = serde_json::to_vec_pretty(value).unwrap_or_default();
    let compressed = compress(coding, &text)
        .map_err(|e| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let mut response = json(StatusCode::OK, &Value::Null);
    *response.body_mut() = crate::body::full(compressed);
    response
        .headers_mut()
        .insert(CONTENT_ENCODING, HeaderValue::from_static(coding.header()));
    Ok(response)
}

/// `/{coding}-bomb/{n}`: a body that decodes to `n` zero bytes.
pub(crate) fn bomb(coding: Coding, n: u64) -> Reply {
    let body = match coding {
        Coding::Gzip => repeated(gzip_pieces(n)?, n),
        Coding::Deflate => repeated(zlib_pieces(n)?, n),
        Coding::Zstd => repeated(zstd_pieces(n)?, n),
        Coding::Brotli => brotli_zeros(n),
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding.header()));
    headers.insert("x-decoded-length", HeaderValue::from(n));
    Ok(response)
}

fn compress(coding: Coding, data: &[u8]) -> std::io::Result<Vec<u8>> {
    match coding {
        Coding::Gzip => {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
            encoder.write_all(data)?;
            encoder.finish()
        }
        Coding::Deflate => {
            let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
            encoder.write_all(data)?;
            encoder.finish()
        }
        Coding::Brotli => {
            let mut out = Vec::new();
            {
                let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                writer.write_all(data)?;
            }
            Ok(out)
        }
        Coding::Zstd => zstd::encode_all(data, 3),
    }
}

/// The pieces of a repeated-block bomb: a prefix, a block repeated `n / BLOCK` times, a tail
/// ending the compressed stream, and a suffix (the checksum trailer).
struct Pieces {
    prefix: Bytes,
    block: Bytes,
    tail: Bytes,
    suffix: Bytes,
}

/// RFC 1952: magic, CM=8, no flags, mtime 0, XFL 0, OS unknown; then CRC-32 and ISIZE.
fn gzip_pieces(n: u64) -> Result<Pieces, HttpError> {
    let mut suffix = crc32_of_zeros(n).to_le_bytes().to_vec();
    suffix.extend_from_slice(&(n as u32).to_le_bytes());
    Ok(Pieces {
        prefix: Bytes::from_static(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]),
        block: deflate_block().clone(),
        tail: Bytes::from(deflate_zeros(remainder(n), true).map_err(internal)?),
        suffix: Bytes::from(suffix),
    })
}

/// RFC 1950: zlib header, then the Adler-32 of n zeros: a = 1, b = n mod 65521.
fn zlib_pieces(n: u64) -> Result<Pieces, HttpError> {
    let adler = (((n % 65521) as u32) << 16) | 1;
    Ok(Pieces {
        prefix: Bytes::from_static(&[0x78, 0x9c]),
        block: deflate_block().clone(),
        tail: Bytes::from(deflate_zeros(remainder(n), true).map_err(internal)?),
        suffix: Bytes::copy_from_slice(&adler.to_be_bytes()),
    })
}

/// RFC 8878: a sequence of frames decodes to the concatenation of their contents.
fn zstd_pieces(n: u64) -> Result<Pieces, HttpError> {
    let tail = zstd::bulk::compress(&vec![0u8; remainder(n)], 3).map_err(internal)?;
    Ok(Pieces {
        prefix: Bytes::new(),
        block: zstd_block().clone(),
        tail: Bytes::from(tail),
        suffix: Bytes::new(),
    })
}

/// A body of `pieces`, with the block repeated once per whole [`BLOCK`] in `n`.
fn repeated(pieces: Pieces, n: u64) -> Body {
    let blocks = n / BLOCK as u64;
    let len = pieces.prefix.len() as u64
        + blocks * pieces.block.len() as u64
        + pieces.tail.len() as u64
        + pieces.suffix.len() as u64;
    let mut index = 0u64;
    generated(Some(len), move || {
        let chunk = match index {
            0 => pieces.prefix.clone(),
            i if i <= blocks => pieces.block.clone(),
            i if i == blocks + 1 => pieces.tail.clone(),
            i if i == blocks + 2 => pieces.suffix.clone(),
            _ => return None,
        };
        index += 1;
        Some(chunk)
    })
}

fn remainder(n: u64) -> usize {
    (n % BLOCK as u64) as usize
}

fn internal(err: std::io::Error) -> HttpError {
    HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, err.to_string())
}

/// Raw deflate of `len` zeros: sync-flushed (byte-aligned, stream open) or finished.
fn deflate_zeros(len: usize, finish: bool) -> std::io::Result<Vec<u8>> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(&vec![0u8; len])?;
    if finish {
        encoder.finish()
    } else {
        encoder.flush()?;
        Ok(std::mem::take(encoder.get_mut()))
    }
}

fn deflate_block() -> &'static Bytes {
    static BLOCK_BYTES: OnceLock<Bytes> = OnceLock::new();
    BLOCK_BYTES.get_or_init(|| Bytes::from(deflate_zeros(BLOCK, false).unwrap_or_default()))
}

fn zstd_block() -> &'static Bytes {
    static BLOCK_BYTES: OnceLock<Bytes> = OnceLock::new();
    BLOCK_BYTES
        .get_or_init(|| Bytes::from(zstd::bulk::compress(&vec![0u8; BLOCK], 3).unwrap_or_default()))
}

/// CRC-32 of `n` zeros without reading them: combine the CRC of a block with itself by
/// doubling (CRC combination is associative, and every block is the same).
fn crc32_of_zeros(n: u64) -> u32 {
    let mut block = crc32fast::Hasher::new();
    block.update(&vec![0u8; BLOCK]);
    let mut total = crc32fast::Hasher::new();
    let mut power = block;
    let mut blocks = n / BLOCK as u64;
    while blocks > 0 {
        if blocks & 1 == 1 {
            total.combine(&power);
        }
        let twice = power.clone();
        power.combine(&twice);
        blocks >>= 1;
    }
    let mut rest = crc32fast::Hasher::new();
    rest.update(&vec![0u8; (n % BLOCK as u64) as usize]);
    total.combine(&rest);
    total.finalize()
}

/// Brotli has no concatenation rule, so its bomb runs a fast (quality 1) compressor over
/// zeros, 1 MiB per chunk, flushing each; the length is not known up front (chunked).
fn brotli_zeros(n: u64) -> Body {
    let zeros = vec![0u8; BLOCK];
    let mut writer = Some(brotli::CompressorWriter::new(Vec::new(), 64 * 1024, 1, 24));
    let mut left = n;
    generated(None, move || {
        let mut w = writer.take()?;
        if left == 0 {
            return Some(Bytes::from(w.into_inner()));
        }
        let take = left.min(BLOCK as u64) as usize;
        left -= take as u64;
        if w.write_all(&zeros[..take])
            .and_then(|()| w.flush())
            .is_err()
        {
            return None;
        }
        let chunk = Bytes::from(std::mem::take(w.get_mut()));
        writer = Some(w);
        Some(chunk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::io::Read;

    async fn body_bytes(response: Response<Body>) -> Vec<u8> {
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec()
    }

    #[tokio::test]
    async fn gzip_bomb_decodes_to_exactly_n_zeros() {
        let n = 3 * BLOCK as u64 + 12345;
        let bytes = body_bytes(bomb(Coding::Gzip, n).unwrap()).await;
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded.len() as u64, n);
        assert!(decoded.iter().all(|&b| b == 0));
    }

    #[tokio::test]
    async fn deflate_and_zstd_bombs_decode_to_n_zeros() {
        let n = 2 * BLOCK as u64 + 7;
        let zlib = body_bytes(bomb(Coding::Deflate, n).unwrap()).await;
        let mut decoded = Vec::new();
        flate2::read::ZlibDecoder::new(&zlib[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded.len() as u64, n);
        let zst = body_bytes(bomb(Coding::Zstd, n).unwrap()).await;
        assert_eq!(zstd::decode_all(&zst[..]).unwrap().len() as u64, n);
    }

    #[tokio::test]
    async fn brotli_bomb_decodes_to_n_zeros() {
        let n = BLOCK as u64 + 3;
        let bytes = body_bytes(bomb(Coding::Brotli, n).unwrap()).await;
        let mut decoded = Vec::new();
        brotli::Decompressor::new(&bytes[..], 4096)
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded.len() as u64, n);
    }

    #[tokio::test]
    async fn bomb_announces_its_exact_compressed_length() {
        for n in [0, 5, BLOCK as u64, 2 * BLOCK as u64 + 1] {
            let response = bomb(Coding::Gzip, n).unwrap();
            let announced = http_body::Body::size_hint(response.body()).exact();
            let bytes = body_bytes(response).await;
            assert_eq!(announced, Some(bytes.len() as u64), "n = {n}");
        }
    }

    #[test]
    fn crc_of_zeros_matches_a_direct_computation() {
        let n = 2 * BLOCK as u64 + 99;
        assert_eq!(crc32_of_zeros(n), crc32fast::hash(&vec![0u8; n as usize]));
    }
}
