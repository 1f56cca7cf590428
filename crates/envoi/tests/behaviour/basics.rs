//! Requests and responses that go as they should.

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
    let mut request = Request::new(Method::POST, &server.url("/post")).unwrap();
    request
        .append_header("Content-Type", "application/json")
        .unwrap();
    request.set_body(r#"{"a":1}"#);
    let out = fe.fetch(builder(), &request).unwrap();
    assert_eq!(out.json()["json"]["a"], 1);
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
    let request = Request::new(Method::HEAD, &server.url("/bytes/100")).unwrap();
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
