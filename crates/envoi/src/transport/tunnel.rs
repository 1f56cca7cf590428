//! CONNECT tunnels through an HTTP proxy, spoken with the same protocol core as requests.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use envoi_proto::Event;

use crate::config::Config;
use crate::error::{Error, ErrorKind, TimeoutPhase};
use crate::event::{EventKind, EventSink};
use crate::exchange::connect_head;
use crate::transport::route::Route;
use crate::transport::stream::{is_timeout, remaining};

/// Asks the proxy on `tcp` for a tunnel to the route's origin and waits for its answer.
pub(crate) fn connect(
    config: &Config,
    route: &Route,
    tcp: &mut TcpStream,
    deadline: Option<Instant>,
    sink: &mut EventSink,
) -> Result<(), Error> {
    let (mut proto, out) = request(config, route, sink)?;
    let timed_out = || Error::new(ErrorKind::Timeout(TimeoutPhase::Connect), "proxy CONNECT");
    let failed = |e: std::io::Error| {
        if is_timeout(&e) {
            timed_out()
        } else {
            Error::new(ErrorKind::ProxyFailed, "proxy connection failed").with_source(e)
        }
    };
    set_deadline(tcp, deadline).map_err(failed)?;
    tcp.write_all(&out).map_err(failed)?;
    while !answer(&mut proto, route, sink)? {
        set_deadline(tcp, deadline).map_err(failed)?;
        let n = proto
            .receive_with(4096, |buf| tcp.read(buf))
            .map_err(failed)?;
        if n == 0 {
            proto.receive_eof();
        }
    }
    Ok(())
}

/// The protocol state and the bytes of the CONNECT request for the route's origin; every
/// front end writes these bytes, then feeds the proxy's answer to [`answer`].
pub(crate) fn request(
    config: &Config,
    route: &Route,
    sink: &mut EventSink,
) -> Result<(envoi_proto::Connection, Vec<u8>), Error> {
    let head = connect_head(config, route)?;
    let mut proto = envoi_proto::Connection::new(config.limits.clone());
    let mut out = Vec::new();
    proto.send_request(&head, &mut out)?;
    sink.emit_tunnel_requested(&out);
    Ok((proto, out))
}

/// Reads the proxy's answer received so far: `Ok(true)` once the tunnel is open, `Ok(false)`
/// when more bytes are needed (or the proxy closed: `receive_eof` makes the next call fail).
pub(crate) fn answer(
    proto: &mut envoi_proto::Connection,
    route: &Route,
    sink: &mut EventSink,
) -> Result<bool, Error> {
    loop {
        let event = proto.next_event().map_err(proxy_protocol_error)?;
        if let Event::ResponseHead(response) = &event {
            sink.emit(EventKind::TunnelAnswered {
                status: response.status(),
                head: response.raw().clone(),
            });
        }
        match event {
            Event::NeedData => return Ok(false),
            Event::Informational(_) => {}
            Event::ResponseHead(response) if response.status().is_success() => {
                return match proto.next_event().map_err(proxy_protocol_error)? {
                    Event::Upgraded(early) if early.is_empty() => Ok(true),
                    _ => Err(Error::new(
                        ErrorKind::ProxyFailed,
                        "the proxy sent bytes before the TLS handshake",
                    )),
                };
            }
            Event::ResponseHead(response) => {
                let status = response.status();
                let kind = if status == http::StatusCode::PROXY_AUTHENTICATION_REQUIRED {
                    ErrorKind::AuthenticationFailed
                } else {
                    ErrorKind::ProxyFailed
                };
                return Err(Error::new(
                    kind,
                    format!(
                        "the proxy answered CONNECT {} with {status}",
                        route.authority()
                    ),
                ));
            }
            other => {
                return Err(Error::new(
                    ErrorKind::ProxyFailed,
                    format!("unexpected answer to CONNECT: {other:?}"),
                ))
            }
        }
    }
}

fn proxy_protocol_error(e: envoi_proto::Error) -> Error {
    Error::new(ErrorKind::ProxyFailed, "the proxy's answer to CONNECT").with_source(e)
}

fn set_deadline(tcp: &TcpStream, deadline: Option<Instant>) -> std::io::Result<()> {
    let left = remaining(deadline)?;
    tcp.set_read_timeout(left)?;
    tcp.set_write_timeout(left)
}
