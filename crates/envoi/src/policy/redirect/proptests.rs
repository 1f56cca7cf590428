//! Property tests: whatever a server puts in Location, resolving it never panics, and what
//! comes out is an http or https URL that can be sent, or a typed error.

use crate::policy::field_values::field_value;
use envoi_proto::{RequestTarget, TargetForm};
use proptest::prelude::*;

use super::*;

/// Request URLs of every shape a redirect starts from.
const BASES: &[&str] = &[
    "http://a.test/",
    "https://a.test/dir/page?q=1#frag",
    "http://user:pw@a.test:8080/a/b/c",
    "https://[::1]:8443/x?y",
    "http://127.0.0.1/%7Efile",
    "https://xn--bcher-kva.test/",
];

/// Locations glued from the pieces URLs are made of, valid and not.
fn near_valid_location() -> impl Strategy<Value = Vec<u8>> {
    const PIECES: &[&[u8]] = &[
        b"http:",
        b"https:",
        b"HTTPS:",
        b"ftp:",
        b"javascript:",
        b"data:,",
        b"//",
        b"/",
        b"\\",
        b"..",
        b".",
        b"?",
        b"#",
        b"@",
        b":",
        b":99999",
        b":443",
        b"[::1]",
        b"[",
        b"%",
        b"%zz",
        b"%2e",
        b"%00",
        b"user:pw@",
        b"a.test",
        b"xn--",
        b"b\xc3\xbccher",
        b"\xff",
        b" ",
        b"\t",
        b"0x7f.1",
        b"256.256.256.256",
    ];
    prop::collection::vec(prop::sample::select(PIECES), 0..10).prop_map(|p| p.concat())
}

/// A redirect target must be one envoi can send: http or https, a host, a request target
/// made of visible ASCII starting with `/`, and no byte in the whole URL that would need
/// encoding on the wire.
fn check_target(target: &Url) -> Result<(), TestCaseError> {
    prop_assert!(matches!(target.scheme(), "http" | "https"), "{target}");
    prop_assert!(target.host_str().is_some_and(|h| !h.is_empty()), "{target}");
    prop_assert!(
        target.as_str().bytes().all(|b| (0x21..=0x7e).contains(&b)),
        "{target}"
    );
    let origin = target.path_and_query();
    let form = RequestTarget::with_form(TargetForm::Origin, origin);
    prop_assert!(form.is_ok(), "{target}: {form:?}");
    Ok(())
}

fn check_location(base: &str, location: &[u8]) -> Result<(), TestCaseError> {
    let base = Url::parse(base).unwrap();
    let value = HeaderValue::from_bytes(location).unwrap();
    match RedirectState::new().resolve(&base, &value) {
        Ok(target) => {
            check_target(&target)?;
            let _ = referer_for(&base, &target);
        }
        Err(e) => prop_assert!(
            matches!(
                e.kind(),
                ErrorKind::InvalidUrl | ErrorKind::UnsupportedScheme
            ),
            "{e}"
        ),
    }
    // The whole decision, with every scheme change allowed: the same URL or the same errors.
    let policy = RedirectPolicy::default()
        .ignore_redirect_to_http(true)
        .ignore_redirect_to_https(true);
    let get = Method::GET;
    let facts = RequestFacts {
        method: &get,
        url: &base,
        body_replayable: true,
        has_body: false,
    };
    let status = StatusCode::FOUND;
    match RedirectState::new().next(&policy, &facts, status, Some(&value)) {
        Ok(Some(redirect)) => check_target(&redirect.url)?,
        Ok(None) => prop_assert!(false, "a 302 with a Location is a redirect"),
        Err(e) => prop_assert!(
            matches!(
                e.kind(),
                ErrorKind::InvalidUrl | ErrorKind::UnsupportedScheme
            ),
            "{e}"
        ),
    }
    Ok(())
}

proptest! {
    /// Any bytes a Location field may hold resolve against any request URL to a URL envoi
    /// can send, or to InvalidUrl or UnsupportedScheme; never a panic.
    #[test]
    fn any_location_resolves_to_an_http_url_or_a_typed_error(
        base in prop::sample::select(BASES),
        location in field_value(60),
    ) {
        check_location(base, &location)?;
    }

    /// Locations made of URL pieces (schemes, hosts, ports, dot segments, escapes, raw
    /// UTF-8) resolve to a URL envoi can send or to a typed error; never a panic.
    #[test]
    fn near_valid_locations_resolve_to_an_http_url_or_a_typed_error(
        base in prop::sample::select(BASES),
        location in near_valid_location(),
    ) {
        check_location(base, &location)?;
    }
}
