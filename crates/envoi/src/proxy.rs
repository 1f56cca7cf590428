//! Proxies: where they are, which protocol they speak, and how to authenticate to them.

use std::fmt;

use base64::Engine as _;
use http::HeaderValue;

use crate::error::{Error, ErrorKind};

/// The protocol a [`Proxy`] speaks.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProxyKind {
    /// An HTTP proxy (`http://`): `http` URLs go to it in absolute-form, `https` URLs through
    /// a CONNECT tunnel; credentials are sent with Basic (or Digest when it asks).
    Http,
    /// A SOCKS5 proxy (RFC 1928, `socks5://`) that is sent the origin's address: the client
    /// resolves the host name itself. Credentials are RFC 1929's username and password
    /// (feature `socks`).
    #[cfg(feature = "socks")]
    Socks5,
    /// A SOCKS5 proxy (`socks5h://`) that is sent the origin's host name to resolve itself
    /// (an IP literal is still sent as an address). Credentials as for
    /// [`Socks5`](ProxyKind::Socks5) (feature `socks`).
    #[cfg(feature = "socks")]
    Socks5h,
}

impl ProxyKind {
    /// True for the two SOCKS5 kinds.
    pub fn is_socks(self) -> bool {
        match self {
            ProxyKind::Http => false,
            #[cfg(feature = "socks")]
            ProxyKind::Socks5 | ProxyKind::Socks5h => true,
        }
    }

    /// The URL scheme that names this kind (`http`, `socks5`, `socks5h`).
    pub fn scheme(self) -> &'static str {
        match self {
            ProxyKind::Http => "http",
            #[cfg(feature = "socks")]
            ProxyKind::Socks5 => "socks5",
            #[cfg(feature = "socks")]
            ProxyKind::Socks5h => "socks5h",
        }
    }
}

/// A proxy: an HTTP proxy (`http` URLs go through it in absolute-form, `https` URLs through a
/// CONNECT tunnel, credentials sent with Basic), or a SOCKS5 proxy (every URL goes through a
/// SOCKS5 tunnel: plain requests in origin-form, https with TLS inside the tunnel,
/// credentials with RFC 1929's username/password authentication).
///
/// ```
/// use envoi::{Proxy, ProxyKind};
///
/// let proxy = envoi::Proxy::parse("http://user:secret@127.0.0.1:8888")?;
/// assert_eq!(proxy.host(), "127.0.0.1");
/// assert_eq!(proxy.port(), 8888);
/// assert_eq!(proxy.kind(), ProxyKind::Http);
///
/// let socks = Proxy::parse("socks5h://127.0.0.1")?;
/// assert_eq!((socks.kind(), socks.port()), (ProxyKind::Socks5h, 1080));
/// # Ok::<(), envoi::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Proxy {
    kind: ProxyKind,
    host: String,
    port: u16,
    authorization: Option<HeaderValue>,
    /// Kept to answer a Digest challenge (407) as well as to send Basic at once, and for
    /// SOCKS5's username/password authentication.
    credentials: Option<(String, String)>,
}

impl Proxy {
    /// Parses `SCHEME://[user:password@]host[:port]`, where the scheme is `http`, `socks5`
    /// (the client resolves the origin's name) or `socks5h` (the proxy does). The port is
    /// 1080 when absent, as curl has it; a bare `host:port` is read as http. Credentials are
    /// percent-decoded.
    ///
    /// # Errors
    /// [`ErrorKind::UnsupportedScheme`] for any other scheme (`https`, `socks4`...), or for
    /// `socks5` and `socks5h` without the feature `socks`, and
    /// [`ErrorKind::InvalidUrl`] for text that is not a URL with a host.
    pub fn parse(text: &str) -> Result<Proxy, Error> {
        let with_scheme = if text.contains("://") {
            text.to_owned()
        } else {
            format!("http://{text}")
        };
        let invalid =
            |why: &str| Error::new(ErrorKind::InvalidUrl, format!("proxy `{text}`: {why}"));
        let url = crate::Url::parse(&with_scheme).map_err(|e| invalid(&e.to_string()))?;
        let kind = match url.scheme() {
            "http" => ProxyKind::Http,
            #[cfg(feature = "socks")]
            "socks5" => ProxyKind::Socks5,
            #[cfg(feature = "socks")]
            "socks5h" => ProxyKind::Socks5h,
            #[cfg(not(feature = "socks"))]
            socks @ ("socks5" | "socks5h") => {
                return Err(Error::new(
                    ErrorKind::UnsupportedScheme,
                    format!("proxy scheme `{socks}` needs envoi's `socks` feature"),
                ))
            }
            other => {
                return Err(Error::new(
                    ErrorKind::UnsupportedScheme,
                    format!(
                        "proxy scheme `{other}` (only http, socks5 and socks5h proxies are \
                         supported)"
                    ),
                ))
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let mut proxy = Proxy::new(host, url.port().unwrap_or(1080)).with_kind(kind);
        if !url.username().is_empty() {
            let user = percent_encoding::percent_decode_str(url.username()).decode_utf8_lossy();
            let pass = url
                .password()
                .map(|p| percent_encoding::percent_decode_str(p).decode_utf8_lossy())
                .unwrap_or_default();
            proxy = proxy.basic_auth(&user, &pass);
        }
        Ok(proxy)
    }

    /// An HTTP proxy at `host:port` without credentials.
    pub fn new(host: impl Into<String>, port: u16) -> Proxy {
        Proxy {
            kind: ProxyKind::Http,
            host: host.into(),
            port,
            authorization: None,
            credentials: None,
        }
    }

    /// A SOCKS5 proxy at `host:port` that is sent addresses: the client resolves the origin's
    /// host name (`socks5://`).
    ///
    /// ```
    /// let proxy = envoi::Proxy::socks5("127.0.0.1", 1080).basic_auth("user", "secret");
    /// assert_eq!(proxy.kind(), envoi::ProxyKind::Socks5);
    /// ```
    #[cfg(feature = "socks")]
    pub fn socks5(host: impl Into<String>, port: u16) -> Proxy {
        Proxy::new(host, port).with_kind(ProxyKind::Socks5)
    }

    /// A SOCKS5 proxy at `host:port` that is sent host names to resolve itself
    /// (`socks5h://`).
    #[cfg(feature = "socks")]
    pub fn socks5h(host: impl Into<String>, port: u16) -> Proxy {
        Proxy::new(host, port).with_kind(ProxyKind::Socks5h)
    }

    /// The same proxy, speaking `kind`.
    pub fn with_kind(mut self, kind: ProxyKind) -> Proxy {
        self.kind = kind;
        self
    }

    /// Sets the credentials for the proxy: sent with Basic (`Proxy-Authorization`) to an
    /// HTTP proxy, or as RFC 1929's username and password to a SOCKS5 proxy (each at most
    /// 255 bytes there; a longer one fails the request before anything is sent).
    pub fn basic_auth(mut self, user: &str, password: &str) -> Proxy {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.authorization = HeaderValue::from_str(&format!("Basic {token}")).ok();
        self.credentials = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// The protocol the proxy speaks.
    pub fn kind(&self) -> ProxyKind {
        self.kind
    }

    /// The proxy's host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn authorization(&self) -> Option<&HeaderValue> {
        self.authorization.as_ref()
    }

    /// The user name and password, if set, for SOCKS5's username/password authentication.
    #[cfg(feature = "socks")]
    pub(crate) fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(user, password)| (user.as_str(), password.as_str()))
    }

    /// The credentials, as an [`Auth`](crate::Auth) that answers any scheme the proxy asks.
    pub(crate) fn auth(&self) -> Option<crate::Auth> {
        let (user, password) = self.credentials.as_ref()?;
        Some(crate::Auth::any(user.clone(), password.clone()))
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print credentials.
        f.debug_struct("Proxy")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("credentials", &self.credentials.is_some())
            .finish()
    }
}

/// The proxies an environment names, by curl's rules: `http_proxy` for `http` URLs (lower
/// case only: a CGI program's environment may carry a request's `Proxy:` header as
/// `HTTP_PROXY`), `https_proxy` or `HTTPS_PROXY` for `https` URLs, `all_proxy` or `ALL_PROXY`
/// for either when its own is not set, and `no_proxy` or `NO_PROXY` (a comma-separated list)
/// for the hosts reached directly. Empty values count as unset.
/// [`ClientBuilder::proxies_from_env`](crate::ClientBuilder::proxies_from_env) applies them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnvProxies {
    /// The proxy for `http` URLs.
    pub http: Option<Proxy>,
    /// The proxy for `https` URLs.
    pub https: Option<Proxy>,
    /// The hosts reached directly, when the environment names them.
    pub no_proxy: Option<Vec<String>>,
}

impl EnvProxies {
    /// Reads the process environment.
    pub fn from_process() -> Result<EnvProxies, Error> {
        EnvProxies::read(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `var` (the process environment, or a test's map). A value
    /// that is not a usable proxy is an error naming the variable.
    ///
    /// ```
    /// let env = envoi::EnvProxies::read(|name| {
    ///     (name == "https_proxy").then(|| "socks5h://127.0.0.1:1080".to_owned())
    /// })?;
    /// assert!(env.http.is_none());
    /// assert_eq!(env.https.unwrap().port(), 1080);
    /// # Ok::<(), envoi::Error>(())
    /// ```
    pub fn read(var: impl Fn(&str) -> Option<String>) -> Result<EnvProxies, Error> {
        let first = |names: &[&'static str]| {
            names.iter().find_map(|&name| {
                var(name)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (name, v))
            })
        };
        let parse = |found: Option<(&str, String)>| {
            found
                .map(|(name, text)| {
                    Proxy::parse(text.trim()).map_err(|e| {
                        Error::new(e.kind(), format!("the {name} environment variable: {e}"))
                    })
                })
                .transpose()
        };
        let all = ["all_proxy", "ALL_PROXY"];
        let http = first(&["http_proxy"]).or_else(|| first(&all));
        let https = first(&["https_proxy", "HTTPS_PROXY"]).or_else(|| first(&all));
        let no_proxy = first(&["no_proxy", "NO_PROXY"]).map(|(_, list)| {
            list.split(',')
                .map(|host| host.trim().to_owned())
                .filter(|host| !host.is_empty())
                .collect()
        });
        Ok(EnvProxies {
            http: parse(http)?,
            https: parse(https)?,
            no_proxy,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_url_with_credentials_becomes_basic_auth() {
        let p = Proxy::parse("http://al%40ice:s3cret@127.0.0.1:3128").unwrap();
        assert_eq!((p.host(), p.port()), ("127.0.0.1", 3128));
        // "al@ice:s3cret"
        assert_eq!(p.authorization().unwrap(), "Basic YWxAaWNlOnMzY3JldA==");
        assert!(!format!("{p:?}").contains("s3cret"));
    }

    #[test]
    fn bare_host_port_and_default_port() {
        assert_eq!(Proxy::parse("[::1]:8080").unwrap().host(), "::1");
        assert_eq!(Proxy::parse("127.0.0.1").unwrap().port(), 1080);
        assert_eq!(Proxy::parse("127.0.0.1").unwrap().kind(), ProxyKind::Http);
    }

    #[test]
    #[cfg(feature = "socks")]
    fn socks5_and_socks5h_are_parsed_with_credentials_and_the_default_port() {
        let p = Proxy::parse("socks5://us%3Aer:p%40ss@127.0.0.1").unwrap();
        assert_eq!(p.kind(), ProxyKind::Socks5);
        assert_eq!((p.host(), p.port()), ("127.0.0.1", 1080));
        assert_eq!(p.credentials(), Some(("us:er", "p@ss")));
        assert!(!format!("{p:?}").contains("p@ss"));
        let h = Proxy::parse("socks5h://[::1]:9050").unwrap();
        assert_eq!(h.kind(), ProxyKind::Socks5h);
        assert_eq!((h.host(), h.port()), ("::1", 9050));
        assert_eq!(h.credentials(), None);
        let named = Proxy::parse("SOCKS5H://proxy.example:1081").unwrap();
        assert_eq!(
            (named.kind(), named.host(), named.port()),
            (ProxyKind::Socks5h, "proxy.example", 1081)
        );
        assert!(ProxyKind::Socks5.is_socks() && !ProxyKind::Http.is_socks());
        assert_eq!(ProxyKind::Socks5h.scheme(), "socks5h");
    }

    #[test]
    #[cfg(not(feature = "socks"))]
    fn socks_proxies_without_the_feature_are_an_unsupported_scheme() {
        for text in ["socks5://127.0.0.1", "socks5h://127.0.0.1:1080"] {
            let err = Proxy::parse(text).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnsupportedScheme);
            assert!(err.to_string().contains("`socks` feature"), "{err}");
        }
    }

    #[test]
    #[cfg(feature = "socks")]
    fn the_kind_is_part_of_the_proxy_identity() {
        let http = Proxy::new("127.0.0.1", 1080);
        let socks5 = Proxy::socks5("127.0.0.1", 1080);
        let socks5h = Proxy::socks5h("127.0.0.1", 1080);
        assert_ne!(http, socks5);
        assert_ne!(socks5, socks5h);
        assert_eq!(socks5, Proxy::parse("socks5://127.0.0.1:1080").unwrap());
    }

    #[test]
    fn other_proxy_schemes_are_refused() {
        for text in [
            "socks4://127.0.0.1:1080",
            "socks4a://127.0.0.1",
            "socks://127.0.0.1",
            "https://127.0.0.1",
        ] {
            assert_eq!(
                Proxy::parse(text).unwrap_err().kind(),
                ErrorKind::UnsupportedScheme,
                "{text}"
            );
        }
        let no_host: &[&str] = if cfg!(feature = "socks") {
            &["http://", "socks5://", "socks5h://:1080"]
        } else {
            &["http://"]
        };
        for text in no_host {
            assert_eq!(
                Proxy::parse(text).unwrap_err().kind(),
                ErrorKind::InvalidUrl,
                "{text}"
            );
        }
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn the_environment_names_a_proxy_per_scheme_as_curl_reads_it() {
        let read = |pairs: &[(&str, &str)]| EnvProxies::read(env(pairs)).unwrap();
        assert_eq!(read(&[]), EnvProxies::default());
        let only_http = read(&[("http_proxy", "127.0.0.1:3128")]);
        assert_eq!(only_http.http.as_ref().map(Proxy::port), Some(3128));
        assert_eq!(only_http.https, None, "http_proxy is for http URLs only");
        // Upper-case HTTP_PROXY is never read (CGI); HTTPS_PROXY is.
        let upper = read(&[("HTTP_PROXY", "h:1"), ("HTTPS_PROXY", "h:2")]);
        assert_eq!(upper.http, None);
        assert_eq!(upper.https.as_ref().map(Proxy::port), Some(2));
        let lower_first = read(&[("https_proxy", "h:3"), ("HTTPS_PROXY", "h:4")]);
        assert_eq!(lower_first.https.as_ref().map(Proxy::port), Some(3));
        #[cfg(feature = "socks")]
        let (all_proxy, kind) = ("socks5h://h:5", ProxyKind::Socks5h);
        #[cfg(not(feature = "socks"))]
        let (all_proxy, kind) = ("h:5", ProxyKind::Http);
        let all = read(&[("ALL_PROXY", all_proxy), ("http_proxy", "h:6")]);
        assert_eq!(all.http.as_ref().map(Proxy::port), Some(6));
        assert_eq!(all.https.as_ref().map(Proxy::port), Some(5));
        assert_eq!(all.https.as_ref().map(Proxy::kind), Some(kind));
        let empty = read(&[("http_proxy", " "), ("all_proxy", "h:7")]);
        assert_eq!(
            empty.http.as_ref().map(Proxy::port),
            Some(7),
            "empty is unset"
        );
        let bypass = read(&[("NO_PROXY", "a.test, .b.test,,*")]);
        assert_eq!(
            bypass.no_proxy,
            Some(vec!["a.test".into(), ".b.test".into(), "*".into()])
        );
    }

    #[test]
    fn an_unusable_proxy_in_the_environment_is_an_error_naming_the_variable() {
        let e = EnvProxies::read(env(&[("https_proxy", "ftp://h:1")])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedScheme);
        assert!(e.to_string().contains("https_proxy"), "{e}");
    }
}
