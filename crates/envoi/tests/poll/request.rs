//! `poll::Request` (Godot's `HTTPRequest`): every result loopback can provoke, with the typed
//! error kept; Busy; cancellation; the completion callback; progress; download files; threads.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use envoi::poll::{self, Completion, RequestResult, Status};
use envoi_testserver::ClosedPort;

use super::{failing_resolver, MAX_POLLS, MAX_TIME};
use crate::support::*;

/// Polls until the request completes, within the bounds; returns the completion and the
/// client statuses seen on the way.
fn run(request: &mut poll::Request) -> (Completion, Vec<Status>) {
    let started = Instant::now();
    let mut seen = vec![request.http_client_status()];
    for _ in 0..MAX_POLLS {
        let done = request.poll().is_some();
        let status = request.http_client_status();
        if seen.last() != Some(&status) {
            seen.push(status);
        }
        if done {
            return (request.take_completion().unwrap(), seen);
        }
        assert!(started.elapsed() < MAX_TIME, "stuck: {seen:?}");
        std::thread::sleep(Duration::from_micros(200));
    }
    panic!("no completion in {MAX_POLLS} polls: {seen:?}");
}

fn get(request: &mut poll::Request, url: &str) -> Completion {
    request.request(url, &[], Method::GET, "").unwrap();
    run(request).0
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("envoi-poll-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn every_result_loopback_can_provoke_keeps_its_typed_error() {
    let server = TestServer::start();
    // Held until every case has run: the CantConnect case needs the port still refused.
    let closed = ClosedPort::new();
    let dir = scratch_dir("results");
    let existing_dir = dir.join("a-directory");
    std::fs::create_dir_all(&existing_dir).unwrap();
    let corrupt_gzip = "/raw/custom?header=Content-Encoding%3A%20gzip&body=not-gzip-at-all";
    let to_http = format!(
        "/redirect-to?url={}",
        server.url("/get").replace(':', "%3A").replace('/', "%2F")
    );
    type Setup = Box<dyn Fn(&mut poll::Request)>;
    let none: fn() -> Setup = || Box::new(|_| {});
    let cases: Vec<(
        RequestResult,
        Option<ErrorKind>,
        ClientBuilder,
        String,
        Setup,
    )> = vec![
        (
            RequestResult::Success,
            None,
            builder(),
            server.url("/get"),
            none(),
        ),
        (
            RequestResult::ChunkedBodySizeMismatch,
            Some(ErrorKind::TruncatedBody),
            builder(),
            server.url("/raw/truncated-chunked"),
            none(),
        ),
        (
            RequestResult::ChunkedBodySizeMismatch,
            Some(ErrorKind::TruncatedBody),
            builder(),
            server.url("/raw/truncated-length"),
            none(),
        ),
        (
            RequestResult::CantConnect,
            Some(ErrorKind::CantConnect),
            builder(),
            format!("http://{}/", closed.addr()),
            none(),
        ),
        (
            RequestResult::CantResolve,
            Some(ErrorKind::CantResolve),
            builder().resolver(failing_resolver),
            "http://nowhere.test/".into(),
            none(),
        ),
        (
            RequestResult::ConnectionError,
            Some(ErrorKind::MalformedResponse),
            builder(),
            server.url("/raw/garbage"),
            none(),
        ),
        (
            RequestResult::TlsHandshakeError,
            Some(ErrorKind::CertificateExpired),
            tls_builder(&server),
            server.tls_url(CertKind::Expired, "/get"),
            none(),
        ),
        (
            RequestResult::NoResponse,
            Some(ErrorKind::NoResponse),
            builder(),
            server.url("/raw/close-before-response"),
            none(),
        ),
        (
            RequestResult::BodySizeLimitExceeded,
            Some(ErrorKind::BodyTooLarge),
            builder(),
            server.url("/bytes/1000"),
            Box::new(|r| r.set_body_size_limit(Some(100))),
        ),
        (
            RequestResult::BodyDecompressFailed,
            Some(ErrorKind::DecompressionFailed),
            builder(),
            server.url(corrupt_gzip),
            none(),
        ),
        (
            RequestResult::RequestFailed,
            Some(ErrorKind::InsecureRedirect),
            tls_builder(&server),
            server.https_url(&to_http),
            none(),
        ),
        (
            RequestResult::DownloadFileCantOpen,
            Some(ErrorKind::DownloadFileCantOpen),
            builder(),
            server.url("/bytes/10"),
            {
                let path = dir.join("no-such-dir").join("file");
                Box::new(move |r| r.set_download_file(Some(path.clone())))
            },
        ),
        // Renaming the finished `.part` onto a directory fails: a write error on loopback.
        (
            RequestResult::DownloadFileWriteError,
            Some(ErrorKind::DownloadFileWriteError),
            builder(),
            server.url("/bytes/10"),
            Box::new(move |r| r.set_download_file(Some(existing_dir.clone()))),
        ),
        (
            RequestResult::RedirectLimitReached,
            Some(ErrorKind::TooManyRedirects),
            builder(),
            server.url("/redirect/3"),
            Box::new(|r| r.set_max_redirects(2)),
        ),
        (
            RequestResult::Timeout,
            Some(ErrorKind::Timeout(envoi::TimeoutPhase::FirstByte)),
            builder(),
            server.url("/delay/3"),
            Box::new(|r| r.set_timeout(Duration::from_millis(300))),
        ),
    ];
    for (expected, kind, builder, url, setup) in cases {
        let mut request = poll::Request::from_builder(builder).unwrap();
        setup(&mut request);
        let completion = get(&mut request, &url);
        assert_eq!(
            completion.result(),
            expected,
            "{url}: {:?}",
            completion.error()
        );
        assert_eq!(completion.error().map(envoi::Error::kind), kind, "{url}");
        if let Some(kind) = kind {
            assert_eq!(poll::result_for(kind), expected, "the one table agrees");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_second_request_while_one_runs_is_busy_and_cancel_stops_it_without_completion() {
    let server = TestServer::start();
    let mut request = poll::Request::from_builder(builder()).unwrap();
    let calls = Arc::new(Mutex::new(0));
    let counter = Arc::clone(&calls);
    request.on_completed(move |_| *counter.lock().unwrap() += 1);
    request
        .request(&server.url("/delay/5"), &[], Method::GET, "")
        .unwrap();
    let busy = request.request(&server.url("/get"), &[], Method::GET, "");
    assert_eq!(busy.unwrap_err().kind(), ErrorKind::Busy);
    assert!(request.is_busy());
    for _ in 0..20 {
        assert!(request.poll().is_none());
        std::thread::sleep(Duration::from_millis(5));
    }
    request.cancel_request();
    assert!(!request.is_busy() && request.poll().is_none());
    assert_eq!(
        *calls.lock().unwrap(),
        0,
        "a cancelled request completes nothing"
    );
    // The next request starts at once and completes, once.
    let completion = get(&mut request, &server.url("/get"));
    assert!(completion.is_success());
    assert_eq!(*calls.lock().unwrap(), 1);
}

#[test]
fn the_callback_gets_godots_four_values_and_progress_counts_the_body() {
    let server = TestServer::start();
    let mut request = poll::Request::new();
    let got = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&got);
    request.on_completed(move |c| {
        *slot.lock().unwrap() = Some((
            c.result(),
            c.response_code(),
            c.headers().to_vec(),
            c.body().len(),
        ));
    });
    // Small chunks: the body takes several polls, and the Body status shows.
    request.set_download_chunk_size(16 * 1024);
    request
        .request(&server.url("/bytes/300000"), &[], Method::GET, "")
        .unwrap();
    let (completion, seen) = run(&mut request);
    let (result, code, headers, len) = got.lock().unwrap().take().unwrap();
    assert_eq!(
        (result, code, len),
        (RequestResult::Success, Some(http::StatusCode::OK), 300_000)
    );
    assert!(
        headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case("content-length: 300000")),
        "{headers:?}"
    );
    assert_eq!(completion.body().len(), 300_000);
    assert_eq!(
        (request.downloaded_bytes(), request.body_size()),
        (300_000, Some(300_000))
    );
    assert_eq!(seen.first(), Some(&Status::Resolving), "{seen:?}");
    // Connecting and Requesting may pass within one poll on loopback; the body takes several.
    assert!(seen.contains(&Status::Body), "{seen:?}");
    assert_eq!(
        seen.last(),
        Some(&Status::Connected),
        "kept alive for the next request"
    );
}

#[test]
fn a_download_file_gets_the_body_under_its_final_name_only_when_complete() {
    let server = TestServer::start();
    let dir = scratch_dir("download");
    let target = dir.join("bytes.bin");
    let mut request = poll::Request::new();
    request.set_download_file(Some(target.clone()));
    assert_eq!(request.download_file(), Some(target.as_path()));
    let completion = get(&mut request, &server.url("/bytes/200000"));
    assert!(completion.is_success(), "{:?}", completion.error());
    assert!(completion.body().is_empty(), "the body went to the file");
    assert_eq!(completion.download_path(), Some(target.as_path()));
    assert_eq!(std::fs::metadata(&target).unwrap().len(), 200_000);
    std::fs::remove_file(&target).unwrap();
    let failed = get(&mut request, &server.url("/raw/truncated-length"));
    assert_eq!(failed.result(), RequestResult::ChunkedBodySizeMismatch);
    assert!(!target.exists(), "a failed download never looks complete");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_download_bigger_than_the_writer_backlog_arrives_whole_in_both_modes() {
    // 24 MiB is six times the bytes the download writer may have in flight: the steps must
    // hold the socket back while it catches up, and lose nothing.
    const SIZE: usize = 24 << 20;
    let server = TestServer::start();
    let dir = scratch_dir("download-backlog");
    for threads in [false, true] {
        let target = dir.join(format!("range-{threads}.bin"));
        let mut request = poll::Request::new();
        request.set_use_threads(threads);
        request.set_download_file(Some(target.clone()));
        let completion = get(&mut request, &server.url(&format!("/range/{SIZE}")));
        assert!(completion.is_success(), "{:?}", completion.error());
        assert_eq!(request.downloaded_bytes(), SIZE as u64);
        let body = std::fs::read(&target).unwrap();
        assert_eq!(body.len(), SIZE);
        let want = (0..SIZE).map(|i| b'a' + (i % 26) as u8);
        assert!(body.iter().copied().eq(want), "the bytes, in order");
        std::fs::remove_file(&target).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn use_threads_runs_the_request_on_its_own_thread() {
    let server = TestServer::start();
    let mut request = poll::Request::new();
    request.set_use_threads(true);
    assert!(request.use_threads());
    let completion = get(&mut request, &server.url("/bytes/3000000"));
    assert!(completion.is_success(), "{:?}", completion.error());
    assert_eq!(completion.body().len(), 3_000_000);
    assert_eq!(request.downloaded_bytes(), 3_000_000);
    let again = get(&mut request, &server.url("/gzip"));
    assert!(again.is_success());
}

#[test]
fn accept_gzip_off_leaves_the_body_and_its_headers_as_received() {
    let server = TestServer::start();
    let mut request = poll::Request::new();
    assert!(request.accept_gzip());
    let decoded = get(&mut request, &server.url("/gzip"));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(decoded.body()).unwrap()["gzipped"],
        true
    );
    assert!(!decoded
        .headers()
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("content-encoding")));
    request.set_accept_gzip(false);
    let raw = get(&mut request, &server.url("/gzip"));
    assert_eq!(&raw.body()[..2], &[0x1f, 0x8b]);
    assert!(raw.header_map().contains_key("content-encoding"));
}

#[test]
fn godots_request_takes_header_lines_and_a_body() {
    let server = TestServer::start();
    let mut request = poll::Request::new();
    let lines = [
        "Content-Type: application/x-www-form-urlencoded",
        "X-Game: yes",
    ];
    let form = poll::query_string_from_dict([("name", "Godette"), ("level", "3")]);
    request
        .request(&server.url("/post"), &lines, Method::POST, &form)
        .unwrap();
    let (completion, _) = run(&mut request);
    let json: serde_json::Value = serde_json::from_slice(completion.body()).unwrap();
    assert_eq!(json["form"]["name"], "Godette");
    assert_eq!(json["headers"]["X-Game"], "yes");
    let bad = request.request(&server.url("/get"), &["no colon"], Method::GET, "");
    assert_eq!(bad.unwrap_err().kind(), ErrorKind::InvalidHeader);
    let bad = request.request("ftp://example.test/", &[], Method::GET, "");
    assert_eq!(bad.unwrap_err().kind(), ErrorKind::UnsupportedScheme);
    assert!(
        !request.is_busy(),
        "a refused request leaves nothing running"
    );
}

#[test]
fn settings_have_godots_defaults() {
    let request = poll::Request::new();
    assert_eq!(request.max_redirects(), 8);
    assert_eq!(request.timeout(), Duration::ZERO);
    assert_eq!(request.body_size_limit(), None);
    assert_eq!(request.download_chunk_size(), 65_536);
    assert_eq!(request.download_file(), None);
    assert!(!request.use_threads());
    assert_eq!(request.http_client_status(), Status::Disconnected);
    fn send<T: Send>(_: &T) {}
    send(&request);
}

#[test]
fn stream_bodies_and_expect_continue_go_out() {
    let server = TestServer::start();
    let mut poll = poll::Request::new();
    let mut request = envoi::Request::new(Method::POST, server.url("/post")).unwrap();
    let reader = std::io::Cursor::new(vec![b'z'; 200_000]);
    request.set_body(envoi::Body::chunked(reader));
    poll.start(&request).unwrap();
    let (completion, _) = run(&mut poll);
    let json: serde_json::Value = serde_json::from_slice(completion.body()).unwrap();
    assert_eq!(json["data"].as_str().map(str::len), Some(200_000));

    let lines = ["Expect: 100-continue", "Content-Type: text/plain"];
    poll.request(
        &server.url("/post"),
        &lines,
        Method::POST,
        "after the interim response",
    )
    .unwrap();
    let (completion, _) = run(&mut poll);
    let json: serde_json::Value = serde_json::from_slice(completion.body()).unwrap();
    assert_eq!(json["data"], "after the interim response");
}

#[test]
fn a_threaded_request_cancels_at_once_and_the_next_one_runs() {
    let server = TestServer::start();
    let mut request = poll::Request::new();
    request.set_use_threads(true);
    request
        .request(&server.url("/delay/5"), &[], Method::GET, "")
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert!(request.poll().is_none() && request.is_busy());
    let cancelled = Instant::now();
    request.cancel_request();
    assert!(
        cancelled.elapsed() < Duration::from_millis(50),
        "cancel never waits"
    );
    assert!(!request.is_busy());
    let completion = get(&mut request, &server.url("/get"));
    assert!(completion.is_success(), "{:?}", completion.error());
}
