//! The poll-driven front end on its own: every `HttpClient` status transition against the test
//! server, every `poll::Request` result that loopback can provoke, `query_string_from_dict`,
//! a caller-provided stream, blocking mode, threads, proxies. Every loop is bounded in polls
//! and in time; no DNS query leaves the machine (names go to resolvers the tests plug in).

#![cfg(feature = "poll")]

mod support;

#[path = "poll/request.rs"]
mod request;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use envoi::poll::{self, HttpClient, QueryValue, Status};
use envoi_testserver::ClosedPort;
use support::*;

const MAX_POLLS: usize = 200_000;
const MAX_TIME: Duration = Duration::from_secs(20);

/// Polls until `done` holds for the status, within the bounds; returns the statuses seen, each
/// change once, the first included.
fn poll_until(client: &mut HttpClient, done: impl Fn(Status) -> bool) -> Vec<Status> {
    let started = Instant::now();
    let mut seen = vec![client.status()];
    for _ in 0..MAX_POLLS {
        let status = client.poll();
        if seen.last() != Some(&status) {
            seen.push(status);
        }
        if done(status) {
            return seen;
        }
        assert!(started.elapsed() < MAX_TIME, "stuck: {seen:?}");
        std::thread::sleep(Duration::from_micros(100));
    }
    panic!("no end in {MAX_POLLS} polls: {seen:?}");
}

fn settled(status: Status) -> bool {
    !status.is_waiting()
}

/// Reads the body to its end (or failure); returns it and the statuses seen.
fn read_body(client: &mut HttpClient) -> (Vec<u8>, Vec<Status>) {
    let started = Instant::now();
    let (mut body, mut seen) = (Vec::new(), vec![client.status()]);
    for _ in 0..MAX_POLLS {
        if client.status() != Status::Body {
            return (body, seen);
        }
        client.poll();
        let chunk = client.read_response_body_chunk();
        assert!(chunk.len() <= client.read_chunk_size());
        body.extend_from_slice(&chunk);
        if seen.last() != Some(&client.status()) {
            seen.push(client.status());
        }
        if chunk.is_empty() {
            assert!(started.elapsed() < MAX_TIME, "stuck reading: {seen:?}");
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    panic!("body not read in {MAX_POLLS} polls");
}

fn connected(server: &TestServer) -> HttpClient {
    let mut client = HttpClient::from_builder(builder()).unwrap();
    client
        .connect_to_host("127.0.0.1", server.http_addr().port(), None)
        .unwrap();
    assert_eq!(
        poll_until(&mut client, settled).last(),
        Some(&Status::Connected)
    );
    client
}

fn get(client: &mut HttpClient, target: &str) -> (Vec<u8>, Vec<Status>) {
    client.request(Method::GET, target, &[], "").unwrap();
    assert_eq!(client.status(), Status::Requesting);
    let mut seen = poll_until(client, settled);
    let (body, more) = read_body(client);
    seen.extend(more.into_iter().skip(1));
    (body, seen)
}

fn failing_resolver(host: &str, _: u16) -> std::io::Result<Vec<SocketAddr>> {
    Err(std::io::Error::other(format!(
        "{host} does not resolve here"
    )))
}

#[test]
fn statuses_walk_from_resolving_to_body_and_back_on_a_reused_connection() {
    let server = TestServer::start();
    let mut client = HttpClient::new();
    assert_eq!(client.status(), Status::Disconnected);
    client
        .connect_to_host("127.0.0.1", server.http_addr().port(), None)
        .unwrap();
    assert_eq!(
        client.status(),
        Status::Resolving,
        "resolution is never done in the call"
    );
    let seen = poll_until(&mut client, settled);
    assert_eq!(seen.first(), Some(&Status::Resolving));
    assert_eq!(seen.last(), Some(&Status::Connected));
    assert!(seen.iter().all(|s| matches!(
        s,
        Status::Resolving | Status::Connecting | Status::Connected
    )));

    let (body, seen) = get(&mut client, "/bytes/100000");
    assert_eq!(seen, [Status::Requesting, Status::Body, Status::Connected]);
    assert_eq!(body.len(), 100_000);
    assert_eq!(client.response_code(), Some(http::StatusCode::OK));
    assert_eq!(client.response_body_length(), Some(100_000));
    assert!(client.has_response() && !client.is_response_chunked());

    // The same connection carries the next request: chunked, length unknown.
    let (body, seen) = get(&mut client, "/stream-bytes/5000?chunk_size=100");
    assert_eq!(seen, [Status::Requesting, Status::Body, Status::Connected]);
    assert_eq!(body.len(), 5000);
    assert!(client.is_response_chunked());
    assert_eq!(client.response_body_length(), None);

    client.close();
    assert_eq!(client.status(), Status::Disconnected);
    assert!(!client.has_response());
}

#[test]
fn a_response_that_ends_the_connection_leaves_it_disconnected() {
    let server = TestServer::start();
    let mut client = connected(&server);
    let (body, seen) = get(&mut client, "/raw/close-delimited");
    assert_eq!(seen.last(), Some(&Status::Disconnected), "{seen:?}");
    assert_eq!(body, b"this body ends when the connection closes\n");
    assert_eq!(client.response_body_length(), None);
    let refused = client.request(Method::GET, "/get", &[], "");
    assert_eq!(refused.unwrap_err().kind(), ErrorKind::InvalidRequest);
}

#[test]
fn a_response_without_a_body_goes_straight_back_to_connected() {
    let server = TestServer::start();
    let mut client = connected(&server);
    client.request(Method::HEAD, "/bytes/100", &[], "").unwrap();
    assert_eq!(
        poll_until(&mut client, settled).last(),
        Some(&Status::Connected)
    );
    assert_eq!(client.response_code(), Some(http::StatusCode::OK));
    assert_eq!(client.response_body_length(), Some(0));
}

#[test]
fn cant_resolve_comes_from_a_resolver_that_fails() {
    let mut client = HttpClient::from_builder(builder().resolver(failing_resolver)).unwrap();
    client.connect_to_host("nowhere.test", 80, None).unwrap();
    let seen = poll_until(&mut client, settled);
    assert_eq!(seen, [Status::Resolving, Status::CantResolve]);
    let error = client.last_error().unwrap();
    assert_eq!(error.kind(), ErrorKind::CantResolve);
    assert!(format!("{error:#}").contains("nowhere.test"), "{error:#}");
}

#[test]
fn cant_connect_to_a_closed_port() {
    let closed = ClosedPort::new();
    let mut client = HttpClient::new();
    client
        .connect_to_host("127.0.0.1", closed.port(), None)
        .unwrap();
    let seen = poll_until(&mut client, settled);
    assert_eq!(seen.last(), Some(&Status::CantConnect), "{seen:?}");
    assert_eq!(client.take_error().unwrap().kind(), ErrorKind::CantConnect);
}

#[test]
fn an_expired_certificate_is_a_tls_handshake_error_and_its_flag_lets_it_through() {
    let server = TestServer::start();
    let port = server.tls_addr(CertKind::Expired).port();
    let mut client = HttpClient::new();
    client
        .connect_to_host("127.0.0.1", port, Some(tls_options(&server)))
        .unwrap();
    let seen = poll_until(&mut client, settled);
    // On loopback the handshake may fail within the poll that connects.
    assert_eq!(seen.first(), Some(&Status::Resolving));
    assert_eq!(seen.last(), Some(&Status::TlsHandshakeError), "{seen:?}");
    let error = client.last_error().unwrap();
    assert_eq!(error.kind(), ErrorKind::CertificateExpired);
    assert_eq!(
        error.ignore_flag(),
        Some(envoi::IgnoreFlag::ExpiredCertificate)
    );

    let waived = tls_options(&server).ignore_expired_certificate(true);
    client
        .connect_to_host("https://127.0.0.1", port, Some(waived))
        .unwrap();
    assert_eq!(
        poll_until(&mut client, settled).last(),
        Some(&Status::Connected)
    );
    // Idle for a while: the TLS 1.3 session tickets that arrive meanwhile are no close.
    for _ in 0..20 {
        assert_eq!(client.poll(), Status::Connected);
        std::thread::sleep(Duration::from_millis(2));
    }
    let (body, _) = get(&mut client, "/get");
    assert_eq!(
        client.response_code(),
        Some(http::StatusCode::OK),
        "{}",
        String::from_utf8_lossy(&body)
    );
}

/// Polls a client connecting to `addr` (with TLS when `tls`) under a 300 ms connect timeout.
fn connect_with_timeout(addr: SocketAddr, tls: bool) -> (HttpClient, Vec<Status>) {
    let builder = builder().connect_timeout(Duration::from_millis(300));
    let mut client = HttpClient::from_builder(builder).unwrap();
    let tls = tls.then(envoi::tls::TlsOptions::default);
    client
        .connect_to_host("127.0.0.1", addr.port(), tls)
        .unwrap();
    let seen = poll_until(&mut client, settled);
    (client, seen)
}

#[test]
fn connecting_lasts_until_the_server_answers_or_the_connect_timeout() {
    // A listener whose accept queue is full: the kernel drops further SYNs.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    socket.listen(0).unwrap();
    let full = socket.local_addr().unwrap().as_socket().unwrap();
    let fillers: Vec<_> = (0..8)
        .map(|_| {
            let s =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            let _ = s.connect_timeout(&full.into(), Duration::from_millis(50));
            s
        })
        .collect();
    let (client, seen) = connect_with_timeout(full, false);
    assert_eq!(
        seen,
        [Status::Resolving, Status::Connecting, Status::CantConnect]
    );
    let timed_out = ErrorKind::Timeout(envoi::TimeoutPhase::Connect);
    assert_eq!(client.last_error().unwrap().kind(), timed_out);
    drop(fillers);

    // A server that accepts and never says a word: the TLS handshake waits, then times out.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let (client, seen) = connect_with_timeout(silent.local_addr().unwrap(), true);
    assert_eq!(
        seen,
        [
            Status::Resolving,
            Status::Connecting,
            Status::TlsHandshakeError
        ]
    );
    let timed_out = ErrorKind::Timeout(envoi::TimeoutPhase::Tls);
    assert_eq!(client.last_error().unwrap().kind(), timed_out);
}

#[test]
fn a_reset_mid_body_is_a_connection_error() {
    let server = TestServer::start();
    let mut client = connected(&server);
    let (body, seen) = get(&mut client, "/raw/reset-mid-body");
    assert_eq!(seen.last(), Some(&Status::ConnectionError), "{seen:?}");
    assert!(body.len() <= 50);
    let kind = client.last_error().unwrap().kind();
    assert!(
        matches!(kind, ErrorKind::ConnectionClosed | ErrorKind::TruncatedBody),
        "{kind:?}"
    );
}

#[test]
fn a_refused_request_sends_nothing() {
    let server = TestServer::start();
    let mut client = HttpClient::new();
    let e = client.request(Method::GET, "/get", &[], "").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest, "not connected yet");
    let mut client = connected(&server);
    let e = client
        .request(Method::GET, "/get", &["X-Evil: a\r\nInjected: 1"], "")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidHeader);
    let e = client.request(Method::GET, "/a b", &[], "").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidUrl);
    assert_eq!(
        client.status(),
        Status::Connected,
        "a refusal changes nothing"
    );
    assert_eq!(get(&mut client, "/get").1.last(), Some(&Status::Connected));
}

#[test]
fn headers_come_as_received_and_as_a_map_and_bodies_go_out() {
    let server = TestServer::start();
    let mut client = connected(&server);
    let lines = ["Content-Type: text/plain", "X-Dup: one"];
    client
        .request(Method::POST, "/post", &lines, "hello")
        .unwrap();
    poll_until(&mut client, settled);
    let (body, _) = read_body(&mut client);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["data"], "hello");
    assert_eq!(json["headers"]["X-Dup"], "one");

    get(
        &mut client,
        "/response-headers?X-Dup=a&x-dup=b&X-Single=one",
    );
    let received = client.response_headers();
    let dups: Vec<&String> = received
        .iter()
        .filter(|l| l.to_ascii_lowercase().starts_with("x-dup:"))
        .collect();
    assert_eq!(dups.len(), 2, "{received:?}");
    let map = client.response_headers_map();
    assert_eq!(map.get("X-DUP").map(String::as_str), Some("a, b"));
    assert_eq!(map.get("x-single").map(String::as_str), Some("one"));
}

#[test]
fn chunks_are_never_larger_than_the_read_chunk_size() {
    let server = TestServer::start();
    let mut client = connected(&server);
    assert_eq!(client.read_chunk_size(), 65_536);
    client.set_read_chunk_size(1000);
    let (body, _) = get(&mut client, "/bytes/20000");
    assert_eq!(body.len(), 20_000);
}

#[test]
fn every_target_form_reaches_the_server() {
    let server = TestServer::start();
    let mut client = connected(&server);
    let absolute = server.url("/get?form=absolute");
    let (body, _) = get(&mut client, &absolute);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["args"]["form"], "absolute");
    client.request(Method::OPTIONS, "*", &[], "").unwrap();
    poll_until(&mut client, settled);
    assert!(client.has_response(), "{:?}", client.last_error());
}

#[test]
fn query_strings_are_built_as_godot_builds_them_and_reach_the_server() {
    let fields: Vec<(&str, QueryValue)> = vec![
        ("single", 123.into()),
        ("not_valued", QueryValue::None),
        ("multiple", vec![22, 33, 44].into()),
        ("text", "a b&c=d/é".into()),
    ];
    let query = HttpClient::query_string_from_dict(fields);
    assert_eq!(
        query,
        "single=123&not_valued&multiple=22&multiple=33&multiple=44&text=a%20b%26c%3Dd%2F%C3%A9"
    );
    assert_eq!(
        poll::query_string_from_dict([("username", "user"), ("password", "pass")]),
        "username=user&password=pass"
    );
    let server = TestServer::start();
    let mut client = connected(&server);
    let (body, _) = get(&mut client, &format!("/get?{query}"));
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        json["args"]["multiple"],
        serde_json::json!(["22", "33", "44"])
    );
    assert_eq!(json["args"]["text"], "a b&c=d/é");
}

/// A stream of the caller's own: a non-blocking TCP stream behind a type envoi knows nothing of.
struct Wrapped(TcpStream);

impl Read for Wrapped {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Wrapped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

fn caller_stream(addr: SocketAddr) -> Wrapped {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_nonblocking(true).unwrap();
    Wrapped(tcp)
}

#[test]
fn a_caller_provided_stream_carries_plain_and_tls_requests() {
    let server = TestServer::start();
    let mut client = HttpClient::new();
    let addr = server.http_addr();
    client
        .connect_over(caller_stream(addr), "127.0.0.1", addr.port(), None)
        .unwrap();
    assert_eq!(client.status(), Status::Connected);
    let (body, _) = get(&mut client, "/headers");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        json["headers"]["Host"],
        format!("127.0.0.1:{}", addr.port())
    );

    let addr = server.https_addr();
    let tls = Some(tls_options(&server));
    client
        .connect_over(caller_stream(addr), "127.0.0.1", addr.port(), tls)
        .unwrap();
    assert_eq!(
        client.status(),
        Status::Connecting,
        "the handshake runs in poll()"
    );
    assert_eq!(
        poll_until(&mut client, settled),
        [Status::Connecting, Status::Connected]
    );
    get(&mut client, "/get");
    assert_eq!(client.response_code(), Some(http::StatusCode::OK));
}

#[test]
fn blocking_mode_waits_in_poll_and_in_chunk_reads() {
    let server = TestServer::start();
    let mut client = HttpClient::new();
    client.set_blocking_mode(true);
    assert!(client.is_blocking_mode_enabled());
    client
        .connect_to_host("127.0.0.1", server.http_addr().port(), None)
        .unwrap();
    assert_eq!(client.poll(), Status::Connected);
    client
        .request(Method::GET, "/drip?numbytes=5&duration=0.2", &[], "")
        .unwrap();
    assert_eq!(client.poll(), Status::Body);
    let chunk = client.read_response_body_chunk();
    assert_eq!(chunk.len(), 5, "the chunk waits for the whole body");
    assert_eq!(client.status(), Status::Connected);
}

/// A one-connection HTTP proxy: records the request line; answers a plain request itself, and
/// a CONNECT by piping to `upstream`.
fn fake_proxy(upstream: SocketAddr) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&lines);
    std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else {
            return;
        };
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let line = String::from_utf8_lossy(&head)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned();
        seen.lock().unwrap().push(line.clone());
        if !line.starts_with("CONNECT ") {
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nproxied");
            return;
        }
        let _ = conn.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        let mut origin = TcpStream::connect(upstream).unwrap();
        let (mut down, mut up) = (conn.try_clone().unwrap(), origin.try_clone().unwrap());
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut down, &mut up);
            let _ = up.shutdown(std::net::Shutdown::Write);
        });
        let _ = std::io::copy(&mut origin, &mut conn);
    });
    (addr, lines)
}

#[test]
fn proxies_get_absolute_targets_and_carry_tunnels() {
    let server = TestServer::start();
    let (proxy, lines) = fake_proxy(server.http_addr());
    let mut client = HttpClient::new();
    client.set_http_proxy("127.0.0.1", proxy.port());
    client.connect_to_host("origin.test", 8080, None).unwrap();
    assert_eq!(
        poll_until(&mut client, settled).last(),
        Some(&Status::Connected)
    );
    let (body, _) = get(&mut client, "/get");
    assert_eq!(body, b"proxied");
    assert_eq!(
        lines.lock().unwrap()[0],
        "GET http://origin.test:8080/get HTTP/1.1"
    );

    let (proxy, lines) = fake_proxy(server.https_addr());
    client.set_http_proxy("", -1);
    client.set_https_proxy("127.0.0.1", proxy.port());
    let port = server.https_addr().port();
    client
        .connect_to_host("127.0.0.1", port, Some(tls_options(&server)))
        .unwrap();
    assert_eq!(
        poll_until(&mut client, settled).last(),
        Some(&Status::Connected),
        "{:?}",
        client.last_error()
    );
    get(&mut client, "/get");
    assert_eq!(client.response_code(), Some(http::StatusCode::OK));
    let authority = format!("127.0.0.1:{port}");
    assert_eq!(
        lines.lock().unwrap()[0],
        format!("CONNECT {authority} HTTP/1.1")
    );
}

/// Times every `poll()` and chunk read while a large body streams in a tight loop, and the
/// blocking client on the same body for comparison. Prints the figures; timing never fails a
/// test (run it with `--release --nocapture` for numbers worth reading).
#[test]
fn poll_calls_stay_short_while_a_large_body_streams() {
    const SIZE: u64 = 32 << 20;
    let server = TestServer::start();
    let mut client = connected(&server);
    let target = format!("/bytes/{SIZE}");
    client.request(Method::GET, &target, &[], "").unwrap();
    let mut calls: Vec<Duration> = Vec::with_capacity(1 << 16);
    let (mut received, started) = (0u64, Instant::now());
    for _ in 0..50_000_000u64 {
        let t = Instant::now();
        let status = client.poll();
        let chunk = if status == Status::Body {
            client.read_response_body_chunk()
        } else {
            Default::default()
        };
        calls.push(t.elapsed());
        received += chunk.len() as u64;
        if !status.is_waiting() && status != Status::Body {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "stuck at {received} bytes"
        );
    }
    let poll_time = started.elapsed();
    assert_eq!(received, SIZE, "{:?}", client.last_error());
    calls.sort_unstable();
    let p999 = calls[calls.len() * 999 / 1000];
    let max = calls[calls.len() - 1];

    let blocking = builder().build().unwrap();
    let started = Instant::now();
    let response = blocking.get(server.url(&target)).send().unwrap();
    assert_eq!(response.bytes().unwrap().len() as u64, SIZE);
    let blocking_time = started.elapsed();
    eprintln!(
        "poll::HttpClient, {} MiB in a tight loop: {} calls, max {max:?}, p99.9 {p999:?}, \
         {:.0} MiB/s; blocking::Client: {:.0} MiB/s",
        SIZE >> 20,
        calls.len(),
        SIZE as f64 / (1 << 20) as f64 / poll_time.as_secs_f64(),
        SIZE as f64 / (1 << 20) as f64 / blocking_time.as_secs_f64(),
    );
}

#[test]
fn a_slow_body_read_in_a_tight_loop_comes_out_as_it_arrives() {
    // One byte every 50 ms: reads close together wait for a worthwhile amount, but never
    // for more than a millisecond, so each byte is handed out on its own, not at the end.
    let server = TestServer::start();
    let mut client = connected(&server);
    client
        .request(Method::GET, "/raw/slow-drip?bytes=8&delay_ms=50", &[], "")
        .unwrap();
    let started = Instant::now();
    let (mut pieces, mut body) = (Vec::new(), Vec::new());
    while started.elapsed() < MAX_TIME {
        let status = client.poll();
        if status == Status::Body {
            let chunk = client.read_response_body_chunk();
            if !chunk.is_empty() {
                pieces.push(started.elapsed());
                body.extend_from_slice(&chunk);
            }
        } else if !status.is_waiting() {
            break;
        }
    }
    assert_eq!(body, b"********", "{:?}", client.last_error());
    assert!(
        pieces.len() >= 6,
        "the body came in {} pieces",
        pieces.len()
    );
}

#[test]
fn chunks_the_caller_keeps_stay_intact_while_the_rest_of_the_body_streams() {
    // Body bytes are read into shared blocks and handed out without a copy; a block comes
    // back for reuse only once every piece of it is dropped. Keeping every chunk (so no
    // block ever comes back) and dropping each at once (so blocks are reused all along) must
    // both give exactly the bytes the blocking client gets.
    const SIZE: u64 = 8 << 20;
    let server = TestServer::start();
    let target = format!("/bytes/{SIZE}?seed=7");
    let blocking = builder().build().unwrap();
    let expected = blocking
        .get(server.url(&target))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(expected.len() as u64, SIZE);
    for keep in [true, false] {
        let mut client = connected(&server);
        client.request(Method::GET, &target, &[], "").unwrap();
        let (mut kept, mut body) = (Vec::new(), Vec::with_capacity(SIZE as usize));
        let started = Instant::now();
        loop {
            let status = client.poll();
            if status == Status::Body {
                let chunk = client.read_response_body_chunk();
                body.extend_from_slice(&chunk);
                if keep {
                    kept.push(chunk);
                }
            } else if !status.is_waiting() {
                break;
            }
            assert!(
                started.elapsed() < MAX_TIME,
                "stuck at {} bytes",
                body.len()
            );
        }
        assert!(
            body == expected[..],
            "keep={keep}: {:?}",
            client.last_error()
        );
        if keep {
            let joined: Vec<u8> = kept.iter().flat_map(|c| c.iter().copied()).collect();
            assert!(
                joined == expected[..],
                "a kept chunk changed after it was handed out"
            );
        }
    }
}
