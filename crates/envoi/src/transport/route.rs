//! Where a request goes: the origin, and the proxy in between if any. A route is also the key
//! of the connection pool.

use crate::config::Config;
use crate::error::Error;
use crate::proxy::{Proxy, ProxyKind};
use crate::Url;

/// The origin of a request and how it is reached.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Route {
    pub(crate) https: bool,
    /// The host as in the URL (IPv6 without brackets).
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) proxy: Option<Proxy>,
}

impl Route {
    pub(crate) fn for_url(url: &Url, config: &Config) -> Result<Route, Error> {
        crate::request::check_url(url)?;
        let https = url.scheme() == "https";
        let host = url
            .host_str()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        Ok(Route {
            https,
            host,
            port: url
                .port_or_known_default()
                .unwrap_or(if https { 443 } else { 80 }),
            proxy: config.proxy_for(url).cloned(),
        })
    }

    /// True when requests go to a proxy in absolute-form (http through an HTTP proxy). A
    /// SOCKS5 tunnel carries origin-form requests, as a direct connection does.
    pub(crate) fn is_forward_proxy(&self) -> bool {
        self.http_proxy() && !self.https
    }

    /// True when a CONNECT tunnel goes through a proxy first (https through an HTTP proxy).
    pub(crate) fn is_tunnel(&self) -> bool {
        self.http_proxy() && self.https
    }

    /// True when every request of the route goes through a SOCKS5 tunnel (http and https).
    #[cfg(feature = "socks")]
    pub(crate) fn is_socks(&self) -> bool {
        self.proxy.as_ref().is_some_and(|p| p.kind().is_socks())
    }

    fn http_proxy(&self) -> bool {
        self.proxy
            .as_ref()
            .is_some_and(|p| p.kind() == ProxyKind::Http)
    }

    /// The host and port to open a TCP connection to.
    pub(crate) fn connect_target(&self) -> (&str, u16) {
        match &self.proxy {
            Some(proxy) => (proxy.host(), proxy.port()),
            None => (&self.host, self.port),
        }
    }

    /// `host:port` as the authority of a CONNECT request (IPv6 in brackets).
    pub(crate) fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_scheme_port_and_proxy() {
        let mut config = Config::default();
        let url = Url::parse("https://[::1]/x").unwrap();
        let r = Route::for_url(&url, &config).unwrap();
        assert_eq!((r.https, r.host.as_str(), r.port), (true, "::1", 443));
        assert_eq!(r.authority(), "[::1]:443");
        config.http_proxy = Some(Proxy::new("127.0.0.1", 3128));
        let r = Route::for_url(&Url::parse("http://h:8080/").unwrap(), &config).unwrap();
        assert!(r.is_forward_proxy() && !r.is_tunnel());
        assert_eq!(r.connect_target(), ("127.0.0.1", 3128));
        config.no_proxy = vec!["h".into()];
        let r = Route::for_url(&Url::parse("http://h:8080/").unwrap(), &config).unwrap();
        assert!(r.proxy.is_none());
    }

    #[test]
    #[cfg(feature = "socks")]
    fn socks_routes_are_neither_forward_proxies_nor_connect_tunnels() {
        let mut config = Config::default();
        for url in ["http://h:8080/", "https://h/"] {
            let url = Url::parse(url).unwrap();
            config.http_proxy = Some(Proxy::socks5h("127.0.0.1", 1080));
            config.https_proxy = config.http_proxy.clone();
            let h = Route::for_url(&url, &config).unwrap();
            assert!(h.is_socks() && !h.is_forward_proxy() && !h.is_tunnel());
            assert_eq!(h.connect_target(), ("127.0.0.1", 1080));
            config.http_proxy = Some(Proxy::socks5("127.0.0.1", 1080));
            config.https_proxy = config.http_proxy.clone();
            let local = Route::for_url(&url, &config).unwrap();
            assert!(local.is_socks());
            // The pool key tells the kinds apart: a connection opened through one is never
            // reused for the other.
            assert_ne!(h, local);
            config.http_proxy = Some(Proxy::new("127.0.0.1", 1080));
            config.https_proxy = config.http_proxy.clone();
            let http = Route::for_url(&url, &config).unwrap();
            assert!(!http.is_socks());
            assert_ne!(http, local);
        }
    }
}
