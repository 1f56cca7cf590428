//! Large and slow bodies: `/bytes/{n}`, `/stream-bytes/{n}`, `/stream/{n}`, `/range/{n}`,
//! `/drip`, and the upload sink. Nothing here holds a whole body in memory: downloads are
//! generated chunk by chunk and uploads are hashed as they stream in.

use std::time::Duration;

use bytes::Bytes;
use http::header::{
    HeaderValue, ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_RANGE, RANGE,
    TRANSFER_ENCODING,
};
use http::{request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::{json, Value};

use crate::body::{channel, generated, ok_json, parse_num, Body, HttpError, Reply};

/// Chunk size of generated downloads.
const CHUNK: usize = 64 * 1024;
/// httpbin caps `/stream/{n}`; ours is higher but still bounded.
const MAX_STREAM_LINES: u64 = 100_000;

/// `/bytes/{n}?seed=S`: n pseudo-random bytes with `Content-Length`. The same seed gives the
/// same bytes; without one, each request gets different bytes.
pub(crate) fn bytes(n: u64, seed: u64) -> Reply {
    let mut rng = SplitMix64(seed);
    let mut left = n;
    let body = generated(Some(n), move || {
        let take = left.min(CHUNK as u64) as usize;
        left -= take as u64;
        (take > 0).then(|| rng.fill(take))
    });
    Ok(octets(StatusCode::OK, body))
}

/// `/stream-bytes/{n}?seed=S&chunk_size=C`: like `/bytes`, chunked, C bytes per chunk.
pub(crate) fn stream_bytes(n: u64, seed: u64, chunk_size: usize) -> Reply {
    let mut rng = SplitMix64(seed);
    let chunk_size = chunk_size.clamp(1, 1024 * 1024) as u64;
    let mut left = n;
    let body = generated(None, move || {
        let take = left.min(chunk_size) as usize;
        left -= take as u64;
        (take > 0).then(|| rng.fill(take))
    });
    Ok(octets(StatusCode::OK, body))
}

/// `/stream/{n}`: n JSON lines (`echo` plus `"id"`), chunked, one line per chunk.
pub(crate) fn stream_lines(n: u64, echo: Value) -> Reply {
    let n = n.min(MAX_STREAM_LINES);
    let mut id = 0u64;
    let body = generated(None, move || {
        if id == n {
            return None;
        }
        let mut line = echo.clone();
        line["id"] = json!(id);
        id += 1;
        let mut text = serde_json::to_string(&line).unwrap_or_default();
        text.push('\n');
        Some(Bytes::from(text))
    });
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

/// `/range/{n}`: n bytes of `abc…xyzabc…`, honouring `Range: bytes=a-b`, `a-` and `-s` with a
/// 206, and `If-Range`; 416 when unsatisfiable. Multiple ranges are ignored (a full 200), as
/// RFC 9110 allows.
pub(crate) fn range(parts: &request::Parts, n: u64) -> Reply {
    let etag = format!("\"range{n}\"");
    let header = parts.headers.get(RANGE).and_then(|v| v.to_str().ok());
    let if_range_ok = parts
        .headers
        .get(IF_RANGE)
        .is_none_or(|v| v.as_bytes() == etag.as_bytes());
    let wanted = match header.filter(|_| if_range_ok).map(|h| parse_range(h, n)) {
        None | Some(RangeSpec::Ignored) => None,
        Some(RangeSpec::Unsatisfiable) => {
            let mut response = Response::new(crate::body::empty());
            *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            set(&mut response, CONTENT_RANGE, &format!("bytes */{n}"));
            set(&mut response, ETAG, &etag);
            set(&mut response, ACCEPT_RANGES, "bytes");
            return Ok(response);
        }
        Some(RangeSpec::Bytes(first, last)) => Some((first, last)),
    };
    let (first, last, status) = match wanted {
        Some((first, last)) => (first, last, StatusCode::PARTIAL_CONTENT),
        None => (0, n.saturating_sub(1), StatusCode::OK),
    };
    let len = if n == 0 { 0 } else { last - first + 1 };
    let mut offset = first;
    let end = first + len;
    let body = generated(Some(len), move || {
        let take = (end - offset).min(CHUNK as u64);
        let chunk: Vec<u8> = (offset..offset + take)
            .map(|i| b'a' + (i % 26) as u8)
            .collect();
        offset += take;
        (take > 0).then(|| Bytes::from(chunk))
    });
    let mut response = octets(status, body);
    set(&mut response, ETAG, &etag);
    set(&mut response, ACCEPT_RANGES, "bytes");
    if status == StatusCode::PARTIAL_CONTENT {
        set(
            &mut response,
            CONTENT_RANGE,
            &format!("bytes {first}-{last}/{n}"),
        );
    }
    Ok(response)
}

enum RangeSpec {
    Bytes(u64, u64),
    Unsatisfiable,
    Ignored,
}

fn parse_range(header: &str, n: u64) -> RangeSpec {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeSpec::Ignored;
    };
    if spec.contains(',') {
        return RangeSpec::Ignored;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeSpec::Ignored;
    };
    let (first, last) = (first.trim(), last.trim());
    let parsed = match (first.parse::<u64>(), last.parse::<u64>()) {
        (Ok(a), Ok(b)) if a <= b => (a, b.min(n.saturating_sub(1))),
        (Ok(a), Err(_)) if last.is_empty() => (a, n.saturating_sub(1)),
        (Err(_), Ok(s)) if first.is_empty() => {
            if s == 0 {
                return RangeSpec::Unsatisfiable;
            }
            (n.saturating_sub(s), n.saturating_sub(1))
        }
        _ => return RangeSpec::Ignored,
    };
    if n == 0 || parsed.0 >= n {
        return RangeSpec::Unsatisfiable;
    }
    RangeSpec::Bytes(parsed.0, parsed.1)
}

/// `/drip?numbytes=N&duration=D&delay=S&code=C`: waits S seconds, answers C, then sends N
/// `*` bytes spread over D seconds, with `Content-Length`.
pub(crate) async fn drip(query: &str) -> Reply {
    let mut numbytes = 10u64;
    let mut duration = 2.0f64;
    let mut delay = 0.0f64;
    let mut code = 200u16;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "numbytes" => numbytes = parse_num(&value, "numbytes")?,
            "duration" => duration = parse_num(&value, "duration")?,
            "delay" => delay = parse_num(&value, "delay")?,
            "code" => code = parse_num(&value, "code")?,
            _ => {}
        }
    }
    let numbytes = numbytes.min(10 * 1024 * 1024);
    let status = StatusCode::from_u16(code)
        .ok()
        .filter(|s| s.as_u16() >= 200)
        .ok_or_else(|| HttpError::bad_request(format!("invalid code {code}")))?;
    tokio::time::sleep(seconds(delay, 10.0)).await;
    let pause = if numbytes == 0 {
        Duration::ZERO
    } else {
        seconds(duration, 60.0) / numbytes as u32
    };
    let (tx, body) = channel(Some(numbytes));
    tokio::spawn(async move {
        for _ in 0..numbytes {
            tokio::time::sleep(pause).await;
            if tx.send(Bytes::from_static(b"*")).await.is_err() {
                return;
            }
        }
    });
    Ok(octets(status, body))
}

/// `/upload-sink` (any method): reads the body as it streams, keeping only a count and a
/// SHA-256 (skipped with `?sha256=false`), and reports them with how the body was framed.
pub(crate) async fn upload_sink(parts: &request::Parts, body: &mut Incoming) -> Reply {
    let chunked = parts.headers.get_all(TRANSFER_ENCODING).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.to_ascii_lowercase().contains("chunked"))
    });
    let content_length = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let hash = !parts.uri.query().unwrap_or("").contains("sha256=false");
    // ring's SHA-256 is assembly, fast even in debug builds, where a 5 GiB upload through
    // a pure-Rust hash would take minutes.
    let mut hasher = ring::digest::Context::new(&ring::digest::SHA256);
    let mut count = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            HttpError::bad_request(format!("upload broke off after {count} bytes: {e}"))
        })?;
        if let Ok(data) = frame.into_data() {
            count += data.len() as u64;
            if hash {
                hasher.update(&data);
            }
        }
    }
    let sha256 = hash.then(|| {
        hasher
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    });
    ok_json(&json!({
        "bytes": count,
        "chunked": chunked,
        "content_length": content_length,
        "sha256": sha256,
    }))
}

/// A non-negative number of seconds, capped.
pub(crate) fn seconds(value: f64, cap: f64) -> Duration {
    if value.is_finite() && value > 0.0 {
        Duration::from_secs_f64(value.min(cap))
    } else {
        Duration::ZERO
    }
}

fn octets(status: StatusCode, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    set(&mut response, CONTENT_TYPE, "application/octet-stream");
    response
}

fn set(response: &mut Response<Body>, name: http::header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// SplitMix64: tiny, fast, and plenty random for test payloads.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fill(&mut self, len: usize) -> Bytes {
        let mut chunk = Vec::with_capacity(len + 8);
        while chunk.len() < len {
            chunk.extend_from_slice(&self.next().to_le_bytes());
        }
        chunk.truncate(len);
        Bytes::from(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_like_rfc_9110() {
        let bytes = |h| match parse_range(h, 100) {
            RangeSpec::Bytes(a, b) => Some((a, b)),
            _ => None,
        };
        assert_eq!(bytes("bytes=0-9"), Some((0, 9)));
        assert_eq!(bytes("bytes=90-"), Some((90, 99)));
        assert_eq!(bytes("bytes=-10"), Some((90, 99)));
        assert_eq!(bytes("bytes=95-200"), Some((95, 99)));
        assert!(matches!(
            parse_range("bytes=100-", 100),
            RangeSpec::Unsatisfiable
        ));
        assert!(matches!(parse_range("bytes=5-1", 100), RangeSpec::Ignored));
        assert!(matches!(
            parse_range("bytes=0-1,5-6", 100),
            RangeSpec::Ignored
        ));
        assert!(matches!(parse_range("items=0-1", 100), RangeSpec::Ignored));
    }

    #[test]
    fn same_seed_same_bytes() {
        assert_eq!(SplitMix64(7).fill(100), SplitMix64(7).fill(100));
        assert_ne!(SplitMix64(7).fill(100), SplitMix64(8).fill(100));
    }
}
