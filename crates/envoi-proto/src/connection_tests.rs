//! Behaviour of a whole connection, one rule per test, each starting from the state it tests.

use super::*;
use crate::{CloseReason, ErrorKind, ReadState, RequestTarget, WriteState};
use bytes::Bytes;
use http::Method;

/// A connection with one request already sent; returns it and the request bytes.
fn sent(method: Method, fields: &[(&str, &str)]) -> (Connection, Vec<u8>) {
    let target = if method == Method::CONNECT {
        "h:443"
    } else {
        "/"
    };
    let mut head = RequestHead::new(method, RequestTarget::parse(target).unwrap());
    head.try_append("Host", "h").unwrap();
    for (n, v) in fields {
        head.try_append(n, v).unwrap();
    }
    let mut conn = Connection::default();
    let mut out = Vec::new();
    conn.send_request(&head, &mut out).unwrap();
    (conn, out)
}

fn get() -> Connection {
    sent(Method::GET, &[]).0
}

/// The events for the bytes given, draining until End, NeedData or an error.
#[derive(Debug, PartialEq)]
enum Seen {
    Interim(u16),
    Head(u16, BodyFraming),
    Data(Vec<u8>),
    Trailers(Vec<(String, String)>),
    End,
    Upgraded(Vec<u8>),
    NeedData,
    Error(ErrorKind),
}

fn drain(conn: &mut Connection) -> Vec<Seen> {
    let mut seen = Vec::new();
    for _ in 0..1000 {
        let s = match conn.next_event() {
            Ok(Event::Informational(h)) => Seen::Interim(h.status().as_u16()),
            Ok(Event::ResponseHead(h)) => Seen::Head(h.status().as_u16(), h.framing()),
            Ok(Event::Data(d)) => match seen.last_mut() {
                Some(Seen::Data(prev)) => {
                    prev.extend_from_slice(&d);
                    continue;
                }
                _ => Seen::Data(d.to_vec()),
            },
            Ok(Event::Trailers(t)) => Seen::Trailers(
                t.iter()
                    .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
                    .collect(),
            ),
            Ok(Event::End) => Seen::End,
            Ok(Event::Upgraded(b)) => Seen::Upgraded(b.to_vec()),
            Ok(Event::NeedData) => Seen::NeedData,
            Err(e) => Seen::Error(e.kind()),
        };
        let stop = matches!(
            s,
            Seen::End | Seen::NeedData | Seen::Error(_) | Seen::Upgraded(_)
        );
        seen.push(s);
        if stop {
            break;
        }
    }
    seen
}

fn respond(conn: &mut Connection, bytes: &[u8], eof: bool) -> Vec<Seen> {
    conn.receive(bytes);
    if eof {
        conn.receive_eof();
    }
    drain(conn)
}

#[test]
fn content_length_response_completes_and_the_connection_is_reused() {
    let mut conn = get();
    let seen = respond(
        &mut conn,
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
        false,
    );
    assert_eq!(
        seen,
        [
            Seen::Head(200, BodyFraming::Length(3)),
            Seen::Data(b"abc".to_vec()),
            Seen::End
        ]
    );
    assert!(conn.ready_for_request());
    let mut head = RequestHead::new(Method::GET, RequestTarget::parse("/2").unwrap());
    head.try_append("Host", "h").unwrap();
    let mut out = Vec::new();
    conn.send_request(&head, &mut out).unwrap();
    assert_eq!(
        respond(&mut conn, b"HTTP/1.1 204 No Content\r\n\r\n", false),
        [Seen::Head(204, BodyFraming::Empty), Seen::End]
    );
}

#[test]
fn response_fed_one_byte_at_a_time_gives_the_same_events() {
    let response = b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\n\
        Transfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5;x=y\r\npedia\r\n0\r\nX-T: 1\r\n\r\n";
    let mut whole = get();
    let expected = respond(&mut whole, response, false);
    let mut conn = get();
    let mut seen = Vec::new();
    for &b in response.iter() {
        conn.receive(&[b]);
        for s in drain(&mut conn) {
            match (seen.last_mut(), s) {
                (_, Seen::NeedData) => {}
                (Some(Seen::Data(prev)), Seen::Data(d)) => prev.extend(d),
                (_, s) => seen.push(s),
            }
        }
    }
    assert_eq!(seen, expected);
    assert_eq!(expected.last(), Some(&Seen::End));
}

#[test]
fn interim_responses_are_events_that_do_not_end_the_exchange() {
    let mut conn = get();
    let seen = respond(
        &mut conn,
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n\
          HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        false,
    );
    assert_eq!(
        seen,
        [
            Seen::Interim(100),
            Seen::Interim(103),
            Seen::Head(200, BodyFraming::Length(0)),
            Seen::End
        ]
    );
}

#[test]
fn expect_continue_holds_the_body_until_100_continue() {
    let (mut conn, _) = sent(
        Method::PUT,
        &[("Content-Length", "5"), ("Expect", "100-continue")],
    );
    assert_eq!(conn.write_state(), WriteState::AwaitingContinue);
    let mut out = Vec::new();
    let e = conn.send_body(b"hello", &mut out).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    assert!(out.is_empty());
    assert_eq!(
        respond(&mut conn, b"HTTP/1.1 100 Continue\r\n\r\n", false),
        [Seen::Interim(100), Seen::NeedData]
    );
    conn.send_body(b"hello", &mut out).unwrap();
    conn.finish_body(None, &mut out).unwrap();
    assert_eq!(out, b"hello");
    respond(
        &mut conn,
        b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
        false,
    );
    assert!(conn.ready_for_request());
}

#[test]
fn caller_may_stop_waiting_for_continue_and_send_the_body() {
    let (mut conn, _) = sent(
        Method::PUT,
        &[("Content-Length", "2"), ("Expect", "100-continue")],
    );
    conn.stop_waiting_for_continue();
    let mut out = Vec::new();
    conn.send_body(b"ok", &mut out).unwrap();
    conn.finish_body(None, &mut out).unwrap();
    assert_eq!(conn.write_state(), WriteState::Done);
}

#[test]
fn final_status_before_continue_skips_the_body_and_closes() {
    let (mut conn, _) = sent(
        Method::PUT,
        &[("Content-Length", "5"), ("Expect", "100-continue")],
    );
    let seen = respond(
        &mut conn,
        b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n",
        false,
    );
    assert_eq!(seen.last(), Some(&Seen::End));
    assert_eq!(conn.write_state(), WriteState::BodySkipped);
    let e = conn.send_body(b"hello", &mut Vec::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BodyNotAllowed);
    assert_eq!(
        conn.close_reason(),
        Some(CloseReason::RequestBodyIncomplete)
    );
    assert!(!conn.ready_for_request());
}

#[test]
fn response_to_head_has_no_body_whatever_its_length_says() {
    let (mut conn, _) = sent(Method::HEAD, &[]);
    let seen = respond(
        &mut conn,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
        false,
    );
    assert_eq!(seen, [Seen::Head(200, BodyFraming::Empty), Seen::End]);
    assert!(conn.ready_for_request());
}

#[test]
fn successful_connect_turns_into_a_tunnel_with_its_leftover_bytes() {
    let (mut conn, out) = sent(Method::CONNECT, &[]);
    assert!(out.starts_with(b"CONNECT h:443 HTTP/1.1\r\n"));
    let seen = respond(
        &mut conn,
        b"HTTP/1.1 200 Connection Established\r\n\r\n\x16\x03\x01",
        false,
    );
    assert_eq!(
        seen,
        [
            Seen::Head(200, BodyFraming::Tunnel),
            Seen::Upgraded(b"\x16\x03\x01".to_vec())
        ]
    );
    assert_eq!(conn.read_state(), ReadState::Upgraded);
    assert_eq!(conn.close_reason(), Some(CloseReason::Upgraded));
}

#[test]
fn refused_connect_keeps_http_framing() {
    let (mut conn, _) = sent(Method::CONNECT, &[]);
    let seen = respond(
        &mut conn,
        b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 2\r\n\r\nno",
        false,
    );
    assert_eq!(seen.last(), Some(&Seen::End));
    assert!(conn.ready_for_request());
}

#[test]
fn switching_protocols_only_answers_an_upgrade_request() {
    let mut conn = get();
    let seen = respond(
        &mut conn,
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        false,
    );
    assert_eq!(seen, [Seen::Error(ErrorKind::UnexpectedUpgrade)]);

    let (mut conn, _) = sent(
        Method::GET,
        &[("Connection", "Upgrade"), ("Upgrade", "websocket")],
    );
    let seen = respond(
        &mut conn,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nframe",
        false,
    );
    assert_eq!(
        seen,
        [
            Seen::Head(101, BodyFraming::Tunnel),
            Seen::Upgraded(b"frame".to_vec())
        ]
    );
}

#[test]
fn chunked_wins_over_content_length_and_the_connection_must_close() {
    let mut conn = get();
    let seen = respond(
        &mut conn,
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n\
          2\r\nok\r\n0\r\n\r\n",
        false,
    );
    assert_eq!(seen[1], Seen::Data(b"ok".to_vec()));
    assert_eq!(seen.last(), Some(&Seen::End));
    assert_eq!(
        conn.close_reason(),
        Some(CloseReason::ContentLengthWithTransferEncoding)
    );
    assert!(!conn.ready_for_request());
}

#[test]
fn close_delimited_body_runs_to_the_end_of_the_connection() {
    let mut conn = get();
    assert_eq!(
        respond(&mut conn, b"HTTP/1.1 200 OK\r\n\r\npart one ", false),
        [
            Seen::Head(200, BodyFraming::CloseDelimited),
            Seen::Data(b"part one ".to_vec()),
            Seen::NeedData
        ]
    );
    assert_eq!(
        respond(&mut conn, b"and two", true),
        [Seen::Data(b"and two".to_vec()), Seen::End]
    );
    assert_eq!(conn.close_reason(), Some(CloseReason::CloseDelimitedBody));
}

#[test]
fn http10_response_closes_unless_it_keeps_alive() {
    let mut conn = get();
    respond(
        &mut conn,
        b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        false,
    );
    assert_eq!(conn.close_reason(), Some(CloseReason::Http10));

    let mut conn = get();
    respond(
        &mut conn,
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
        false,
    );
    assert!(conn.ready_for_request());
}

#[test]
fn connection_close_from_either_side_prevents_reuse() {
    let mut conn = get();
    respond(
        &mut conn,
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        false,
    );
    assert_eq!(conn.close_reason(), Some(CloseReason::RequestedByServer));

    let (mut conn, _) = sent(Method::GET, &[("Connection", "close")]);
    respond(
        &mut conn,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        false,
    );
    assert_eq!(conn.close_reason(), Some(CloseReason::RequestedByClient));
    assert!(!conn.ready_for_request());
}

#[test]
fn content_length_body_cut_short_is_truncated_body_not_a_short_success() {
    let mut conn = get();
    let seen = respond(
        &mut conn,
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
        true,
    );
    assert_eq!(
        seen,
        [
            Seen::Head(200, BodyFraming::Length(10)),
            Seen::Data(b"abc".to_vec()),
            Seen::Error(ErrorKind::TruncatedBody)
        ]
    );
}

#[test]
fn chunked_body_without_its_last_chunk_is_truncated_body() {
    let mut conn = get();
    let seen = respond(
        &mut conn,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
        true,
    );
    assert_eq!(seen.last(), Some(&Seen::Error(ErrorKind::TruncatedBody)));
}

#[test]
fn close_before_any_byte_differs_from_a_cut_head() {
    let mut conn = get();
    assert_eq!(
        respond(&mut conn, b"", true),
        [Seen::Error(ErrorKind::ClosedBeforeResponse)]
    );
    let mut conn = get();
    assert_eq!(
        respond(&mut conn, b"HTTP/1.1 200 OK\r\nContent-", true),
        [Seen::Error(ErrorKind::TruncatedHead)]
    );
}

#[test]
fn head_over_the_limit_is_refused_before_its_end_arrives() {
    let mut conn = get();
    conn.receive(b"HTTP/1.1 200 OK\r\nX-Big: ");
    let filler = vec![b'a'; 70 * 1024];
    conn.receive(&filler);
    let e = conn.next_event().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::HeadTooLarge);
    assert_eq!(e.state(), Some("reading the response head"));
}

#[test]
fn an_error_is_sticky_and_the_connection_must_close() {
    let mut conn = get();
    let first = respond(
        &mut conn,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        false,
    );
    assert_eq!(first.last(), Some(&Seen::Error(ErrorKind::InvalidChunk)));
    let again = conn.next_event().unwrap_err();
    assert_eq!(again.kind(), ErrorKind::InvalidChunk);
    assert_eq!(again.state(), Some("reading the response body"));
    assert_eq!(again.offset(), Some(47));
    assert_eq!(conn.close_reason(), Some(CloseReason::ProtocolError));
    assert!(!conn.ready_for_request());
}

#[test]
fn second_request_before_the_response_is_read_is_caller_misuse() {
    let (mut conn, _) = sent(Method::GET, &[]);
    let mut head = RequestHead::new(Method::GET, RequestTarget::parse("/").unwrap());
    head.try_append("Host", "h").unwrap();
    let mut out = Vec::new();
    let e = conn.send_request(&head, &mut out).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotReady);
    assert!(!e.is_peer_violation());
    assert!(out.is_empty());
}

#[test]
fn body_for_a_request_that_declared_none_is_refused() {
    let mut conn = get();
    let e = conn.send_body(b"x", &mut Vec::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BodyNotAllowed);
}

#[test]
fn body_shorter_than_declared_fails_the_request() {
    let (mut conn, _) = sent(Method::POST, &[("Content-Length", "4")]);
    let mut out = Vec::new();
    conn.send_body(b"ab", &mut out).unwrap();
    let e = conn.finish_body(None, &mut out).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BodyTooShort);
    assert_eq!(conn.write_state(), WriteState::Failed);
    assert!(!conn.ready_for_request());
}

#[test]
fn endless_interim_responses_hit_their_limit() {
    let mut conn = get();
    let flood = b"HTTP/1.1 102 Processing\r\n\r\n".repeat(40);
    let seen = respond(&mut conn, &flood, false);
    assert_eq!(
        seen.last(),
        Some(&Seen::Error(ErrorKind::TooManyInformational))
    );
}

#[test]
fn bytes_beyond_the_response_prevent_reuse() {
    let mut conn = get();
    respond(
        &mut conn,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naEXTRA",
        false,
    );
    assert_eq!(conn.close_reason(), Some(CloseReason::UnsolicitedData));

    let mut conn = get();
    respond(
        &mut conn,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        false,
    );
    conn.receive(b"HTTP/1.1 408 Request Timeout\r\n\r\n");
    assert!(!conn.ready_for_request());
}

#[test]
fn direct_reads_bypass_the_buffer_for_a_known_length() {
    let mut conn = get();
    assert_eq!(
        respond(
            &mut conn,
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
            false
        ),
        [Seen::Head(200, BodyFraming::Length(10)), Seen::NeedData]
    );
    assert_eq!(conn.direct_body_window(), Some(10));
    conn.direct_body_received(6).unwrap();
    assert_eq!(conn.direct_body_window(), Some(4));
    assert_eq!(
        conn.direct_body_received(5).unwrap_err().kind(),
        ErrorKind::InvalidState
    );
    conn.direct_body_received(4).unwrap();
    assert_eq!(drain(&mut conn), [Seen::End]);
    assert!(conn.ready_for_request());
}

#[test]
fn buffered_bytes_close_the_direct_window() {
    let mut conn = get();
    respond(
        &mut conn,
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab",
        false,
    );
    // `respond` drained the two buffered bytes as Data.
    assert_eq!(conn.direct_body_window(), Some(8));
    conn.receive(b"c");
    assert_eq!(conn.direct_body_window(), None);
}

#[test]
fn receive_with_fills_the_buffer_in_place() {
    let mut conn = get();
    let response = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    let n = conn
        .receive_with(4096, |buf| {
            buf[..response.len()].copy_from_slice(response);
            Ok::<_, ()>(response.len())
        })
        .unwrap();
    assert_eq!(n, response.len());
    assert_eq!(drain(&mut conn).last(), Some(&Seen::End));
}

#[test]
fn response_bytes_count_from_the_request() {
    let mut conn = get();
    assert_eq!(conn.response_bytes_received(), 0);
    conn.receive(b"HTTP/1.1 2");
    assert_eq!(conn.response_bytes_received(), 10);
}

#[test]
fn blank_lines_before_the_status_line_are_skipped() {
    let mut conn = get();
    let seen = respond(
        &mut conn,
        b"\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        false,
    );
    assert_eq!(seen.last(), Some(&Seen::End));
}

#[test]
fn trailers_come_before_the_end() {
    let mut conn = get();
    let seen = respond(
        &mut conn,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Digest: abc\r\n\r\n",
        false,
    );
    assert_eq!(
        &seen[1..],
        [
            Seen::Trailers(vec![("x-digest".into(), "abc".into())]),
            Seen::End
        ]
    );
}

#[test]
fn response_head_keeps_the_raw_bytes_as_received() {
    let mut conn = get();
    let head = b"HTTP/1.1 200 OK\r\nX-Mixed-Case: v\r\nContent-Length: 0\r\n\r\n";
    conn.receive(head);
    let Ok(Event::ResponseHead(h)) = conn.next_event() else {
        panic!("no head")
    };
    assert_eq!(h.raw(), &Bytes::from_static(head));
    assert_eq!(h.fields()[0].name, "X-Mixed-Case");
}

#[test]
fn next_event_without_a_request_is_misuse() {
    let mut conn = Connection::default();
    let e = conn.next_event().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    assert_eq!(e.state(), Some("idle"));
}
