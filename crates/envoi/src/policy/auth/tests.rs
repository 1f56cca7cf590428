//! Tests of authentication: what is sent up front, the single answer to a challenge, and
//! the challenge parser.

use super::*;

fn challenge_headers(target: AuthTarget, values: &[&str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for v in values {
        headers.append(target.challenge_header(), HeaderValue::from_str(v).unwrap());
    }
    headers
}

fn parse(values: &[&str]) -> Vec<Challenge> {
    let values: Vec<HeaderValue> = values
        .iter()
        .map(|v| HeaderValue::from_str(v).unwrap())
        .collect();
    parse_challenges(&values)
}

#[test]
fn basic_and_bearer_are_sent_with_the_first_request() {
    let state = AuthState::new(Auth::basic("Aladdin", "open sesame"), AuthTarget::Server);
    assert_eq!(
        state.initial_header().unwrap().unwrap(),
        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    );
    let state = AuthState::new(Auth::bearer("tok.en"), AuthTarget::Server);
    assert_eq!(state.initial_header().unwrap().unwrap(), "Bearer tok.en");
    for auth in [Auth::digest("u", "p"), Auth::any("u", "p")] {
        let state = AuthState::new(auth, AuthTarget::Server);
        assert_eq!(
            state.initial_header().unwrap(),
            None,
            "waits for a challenge"
        );
    }
}

#[test]
fn credentials_with_control_characters_are_an_invalid_header() {
    let state = AuthState::new(Auth::bearer("a\r\nX-Evil: 1"), AuthTarget::Proxy);
    let e = state.initial_header().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidHeader);
    assert_eq!(e.header(), Some("proxy-authorization"));
}

#[test]
fn a_refused_basic_ends_as_the_401() {
    let mut state = AuthState::new(Auth::basic("u", "wrong"), AuthTarget::Server);
    let headers = challenge_headers(AuthTarget::Server, &["Basic realm=\"x\""]);
    let answer = state.on_challenge(StatusCode::UNAUTHORIZED, &headers, &Method::GET, "/", "c");
    assert_eq!(answer, None);
}

#[test]
fn digest_with_wrong_password_is_answered_once() {
    let mut state = AuthState::new(Auth::digest("Mufasa", "wrong"), AuthTarget::Server);
    let headers = challenge_headers(
        AuthTarget::Server,
        &["Digest realm=\"r\", qop=\"auth\", nonce=\"n1\", algorithm=MD5"],
    );
    let first = state.on_challenge(StatusCode::UNAUTHORIZED, &headers, &Method::GET, "/", "c");
    let text = first.unwrap();
    let text = text.to_str().unwrap();
    assert!(text.starts_with("Digest username=\"Mufasa\""), "{text}");
    assert!(text.contains("nc=00000001"), "{text}");
    let second = state.on_challenge(StatusCode::UNAUTHORIZED, &headers, &Method::GET, "/", "c");
    assert_eq!(second, None, "wrong credentials end as the 401, not a loop");
}

#[test]
fn a_stale_nonce_is_answered_one_more_time_and_counts_nc() {
    let mut state = AuthState::new(Auth::digest("u", "p"), AuthTarget::Server);
    let first = challenge_headers(
        AuthTarget::Server,
        &["Digest realm=\"r\", nonce=\"n1\", qop=auth"],
    );
    let stale = challenge_headers(
        AuthTarget::Server,
        &["Digest realm=\"r\", nonce=\"n1\", qop=auth, stale=true"],
    );
    let status = StatusCode::UNAUTHORIZED;
    assert!(state
        .on_challenge(status, &first, &Method::GET, "/", "c")
        .is_some());
    let again = state
        .on_challenge(status, &stale, &Method::GET, "/", "c")
        .unwrap();
    assert!(again.to_str().unwrap().contains("nc=00000002"), "{again:?}");
    assert_eq!(
        state.on_challenge(status, &stale, &Method::GET, "/", "c"),
        None
    );
}

#[test]
fn proxy_challenges_are_answered_only_for_a_proxy() {
    let headers = challenge_headers(AuthTarget::Proxy, &["Digest realm=\"p\", nonce=\"n\""]);
    let mut server = AuthState::new(Auth::digest("u", "p"), AuthTarget::Server);
    let status = StatusCode::PROXY_AUTHENTICATION_REQUIRED;
    assert_eq!(
        server.on_challenge(status, &headers, &Method::GET, "/", "c"),
        None
    );
    let mut proxy = AuthState::new(Auth::digest("u", "p"), AuthTarget::Proxy);
    assert!(proxy
        .on_challenge(status, &headers, &Method::GET, "/", "c")
        .is_some());
    assert_eq!(proxy.target.answer_header(), header::PROXY_AUTHORIZATION);
    let unauthorized = StatusCode::UNAUTHORIZED;
    let mut proxy = AuthState::new(Auth::digest("u", "p"), AuthTarget::Proxy);
    assert_eq!(
        proxy.on_challenge(unauthorized, &headers, &Method::GET, "/", "c"),
        None
    );
}

#[test]
fn any_prefers_digest_and_falls_back_to_basic() {
    let status = StatusCode::UNAUTHORIZED;
    let both = challenge_headers(
        AuthTarget::Server,
        &["Basic realm=\"r\", Digest realm=\"r\", nonce=\"n\", qop=\"auth\""],
    );
    let mut state = AuthState::new(Auth::any("u", "p"), AuthTarget::Server);
    let answer = state
        .on_challenge(status, &both, &Method::GET, "/", "c")
        .unwrap();
    assert!(answer.to_str().unwrap().starts_with("Digest "));

    let basic = challenge_headers(AuthTarget::Server, &["Basic realm=\"r\""]);
    let mut state = AuthState::new(Auth::any("u", "p"), AuthTarget::Server);
    let answer = state
        .on_challenge(status, &basic, &Method::GET, "/", "c")
        .unwrap();
    assert_eq!(answer, "Basic dTpw");
    assert_eq!(
        state.on_challenge(status, &basic, &Method::GET, "/", "c"),
        None
    );

    let unknown = challenge_headers(AuthTarget::Server, &["Negotiate abc=="]);
    let mut state = AuthState::new(Auth::any("u", "p"), AuthTarget::Server);
    assert_eq!(
        state.on_challenge(status, &unknown, &Method::GET, "/", "c"),
        None
    );
}

#[test]
fn credentials_come_from_the_url_userinfo() {
    let url = Url::parse("http://us%40er:p%3Ass@a.test/").unwrap();
    assert_eq!(Auth::from_url(&url), Some(Auth::basic("us@er", "p:ss")));
    let url = Url::parse("http://a.test/").unwrap();
    assert_eq!(Auth::from_url(&url), None);
}

#[test]
fn several_challenges_in_one_field_and_across_fields_are_all_read() {
    let challenges = parse(&[
        "Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Basic realm=\"simple\"",
        "Negotiate abc+/==, Digest realm=\"a, b\", nonce=xyz",
    ]);
    let schemes: Vec<&str> = challenges.iter().map(|c| c.scheme.as_str()).collect();
    assert_eq!(schemes, ["newauth", "basic", "negotiate", "digest"]);
    assert_eq!(challenges[0].param("title"), Some("Login to \"apps\""));
    assert_eq!(challenges[0].param("type"), Some("1"));
    assert_eq!(challenges[1].param("realm"), Some("simple"));
    assert_eq!(challenges[2].token68.as_deref(), Some("abc+/=="));
    assert_eq!(challenges[3].param("realm"), Some("a, b"));
    assert_eq!(challenges[3].param("nonce"), Some("xyz"));
}

#[test]
fn a_challenge_without_parameters_is_read() {
    let challenges = parse(&["Basic, Bearer"]);
    let schemes: Vec<&str> = challenges.iter().map(|c| c.scheme.as_str()).collect();
    assert_eq!(schemes, ["basic", "bearer"]);
}

#[test]
fn garbage_challenges_never_panic() {
    for text in [
        "",
        ",,,",
        "\"",
        "Digest realm=\"unterminated",
        "Digest realm=\"x\\",
        "Digest =x, ==, realm",
        "Digest realm=\"x\" junk, nonce=1",
        "  Basic   realm  =  x  ",
    ] {
        let _ = parse(&[text]);
    }
    let c = parse(&["Digest realm=\"x\" junk, nonce=1"]);
    assert_eq!(c[0].param("nonce"), Some("1"));
    let c = parse(&["  Basic   realm  =  x  "]);
    assert_eq!(c[0].param("realm"), Some("x"));
}

#[test]
fn credentials_stay_behind_when_a_redirect_leaves_the_origin() {
    let status = StatusCode::UNAUTHORIZED;
    let challenge = challenge_headers(AuthTarget::Server, &["Digest realm=\"r\", nonce=\"n\""]);
    let mut state = AuthState::new(Auth::digest("u", "p"), AuthTarget::Server);
    assert!(state
        .on_challenge(status, &challenge, &Method::GET, "/a", "c")
        .is_some());
    state.on_redirect(false);
    let again = state.on_challenge(status, &challenge, &Method::GET, "/b", "c");
    assert!(
        again.is_some(),
        "a new request on the same origin is answered again"
    );
    state.on_redirect(true);
    assert_eq!(
        state.on_challenge(status, &challenge, &Method::GET, "/", "c"),
        None
    );

    let mut basic = AuthState::new(Auth::basic("u", "p"), AuthTarget::Server);
    basic.on_redirect(true);
    assert_eq!(basic.initial_header().unwrap(), None);
    let mut proxy = AuthState::new(Auth::basic("u", "p"), AuthTarget::Proxy);
    proxy.on_redirect(true);
    assert!(
        proxy.initial_header().unwrap().is_some(),
        "the proxy is still the proxy"
    );
}
