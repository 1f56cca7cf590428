//! What httpbin reports about a request: `args`, `headers`, `origin`, `url`, and for requests
//! with a body `data`, `form`, `files` and `json`, in httpbin's JSON shapes.

use base64::Engine as _;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{request, HeaderMap, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::{json, Map, Value};

use crate::body::HttpError;
use crate::conn::ConnInfo;
use crate::multipart;

/// The largest body the echo endpoints buffer; `/upload-sink` streams anything larger.
pub(crate) const BODY_LIMIT: usize = 32 * 1024 * 1024;

/// The body-less part of an echo.
pub(crate) struct Echo {
    pub(crate) method: String,
    pub(crate) url: String,
    pub(crate) origin: String,
    pub(crate) headers: Value,
    pub(crate) args: Value,
}

impl Echo {
    /// Describes the request head `parts` that came on the connection `info`.
    pub(crate) fn new(parts: &request::Parts, info: &ConnInfo) -> Echo {
        Echo {
            method: parts.method.to_string(),
            url: full_url(parts, info),
            origin: info.peer.ip().to_string(),
            headers: headers_json(&parts.headers),
            args: pairs_json(parts.uri.query().unwrap_or("").as_bytes()),
        }
    }

    /// The `/get` shape: `args`, `headers`, `origin`, `url`.
    pub(crate) fn get_json(&self) -> Value {
        json!({
            "args": self.args,
            "headers": self.headers,
            "origin": self.origin,
            "url": self.url,
        })
    }

    /// The `/post` shape, plus `method` when `with_method` (the `/anything` shape).
    pub(crate) fn full_json(&self, body: &BodyEcho, with_method: bool) -> Value {
        let mut value = json!({
            "args": self.args,
            "data": body.data,
            "files": body.files,
            "form": body.form,
            "headers": self.headers,
            "json": body.json,
            "origin": self.origin,
            "url": self.url,
        });
        if with_method {
            value["method"] = Value::String(self.method.clone());
        }
        value
    }
}

/// The body part of an echo.
pub(crate) struct BodyEcho {
    data: Value,
    form: Value,
    files: Value,
    json: Value,
}

impl BodyEcho {
    /// Parses `body` according to the request's `Content-Type`, as httpbin does: forms
    /// (urlencoded and multipart) fill `form`/`files` and leave `data` empty; anything else
    /// goes to `data` (text, or a base64 data URL when not UTF-8) and `json` when it parses.
    pub(crate) fn parse(body: &[u8], headers: &HeaderMap) -> Result<BodyEcho, HttpError> {
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let mut echo = BodyEcho {
            data: Value::String(String::new()),
            form: json!({}),
            files: json!({}),
            json: Value::Null,
        };
        match mime.as_str() {
            "application/x-www-form-urlencoded" => echo.form = pairs_json(body),
            "multipart/form-data" => {
                let boundary = multipart::boundary(content_type)
                    .ok_or_else(|| HttpError::bad_request("multipart body without a boundary"))?;
                let (mut form, mut files) = (Map::new(), Map::new());
                for part in multipart::parse(body, &boundary)? {
                    let target = if part.filename.is_some() {
                        &mut files
                    } else {
                        &mut form
                    };
                    let value = text_or_data_url(&part.data, part.content_type.as_deref());
                    insert_multi(target, part.name, value);
                }
                echo.form = Value::Object(form);
                echo.files = Value::Object(files);
            }
            _ => {
                echo.data = text_or_data_url(body, None);
                echo.json = serde_json::from_slice(body).unwrap_or(Value::Null);
            }
        }
        Ok(echo)
    }
}

/// Reads a whole request body, up to [`BODY_LIMIT`] (413 beyond).
pub(crate) async fn read_body(body: &mut Incoming) -> Result<Bytes, HttpError> {
    match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => Err(HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body over {BODY_LIMIT} bytes; use /upload-sink"),
        )),
        Err(err) => Err(HttpError::bad_request(format!(
            "reading the body failed: {err}"
        ))),
    }
}

/// Reads a body the route has no use for to its end, as httpbin's server (and nginx) do
/// before they answer, so the connection can carry the next request. Routes that answer
/// without reading (`/status/{code}`) show the other behaviour: the server closes.
pub(crate) async fn discard_body(body: &mut Incoming) -> Result<(), HttpError> {
    while let Some(frame) = body.frame().await {
        frame.map_err(|e| HttpError::bad_request(format!("reading the body failed: {e}")))?;
    }
    Ok(())
}

/// The request's full URL, as the client addressed it (`Host`, else the local address).
pub(crate) fn full_url(parts: &request::Parts, info: &ConnInfo) -> String {
    let target = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    format!("{}{target}", base_url(&parts.headers, info))
}

/// `scheme://host[:port]` as the client addressed this server.
pub(crate) fn base_url(headers: &HeaderMap, info: &ConnInfo) -> String {
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| info.local.to_string());
    format!("{}://{host}", info.scheme)
}

/// Headers as httpbin shows them: Title-Case names, repeated fields joined with commas.
pub(crate) fn headers_json(headers: &HeaderMap) -> Value {
    let mut map = Map::new();
    for name in headers.keys() {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        map.insert(title_case(name.as_str()), Value::String(values.join(",")));
    }
    Value::Object(map)
}

/// `user-agent` → `User-Agent`.
pub(crate) fn title_case(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// urlencoded pairs as httpbin shows them: one value as a string, repeated keys as a list.
pub(crate) fn pairs_json(encoded: &[u8]) -> Value {
    let mut map = Map::new();
    for (key, value) in form_urlencoded::parse(encoded) {
        insert_multi(
            &mut map,
            key.into_owned(),
            Value::String(value.into_owned()),
        );
    }
    Value::Object(map)
}

fn insert_multi(map: &mut Map<String, Value>, key: String, value: Value) {
    match map.get_mut(&key) {
        None => {
            map.insert(key, value);
        }
        Some(Value::Array(list)) => list.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
    }
}

fn text_or_data_url(bytes: &[u8], content_type: Option<&str>) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => Value::String(text.to_owned()),
        Err(_) => {
            let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
            let mime = content_type.unwrap_or("application/octet-stream");
            Value::String(format!("data:{mime};base64,{encoded}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_title_cased() {
        assert_eq!(title_case("user-agent"), "User-Agent");
        assert_eq!(title_case("x-a-b"), "X-A-B");
        assert_eq!(title_case("dnt"), "Dnt");
    }

    #[test]
    fn repeated_keys_become_lists() {
        assert_eq!(
            pairs_json(b"a=1&b=2&a=3"),
            json!({"a": ["1", "3"], "b": "2"})
        );
    }

    #[test]
    fn binary_data_becomes_a_data_url() {
        assert_eq!(
            text_or_data_url(&[0xff], None),
            json!("data:application/octet-stream;base64,/w==")
        );
    }
}
