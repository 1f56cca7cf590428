//! Bad input and misbehaving servers: each one typed error, never a short success.

use std::net::TcpListener;

use envoi_testserver::ClosedPort;

use crate::support::*;

pub fn truncated_content_length_body_is_an_error(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let result = fe.fetch(builder(), &get(&server.url("/raw/truncated-length")));
    assert_eq!(error_kind(result), ErrorKind::TruncatedBody);
}

pub fn chunked_body_without_last_chunk_is_an_error(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    for route in ["/raw/truncated-chunked", "/raw/missing-last-chunk"] {
        let result = fe.fetch(builder(), &get(&server.url(route)));
        assert_eq!(error_kind(result), ErrorKind::TruncatedBody, "{route}");
    }
}

pub fn bad_chunk_size_is_a_malformed_response(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let result = fe.fetch(builder(), &get(&server.url("/raw/bad-chunk-size")));
    let error = result.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MalformedResponse);
    assert_eq!(
        error.protocol_kind(),
        Some(envoi::proto::ErrorKind::InvalidChunk)
    );
}

pub fn reset_mid_body_is_an_error(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let result = fe.fetch(builder(), &get(&server.url("/raw/reset-mid-body")));
    let kind = error_kind(result);
    assert!(
        matches!(kind, ErrorKind::ConnectionClosed | ErrorKind::TruncatedBody),
        "{kind:?}"
    );
}

pub fn close_before_response_is_no_response(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let result = fe.fetch(builder(), &get(&server.url("/raw/close-before-response")));
    assert_eq!(error_kind(result), ErrorKind::NoResponse);
}

pub fn refused_connection_is_cant_connect(fe: &dyn FrontEnd) {
    let closed = ClosedPort::new();
    let result = fe.fetch(builder(), &get(&format!("http://{}/", closed.addr())));
    let error = result.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CantConnect);
    assert!(std::error::Error::source(&error).is_some());
    assert!(
        format!("{error:#}").contains(&closed.port().to_string()),
        "{error:#}"
    );
}

pub fn failing_resolver_is_cant_resolve(fe: &dyn FrontEnd) {
    let resolver = |host: &str, _: u16| -> std::io::Result<Vec<std::net::SocketAddr>> {
        Err(std::io::Error::other(format!("no such host {host}")))
    };
    let result = fe.fetch(
        builder().resolver(resolver),
        &get("http://nowhere.test/get"),
    );
    assert_eq!(error_kind(result), ErrorKind::CantResolve);
}

pub fn invalid_header_is_refused_before_connecting(fe: &dyn FrontEnd) {
    // A listener that would see any connection attempt.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let mut request = get(&url);
    // `append_header` refuses too; build the bad value through the header map's raw API.
    let e = request
        .append_header("X-Evil", "a\r\nInjected: 1")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidHeader);
    assert_eq!(e.header(), Some("X-Evil"));
    request.headers_mut().insert(
        "content-length",
        http::HeaderValue::from_static("not a number"),
    );
    let result = fe.fetch(builder(), &request);
    let error = result.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidHeader);
    assert_eq!(error.header(), Some("content-length"));
    assert!(listener.accept().is_err(), "something reached the wire");
}

pub fn slow_server_hits_the_timeout_with_its_phase(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let mut request = get(&server.url("/delay/3"));
    request.set_timeout(Some(std::time::Duration::from_millis(300)));
    let result = fe.fetch(builder(), &request);
    assert_eq!(
        error_kind(result),
        ErrorKind::Timeout(envoi::TimeoutPhase::FirstByte)
    );
    let mut request = get(&server.url("/raw/slow-drip?bytes=50&delay_ms=100"));
    request.set_read_timeout(Some(std::time::Duration::from_millis(30)));
    let result = fe.fetch(builder(), &request);
    assert_eq!(
        error_kind(result),
        ErrorKind::Timeout(envoi::TimeoutPhase::Body)
    );
}

pub fn conflicting_content_lengths_are_malformed(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let result = fe.fetch(builder(), &get(&server.url("/raw/conflicting-length")));
    assert_eq!(error_kind(result), ErrorKind::MalformedResponse);
}

pub fn huge_header_is_refused(fe: &dyn FrontEnd) {
    let server = TestServer::start();
    let result = fe.fetch(builder(), &get(&server.url("/raw/huge-header?size=100000")));
    let error = result.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MalformedResponse);
    assert_eq!(
        error.protocol_kind(),
        Some(envoi::proto::ErrorKind::HeadTooLarge)
    );
}

pub fn unanswered_connect_times_out_in_the_connect_phase(fe: &dyn FrontEnd) {
    // A listener whose accept queue is full: the kernel drops further SYNs, so a connect to it
    // hangs on loopback exactly as one to an unreachable host would.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let _ = s.connect_timeout(&addr.into(), std::time::Duration::from_millis(50));
        fillers.push(s);
    }
    let result = fe.fetch(
        builder().connect_timeout(std::time::Duration::from_millis(300)),
        &get(&format!("http://{addr}/")),
    );
    assert_eq!(
        error_kind(result),
        ErrorKind::Timeout(envoi::TimeoutPhase::Connect)
    );
}

pub fn silent_tls_server_times_out_in_the_tls_phase(fe: &dyn FrontEnd) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = std::thread::spawn(move || listener.accept().map(|(s, _)| s));
    let result = fe.fetch(
        builder().connect_timeout(std::time::Duration::from_millis(300)),
        &get(&format!("https://{addr}/")),
    );
    assert_eq!(
        error_kind(result),
        ErrorKind::Timeout(envoi::TimeoutPhase::Tls)
    );
    drop(holder.join());
}

pub fn server_that_stops_reading_times_out_in_the_send_phase(fe: &dyn FrontEnd) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = std::thread::spawn(move || listener.accept().map(|(s, _)| s));
    let mut request = Request::new(Method::POST, format!("http://{addr}/")).unwrap();
    request.set_body(vec![0u8; 64 << 20]);
    let result = fe.fetch(
        builder().write_timeout(std::time::Duration::from_millis(300)),
        &request,
    );
    assert_eq!(
        error_kind(result),
        ErrorKind::Timeout(envoi::TimeoutPhase::Send)
    );
    drop(holder.join());
}
