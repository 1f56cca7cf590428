//! Events at every phase of a request (WinHTTP's status callbacks), with timestamps from which
//! curl-like timings follow.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::StatusCode;

use crate::request::UserValue;

/// Receives events; set with `ClientBuilder::observer`.
pub(crate) type Observer = Arc<dyn Fn(&Event) + Send + Sync>;

/// Something that happened during a request.
#[derive(Clone, Debug)]
pub struct Event {
    /// When it happened.
    pub at: Instant,
    /// Time since the request started.
    pub elapsed: Duration,
    /// What happened.
    pub kind: EventKind,
    /// The user value of the request, if it has one.
    pub user_value: Option<UserValue>,
}

/// What happened.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// Resolving a host name.
    Resolving {
        /// The host.
        host: String,
    },
    /// The host resolved to these addresses.
    Resolved {
        /// The addresses, in the order they will be tried.
        addrs: Vec<SocketAddr>,
    },
    /// Opening a TCP connection to an address.
    Connecting {
        /// The address.
        addr: SocketAddr,
    },
    /// A connection is ready (new, or reused from the pool).
    Connected {
        /// The peer address.
        addr: SocketAddr,
        /// True when taken from the pool.
        reused: bool,
    },
    /// The TLS handshake started.
    TlsHandshakeStarted,
    /// The TLS handshake finished.
    TlsHandshakeDone {
        /// The negotiated protocol version, as text (`TLSv1.3`).
        version: String,
    },
    /// A CONNECT request asks the proxy for a tunnel to the origin.
    TunnelRequested {
        /// The CONNECT head as written. Copied only for an observer: empty when the client has
        /// none.
        head: Bytes,
    },
    /// The proxy answered the CONNECT (a 2xx opens the tunnel).
    TunnelAnswered {
        /// Its status.
        status: StatusCode,
        /// Its head as received, through the blank line.
        head: Bytes,
    },
    /// A SOCKS5 proxy is asked to connect to the origin (RFC 1928's CONNECT), after the
    /// method negotiation and, when the proxy chose it, the username/password
    /// authentication (RFC 1929).
    SocksRequested {
        /// The destination as sent: `host:port` when the proxy resolves the name (`socks5h`),
        /// `address:port` otherwise (IPv6 in brackets).
        target: String,
        /// True when a host name was sent for the proxy to resolve.
        remote_resolve: bool,
        /// True when the proxy asked for the username and password and accepted them.
        authenticated: bool,
    },
    /// The SOCKS5 proxy connected to the origin: the tunnel is open.
    SocksGranted {
        /// The address the proxy reports it bound for the connection, as text
        /// (`address:port`, or `name:port` when it reports a name).
        bound: String,
    },
    /// The request is being sent.
    SendingRequest {
        /// The request head exactly as written to the connection (request line and fields,
        /// credentials and cookies included, through the blank line). Copied only for an
        /// observer: empty when the client has none.
        head: Bytes,
    },
    /// The request is sent, head and body.
    RequestSent {
        /// Bytes that reached the socket, framing included.
        bytes: u64,
    },
    /// Waiting for the response.
    ReceivingResponse,
    /// An interim (1xx) response arrived.
    InterimResponse {
        /// Its status.
        status: StatusCode,
        /// Its head as received, through the blank line.
        head: Bytes,
    },
    /// The final response head of this hop arrived (each redirect hop has its own).
    ResponseReceived {
        /// Its status.
        status: StatusCode,
        /// Its head as received, through the blank line.
        head: Bytes,
    },
    /// Body bytes arrived.
    BodyProgress {
        /// Bytes of body so far (as received, before decoding).
        received: u64,
        /// The total when known.
        total: Option<u64>,
    },
    /// A redirect is being followed.
    Redirect {
        /// Where to.
        location: String,
    },
    /// The connection is being closed, and why.
    ClosingConnection {
        /// Why, in words.
        reason: String,
    },
    /// The connection went back to the pool for reuse.
    ConnectionPooled,
}

/// When each phase of a request ended, measured from its start (curl's `-w` times).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timings {
    /// Name resolution done (`time_namelookup`).
    pub name_lookup: Option<Duration>,
    /// TCP connected (`time_connect`).
    pub connect: Option<Duration>,
    /// TLS handshake done (`time_appconnect`).
    pub tls: Option<Duration>,
    /// First response byte (`time_starttransfer`).
    pub first_byte: Option<Duration>,
    /// Response head complete.
    pub response: Option<Duration>,
}

/// Emits events for one request and records its timings.
#[derive(Clone)]
pub(crate) struct EventSink {
    observer: Option<Observer>,
    user_value: Option<UserValue>,
    pub(crate) start: Instant,
    pub(crate) timings: Timings,
}

impl EventSink {
    pub(crate) fn new(
        observer: Option<Observer>,
        user_value: Option<UserValue>,
        start: Instant,
    ) -> Self {
        EventSink {
            observer,
            user_value,
            start,
            timings: Timings::default(),
        }
    }

    /// Records the event's timing and hands it to the observer, if any.
    pub(crate) fn emit(&mut self, kind: EventKind) {
        // Most events only matter to an observer; without one, skip even the clock read.
        let timed = matches!(
            kind,
            EventKind::Resolved { .. }
                | EventKind::Connected { .. }
                | EventKind::TlsHandshakeDone { .. }
                | EventKind::InterimResponse { .. }
                | EventKind::ResponseReceived { .. }
        );
        if !timed && self.observer.is_none() {
            return;
        }
        let at = Instant::now();
        let elapsed = at.saturating_duration_since(self.start);
        let t = &mut self.timings;
        match &kind {
            EventKind::Resolved { .. } => t.name_lookup = Some(elapsed),
            EventKind::Connected { reused, .. } => {
                if *reused {
                    t.name_lookup.get_or_insert(elapsed);
                }
                t.connect = Some(elapsed);
            }
            EventKind::TlsHandshakeDone { .. } => t.tls = Some(elapsed),
            EventKind::InterimResponse { .. } => {
                t.first_byte.get_or_insert(elapsed);
            }
            EventKind::ResponseReceived { .. } => {
                t.first_byte.get_or_insert(elapsed);
                t.response = Some(elapsed);
            }
            _ => {}
        }
        if let Some(observer) = &self.observer {
            observer(&Event {
                at,
                elapsed,
                kind,
                user_value: self.user_value.clone(),
            });
        }
    }

    /// Emits [`EventKind::SendingRequest`] with the head's bytes, copied only when an
    /// observer will read them.
    pub(crate) fn emit_sending_request(&mut self, head: &[u8]) {
        let head = self.copy_if_observed(head);
        self.emit(EventKind::SendingRequest { head });
    }

    /// Emits [`EventKind::TunnelRequested`] as [`emit_sending_request`](Self::emit_sending_request)
    /// does.
    pub(crate) fn emit_tunnel_requested(&mut self, head: &[u8]) {
        let head = self.copy_if_observed(head);
        self.emit(EventKind::TunnelRequested { head });
    }

    fn copy_if_observed(&self, bytes: &[u8]) -> Bytes {
        if self.has_observer() {
            Bytes::copy_from_slice(bytes)
        } else {
            Bytes::new()
        }
    }

    /// Cheap check that lets hot paths skip building an event nobody reads.
    pub(crate) fn has_observer(&self) -> bool {
        self.observer.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timings_are_kept_without_an_observer_and_other_events_cost_nothing() {
        let start = Instant::now() - Duration::from_millis(5);
        let mut sink = EventSink::new(None, None, start);
        sink.emit(EventKind::SendingRequest { head: Bytes::new() });
        assert_eq!(
            sink.timings,
            Timings::default(),
            "an untimed event changes nothing"
        );
        sink.emit(EventKind::ResponseReceived {
            status: StatusCode::OK,
            head: Bytes::new(),
        });
        let first_byte = sink.timings.first_byte.expect("timed without an observer");
        assert!(first_byte >= Duration::from_millis(5));
        assert_eq!(sink.timings.response, Some(first_byte));

        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let observer: Observer =
            Arc::new(move |e: &Event| log.lock().unwrap().push(e.kind.clone()));
        let mut sink = EventSink::new(Some(observer), None, start);
        sink.emit(EventKind::ReceivingResponse);
        assert_eq!(*seen.lock().unwrap(), [EventKind::ReceivingResponse]);
    }
}
