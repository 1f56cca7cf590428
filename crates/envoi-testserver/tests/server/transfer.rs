//! Bodies: generated downloads, ranges, streams, drip, bombs and the upload sink.

use std::io::Read;
use std::time::{Duration, Instant};

use crate::support::{connect, get, server};

#[test]
fn bytes_sends_exactly_n_bytes_with_content_length() {
    let reply = get(server(), "/bytes/300000?seed=1");
    assert_eq!(reply.header("content-length"), Some("300000"));
    assert_eq!(reply.body.len(), 300_000);
}

#[test]
fn bytes_with_the_same_seed_are_identical_and_differ_across_seeds() {
    let a = get(server(), "/bytes/1000?seed=42").body;
    assert_eq!(a, get(server(), "/bytes/1000?seed=42").body);
    assert_ne!(a, get(server(), "/bytes/1000?seed=43").body);
}

#[test]
fn range_returns_206_with_content_range() {
    let reply = connect(server().http_addr())
        .send("GET", "/range/1000", &[("Range", "bytes=26-51")], b"")
        .unwrap();
    assert_eq!(reply.status, 206);
    assert_eq!(reply.header("content-range"), Some("bytes 26-51/1000"));
    assert_eq!(reply.body, b"abcdefghijklmnopqrstuvwxyz");
    let tail = connect(server().http_addr())
        .send("GET", "/range/1000", &[("Range", "bytes=990-")], b"")
        .unwrap();
    assert_eq!(tail.header("content-range"), Some("bytes 990-999/1000"));
    assert_eq!(tail.body.len(), 10);
}

#[test]
fn range_past_the_end_is_416_and_a_stale_if_range_gets_everything() {
    let reply = connect(server().http_addr())
        .send("GET", "/range/100", &[("Range", "bytes=100-")], b"")
        .unwrap();
    assert_eq!(reply.status, 416);
    assert_eq!(reply.header("content-range"), Some("bytes */100"));
    let stale = connect(server().http_addr())
        .send(
            "GET",
            "/range/100",
            &[("Range", "bytes=10-"), ("If-Range", "\"other\"")],
            b"",
        )
        .unwrap();
    assert_eq!((stale.status, stale.body.len()), (200, 100));
}

#[test]
fn stream_sends_n_json_lines_chunked() {
    let reply = get(server(), "/stream/5");
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    let lines: Vec<serde_json::Value> = reply
        .body
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[4]["id"], 4);
}

#[test]
fn stream_bytes_is_chunked_with_the_requested_total() {
    let reply = get(server(), "/stream-bytes/5000?chunk_size=1000&seed=3");
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    assert_eq!(reply.body.len(), 5000);
}

#[test]
fn drip_spreads_numbytes_over_the_duration() {
    let started = Instant::now();
    let reply = get(server(), "/drip?numbytes=5&duration=0.25&code=201");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!((reply.status, &reply.body[..]), (201, &b"*****"[..]));
    assert_eq!(reply.header("content-length"), Some("5"));
}

#[test]
fn delay_waits_before_answering() {
    let started = Instant::now();
    assert_eq!(get(server(), "/delay/0.2").status, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[test]
fn gzip_bomb_inflates_to_n_zeros_from_a_small_body() {
    let n = 20 * 1024 * 1024;
    let reply = get(server(), &format!("/gzip-bomb/{n}"));
    assert_eq!(reply.header("content-encoding"), Some("gzip"));
    assert!(
        reply.body.len() < n / 100,
        "compressed {} bytes",
        reply.body.len()
    );
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&reply.body[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded.len(), n);
}

#[test]
fn upload_sink_counts_10_mib_chunked_and_hashes_it() {
    let mut client = connect(server().http_addr());
    client
        .write_all(b"POST /upload-sink HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    let chunk: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
    let mut expected = ring::digest::Context::new(&ring::digest::SHA256);
    for _ in 0..160 {
        client
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .unwrap();
        client.write_all(&chunk).unwrap();
        client.write_all(b"\r\n").unwrap();
        expected.update(&chunk);
    }
    client.write_all(b"0\r\n\r\n").unwrap();
    let body = client.read_reply(false).unwrap().json();
    let hex: String = expected
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(body["bytes"], 10 * 1024 * 1024);
    assert_eq!(body["chunked"], true);
    assert_eq!(body["sha256"], hex);
}

#[test]
fn upload_sink_reports_a_content_length_body() {
    let reply = connect(server().http_addr())
        .send("PUT", "/upload-sink", &[], b"hello")
        .unwrap();
    let body = reply.json();
    assert_eq!(body["bytes"], 5);
    assert_eq!(body["chunked"], false);
    assert_eq!(body["content_length"], 5);
    assert_eq!(
        body["sha256"],
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
}
