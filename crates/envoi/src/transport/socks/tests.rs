//! The SOCKS5 machine fed bytes: every reply code, each message split at every byte,
//! truncated replies, garbage, and random bytes that must never make it panic.

use std::io;
use std::sync::{Arc, Mutex};

use proptest::prelude::*;

use super::*;
use crate::event::{Event, Observer};
use std::error::Error as StdError;

fn sink() -> EventSink {
    EventSink::new(None, None, Instant::now())
}

fn v4(text: &str) -> Target {
    Target::Address(text.parse().unwrap())
}

fn name(host: &str, port: u16) -> Target {
    Target::Name(host.to_owned(), port)
}

/// What a conversation came to.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// Every byte the client wrote, in order.
    sent: Vec<u8>,
    /// The proxy's bytes the machine took, when it did not fail (on a failure, what it took
    /// of the piece that failed it is not told).
    taken: Option<usize>,
    /// The bound address once open, or the failure.
    end: Result<Target, (ErrorKind, Option<SocksFailure>)>,
}

/// Runs `handshake` against `from_proxy`, delivered in pieces cut at `cuts` (increasing
/// offsets). The client's output is drained whenever it has some; when the proxy's bytes run
/// out before the tunnel opens, the proxy is taken to have closed the connection.
fn converse(mut handshake: Handshake, from_proxy: &[u8], cuts: &[usize]) -> Outcome {
    let mut sink = sink();
    let mut sent = Vec::new();
    let mut taken = 0;
    let mut bounds: Vec<usize> = cuts.to_vec();
    bounds.push(from_proxy.len());
    let mut start = 0;
    let mut pieces = bounds.into_iter().map(|end| {
        let piece = &from_proxy[start..end.max(start)];
        start = end.max(start);
        piece
    });
    let mut piece: &[u8] = &[];
    let end = loop {
        match handshake.need() {
            Need::Open => break Ok(handshake.bound().cloned().unwrap()),
            Need::Write(bytes) => {
                let n = bytes.len();
                sent.extend_from_slice(bytes);
                handshake.wrote(n);
            }
            Need::Read(want) => {
                assert!((1..=MAX_REPLY).contains(&want), "asked for {want} bytes");
                while piece.is_empty() {
                    match pieces.next() {
                        Some(next) => piece = next,
                        None => break,
                    }
                }
                if piece.is_empty() {
                    let e = handshake.receive_eof();
                    break Err((e.kind(), e.socks_failure()));
                }
                // A front end reads at most what is asked for.
                let offered = &piece[..want.min(piece.len())];
                match handshake.receive(offered, &mut sink) {
                    Ok(n) => {
                        assert_eq!(n, offered.len(), "bytes asked for are taken");
                        taken += n;
                        piece = &piece[n..];
                    }
                    Err(e) => break Err((e.kind(), e.socks_failure())),
                }
            }
        }
    };
    let taken = end.is_ok().then_some(taken);
    Outcome { sent, taken, end }
}

/// A user name and password, as the machine takes them.
type Creds<'a> = Option<(&'a str, &'a str)>;

fn whole(handshake: Handshake, from_proxy: &[u8]) -> Outcome {
    converse(handshake, from_proxy, &[])
}

/// A granted reply with an IPv4 bound address.
const GRANTED_V4: &[u8] = &[5, 0, 0, 1, 10, 0, 0, 7, 0x1f, 0x90];

#[test]
fn greeting_request_and_granted_reply_without_credentials() {
    let hs = Handshake::new(v4("127.0.0.1:8080"), None).unwrap();
    let mut proxy = vec![5, 0];
    proxy.extend_from_slice(GRANTED_V4);
    let out = whole(hs, &proxy);
    assert_eq!(
        out.sent,
        [
            &[5u8, 1, 0][..],                        // greeting: no authentication
            &[5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90], // CONNECT 127.0.0.1:8080
        ]
        .concat()
    );
    assert_eq!(out.end, Ok(v4("10.0.0.7:8080")));
    assert_eq!(out.taken, Some(proxy.len()));
}

#[test]
fn username_password_sub_negotiation_then_a_name_request() {
    let hs = Handshake::new(name("example.test", 443), Some(("alice", "s3cret"))).unwrap();
    let mut proxy = vec![5, 2, 1, 0];
    proxy.extend_from_slice(GRANTED_V4);
    let out = whole(hs, &proxy);
    let mut expected = vec![5, 2, 0, 2]; // greeting: none or username/password
    expected.extend_from_slice(b"\x01\x05alice\x06s3cret");
    expected.extend_from_slice(b"\x05\x01\x00\x03\x0cexample.test\x01\xbb");
    assert_eq!(out.sent, expected);
    assert!(out.end.is_ok(), "{:?}", out.end);
}

#[test]
fn a_proxy_that_needs_no_authentication_is_not_sent_the_credentials() {
    let hs = Handshake::new(v4("127.0.0.1:80"), Some(("alice", "s3cret"))).unwrap();
    let mut proxy = vec![5, 0];
    proxy.extend_from_slice(GRANTED_V4);
    let out = whole(hs, &proxy);
    assert!(!out.sent.windows(5).any(|w| w == b"alice"));
    assert!(out.end.is_ok());
}

#[test]
fn ipv6_targets_go_as_sixteen_bytes() {
    let hs = Handshake::new(Target::Address("[::1]:443".parse().unwrap()), None).unwrap();
    let mut proxy = vec![5, 0];
    proxy.extend_from_slice(GRANTED_V4);
    let out = whole(hs, &proxy);
    let mut request = vec![5, 1, 0, 4];
    request.extend_from_slice(&[0; 15]);
    request.extend_from_slice(&[1, 0x01, 0xbb]);
    assert_eq!(&out.sent[3..], &request[..]);
}

#[test]
fn bound_addresses_of_every_type_are_read_whole() {
    let mut v6 = vec![5, 0, 0, 4];
    v6.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
    v6.extend_from_slice(&[0, 80]);
    let mut named = vec![5, 0, 0, 3, 11];
    named.extend_from_slice(b"proxy.local");
    named.extend_from_slice(&[0x04, 0x38]);
    let empty_name = vec![5, 0, 0, 3, 0, 0, 1];
    let cases: [(&[u8], Target); 4] = [
        (GRANTED_V4, v4("10.0.0.7:8080")),
        (&v6, Target::Address("[fe80::9]:80".parse().unwrap())),
        (&named, name("proxy.local", 1080)),
        (&empty_name, name("", 1)),
    ];
    for (reply, bound) in cases {
        let mut proxy = vec![5, 0];
        proxy.extend_from_slice(reply);
        // The origin's first bytes follow the reply: they are not the machine's to take.
        proxy.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        let hs = Handshake::new(v4("127.0.0.1:80"), None).unwrap();
        let out = whole(hs, &proxy);
        assert_eq!(out.end, Ok(bound));
        assert_eq!(out.taken, Some(2 + reply.len()));
    }
}

#[test]
fn receive_takes_nothing_past_the_reply_when_fed_more() {
    let mut hs = Handshake::new(v4("127.0.0.1:80"), None).unwrap();
    let mut sink = sink();
    hs.wrote(3);
    assert_eq!(hs.receive(&[5, 0, 5, 0], &mut sink).unwrap(), 2);
    let Need::Write(request) = hs.need() else {
        panic!("the request is due")
    };
    let n = request.len();
    hs.wrote(n);
    let mut tail = GRANTED_V4.to_vec();
    tail.extend_from_slice(b"\x16\x03\x01");
    assert_eq!(hs.receive(&tail, &mut sink).unwrap(), GRANTED_V4.len());
    assert!(hs.is_open());
    assert_eq!(hs.need(), Need::Open);
    assert_eq!(hs.receive(b"more", &mut sink).unwrap(), 0);
}

#[test]
fn every_reply_code_is_its_own_failure_and_kind() {
    let codes = [
        (1, SocksFailure::GeneralFailure),
        (2, SocksFailure::NotAllowed),
        (3, SocksFailure::NetworkUnreachable),
        (4, SocksFailure::HostUnreachable),
        (5, SocksFailure::ConnectionRefused),
        (6, SocksFailure::TtlExpired),
        (7, SocksFailure::CommandNotSupported),
        (8, SocksFailure::AddressTypeNotSupported),
        (9, SocksFailure::UnassignedReply(9)),
        (0xff, SocksFailure::UnassignedReply(0xff)),
    ];
    for (code, failure) in codes {
        let mut proxy = vec![5, 0];
        proxy.extend_from_slice(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
        let out = whole(Handshake::new(name("h.test", 80), None).unwrap(), &proxy);
        assert_eq!(
            out.end,
            Err((ErrorKind::ProxyFailed, Some(failure))),
            "code {code}"
        );
        assert_eq!(failure.reply_code(), Some(code));
        assert_eq!(SocksFailure::from_reply(code), Some(failure));
        // The failure is known from the second byte on: a proxy that sends only that much
        // and closes still gets its own error.
        let truncated = whole(
            Handshake::new(name("h.test", 80), None).unwrap(),
            &[5, 0, 5, code],
        );
        assert_eq!(truncated.end, out.end, "code {code}, truncated");
    }
}

#[test]
fn reply_errors_name_the_target_and_the_reason() {
    let mut hs = Handshake::new(name("h.test", 8443), None).unwrap();
    let mut sink = sink();
    hs.wrote(3);
    hs.receive(&[5, 0], &mut sink).unwrap();
    hs.wrote(64);
    let e = hs.receive(&[5, 5], &mut sink).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("h.test:8443"), "{text}");
    assert!(text.contains("connection refused (reply 5)"), "{text}");
    assert!(format!("{e:#}").contains("SOCKS5"), "{e:#}");
    // A failed handshake stays failed.
    let again = hs.receive(&[0], &mut sink).unwrap_err();
    assert_eq!(again.socks_failure(), Some(SocksFailure::ConnectionRefused));
    assert_eq!(
        hs.receive_eof().socks_failure(),
        Some(SocksFailure::ConnectionRefused)
    );
}

#[test]
fn method_selection_failures() {
    let cases: [(Creds<'_>, u8, ErrorKind, SocksFailure); 4] = [
        (
            None,
            0xff,
            ErrorKind::ProxyFailed,
            SocksFailure::NoAcceptableMethod,
        ),
        (
            Some(("u", "p")),
            0xff,
            ErrorKind::ProxyFailed,
            SocksFailure::NoAcceptableMethod,
        ),
        // Username/password was not offered without credentials.
        (
            None,
            0x02,
            ErrorKind::ProxyFailed,
            SocksFailure::UnofferedMethod(2),
        ),
        // GSS-API is never offered.
        (
            Some(("u", "p")),
            0x01,
            ErrorKind::ProxyFailed,
            SocksFailure::UnofferedMethod(1),
        ),
    ];
    for (credentials, method, kind, failure) in cases {
        let hs = Handshake::new(v4("127.0.0.1:80"), credentials).unwrap();
        let out = whole(hs, &[5, method]);
        assert_eq!(
            out.end,
            Err((kind, Some(failure))),
            "{credentials:?} {method}"
        );
        // Nothing beyond the greeting went out.
        assert!(out.sent.len() <= 4, "{:?}", out.sent);
    }
    let e = whole(
        Handshake::new(v4("127.0.0.1:80"), None).unwrap(),
        &[5, 0xff],
    );
    assert!(e.end.is_err());
}

#[test]
fn refused_credentials_are_authentication_failed() {
    for status in [1, 2, 0xff] {
        let hs = Handshake::new(v4("127.0.0.1:80"), Some(("alice", "wrong"))).unwrap();
        let out = whole(hs, &[5, 2, 1, status]);
        assert_eq!(
            out.end,
            Err((
                ErrorKind::AuthenticationFailed,
                Some(SocksFailure::AuthenticationRejected)
            ))
        );
        // No CONNECT after a refusal.
        assert_eq!(out.sent.len(), 4 + 3 + 5 + 5);
    }
}

#[test]
fn an_auth_status_with_the_socks_version_byte_is_accepted_as_curl_does() {
    let hs = Handshake::new(v4("127.0.0.1:80"), Some(("u", "p"))).unwrap();
    let mut proxy = vec![5, 2, 5, 0];
    proxy.extend_from_slice(GRANTED_V4);
    assert!(whole(hs, &proxy).end.is_ok());
}

#[test]
fn bad_version_bytes_fail_at_the_first_byte() {
    // (credentials, proxy bytes, the bad byte)
    let cases: [(Creds<'_>, &[u8], u8); 5] = [
        (None, &[4, 0], 4),
        (None, b"HTTP/1.1 400", b'H'),
        (Some(("u", "p")), &[5, 2, 2, 0], 2),
        (None, &[5, 0, 4, 0, 0, 1, 0, 0, 0, 0, 0, 0], 4),
        (None, &[5, 0, 0], 0),
    ];
    for (credentials, proxy, byte) in cases {
        let hs = Handshake::new(v4("127.0.0.1:80"), credentials).unwrap();
        let out = whole(hs, proxy);
        assert_eq!(
            out.end,
            Err((ErrorKind::ProxyFailed, Some(SocksFailure::BadVersion(byte)))),
            "{proxy:?}"
        );
    }
}

#[test]
fn an_unknown_address_type_is_a_malformed_reply() {
    for atyp in [0, 2, 5, 0xff] {
        let hs = Handshake::new(v4("127.0.0.1:80"), None).unwrap();
        let out = whole(hs, &[5, 0, 5, 0, 0, atyp, 1, 2, 3, 4, 5, 6]);
        assert_eq!(
            out.end,
            Err((ErrorKind::ProxyFailed, Some(SocksFailure::MalformedReply))),
            "atyp {atyp}"
        );
        // Checked as soon as the byte arrives: the proxy closing right after it makes no
        // difference.
        let hs = Handshake::new(v4("127.0.0.1:80"), None).unwrap();
        assert_eq!(whole(hs, &[5, 0, 5, 0, 0, atyp]).end, out.end);
    }
}

#[test]
fn truncated_answers_are_closed_at_every_length() {
    let transcripts: [(Creds<'_>, Vec<u8>); 2] = [
        (None, [&[5u8, 0][..], GRANTED_V4].concat()),
        (
            Some(("u", "p")),
            [&[5u8, 2, 1, 0, 5, 0, 0, 3, 4][..], b"name", &[0, 80]].concat(),
        ),
    ];
    for (credentials, transcript) in transcripts {
        for len in 0..transcript.len() {
            let hs = Handshake::new(v4("127.0.0.1:80"), credentials).unwrap();
            let out = whole(hs, &transcript[..len]);
            assert_eq!(
                out.end,
                Err((ErrorKind::ProxyFailed, Some(SocksFailure::Closed))),
                "{len} bytes"
            );
            assert_eq!(out.taken, None);
        }
        let hs = Handshake::new(v4("127.0.0.1:80"), credentials).unwrap();
        assert!(whole(hs, &transcript).end.is_ok());
    }
}

#[test]
fn closing_says_at_which_step() {
    let mut hs = Handshake::new(name("h.test", 80), Some(("u", "p"))).unwrap();
    hs.wrote(4);
    let text = hs.receive_eof().to_string();
    assert!(
        text.contains("before choosing an authentication method"),
        "{text}"
    );
    let mut hs = Handshake::new(name("h.test", 80), None).unwrap();
    hs.wrote(3);
    hs.receive(&[5, 0], &mut sink()).unwrap();
    hs.wrote(100);
    hs.receive(&[5, 0, 0], &mut sink()).unwrap();
    let text = hs.receive_eof().to_string();
    assert!(text.contains("CONNECT to h.test:80"), "{text}");
    assert!(text.contains("3 bytes"), "{text}");
}

/// Splits each transcript at every offset, then delivers it a byte at a time: the outcome
/// is the one-shot outcome every time.
#[test]
fn every_split_gives_the_one_shot_outcome() {
    let mut named_bound = vec![5, 2, 1, 0, 5, 0, 0, 3, 9];
    named_bound.extend_from_slice(b"bound.lan");
    named_bound.extend_from_slice(&[0x12, 0x34]);
    let transcripts: Vec<(Creds<'_>, Vec<u8>)> = vec![
        (None, [&[5u8, 0][..], GRANTED_V4].concat()),
        (Some(("user", "pass")), named_bound),
        (Some(("user", "pass")), vec![5, 2, 1, 1]),
        (None, vec![5, 0, 5, 4, 0, 1, 0, 0, 0, 0, 0, 0]),
        (None, vec![5, 0xff]),
        (None, vec![5, 0, 5, 0, 0, 9]),
    ];
    for (credentials, transcript) in transcripts {
        let fresh = || Handshake::new(name("origin.test", 443), credentials).unwrap();
        let once = whole(fresh(), &transcript);
        for cut in 0..=transcript.len() {
            assert_eq!(converse(fresh(), &transcript, &[cut]), once, "cut at {cut}");
        }
        let every_byte: Vec<usize> = (1..transcript.len()).collect();
        assert_eq!(converse(fresh(), &transcript, &every_byte), once);
    }
}

#[test]
fn names_and_credentials_too_long_are_refused_before_anything_is_sent() {
    let long = "a".repeat(256);
    let e = Handshake::new(name(&long, 80), None).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(e.socks_failure(), Some(SocksFailure::NameTooLong));
    assert!(e.to_string().contains("256 bytes"), "{e}");
    for credentials in [(long.as_str(), "p"), ("u", long.as_str())] {
        let e = Handshake::new(v4("127.0.0.1:80"), Some(credentials))
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert_eq!(e.socks_failure(), Some(SocksFailure::CredentialsTooLong));
        assert!(!e.to_string().contains(&long), "the secret stays out: {e}");
    }
    // 255 bytes fit, and go out with their length byte.
    let max = "b".repeat(255);
    let hs = Handshake::new(name(&max, 80), Some((&max, &max))).unwrap();
    let mut proxy = vec![5, 2, 1, 0];
    proxy.extend_from_slice(GRANTED_V4);
    let out = whole(hs, &proxy);
    assert!(out.end.is_ok());
    assert_eq!(out.sent.len(), 4 + (3 + 255 + 255) + (5 + 255 + 2));
}

#[test]
fn the_request_and_the_grant_are_events() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let observer: Observer = Arc::new(move |e: &Event| log.lock().unwrap().push(e.kind.clone()));
    let mut sink = EventSink::new(Some(observer), None, Instant::now());
    let mut hs = Handshake::new(name("origin.test", 443), Some(("u", "p"))).unwrap();
    hs.wrote(4);
    hs.receive(&[5, 2], &mut sink).unwrap();
    hs.wrote(7);
    hs.receive(&[1, 0], &mut sink).unwrap();
    hs.wrote(100);
    hs.receive(GRANTED_V4, &mut sink).unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            EventKind::SocksRequested {
                target: "origin.test:443".into(),
                remote_resolve: true,
                authenticated: true,
            },
            EventKind::SocksGranted {
                bound: "10.0.0.7:8080".into()
            },
        ]
    );
}

/// A socket that hands out one byte per read and would block on every other call.
struct Trickle {
    input: Vec<u8>,
    at: usize,
    output: Vec<u8>,
    block_next: bool,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.block_next = !self.block_next;
        if !self.block_next {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        if self.at == self.input.len() || buf.is_empty() {
            return Ok(0);
        }
        buf[0] = self.input[self.at];
        self.at += 1;
        Ok(1)
    }
}

impl Write for Trickle {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.block_next = !self.block_next;
        if !self.block_next {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        // One byte at a time: a short write.
        self.output.push(buf[0]);
        Ok(1)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn pump_stops_at_would_block_and_resumes_without_losing_a_byte() {
    let mut io = Trickle {
        input: [&[5u8, 0][..], GRANTED_V4, b"HTTP"].concat(),
        at: 0,
        output: Vec::new(),
        block_next: false,
    };
    let mut hs = Handshake::new(v4("127.0.0.1:80"), None).unwrap();
    let mut sink = sink();
    let mut steps = 0;
    while !pump(&mut io, &mut hs, &mut sink).unwrap() {
        steps += 1;
        assert!(steps < 100, "no progress");
    }
    assert!(steps > 10, "each would-block ends a step ({steps})");
    assert_eq!(
        io.output,
        [&[5u8, 1, 0][..], &[5, 1, 0, 1, 127, 0, 0, 1, 0, 80]].concat()
    );
    // The origin's bytes stay in the socket.
    assert_eq!(&io.input[io.at..], b"HTTP");
}

/// A socket that has everything the proxy will ever send already waiting: a read gets all
/// of it that fits.
struct Eager {
    input: io::Cursor<Vec<u8>>,
    output: Vec<u8>,
}

impl Read for Eager {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Eager {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn pump_reads_no_byte_past_the_reply_even_when_more_is_waiting() {
    let origin = b"\x16\x03\x01 the origin's first bytes";
    let named = [&[5u8, 0, 0, 3, 5][..], b"proxy", &[0, 80]].concat();
    for (credentials, answer) in [
        (None, [&[5u8, 0][..], GRANTED_V4].concat()),
        (Some(("u", "p")), [&[5u8, 2, 1, 0][..], &named].concat()),
    ] {
        let mut io = Eager {
            input: io::Cursor::new([answer.as_slice(), origin].concat()),
            output: Vec::new(),
        };
        let mut hs = Handshake::new(name("origin.test", 443), credentials).unwrap();
        assert!(pump(&mut io, &mut hs, &mut sink()).unwrap());
        let position = io.input.position() as usize;
        assert_eq!(&io.input.get_ref()[position..], origin);
    }
}

#[test]
fn pump_reports_a_closed_proxy_and_a_failed_socket() {
    let mut closed = io::Cursor::new(Vec::new());
    let mut hs = Handshake::new(v4("127.0.0.1:80"), None).unwrap();
    // A cursor writes the greeting, then reads end of file.
    let e = pump(&mut closed, &mut hs, &mut sink()).unwrap_err();
    assert_eq!(e.socks_failure(), Some(SocksFailure::Closed));

    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::ErrorKind::ConnectionReset.into())
        }
    }
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut hs = Handshake::new(v4("127.0.0.1:80"), None).unwrap();
    let e = pump(&mut Broken, &mut hs, &mut sink()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProxyFailed);
    assert!(StdError::source(&e).is_some());
}

#[test]
fn targets_follow_the_proxy_kind_and_ip_literals() {
    use crate::proxy::Proxy;
    let route = |host: &str, proxy: Proxy| Route {
        https: false,
        host: host.to_owned(),
        port: 80,
        proxy: Some(proxy),
    };
    let local = Proxy::socks5("127.0.0.1", 1080);
    let remote = Proxy::socks5h("127.0.0.1", 1080);
    assert_eq!(target(&route("origin.test", local.clone())), None);
    assert_eq!(
        target(&route("origin.test", remote.clone())),
        Some(name("origin.test", 80))
    );
    for proxy in [local, remote] {
        assert_eq!(
            target(&route("::1", proxy.clone())),
            Some(Target::Address("[::1]:80".parse().unwrap()))
        );
        assert_eq!(target(&route("192.0.2.1", proxy)), Some(v4("192.0.2.1:80")));
    }
    let r = route("origin.test", Proxy::socks5("127.0.0.1", 1080));
    let addrs: Vec<SocketAddr> = vec!["[::1]:80".parse().unwrap(), "127.0.0.1:80".parse().unwrap()];
    assert_eq!(resolved(&r, &addrs).unwrap(), Target::Address(addrs[0]));
    let e = resolved(&r, &[]).unwrap_err();
    assert_eq!(e.socks_failure(), Some(SocksFailure::TargetNotResolved));
    let e = unresolved(&r, Error::new(ErrorKind::CantResolve, "origin.test"));
    assert_eq!(e.kind(), ErrorKind::CantResolve);
    assert_eq!(e.socks_failure(), Some(SocksFailure::TargetNotResolved));
    let timeout = Error::new(ErrorKind::Timeout(TimeoutPhase::Resolve), "origin.test");
    assert_eq!(unresolved(&r, timeout).socks_failure(), None);
}

fn credentials_strategy() -> impl Strategy<Value = Option<(String, String)>> {
    prop::option::of(("[a-z]{0,8}", "[a-z]{0,8}"))
}

fn target_strategy() -> impl Strategy<Value = Target> {
    prop_oneof![
        any::<(u32, u16)>().prop_map(|(ip, port)| Target::Address(SocketAddr::new(
            Ipv4Addr::from(ip).into(),
            port
        ))),
        any::<(u128, u16)>().prop_map(|(ip, port)| Target::Address(SocketAddr::new(
            Ipv6Addr::from(ip).into(),
            port
        ))),
        ("[a-z0-9.-]{1,40}", any::<u16>()).prop_map(|(n, port)| Target::Name(n, port)),
    ]
}

/// A proxy's answers that grant the request: method, status if authenticating, reply.
fn granting_strategy() -> impl Strategy<Value = (bool, Vec<u8>)> {
    let bound = prop_oneof![
        any::<[u8; 4]>().prop_map(|a| [&[1u8][..], &a].concat()),
        any::<[u8; 16]>().prop_map(|a| [&[4u8][..], &a].concat()),
        prop::collection::vec(any::<u8>(), 0..=255)
            .prop_map(|n| [&[3u8, n.len() as u8][..], &n].concat()),
    ];
    (any::<bool>(), bound, any::<u16>()).prop_map(|(auth, bound, port)| {
        let mut bytes = if auth { vec![5, 2, 1, 0] } else { vec![5, 0] };
        bytes.extend_from_slice(&[5, 0, 0]);
        bytes.extend_from_slice(&bound);
        bytes.extend_from_slice(&port.to_be_bytes());
        (auth, bytes)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the proxy sends, in whatever pieces, the machine never panics, never takes
    /// more than it is given, asks for at most one reply's worth, and ends open or failed.
    #[test]
    fn random_bytes_never_panic(
        credentials in credentials_strategy(),
        target in target_strategy(),
        // Valid openings that take the noise to each step: the method selection, the
        // authentication status, the reply's code, its address type.
        prefix in prop_oneof![
            Just(vec![]),
            Just(vec![5u8]),
            Just(vec![5u8, 2]),
            Just(vec![5u8, 0]),
            Just(vec![5u8, 2, 1, 0]),
            Just(vec![5u8, 0, 5]),
            Just(vec![5u8, 0, 5, 0, 0]),
            Just(vec![5u8, 2, 1, 0, 5, 0, 0]),
        ],
        // Mostly the small values the protocol gives meaning to (versions, methods, codes,
        // address types), some of anything.
        noise in prop::collection::vec(prop_oneof![3 => 0u8..=9, 1 => any::<u8>()], 0..600),
        cuts in prop::collection::vec(0usize..600, 0..20),
    ) {
        let credentials = credentials.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
        let hs = Handshake::new(target, credentials).unwrap();
        let bytes = [prefix, noise].concat();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
        cuts.sort_unstable();
        let out = converse(hs, &bytes, &cuts);
        prop_assert!(out.taken.unwrap_or(0) <= bytes.len());
        if let Err((kind, failure)) = out.end {
            prop_assert!(failure.is_some(), "{kind:?} without a SOCKS failure");
            prop_assert_eq!(kind, failure.unwrap().error_kind());
        }
    }

    /// Any granting answer, split anywhere, opens the tunnel, takes exactly its bytes and
    /// leaves the origin's.
    #[test]
    fn granting_answers_open_at_any_split(
        (auth, answer) in granting_strategy(),
        target in target_strategy(),
        cuts in prop::collection::vec(0usize..300, 0..10),
    ) {
        let credentials = auth.then_some(("user", "pass"));
        let bytes = [answer.as_slice(), b"origin bytes"].concat();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
        cuts.sort_unstable();
        let out = converse(Handshake::new(target.clone(), credentials).unwrap(), &bytes, &cuts);
        prop_assert!(out.end.is_ok(), "{:?}", out.end);
        prop_assert_eq!(out.taken, Some(answer.len()));
        prop_assert_eq!(out, whole(Handshake::new(target, credentials).unwrap(), &answer));
    }
}
