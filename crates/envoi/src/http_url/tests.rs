//! Expected values were taken from the `url` crate; the helpers check that it
//! still agrees, so a literal cannot silently drift from `url`'s behaviour.

use super::{Host, Url};
use std::net::{Ipv4Addr, Ipv6Addr};

#[track_caller]
fn parses(input: &str, expected: &str) {
    agrees(None, input, Ok(expected));
}

#[track_caller]
fn rejects(input: &str, message: &str) {
    agrees(None, input, Err(message));
}

#[track_caller]
fn joins(base: &str, input: &str, expected: &str) {
    agrees(Some(base), input, Ok(expected));
}

#[track_caller]
fn join_rejects(base: &str, input: &str, message: &str) {
    agrees(Some(base), input, Err(message));
}

/// `input`, parsed alone or joined to `base`, gives `expected` (the serialization, or the
/// error's message), and `url` gives the same serialization or also fails.
#[track_caller]
fn agrees(base: Option<&str>, input: &str, expected: Result<&str, &str>) {
    let ours = match base {
        None => Url::parse(input),
        Some(base) => Url::parse(base).and_then(|base| base.join(input)),
    };
    let theirs = match base {
        None => url::Url::parse(input),
        Some(base) => url::Url::parse(base).and_then(|base| base.join(input)),
    };
    let ours = ours.map(|u| u.to_string()).map_err(|e| e.to_string());
    assert_eq!(
        ours.as_deref().map_err(String::as_str),
        expected,
        "{base:?} + {input:?}"
    );
    match expected {
        Ok(expected) => assert_eq!(
            theirs.map(String::from).ok().as_deref(),
            Some(expected),
            "url on {base:?} + {input:?}"
        ),
        Err(_) => assert!(theirs.is_err(), "url accepts {base:?} + {input:?}"),
    }
}

#[test]
fn strips_controls_spaces_tabs_and_newlines() {
    parses(
        "\u{0} \u{1f}http://example.com/ \u{7}",
        "http://example.com/",
    );
    parses(
        "ht\ttp://exa\nmple.com/p\ra?q\t#f\n",
        "http://example.com/pa?q#f",
    );
}

#[test]
fn scheme_is_case_insensitive_and_must_start_with_a_letter() {
    parses("HTTPS://Example.COM", "https://example.com/");
    rejects("1http://x", "relative URL without a base");
    rejects("//x", "relative URL without a base");
    rejects("/a", "relative URL without a base");
    rejects("", "relative URL without a base");
}

#[test]
fn any_slashes_after_special_scheme() {
    parses("http:example.com/a", "http://example.com/a");
    parses("http:\\\\\\example.com\\a\\b", "http://example.com/a/b");
    parses("https:////x", "https://x/");
}

#[test]
fn userinfo() {
    parses(
        "http://us er:p@ss:w@rd@host/",
        "http://us%20er:p%40ss%3Aw%40rd@host/",
    );
    parses("http://:@h/", "http://h/");
    parses("http://u:@h/", "http://u@h/");
    parses("http://:p@h/", "http://:p@h/");
    parses("http://@h/", "http://h/");
    parses("http://a/b@c", "http://a/b@c");
    parses("http://é:ü@h/", "http://%C3%A9:%C3%BC@h/");
    rejects("http://u@/", "empty host");
}

#[test]
fn domains() {
    parses("http://EX%41MPLE.com/", "http://example.com/");
    parses("http://1.a/", "http://1.a/");
    parses("http://0xG/", "http://0xg/");
    parses("http://1.2.3.4../", "http://1.2.3.4../");
    rejects("http://exa mple/", "invalid domain character");
    rejects("http://a<b/", "invalid domain character");
    rejects("http://%25/", "invalid domain character");
    rejects("http://a%2Fb/", "invalid domain character");
    rejects("http://", "empty host");
    rejects("http:///", "empty host");
    rejects("http://:80/", "empty host");
}

#[test]
fn ipv4_forms() {
    parses("http://0x7f.1/", "http://127.0.0.1/");
    parses("http://2130706433/", "http://127.0.0.1/");
    parses("http://017700000001/", "http://127.0.0.1/");
    parses("http://1.2.3.4./", "http://1.2.3.4/");
    parses("http://1.0x/", "http://1.0.0.0/");
    rejects("http://1.2.3.256/", "invalid IPv4 address");
    rejects("http://1.2.3.4.5/", "invalid IPv4 address");
    rejects("http://a.1/", "invalid IPv4 address");
    rejects("http://08/", "invalid IPv4 address");
    rejects("http://4294967296/", "invalid IPv4 address");
}

#[test]
fn ipv6_forms() {
    parses("http://[0:0:0:0:0:0:0:1]/", "http://[::1]/");
    parses("http://[::ffff:1.2.3.4]/", "http://[::ffff:102:304]/");
    parses("http://[1:0:0:2::3:0]/", "http://[1::2:0:0:3:0]/");
    parses("http://[1:0:2:3:4:5:6:7]/", "http://[1:0:2:3:4:5:6:7]/");
    parses("http://[ABCD::]:8080/", "http://[abcd::]:8080/");
    rejects("http://[::1", "invalid IPv6 address");
    rejects("http://[::1]x/", "invalid IPv6 address");
    rejects("http://[1:2:3:4:5:6:7:8:9]/", "invalid IPv6 address");
    rejects("http://[::1.2.3]/", "invalid IPv6 address");
    rejects("http://[::01.2.3.4]/", "invalid IPv6 address");
}

#[test]
fn ports() {
    parses("http://h:80/", "http://h/");
    parses("https://h:443", "https://h/");
    parses("http://h:443/", "http://h:443/");
    parses("http://h:/", "http://h/");
    parses("http://h:0080/", "http://h/");
    parses("http://h:65535/", "http://h:65535/");
    parses("ws://h:80/", "ws://h/");
    parses("wss://h:443/", "wss://h/");
    parses("ftp://h:21/", "ftp://h/");
    rejects("http://h:65536/", "invalid port number");
    rejects("http://h:8a/", "invalid port number");
}

#[test]
fn paths() {
    parses("http://h", "http://h/");
    parses("http://h?x", "http://h/?x");
    parses("http://h/a/./b/../c", "http://h/a/c");
    parses("http://h/%2e/%2E%2e/x", "http://h/x");
    parses("http://h/../../x", "http://h/x");
    parses("http://h/a/..", "http://h/");
    parses("http://h/a/%2e%2E/", "http://h/");
    parses(
        "http://h/a b\"<>`{}^|'\\%",
        "http://h/a%20b%22%3C%3E%60%7B%7D%5E|'/%",
    );
}

#[test]
fn query_and_fragment_encoding() {
    parses("http://h/é?é#é", "http://h/%C3%A9?%C3%A9#%C3%A9");
    parses(
        "http://h/?'\"<>` {}|^\\",
        "http://h/?%27%22%3C%3E`%20{}|^\\",
    );
    parses(
        "http://h/#a b\"<>`'{}#^|",
        "http://h/#a%20b%22%3C%3E%60'{}#^|",
    );
}

#[cfg(not(feature = "url"))]
#[test]
fn international_domains_need_the_url_feature() {
    let message = "international domain name needs the `url` feature";
    assert_eq!(
        Url::parse("http://é.example/").unwrap_err().to_string(),
        message
    );
    assert_eq!(
        Url::parse("http://%C3%A9/").unwrap_err().to_string(),
        message
    );
    // Documented: Punycode is not checked without IDNA tables (`url` rejects this one).
    assert_eq!(
        Url::parse("http://XN--A/").map(|u| u.to_string()),
        Ok("http://xn--a/".to_owned())
    );
    assert!(url::Url::parse("http://xn--a/").is_err());
}

#[cfg(feature = "url")]
#[test]
fn international_domains_with_the_url_feature() {
    parses("http://é.example/", "http://xn--9ca.example/");
    parses("http://%C3%A9/", "http://xn--9ca/");
    parses("http://EXAMPLE\u{3002}com/", "http://example.com/");
    parses(
        "http://xn--9ca.XN--nxasmq6b/",
        "http://xn--9ca.xn--nxasmq6b/",
    );
    parses("http://Ⅷ.example/", "http://viii.example/");
    rejects("http://xn--a/", "invalid international domain name");
}

#[test]
fn join_rfc3986_examples() {
    let base = "http://a/b/c/d;p?q";
    for (reference, expected) in [
        ("g", "http://a/b/c/g"),
        ("./g", "http://a/b/c/g"),
        ("g/", "http://a/b/c/g/"),
        ("/g", "http://a/g"),
        ("//g", "http://g/"),
        ("?y", "http://a/b/c/d;p?y"),
        ("g?y", "http://a/b/c/g?y"),
        ("#s", "http://a/b/c/d;p?q#s"),
        ("g#s", "http://a/b/c/g#s"),
        ("g?y#s", "http://a/b/c/g?y#s"),
        (";x", "http://a/b/c/;x"),
        ("", "http://a/b/c/d;p?q"),
        (".", "http://a/b/c/"),
        ("..", "http://a/b/"),
        ("../g", "http://a/b/g"),
        ("../..", "http://a/"),
        ("../../../../g", "http://a/g"),
        ("/./g", "http://a/g"),
        ("/../g", "http://a/g"),
        ("g.", "http://a/b/c/g."),
        ("..g", "http://a/b/c/..g"),
        ("./g/.", "http://a/b/c/g/"),
        ("g;x=1/../y", "http://a/b/c/y"),
        ("g?y/../x", "http://a/b/c/g?y/../x"),
        ("g#s/../x", "http://a/b/c/g#s/../x"),
    ] {
        joins(base, reference, expected);
    }
}

#[test]
fn join_scheme_forms() {
    let base = "http://a/b/c/d;p?q";
    joins(base, "http:g", "http://a/b/c/g");
    joins(base, "HTTP:?z", "http://a/b/c/d;p?z");
    joins(base, "https:g", "https://g/");
    joins(base, "\\\\x\\y", "http://x/y");
    joins(base, "ws://other/", "ws://other/");
    joins(base, "mailto:x", "mailto:x");
    joins(base, "/login?next=%2F", "http://a/login?next=%2F");
    joins(base, "  /a b  ", "http://a/a%20b");
    join_rejects(base, "///x", "empty host");
    join_rejects(base, "//\\x", "empty host");
    // `url` resolves this to a file: URL; that form is deliberately unsupported.
    assert_eq!(
        Url::parse(base)
            .unwrap()
            .join("file:///x")
            .unwrap_err()
            .to_string(),
        "unsupported URL form"
    );
}

#[test]
fn join_on_opaque_base() {
    joins("mailto:x", "#f", "mailto:x#f");
    join_rejects("mailto:x", "y", "relative URL with a cannot-be-a-base base");
    join_rejects(
        "mailto:x",
        "?q",
        "relative URL with a cannot-be-a-base base",
    );
}

#[test]
fn accessors() {
    let url = Url::parse("https://user:pa%20ss@[::1]:8443/p/a?q=1#frag").unwrap();
    assert_eq!(url.scheme(), "https");
    assert_eq!(url.username(), "user");
    assert_eq!(url.password(), Some("pa%20ss"));
    assert_eq!(url.host_str(), Some("[::1]"));
    assert_eq!(url.host(), Some(Host::Ipv6(Ipv6Addr::LOCALHOST)));
    assert_eq!(url.port(), Some(8443));
    assert_eq!(url.port_or_known_default(), Some(8443));
    assert_eq!(url.path(), "/p/a");
    assert_eq!(url.query(), Some("q=1"));
    assert_eq!(url.fragment(), Some("frag"));
    assert_eq!(url.path_and_query(), "/p/a?q=1");
    assert_eq!(
        url.without_fragment(),
        "https://user:pa%20ss@[::1]:8443/p/a?q=1"
    );

    let url = Url::parse("http://10.0.0.1/").unwrap();
    assert_eq!(url.host(), Some(Host::Ipv4(Ipv4Addr::new(10, 0, 0, 1))));
    assert_eq!(
        (url.username(), url.password(), url.port()),
        ("", None, None)
    );
    assert_eq!(url.port_or_known_default(), Some(80));
    assert_eq!(
        (url.query(), url.fragment(), url.path_and_query()),
        (None, None, "/")
    );
    assert_eq!(
        Url::parse("https://h").unwrap().host(),
        Some(Host::Domain("h"))
    );
    assert_eq!(
        Url::parse("https://h").unwrap().port_or_known_default(),
        Some(443)
    );
}

#[test]
fn traits() {
    let url: Url = "HTTP://H/a".parse().unwrap();
    assert_eq!(url.to_string(), "http://h/a");
    assert_eq!(format!("{url:?}"), "Url(\"http://h/a\")");
    assert_eq!(url, Url::parse("http://h:80/b/../a").unwrap());
    let set: std::collections::HashSet<Url> = [url.clone(), url].into_iter().collect();
    assert_eq!(set.len(), 1);
    let error: Box<dyn std::error::Error> = Box::new(Url::parse("x").unwrap_err());
    assert_eq!(error.to_string(), "relative URL without a base");
}

#[test]
fn set_fragment() {
    let mut url = Url::parse("http://h/p?q#old").unwrap();
    url.set_fragment(Some("a b#c\t\"<>`é"));
    assert_eq!(url.as_str(), "http://h/p?q#a%20b#c%22%3C%3E%60%C3%A9");
    url.set_fragment(None);
    assert_eq!(url.as_str(), "http://h/p?q");
    let mut opaque = Url::parse("mailto:a   #x").unwrap();
    opaque.set_fragment(None);
    assert_eq!(opaque.as_str(), "mailto:a");
}

#[test]
fn set_credentials() {
    let mut url = Url::parse("http://h/p?q").unwrap();
    url.set_username("us er@x:y");
    assert_eq!(url.as_str(), "http://us%20er%40x%3Ay@h/p?q");
    url.set_password(Some("p:w/é"));
    assert_eq!(url.as_str(), "http://us%20er%40x%3Ay:p%3Aw%2F%C3%A9@h/p?q");
    assert_eq!(url.password(), Some("p%3Aw%2F%C3%A9"));
    url.set_username("");
    assert_eq!(url.as_str(), "http://:p%3Aw%2F%C3%A9@h/p?q");
    url.set_password(None);
    assert_eq!(url.as_str(), "http://h/p?q");
    let mut opaque = Url::parse("mailto:a").unwrap();
    opaque.set_username("x");
    opaque.set_password(Some("y"));
    assert_eq!(opaque.as_str(), "mailto:a");
}

#[test]
fn append_query_pairs() {
    let mut url = Url::parse("http://h/p#frag").unwrap();
    url.append_query_pairs([("a b", "c&d"), ("é", "=+*-._~!")]);
    assert_eq!(
        url.as_str(),
        "http://h/p?a+b=c%26d&%C3%A9=%3D%2B*-._%7E%21#frag"
    );
    url.append_query_pairs([("k", "")]);
    assert_eq!(
        url.as_str(),
        "http://h/p?a+b=c%26d&%C3%A9=%3D%2B*-._%7E%21&k=#frag"
    );
    let mut empty = Url::parse("http://h/p").unwrap();
    empty.append_query_pairs([]);
    assert_eq!(empty.as_str(), "http://h/p?");
    let mut bare = Url::parse("http://h/p?").unwrap();
    bare.append_query_pairs([("a", "b")]);
    assert_eq!(bare.as_str(), "http://h/p?a=b");
}

#[test]
fn same_origin() {
    for (a, b, same) in [
        ("http://a/", "http://a:80/x", true),
        ("http://a/", "https://a/", false),
        ("http://a/", "http://a:81/", false),
        ("http://A/", "http://a/", true),
        ("https://[::1]/", "https://[0::1]:443/a", true),
        ("http://127.0.0.1/", "http://0x7f.1/", true),
        ("socks5://a/", "socks5://a/", false),
    ] {
        assert_eq!(
            Url::parse(a).unwrap().same_origin(&Url::parse(b).unwrap()),
            same,
            "{a} {b}"
        );
        assert_eq!(
            url::Url::parse(a).unwrap().origin() == url::Url::parse(b).unwrap().origin(),
            same
        );
    }
}

#[test]
fn schemes_without_authority() {
    parses(
        "mailto:Joe@Example.COM?subject=hi there#x",
        "mailto:Joe@Example.COM?subject=hi%20there#x",
    );
    parses("data:text/plain,a b", "data:text/plain,a b");
    parses("foo:a\u{1}é", "foo:a%01%C3%A9");
    parses("foo:/.//x", "foo:/.//x");
    // Only special schemes percent-encode `'` in the query.
    parses("mailto:x?a'b c", "mailto:x?a'b%20c");
    let url = Url::parse("mailto:x").unwrap();
    assert_eq!(
        (
            url.host(),
            url.host_str(),
            url.path(),
            url.port_or_known_default()
        ),
        (None, None, "x", None)
    );
    assert_eq!(Url::parse("foo:/.//x").unwrap().path(), "//x");
}

#[test]
fn non_special_authorities() {
    parses("socks5://[::1]:1080", "socks5://[::1]:1080");
    parses("foo://h/a\\b", "foo://h/a\\b");
    parses("foo://h?q", "foo://h?q");
    parses("foo://", "foo://");
    let url = Url::parse("socks5h://u:p@h").unwrap();
    assert_eq!(
        (url.port(), url.port_or_known_default(), url.path()),
        (None, Some(1080), "")
    );
    assert_eq!(Url::parse("foo://").unwrap().host_str(), None);
    assert_eq!(Url::parse("socks5://h:1080").unwrap().port(), Some(1080));
    // Documented differences: hosts are parsed like special ones, `url` keeps them opaque.
    let url = Url::parse("socks5://User:Pw@Proxy.Example:1080").unwrap();
    assert_eq!(url.as_str(), "socks5://User:Pw@proxy.example:1080");
    assert_eq!(
        url::Url::parse("socks5://Proxy.Example")
            .unwrap()
            .host_str(),
        Some("Proxy.Example")
    );
    assert_eq!(
        Url::parse("socks5://127.1").unwrap().host(),
        Some(Host::Ipv4(Ipv4Addr::LOCALHOST))
    );
    assert_eq!(Url::parse("foo://@").unwrap_err().to_string(), "empty host");
}

#[test]
fn file_urls_are_unsupported() {
    assert_eq!(
        Url::parse("file:///etc/passwd").unwrap_err().to_string(),
        "unsupported URL form"
    );
    assert_eq!(
        Url::parse("FILE:x").unwrap_err().to_string(),
        "unsupported URL form"
    );
}

#[test]
fn dot_dot_removes_a_drive_letter_like_segment_outside_file() {
    // The WHATWG standard's answer, and Node's `URL`; `url` 2.5 keeps `a|` (see the module doc).
    let base = Url::parse("http://a/b/c/d").unwrap();
    assert_eq!(base.join("a|/..").unwrap().as_str(), "http://a/b/c/");
    assert_eq!(
        Url::parse("http://h/a|/../b").unwrap().as_str(),
        "http://h/b"
    );
}

#[cfg(feature = "url")]
#[test]
fn converts_to_the_url_crates_type() {
    let ours = Url::parse("https://user:pw@Example.com:8443/a b?q=1#f").unwrap();
    let theirs = url::Url::try_from(&ours).unwrap();
    assert_eq!(theirs.as_str(), ours.as_str());
    assert_eq!(theirs.host_str(), Some("example.com"));
    assert_eq!(theirs.port(), Some(8443));
}
