//! Message heads: encoding requests, parsing responses, and the field rules both share.

pub(crate) mod request;
pub(crate) mod response;

use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::error::{Error, ErrorKind};

/// True for the bytes RFC 9110 §5.6.2 allows in a token (header names, methods, codings).
pub(crate) fn is_token_byte(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`'
        | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Checks a field value for the bytes that would break framing: CR, LF and NUL, plus the other
/// controls RFC 9110 §5.5 excludes (HTAB is allowed). Returns the index of the first bad byte.
pub(crate) fn find_invalid_value_byte(value: &[u8]) -> Option<usize> {
    value
        .iter()
        .position(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
}

/// Builds a header name from text, refusing anything that is not a token.
pub(crate) fn parse_name(name: &str) -> Result<HeaderName, Error> {
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Err(
            Error::new(ErrorKind::InvalidHeader, "the name is not a token")
                .with_header(name.escape_debug().to_string()),
        );
    }
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        Error::new(ErrorKind::InvalidHeader, "the name is not a token").with_header(name)
    })
}

/// Builds a header value from text, refusing CR, LF, NUL and other controls.
pub(crate) fn parse_value(name: &str, value: &str) -> Result<HeaderValue, Error> {
    if let Some(at) = find_invalid_value_byte(value.as_bytes()) {
        return Err(Error::new(
            ErrorKind::InvalidHeader,
            format!(
                "the value holds the control byte 0x{:02x}",
                value.as_bytes()[at]
            ),
        )
        .with_header(name));
    }
    HeaderValue::from_str(value.trim_matches([' ', '\t']))
        .map_err(|_| Error::new(ErrorKind::InvalidHeader, "invalid value").with_header(name))
}

/// Iterates the comma-separated elements of every field named `name`, trimmed of whitespace,
/// skipping empty elements (RFC 9110 §5.6.1).
pub(crate) fn list_elements<'a>(
    headers: &'a HeaderMap,
    name: &'a HeaderName,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    headers
        .get_all(name)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// True when a list field (Connection, Expect) holds `token`, compared case-insensitively.
pub(crate) fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    list_elements(headers, name).any(|e| e.eq_ignore_ascii_case(token.as_bytes()))
}

/// Parses every Content-Length field: all values (across fields and comma lists) must be the
/// same decimal number (RFC 9110 §8.6). `Ok(None)` when there is no Content-Length.
pub(crate) fn content_length(headers: &HeaderMap) -> Result<Option<u64>, Error> {
    let invalid = |detail: String| {
        Error::new(ErrorKind::InvalidContentLength, detail).with_header("content-length")
    };
    let mut found: Option<u64> = None;
    for value in headers.get_all(http::header::CONTENT_LENGTH) {
        let mut elements = 0;
        for element in value.as_bytes().split(|&b| b == b',').map(trim_ows) {
            elements += 1;
            let n = parse_decimal(element).ok_or_else(|| {
                invalid(format!(
                    "`{}` is not a length",
                    String::from_utf8_lossy(element)
                ))
            })?;
            match found {
                Some(previous) if previous != n => {
                    return Err(invalid(format!("differing values {previous} and {n}")))
                }
                _ => found = Some(n),
            }
        }
        if elements == 0 {
            return Err(invalid("empty value".into()));
        }
    }
    Ok(found)
}

/// What the Transfer-Encoding fields say about framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TransferCoding {
    /// No Transfer-Encoding field.
    Absent,
    /// `chunked` is the final coding (applied exactly once).
    ChunkedLast,
    /// Codings are present and `chunked` is not the final one.
    NotChunkedLast,
}

pub(crate) fn transfer_coding(headers: &HeaderMap) -> Result<TransferCoding, Error> {
    let name = &http::header::TRANSFER_ENCODING;
    if !headers.contains_key(name) {
        return Ok(TransferCoding::Absent);
    }
    let invalid =
        |detail| Error::new(ErrorKind::InvalidTransferEncoding, detail).with_header(name.as_str());
    let mut count = 0usize;
    let mut chunked_at = Vec::new();
    for (i, element) in list_elements(headers, name).enumerate() {
        count += 1;
        // A coding may carry parameters (`gzip;q=1` is not valid here, but `x;p=v` is).
        let coding = trim_ows(element.split(|&b| b == b';').next().unwrap_or_default());
        if coding.is_empty() || !coding.iter().all(|&b| is_token_byte(b)) {
            return Err(invalid("a coding is not a token"));
        }
        if coding.eq_ignore_ascii_case(b"chunked") {
            chunked_at.push(i);
        }
    }
    match (count, chunked_at.as_slice()) {
        (0, _) => Err(invalid("empty value")),
        (_, [.., _, _]) => Err(invalid("chunked applied more than once")),
        (n, [at]) if *at == n - 1 => Ok(TransferCoding::ChunkedLast),
        _ => Ok(TransferCoding::NotChunkedLast),
    }
}

/// Writes a lowercase header name in Title-Case (`content-type` → `Content-Type`), the spelling
/// curl and browsers send and that a few picky servers still require.
pub(crate) fn write_title_case(name: &str, out: &mut Vec<u8>) {
    let mut upper = true;
    for b in name.bytes() {
        out.push(if upper { b.to_ascii_uppercase() } else { b });
        upper = b == b'-';
    }
}

pub(crate) fn trim_ows(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// Parses 1*DIGIT into a u64, refusing signs, spaces and overflow.
pub(crate) fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(fields: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (n, v) in fields {
            m.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        m
    }

    #[test]
    fn content_length_repeated_equal_values_are_one_length() {
        let m = map(&[("content-length", "5, 5"), ("content-length", "5")]);
        assert_eq!(content_length(&m).unwrap(), Some(5));
    }

    #[test]
    fn content_length_differing_values_are_an_error() {
        let m = map(&[("content-length", "5"), ("content-length", "6")]);
        assert_eq!(
            content_length(&m).unwrap_err().kind(),
            ErrorKind::InvalidContentLength
        );
    }

    #[test]
    fn content_length_rejects_signs_spaces_and_overflow() {
        for bad in ["+5", "-1", "5 5", "0x10", "", "18446744073709551616"] {
            let m = map(&[("content-length", bad)]);
            assert!(content_length(&m).is_err(), "{bad:?} was accepted");
        }
        let m = map(&[("content-length", "18446744073709551615")]);
        assert_eq!(content_length(&m).unwrap(), Some(u64::MAX));
    }

    #[test]
    fn transfer_coding_finds_chunked_last_across_fields() {
        let m = map(&[
            ("transfer-encoding", "gzip"),
            ("transfer-encoding", "Chunked"),
        ]);
        assert_eq!(transfer_coding(&m).unwrap(), TransferCoding::ChunkedLast);
        let m = map(&[("transfer-encoding", "chunked, gzip")]);
        assert_eq!(transfer_coding(&m).unwrap(), TransferCoding::NotChunkedLast);
        let m = map(&[]);
        assert_eq!(transfer_coding(&m).unwrap(), TransferCoding::Absent);
    }

    #[test]
    fn transfer_coding_chunked_twice_is_an_error() {
        let m = map(&[("transfer-encoding", "chunked, chunked")]);
        assert_eq!(
            transfer_coding(&m).unwrap_err().kind(),
            ErrorKind::InvalidTransferEncoding
        );
        let m = map(&[("transfer-encoding", " , ")]);
        assert!(transfer_coding(&m).is_err());
    }

    #[test]
    fn connection_tokens_are_case_insensitive_list_elements() {
        let m = map(&[
            ("connection", "Keep-Alive, Upgrade"),
            ("connection", "CLOSE"),
        ]);
        let name = http::header::CONNECTION;
        assert!(has_token(&m, &name, "close"));
        assert!(has_token(&m, &name, "upgrade"));
        assert!(!has_token(&m, &name, "te"));
    }

    #[test]
    fn title_case_capitalises_each_word() {
        let mut out = Vec::new();
        write_title_case("x-request-id", &mut out);
        assert_eq!(out, b"X-Request-Id");
    }

    #[test]
    fn parse_name_and_value_name_the_header() {
        let e = parse_name("bad name").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidHeader);
        assert_eq!(e.header(), Some("bad name"));
        let e = parse_value("x-a", "one\r\ntwo").unwrap_err();
        assert_eq!(e.header(), Some("x-a"));
        assert!(e.to_string().contains("0x0d"));
        assert!(parse_value("x-a", "nul\0").is_err());
        assert_eq!(parse_value("x-a", " ok\t").unwrap(), "ok");
    }
}
