//! Proxies, against a real tinyproxy (from apt) that each test starts on loopback: `http` URLs
//! go in absolute-form, `https` URLs through a CONNECT tunnel, with Basic proxy credentials.

mod support;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use envoi::{EventKind, Proxy};
use support::*;

/// A tinyproxy process on a loopback port, stopped on drop.
struct Tinyproxy {
    child: Child,
    addr: SocketAddr,
    _dir: TempDir,
}

impl Tinyproxy {
    fn start(credentials: Option<(&str, &str)>) -> Tinyproxy {
        let binary = ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .expect("tinyproxy is not installed; scripts/test.sh installs it with apt");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = TempDir::new("tinyproxy");
        let mut config = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 50\nAllow 127.0.0.1\n\
             LogLevel Error\nDisableViaHeader Yes\n"
        );
        if let Some((user, password)) = credentials {
            config.push_str(&format!("BasicAuth {user} {password}\n"));
        }
        let path = dir.0.join("tinyproxy.conf");
        std::fs::write(&path, config).unwrap();
        let child = Command::new(binary)
            .arg("-d")
            .arg("-c")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tinyproxy starts");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let until = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < until, "tinyproxy did not listen on {addr}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Tinyproxy {
            child,
            addr,
            _dir: dir,
        }
    }

    fn proxy(&self) -> Proxy {
        Proxy::new("127.0.0.1", self.addr.port())
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "envoi-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The addresses the client connected to.
fn connected_to(builder: ClientBuilder) -> (envoi::blocking::Client, Arc<Mutex<Vec<SocketAddr>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let client = builder
        .observer(move |e| {
            if let EventKind::Connected { addr, .. } = e.kind {
                sink.lock().unwrap().push(addr);
            }
        })
        .build()
        .unwrap();
    (client, seen)
}

#[test]
fn http_url_goes_through_the_proxy_in_absolute_form() {
    let server = TestServer::start();
    let proxy = Tinyproxy::start(None);
    let (client, seen) = connected_to(builder().http_proxy(proxy.proxy()));
    let response = client.get(&server.url("/get?via=proxy")).send().unwrap();
    assert_eq!(response.status(), 200);
    let json: serde_json::Value = serde_json::from_slice(&response.bytes().unwrap()).unwrap();
    assert_eq!(json["args"]["via"], "proxy");
    assert_eq!(*seen.lock().unwrap(), [proxy.addr]);
}

#[test]
fn https_url_goes_through_a_connect_tunnel() {
    let server = TestServer::start();
    let proxy = Tinyproxy::start(None);
    let (client, seen) = connected_to(tls_builder(&server).https_proxy(proxy.proxy()));
    let response = client.get(&server.https_url("/get")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(*seen.lock().unwrap(), [proxy.addr]);
}

#[test]
fn proxy_credentials_are_sent_for_http_and_for_connect() {
    let server = TestServer::start();
    let proxy = Tinyproxy::start(Some(("alice", "s3cret")));
    let without = builder().http_proxy(proxy.proxy()).build().unwrap();
    assert_eq!(
        without.get(&server.url("/get")).send().unwrap().status(),
        407
    );
    let e = tls_builder(&server)
        .https_proxy(proxy.proxy())
        .build()
        .unwrap()
        .get(&server.https_url("/get"))
        .send()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthenticationFailed, "{e:#}");

    let with = proxy.proxy().basic_auth("alice", "s3cret");
    let client = tls_builder(&server)
        .http_proxy(with.clone())
        .https_proxy(with)
        .build()
        .unwrap();
    assert_eq!(
        client.get(&server.url("/get")).send().unwrap().status(),
        200
    );
    assert_eq!(
        client
            .get(&server.https_url("/get"))
            .send()
            .unwrap()
            .status(),
        200
    );
}

#[test]
fn no_proxy_hosts_are_reached_directly() {
    let server = TestServer::start();
    let proxy = Tinyproxy::start(None);
    let (client, seen) = connected_to(builder().http_proxy(proxy.proxy()).no_proxy(["127.0.0.1"]));
    client
        .get(&server.url("/get"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), [server.http_addr()]);
}

#[test]
fn the_connect_exchange_is_in_the_event_stream_of_every_front_end() {
    let server = TestServer::start();
    let proxy = Tinyproxy::start(Some(("alice", "s3cret")));
    let url = url::Url::parse(&server.https_url("/get")).unwrap();
    let authority = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let target = format!("CONNECT {authority} HTTP/1.1\r\n");
    let fronts: [&dyn FrontEnd; 3] = [&Blocking, &Async, &Poll];
    for fe in fronts {
        for (credentials, status) in [(true, 200), (false, 407)] {
            let seen: Arc<Mutex<Vec<EventKind>>> = Arc::default();
            let sink = Arc::clone(&seen);
            let mut via = proxy.proxy();
            if credentials {
                via = via.basic_auth("alice", "s3cret");
            }
            let builder = tls_builder(&server)
                .https_proxy(via)
                .observer(move |e| sink.lock().unwrap().push(e.kind.clone()));
            let _ = fe.fetch(builder, &get(&server.https_url("/get")));
            let kinds = seen.lock().unwrap();
            let asked: Vec<String> = kinds
                .iter()
                .filter_map(|k| match k {
                    EventKind::TunnelRequested { head } => {
                        Some(String::from_utf8_lossy(head).into_owned())
                    }
                    _ => None,
                })
                .collect();
            let answers: Vec<(u16, String)> = kinds
                .iter()
                .filter_map(|k| match k {
                    EventKind::TunnelAnswered { status, head } => {
                        Some((status.as_u16(), String::from_utf8_lossy(head).into_owned()))
                    }
                    _ => None,
                })
                .collect();
            assert_eq!(asked.len(), 1, "{asked:?}");
            assert!(asked[0].starts_with(&target), "{}", asked[0]);
            assert!(asked[0].ends_with("\r\n\r\n"), "{:?}", asked[0]);
            let has_credentials = asked[0]
                .to_ascii_lowercase()
                .contains("\r\nproxy-authorization: basic ");
            assert_eq!(has_credentials, credentials, "{}", asked[0]);
            assert_eq!(answers.len(), 1, "{answers:?}");
            assert_eq!(answers[0].0, status, "{answers:?}");
            assert!(answers[0].1.starts_with("HTTP/1."), "{answers:?}");
        }
    }
}
