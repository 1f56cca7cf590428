//! Property: for generated responses, valid and broken, feeding the bytes in any split gives
//! exactly the events of feeding them whole; and a valid response yields exactly its body.

use envoi_proto::{Connection, Event, RequestHead, RequestTarget};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Framing {
    Length,
    Chunked { sizes: Vec<usize>, trailers: bool },
    CloseDelimited,
}

#[derive(Clone, Debug)]
struct Response {
    interim: bool,
    status: u16,
    fields: Vec<(String, String)>,
    framing: Framing,
    body: Vec<u8>,
    /// Drop this many bytes off the end and close: a truncated response.
    truncate: usize,
    /// Overwrite the byte at this (wrapped) index: a corrupted response.
    corrupt: Option<(usize, u8)>,
}

impl Response {
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.interim {
            out.extend_from_slice(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n");
        }
        out.extend_from_slice(format!("HTTP/1.1 {} Reason\r\n", self.status).as_bytes());
        for (n, v) in &self.fields {
            out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        match &self.framing {
            Framing::Length => {
                out.extend_from_slice(
                    format!("Content-Length: {}\r\n\r\n", self.body.len()).as_bytes(),
                );
                out.extend_from_slice(&self.body);
            }
            Framing::CloseDelimited => {
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(&self.body);
            }
            Framing::Chunked { sizes, trailers } => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                let mut rest = &self.body[..];
                for &size in sizes.iter().chain(std::iter::once(&usize::MAX)) {
                    let take = size.min(rest.len());
                    if take == 0 {
                        break;
                    }
                    out.extend_from_slice(format!("{take:x};e=1\r\n").as_bytes());
                    out.extend_from_slice(&rest[..take]);
                    out.extend_from_slice(b"\r\n");
                    rest = &rest[take..];
                }
                out.extend_from_slice(b"0\r\n");
                if *trailers {
                    out.extend_from_slice(b"X-Trailer: yes\r\n");
                }
                out.extend_from_slice(b"\r\n");
            }
        }
        let keep = out.len() - self.truncate.min(out.len());
        out.truncate(keep);
        if let Some((at, byte)) = self.corrupt {
            if !out.is_empty() {
                let at = at % out.len();
                out[at] = byte;
            }
        }
        out
    }

    fn is_valid(&self) -> bool {
        self.truncate == 0 && self.corrupt.is_none()
    }
}

fn response() -> impl Strategy<Value = Response> {
    let field = (
        prop::sample::select(vec!["X-A", "Server", "Content-Type", "Set-Cookie", "Vary"]),
        "[ -~]{0,20}",
    )
        .prop_map(|(n, v)| (n.to_owned(), v.trim().to_owned()));
    let framing = prop_oneof![
        Just(Framing::Length),
        (prop::collection::vec(1usize..40, 0..6), any::<bool>())
            .prop_map(|(sizes, trailers)| Framing::Chunked { sizes, trailers }),
        Just(Framing::CloseDelimited),
    ];
    (
        any::<bool>(),
        prop::sample::select(vec![200u16, 201, 404, 500]),
        prop::collection::vec(field, 0..5),
        framing,
        prop::collection::vec(any::<u8>(), 0..120),
        prop_oneof![4 => Just(0usize), 1 => 1usize..30],
        prop_oneof![4 => Just(None), 1 => (any::<usize>(), any::<u8>()).prop_map(Some)],
    )
        .prop_map(
            |(interim, status, fields, framing, body, truncate, corrupt)| Response {
                interim,
                status,
                fields,
                framing,
                body,
                truncate,
                corrupt,
            },
        )
}

/// Feeds `bytes` cut at `cuts`, then closes, and describes the events (data merged).
fn feed(bytes: &[u8], cuts: &[usize]) -> (Vec<String>, Vec<u8>) {
    let mut head = RequestHead::new(http::Method::GET, RequestTarget::parse("/").unwrap());
    head.try_append("Host", "h").unwrap();
    let mut conn = Connection::default();
    conn.send_request(&head, &mut Vec::new()).unwrap();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.push(bytes.len());
    points.sort_unstable();
    let mut seen = Vec::new();
    let mut body = Vec::new();
    let mut at = 0;
    let mut done = false;
    for (i, &point) in points.iter().enumerate() {
        conn.receive(&bytes[at..point]);
        at = point;
        if i + 1 == points.len() {
            conn.receive_eof();
        }
        while !done {
            match conn.next_event() {
                Ok(Event::NeedData) => break,
                Ok(Event::Data(d)) => body.extend_from_slice(&d),
                Ok(Event::Informational(h)) => seen.push(format!("interim {}", h.status())),
                Ok(Event::ResponseHead(h)) => seen.push(format!(
                    "head {} {:?} {:?}",
                    h.status(),
                    h.framing(),
                    h.headers()
                )),
                Ok(Event::Trailers(t)) => seen.push(format!("trailers {t:?}")),
                Ok(Event::End) => {
                    seen.push("end".into());
                    done = true;
                }
                Ok(Event::Upgraded(_)) => {
                    seen.push("upgraded".into());
                    done = true;
                }
                Err(e) => {
                    seen.push(format!("error {:?}", e.kind()));
                    done = true;
                }
            }
        }
    }
    seen.push(format!("close {:?}", conn.close_reason()));
    (seen, body)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_split_gives_the_events_of_the_whole(
        response in response(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let bytes = response.bytes();
        let whole = feed(&bytes, &[]);
        let split = feed(&bytes, &cuts);
        prop_assert_eq!(&split, &whole);
        if response.is_valid() {
            prop_assert_eq!(&whole.1, &response.body);
            prop_assert!(whole.0.iter().any(|e| e == "end"), "{:?}", whole.0);
        }
    }

    #[test]
    fn a_body_never_ends_short_without_an_error(
        response in response(),
        cut in 1usize..40,
    ) {
        let mut response = response;
        response.corrupt = None;
        response.truncate = cut;
        let bytes = response.bytes();
        let (events, body) = feed(&bytes, &[]);
        let ended = events.iter().any(|e| e == "end");
        if ended {
            // Only a close-delimited body may end at the close, and then it is whole up to it.
            prop_assert!(matches!(response.framing, Framing::CloseDelimited), "{:?}", events);
            prop_assert!(response.body.starts_with(&body));
        }
    }
}
