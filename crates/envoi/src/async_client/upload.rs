//! A request body written by the caller after the head went out (WinHTTP's
//! `WinHttpWriteData`), with a known total length or chunked: the async counterpart of
//! `blocking/upload.rs`, written with `send(..).await` or through `tokio::io::AsyncWrite`.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::SystemTime;

use envoi_proto::DataFrame;
use tokio::io::AsyncWrite;

use super::response::BodyOptions;
use super::transfer::Transfer;
use super::wait::{cancelled, unless_cancelled, CancelWatch};
use super::AsyncResponse;
use crate::error::{Error, ErrorKind};
use crate::event::EventSink;
use crate::exchange::{Exchange, UPLOAD_CHUNK};

/// The body of a request in flight, from
/// [`AsyncClient::send_streaming`](crate::AsyncClient::send_streaming). Write the body with
/// [`send`](Self::send) or through [`tokio::io::AsyncWrite`], then call
/// [`finish`](Self::finish) for the response.
///
/// Writing more than a declared length, or finishing with less, is an error
/// ([`ErrorKind::InvalidRequest`]); a piece refused for going past the length leaves the
/// upload as it was. Dropping an unfinished upload closes its connection, and so does
/// dropping a `send` future before it completes: the upload then refuses anything more. The
/// response is delivered as it is: cookies are stored and the body decoded, but a redirect or
/// a challenge is not followed, since the body was a one-shot stream.
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

/// A piece being written, or the end of the body, holding the connection side until done.
type Op = Pin<Box<dyn Future<Output = (Box<Outgoing>, Result<(), Error>)> + Send>>;

enum State {
    /// Ready for the next piece.
    Open(Box<Outgoing>),
    /// A piece `poll_write` took, or the end of the body (`ending`), on its way out.
    Busy { op: Op, ending: bool },
    /// The body was ended by `poll_shutdown`: only `finish` remains.
    Ended(Box<Outgoing>),
    /// A write failed, was dropped midway or was cancelled, or the body could not be ended:
    /// the connection was closed and nothing more can be sent. The kind is the failure's.
    Broken(ErrorKind),
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

    /// Sends a piece of the body. Dropping the future before it completes closes the
    /// connection, as the piece may be half-written; the upload then refuses anything more.
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
        poll_fn(|cx| self.state.poll_settle(cx)).await?;
        let mut out = match self.state.take() {
            State::Ended(out) => out,
            State::Open(mut out) => {
                out.transfer.finish_body(&mut out.sink).await?;
                out
            }
            other => return Err(other.refusal()),
        };
        let head = out.transfer.receive_head(&mut out.sink).await?;
        let Outgoing { transfer, sink, .. } = *out;
        let url = self.exchange.request().url.clone();
        let config = &transfer.client.config;
        config.store_cookies(&url, head.headers(), SystemTime::now());
        let body = BodyOptions {
            decoder: self.exchange.decoder(config, &head),
            limit: config.max_body_size,
            redirects: 0,
            cancel: self.exchange.request().cancel.clone(),
        };
        Ok(AsyncResponse::new(head, transfer, sink, url, body))
    }

    /// `Cancelled` once the request's cancel handle fired (registering the task to be woken
    /// when it does); the connection is closed then.
    fn check_cancel(&mut self, cx: &mut Context<'_>) -> Result<(), Error> {
        match &self.cancel {
            Some(watch) if watch.poll_cancelled(cx).is_ready() => {
                self.state = State::Broken(ErrorKind::Cancelled);
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
            State::Broken(_) => Poll::Ready(Err(self.state.refusal())),
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
    /// Leaves `Broken(Cancelled)` in its place: what stays if the caller drops the future
    /// before the taken value is put back.
    fn take(&mut self) -> State {
        std::mem::replace(self, State::Broken(ErrorKind::Cancelled))
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
            // The connection side is dropped here: the connection is closed.
            Err(e) => State::Broken(e.kind()),
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
        let (mut out, frame) = self.frame(data.len())?;
        match out.transfer.write_framed(frame, data).await {
            Ok(()) => {
                *self = State::Open(out);
                Ok(())
            }
            Err(e) => {
                *self = State::Broken(e.kind());
                Err(e)
            }
        }
    }

    /// The error for a piece or an end the state cannot take.
    fn refusal(&self) -> Error {
        match self {
            State::Broken(kind) => Error::new(
                *kind,
                "the upload broke off earlier (a write failed or was dropped midway) and its \
                 connection was closed",
            ),
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
    let Outgoing { transfer, sink, .. } = &mut *out;
    let result = transfer.finish_body(sink).await;
    (out, result)
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
            State::Broken(_) => "broken",
        };
        f.debug_struct("AsyncUpload")
            .field("url", &self.exchange.request().url.as_str())
            .field("state", &state)
            .finish_non_exhaustive()
    }
}
