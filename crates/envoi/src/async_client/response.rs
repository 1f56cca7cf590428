//! The async response: its head at once, its body as a `tokio::io::AsyncRead`, as a `Stream`
//! of `Bytes`, or whole.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use envoi_proto::{BodyFraming, ResponseHead};
use http::HeaderMap;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

use super::body::{BodyReader, WireBody};
use super::transfer::Transfer;
use super::wait::CancelWatch;
use crate::error::{Error, ErrorKind};
use crate::event::{EventSink, Timings};
use crate::exchange::BodyOptions;
use crate::policy::decode::body_text;
use crate::policy::download::{DownloadFile, Progress};
use crate::response_meta::{response_meta_methods, ResponseMeta};
use crate::whole_body::WholeBody;
use crate::Url;

/// Size of the pieces a body is read in by the helpers.
const CHUNK: usize = 64 * 1024;

/// A response from [`AsyncClient`](crate::AsyncClient): status, version, headers, and a body
/// read as a stream.
///
/// Reading the body to the end returns the connection to the pool; dropping the response (or
/// the future reading it) before that closes the connection instead, so a half-read
/// connection is never reused.
pub struct AsyncResponse {
    meta: ResponseMeta,
    /// Boxed: a response is moved through every layer of the request's future, and the body
    /// reader (the connection's side, the decoder) is most of its size.
    body: Box<BodyReader>,
}

impl AsyncResponse {
    pub(crate) fn new(
        head: ResponseHead,
        transfer: Transfer,
        sink: EventSink,
        url: Url,
        options: BodyOptions,
    ) -> Self {
        let meta = ResponseMeta::new(head, url, options.redirects, options.decoder.is_some());
        let mut wire = WireBody::new(transfer, sink, meta.head.framing().known_length());
        if meta.head.framing() == BodyFraming::Empty {
            wire.complete_if_ready();
        }
        let cancel = options.cancel.as_ref().map(CancelWatch::new);
        AsyncResponse {
            meta,
            body: Box::new(BodyReader::new(
                wire,
                options.decoder,
                options.limit,
                cancel,
            )),
        }
    }

    response_meta_methods!();

    /// Body bytes received so far, as they came over the wire (before decoding).
    pub fn received_bytes(&self) -> u64 {
        self.body.wire.received
    }

    /// Body bytes handed out so far and the body size when announced.
    pub fn progress(&self) -> Progress {
        let mut progress = Progress::new(self.meta.size);
        progress.add(self.body.delivered);
        progress
    }

    /// The trailer fields of a chunked body, once it has been read to the end.
    pub fn trailers(&self) -> Option<&HeaderMap> {
        self.body.wire.trailers.as_ref()
    }

    /// When each phase ended (curl's `-w` times).
    pub fn timings(&self) -> Timings {
        self.body.wire.sink.timings
    }

    /// Reads body bytes into `buf`; 0 means the body is complete (or `buf` is empty). A body
    /// that ends early is an error, never a short success; so is one over the size limit.
    pub async fn read_body(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        poll_fn(|cx| self.poll_read_body(cx, buf)).await
    }

    fn poll_read_body(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<usize, Error>> {
        self.body
            .poll_read(cx, buf)
            .map_err(|e| e.with_url(&self.meta.url))
    }

    /// The next piece of the body, or `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        let mut buf = vec![0u8; CHUNK];
        let n = self.read_body(&mut buf).await?;
        // A copy of exactly the bytes read, rather than a piece holding the whole buffer.
        Ok((n > 0).then(|| Bytes::copy_from_slice(&buf[..n])))
    }

    /// The body as a [`Stream`](futures_core::Stream) of [`Bytes`] pieces, ending after the
    /// last one; a failure is the stream's last item.
    pub fn bytes_stream(self) -> BodyStream {
        BodyStream {
            response: self,
            scratch: vec![0u8; CHUNK].into_boxed_slice(),
            done: false,
        }
    }

    /// Reads the whole body.
    pub async fn bytes(mut self) -> Result<Bytes, Error> {
        self.read_to_bytes().await
    }

    async fn read_to_bytes(&mut self) -> Result<Bytes, Error> {
        let mut body = WholeBody::new(self.content_length());
        loop {
            let n = self.read_body(body.spare()).await?;
            if !body.commit(n) {
                return Ok(body.finish());
            }
        }
    }

    /// Reads the whole body as text, decoded from the charset of Content-Type (UTF-8 when
    /// none is given); malformed sequences become U+FFFD.
    pub async fn text(mut self) -> Result<String, Error> {
        let bytes = self.read_to_bytes().await?;
        Ok(body_text(self.headers(), &bytes))
    }

    /// Copies the body into `writer`; returns the number of bytes copied.
    pub async fn copy_to<W: AsyncWrite + Unpin + ?Sized>(
        &mut self,
        writer: &mut W,
    ) -> Result<u64, Error> {
        let mut buf = vec![0u8; CHUNK];
        let mut total = 0u64;
        loop {
            let n = self.read_body(&mut buf).await?;
            if n == 0 {
                writer.flush().await.map_err(write_out_failed)?;
                return Ok(total);
            }
            writer
                .write_all(&buf[..n])
                .await
                .map_err(write_out_failed)?;
            total += n as u64;
        }
    }

    /// Streams the body into `path`: written to `<path>.part` and renamed when complete, so
    /// a failed download never leaves a file that looks complete
    /// ([`ErrorKind::DownloadFileCantOpen`], [`ErrorKind::DownloadFileWriteError`]). The file
    /// work runs on tokio's blocking pool.
    pub async fn save_to(self, path: impl AsRef<Path>) -> Result<PathBuf, Error> {
        let path = path.as_ref().to_path_buf();
        let file = on_blocking_pool(move || DownloadFile::create(path)).await?;
        self.save_into(file).await
    }

    /// Streams the body into an open download and commits it.
    pub(crate) async fn save_into(mut self, mut file: DownloadFile) -> Result<PathBuf, Error> {
        loop {
            let Some(piece) = self.chunk().await? else {
                return on_blocking_pool(move || file.commit()).await;
            };
            file = on_blocking_pool(move || file.write(&piece).map(|()| file)).await?;
        }
    }

    /// Reads a small body to its end and drops it, so the connection can carry the next hop.
    pub(crate) async fn discard(mut self) {
        self.body.wire.discard().await;
    }
}

/// Runs file work on tokio's blocking pool. If the task cannot finish (the runtime is shutting
/// down), the download file it held was dropped, which removed its `.part`.
pub(super) async fn on_blocking_pool<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(Error::new(ErrorKind::DownloadFileWriteError, "the file task failed").with_source(e))
    })
}

fn write_out_failed(e: io::Error) -> Error {
    Error::new(ErrorKind::BodyIo, "writing the body out").with_source(e)
}

impl AsyncRead for AsyncResponse {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let out = buf.initialize_unfilled();
        match this.poll_read_body(cx, out) {
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(io::Error::other(e))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl fmt::Debug for AsyncResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.meta.debug("AsyncResponse", f)
    }
}

/// A response body as a [`Stream`](futures_core::Stream) of [`Bytes`] pieces, from
/// [`AsyncResponse::bytes_stream`]. After an error or the last piece it yields nothing more.
pub struct BodyStream {
    response: AsyncResponse,
    scratch: Box<[u8]>,
    done: bool,
}

impl BodyStream {
    /// The response the body belongs to (its head, and its trailers once the body ended).
    pub fn response(&self) -> &AsyncResponse {
        &self.response
    }
}

impl futures_core::Stream for BodyStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let polled = this.response.poll_read_body(cx, &mut this.scratch);
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(0)) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Ok(n)) => Poll::Ready(Some(Ok(Bytes::copy_from_slice(&this.scratch[..n])))),
            Poll::Ready(Err(e)) => {
                this.done = true;
                Poll::Ready(Some(Err(e)))
            }
        }
    }
}

impl fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyStream")
            .field("response", &self.response)
            .field("done", &self.done)
            .finish()
    }
}
