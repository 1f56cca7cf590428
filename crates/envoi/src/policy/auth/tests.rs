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
    let waiting = [
        #[cfg(feature = "digest")]
        Auth::digest("u", "p"),
        Auth::any("u", "p"),
    ];
    for auth in waiting {
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
#[cfg(feature = "digest")]
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
#[cfg(feature = "digest")]
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
#[cfg(feature = "digest")]
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
#[cfg(not(feature = "digest"))]
fn any_answers_basic_and_leaves_digest_unanswered_without_the_feature() {
    let status = StatusCode::UNAUTHORIZED;
    let both = challenge_headers(
        AuthTarget::Server,
        &["Basic realm=\"r\", Digest realm=\"r\", nonce=\"n\", qop=\"auth\""],
    );
    let mut state = AuthState::new(Auth::any("u", "p"), AuthTarget::Server);
    let answer = state.on_challenge(status, &both, &Method::GET, "/", "c");
    assert_eq!(answer.unwrap(), "Basic dTpw");
    let digest = challenge_headers(AuthTarget::Server, &["Digest realm=\"r\", nonce=\"n\""]);
    let mut state = AuthState::new(Auth::any("u", "p"), AuthTarget::Server);
    assert_eq!(
        state.on_challenge(status, &digest, &Method::GET, "/", "c"),
        None
    );
}

#[test]
#[cfg(feature = "digest")]
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
#[cfg(feature = "digest")]
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

// Property tests: whatever a server or proxy puts in its challenge field, the parser and the
// Digest answer never panic.

#[cfg(feature = "digest")]
mod properties {
    use crate::policy::field_values::field_value;
    use proptest::prelude::*;

    use super::super::digest::{DigestChallenge, DigestInput};
    use super::*;

    /// Pieces of challenges, valid and not, glued in any order.
    fn challenge_text() -> impl Strategy<Value = Vec<u8>> {
        const PIECES: &[&[u8]] = &[
            b"Digest",
            b"Basic",
            b"Bearer",
            b"Negotiate abc+/==",
            b" ",
            b"\t",
            b",",
            b"=",
            b"\"",
            b"\\",
            b"realm=",
            b"realm=\"a\\\"b\"",
            b"nonce=x",
            b"nonce=\"n, 1\"",
            b"qop=\"auth,auth-int\"",
            b"qop=auth-int",
            b"algorithm=MD5-sess",
            b"algorithm=SHA-256",
            b"algorithm=\"sha-256-SESS\"",
            b"opaque=\"o\"",
            b"stale=TRUE",
            b"userhash=true",
            b"\xff\x80",
        ];
        let piece = prop::sample::select(PIECES);
        prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
    }

    fn values(fields: &[Vec<u8>]) -> Vec<HeaderValue> {
        fields
            .iter()
            .map(|f| HeaderValue::from_bytes(f).expect("only field-value bytes"))
            .collect()
    }

    /// What every parsed challenge must look like, whatever the input.
    fn check_shape(challenges: &[Challenge], input_len: usize) -> Result<(), TestCaseError> {
        // Each challenge starts at a scheme token of its own.
        prop_assert!(challenges.len() <= input_len);
        for c in challenges {
            prop_assert!(!c.scheme.is_empty(), "{c:?}");
            prop_assert!(c.scheme.bytes().all(is_tchar), "{c:?}");
            prop_assert_eq!(c.scheme.to_ascii_lowercase(), c.scheme.clone());
            for (name, _) in &c.params {
                prop_assert!(!name.is_empty(), "{c:?}");
                prop_assert!(name.bytes().all(is_tchar), "{c:?}");
                prop_assert_eq!(name.to_ascii_lowercase(), name.clone());
            }
            if let Some(token) = &c.token68 {
                prop_assert!(c.params.is_empty(), "{c:?}");
                prop_assert!(!token.is_empty() && !token.starts_with('='), "{c:?}");
                prop_assert!(
                    token.bytes().all(|b| is_token68_char(b) || b == b'='),
                    "{c:?}"
                );
            }
        }
        Ok(())
    }

    /// Answers the first Digest challenge the way a response would be met, and checks the
    /// answer's shape.
    fn check_digest_answer(
        challenges: &[Challenge],
        fields: &[HeaderValue],
        input: &DigestInput<'_>,
    ) -> Result<(), TestCaseError> {
        let Some(picked) = DigestChallenge::pick(challenges) else {
            return Ok(());
        };
        prop_assert!(challenges.iter().any(|c| c.scheme == "digest"));
        let answer = picked.answer(input);
        prop_assert!(answer.starts_with("Digest "), "{answer}");
        let response = answer
            .split(", response=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default();
        prop_assert!(
            matches!(response.len(), 32 | 64) && response.bytes().all(|b| b.is_ascii_hexdigit()),
            "{answer}"
        );

        let mut headers = HeaderMap::new();
        for field in fields {
            headers.append(header::WWW_AUTHENTICATE, field.clone());
        }
        let mut state =
            AuthState::new(Auth::digest(input.user, input.password), AuthTarget::Server);
        let method = Method::from_bytes(input.method.as_bytes()).unwrap();
        let header = state.on_challenge(
            StatusCode::UNAUTHORIZED,
            &headers,
            &method,
            input.uri,
            input.cnonce,
        );
        // The inputs hold no control characters, and whatever came from the challenge was
        // field-value bytes already: the answer is always a valid field.
        let header = header.expect("a Digest challenge was answerable");
        prop_assert!(header.as_bytes().starts_with(b"Digest "));
        Ok(())
    }

    proptest! {
        /// Any bytes a field value may hold, in one field or several, parse into challenges
        /// of a sane shape.
        #[test]
        fn any_challenge_header_parses_without_panicking(
            fields in prop::collection::vec(field_value(120), 1..4),
        ) {
            let challenges = parse_challenges(&values(&fields));
            let len = fields.iter().map(Vec::len).sum();
            check_shape(&challenges, len)?;
        }

        /// Near-valid challenges (real parameters, stray quotes, commas, escapes) parse into
        /// challenges of a sane shape, and every Digest one among them is answered without
        /// panicking, whatever the credentials and request.
        #[test]
        fn near_valid_digest_challenges_are_answered_without_panicking(
            fields in prop::collection::vec(
                challenge_text().prop_map(|t| [&b"Digest "[..], &t].concat()),
                1..3,
            ),
            user in "[^\\x00-\\x1f\\x7f]{0,12}",
            password in "[^\\x00-\\x1f\\x7f]{0,12}",
            method in "[A-Z]{1,8}",
            uri in "/[!-~]{0,30}",
            cnonce in "[!-~]{0,20}",
            nc in any::<u32>(),
        ) {
            let fields = values(&fields);
            let challenges = parse_challenges(&fields);
            check_shape(&challenges, fields.iter().map(|f| f.len()).sum())?;
            prop_assert_eq!(challenges[0].scheme.as_str(), "digest");
            let input = DigestInput {
                user: &user,
                password: &password,
                method: &method,
                uri: &uri,
                cnonce: &cnonce,
                nc,
            };
            check_digest_answer(&challenges, &fields, &input)?;
        }

        /// Digest challenges with arbitrary parameter values (any field-value text, quoted)
        /// are answered without panicking.
        #[test]
        fn digest_answers_to_arbitrary_parameters_never_panic(
            params in prop::collection::vec(
                (
                    prop_oneof![
                        Just("realm"), Just("nonce"), Just("qop"), Just("algorithm"),
                        Just("opaque"), Just("stale"), Just("userhash"), Just("domain"),
                    ],
                    "[^\\x00-\\x08\\x0a-\\x1f\\x7f]{0,16}",
                ),
                0..8,
            ),
            user in "[^\\x00-\\x1f\\x7f]{0,12}",
            nc in any::<u32>(),
        ) {
            let mut text = String::from("Digest nonce=\"n\"");
            for (name, value) in &params {
                let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
                text.push_str(&format!(", {name}=\"{escaped}\""));
            }
            let fields = [HeaderValue::from_str(&text).unwrap()];
            let challenges = parse_challenges(&fields);
            prop_assert_eq!(challenges.len(), 1, "{}", text);
            prop_assert_eq!(challenges[0].params.len(), params.len() + 1);
            for ((name, value), (parsed_name, parsed_value)) in
                params.iter().zip(&challenges[0].params[1..])
            {
                prop_assert_eq!(name, parsed_name);
                prop_assert_eq!(value, parsed_value);
            }
            let input = DigestInput {
                user: &user,
                password: "p",
                method: "GET",
                uri: "/",
                cnonce: "c",
                nc,
            };
            check_digest_answer(&challenges, &fields, &input)?;
        }

        /// Well-formed challenges, several to a field, parse back to exactly their schemes
        /// (lower-cased) and parameters (quoted values unescaped).
        #[test]
        fn well_formed_challenges_parse_back_to_their_parts(
            challenges in prop::collection::vec(
                (
                    "[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,10}",
                    prop::collection::vec(
                        ("[a-zA-Z0-9-]{1,8}", "[^\\x00-\\x08\\x0a-\\x1f\\x7f]{0,16}"),
                        0..4,
                    ),
                ),
                1..4,
            ),
        ) {
            let text = challenges
                .iter()
                .map(|(scheme, params)| {
                    let params: Vec<String> = params
                        .iter()
                        .map(|(n, v)| {
                            format!("{n}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
                        })
                        .collect();
                    format!("{scheme} {}", params.join(", "))
                })
                .collect::<Vec<_>>()
                .join(", ");
            let parsed = parse_challenges(&[HeaderValue::from_str(&text).unwrap()]);
            let expected: Vec<Challenge> = challenges
                .iter()
                .map(|(scheme, params)| Challenge {
                    scheme: scheme.to_ascii_lowercase(),
                    params: params
                        .iter()
                        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
                        .collect(),
                    token68: None,
                })
                .collect();
            prop_assert_eq!(parsed, expected, "{}", text);
        }
    }
}
