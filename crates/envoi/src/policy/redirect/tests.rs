//! Tests of the redirect rules: which 3xx are followed, where to, with which method and
//! body, which headers stay behind, and the chains that end in an error.

use super::*;

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

fn facts<'a>(method: &'a Method, url: &'a Url) -> RequestFacts<'a> {
    RequestFacts {
        method,
        url,
        body_replayable: true,
        has_body: true,
    }
}

fn loc(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap()
}

/// Follows one redirect from (`method`, `from`) with the default policy.
fn follow(method: Method, from: &str, status: u16, location: &str) -> Redirect {
    follow_with(&RedirectPolicy::default(), method, from, status, location).unwrap()
}

fn follow_with(
    policy: &RedirectPolicy,
    method: Method,
    from: &str,
    status: u16,
    location: &str,
) -> Result<Redirect, Error> {
    let from = url(from);
    let status = StatusCode::from_u16(status).unwrap();
    RedirectState::new()
        .next(policy, &facts(&method, &from), status, Some(&loc(location)))
        .map(|r| r.expect("a redirect"))
}

#[test]
fn statuses_other_than_301_302_303_307_308_are_delivered_as_they_are() {
    let (m, u) = (Method::GET, url("http://a.test/"));
    for status in [200, 300, 304, 305, 306, 404] {
        let status = StatusCode::from_u16(status).unwrap();
        let next = RedirectState::new()
            .next(
                &RedirectPolicy::default(),
                &facts(&m, &u),
                status,
                Some(&loc("/x")),
            )
            .unwrap();
        assert_eq!(next, None, "{status}");
    }
}

#[test]
fn a_redirect_without_location_is_delivered_as_it_is() {
    let (m, u) = (Method::GET, url("http://a.test/"));
    let next = RedirectState::new()
        .next(
            &RedirectPolicy::default(),
            &facts(&m, &u),
            StatusCode::FOUND,
            None,
        )
        .unwrap();
    assert_eq!(next, None);
}

#[test]
fn max_redirects_zero_returns_the_3xx_as_it_is() {
    let (m, u) = (Method::GET, url("http://a.test/"));
    let next = RedirectState::new()
        .next(
            &RedirectPolicy::none(),
            &facts(&m, &u),
            StatusCode::FOUND,
            Some(&loc("/elsewhere")),
        )
        .unwrap();
    assert_eq!(next, None);
}

#[test]
fn relative_and_absolute_locations_resolve_against_the_request_url() {
    let r = follow(
        Method::GET,
        "http://a.test/dir/page?q=1",
        302,
        "../other?x=2",
    );
    assert_eq!(r.url.as_str(), "http://a.test/other?x=2");
    assert!(!r.cross_origin);
    let r = follow(Method::GET, "http://a.test/dir/page", 302, "next");
    assert_eq!(r.url.as_str(), "http://a.test/dir/next");
    let r = follow(Method::GET, "http://a.test/", 301, "//b.test/p");
    assert_eq!(r.url.as_str(), "http://b.test/p");
    assert!(r.cross_origin);
    let r = follow(Method::GET, "http://a.test/", 308, "http://a.test:8080/p");
    assert!(r.cross_origin, "another port is another origin");
}

#[test]
fn a_location_without_fragment_inherits_the_request_fragment() {
    let r = follow(Method::GET, "http://a.test/a#frag", 302, "/b");
    assert_eq!(r.url.as_str(), "http://a.test/b#frag");
    let r = follow(Method::GET, "http://a.test/a#frag", 302, "/b#own");
    assert_eq!(r.url.as_str(), "http://a.test/b#own");
    let r = follow(Method::GET, "http://a.test/a", 302, "/b");
    assert_eq!(r.url.fragment(), None);
}

#[test]
fn non_ascii_bytes_in_location_are_percent_encoded() {
    let from = url("http://a.test/");
    let value = HeaderValue::from_bytes("/caf\u{e9} x".as_bytes()).unwrap();
    let r = RedirectState::new()
        .next(
            &RedirectPolicy::default(),
            &facts(&Method::GET, &from),
            StatusCode::FOUND,
            Some(&value),
        )
        .unwrap()
        .unwrap();
    assert_eq!(r.url.as_str(), "http://a.test/caf%C3%A9%20x");
}

#[test]
fn redirect_301_and_302_turn_post_into_get_and_drop_the_body() {
    for status in [301, 302] {
        let r = follow(Method::POST, "http://a.test/form", status, "/done");
        assert_eq!((r.method, r.keep_body), (Method::GET, false), "{status}");
    }
}

#[test]
fn redirect_301_and_302_keep_other_methods_and_their_body() {
    for status in [301, 302] {
        let r = follow(Method::PUT, "http://a.test/x", status, "/y");
        assert_eq!((r.method, r.keep_body), (Method::PUT, true), "{status}");
    }
}

#[test]
fn post301_post302_post303_keep_the_post() {
    let policy = RedirectPolicy::default()
        .post301(true)
        .post302(true)
        .post303(true);
    for status in [301, 302, 303] {
        let r = follow_with(&policy, Method::POST, "http://a.test/", status, "/y").unwrap();
        assert_eq!((r.method, r.keep_body), (Method::POST, true), "{status}");
    }
    let only_301 = RedirectPolicy::default().post301(true);
    let r = follow_with(&only_301, Method::POST, "http://a.test/", 302, "/y").unwrap();
    assert_eq!(r.method, Method::GET);
}

#[test]
fn redirect_303_turns_put_into_get_and_drops_the_body() {
    let r = follow(Method::PUT, "http://a.test/x", 303, "/y");
    assert_eq!((r.method, r.keep_body), (Method::GET, false));
    let r = follow(Method::DELETE, "http://a.test/x", 303, "/y");
    assert_eq!(r.method, Method::GET);
    let policy = RedirectPolicy::default().post303(true);
    let r = follow_with(&policy, Method::PUT, "http://a.test/x", 303, "/y").unwrap();
    assert_eq!(r.method, Method::GET, "post303 keeps only a POST");
}

#[test]
fn redirect_303_keeps_head() {
    let r = follow(Method::HEAD, "http://a.test/x", 303, "/y");
    assert_eq!(r.method, Method::HEAD);
}

#[test]
fn redirect_307_and_308_keep_method_and_body() {
    for status in [307, 308] {
        let r = follow(Method::POST, "http://a.test/x", status, "/y");
        assert_eq!((r.method, r.keep_body), (Method::POST, true), "{status}");
    }
}

#[test]
fn redirect_307_with_a_one_shot_stream_is_body_not_replayable() {
    let from = url("http://a.test/upload");
    let current = RequestFacts {
        body_replayable: false,
        ..facts(&Method::PUT, &from)
    };
    let e = RedirectState::new()
        .next(
            &RedirectPolicy::default(),
            &current,
            StatusCode::TEMPORARY_REDIRECT,
            Some(&loc("/elsewhere")),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BodyNotReplayable);
    assert!(e.to_string().contains("one-shot"), "{e}");
    // A 303 drops the body, so a one-shot stream is no obstacle.
    let r = RedirectState::new()
        .next(
            &RedirectPolicy::default(),
            &current,
            StatusCode::SEE_OTHER,
            Some(&loc("/elsewhere")),
        )
        .unwrap();
    assert!(r.is_some());
}

#[test]
fn https_to_http_is_refused_naming_the_switch() {
    let e = follow_with(
        &RedirectPolicy::default(),
        Method::GET,
        "https://a.test/",
        302,
        "http://a.test/",
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InsecureRedirect);
    let text = e.to_string();
    assert!(text.contains("ignore_redirect_to_http"), "{text}");
    assert!(text.contains("https://a.test/ -> http://a.test/"), "{text}");

    let allowed = RedirectPolicy::default().ignore_redirect_to_http(true);
    let r = follow_with(
        &allowed,
        Method::GET,
        "https://a.test/",
        302,
        "http://a.test/",
    );
    assert_eq!(r.unwrap().url.as_str(), "http://a.test/");
    let by_flag = RedirectPolicy::default().ignore(IgnoreFlag::RedirectToHttp);
    assert_eq!(by_flag, allowed);
}

#[test]
fn http_to_https_is_allowed_by_default_and_refused_in_strict_mode() {
    let r = follow(Method::GET, "http://a.test/", 301, "https://a.test/");
    assert!(r.cross_origin, "the scheme is part of the origin");

    let strict = RedirectPolicy::default().strict(true);
    let e = follow_with(
        &strict,
        Method::GET,
        "http://a.test/",
        301,
        "https://a.test/",
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InsecureRedirect);
    assert!(e.to_string().contains("ignore_redirect_to_https"), "{e}");
    let e = follow_with(
        &strict,
        Method::GET,
        "https://a.test/",
        301,
        "http://a.test/",
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(text.ends_with("ignore_redirect_to_http"), "{text}");

    let lifted = strict.ignore_redirect_to_https(true);
    assert!(follow_with(
        &lifted,
        Method::GET,
        "http://a.test/",
        301,
        "https://a.test/"
    )
    .is_ok());
}

#[test]
fn nine_hop_chain_with_the_default_limit_is_too_many_redirects() {
    let policy = RedirectPolicy::default();
    let mut state = RedirectState::new();
    let mut current = url("http://a.test/0");
    for hop in 1..=8 {
        let r = state
            .next(
                &policy,
                &facts(&Method::GET, &current),
                StatusCode::FOUND,
                Some(&loc(&format!("/{hop}"))),
            )
            .unwrap()
            .unwrap();
        current = r.url;
    }
    assert_eq!(state.count(), 8);
    let e = state
        .next(
            &policy,
            &facts(&Method::GET, &current),
            StatusCode::FOUND,
            Some(&loc("/9")),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooManyRedirects);
    let text = e.to_string();
    assert!(text.contains("more than 8"), "{text}");
    assert!(
        text.contains("http://a.test/0 -> http://a.test/1 -> ")
            && text.ends_with("http://a.test/8 -> http://a.test/9"),
        "{text}"
    );
}

#[test]
fn a_configured_limit_is_honoured() {
    let policy = RedirectPolicy::default().max_redirects(1);
    let mut state = RedirectState::new();
    let a = url("http://a.test/a");
    let r = state
        .next(
            &policy,
            &facts(&Method::GET, &a),
            StatusCode::FOUND,
            Some(&loc("/b")),
        )
        .unwrap()
        .unwrap();
    let e = state
        .next(
            &policy,
            &facts(&Method::GET, &r.url),
            StatusCode::FOUND,
            Some(&loc("/c")),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooManyRedirects);
}

#[test]
fn redirect_loop_is_too_many_redirects_naming_the_chain() {
    let policy = RedirectPolicy::default();
    let mut state = RedirectState::new();
    let (a, b) = (url("http://a.test/a"), url("http://a.test/b"));
    let get = Method::GET;
    state
        .next(
            &policy,
            &facts(&get, &a),
            StatusCode::FOUND,
            Some(&loc("/b")),
        )
        .unwrap();
    state
        .next(
            &policy,
            &facts(&get, &b),
            StatusCode::FOUND,
            Some(&loc("/a")),
        )
        .unwrap();
    let e = state
        .next(
            &policy,
            &facts(&get, &a),
            StatusCode::FOUND,
            Some(&loc("/b")),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooManyRedirects);
    let text = e.to_string();
    assert!(text.contains("loop"), "{text}");
    assert!(
        text.contains("http://a.test/a -> http://a.test/b -> http://a.test/a -> http://a.test/b"),
        "{text}"
    );
}

#[test]
fn coming_back_to_a_url_by_another_hop_is_not_a_loop() {
    // The login dance: /a sends to /login, which sets a cookie and sends back to /a,
    // which now sends on to /c.
    let policy = RedirectPolicy::default();
    let mut state = RedirectState::new();
    let get = Method::GET;
    let (a, login) = (url("http://a.test/a"), url("http://a.test/login"));
    state
        .next(
            &policy,
            &facts(&get, &a),
            StatusCode::FOUND,
            Some(&loc("/login")),
        )
        .unwrap();
    state
        .next(
            &policy,
            &facts(&get, &login),
            StatusCode::FOUND,
            Some(&loc("/a")),
        )
        .unwrap();
    let r = state
        .next(
            &policy,
            &facts(&get, &a),
            StatusCode::FOUND,
            Some(&loc("/c")),
        )
        .unwrap();
    assert_eq!(r.unwrap().url.as_str(), "http://a.test/c");
    assert_eq!(state.chain().len(), 4);
}

#[test]
fn unusable_locations_are_errors_naming_the_chain() {
    let e = follow_with(
        &RedirectPolicy::default(),
        Method::GET,
        "http://a.test/",
        302,
        "ftp://files.test/x",
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnsupportedScheme);
    assert!(
        e.to_string()
            .contains("http://a.test/ -> ftp://files.test/x"),
        "{e}"
    );
    let e = follow_with(
        &RedirectPolicy::default(),
        Method::GET,
        "http://a.test/",
        302,
        "http://[::1",
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidUrl);
}

#[test]
fn a_cross_origin_redirect_strips_credentials_and_cookies() {
    let mut request = Request::new(Method::GET, "http://a.test/").unwrap();
    for (name, value) in [
        ("authorization", "Basic eDp5"),
        ("cookie", "a=1"),
        ("proxy-authorization", "Basic eDp5"),
        ("host", "a.test"),
        ("x-custom", "kept"),
    ] {
        request.append_header(name, value).unwrap();
    }
    let mut same_origin = request.clone();
    let r = follow(Method::GET, "http://a.test/", 302, "http://b.test/");
    apply_redirect(&mut request, &r);
    assert_eq!(request.url.as_str(), "http://b.test/");
    let names: Vec<&str> = request.headers.keys().map(|n| n.as_str()).collect();
    assert_eq!(names, ["x-custom"]);

    let r = follow(Method::GET, "http://a.test/", 302, "/elsewhere");
    apply_redirect(&mut same_origin, &r);
    assert_eq!(same_origin.headers.len(), 5, "same origin keeps everything");
}

#[test]
fn turning_into_get_drops_the_body_and_its_headers() {
    let mut request = Request::new(Method::POST, "http://a.test/form").unwrap();
    request.set_body("a=1");
    request
        .append_header("content-type", "application/x-www-form-urlencoded")
        .unwrap();
    request.append_header("content-length", "3").unwrap();
    request.append_header("accept", "*/*").unwrap();
    let r = RedirectState::new()
        .next(
            &RedirectPolicy::default(),
            &RequestFacts::of(&request),
            StatusCode::SEE_OTHER,
            Some(&loc("/done")),
        )
        .unwrap()
        .unwrap();
    apply_redirect(&mut request, &r);
    assert_eq!(request.method, Method::GET);
    assert!(request.body.is_empty());
    let names: Vec<&str> = request.headers.keys().map(|n| n.as_str()).collect();
    assert_eq!(names, ["accept"]);
}

#[test]
fn keeping_the_body_keeps_its_headers() {
    let mut request = Request::new(Method::POST, "http://a.test/form").unwrap();
    request.set_body("a=1");
    request.append_header("content-type", "text/plain").unwrap();
    let r = RedirectState::new()
        .next(
            &RedirectPolicy::default(),
            &RequestFacts::of(&request),
            StatusCode::PERMANENT_REDIRECT,
            Some(&loc("/again")),
        )
        .unwrap()
        .unwrap();
    apply_redirect(&mut request, &r);
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.body.len(), Some(3));
    assert!(request.headers.contains_key("content-type"));
}

#[test]
fn passwords_in_the_chain_are_masked() {
    let e = follow_with(
        &RedirectPolicy::default(),
        Method::GET,
        "https://user:secret@a.test/",
        302,
        "http://user:secret@a.test/",
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(!text.contains("secret"), "{text}");
    assert!(text.contains("https://user:***@a.test/"), "{text}");
}

#[test]
fn referer_for_drops_credentials_and_fragment_and_never_downgrades() {
    let url = |s: &str| Url::parse(s).unwrap();
    let referer = |from: &str, to: &str| {
        referer_for(&url(from), &url(to)).map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(
        referer("http://ann:pw@a.test/x?q=1#frag", "http://b.test/"),
        Some("http://a.test/x?q=1".to_owned())
    );
    assert_eq!(
        referer("http://a.test/x", "https://a.test/y"),
        Some("http://a.test/x".to_owned())
    );
    assert_eq!(
        referer("https://a.test/x", "https://b.test/"),
        Some("https://a.test/x".to_owned())
    );
    assert_eq!(referer("https://a.test/x", "http://a.test/y"), None);
}
