//! A connection's byte stream without blocking: plain TCP, a stream the caller provides, and
//! TLS over either with rustls driven by hand (`read_tls`, `process_new_packets`,
//! `write_tls`). Every operation stops at `WouldBlock` and does a bounded amount of work.

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConnection;
use rustls_pki_types::ServerName;

use crate::error::{Error, ErrorKind};
use crate::transport::os;
use crate::transport::tls::{self, HandshakeFacts};

/// Rounds of TLS reads (each at most one record's worth, about 4 KiB on the wire) in one call,
/// so one call never decrypts more than a few records' worth before returning.
const TLS_READ_ROUNDS: usize = 8;
/// Rounds of write-then-read in one step of a TLS handshake.
const HANDSHAKE_ROUNDS: usize = 4;

/// A stream the caller provides (Godot's `connection`): any `Read + Write` that returns
/// `WouldBlock` rather than wait.
pub(crate) trait Io: Read + Write + Send {}
impl<T: Read + Write + Send> Io for T {}

/// What carries the bytes under TLS, if any.
pub(crate) enum Transport {
    Tcp(TcpStream),
    Custom(Box<dyn Io>),
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.read(buf),
            Transport::Custom(s) => s.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.write(buf),
            Transport::Custom(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.write_vectored(bufs),
            Transport::Custom(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.flush(),
            Transport::Custom(s) => s.flush(),
        }
    }
}

struct Tls {
    conn: ClientConnection,
    facts: HandshakeFacts,
}

/// A connected stream, TLS or not.
pub(crate) struct PollStream {
    transport: Transport,
    tls: Option<Box<Tls>>,
}

impl PollStream {
    pub(crate) fn plain(transport: Transport) -> Self {
        PollStream {
            transport,
            tls: None,
        }
    }

    /// TLS over `transport`; the handshake is driven by [`handshake`](Self::handshake).
    pub(crate) fn tls(
        transport: Transport,
        config: &Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
    ) -> Result<Self, Error> {
        let conn = ClientConnection::new(Arc::clone(config), name).map_err(|e| {
            Error::new(ErrorKind::TlsHandshake, "could not start the handshake").with_source(e)
        })?;
        Ok(PollStream {
            transport,
            tls: Some(Box::new(Tls {
                conn,
                facts: HandshakeFacts::new(),
            })),
        })
    }

    /// Advances the TLS handshake as far as the transport allows now; true once it is done
    /// (always, without TLS).
    pub(crate) fn handshake(&mut self) -> Result<bool, Error> {
        let Some(tls) = self.tls.as_deref_mut() else {
            return Ok(true);
        };
        for _ in 0..HANDSHAKE_ROUNDS {
            flush_tls(tls, &mut self.transport).map_err(|e| tls::classify_io(e, &tls.facts))?;
            if !tls.conn.is_handshaking() {
                return Ok(true);
            }
            if !tls.conn.wants_read() {
                return Ok(false);
            }
            match tls.conn.read_tls(&mut self.transport) {
                Ok(0) => {
                    let eof = io::Error::from(io::ErrorKind::UnexpectedEof);
                    return Err(tls::classify_io(eof, &tls.facts));
                }
                Ok(_) => {
                    process(tls, &mut self.transport).map_err(|e| tls::classify(&e, &tls.facts))?
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(tls::classify_io(e, &tls.facts)),
            }
        }
        Ok(!tls.conn.is_handshaking())
    }

    /// The negotiated TLS version, once the handshake is done.
    pub(crate) fn tls_version(&self) -> Option<String> {
        let version = self.tls.as_ref()?.conn.protocol_version()?;
        Some(version.as_str().unwrap_or("TLS").to_owned())
    }

    /// Reads what is available into `buf`; `WouldBlock` when nothing is, 0 at the end of the
    /// stream. A TLS peer that closes without `close_notify` ends the stream too: the framing
    /// layer decides whether the body was complete (as the blocking front end does).
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(tls) = self.tls.as_deref_mut() else {
            return self.transport.read(buf);
        };
        // Whatever rustls has queued (a key update, an alert) goes first; the socket being
        // full is no reason not to read.
        flush_tls(tls, &mut self.transport)?;
        for _ in 0..TLS_READ_ROUNDS {
            match tls.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            match tls.conn.read_tls(&mut self.transport) {
                // EOF is recorded by rustls; the reader reports it next round.
                Ok(_) => process(tls, &mut self.transport)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Err(io::ErrorKind::WouldBlock.into())
    }

    /// Writes some of `bufs`; `WouldBlock` when the transport takes nothing now. Under TLS the
    /// bytes are taken once encrypted into rustls' buffer, which is then flushed as far as
    /// the transport allows ([`flush`](Self::flush) finishes the job).
    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let Some(tls) = self.tls.as_deref_mut() else {
            return self.transport.write_vectored(bufs);
        };
        if !flush_tls(tls, &mut self.transport)? {
            // Encrypting more than the transport can take would only grow the buffer.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = tls.conn.writer().write_vectored(bufs)?;
        flush_tls(tls, &mut self.transport)?;
        if n == 0 && bufs.iter().any(|b| !b.is_empty()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    /// Sends what TLS still holds; true when nothing is left.
    pub(crate) fn flush(&mut self) -> io::Result<bool> {
        match self.tls.as_deref_mut() {
            Some(tls) => flush_tls(tls, &mut self.transport),
            None => Ok(true),
        }
    }

    /// The error for a failed read or write: a TLS alert or failure classified, anything else
    /// the connection closed early (`doing` says during what).
    pub(crate) fn failure(&self, e: io::Error, doing: &str) -> Error {
        if let Some(tls) = &self.tls {
            if let Some(rustls_error) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
            {
                return tls::classify(rustls_error, &tls.facts);
            }
        }
        Error::new(ErrorKind::ConnectionClosed, doing.to_owned()).with_source(e)
    }

    /// True when an idle connection must not carry a request: the peer closed it or sent
    /// something unasked. Under TLS, records that arrived are processed first: a TLS 1.3
    /// server sends session tickets after the handshake, and those are no reason to drop the
    /// connection. A plain stream the caller provides cannot be peeked and counts as live.
    pub(crate) fn is_stale(&mut self) -> bool {
        let Some(tls) = self.tls.as_deref_mut() else {
            let Transport::Tcp(tcp) = &self.transport else {
                return false;
            };
            let mut probe = [0u8; 1];
            return !matches!(tcp.peek(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
        };
        for _ in 0..TLS_READ_ROUNDS {
            match tls.conn.read_tls(&mut self.transport) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return true,
            }
            let facts = tls.facts.clone();
            match facts.observe(|| tls.conn.process_new_packets()) {
                Ok(state) if state.plaintext_bytes_to_read() > 0 || state.peer_has_closed() => {
                    return true
                }
                Ok(_) => {}
                Err(_) => return true,
            }
        }
        false
    }

    /// Whether the stream has a low-water mark for reads: plain TCP only. Under TLS, rustls
    /// may hold plaintext that the socket's count does not show.
    pub(crate) fn has_low_water(&self) -> bool {
        self.tls.is_none() && matches!(self.transport, Transport::Tcp(_))
    }

    /// Sets the socket's low-water mark for reads (`SO_RCVLOWAT`): how many bytes must be
    /// queued before `poll(2)` reports it readable. Reads that do not wait are not held by it.
    pub(crate) fn set_low_water(&self, bytes: usize) -> io::Result<()> {
        match (&self.tls, &self.transport) {
            (None, Transport::Tcp(tcp)) => os::set_receive_low_water(tcp, bytes),
            _ => Err(io::ErrorKind::Unsupported.into()),
        }
    }

    /// True when a read would find something now, at the socket's low-water mark (or the
    /// stream ended or failed). Always true for a stream without a descriptor.
    pub(crate) fn readable_now(&self) -> bool {
        match &self.transport {
            Transport::Tcp(tcp) => os::readable_now(tcp),
            Transport::Custom(_) => true,
        }
    }

    /// Waits up to `max` for the stream to be readable (or writable, when `write` or when TLS
    /// has bytes to send). A stream the caller provides has no descriptor to wait on: a short
    /// sleep stands in.
    pub(crate) fn wait(&self, write: bool, max: Duration) {
        let tls_writes = self.tls.as_ref().is_some_and(|t| t.conn.wants_write());
        match &self.transport {
            Transport::Tcp(tcp) => super::connect::wait_for(tcp, write || tls_writes, max),
            Transport::Custom(_) => std::thread::sleep(max.min(Duration::from_millis(1))),
        }
    }
}

/// Hands rustls' queued records to the transport until it is empty or the transport is full;
/// true when nothing is left to send.
fn flush_tls(tls: &mut Tls, transport: &mut Transport) -> io::Result<bool> {
    while tls.conn.wants_write() {
        match tls.conn.write_tls(transport) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Processes received records, recording what the handshake reveals about client
/// authentication. On failure rustls queues an alert: send it if the transport takes it.
fn process(tls: &mut Tls, transport: &mut Transport) -> Result<(), rustls::Error> {
    let facts = tls.facts.clone();
    match facts.observe(|| tls.conn.process_new_packets()) {
        Ok(_) => Ok(()),
        Err(e) => {
            let _ = tls.conn.write_tls(transport);
            Err(e)
        }
    }
}
