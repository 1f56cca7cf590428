//! Policy, the same in every front end: redirects, cookies, authentication, decoding, limits,
//! cancellation and retries.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use envoi::{Auth, RedirectPolicy, RetryPolicy};
use envoi_testserver::ClosedPort;

use crate::support::*;

fn enc(url: &str) -> String {
    percent_encoding::utf8_percent_encode(url, percent_encoding::NON_ALPHANUMERIC).to_string()
}

pub fn redirects_are_followed_to_the_final_response(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    for route in [
        "/redirect/3",
        "/relative-redirect/3",
        "/absolute-redirect/3",
    ] {
        let out = fe.fetch(builder(), &get(&server.url(route))).unwrap();
        assert_eq!(out.status, 200, "{route}");
        assert_eq!(out.json()["url"], server.url("/get"), "{route}");
    }
}

pub fn nine_hops_exceed_the_default_limit_of_eight(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    assert_eq!(
        fe.fetch(builder(), &get(&server.url("/redirect/8")))
            .unwrap()
            .status,
        200
    );
    let error = fe
        .fetch(builder(), &get(&server.url("/redirect/9")))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::TooManyRedirects);
    assert!(error.to_string().contains("/redirect/9"), "{error}");
}

pub fn a_redirect_loop_is_too_many_redirects(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    // An empty Location is a reference to the same URL: the request would go round forever.
    let self_loop = server.url("/raw/custom?status=302&header=Location%3A%20");
    let error = fe.fetch(builder(), &get(&self_loop)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::TooManyRedirects, "{error}");
}

pub fn following_can_be_turned_off(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let out = fe
        .fetch(
            builder().redirect(RedirectPolicy::none()),
            &get(&server.url("/redirect/2")),
        )
        .unwrap();
    assert_eq!(out.status, 302);
    assert!(out.headers.contains_key("location"));
}

pub fn post_turns_into_get_on_303_and_keeps_its_body_on_307(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    for (code, method, data) in [
        ("303", "GET", ""),
        ("302", "GET", ""),
        ("307", "POST", "payload"),
        ("308", "POST", "payload"),
    ] {
        let url = server.url(&format!("/redirect-to?url=%2Fanything&status_code={code}"));
        let mut request = Request::new(Method::POST, &url).unwrap();
        request.set_body("payload");
        let json = fe.fetch(builder(), &request).unwrap().json();
        assert_eq!(json["method"], method, "{code}");
        assert_eq!(json["data"], data, "{code}");
    }
}

pub fn a_replayable_stream_is_sent_again_on_307_and_a_one_shot_stream_is_refused(
    fe: &dyn FrontEnd,
) {
    let server = TestServer::start();
    // Small enough that the server, which answers without reading it, never stops the upload.
    let payload = "streamed payload ".repeat(100);
    let opened = Arc::new(AtomicUsize::new(0));
    for (code, length) in [("307", Some(payload.len() as u64)), ("308", None)] {
        opened.store(0, Ordering::SeqCst);
        let url = server.url(&format!("/redirect-to?url=%2Fanything&status_code={code}"));
        let mut request = Request::new(Method::POST, &url).unwrap();
        let (bytes, count) = (payload.clone().into_bytes(), opened.clone());
        request.set_body(envoi::Body::replayable(length, move || {
            count.fetch_add(1, Ordering::SeqCst);
            Ok(std::io::Cursor::new(bytes.clone()))
        }));
        let json = fe.fetch(builder(), &request).unwrap().json();
        assert_eq!(json["method"], "POST", "{code}");
        assert_eq!(json["data"], payload.as_str(), "{code}");
        assert_eq!(
            opened.load(Ordering::SeqCst),
            2,
            "{code}: opened once per hop"
        );
    }

    let url = server.url("/redirect-to?url=%2Fanything&status_code=307");
    let mut request = Request::new(Method::POST, &url).unwrap();
    request.set_body(envoi::Body::from_reader(
        std::io::Cursor::new(payload.clone().into_bytes()),
        payload.len() as u64,
    ));
    let error = fe.fetch(builder(), &request).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BodyNotReplayable, "{error}");

    let mut request = Request::new(Method::POST, server.url("/anything")).unwrap();
    request.set_body(envoi::Body::replayable(Some(4), || {
        std::fs::File::open("/nonexistent/envoi/body")
    }));
    let error = fe.fetch(builder(), &request).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BodyIo, "{error}");
    assert!(format!("{error:#}").contains("No such file"), "{error:#}");
}

pub fn an_answer_before_the_whole_body_went_out_is_delivered(fe: &dyn FrontEnd) {
    // The server answers 413 without reading the 8 MiB body and closes: the answer, not the
    // failed write, is what the caller gets, from bytes and from a stream alike.
    let server = TestServer::start();
    let url = server.url("/status/413");
    let payload = vec![b'x'; 8 << 20];
    let bodies = [
        envoi::Body::from_bytes(payload.clone()),
        envoi::Body::chunked(std::io::Cursor::new(payload)),
    ];
    for body in bodies {
        let mut request = Request::new(Method::POST, &url).unwrap();
        request.set_body(body);
        let out = fe.fetch(builder(), &request).unwrap();
        assert_eq!(out.status, 413);
    }
}

pub fn https_to_http_is_refused_then_allowed_with_its_switch(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let target = server.url("/get");
    let url = server.https_url(&format!("/redirect-to?url={}", enc(&target)));
    let error = fe.fetch(tls_builder(&server), &get(&url)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InsecureRedirect);
    assert!(
        error.to_string().contains("ignore_redirect_to_http"),
        "{error}"
    );
    let allowed =
        tls_builder(&server).redirect(RedirectPolicy::default().ignore_redirect_to_http(true));
    assert_eq!(fe.fetch(allowed, &get(&url)).unwrap().status, 200);
}

pub fn strict_mode_also_refuses_http_to_https(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let url = server.url(&format!(
        "/redirect-to?url={}",
        enc(&server.https_url("/get"))
    ));
    assert_eq!(
        fe.fetch(tls_builder(&server), &get(&url)).unwrap().status,
        200
    );
    let strict = tls_builder(&server).redirect(RedirectPolicy::default().strict(true));
    let error = fe.fetch(strict, &get(&url)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InsecureRedirect);
    assert!(
        error.to_string().contains("ignore_redirect_to_https"),
        "{error}"
    );
    let allowed = tls_builder(&server).redirect(
        RedirectPolicy::default()
            .strict(true)
            .ignore_redirect_to_https(true),
    );
    assert_eq!(fe.fetch(allowed, &get(&url)).unwrap().status, 200);
}

pub fn credentials_never_follow_a_redirect_to_another_origin(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let port = server.http_addr().port();
    // Same server, another origin: a name instead of the IP.
    let other = format!("http://envoi.test:{port}/headers");
    let url = server.url(&format!("/redirect-to?url={}", enc(&other)));
    let mut request = get(&url);
    request.set_auth(Some(Auth::basic("user", "secret")));
    request.append_header("Cookie", "hand=set").unwrap();
    let out = fe
        .fetch(
            builder().resolve("envoi.test", port, &[server.http_addr()]),
            &request,
        )
        .unwrap();
    let headers = &out.json()["headers"];
    assert!(headers.get("Authorization").is_none(), "{headers}");
    assert!(headers.get("Cookie").is_none(), "{headers}");
}

pub fn a_cookie_set_during_a_redirect_is_sent_after_it(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let out = fe
        .fetch(builder(), &get(&server.url("/cookies/set?flavour=oat")))
        .unwrap();
    assert_eq!(out.json()["cookies"]["flavour"], "oat");
}

pub fn a_cookie_for_another_domain_is_refused(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let jar = envoi::CookieJar::new();
    let set = server.url("/response-headers?Set-Cookie=stolen%3D1%3B%20Domain%3Dexample.com");
    fe.fetch(builder().cookie_jar(jar.clone()), &get(&set))
        .unwrap();
    assert!(jar.cookies().is_empty(), "{:?}", jar.cookies());
    let out = fe
        .fetch(builder().cookie_jar(jar), &get(&server.url("/cookies")))
        .unwrap();
    assert_eq!(out.json()["cookies"], serde_json::json!({}));
}

pub fn basic_bearer_and_url_credentials_are_sent(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let mut request = get(&server.url("/basic-auth/alice/wonder"));
    request.set_auth(Some(Auth::basic("alice", "wonder")));
    assert_eq!(fe.fetch(builder(), &request).unwrap().status, 200);
    request.set_auth(Some(Auth::basic("alice", "wrong")));
    assert_eq!(fe.fetch(builder(), &request).unwrap().status, 401);
    let mut request = get(&server.url("/bearer"));
    request.set_auth(Some(Auth::bearer("token-123")));
    assert_eq!(fe.fetch(builder(), &request).unwrap().status, 200);
    let port = server.http_addr().port();
    let with_userinfo = format!("http://alice:wonder@127.0.0.1:{port}/basic-auth/alice/wonder");
    assert_eq!(
        fe.fetch(builder(), &get(&with_userinfo)).unwrap().status,
        200
    );
}

pub fn digest_answers_the_challenge_once(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    for algorithm in ["MD5", "SHA-256", "MD5-sess", "SHA-256-sess"] {
        let mut request = get(&server.url(&format!("/digest-auth/auth/bob/pw/{algorithm}")));
        request.set_auth(Some(Auth::digest("bob", "pw")));
        assert_eq!(
            fe.fetch(builder(), &request).unwrap().status,
            200,
            "{algorithm}"
        );
    }
    let mut request = get(&server.url("/digest-auth/auth/bob/pw/MD5"));
    request.set_auth(Some(Auth::digest("bob", "wrong")));
    let out = fe.fetch(builder(), &request).unwrap();
    assert_eq!(
        out.status, 401,
        "wrong credentials end as the 401, not a loop"
    );
}

pub fn compressed_bodies_are_decoded_as_they_stream(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    for (route, flag) in [
        ("/gzip", "gzipped"),
        ("/deflate", "deflated"),
        ("/brotli", "brotli"),
        ("/zstd", "zstd"),
    ] {
        let out = fe.fetch(builder(), &get(&server.url(route))).unwrap();
        assert_eq!(out.json()[flag], true, "{route}");
        assert!(!out.headers.contains_key("content-encoding"), "{route}");
    }
    let raw = fe
        .fetch(builder().decompress(false), &get(&server.url("/gzip")))
        .unwrap();
    assert_eq!(
        &raw.body[..2],
        &[0x1f, 0x8b],
        "decoding off gives the gzip bytes"
    );
}

pub fn a_gzip_bomb_stops_at_the_body_limit(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let started = Instant::now();
    let result = fe.fetch(
        builder().max_body_size(16 << 20),
        &get(&server.url("/gzip-bomb/10737418240")),
    );
    assert_eq!(error_kind(result), ErrorKind::BodyTooLarge);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

pub fn the_body_limit_applies_without_compression_too(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let limited = || builder().max_body_size(1000);
    assert_eq!(
        fe.fetch(limited(), &get(&server.url("/bytes/1000")))
            .unwrap()
            .body
            .len(),
        1000
    );
    let result = fe.fetch(limited(), &get(&server.url("/bytes/1001")));
    assert_eq!(error_kind(result), ErrorKind::BodyTooLarge);
}

pub fn a_corrupt_gzip_body_is_decompression_failed(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let url = server.url("/raw/custom?header=Content-Encoding%3A%20gzip&body=not-gzip-at-all");
    let result = fe.fetch(builder(), &get(&url));
    assert_eq!(error_kind(result), ErrorKind::DecompressionFailed);
}

pub fn a_cancelled_request_ends_as_cancelled(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let handle = envoi::CancelHandle::new();
    let mut request = get(&server.url("/delay/5"));
    request.set_cancel_handle(Some(handle.clone()));
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        handle.cancel();
    });
    let started = Instant::now();
    let result = fe.fetch(builder(), &request);
    canceller.join().unwrap();
    assert_eq!(error_kind(result), ErrorKind::Cancelled);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

pub fn retries_are_off_by_default_and_bounded_when_on(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let sends = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&sends);
    let counting = move || {
        let counter = std::sync::Arc::clone(&counter);
        builder().observer(move |e| {
            if matches!(e.kind, envoi::EventKind::SendingRequest { .. }) {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        })
    };
    let url = server.url("/status/503");
    assert_eq!(fe.fetch(counting(), &get(&url)).unwrap().status, 503);
    assert_eq!(sends.swap(0, std::sync::atomic::Ordering::SeqCst), 1);
    let retrying = counting().retry(
        RetryPolicy::default()
            .max_retries(2)
            .base_delay(Duration::from_millis(10)),
    );
    assert_eq!(fe.fetch(retrying, &get(&url)).unwrap().status, 503);
    assert_eq!(sends.load(std::sync::atomic::Ordering::SeqCst), 3);
}

pub fn an_unknown_encoding_passes_through_raw_with_its_header(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let url = server.url("/raw/custom?header=Content-Encoding%3A%20x-envoi-test&body=opaque");
    let out = fe.fetch(builder(), &get(&url)).unwrap();
    assert_eq!(out.body, b"opaque");
    assert_eq!(out.headers["content-encoding"], "x-envoi-test");
}

pub fn connect_failures_are_retried_when_retries_are_on(fe: &dyn FrontEnd) {
    // Held for the whole test: every attempt, retries included, must be refused.
    let closed = ClosedPort::new();
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&attempts);
    let retrying = builder()
        .retry(
            RetryPolicy::default()
                .max_retries(2)
                .base_delay(Duration::from_millis(10)),
        )
        .observer(move |e| {
            if matches!(e.kind, envoi::EventKind::Connecting { .. }) {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
    let result = fe.fetch(retrying, &get(&format!("http://{}/", closed.addr())));
    assert_eq!(error_kind(result), ErrorKind::CantConnect);
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 3);
}

pub fn auto_referer_names_the_url_redirected_from(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let start = server.url("/redirect-to?url=/headers");
    let referer = |out: &Outcome| out.json()["headers"]["Referer"].as_str().map(str::to_owned);
    let plain = fe.fetch(builder(), &get(&start)).unwrap();
    assert_eq!(referer(&plain), None, "off by default");
    let auto = builder().redirect(RedirectPolicy::default().auto_referer(true));
    let out = fe.fetch(auto, &get(&start)).unwrap();
    assert_eq!(out.status, 200);
    assert_eq!(referer(&out).as_deref(), Some(start.as_str()));
}
