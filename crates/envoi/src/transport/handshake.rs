//! The TLS handshake over an open TCP connection, bounded by the connect deadline.

use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

use rustls::{ClientConnection, StreamOwned};

use crate::error::{Error, ErrorKind, TimeoutPhase};
use crate::event::{EventKind, EventSink};
use crate::tls::TlsOptions;
use crate::transport::stream::{is_timeout, BufferedSocket, Stream, TlsStream};
use crate::transport::tls::{self, HandshakeFacts};

/// Runs the handshake to completion and returns the TLS stream.
pub(crate) fn run(
    config: &Arc<rustls::ClientConfig>,
    options: &TlsOptions,
    host: &str,
    tcp: TcpStream,
    deadline: Option<Instant>,
    sink: &mut EventSink,
) -> Result<Stream, Error> {
    let name = tls::server_name(host, options)?;
    let mut conn = ClientConnection::new(Arc::clone(config), name).map_err(|e| {
        Error::new(ErrorKind::TlsHandshake, "could not start the handshake").with_source(e)
    })?;
    sink.emit(EventKind::TlsHandshakeStarted);
    let facts = HandshakeFacts::new();
    // The handshake reads through the stream's own buffer, so rustls' I/O loop is compiled
    // for one socket type, and whatever arrives after the handshake stays buffered.
    let mut sock = BufferedSocket::new(tcp);
    while conn.is_handshaking() {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left.is_some_and(|l| l.is_zero()) {
            return Err(Error::new(
                ErrorKind::Timeout(TimeoutPhase::Tls),
                host.to_owned(),
            ));
        }
        let timeouts = sock
            .tcp
            .set_read_timeout(left)
            .and_then(|()| sock.tcp.set_write_timeout(left));
        let progress =
            timeouts.and_then(|()| facts.observe(|| conn.complete_io(&mut sock).map(|_| ())));
        if let Err(e) = progress {
            if is_timeout(&e) {
                return Err(Error::new(
                    ErrorKind::Timeout(TimeoutPhase::Tls),
                    host.to_owned(),
                ));
            }
            return Err(tls::classify_io(e, &facts));
        }
    }
    let version = conn
        .protocol_version()
        .and_then(|v| v.as_str())
        .unwrap_or("TLS")
        .to_owned();
    sink.emit(EventKind::TlsHandshakeDone { version });
    Ok(Stream::Tls(Box::new(TlsStream {
        inner: StreamOwned::new(conn, sock),
        facts,
    })))
}
