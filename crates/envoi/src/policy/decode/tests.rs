//! Tests of content decoding: every coding whole and byte by byte, chains, bad and cut-short
//! input, the decoded-size limit against bombs, and the blocking reader.

use std::io::{Cursor, Write as _};
use std::time::Instant;

use flate2::{Compress, Compression, FlushCompress};

use super::encoders::{brotli, gzip, raw_deflate, zlib, zstd, Encode};
use super::*;

const MIB: usize = 1 << 20;

fn sample(lines: usize) -> Vec<u8> {
    (0..lines)
        .flat_map(|i| format!("line {i} of a sample body, {}\n", i * 7919 % 1013).into_bytes())
        .collect()
}

/// Each coding name with an encoder for it, aliases included.
fn encoders() -> Vec<(&'static str, Encode)> {
    let mut all = super::encoders::encoders();
    all.push(("x-gzip", gzip));
    all
}

fn headers(values: &[&str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for v in values {
        headers.append(header::CONTENT_ENCODING, HeaderValue::from_str(v).unwrap());
    }
    headers
}

fn decoder(coding: &str, limit: Option<u64>) -> ContentDecoder {
    ContentDecoder::for_headers(&headers(&[coding]), limit).expect("a decoder")
}

/// Decodes `body` fed in pieces of `piece` bytes through an output buffer of `out` bytes.
fn decode_all(
    decoder: &mut ContentDecoder,
    body: &[u8],
    piece: usize,
    out: usize,
) -> Result<Vec<u8>, Error> {
    let mut decoded = Vec::new();
    let mut buf = vec![0; out];
    for chunk in body.chunks(piece) {
        let mut rest = chunk;
        loop {
            let (used, made) = decoder.decode(rest, &mut buf)?;
            decoded.extend_from_slice(&buf[..made]);
            rest = &rest[used..];
            if used == 0 && made == 0 {
                assert!(rest.is_empty(), "stuck with {} bytes left", rest.len());
                break;
            }
        }
    }
    loop {
        let made = decoder.finish(&mut buf)?;
        if made == 0 {
            break;
        }
        decoded.extend_from_slice(&buf[..made]);
    }
    assert!(decoder.is_done());
    Ok(decoded)
}

fn decode_one(coding: &str, body: &[u8]) -> Result<Vec<u8>, Error> {
    decode_all(&mut decoder(coding, None), body, 4096, 8192)
}

#[test]
fn each_coding_round_trips_whole_and_byte_by_byte() {
    let big = sample(20_000);
    let small = sample(300);
    for (coding, encode) in encoders() {
        let body = encode(&big);
        let decoded = decode_all(&mut decoder(coding, None), &body, body.len(), 64 * 1024);
        assert_eq!(decoded.unwrap(), big, "{coding} whole");
        let body = encode(&small);
        let decoded = decode_all(&mut decoder(coding, None), &body, 1, 7);
        assert_eq!(decoded.unwrap(), small, "{coding} byte by byte");
    }
}

#[test]
fn chained_codings_are_undone_last_first() {
    let data = sample(3000);
    let body = brotli(&gzip(&data));
    assert_eq!(decode_one("gzip, br", &body).unwrap(), data);
    let split = ContentDecoder::for_headers(&headers(&["gzip", "br"]), None);
    assert_eq!(decode_all(&mut split.unwrap(), &body, 5, 3).unwrap(), data);

    let body = gzip(&zstd(&raw_deflate(&data)));
    let decoded = decode_all(&mut decoder("deflate, zstd, gzip", None), &body, 333, 100);
    assert_eq!(decoded.unwrap(), data);
    let body = gzip(&gzip(&data));
    assert_eq!(decode_one("gzip, identity, GZIP", &body).unwrap(), data);
}

#[test]
fn unknown_or_identity_codings_pass_the_body_through() {
    for values in [
        &[][..],
        &["identity"][..],
        &[""][..],
        &["gzip, compress"][..],
        &["br", "x-custom"][..],
        &["gzip;q=1"][..],
    ] {
        assert!(
            ContentDecoder::for_headers(&headers(values), None).is_none(),
            "{values:?}"
        );
    }
    let mut non_ascii = HeaderMap::new();
    non_ascii.insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_bytes(b"gzip\xff").unwrap(),
    );
    assert!(ContentDecoder::for_headers(&non_ascii, None).is_none());
}

#[test]
fn gzip_members_are_decoded_in_turn() {
    let (a, b) = (sample(500), sample(70));
    let body = [gzip(&a), gzip(&b), gzip(b"")].concat();
    let expected = [a, b].concat();
    assert_eq!(decode_one("gzip", &body).unwrap(), expected);
    let decoded = decode_all(&mut decoder("gzip", None), &body, 1, 11);
    assert_eq!(decoded.unwrap(), expected);
}

#[test]
fn bytes_after_the_end_of_the_stream_are_ignored() {
    let data = sample(100);
    for (coding, encode) in [("gzip", gzip as Encode), ("deflate", zlib), ("br", brotli)] {
        let body = [encode(&data), b"\0\0trailing junk".to_vec()].concat();
        assert_eq!(decode_one(coding, &body).unwrap(), data, "{coding}");
    }
}

#[test]
fn an_empty_body_is_empty_whatever_its_coding() {
    for coding in ["gzip", "deflate", "br", "zstd", "gzip, br"] {
        assert_eq!(decode_one(coding, b"").unwrap(), b"", "{coding}");
    }
}

#[test]
fn corrupt_gzip_is_decompression_failed() {
    let data = sample(2000);
    let good = gzip(&data);

    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    for b in &mut flipped[middle..middle + 8] {
        *b ^= 0x55;
    }
    let e = decode_one("gzip", &flipped).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DecompressionFailed);
    assert!(e.to_string().contains("gzip"), "{e}");

    let mut bad_crc = good.clone();
    let crc_at = bad_crc.len() - 8;
    bad_crc[crc_at] ^= 1;
    assert_eq!(
        decode_one("gzip", &bad_crc).unwrap_err().kind(),
        ErrorKind::DecompressionFailed
    );

    let e = decode_one("gzip", b"this is not gzip at all").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DecompressionFailed);
}

#[test]
fn corrupt_br_deflate_and_zstd_are_decompression_failed() {
    let data = sample(2000);
    for (coding, encode) in encoders() {
        let mut body = encode(&data);
        let middle = body.len() / 2;
        for b in &mut body[middle..middle + 16] {
            *b = !*b;
        }
        // A flipped run inside a stream either breaks its structure or its checksum; brotli
        // has no checksum, so it is judged on a structure-breaking prefix instead.
        let body = if coding == "br" {
            [b"\xff\xff\xff\xff".to_vec(), body].concat()
        } else {
            body
        };
        let e = decode_one(coding, &body).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DecompressionFailed, "{coding}");
    }
}

#[test]
fn truncated_bodies_are_decompression_failed() {
    let data = sample(2000);
    for (coding, encode) in encoders() {
        let body = encode(&data);
        for cut in [body.len() / 2, body.len() - 1, 1] {
            let e = decode_one(coding, &body[..cut]).unwrap_err();
            assert_eq!(
                e.kind(),
                ErrorKind::DecompressionFailed,
                "{coding} cut at {cut}"
            );
            assert!(
                e.to_string().contains(coding.trim_start_matches("x-")),
                "{e}"
            );
        }
    }
}

#[test]
fn a_body_at_the_limit_passes_and_one_byte_more_is_body_too_large() {
    let data = sample(1000);
    let limit = data.len() as u64;
    for (coding, encode) in encoders() {
        let body = encode(&data);
        let exact = decode_all(&mut decoder(coding, Some(limit)), &body, 100, 1000);
        assert_eq!(exact.unwrap(), data, "{coding}");
        let mut over = decoder(coding, Some(limit - 1));
        let e = decode_all(&mut over, &body, 100, 1000).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BodyTooLarge, "{coding}");
        assert!(over.decoded_len() <= limit, "stops one byte past the limit");
    }
}

/// A raw deflate chunk that inflates to 1 MiB of zeros and ends byte-aligned after a full
/// flush, which also empties the dictionary: copies of it concatenate into one valid stream.
fn zero_chunk() -> Vec<u8> {
    let zeros = vec![0u8; MIB];
    let mut compress = Compress::new(Compression::best(), false);
    let chunk = |compress: &mut Compress| {
        let mut out = Vec::with_capacity(64 * 1024);
        let before = compress.total_in();
        compress
            .compress_vec(&zeros, &mut out, FlushCompress::Full)
            .unwrap();
        assert_eq!(compress.total_in() - before, MIB as u64);
        out
    };
    let first = chunk(&mut compress);
    assert_eq!(
        first,
        chunk(&mut compress),
        "a full flush makes chunks repeat"
    );
    first
}

const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// Feeds `body` in 16 KiB pieces through a 64 KiB buffer, counting what comes out.
fn drain(decoder: &mut ContentDecoder, body: &[u8]) -> (Result<(), Error>, u64, usize) {
    let mut out = vec![0; 64 * 1024];
    let (mut produced, mut fed) = (0u64, 0usize);
    for piece in body.chunks(16 * 1024) {
        let mut rest = piece;
        while !rest.is_empty() {
            match decoder.decode(rest, &mut out) {
                Ok((used, made)) => {
                    produced += made as u64;
                    fed += used;
                    rest = &rest[used..];
                }
                Err(e) => return (Err(e), produced, fed),
            }
        }
    }
    (Ok(()), produced, fed)
}

#[test]
fn gzip_bomb_stops_at_the_limit_with_bounded_memory() {
    // 1 MiB of gzip that would inflate to 1 GiB.
    let chunk = zero_chunk();
    let mut bomb = GZIP_HEADER.to_vec();
    while bomb.len() < MIB {
        bomb.extend_from_slice(&chunk);
    }
    let limit = 16 * MIB as u64;
    let started = Instant::now();
    let mut decoder = decoder("gzip", Some(limit));
    let (result, produced, fed) = drain(&mut decoder, &bomb);
    assert_eq!(result.unwrap_err().kind(), ErrorKind::BodyTooLarge);
    assert_eq!(
        decoder.decoded_len(),
        limit + 1,
        "stopped one byte past the limit"
    );
    assert!(produced <= limit, "the caller saw nothing past the limit");
    assert!(
        fed < bomb.len() / 10,
        "stopped early: fed {fed} of {}",
        bomb.len()
    );
    assert!(started.elapsed().as_secs() < 30);
}

#[test]
fn nested_gzip_bomb_toward_10_gib_stops_at_the_limit() {
    // Inner: a gzip stream of 10 GiB of zeros (10,240 chunks); outer: that stream gzipped.
    let chunk = zero_chunk();
    let inner_mib: Vec<u8> = chunk
        .iter()
        .copied()
        .cycle()
        .take(chunk.len() * 1024)
        .collect();
    let mut outer = Compress::new(Compression::default(), false);
    let mut body = GZIP_HEADER.to_vec();
    body.reserve(MIB);
    outer
        .compress_vec(&GZIP_HEADER, &mut body, FlushCompress::None)
        .unwrap();
    for _ in 0..10 {
        let mut fed = 0;
        while fed < inner_mib.len() {
            body.reserve(64 * 1024);
            let before = outer.total_in();
            outer
                .compress_vec(&inner_mib[fed..], &mut body, FlushCompress::None)
                .unwrap();
            fed += (outer.total_in() - before) as usize;
        }
    }
    body.reserve(64 * 1024);
    outer
        .compress_vec(&[], &mut body, FlushCompress::Sync)
        .unwrap();
    assert!(body.len() < MIB, "a small bomb: {} bytes", body.len());

    let limit = 16 * MIB as u64;
    let mut decoder = decoder("gzip, gzip", Some(limit));
    let (result, produced, fed) = drain(&mut decoder, &body);
    assert_eq!(result.unwrap_err().kind(), ErrorKind::BodyTooLarge);
    assert_eq!(
        decoder.decoded_len(),
        limit + 1,
        "stopped one byte past the limit"
    );
    assert!(produced <= limit);
    assert!(
        fed < body.len() / 10,
        "stopped early: fed {fed} of {}",
        body.len()
    );
}

#[test]
fn zstd_with_a_window_over_8_mib_is_refused() {
    let data = sample(100);
    let mut wide = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    wide.window_log(25).unwrap();
    wide.write_all(&data).unwrap();
    let e = decode_one("zstd", &wide.finish().unwrap()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DecompressionFailed);
    let mut ok = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    ok.window_log(23).unwrap();
    ok.write_all(&data).unwrap();
    assert_eq!(decode_one("zstd", &ok.finish().unwrap()).unwrap(), data);
}

#[test]
fn zstd_frames_are_decoded_in_turn() {
    let (a, b) = (sample(50), sample(60));
    let body = [zstd(&a), zstd(&b)].concat();
    assert_eq!(decode_one("zstd", &body).unwrap(), [a, b].concat());
}

#[test]
fn garbage_never_panics_in_any_coding() {
    // xorshift: deterministic noise, plus noise after a valid header.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..300 {
        let len = (next() % 600) as usize;
        let mut noise: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if round % 3 == 0 {
            noise.splice(0..0, GZIP_HEADER);
        }
        for coding in ["gzip", "deflate", "br", "zstd", "br, gzip"] {
            let piece = 1 + (next() % 64) as usize;
            let _ = decode_all(
                &mut decoder(coding, Some(1 << 16)),
                &noise,
                piece,
                1 + round,
            );
        }
    }
}

#[test]
fn decoding_reader_streams_the_decoded_body() {
    let data = sample(5000);
    let mut reader = DecodingReader::new(Cursor::new(gzip(&data)), decoder("gzip", None));
    let mut decoded = Vec::new();
    reader.read_to_end(&mut decoded).unwrap();
    assert_eq!(decoded, data);
    assert_eq!(reader.get_ref().position() as usize, gzip(&data).len());
}

#[test]
fn decoding_reader_errors_convert_back_to_their_kind() {
    let data = sample(5000);
    let body = gzip(&data);
    let mut reader =
        DecodingReader::new(Cursor::new(&body[..body.len() / 2]), decoder("gzip", None));
    let e = reader.read_to_end(&mut Vec::new()).unwrap_err();
    assert_eq!(error_from_io(e).kind(), ErrorKind::DecompressionFailed);

    let limited = decoder("gzip", Some(100));
    let mut reader = DecodingReader::new(Cursor::new(body), limited);
    let e = reader.read_to_end(&mut Vec::new()).unwrap_err();
    assert_eq!(error_from_io(e).kind(), ErrorKind::BodyTooLarge);

    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset"))
        }
    }
    let mut reader = DecodingReader::new(Failing, decoder("br", None));
    let e = error_from_io(reader.read(&mut [0; 10]).unwrap_err());
    assert_eq!(e.kind(), ErrorKind::BodyIo);
    assert!(format!("{e:#}").contains("reset"), "{e:#}");
}

#[test]
fn accept_encoding_is_added_unless_set_or_a_range_is_asked() {
    let mut plain = HeaderMap::new();
    add_accept_encoding(&mut plain);
    assert_eq!(plain[header::ACCEPT_ENCODING], ACCEPT_ENCODING);

    let mut own = HeaderMap::new();
    own.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
    add_accept_encoding(&mut own);
    assert_eq!(own[header::ACCEPT_ENCODING], "gzip");

    let mut range = HeaderMap::new();
    range.insert(header::RANGE, HeaderValue::from_static("bytes=100-"));
    add_accept_encoding(&mut range);
    assert!(!range.contains_key(header::ACCEPT_ENCODING));
}

#[test]
fn decoded_responses_lose_their_coding_and_length() {
    let mut response = headers(&["gzip"]);
    response.insert(header::CONTENT_LENGTH, HeaderValue::from_static("42"));
    response.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    strip_decoded_headers(&mut response);
    assert_eq!(response.len(), 1);
}

#[test]
fn an_undecoded_body_has_the_same_limit_rule() {
    assert!(check_limit(10, Some(10)).is_ok());
    assert!(check_limit(10, None).is_ok());
    assert_eq!(
        check_limit(11, Some(10)).unwrap_err().kind(),
        ErrorKind::BodyTooLarge
    );
}

#[test]
#[cfg(feature = "charset")]
fn charset_is_read_from_content_type_parameters() {
    assert_eq!(
        charset_of("text/plain; charset=ISO-8859-1"),
        Some("ISO-8859-1")
    );
    assert_eq!(charset_of("text/html;Charset=\"utf-8\""), Some("utf-8"));
    assert_eq!(charset_of("application/json"), None);
}

#[test]
fn decoding_reader_fills_large_reads_and_keeps_every_byte_through_small_ones() {
    /// Hands out at most `step` bytes per read, as a connection might.
    struct Trickle<'a> {
        rest: &'a [u8],
        step: usize,
        reads: usize,
    }
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.rest.len().min(self.step).min(buf.len());
            buf[..n].copy_from_slice(&self.rest[..n]);
            self.rest = &self.rest[n..];
            self.reads += 1;
            Ok(n)
        }
    }
    for (lines, step, out_len) in [
        (2_000, 7, 3),
        (60_000, 1000, 1 << 20),
        (60_000, ENCODED_READ, 1000),
        (60_000, 1 << 20, 1 << 20),
    ] {
        let data = sample(lines);
        let body = gzip(&data);
        let inner = Trickle {
            rest: &body,
            step,
            reads: 0,
        };
        let mut reader = DecodingReader::new(inner, decoder("gzip", None));
        let mut decoded = Vec::new();
        let mut out = vec![0u8; out_len];
        let mut calls = 0;
        loop {
            let n = reader.read(&mut out).unwrap();
            if n == 0 {
                break;
            }
            decoded.extend_from_slice(&out[..n]);
            calls += 1;
        }
        assert!(decoded == data, "step {step}, out {out_len}: bytes differ");
        if out_len == 1 << 20 && step == 1 << 20 {
            // Each call uses up a whole 64 KiB read of the connection: far fewer calls than
            // the inflater has output pieces.
            let reads = reader.get_ref().reads;
            assert!(reads <= body.len() / ENCODED_READ + 2, "{reads} reads");
            assert!(calls <= reads, "{calls} calls for {reads} reads");
        }
    }
}
