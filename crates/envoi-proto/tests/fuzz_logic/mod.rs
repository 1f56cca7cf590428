//! The logic of the `envoi-proto` fuzz targets, written once and used twice: by the cargo-fuzz
//! targets in `fuzz/fuzz_targets/` (through `#[path = "…/tests/fuzz_logic/mod.rs"] mod
//! fuzz_logic;`) and by `tests/fuzz_corpus.rs`, which replays the committed corpus under plain
//! `cargo test`.
//!
//! Every target reads its input the same way:
//!
//! | bytes | meaning |
//! | ----- | ------- |
//! | `0`   | split seed: how the response is cut into pieces (`0` whole, `1` byte by byte, otherwise pieces of 1 to `[2, 3, 4, 7, 16, 61, 256, 1500][seed % 8]` bytes drawn from a generator seeded with it, with a few empty receives) |
//! | `1`   | flags: bits 0–1 pick the limits (default, small, tiny, medium); bit 2 feeds pieces through `receive_with` (with slack and failing reads); bit 3 reads body bytes directly when `direct_body_window` offers a window; bit 4 probes misuse (over-window `direct_body_received`, `next_event` after `End`) |
//! | `2..` | the response bytes (for `chunked`, the body after a fixed chunked head) |
//!
//! The response is fed piece by piece, `next_event` is drained after each piece, then
//! `receive_eof` and a last drain. A panic anywhere is a finding: either envoi-proto panicked,
//! or one of the invariants asserted here does not hold.

use envoi_proto::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use envoi_proto::http::{Method, StatusCode, Version};
use envoi_proto::{
    BodyFraming, CloseReason, Connection, Error, ErrorKind, Event, Limits, ReadState, RequestHead,
    RequestTarget, ResponseHead, WriteState,
};

/// The head the `chunked` target puts before its input.
pub const CHUNKED_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

/// Most requests one input may drive on a kept-alive connection.
const MAX_EXCHANGES: usize = 16;

/// `response_head`: a GET, then the input as the response, in pieces; every invariant checked,
/// and every body compared with the bytes the framing says it is made of.
pub fn response_head(data: &[u8]) {
    let input = Input::parse(data);
    Run::new(&input, input.response, Opts::from_flags(&input, true)).go();
}

/// `chunked`: the input is the body of a chunked response (the head is fixed), in pieces, with
/// direct body reads when the flags ask for them.
pub fn chunked(data: &[u8]) {
    let input = Input::parse(data);
    let mut response = CHUNKED_HEAD.to_vec();
    response.extend_from_slice(input.response);
    let report = Run::new(&input, &response, Opts::from_flags(&input, true)).go();
    // The head is fixed, so the first exchange is a chunked body and nothing else.
    assert!(
        matches!(
            report.events.first(),
            Some(Ev::Head {
                framing: BodyFraming::Chunked,
                ..
            })
        ),
        "the fixed chunked head did not parse as chunked: {:?}",
        report.events.first()
    );
}

/// `split_equivalence`: the same input whole and in pieces must give the same events (adjacent
/// `Data` merged), the same outcome (the same first error kind, before or after the close) and
/// the same connection state.
pub fn split_equivalence(data: &[u8]) {
    let input = Input::parse(data);
    let whole = Run::new(&input, input.response, Opts::whole()).go();
    let pieces = Run::new(&input, input.response, Opts::from_flags(&input, false)).go();
    assert_eq!(
        whole.events, pieces.events,
        "events differ between the whole input and its pieces"
    );
    assert_eq!(
        whole.outcome, pieces.outcome,
        "outcome differs between the whole input and its pieces"
    );
    assert_eq!(
        whole.close_reason, pieces.close_reason,
        "close reason differs"
    );
    assert_eq!(whole.ready, pieces.ready, "ready_for_request differs");
}

// ---- Input ------------------------------------------------------------------------------------

struct Input<'a> {
    seed: u8,
    flags: u8,
    response: &'a [u8],
}

impl<'a> Input<'a> {
    fn parse(data: &'a [u8]) -> Self {
        match data {
            [seed, flags, response @ ..] => Input {
                seed: *seed,
                flags: *flags,
                response,
            },
            [seed] => Input {
                seed: *seed,
                flags: 0,
                response: &[],
            },
            [] => Input {
                seed: 0,
                flags: 0,
                response: &[],
            },
        }
    }

    fn limits(&self) -> Limits {
        let mut limits = Limits::default();
        let (head, headers, chunk_line, trailer, informational) = match self.flags & 3 {
            0 => return limits,
            1 => (512, 8, 64, 128, 2),
            2 => (64, 2, 8, 16, 0),
            _ => (4096, 32, 1024, 1024, 8),
        };
        limits.max_head_size = head;
        limits.max_headers = headers;
        limits.max_chunk_line = chunk_line;
        limits.max_trailer_size = trailer;
        limits.max_informational = informational;
        limits
    }
}

/// How a run feeds the connection.
#[derive(Clone, Copy)]
struct Opts {
    /// `None`: the whole response in one `receive`.
    seed: Option<u8>,
    receive_with: bool,
    direct: bool,
    probes: bool,
    /// After `End`, send the next request when the connection says it may carry one.
    reuse: bool,
}

impl Opts {
    fn whole() -> Self {
        Opts {
            seed: None,
            receive_with: false,
            direct: false,
            probes: false,
            reuse: false,
        }
    }

    fn from_flags(input: &Input<'_>, reuse: bool) -> Self {
        Opts {
            seed: Some(input.seed),
            receive_with: input.flags & 4 != 0,
            direct: input.flags & 8 != 0,
            probes: input.flags & 16 != 0,
            reuse,
        }
    }
}

/// SplitMix64: a deterministic stream of decisions from one seed.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn one_in(&mut self, n: u64) -> bool {
        self.next_u64() % n == 0
    }
}

/// Piece sizes for one run.
struct Splitter {
    /// Largest piece; `usize::MAX` for the whole input at once.
    max: usize,
    rng: Rng,
    empty_left: u8,
}

impl Splitter {
    fn new(seed: Option<u8>) -> Self {
        const MAX: [usize; 8] = [2, 3, 4, 7, 16, 61, 256, 1500];
        let max = match seed {
            None | Some(0) => usize::MAX,
            Some(1) => 1,
            Some(s) => MAX[usize::from(s % 8)],
        };
        Splitter {
            max,
            rng: Rng((u64::from(seed.unwrap_or(0)) << 8) | 0x5A),
            empty_left: 4,
        }
    }

    fn next(&mut self, remaining: usize) -> usize {
        if self.max == usize::MAX {
            return remaining;
        }
        if self.empty_left > 0 && self.rng.one_in(16) {
            self.empty_left -= 1;
            return 0;
        }
        (1 + self.rng.below(self.max)).min(remaining)
    }
}

// ---- What a run observed ----------------------------------------------------------------------

/// An event as compared across runs: heads by their bytes and decisions, `Data` merged.
#[derive(Debug, PartialEq, Eq)]
enum Ev {
    Informational {
        status: u16,
        version: Version,
        raw: Vec<u8>,
    },
    Head {
        status: u16,
        version: Version,
        framing: BodyFraming,
        raw: Vec<u8>,
        fields: Vec<(String, Vec<u8>)>,
    },
    Data(Vec<u8>),
    Trailers(Vec<(String, Vec<u8>)>),
    End,
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    End {
        after_eof: bool,
    },
    /// The first error's kind and position, which must not depend on the split.
    Failed {
        kind: ErrorKind,
        offset: Option<u64>,
        after_eof: bool,
    },
}

struct Report {
    events: Vec<Ev>,
    outcome: Outcome,
    close_reason: Option<CloseReason>,
    ready: bool,
}

/// What the current request has seen of its response.
struct Exchange {
    /// Position in the response of the next head byte (leading blank lines included); once the
    /// final head is in, the position of the first body byte.
    cursor: usize,
    interim: usize,
    framing: Option<BodyFraming>,
    body: Vec<u8>,
    trailers: bool,
    /// Bytes handed to the connection since this request was sent.
    fed: u64,
}

impl Exchange {
    fn new(start: usize) -> Self {
        Exchange {
            cursor: start,
            interim: 0,
            framing: None,
            body: Vec::new(),
            trailers: false,
            fed: 0,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Reading,
    Ended,
    Failed,
}

// ---- The run ----------------------------------------------------------------------------------

struct Run<'a> {
    conn: Connection,
    limits: Limits,
    response: &'a [u8],
    opts: Opts,
    splitter: Splitter,
    rng: Rng,
    /// Bytes of `response` handed to the connection so far.
    pos: usize,
    eof: bool,
    exchange: Exchange,
    exchanges: usize,
    events: Vec<Ev>,
    outcome: Option<Outcome>,
    /// Most events one drain may return: each consumes input, so more means a livelock.
    budget: usize,
}

fn get() -> RequestHead {
    let mut head = RequestHead::new(
        Method::GET,
        RequestTarget::parse("/").expect("`/` is a valid target"),
    );
    head.try_append("Host", "h").expect("`Host: h` is valid");
    head
}

impl<'a> Run<'a> {
    fn new(input: &Input<'_>, response: &'a [u8], opts: Opts) -> Self {
        let limits = input.limits();
        Run {
            conn: Connection::new(limits.clone()),
            limits,
            response,
            opts,
            splitter: Splitter::new(opts.seed),
            rng: Rng((u64::from(input.seed) << 16) | (u64::from(input.flags) << 8) | 0xC3),
            pos: 0,
            eof: false,
            exchange: Exchange::new(0),
            exchanges: 0,
            events: Vec::new(),
            outcome: None,
            budget: response.len() + 8,
        }
    }

    fn send_request(&mut self) {
        let mut out = Vec::new();
        self.conn
            .send_request(&get(), &mut out)
            .expect("a ready connection accepts a GET");
        assert!(out.starts_with(b"GET / HTTP/1.1\r\n"), "{out:?}");
        assert_eq!(self.conn.read_state(), ReadState::Head);
        assert_eq!(self.conn.write_state(), WriteState::Done);
        assert_eq!(self.conn.response_bytes_received(), 0);
        self.exchange = Exchange::new(self.pos);
        self.exchanges += 1;
    }

    fn go(mut self) -> Report {
        assert!(self.conn.ready_for_request());
        self.send_request();
        let mut status = Status::Reading;
        while self.pos < self.response.len() {
            let size = self.splitter.next(self.response.len() - self.pos);
            if status != Status::Reading {
                // The peer goes on sending; nothing asked for these bytes.
                self.feed(size);
                continue;
            }
            let direct = self.opts.direct && self.rng.one_in(2) && self.read_direct(size);
            if !direct {
                self.feed(size);
            }
            status = self.drain();
            if status == Status::Ended && self.pos < self.response.len() {
                status = self.after_end();
            }
        }
        self.conn.receive_eof();
        self.eof = true;
        assert!(
            !self.conn.ready_for_request(),
            "ready after the peer closed"
        );
        if status == Status::Reading {
            status = self.drain();
        }
        assert!(status != Status::Reading, "no verdict after receive_eof");
        if status == Status::Ended {
            self.probe_after_end();
        }
        Report {
            events: self.events,
            outcome: self.outcome.expect("a verdict was recorded"),
            close_reason: self.conn.close_reason(),
            ready: self.conn.ready_for_request(),
        }
    }

    /// After `End` with input left: the next request when the connection allows one, or a
    /// refused request when it does not.
    fn after_end(&mut self) -> Status {
        self.probe_after_end();
        if self.conn.ready_for_request() {
            if self.opts.reuse && self.exchanges < MAX_EXCHANGES {
                self.outcome = None;
                self.send_request();
                return Status::Reading;
            }
        } else {
            let mut out = Vec::new();
            let e = self
                .conn
                .send_request(&get(), &mut out)
                .expect_err("a connection that is not ready refuses a request");
            assert_eq!(e.kind(), ErrorKind::NotReady, "{e:?}");
            assert!(out.is_empty(), "a refused request wrote bytes");
        }
        Status::Ended
    }

    fn probe_after_end(&mut self) {
        if !self.opts.probes {
            return;
        }
        let e = self
            .conn
            .next_event()
            .expect_err("next_event after End is a caller error");
        assert_eq!(e.kind(), ErrorKind::InvalidState, "{e:?}");
        assert!(!e.is_peer_violation());
        assert_eq!(self.conn.read_state(), ReadState::Done);
    }

    fn feed(&mut self, size: usize) {
        let response = self.response;
        let piece = &response[self.pos..self.pos + size];
        if self.opts.receive_with && self.rng.one_in(2) {
            if self.rng.one_in(8) {
                // A read that fails after scribbling on the buffer: nothing is received.
                let r = self.conn.receive_with(size + 1, |buf| {
                    buf.fill(b'#');
                    Err::<usize, ()>(())
                });
                assert!(r.is_err());
            }
            let slack = self.rng.below(64);
            let n = self
                .conn
                .receive_with(size + slack, |buf| {
                    buf[..size].copy_from_slice(piece);
                    Ok::<usize, ()>(size)
                })
                .expect("the read succeeds");
            assert_eq!(n, size);
        } else {
            self.conn.receive(piece);
        }
        self.pos += size;
        self.exchange.fed += size as u64;
    }

    /// Reads up to `size` bytes straight into the body when a window is offered. Returns
    /// whether it did.
    fn read_direct(&mut self, size: usize) -> bool {
        let Some(window) = self.conn.direct_body_window() else {
            if self.opts.probes {
                let e = self
                    .conn
                    .direct_body_received(1)
                    .expect_err("a direct read without a window is refused");
                assert_eq!(e.kind(), ErrorKind::InvalidState, "{e:?}");
                assert_eq!(self.conn.direct_body_window(), None);
            }
            return false;
        };
        assert!(window > 0, "an empty window was offered");
        assert_eq!(self.conn.read_state(), ReadState::Body);
        let framing = self
            .exchange
            .framing
            .expect("a window before the final head");
        let got = self.exchange.body.len() as u64;
        match framing {
            BodyFraming::Length(n) => assert_eq!(window, n - got, "window vs Content-Length"),
            BodyFraming::CloseDelimited => assert_eq!(window, u64::MAX),
            BodyFraming::Chunked => {}
            other => panic!("a window offered for a {other:?} body"),
        }
        if self.opts.probes && window < u64::MAX {
            let e = self
                .conn
                .direct_body_received(window as usize + 1)
                .expect_err("a direct read larger than the window is refused");
            assert_eq!(e.kind(), ErrorKind::InvalidState, "{e:?}");
            assert_eq!(self.conn.direct_body_window(), Some(window));
            assert_eq!(self.conn.read_state(), ReadState::Body);
        }
        let n = size.min(usize::try_from(window).unwrap_or(usize::MAX));
        if n == 0 {
            return false;
        }
        self.conn
            .direct_body_received(n)
            .expect("a direct read within the window is accepted");
        let after = self.conn.direct_body_window();
        if window != u64::MAX {
            let left = window - n as u64;
            assert_eq!(
                after,
                (left > 0).then_some(left),
                "window after a direct read"
            );
        }
        let response = self.response;
        let bytes = &response[self.pos..self.pos + n];
        self.pos += n;
        self.exchange.fed += n as u64;
        self.on_data(bytes);
        true
    }

    /// Calls `next_event` until it needs data, the response ends, or it fails.
    fn drain(&mut self) -> Status {
        for _ in 0..self.budget {
            match self.conn.next_event() {
                Ok(Event::NeedData) => {
                    assert!(
                        !self.eof,
                        "NeedData after receive_eof: the caller would wait forever"
                    );
                    assert_eq!(
                        self.conn.response_bytes_received(),
                        self.exchange.fed,
                        "response_bytes_received"
                    );
                    return Status::Reading;
                }
                Ok(event) => {
                    if self.on_event(event) {
                        return Status::Ended;
                    }
                }
                Err(e) => {
                    self.on_error(&e);
                    return Status::Failed;
                }
            }
        }
        panic!(
            "next_event returned {} events without NeedData, End or an error",
            self.budget
        );
    }

    /// Checks one event; true for `End`.
    fn on_event(&mut self, event: Event) -> bool {
        match event {
            Event::Informational(head) => {
                assert!(
                    self.exchange.framing.is_none(),
                    "an interim response after the final head"
                );
                let status = head.status();
                assert!(
                    status.is_informational() && status != StatusCode::SWITCHING_PROTOCOLS,
                    "Informational with status {status}"
                );
                self.exchange.interim += 1;
                assert!(
                    self.exchange.interim <= self.limits.max_informational,
                    "more interim responses than the limit"
                );
                self.check_head(&head);
                self.events.push(Ev::Informational {
                    status: status.as_u16(),
                    version: head.version(),
                    raw: head.raw().to_vec(),
                });
            }
            Event::ResponseHead(head) => self.on_final_head(&head),
            Event::Data(bytes) => {
                assert!(!bytes.is_empty(), "an empty Data event");
                self.on_data(&bytes);
            }
            Event::Trailers(fields) => {
                assert_eq!(
                    self.exchange.framing,
                    Some(BodyFraming::Chunked),
                    "trailers on a body that is not chunked"
                );
                assert!(!self.exchange.trailers, "two trailer sections");
                assert!(!fields.is_empty(), "an empty trailer section was reported");
                assert!(fields.len() <= self.limits.max_headers);
                self.exchange.trailers = true;
                self.events.push(Ev::Trailers(
                    fields
                        .iter()
                        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                        .collect(),
                ));
            }
            Event::End => {
                self.on_end();
                return true;
            }
            Event::Upgraded(_) => panic!("Upgraded after a GET that asked for no upgrade"),
            Event::NeedData => unreachable!("handled by drain"),
        }
        false
    }

    /// Checks the bytes of a head against the response: it is exactly what was received after
    /// any blank lines, it fits the limits, and it ends with its blank line.
    fn check_head(&mut self, head: &ResponseHead) {
        let raw = head.raw();
        assert!(
            raw.len() <= self.limits.max_head_size,
            "head over the limit"
        );
        assert!(head.headers().len() <= self.limits.max_headers);
        assert!(
            raw.ends_with(b"\n\n") || raw.ends_with(b"\n\r\n"),
            "a head that does not end with its blank line: {raw:?}"
        );
        let rest = &self.response[self.exchange.cursor..];
        let blank = rest
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        assert!(
            rest[blank..].starts_with(raw),
            "ResponseHead::raw is not the received head"
        );
        self.exchange.cursor += blank + raw.len();
    }

    fn on_final_head(&mut self, head: &ResponseHead) {
        assert!(self.exchange.framing.is_none(), "a second final head");
        let status = head.status();
        assert!(
            !status.is_informational(),
            "final head with status {status}"
        );
        self.check_head(head);
        let framing = head.framing();
        let no_body = status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
        assert_eq!(
            framing == BodyFraming::Empty,
            no_body,
            "framing {framing:?} for status {status}"
        );
        assert!(framing != BodyFraming::Tunnel, "a tunnel after a GET");
        let headers = head.headers();
        let must_close = framing == BodyFraming::CloseDelimited
            || (framing != BodyFraming::Empty
                && headers.contains_key(TRANSFER_ENCODING)
                && headers.contains_key(CONTENT_LENGTH));
        if must_close {
            assert!(
                self.conn.close_reason().is_some() && !self.conn.ready_for_request(),
                "{framing:?} with headers {headers:?} left the connection reusable"
            );
        }
        assert_eq!(self.conn.read_state(), ReadState::Body);
        self.exchange.framing = Some(framing);
        self.events.push(Ev::Head {
            status: status.as_u16(),
            version: head.version(),
            framing,
            raw: head.raw().to_vec(),
            fields: headers
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                .collect(),
        });
    }

    fn on_data(&mut self, bytes: &[u8]) {
        let framing = self.exchange.framing.expect("Data before the final head");
        assert!(
            !matches!(framing, BodyFraming::Empty | BodyFraming::Tunnel),
            "Data on a {framing:?} body"
        );
        assert!(!self.exchange.trailers, "Data after the trailers");
        self.exchange.body.extend_from_slice(bytes);
        if let BodyFraming::Length(n) = framing {
            assert!(
                self.exchange.body.len() as u64 <= n,
                "{} body bytes for a Content-Length of {n}",
                self.exchange.body.len()
            );
        }
        if let Some(Ev::Data(previous)) = self.events.last_mut() {
            previous.extend_from_slice(bytes);
        } else {
            self.events.push(Ev::Data(bytes.to_vec()));
        }
    }

    fn on_end(&mut self) {
        let framing = self.exchange.framing.expect("End before the final head");
        let body = &self.exchange.body;
        let sent = &self.response[self.exchange.cursor..];
        match framing {
            BodyFraming::Empty => assert!(body.is_empty()),
            BodyFraming::Length(n) => {
                assert_eq!(body.len() as u64, n, "End before Content-Length was met");
                assert_prefix(body, sent);
            }
            BodyFraming::CloseDelimited => {
                assert!(self.eof, "a close-delimited body ended before the close");
                assert_eq!(
                    body.len(),
                    sent.len(),
                    "close-delimited body is not all of the rest"
                );
                assert_prefix(body, sent);
            }
            BodyFraming::Chunked => assert_eq!(
                reference_chunked(sent).as_ref(),
                Some(body),
                "chunked body differs from a reference decoding"
            ),
            BodyFraming::Tunnel => unreachable!("checked at the head"),
        }
        assert_eq!(self.conn.read_state(), ReadState::Done);
        assert_eq!(self.conn.write_state(), WriteState::Done);
        assert_eq!(
            self.conn.ready_for_request(),
            self.conn.close_reason().is_none(),
            "ready_for_request disagrees with close_reason {:?}",
            self.conn.close_reason()
        );
        assert_eq!(self.conn.direct_body_window(), None);
        self.events.push(Ev::End);
        self.outcome = Some(Outcome::End {
            after_eof: self.eof,
        });
    }

    fn on_error(&mut self, e: &Error) {
        assert!(
            e.is_peer_violation(),
            "a caller error from a correctly driven connection: {e:?}"
        );
        let received = self.pos as u64;
        if let Some(offset) = e.offset() {
            assert!(
                offset <= received,
                "error offset {offset} past the {received} bytes received: {e:?}"
            );
        }
        // The failure is sticky: every later call returns the same error.
        for _ in 0..2 {
            let again = self
                .conn
                .next_event()
                .expect_err("next_event after an error fails again");
            assert_eq!(&again, e, "a different error after the first");
        }
        assert_eq!(self.conn.read_state(), ReadState::Failed);
        assert!(!self.conn.ready_for_request(), "ready after an error");
        assert!(
            self.conn.close_reason().is_some(),
            "no close reason after an error"
        );
        assert_eq!(self.conn.direct_body_window(), None);
        let mut out = Vec::new();
        let refused = self
            .conn
            .send_request(&get(), &mut out)
            .expect_err("a failed connection refuses a request");
        assert_eq!(refused.kind(), ErrorKind::NotReady);
        assert!(out.is_empty());
        if let Some(BodyFraming::Length(_) | BodyFraming::CloseDelimited) = self.exchange.framing {
            assert_prefix(&self.exchange.body, &self.response[self.exchange.cursor..]);
        }
        self.outcome = Some(Outcome::Failed {
            kind: e.kind(),
            offset: e.offset(),
            after_eof: self.eof,
        });
    }
}

/// The body handed out must be the bytes that followed the head.
fn assert_prefix(body: &[u8], sent: &[u8]) {
    assert!(
        sent.get(..body.len()) == Some(body),
        "the body is not the bytes sent after the head"
    );
}

/// An independent, minimal chunked decoder: the data of `chunk-size [ext] CRLF data CRLF`
/// chunks up to the last chunk, or `None` when the framing is broken or incomplete. Trailers
/// and extensions are not looked at, so this accepts everything the real decoder does.
fn reference_chunked(mut s: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let lf = s.iter().position(|&b| b == b'\n')?;
        let line = s[..lf].strip_suffix(b"\r")?;
        let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        let hex = std::str::from_utf8(&line[..digits]).ok()?;
        let size = u64::from_str_radix(hex, 16).ok()?;
        s = &s[lf + 1..];
        if size == 0 {
            return Some(body);
        }
        let size = usize::try_from(size).ok()?;
        if s.len() < size.checked_add(2)? || &s[size..size + 2] != b"\r\n" {
            return None;
        }
        body.extend_from_slice(&s[..size]);
        s = &s[size + 2..];
    }
}
