//! An open connection's byte stream for the async front end: tokio TCP, or TLS over it through
//! tokio-rustls. The TLS side keeps its handshake facts, so a failure reported on a later read
//! (a refused client certificate in TLS 1.3) is classified as the blocking front end does it.

use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, BufReader, ReadBuf};
use tokio::net::TcpStream;

use crate::error::{Error, ErrorKind};
use crate::transport::tls::{self, HandshakeFacts};

/// A connected stream.
pub(crate) enum AsyncStream {
    Plain(TcpStream),
    Tls(Box<TlsConn>),
}

/// A TLS stream with what its handshake showed.
pub(crate) struct TlsConn {
    pub(crate) inner: tokio_rustls::client::TlsStream<BufferedTcp>,
    pub(crate) facts: HandshakeFacts,
}

/// The socket under TLS, read ahead in 64 KiB: rustls asks for one record (at most ~16 KiB)
/// per read, so without it every record costs a system call (as `BufferedSocket` in the
/// blocking transport). Writes pass straight through.
pub(crate) type BufferedTcp = BufReader<TcpStream>;

impl AsyncStream {
    fn tcp(&self) -> &TcpStream {
        match self {
            AsyncStream::Plain(s) => s,
            AsyncStream::Tls(s) => s.inner.get_ref().0.get_ref(),
        }
    }

    /// True when the peer has closed or sent something unasked: an idle connection in that
    /// state must not carry a request. tokio's sockets are non-blocking, so a peek answers
    /// at once.
    pub(crate) fn is_stale(&self) -> bool {
        if let AsyncStream::Tls(s) = self {
            // Received after the response and not yet looked at: unsolicited, as below.
            if !s.inner.get_ref().0.buffer().is_empty() {
                return true;
            }
        }
        let mut probe = [MaybeUninit::<u8>::uninit(); 1];
        match socket2::SockRef::from(self.tcp()).peek(&mut probe) {
            Err(e) => e.kind() != io::ErrorKind::WouldBlock,
            // EOF, or unsolicited bytes (a 408, a TLS close_notify).
            Ok(_) => true,
        }
    }

    /// Waits until the socket may have bytes to read. Only plain TCP can tell; TLS may hold
    /// decrypted bytes already, so it is always worth a read.
    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            AsyncStream::Plain(s) => s.poll_read_ready(cx),
            AsyncStream::Tls(_) => Poll::Ready(Ok(())),
        }
    }

    /// The TLS failure behind an I/O error of this stream, classified, if it is one.
    fn tls_failure(&self, e: &io::Error) -> Option<Error> {
        let AsyncStream::Tls(s) = self else {
            return None;
        };
        let rustls_error = e.get_ref()?.downcast_ref::<rustls::Error>()?;
        Some(tls::classify(rustls_error, &s.facts))
    }

    /// Maps a read failure: a TLS alert to its kind, anything else to a connection closed
    /// early (timeouts are the timers' business, not the socket's).
    pub(crate) fn read_error(&self, e: io::Error) -> Error {
        self.tls_failure(&e).unwrap_or_else(|| {
            Error::new(ErrorKind::ConnectionClosed, "reading the response").with_source(e)
        })
    }

    /// Maps a write failure as [`read_error`](Self::read_error) does.
    pub(crate) fn write_error(&self, e: io::Error, written: u64) -> Error {
        self.tls_failure(&e).unwrap_or_else(|| {
            Error::new(
                ErrorKind::ConnectionClosed,
                format!("sending the request, after {written} bytes"),
            )
            .with_source(e)
        })
    }
}

impl AsyncRead for AsyncStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            AsyncStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            AsyncStream::Tls(s) => {
                let TlsConn { inner, facts } = &mut **s;
                match facts.observe(|| Pin::new(inner).poll_read(cx, buf)) {
                    // A peer that closes without close_notify ends the stream for HTTP/1.1's
                    // purposes; the framing layer decides whether the body was complete.
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        Poll::Ready(Ok(()))
                    }
                    other => other,
                }
            }
        }
    }
}

impl AsyncWrite for AsyncStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            AsyncStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            AsyncStream::Tls(s) => {
                let TlsConn { inner, facts } = &mut **s;
                facts.observe(|| Pin::new(inner).poll_write(cx, buf))
            }
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            AsyncStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            AsyncStream::Tls(s) => {
                let TlsConn { inner, facts } = &mut **s;
                facts.observe(|| Pin::new(inner).poll_write_vectored(cx, bufs))
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            AsyncStream::Plain(s) => s.is_write_vectored(),
            AsyncStream::Tls(s) => s.inner.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            AsyncStream::Plain(s) => Pin::new(s).poll_flush(cx),
            AsyncStream::Tls(s) => {
                let TlsConn { inner, facts } = &mut **s;
                facts.observe(|| Pin::new(inner).poll_flush(cx))
            }
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            AsyncStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            AsyncStream::Tls(s) => Pin::new(&mut s.inner).poll_shutdown(cx),
        }
    }
}
