//! Listeners and connections: accept, optional TLS handshake, then hyper's HTTP/1 server,
//! with a hand-off to the raw scripts for `/raw/*` paths.
//!
//! The hand-off works on any request of a connection, not only the first: the hyper service
//! sees a `/raw/` path, tells the connection task through a channel, and never answers. The
//! task then stops polling hyper, takes the socket back with `Connection::into_parts`, and
//! writes the scripted bytes itself. Hyper has written nothing for that request, and a
//! client that waits for each response before sending the next request (no pipelining) has
//! already received every earlier one, so it sees exactly the scripted bytes. Bytes hyper
//! had buffered but not written are lost, which only a pipelining client could notice.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::body::Body;
use crate::httpbin::{self, State};
use crate::raw::{self, RawRequest};

/// A client that has not finished its TLS handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests with more header fields than this get a 431 from hyper.
const MAX_REQUEST_HEADERS: usize = 1024;

/// An accepted connection, plain or TLS; the raw scripts need the TCP socket underneath
/// (to reset it), so TLS is not hidden behind a trait object.
pub(crate) enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Conn {
    /// The TCP socket under any TLS layer.
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(tcp) => tcp,
            Conn::Tls(tls) => tls.get_ref().0,
        }
    }
}

/// What handlers know about the connection a request came on.
#[derive(Debug, Clone)]
pub(crate) struct ConnInfo {
    pub(crate) peer: SocketAddr,
    pub(crate) local: SocketAddr,
    pub(crate) scheme: &'static str,
}

/// Runs the accept loop of one listener until `shutdown` changes or its sender drops.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = tls.map(TlsAcceptor::from);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        let (tcp, peer) = match accepted {
            Ok(pair) => pair,
            // Out of file descriptors and the like: back off instead of spinning.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let state = state.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = connection(tcp, peer, acceptor, state) => {}
                _ = shutdown.changed() => {}
            }
        });
    }
}

async fn connection(tcp: TcpStream, peer: SocketAddr, tls: Option<TlsAcceptor>, state: Arc<State>) {
    let Ok(local) = tcp.local_addr() else { return };
    let (conn, scheme) = match tls {
        None => (Conn::Plain(tcp), "http"),
        Some(acceptor) => match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
        {
            Ok(Ok(tls)) => (Conn::Tls(Box::new(tls)), "https"),
            _ => return,
        },
    };
    serve(
        conn,
        ConnInfo {
            peer,
            local,
            scheme,
        },
        state,
    )
    .await;
}

async fn serve(conn: Conn, info: ConnInfo, state: Arc<State>) {
    let (raw_tx, mut raw_rx) = mpsc::unbounded_channel();
    let service = service_fn(move |req| route(req, info.clone(), state.clone(), raw_tx.clone()));
    // hyper's default of 100 request headers is below what header-limit tests send.
    let mut http = http1::Builder::new()
        .max_headers(MAX_REQUEST_HEADERS)
        .serve_connection(TokioIo::new(conn), service);
    let raw = tokio::select! {
        _ = &mut http => None,
        Some(raw) = raw_rx.recv() => Some(raw),
    };
    if let Some(raw) = raw {
        let parts = http.into_parts();
        raw::serve(parts.io.into_inner(), raw).await;
    }
}

async fn route(
    req: Request<Incoming>,
    info: ConnInfo,
    state: Arc<State>,
    raw_tx: mpsc::UnboundedSender<RawRequest>,
) -> Result<Response<Body>, Infallible> {
    if let Some(raw) = RawRequest::from_uri(req.uri()) {
        // Hyper must write nothing for this request: never answer, and let the connection
        // task take the socket back.
        let _ = raw_tx.send(raw);
        std::future::pending::<()>().await;
    }
    Ok(httpbin::handle(req, &info, &state).await)
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Conn::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Conn::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            Conn::Tls(tls) => Pin::new(tls.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(tcp) => tcp.is_write_vectored(),
            Conn::Tls(tls) => tls.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Conn::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Conn::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}
