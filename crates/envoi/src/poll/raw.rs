//! The pieces of [`HttpClient`](super::HttpClient)'s low-level API: the head of a request
//! given as a method, a target and `Name: value` lines, the views of a response's fields,
//! and proxies given as a host and a port.

use envoi_proto::{RequestHead, RequestTarget, ResponseHead};
use http::header::{self, HeaderMap};
use http::Method;

use super::Port;
use crate::config::Config;
use crate::error::Error;
use crate::exchange::{frame_body, host_value};
use crate::proxy::Proxy;
use crate::transport::route::Route;

/// The head of a low-level request: the caller's target and fields, then what is missing
/// among Host, the client's default headers, proxy credentials and the body's framing (the
/// same framing rule as every request: a caller's Content-Length must match the body).
pub(crate) fn head(
    config: &Config,
    route: &Route,
    method: Method,
    target: &str,
    lines: &[&str],
    body_len: usize,
) -> Result<RequestHead, Error> {
    // Through an HTTP proxy a path alone is made absolute, as Godot does.
    let absolute;
    let target = if route.is_forward_proxy() && target.starts_with('/') {
        absolute = format!("http://{}{target}", route.authority());
        &absolute
    } else {
        target
    };
    let mut head = RequestHead::new(method, RequestTarget::parse(target)?);
    for line in lines {
        head.try_append_line(line)?;
    }
    let headers = &mut head.headers;
    if !headers.contains_key(header::HOST) {
        headers.insert(header::HOST, host_value(route)?);
    }
    for (name, value) in &config.default_headers {
        if !headers.contains_key(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    if route.is_forward_proxy() && !headers.contains_key(header::PROXY_AUTHORIZATION) {
        if let Some(auth) = route.proxy.as_ref().and_then(|p| p.authorization()) {
            headers.insert(header::PROXY_AUTHORIZATION, auth.clone());
        }
    }
    frame_body(&head.method, Some(body_len as u64), &mut head.headers)?;
    Ok(head)
}

/// The fields as received, as `Name: value` lines (bytes that are not UTF-8 replaced).
pub(crate) fn header_lines(head: &ResponseHead) -> Vec<String> {
    head.fields()
        .iter()
        .map(|f| {
            format!(
                "{}: {}",
                String::from_utf8_lossy(&f.name),
                String::from_utf8_lossy(&f.value)
            )
        })
        .collect()
}

/// The fields by name, the values of a repeated field joined with `, `. Looked up without
/// regard to case, as every `HeaderMap` is.
pub(crate) fn header_map(headers: &HeaderMap) -> HeaderMap<String> {
    let mut map: HeaderMap<String> = HeaderMap::with_capacity(headers.keys_len());
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        match map.get_mut(name) {
            Some(joined) => {
                joined.push_str(", ");
                joined.push_str(&value);
            }
            None => {
                map.insert(name.clone(), value.into_owned());
            }
        }
    }
    map
}

/// The proxy at `host:port`, or none for an empty host or port −1 (Godot's rule).
pub(crate) fn proxy(host: &str, port: Port) -> Option<Proxy> {
    match (host.trim(), port.number()) {
        ("", _) | (_, None) => None,
        (host, Some(port)) => {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            Some(Proxy::new(host, port))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(url: &str, config: &Config) -> Route {
        Route::for_url(&crate::Url::parse(url).unwrap(), config).unwrap()
    }

    fn encoded(head: &RequestHead) -> String {
        let mut out = Vec::new();
        envoi_proto::Connection::default()
            .send_request(head, &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn missing_fields_are_added_and_the_callers_kept() {
        let config = Config::default();
        let r = route("http://127.0.0.1:8080/", &config);
        let lines = ["Accept: text/plain", "X-One: 1"];
        let text = encoded(&head(&config, &r, Method::POST, "/post", &lines, 3).unwrap());
        assert!(
            text.starts_with("POST /post HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Accept: text/plain\r\n") && !text.contains("*/*"),
            "{text}"
        );
        assert!(text.contains("Content-Length: 3\r\n"), "{text}");
        assert!(text.contains("User-Agent: envoi/"), "{text}");
    }

    #[test]
    fn every_target_form_is_accepted_and_paths_go_absolute_through_a_proxy() {
        let mut config = Config::default();
        let r = route("http://h:81/", &config);
        for target in ["/x?y", "*", "h:443", "http://h:81/x"] {
            let method = if target == "h:443" {
                Method::CONNECT
            } else {
                Method::OPTIONS
            };
            assert_eq!(
                head(&config, &r, method, target, &[], 0)
                    .unwrap()
                    .target
                    .as_str(),
                target
            );
        }
        config.http_proxy = Some(Proxy::new("127.0.0.1", 3128));
        let r = route("http://h:81/", &config);
        let h = head(&config, &r, Method::GET, "/x", &[], 0).unwrap();
        assert_eq!(h.target.as_str(), "http://h:81/x");
    }

    #[test]
    fn bad_lines_and_lengths_are_refused() {
        let config = Config::default();
        let r = route("http://h/", &config);
        let e = head(
            &config,
            &r,
            Method::GET,
            "/",
            &["X-Bad: a\r\nInjected: 1"],
            0,
        )
        .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidHeader);
        let e = head(&config, &r, Method::GET, "/", &["no colon"], 0).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidHeader);
        let e = head(&config, &r, Method::POST, "/", &["Content-Length: 9"], 3).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidRequest);
        let e = head(&config, &r, Method::GET, "/a b", &[], 0).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidUrl);
    }

    #[test]
    fn repeated_fields_are_joined_and_found_in_any_case() {
        let mut headers = HeaderMap::new();
        headers.append("x-a", "1".parse().unwrap());
        headers.append("x-a", "2".parse().unwrap());
        headers.append("content-type", "text/plain".parse().unwrap());
        let map = header_map(&headers);
        assert_eq!(map.get("X-A").map(String::as_str), Some("1, 2"));
        assert_eq!(
            map.get("Content-Type").map(String::as_str),
            Some("text/plain")
        );
    }

    #[test]
    fn an_empty_host_or_port_minus_one_unsets_the_proxy() {
        assert_eq!(proxy("", Port::from(8080)), None);
        assert_eq!(proxy("p", Port::from(-1)), None);
        assert_eq!(proxy("p", Port::from(3128)), Some(Proxy::new("p", 3128)));
    }
}
