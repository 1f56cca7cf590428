//! The client connection: request bytes out, response events in.

use bytes::{Buf, BytesMut};
use http::header::{HeaderMap, CONNECTION};
use http::StatusCode;

use crate::body::encode::{BodyEncoder, DataFrame};
use crate::body::{BodyDecoder, BodyStep};
use crate::error::{Error, ErrorKind};
use crate::event::Event;
use crate::framing::{response_framing, BodyFraming};
use crate::head::has_token;
use crate::head::request::{self, RequestBody, RequestHead, RequestInfo};
use crate::head::response::{self, find_head_end, rescan_from};
use crate::limits::Limits;
use crate::state::{CloseReason, ReadState, State, WriteState};

/// Initial capacity of the input buffer; it grows to the head limit at most while a head is
/// incomplete, and body data is handed out of it without copying.
const INPUT_CAPACITY: usize = 8 * 1024;

/// One HTTP/1.1 client connection, without I/O.
///
/// The caller sends a request with [`send_request`](Self::send_request) (and its body with
/// [`send_body`](Self::send_body) and [`finish_body`](Self::finish_body)), writing the bytes
/// these produce to its transport; it hands received bytes to [`receive`](Self::receive) (or
/// [`receive_eof`](Self::receive_eof) when the peer closes) and calls
/// [`next_event`](Self::next_event) until [`Event::End`]. When
/// [`ready_for_request`](Self::ready_for_request) is true, the next request may follow on the
/// same connection; otherwise [`close_reason`](Self::close_reason) says why it must close.
#[derive(Debug)]
pub struct Connection {
    limits: Limits,
    title_case: bool,
    state: State,
    request: Option<RequestInfo>,
    encoder: Option<BodyEncoder>,
    decoder: Option<BodyDecoder>,
    input: BytesMut,
    /// Stream offset of `input[0]`: every byte received before it, consumed.
    consumed: u64,
    /// Where the search for the end of the head resumes.
    head_scan: usize,
    interim_count: usize,
    /// Bytes received since the current request started.
    response_bytes: u64,
    upgrade_pending: bool,
    failure: Option<Error>,
}

impl Default for Connection {
    fn default() -> Self {
        Connection::new(Limits::default())
    }
}

impl Connection {
    /// A fresh connection with these limits.
    pub fn new(limits: Limits) -> Self {
        Connection {
            limits,
            title_case: true,
            state: State::new(),
            request: None,
            encoder: None,
            decoder: None,
            input: BytesMut::with_capacity(INPUT_CAPACITY),
            consumed: 0,
            head_scan: 0,
            interim_count: 0,
            response_bytes: 0,
            upgrade_pending: false,
            failure: None,
        }
    }

    /// Whether header names go out in Title-Case (`Content-Type`, the default, as curl sends
    /// them) or in the lowercase of [`http::HeaderName`].
    pub fn set_title_case_headers(&mut self, on: bool) {
        self.title_case = on;
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    // ---- Sending -------------------------------------------------------------------------

    /// Validates `head` and appends its encoding to `out`. Nothing is written when the head is
    /// refused or the connection is not ready. Returns how the body must be framed.
    pub fn send_request(
        &mut self,
        head: &RequestHead,
        out: &mut Vec<u8>,
    ) -> Result<RequestBody, Error> {
        self.state.check_ready()?;
        let info = request::encode(head, self.title_case, out)?;
        self.state.start_request(&info)?;
        self.request = Some(info);
        self.encoder = Some(BodyEncoder::new(info.body));
        self.decoder = None;
        self.interim_count = 0;
        self.response_bytes = 0;
        self.head_scan = 0;
        Ok(info.body)
    }

    /// Appends a piece of the request body, framed, to `out`.
    pub fn send_body(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        let frame = self.frame_body(data.len())?;
        out.extend_from_slice(frame.prefix());
        out.extend_from_slice(data);
        out.extend_from_slice(frame.suffix());
        Ok(())
    }

    /// Accounts for `len` bytes of request body that the caller writes itself, and returns the
    /// framing to write around them. This is [`send_body`](Self::send_body) without the copy.
    pub fn frame_body(&mut self, len: usize) -> Result<DataFrame, Error> {
        self.check_body_allowed()?;
        let encoder = self.encoder.as_mut().ok_or_else(|| {
            Error::new(ErrorKind::InvalidState, "no request body in progress")
                .in_state(self.state.describe())
        })?;
        encoder
            .frame(len)
            .map_err(|e| e.in_state(self.state.describe()))
    }

    /// Ends the request body: checks a declared length was met, or appends the last chunk
    /// (with `trailers`, if any) to `out`. A body shorter than declared fails the connection,
    /// since the server would wait for the missing bytes.
    pub fn finish_body(
        &mut self,
        trailers: Option<&HeaderMap>,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        self.check_body_allowed()?;
        let Some(encoder) = self.encoder.as_mut() else {
            return Err(
                Error::new(ErrorKind::InvalidState, "no request body in progress")
                    .in_state(self.state.describe()),
            );
        };
        match encoder.finish(trailers, out) {
            Ok(()) => {
                self.state.request_done();
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::BodyTooShort => {
                let e = e.in_state(self.state.describe());
                self.state.fail(false);
                Err(e)
            }
            Err(e) => Err(e.in_state(self.state.describe())),
        }
    }

    /// Stops waiting for `100 Continue`: the body may be sent now. A client calls this when
    /// its wait for the interim response has run out (RFC 9110 §10.1.1).
    pub fn stop_waiting_for_continue(&mut self) {
        self.state.stop_waiting_for_continue();
    }

    fn check_body_allowed(&self) -> Result<(), Error> {
        let refuse = |kind, detail: &'static str| {
            Err(Error::new(kind, detail).in_state(self.state.describe()))
        };
        match self.state.write {
            WriteState::Body => Ok(()),
            WriteState::AwaitingContinue => refuse(
                ErrorKind::InvalidState,
                "waiting for 100 Continue; call stop_waiting_for_continue to send anyway",
            ),
            WriteState::BodySkipped => refuse(
                ErrorKind::BodyNotAllowed,
                "the server answered before 100 Continue; the body must not be sent",
            ),
            WriteState::Done if self.request.is_some_and(|r| r.body == RequestBody::Empty) => {
                refuse(
                    ErrorKind::BodyNotAllowed,
                    "the request declared no body (no Content-Length or Transfer-Encoding)",
                )
            }
            WriteState::Done => refuse(ErrorKind::InvalidState, "the body is already finished"),
            WriteState::Idle => refuse(ErrorKind::InvalidState, "no request was sent"),
            WriteState::Failed => refuse(ErrorKind::InvalidState, "the request failed"),
        }
    }

    // ---- Receiving -----------------------------------------------------------------------

    /// Hands received bytes to the connection.
    pub fn receive(&mut self, data: &[u8]) {
        self.note_received(data.len());
        self.input.extend_from_slice(data);
    }

    /// Lets `read` fill up to `max` bytes straight into the input buffer (saving the copy
    /// [`receive`](Self::receive) makes), and returns what it returned.
    pub fn receive_with<E>(
        &mut self,
        max: usize,
        read: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        let start = self.input.len();
        self.input.resize(start + max, 0);
        let result = read(&mut self.input[start..]);
        let n = *result.as_ref().unwrap_or(&0);
        self.input.truncate(start + n.min(max));
        self.note_received(n.min(max));
        result
    }

    /// Tells the connection the peer closed its side: no more bytes will come.
    pub fn receive_eof(&mut self) {
        self.state.peer_closed();
    }

    /// How many bytes, read next from the transport, are body data for sure: the caller may
    /// read up to that many straight into its own buffer and report them with
    /// [`direct_body_received`](Self::direct_body_received), bypassing the input buffer and
    /// [`Event::Data`]. `None` when nothing is buffered-free body data right now.
    pub fn direct_body_window(&self) -> Option<u64> {
        if self.state.read != ReadState::Body || !self.input.is_empty() {
            return None;
        }
        self.decoder.as_ref()?.direct_window()
    }

    /// Accounts for `n` body bytes the caller read directly (see
    /// [`direct_body_window`](Self::direct_body_window)).
    pub fn direct_body_received(&mut self, n: usize) -> Result<(), Error> {
        let window = self.direct_body_window().unwrap_or(0);
        if n as u64 > window {
            return Err(Error::new(
                ErrorKind::InvalidState,
                format!("{n} bytes reported read directly, but the window is {window}"),
            )
            .in_state(self.state.describe()));
        }
        if let Some(decoder) = self.decoder.as_mut() {
            decoder.consume_direct(n as u64);
        }
        self.consumed += n as u64;
        self.response_bytes += n as u64;
        Ok(())
    }

    /// Decides what the received bytes amount to. Call it until [`Event::NeedData`] (then
    /// receive more) or [`Event::End`] (the response is complete).
    pub fn next_event(&mut self) -> Result<Event, Error> {
        let described = self.state.describe();
        let result = match self.state.read {
            ReadState::Head => self.read_head(),
            ReadState::Body => self.read_body(),
            ReadState::Upgraded if self.upgrade_pending => {
                self.upgrade_pending = false;
                self.consumed += self.input.len() as u64;
                return Ok(Event::Upgraded(self.input.split().freeze()));
            }
            ReadState::Failed => {
                return Err(self
                    .failure
                    .clone()
                    .unwrap_or_else(|| Error::new(ErrorKind::InvalidState, "the exchange failed")))
            }
            ReadState::Idle | ReadState::Done | ReadState::Upgraded => {
                return Err(
                    Error::new(ErrorKind::InvalidState, "no response is expected")
                        .in_state(described),
                )
            }
        };
        result.map_err(|e| {
            let e = e.in_state(described);
            self.state.fail(true);
            self.failure = Some(e.clone());
            e
        })
    }

    // ---- State ---------------------------------------------------------------------------

    /// True when the next request may be sent on this connection now: both directions are
    /// done and nothing forces a close.
    pub fn ready_for_request(&self) -> bool {
        self.state.ready_for_request()
    }

    /// Why the connection cannot carry another request, once that is known.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.state.close
    }

    /// The response side's state.
    pub fn read_state(&self) -> ReadState {
        self.state.read
    }

    /// The request side's state.
    pub fn write_state(&self) -> WriteState {
        self.state.write
    }

    /// Bytes received since the current request was sent: 0 means the server answered
    /// nothing, which makes a retry on a fresh connection safe to consider.
    pub fn response_bytes_received(&self) -> u64 {
        self.response_bytes
    }

    /// Bytes of request body accounted so far by [`send_body`](Self::send_body) and
    /// [`frame_body`](Self::frame_body), framing excluded.
    pub fn request_body_sent(&self) -> u64 {
        self.encoder.as_ref().map_or(0, BodyEncoder::sent)
    }

    fn note_received(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        match self.state.read {
            ReadState::Idle | ReadState::Done => self.state.unsolicited(),
            _ => self.response_bytes += n as u64,
        }
    }

    fn read_head(&mut self) -> Result<Event, Error> {
        // Tolerate empty lines before the status line (RFC 9112 §2.2's robustness rule).
        let blank = self
            .input
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        let blank = match self.input.get(blank.saturating_sub(1)) {
            Some(b'\r') => blank - 1, // keep a lone CR: its LF may be next
            _ => blank,
        };
        if blank > 0 {
            self.input.advance(blank);
            self.consumed += blank as u64;
            self.head_scan = 0;
        }
        let Some(end) = find_head_end(&self.input, self.head_scan) else {
            if self.input.len() > self.limits.max_head_size {
                return Err(self.head_too_large());
            }
            if self.state.peer_closed {
                return Err(if self.response_bytes == 0 {
                    Error::new(ErrorKind::ClosedBeforeResponse, "")
                } else {
                    Error::new(
                        ErrorKind::TruncatedHead,
                        format!("{} bytes of head before the close", self.input.len()),
                    )
                    .at_offset(self.consumed + self.input.len() as u64)
                });
            }
            self.head_scan = rescan_from(self.input.len());
            return Ok(Event::NeedData);
        };
        if end > self.limits.max_head_size {
            return Err(self.head_too_large());
        }
        let offset = self.consumed;
        let raw = self.input.split_to(end).freeze();
        self.consumed += end as u64;
        self.head_scan = 0;
        let mut head = response::parse(raw, self.limits.max_headers, offset)?;
        let status = head.status();
        let Some(request) = self.request else {
            return Err(Error::new(ErrorKind::InvalidState, "no request was sent"));
        };
        if status.is_informational() && status != StatusCode::SWITCHING_PROTOCOLS {
            self.interim_count += 1;
            if self.interim_count > self.limits.max_informational {
                return Err(Error::new(
                    ErrorKind::TooManyInformational,
                    format!("more than {}", self.limits.max_informational),
                )
                .at_offset(offset));
            }
            self.state.interim(status);
            return Ok(Event::Informational(head));
        }
        if status == StatusCode::SWITCHING_PROTOCOLS && !request.wants_upgrade {
            return Err(Error::new(
                ErrorKind::UnexpectedUpgrade,
                "the request asked for no upgrade",
            )
            .at_offset(offset));
        }
        let (framing, close) =
            response_framing(&request, &head).map_err(|e| e.at_offset(offset))?;
        head.set_framing(framing);
        let headers = head.headers();
        self.state.response_persistence(
            head.version(),
            has_token(headers, &CONNECTION, "close"),
            has_token(headers, &CONNECTION, "keep-alive"),
        );
        self.state.final_head(framing, close);
        if framing == BodyFraming::Tunnel {
            self.upgrade_pending = true;
        } else {
            self.decoder = Some(BodyDecoder::new(framing));
        }
        Ok(Event::ResponseHead(head))
    }

    fn head_too_large(&self) -> Error {
        Error::new(
            ErrorKind::HeadTooLarge,
            format!("over {} bytes", self.limits.max_head_size),
        )
        .at_offset(self.consumed)
    }

    fn read_body(&mut self) -> Result<Event, Error> {
        let Some(decoder) = self.decoder.as_mut() else {
            return Err(Error::new(ErrorKind::InvalidState, "no body decoder"));
        };
        let before = self.input.len();
        let step = decoder.decode(
            &mut self.input,
            self.state.peer_closed,
            self.consumed,
            &self.limits,
        );
        self.consumed += (before - self.input.len()) as u64;
        Ok(match step? {
            BodyStep::Data(data) => Event::Data(data),
            BodyStep::Trailers(fields) => Event::Trailers(fields),
            BodyStep::NeedData => Event::NeedData,
            BodyStep::End => {
                self.decoder = None;
                self.state.body_done();
                if !self.input.is_empty() {
                    self.state.unsolicited();
                }
                Event::End
            }
        })
    }
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
