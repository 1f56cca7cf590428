//! Response heads: finding where a head ends in a growing buffer, and parsing it with httparse.

use std::mem::MaybeUninit;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{StatusCode, Version};

use super::is_token_byte;
use crate::error::{Error, ErrorKind};
use crate::framing::BodyFraming;

/// A parsed response head (final or interim), with the framing of the body that follows it.
///
/// Header values are slices of the received bytes, not copies. The head as received, with its
/// original field order and letter case, stays available through [`ResponseHead::raw`] and
/// [`ResponseHead::fields`] (what `curl -i` prints and Godot's `get_response_headers` returns).
#[derive(Clone, Debug)]
pub struct ResponseHead {
    version: Version,
    status: StatusCode,
    reason: Bytes,
    headers: HeaderMap,
    framing: BodyFraming,
    raw: Bytes,
}

/// One field of a response head as received: original case, value untrimmed of nothing but the
/// surrounding whitespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawField {
    /// The field name with its original letter case.
    pub name: Bytes,
    /// The field value (an obsolete line folding is kept as received).
    pub value: Bytes,
}

impl ResponseHead {
    /// HTTP/1.0 or HTTP/1.1.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The reason phrase, or `""` when it is absent or not UTF-8.
    pub fn reason(&self) -> &str {
        std::str::from_utf8(&self.reason).unwrap_or("")
    }

    /// The header fields, names lowercased, repeated fields kept.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The header fields, to change (a client that decodes the body drops Content-Encoding
    /// and Content-Length, say). [`raw`](Self::raw) keeps what was received.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// Takes the header map out of the head.
    pub fn into_headers(self) -> HeaderMap {
        self.headers
    }

    /// How the body after this head is framed (RFC 9112 §6.3).
    pub fn framing(&self) -> BodyFraming {
        self.framing
    }

    /// The head exactly as received, from the status line to the blank line included.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// The fields in the order and letter case they were received.
    pub fn fields(&self) -> Vec<RawField> {
        let start = self
            .raw
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.raw.len(), |i| i + 1);
        let mut parsed = vec![httparse::EMPTY_HEADER; self.headers.len().max(1)];
        match httparse::parse_headers(&self.raw[start..], &mut parsed) {
            Ok(httparse::Status::Complete((_, fields))) => fields
                .iter()
                .map(|f| RawField {
                    name: slice_of(&self.raw, f.name.as_bytes()),
                    value: slice_of(&self.raw, f.value),
                })
                .collect(),
            // The head parsed once already; folded lines are the only thing parse_headers
            // refuses, and for those the normalised map is the best account there is.
            _ => self
                .headers
                .iter()
                .map(|(n, v)| RawField {
                    name: Bytes::copy_from_slice(n.as_str().as_bytes()),
                    value: Bytes::copy_from_slice(v.as_bytes()),
                })
                .collect(),
        }
    }

    pub(crate) fn set_framing(&mut self, framing: BodyFraming) {
        self.framing = framing;
    }
}

/// Finds the end of a head (the byte after its blank line) in `buf`, scanning from `from`.
/// Bare LF line ends are accepted (RFC 9112 §2.2). `buf` must not start with a line end.
pub(crate) fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(p) = buf.get(i..)?.iter().position(|&b| b == b'\n') {
        let nl = i + p;
        match buf.get(nl + 1..nl + 3) {
            Some([b'\n', _]) | Some([b'\n']) => return Some(nl + 2),
            Some([b'\r', b'\n']) => return Some(nl + 3),
            None if buf.get(nl + 1) == Some(&b'\n') => return Some(nl + 2),
            _ => i = nl + 1,
        }
    }
    None
}

/// Where a later scan must restart so a terminator split across receives is still found.
pub(crate) fn rescan_from(len: usize) -> usize {
    len.saturating_sub(3)
}

/// Parses one complete head. `raw` ends with the blank line; `offset` is where it started in
/// the received stream, for error positions.
pub(crate) fn parse(raw: Bytes, max_headers: usize, offset: u64) -> Result<ResponseHead, Error> {
    // Uninitialised slots: zeroing 128 headers before every parse cost more than a small
    // response's whole framing (BENCHMARKS.md).
    let mut stack = [const { MaybeUninit::<httparse::Header<'_>>::uninit() };
        crate::limits::DEFAULT_MAX_HEADERS];
    let mut heap = Vec::new();
    let slots: &mut [MaybeUninit<httparse::Header<'_>>] = if max_headers <= stack.len() {
        &mut stack[..max_headers]
    } else {
        heap.resize_with(max_headers, MaybeUninit::uninit);
        &mut heap
    };
    let mut response = httparse::Response::new(&mut []);
    let mut config = httparse::ParserConfig::default();
    config.allow_obsolete_multiline_headers_in_responses(true);
    let malformed = |detail: String| {
        Error::new(ErrorKind::MalformedResponse, detail).at_offset(offset + locate_fault(&raw))
    };
    match config.parse_response_with_uninit_headers(&mut response, &raw, slots) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(malformed("incomplete head".into())),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Error::new(
                ErrorKind::TooManyHeaders,
                format!("more than {max_headers} fields"),
            )
            .at_offset(offset))
        }
        Err(e) => return Err(malformed(e.to_string())),
    }
    let version = match response.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let code = response.code.unwrap_or_default();
    let status = StatusCode::from_u16(code)
        .map_err(|_| malformed(format!("status code {code} out of range")))?;
    let reason = slice_of(&raw, response.reason.unwrap_or("").as_bytes());
    let mut headers = HeaderMap::with_capacity(response.headers.len());
    for field in response.headers.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes()).map_err(|_| {
            malformed("invalid field name".into())
                .with_header(field.name.escape_debug().to_string())
        })?;
        let value = if field.value.iter().any(|&b| b == b'\r' || b == b'\n') {
            // RFC 9112 §5.2: replace each obsolete line folding with spaces.
            let unfolded: Vec<u8> = field
                .value
                .iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
                .collect();
            HeaderValue::from_bytes(&unfolded)
        } else {
            HeaderValue::from_maybe_shared(slice_of(&raw, field.value))
        }
        .map_err(|_| malformed("invalid field value".into()).with_header(name.as_str()))?;
        headers.append(name, value);
    }
    Ok(ResponseHead {
        version,
        status,
        reason,
        headers,
        framing: BodyFraming::Empty,
        raw,
    })
}

/// A zero-copy slice of `whole` for `part`, which httparse carved out of it.
fn slice_of(whole: &Bytes, part: &[u8]) -> Bytes {
    if part.is_empty() {
        Bytes::new()
    } else {
        whole.slice_ref(part)
    }
}

/// Best-effort position of the first byte that breaks the head grammar, so an error can point
/// at it. httparse says what is wrong but not where.
fn locate_fault(raw: &[u8]) -> u64 {
    let status_line_ok = |line: &[u8]| -> Result<(), usize> {
        let prefix = b"HTTP/1.";
        if let Some(i) = prefix.iter().zip(line).position(|(a, b)| a != b) {
            return Err(i);
        }
        if line.len() < 12 {
            return Err(line.len());
        }
        if !matches!(line[7], b'0' | b'1') {
            return Err(7);
        }
        if line[8] != b' ' {
            return Err(8);
        }
        if let Some(i) = line[9..12].iter().position(|b| !b.is_ascii_digit()) {
            return Err(9 + i);
        }
        match line.get(12) {
            None | Some(b' ') => Ok(()),
            Some(_) => Err(12),
        }
    };
    let mut start = 0;
    let mut lines = raw.split(|&b| b == b'\n');
    let mut first = true;
    for line in &mut lines {
        let line_no_cr = line.strip_suffix(b"\r").unwrap_or(line);
        let fault = if first {
            first = false;
            status_line_ok(line_no_cr).err()
        } else if line_no_cr.is_empty() || line_no_cr[0] == b' ' || line_no_cr[0] == b'\t' {
            None // the blank line, or a folded continuation
        } else {
            match line_no_cr.iter().position(|&b| !is_token_byte(b)) {
                Some(i) if line_no_cr[i] == b':' && i > 0 => line_no_cr[i + 1..]
                    .iter()
                    .position(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
                    .map(|j| i + 1 + j),
                Some(i) => Some(i),
                None => Some(line_no_cr.len()),
            }
        };
        if let Some(at) = fault {
            return (start + at) as u64;
        }
        start += line.len() + 1;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<ResponseHead, Error> {
        parse(Bytes::copy_from_slice(text.as_bytes()), 128, 0)
    }

    #[test]
    fn head_end_is_found_with_crlf_or_bare_lf() {
        assert_eq!(find_head_end(b"HTTP/1.1 200 OK\r\n\r\nbody", 0), Some(19));
        assert_eq!(find_head_end(b"HTTP/1.1 200 OK\n\nbody", 0), Some(17));
        assert_eq!(find_head_end(b"HTTP/1.1 200 OK\r\nA: b\r\n", 0), None);
        assert_eq!(find_head_end(b"HTTP/1.1 200 OK\r\n\r", 0), None);
    }

    #[test]
    fn head_end_split_across_receives_is_found_after_rescan() {
        let whole = b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n";
        for cut in 1..whole.len() {
            let from = rescan_from(cut);
            assert_eq!(find_head_end(whole, from), Some(whole.len()), "cut {cut}");
        }
    }

    #[test]
    fn fields_keep_order_and_case_while_map_is_lowercase() {
        let h = parsed("HTTP/1.1 200 OK\r\nX-B: 1\r\nSet-Cookie: a\r\nx-b: 2\r\n\r\n").unwrap();
        assert_eq!(h.status(), StatusCode::OK);
        assert_eq!(h.reason(), "OK");
        assert_eq!(h.headers().get_all("x-b").iter().count(), 2);
        let names: Vec<_> = h.fields().into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["X-B", "Set-Cookie", "x-b"]);
    }

    #[test]
    fn obsolete_line_folding_is_unfolded_into_spaces() {
        let h = parsed("HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\n\r\n").unwrap();
        let v = h.headers()["x-a"].to_str().unwrap();
        assert!(v.starts_with("one") && v.ends_with("two"), "{v:?}");
        assert!(!v.contains('\r'));
    }

    #[test]
    fn http10_version_and_missing_reason_are_accepted() {
        let h = parsed("HTTP/1.0 204\r\n\r\n").unwrap();
        assert_eq!(h.version(), Version::HTTP_10);
        assert_eq!(h.reason(), "");
    }

    #[test]
    fn malformed_status_line_points_at_the_bad_byte() {
        let e = parsed("HTTP/1.1 2x0 OK\r\n\r\n").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MalformedResponse);
        assert_eq!(e.offset(), Some(10));
        let e = parsed("HTTP/2 200 OK\r\n\r\n").unwrap_err();
        assert_eq!(e.offset(), Some(5));
    }

    #[test]
    fn malformed_header_line_points_at_the_bad_byte() {
        let e = parsed("HTTP/1.1 200 OK\r\nGood: 1\r\nBad Name: 2\r\n\r\n").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MalformedResponse);
        assert_eq!(e.offset(), Some(26 + 3));
    }

    #[test]
    fn too_many_fields_is_its_own_kind() {
        let mut text = String::from("HTTP/1.1 200 OK\r\n");
        for i in 0..5 {
            text.push_str(&format!("X-{i}: v\r\n"));
        }
        text.push_str("\r\n");
        let e = parse(Bytes::from(text), 4, 0).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooManyHeaders);
        assert!(parse(Bytes::from(e.to_string()), 4, 0).is_err());
    }

    #[test]
    fn larger_header_limits_than_the_stack_array_work() {
        let mut text = String::from("HTTP/1.1 200 OK\r\n");
        for i in 0..200 {
            text.push_str(&format!("X-{i}: v\r\n"));
        }
        text.push_str("\r\n");
        assert_eq!(
            parse(Bytes::from(text), 300, 0).unwrap().headers().len(),
            200
        );
    }
}
