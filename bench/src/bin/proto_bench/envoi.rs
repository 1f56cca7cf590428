//! envoi-proto driven on in-memory bytes, the way a front end drives it over a socket.

use std::hint::black_box;

use envoi_proto::{BodyFraming, Connection, Event, ReadState, RequestHead, RequestTarget};

use crate::sink::Sink;
use crate::wire::{HOST, READ_SIZE, SMALL_BODY_LEN, SMALL_RESPONSE, TARGET, USER_AGENT};

/// The GET every case sends. Built once: a front end reuses its head the same way when it
/// can, and building it is not what issue 3 measures.
pub fn get_head() -> RequestHead {
    let mut head = RequestHead::new(
        http::Method::GET,
        RequestTarget::parse(TARGET).expect("valid target"),
    );
    head.try_append("Host", HOST).expect("valid header");
    head.try_append("User-Agent", USER_AGENT)
        .expect("valid header");
    head.try_append("Accept", "*/*").expect("valid header");
    head
}

/// (a): `iters` keep-alive exchanges on one connection. Per exchange: encode the GET, feed
/// the whole response as one read, drain events to `End`, check the connection is reusable.
/// Returns the number of responses.
pub fn small_responses(head: &RequestHead, iters: u64) -> u64 {
    let mut conn = Connection::default();
    let mut out = Vec::with_capacity(256);
    for _ in 0..iters {
        out.clear();
        conn.send_request(head, &mut out).expect("request encodes");
        black_box(&out);
        conn.receive(SMALL_RESPONSE);
        let mut body = 0;
        loop {
            match conn.next_event().expect("valid response") {
                Event::ResponseHead(response) => {
                    assert_eq!(response.framing(), BodyFraming::Length(13));
                    black_box(&response);
                }
                Event::Data(data) => body += data.len(),
                Event::End => break,
                other => panic!("unexpected event {other:?}"),
            }
        }
        assert_eq!(body, SMALL_BODY_LEN);
        assert!(conn.ready_for_request());
    }
    iters
}

/// How received bytes reach envoi.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feed {
    /// `Connection::receive(&[u8])`: the transport read into its own buffer, envoi copies.
    Receive,
    /// `Connection::receive_with`: the transport reads straight into envoi's input buffer.
    ReceiveWith,
    /// `direct_body_window` + `direct_body_received` whenever a window is open (the reader's
    /// buffer is the read's destination); `receive_with` for everything else.
    Direct,
    /// `Direct`, but when the window is closed inside a body (chunk framing is next) the read
    /// is only `FRAMING_READ` bytes, so it stops soon after the size line and the chunk's data
    /// can go direct. Over a socket that is one extra small read per chunk.
    DirectSmallFramingReads,
}

/// Enough for CRLF, a chunk-size line of 16 hex digits and its CRLF, with room to spare.
const FRAMING_READ: usize = 64;

/// (b), (b'), (b''): one exchange over `wire`, read in `READ_SIZE` reads. Body bytes go to
/// `sink`. Returns the number of body bytes.
pub fn large_body<S: Sink>(head: &RequestHead, wire: &[u8], feed: Feed, sink: &mut S) -> u64 {
    let mut conn = Connection::default();
    let mut out = Vec::new();
    conn.send_request(head, &mut out).expect("request encodes");
    black_box(&out);
    let mut pos = 0;
    let mut body = 0u64;
    loop {
        // Drain whatever the last read made decidable.
        loop {
            match conn.next_event().expect("valid response") {
                Event::ResponseHead(response) => {
                    black_box(&response);
                }
                Event::Data(data) => {
                    body += data.len() as u64;
                    sink.piece(&data);
                    // `data` drops here, before the next read, so the input buffer is
                    // unique again and BytesMut reclaims it instead of allocating.
                }
                Event::NeedData => break,
                Event::End => {
                    assert!(conn.ready_for_request());
                    assert_eq!(pos, wire.len(), "response ended before the wire did");
                    return body;
                }
                other => panic!("unexpected event {other:?}"),
            }
        }
        let left = wire.len() - pos;
        assert!(left > 0, "wire ended before the response did");
        let direct = matches!(feed, Feed::Direct | Feed::DirectSmallFramingReads);
        if direct {
            if let Some(window) = conn.direct_body_window() {
                let n = usize::try_from(window).map_or(READ_SIZE, |w| w.min(READ_SIZE));
                let n = n.min(left);
                sink.read_into(&wire[pos..pos + n]);
                conn.direct_body_received(n).expect("within the window");
                pos += n;
                body += n as u64;
                continue;
            }
        }
        let framing_next =
            feed == Feed::DirectSmallFramingReads && conn.read_state() == ReadState::Body;
        let n = left.min(if framing_next {
            FRAMING_READ
        } else {
            READ_SIZE
        });
        let src = &wire[pos..pos + n];
        match feed {
            Feed::Receive => conn.receive(src),
            Feed::ReceiveWith | Feed::Direct | Feed::DirectSmallFramingReads => {
                let got = conn
                    .receive_with(n, |buf| {
                        buf.copy_from_slice(src);
                        Ok::<_, std::convert::Infallible>(n)
                    })
                    .unwrap_or_else(|never| match never {});
                debug_assert_eq!(got, n);
            }
        }
        pos += n;
    }
}
