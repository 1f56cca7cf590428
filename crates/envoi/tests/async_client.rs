//! Behaviour that only the async front end has: many tasks sharing one pool, futures dropped
//! mid-request, bodies as `AsyncRead` and as a `Stream`, and send-with-completion (on both
//! clients, since it is the asynchronous send of each).

#![cfg(feature = "tokio")]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use envoi::{AsyncClient, CancelHandle, EventKind};
use envoi_testserver::ClosedPort;
use futures_core::Stream;
use support::*;
use tokio::io::AsyncReadExt;

/// The file-descriptor count is process-wide: tests of this file run one at a time so that
/// one test's sockets never show in another's count.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

/// A client that records whether each connection it used was new or reused.
fn recording_client(builder: ClientBuilder) -> (AsyncClient, Arc<Mutex<Vec<bool>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let client = builder
        .observer(move |e| {
            if let EventKind::Connected { reused, .. } = e.kind {
                sink.lock().unwrap().push(reused);
            }
        })
        .build_async()
        .unwrap();
    (client, seen)
}

/// The next item of a stream (what `StreamExt::next` does, without the dependency).
async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *stream).poll_next(cx)).await
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn a_thousand_requests_at_concurrency_64_complete_without_leaking_connections() {
    let _serial = serial();
    let server = TestServer::start();
    // The expected bodies, fetched once with the blocking client.
    let blocking = builder().build().unwrap();
    let expected: Vec<Vec<u8>> = (0..8)
        .map(|seed| {
            let url = server.url(&format!("/bytes/4096?seed={seed}"));
            blocking.get(&url).send().unwrap().bytes().unwrap().to_vec()
        })
        .collect();
    drop(blocking);
    let rt = runtime();
    std::thread::sleep(Duration::from_millis(200));
    let before = open_fds();

    let (client, connects) = recording_client(builder().pool_max_idle_per_host(64));
    let next = Arc::new(AtomicUsize::new(0));
    let expected = Arc::new(expected);
    let started = Instant::now();
    let completed = rt.block_on(async {
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..64 {
            let (client, next, expected) = (client.clone(), next.clone(), expected.clone());
            let base = server.url("");
            workers.spawn(async move {
                let mut done = 0;
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= 1000 {
                        return done;
                    }
                    if i % 2 == 0 {
                        let url = format!("{base}/get?n={i}");
                        let response = client.get(&url).send().await.unwrap();
                        assert_eq!(response.status(), 200);
                        let json: serde_json::Value =
                            serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
                        assert_eq!(json["args"]["n"], i.to_string());
                    } else {
                        let seed = i % 8;
                        let url = format!("{base}/bytes/4096?seed={seed}");
                        let body = client.get(&url).send().await.unwrap().bytes().await;
                        assert_eq!(body.unwrap(), expected[seed], "request {i}");
                    }
                    done += 1;
                }
            });
        }
        let mut completed = 0;
        while let Some(done) = workers.join_next().await {
            completed += done.unwrap();
        }
        completed
    });
    let elapsed = started.elapsed();
    assert_eq!(completed, 1000);
    let opened = connects.lock().unwrap().iter().filter(|r| !**r).count();
    assert!(opened <= 64, "{opened} connections for 64 tasks");

    let during = open_fds();
    drop(client);
    // The server closes its side once it sees ours close.
    let until = Instant::now() + Duration::from_secs(5);
    let mut after = open_fds();
    while after > before && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
        after = open_fds();
    }
    eprintln!(
        "1000 requests at concurrency 64 in {elapsed:?} over {opened} connections; \
         open fds: {before} before, {during} with the client, {after} after dropping it"
    );
    assert!(after <= before, "{after} fds open after, {before} before");
}

#[test]
fn sequential_requests_reuse_one_connection() {
    let _serial = serial();
    let server = TestServer::start();
    let (client, connects) = recording_client(builder());
    runtime().block_on(async {
        for _ in 0..3 {
            let r = client.get(server.url("/bytes/1000")).send().await.unwrap();
            assert_eq!(r.bytes().await.unwrap().len(), 1000);
        }
    });
    assert_eq!(*connects.lock().unwrap(), [false, true, true]);
}

#[test]
fn https_keep_alive_survives_tls13_session_tickets() {
    let _serial = serial();
    let server = TestServer::start();
    let (client, connects) = recording_client(support::tls_builder(&server));
    runtime().block_on(async {
        for _ in 0..3 {
            let r = client.get(server.https_url("/get")).send().await.unwrap();
            r.bytes().await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    });
    assert_eq!(*connects.lock().unwrap(), [false, true, true]);
}

#[test]
fn a_response_dropped_mid_body_never_returns_its_connection_to_the_pool() {
    let _serial = serial();
    let server = TestServer::start();
    let (client, connects) = recording_client(builder());
    runtime().block_on(async {
        let mut r = client
            .get(server.url("/bytes/100000"))
            .send()
            .await
            .unwrap();
        let mut some = [0u8; 10];
        r.read_exact(&mut some).await.unwrap();
        drop(r);
        let r = client.get(server.url("/get")).send().await.unwrap();
        r.bytes().await.unwrap();
    });
    assert_eq!(*connects.lock().unwrap(), [false, false]);
}

#[test]
fn a_future_dropped_mid_body_never_returns_its_connection_to_the_pool() {
    let _serial = serial();
    let server = TestServer::start();
    let (client, connects) = recording_client(builder());
    runtime().block_on(async {
        let url = server.url("/drip?numbytes=10&duration=2");
        let r = client.get(&url).send().await.unwrap();
        let reading = tokio::time::timeout(Duration::from_millis(300), r.bytes()).await;
        assert!(reading.is_err(), "the drip should still be dripping");
        // And a future dropped before the head arrived.
        let waiting = client.get(server.url("/delay/2")).send();
        assert!(tokio::time::timeout(Duration::from_millis(200), waiting)
            .await
            .is_err());
        let r = client.get(server.url("/get")).send().await.unwrap();
        r.bytes().await.unwrap();
    });
    assert_eq!(*connects.lock().unwrap(), [false, false, false]);
}

#[test]
fn bytes_stream_yields_the_whole_body() {
    let _serial = serial();
    let server = TestServer::start();
    let url = server.url("/stream-bytes/300000?chunk_size=7000&seed=3");
    let expected = builder().build().unwrap().get(&url).send().unwrap();
    let expected = expected.bytes().unwrap();
    let client = builder().build_async().unwrap();
    let (pieces, body) = runtime().block_on(async {
        let mut stream = client.get(&url).send().await.unwrap().bytes_stream();
        let mut body = Vec::new();
        let mut pieces = 0;
        while let Some(piece) = next(&mut stream).await {
            body.extend_from_slice(&piece.unwrap());
            pieces += 1;
        }
        assert!(stream.response().is_chunked());
        (pieces, body)
    });
    assert_eq!(body.len(), 300_000);
    assert_eq!(body, expected);
    assert!(pieces > 1, "{pieces}");
}

#[test]
fn the_body_reads_as_async_read_and_saves_to_a_file() {
    let _serial = serial();
    let server = TestServer::start();
    let url = server.url("/bytes/200000?seed=9");
    let client = builder().build_async().unwrap();
    let dir = std::env::temp_dir().join(format!("envoi-async-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("body.bin");
    runtime().block_on(async {
        let mut read = Vec::new();
        let mut r = client.get(&url).send().await.unwrap();
        assert_eq!(r.content_length(), Some(200_000));
        tokio::io::copy(&mut r, &mut read).await.unwrap();
        assert_eq!(read.len(), 200_000);
        let saved = client
            .get(&url)
            .send()
            .await
            .unwrap()
            .save_to(&target)
            .await;
        assert_eq!(saved.unwrap(), target);
        assert_eq!(std::fs::read(&target).unwrap(), read);
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn trailers_and_text_are_available_after_the_body() {
    let _serial = serial();
    let server = TestServer::start();
    let client = builder().build_async().unwrap();
    runtime().block_on(async {
        let mut r = client
            .get(server.url("/raw/trailers"))
            .send()
            .await
            .unwrap();
        let mut body = String::new();
        r.read_to_string(&mut body).await.unwrap();
        assert_eq!(body, "hello world");
        assert_eq!(r.trailers().unwrap()["x-trailer"], "done");
        let text = client.get(server.url("/get")).send().await.unwrap();
        assert!(text.text().await.unwrap().contains("\"url\""));
    });
}

#[test]
fn cancelling_mid_body_ends_the_read_as_cancelled() {
    let _serial = serial();
    let server = TestServer::start();
    let client = builder().build_async().unwrap();
    let handle = CancelHandle::new();
    runtime().block_on(async {
        let url = server.url("/drip?numbytes=10&duration=5");
        let r = client.get(&url).cancel_handle(handle.clone()).send();
        let r = r.await.unwrap();
        let remote = handle.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            remote.cancel();
        });
        let started = Instant::now();
        let e = r.bytes().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Cancelled);
        assert!(started.elapsed() < Duration::from_secs(2));
    });
}

#[test]
fn a_full_pool_makes_a_request_wait_until_its_deadline() {
    let _serial = serial();
    let server = TestServer::start();
    let client = builder().max_connections_per_host(1).build_async().unwrap();
    runtime().block_on(async {
        let held = client
            .get(server.url("/bytes/100000"))
            .send()
            .await
            .unwrap();
        let waiting = client
            .get(server.url("/get"))
            .timeout(Duration::from_millis(200))
            .send()
            .await;
        assert_eq!(
            error_kind(waiting),
            ErrorKind::Timeout(envoi::TimeoutPhase::Pool)
        );
        // Reading the held body to its end frees the slot for the next request.
        held.bytes().await.unwrap();
        let r = client.get(server.url("/get")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    });
}

#[test]
fn send_then_calls_the_procedure_once_with_the_response_or_the_error() {
    let _serial = serial();
    let server = TestServer::start();
    let calls = Arc::new(AtomicUsize::new(0));
    // Held to the end: both front ends below must find the port still refused.
    let closed = ClosedPort::new();
    let refused = format!("http://{}/", closed.addr());
    // Async: the procedure reads the body.
    let client = builder().build_async().unwrap();
    runtime().block_on(async {
        let counter = Arc::clone(&calls);
        let done = client.send_then(get(&server.url("/get")), |result| async move {
            counter.fetch_add(1, Ordering::SeqCst);
            result?.text().await
        });
        assert!(done.wait().await.unwrap().unwrap().contains("\"url\""));
        let counter = Arc::clone(&calls);
        let done = client.send_then(get(&refused), |result| async move {
            counter.fetch_add(1, Ordering::SeqCst);
            result.map(|r| r.status())
        });
        let e = done.wait().await.unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::CantConnect);
    });
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // Blocking: the procedure runs on a thread of its own, the body still readable there.
    let client = builder().build().unwrap();
    let counter = Arc::clone(&calls);
    let done = client.send_then(get(&server.url("/bytes/5000")), move |result| {
        counter.fetch_add(1, Ordering::SeqCst);
        result.and_then(|r| r.bytes()).map(|b| b.len())
    });
    assert_eq!(done.wait().unwrap().unwrap(), 5000);
    let counter = Arc::clone(&calls);
    let done = client.send_then(get(&refused), move |result| {
        counter.fetch_add(1, Ordering::SeqCst);
        result.map(|r| r.status())
    });
    let e = done.wait().unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CantConnect);
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[test]
fn send_then_is_cancelled_through_its_handle() {
    let _serial = serial();
    let server = TestServer::start();
    let url = server.url("/delay/5");
    let started = Instant::now();
    let client = builder().build_async().unwrap();
    let kind = runtime().block_on(async {
        let done = client.send_then(get(&url), |result| async move { result.map(|_| ()) });
        tokio::time::sleep(Duration::from_millis(100)).await;
        done.cancel();
        done.wait().await.unwrap().unwrap_err().kind()
    });
    assert_eq!(kind, ErrorKind::Cancelled);
    let client = builder().build().unwrap();
    let done = client.send_then(get(&url), |result| result.map(|_| ()));
    std::thread::sleep(Duration::from_millis(100));
    done.cancel();
    assert_eq!(
        done.wait().unwrap().unwrap_err().kind(),
        ErrorKind::Cancelled
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn events_reach_the_observer_from_the_async_path() {
    let _serial = serial();
    let server = TestServer::start();
    let (builder, seen) = recording(builder());
    let client = builder.build_async().unwrap();
    runtime().block_on(async {
        let r = client.get(server.url("/redirect/1")).send().await.unwrap();
        assert!(r.timings().first_byte.is_some());
        r.bytes().await.unwrap();
    });
    let seen = seen.lock().unwrap();
    let has = |f: fn(&EventKind) -> bool| seen.iter().any(f);
    assert!(has(|k| matches!(k, EventKind::Resolving { .. })));
    assert!(has(|k| matches!(k, EventKind::Connecting { .. })));
    assert!(has(|k| matches!(k, EventKind::RequestSent { .. })));
    assert!(has(|k| matches!(k, EventKind::Redirect { .. })));
    assert!(has(|k| matches!(k, EventKind::BodyProgress { .. })));
    assert!(has(|k| matches!(k, EventKind::ConnectionPooled)));
}

/// A CONNECT proxy on loopback for one connection: it answers `status`, and after a 200
/// splices bytes both ways between the client and the requested authority.
fn one_tunnel_proxy(status: u16) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let Ok((mut client, _)) = listener.accept() else {
            return;
        };
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if client.read(&mut byte).unwrap_or(0) == 0 {
                return;
            }
            head.push(byte[0]);
        }
        let text = String::from_utf8_lossy(&head).into_owned();
        assert!(text.starts_with("CONNECT "), "{text}");
        if status != 200 {
            let _ = write!(client, "HTTP/1.1 {status} No\r\nContent-Length: 0\r\n\r\n");
            return;
        }
        let target = text.split_whitespace().nth(1).unwrap_or_default();
        let Ok(upstream) = TcpStream::connect(target) else {
            return;
        };
        let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        let (mut up_read, mut client_write) =
            (upstream.try_clone().unwrap(), client.try_clone().unwrap());
        let back = std::thread::spawn(move || {
            let _ = std::io::copy(&mut up_read, &mut client_write);
            let _ = client_write.shutdown(Shutdown::Write);
        });
        let mut up_write = upstream;
        let _ = std::io::copy(&mut client, &mut up_write);
        let _ = up_write.shutdown(Shutdown::Write);
        let _ = back.join();
    });
    addr
}

#[test]
fn https_goes_through_a_connect_tunnel_and_a_refusal_has_its_kind() {
    let _serial = serial();
    let server = TestServer::start();
    let through = |status: u16| {
        let proxy = envoi::Proxy::new("127.0.0.1", one_tunnel_proxy(status).port());
        tls_builder(&server)
            .https_proxy(proxy)
            .build_async()
            .unwrap()
    };
    runtime().block_on(async {
        let r = through(200)
            .get(server.https_url("/get"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let json: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        assert_eq!(json["url"], server.https_url("/get"));
        let refused = through(407).get(server.https_url("/get")).send().await;
        assert_eq!(error_kind(refused), ErrorKind::AuthenticationFailed);
        let failed = through(502).get(server.https_url("/get")).send().await;
        assert_eq!(error_kind(failed), ErrorKind::ProxyFailed);
    });
}

#[test]
fn a_download_resumes_with_a_range_and_a_failed_one_leaves_no_file() {
    let _serial = serial();
    let server = TestServer::start();
    let whole = builder().build().unwrap().get(server.url("/range/5000"));
    let whole = whole.send().unwrap().bytes().unwrap();
    let dir = std::env::temp_dir().join(format!("envoi-async-dl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("range.bin");
    std::fs::write(dir.join("range.bin.part"), &whole[..1234]).unwrap();
    let client = builder().build_async().unwrap();
    runtime().block_on(async {
        let request = client.get(server.url("/range/5000")).build().unwrap();
        let (status, path) = client.download(&request, &target, true).await.unwrap();
        assert_eq!(status, 206);
        assert_eq!(path.as_deref(), Some(target.as_path()));
        assert_eq!(std::fs::read(&target).unwrap(), whole);
        let cut = dir.join("cut.bin");
        let r = client.get(server.url("/raw/truncated-length")).send().await;
        let e = r.unwrap().save_to(&cut).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TruncatedBody);
        assert!(!cut.exists() && !dir.join("cut.bin.part").exists());
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stream_bodies_are_read_off_the_runtime_and_expect_continue_is_honoured() {
    let _serial = serial();
    let server = TestServer::start();
    let client = builder().build_async().unwrap();
    let url = server.url("/upload-sink");
    runtime().block_on(async {
        let body = std::io::Cursor::new(vec![b'x'; 300_000]);
        let sized = client
            .post(&url)
            .header("Expect", "100-continue")
            .body(envoi::Body::from_reader(body, 300_000));
        let json: serde_json::Value =
            serde_json::from_slice(&sized.send().await.unwrap().bytes().await.unwrap()).unwrap();
        assert_eq!(
            (json["bytes"].as_u64(), json["chunked"].as_bool()),
            (Some(300_000), Some(false))
        );
        let body = std::io::Cursor::new(vec![b'y'; 100_000]);
        let chunked = client.post(&url).body(envoi::Body::chunked(body));
        let json: serde_json::Value =
            serde_json::from_slice(&chunked.send().await.unwrap().bytes().await.unwrap()).unwrap();
        assert_eq!(
            (json["bytes"].as_u64(), json["chunked"].as_bool()),
            (Some(100_000), Some(true))
        );
    });
}

#[test]
fn the_client_is_shared_across_tasks_and_its_values_move_between_threads() {
    fn send_sync<T: Send + Sync + Clone>() {}
    fn send<T: Send>() {}
    send_sync::<AsyncClient>();
    send::<envoi::AsyncResponse>();
    send::<envoi::AsyncUpload>();
    send::<envoi::BodyStream>();
    send::<envoi::AsyncCompletion<()>>();
    send::<envoi::blocking::Completion<()>>();
}

/// `len` bytes of a repeating pattern, as if cut from one long stream at `offset`.
fn pattern(offset: u64, len: usize) -> Vec<u8> {
    (offset..offset + len as u64)
        .map(|i| (i % 251) as u8)
        .collect()
}

fn sha256_hex(data: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What `/upload-sink` reported about the body it read.
async fn sink_report(response: envoi::AsyncResponse) -> serde_json::Value {
    assert_eq!(response.status(), 200);
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

/// The envoi error inside an `AsyncWrite` failure.
fn envoi_kind(e: &std::io::Error) -> ErrorKind {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<envoi::Error>())
        .unwrap_or_else(|| panic!("not an envoi error: {e:?}"))
        .kind()
}

#[test]
fn a_streamed_upload_goes_out_chunked_and_arrives_byte_for_byte() {
    use tokio::io::AsyncWriteExt;
    let _serial = serial();
    let server = TestServer::start();
    let (builder, seen) = recording(builder());
    let client = builder.build_async().unwrap();
    // Pieces of uneven sizes, one larger than a chunk of AsyncWrite takes at once, sent both
    // ways.
    let sizes = [1usize, 1000, 70_000, 3, 200_000, 17];
    let mut expected = Vec::new();
    let json = runtime().block_on(async {
        let mut upload = client
            .post(server.url("/upload-sink"))
            .send_streaming(None)
            .await
            .unwrap();
        for (i, size) in sizes.into_iter().enumerate() {
            let piece = pattern(expected.len() as u64, size);
            if i % 2 == 0 {
                upload.send(&piece).await.unwrap();
            } else {
                upload.write_all(&piece).await.unwrap();
            }
            expected.extend_from_slice(&piece);
        }
        upload.send(b"").await.unwrap();
        upload.flush().await.unwrap();
        sink_report(upload.finish().await.unwrap()).await
    });
    assert_eq!(json["bytes"].as_u64(), Some(expected.len() as u64));
    assert_eq!(json["chunked"], true);
    assert_eq!(json["content_length"], serde_json::Value::Null);
    assert_eq!(json["sha256"], sha256_hex(&expected));
    let kinds = seen.lock().unwrap();
    let position = |f: &dyn Fn(&EventKind) -> bool| kinds.iter().position(f);
    let sending = position(&|k| matches!(k, EventKind::SendingRequest { .. })).unwrap();
    let sent = position(
        &|k| matches!(k, EventKind::RequestSent { bytes } if *bytes > expected.len() as u64),
    )
    .unwrap();
    let received = position(&|k| matches!(k, EventKind::ResponseReceived { .. })).unwrap();
    assert!(sending < sent && sent < received, "{kinds:?}");
}

#[test]
fn a_streamed_upload_with_a_length_goes_out_with_content_length() {
    use tokio::io::AsyncWriteExt;
    let _serial = serial();
    let server = TestServer::start();
    let client = builder().build_async().unwrap();
    let body = pattern(0, 150_000);
    let json = runtime().block_on(async {
        let request = client.put(server.url("/upload-sink")).build().unwrap();
        let mut upload = client
            .send_streaming(&request, Some(body.len() as u64))
            .await
            .unwrap();
        upload.send(&body[..50_000]).await.unwrap();
        upload.write_all(&body[50_000..]).await.unwrap();
        // The end of the body through AsyncWrite, then only the response is left to wait for.
        upload.shutdown().await.unwrap();
        upload.shutdown().await.unwrap();
        let e = upload.send(b"late").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        sink_report(upload.finish().await.unwrap()).await
    });
    assert_eq!(json["bytes"].as_u64(), Some(150_000));
    assert_eq!(json["content_length"].as_u64(), Some(150_000));
    assert_eq!(json["chunked"], false);
    assert_eq!(json["sha256"], sha256_hex(&body));
}

#[test]
fn finishing_a_streamed_upload_short_of_its_length_is_an_invalid_request() {
    use tokio::io::AsyncWriteExt;
    let _serial = serial();
    let server = TestServer::start();
    let client = builder().build_async().unwrap();
    let url = server.url("/upload-sink");
    runtime().block_on(async {
        let mut upload = client.post(&url).send_streaming(Some(10)).await.unwrap();
        upload.send(b"1234").await.unwrap();
        let e = upload.finish().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
        assert_eq!(e.url(), Some(url.as_str()));

        // The same through AsyncWrite's shutdown, which then leaves nothing to finish.
        let mut upload = client.post(&url).send_streaming(Some(10)).await.unwrap();
        upload.write_all(b"1234").await.unwrap();
        let e = upload.shutdown().await.unwrap_err();
        assert_eq!(envoi_kind(&e), ErrorKind::InvalidRequest, "{e}");
        let e = upload.finish().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");

        // The client goes on.
        let r = client.get(server.url("/get")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
    });
}

#[test]
fn writing_past_a_streamed_upload_length_is_refused_and_the_upload_goes_on() {
    use tokio::io::AsyncWriteExt;
    let _serial = serial();
    let server = TestServer::start();
    let client = builder().build_async().unwrap();
    let url = server.url("/upload-sink");
    let json = runtime().block_on(async {
        let mut upload = client.post(&url).send_streaming(Some(5)).await.unwrap();
        upload.send(b"123").await.unwrap();
        let e = upload.send(b"4567").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
        assert_eq!(e.url(), Some(url.as_str()));
        let e = upload.write_all(b"4567").await.unwrap_err();
        assert_eq!(envoi_kind(&e), ErrorKind::InvalidRequest, "{e}");
        upload.write_all(b"45").await.unwrap();
        let e = upload.send(b"6").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
        sink_report(upload.finish().await.unwrap()).await
    });
    assert_eq!(json["bytes"].as_u64(), Some(5));
    assert_eq!(json["sha256"], sha256_hex(b"12345"));
}

#[test]
fn a_64_mib_streamed_upload_is_counted_whole_and_its_events_reach_the_observer() {
    const SIZE: u64 = 64 << 20;
    const PIECE: usize = 1 << 20;
    let _serial = serial();
    let server = TestServer::start();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let client = builder()
        .timeout(Duration::from_secs(120))
        .observer(move |e| {
            if matches!(
                e.kind,
                EventKind::SendingRequest { .. }
                    | EventKind::RequestSent { .. }
                    | EventKind::ResponseReceived { .. }
            ) {
                sink.lock().unwrap().push(e.kind.clone());
            }
        })
        .build_async()
        .unwrap();
    let url = server.url("/upload-sink?sha256=false");
    let rt = runtime();
    // On a task of its own: the upload and its futures move between threads.
    let json = rt
        .block_on(rt.spawn(async move {
            let mut upload = client.post(&url).send_streaming(None).await.unwrap();
            let mut offset = 0u64;
            while offset < SIZE {
                upload.send(&pattern(offset, PIECE)).await.unwrap();
                offset += PIECE as u64;
            }
            sink_report(upload.finish().await.unwrap()).await
        }))
        .unwrap();
    assert_eq!(json["bytes"].as_u64(), Some(SIZE));
    assert_eq!(json["chunked"], true);
    let kinds = seen.lock().unwrap();
    assert!(
        matches!(
            kinds.as_slice(),
            [
                EventKind::SendingRequest { .. },
                EventKind::RequestSent { bytes },
                EventKind::ResponseReceived { status, .. },
            ] if *bytes > SIZE && *status == 200
        ),
        "{kinds:?}"
    );
}

#[test]
fn a_dropped_upload_closes_its_connection_and_the_client_goes_on() {
    let _serial = serial();
    let server = TestServer::start();
    let (client, connects) = recording_client(builder());
    runtime().block_on(async {
        let r = client.get(server.url("/get")).send().await.unwrap();
        r.bytes().await.unwrap();
        // Takes the pooled connection, then is dropped halfway through its declared length.
        let mut upload = client
            .post(server.url("/upload-sink"))
            .send_streaming(Some(1000))
            .await
            .unwrap();
        upload.send(&[1u8; 400]).await.unwrap();
        drop(upload);
        let r = client.get(server.url("/get")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
        // A chunked one, on the second GET's connection, dropped too.
        let mut upload = client
            .post(server.url("/upload-sink"))
            .send_streaming(None)
            .await
            .unwrap();
        upload.send(b"half").await.unwrap();
        drop(upload);
        let r = client.get(server.url("/get")).send().await.unwrap();
        r.bytes().await.unwrap();
    });
    assert_eq!(*connects.lock().unwrap(), [false, true, false, true, false]);
}

#[test]
fn a_send_dropped_midway_breaks_the_upload_and_the_client_goes_on() {
    let _serial = serial();
    let server = TestServer::start();
    let (client, connects) = recording_client(builder());
    runtime().block_on(async {
        let mut upload = client
            .post(server.url("/delay/3"))
            .send_streaming(None)
            .await
            .unwrap();
        // The server reads nothing for seconds and 64 MiB is far more than the sockets hold:
        // the send is still writing when it is dropped.
        let big = vec![0u8; 64 << 20];
        let abandoned = tokio::time::timeout(Duration::ZERO, upload.send(&big)).await;
        assert!(abandoned.is_err(), "64 MiB went out in one poll");
        let e = upload.send(b"more").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
        let e = upload.finish().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
        let r = client.get(server.url("/get")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
    });
    assert_eq!(*connects.lock().unwrap(), [false, false]);
}

#[test]
fn a_cancelled_upload_ends_as_cancelled() {
    use tokio::io::AsyncWriteExt;
    let _serial = serial();
    let server = TestServer::start();
    let client = builder().build_async().unwrap();
    let handle = CancelHandle::new();
    runtime().block_on(async {
        let mut upload = client
            .post(server.url("/upload-sink"))
            .cancel_handle(handle.clone())
            .send_streaming(None)
            .await
            .unwrap();
        upload.send(b"before").await.unwrap();
        handle.cancel();
        let e = upload.send(b"after").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
        let e = upload.write_all(b"after").await.unwrap_err();
        assert_eq!(envoi_kind(&e), ErrorKind::Cancelled, "{e}");
        let e = upload.finish().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
    });
}

#[test]
fn a_streamed_upload_with_expect_100_continue_arrives_whole() {
    use tokio::io::AsyncWriteExt;
    let _serial = serial();
    let server = TestServer::start();
    // A long wait: the body goes out because 100 Continue came, not because the wait ran out.
    let interim = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&interim);
    let client = builder()
        .expect_continue_timeout(Duration::from_secs(10))
        .observer(move |e| {
            if matches!(e.kind, EventKind::InterimResponse { status, .. } if status == 100) {
                count.fetch_add(1, Ordering::SeqCst);
            }
        })
        .build_async()
        .unwrap();
    let body = pattern(0, 200_000);
    runtime().block_on(async {
        for length in [None, Some(body.len() as u64)] {
            let started = Instant::now();
            let mut upload = client
                .put(server.url("/upload-sink"))
                .header("Expect", "100-continue")
                .send_streaming(length)
                .await
                .unwrap();
            // Chunked, the first piece goes through `send`; with a length, through
            // `poll_write`: each waits for 100 Continue.
            if length.is_none() {
                upload.send(&body[..1000]).await.unwrap();
                upload.write_all(&body[1000..]).await.unwrap();
            } else {
                upload.write_all(&body[..1000]).await.unwrap();
                upload.send(&body[1000..]).await.unwrap();
            }
            let json = sink_report(upload.finish().await.unwrap()).await;
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "waited out the expect-continue timeout ({length:?})"
            );
            assert_eq!(json["bytes"].as_u64(), Some(body.len() as u64));
            assert_eq!(json["chunked"], length.is_none());
            assert_eq!(json["sha256"], sha256_hex(&body));
        }
    });
    assert_eq!(interim.load(Ordering::SeqCst), 2);
}

#[test]
fn an_early_final_answer_to_an_expect_upload_is_what_finish_returns() {
    use tokio::io::AsyncWriteExt;
    let _serial = serial();
    let server = TestServer::start();
    let sent = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&sent);
    let client = builder()
        .expect_continue_timeout(Duration::from_secs(10))
        .observer(move |e| match &e.kind {
            EventKind::SendingRequest { head } => sink.lock().unwrap().push(head.len() as u64),
            EventKind::RequestSent { bytes } => sink.lock().unwrap().push(*bytes),
            _ => {}
        })
        .build_async()
        .unwrap();
    runtime().block_on(async {
        for length in [None, Some(100_000)] {
            sent.lock().unwrap().clear();
            // `/status/417` answers at once, without reading the body or sending 100 Continue.
            let mut upload = client
                .post(server.url("/status/417"))
                .header("Expect", "100-continue")
                .send_streaming(length)
                .await
                .unwrap();
            // The body is not wanted: every piece is refused, unsent, with a typed error.
            let e = upload.write_all(&[1u8; 50_000]).await.unwrap_err();
            assert_eq!(envoi_kind(&e), ErrorKind::InvalidRequest, "{e}");
            for _ in 0..2 {
                let e = upload.send(&[1u8; 50_000]).await.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
                assert_eq!(
                    e.protocol_kind(),
                    Some(envoi::proto::ErrorKind::BodyNotAllowed),
                    "{e}"
                );
            }
            let r = upload.finish().await.unwrap();
            assert_eq!(r.status(), 417, "{length:?}");
            // The head went out, and not one byte of body after it.
            let sent = sent.lock().unwrap();
            assert!(
                matches!(sent.as_slice(), [head, bytes] if head == bytes),
                "{sent:?}"
            );
        }
    });
}

#[test]
fn a_large_streamed_upload_answered_early_gives_the_answer_from_finish() {
    use tokio::io::AsyncWriteExt;
    const PIECE: usize = 1 << 20;
    const SIZE: u64 = 64 << 20;
    let _serial = serial();
    let server = TestServer::start();
    let client = builder().build_async().unwrap();
    runtime().block_on(async {
        for length in [None, Some(SIZE)] {
            // The server answers 413 without reading the body, and closes.
            let mut upload = client
                .post(server.url("/status/413"))
                .send_streaming(length)
                .await
                .unwrap();
            let piece = vec![b'x'; PIECE];
            let mut failed = None;
            for i in 0..SIZE / PIECE as u64 {
                // Both ways in: `send`, and `AsyncWrite`.
                let kind = if i % 2 == 0 {
                    upload.send(&piece).await.err().map(|e| e.kind())
                } else {
                    upload.write_all(&piece).await.err().map(|e| envoi_kind(&e))
                };
                if kind.is_some() {
                    failed = kind;
                    break;
                }
            }
            let kind = failed.expect("64 MiB went out to a server that closed");
            assert_eq!(kind, ErrorKind::ConnectionClosed);
            // Nothing is written after a failed piece: the next one gets the error again.
            let e = upload.send(b"more").await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ConnectionClosed, "{e}");
            let r = upload.finish().await.unwrap();
            assert_eq!(r.status(), 413, "{length:?}");
        }
    });
}
