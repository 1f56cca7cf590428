//! Differential tests against the `url` crate on generated inputs.

use super::{ParseError, Url};
use proptest::prelude::*;
use proptest::sample::select;

/// Pieces most inputs are made of; repeats weight them.
const COMMON: &[&str] = &[
    "/",
    "/",
    "/",
    "//",
    "\\",
    ".",
    "..",
    "..",
    "%2e",
    "%2E",
    "?",
    "?",
    "#",
    ":",
    ":",
    "@",
    "a",
    "a",
    "B",
    "x.y",
    "-",
    "_",
    "~",
    "0",
    "1",
    "80",
    "443",
    "255",
    "256",
    "65535",
    "65536",
    "4294967295",
    "99999",
];

/// Pieces aimed at host, IPv4, IPv6 and port parsing.
const HOSTY: &[&str] = &[
    "[",
    "]",
    "::1",
    "::",
    "1:2:3:4:5:6:7:8",
    "::ffff:1.2.3.4",
    "0:0:1::",
    "1.2.3.4",
    "0x7f",
    "0X7F",
    "0x",
    "07",
    "08",
    "010",
    "0.0.0.0",
    "1.2.3",
    "1.2",
    "999",
    "1.",
    ".1",
    "a.1",
    "1.a",
    "com",
    "EXAMPLE",
    "ex%41mple",
    "%31",
    "%2f",
    "%00",
    "%20",
    "%zz",
    "%",
    "%41",
    "%7e",
    "%C3%A9",
    "%ff",
    "u:p@",
    "@h",
    "::%",
    "1:2:3:4:5:6:1.2.3.4",
    "::1.2.3.4",
    "::01.2.3.4",
    "::256.2.3.4",
    "fffff::",
    "ab--c",
];

/// Characters with special percent-encoding or validity rules.
const RARE: &[&str] = &[
    " ",
    "\t",
    "\n",
    "\r",
    "\u{0}",
    "\u{1}",
    "\u{7f}",
    "'",
    "\"",
    "<",
    ">",
    "`",
    "{",
    "}",
    "|",
    "^",
    ";",
    "=",
    "&",
    "+",
    ",",
    "$",
    "!",
    "*",
    "(",
    ")",
    "[",
    "é",
    "ü.example",
    "\u{ff0e}",
    "Ⅷ",
    "ß",
    "😀",
    "\u{ad}",
    "\u{200d}",
    "\u{fffd}",
    "%2e%2e",
    ".%2E",
    "%2E.",
    "xn--",
    "xn--9ca",
    "XN--nxasmq6b",
    "xn--a",
    "xn--zz-",
];

const SCHEMES: &[&str] = &[
    "http:",
    "https:",
    "http://",
    "https://",
    "HTTP://",
    "HtTpS:",
    "ws://",
    "wss:",
    "ftp://",
    "FTP:",
    " http://",
    "\u{1}https://",
    "ht\ttp://",
    "http:\\\\",
    "http:/",
    "https:///",
];

/// How references start decides how `join` treats them.
const REFERENCE_STARTS: &[&str] = &[
    "", "", "/", "//", "///", "\\", "\\\\", "/\\", "\\/", "//\\", "?", "#", ".", "..", "../", "./",
    "http:", "https:", "ws:", "ftp:", "http:/", "http:\\", "mailto:", "foo:", "foo://", "file:",
];

const PORTS: &[&str] = &[
    "",
    "80",
    "443",
    "8080",
    "0",
    "65535",
    "65536",
    "1a",
    "x80",
    "+80",
    "１",
    "000000000443",
    "-1",
];

const BASES: &[&str] = &[
    "http://a/b/c/d;p?q#f",
    "https://user:pw@example.com:8443/x/y/?q=1",
    "http://[::1]/",
    "http://1.2.3.4/a",
    "http://h",
    "ws://h/p/q",
    "wss://h:1/",
    "ftp://f/d/",
    "mailto:x@y",
    "socks5://proxy:1080/a/b",
    "foo:/p/q",
];

fn piece() -> impl Strategy<Value = &'static str> {
    prop_oneof![6 => select(COMMON), 3 => select(HOSTY), 2 => select(RARE)]
}

fn tail() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..14).prop_map(|pieces| pieces.concat())
}

fn absolute() -> impl Strategy<Value = String> {
    (select(SCHEMES), tail()).prop_map(|(scheme, tail)| scheme.to_owned() + &tail)
}

fn pieces(
    strategy: impl Strategy<Value = &'static str>,
    max: usize,
) -> impl Strategy<Value = String> {
    prop::collection::vec(strategy, 0..max).prop_map(|pieces| pieces.concat())
}

const IPV6_PIECES: &[&str] = &[
    "0",
    "0",
    "0",
    "1",
    "00",
    "0000",
    "ffff",
    "FFFF",
    "abcd",
    "12345",
    "0ffff",
    "00001",
    "g",
    "",
    "",
    "1.2.3.4",
    "01.2.3.4",
    "1.2.3",
    "255.255.255.255",
    "256.1.1.1",
    "0.0.0.0",
    "1.2.3.4.",
];

/// IPv6 literals: free-form pieces, or eight pieces with zero runs of every
/// length, maybe an IPv4 tail, and maybe a range (possibly empty) cut to `::`.
fn ipv6() -> impl Strategy<Value = String> {
    let free =
        prop::collection::vec(select(IPV6_PIECES), 0..10).prop_map(|pieces| pieces.join(":"));
    let value = prop_oneof![3 => Just(0u16), 1 => any::<u16>()];
    let shape = (any::<bool>(), 0..=8usize, 0..4usize, any::<bool>());
    let full =
        (prop::collection::vec(value, 8), shape).prop_map(|(values, (ipv4, start, len, cut))| {
            let mut text: Vec<String> = values.iter().map(|v| format!("{v:x}")).collect();
            if ipv4 {
                let ([a, b], [c, d]) = (values[6].to_be_bytes(), values[7].to_be_bytes());
                text.truncate(6);
                text.push(format!("{a}.{b}.{c}.{d}"));
            }
            let end = (start + len).min(text.len());
            let start = start.min(end);
            match cut {
                true => format!("{}::{}", text[..start].join(":"), text[end..].join(":")),
                false => text.join(":"),
            }
        });
    prop_oneof![free, full].prop_map(|address| format!("[{address}]"))
}

/// IPv4 in all WHATWG number forms, valid or not.
fn ipv4() -> impl Strategy<Value = String> {
    let number = select(
        &[
            "0",
            "1",
            "127",
            "255",
            "256",
            "0x",
            "0x7f",
            "0XFF",
            "0x100",
            "07",
            "08",
            "010",
            "00",
            "65535",
            "16777216",
            "4294967295",
            "4294967296",
            "99999999999999999999",
            "0x100000000",
            "",
            "a",
            "1e",
        ][..],
    );
    (
        prop::collection::vec(number, 1..6),
        select(&["", "", "."][..]),
    )
        .prop_map(|(numbers, end)| numbers.join(".") + end)
}

/// Shaped like `scheme://userinfo@host:port/path?query#fragment`, so that more
/// inputs get past the host and exercise the later components.
fn structured() -> impl Strategy<Value = String> {
    let host = prop_oneof![
        4 => pieces(select(&["a", "b", "x", ".", "-", "EXAMPLE", "com", "0x7f", "1", "%41"][..]), 5),
        2 => select(HOSTY).prop_map(String::from),
        2 => ipv4(),
        2 => ipv6(),
        1 => pieces(piece(), 3),
    ];
    let optional = |prefix: &'static str, body: BoxedStrategy<String>| {
        prop::option::of(body)
            .prop_map(move |s| s.map(|s| format!("{prefix}{s}")).unwrap_or_default())
    };
    (
        select(SCHEMES),
        optional("", pieces(piece(), 4).prop_map(|s| s + "@").boxed()),
        host,
        optional(":", select(PORTS).prop_map(String::from).boxed()),
        optional("/", pieces(piece(), 8).boxed()),
        optional("?", pieces(piece(), 5).boxed()),
        optional("#", pieces(piece(), 5).boxed()),
    )
        .prop_map(|(scheme, userinfo, host, port, path, query, fragment)| {
            format!("{scheme}{userinfo}{host}{port}{path}{query}{fragment}")
        })
}

/// Any characters, controls and URL delimiters included (`any::<String>()`
/// has no control characters).
fn arbitrary_text() -> impl Strategy<Value = String> {
    let delimiters = select(&['/', '\\', ':', '@', '[', ']', '%', '?', '#', '.', '0', 'x'][..]);
    let character = prop_oneof![any::<char>(), (0u8..0x80).prop_map(char::from), delimiters];
    prop::collection::vec(character, 0..48).prop_map(String::from_iter)
}

/// Without the `url` feature, hosts needing IDNA are a documented error.
fn needs_idna_feature(ours: &Result<Url, ParseError>) -> bool {
    #[cfg(not(feature = "url"))]
    {
        matches!(ours, Err(e) if *e == ParseError::IDNA_UNSUPPORTED)
    }
    #[cfg(feature = "url")]
    {
        let _ = ours;
        false
    }
}

/// `xn--` labels are not validated without the `url` feature (documented).
fn unchecked_punycode(input: &str) -> bool {
    cfg!(not(feature = "url")) && input.to_ascii_lowercase().contains("xn--")
}

/// `url` 2.5 never lets `..` remove a segment that looks like a Windows drive letter
/// (`a|`), in any scheme; the WHATWG standard (and Node's `URL`) only keeps it for
/// `file:`, and so do we (documented).
fn drive_letter_segment(input: &str) -> bool {
    input.split(['/', '\\']).any(|segment| {
        let bytes = segment.as_bytes();
        bytes.len() == 2 && bytes[0].is_ascii_alphabetic() && matches!(bytes[1], b'|' | b':')
    })
}

fn same(
    ours: &Result<Url, ParseError>,
    theirs: &Result<url::Url, url::ParseError>,
    input: &str,
) -> Result<(), TestCaseError> {
    if needs_idna_feature(ours) || unchecked_punycode(input) || drive_letter_segment(input) {
        return Ok(());
    }
    match (ours, theirs) {
        (Ok(ours), Ok(theirs)) => {
            prop_assert_eq!(ours.as_str(), theirs.as_str(), "input {:?}", input);
            prop_assert_eq!(ours.scheme(), theirs.scheme());
            prop_assert_eq!(ours.username(), theirs.username());
            prop_assert_eq!(ours.password(), theirs.password());
            prop_assert_eq!(ours.host_str(), theirs.host_str());
            prop_assert_eq!(
                ours.host().map(|h| format!("{h:?}")),
                theirs.host().map(|h| format!("{h:?}"))
            );
            prop_assert_eq!(ours.port(), theirs.port());
            prop_assert_eq!(ours.port_or_known_default(), theirs.port_or_known_default());
            prop_assert_eq!(ours.path(), theirs.path());
            prop_assert_eq!(ours.query(), theirs.query());
            prop_assert_eq!(ours.fragment(), theirs.fragment());
            prop_assert_eq!(
                ours.path_and_query(),
                &theirs[url::Position::BeforePath..url::Position::AfterQuery]
            );
            prop_assert_eq!(
                ours.without_fragment(),
                &theirs[..url::Position::AfterQuery]
            );
            prop_assert_eq!(ours.same_origin(ours), theirs.origin() == theirs.origin());
            let reparsed = Url::parse(ours.as_str());
            prop_assert_eq!(reparsed.as_ref(), Ok(ours), "reparse of {:?}", input);
        }
        (Err(_), Err(_)) => {}
        _ => prop_assert!(
            false,
            "input {:?}: ours {:?}, url {:?}",
            input,
            ours,
            theirs
        ),
    }
    Ok(())
}

fn is_special(scheme: &str) -> bool {
    matches!(scheme, "http" | "https" | "ws" | "wss" | "ftp")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_matches_url(input in absolute()) {
        same(&Url::parse(&input), &url::Url::parse(&input), &input)?;
    }

    #[test]
    fn parse_structured_matches_url(input in structured()) {
        same(&Url::parse(&input), &url::Url::parse(&input), &input)?;
    }

    #[test]
    fn hosts_match_url(scheme in select(SCHEMES), host in prop_oneof![ipv4(), ipv6()], rest in select(&["", "/", ":80", ":", "?"][..])) {
        let input = format!("{scheme}{host}{rest}");
        same(&Url::parse(&input), &url::Url::parse(&input), &input)?;
    }

    #[test]
    fn join_matches_url(base in select(BASES), reference in prop_oneof![
        3 => (select(REFERENCE_STARTS), tail()).prop_map(|(start, tail)| start.to_owned() + &tail),
        1 => absolute(),
        1 => structured(),
    ]) {
        let ours = Url::parse(base).expect("fixed base").join(&reference);
        let theirs = url::Url::parse(base).expect("fixed base").join(&reference);
        match &theirs {
            // Non-special results have documented differences.
            Ok(theirs_ok) if !is_special(theirs_ok.scheme()) => {}
            _ => same(&ours, &theirs, &format!("{base} + {reference}"))?,
        }
    }

    #[test]
    fn setters_match_url(base in select(BASES), text in pieces(piece(), 6), other in pieces(piece(), 3)) {
        let mut ours = Url::parse(base).expect("fixed base");
        let mut theirs = url::Url::parse(base).expect("fixed base");
        ours.set_fragment(Some(&text));
        theirs.set_fragment(Some(&text));
        prop_assert_eq!(ours.as_str(), theirs.as_str());
        ours.set_username(&text);
        let _ = theirs.set_username(&text);
        prop_assert_eq!(ours.as_str(), theirs.as_str());
        ours.set_password(Some(&other));
        let _ = theirs.set_password(Some(&other));
        prop_assert_eq!(ours.as_str(), theirs.as_str());
        ours.append_query_pairs([(text.as_str(), other.as_str()), (other.as_str(), "")]);
        theirs.query_pairs_mut().append_pair(&text, &other).append_pair(&other, "");
        prop_assert_eq!(ours.as_str(), theirs.as_str());
        ours.set_password(None);
        let _ = theirs.set_password(None);
        ours.set_username("");
        let _ = theirs.set_username("");
        ours.set_fragment(None);
        theirs.set_fragment(None);
        prop_assert_eq!(ours.as_str(), theirs.as_str());
        let reparsed = Url::parse(ours.as_str());
        prop_assert_eq!(reparsed.as_ref(), Ok(&ours));
    }

    #[test]
    fn no_panic(input in arbitrary_text(), start in select(&["http://", "https:", "socks5://", "foo:", "http://[", "http://u@"][..])) {
        for input in [input.clone(), format!("{start}{input}")] {
            // Whatever parses must serialize to a fixed point.
            if let Ok(url) = Url::parse(&input) {
                let reparsed = Url::parse(url.as_str());
                prop_assert_eq!(reparsed.as_ref(), Ok(&url));
            }
            for base in BASES {
                if let Ok(mut url) = Url::parse(base).expect("fixed base").join(&input) {
                    url.set_fragment(Some(&input));
                    url.set_username(&input);
                    url.set_password(Some(&input));
                    url.append_query_pairs([(input.as_str(), input.as_str())]);
                    let _ = (url.host(), url.path_and_query(), url.port_or_known_default());
                }
            }
        }
    }
}
