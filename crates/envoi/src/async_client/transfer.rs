//! One request on one connection, driven with tokio: the pump between the protocol core and
//! the socket, as `blocking/transfer.rs` is for threads. It moves bytes and waits; every
//! decision is the core's or the exchange's.

use std::future::poll_fn;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use envoi_proto::{DataFrame, RequestHead, ResponseHead, WriteState};
use http::Method;
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};

use super::pool::{Checkout, Connection};
use super::wait::within;
use super::ClientInner;
use crate::error::{Error, ErrorKind, TimeoutPhase};
use crate::event::{EventKind, EventSink};
use crate::exchange::{
    earliest, next_head_event, retry_on_fresh_connection, Deadlines, FailedHop, HeadProgress,
};
use crate::pool::{Reuse, READ_CHUNK};
use crate::transport::route::Route;

/// A request in flight on a connection. Dropping it closes the connection: only a body read
/// to its end gives the connection back to the pool.
pub(crate) struct Transfer {
    pub(crate) client: Arc<ClientInner>,
    pub(crate) conn: Box<Connection>,
    pub(crate) deadlines: Deadlines,
    reused: bool,
    /// Request bytes that reached the socket, framing included.
    written: u64,
    /// Request-body bytes taken from the caller's stream.
    pub(crate) body_taken: u64,
    /// A final response that arrived while the body waited for `100 Continue`.
    early_head: Option<ResponseHead>,
}

impl Transfer {
    /// Takes a pooled connection (as `reuse` allows) or opens one, and writes the head, with
    /// `inline_body` framed after it in the same write.
    pub(crate) async fn start(
        client: &Arc<ClientInner>,
        route: &Route,
        head: &RequestHead,
        inline_body: &[u8],
        sink: &mut EventSink,
        deadlines: &Deadlines,
        reuse: Reuse,
    ) -> Result<Transfer, Error> {
        let (conn, reused) = connection(client, route, deadlines, sink, reuse).await?;
        let mut transfer = Transfer {
            client: Arc::clone(client),
            conn,
            deadlines: *deadlines,
            reused,
            written: 0,
            body_taken: 0,
            early_head: None,
        };
        let mut out = Vec::with_capacity(256 + inline_body.len());
        transfer.conn.proto.send_request(head, &mut out)?;
        let head_len = out.len();
        if !inline_body.is_empty() && transfer.conn.proto.write_state() == WriteState::Body {
            transfer.conn.proto.send_body(inline_body, &mut out)?;
            transfer.conn.proto.finish_body(None, &mut out)?;
        }
        sink.emit_sending_request(&out[..head_len]);
        transfer.write_all(&[&out]).await?;
        Ok(transfer)
    }

    /// True when the head asked for `100 Continue` and the body waits for it.
    pub(crate) fn awaits_continue(&self) -> bool {
        self.conn.proto.write_state() == WriteState::AwaitingContinue
    }

    /// Waits for `100 Continue`, no longer than the client's expect-continue timeout. Returns
    /// whether the body should be sent: false when a final response came first.
    pub(crate) async fn wait_for_continue(&mut self, sink: &mut EventSink) -> Result<bool, Error> {
        let until = Instant::now() + self.client.config.expect_continue_timeout;
        while self.awaits_continue() {
            match next_head_event(&mut self.conn.proto, sink)? {
                // `100 Continue` came with the bytes just read: the body may go now, rather
                // than after a read that waits out the timeout.
                HeadProgress::NeedData if !self.awaits_continue() => {}
                HeadProgress::NeedData => {
                    let deadline = earliest(Some(until), self.deadlines.total());
                    match self.fill(deadline, TimeoutPhase::FirstByte).await {
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
                // The final answer came first: keep it for receive_head, skip the body.
                HeadProgress::Final(h) => {
                    self.early_head = Some(h);
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Writes a piece of the body, framed.
    pub(crate) async fn write_body(&mut self, data: &[u8]) -> Result<(), Error> {
        let frame = self.frame_body(data.len())?;
        self.write_framed(frame, data).await
    }

    /// Accounts for `len` more body bytes with the protocol core and returns their framing.
    /// A piece beyond a declared length is refused and accounts nothing; once this returns,
    /// the piece must be written with [`write_framed`](Self::write_framed).
    pub(crate) fn frame_body(&mut self, len: usize) -> Result<DataFrame, Error> {
        let frame = self.conn.proto.frame_body(len)?;
        self.body_taken += len as u64;
        Ok(frame)
    }

    /// Writes a piece of the body that [`frame_body`](Self::frame_body) framed.
    pub(crate) async fn write_framed(
        &mut self,
        frame: DataFrame,
        data: &[u8],
    ) -> Result<(), Error> {
        self.write_all(&[frame.prefix(), data, frame.suffix()])
            .await
    }

    /// Ends the body (the last chunk, or a check that the declared length was met).
    pub(crate) async fn finish_body(&mut self, sink: &mut EventSink) -> Result<(), Error> {
        if self.conn.proto.write_state() == WriteState::Body {
            let mut out = Vec::new();
            self.conn.proto.finish_body(None, &mut out)?;
            self.write_all(&[&out]).await?;
        }
        sink.emit(EventKind::RequestSent {
            bytes: self.written,
        });
        Ok(())
    }

    /// Reads until the final response head.
    pub(crate) async fn receive_head(
        &mut self,
        sink: &mut EventSink,
    ) -> Result<ResponseHead, Error> {
        sink.emit(EventKind::ReceivingResponse);
        let head = match self.early_head.take() {
            Some(head) => head,
            None => self.next_head(sink).await?,
        };
        sink.emit(EventKind::ResponseReceived {
            status: head.status(),
            head: head.raw().clone(),
        });
        Ok(head)
    }

    async fn next_head(&mut self, sink: &mut EventSink) -> Result<ResponseHead, Error> {
        loop {
            match next_head_event(&mut self.conn.proto, sink)? {
                HeadProgress::NeedData => {
                    let deadline = self.deadlines.read(Instant::now);
                    self.fill(deadline, TimeoutPhase::FirstByte).await?;
                }
                HeadProgress::Final(h) => return Ok(h),
            }
        }
    }

    /// Reads once from the socket into the protocol core's buffer, by `deadline`.
    pub(crate) async fn fill(
        &mut self,
        deadline: Option<Instant>,
        phase: TimeoutPhase,
    ) -> Result<(), Error> {
        within(deadline, phase, poll_fn(|cx| self.poll_fill(cx))).await
    }

    /// Reads once from the socket into the protocol core's buffer; end of stream is handed
    /// to the core as such.
    pub(crate) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let conn = &mut self.conn;
        // Plain TCP says whether anything is there before a read is tried.
        if let Err(e) = ready!(conn.stream.poll_read_ready(cx)) {
            return Poll::Ready(Err(conn.stream.read_error(e)));
        }
        let mut read = ReadBuf::new(&mut conn.read_buf);
        match ready!(Pin::new(&mut conn.stream).poll_read(cx, &mut read)) {
            Ok(()) => {
                let n = read.filled().len();
                if n == 0 {
                    conn.proto.receive_eof();
                } else {
                    conn.proto.receive(&conn.read_buf[..n]);
                }
                Poll::Ready(Ok(()))
            }
            Err(e) => Poll::Ready(Err(conn.stream.read_error(e))),
        }
    }

    /// Reads body bytes from the socket straight into `buf` when the core says the next bytes
    /// are body data for sure: no intermediate copy for large bodies. `None` when the core
    /// must see the bytes (or the peer closed, which the core now knows).
    pub(crate) fn poll_read_direct(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<Option<usize>, Error>> {
        let conn = &mut self.conn;
        let Some(window) = conn.proto.direct_body_window() else {
            return Poll::Ready(Ok(None));
        };
        let want = usize::try_from(window).map_or(buf.len(), |w| w.min(buf.len()));
        let mut read = ReadBuf::new(&mut buf[..want]);
        match ready!(Pin::new(&mut conn.stream).poll_read(cx, &mut read)) {
            Ok(()) => {
                let n = read.filled().len();
                if n == 0 {
                    conn.proto.receive_eof();
                    return Poll::Ready(Ok(None));
                }
                conn.proto.direct_body_received(n)?;
                Poll::Ready(Ok(Some(n)))
            }
            Err(e) => Poll::Ready(Err(conn.stream.read_error(e))),
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

    /// Writes `pieces` in order; each wait for the socket to take bytes is bounded by the
    /// write deadline, as a socket timeout bounds each write in the blocking front end.
    async fn write_all(&mut self, pieces: &[&[u8]]) -> Result<(), Error> {
        let mut slices: Vec<IoSlice<'_>> = pieces
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| IoSlice::new(p))
            .collect();
        let mut slices = &mut slices[..];
        while !slices.is_empty() {
            let deadline = self.deadlines.write(Instant::now);
            let stream = &mut self.conn.stream;
            let written = self.written;
            let n = within(deadline, TimeoutPhase::Send, async {
                match stream.write_vectored(slices).await {
                    Ok(n) => Ok(n),
                    Err(e) => Err(stream.write_error(e, written)),
                }
            })
            .await?;
            if n == 0 {
                return Err(Error::new(
                    ErrorKind::ConnectionClosed,
                    format!("the connection took no more after {written} bytes"),
                ));
            }
            self.written += n as u64;
            IoSlice::advance_slices(&mut slices, n);
        }
        let deadline = self.deadlines.write(Instant::now);
        let stream = &mut self.conn.stream;
        let written = self.written;
        within(deadline, TimeoutPhase::Send, async {
            match stream.flush().await {
                Ok(()) => Ok(()),
                Err(e) => Err(stream.write_error(e, written)),
            }
        })
        .await
    }
}

/// A connection for `route`: from the pool, or newly opened in a pool slot.
async fn connection(
    client: &Arc<ClientInner>,
    route: &Route,
    deadlines: &Deadlines,
    sink: &mut EventSink,
    reuse: Reuse,
) -> Result<(Box<Connection>, bool), Error> {
    let config = &client.config;
    match client
        .pool
        .checkout(route, deadlines.connect(), reuse)
        .await?
    {
        Checkout::Reused(conn) => {
            sink.emit(EventKind::Connected {
                addr: conn.peer,
                reused: true,
            });
            Ok((conn, true))
        }
        Checkout::Open(slot) => {
            // Boxed: opening a connection is rare next to reusing one, and its future (the
            // resolver, the race of attempts, the tunnel, the handshake) would otherwise make
            // every request's future, moved at each layer, several times larger.
            let opening = Box::pin(super::transport::open(client, route, deadlines, sink));
            let (stream, peer) = opening.await?;
            let mut proto = envoi_proto::Connection::new(config.limits.clone());
            proto.set_title_case_headers(config.title_case_headers);
            Ok((
                Box::new(Connection {
                    stream,
                    proto,
                    peer,
                    read_buf: vec![0; READ_CHUNK].into_boxed_slice(),
                    slot,
                }),
                false,
            ))
        }
    }
}
