//! What the `url` fuzz target checks, shared with the corpus replay test
//! (`tests/url_corpus.rs`) so that every `cargo test` runs the committed inputs.

use envoi::Url;

/// Bases a reference is joined against: special, with credentials and an IPv6 host, an
/// IPv4 host, a non-special scheme with an authority, and one with an opaque path.
const BASES: [&str; 5] = [
    "http://a/b/c/d;p?q#f",
    "https://user:pw@[::1]:8443/x/y?z",
    "http://127.0.0.1/",
    "socks5://proxy:1080",
    "mailto:x@y",
];

/// The first byte picks a base; the rest, as text, is parsed on its own and joined to
/// the base. Whatever parses must read back to itself, hold only ASCII, and survive the
/// setters.
pub fn url(data: &[u8]) {
    let Some((&pick, text)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    if let Ok(url) = Url::parse(text) {
        check(&url, text);
    }
    let base = Url::parse(BASES[usize::from(pick) % BASES.len()]).expect("the bases parse");
    if let Ok(url) = base.join(text) {
        check(&url, text);
    }
}

fn check(url: &Url, text: &str) {
    let s = url.as_str();
    assert!(s.is_ascii(), "{s:?}");
    assert_eq!(Url::parse(s).as_ref(), Ok(url), "{s:?} does not read back");
    assert!(s.starts_with(url.scheme()), "{s:?}");
    assert!(s.starts_with(url.without_fragment()), "{s:?}");
    assert!(
        url.without_fragment().ends_with(url.path_and_query()),
        "{s:?}"
    );
    assert!(url.path_and_query().starts_with(url.path()), "{s:?}");
    if let Some(host) = url.host_str() {
        assert!(s.contains(host), "{s:?}");
        assert!(url.host().is_some(), "{s:?}");
    }
    let _ = (
        url.username(),
        url.password(),
        url.port(),
        url.port_or_known_default(),
    );
    let _ = (url.query(), url.fragment(), url.same_origin(url));

    let mut changed = url.clone();
    changed.set_fragment(Some(text));
    changed.set_username(text);
    changed.set_password(Some(text));
    changed.append_query_pairs([(text, text)]);
    let s = changed.as_str().to_owned();
    assert!(s.is_ascii(), "{s:?}");
    assert_eq!(
        Url::parse(&s).as_ref(),
        Ok(&changed),
        "{s:?} does not read back"
    );
    changed.set_fragment(None);
    changed.set_username("");
    changed.set_password(None);
    assert_eq!(changed.fragment(), None, "{s:?}");
    assert_eq!(changed.username(), "", "{s:?}");
    assert_eq!(changed.password(), None, "{s:?}");
}
