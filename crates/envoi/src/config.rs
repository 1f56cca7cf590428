//! Client configuration: one builder shared by every front end, validated once.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::error::Error;
use crate::event::Observer;
#[cfg(feature = "cookies")]
use crate::policy::CookieJar;
use crate::policy::{RedirectPolicy, RetryPolicy};
use crate::proxy::Proxy;
use crate::tls::TlsOptions;
use crate::transport::dns::Resolve;

/// Default connect timeout (DESIGN.md: 30 s), covering resolution, TCP and TLS.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time an idle pooled connection is kept.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Default bound on idle connections kept per host.
pub const DEFAULT_MAX_IDLE_PER_HOST: usize = 16;
/// How long a request with `Expect: 100-continue` waits for the interim response before it
/// sends its body anyway.
pub const DEFAULT_EXPECT_CONTINUE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the blocking client checks for a response head without sleeping before it
/// waits in the kernel ([`ClientBuilder::busy_poll`]).
pub const DEFAULT_BUSY_POLL: Duration = Duration::from_micros(200);

/// Which address families a connection may use (curl's `-4` and `-6`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IpVersion {
    /// Both, IPv6 first then IPv4, raced per RFC 8305.
    #[default]
    Any,
    /// IPv4 only.
    V4,
    /// IPv6 only.
    V6,
}

/// Everything a client needs to send requests, shared by all its clones.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) read_timeout: Option<Duration>,
    pub(crate) write_timeout: Option<Duration>,
    pub(crate) expect_continue_timeout: Duration,
    pub(crate) busy_poll: Duration,
    pub(crate) limits: envoi_proto::Limits,
    pub(crate) title_case_headers: bool,
    pub(crate) default_headers: HeaderMap,
    pub(crate) tls: TlsOptions,
    pub(crate) http_proxy: Option<Proxy>,
    pub(crate) https_proxy: Option<Proxy>,
    pub(crate) no_proxy: Vec<String>,
    pub(crate) resolve_overrides: HashMap<(String, u16), Vec<SocketAddr>>,
    pub(crate) resolver: Option<Arc<dyn Resolve>>,
    pub(crate) ip_version: IpVersion,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_idle_per_host: usize,
    pub(crate) max_connections_per_host: Option<usize>,
    pub(crate) max_connections: Option<usize>,
    pub(crate) observer: Option<Observer>,
    pub(crate) redirect: RedirectPolicy,
    #[cfg(feature = "cookies")]
    pub(crate) cookie_jar: Option<CookieJar>,
    pub(crate) decompress: bool,
    pub(crate) max_body_size: Option<u64>,
    pub(crate) retry: RetryPolicy,
}

impl Default for Config {
    fn default() -> Self {
        let mut default_headers = HeaderMap::new();
        default_headers.insert(
            http::header::USER_AGENT,
            HeaderValue::from_static(concat!("envoi/", env!("CARGO_PKG_VERSION"))),
        );
        default_headers.insert(http::header::ACCEPT, HeaderValue::from_static("*/*"));
        Config {
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            timeout: None,
            read_timeout: None,
            write_timeout: None,
            expect_continue_timeout: DEFAULT_EXPECT_CONTINUE_TIMEOUT,
            busy_poll: DEFAULT_BUSY_POLL,
            limits: envoi_proto::Limits::default(),
            title_case_headers: true,
            default_headers,
            tls: TlsOptions::default(),
            http_proxy: None,
            https_proxy: None,
            no_proxy: Vec::new(),
            resolve_overrides: HashMap::new(),
            resolver: None,
            ip_version: IpVersion::Any,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_idle_per_host: DEFAULT_MAX_IDLE_PER_HOST,
            max_connections_per_host: None,
            max_connections: None,
            observer: None,
            redirect: RedirectPolicy::default(),
            #[cfg(feature = "cookies")]
            cookie_jar: Some(CookieJar::new()),
            decompress: true,
            max_body_size: None,
            retry: RetryPolicy::default(),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("read_timeout", &self.read_timeout)
            .field("http_proxy", &self.http_proxy)
            .field("https_proxy", &self.https_proxy)
            .finish_non_exhaustive()
    }
}

/// Builds a client. Obtained from `blocking::Client::builder()`; every setting has the default
/// DESIGN.md gives it.
///
/// ```
/// use std::time::Duration;
/// let client = envoi::blocking::Client::builder()
///     .connect_timeout(Duration::from_secs(5))
///     .timeout(Duration::from_secs(30))
///     .user_agent("my-app/1.0")
///     .build()?;
/// # Ok::<(), envoi::Error>(())
/// ```
#[must_use]
pub struct ClientBuilder {
    config: Config,
    error: Option<Error>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder::new()
    }
}

impl ClientBuilder {
    /// A builder with the defaults.
    pub fn new() -> Self {
        ClientBuilder {
            config: Config::default(),
            error: None,
        }
    }

    /// Bounds resolution, TCP connect and the TLS handshake together (default 30 s); each
    /// address tried gets the time that is left. `None` waits as long as the OS does.
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.config.connect_timeout = timeout.into();
        self
    }

    /// Bounds the whole request, from resolution to the last body byte (default: none).
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.config.timeout = timeout.into();
        self
    }

    /// Bounds each wait for response bytes (default: none).
    pub fn read_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.config.read_timeout = timeout.into();
        self
    }

    /// Bounds each wait for the socket to take request bytes (default: none).
    pub fn write_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.config.write_timeout = timeout.into();
        self
    }

    /// How long `Expect: 100-continue` waits before sending the body anyway (default 1 s).
    pub fn expect_continue_timeout(mut self, timeout: Duration) -> Self {
        self.config.expect_continue_timeout = timeout;
        self
    }

    /// How long the blocking client keeps checking for a response head, without sleeping,
    /// before it waits for it in the kernel (default 200 µs; zero turns it off). The name
    /// and the idea are Linux's `SO_BUSY_POLL`.
    ///
    /// A server that answers within microseconds (on loopback, or on the same rack) then
    /// costs no sleep and wake-up per request, which on a virtual machine costs more than
    /// the HTTP work: sequential GETs to nginx on another core ran several times faster
    /// with it, for less CPU per request (see BENCHMARKS.md). What it may cost is bounded:
    /// - never more than this budget per request;
    /// - nothing on a connection whose last response head took longer than the budget to
    ///   arrive, so a distant or slow server pays it once, until it answers fast again;
    /// - each check first yields the CPU, so a server on the same CPU runs at once, as it
    ///   would if the client slept.
    ///
    /// Over TLS the body reads poll too, with the same budget each. A reader that sleeps
    /// between TLS records makes the sender wake it for each one. Polling costs more CPU
    /// per GiB (0.63 s against 0.40 here), but raised 1 GiB TLS downloads from nginx
    /// from 0.91× to 1.09× the fastest peer (BENCHMARKS.md, session 10). Plain bodies do
    /// not poll: there, polling cost throughput as well as CPU.
    ///
    /// The async client waits in tokio's reactor and ignores this; the poll-driven front
    /// end never waits.
    pub fn busy_poll(mut self, budget: Duration) -> Self {
        self.config.busy_poll = budget;
        self
    }

    /// Limits on response heads (size, field count, chunk lines, trailers).
    pub fn limits(mut self, limits: envoi_proto::Limits) -> Self {
        self.config.limits = limits;
        self
    }

    /// Sends header names in lowercase instead of Title-Case.
    pub fn lowercase_header_names(mut self) -> Self {
        self.config.title_case_headers = false;
        self
    }

    /// The User-Agent sent unless a request sets its own.
    pub fn user_agent(mut self, value: &str) -> Self {
        match crate::request::header_value("user-agent", value.as_bytes()) {
            Ok(v) => {
                self.config
                    .default_headers
                    .insert(http::header::USER_AGENT, v);
            }
            Err(e) => self.fail(e),
        }
        self
    }

    /// A header sent on every request unless the request sets the same name.
    pub fn default_header(mut self, name: &str, value: &str) -> Self {
        match crate::request::header_pair(name, value.as_bytes()) {
            Ok((n, v)) => {
                self.config.default_headers.insert(n, v);
            }
            Err(e) => self.fail(e),
        }
        self
    }

    /// Removes a default header (`User-Agent` and `Accept` are set by default).
    pub fn no_default_header(mut self, name: HeaderName) -> Self {
        self.config.default_headers.remove(name);
        self
    }

    /// TLS settings: roots, client identity, CRLs, minimum version, ignore flags, pins.
    pub fn tls(mut self, options: TlsOptions) -> Self {
        self.config.tls = options;
        self
    }

    /// The proxy for `http` URLs (absolute-form requests through it).
    pub fn http_proxy(mut self, proxy: impl Into<Option<Proxy>>) -> Self {
        self.config.http_proxy = proxy.into();
        self
    }

    /// The proxy for `https` URLs (a CONNECT tunnel through it).
    pub fn https_proxy(mut self, proxy: impl Into<Option<Proxy>>) -> Self {
        self.config.https_proxy = proxy.into();
        self
    }

    /// Takes the proxies from the process environment, as curl does: `http_proxy` for `http`
    /// URLs, `https_proxy`/`HTTPS_PROXY` for `https` URLs, `all_proxy`/`ALL_PROXY` for either
    /// when its own is unset, and `no_proxy`/`NO_PROXY` for the hosts reached directly (each
    /// value may be `http://`, `socks5://` or `socks5h://`). Only what the environment sets
    /// is changed; a later [`http_proxy`](Self::http_proxy), [`https_proxy`](Self::https_proxy)
    /// or [`no_proxy`](Self::no_proxy) overrides it. A value that is not a usable proxy fails
    /// [`build`](Self::build), naming the variable.
    pub fn proxies_from_env(mut self) -> Self {
        match crate::proxy::EnvProxies::from_process() {
            Ok(env) => {
                if env.http.is_some() {
                    self.config.http_proxy = env.http;
                }
                if env.https.is_some() {
                    self.config.https_proxy = env.https;
                }
                if let Some(hosts) = env.no_proxy {
                    self.config.no_proxy = hosts;
                }
            }
            Err(e) => self.fail(e),
        }
        self
    }

    /// Hosts reached directly even when a proxy is set: exact names, `.suffix` domains, IP
    /// literals, or `*` for all (curl's `--noproxy`).
    pub fn no_proxy<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.no_proxy = hosts.into_iter().map(Into::into).collect();
        self
    }

    /// Resolves `host:port` to these addresses without asking the resolver (curl's
    /// `--resolve`). The URL, Host header and TLS name stay the same.
    pub fn resolve(mut self, host: &str, port: u16, addrs: &[SocketAddr]) -> Self {
        self.config
            .resolve_overrides
            .insert((host.to_ascii_lowercase(), port), addrs.to_vec());
        self
    }

    /// Replaces the system resolver.
    pub fn resolver(mut self, resolver: impl Resolve + 'static) -> Self {
        self.config.resolver = Some(Arc::new(resolver));
        self
    }

    /// Restricts connections to one address family.
    pub fn ip_version(mut self, version: IpVersion) -> Self {
        self.config.ip_version = version;
        self
    }

    /// How long an idle connection stays in the pool (default 90 s).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// Most idle connections kept per host (default 16; 0 disables keep-alive reuse).
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.config.max_idle_per_host = max;
        self
    }

    /// Most open connections per host; a request waits for one to free up, bounded by its
    /// timeout.
    pub fn max_connections_per_host(mut self, max: usize) -> Self {
        self.config.max_connections_per_host = Some(max.max(1));
        self
    }

    /// Most open connections in total; a request waits as above.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.config.max_connections = Some(max.max(1));
        self
    }

    /// Receives every event of every request (WinHTTP's status callback).
    pub fn observer(mut self, observer: impl Fn(&crate::Event) + Send + Sync + 'static) -> Self {
        self.config.observer = Some(Arc::new(observer));
        self
    }

    /// How redirects are followed (default: up to 8; https→http refused).
    pub fn redirect(mut self, policy: RedirectPolicy) -> Self {
        self.config.redirect = policy;
        self
    }

    /// The cookie jar this client keeps cookies in (default: a fresh jar per client). Share a
    /// jar between clients by passing clones of it. (Feature `cookies`, on by default.)
    #[cfg(feature = "cookies")]
    pub fn cookie_jar(mut self, jar: CookieJar) -> Self {
        self.config.cookie_jar = Some(jar);
        self
    }

    /// Turns cookies off: none stored, none sent (a `Cookie` header set by hand still goes).
    /// Without the `cookies` feature they are always off.
    #[cfg_attr(not(feature = "cookies"), allow(unused_mut))]
    pub fn no_cookies(mut self) -> Self {
        #[cfg(feature = "cookies")]
        {
            self.config.cookie_jar = None;
        }
        self
    }

    /// Asks for compressed content (`Accept-Encoding: gzip, deflate, br, zstd`, unless a
    /// request sets its own) and decodes it as it streams (default on).
    pub fn decompress(mut self, on: bool) -> Self {
        self.config.decompress = on;
        self
    }

    /// Refuses bodies larger than this, counted after decoding
    /// ([`ErrorKind::BodyTooLarge`](crate::ErrorKind::BodyTooLarge)).
    pub fn max_body_size(mut self, limit: impl Into<Option<u64>>) -> Self {
        self.config.max_body_size = limit.into();
        self
    }

    /// When failed requests are sent again (default: never).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.config.retry = policy;
        self
    }

    /// Builds a blocking client.
    pub fn build(self) -> Result<crate::blocking::Client, Error> {
        let config = self.finish()?;
        crate::blocking::Client::from_config(config)
    }

    /// Builds an async client, for tokio ([`AsyncClient`](crate::AsyncClient)).
    #[cfg(feature = "tokio")]
    pub fn build_async(self) -> Result<crate::AsyncClient, Error> {
        let config = self.finish()?;
        crate::AsyncClient::from_config(config)
    }

    pub(crate) fn finish(self) -> Result<Config, Error> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.config),
        }
    }

    fn fail(&mut self, error: Error) {
        self.error.get_or_insert(error);
    }
}

impl Config {
    /// The proxy that applies to a URL, if any, honouring `no_proxy`.
    pub(crate) fn proxy_for(&self, url: &crate::Url) -> Option<&Proxy> {
        let proxy = match url.scheme() {
            "https" => self.https_proxy.as_ref(),
            _ => self.http_proxy.as_ref(),
        }?;
        let host = url
            .host_str()?
            .trim_start_matches('[')
            .trim_end_matches(']');
        let bypass = self.no_proxy.iter().any(|rule| {
            let rule = rule.trim();
            rule == "*"
                || rule.eq_ignore_ascii_case(host)
                || (rule.starts_with('.') && ends_with_ignore_case(host, rule))
                || (!rule.starts_with('.') && ends_with_ignore_case(host, &format!(".{rule}")))
        });
        (!bypass).then_some(proxy)
    }

    /// The `Cookie` value the jar holds for `url`, if any (none without the `cookies`
    /// feature).
    pub(crate) fn cookies_for(
        &self,
        url: &crate::Url,
        now: std::time::SystemTime,
    ) -> Option<HeaderValue> {
        #[cfg(feature = "cookies")]
        if let Some(jar) = &self.cookie_jar {
            return jar.cookie_header_at(url, now);
        }
        let _ = (url, now);
        None
    }

    /// Keeps the cookies a response from `url` sets (nothing without the `cookies` feature).
    pub(crate) fn store_cookies(
        &self,
        url: &crate::Url,
        headers: &HeaderMap,
        now: std::time::SystemTime,
    ) {
        #[cfg(feature = "cookies")]
        if let Some(jar) = &self.cookie_jar {
            jar.store_response_at(url, headers, now);
        }
        let _ = (url, headers, now);
    }
}

fn ends_with_ignore_case(host: &str, suffix: &str) -> bool {
    host.len() >= suffix.len()
        && host.as_bytes()[host.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}
