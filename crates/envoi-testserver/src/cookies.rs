//! Cookie endpoints: `/cookies`, `/cookies/set`, `/cookies/set/{name}/{value}`,
//! `/cookies/delete`, in httpbin's shapes (setting and deleting redirect to `/cookies`).

use http::header::{HeaderValue, COOKIE, LOCATION, SET_COOKIE};
use http::{request, Response, StatusCode};
use serde_json::{json, Map, Value};

use crate::body::{empty, ok_json, HttpError, Reply};

/// Routes `/cookies/...`; `rest` is the path after `/cookies`.
pub(crate) fn route(parts: &request::Parts, rest: &[&str]) -> Reply {
    let query = parts.uri.query().unwrap_or("").as_bytes();
    match rest {
        [] => ok_json(&json!({ "cookies": received(parts) })),
        ["set"] => {
            let pairs = form_urlencoded::parse(query).into_owned();
            let cookies: Vec<String> = pairs.map(|(k, v)| format!("{k}={v}; Path=/")).collect();
            redirect_setting(&cookies)
        }
        ["set", name, value] => redirect_setting(&[format!("{name}={value}; Path=/")]),
        ["delete"] => {
            let names = form_urlencoded::parse(query).map(|(k, _)| k.into_owned());
            let cookies: Vec<String> = names
                .map(|k| format!("{k}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"))
                .collect();
            redirect_setting(&cookies)
        }
        _ => Err(HttpError::new(
            StatusCode::NOT_FOUND,
            "no such cookie route",
        )),
    }
}

/// The cookies of the request's `Cookie` headers, by name.
fn received(parts: &request::Parts) -> Value {
    let mut map = Map::new();
    for header in parts.headers.get_all(COOKIE) {
        let Ok(text) = header.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                map.insert(
                    name.trim().to_owned(),
                    Value::String(value.trim().to_owned()),
                );
            }
        }
    }
    Value::Object(map)
}

/// A 302 to `/cookies` carrying one `Set-Cookie` per entry.
fn redirect_setting(cookies: &[String]) -> Reply {
    let mut response = Response::new(empty());
    *response.status_mut() = StatusCode::FOUND;
    let headers = response.headers_mut();
    headers.insert(LOCATION, HeaderValue::from_static("/cookies"));
    for cookie in cookies {
        let value = HeaderValue::from_str(cookie).map_err(|_| {
            HttpError::bad_request(format!("cookie {cookie:?} is not a valid header value"))
        })?;
        headers.append(SET_COOKIE, value);
    }
    Ok(response)
}
