//! Authentication endpoints: Basic (`/basic-auth`, `/hidden-basic-auth`), Bearer (`/bearer`)
//! and Digest (`/digest-auth`, RFC 7616).
//!
//! Digest is verified for real: the nonce must be one this server issued (and the opaque the
//! one issued with it), and the response must equal the one computed from the password. Any
//! failure gets a 401 with a fresh challenge.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use base64::Engine as _;
use http::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use http::{request, Response, StatusCode};
use md5::{Digest as _, Md5};
use ring::digest::{digest as ring_digest, SHA256, SHA512};
use serde_json::json;

use crate::body::{json, ok_json, Body, HttpError, Reply};

/// The realm of every challenge (httpbin's).
const REALM: &str = "me@kennethreitz.com";
/// How many issued nonces are remembered; older ones are forgotten and rejected.
const NONCES_KEPT: usize = 4096;

/// Nonces this server has issued, each with its opaque value.
#[derive(Default)]
pub(crate) struct Nonces {
    issued: Mutex<VecDeque<(String, String)>>,
}

impl Nonces {
    fn issue(&self, seed: u64) -> (String, String) {
        let material = format!("nonce:{seed}:{:?}", std::time::SystemTime::now());
        let nonce = hex(ring_digest(&SHA256, material.as_bytes()).as_ref());
        let opaque = hex(&Md5::digest(format!("opaque:{seed}")));
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        if issued.len() == NONCES_KEPT {
            issued.pop_front();
        }
        issued.push_back((nonce.clone(), opaque.clone()));
        (nonce, opaque)
    }

    fn opaque_of(&self, nonce: &str) -> Option<String> {
        let issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        issued
            .iter()
            .find(|(n, _)| n == nonce)
            .map(|(_, o)| o.clone())
    }
}

/// `/basic-auth/{user}/{passwd}`; `hidden` answers 404 instead of 401 (no challenge).
pub(crate) fn basic(parts: &request::Parts, user: &str, passwd: &str, hidden: bool) -> Reply {
    let given = credentials(parts, "Basic")
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    if given.as_deref() == Some(&format!("{user}:{passwd}")) {
        return ok_json(&json!({ "authenticated": true, "user": user }));
    }
    if hidden {
        return Err(HttpError::new(StatusCode::NOT_FOUND, "not found"));
    }
    Ok(unauthorized("Basic realm=\"Fake Realm\""))
}

/// `/bearer`: any `Authorization: Bearer <token>` passes.
pub(crate) fn bearer(parts: &request::Parts) -> Reply {
    match credentials(parts, "Bearer").filter(|t| !t.is_empty()) {
        Some(token) => ok_json(&json!({ "authenticated": true, "token": token })),
        None => Ok(unauthorized("Bearer")),
    }
}

/// What the path of a digest request asks for.
pub(crate) struct DigestRoute<'a> {
    pub(crate) qop: &'a str,
    pub(crate) user: &'a str,
    pub(crate) passwd: &'a str,
    pub(crate) algorithm: &'a str,
}

/// `/digest-auth/{qop}/{user}/{passwd}[/{algorithm}]`. `body` is the request body, used by
/// `qop=auth-int`.
pub(crate) fn digest(
    parts: &request::Parts,
    route: &DigestRoute<'_>,
    body: &[u8],
    nonces: &Nonces,
    seed: u64,
) -> Reply {
    let algorithm = Algorithm::parse(route.algorithm).ok_or_else(|| {
        HttpError::bad_request(format!(
            "unsupported digest algorithm {:?}",
            route.algorithm
        ))
    })?;
    // httpbin: `auth` and `auth-int` are qop values; anything else means RFC 2069 (no qop).
    let qop = match route.qop {
        "auth" | "auth-int" => Some(route.qop),
        _ => None,
    };
    let verified = credentials(parts, "Digest")
        .map(parse_params)
        .is_some_and(|params| verify(parts, route, &params, algorithm, qop, body, nonces));
    if verified {
        return ok_json(&json!({ "authenticated": true, "user": route.user }));
    }
    let (nonce, opaque) = nonces.issue(seed);
    let qop_param = qop.map(|q| format!(", qop=\"{q}\"")).unwrap_or_default();
    Ok(unauthorized(&format!(
        "Digest realm=\"{REALM}\"{qop_param}, nonce=\"{nonce}\", opaque=\"{opaque}\", algorithm={}, stale=FALSE",
        algorithm.name
    )))
}

fn verify(
    parts: &request::Parts,
    route: &DigestRoute<'_>,
    params: &HashMap<String, String>,
    algorithm: Algorithm,
    qop: Option<&str>,
    body: &[u8],
    nonces: &Nonces,
) -> bool {
    let get = |key: &str| params.get(key).map(String::as_str);
    let (Some(nonce), Some(response), Some(uri)) = (get("nonce"), get("response"), get("uri"))
    else {
        return false;
    };
    let target = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let claimed_algorithm = get("algorithm").unwrap_or("MD5");
    if get("username") != Some(route.user)
        || get("realm") != Some(REALM)
        || uri != target
        || !claimed_algorithm.eq_ignore_ascii_case(algorithm.name)
    {
        return false;
    }
    // Only nonces this server issued; a client that echoes the opaque must echo ours.
    let Some(issued_opaque) = nonces.opaque_of(nonce) else {
        return false;
    };
    if get("opaque").is_some_and(|opaque| opaque != issued_opaque) {
        return false;
    }
    let h = |data: String| algorithm.hash(data.as_bytes());
    let mut ha1 = h(format!("{}:{REALM}:{}", route.user, route.passwd));
    let method = parts.method.as_str();
    let ha2 = match qop {
        Some("auth-int") => h(format!("{method}:{uri}:{}", algorithm.hash(body))),
        _ => h(format!("{method}:{uri}")),
    };
    let expected = match qop {
        Some(qop) => {
            let (Some(nc), Some(cnonce), Some(client_qop)) = (get("nc"), get("cnonce"), get("qop"))
            else {
                return false;
            };
            if client_qop != qop {
                return false;
            }
            if algorithm.sess {
                ha1 = h(format!("{ha1}:{nonce}:{cnonce}"));
            }
            h(format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}"))
        }
        None => h(format!("{ha1}:{nonce}:{ha2}")),
    };
    expected.eq_ignore_ascii_case(response)
}

/// A digest algorithm: its hash and whether it is a `-sess` variant.
#[derive(Clone, Copy)]
struct Algorithm {
    name: &'static str,
    hash: Hash,
    sess: bool,
}

#[derive(Clone, Copy)]
enum Hash {
    Md5,
    Sha256,
    Sha512,
}

impl Algorithm {
    fn parse(name: &str) -> Option<Algorithm> {
        let (name, hash, sess) = match name.to_ascii_uppercase().as_str() {
            "MD5" => ("MD5", Hash::Md5, false),
            "MD5-SESS" => ("MD5-sess", Hash::Md5, true),
            "SHA-256" => ("SHA-256", Hash::Sha256, false),
            "SHA-256-SESS" => ("SHA-256-sess", Hash::Sha256, true),
            "SHA-512" => ("SHA-512", Hash::Sha512, false),
            "SHA-512-SESS" => ("SHA-512-sess", Hash::Sha512, true),
            _ => return None,
        };
        Some(Algorithm { name, hash, sess })
    }

    fn hash(self, data: &[u8]) -> String {
        match self.hash {
            Hash::Md5 => hex(&Md5::digest(data)),
            Hash::Sha256 => hex(ring_digest(&SHA256, data).as_ref()),
            Hash::Sha512 => hex(ring_digest(&SHA512, data).as_ref()),
        }
    }
}

/// The credentials after `scheme ` in the Authorization header, if that is the scheme.
fn credentials<'a>(parts: &'a request::Parts, scheme: &str) -> Option<&'a str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (given, rest) = value.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

/// Parses `k=v, k="quoted, \"v\""` auth parameters; keys are lowercased.
fn parse_params(text: &str) -> HashMap<String, String> {
    let mut params = HashMap::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches([' ', ',', '\t']);
        let Some((key, after)) = rest.split_once('=') else {
            return params;
        };
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut end = quoted.len();
            let mut chars = quoted.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next().map(|(_, c)| c)),
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &quoted[end.min(quoted.len())..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_owned(), &after[end..])
        };
        params.insert(key.trim().to_ascii_lowercase(), value);
        rest = next;
    }
}

fn unauthorized(challenge: &str) -> Response<Body> {
    let mut response = json(StatusCode::UNAUTHORIZED, &json!({ "authenticated": false }));
    if let Ok(value) = HeaderValue::from_str(challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_params_handle_quotes_and_escapes() {
        let params = parse_params(r#"username="Mufasa", realm="a, \"b\"", nc=00000001, qop=auth"#);
        assert_eq!(params["username"], "Mufasa");
        assert_eq!(params["realm"], "a, \"b\"");
        assert_eq!(params["nc"], "00000001");
        assert_eq!(params["qop"], "auth");
    }

    #[test]
    fn rfc_7616_sha256_example_response() {
        // RFC 7616 §3.9.1: the formula must reproduce the RFC's own example.
        let alg = Algorithm::parse("SHA-256").unwrap();
        let ha1 = alg.hash(b"Mufasa:http-auth@example.org:Circle of Life");
        let ha2 = alg.hash(b"GET:/dir/index.html");
        let nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
        let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
        let response = alg.hash(format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}").as_bytes());
        assert_eq!(
            response,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn unknown_algorithm_is_refused() {
        assert!(Algorithm::parse("SHA-1").is_none());
        assert_eq!(
            Algorithm::parse("md5-sess").map(|a| a.name),
            Some("MD5-sess")
        );
    }
}
