//! The chunked transfer coding (RFC 9112 §7.1), decoded incrementally.
//!
//! One variant per position in the grammar and one small function per variant. Line ends in
//! the chunk framing must be CRLF: a bare LF here is how request smuggling starts, so it is
//! refused even though heads accept it.

use bytes::{Buf, BytesMut};
use http::header::{HeaderMap, HeaderName, HeaderValue};

use super::{clamp, BodyStep};
use crate::error::{Error, ErrorKind};
use crate::head::response::{find_head_end, rescan_from};
use crate::limits::Limits;

#[derive(Debug)]
enum ChunkedState {
    /// Before a chunk-size line; `scanned` bytes of it were already searched for LF.
    Size { scanned: usize },
    /// Inside chunk data.
    Data { remaining: u64 },
    /// After chunk data, expecting CRLF.
    DataEnd,
    /// After the last chunk, reading the trailer section.
    Trailers { scanned: usize },
    /// Trailers were handed out; `End` is next.
    Finished,
    /// `End` was handed out.
    Done,
}

/// Decoder state for one chunked body.
#[derive(Debug)]
pub(crate) struct ChunkedDecoder {
    state: ChunkedState,
}

impl ChunkedDecoder {
    pub(crate) fn new() -> Self {
        ChunkedDecoder {
            state: ChunkedState::Size { scanned: 0 },
        }
    }

    pub(crate) fn decode(
        &mut self,
        input: &mut BytesMut,
        eof: bool,
        offset: u64,
        limits: &Limits,
    ) -> Result<BodyStep, Error> {
        let start_len = input.len();
        loop {
            // Each step below may consume input; errors point at where the step began.
            let offset = offset + (start_len - input.len()) as u64;
            let step = match self.state {
                ChunkedState::Size { scanned } => self.read_size(input, scanned, offset, limits)?,
                ChunkedState::Data { remaining } => self.read_data(input, remaining),
                ChunkedState::DataEnd => self.read_data_end(input, offset)?,
                ChunkedState::Trailers { scanned } => {
                    self.read_trailers(input, scanned, offset, limits)?
                }
                ChunkedState::Finished => {
                    self.state = ChunkedState::Done;
                    Some(BodyStep::End)
                }
                ChunkedState::Done => Some(BodyStep::End),
            };
            match step {
                Some(BodyStep::NeedData) if eof => {
                    return Err(Error::new(
                        ErrorKind::TruncatedBody,
                        "the connection closed before the last chunk",
                    )
                    .at_offset(offset + input.len() as u64))
                }
                Some(step) => return Ok(step),
                None => continue,
            }
        }
    }

    pub(crate) fn direct_window(&self) -> Option<u64> {
        match self.state {
            ChunkedState::Data { remaining } => Some(remaining),
            _ => None,
        }
    }

    pub(crate) fn consume_direct(&mut self, n: u64) {
        if let ChunkedState::Data { remaining } = &mut self.state {
            *remaining -= n;
            if *remaining == 0 {
                self.state = ChunkedState::DataEnd;
            }
        }
    }

    /// `chunk-size [ chunk-ext ] CRLF`. Returns `None` after a transition with nothing to hand
    /// out yet.
    fn read_size(
        &mut self,
        input: &mut BytesMut,
        scanned: usize,
        offset: u64,
        limits: &Limits,
    ) -> Result<Option<BodyStep>, Error> {
        let Some(lf) = input[scanned..].iter().position(|&b| b == b'\n') else {
            if input.len() > limits.max_chunk_line {
                return Err(too_long(limits, offset));
            }
            self.state = ChunkedState::Size {
                scanned: input.len(),
            };
            return Ok(Some(BodyStep::NeedData));
        };
        let lf = scanned + lf;
        if lf > limits.max_chunk_line {
            return Err(too_long(limits, offset));
        }
        let size = parse_size_line(&input[..lf], offset)?;
        input.advance(lf + 1);
        self.state = if size == 0 {
            ChunkedState::Trailers { scanned: 0 }
        } else {
            ChunkedState::Data { remaining: size }
        };
        Ok(None)
    }

    fn read_data(&mut self, input: &mut BytesMut, remaining: u64) -> Option<BodyStep> {
        if input.is_empty() {
            return Some(BodyStep::NeedData);
        }
        let n = clamp(remaining, input.len());
        let left = remaining - n as u64;
        self.state = if left == 0 {
            ChunkedState::DataEnd
        } else {
            ChunkedState::Data { remaining: left }
        };
        Some(BodyStep::Data(input.split_to(n).freeze()))
    }

    fn read_data_end(
        &mut self,
        input: &mut BytesMut,
        offset: u64,
    ) -> Result<Option<BodyStep>, Error> {
        match &input[..input.len().min(2)] {
            b"\r\n" => {
                input.advance(2);
                self.state = ChunkedState::Size { scanned: 0 };
                Ok(None)
            }
            b"" | b"\r" => Ok(Some(BodyStep::NeedData)),
            _ => Err(Error::new(
                ErrorKind::InvalidChunk,
                "chunk data is not followed by CRLF (the chunk is longer than its size)",
            )
            .at_offset(offset)),
        }
    }

    /// `*( field-line CRLF ) CRLF` after the last chunk.
    fn read_trailers(
        &mut self,
        input: &mut BytesMut,
        scanned: usize,
        offset: u64,
        limits: &Limits,
    ) -> Result<Option<BodyStep>, Error> {
        match &input[..input.len().min(2)] {
            b"\r\n" => {
                input.advance(2);
                self.state = ChunkedState::Done;
                return Ok(Some(BodyStep::End));
            }
            b"" | b"\r" => return Ok(Some(BodyStep::NeedData)),
            [b'\n', ..] | [b'\r', _] => {
                return Err(
                    Error::new(ErrorKind::InvalidChunk, "bare LF after the last chunk")
                        .at_offset(offset),
                )
            }
            _ => {}
        }
        let too_large = || {
            Error::new(
                ErrorKind::TrailersTooLarge,
                format!("over {} bytes", limits.max_trailer_size),
            )
            .at_offset(offset)
        };
        let Some(end) = find_head_end(input, scanned) else {
            if input.len() > limits.max_trailer_size {
                return Err(too_large());
            }
            self.state = ChunkedState::Trailers {
                scanned: rescan_from(input.len()),
            };
            return Ok(Some(BodyStep::NeedData));
        };
        if end > limits.max_trailer_size {
            return Err(too_large());
        }
        let trailers = parse_trailers(&input[..end], limits, offset)?;
        input.advance(end);
        self.state = ChunkedState::Finished;
        Ok(Some(BodyStep::Trailers(trailers)))
    }
}

fn too_long(limits: &Limits, offset: u64) -> Error {
    Error::new(
        ErrorKind::ChunkLineTooLong,
        format!("over {} bytes", limits.max_chunk_line),
    )
    .at_offset(offset)
}

/// Parses the hex size of a chunk-size line (without its LF) and checks its extensions.
fn parse_size_line(line: &[u8], offset: u64) -> Result<u64, Error> {
    let invalid = |detail: &str, at: usize| {
        Error::new(ErrorKind::InvalidChunk, detail.to_owned()).at_offset(offset + at as u64)
    };
    let Some(line) = line.strip_suffix(b"\r") else {
        return Err(invalid("chunk-size line ends in a bare LF", line.len()));
    };
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(invalid("chunk size is not hexadecimal", 0));
    }
    let mut size: u64 = 0;
    for &b in &line[..digits] {
        let digit = u64::from((b as char).to_digit(16).unwrap_or(0));
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(digit))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::ChunkSizeOverflow,
                    "the size does not fit in 64 bits",
                )
                .at_offset(offset)
            })?;
    }
    // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ); extensions carry no
    // meaning here, so only their bytes are checked: no controls but HTAB.
    let rest = &line[digits..];
    let first = rest.iter().position(|&b| b != b' ' && b != b'\t');
    if let Some(i) = first {
        if rest[i] != b';' {
            return Err(invalid("unexpected byte after the chunk size", digits + i));
        }
        if let Some(j) = rest
            .iter()
            .position(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
        {
            return Err(invalid("control byte in a chunk extension", digits + j));
        }
    }
    Ok(size)
}

fn parse_trailers(section: &[u8], limits: &Limits, offset: u64) -> Result<HeaderMap, Error> {
    let mut slots = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let fields = match httparse::parse_headers(section, &mut slots) {
        Ok(httparse::Status::Complete((_, fields))) => fields,
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Error::new(
                ErrorKind::TrailersTooLarge,
                format!("more than {} trailer fields", limits.max_headers),
            )
            .at_offset(offset))
        }
        Ok(httparse::Status::Partial) | Err(_) => {
            return Err(
                Error::new(ErrorKind::InvalidChunk, "malformed trailer section").at_offset(offset),
            )
        }
    };
    let mut map = HeaderMap::with_capacity(fields.len());
    for field in fields {
        let invalid = || {
            Error::new(ErrorKind::InvalidChunk, "malformed trailer field")
                .with_header(field.name.escape_debug().to_string())
                .at_offset(offset)
        };
        let name = HeaderName::from_bytes(field.name.as_bytes()).map_err(|_| invalid())?;
        let value = HeaderValue::from_bytes(field.value).map_err(|_| invalid())?;
        map.append(name, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed whole, returning (body, trailers) or the error kind.
    fn decode_all(input: &[u8], eof: bool) -> Result<(Vec<u8>, Option<HeaderMap>), ErrorKind> {
        let mut d = ChunkedDecoder::new();
        let mut buf = BytesMut::from(input);
        let mut body = Vec::new();
        let mut trailers = None;
        loop {
            match d.decode(&mut buf, eof, 0, &Limits::default()) {
                Ok(BodyStep::Data(b)) => body.extend_from_slice(&b),
                Ok(BodyStep::Trailers(t)) => trailers = Some(t),
                Ok(BodyStep::End) => return Ok((body, trailers)),
                Ok(BodyStep::NeedData) => return Err(ErrorKind::InvalidState),
                Err(e) => return Err(e.kind()),
            }
        }
    }

    #[test]
    fn chunks_with_extensions_decode_to_their_data() {
        let (body, trailers) = decode_all(
            b"5;name=val\r\nhello\r\n6 ; x\r\n world\r\n0\r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!(body, b"hello world");
        assert!(trailers.is_none());
    }

    #[test]
    fn trailers_are_surfaced_as_a_header_map() {
        let (body, trailers) =
            decode_all(b"3\r\nabc\r\n0\r\nX-Sum: 42\r\nX-More: a\r\n\r\n", false).unwrap();
        assert_eq!(body, b"abc");
        let trailers = trailers.unwrap();
        assert_eq!(trailers["x-sum"], "42");
        assert_eq!(trailers["x-more"], "a");
    }

    #[test]
    fn missing_last_chunk_at_eof_is_truncated_body() {
        assert_eq!(
            decode_all(b"3\r\nabc\r\n", true),
            Err(ErrorKind::TruncatedBody)
        );
        assert_eq!(decode_all(b"5\r\nab", true), Err(ErrorKind::TruncatedBody));
        assert_eq!(
            decode_all(b"3\r\nabc\r\n0\r\n", true),
            Err(ErrorKind::TruncatedBody)
        );
    }

    #[test]
    fn size_overflow_is_its_own_error() {
        assert_eq!(
            decode_all(b"10000000000000000\r\n", false),
            Err(ErrorKind::ChunkSizeOverflow)
        );
        // Leading zeros are not an overflow.
        assert_eq!(
            decode_all(b"00000000000000000001\r\na\r\n0\r\n\r\n", false)
                .unwrap()
                .0,
            b"a"
        );
    }

    #[test]
    fn over_long_size_line_is_an_error_without_waiting_for_lf() {
        let mut line = b"1;".to_vec();
        line.extend(std::iter::repeat_n(b'x', 5000));
        assert_eq!(decode_all(&line, false), Err(ErrorKind::ChunkLineTooLong));
    }

    #[test]
    fn malformed_size_lines_are_invalid_chunks() {
        for bad in [
            &b"zz\r\n"[..],
            b"\r\n",
            b"5\n",
            b"5 x\r\n",
            b"-5\r\n",
            b"5;a\x01\r\n",
        ] {
            assert_eq!(
                decode_all(bad, false),
                Err(ErrorKind::InvalidChunk),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn chunk_longer_than_its_size_is_an_invalid_chunk() {
        assert_eq!(
            decode_all(b"2\r\nabc\r\n0\r\n\r\n", false),
            Err(ErrorKind::InvalidChunk)
        );
    }

    #[test]
    fn oversized_trailers_are_refused() {
        let mut input = b"0\r\nX-Big: ".to_vec();
        input.extend(std::iter::repeat_n(b'a', 20_000));
        assert_eq!(decode_all(&input, false), Err(ErrorKind::TrailersTooLarge));
    }

    #[test]
    fn error_offsets_point_at_the_faulty_line_after_earlier_chunks() {
        let mut d = ChunkedDecoder::new();
        let mut buf = BytesMut::from(&b"1\r\na\r\nzz\r\n"[..]);
        let limits = Limits::default();
        assert!(matches!(
            d.decode(&mut buf, false, 100, &limits),
            Ok(BodyStep::Data(_))
        ));
        let e = d.decode(&mut buf, false, 104, &limits).unwrap_err();
        assert_eq!(e.offset(), Some(106));
        // Whole, in one call: the same offset.
        let mut d = ChunkedDecoder::new();
        let mut buf = BytesMut::from(&b"0\r\n\n"[..]);
        let e = d.decode(&mut buf, false, 47, &limits).unwrap_err();
        assert_eq!(e.offset(), Some(50));
    }

    #[test]
    fn direct_window_covers_only_chunk_data() {
        let mut d = ChunkedDecoder::new();
        let mut buf = BytesMut::from(&b"a\r\n"[..]);
        assert!(matches!(
            d.decode(&mut buf, false, 0, &Limits::default()).unwrap(),
            BodyStep::NeedData
        ));
        assert_eq!(d.direct_window(), Some(10));
        d.consume_direct(10);
        assert_eq!(d.direct_window(), None);
        buf.extend_from_slice(b"\r\n0\r\n\r\n");
        assert!(matches!(
            d.decode(&mut buf, false, 0, &Limits::default()).unwrap(),
            BodyStep::End
        ));
    }
}
