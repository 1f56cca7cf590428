//! A request body written by the caller after the head went out (WinHTTP's
//! `WinHttpWriteData`), with a known total length or chunked: the async counterpart of
//! `blocking/upload.rs`, written with `send(..).await` or through `tokio::io::AsyncWrite`.
//! What it decides (waiting for `100 Continue`, refusing pieces after a failure, reading for an
//! early answer) is the shared rule of `exchange/upload.rs`; this only moves the bytes and
//! waits.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::SystemTime;

use envoi_proto::DataFrame;
use tokio::io::AsyncWrite;

use super::transfer::Transfer;
use super::wait::{cancelled, unless_cancelled, CancelWatch};
use super::AsyncResponse;
use crate::error::{Error, ErrorKind};
use crate::event::EventSink;
use crate::exchange::{answer_may_follow, answer_or, Exchange, Halt, UPLOAD_CHUNK};

/// The body of a request in flight, from
/// [`AsyncClient::send_streaming`](crate::AsyncClient::send_streaming). Write the body with
/// [`send`](Self::send) or through [`tokio::io::AsyncWrite`], then call
/// [`finish`](Self::finish) for the response.
///
/// Writing more than a declared length, or finishing with less, is an error
/// ([`ErrorKind::InvalidRequest`]); a piece refused for going past the length leaves the
/// upload as it was. Dropping an unfinished upload closes its connection, and so does
/// dropping a `send` future once its piece started going out: the upload then refuses
/// anything more (dropped while it still waits for `100 Continue`, nothing was sent, and the
/// next piece goes on waiting). The
/// response is delivered as it is: cookies are stored and the body decoded, but a redirect or
/// a challenge is not followed, since the body was a one-shot stream.
///
/// When the request carries `Expect: 100-continue`, the first piece (through `send` or
/// `poll_write`; or the end of the body, if no piece comes) waits for the server's
/// `100 Continue`, no longer than the client's
/// [expect-continue timeout](crate::ClientBuilder::expect_continue_timeout), as a body sent
/// with the request does. If the server's final answer comes first (a 417, a 401, a 413), it
/// does not want the body: that piece and every later one are refused without being sent,
/// with [`ErrorKind::InvalidRequest`] whose [`protocol_kind`](Error::protocol_kind) is
/// [`BodyNotAllowed`](crate::proto::ErrorKind::BodyNotAllowed), and `finish` returns that
/// answer. (A refusal, not a silent `Ok`: a caller copying a large file in would otherwise
/// read all of it and be told every piece went out.)
///
/// A piece that fails on the connection (a timeout, a reset) may have been half-written, so
/// nothing more is written after it: every later piece gets an error of the same kind. When
/// the server closed the connection, it may have answered first (a 413 to a body it will not
/// read): `finish` then returns that response, or the failure if none came.
///
/// Through `AsyncWrite`, each `poll_write` takes up to 64 KiB, copied, and starts writing it;
/// `poll_flush` waits until every piece taken reached the connection, and `poll_shutdown`
/// ends the body (the last chunk, or the check that the declared length was met), after which
/// only [`finish`](Self::finish) remains.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use tokio::io::AsyncWriteExt;
/// let client = envoi::AsyncClient::new()?;
/// let url = "http://127.0.0.1:8080/upload-sink";
/// let mut upload = client.post(url).send_streaming(None).await?;
/// upload.send(b"first piece, ").await?;
/// upload.write_all(b"second piece").await?;
/// let response = upload.finish().await?;
/// println!("{}", response.text().await?);
/// # Ok(())
/// # }
/// ```
pub struct AsyncUpload {
    state: State,
    exchange: Exchange,
    cancel: Option<CancelWatch>,
}

/// The connection side of an upload: the transfer, its events, and where the bytes of a
/// `poll_write` are kept while they go out (the caller's buffer is lent for one call only).
struct Outgoing {
    transfer: Transfer,
    sink: EventSink,
    copy: Vec<u8>,
}

/// A piece being written, the wait for `100 Continue`, or the end of the body, holding the
/// connection side until done.
type Op = Pin<Box<dyn Future<Output = (Box<Outgoing>, Result<(), Error>)> + Send>>;

enum State {
    /// Ready for the next piece.
    Open(Box<Outgoing>),
    /// A piece `poll_write` took, the wait for `100 Continue`, or the end of the body
    /// (`ending`), under way.
    Busy { op: Op, ending: bool },
    /// The body was ended by `poll_shutdown`: only `finish` remains.
    Ended(Box<Outgoing>),
    /// A write failed, was dropped midway or was cancelled, the wait for `100 Continue`
    /// failed, or the body could not be ended: nothing more is sent. The connection side is
    /// kept only to read an answer the server may have sent before it closed.
    Halted(Halt<Box<Outgoing>>),
}

impl AsyncUpload {
    pub(crate) fn new(transfer: Transfer, sink: EventSink, exchange: Exchange) -> Self {
        let cancel = exchange.request().cancel.as_ref().map(CancelWatch::new);
        let outgoing = Outgoing {
            transfer,
            sink,
            copy: Vec::new(),
        };
        AsyncUpload {
            state: State::Open(Box::new(outgoing)),
            exchange,
            cancel,
        }
    }

    /// Sends a piece of the body. After `Expect: 100-continue`, the first piece waits for the
    /// server's go-ahead; see the type's documentation for what a refusal means. Dropping the
    /// future once the piece started going out closes the connection, as the piece may be
    /// half-written; the upload then refuses anything more.
    pub async fn send(&mut self, data: &[u8]) -> Result<(), Error> {
        if data.is_empty() {
            return Ok(());
        }
        let work = std::pin::pin!(self.state.send(data));
        unless_cancelled(self.cancel.as_ref(), work)
            .await
            .map_err(|e| e.with_url(&self.exchange.request().url))
    }

    /// Ends the body (unless `poll_shutdown` did) and waits for the response head.
    pub async fn finish(mut self) -> Result<AsyncResponse, Error> {
        let cancel = self.cancel.take();
        let url = self.exchange.request().url.clone();
        let work = std::pin::pin!(self.finish_inner());
        unless_cancelled(cancel.as_ref(), work)
            .await
            .map_err(|e| e.with_url(&url))
    }

    async fn finish_inner(mut self) -> Result<AsyncResponse, Error> {
        let settled = poll_fn(|cx| self.state.poll_settle(cx)).await;
        let (mut out, failure) = match self.state.take() {
            State::Ended(out) => (out, None),
            State::Open(mut out) => match out.end().await {
                Ok(()) => (out, None),
                Err(e) if answer_may_follow(&e) => (out, Some(e)),
                Err(e) => return Err(e),
            },
            State::Halted(halt) => {
                let (conn, failure) = halt.into_parts();
                // A failure of a piece `poll_write` took is first seen here: reported as it is.
                let failure = settled.err().unwrap_or(failure);
                match conn {
                    Some(out) => (out, Some(failure)),
                    None => return Err(failure),
                }
            }
            busy @ State::Busy { .. } => return Err(busy.refusal()),
        };
        let head = answer_or(out.transfer.receive_head(&mut out.sink).await, failure)?;
        let Outgoing { transfer, sink, .. } = *out;
        let config = &transfer.client.config;
        let body = self
            .exchange
            .deliver_upload_answer(config, &head, SystemTime::now());
        let url = self.exchange.request().url.clone();
        Ok(AsyncResponse::new(head, transfer, sink, url, body))
    }

    /// `Cancelled` once the request's cancel handle fired (registering the task to be woken
    /// when it does); the connection is closed then.
    fn check_cancel(&mut self, cx: &mut Context<'_>) -> Result<(), Error> {
        match &self.cancel {
            Some(watch) if watch.poll_cancelled(cx).is_ready() => {
                self.state = State::Halted(Halt::closed(ErrorKind::Cancelled, "cancelled"));
                Err(cancelled())
            }
            _ => Ok(()),
        }
    }

    fn poll_write_piece(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Result<usize, Error>> {
        self.check_cancel(cx)?;
        ready!(self.state.poll_settle(cx))?;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.state.await_continue();
        ready!(self.state.poll_settle(cx))?;
        let n = buf.len().min(UPLOAD_CHUNK);
        let (mut out, frame) = self.state.frame(n)?;
        out.copy.clear();
        out.copy.extend_from_slice(&buf[..n]);
        self.state = State::Busy {
            op: Box::pin(write_copy(out, frame)),
            ending: false,
        };
        // Started at once, so the piece moves without waiting for a flush; a failure that
        // comes later is reported by the next call.
        match self.state.poll_settle(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(n)),
        }
    }

    fn poll_flushed(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.check_cancel(cx)?;
        ready!(self.state.poll_settle(cx))?;
        match &self.state {
            State::Halted(halt) => Poll::Ready(Err(halt.refusal())),
            _ => Poll::Ready(Ok(())),
        }
    }

    fn poll_end(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.check_cancel(cx)?;
        ready!(self.state.poll_settle(cx))?;
        match self.state.take() {
            State::Open(out) => {
                self.state = State::Busy {
                    op: Box::pin(end_body(out)),
                    ending: true,
                };
                self.state.poll_settle(cx)
            }
            ended @ State::Ended(_) => {
                self.state = ended;
                Poll::Ready(Ok(()))
            }
            other => {
                let e = other.refusal();
                self.state = other;
                Poll::Ready(Err(e))
            }
        }
    }

    fn io_error(&self, e: Error) -> io::Error {
        io::Error::other(e.with_url(&self.exchange.request().url))
    }
}

impl State {
    /// Leaves a halt (`Cancelled`) in its place: what stays if the caller drops the future
    /// before the taken value is put back.
    fn take(&mut self) -> State {
        let dropped = Halt::closed(ErrorKind::Cancelled, "a write was dropped midway");
        std::mem::replace(self, State::Halted(dropped))
    }

    /// Starts the wait for `100 Continue` when the head asked for it and it has not come, so
    /// that the next piece waits for it (a no-op otherwise). A final answer instead is kept
    /// for `finish`, and the protocol core then refuses every piece.
    fn await_continue(&mut self) {
        if !matches!(self, State::Open(out) if out.transfer.awaits_continue()) {
            return;
        }
        if let State::Open(out) = self.take() {
            *self = State::Busy {
                op: Box::pin(wait_for_continue(out)),
                ending: false,
            };
        }
    }

    /// Waits for the piece or the end of the body in progress, if any.
    fn poll_settle(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let State::Busy { op, ending } = self else {
            return Poll::Ready(Ok(()));
        };
        let (out, result) = ready!(op.as_mut().poll(cx));
        *self = match &result {
            Ok(()) if *ending => State::Ended(out),
            Ok(()) => State::Open(out),
            // The connection side is kept only if the server's answer may follow; dropped,
            // the connection is closed.
            Err(e) => State::Halted(Halt::after(e, out)),
        };
        Poll::Ready(result)
    }

    /// Takes the connection side with `len` more body bytes accounted and framed by the
    /// protocol core; a refused piece (beyond a declared length) leaves the upload as it was.
    /// Once this returns, the piece must be written in full or the upload is broken.
    fn frame(&mut self, len: usize) -> Result<(Box<Outgoing>, DataFrame), Error> {
        let mut out = match self.take() {
            State::Open(out) => out,
            other => {
                let e = other.refusal();
                *self = other;
                return Err(e);
            }
        };
        match out.transfer.frame_body(len) {
            Ok(frame) => Ok((out, frame)),
            Err(e) => {
                *self = State::Open(out);
                Err(e)
            }
        }
    }

    /// Writes a piece from the caller's buffer; while it is written the state says the upload
    /// is broken, which is what stays if the future is dropped midway.
    async fn send(&mut self, data: &[u8]) -> Result<(), Error> {
        poll_fn(|cx| self.poll_settle(cx)).await?;
        self.await_continue();
        poll_fn(|cx| self.poll_settle(cx)).await?;
        let (mut out, frame) = self.frame(data.len())?;
        match out.transfer.write_framed(frame, data).await {
            Ok(()) => {
                *self = State::Open(out);
                Ok(())
            }
            Err(e) => {
                *self = State::Halted(Halt::after(&e, out));
                Err(e)
            }
        }
    }

    /// The error for a piece or an end the state cannot take.
    fn refusal(&self) -> Error {
        match self {
            State::Halted(halt) => halt.refusal(),
            State::Ended(_) => Error::new(ErrorKind::InvalidRequest, "the body was already ended"),
            State::Open(_) | State::Busy { .. } => Error::new(
                ErrorKind::InvalidRequest,
                "a piece of the body is still going out",
            ),
        }
    }
}

/// Writes the piece held in `out.copy`.
async fn write_copy(
    mut out: Box<Outgoing>,
    frame: DataFrame,
) -> (Box<Outgoing>, Result<(), Error>) {
    let Outgoing { transfer, copy, .. } = &mut *out;
    let result = transfer.write_framed(frame, copy).await;
    (out, result)
}

/// Ends the body: the last chunk, or the check that the declared length was met.
async fn end_body(mut out: Box<Outgoing>) -> (Box<Outgoing>, Result<(), Error>) {
    let result = out.end().await;
    (out, result)
}

/// Waits for `100 Continue` (or the final answer that comes instead).
async fn wait_for_continue(mut out: Box<Outgoing>) -> (Box<Outgoing>, Result<(), Error>) {
    let result = out.await_continue().await;
    (out, result)
}

impl Outgoing {
    /// Waits for `100 Continue` when the head asked for it and it has not come yet.
    async fn await_continue(&mut self) -> Result<(), Error> {
        if self.transfer.awaits_continue() {
            self.transfer.wait_for_continue(&mut self.sink).await?;
        }
        Ok(())
    }

    /// Ends the body: the last chunk, or the check that the declared length was met, after
    /// `100 Continue` if the head asked for it and no piece waited for it.
    async fn end(&mut self) -> Result<(), Error> {
        self.await_continue().await?;
        self.transfer.finish_body(&mut self.sink).await
    }
}

impl AsyncWrite for AsyncUpload {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = ready!(this.poll_write_piece(cx, buf));
        Poll::Ready(written.map_err(|e| this.io_error(e)))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let flushed = ready!(this.poll_flushed(cx));
        Poll::Ready(flushed.map_err(|e| this.io_error(e)))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let ended = ready!(this.poll_end(cx));
        Poll::Ready(ended.map_err(|e| this.io_error(e)))
    }
}

impl fmt::Debug for AsyncUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Open(_) => "open",
            State::Busy { .. } => "writing",
            State::Ended(_) => "ended",
            State::Halted(_) => "broken",
        };
        f.debug_struct("AsyncUpload")
            .field("url", &self.exchange.request().url.as_str())
            .field("state", &state)
            .finish_non_exhaustive()
    }
}
