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
    pub(crate) inner: StreamOwned<ClientConnection, BufferedSocket>,
    pub(crate) facts: HandshakeFacts,
}

/// Bytes received from the socket ahead of rustls, which asks for one TLS record (at most
/// ~16 KiB) per read: one system call per 64 KiB instead of one per record. Writes go
/// straight to the socket.
pub(crate) struct BufferedSocket {
    pub(super) tcp: TcpStream,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

/// How much one read from a TLS connection's socket asks for (blocking and async alike).
pub(crate) const TLS_READ_BUFFER: usize = 64 * 1024;

impl BufferedSocket {
    pub(crate) fn new(tcp: TcpStream) -> BufferedSocket {
        BufferedSocket {
            tcp,
            buf: vec![0; TLS_READ_BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    /// True when bytes have been received that rustls has not taken yet.
    fn has_buffered(&self) -> bool {
        self.start < self.end
    }
}

impl Read for BufferedSocket {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.has_buffered() {
            if out.len() >= self.buf.len() {
                return self.tcp.read(out);
            }
            self.end = self.tcp.read(&mut self.buf)?;
            self.start = 0;
        }
        let n = out.len().min(self.end - self.start);
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }
}

impl Write for BufferedSocket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.tcp.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

impl Stream {
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.inner.sock.tcp,
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

    /// Reads what has arrived without waiting: `None` when nothing has (no bytes, no end, no
    /// error). A plain stream makes one non-blocking `recv`; a TLS one reads (as `read`
    /// does) once rustls or the socket holds something, which a non-blocking peek tells.
    pub(crate) fn read_now(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let ready = match self {
            Stream::Plain(tcp) => {
                return super::os::recv_now(tcp, buf);
            }
            // Decrypted bytes rustls holds, or received bytes it has not taken yet.
            Stream::Tls(s) => !s.inner.conn.wants_read() || s.inner.sock.has_buffered(),
        };
        if ready || self.socket_readable_now() {
            self.read(buf).map(Some)
        } else {
            Ok(None)
        }
    }

    /// True when the socket has bytes, an end or an error to report: one non-blocking peek.
    fn socket_readable_now(&self) -> bool {
        !matches!(super::os::peek_now(self.tcp()), Ok(None))
    }

    /// True when the peer has closed or sent something unasked: an idle connection in that
    /// state must not carry a request.
    pub(crate) fn is_stale(&self) -> bool {
        if let Stream::Tls(s) = self {
            // Received after the response and not yet looked at: unsolicited, as below.
            if s.inner.sock.has_buffered() {
                return true;
            }
        }
        // One non-blocking peek (MSG_DONTWAIT), instead of switching the socket to
        // non-blocking and back around a peek: one system call per reuse, not three.
        // Anything but "nothing yet" is stale: EOF, unsolicited bytes (a 408, a TLS
        // close_notify), or an error.
        !matches!(super::os::peek_now(self.tcp()), Ok(None))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn buffered_socket_hands_out_every_byte_in_order_whatever_the_read_sizes() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let sent: Vec<u8> = (0..400_000u32).map(|i| (i * 7 % 253) as u8).collect();
        let to_send = sent.clone();
        let writer = std::thread::spawn(move || {
            let (mut peer, _) = listener.accept().unwrap();
            peer.write_all(&to_send).unwrap();
        });
        let mut socket = BufferedSocket::new(TcpStream::connect(addr).unwrap());
        let mut got = Vec::new();
        // Small reads (served from the buffer), reads larger than the buffer (straight from
        // the socket), and sizes in between, in turn.
        let sizes = [1, 5, 4096, 100_000, 17, TLS_READ_BUFFER, 300];
        let mut buf = vec![0u8; 100_000];
        for size in sizes.iter().cycle() {
            let n = socket.read(&mut buf[..*size]).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        writer.join().unwrap();
        assert!(!socket.has_buffered());
        assert_eq!(got.len(), sent.len());
        assert!(got == sent, "bytes reordered or lost");
    }
}
