//! The yardsticks: httparse alone, plain memcpy, and hyper 1.x's client on an in-memory IO.

use std::hint::black_box;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::header::{ACCEPT, HOST as HOST_HEADER, USER_AGENT as USER_AGENT_HEADER};
use http::{HeaderValue, Request, Uri};
use http_body_util::{BodyExt, Empty};
use hyper::rt::{Read, ReadBufCursor, Write};

use crate::sink::Sink;
use crate::wire::{HOST, READ_SIZE, SMALL_BODY_LEN, SMALL_RESPONSE, TARGET, USER_AGENT};

/// (d) floor for (a): httparse's parse of the same head, with nothing built from it.
pub fn httparse_heads(iters: u64) -> u64 {
    for _ in 0..iters {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut response = httparse::Response::new(&mut headers);
        let status = response.parse(black_box(SMALL_RESPONSE)).expect("valid");
        assert!(status.is_complete());
        black_box(&response);
    }
    iters
}

/// (c): `wire` copied in `READ_SIZE` reads into one reused destination buffer, which is
/// what a socket read costs at best. Returns the bytes copied (the body plus under 0.02% of
/// framing for the chunked wire, so rates compare with body rates).
pub fn memcpy(wire: &[u8], dst: &mut [u8]) -> u64 {
    for part in wire.chunks(READ_SIZE) {
        dst[..part.len()].copy_from_slice(part);
        black_box(&mut *dst);
    }
    wire.len() as u64
}

/// (c) for loops that copy twice: into a read buffer, then out of it into the reader's
/// buffer, as a buffered reader (hyper, or envoi through `receive`) does.
pub fn memcpy_twice(wire: &[u8], read_buf: &mut [u8], dst: &mut [u8]) -> u64 {
    for part in wire.chunks(READ_SIZE) {
        read_buf[..part.len()].copy_from_slice(part);
        black_box(&mut *read_buf);
        dst[..part.len()].copy_from_slice(&read_buf[..part.len()]);
        black_box(&mut *dst);
    }
    wire.len() as u64
}

/// An in-memory connection for hyper: for each request head written to it, it serves one
/// copy of `response`, at most `read_size` bytes per read, like a socket would. It never
/// copies a request and never allocates after the first wait.
pub struct CannedIo {
    response: &'static [u8],
    read_size: usize,
    /// Position in the response being served; `response.len()` when none is.
    pos: usize,
    /// Request heads written and not yet answered.
    queued: usize,
    /// How many bytes of `\r\n\r\n` the written bytes currently end with.
    crlf_run: u8,
    reader: Option<Waker>,
}

impl CannedIo {
    pub fn new(response: &'static [u8], read_size: usize) -> CannedIo {
        CannedIo {
            response,
            read_size,
            pos: response.len(),
            queued: 0,
            crlf_run: 0,
            reader: None,
        }
    }
}

impl Read for CannedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.pos == this.response.len() {
            if this.queued == 0 {
                // An idle keep-alive socket: hyper polls it between responses.
                match &this.reader {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => this.reader = Some(cx.waker().clone()),
                }
                return Poll::Pending;
            }
            this.queued -= 1;
            this.pos = 0;
        }
        let n = (this.response.len() - this.pos)
            .min(this.read_size)
            .min(buf.remaining());
        buf.put_slice(&this.response[this.pos..this.pos + n]);
        this.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl Write for CannedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // Requests here have no body, so a request ends at its head's blank line. A state
        // machine rather than a search, because hyper may split a head across writes.
        let this = &mut *self;
        for &b in buf {
            let expected = b"\r\n\r\n"[usize::from(this.crlf_run)];
            this.crlf_run = if b == expected {
                this.crlf_run + 1
            } else {
                u8::from(b == b'\r')
            };
            if this.crlf_run == 4 {
                this.crlf_run = 0;
                this.queued += 1;
                if let Some(w) = this.reader.take() {
                    w.wake();
                }
            }
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// hyper's client on one keep-alive connection, on a current-thread runtime, with the
/// connection task spawned as hyper's documentation does it.
pub struct HyperClient {
    runtime: tokio::runtime::Runtime,
    uri: Uri,
    host: HeaderValue,
    user_agent: HeaderValue,
}

impl HyperClient {
    pub fn new() -> HyperClient {
        HyperClient {
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("tokio runtime"),
            uri: Uri::from_static(TARGET),
            host: HeaderValue::from_static(HOST),
            user_agent: HeaderValue::from_static(USER_AGENT),
        }
    }

    /// The same GET envoi sends. hyper takes a request by value, so one is built per
    /// exchange; cloning the parsed URI and values keeps that to refcount bumps and one
    /// small header map.
    fn request(&self) -> Request<Empty<Bytes>> {
        Request::builder()
            .uri(self.uri.clone())
            .header(HOST_HEADER, self.host.clone())
            .header(USER_AGENT_HEADER, self.user_agent.clone())
            .header(ACCEPT, HeaderValue::from_static("*/*"))
            .body(Empty::new())
            .expect("valid request")
    }

    /// `exchanges` requests on one connection serving `response`; every body piece goes to
    /// `sink`. Returns the body bytes received.
    pub fn run<S: Sink>(
        &self,
        response: &'static [u8],
        read_size: usize,
        exchanges: u64,
        sink: &mut S,
    ) -> u64 {
        self.runtime.block_on(async {
            let io = CannedIo::new(response, read_size);
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
                .await
                .expect("handshake");
            let conn = tokio::spawn(conn);
            let mut total = 0u64;
            for _ in 0..exchanges {
                sender.ready().await.expect("connection ready");
                let response = sender.send_request(self.request()).await.expect("response");
                assert_eq!(response.status(), 200);
                let mut body = response.into_body();
                while let Some(frame) = body.frame().await {
                    if let Ok(data) = frame.expect("body frame").into_data() {
                        total += data.len() as u64;
                        sink.piece(&data);
                    }
                }
            }
            drop(sender);
            conn.await.expect("task").expect("connection");
            total
        })
    }

    /// (a) for hyper: returns the number of responses.
    pub fn small_responses(&self, iters: u64) -> u64 {
        let mut count = crate::sink::Count { total: 0 };
        let body = self.run(SMALL_RESPONSE, READ_SIZE, iters, &mut count);
        assert_eq!(body, iters * SMALL_BODY_LEN as u64);
        iters
    }
}
