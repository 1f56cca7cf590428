//! httpbin-compatible routes: JSON shapes, methods, auth, cookies, redirects, encodings.

use std::io::Read;

use md5::{Digest as _, Md5};
use serde_json::json;

use crate::support::{connect, get, server};

#[test]
fn get_echoes_args_headers_origin_and_url() {
    let server = server();
    let reply = connect(server.http_addr())
        .send(
            "GET",
            "/get?a=1&a=2&b=x%20y",
            &[("X-Custom-Thing", "yes"), ("user-agent", "t/1")],
            b"",
        )
        .unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    assert_eq!(body["args"], json!({ "a": ["1", "2"], "b": "x y" }));
    assert_eq!(body["headers"]["X-Custom-Thing"], "yes");
    assert_eq!(body["headers"]["User-Agent"], "t/1");
    assert_eq!(body["origin"], "127.0.0.1");
    assert_eq!(
        body["url"],
        format!("http://{}/get?a=1&a=2&b=x%20y", server.http_addr())
    );
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["args", "headers", "origin", "url"]);
}

#[test]
fn post_parses_a_urlencoded_form() {
    let reply = connect(server().http_addr())
        .send(
            "POST",
            "/post",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            b"name=envoi&n=1&n=2",
        )
        .unwrap();
    let body = reply.json();
    assert_eq!(body["form"], json!({ "name": "envoi", "n": ["1", "2"] }));
    assert_eq!(body["data"], "");
    assert_eq!(body["json"], json!(null));
    for key in [
        "args", "data", "files", "form", "headers", "json", "origin", "url",
    ] {
        assert!(body.get(key).is_some(), "missing {key}");
    }
}

#[test]
fn post_parses_json_into_the_json_field() {
    let reply = connect(server().http_addr())
        .send(
            "POST",
            "/post",
            &[("Content-Type", "application/json")],
            br#"{"k":[1,2]}"#,
        )
        .unwrap();
    let body = reply.json();
    assert_eq!(body["json"], json!({ "k": [1, 2] }));
    assert_eq!(body["data"], r#"{"k":[1,2]}"#);
}

#[test]
fn post_parses_multipart_fields_and_files() {
    let multipart = b"--B0UND\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nvalue\r\n\
--B0UND\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"a.txt\"\r\n\
Content-Type: text/plain\r\n\r\nfile body\r\n--B0UND--\r\n";
    let reply = connect(server().http_addr())
        .send(
            "POST",
            "/post",
            &[("Content-Type", "multipart/form-data; boundary=B0UND")],
            multipart,
        )
        .unwrap();
    let body = reply.json();
    assert_eq!(body["form"], json!({ "field": "value" }));
    assert_eq!(body["files"], json!({ "upload": "file body" }));
}

#[test]
fn post_route_refuses_get_with_405_and_allow() {
    let reply = get(server(), "/post");
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("POST"));
}

#[test]
fn anything_echoes_method_and_sub_path() {
    let reply = connect(server().http_addr())
        .send("PUT", "/anything/deep/path?x=1", &[], b"raw")
        .unwrap();
    let body = reply.json();
    assert_eq!(body["method"], "PUT");
    assert_eq!(body["data"], "raw");
    assert!(body["url"]
        .as_str()
        .unwrap()
        .ends_with("/anything/deep/path?x=1"));
}

#[test]
fn keep_alive_serves_three_requests_on_one_connection() {
    let server = server();
    let mut client = connect(server.http_addr());
    for path in ["/get", "/headers", "/status/204"] {
        let reply = client.get(path).unwrap();
        assert!(
            reply.status == 200 || reply.status == 204,
            "{path}: {}",
            reply.status
        );
        assert_ne!(reply.header("connection"), Some("close"));
    }
    let body = client.send("POST", "/post", &[], b"fourth").unwrap().json();
    assert_eq!(body["data"], "fourth");
}

#[test]
fn status_returns_the_requested_code_and_redirects_carry_a_location() {
    assert_eq!(get(server(), "/status/418").status, 418);
    let redirect = get(server(), "/status/302");
    assert_eq!(redirect.header("location"), Some("/redirect/1"));
    assert_eq!(get(server(), "/status/500,503:0").status, 500);
}

#[test]
fn bad_numbers_in_paths_are_400_json_errors() {
    for path in [
        "/bytes/abc",
        "/status/x",
        "/range/-1",
        "/delay/soon",
        "/redirect/0",
        "/stream/9999999999999999999999",
    ] {
        let reply = get(server(), path);
        assert_eq!(reply.status, 400, "{path}");
        assert!(reply.json()["error"].is_string(), "{path}");
    }
    assert_eq!(get(server(), "/no/such/route").status, 404);
}

#[test]
fn redirect_chain_counts_down_to_get() {
    assert_eq!(
        get(server(), "/redirect/3").header("location"),
        Some("/relative-redirect/2")
    );
    assert_eq!(
        get(server(), "/relative-redirect/1").header("location"),
        Some("/get")
    );
    let absolute = get(server(), "/absolute-redirect/2");
    assert_eq!(
        absolute.header("location"),
        Some(format!("http://{}/absolute-redirect/1", server().http_addr()).as_str())
    );
    let to = get(
        server(),
        "/redirect-to?url=https%3A%2F%2Flocalhost%2Fx&status_code=307",
    );
    assert_eq!(
        (to.status, to.header("location")),
        (307, Some("https://localhost/x"))
    );
}

#[test]
fn cookies_set_redirects_with_set_cookie_and_cookies_echoes_them() {
    let set = get(server(), "/cookies/set?flavour=oat");
    assert_eq!(set.status, 302);
    assert_eq!(set.header("location"), Some("/cookies"));
    assert_eq!(set.header("set-cookie"), Some("flavour=oat; Path=/"));
    let echoed = connect(server().http_addr())
        .send("GET", "/cookies", &[("Cookie", "a=1; b=2")], b"")
        .unwrap();
    assert_eq!(echoed.json(), json!({ "cookies": { "a": "1", "b": "2" } }));
    let deleted = get(server(), "/cookies/delete?a");
    assert!(deleted.header("set-cookie").unwrap().contains("Max-Age=0"));
}

#[test]
fn basic_auth_accepts_the_right_password_only() {
    let mut client = connect(server().http_addr());
    let ok = client
        .send(
            "GET",
            "/basic-auth/user/pass",
            &[("Authorization", "Basic dXNlcjpwYXNz")],
            b"",
        )
        .unwrap();
    assert_eq!(ok.json(), json!({ "authenticated": true, "user": "user" }));
    let wrong = client
        .send(
            "GET",
            "/basic-auth/user/other",
            &[("Authorization", "Basic dXNlcjpwYXNz")],
            b"",
        )
        .unwrap();
    assert_eq!(wrong.status, 401);
    assert!(wrong
        .header("www-authenticate")
        .unwrap()
        .starts_with("Basic"));
    assert_eq!(get(server(), "/hidden-basic-auth/user/pass").status, 404);
}

#[test]
fn bearer_requires_a_token() {
    assert_eq!(get(server(), "/bearer").status, 401);
    let reply = connect(server().http_addr())
        .send("GET", "/bearer", &[("Authorization", "Bearer abc")], b"")
        .unwrap();
    assert_eq!(reply.json()["token"], "abc");
}

#[test]
fn digest_auth_accepts_a_correctly_computed_response() {
    for algorithm in ["MD5", "SHA-256", "MD5-sess", "SHA-256-sess"] {
        let path = format!("/digest-auth/auth/user/passwd/{algorithm}");
        let mut client = connect(server().http_addr());
        let challenge = client.get(&path).unwrap();
        assert_eq!(challenge.status, 401, "{algorithm}");
        let header = challenge.header("www-authenticate").unwrap().to_owned();
        assert!(
            header.contains(&format!("algorithm={algorithm}")),
            "{header}"
        );
        let authorization = digest_authorization(&header, "GET", &path, "user", "passwd");
        let reply = client
            .send("GET", &path, &[("Authorization", &authorization)], b"")
            .unwrap();
        assert_eq!(
            reply.status,
            200,
            "{algorithm}: {:?}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(reply.json()["authenticated"], true);
    }
}

#[test]
fn digest_auth_rejects_a_wrong_password_with_a_fresh_challenge() {
    let path = "/digest-auth/auth/user/passwd";
    let mut client = connect(server().http_addr());
    let challenge = client
        .get(path)
        .unwrap()
        .header("www-authenticate")
        .unwrap()
        .to_owned();
    let authorization = digest_authorization(&challenge, "GET", path, "user", "wrong");
    let reply = client
        .send("GET", path, &[("Authorization", &authorization)], b"")
        .unwrap();
    assert_eq!(reply.status, 401);
    let fresh = reply.header("www-authenticate").unwrap();
    assert!(fresh.starts_with("Digest "));
    assert_ne!(param(fresh, "nonce"), param(&challenge, "nonce"));
}

#[test]
fn every_compressed_endpoint_decodes() {
    let gzip = get(server(), "/gzip");
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gzip.body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap()["gzipped"],
        true
    );

    let deflate = get(server(), "/deflate");
    let mut text = String::new();
    flate2::read::ZlibDecoder::new(&deflate.body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert!(text.contains("\"deflated\": true"));

    let brotli = get(server(), "/brotli");
    assert_eq!(brotli.header("content-encoding"), Some("br"));
    let mut text = String::new();
    brotli::Decompressor::new(&brotli.body[..], 4096)
        .read_to_string(&mut text)
        .unwrap();
    assert!(text.contains("\"brotli\": true"));

    let zstd = get(server(), "/zstd");
    let text = zstd::decode_all(&zstd.body[..]).unwrap();
    assert!(String::from_utf8(text).unwrap().contains("\"zstd\": true"));
}

#[test]
fn charset_latin1_bytes_match_the_declared_text() {
    let reply = get(server(), "/charset/latin1");
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=iso-8859-1")
    );
    let decoded: String = reply.body.iter().map(|&b| b as char).collect();
    let declared = percent_encoding::percent_decode_str(reply.header("x-decoded-text").unwrap())
        .decode_utf8()
        .unwrap();
    assert_eq!(decoded, declared);
}

#[test]
fn response_headers_sets_the_requested_headers() {
    let reply = get(server(), "/response-headers?X-One=1&Cache-Control=no-store");
    assert_eq!(reply.header("x-one"), Some("1"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.json()["X-One"], "1");
}

#[test]
fn ipv6_loopback_answers_when_available() {
    let Some(addr) = server().http_addr_v6() else {
        return;
    };
    let body = connect(addr).get("/ip").unwrap().json();
    assert_eq!(body["origin"], "::1");
}

/// An `Authorization: Digest` value answering `challenge` (RFC 7616, qop=auth).
fn digest_authorization(
    challenge: &str,
    method: &str,
    uri: &str,
    user: &str,
    passwd: &str,
) -> String {
    let realm = param(challenge, "realm");
    let nonce = param(challenge, "nonce");
    let opaque = param(challenge, "opaque");
    let algorithm = param(challenge, "algorithm");
    let hash = |data: String| -> String {
        let digest: Vec<u8> = if algorithm.starts_with("SHA-256") {
            ring::digest::digest(&ring::digest::SHA256, data.as_bytes())
                .as_ref()
                .to_vec()
        } else {
            Md5::digest(data.as_bytes()).to_vec()
        };
        digest.iter().map(|b| format!("{b:02x}")).collect()
    };
    let (cnonce, nc) = ("0a4f113b", "00000001");
    let mut ha1 = hash(format!("{user}:{realm}:{passwd}"));
    if algorithm.ends_with("-sess") {
        ha1 = hash(format!("{ha1}:{nonce}:{cnonce}"));
    }
    let ha2 = hash(format!("{method}:{uri}"));
    let response = hash(format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
    format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         algorithm={algorithm}, qop=auth, nc={nc}, cnonce=\"{cnonce}\", response=\"{response}\", opaque=\"{opaque}\""
    )
}

/// A parameter of a challenge, quoted or not.
fn param(challenge: &str, name: &str) -> String {
    let start = challenge
        .find(&format!("{name}="))
        .unwrap_or_else(|| panic!("no {name} in {challenge}"))
        + name.len()
        + 1;
    let rest = &challenge[start..];
    match rest.strip_prefix('"') {
        Some(quoted) => quoted[..quoted.find('"').unwrap()].to_owned(),
        None => rest.split(',').next().unwrap().trim().to_owned(),
    }
}
