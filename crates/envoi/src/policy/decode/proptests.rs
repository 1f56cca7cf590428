//! Property tests: whatever a server sends as Content-Type, Content-Encoding or an encoded
//! body, reading it never panics; a valid stream cut anywhere is an error, never a short
//! success.

use crate::policy::field_values::field_value;
use proptest::prelude::*;

use super::*;

proptest! {
    /// Any Content-Encoding field either names only codings this build decodes (and then
    /// gets a decoder) or passes the body through.
    #[test]
    fn any_content_encoding_field_chooses_a_decoder_without_panicking(
        fields in prop::collection::vec(
            prop_oneof![
                field_value(40),
                "((gzip|x-gzip|deflate|br|zstd|identity|GZIP|compress| |\t)[, ]?){0,4}"
                    .prop_map(String::into_bytes),
            ],
            0..3,
        ),
    ) {
        let mut headers = HeaderMap::new();
        for field in &fields {
            headers.append(header::CONTENT_ENCODING, HeaderValue::from_bytes(field).unwrap());
        }
        if ContentDecoder::for_headers(&headers, None).is_some() {
            let mut named = 0;
            for field in &fields {
                let text = std::str::from_utf8(field);
                prop_assert!(text.is_ok(), "{field:?}");
                for token in text.unwrap().split(',') {
                    let token = token.trim().to_ascii_lowercase();
                    match token.as_str() {
                        "" | "identity" => {}
                        "gzip" | "x-gzip" | "deflate" if cfg!(feature = "gzip") => named += 1,
                        "br" if cfg!(feature = "brotli") => named += 1,
                        "zstd" if cfg!(feature = "zstd") => named += 1,
                        other => prop_assert!(false, "decodes `{other}` in {fields:?}"),
                    }
                }
            }
            prop_assert!(named > 0);
        }
    }
}

#[cfg(feature = "charset")]
mod charset {
    use super::*;

    proptest! {
        /// Any Content-Type gives a charset label or none without panicking, and the body
        /// becomes text whatever its bytes.
        #[test]
        fn any_content_type_gives_a_charset_without_panicking(
            content_type in prop_oneof![
                any::<String>(),
                "[a-z/]{0,12}(;[ \t]*(charset|Charset|CHARSET|q|)[ \t]*=?[ \t]*\"?[a-zA-Z0-9_-]{0,12}\"?[ \t]*){0,3}",
            ],
            body in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            if let Some(label) = charset_of(&content_type) {
                prop_assert!(!label.contains(';'), "{label:?}");
                prop_assert!(!label.starts_with('"') && !label.ends_with('"'), "{label:?}");
                prop_assert!(
                    content_type.to_ascii_lowercase().contains("charset"),
                    "{content_type:?}"
                );
            }
            if let Ok(value) = HeaderValue::from_str(&content_type) {
                let mut headers = HeaderMap::new();
                headers.insert(header::CONTENT_TYPE, value);
                let _ = body_text(&headers, &body);
            }
        }

        /// A charset parameter written in any of the usual ways reads as its label.
        #[test]
        fn a_charset_parameter_reads_as_its_label(
            mime in "[a-z]{1,8}/[a-z+.-]{1,12}",
            before in prop::collection::vec("[a-z]{1,6}=[a-z0-9]{1,6}", 0..3),
            name in "(charset|Charset|CHARSET)",
            label in "[A-Za-z0-9_:.-]{1,16}",
            quoted in any::<bool>(),
            space in "[ \t]{0,2}",
        ) {
            let quote = if quoted { "\"" } else { "" };
            let mut text = mime;
            for param in &before {
                text.push_str(&format!(";{space}{param}"));
            }
            text.push_str(&format!(";{space}{name}{space}={space}{quote}{label}{quote}{space}"));
            prop_assert_eq!(charset_of(&text), Some(label.as_str()), "{}", text);
        }
    }
}

#[cfg(any(feature = "gzip", feature = "brotli", feature = "zstd"))]
mod codings {
    use super::*;
    use crate::policy::decode::encoders::{encoders, Encode};

    /// Bodies that compress some but not all the way: runs, text and noise.
    fn data() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            (any::<u8>(), 1usize..200).prop_map(|(b, n)| vec![b; n]),
            "[a-z ]{1,40}".prop_map(String::into_bytes),
            prop::collection::vec(any::<u8>(), 1..40),
        ];
        prop::collection::vec(piece, 0..12).prop_map(|p| p.concat())
    }

    /// The decoded size allowed in these tests: far above any body here, yet a bound on what
    /// noise can inflate to.
    const LIMIT: u64 = 1 << 20;

    /// Decodes `body` with `coding`, fed in pieces of `piece` bytes through an output buffer
    /// of `out` bytes. The outer error is a broken rule of the decoder: it stopped taking
    /// input, or let more than the limit through.
    fn decode(
        coding: &str,
        body: &[u8],
        piece: usize,
        out: usize,
    ) -> Result<Result<Vec<u8>, Error>, TestCaseError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_str(coding).unwrap(),
        );
        let mut decoder = ContentDecoder::for_headers(&headers, Some(LIMIT)).unwrap();
        let mut decoded = Vec::new();
        let mut buf = vec![0; out];
        let mut result = Ok(());
        'feed: for chunk in body.chunks(piece) {
            let mut rest = chunk;
            loop {
                match decoder.decode(rest, &mut buf) {
                    Ok((used, made)) => {
                        decoded.extend_from_slice(&buf[..made]);
                        rest = &rest[used..];
                        if used == 0 && made == 0 {
                            prop_assert!(rest.is_empty(), "stuck, {} bytes left", rest.len());
                            break;
                        }
                    }
                    Err(e) => {
                        result = Err(e);
                        break 'feed;
                    }
                }
            }
        }
        while result.is_ok() {
            match decoder.finish(&mut buf) {
                Ok(0) => break,
                Ok(made) => decoded.extend_from_slice(&buf[..made]),
                Err(e) => result = Err(e),
            }
        }
        prop_assert!(decoded.len() as u64 <= LIMIT);
        Ok(match result {
            Ok(()) => Ok(decoded),
            Err(e) => {
                let kind = e.kind();
                prop_assert!(
                    matches!(
                        kind,
                        ErrorKind::DecompressionFailed | ErrorKind::BodyTooLarge
                    ),
                    "{coding}: {e}"
                );
                Err(e)
            }
        })
    }

    fn coding() -> impl Strategy<Value = (&'static str, Encode)> {
        prop::sample::select(encoders())
    }

    proptest! {
        /// Noise, bare or behind a valid start of a stream, decodes or fails in every coding
        /// and chain, never panics and never stops taking input.
        #[test]
        fn any_bytes_decode_or_fail_without_panicking(
            (coding, encode) in coding(),
            chained in prop::option::of(coding()),
            valid_start in 0usize..12,
            noise in prop::collection::vec(any::<u8>(), 0..400),
            piece in 1usize..300,
            out in 1usize..5000,
        ) {
            let start = encode(b"a start");
            let body = [&start[..valid_start.min(start.len())], &noise].concat();
            let _ = decode(coding, &body, piece, out)?;
            if let Some((outer, _)) = chained {
                let _ = decode(&format!("{coding}, {outer}"), &body, piece, out)?;
            }
        }

        /// A valid stream cut anywhere short of its end is DecompressionFailed, in whatever
        /// pieces it comes: never a short success. (Extends
        /// `truncated_bodies_are_decompression_failed` to any data and any cut.)
        #[test]
        fn a_valid_stream_cut_anywhere_is_an_error_not_a_short_success(
            (coding, encode) in coding(),
            data in data(),
            cut in any::<prop::sample::Index>(),
            piece in 1usize..300,
            out in 1usize..5000,
        ) {
            let body = encode(&data);
            prop_assert_eq!(decode(coding, &body, piece, out)?.unwrap(), data);
            // Cut at 0 is an empty body, which is complete whatever its coding.
            let cut = 1 + cut.index(body.len().max(2) - 1);
            if cut < body.len() {
                let result = decode(coding, &body[..cut], piece, out)?;
                prop_assert!(result.is_err(), "{coding} cut at {cut} of {}", body.len());
                prop_assert_eq!(result.unwrap_err().kind(), ErrorKind::DecompressionFailed);
            }
        }

        /// A valid stream with bytes flipped, inserted or removed decodes or fails without
        /// panicking; gzip, whose CRC covers the data, never decodes to the wrong bytes.
        #[test]
        fn a_mutated_stream_decodes_or_fails_without_panicking(
            (coding, encode) in coding(),
            data in data(),
            edits in prop::collection::vec(
                (any::<prop::sample::Index>(), 0u8..3, any::<u8>(), 1usize..8),
                1..4,
            ),
            piece in 1usize..300,
            out in 1usize..5000,
        ) {
            let mut body = encode(&data);
            for (at, kind, byte, n) in edits {
                let i = at.index(body.len() + 1);
                match kind {
                    0 if i < body.len() => body[i] ^= byte.max(1),
                    1 => body.splice(i..i, std::iter::repeat_n(byte, n)).for_each(drop),
                    _ => body.drain(i..(i + n).min(body.len())).for_each(drop),
                }
            }
            if let Ok(decoded) = decode(coding, &body, piece, out)? {
                if coding == "gzip" && !body.is_empty() {
                    prop_assert_eq!(decoded, data);
                }
            }
        }
    }
}
