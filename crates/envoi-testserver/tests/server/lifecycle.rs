//! Starting and stopping: both entry points serve, and dropping the server frees its ports.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use envoi_testserver::{CertKind, TestServer};

use crate::support::{connect, TIMEOUT};

#[test]
fn dropping_the_server_closes_its_listeners() {
    let server = TestServer::start();
    let addrs = [
        server.http_addr(),
        server.https_addr(),
        server.tls_addr(CertKind::Expired),
    ];
    assert_eq!(connect(server.http_addr()).get("/get").unwrap().status, 200);
    drop(server);
    for addr in addrs {
        assert!(
            TcpStream::connect_timeout(&addr, TIMEOUT).is_err(),
            "{addr} still accepts"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_async_serves_on_the_callers_runtime() {
    let server = TestServer::start_async().await;
    let addr = server.http_addr();
    let status =
        tokio::task::spawn_blocking(move || connect(addr).get("/status/201").unwrap().status)
            .await
            .unwrap();
    assert_eq!(status, 201);
    drop(server);
    // The accept loop ends on the caller's runtime, a moment after the drop.
    let refused = tokio::task::spawn_blocking(move || refused_within(addr, Duration::from_secs(5)));
    assert!(refused.await.unwrap(), "{addr} still accepts");
}

#[test]
fn two_servers_have_distinct_ports_and_distinct_cas() {
    let (a, b) = (TestServer::start(), TestServer::start());
    assert_ne!(a.http_addr(), b.http_addr());
    assert_ne!(a.ca_cert_der(), b.ca_cert_der());
}

/// Whether connecting to `addr` is refused before `limit` passes.
fn refused_within(addr: SocketAddr, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, TIMEOUT).is_err() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}
