//! Scripted raw replies under `/raw/`: responses that break HTTP on purpose, byte for byte,
//! for a client's error tests. Hyper is bypassed (see `conn.rs`), so nothing normalises them.
//!
//! Every script closes the connection when it is done: on purpose for the broken ones, and
//! so that a well-formed one (`trailers`, `interim-103`, ...) never leaves a client waiting on
//! a reused connection. A close is clean (TLS `close_notify`, then FIN) unless the script's
//! point is a reset, so a TLS client sees the same HTTP-level fault as a plain one.

use std::io;
use std::time::Duration;

use http::Uri;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::conn::Conn;

/// The prefix of every raw route.
const PREFIX: &str = "/raw/";
/// The 50 body bytes the truncated scripts send.
const HALF_BODY: &[u8; 50] = b"01234567890123456789012345678901234567890123456789";
/// How long a finished script waits for the client to close before dropping the socket.
const LINGER: Duration = Duration::from_secs(2);

/// A request for a raw route: its name (after `/raw/`) and query pairs.
#[derive(Debug)]
pub(crate) struct RawRequest {
    route: String,
    query: Vec<(String, String)>,
}

impl RawRequest {
    /// `Some` when `uri` names a raw route.
    pub(crate) fn from_uri(uri: &Uri) -> Option<RawRequest> {
        let route = uri.path().strip_prefix(PREFIX)?.to_owned();
        let query = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
        Some(RawRequest { route, query })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.query
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// A numeric query value, `default` when absent or malformed, never above `max`.
    fn num(&self, name: &str, default: u64, max: u64) -> u64 {
        self.get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
            .min(max)
    }
}

/// Plays the script for `req` on `conn`, then closes it.
pub(crate) async fn serve(mut conn: Conn, req: RawRequest) {
    if let Ok(Ending::Close) = play(&mut conn, &req).await {
        close(conn).await;
    }
}

/// How a script wants its connection to end.
enum Ending {
    /// Clean close: TLS close_notify, FIN, then wait briefly for the client to close.
    Close,
    /// The script already disposed of the socket (reset).
    Done,
}

async fn play(conn: &mut Conn, req: &RawRequest) -> io::Result<Ending> {
    let text = "Content-Type: text/plain";
    match req.route.as_str() {
        "truncated-length" => {
            let head = head("HTTP/1.1 200 OK", &[text, "Content-Length: 100"]);
            write(conn, &[&head, HALF_BODY]).await?;
        }
        "truncated-chunked" => {
            // The second chunk announces 0x14 = 20 bytes and delivers 10.
            let head = head("HTTP/1.1 200 OK", &[text, "Transfer-Encoding: chunked"]);
            write(conn, &[&head, b"a\r\n0123456789\r\n14\r\n0123456789"]).await?;
        }
        "missing-last-chunk" => {
            let head = head("HTTP/1.1 200 OK", &[text, "Transfer-Encoding: chunked"]);
            write(conn, &[&head, b"5\r\nhello\r\n6\r\n world\r\n"]).await?;
        }
        "bad-chunk-size" => {
            let head = head("HTTP/1.1 200 OK", &[text, "Transfer-Encoding: chunked"]);
            write(conn, &[&head, b"zz\r\nhello\r\n0\r\n\r\n"]).await?;
        }
        "reset-mid-body" => {
            let head = head("HTTP/1.1 200 OK", &[text, "Content-Length: 100"]);
            write(conn, &[&head, HALF_BODY]).await?;
            // Give the client a moment to read what was sent: a reset discards data still
            // unread in its receive buffer, and the test is about the reset, not a lost head.
            tokio::time::sleep(Duration::from_millis(50)).await;
            conn.tcp().set_zero_linger()?;
            return Ok(Ending::Done);
        }
        "close-before-response" => {}
        "hang" => {
            // Accept the request and say nothing, for read-timeout tests.
            let ms = req.num("ms", 30_000, 60_000);
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        "truncated-head" => write(conn, &[b"HTTP/1.1 200 OK\r\nContent-Ty"]).await?,
        "garbage" => write(conn, &[b"this is not HTTP at all\r\n\r\n"]).await?,
        "slow-drip" => slow_drip(conn, req).await?,
        "huge-header" => {
            let size = req.num("size", 64 * 1024, 64 * 1024 * 1024) as usize;
            let mut header = b"X-Huge: ".to_vec();
            header.resize(header.len() + size, b'a');
            let before = head_start(
                "HTTP/1.1 200 OK",
                &[text, "Content-Length: 2", "Connection: close"],
            );
            write(conn, &[&before, &header, b"\r\n\r\nok"]).await?;
        }
        "many-headers" => {
            let count = req.num("count", 200, 100_000);
            let mut bytes = head_start(
                "HTTP/1.1 200 OK",
                &[text, "Content-Length: 2", "Connection: close"],
            );
            for i in 0..count {
                bytes.extend_from_slice(format!("X-Header-{i}: value-{i}\r\n").as_bytes());
            }
            write(conn, &[&bytes, b"\r\nok"]).await?;
        }
        "close-delimited" => close_delimited(conn, req).await?,
        "http10" => {
            let head = head("HTTP/1.0 200 OK", &[text, "Content-Length: 12"]);
            write(conn, &[&head, b"hello http10"]).await?;
        }
        "cl-and-te" => {
            // RFC 9112 §6.3: chunked wins over Content-Length, and the connection must close.
            let head = head(
                "HTTP/1.1 200 OK",
                &[text, "Content-Length: 5", "Transfer-Encoding: chunked"],
            );
            write(conn, &[&head, b"b\r\nhello world\r\n0\r\n\r\n"]).await?;
        }
        "conflicting-length" => {
            let head = head(
                "HTTP/1.1 200 OK",
                &[text, "Content-Length: 5", "Content-Length: 6"],
            );
            write(conn, &[&head, b"hello!"]).await?;
        }
        "interim-103" => {
            let link = "Link: </style.css>; rel=preload; as=style";
            let early = head("HTTP/1.1 103 Early Hints", &[link]);
            let last = head(
                "HTTP/1.1 200 OK",
                &[text, link, "Content-Length: 2", "Connection: close"],
            );
            write(conn, &[&early, &last, b"ok"]).await?;
        }
        "interim-100" => {
            let early = head("HTTP/1.1 100 Continue", &[]);
            let last = head(
                "HTTP/1.1 200 OK",
                &[text, "Content-Length: 2", "Connection: close"],
            );
            write(conn, &[&early, &last, b"ok"]).await?;
        }
        "trailers" => {
            let head = head(
                "HTTP/1.1 200 OK",
                &[
                    text,
                    "Transfer-Encoding: chunked",
                    "Trailer: X-Checksum, X-Trailer",
                    "Connection: close",
                ],
            );
            let body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 5eb63bbbe01eeed093cb22bb8f5acdc3\r\nX-Trailer: done\r\n\r\n";
            write(conn, &[&head, body]).await?;
        }
        "custom" => custom(conn, req).await?,
        _ => {
            let body = format!("unknown raw route {:?}\n", req.route);
            let length = format!("Content-Length: {}", body.len());
            let head = head(
                "HTTP/1.1 404 Not Found",
                &[text, &length, "Connection: close"],
            );
            write(conn, &[&head, body.as_bytes()]).await?;
        }
    }
    Ok(Ending::Close)
}

/// `/raw/slow-drip?bytes=N&delay_ms=M`: a Content-Length body, one `*` every M ms.
async fn slow_drip(conn: &mut Conn, req: &RawRequest) -> io::Result<()> {
    let bytes = req.num("bytes", 10, 1024 * 1024);
    let delay = Duration::from_millis(req.num("delay_ms", 100, 10_000));
    let length = format!("Content-Length: {bytes}");
    let head = head(
        "HTTP/1.1 200 OK",
        &["Content-Type: text/plain", &length, "Connection: close"],
    );
    write(conn, &[&head]).await?;
    for _ in 0..bytes {
        tokio::time::sleep(delay).await;
        write(conn, &[b"*"]).await?;
    }
    Ok(())
}

/// `/raw/close-delimited?bytes=N`: HTTP/1.1 200 with neither length nor chunking; the body
/// (a text, or N pattern bytes) ends when the connection does.
async fn close_delimited(conn: &mut Conn, req: &RawRequest) -> io::Result<()> {
    let head = head("HTTP/1.1 200 OK", &["Content-Type: text/plain"]);
    write(conn, &[&head]).await?;
    let Some(total) = req.get("bytes").and_then(|v| v.parse::<u64>().ok()) else {
        return write(conn, &[b"this body ends when the connection closes\n"]).await;
    };
    let chunk: Vec<u8> = (0..64 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    let mut left = total;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        write(conn, &[&chunk[..n]]).await?;
        left -= n as u64;
    }
    Ok(())
}

/// `/raw/custom?status=&reason=&version=&header=Name:%20value&body=&length=auto|none|N`:
/// any single response, for cases no named route covers.
async fn custom(conn: &mut Conn, req: &RawRequest) -> io::Result<()> {
    let status = req.get("status").unwrap_or("200");
    let reason = req.get("reason").unwrap_or("OK");
    let version = req.get("version").unwrap_or("HTTP/1.1");
    let body = req.get("body").unwrap_or("");
    let mut headers: Vec<String> = req.all("header").map(str::to_owned).collect();
    match req.get("length").unwrap_or("auto") {
        "none" => {}
        "auto" => headers.push(format!("Content-Length: {}", body.len())),
        other => headers.push(format!("Content-Length: {other}")),
    }
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let head = head(&format!("{version} {status} {reason}"), &header_refs);
    write(conn, &[&head, body.as_bytes()]).await
}

/// A status line and headers, up to and including the blank line.
fn head(status_line: &str, headers: &[&str]) -> Vec<u8> {
    let mut bytes = head_start(status_line, headers);
    bytes.extend_from_slice(b"\r\n");
    bytes
}

/// A status line and headers, without the blank line, for scripts that add more headers.
fn head_start(status_line: &str, headers: &[&str]) -> Vec<u8> {
    let mut bytes = format!("{status_line}\r\n").into_bytes();
    for header in headers {
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    bytes
}

async fn write(conn: &mut Conn, parts: &[&[u8]]) -> io::Result<()> {
    for part in parts {
        conn.write_all(part).await?;
    }
    conn.flush().await
}

/// Closes cleanly, then reads until the client closes (or [`LINGER`] passes): closing a
/// socket with unread input makes the kernel send a reset instead of a FIN, which would turn
/// every scripted fault into a "connection reset".
async fn close(mut conn: Conn) {
    let _ = conn.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(LINGER, async {
        while let Ok(n) = conn.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_routes_are_recognised_with_their_query() {
        let uri: Uri = "/raw/slow-drip?bytes=3&delay_ms=5".parse().unwrap();
        let req = RawRequest::from_uri(&uri).unwrap();
        assert_eq!(req.route, "slow-drip");
        assert_eq!(req.num("bytes", 10, 100), 3);
        assert_eq!(req.num("delay_ms", 100, 2), 2);
        assert!(RawRequest::from_uri(&"/get".parse().unwrap()).is_none());
    }

    #[test]
    fn head_ends_with_a_blank_line() {
        assert_eq!(
            head("HTTP/1.1 200 OK", &["A: b"]),
            b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n"
        );
    }
}
