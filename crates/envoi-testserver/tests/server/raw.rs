//! Scripted raw routes: each must put exactly its intended bytes on the wire.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use crate::support::{client_config, connect, connect_tls, raw_exchange, server};

const HEAD_200_TEXT: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n";
const HALF: &str = "01234567890123456789012345678901234567890123456789";

/// The exchange's bytes as text, asserting the server closed cleanly.
fn clean(path: &str) -> String {
    let (bytes, end) = raw_exchange(server(), path);
    end.unwrap_or_else(|e| panic!("{path}: expected a clean close, got {e}"));
    String::from_utf8(bytes).unwrap()
}

#[test]
fn truncated_length_sends_half_the_body_then_closes() {
    let text = clean("/raw/truncated-length");
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert_eq!(
        head,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100"
    );
    assert_eq!(body, HALF);
}

#[test]
fn truncated_chunked_stops_mid_chunk_then_closes() {
    let text = clean("/raw/truncated-chunked");
    assert_eq!(
        text,
        format!(
            "{HEAD_200_TEXT}Transfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n14\r\n0123456789"
        )
    );
}

#[test]
fn missing_last_chunk_closes_after_complete_chunks() {
    let text = clean("/raw/missing-last-chunk");
    assert!(
        text.ends_with("\r\n\r\n5\r\nhello\r\n6\r\n world\r\n"),
        "{text:?}"
    );
}

#[test]
fn bad_chunk_size_sends_a_non_hex_size_line() {
    let text = clean("/raw/bad-chunk-size");
    assert!(
        text.ends_with("chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
        "{text:?}"
    );
}

#[test]
fn reset_mid_body_ends_in_a_connection_reset() {
    let (bytes, end) = raw_exchange(server(), "/raw/reset-mid-body");
    let err = end.expect_err("a reset, not a clean close");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 200 OK"),
        "{text:?}"
    );
}

#[test]
fn close_before_response_sends_nothing() {
    assert_eq!(clean("/raw/close-before-response"), "");
}

#[test]
fn slow_drip_sends_one_byte_per_delay() {
    let started = Instant::now();
    let text = clean("/raw/slow-drip?bytes=4&delay_ms=50");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(text.contains("Content-Length: 4\r\n"));
    assert!(text.ends_with("\r\n\r\n****"), "{text:?}");
}

#[test]
fn huge_header_sends_one_header_of_the_requested_size() {
    let text = clean("/raw/huge-header?size=100000");
    let line = text.lines().find(|l| l.starts_with("X-Huge: ")).unwrap();
    assert_eq!(line.len(), "X-Huge: ".len() + 100_000);
    assert!(text.ends_with("\r\n\r\nok"));
}

#[test]
fn many_headers_sends_the_requested_count() {
    let text = clean("/raw/many-headers?count=300");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("X-Header-")).count(),
        300
    );
    assert!(text.ends_with("\r\n\r\nok"));
}

#[test]
fn close_delimited_body_ends_at_eof() {
    let text = clean("/raw/close-delimited?bytes=100000");
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert_eq!(head, "HTTP/1.1 200 OK\r\nContent-Type: text/plain");
    assert_eq!(body.len(), 100_000);
}

#[test]
fn http10_response_has_version_1_0_and_closes() {
    let text = clean("/raw/http10");
    assert!(text.starts_with("HTTP/1.0 200 OK\r\n"));
    assert!(!text.to_ascii_lowercase().contains("keep-alive"));
    assert!(text.ends_with("\r\n\r\nhello http10"));
}

#[test]
fn cl_and_te_sends_both_framing_headers() {
    let text = clean("/raw/cl-and-te");
    assert!(text.contains("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"));
    assert!(text.ends_with("\r\n\r\nb\r\nhello world\r\n0\r\n\r\n"));
}

#[test]
fn conflicting_length_sends_two_content_lengths() {
    let text = clean("/raw/conflicting-length");
    assert!(text.contains("Content-Length: 5\r\nContent-Length: 6\r\n"));
}

#[test]
fn interim_103_precedes_the_final_response() {
    let text = clean("/raw/interim-103");
    assert!(text.starts_with("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\nHTTP/1.1 200 OK\r\n"));
    assert!(text.ends_with("\r\n\r\nok"));
}

#[test]
fn trailers_follow_the_last_chunk() {
    let mut client = connect(server().http_addr());
    let reply = client.get("/raw/trailers").unwrap();
    assert_eq!(reply.body, b"hello world");
    assert_eq!(
        reply.trailers[1],
        ("X-Trailer".to_owned(), "done".to_owned())
    );
}

#[test]
fn custom_writes_the_requested_status_line_headers_and_body() {
    let text = clean("/raw/custom?status=299&reason=Odd&header=X-A%3A%201&body=hey");
    assert_eq!(
        text,
        "HTTP/1.1 299 Odd\r\nX-A: 1\r\nContent-Length: 3\r\n\r\nhey"
    );
}

#[test]
fn raw_route_after_keep_alive_requests_still_gets_raw_bytes() {
    let mut client = connect(server().http_addr());
    assert_eq!(client.get("/get").unwrap().status, 200);
    assert_eq!(client.get("/headers").unwrap().status, 200);
    client
        .write_all(b"GET /raw/truncated-length HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (bytes, end) = client.read_until_close();
    end.unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text
        .starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n"));
    assert!(text.ends_with(&format!("\r\n\r\n{HALF}")));
}

#[test]
fn raw_route_over_tls_sends_the_same_bytes_and_close_notify() {
    let config = client_config(server(), false, false);
    let mut client = connect_tls(server().https_addr(), config).unwrap();
    client
        .write_all(b"GET /raw/truncated-length HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let (bytes, end) = client.read_until_close();
    end.expect("close_notify, not an unexpected EOF");
    assert!(String::from_utf8(bytes)
        .unwrap()
        .ends_with(&format!("\r\n\r\n{HALF}")));
}
