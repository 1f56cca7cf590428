//! One request on one connection, driven with blocking I/O: the pump between the protocol
//! core and the socket. It moves bytes and waits; every decision is the core's or the
//! exchange's.

use std::io::{self, IoSlice, Read, Write};
use std::sync::Arc;
use std::time::Instant;

use envoi_proto::{DataFrame, RequestHead, ResponseHead, WriteState};
use http::Method;

use super::ClientInner;
use crate::error::{Error, ErrorKind, TimeoutPhase};
use crate::event::{EventKind, EventSink};
use crate::exchange::{
    earliest, next_head_event, retry_on_fresh_connection, timeout, Deadlines, FailedHop,
    HeadProgress,
};
use crate::policy::cancel::CancelGuard;
use crate::pool::{Checkout, Connection, Reuse};
use crate::request::Request;
use crate::transport::route::Route;
use crate::transport::stream::{is_timeout, Stream};

/// A request in flight on a connection.
pub(crate) struct Transfer {
    pub(crate) client: Arc<ClientInner>,
    pub(crate) conn: Box<Connection>,
    pub(crate) deadlines: Deadlines,
    reused: bool,
    /// Request bytes that reached the socket, framing included.
    written: u64,
    /// Request-body bytes taken from the caller's stream.
    body_taken: u64,
    /// A final response that arrived while the body waited for `100 Continue`.
    early_head: Option<ResponseHead>,
    /// Shuts the socket down when the request is cancelled, so a blocked read or write
    /// returns at once.
    _cancel_guard: Option<CancelGuard>,
}

impl Transfer {
    /// Takes a pooled connection (as `reuse` allows) or opens one, and writes the head, with
    /// `inline_body` framed after it in the same write.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start(
        client: &Arc<ClientInner>,
        request: &Request,
        route: &Route,
        head: &RequestHead,
        inline_body: &[u8],
        sink: &mut EventSink,
        deadlines: &Deadlines,
        reuse: Reuse,
    ) -> Result<Transfer, Error> {
        let (conn, reused) = connection(client, route, deadlines, sink, reuse)?;
        let cancel_guard = request.cancel.as_ref().and_then(|handle| {
            let tcp = conn.stream.tcp().try_clone().ok()?;
            Some(handle.on_cancel(move || {
                let _ = tcp.shutdown(std::net::Shutdown::Both);
            }))
        });
        let mut transfer = Transfer {
            client: Arc::clone(client),
            conn,
            deadlines: *deadlines,
            reused,
            written: 0,
            body_taken: 0,
            early_head: None,
            _cancel_guard: cancel_guard,
        };
        let mut out = Vec::with_capacity(256 + inline_body.len());
        transfer.conn.proto.send_request(head, &mut out)?;
        let head_len = out.len();
        if !inline_body.is_empty() && transfer.conn.proto.write_state() == WriteState::Body {
            transfer.conn.proto.send_body(inline_body, &mut out)?;
            transfer.conn.proto.finish_body(None, &mut out)?;
        }
        sink.emit_sending_request(&out[..head_len]);
        transfer.write_all(&[&out])?;
        Ok(transfer)
    }

    /// True when the head asked for `100 Continue` and the body waits for it.
    pub(crate) fn awaits_continue(&self) -> bool {
        self.conn.proto.write_state() == WriteState::AwaitingContinue
    }

    /// Waits for `100 Continue`, no longer than the client's expect-continue timeout. Returns
    /// whether the body should be sent: false when a final response came first.
    pub(crate) fn wait_for_continue(&mut self, sink: &mut EventSink) -> Result<bool, Error> {
        let until = Instant::now() + self.client.config.expect_continue_timeout;
        while self.awaits_continue() {
            match next_head_event(&mut self.conn.proto, sink)? {
                // `100 Continue` came with the bytes just read: the body may go now, rather
                // than after a read that waits out the timeout.
                HeadProgress::NeedData if !self.awaits_continue() => {}
                HeadProgress::NeedData => {
                    let deadline = earliest(Some(until), self.deadlines.total());
                    match self.fill(deadline, TimeoutPhase::FirstByte) {
                        Err(e)
                            if e.kind() == ErrorKind::Timeout(TimeoutPhase::FirstByte)
                                && Instant::now() >= until
                                && self.deadlines.total().is_none_or(|t| Instant::now() < t) =>
                        {
                            self.conn.proto.stop_waiting_for_continue();
                        }
                        other => other?,
                    }
                }
                // The final answer came first: keep it for read_head, skip the body.
                HeadProgress::Final(h) => {
                    self.early_head = Some(h);
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Writes a piece of the body, framed.
    pub(crate) fn write_body(&mut self, data: &[u8]) -> Result<(), Error> {
        let frame = self.frame_body(data.len())?;
        self.write_framed(frame, data)
    }

    /// Accounts for `len` more body bytes with the protocol core and returns their framing.
    /// A piece the core refuses (beyond a declared length, a body the server declined)
    /// accounts nothing; once this returns, the piece must be written with
    /// [`write_framed`](Self::write_framed).
    pub(crate) fn frame_body(&mut self, len: usize) -> Result<DataFrame, Error> {
        let frame = self.conn.proto.frame_body(len)?;
        self.body_taken += len as u64;
        Ok(frame)
    }

    /// Writes a piece of the body that [`frame_body`](Self::frame_body) framed.
    pub(crate) fn write_framed(&mut self, frame: DataFrame, data: &[u8]) -> Result<(), Error> {
        self.write_all(&[frame.prefix(), data, frame.suffix()])
    }

    /// Ends the body (the last chunk, or a check that the declared length was met).
    pub(crate) fn finish_body(&mut self, sink: &mut EventSink) -> Result<(), Error> {
        if self.conn.proto.write_state() == WriteState::Body {
            let mut out = Vec::new();
            self.conn.proto.finish_body(None, &mut out)?;
            self.write_all(&[&out])?;
        }
        sink.emit(EventKind::RequestSent {
            bytes: self.written,
        });
        Ok(())
    }

    /// Reads until the final response head.
    pub(crate) fn receive_head(&mut self, sink: &mut EventSink) -> Result<ResponseHead, Error> {
        sink.emit(EventKind::ReceivingResponse);
        let head = match self.early_head.take() {
            Some(head) => head,
            None => self.next_head(sink)?,
        };
        sink.emit(EventKind::ResponseReceived {
            status: head.status(),
            head: head.raw().clone(),
        });
        Ok(head)
    }

    /// The response whose head was received, its body still on this connection.
    pub(crate) fn into_response(
        self,
        head: ResponseHead,
        sink: &EventSink,
        url: crate::Url,
        body: crate::exchange::BodyOptions,
    ) -> super::Response {
        super::Response::new(head, self, sink.clone(), url, body)
    }

    fn next_head(&mut self, sink: &mut EventSink) -> Result<ResponseHead, Error> {
        let mut waiting_since = None;
        loop {
            match next_head_event(&mut self.conn.proto, sink)? {
                HeadProgress::NeedData => {
                    let deadline = self.deadlines.read(Instant::now);
                    // How long heads take is measured for busy polling only; without it the
                    // wait costs no clock read.
                    if waiting_since.is_none() && !self.client.config.busy_poll.is_zero() {
                        let now = Instant::now();
                        waiting_since = Some(now);
                        if self.busy_poll(deadline, now)? {
                            continue;
                        }
                    }
                    self.fill(deadline, TimeoutPhase::FirstByte)?;
                }
                HeadProgress::Final(h) => {
                    if let Some(since) = waiting_since {
                        self.conn.read_polling.head_arrived_after(since.elapsed());
                    }
                    return Ok(h);
                }
            }
        }
    }

    /// Reads the head's first bytes without sleeping, where that is worth it
    /// ([`busy_poll`]): true when something arrived (or the stream ended) within the
    /// budget, false when the caller is to wait for it in `fill`. The read deadline is set
    /// first because a TLS read that finds half a record waits for the rest.
    fn busy_poll(&mut self, deadline: Option<Instant>, now: Instant) -> Result<bool, Error> {
        let budget = self.client.config.busy_poll;
        let conn = &mut self.conn;
        if !conn.read_polling.worth_polling(budget) {
            return Ok(false);
        }
        conn.set_read_deadline(deadline)
            .map_err(|_| timeout(TimeoutPhase::FirstByte))?;
        let polling = &mut conn.read_polling;
        match polling.receive(&mut conn.stream, &mut conn.read_buf, budget, now) {
            Ok(None) => Ok(false),
            Ok(Some(0)) => {
                conn.proto.receive_eof();
                Ok(true)
            }
            Ok(Some(n)) => {
                conn.proto.receive(&conn.read_buf[..n]);
                Ok(true)
            }
            Err(e) => Err(read_error(&conn.stream, e, TimeoutPhase::FirstByte)),
        }
    }

    /// Reads once from the socket into the protocol core's buffer.
    pub(crate) fn fill(
        &mut self,
        deadline: Option<Instant>,
        phase: TimeoutPhase,
    ) -> Result<(), Error> {
        let conn = &mut self.conn;
        conn.set_read_deadline(deadline)
            .map_err(|_| timeout(phase))?;
        loop {
            match conn.stream.read(&mut conn.read_buf) {
                Ok(0) => {
                    conn.proto.receive_eof();
                    return Ok(());
                }
                Ok(n) => {
                    conn.proto.receive(&conn.read_buf[..n]);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_error(&conn.stream, e, phase)),
            }
        }
    }

    /// True when this hop's failure allows sending it again on a fresh connection (the
    /// shared rule: [`retry_on_fresh_connection`]).
    pub(crate) fn may_retry_fresh(
        &self,
        error: &Error,
        method: &Method,
        stream_body: bool,
    ) -> bool {
        let hop = FailedHop {
            reused: self.reused,
            answered: self.conn.proto.response_bytes_received() > 0,
            written: self.written,
            body_replayable: !stream_body || self.body_taken == 0,
        };
        retry_on_fresh_connection(error, method, &hop)
    }

    fn write_all(&mut self, pieces: &[&[u8]]) -> Result<(), Error> {
        let deadline = self.deadlines.write(Instant::now);
        self.conn
            .set_write_deadline(deadline)
            .map_err(|_| timeout(TimeoutPhase::Send))?;
        let mut slices: Vec<IoSlice<'_>> = pieces
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| IoSlice::new(p))
            .collect();
        let mut slices = &mut slices[..];
        while !slices.is_empty() {
            match self.conn.stream.write_vectored(slices) {
                Ok(0) => {
                    return Err(Error::new(
                        ErrorKind::ConnectionClosed,
                        format!("the connection took no more after {} bytes", self.written),
                    ))
                }
                Ok(n) => {
                    self.written += n as u64;
                    IoSlice::advance_slices(&mut slices, n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(write_error(&self.conn.stream, e, self.written)),
            }
        }
        let written = self.written;
        let stream = &mut self.conn.stream;
        stream.flush().map_err(|e| write_error(stream, e, written))
    }
}

/// A connection for `route`: from the pool, or newly opened in a pool slot.
fn connection(
    client: &Arc<ClientInner>,
    route: &Route,
    deadlines: &Deadlines,
    sink: &mut EventSink,
    reuse: Reuse,
) -> Result<(Box<Connection>, bool), Error> {
    let config = &client.config;
    let checkout = client.pool.checkout(route, deadlines.connect(), reuse)?;
    match checkout {
        Checkout::Reused(conn) => {
            sink.emit(EventKind::Connected {
                addr: conn.peer,
                reused: true,
            });
            Ok((conn, true))
        }
        Checkout::Open(slot) => {
            let (stream, peer) =
                crate::transport::open(config, &client.tls, route, deadlines, sink)?;
            let mut proto = envoi_proto::Connection::new(config.limits.clone());
            proto.set_title_case_headers(config.title_case_headers);
            Ok((Box::new(Connection::new(stream, proto, peer, slot)), false))
        }
    }
}

/// Maps a read failure: a timeout in its phase, a TLS alert to its kind, anything else to a
/// connection closed early.
pub(crate) fn read_error(stream: &Stream, e: io::Error, phase: TimeoutPhase) -> Error {
    if is_timeout(&e) {
        return timeout(phase);
    }
    if let Some(tls) = stream.tls_failure(&e) {
        return tls;
    }
    Error::new(ErrorKind::ConnectionClosed, "reading the response").with_source(e)
}

fn write_error(stream: &Stream, e: io::Error, written: u64) -> Error {
    if is_timeout(&e) {
        return timeout(TimeoutPhase::Send);
    }
    if let Some(tls) = stream.tls_failure(&e) {
        return tls;
    }
    Error::new(
        ErrorKind::ConnectionClosed,
        format!("sending the request, after {written} bytes"),
    )
    .with_source(e)
}
