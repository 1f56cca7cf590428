//! Tests of the cookie jar: storing, matching, deleting, refusing, and the file formats.

use super::*;

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

fn set_cookies(values: &[&str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for v in values {
        headers.append(header::SET_COOKIE, HeaderValue::from_str(v).unwrap());
    }
    headers
}

/// A jar that received `values` from `from` just now.
fn jar_with(from: &str, values: &[&str]) -> CookieJar {
    let jar = CookieJar::new();
    jar.store_response(&url(from), &set_cookies(values));
    jar
}

fn header_for(jar: &CookieJar, to: &str) -> Option<String> {
    jar.cookie_header(&url(to))
        .map(|v| v.to_str().unwrap().to_owned())
}

#[test]
fn every_set_cookie_field_is_stored_and_sent_back() {
    let jar = jar_with("http://a.test/", &["a=1", "b=2; Path=/", "c=3"]);
    assert_eq!(
        header_for(&jar, "http://a.test/x").unwrap(),
        "a=1; b=2; c=3"
    );
    assert_eq!(jar.cookies().len(), 3);
}

#[test]
fn a_host_only_cookie_is_not_sent_to_subdomains() {
    let jar = jar_with("http://example.test/", &["id=1"]);
    assert!(header_for(&jar, "http://example.test/").is_some());
    assert_eq!(header_for(&jar, "http://www.example.test/"), None);
    assert!(jar.cookies()[0].host_only);
}

#[test]
fn a_domain_cookie_is_sent_to_subdomains() {
    let jar = jar_with("http://www.example.test/", &["id=1; Domain=.example.test"]);
    for to in [
        "http://example.test/",
        "http://api.example.test/",
        "http://a.b.example.test/",
    ] {
        assert_eq!(header_for(&jar, to).as_deref(), Some("id=1"), "{to}");
    }
    assert_eq!(header_for(&jar, "http://notexample.test/"), None);
    assert!(!jar.cookies()[0].host_only);
}

#[test]
fn a_cookie_for_another_domain_is_refused() {
    let jar = jar_with(
        "http://a.example.test/",
        &["x=1; Domain=b.example.test", "y=2; Domain=evil.test"],
    );
    assert!(jar.cookies().is_empty());
}

#[test]
fn cookie_for_a_public_suffix_is_refused() {
    let jar = jar_with("http://shop.example.com/", &["a=1; Domain=com"]);
    assert!(jar.cookies().is_empty());
    let jar = jar_with("http://shop.example.co.uk/", &["a=1; Domain=.co.uk"]);
    assert!(jar.cookies().is_empty());
    let jar = jar_with("http://user.github.io/", &["a=1; Domain=github.io"]);
    assert!(jar.cookies().is_empty(), "private suffixes count too");
    // The registrable domain itself is fine.
    let jar = jar_with("http://shop.example.co.uk/", &["a=1; Domain=example.co.uk"]);
    assert_eq!(jar.cookies().len(), 1);
}

#[test]
fn a_public_suffix_that_is_the_host_gets_a_host_only_cookie() {
    let jar = jar_with("http://github.io/", &["a=1; Domain=github.io"]);
    let cookies = jar.cookies();
    assert_eq!(cookies.len(), 1);
    assert!(cookies[0].host_only);
    assert_eq!(header_for(&jar, "http://user.github.io/"), None);
}

#[test]
fn paths_match_on_segment_boundaries() {
    let jar = jar_with("http://a.test/", &["d=1; Path=/docs"]);
    for (to, sent) in [
        ("http://a.test/docs", true),
        ("http://a.test/docs/", true),
        ("http://a.test/docs/page", true),
        ("http://a.test/docsearch", false),
        ("http://a.test/", false),
    ] {
        assert_eq!(header_for(&jar, to).is_some(), sent, "{to}");
    }
}

#[test]
fn the_default_path_is_the_request_directory() {
    let jar = jar_with("http://a.test/app/login/form", &["s=1"]);
    assert_eq!(jar.cookies()[0].path, "/app/login");
    assert!(header_for(&jar, "http://a.test/app/login/next").is_some());
    assert_eq!(header_for(&jar, "http://a.test/app/other"), None);
}

#[test]
fn longer_paths_come_first() {
    let jar = jar_with(
        "http://a.test/",
        &["short=1; Path=/", "long=2; Path=/a/b", "mid=3; Path=/a"],
    );
    assert_eq!(
        header_for(&jar, "http://a.test/a/b/c").unwrap(),
        "long=2; mid=3; short=1"
    );
}

#[test]
fn a_secure_cookie_is_sent_only_over_https() {
    let jar = jar_with("https://a.test/", &["s=1; Secure", "p=2"]);
    assert_eq!(header_for(&jar, "https://a.test/").unwrap(), "p=2; s=1");
    assert_eq!(header_for(&jar, "http://a.test/").unwrap(), "p=2");
}

#[test]
fn a_secure_cookie_from_plain_http_is_refused_except_from_this_machine() {
    let jar = jar_with("http://a.test/", &["s=1; Secure"]);
    assert!(jar.cookies().is_empty());
    let jar = jar_with("http://localhost:8080/", &["s=1; Secure"]);
    assert_eq!(jar.cookies().len(), 1);
    let jar = jar_with("http://127.0.0.1:8080/", &["s=1; Secure"]);
    assert_eq!(jar.cookies().len(), 1);
}

#[test]
fn cookie_name_prefixes_are_enforced() {
    let jar = jar_with(
        "https://a.test/",
        &[
            "__Secure-ok=1; Secure",
            "__Secure-bad=1",
            "__Host-ok=1; Secure; Path=/",
            "__Host-domain=1; Secure; Path=/; Domain=a.test",
            "__Host-path=1; Secure; Path=/x",
        ],
    );
    let names: Vec<String> = jar.cookies().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["__Host-ok", "__Secure-ok"]);
}

#[test]
fn max_age_zero_deletes_the_cookie() {
    let jar = jar_with("http://a.test/", &["id=1", "keep=2"]);
    jar.store_response(
        &url("http://a.test/"),
        &set_cookies(&["id=gone; Max-Age=0"]),
    );
    assert_eq!(header_for(&jar, "http://a.test/").unwrap(), "keep=2");
    jar.store_response(
        &url("http://a.test/"),
        &set_cookies(&["keep=x; Max-Age=-5"]),
    );
    assert_eq!(header_for(&jar, "http://a.test/"), None);
}

#[test]
fn an_expires_date_in_the_past_deletes_the_cookie() {
    let jar = jar_with("http://a.test/", &["id=1"]);
    jar.store_response(
        &url("http://a.test/"),
        &set_cookies(&["id=1; Expires=Thu, 01 Jan 1970 00:00:01 GMT"]),
    );
    assert!(jar.cookies().is_empty());
}

#[test]
fn max_age_counts_from_the_given_now() {
    let jar = CookieJar::new();
    let now = SystemTime::now();
    let a = url("http://a.test/");
    jar.store_response_at(&a, &set_cookies(&["t=1; Max-Age=60"]), now);
    let at = |secs| jar.cookie_header_at(&a, now + Duration::from_secs(secs));
    assert!(at(59).is_some());
    assert_eq!(at(60), None);
    let expires = jar.cookies()[0].expires.unwrap();
    let delta = expires.duration_since(now).unwrap_or_default().as_secs();
    assert!((59..=60).contains(&delta), "{delta}");
}

#[test]
fn max_age_wins_over_expires() {
    let jar = jar_with(
        "http://a.test/",
        &["t=1; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=3600"],
    );
    assert_eq!(jar.cookies().len(), 1);
}

#[test]
fn malformed_set_cookie_fields_are_skipped_one_by_one() {
    let mut headers = set_cookies(&["=novalue", "good=1", ";;;", "bad"]);
    headers.append(
        header::SET_COOKIE,
        HeaderValue::from_bytes(b"x=\xff\xfe").unwrap(),
    );
    let jar = CookieJar::new();
    jar.store_response(&url("http://a.test/"), &headers);
    let names: Vec<String> = jar.cookies().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["good"]);
}

#[test]
fn clones_share_one_jar_and_clear_empties_it() {
    let jar = jar_with("http://a.test/", &["a=1"]);
    let clone = jar.clone();
    clone.store_response(&url("http://a.test/"), &set_cookies(&["b=2"]));
    assert_eq!(jar.cookies().len(), 2);
    jar.clear();
    assert!(clone.cookies().is_empty());
    assert!(!format!("{jar:?}").contains("secret"));
}

#[test]
fn netscape_file_is_written_as_curl_writes_it() {
    let jar = jar_with(
        "https://www.example.test/",
        &[
            "session=abc; Path=/",
            "dom=1; Domain=example.test; Path=/; Secure; Expires=Wed, 01 Jan 2070 00:00:00 GMT",
            "hidden=2; HttpOnly; Path=/app",
        ],
    );
    let mut file = Vec::new();
    jar.save_netscape(&mut file).unwrap();
    let text = String::from_utf8(file).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("# Netscape HTTP Cookie File"));
    let cookies: Vec<&str> = lines
        .filter(|l| !l.is_empty() && !l.starts_with("# "))
        .collect();
    assert_eq!(
        cookies,
        [
            ".example.test\tTRUE\t/\tTRUE\t3155760000\tdom\t1",
            "www.example.test\tFALSE\t/\tFALSE\t0\tsession\tabc",
            "#HttpOnly_www.example.test\tFALSE\t/app\tFALSE\t0\thidden\t2",
        ]
    );
}

#[test]
fn netscape_file_round_trips() {
    let jar = jar_with(
        "https://www.example.test/",
        &[
            "session=abc; Path=/",
            "dom=1; Domain=example.test; Path=/; Secure; Max-Age=86400",
            "hidden=2; HttpOnly; Path=/app",
            "empty=; Path=/",
        ],
    );
    let mut file = Vec::new();
    jar.save_netscape(&mut file).unwrap();
    let loaded = CookieJar::load_netscape(file.as_slice()).unwrap();
    assert_eq!(loaded.cookies(), jar.cookies());
}

#[test]
fn a_curl_written_cookie_file_loads() {
    let file = "# Netscape HTTP Cookie File\n\
        # https://curl.se/docs/http-cookies.html\n\
        # This file was generated by libcurl! Edit at your own risk.\n\
        \n\
        .example.com\tTRUE\t/\tFALSE\t0\tsid\tabc123\r\n\
        #HttpOnly_api.example.com\tFALSE\t/v1\tTRUE\t4102444800\ttoken\tt0k\n\
        example.com\tFALSE\t/\tFALSE\t0\tnovalue\n\
        old.example.com\tFALSE\t/\tFALSE\t1000\texpired\tx\n\
        this line is not a cookie\n\
        bad.example.com\tFALSE\t/\tFALSE\tsoon\tn\tv\n";
    let jar = CookieJar::load_netscape(file.as_bytes()).unwrap();
    let names: Vec<String> = jar.cookies().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["token", "novalue", "sid"]);
    assert_eq!(
        header_for(&jar, "https://api.example.com/v1/x").unwrap(),
        "token=t0k; sid=abc123"
    );
    assert_eq!(
        header_for(&jar, "http://www.example.com/").unwrap(),
        "sid=abc123"
    );
    let token = &jar.cookies()[0];
    assert!(token.http_only && token.secure && token.host_only);
}

#[test]
fn a_failing_cookie_file_reader_is_an_error() {
    struct Failing;
    impl std::io::Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    let e = CookieJar::load_netscape(std::io::BufReader::new(Failing)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BodyIo);
    assert!(format!("{e:#}").contains("disk on fire"), "{e:#}");
}

#[test]
fn json_round_trips_session_cookies_included() {
    let jar = jar_with(
        "https://www.example.test/",
        &[
            "session=abc",
            "dom=1; Domain=example.test; Max-Age=600; Secure",
        ],
    );
    let mut file = Vec::new();
    jar.save_json(&mut file).unwrap();
    let loaded = CookieJar::load_json(file.as_slice()).unwrap();
    assert_eq!(loaded.cookies(), jar.cookies());
    let e = CookieJar::load_json(&b"{ not json"[..]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BodyIo);
}
