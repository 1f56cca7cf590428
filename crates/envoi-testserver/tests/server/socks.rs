//! The SOCKS5 endpoint, spoken to byte by byte: what it logs (a name or an address), the
//! credentials it requires, the reply code it can be told to send, the bound address as a
//! name, answers a byte at a time, and the requests it refuses on its own.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use envoi_testserver::{ClosedPort, SocksOptions, SocksTarget, TestServer};

use crate::support::{over, TIMEOUT};

fn open(addr: SocketAddr) -> TcpStream {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    tcp.set_write_timeout(Some(TIMEOUT)).unwrap();
    tcp
}

fn read<const N: usize>(tcp: &mut TcpStream) -> [u8; N] {
    let mut bytes = [0; N];
    tcp.read_exact(&mut bytes).unwrap();
    bytes
}

/// A CONNECT request for a name.
fn name_request(name: &str, port: u16) -> Vec<u8> {
    let mut request = vec![5, 1, 0, 3, name.len() as u8];
    request.extend_from_slice(name.as_bytes());
    request.extend_from_slice(&port.to_be_bytes());
    request
}

/// A CONNECT request for an IPv4 address.
fn address_request(addr: SocketAddr) -> Vec<u8> {
    let SocketAddr::V4(v4) = addr else {
        panic!("IPv4 only")
    };
    let mut request = vec![5, 1, 0, 1];
    request.extend_from_slice(&v4.ip().octets());
    request.extend_from_slice(&v4.port().to_be_bytes());
    request
}

/// Greets without authentication and sends `request`; the reply's first ten bytes.
fn connect(addr: SocketAddr, request: &[u8]) -> (TcpStream, [u8; 10]) {
    let mut tcp = open(addr);
    tcp.write_all(&[5, 1, 0]).unwrap();
    assert_eq!(read::<2>(&mut tcp), [5, 0]);
    tcp.write_all(request).unwrap();
    let reply = read::<10>(&mut tcp);
    (tcp, reply)
}

/// True when the peer closed (EOF or reset) without sending anything more.
fn closed(tcp: &mut TcpStream) -> bool {
    let mut byte = [0; 1];
    matches!(tcp.read(&mut byte), Ok(0) | Err(_))
}

#[test]
fn names_and_addresses_are_logged_and_relayed() {
    let server = TestServer::start();
    let http = server.http_addr();
    let (tcp, reply) = connect(
        server.socks5_addr(),
        &name_request("localhost", http.port()),
    );
    assert_eq!(
        reply[..4],
        [5, 0, 0, 1],
        "granted, with an IPv4 bound address"
    );
    let mut client = over(tcp, "localhost");
    assert_eq!(client.get("/get").unwrap().status, 200);
    let (tcp, reply) = connect(server.socks5_addr(), &address_request(http));
    assert_eq!(reply[1], 0);
    let mut client = over(tcp, "localhost");
    assert_eq!(client.get("/status/204").unwrap().status, 204);
    let requests = server.socks5().requests();
    let targets: Vec<&SocksTarget> = requests.iter().map(|r| &r.target).collect();
    assert_eq!(
        targets,
        [
            &SocksTarget::Name("localhost".into(), http.port()),
            &SocksTarget::Address(http)
        ]
    );
    assert!(targets[0].is_name() && !targets[1].is_name());
    assert!(requests
        .iter()
        .all(|r| r.methods == [0] && r.user.is_none()));
}

#[test]
fn it_refuses_what_it_must_not_or_cannot_do() {
    let server = TestServer::start();
    // Held until every case has run, so that "nothing listens" stays true.
    let refusing = ClosedPort::new();
    let outside: SocketAddr = "192.0.2.1:80".parse().unwrap();
    let mut bind_request = address_request(server.http_addr());
    bind_request[1] = 2; // BIND
    let mut bad_atyp = address_request(server.http_addr());
    bad_atyp[3] = 9;
    let cases: [(&str, Vec<u8>, u8); 5] = [
        ("not loopback", address_request(outside), 2),
        ("unknown name", name_request("example.com", 80), 4),
        ("nothing listens", address_request(refusing.addr()), 5),
        ("BIND", bind_request, 7),
        ("address type", bad_atyp, 8),
    ];
    for (what, request, code) in cases {
        let (mut tcp, reply) = connect(server.socks5_addr(), &request);
        assert_eq!(reply[..2], [5, code], "{what}");
        assert!(closed(&mut tcp), "{what}: closed after the refusal");
    }
}

#[test]
fn required_credentials_are_checked() {
    let server = TestServer::start();
    let socks = server
        .start_socks5(SocksOptions {
            credentials: Some(("alice".into(), "s3cret".into())),
            ..SocksOptions::default()
        })
        .unwrap();
    let http = server.http_addr();
    // Without username/password among the methods: none is acceptable.
    let mut tcp = open(socks.addr());
    tcp.write_all(&[5, 1, 0]).unwrap();
    assert_eq!(read::<2>(&mut tcp), [5, 0xff]);
    assert!(closed(&mut tcp));
    for (password, status) in [("nope", 1u8), ("s3cret", 0)] {
        let mut tcp = open(socks.addr());
        tcp.write_all(&[5, 2, 0, 2]).unwrap();
        assert_eq!(read::<2>(&mut tcp), [5, 2]);
        let mut auth = vec![1, 5];
        auth.extend_from_slice(b"alice");
        auth.push(password.len() as u8);
        auth.extend_from_slice(password.as_bytes());
        tcp.write_all(&auth).unwrap();
        assert_eq!(read::<2>(&mut tcp), [1, status], "{password}");
        if status != 0 {
            assert!(closed(&mut tcp));
            continue;
        }
        tcp.write_all(&address_request(http)).unwrap();
        assert_eq!(read::<10>(&mut tcp)[1], 0);
    }
    let requests = socks.requests();
    assert_eq!(requests.len(), 1, "only the accepted client got to CONNECT");
    assert_eq!(requests[0].user.as_deref(), Some("alice"));
    assert_eq!(requests[0].methods, [0, 2]);
}

#[test]
fn a_forced_reply_code_answers_every_request() {
    let server = TestServer::start();
    for code in [1u8, 5, 8, 42] {
        let socks = server
            .start_socks5(SocksOptions {
                reply: Some(code),
                ..SocksOptions::default()
            })
            .unwrap();
        let (mut tcp, reply) = connect(socks.addr(), &address_request(server.http_addr()));
        assert_eq!(reply[..2], [5, code]);
        assert!(closed(&mut tcp));
        assert_eq!(
            socks.requests().len(),
            1,
            "the request is logged all the same"
        );
    }
}

#[test]
fn a_bound_name_and_answers_in_pieces() {
    let server = TestServer::start();
    let socks = server
        .start_socks5(SocksOptions {
            bound_as_name: true,
            trickle: true,
            ..SocksOptions::default()
        })
        .unwrap();
    let mut tcp = open(socks.addr());
    tcp.write_all(&[5, 1, 0]).unwrap();
    // The bytes come one at a time (with a pause between them), and whole.
    assert_eq!(read::<2>(&mut tcp), [5, 0]);
    tcp.write_all(&name_request("localhost", server.http_addr().port()))
        .unwrap();
    let head = read::<5>(&mut tcp);
    assert_eq!(head[..4], [5, 0, 0, 3]);
    let mut name = vec![0; usize::from(head[4])];
    tcp.read_exact(&mut name).unwrap();
    assert_eq!(name, b"socks.localhost");
    let _port = read::<2>(&mut tcp);
    let mut client = over(tcp, "localhost");
    assert_eq!(client.get("/get").unwrap().status, 200);
}

#[test]
fn dropping_the_server_stops_every_socks_endpoint() {
    let server = TestServer::start();
    let extra = server.start_socks5(SocksOptions::default()).unwrap();
    let addrs = [server.socks5_addr(), extra.addr()];
    drop(server);
    for addr in addrs {
        assert!(
            TcpStream::connect_timeout(&addr, TIMEOUT).is_err(),
            "{addr} still accepts"
        );
    }
}
