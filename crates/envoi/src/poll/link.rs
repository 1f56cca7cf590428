//! Opening a connection one step at a time: resolution on the resolver thread, a non-blocking
//! TCP connect, a CONNECT tunnel through an HTTP proxy for https or a SOCKS5 tunnel (the
//! shared handshake machine, on the non-blocking socket), then the TLS handshake. Each step
//! does what can be done now and returns; the connect deadline bounds the whole.

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls_pki_types::ServerName;

use super::connect::Connector;
use super::resolver::{self, Pending};
use super::stream::{PollStream, Transport};
use super::Status;
use crate::config::Config;
use crate::error::{Error, ErrorKind, TimeoutPhase};
use crate::event::{EventKind, EventSink};
use crate::transport::route::Route;
#[cfg(feature = "socks")]
use crate::transport::socks;
use crate::transport::tunnel;

/// What TLS needs to start: the shared configuration and the name to verify and send.
#[derive(Clone)]
pub(crate) struct TlsSetup {
    pub(crate) config: Arc<rustls::ClientConfig>,
    pub(crate) name: ServerName<'static>,
}

/// A connection being opened.
pub(crate) struct Opening {
    step: Step,
    /// The phase the current step belongs to, for errors and deadlines (kept apart from
    /// `step`, which is moved out while it runs).
    phase: TimeoutPhase,
    route: Route,
    tls: Option<TlsSetup>,
    config: Arc<Config>,
    peer: Option<SocketAddr>,
}

enum Step {
    Resolving(Pending),
    Connecting(Connector),
    Tunneling {
        tcp: TcpStream,
        proto: Box<envoi_proto::Connection>,
        out: Vec<u8>,
        written: usize,
    },
    /// The origin's name being resolved for a socks5 proxy, which is sent an address.
    #[cfg(feature = "socks")]
    SocksResolving {
        tcp: TcpStream,
        pending: Pending,
    },
    /// The SOCKS5 handshake with the proxy.
    #[cfg(feature = "socks")]
    Socks {
        tcp: TcpStream,
        handshake: Box<socks::Handshake>,
    },
    Handshaking(PollStream),
    /// Transient: the value while a step is being replaced.
    Gone,
}

impl Opening {
    /// Starts opening a connection for `route`: queues the resolution of the host (or of
    /// the proxy) to connect to.
    pub(crate) fn start(
        config: Arc<Config>,
        route: Route,
        tls: Option<TlsSetup>,
        sink: &mut EventSink,
    ) -> Self {
        let (host, port) = route.connect_target();
        sink.emit(EventKind::Resolving {
            host: host.to_owned(),
        });
        let pending = resolver::resolve(Arc::clone(&config), host, port);
        Opening {
            step: Step::Resolving(pending),
            phase: TimeoutPhase::Resolve,
            route,
            tls,
            config,
            peer: None,
        }
    }

    /// Starts TLS over a stream the caller provides (no resolution, no TCP).
    pub(crate) fn over(
        config: Arc<Config>,
        route: Route,
        transport: Transport,
        tls: TlsSetup,
        sink: &mut EventSink,
    ) -> Result<Self, Error> {
        sink.emit(EventKind::TlsHandshakeStarted);
        let stream = PollStream::tls(transport, &tls.config, tls.name.clone())?;
        Ok(Opening {
            step: Step::Handshaking(stream),
            phase: TimeoutPhase::Tls,
            route,
            tls: Some(tls),
            config,
            peer: None,
        })
    }

    /// The route being opened.
    pub(crate) fn route(&self) -> &Route {
        &self.route
    }

    /// Resolving, or connecting (TCP, tunnel and TLS alike, as Godot reports them).
    pub(crate) fn status(&self) -> Status {
        match self.phase {
            TimeoutPhase::Resolve => Status::Resolving,
            _ => Status::Connecting,
        }
    }

    /// The status a failure of the current step leaves the client in.
    pub(crate) fn failed_status(&self) -> Status {
        match self.phase {
            TimeoutPhase::Resolve => Status::CantResolve,
            TimeoutPhase::Tls => Status::TlsHandshakeError,
            _ => Status::CantConnect,
        }
    }

    /// The phase a deadline running out now would be reported in.
    pub(crate) fn phase(&self) -> TimeoutPhase {
        self.phase
    }

    /// Advances as far as possible without blocking. Returns the open stream and its peer
    /// address once the connection is ready for a request.
    pub(crate) fn step(
        &mut self,
        now: Instant,
        sink: &mut EventSink,
    ) -> Result<Option<(PollStream, Option<SocketAddr>)>, Error> {
        loop {
            match std::mem::replace(&mut self.step, Step::Gone) {
                Step::Resolving(mut pending) => match pending.try_answer() {
                    None => {
                        self.step = Step::Resolving(pending);
                        return Ok(None);
                    }
                    Some(answer) => self.resolved(answer?, sink),
                },
                Step::Connecting(mut connector) => match connector.step(now, sink)? {
                    None => {
                        self.step = Step::Connecting(connector);
                        return Ok(None);
                    }
                    Some((tcp, peer)) => {
                        if let Some(open) = self.connected(tcp, peer, sink)? {
                            return Ok(Some(open));
                        }
                    }
                },
                Step::Tunneling {
                    mut tcp,
                    mut proto,
                    out,
                    mut written,
                } => {
                    if tunnel_step(&mut tcp, &mut proto, &out, &mut written, &self.route, sink)? {
                        if let Some(open) = self.start_tls(Transport::Tcp(tcp), sink)? {
                            return Ok(Some(open));
                        }
                    } else {
                        self.step = Step::Tunneling {
                            tcp,
                            proto,
                            out,
                            written,
                        };
                        return Ok(None);
                    }
                }
                #[cfg(feature = "socks")]
                Step::SocksResolving { tcp, mut pending } => match pending.try_answer() {
                    None => {
                        self.step = Step::SocksResolving { tcp, pending };
                        return Ok(None);
                    }
                    Some(answer) => {
                        let addrs = answer.map_err(|e| socks::unresolved(&self.route, e))?;
                        let target = socks::resolved(&self.route, &addrs)?;
                        self.phase = TimeoutPhase::Connect;
                        let handshake = Box::new(socks::start(&self.route, target)?);
                        self.step = Step::Socks { tcp, handshake };
                    }
                },
                #[cfg(feature = "socks")]
                Step::Socks {
                    mut tcp,
                    mut handshake,
                } => {
                    // A few hundred bytes at most each way: bounded work per step.
                    if !socks::pump(&mut tcp, &mut handshake, sink)? {
                        self.step = Step::Socks { tcp, handshake };
                        return Ok(None);
                    }
                    if !self.route.https {
                        return Ok(Some((PollStream::plain(Transport::Tcp(tcp)), self.peer)));
                    }
                    if let Some(open) = self.start_tls(Transport::Tcp(tcp), sink)? {
                        return Ok(Some(open));
                    }
                }
                Step::Handshaking(mut stream) => {
                    if !stream.handshake()? {
                        self.step = Step::Handshaking(stream);
                        return Ok(None);
                    }
                    let version = stream.tls_version().unwrap_or_else(|| "TLS".to_owned());
                    sink.emit(EventKind::TlsHandshakeDone { version });
                    return Ok(Some((stream, self.peer)));
                }
                Step::Gone => return Err(Error::new(ErrorKind::CantConnect, "connection lost")),
            }
        }
    }

    fn resolved(&mut self, addrs: Vec<SocketAddr>, sink: &mut EventSink) {
        sink.emit(EventKind::Resolved {
            addrs: addrs.clone(),
        });
        self.step = Step::Connecting(Connector::new(addrs));
        self.phase = TimeoutPhase::Connect;
    }

    /// TCP is up: open the tunnel (CONNECT or SOCKS5), start TLS, or hand the plain stream
    /// over.
    fn connected(
        &mut self,
        tcp: TcpStream,
        peer: SocketAddr,
        sink: &mut EventSink,
    ) -> Result<Option<(PollStream, Option<SocketAddr>)>, Error> {
        self.peer = Some(peer);
        sink.emit(EventKind::Connected {
            addr: peer,
            reused: false,
        });
        if self.route.is_tunnel() {
            let (proto, out) = tunnel::request(&self.config, &self.route, sink)?;
            self.step = Step::Tunneling {
                tcp,
                proto: Box::new(proto),
                out,
                written: 0,
            };
            return Ok(None);
        }
        #[cfg(feature = "socks")]
        if self.route.is_socks() {
            self.step = match socks::target(&self.route) {
                Some(target) => Step::Socks {
                    tcp,
                    handshake: Box::new(socks::start(&self.route, target)?),
                },
                None => {
                    // socks5: the client resolves the origin's name, on the resolver thread.
                    self.phase = TimeoutPhase::Resolve;
                    let pending = resolver::resolve(
                        Arc::clone(&self.config),
                        &self.route.host,
                        self.route.port,
                    );
                    Step::SocksResolving { tcp, pending }
                }
            };
            return Ok(None);
        }
        if self.route.https {
            return self.start_tls(Transport::Tcp(tcp), sink);
        }
        Ok(Some((PollStream::plain(Transport::Tcp(tcp)), Some(peer))))
    }

    fn start_tls(
        &mut self,
        transport: Transport,
        sink: &mut EventSink,
    ) -> Result<Option<(PollStream, Option<SocketAddr>)>, Error> {
        let tls = self
            .tls
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::TlsHandshake, "TLS is not configured"))?;
        sink.emit(EventKind::TlsHandshakeStarted);
        self.phase = TimeoutPhase::Tls;
        self.step = Step::Handshaking(PollStream::tls(transport, &tls.config, tls.name.clone())?);
        Ok(None)
    }

    /// Waits up to `max` for the current step to be able to move (the opt-in blocking mode).
    pub(crate) fn wait(&mut self, max: Duration) {
        match &mut self.step {
            Step::Resolving(pending) => pending.wait(max),
            Step::Connecting(connector) => connector.wait(max),
            Step::Tunneling {
                tcp, out, written, ..
            } => super::connect::wait_for(tcp, *written < out.len(), max),
            #[cfg(feature = "socks")]
            Step::SocksResolving { pending, .. } => pending.wait(max),
            #[cfg(feature = "socks")]
            Step::Socks { tcp, handshake } => {
                let write = matches!(handshake.need(), socks::Need::Write(_));
                super::connect::wait_for(tcp, write, max)
            }
            Step::Handshaking(stream) => stream.wait(false, max),
            Step::Gone => {}
        }
    }
}

/// Writes the CONNECT request and reads the proxy's answer as far as the socket allows; true
/// once the tunnel is open. The decisions are the shared tunnel code's.
fn tunnel_step(
    tcp: &mut TcpStream,
    proto: &mut envoi_proto::Connection,
    out: &[u8],
    written: &mut usize,
    route: &Route,
    sink: &mut EventSink,
) -> Result<bool, Error> {
    use std::io::{ErrorKind as Io, Read, Write};
    let failed = |e: std::io::Error| {
        Error::new(ErrorKind::ProxyFailed, "proxy connection failed").with_source(e)
    };
    while *written < out.len() {
        match tcp.write(&out[*written..]) {
            Ok(0) => return Err(failed(Io::WriteZero.into())),
            Ok(n) => *written += n,
            Err(e) if e.kind() == Io::WouldBlock => return Ok(false),
            Err(e) if e.kind() == Io::Interrupted => {}
            Err(e) => return Err(failed(e)),
        }
    }
    loop {
        if tunnel::answer(proto, route, sink)? {
            return Ok(true);
        }
        match proto.receive_with(4096, |buf| tcp.read(buf)) {
            Ok(0) => proto.receive_eof(),
            Ok(_) => {}
            Err(e) if e.kind() == Io::WouldBlock => return Ok(false),
            Err(e) if e.kind() == Io::Interrupted => {}
            Err(e) => return Err(failed(e)),
        }
    }
}
