//! A response whose body streams from the connection as a `std::io::Read`.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use bytes::Bytes;
use envoi_proto::{BodyFraming, Event, ResponseHead};
use http::HeaderMap;

use super::transfer::{read_error, Transfer};
use crate::error::{Error, ErrorKind, TimeoutPhase};
use crate::event::{EventKind, EventSink, Timings};
use crate::exchange::BodyOptions;
use crate::policy::decode::DecodingReader;
use crate::policy::decode::{body_text, check_limit, error_from_io};
use crate::policy::download::{DownloadFile, Progress};
use crate::policy::CancelHandle;
use crate::response_meta::{response_meta_methods, ResponseMeta};
use crate::transport::stream::Stream;
use crate::whole_body::WholeBody;
use crate::Url;

/// A response: status, version, headers, and a body read as a stream.
///
/// Reading to the end returns the connection to the pool; dropping the response before that
/// closes the connection instead, so a half-read connection is never reused.
pub struct Response {
    meta: ResponseMeta,
    body: Body,
    limit: Option<u64>,
    cancel: Option<CancelHandle>,
    /// Body bytes handed to the caller (after decoding).
    delivered: u64,
}

/// The body as the caller reads it: the bytes received, or those decoded from them.
enum Body {
    Plain(WireBody),
    Decoded(DecodingReader<WireBody>),
}

/// The body bytes as they come over the wire.
struct WireBody {
    state: WireState,
    sink: EventSink,
    received: u64,
    announced: Option<u64>,
    trailers: Option<HeaderMap>,
}

enum WireState {
    /// The body is still coming over this transfer; `pending` holds bytes already framed.
    Reading {
        transfer: Box<Transfer>,
        pending: Bytes,
    },
    /// The body is complete (the connection went back to the pool or was closed).
    Done,
}

impl Response {
    pub(crate) fn new(
        head: ResponseHead,
        transfer: Transfer,
        sink: EventSink,
        url: Url,
        options: BodyOptions,
    ) -> Self {
        let meta = ResponseMeta::new(head, url, options.redirects, options.decoder.is_some());
        let mut wire = WireBody {
            state: WireState::Reading {
                transfer: Box::new(transfer),
                pending: Bytes::new(),
            },
            sink,
            received: 0,
            announced: meta.head.framing().known_length(),
            trailers: None,
        };
        // A response without a body is complete now: release the connection at once, so a
        // caller who never reads the (empty) body still lets it be reused.
        if meta.head.framing() == BodyFraming::Empty {
            let _ = wire.read_wire(&mut []);
        }
        let body = match options.decoder {
            Some(decoder) => Body::Decoded(DecodingReader::new(wire, decoder)),
            None => Body::Plain(wire),
        };
        Response {
            meta,
            body,
            limit: options.limit,
            cancel: options.cancel,
            delivered: 0,
        }
    }

    response_meta_methods!();

    /// Body bytes received so far, as they came over the wire (before decoding).
    pub fn received_bytes(&self) -> u64 {
        self.wire().received
    }

    /// Body bytes handed out so far and the body size when announced (Godot's
    /// `get_downloaded_bytes` and `get_body_size`).
    pub fn progress(&self) -> Progress {
        let mut progress = Progress::new(self.meta.size);
        progress.add(self.delivered);
        progress
    }

    /// The trailer fields of a chunked body, once it has been read to the end.
    pub fn trailers(&self) -> Option<&HeaderMap> {
        self.wire().trailers.as_ref()
    }

    /// When each phase ended (curl's `-w` times).
    pub fn timings(&self) -> Timings {
        self.wire().sink.timings
    }

    /// Streams the body into `path`: written to `<path>.part` and renamed when complete, so
    /// a failed download never leaves a file that looks complete
    /// ([`ErrorKind::DownloadFileCantOpen`], [`ErrorKind::DownloadFileWriteError`]).
    pub fn save_to(self, path: impl AsRef<Path>) -> Result<PathBuf, Error> {
        let file = DownloadFile::create(path)?;
        self.save_into(file)
    }

    /// Streams the body into an open download and commits it.
    pub(crate) fn save_into(mut self, mut file: DownloadFile) -> Result<PathBuf, Error> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = self.read_body(&mut buf)?;
            if n == 0 {
                return file.commit();
            }
            file.write(&buf[..n])?;
        }
    }

    /// Reads the whole body.
    pub fn bytes(mut self) -> Result<Bytes, Error> {
        self.read_to_bytes()
    }

    fn read_to_bytes(&mut self) -> Result<Bytes, Error> {
        let mut body = WholeBody::new(self.content_length());
        loop {
            let n = self.read_body(body.spare())?;
            if !body.commit(n) {
                return Ok(body.finish());
            }
        }
    }

    /// Reads the whole body as text, decoded from the charset of Content-Type (UTF-8 when
    /// none is given); malformed sequences become U+FFFD.
    pub fn text(mut self) -> Result<String, Error> {
        let bytes = self.read_to_bytes()?;
        Ok(body_text(self.headers(), &bytes))
    }

    /// Copies the body into `writer`; returns the number of bytes copied.
    pub fn copy_to(&mut self, writer: &mut impl Write) -> Result<u64, Error> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let n = self.read_body(&mut buf)?;
            if n == 0 {
                return Ok(total);
            }
            writer.write_all(&buf[..n]).map_err(|e| {
                Error::new(ErrorKind::BodyIo, "writing the body out").with_source(e)
            })?;
            total += n as u64;
        }
    }

    /// Reads body bytes into `buf`; 0 means the body is complete. A body that ends early is
    /// an error, never a short success; so is one over the size limit.
    pub fn read_body(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let result = match &mut self.body {
            Body::Plain(wire) => wire.read_wire(buf).and_then(|n| {
                check_limit(wire.received, self.limit)?;
                Ok(n)
            }),
            Body::Decoded(reader) => reader.read(buf).map_err(error_from_io),
        };
        let n = result
            .map_err(|e| super::cancelled_or(e, self.cancel.as_ref()).with_url(&self.meta.url))?;
        self.delivered += n as u64;
        Ok(n)
    }

    /// Reads a small body to its end and drops it, so the connection can carry the next hop;
    /// a large one is not worth it and closes the connection with the response.
    pub(crate) fn discard(mut self) {
        let wire = match &mut self.body {
            Body::Plain(wire) => wire,
            Body::Decoded(reader) => reader.get_mut(),
        };
        let mut scratch = [0u8; 8 * 1024];
        while wire.received <= crate::exchange::DRAIN_LIMIT {
            match wire.read_wire(&mut scratch) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }

    fn wire(&self) -> &WireBody {
        match &self.body {
            Body::Plain(wire) => wire,
            Body::Decoded(reader) => reader.get_ref(),
        }
    }
}

impl WireBody {
    /// Body bytes as they came over the wire; 0 at the end.
    fn read_wire(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let n = self.read_framed(buf)?;
        if n > 0 {
            self.received += n as u64;
            if self.sink.has_observer() {
                self.sink.emit(EventKind::BodyProgress {
                    received: self.received,
                    total: self.announced,
                });
            }
        }
        Ok(n)
    }

    fn read_framed(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        loop {
            let WireState::Reading { transfer, pending } = &mut self.state else {
                return Ok(0);
            };
            if !pending.is_empty() {
                let n = pending.len().min(buf.len());
                buf[..n].copy_from_slice(&pending[..n]);
                bytes::Buf::advance(pending, n);
                return Ok(n);
            }
            match transfer.conn.proto.next_event()? {
                Event::Data(data) => *pending = data,
                Event::Trailers(fields) => self.trailers = Some(fields),
                Event::End => {
                    self.finish();
                    return Ok(0);
                }
                Event::NeedData => {
                    if buf.is_empty() {
                        return Ok(0);
                    }
                    if let Some(n) = read_direct(transfer, buf)? {
                        return Ok(n);
                    }
                    let deadline = transfer.deadlines.read(Instant::now);
                    transfer.fill(deadline, TimeoutPhase::Body)?;
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

    /// The body is complete: the connection goes back to the pool when it may carry another
    /// request, and is closed otherwise.
    fn finish(&mut self) {
        let WireState::Reading { transfer, .. } =
            std::mem::replace(&mut self.state, WireState::Done)
        else {
            return;
        };
        let transfer = *transfer;
        match transfer.conn.proto.close_reason() {
            None => {
                self.sink.emit(EventKind::ConnectionPooled);
                transfer.client.pool.checkin(transfer.conn);
            }
            Some(reason) => self.sink.emit(EventKind::ClosingConnection {
                reason: reason.to_string(),
            }),
        }
    }
}

impl Read for WireBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_wire(buf).map_err(io::Error::other)
    }
}

/// The most one direct read asks the socket for. A larger read saves few system calls (one
/// per 128 KiB already costs under 1% of a loopback download's CPU) but makes the kernel
/// write, and so page in, the whole of a large caller's buffer, and lets the data leave the
/// CPU's cache before the caller gets to it.
const MAX_DIRECT_READ: usize = 128 * 1024;

/// Reads body bytes from the socket straight into the caller's buffer when the core says the
/// next bytes are body data for sure: no intermediate copy for large bodies.
fn read_direct(transfer: &mut Transfer, buf: &mut [u8]) -> Result<Option<usize>, Error> {
    let Some(window) = transfer.conn.proto.direct_body_window() else {
        return Ok(None);
    };
    let want = usize::try_from(window)
        .map_or(buf.len(), |w| w.min(buf.len()))
        .min(MAX_DIRECT_READ);
    let deadline = transfer.deadlines.read(Instant::now);
    let budget = transfer.client.config.busy_poll;
    let conn = &mut transfer.conn;
    conn.set_read_deadline(deadline)
        .map_err(|_| crate::exchange::timeout(TimeoutPhase::Body))?;
    // Over TLS, a reader that sleeps is woken for each record or two, and nginx pays for
    // each wake-up; polling first kept downloads ahead of every peer. Over plain TCP it
    // cost throughput as well as CPU (BENCHMARKS.md, session 10).
    let mut polled = if !budget.is_zero() && matches!(conn.stream, Stream::Tls(_)) {
        let polling = &mut conn.read_polling;
        polling
            .receive(&mut conn.stream, &mut buf[..want], budget, Instant::now())
            .transpose()
    } else {
        None
    };
    loop {
        let read = polled
            .take()
            .unwrap_or_else(|| conn.stream.read(&mut buf[..want]));
        match read {
            Ok(0) => {
                conn.proto.receive_eof();
                return Ok(None);
            }
            Ok(n) => {
                conn.proto.direct_body_received(n)?;
                return Ok(Some(n));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(&conn.stream, e, TimeoutPhase::Body)),
        }
    }
}

impl Read for Response {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_body(buf).map_err(io::Error::other)
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.meta.debug("Response", f)
    }
}
