//! The body of an async response, read by polling: framing by the protocol core, direct reads
//! into the caller's buffer, decoding through [`ContentDecoder`]'s push API, the size limit,
//! the read deadline and cancellation. The rules are the blocking reader's; each wait is a
//! poll that returns `Pending` with the task's waker registered.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};
use std::time::Instant;

use bytes::Bytes;
use envoi_proto::Event;
use http::HeaderMap;
use tokio::time::Sleep;

use super::transfer::Transfer;
use super::wait::{cancelled, CancelWatch};
use crate::error::{Error, ErrorKind, TimeoutPhase};
use crate::event::{EventKind, EventSink};
use crate::exchange::timeout;
use crate::policy::decode::{check_limit, ContentDecoder, ENCODED_READ};

/// A response body as the caller reads it.
pub(crate) struct BodyReader {
    pub(crate) wire: WireBody,
    decoding: Option<Decoding>,
    limit: Option<u64>,
    cancel: Option<CancelWatch>,
    /// Body bytes handed to the caller (after decoding).
    pub(crate) delivered: u64,
}

/// The body bytes as they come over the wire.
pub(crate) struct WireBody {
    state: WireState,
    pub(crate) sink: EventSink,
    pub(crate) received: u64,
    announced: Option<u64>,
    pub(crate) trailers: Option<HeaderMap>,
}

enum WireState {
    /// The body is still coming over this transfer; `pending` holds bytes already framed, and
    /// `timer` bounds the read being waited for, if the request has a read deadline.
    Reading {
        transfer: Box<Transfer>,
        pending: Bytes,
        timer: Option<Pin<Box<Sleep>>>,
    },
    /// The body is complete (the connection went back to the pool or was closed).
    Done,
}

/// Decoding state: the decoder and the encoded bytes it has not taken yet.
struct Decoding {
    decoder: ContentDecoder,
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
}

impl BodyReader {
    pub(crate) fn new(
        wire: WireBody,
        decoder: Option<ContentDecoder>,
        limit: Option<u64>,
        cancel: Option<CancelWatch>,
    ) -> Self {
        BodyReader {
            wire,
            decoding: decoder.map(|decoder| Decoding {
                decoder,
                buffer: vec![0; ENCODED_READ].into_boxed_slice(),
                start: 0,
                end: 0,
                eof: false,
            }),
            limit,
            cancel,
            delivered: 0,
        }
    }

    /// Reads body bytes into `out` (which must not be empty); 0 means the body is complete.
    /// A body that ends early is an error, never a short success; so is one over the limit.
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<Result<usize, Error>> {
        if out.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if let Some(watch) = &self.cancel {
            if watch.poll_cancelled(cx).is_ready() {
                return Poll::Ready(Err(cancelled()));
            }
        }
        let n = match &mut self.decoding {
            None => {
                let n = ready!(self.wire.poll_read_wire(cx, out))?;
                check_limit(self.wire.received, self.limit)?;
                n
            }
            Some(decoding) => ready!(decoding.poll_read(&mut self.wire, cx, out))?,
        };
        self.delivered += n as u64;
        Poll::Ready(Ok(n))
    }
}

impl Decoding {
    /// As the blocking `DecodingReader`: decode what is buffered, and read more encoded bytes
    /// only when the decoder has taken them all and produced nothing.
    fn poll_read(
        &mut self,
        wire: &mut WireBody,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<Result<usize, Error>> {
        loop {
            let (used, made) = self
                .decoder
                .decode(&self.buffer[self.start..self.end], out)?;
            self.start += used;
            if made > 0 {
                return Poll::Ready(Ok(made));
            }
            if used > 0 {
                continue;
            }
            if self.start < self.end {
                // Input and room, yet nothing moved: never spin on it.
                return Poll::Ready(Err(Error::new(
                    ErrorKind::DecompressionFailed,
                    "the decoder is stuck",
                )));
            }
            if self.eof {
                return Poll::Ready(self.decoder.finish(out));
            }
            match ready!(wire.poll_read_wire(cx, &mut self.buffer))? {
                0 => self.eof = true,
                n => (self.start, self.end) = (0, n),
            }
        }
    }
}

impl WireBody {
    pub(crate) fn new(transfer: Transfer, sink: EventSink, announced: Option<u64>) -> Self {
        WireBody {
            state: WireState::Reading {
                transfer: Box::new(transfer),
                pending: Bytes::new(),
                timer: None,
            },
            sink,
            received: 0,
            announced,
            trailers: None,
        }
    }

    /// Completes a body that needs no more bytes (a response without a body), so its
    /// connection is released at once even if the caller never reads the empty body.
    pub(crate) fn complete_if_ready(&mut self) {
        // An empty buffer never reads from the socket: the poll ends at the first need for
        // bytes, so no waker is registered and a no-op one will do.
        let mut cx = Context::from_waker(Waker::noop());
        let _ = self.poll_read_wire(&mut cx, &mut []);
    }

    /// Body bytes as they came over the wire; 0 at the end (or, for an empty `buf`, when
    /// bytes would have to be read).
    pub(crate) fn poll_read_wire(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<usize, Error>> {
        let n = ready!(self.poll_read_framed(cx, buf))?;
        if n > 0 {
            self.received += n as u64;
            if self.sink.has_observer() {
                self.sink.emit(EventKind::BodyProgress {
                    received: self.received,
                    total: self.announced,
                });
            }
        }
        Poll::Ready(Ok(n))
    }

    fn poll_read_framed(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<usize, Error>> {
        loop {
            let WireState::Reading {
                transfer,
                pending,
                timer,
            } = &mut self.state
            else {
                return Poll::Ready(Ok(0));
            };
            if !pending.is_empty() {
                let n = pending.len().min(buf.len());
                buf[..n].copy_from_slice(&pending[..n]);
                bytes::Buf::advance(pending, n);
                return Poll::Ready(Ok(n));
            }
            match transfer.conn.proto.next_event()? {
                Event::Data(data) => *pending = data,
                Event::Trailers(fields) => self.trailers = Some(fields),
                Event::End => {
                    self.finish();
                    return Poll::Ready(Ok(0));
                }
                Event::NeedData => {
                    if buf.is_empty() {
                        return Poll::Ready(Ok(0));
                    }
                    let read = if transfer.conn.proto.direct_body_window().is_some() {
                        transfer.poll_read_direct(cx, buf)
                    } else {
                        transfer.poll_fill(cx).map_ok(|()| None)
                    };
                    match read {
                        Poll::Ready(result) => {
                            *timer = None;
                            if let Some(n) = result? {
                                return Poll::Ready(Ok(n));
                            }
                            // The bytes (or the end of the stream) went to the core.
                        }
                        Poll::Pending => {
                            return wait_for_read(timer, &transfer.deadlines, cx);
                        }
                    }
                }
                other => {
                    return Poll::Ready(Err(Error::new(
                        ErrorKind::MalformedResponse,
                        format!("unexpected {other:?} in the body"),
                    )))
                }
            }
        }
    }

    /// Reads a small body to its end and drops it, so the connection can carry the next hop;
    /// a large one is not worth it and closes the connection with the response.
    pub(crate) async fn discard(&mut self) {
        let mut scratch = vec![0u8; 8 * 1024];
        while self.received <= crate::exchange::DRAIN_LIMIT {
            let read = std::future::poll_fn(|cx| self.poll_read_wire(cx, &mut scratch)).await;
            match read {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }

    /// The body is complete: the connection goes back to the pool when it may carry another
    /// request, and is closed otherwise.
    fn finish(&mut self) {
        let WireState::Reading { transfer, .. } =
            std::mem::replace(&mut self.state, WireState::Done)
        else {
            return;
        };
        let Transfer { client, conn, .. } = *transfer;
        match conn.proto.close_reason() {
            None => {
                self.sink.emit(EventKind::ConnectionPooled);
                client.pool.checkin(conn);
            }
            Some(reason) => self.sink.emit(EventKind::ClosingConnection {
                reason: reason.to_string(),
            }),
        }
    }
}

/// A read is pending: it may wait until the read deadline (taken when the wait began, as the
/// blocking front end sets a socket timeout before each read), then fails in the body phase.
fn wait_for_read(
    timer: &mut Option<Pin<Box<Sleep>>>,
    deadlines: &crate::exchange::Deadlines,
    cx: &mut Context<'_>,
) -> Poll<Result<usize, Error>> {
    if timer.is_none() {
        if let Some(deadline) = deadlines.read(Instant::now) {
            *timer = Some(Box::pin(tokio::time::sleep_until(deadline.into())));
        }
    }
    match timer.as_mut().map(|sleep| sleep.as_mut().poll(cx)) {
        Some(Poll::Ready(())) => Poll::Ready(Err(timeout(TimeoutPhase::Body))),
        _ => Poll::Pending,
    }
}
