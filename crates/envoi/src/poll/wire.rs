//! Requests and responses on an open connection, without blocking: request bytes go out as
//! the stream takes them, response bytes come in as they arrive, and every framing decision
//! is the protocol core's.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use envoi_proto::{Event, RequestHead, ResponseHead, WriteState};
use http::HeaderMap;

use super::coalesce::{ReadCoalescing, ReadPlan, READ_AHEAD};
use super::read_block::ReadBlock;
use super::stream::PollStream;
use crate::error::{Error, ErrorKind, TimeoutPhase};
use crate::event::{EventKind, EventSink};
use crate::exchange::{next_head_event, HeadProgress, UPLOAD_CHUNK};
use crate::request::{read_stream_piece, BodySource};
use crate::transport::route::Route;

/// Request bytes handed to the stream in one step at most (then the next `poll()` goes on).
const WRITE_BUDGET: usize = 256 * 1024;
/// The most read at once through the protocol core's buffer (chunk framing).
const FRAMED_READ: usize = 64 * 1024;
/// Bytes read in one go while the response head is incomplete.
const HEAD_READ: usize = 16 * 1024;
/// Reads of the socket in one step while the response head is incomplete (the head limit is
/// 64 KiB by default, so four reads reach it).
const HEAD_READS: usize = 4;

/// Where the current exchange on the connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// No request yet, or the last one is complete.
    Idle,
    /// Sending the request, or waiting for the response head.
    Requesting,
    /// The head is in; the body is being read.
    Body,
}

/// What a body read found.
pub(crate) enum BodyRead {
    /// Body bytes.
    Data(Bytes),
    /// Nothing yet: the stream has nothing to read now.
    Pending,
    /// The body is complete.
    End,
}

enum Upload {
    /// The body waits for `100 Continue` (or for the wait to run out).
    Held(BodySource),
    /// A stream read piece by piece as the connection takes the bytes.
    Stream(Box<dyn Read + Send>),
}

/// An open connection and the exchange on it.
pub(crate) struct Wire {
    pub(crate) stream: PollStream,
    pub(crate) proto: envoi_proto::Connection,
    pub(crate) peer: Option<SocketAddr>,
    /// Where the connection goes, to decide whether a request may reuse it.
    pub(crate) route: Route,
    phase: Phase,
    requests: u64,
    out: VecDeque<Bytes>,
    upload: Option<Upload>,
    written: u64,
    sent: bool,
    write_error: Option<Error>,
    head: Option<ResponseHead>,
    pending: Bytes,
    /// Room for body bytes read straight from the stream.
    block: ReadBlock,
    coalescing: ReadCoalescing,
    trailers: Option<HeaderMap>,
    received: u64,
    progress_at: Instant,
    continue_until: Option<Instant>,
    expect_continue: Duration,
}

impl Wire {
    pub(crate) fn new(
        stream: PollStream,
        proto: envoi_proto::Connection,
        peer: Option<SocketAddr>,
        route: Route,
        expect_continue: Duration,
    ) -> Self {
        Wire {
            stream,
            proto,
            peer,
            route,
            phase: Phase::Idle,
            requests: 0,
            out: VecDeque::new(),
            upload: None,
            written: 0,
            sent: false,
            write_error: None,
            head: None,
            pending: Bytes::new(),
            block: ReadBlock::default(),
            coalescing: ReadCoalescing::new(),
            trailers: None,
            received: 0,
            progress_at: Instant::now(),
            continue_until: None,
            expect_continue,
        }
    }

    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    /// True when the connection may carry a new request now.
    pub(crate) fn ready_for_request(&self) -> bool {
        self.phase == Phase::Idle && self.proto.ready_for_request()
    }

    /// True once the connection has carried a request (the next one reuses it).
    pub(crate) fn carried_a_request(&self) -> bool {
        self.requests > 0
    }

    /// True when the current request is not the connection's first.
    pub(crate) fn reused(&self) -> bool {
        self.requests > 1
    }

    /// Request bytes of the current request that reached the stream.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    /// The final response head of the current request, once received.
    pub(crate) fn head(&self) -> Option<&ResponseHead> {
        self.head.as_ref()
    }

    /// The trailers of a chunked body, once read.
    pub(crate) fn trailers(&self) -> Option<&HeaderMap> {
        self.trailers.as_ref()
    }

    /// When bytes last moved either way: waits are measured from there.
    pub(crate) fn progress_at(&self) -> Instant {
        self.progress_at
    }

    /// The phase a deadline running out now would be reported in.
    pub(crate) fn timeout_phase(&self) -> TimeoutPhase {
        match self.phase {
            Phase::Requesting if !self.sent => TimeoutPhase::Send,
            Phase::Requesting => TimeoutPhase::FirstByte,
            _ => TimeoutPhase::Body,
        }
    }

    /// True while request bytes are still to be written.
    pub(crate) fn sending(&self) -> bool {
        self.phase == Phase::Requesting && !self.sent
    }

    /// Encodes the head (nothing is queued when the core refuses it) and queues it with the
    /// body; the bytes go out in the following steps.
    pub(crate) fn start(
        &mut self,
        head: &RequestHead,
        body: BodySource,
        now: Instant,
        sink: &mut EventSink,
    ) -> Result<(), Error> {
        let mut encoded = Vec::with_capacity(256);
        self.proto.send_request(head, &mut encoded)?;
        self.requests += 1;
        self.out.clear();
        let encoded = Bytes::from(encoded);
        let sent_head = encoded.clone();
        self.out.push_back(encoded);
        self.upload = None;
        self.written = 0;
        self.sent = false;
        self.write_error = None;
        self.head = None;
        self.pending = Bytes::new();
        self.trailers = None;
        self.received = 0;
        self.coalescing.new_body();
        self.progress_at = now;
        self.continue_until = None;
        self.phase = Phase::Requesting;
        match self.proto.write_state() {
            WriteState::Body => self.queue_body(body)?,
            WriteState::AwaitingContinue => {
                self.upload = Some(Upload::Held(body));
                // A wait too long to represent is no wait limit at all.
                self.continue_until = now.checked_add(self.expect_continue);
            }
            _ => {}
        }
        sink.emit(EventKind::SendingRequest { head: sent_head });
        Ok(())
    }

    fn queue_body(&mut self, body: BodySource) -> Result<(), Error> {
        match body {
            BodySource::Bytes(bytes) => {
                if !bytes.is_empty() {
                    let frame = self.proto.frame_body(bytes.len())?;
                    self.push(Bytes::copy_from_slice(frame.prefix()));
                    self.push(bytes);
                    self.push(Bytes::from_static(frame.suffix()));
                }
                self.finish_upload()
            }
            BodySource::Stream(reader) => {
                self.upload = Some(Upload::Stream(reader));
                Ok(())
            }
        }
    }

    fn finish_upload(&mut self) -> Result<(), Error> {
        let mut tail = Vec::new();
        self.proto.finish_body(None, &mut tail)?;
        self.push(tail.into());
        Ok(())
    }

    fn push(&mut self, bytes: Bytes) {
        if !bytes.is_empty() {
            self.out.push_back(bytes);
        }
    }

    /// One step of a request in flight: writes what the stream takes, lets the body go when
    /// `100 Continue` came (or the wait for it ran out), and reads towards the response head.
    /// A failed write is kept while the response is read: a server that answered early and
    /// stopped reading gets its answer read rather than reported as a write failure.
    pub(crate) fn pump(&mut self, now: Instant, sink: &mut EventSink) -> Result<(), Error> {
        if self.proto.write_state() == WriteState::AwaitingContinue
            && self.continue_until.is_some_and(|t| now >= t)
        {
            self.proto.stop_waiting_for_continue();
        }
        if self.proto.write_state() == WriteState::Body
            && matches!(self.upload, Some(Upload::Held(_)))
        {
            if let Some(Upload::Held(body)) = self.upload.take() {
                self.queue_body(body)?;
            }
        }
        if !self.sent && self.write_error.is_none() {
            self.write_some(now, sink)?;
        }
        self.read_head(now, sink)
    }

    fn write_some(&mut self, now: Instant, sink: &mut EventSink) -> Result<(), Error> {
        let mut budget = WRITE_BUDGET;
        while budget > 0 {
            if self.out.is_empty() && !self.refill()? {
                break;
            }
            let slices: Vec<IoSlice<'_>> =
                self.out.iter().take(16).map(|b| IoSlice::new(b)).collect();
            match self.stream.write_vectored(&slices) {
                Ok(0) => {
                    self.write_error = Some(Error::new(
                        ErrorKind::ConnectionClosed,
                        format!("the connection took no more after {} bytes", self.written),
                    ));
                    return Ok(());
                }
                Ok(n) => {
                    self.written += n as u64;
                    self.progress_at = now;
                    budget = budget.saturating_sub(n);
                    self.advance(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let doing = format!("sending the request, after {} bytes", self.written);
                    self.write_error = Some(self.stream.failure(e, &doing));
                    return Ok(());
                }
            }
        }
        let all_taken = self.out.is_empty() && self.upload.is_none();
        let body_done = !matches!(
            self.proto.write_state(),
            WriteState::Body | WriteState::AwaitingContinue
        );
        if all_taken && body_done {
            match self.stream.flush() {
                Ok(true) => {
                    self.sent = true;
                    sink.emit(EventKind::RequestSent {
                        bytes: self.written,
                    });
                    sink.emit(EventKind::ReceivingResponse);
                }
                Ok(false) => {}
                Err(e) => self.write_error = Some(self.stream.failure(e, "sending the request")),
            }
        }
        Ok(())
    }

    /// Takes the next piece of a streamed body; false when there is nothing to send now.
    fn refill(&mut self) -> Result<bool, Error> {
        let Some(Upload::Stream(reader)) = &mut self.upload else {
            return Ok(false);
        };
        let mut piece = vec![0u8; UPLOAD_CHUNK];
        // One read per piece, so one `poll()` never waits on the reader for more.
        let n = read_stream_piece(reader.as_mut(), &mut piece, false)?;
        if n == 0 {
            self.upload = None;
            self.finish_upload()?;
        } else {
            piece.truncate(n);
            let frame = self.proto.frame_body(n)?;
            self.push(Bytes::copy_from_slice(frame.prefix()));
            self.push(piece.into());
            self.push(Bytes::from_static(frame.suffix()));
        }
        Ok(true)
    }

    fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.out.front_mut() else {
                return;
            };
            if n < front.len() {
                front.advance(n);
                return;
            }
            n -= front.len();
            self.out.pop_front();
        }
    }

    fn read_head(&mut self, now: Instant, sink: &mut EventSink) -> Result<(), Error> {
        let mut reads = 0;
        loop {
            let progress = match next_head_event(&mut self.proto, sink) {
                Ok(progress) => progress,
                // A failed write explains a broken answer better than the answer does.
                Err(e) => return Err(self.write_error.take().unwrap_or(e)),
            };
            match progress {
                HeadProgress::NeedData => {
                    if reads == HEAD_READS {
                        return Ok(());
                    }
                    reads += 1;
                    let stream = &mut self.stream;
                    match self.proto.receive_with(HEAD_READ, |buf| stream.read(buf)) {
                        Ok(0) => self.proto.receive_eof(),
                        Ok(_) => self.progress_at = now,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            let read = self.stream.failure(e, "reading the response");
                            return Err(self.write_error.take().unwrap_or(read));
                        }
                    }
                }
                HeadProgress::Final(h) => {
                    sink.emit(EventKind::ResponseReceived {
                        status: h.status(),
                        head: h.raw().clone(),
                    });
                    self.head = Some(h);
                    self.phase = Phase::Body;
                    // An answer before the whole request went out: stop sending. The core
                    // then refuses to reuse the connection.
                    self.out.clear();
                    self.upload = None;
                    self.sent = true;
                    self.settle(sink);
                    return Ok(());
                }
            }
        }
    }

    /// Reads body bytes, at most `max`, with at most one read of the stream. The bytes are
    /// read straight into a buffer of their own when the core says they are body data.
    pub(crate) fn read_body(
        &mut self,
        max: usize,
        now: Instant,
        coalesce: bool,
        sink: &mut EventSink,
    ) -> Result<BodyRead, Error> {
        let max = max.max(1);
        let mut read_once = false;
        loop {
            if !self.pending.is_empty() {
                let n = self.pending.len().min(max);
                let data = self.pending.split_to(n);
                return Ok(self.hand_out(data, sink));
            }
            match self.proto.next_event()? {
                Event::Data(data) => self.pending = data,
                Event::Trailers(fields) => self.trailers = Some(fields),
                Event::End => {
                    self.end(sink);
                    return Ok(BodyRead::End);
                }
                Event::NeedData if read_once => return Ok(BodyRead::Pending),
                Event::NeedData => {
                    read_once = true;
                    if let Some(window) = self.proto.direct_body_window() {
                        let plan = if coalesce {
                            self.coalescing.plan(&self.stream, window, now)
                        } else {
                            self.coalescing.off(&self.stream);
                            ReadPlan::Read
                        };
                        let ask = match plan {
                            ReadPlan::Hold => return Ok(BodyRead::Pending),
                            ReadPlan::Read => max,
                            ReadPlan::ReadAhead => max.max(READ_AHEAD),
                        };
                        let want = usize::try_from(window).map_or(ask, |w| w.min(ask));
                        // Bytes read are split off a block and handed out without a copy;
                        // the block is kept across reads that find nothing, since a frame
                        // loop polls far more often than data comes.
                        match self.stream.read(self.block.room(want)) {
                            Ok(0) => self.proto.receive_eof(),
                            Ok(n) => {
                                self.proto.direct_body_received(n)?;
                                self.progress_at = now;
                                self.coalescing.read_at(now);
                                let mut data = self.block.take(n);
                                if data.len() > max {
                                    // Read ahead: the rest goes out in the next calls.
                                    self.pending = data.split_off(max);
                                }
                                return Ok(self.hand_out(data, sink));
                            }
                            Err(e) => return self.read_failed(e),
                        }
                    } else {
                        let stream = &mut self.stream;
                        // The core zero-fills what it lends, so a large chunk size
                        // must not become a large read here.
                        let max = max.min(FRAMED_READ);
                        match self.proto.receive_with(max, |buf| stream.read(buf)) {
                            Ok(0) => self.proto.receive_eof(),
                            Ok(_) => self.progress_at = now,
                            Err(e) => return self.read_failed(e),
                        }
                    }
                }
                other => {
                    return Err(Error::new(
                        ErrorKind::MalformedResponse,
                        format!("unexpected {other:?} in the body"),
                    ))
                }
            }
        }
    }

    fn read_failed(&self, e: io::Error) -> Result<BodyRead, Error> {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(BodyRead::Pending),
            _ => Err(self.stream.failure(e, "reading the response")),
        }
    }

    fn hand_out(&mut self, data: Bytes, sink: &mut EventSink) -> BodyRead {
        self.received += data.len() as u64;
        if sink.has_observer() {
            sink.emit(EventKind::BodyProgress {
                received: self.received,
                total: self.head.as_ref().and_then(|h| h.framing().known_length()),
            });
        }
        self.settle(sink);
        BodyRead::Data(data)
    }

    /// Looks at what the core already holds, without reading the stream, so the end of the
    /// body is noticed with its last bytes (Godot's status turns Connected with the last
    /// chunk). An error is left for the next read to report: the core repeats it.
    fn settle(&mut self, sink: &mut EventSink) {
        for _ in 0..3 {
            if !self.pending.is_empty() || self.phase != Phase::Body {
                return;
            }
            match self.proto.next_event() {
                Ok(Event::Data(data)) => self.pending = data,
                Ok(Event::Trailers(fields)) => self.trailers = Some(fields),
                Ok(Event::End) => self.end(sink),
                _ => return,
            }
        }
    }

    /// The body is complete: the connection stays for the next request when the core allows
    /// it; otherwise the caller closes it.
    fn end(&mut self, sink: &mut EventSink) {
        self.phase = Phase::Idle;
        self.block.body_done();
        match self.proto.close_reason() {
            None if self.proto.ready_for_request() => sink.emit(EventKind::ConnectionPooled),
            None => sink.emit(EventKind::ClosingConnection {
                reason: "the request was not sent completely".to_owned(),
            }),
            Some(reason) => sink.emit(EventKind::ClosingConnection {
                reason: reason.to_string(),
            }),
        }
    }

    /// Waits up to `max` for the stream to be able to move (the opt-in blocking mode).
    pub(crate) fn wait(&mut self, max: Duration) {
        self.coalescing.off(&self.stream);
        self.stream.wait(self.sending(), max);
    }
}
