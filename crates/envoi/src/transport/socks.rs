//! SOCKS5 tunnels (RFC 1928) with username/password authentication (RFC 1929), written once
//! as a sans-IO state machine that every front end drives: [`Handshake::need`] says which
//! bytes to write or how many to read, and [`Handshake::receive`] takes the proxy's bytes in
//! any split.
//!
//! ```text
//!  start ─► greeting ─► AwaitMethod ─ 00 ───────────────────────────┐
//!                          │ 02 (credentials given)                  ▼
//!                          └─► user/password ─► AwaitAuth ─ 00 ─► CONNECT ─► AwaitReply ─ 00 ─► Open
//!
//!  Any other byte where one of these is expected, or the proxy closing, ends in Failed.
//! ```
//!
//! The machine never asks for more bytes than the message it waits for still lacks, so a
//! front end that reads at most what [`Need::Read`] says leaves every byte after the proxy's
//! last reply (the origin's TLS or HTTP bytes) in the socket. A host name or a credential too
//! long for the protocol fails in [`Handshake::new`], before anything is written.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Instant;

use crate::config::Config;
use crate::error::{Error, ErrorKind, TimeoutPhase};
use crate::event::{EventKind, EventSink};
use crate::proxy::ProxyKind;
use crate::transport::dns;
use crate::transport::route::Route;
use crate::transport::stream::{is_timeout, remaining};
pub use failure::SocksFailure;
use failure::{failed, SocksError};

mod failure;

/// The version byte of SOCKS5 messages.
const VERSION: u8 = 5;
/// The version byte of the username/password sub-negotiation (RFC 1929).
const AUTH_VERSION: u8 = 1;
/// Method: no authentication.
const NO_AUTH: u8 = 0x00;
/// Method: username/password (RFC 1929).
const USER_PASSWORD: u8 = 0x02;
/// The method selection that refuses every method offered.
const NO_ACCEPTABLE_METHOD: u8 = 0xFF;
/// Command: CONNECT.
const CONNECT: u8 = 0x01;
/// Address types.
const ATYP_IPV4: u8 = 1;
const ATYP_NAME: u8 = 3;
const ATYP_IPV6: u8 = 4;
/// The longest host name, user name or password a message can carry (one length byte).
pub(crate) const MAX_FIELD: usize = 255;
/// The longest message the proxy sends: a reply with a 255-byte bound name.
pub(crate) const MAX_REPLY: usize = 4 + 1 + MAX_FIELD + 2;
/// The bytes of a reply before its length is known: VER REP RSV ATYP and the first byte of
/// the address (a name's length).
const REPLY_PREFIX: usize = 5;

/// What the CONNECT request asks the proxy to connect to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// An address: IPv4 or IPv6.
    Address(SocketAddr),
    /// A host name for the proxy to resolve (socks5h).
    Name(String, u16),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Address(addr) => write!(f, "{addr}"),
            Target::Name(name, port) => write!(f, "{name}:{port}"),
        }
    }
}

/// What a front end does next for the handshake.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Need<'a> {
    /// Write these bytes, then report them with [`Handshake::wrote`].
    Write(&'a [u8]),
    /// Read at most this many bytes (at least one) and feed them to [`Handshake::receive`].
    Read(usize),
    /// The tunnel is open: the connection now carries the origin's bytes.
    Open,
}

/// Where the handshake stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The greeting is sent or being sent; the method selection is awaited (2 bytes).
    AwaitMethod,
    /// The username and password are sent or being sent; the status is awaited (2 bytes).
    AwaitAuth,
    /// The CONNECT request is sent or being sent; the reply is awaited (10 bytes or more).
    AwaitReply,
    /// The reply granted the request.
    Open,
    /// The handshake failed; every later [`Handshake::receive`] repeats the failure.
    Failed(SocksFailure),
}

/// One SOCKS5 handshake: greeting, optional username/password, CONNECT, reply.
pub(crate) struct Handshake {
    state: State,
    target: Target,
    credentials: Option<(Vec<u8>, Vec<u8>)>,
    authenticated: bool,
    /// The message being sent, and how much of it reached the socket.
    out: Vec<u8>,
    written: usize,
    /// The bytes received so far of the message awaited.
    reply: Vec<u8>,
    /// The address the proxy reported binding, once open.
    bound: Option<Target>,
}

impl Handshake {
    /// A handshake asking for a tunnel to `target`, offering username/password when
    /// `credentials` are given (and no authentication in any case). A host name or a
    /// credential over 255 bytes is refused here, before anything is sent.
    pub(crate) fn new(target: Target, credentials: Option<(&str, &str)>) -> Result<Self, Error> {
        if let Target::Name(name, _) = &target {
            if name.len() > MAX_FIELD {
                return Err(failed(
                    SocksFailure::NameTooLong,
                    format!(
                        "a SOCKS5 proxy cannot be sent a host name of {} bytes (at most {MAX_FIELD})",
                        name.len()
                    ),
                ));
            }
        }
        if let Some((user, password)) = credentials {
            if user.len() > MAX_FIELD || password.len() > MAX_FIELD {
                return Err(failed(
                    SocksFailure::CredentialsTooLong,
                    format!(
                        "SOCKS5 credentials are at most {MAX_FIELD} bytes each (user {} bytes, password {} bytes)",
                        user.len(),
                        password.len()
                    ),
                ));
            }
        }
        let credentials = credentials.map(|(u, p)| (u.as_bytes().to_vec(), p.as_bytes().to_vec()));
        let greeting = if credentials.is_some() {
            vec![VERSION, 2, NO_AUTH, USER_PASSWORD]
        } else {
            vec![VERSION, 1, NO_AUTH]
        };
        Ok(Handshake {
            state: State::AwaitMethod,
            target,
            credentials,
            authenticated: false,
            out: greeting,
            written: 0,
            reply: Vec::with_capacity(MAX_REPLY),
            bound: None,
        })
    }

    /// What to do next: write, read, or nothing more (open). After a failure, `Read(1)`:
    /// [`receive`](Self::receive) then repeats the failure.
    pub(crate) fn need(&self) -> Need<'_> {
        if self.written < self.out.len() {
            return Need::Write(&self.out[self.written..]);
        }
        match self.state {
            State::Open => Need::Open,
            State::Failed(_) => Need::Read(1),
            State::AwaitMethod | State::AwaitAuth => Need::Read(2 - self.reply.len()),
            State::AwaitReply => Need::Read(self.reply_len() - self.reply.len()),
        }
    }

    /// Notes that `n` more bytes of [`Need::Write`] reached the socket.
    pub(crate) fn wrote(&mut self, n: usize) {
        self.written = (self.written + n).min(self.out.len());
    }

    /// True once the proxy granted the tunnel.
    #[cfg(test)]
    fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// The address the proxy reported binding for the tunnel, once open.
    #[cfg(test)]
    fn bound(&self) -> Option<&Target> {
        self.bound.as_ref()
    }

    /// Takes bytes from the proxy: at most what the awaited messages still lack, checking each
    /// byte as it comes. Returns how many were taken; the rest (bytes after the last reply,
    /// which a front end reading at most [`Need::Read`] never has) belongs to the origin.
    pub(crate) fn receive(&mut self, bytes: &[u8], sink: &mut EventSink) -> Result<usize, Error> {
        let mut used = 0;
        loop {
            if let State::Failed(failure) = self.state {
                return Err(self.error(failure));
            }
            let Need::Read(want) = self.need() else {
                return Ok(used);
            };
            if used == bytes.len() {
                return Ok(used);
            }
            let take = want.min(bytes.len() - used);
            self.reply.extend_from_slice(&bytes[used..used + take]);
            used += take;
            if let Err(failure) = self.advance(sink) {
                self.state = State::Failed(failure);
                return Err(self.error(failure));
            }
        }
    }

    /// The proxy closed the connection: the error for the step the handshake was at.
    pub(crate) fn receive_eof(&mut self) -> Error {
        if let State::Failed(failure) = self.state {
            return self.error(failure);
        }
        let step = match self.state {
            State::AwaitMethod => "before choosing an authentication method".to_owned(),
            State::AwaitAuth => "before answering the username and password".to_owned(),
            _ => format!("before granting CONNECT to {}", self.target),
        };
        let received = match self.reply.len() {
            0 => String::new(),
            n => format!(" ({n} bytes of its answer received)"),
        };
        self.state = State::Failed(SocksFailure::Closed);
        failed(
            SocksFailure::Closed,
            format!("the SOCKS5 proxy closed the connection {step}{received}"),
        )
    }

    /// The length of the reply awaited: the prefix until it is in, then the whole.
    fn reply_len(&self) -> usize {
        if self.reply.len() < REPLY_PREFIX {
            return REPLY_PREFIX;
        }
        let address = match self.reply[3] {
            ATYP_IPV4 => 4,
            ATYP_IPV6 => 16,
            // ATYP_NAME: a length byte, then the name.
            _ => 1 + usize::from(self.reply[4]),
        };
        4 + address + 2
    }

    /// Checks the bytes received so far of the awaited message, and moves on once it is whole.
    fn advance(&mut self, sink: &mut EventSink) -> Result<(), SocksFailure> {
        match self.state {
            State::AwaitMethod => {
                expect_version(&self.reply, &[VERSION])?;
                let Some(&method) = self.reply.get(1) else {
                    return Ok(());
                };
                match method {
                    NO_AUTH => {
                        self.send_request(sink);
                        Ok(())
                    }
                    USER_PASSWORD if self.credentials.is_some() => {
                        self.send_credentials();
                        Ok(())
                    }
                    NO_ACCEPTABLE_METHOD => Err(SocksFailure::NoAcceptableMethod),
                    other => Err(SocksFailure::UnofferedMethod(other)),
                }
            }
            State::AwaitAuth => {
                // RFC 1929 answers with version 1; some servers answer with the SOCKS
                // version, 5, which curl accepts too (it ignores the byte).
                expect_version(&self.reply, &[AUTH_VERSION, VERSION])?;
                match self.reply.get(1) {
                    None => Ok(()),
                    Some(0) => {
                        self.authenticated = true;
                        self.send_request(sink);
                        Ok(())
                    }
                    Some(_) => Err(SocksFailure::AuthenticationRejected),
                }
            }
            State::AwaitReply => {
                expect_version(&self.reply, &[VERSION])?;
                if let Some(failure) = self.reply.get(1).and_then(|c| SocksFailure::from_reply(*c))
                {
                    return Err(failure);
                }
                // The reserved byte (2) should be 0; like curl, any value is let through.
                if let Some(atyp) = self.reply.get(3) {
                    if ![ATYP_IPV4, ATYP_NAME, ATYP_IPV6].contains(atyp) {
                        return Err(SocksFailure::MalformedReply);
                    }
                }
                if self.reply.len() < self.reply_len() {
                    return Ok(());
                }
                let bound = parse_address(self.reply[3], &self.reply[4..]);
                sink.emit(EventKind::SocksGranted {
                    bound: bound.to_string(),
                });
                self.bound = Some(bound);
                self.state = State::Open;
                self.reply.clear();
                Ok(())
            }
            State::Open | State::Failed(_) => Ok(()),
        }
    }

    /// Queues RFC 1929's request: VER ULEN UNAME PLEN PASSWD.
    fn send_credentials(&mut self) {
        let (user, password) = self
            .credentials
            .as_ref()
            .map_or((&[][..], &[][..]), |(u, p)| (u.as_slice(), p.as_slice()));
        let mut message = Vec::with_capacity(3 + user.len() + password.len());
        message.push(AUTH_VERSION);
        // Lengths were checked in `new`.
        message.push(user.len() as u8);
        message.extend_from_slice(user);
        message.push(password.len() as u8);
        message.extend_from_slice(password);
        self.queue(message, State::AwaitAuth);
    }

    /// Queues the CONNECT request: VER CMD RSV ATYP DST.ADDR DST.PORT.
    fn send_request(&mut self, sink: &mut EventSink) {
        let mut message = vec![VERSION, CONNECT, 0];
        let port = match &self.target {
            Target::Address(addr) => {
                match addr.ip() {
                    IpAddr::V4(ip) => {
                        message.push(ATYP_IPV4);
                        message.extend_from_slice(&ip.octets());
                    }
                    IpAddr::V6(ip) => {
                        message.push(ATYP_IPV6);
                        message.extend_from_slice(&ip.octets());
                    }
                }
                addr.port()
            }
            Target::Name(name, port) => {
                message.push(ATYP_NAME);
                // The length was checked in `new`.
                message.push(name.len() as u8);
                message.extend_from_slice(name.as_bytes());
                *port
            }
        };
        message.extend_from_slice(&port.to_be_bytes());
        sink.emit(EventKind::SocksRequested {
            target: self.target.to_string(),
            remote_resolve: matches!(self.target, Target::Name(..)),
            authenticated: self.authenticated,
        });
        self.queue(message, State::AwaitReply);
    }

    fn queue(&mut self, message: Vec<u8>, next: State) {
        self.out = message;
        self.written = 0;
        self.reply.clear();
        self.state = next;
    }

    /// The error for `failure` at this point of the handshake, naming the target.
    fn error(&self, failure: SocksFailure) -> Error {
        let message = match failure {
            f if f.reply_code().is_some() => {
                format!("the SOCKS5 proxy could not connect to {}: {f}", self.target)
            }
            SocksFailure::NoAcceptableMethod if self.credentials.is_none() => {
                format!("the SOCKS5 proxy accepts no connection without credentials ({failure})")
            }
            other => format!("SOCKS5 handshake for {}: {other}", self.target),
        };
        failed(failure, message)
    }
}

/// Checks the first byte of a message against the versions allowed there.
fn expect_version(message: &[u8], allowed: &[u8]) -> Result<(), SocksFailure> {
    match message.first() {
        Some(byte) if !allowed.contains(byte) => Err(SocksFailure::BadVersion(*byte)),
        _ => Ok(()),
    }
}

/// The bound address of a whole reply: `atyp`, then the address and the port.
fn parse_address(atyp: u8, rest: &[u8]) -> Target {
    let port_at = |at: usize| u16::from_be_bytes([rest[at], rest[at + 1]]);
    match atyp {
        ATYP_IPV4 => {
            let ip = Ipv4Addr::new(rest[0], rest[1], rest[2], rest[3]);
            Target::Address(SocketAddr::new(ip.into(), port_at(4)))
        }
        ATYP_IPV6 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&rest[..16]);
            Target::Address(SocketAddr::new(Ipv6Addr::from(octets).into(), port_at(16)))
        }
        _ => {
            let len = usize::from(rest[0]);
            let name = String::from_utf8_lossy(&rest[1..1 + len]).into_owned();
            Target::Name(name, port_at(1 + len))
        }
    }
}

// ---- What every front end shares around the machine ------------------------------------

/// The destination of the route's CONNECT request when it is known without resolving: an IP
/// literal (sent as an address, whatever the kind, as curl does), or the host name for a
/// socks5h proxy to resolve. `None` for a socks5 proxy and a host name: the client resolves
/// it first, then sends [`resolved`]'s address.
pub(crate) fn target(route: &Route) -> Option<Target> {
    if let Ok(ip) = route.host.parse::<IpAddr>() {
        return Some(Target::Address(SocketAddr::new(ip, route.port)));
    }
    let kind = route.proxy.as_ref().map(|p| p.kind());
    (kind == Some(ProxyKind::Socks5h)).then(|| Target::Name(route.host.clone(), route.port))
}

/// The destination once the origin's name resolved (socks5): the first address in the
/// client's order (as curl sends the first).
pub(crate) fn resolved(route: &Route, addrs: &[SocketAddr]) -> Result<Target, Error> {
    addrs.first().map(|a| Target::Address(*a)).ok_or_else(|| {
        failed(
            SocksFailure::TargetNotResolved,
            format!("{} has no address", route.host),
        )
    })
}

/// A failed resolution of the origin's name for a socks5 proxy: could-not-resolve carries
/// [`SocksFailure::TargetNotResolved`] (curl calls it a SOCKS failure); a timeout stays as is.
pub(crate) fn unresolved(route: &Route, error: Error) -> Error {
    if error.kind() != ErrorKind::CantResolve {
        return error;
    }
    Error::new(
        ErrorKind::CantResolve,
        format!("{} (to send its address to the SOCKS5 proxy)", route.host),
    )
    .with_source(SocksError {
        failure: SocksFailure::TargetNotResolved,
        source: Some(Box::new(error)),
    })
}

/// The handshake for `route` to `target`, with the proxy's credentials.
pub(crate) fn start(route: &Route, target: Target) -> Result<Handshake, Error> {
    let credentials = route.proxy.as_ref().and_then(|p| p.credentials());
    Handshake::new(target, credentials)
}

/// Moves the handshake's bytes over `io` as far as they go without waiting: writes what is
/// to be written, and reads no more than the handshake needs, so no byte meant for TLS or
/// HTTP is taken from the socket. `Ok(true)` once the tunnel is open, `Ok(false)` when the
/// socket would block (a non-blocking socket) or its timeout ran out (a blocking one). The
/// poll front end calls it once per step: each message is a few hundred bytes at most.
pub(crate) fn pump(
    io: &mut (impl Read + Write),
    handshake: &mut Handshake,
    sink: &mut EventSink,
) -> Result<bool, Error> {
    let mut buf = [0u8; MAX_REPLY];
    loop {
        match handshake.need() {
            Need::Open => return Ok(true),
            Need::Write(bytes) => match io.write(bytes) {
                Ok(0) => return Err(io_failed(io::ErrorKind::WriteZero.into())),
                Ok(n) => handshake.wrote(n),
                Err(e) if is_timeout(&e) => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_failed(e)),
            },
            Need::Read(want) => match io.read(&mut buf[..want.min(MAX_REPLY)]) {
                Ok(0) => return Err(handshake.receive_eof()),
                Ok(n) => {
                    handshake.receive(&buf[..n], sink)?;
                }
                Err(e) if is_timeout(&e) => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_failed(e)),
            },
        }
    }
}

/// The connection to the proxy failed during the handshake.
pub(crate) fn io_failed(e: io::Error) -> Error {
    Error::new(
        ErrorKind::ProxyFailed,
        "the connection to the SOCKS5 proxy failed",
    )
    .with_source(e)
}

/// The blocking front end: resolves the origin's name if the proxy is sent an address, then
/// runs the handshake on `tcp` within the connect deadline.
pub(crate) fn connect(
    config: &Config,
    route: &Route,
    tcp: &mut TcpStream,
    deadline: Option<Instant>,
    sink: &mut EventSink,
) -> Result<(), Error> {
    let target = match target(route) {
        Some(target) => target,
        None => {
            let addrs = dns::resolve(config, &route.host, route.port, deadline)
                .map_err(|e| unresolved(route, e))?;
            resolved(route, &addrs)?
        }
    };
    let mut handshake = start(route, target)?;
    let timed_out = || {
        Error::new(
            ErrorKind::Timeout(TimeoutPhase::Connect),
            "SOCKS5 handshake",
        )
    };
    loop {
        let left = remaining(deadline).map_err(|_| timed_out())?;
        tcp.set_read_timeout(left)
            .and_then(|()| tcp.set_write_timeout(left))
            .map_err(io_failed)?;
        if pump(tcp, &mut handshake, sink)? {
            return Ok(());
        }
        // The socket's timeout ran out: the next `remaining` says the deadline passed.
    }
}

#[cfg(test)]
mod tests;
