//! Requests and responses that go as they should.

use std::time::Duration;

use crate::support::*;

pub fn get_returns_status_headers_and_json(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let mut request = get(&server.url("/get?q=1"));
    request.append_header("X-Test", "yes").unwrap();
    let out = fe.fetch(builder(), &request).unwrap();
    assert_eq!(out.status, 200);
    let json = out.json();
    assert_eq!(json["args"]["q"], "1");
    assert_eq!(json["headers"]["X-Test"], "yes");
    assert!(json["headers"]["User-Agent"]
        .as_str()
        .unwrap()
        .starts_with("envoi/"));
}

pub fn post_body_reaches_the_server(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let mut request = Request::new(Method::POST, server.url("/post")).unwrap();
    request
        .append_header("Content-Type", "application/json")
        .unwrap();
    request.set_body(r#"{"a":1}"#);
    let out = fe.fetch(builder(), &request).unwrap();
    assert_eq!(out.json()["json"]["a"], 1);
}

pub fn multipart_and_urlencoded_forms_reach_the_server_and_survive_a_307(fe: &dyn FrontEnd) {
    use envoi::multipart::{Form, Part};
    let server = TestServer::start();
    // One directory per call: the front ends run this at the same time.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("envoi-form-{}-{call}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("notes.txt");
    let content = "line one\n".repeat(20_000);
    std::fs::write(&file, &content).unwrap();
    // Built by a builder: the request itself is the same for every front end.
    let requests = envoi::blocking::Client::new().unwrap();
    for target in ["/post", "/redirect-to?url=%2Fpost&status_code=307"] {
        let form = Form::new()
            .text("title", "holiday")
            .file("notes", &file)
            .unwrap()
            .part("raw", Part::bytes(&b"\x00\x01"[..]).file_name("raw.bin"));
        let request = requests
            .post(server.url(target))
            .multipart(form)
            .build()
            .unwrap();
        let json = fe.fetch(builder(), &request).unwrap().json();
        assert_eq!(json["form"]["title"], "holiday", "{target}");
        assert_eq!(json["files"]["notes"], content.as_str(), "{target}");
        assert!(json["files"]["raw"].is_string(), "{target}: {json}");

        let request = requests
            .post(server.url(target))
            .form(&[("a b", "1&2"), ("é", "=")])
            .build()
            .unwrap();
        let json = fe.fetch(builder(), &request).unwrap().json();
        assert_eq!(json["form"]["a b"], "1&2", "{target}");
        assert_eq!(json["form"]["é"], "=", "{target}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

pub fn expect_100_continue_sends_the_body_as_soon_as_the_server_says_continue(fe: &dyn FrontEnd) {
    // The wait for 100 Continue may last 10 s: a body that only went out when it ran out
    // would take that long; it must go when the server's 100 comes.
    let server = TestServer::start();
    let payload = "expected ".repeat(20_000);
    let bodies = [
        envoi::Body::from_bytes(payload.clone()),
        envoi::Body::from_reader(
            std::io::Cursor::new(payload.clone().into_bytes()),
            payload.len() as u64,
        ),
    ];
    for body in bodies {
        let (builder, seen) = recording(builder().expect_continue_timeout(Duration::from_secs(10)));
        let mut request = Request::new(Method::POST, server.url("/post")).unwrap();
        request.append_header("Expect", "100-continue").unwrap();
        request.set_body(body);
        let started = std::time::Instant::now();
        let out = fe.fetch(builder, &request).unwrap();
        assert_eq!(out.json()["data"], payload.as_str());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let interim = seen.lock().unwrap().iter().any(|e| {
            matches!(e, envoi::EventKind::InterimResponse { status, .. } if status.as_u16() == 100)
        });
        assert!(interim, "the server's 100 Continue was seen");
    }
}

pub fn large_body_arrives_whole(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let out = fe
        .fetch(builder(), &get(&server.url("/bytes/3000000")))
        .unwrap();
    assert_eq!(out.body.len(), 3_000_000);
}

pub fn chunked_body_arrives_whole(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let out = fe
        .fetch(
            builder(),
            &get(&server.url("/stream-bytes/200000?chunk_size=1000")),
        )
        .unwrap();
    assert_eq!(out.body.len(), 200_000);
}

pub fn head_response_has_no_body(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let request = Request::new(Method::HEAD, server.url("/bytes/100")).unwrap();
    let out = fe.fetch(builder(), &request).unwrap();
    assert_eq!(out.status, 200);
    assert!(out.body.is_empty());
}

pub fn error_status_is_a_response_not_an_error(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let out = fe
        .fetch(builder(), &get(&server.url("/status/418")))
        .unwrap();
    assert_eq!(out.status, 418);
}

pub fn ipv6_loopback_works_when_available(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let Some(url) = server.http_url_v6("/get") else {
        // The machine has no IPv6 loopback; the server said so and there is nothing to test.
        eprintln!("no [::1] on this machine");
        return;
    };
    assert_eq!(fe.fetch(builder(), &get(&url)).unwrap().status, 200);
}

pub fn resolve_override_reaches_the_given_address(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let port = server.http_addr().port();
    let url = format!("http://envoi.test:{port}/headers");
    let out = fe
        .fetch(
            builder().resolve("envoi.test", port, &[server.http_addr()]),
            &get(&url),
        )
        .unwrap();
    assert_eq!(out.json()["headers"]["Host"], format!("envoi.test:{port}"));
}

/// With the `url` feature a host name in Unicode goes out in its ASCII form (IDNA); without
/// it the URL is refused before anything is resolved.
pub fn an_international_host_name_is_sent_in_its_ascii_form(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let port = server.http_addr().port();
    let url = format!("http://Bücher.test:{port}/headers");
    let request = Request::new(Method::GET, &url);
    if !cfg!(feature = "url") {
        let e = request.unwrap_err();
        assert_eq!(e.kind(), envoi::ErrorKind::InvalidUrl, "{e:#}");
        assert!(format!("{e:#}").contains("`url` feature"), "{e:#}");
        return;
    }
    let request = request.unwrap();
    assert_eq!(request.url().host_str(), Some("xn--bcher-kva.test"));
    let out = fe
        .fetch(
            builder().resolve("xn--bcher-kva.test", port, &[server.http_addr()]),
            &request,
        )
        .unwrap();
    assert_eq!(
        out.json()["headers"]["Host"],
        format!("xn--bcher-kva.test:{port}")
    );
}

pub fn events_carry_each_request_head_as_sent_and_each_response_head(fe: &dyn FrontEnd) {
    use std::sync::{Arc, Mutex};
    let server = TestServer::start();
    let seen: Arc<Mutex<Vec<envoi::EventKind>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let observed = || {
        let sink = Arc::clone(&sink);
        builder().observer(move |e| sink.lock().unwrap().push(e.kind.clone()))
    };
    // A redirect, with credentials and a cookie the jar picks up on the way: the heads must
    // show what went out, not what was planned.
    let mut request = get(&server.url("/cookies/set?flavour=oat"));
    request.set_auth(Some(envoi::Auth::basic("ann", "secret")));
    let out = fe.fetch(observed(), &request).unwrap();
    assert_eq!(out.status, 200);
    let kinds = std::mem::take(&mut *seen.lock().unwrap());
    let sent: Vec<String> = kinds
        .iter()
        .filter_map(|k| match k {
            envoi::EventKind::SendingRequest { head } => {
                Some(String::from_utf8(head.to_vec()).unwrap())
            }
            _ => None,
        })
        .collect();
    let received: Vec<String> = kinds
        .iter()
        .filter_map(|k| match k {
            envoi::EventKind::ResponseReceived { head, .. } => {
                Some(String::from_utf8(head.to_vec()).unwrap())
            }
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent[0].starts_with("GET /cookies/set?flavour=oat HTTP/1.1\r\n"),
        "{}",
        sent[0]
    );
    assert!(
        sent[1].starts_with("GET /cookies HTTP/1.1\r\n"),
        "{}",
        sent[1]
    );
    for head in &sent {
        assert!(head.ends_with("\r\n\r\n"), "{head:?}");
        let lower = head.to_ascii_lowercase();
        assert!(lower.contains("\r\nauthorization: basic "), "{head}");
    }
    assert!(
        sent[1]
            .to_ascii_lowercase()
            .contains("\r\ncookie: flavour=oat\r\n"),
        "{}",
        sent[1]
    );
    assert_eq!(received.len(), 2, "{received:?}");
    assert!(received[0].starts_with("HTTP/1.1 302"), "{}", received[0]);
    assert!(received[0]
        .to_ascii_lowercase()
        .contains("set-cookie: flavour=oat"));
    assert!(received[1].starts_with("HTTP/1.1 200"), "{}", received[1]);
    assert!(received.iter().all(|h| h.ends_with("\r\n\r\n")));

    // An interim response arrives as its own head, before the final one.
    let out = fe
        .fetch(observed(), &get(&server.url("/raw/interim-103")))
        .unwrap();
    assert_eq!(out.status, 200);
    let kinds = std::mem::take(&mut *seen.lock().unwrap());
    let heads: Vec<String> = kinds
        .iter()
        .filter_map(|k| match k {
            envoi::EventKind::InterimResponse { head, .. } => {
                Some(format!("interim {}", String::from_utf8_lossy(head)))
            }
            envoi::EventKind::ResponseReceived { head, .. } => {
                Some(format!("final {}", String::from_utf8_lossy(head)))
            }
            _ => None,
        })
        .collect();
    assert_eq!(heads.len(), 2, "{heads:?}");
    assert!(heads[0].starts_with("interim HTTP/1.1 103"), "{heads:?}");
    assert!(heads[1].starts_with("final HTTP/1.1 200"), "{heads:?}");
}
