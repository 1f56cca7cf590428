//! A request body written by the caller after the head went out (WinHTTP's
//! `WinHttpWriteData`), with a known total length or chunked. What it decides (waiting for
//! `100 Continue`, refusing pieces after a failure, reading for an early answer) is the shared
//! rule of `exchange/upload.rs`; this only moves the bytes and waits.

use std::io::{self, Write};

use std::time::SystemTime;

use super::transfer::Transfer;
use super::{cancelled_or, Response};
use crate::error::Error;
use crate::event::EventSink;
use crate::exchange::{answer_may_follow, answer_or, Exchange, Halt};
use crate::policy::CancelHandle;

/// The body of a request in flight. Write the body, then call [`finish`](Self::finish) for the
/// response. Writing more than a declared length, or finishing with less, is an error
/// ([`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest)); a piece refused for
/// going past the length leaves the upload as it was. Dropping an unfinished upload closes
/// its connection. The response is delivered as it is: cookies are stored and the body
/// decoded, but a redirect or a challenge is not followed, since the body was a one-shot
/// stream.
///
/// When the request carries `Expect: 100-continue`, the first piece (or `finish`, if no piece
/// comes) waits for the server's `100 Continue`, no longer than the client's
/// [expect-continue timeout](crate::ClientBuilder::expect_continue_timeout), as a body sent
/// with the request does. If the server's final answer comes first (a 417, a 401, a 413), it
/// does not want the body: that piece and every later one are refused without being sent,
/// with [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) whose
/// [`protocol_kind`](Error::protocol_kind) is
/// [`BodyNotAllowed`](crate::proto::ErrorKind::BodyNotAllowed), and `finish` returns that
/// answer. (A refusal, not a silent `Ok`: a caller copying a large file in would otherwise
/// read all of it and be told every piece went out.)
///
/// A piece that fails on the connection (a timeout, a reset) may have been half-written, so
/// nothing more is written after it: every later piece gets an error of the same kind. When
/// the server closed the connection, it may have answered first (a 413 to a body it will not
/// read): `finish` then returns that response, or the failure if none came.
///
/// ```no_run
/// use std::io::Write;
/// let client = envoi::blocking::Client::new()?;
/// let mut upload = client.post("http://127.0.0.1:8080/upload-sink").send_streaming(None)?;
/// upload.write_all(b"first piece, ")?;
/// upload.write_all(b"second piece")?;
/// let response = upload.finish()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Upload {
    state: State,
    exchange: Exchange,
}

/// The connection side of an upload.
struct Outgoing {
    transfer: Transfer,
    sink: EventSink,
}

enum State {
    /// Ready for the next piece.
    Open(Outgoing),
    /// A piece, the wait for `100 Continue` or the end of the body failed: nothing more is
    /// written; the connection is kept only to read an answer the server may have sent.
    Halted(Halt<Outgoing>),
}

impl Upload {
    pub(crate) fn new(transfer: Transfer, sink: EventSink, exchange: Exchange) -> Self {
        Upload {
            state: State::Open(Outgoing { transfer, sink }),
            exchange,
        }
    }

    /// Sends a piece of the body. After `Expect: 100-continue`, the first piece waits for the
    /// server's go-ahead; see the type's documentation for what a refusal means.
    pub fn send(&mut self, data: &[u8]) -> Result<(), Error> {
        let request = self.exchange.request();
        let (url, cancel) = (&request.url, request.cancel.as_ref());
        if let Err(e) = cancel.map_or(Ok(()), CancelHandle::check) {
            return Err(halt(&mut self.state, e).with_url(url));
        }
        let out = match &mut self.state {
            State::Open(out) => out,
            State::Halted(halt) => return Err(halt.refusal().with_url(url)),
        };
        if data.is_empty() {
            return Ok(());
        }
        // A cancellation shuts the socket down under a blocked write or wait: what fails then
        // is reported as the cancellation.
        if let Err(e) = out.await_continue() {
            let e = cancelled_or(e, cancel);
            return Err(halt(&mut self.state, e).with_url(url));
        }
        // A refused piece (past the length, or a body the server declined) is not sent and
        // leaves the upload as it was.
        let frame = out
            .transfer
            .frame_body(data.len())
            .map_err(|e| e.with_url(url))?;
        match out.transfer.write_framed(frame, data) {
            Ok(()) => Ok(()),
            Err(e) => Err(halt(&mut self.state, cancelled_or(e, cancel)).with_url(url)),
        }
    }

    /// Ends the body and waits for the response head: the server's answer, also when it came
    /// early (before `100 Continue`, or while the body was going out and it closed).
    pub fn finish(self) -> Result<Response, Error> {
        let request = self.exchange.request();
        let (url, cancel) = (request.url.clone(), request.cancel.clone());
        if let Some(handle) = &cancel {
            handle.check().map_err(|e| e.with_url(&url))?;
        }
        self.finish_inner()
            .map_err(|e| cancelled_or(e, cancel.as_ref()).with_url(&url))
    }

    fn finish_inner(self) -> Result<Response, Error> {
        let Upload { state, exchange } = self;
        let (mut out, failure) = match state {
            State::Open(mut out) => match out.end_body() {
                Ok(()) => (out, None),
                Err(e) if answer_may_follow(&e) => (out, Some(e)),
                Err(e) => return Err(e),
            },
            State::Halted(halt) => match halt.into_parts() {
                (Some(out), failure) => (out, Some(failure)),
                (None, failure) => return Err(failure),
            },
        };
        let head = answer_or(out.transfer.receive_head(&mut out.sink), failure)?;
        let config = &out.transfer.client.config;
        let body = exchange.deliver_upload_answer(config, &head, SystemTime::now());
        let url = exchange.request().url.clone();
        Ok(out.transfer.into_response(head, &out.sink, url, body))
    }
}

impl Outgoing {
    /// Waits for `100 Continue` when the head asked for it and it has not come yet.
    fn await_continue(&mut self) -> Result<(), Error> {
        if self.transfer.awaits_continue() {
            // A final answer instead is kept for `receive_head`; the core then refuses the
            // body.
            self.transfer.wait_for_continue(&mut self.sink)?;
        }
        Ok(())
    }

    /// Ends the body: the last chunk, or the check that the declared length was met.
    fn end_body(&mut self) -> Result<(), Error> {
        self.await_continue()?;
        self.transfer.finish_body(&mut self.sink)
    }
}

/// Halts the upload after `error`, which is handed back for the caller. A piece or the end
/// fails only on an open upload; an upload already halted is halted again only by a
/// cancellation, which then has the last word.
fn halt(state: &mut State, error: Error) -> Error {
    let cancelled = State::Halted(Halt::closed(error.kind(), "cancelled"));
    if let State::Open(out) = std::mem::replace(state, cancelled) {
        *state = State::Halted(Halt::after(&error, out));
    }
    error
}

impl Write for Upload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf).map_err(io::Error::other)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
