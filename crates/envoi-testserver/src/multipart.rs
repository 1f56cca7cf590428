//! A small `multipart/form-data` parser (RFC 7578), enough for httpbin's `form` and `files`.

use crate::body::HttpError;

/// One part of a multipart body.
#[derive(Debug)]
pub(crate) struct Part {
    pub(crate) name: String,
    pub(crate) filename: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) data: Vec<u8>,
}

/// The `boundary` parameter of a `multipart/form-data` content type, unquoted.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    param(content_type, "boundary").filter(|b| !b.is_empty())
}

/// Splits `body` into its parts; a body that does not follow the grammar is a 400.
pub(crate) fn parse(body: &[u8], boundary: &str) -> Result<Vec<Part>, HttpError> {
    let malformed = |why: &str| HttpError::bad_request(format!("malformed multipart body: {why}"));
    let delimiter = format!("--{boundary}").into_bytes();
    let next_delimiter = format!("\r\n--{boundary}").into_bytes();

    let start = find(body, &delimiter, 0).ok_or_else(|| malformed("no opening boundary"))?;
    let mut pos = start + delimiter.len();
    let mut parts = Vec::new();
    loop {
        if body[pos..].starts_with(b"--") {
            return Ok(parts);
        }
        pos = skip_line_end(body, pos).ok_or_else(|| malformed("boundary not followed by CRLF"))?;
        let head_end =
            find(body, b"\r\n\r\n", pos).ok_or_else(|| malformed("part head never ends"))?;
        let head = String::from_utf8_lossy(&body[pos..head_end]).into_owned();
        let data_start = head_end + 4;
        let data_end =
            find(body, &next_delimiter, data_start).ok_or_else(|| malformed("part never ends"))?;
        parts.push(part(&head, body[data_start..data_end].to_vec())?);
        pos = data_end + next_delimiter.len();
    }
}

fn part(head: &str, data: Vec<u8>) -> Result<Part, HttpError> {
    let mut disposition = None;
    let mut content_type = None;
    for line in head.split("\r\n") {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        match name.trim().to_ascii_lowercase().as_str() {
            "content-disposition" => disposition = Some(value.trim().to_owned()),
            "content-type" => content_type = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let disposition = disposition
        .ok_or_else(|| HttpError::bad_request("multipart part without Content-Disposition"))?;
    Ok(Part {
        name: param(&disposition, "name").unwrap_or_default(),
        filename: param(&disposition, "filename"),
        content_type,
        data,
    })
}

/// The value of parameter `name` in a header value like `form-data; name="a"; filename=b`.
fn param(header: &str, name: &str) -> Option<String> {
    let mut rest = header.split_once(';')?.1;
    loop {
        let (key, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            unquote(quoted)?
        } else {
            let end = after.find(';').unwrap_or(after.len());
            (after[..end].trim().to_owned(), &after[end..])
        };
        if key.trim().eq_ignore_ascii_case(name) {
            return Some(value);
        }
        rest = next.split_once(';').map(|(_, n)| n).unwrap_or(next);
        if rest.trim().is_empty() {
            return None;
        }
    }
}

/// Reads a quoted string whose opening quote is already consumed; returns it and the rest.
fn unquote(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => value.push(chars.next()?.1),
            '"' => return Some((value, &text[i + 1..])),
            c => value.push(c),
        }
    }
    None
}

fn skip_line_end(body: &[u8], pos: usize) -> Option<usize> {
    if body[pos..].starts_with(b"\r\n") {
        Some(pos + 2)
    } else if body[pos..].starts_with(b"\n") {
        Some(pos + 1)
    } else {
        None
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_files_are_split() {
        let body = b"--XY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n\
--XY\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f.txt\"\r\nContent-Type: text/plain\r\n\r\nhi\r\n--XY--\r\n";
        let parts = parse(body, "XY").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].name.as_str(), &parts[0].data[..]),
            ("a", &b"1"[..])
        );
        assert_eq!(parts[1].filename.as_deref(), Some("f.txt"));
        assert_eq!(parts[1].data, b"hi");
    }

    #[test]
    fn boundary_may_be_quoted() {
        assert_eq!(
            boundary("multipart/form-data; boundary=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(
            boundary("multipart/form-data; boundary=xyz").as_deref(),
            Some("xyz")
        );
        assert_eq!(boundary("multipart/form-data"), None);
    }

    #[test]
    fn truncated_body_is_an_error_not_a_panic() {
        assert!(parse(
            b"--XY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1",
            "XY"
        )
        .is_err());
        assert!(parse(b"--XY", "XY").is_err());
    }
}
