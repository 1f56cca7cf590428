//! The request head for one hop: target form, Host, default headers, body framing, proxy
//! credentials.

use envoi_proto::{RequestHead, RequestTarget, TargetForm};
use http::header::{self, HeaderMap, HeaderValue};
use http::Method;

use crate::config::Config;
use crate::error::{Error, ErrorKind};
use crate::request::Request;
use crate::transport::route::Route;

/// Builds the request head for `request` on `route`: the target form the route needs, Host,
/// the client's default headers where the request has none of its own, body framing fields,
/// Basic credentials from the URL, and proxy credentials for a forward proxy.
pub(crate) fn request_head(
    config: &Config,
    request: &Request,
    route: &Route,
) -> Result<RequestHead, Error> {
    let url = &request.url;
    let target = if route.is_forward_proxy() {
        let mut absolute = url.clone();
        absolute.set_fragment(None);
        RequestTarget::with_form(TargetForm::Absolute, absolute.as_str())
    } else {
        // The path and query as the URL holds them, without a copy.
        let origin = url.path_and_query();
        RequestTarget::with_form(TargetForm::Origin, origin)
    }
    .map_err(|e| Error::from(e).with_url(url))?;

    let mut head = RequestHead::new(request.method.clone(), target);
    let headers = &mut head.headers;
    headers.reserve(request.headers.len() + config.default_headers.len() + 3);
    if !request.headers.contains_key(header::HOST) {
        headers.insert(header::HOST, host_value(route)?);
    }
    for (name, value) in &request.headers {
        headers.append(name.clone(), value.clone());
    }
    for (name, value) in &config.default_headers {
        if !request.headers.contains_key(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    if route.is_forward_proxy() {
        if let Some(auth) = route.proxy.as_ref().and_then(|p| p.authorization()) {
            headers.insert(header::PROXY_AUTHORIZATION, auth.clone());
        }
    }
    frame_body(&request.method, request.body.len(), headers)?;
    Ok(head)
}

/// The CONNECT request that opens a tunnel through the route's proxy.
pub(crate) fn connect_head(config: &Config, route: &Route) -> Result<RequestHead, Error> {
    let authority = route.authority();
    let target = RequestTarget::with_form(TargetForm::Authority, &authority)?;
    let mut head = RequestHead::new(Method::CONNECT, target);
    head.headers.insert(header::HOST, host_value(route)?);
    if let Some(ua) = config.default_headers.get(header::USER_AGENT) {
        head.headers.insert(header::USER_AGENT, ua.clone());
    }
    if let Some(auth) = route.proxy.as_ref().and_then(|p| p.authorization()) {
        head.headers
            .insert(header::PROXY_AUTHORIZATION, auth.clone());
    }
    Ok(head)
}

/// Sets Content-Length or Transfer-Encoding from the body, unless the caller set them; a
/// caller's Content-Length must agree with a body of known length.
pub(crate) fn frame_body(
    method: &Method,
    length: Option<u64>,
    headers: &mut HeaderMap,
) -> Result<(), Error> {
    let chunked_by_caller = headers.contains_key(header::TRANSFER_ENCODING);
    if let Some(declared) = headers.get(header::CONTENT_LENGTH) {
        let declared_len = declared
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok());
        return match (declared_len, length) {
            (None, _) => {
                Err(Error::new(ErrorKind::InvalidHeader, "not a length")
                    .with_header("content-length"))
            }
            (Some(d), Some(n)) if d != n => Err(Error::new(
                ErrorKind::InvalidRequest,
                format!("Content-Length says {d} but the body has {n} bytes"),
            )),
            _ => Ok(()),
        };
    }
    match length {
        _ if chunked_by_caller => {}
        None => {
            headers.insert(
                header::TRANSFER_ENCODING,
                HeaderValue::from_static("chunked"),
            );
        }
        // Methods that carry a body announce even an empty one, as curl does; the others
        // send no framing field at all.
        Some(0) if !matches!(*method, Method::POST | Method::PUT | Method::PATCH) => {}
        Some(n) => {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
        }
    }
    Ok(())
}

/// The Host header: the URL's host, with the port when it is not the scheme's default.
pub(crate) fn host_value(route: &Route) -> Result<HeaderValue, Error> {
    let default_port = if route.https { 443 } else { 80 };
    let ipv6 = route.host.contains(':');
    // Built by hand: `format!` cost more than the rest of the head (BENCHMARKS.md, client).
    // The exact capacity lets `Bytes` take the buffer over without allocating again.
    let port_len = match route.port {
        port if port == default_port => 0,
        0..=9 => 2,
        10..=99 => 3,
        100..=999 => 4,
        1000..=9999 => 5,
        _ => 6,
    };
    let mut text = String::with_capacity(route.host.len() + 2 * usize::from(ipv6) + port_len);
    if ipv6 {
        text.push('[');
    }
    text.push_str(&route.host);
    if ipv6 {
        text.push(']');
    }
    if route.port != default_port {
        text.push(':');
        push_decimal(&mut text, route.port);
    }
    debug_assert_eq!(
        text.len(),
        text.capacity(),
        "the Host value's length was miscounted"
    );
    HeaderValue::from_maybe_shared(bytes::Bytes::from(text))
        .map_err(|_| Error::new(ErrorKind::InvalidUrl, format!("host `{}`", route.host)))
}

/// Appends `n` in decimal.
fn push_decimal(text: &mut String, n: u16) {
    let mut digits = [0u8; 5];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    text.extend(digits[at..].iter().map(|&d| char::from(d)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::Proxy;

    fn head_for(url: &str, config: &Config, build: impl FnOnce(&mut Request)) -> RequestHead {
        let mut request = Request::new(Method::GET, url).unwrap();
        build(&mut request);
        let route = Route::for_url(&request.url, config).unwrap();
        request_head(config, &request, &route).unwrap()
    }

    fn encoded(head: &RequestHead) -> String {
        let mut out = Vec::new();
        envoi_proto::Connection::default()
            .send_request(head, &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn origin_form_with_host_port_and_defaults() {
        let config = Config::default();
        let head = head_for("http://127.0.0.1:8080/get?a=1#frag", &config, |_| {});
        let text = encoded(&head);
        assert!(
            text.starts_with("GET /get?a=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"),
            "{text}"
        );
        assert!(text.contains("User-Agent: envoi/"), "{text}");
        assert!(text.contains("Accept: */*"), "{text}");
    }

    #[test]
    fn request_headers_replace_client_defaults() {
        let config = Config::default();
        let head = head_for("http://h/", &config, |r| {
            r.headers
                .insert(header::ACCEPT, HeaderValue::from_static("text/html"));
        });
        assert_eq!(head.headers.get_all(header::ACCEPT).iter().count(), 1);
        assert_eq!(head.headers[header::ACCEPT], "text/html");
    }

    #[test]
    fn forward_proxy_gets_absolute_form_and_credentials() {
        let config = Config {
            http_proxy: Some(Proxy::parse("http://u:p@127.0.0.1:3128").unwrap()),
            ..Config::default()
        };
        let head = head_for("http://example.test/x?y", &config, |_| {});
        assert_eq!(head.target.as_str(), "http://example.test/x?y");
        assert!(head.headers.contains_key(header::PROXY_AUTHORIZATION));
    }

    #[test]
    fn ipv6_hosts_are_bracketed_and_default_ports_dropped() {
        let config = Config::default();
        assert_eq!(
            head_for("http://[::1]:81/", &config, |_| {}).headers[header::HOST],
            "[::1]:81"
        );
        assert_eq!(
            head_for("https://[::1]/", &config, |_| {}).headers[header::HOST],
            "[::1]"
        );
    }

    #[test]
    fn body_framing_follows_the_body() {
        let config = Config::default();
        let head = head_for("http://h/", &config, |r| {
            r.method = Method::POST;
            r.body = "abc".into();
        });
        assert_eq!(head.headers[header::CONTENT_LENGTH], "3");
        let head = head_for("http://h/", &config, |r| {
            r.method = Method::POST;
            r.body = crate::Body::chunked(std::io::empty());
        });
        assert_eq!(head.headers[header::TRANSFER_ENCODING], "chunked");
        let head = head_for("http://h/", &config, |_| {});
        assert!(!head.headers.contains_key(header::CONTENT_LENGTH));
    }

    #[test]
    fn a_content_length_that_disagrees_with_the_body_is_refused() {
        let config = Config::default();
        let mut request = Request::new(Method::POST, "http://h/").unwrap();
        request.body = "abc".into();
        request
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("5"));
        let route = Route::for_url(&request.url, &config).unwrap();
        let e = request_head(&config, &request, &route).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    }

    #[test]
    fn host_values_carry_every_port_width_and_omit_the_default() {
        let config = Config::default();
        for (url, host) in [
            ("http://h:1/", "h:1"),
            ("http://h:22/", "h:22"),
            ("https://h:443/", "h"),
            ("http://h:443/", "h:443"),
            ("http://[::1]:8080/", "[::1]:8080"),
            ("https://h:65535/", "h:65535"),
            ("http://h:80/", "h"),
        ] {
            assert_eq!(head_for(url, &config, |_| {}).headers[header::HOST], host);
        }
    }

    #[test]
    fn ports_are_written_in_decimal() {
        for n in [0u16, 7, 10, 99, 443, 8080, 65535] {
            let mut text = String::new();
            push_decimal(&mut text, n);
            assert_eq!(text, n.to_string());
        }
    }
}
