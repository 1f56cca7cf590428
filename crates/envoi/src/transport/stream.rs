//! An open connection's byte stream: plain TCP or TLS over TCP, with deadlines per operation.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use rustls::{ClientConnection, StreamOwned};

use crate::error::Error;
use crate::transport::tls::{self, HandshakeFacts};

/// A connected stream.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream>),
}

/// A TLS stream, with what its handshake showed (to tell a refused client certificate apart
/// when the server's alert arrives on a later read).
pub(crate) struct TlsStream {
    pub(crate) inner: StreamOwned<ClientConnection, TcpStream>,
    pub(crate) facts: HandshakeFacts,
}

impl Stream {
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.inner.sock,
        }
    }

    /// The TLS failure behind an I/O error of this stream, classified, if it is one.
    pub(crate) fn tls_failure(&self, e: &io::Error) -> Option<Error> {
        let Stream::Tls(s) = self else {
            return None;
        };
        let rustls_error = e.get_ref()?.downcast_ref::<rustls::Error>()?;
        Some(tls::classify(rustls_error, &s.facts))
    }

    /// True when the peer has closed or sent something unasked: an idle connection in that
    /// state must not carry a request.
    pub(crate) fn is_stale(&self) -> bool {
        // One non-blocking peek (MSG_DONTWAIT), instead of switching the socket to
        // non-blocking and back around a peek: one system call per reuse, not three.
        let mut probe = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        let flags = libc::MSG_PEEK | libc::MSG_DONTWAIT;
        match socket2::SockRef::from(self.tcp()).recv_with_flags(&mut probe, flags) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
            // EOF, unsolicited bytes (a 408, a TLS close_notify), or an error.
            _ => true,
        }
    }
}

/// Time left until `deadline`, as a socket timeout; a deadline in the past is an error so the
/// caller never blocks on a socket after its time ran out.
pub(crate) fn remaining(deadline: Option<Instant>) -> io::Result<Option<Duration>> {
    match deadline {
        None => Ok(None),
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"))
            } else {
                Ok(Some(left))
            }
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => match s.facts.clone().observe(|| s.inner.read(buf)) {
                // A peer that closes without close_notify ends the stream for HTTP/1.1's
                // purposes; the framing layer decides whether the body was complete.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                other => other,
            },
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.inner.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write_vectored(bufs),
            Stream::Tls(s) => s.inner.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.inner.flush(),
        }
    }
}

/// True for the I/O errors a socket timeout produces.
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
