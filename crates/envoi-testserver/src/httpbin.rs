//! The httpbin-compatible router, and the handlers small enough not to need a module:
//! request echoes, status codes, redirects, response headers, caching and base64.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use http::header::{
    HeaderName, HeaderValue, ALLOW, CACHE_CONTROL, ETAG, IF_MATCH, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, LAST_MODIFIED, LOCATION, USER_AGENT,
};
use http::{request, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{json, Map, Value};

use crate::auth::{self, DigestRoute, Nonces};
use crate::body::{empty, json, ok_json, parse_num, with_type, Body, HttpError, Reply};
use crate::conn::ConnInfo;
use crate::echo::{base_url, discard_body, read_body, BodyEcho, Echo};
use crate::encoding::{self, Coding};
use crate::{cookies, pages, streams};

/// State shared by every connection of one server.
#[derive(Default)]
pub(crate) struct State {
    counter: AtomicU64,
    nonces: Nonces,
}

impl State {
    /// A number different on every call: seeds for `/bytes` without `?seed=`, nonces, and
    /// the choice among several `/status` codes.
    fn next_seed(&self) -> u64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5851_f42d_4c95_7f2d
    }
}

/// Answers one request; every failure is a JSON error response, never a panic.
pub(crate) async fn handle(
    req: Request<Incoming>,
    info: &ConnInfo,
    state: &State,
) -> Response<Body> {
    let segments: Vec<String> = req
        .uri()
        .path()
        .trim_start_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    route(req, &segments, info, state)
        .await
        .unwrap_or_else(HttpError::into_response)
}

async fn route(req: Request<Incoming>, path: &[&str], info: &ConnInfo, state: &State) -> Reply {
    let (parts, mut body) = req.into_parts();
    let reply = answer(&parts, &mut body, path, info, state).await;
    // httpbin's server (and nginx) read a body the route had no use for before answering, so
    // the connection stays usable and the answer is not cut short by a reset of unread bytes.
    // `/status/{code}` answers without reading, for tests of answers that come early.
    if !matches!(path, ["status", _]) {
        discard_body(&mut body).await?;
    }
    reply
}

async fn answer(
    parts: &request::Parts,
    body: &mut Incoming,
    path: &[&str],
    info: &ConnInfo,
    state: &State,
) -> Reply {
    let query = parts.uri.query().unwrap_or("").to_owned();
    let echo = || Echo::new(parts, info);
    match path {
        [""] => pages::index(),
        ["get"] => allow(parts, &[Method::GET, Method::HEAD], || {
            ok_json(&echo().get_json())
        }),
        ["headers"] => ok_json(&json!({ "headers": echo().headers })),
        ["ip"] => ok_json(&json!({ "origin": echo().origin })),
        ["user-agent"] => {
            let agent = parts
                .headers
                .get(USER_AGENT)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            ok_json(&json!({ "user-agent": agent }))
        }
        ["uuid"] => ok_json(&json!({ "uuid": uuid(state.next_seed(), state.next_seed()) })),
        [name @ ("post" | "put" | "patch" | "delete")] => {
            let method = Method::from_bytes(name.to_ascii_uppercase().as_bytes())
                .map_err(|_| HttpError::bad_request("bad method"))?;
            if parts.method != method {
                return Ok(method_not_allowed(&[method]));
            }
            let data = read_body(body).await?;
            ok_json(&echo().full_json(&BodyEcho::parse(&data, &parts.headers)?, false))
        }
        ["anything", ..] => {
            let data = read_body(body).await?;
            ok_json(&echo().full_json(&BodyEcho::parse(&data, &parts.headers)?, true))
        }
        ["delay", seconds] => {
            let seconds: f64 = parse_num(seconds, "delay")?;
            tokio::time::sleep(streams::seconds(seconds, 10.0)).await;
            let data = read_body(body).await?;
            let mut value = echo().full_json(&BodyEcho::parse(&data, &parts.headers)?, false);
            if let Some(map) = value.as_object_mut() {
                map.remove("json");
            }
            ok_json(&value)
        }
        ["status", codes] => status(codes, state.next_seed()),
        ["redirect", n] => {
            let n = redirect_count(n)?;
            let absolute = query.split('&').any(|p| p == "absolute=true");
            let base = if absolute {
                base_url(&parts.headers, info)
            } else {
                String::new()
            };
            let next = match n {
                1 => "/get".to_owned(),
                n if absolute => format!("/absolute-redirect/{}", n - 1),
                n => format!("/relative-redirect/{}", n - 1),
            };
            redirect(StatusCode::FOUND, &format!("{base}{next}"))
        }
        ["relative-redirect", n] => match redirect_count(n)? {
            1 => redirect(StatusCode::FOUND, "/get"),
            n => redirect(StatusCode::FOUND, &format!("/relative-redirect/{}", n - 1)),
        },
        ["absolute-redirect", n] => {
            let base = base_url(&parts.headers, info);
            match redirect_count(n)? {
                1 => redirect(StatusCode::FOUND, &format!("{base}/get")),
                n => redirect(
                    StatusCode::FOUND,
                    &format!("{base}/absolute-redirect/{}", n - 1),
                ),
            }
        }
        ["redirect-to"] => redirect_to(&query),
        ["cookies", rest @ ..] => cookies::route(parts, rest),
        ["basic-auth", user, passwd] => auth::basic(parts, user, passwd, false),
        ["hidden-basic-auth", user, passwd] => auth::basic(parts, user, passwd, true),
        ["bearer"] => auth::bearer(parts),
        ["digest-auth", qop, user, passwd, rest @ ..] if rest.len() <= 2 => {
            // httpbin's optional fifth segment (stale_after) is accepted and ignored.
            let route = DigestRoute {
                qop,
                user,
                passwd,
                algorithm: rest.first().copied().unwrap_or("MD5"),
            };
            let data = read_body(body).await?;
            auth::digest(parts, &route, &data, &state.nonces, state.next_seed())
        }
        [name @ ("gzip" | "deflate" | "brotli" | "zstd")] => {
            let coding = Coding::from_name(name).ok_or_else(|| HttpError::bad_request("coding"))?;
            let echo = echo();
            let mut value =
                json!({ "headers": echo.headers, "method": echo.method, "origin": echo.origin });
            value[coding.json_flag()] = Value::Bool(true);
            encoding::compressed_json(coding, &value)
        }
        [name, n] if name.ends_with("-bomb") => {
            let coding = name.strip_suffix("-bomb").and_then(Coding::from_name);
            let coding =
                coding.ok_or_else(|| HttpError::new(StatusCode::NOT_FOUND, "unknown coding"))?;
            encoding::bomb(coding, parse_num(n, "size")?)
        }
        ["bytes", n] => streams::bytes(parse_num(n, "byte count")?, seed(&query, state)?),
        ["stream-bytes", n] => {
            let chunk_size = match query_value(&query, "chunk_size") {
                Some(v) => parse_num(&v, "chunk_size")?,
                None => 10 * 1024,
            };
            streams::stream_bytes(
                parse_num(n, "byte count")?,
                seed(&query, state)?,
                chunk_size,
            )
        }
        ["stream", n] => streams::stream_lines(parse_num(n, "line count")?, echo().get_json()),
        ["range", n] => streams::range(parts, parse_num(n, "byte count")?),
        ["drip"] => streams::drip(&query).await,
        ["upload-sink"] => streams::upload_sink(parts, body).await,
        ["response-headers"] => response_headers(&query),
        ["cache"] => cache(parts, &echo().get_json()),
        ["cache", seconds] => {
            let seconds: u64 = parse_num(seconds, "max-age")?;
            let mut response = ok_json(&echo().get_json())?;
            set(
                &mut response,
                CACHE_CONTROL,
                &format!("public, max-age={seconds}"),
            )?;
            Ok(response)
        }
        ["etag", etag] => etag_route(parts, etag, &echo().get_json()),
        ["base64", value] => {
            let decoded = decode_base64(value).ok_or_else(|| {
                HttpError::bad_request("Incorrect Base64 data try: SFRUUEJJTiBpcyBhd2Vzb21l")
            })?;
            Ok(with_type(
                StatusCode::OK,
                "text/html; charset=utf-8",
                decoded,
            ))
        }
        ["html"] => pages::html(),
        ["json"] => pages::json_doc(),
        ["xml"] => pages::xml(),
        ["robots.txt"] => pages::robots(),
        ["deny"] => pages::deny(),
        ["encoding", "utf8"] => pages::utf8_page(),
        ["charset", label] => pages::charset(label),
        _ => Err(HttpError::new(
            StatusCode::NOT_FOUND,
            format!("no route for {}", parts.uri.path()),
        )),
    }
}

/// `/status/{codes}`: one code, or httpbin's list `200,201` / weighted `200:3,500:1`, from
/// which one is picked at random.
fn status(codes: &str, random: u64) -> Reply {
    let mut choices = Vec::new();
    for item in codes.split(',') {
        let (code, weight) = match item.split_once(':') {
            Some((code, weight)) => (code, parse_num::<f64>(weight, "weight")?),
            None => (item, 1.0),
        };
        let code: u16 = parse_num(code, "status code")?;
        let status = StatusCode::from_u16(code)
            .ok()
            .filter(|s| s.as_u16() >= 200)
            .ok_or_else(|| {
                HttpError::bad_request(format!(
                    "status {code} cannot be a final response; see /raw/interim-103"
                ))
            })?;
        choices.push((status, weight.max(0.0)));
    }
    let total: f64 = choices.iter().map(|(_, w)| w).sum();
    let mut point = (random >> 11) as f64 / (1u64 << 53) as f64 * total;
    let mut status = choices.first().map(|(s, _)| *s).unwrap_or(StatusCode::OK);
    for (candidate, weight) in &choices {
        if point < *weight {
            status = *candidate;
            break;
        }
        point -= weight;
    }
    let mut response = match status.as_u16() {
        418 => with_type(status, "text/plain", TEAPOT),
        _ => {
            let mut response = Response::new(empty());
            *response.status_mut() = status;
            response
        }
    };
    match status.as_u16() {
        301 | 302 | 303 | 305 | 307 | 308 => set(&mut response, LOCATION, "/redirect/1")?,
        401 => set(
            &mut response,
            http::header::WWW_AUTHENTICATE,
            "Basic realm=\"Fake Realm\"",
        )?,
        407 => set(
            &mut response,
            http::header::PROXY_AUTHENTICATE,
            "Basic realm=\"Fake Realm\"",
        )?,
        _ => {}
    }
    Ok(response)
}

/// `/redirect-to?url=U&status_code=C`: C (302 unless a 3xx is asked for) to U, verbatim.
fn redirect_to(query: &str) -> Reply {
    let url =
        query_value(query, "url").ok_or_else(|| HttpError::bad_request("missing url parameter"))?;
    let status = match query_value(query, "status_code") {
        Some(code) => parse_num::<u16>(&code, "status_code")?,
        None => 302,
    };
    let status = StatusCode::from_u16(status)
        .ok()
        .filter(|s| s.is_redirection())
        .unwrap_or(StatusCode::FOUND);
    redirect(status, &url)
}

/// `/response-headers?k=v...`: each pair becomes a response header; the JSON echoes them.
fn response_headers(query: &str) -> Reply {
    let mut map = Map::new();
    let mut headers = Vec::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let name = HeaderName::from_bytes(key.as_bytes())
            .map_err(|_| HttpError::bad_request(format!("invalid header name {key:?}")))?;
        let header_value = HeaderValue::from_str(&value)
            .map_err(|_| HttpError::bad_request(format!("invalid header value {value:?}")))?;
        headers.push((name, header_value));
        map.insert(key.into_owned(), Value::String(value.into_owned()));
    }
    map.insert("Content-Type".to_owned(), json!("application/json"));
    let mut response = ok_json(&Value::Object(map))?;
    for (name, value) in headers {
        response.headers_mut().append(name, value);
    }
    Ok(response)
}

/// `/cache`: 304 when the request is conditional, else `/get` with validators.
fn cache(parts: &request::Parts, echo: &Value) -> Reply {
    let conditional =
        parts.headers.contains_key(IF_MODIFIED_SINCE) || parts.headers.contains_key(IF_NONE_MATCH);
    if conditional {
        return Ok(bare(StatusCode::NOT_MODIFIED));
    }
    let mut response = ok_json(echo)?;
    set(
        &mut response,
        LAST_MODIFIED,
        &http_date(time::OffsetDateTime::now_utc()),
    )?;
    set(&mut response, ETAG, "\"envoi-cache\"")?;
    Ok(response)
}

/// `/etag/{etag}`: 304 when `If-None-Match` matches, 412 when `If-Match` does not.
fn etag_route(parts: &request::Parts, etag: &str, echo: &Value) -> Reply {
    let quoted = format!("\"{etag}\"");
    let matches = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|list: &str| {
                list.split(',')
                    .map(str::trim)
                    .any(|t| t == "*" || t == quoted || t.trim_start_matches("W/") == quoted)
            })
    };
    let mut response = if matches(IF_NONE_MATCH) == Some(true) {
        bare(StatusCode::NOT_MODIFIED)
    } else if matches(IF_MATCH) == Some(false) {
        bare(StatusCode::PRECONDITION_FAILED)
    } else {
        ok_json(echo)?
    };
    set(&mut response, ETAG, &quoted)?;
    Ok(response)
}

fn redirect(status: StatusCode, location: &str) -> Reply {
    let mut response = bare(status);
    set(&mut response, LOCATION, location)?;
    Ok(response)
}

fn redirect_count(n: &str) -> Result<u64, HttpError> {
    let n: u64 = parse_num(n, "redirect count")?;
    if n == 0 {
        return Err(HttpError::bad_request("redirect count must be at least 1"));
    }
    Ok(n)
}

fn allow(parts: &request::Parts, methods: &[Method], handler: impl FnOnce() -> Reply) -> Reply {
    if methods.contains(&parts.method) {
        handler()
    } else {
        Ok(method_not_allowed(methods))
    }
}

fn method_not_allowed(methods: &[Method]) -> Response<Body> {
    let allowed: Vec<&str> = methods.iter().map(Method::as_str).collect();
    let mut response = json(
        StatusCode::METHOD_NOT_ALLOWED,
        &json!({ "error": "method not allowed", "allow": allowed }),
    );
    if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
        response.headers_mut().insert(ALLOW, value);
    }
    response
}

fn bare(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(empty());
    *response.status_mut() = status;
    response
}

fn set(response: &mut Response<Body>, name: HeaderName, value: &str) -> Result<(), HttpError> {
    let value = HeaderValue::from_str(value)
        .map_err(|_| HttpError::bad_request(format!("{value:?} is not a valid header value")))?;
    response.headers_mut().insert(name, value);
    Ok(())
}

fn query_value(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// `?seed=S` if given, else a fresh one.
fn seed(query: &str, state: &State) -> Result<u64, HttpError> {
    match query_value(query, "seed") {
        Some(seed) => parse_num(&seed, "seed"),
        None => Ok(state.next_seed()),
    }
}

/// URL-safe or standard base64, padded or not.
fn decode_base64(value: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [URL_SAFE, URL_SAFE_NO_PAD, STANDARD, STANDARD_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(value).ok())
}

/// A version-4-shaped UUID from two random words.
fn uuid(a: u64, b: u64) -> String {
    let a = (a & !0xf000) | 0x4000;
    let b = (b & !(0b11 << 62)) | (0b10 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// An IMF-fixdate (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(t: time::OffsetDateTime) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[t.weekday().number_days_from_monday() as usize],
        t.day(),
        MONTHS[t.month() as usize - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

const TEAPOT: &str = "
    -=[ teapot ]=-

       _...._
     .'  _ _ `.
    | .\"` ^ `\". _,
    \\_;`\"---\"`|//
      |       ;/
      \\_     _/
        `\"\"\"`
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_date_has_the_imf_fixdate_shape() {
        let t = time::OffsetDateTime::from_unix_timestamp(784111777).unwrap();
        assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn status_picks_from_a_weighted_list() {
        let response = status("200:0,503:1", 12345).unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(status("abc", 0).is_err());
        assert!(status("103", 0).is_err());
    }

    #[test]
    fn uuid_is_version_4_shaped() {
        let id = uuid(u64::MAX, u64::MAX);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
    }

    #[test]
    fn base64_accepts_both_alphabets() {
        assert_eq!(
            decode_base64("SFRUUEJJTiBpcyBhd2Vzb21l").as_deref(),
            Some(&b"HTTPBIN is awesome"[..])
        );
        assert_eq!(decode_base64("-_8").as_deref(), Some(&[0xfb, 0xff][..]));
        assert!(decode_base64("!!").is_none());
    }
}
