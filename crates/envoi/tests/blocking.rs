//! Behaviour that only the blocking front end has: `Read` bodies, streamed uploads, the pool
//! seen from one thread or several, and events.

mod support;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use envoi::{blocking::Client, EventKind};
use support::*;

/// A client that records every event kind it sees.
fn recording_client(builder: ClientBuilder) -> (Client, SeenEvents) {
    let (builder, seen) = recording(builder);
    (builder.build().unwrap(), seen)
}

fn connects(seen: &Mutex<Vec<EventKind>>) -> Vec<bool> {
    seen.lock()
        .unwrap()
        .iter()
        .filter_map(|k| match k {
            EventKind::Connected { reused, .. } => Some(*reused),
            _ => None,
        })
        .collect()
}

#[test]
fn keep_alive_reuses_one_connection_for_sequential_requests() {
    let server = TestServer::start();
    let (client, seen) = recording_client(builder());
    for _ in 0..3 {
        let r = client.get(server.url("/bytes/1000")).send().unwrap();
        assert_eq!(r.bytes().unwrap().len(), 1000);
    }
    assert_eq!(connects(&seen), [false, true, true]);
}

#[test]
fn a_half_read_response_never_returns_its_connection_to_the_pool() {
    let server = TestServer::start();
    let (client, seen) = recording_client(builder());
    let mut r = client.get(server.url("/bytes/100000")).send().unwrap();
    let mut some = [0u8; 10];
    r.read_exact(&mut some).unwrap();
    drop(r);
    client
        .get(server.url("/get"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(connects(&seen), [false, false]);
}

#[test]
fn a_request_can_be_sent_again_as_it_is() {
    let server = TestServer::start();
    let client = builder().build().unwrap();
    let request = client
        .post(server.url("/post"))
        .body("same body")
        .build()
        .unwrap();
    for _ in 0..2 {
        let r = client.execute(&request).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&r.bytes().unwrap()).unwrap();
        assert_eq!(json["data"], "same body");
    }
}

#[test]
fn a_stream_body_is_refused_on_a_second_send() {
    let server = TestServer::start();
    let client = builder().build().unwrap();
    let request = client
        .post(server.url("/post"))
        .body(envoi::Body::chunked(std::io::Cursor::new(b"once".to_vec())))
        .build()
        .unwrap();
    client.execute(&request).unwrap().bytes().unwrap();
    let e = client.execute(&request).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BodyNotReplayable);
}

#[test]
fn reader_body_with_known_length_is_sent_with_content_length() {
    let server = TestServer::start();
    let client = builder().build().unwrap();
    let data = vec![b'x'; 300_000];
    let r = client
        .put(server.url("/upload-sink"))
        .body(envoi::Body::from_reader(
            std::io::Cursor::new(data),
            300_000,
        ))
        .send()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&r.bytes().unwrap()).unwrap();
    assert_eq!(json["bytes"], 300_000);
    assert_eq!(json["chunked"], false);
}

#[test]
fn reader_shorter_or_longer_than_declared_fails_the_request() {
    let server = TestServer::start();
    let client = builder().build().unwrap();
    for (actual, declared) in [(10usize, 20u64), (30, 20)] {
        let body = envoi::Body::from_reader(std::io::Cursor::new(vec![1u8; actual]), declared);
        let e = client
            .put(server.url("/upload-sink"))
            .body(body)
            .send()
            .unwrap_err();
        assert_eq!(
            e.kind(),
            ErrorKind::InvalidRequest,
            "{actual} vs {declared}: {e}"
        );
    }
}

#[test]
fn streamed_upload_goes_out_chunked_with_its_events() {
    let server = TestServer::start();
    let (client, seen) = recording_client(builder());
    let mut upload = client
        .post(server.url("/upload-sink"))
        .send_streaming(None)
        .unwrap();
    for _ in 0..10 {
        upload.write_all(&[7u8; 1000]).unwrap();
    }
    let r = upload.finish().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&r.bytes().unwrap()).unwrap();
    assert_eq!(
        (json["bytes"].as_u64(), json["chunked"].as_bool()),
        (Some(10_000), Some(true))
    );
    let kinds = seen.lock().unwrap().clone();
    let position = |f: &dyn Fn(&EventKind) -> bool| kinds.iter().position(f).unwrap();
    let sending = position(&|k| matches!(k, EventKind::SendingRequest { .. }));
    let sent = position(&|k| matches!(k, EventKind::RequestSent { bytes } if *bytes > 10_000));
    let received = position(&|k| matches!(k, EventKind::ResponseReceived { .. }));
    assert!(sending < sent && sent < received, "{kinds:?}");
}

#[test]
fn streamed_upload_with_a_length_refuses_extra_bytes() {
    let server = TestServer::start();
    let client = builder().build().unwrap();
    let mut upload = client
        .post(server.url("/upload-sink"))
        .send_streaming(Some(5))
        .unwrap();
    upload.send(b"12345").unwrap();
    let e = upload.send(b"6").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    let r = upload.finish().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&r.bytes().unwrap()).unwrap();
    assert_eq!(json["bytes"], 5);
}

/// What `/upload-sink` reported about the body it read.
fn sink_report(response: envoi::blocking::Response) -> serde_json::Value {
    assert_eq!(response.status(), 200);
    serde_json::from_slice(&response.bytes().unwrap()).unwrap()
}

/// The head of the request and the bytes that reached the socket, from the recorded events.
fn head_and_sent(seen: &Mutex<Vec<EventKind>>) -> (usize, u64) {
    let kinds = seen.lock().unwrap();
    let head = kinds.iter().find_map(|k| match k {
        EventKind::SendingRequest { head } => Some(head.len()),
        _ => None,
    });
    let sent = kinds.iter().find_map(|k| match k {
        EventKind::RequestSent { bytes } => Some(*bytes),
        _ => None,
    });
    (head.unwrap(), sent.unwrap())
}

#[test]
fn a_streamed_upload_with_expect_100_continue_arrives_whole() {
    let server = TestServer::start();
    // A long wait: the body goes out because 100 Continue came, not because the wait ran out.
    let (client, seen) =
        recording_client(builder().expect_continue_timeout(Duration::from_secs(10)));
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    for length in [None, Some(body.len() as u64)] {
        seen.lock().unwrap().clear();
        let started = std::time::Instant::now();
        let mut upload = client
            .put(server.url("/upload-sink"))
            .header("Expect", "100-continue")
            .send_streaming(length)
            .unwrap();
        upload.send(&body[..1000]).unwrap();
        upload.write_all(&body[1000..]).unwrap();
        let json = sink_report(upload.finish().unwrap());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "waited out the expect-continue timeout ({length:?})"
        );
        assert_eq!(
            json["bytes"].as_u64(),
            Some(body.len() as u64),
            "{length:?}"
        );
        assert_eq!(json["chunked"], length.is_none(), "{length:?}");
        let kinds = seen.lock().unwrap();
        assert!(
            kinds
                .iter()
                .any(|k| matches!(k, EventKind::InterimResponse { status, .. } if *status == 100)),
            "{kinds:?}"
        );
    }
}

#[test]
fn an_early_final_answer_to_an_expect_upload_is_what_finish_returns() {
    let server = TestServer::start();
    let (client, seen) =
        recording_client(builder().expect_continue_timeout(Duration::from_secs(10)));
    for length in [None, Some(100_000)] {
        seen.lock().unwrap().clear();
        // `/status/417` answers at once, without reading the body or sending 100 Continue.
        let mut upload = client
            .post(server.url("/status/417"))
            .header("Expect", "100-continue")
            .send_streaming(length)
            .unwrap();
        // The body is not wanted: every piece is refused, unsent, with a typed error.
        for _ in 0..2 {
            let e = upload.send(&[1u8; 50_000]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
            assert_eq!(
                e.protocol_kind(),
                Some(envoi::proto::ErrorKind::BodyNotAllowed),
                "{e}"
            );
        }
        let e = upload.write_all(b"more").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::Other, "{e}");
        let r = upload.finish().unwrap();
        assert_eq!(r.status(), 417, "{length:?}");
        let (head, sent) = head_and_sent(&seen);
        assert_eq!(sent, head as u64, "no body byte went out ({length:?})");
    }
}

#[test]
fn a_large_streamed_upload_answered_early_gives_the_answer_from_finish() {
    const PIECE: usize = 1 << 20;
    const SIZE: u64 = 64 << 20;
    let server = TestServer::start();
    let client = builder().build().unwrap();
    for length in [None, Some(SIZE)] {
        // The server answers 413 without reading the body, and closes.
        let mut upload = client
            .post(server.url("/status/413"))
            .send_streaming(length)
            .unwrap();
        let piece = vec![b'x'; PIECE];
        let failed = (0..SIZE / PIECE as u64).find_map(|_| upload.send(&piece).err());
        let e = failed.expect("64 MiB went out to a server that closed");
        assert_eq!(e.kind(), ErrorKind::ConnectionClosed, "{e}");
        // Nothing is written after a failed piece: the next one gets the error again.
        let e = upload.send(b"more").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionClosed, "{e}");
        let r = upload.finish().unwrap();
        assert_eq!(r.status(), 413, "{length:?}");
    }
}

#[test]
fn after_a_failed_write_send_refuses() {
    let server = TestServer::start();
    let client = builder()
        .write_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    // `/delay/1` reads nothing for a second: 64 MiB cannot go out within the write timeout,
    // and the piece is left half-written.
    let mut upload = client
        .post(server.url("/delay/1"))
        .send_streaming(None)
        .unwrap();
    let e = upload.send(&vec![0u8; 64 << 20]).unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Timeout(envoi::TimeoutPhase::Send),
        "{e}"
    );
    // By now the server reads again, so a write would go through: it must not be made, as
    // it would land after the half-written piece.
    std::thread::sleep(Duration::from_millis(1500));
    let e = upload.send(b"more").unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Timeout(envoi::TimeoutPhase::Send),
        "{e}"
    );
    let e = upload.write_all(b"more").unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::Other, "{e}");
    let e = upload.finish().unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Timeout(envoi::TimeoutPhase::Send),
        "{e}"
    );
}

#[test]
fn user_value_travels_into_every_event() {
    let server = TestServer::start();
    let tagged = Arc::new(Mutex::new(0usize));
    let untagged = Arc::new(Mutex::new(0usize));
    let (t, u) = (Arc::clone(&tagged), Arc::clone(&untagged));
    let client = builder()
        .observer(
            move |e| match e.user_value.as_ref().and_then(|v| v.downcast_ref::<u32>()) {
                Some(42) => *t.lock().unwrap() += 1,
                _ => *u.lock().unwrap() += 1,
            },
        )
        .build()
        .unwrap();
    client
        .get(server.url("/get"))
        .user_value(Arc::new(42u32))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert!(*tagged.lock().unwrap() >= 5);
    assert_eq!(*untagged.lock().unwrap(), 0);
}

#[test]
fn timings_follow_the_phases_in_order() {
    let server = TestServer::start();
    let client = support::tls_builder(&server).build().unwrap();
    let r = client.get(server.https_url("/get")).send().unwrap();
    let t = r.timings();
    let (lookup, connect, tls, first) = (
        t.name_lookup.unwrap(),
        t.connect.unwrap(),
        t.tls.unwrap(),
        t.first_byte.unwrap(),
    );
    assert!(lookup <= connect && connect <= tls && tls <= first, "{t:?}");
}

#[test]
fn text_is_decoded_from_the_declared_charset() {
    let server = TestServer::start();
    let client = builder().build().unwrap();
    let r = client.get(server.url("/charset/latin1")).send().unwrap();
    let expected = r
        .headers()
        .get("x-decoded-text")
        .map(|v| {
            percent_encoding::percent_decode(v.as_bytes())
                .decode_utf8()
                .unwrap()
                .into_owned()
        })
        .unwrap();
    assert_eq!(r.text().unwrap(), expected);
}

#[test]
fn response_reads_through_std_io() {
    let server = TestServer::start();
    let client = builder().build().unwrap();
    let mut r = client.get(server.url("/bytes/70000")).send().unwrap();
    assert_eq!(r.content_length(), Some(70_000));
    let mut sink = Vec::new();
    std::io::copy(&mut r, &mut sink).unwrap();
    assert_eq!(sink.len(), 70_000);
    let mut r = client.get(server.url("/stream-bytes/5000")).send().unwrap();
    assert!(r.is_chunked() && r.content_length().is_none());
    assert_eq!(r.copy_to(&mut Vec::new()).unwrap(), 5000);
}

#[test]
fn a_full_pool_makes_a_request_wait_until_its_deadline() {
    let server = TestServer::start();
    let client = builder().max_connections(1).build().unwrap();
    let held = client.get(server.url("/bytes/100000")).send().unwrap();
    let e = client
        .get(server.url("/get"))
        .timeout(Duration::from_millis(200))
        .send()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout(envoi::TimeoutPhase::Pool));
    drop(held);
    assert_eq!(client.get(server.url("/get")).send().unwrap().status(), 200);
}

#[test]
fn clones_share_the_pool_across_threads() {
    let server = Arc::new(TestServer::start());
    let client = builder().max_connections_per_host(2).build().unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (client, server) = (client.clone(), Arc::clone(&server));
            std::thread::spawn(move || {
                for _ in 0..5 {
                    let r = client.get(server.url("/get")).send().unwrap();
                    assert_eq!(r.status(), 200);
                    r.bytes().unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn progress_is_readable_while_the_body_streams() {
    let server = TestServer::start();
    let client = builder().build().unwrap();
    let mut r = client.get(server.url("/bytes/100000")).send().unwrap();
    assert_eq!(
        (r.progress().downloaded(), r.progress().total()),
        (0, Some(100_000))
    );
    let mut some = [0u8; 1000];
    r.read_exact(&mut some).unwrap();
    assert_eq!(r.progress().downloaded(), 1000);
    let mut r = client.get(server.url("/stream-bytes/1000")).send().unwrap();
    assert_eq!(r.progress().total(), None, "chunked: size unknown");
    r.copy_to(&mut std::io::sink()).unwrap();
    assert_eq!(r.progress().downloaded(), 1000);
}

#[test]
fn https_keep_alive_survives_tls13_session_tickets() {
    // A TLS 1.3 server sends session tickets after the handshake; they arrive on the idle
    // connection and must not make it look stale.
    let server = TestServer::start();
    let (client, seen) = recording_client(support::tls_builder(&server));
    for _ in 0..3 {
        let r = client.get(server.https_url("/get")).send().unwrap();
        assert!(!r.bytes().unwrap().is_empty());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(connects(&seen), [false, true, true]);
}

#[test]
fn a_cancelled_streamed_upload_ends_as_cancelled() {
    let server = TestServer::start();
    let client = builder().build().unwrap();
    let handle = envoi::CancelHandle::new();
    let mut upload = client
        .post(server.url("/upload-sink"))
        .cancel_handle(handle.clone())
        .send_streaming(None)
        .unwrap();
    upload.send(b"before").unwrap();
    handle.cancel();
    let e = upload.send(b"after").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
    let e = std::io::Write::write_all(&mut upload, b"after").unwrap_err();
    assert!(e.to_string().contains("cancel"), "{e}");
    let e = upload.finish().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
}

#[test]
fn cancelling_from_another_thread_ends_a_blocked_streamed_upload_as_cancelled() {
    // The server does not read (it answers after 3 s): the piece blocks once the socket
    // buffers are full, until the cancellation shuts the socket down.
    let server = TestServer::start();
    let client = builder().build().unwrap();
    let handle = envoi::CancelHandle::new();
    let mut upload = client
        .post(server.url("/delay/3"))
        .cancel_handle(handle.clone())
        .send_streaming(None)
        .unwrap();
    let canceller = {
        let handle = handle.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            handle.cancel();
        })
    };
    let e = upload.send(&vec![0u8; 64 << 20]).unwrap_err();
    canceller.join().unwrap();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
}

/// Over TLS, body reads poll before they sleep (`ClientBuilder::busy_poll`); the body is the
/// same byte for byte with polling on, and off.
#[test]
fn a_large_tls_body_is_the_same_with_busy_polling_and_without() {
    let server = TestServer::start();
    let url = server.https_url("/bytes/3000000?seed=7");
    let fetch = |budget: Duration| {
        let client = support::tls_builder(&server)
            .busy_poll(budget)
            .build()
            .unwrap();
        let mut body = Vec::new();
        client
            .get(&url)
            .send()
            .unwrap()
            .read_to_end(&mut body)
            .unwrap();
        body
    };
    let polled = fetch(Duration::from_micros(200));
    assert_eq!(polled.len(), 3_000_000);
    assert!(polled == fetch(Duration::ZERO), "the bodies differ");
}

/// A TLS body that trickles runs each poll out of budget; the read then waits in the kernel
/// and every byte still arrives.
#[test]
fn a_trickling_tls_body_waits_once_the_poll_budget_runs_out() {
    let server = TestServer::start();
    let client = support::tls_builder(&server)
        .busy_poll(Duration::from_micros(50))
        .build()
        .unwrap();
    let mut response = client
        .get(server.https_url("/drip?numbytes=6&duration=0.3"))
        .send()
        .unwrap();
    let mut body = Vec::new();
    response.read_to_end(&mut body).unwrap();
    assert_eq!(body.len(), 6);
}
