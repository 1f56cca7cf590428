//! Proxies, against a real tinyproxy (from apt) that each test starts on loopback: `http` URLs
//! go in absolute-form, `https` URLs through a CONNECT tunnel, with Basic proxy credentials.
//! SOCKS5 proxies against the test server's SOCKS5 endpoint (every front end: names and
//! addresses, credentials, each failure reply) and against a real Dante (`danted`, from apt).

mod support;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use envoi::{EventKind, Proxy, ProxyKind, SocksFailure};
use envoi_testserver::{ClosedPort, SocksOptions, SocksTarget};
use support::*;

/// Every front end this build has.
const FRONT_ENDS: &[&dyn FrontEnd] = &[
    &Blocking,
    #[cfg(feature = "tokio")]
    &Async,
    #[cfg(feature = "poll")]
    &Poll,
];

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
    let response = client.get(server.url("/get?via=proxy")).send().unwrap();
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
    let response = client.get(server.https_url("/get")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(*seen.lock().unwrap(), [proxy.addr]);
}

#[test]
fn proxy_credentials_are_sent_for_http_and_for_connect() {
    let server = TestServer::start();
    let proxy = Tinyproxy::start(Some(("alice", "s3cret")));
    let without = builder().http_proxy(proxy.proxy()).build().unwrap();
    assert_eq!(
        without.get(server.url("/get")).send().unwrap().status(),
        407
    );
    let e = tls_builder(&server)
        .https_proxy(proxy.proxy())
        .build()
        .unwrap()
        .get(server.https_url("/get"))
        .send()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthenticationFailed, "{e:#}");

    let with = proxy.proxy().basic_auth("alice", "s3cret");
    let client = tls_builder(&server)
        .http_proxy(with.clone())
        .https_proxy(with)
        .build()
        .unwrap();
    assert_eq!(client.get(server.url("/get")).send().unwrap().status(), 200);
    assert_eq!(
        client
            .get(server.https_url("/get"))
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
        .get(server.url("/get"))
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
    for fe in FRONT_ENDS {
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

// ---- SOCKS5 ------------------------------------------------------------------------------

/// A builder whose http and https URLs both go through `proxy`, trusting the test CA.
fn via(server: &TestServer, proxy: Proxy) -> ClientBuilder {
    tls_builder(server)
        .http_proxy(proxy.clone())
        .https_proxy(proxy)
}

fn socks(kind: ProxyKind, addr: SocketAddr) -> Proxy {
    Proxy::new("127.0.0.1", addr.port()).with_kind(kind)
}

/// The first request head the client wrote, as text.
fn first_request_line(seen: &SeenEvents) -> String {
    seen.lock()
        .unwrap()
        .iter()
        .find_map(|k| match k {
            EventKind::SendingRequest { head } => Some(String::from_utf8_lossy(head).into_owned()),
            _ => None,
        })
        .and_then(|head| head.lines().next().map(str::to_owned))
        .unwrap_or_default()
}

#[test]
fn socks5h_sends_the_name_and_carries_http_and_https_on_every_front_end() {
    let server = TestServer::start();
    let port = server.http_addr().port();
    let http = format!("http://localhost:{port}/get?via=socks");
    let https = server.https_url("/get?via=socks");
    for fe in FRONT_ENDS {
        let before = server.socks5().requests().len();
        for url in [&http, &https] {
            let proxy = socks(ProxyKind::Socks5h, server.socks5_addr());
            let (builder, seen) = recording(via(&server, proxy));
            let outcome = fe.fetch(builder, &get(url)).unwrap();
            assert_eq!(outcome.status, 200, "{url}");
            assert_eq!(outcome.json()["args"]["via"], "socks", "{url}");
            // Through a SOCKS tunnel the request is the origin's: origin-form, not the
            // absolute-form an HTTP proxy gets.
            assert_eq!(
                first_request_line(&seen),
                "GET /get?via=socks HTTP/1.1",
                "{url}"
            );
        }
        let requests = server.socks5().requests();
        let targets: Vec<&SocksTarget> = requests[before..].iter().map(|r| &r.target).collect();
        let tls_port = server.https_addr().port();
        assert_eq!(
            targets,
            [
                &SocksTarget::Name("localhost".into(), port),
                &SocksTarget::Name("localhost".into(), tls_port),
            ]
        );
        // No credentials: only "no authentication" was offered.
        assert!(requests[before..].iter().all(|r| r.methods == [0]));
    }
}

#[test]
fn socks5_resolves_the_name_itself_with_the_clients_rules_and_sends_the_address() {
    let server = TestServer::start();
    let http = server.http_addr();
    let tls = server.https_addr();
    for fe in FRONT_ENDS {
        let before = server.socks5().requests().len();
        // The client's own overrides decide the address (the endpoint would not know the
        // name `origin.invalid`).
        let builder = || {
            via(&server, socks(ProxyKind::Socks5, server.socks5_addr()))
                .resolve("origin.invalid", http.port(), &[http])
                .resolve("localhost", tls.port(), &[tls])
        };
        let url = format!("http://origin.invalid:{}/get", http.port());
        assert_eq!(fe.fetch(builder(), &get(&url)).unwrap().status, 200);
        let outcome = fe
            .fetch(builder(), &get(&server.https_url("/get")))
            .unwrap();
        assert_eq!(outcome.status, 200);
        let requests = server.socks5().requests();
        let targets: Vec<&SocksTarget> = requests[before..].iter().map(|r| &r.target).collect();
        assert_eq!(
            targets,
            [&SocksTarget::Address(http), &SocksTarget::Address(tls)]
        );
    }
}

#[test]
fn ip_literals_go_as_addresses_with_either_kind() {
    let server = TestServer::start();
    let mut urls = vec![(server.url("/get"), server.http_addr())];
    if let (Some(url), Some(addr)) = (server.http_url_v6("/get"), server.http_addr_v6()) {
        urls.push((url, addr));
    }
    for kind in [ProxyKind::Socks5, ProxyKind::Socks5h] {
        for (url, addr) in &urls {
            let before = server.socks5().requests().len();
            let builder = via(&server, socks(kind, server.socks5_addr()));
            assert_eq!(Blocking.fetch(builder, &get(url)).unwrap().status, 200);
            let requests = server.socks5().requests();
            assert_eq!(requests[before..].len(), 1);
            assert_eq!(
                requests[before].target,
                SocksTarget::Address(*addr),
                "{kind:?}"
            );
        }
    }
}

#[test]
fn socks_credentials_are_sent_and_checked_on_every_front_end() {
    let server = TestServer::start();
    let endpoint = server
        .start_socks5(SocksOptions {
            credentials: Some(("alice".into(), "s3cret".into())),
            ..SocksOptions::default()
        })
        .unwrap();
    let proxy = socks(ProxyKind::Socks5h, endpoint.addr());
    let http = format!("http://localhost:{}/get", server.http_addr().port());
    for fe in FRONT_ENDS {
        for url in [&http, &server.https_url("/get")] {
            let right = via(&server, proxy.clone().basic_auth("alice", "s3cret"));
            assert_eq!(fe.fetch(right, &get(url)).unwrap().status, 200, "{url}");

            let wrong = via(&server, proxy.clone().basic_auth("alice", "nope"));
            let e = fe.fetch(wrong, &get(url)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AuthenticationFailed, "{e:#}");
            assert_eq!(
                e.socks_failure(),
                Some(SocksFailure::AuthenticationRejected)
            );

            let none = via(&server, proxy.clone());
            let e = fe.fetch(none, &get(url)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ProxyFailed, "{e:#}");
            assert_eq!(e.socks_failure(), Some(SocksFailure::NoAcceptableMethod));
        }
    }
    // Only the right credentials got as far as a request; they offered both methods.
    let requests = endpoint.requests();
    assert_eq!(requests.len(), 6);
    for request in requests {
        assert_eq!(request.methods, [0, 2]);
        assert_eq!(request.user.as_deref(), Some("alice"));
    }
}

#[test]
fn each_failure_reply_reaches_the_caller_as_its_own_failure() {
    let server = TestServer::start();
    for code in 1..=9u8 {
        let endpoint = server
            .start_socks5(SocksOptions {
                reply: Some(code),
                ..SocksOptions::default()
            })
            .unwrap();
        let expected = SocksFailure::from_reply(code).unwrap();
        for fe in FRONT_ENDS {
            for url in [server.url("/get"), server.https_url("/get")] {
                let builder = via(&server, socks(ProxyKind::Socks5h, endpoint.addr()));
                let e = fe.fetch(builder, &get(&url)).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::ProxyFailed, "{code}: {e:#}");
                assert_eq!(e.socks_failure(), Some(expected), "{code}: {e:#}");
                assert_eq!(expected.reply_code(), Some(code));
            }
        }
    }
}

#[test]
fn failures_of_the_proxy_itself_and_of_the_destination() {
    let server = TestServer::start();
    // Nothing listens: as for any connection.
    let closed = ClosedPort::new();
    // Accepts (in its backlog) and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let http_port = server.http_addr().port();
    for fe in FRONT_ENDS {
        let e = fe
            .fetch(
                via(&server, socks(ProxyKind::Socks5h, closed.addr())),
                &get(&server.url("/get")),
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::CantConnect, "{e:#}");
        assert_eq!(e.socks_failure(), None);

        let quick = via(
            &server,
            socks(ProxyKind::Socks5h, silent.local_addr().unwrap()),
        )
        .connect_timeout(Duration::from_millis(300));
        let e = fe.fetch(quick, &get(&server.url("/get"))).unwrap_err();
        assert_eq!(
            e.kind(),
            ErrorKind::Timeout(envoi::TimeoutPhase::Connect),
            "{e:#}"
        );

        // The endpoint resolves only loopback names: any other is "host unreachable".
        let e = fe
            .fetch(
                via(&server, socks(ProxyKind::Socks5h, server.socks5_addr())),
                &get(&format!("http://nowhere.invalid:{http_port}/")),
            )
            .unwrap_err();
        assert_eq!(
            e.socks_failure(),
            Some(SocksFailure::HostUnreachable),
            "{e:#}"
        );

        // socks5: the client resolves, and a name it cannot resolve never reaches the proxy.
        let before = server.socks5().requests().len();
        let resolver = |host: &str, _: u16| -> std::io::Result<Vec<SocketAddr>> {
            Err(std::io::Error::other(format!("no such host {host}")))
        };
        let builder =
            via(&server, socks(ProxyKind::Socks5, server.socks5_addr())).resolver(resolver);
        let e = fe
            .fetch(
                builder,
                &get(&format!("http://nowhere.invalid:{http_port}/")),
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::CantResolve, "{e:#}");
        assert_eq!(e.socks_failure(), Some(SocksFailure::TargetNotResolved));
        assert_eq!(server.socks5().requests().len(), before);

        // The destination refuses: reply 5.
        let url = format!("http://127.0.0.1:{}/", closed.port());
        let e = fe
            .fetch(
                via(&server, socks(ProxyKind::Socks5h, server.socks5_addr())),
                &get(&url),
            )
            .unwrap_err();
        assert_eq!(
            e.socks_failure(),
            Some(SocksFailure::ConnectionRefused),
            "{e:#}"
        );
    }
}

#[test]
fn a_name_or_credentials_too_long_fail_before_a_byte_is_sent() {
    let server = TestServer::start();
    let long = format!("http://{}.localhost/", "a".repeat(250));
    for fe in FRONT_ENDS {
        let before = server.socks5().requests().len();
        let builder = via(&server, socks(ProxyKind::Socks5h, server.socks5_addr()));
        let e = fe.fetch(builder, &get(&long)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e:#}");
        assert_eq!(e.socks_failure(), Some(SocksFailure::NameTooLong));
        let proxy =
            socks(ProxyKind::Socks5h, server.socks5_addr()).basic_auth(&"u".repeat(256), "p");
        let e = fe
            .fetch(via(&server, proxy), &get(&server.url("/get")))
            .unwrap_err();
        assert_eq!(e.socks_failure(), Some(SocksFailure::CredentialsTooLong));
        assert_eq!(server.socks5().requests().len(), before);
    }
}

#[test]
fn answers_in_pieces_and_a_bound_name_are_read_exactly_on_every_front_end() {
    let server = TestServer::start();
    let endpoint = server
        .start_socks5(SocksOptions {
            credentials: Some(("u".into(), "p".into())),
            bound_as_name: true,
            trickle: true,
            ..SocksOptions::default()
        })
        .unwrap();
    let proxy = socks(ProxyKind::Socks5h, endpoint.addr()).basic_auth("u", "p");
    for fe in FRONT_ENDS {
        for url in [server.url("/bytes/70000"), server.https_url("/bytes/70000")] {
            let (builder, seen) = recording(via(&server, proxy.clone()));
            let outcome = fe.fetch(builder, &get(&url)).unwrap();
            assert_eq!(outcome.body.len(), 70000, "{url}");
            let granted: Vec<String> = seen
                .lock()
                .unwrap()
                .iter()
                .filter_map(|k| match k {
                    EventKind::SocksGranted { bound } => Some(bound.clone()),
                    _ => None,
                })
                .collect();
            assert_eq!(granted.len(), 1, "{granted:?}");
            assert!(granted[0].starts_with("socks.localhost:"), "{granted:?}");
        }
    }
}

#[test]
fn the_socks_handshake_is_in_the_event_stream_of_every_front_end() {
    let server = TestServer::start();
    let endpoint = server
        .start_socks5(SocksOptions {
            credentials: Some(("u".into(), "p".into())),
            ..SocksOptions::default()
        })
        .unwrap();
    let tls_port = server.https_addr().port();
    let cases = [
        (ProxyKind::Socks5h, format!("localhost:{tls_port}"), true),
        (ProxyKind::Socks5, format!("127.0.0.1:{tls_port}"), false),
    ];
    for fe in FRONT_ENDS {
        for (kind, target, remote) in &cases {
            let proxy = socks(*kind, endpoint.addr()).basic_auth("u", "p");
            let builder =
                via(&server, proxy).resolve("localhost", tls_port, &[server.https_addr()]);
            let (builder, seen) = recording(builder);
            fe.fetch(builder, &get(&server.https_url("/get"))).unwrap();
            let kinds = seen.lock().unwrap();
            let position = |f: &dyn Fn(&EventKind) -> bool| kinds.iter().position(f);
            let connected = position(&|k| matches!(k, EventKind::Connected { .. }));
            let requested = position(&|k| {
                k == &EventKind::SocksRequested {
                    target: target.clone(),
                    remote_resolve: *remote,
                    authenticated: true,
                }
            });
            let granted = position(&|k| matches!(k, EventKind::SocksGranted { .. }));
            let tls = position(&|k| matches!(k, EventKind::TlsHandshakeStarted));
            assert!(
                connected < requested && requested < granted && granted < tls,
                "{kinds:#?}"
            );
            assert!(connected.is_some());
            assert!(!kinds
                .iter()
                .any(|k| matches!(k, EventKind::TunnelRequested { .. })));
        }
    }
}

#[test]
fn a_socks_connection_is_kept_alive_and_no_proxy_hosts_bypass_it() {
    let server = TestServer::start();
    let endpoint = server.start_socks5(SocksOptions::default()).unwrap();
    let proxy = socks(ProxyKind::Socks5h, endpoint.addr());
    let client = via(&server, proxy.clone()).build().unwrap();
    for _ in 0..3 {
        let response = client.get(server.url("/get")).send().unwrap();
        response.bytes().unwrap();
    }
    assert_eq!(endpoint.requests().len(), 1, "one tunnel, reused");

    let (direct, seen) = connected_to(via(&server, proxy).no_proxy(["127.0.0.1"]));
    direct
        .get(server.url("/get"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), [server.http_addr()]);
    assert_eq!(endpoint.requests().len(), 1);
}

// ---- Dante ---------------------------------------------------------------------------------

/// A Dante SOCKS server (`danted`, Debian's `dante-server`) on a loopback port, with its
/// configuration in a temporary directory; stopped on drop.
struct Danted {
    child: Child,
    addr: SocketAddr,
    dir: TempDir,
}

impl Danted {
    /// `method` is Dante's `socksmethod`: `none`, or `username` (checked against the
    /// system's users, so only a refusal can be tested without adding one).
    fn start(method: &str) -> Danted {
        let binary = PathBuf::from("/usr/sbin/danted");
        assert!(
            binary.exists(),
            "danted is not installed; scripts/test.sh installs dante-server with apt"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = TempDir::new(&format!("danted-{method}"));
        let log = dir.0.join("danted.log");
        let config = format!(
            "logoutput: {log}\n\
             internal: 127.0.0.1 port = {port}\n\
             external: 127.0.0.1\n\
             clientmethod: none\n\
             socksmethod: {method}\n\
             user.unprivileged: nobody\n\
             client pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 }}\n\
             socks pass {{ from: 127.0.0.0/8 to: 127.0.0.0/8 command: connect }}\n\
             socks block {{ from: 0.0.0.0/0 to: 0.0.0.0/0 }}\n",
            log = log.display()
        );
        let path = dir.0.join("danted.conf");
        std::fs::write(&path, config).unwrap();
        let child = Command::new(binary)
            .arg("-f")
            .arg(&path)
            .arg("-p")
            .arg(dir.0.join("danted.pid"))
            .arg("-N")
            .arg("1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("danted starts");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut danted = Danted { child, addr, dir };
        let until = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            if let Ok(Some(status)) = danted.child.try_wait() {
                panic!("danted exited with {status}: {}", danted.log());
            }
            assert!(
                Instant::now() < until,
                "danted did not listen on {addr}: {}",
                danted.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        danted
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("danted.log")).unwrap_or_default()
    }
}

impl Drop for Danted {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn danted_carries_http_and_https_for_both_kinds_and_refuses_unknown_users() {
    let server = TestServer::start();
    let dante = Danted::start("none");
    let http = format!(
        "http://localhost:{}/get?via=dante",
        server.http_addr().port()
    );
    let tls_port = server.https_addr().port();
    for kind in [ProxyKind::Socks5, ProxyKind::Socks5h] {
        // socks5: the client resolves `localhost` (pinned to IPv4 here, where the test
        // server listens); socks5h: Dante resolves it.
        let client = via(&server, socks(kind, dante.addr))
            .resolve(
                "localhost",
                server.http_addr().port(),
                &[server.http_addr()],
            )
            .resolve("localhost", tls_port, &[server.https_addr()])
            .build()
            .unwrap();
        let response = client.get(&http).send().unwrap();
        assert_eq!(response.status(), 200, "{kind:?}: {}", dante.log());
        let json: serde_json::Value = serde_json::from_slice(&response.bytes().unwrap()).unwrap();
        assert_eq!(json["args"]["via"], "dante");
        let response = client.get(server.https_url("/get")).send().unwrap();
        assert_eq!(response.status(), 200, "{kind:?}");
        // Dante's own answer to a destination nobody listens on.
        let closed = ClosedPort::new();
        let e = client
            .get(format!("http://{}/", closed.addr()))
            .send()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ProxyFailed, "{e:#}");
        assert!(e.socks_failure().is_some(), "{e:#}");
    }

    // Username authentication: Dante checks the system's users, so an unknown user is
    // refused (RFC 1929 status), and a client without credentials is offered no method.
    let dante = Danted::start("username");
    let proxy = socks(ProxyKind::Socks5h, dante.addr);
    let url = server.url("/get");
    let e = Blocking
        .fetch(
            via(&server, proxy.clone().basic_auth("envoi-no-such-user", "x")),
            &get(&url),
        )
        .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::AuthenticationFailed,
        "{e:#}: {}",
        dante.log()
    );
    assert_eq!(
        e.socks_failure(),
        Some(SocksFailure::AuthenticationRejected)
    );
    let e = Blocking.fetch(via(&server, proxy), &get(&url)).unwrap_err();
    assert_eq!(
        e.socks_failure(),
        Some(SocksFailure::NoAcceptableMethod),
        "{e:#}"
    );
}
