//! Proxies: where they are and how to authenticate to them.

use std::fmt;

use base64::Engine as _;
use http::HeaderValue;

use crate::error::{Error, ErrorKind};

/// An HTTP proxy: `http` URLs go through it in absolute-form, `https` URLs through a CONNECT
/// tunnel. Credentials, if any, are sent with Basic authentication.
///
/// ```
/// let proxy = envoi::Proxy::parse("http://user:secret@127.0.0.1:8888")?;
/// assert_eq!(proxy.host(), "127.0.0.1");
/// assert_eq!(proxy.port(), 8888);
/// # Ok::<(), envoi::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Proxy {
    host: String,
    port: u16,
    authorization: Option<HeaderValue>,
    /// Kept to answer a Digest challenge (407) as well as to send Basic at once.
    credentials: Option<(String, String)>,
}

impl Proxy {
    /// Parses `http://[user:password@]host[:port]` (port 1080 when absent, as curl does; a
    /// bare `host:port` is read as http).
    pub fn parse(text: &str) -> Result<Proxy, Error> {
        let with_scheme = if text.contains("://") {
            text.to_owned()
        } else {
            format!("http://{text}")
        };
        let invalid =
            |why: &str| Error::new(ErrorKind::InvalidUrl, format!("proxy `{text}`: {why}"));
        let url = url::Url::parse(&with_scheme).map_err(|e| invalid(&e.to_string()))?;
        if url.scheme() != "http" {
            return Err(Error::new(
                ErrorKind::UnsupportedScheme,
                format!(
                    "proxy scheme `{}` (only http proxies are supported)",
                    url.scheme()
                ),
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| invalid("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let mut proxy = Proxy {
            host,
            port: url.port().unwrap_or(1080),
            authorization: None,
            credentials: None,
        };
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

    /// A proxy at `host:port` without credentials.
    pub fn new(host: impl Into<String>, port: u16) -> Proxy {
        Proxy {
            host: host.into(),
            port,
            authorization: None,
            credentials: None,
        }
    }

    /// Sets Basic credentials for the proxy (`Proxy-Authorization`).
    pub fn basic_auth(mut self, user: &str, password: &str) -> Proxy {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.authorization = HeaderValue::from_str(&format!("Basic {token}")).ok();
        self.credentials = Some((user.to_owned(), password.to_owned()));
        self
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
            .field("host", &self.host)
            .field("port", &self.port)
            .field("credentials", &self.authorization.is_some())
            .finish()
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
    }

    #[test]
    fn non_http_proxy_schemes_are_refused() {
        assert_eq!(
            Proxy::parse("socks5://127.0.0.1:1080").unwrap_err().kind(),
            ErrorKind::UnsupportedScheme
        );
        assert_eq!(
            Proxy::parse("http://").unwrap_err().kind(),
            ErrorKind::InvalidUrl
        );
    }
}
