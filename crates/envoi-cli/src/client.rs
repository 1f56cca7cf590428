//! One envoi client per group of options: timeouts, TLS files, proxies, name overrides,
//! redirects, cookies, decoding, retries and limits, set from the command line.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use envoi::blocking::Client;
use envoi::tls::{Certificate, Crl, Identity, RootCertificates, TlsOptions, TlsVersion};
use envoi::AsyncClient;
use envoi::{ClientBuilder, EnvProxies, IpVersion, Proxy, ProxyKind};

use crate::error::CliError;
use crate::exit_code;
use crate::plan::Group;
use crate::policy;
use crate::trace::dispatch_event;

/// curl's default `--max-redirs` with `-L`.
pub const DEFAULT_MAX_REDIRS: usize = 50;

/// The client of a group: blocking, or async for `-Z`.
pub enum Front {
    /// One transfer after another.
    Blocking(Client),
    /// Transfers at the same time, as tasks on one runtime.
    Async(AsyncClient),
}

/// The client for a group.
pub struct GroupClient {
    /// The client; its clones share one connection pool.
    pub front: Front,
    /// The cookie jar, when `-b FILE` or `-c` turned cookies on.
    pub jar: Option<envoi::CookieJar>,
}

impl GroupClient {
    /// True when a request to `url` goes through an HTTP proxy, whose name curl reports as
    /// "could not resolve proxy" (5) when it does not resolve. curl 7.88 reports a SOCKS5
    /// proxy's name that does not resolve as any host's (6), so a SOCKS5 proxy is not counted.
    pub fn via_proxy(&self, url: &str) -> bool {
        let Ok(url) = envoi::Url::parse(url) else {
            return false;
        };
        let proxy = match &self.front {
            Front::Blocking(client) => client.proxy_for(&url),
            Front::Async(client) => client.proxy_for(&url),
        };
        proxy.is_some_and(|p| p.kind() == ProxyKind::Http)
    }
}

/// Builds the client for `group`: the async client when its transfers run in `parallel`.
pub fn build(group: &Group, parallel: bool) -> Result<GroupClient, CliError> {
    let args = &group.args;
    let mut builder = envoi::blocking::Client::builder().observer(dispatch_event);
    if let Some(t) = seconds(args.connect_timeout, "--connect-timeout")? {
        builder = builder.connect_timeout(t);
    }
    if let Some(t) = seconds(args.max_time, "-m, --max-time")? {
        builder = builder.timeout(t);
    }
    match args.user_agent.as_deref() {
        Some("") => builder = builder.no_default_header(http::header::USER_AGENT),
        Some(agent) => builder = builder.user_agent(agent),
        None => {}
    }
    for name in &group.removed {
        if let Ok(name) = http::HeaderName::from_bytes(name.as_bytes()) {
            builder = builder.no_default_header(name);
        }
    }
    builder = builder.tls(tls_options(group)?);
    let proxies = proxies(group)?;
    builder = builder
        .http_proxy(proxies.http)
        .https_proxy(proxies.https)
        .no_proxy(proxies.bypass);
    for entry in &args.resolve {
        let (host, port, addrs) = parse_resolve(entry)?;
        builder = builder.resolve(&host, port, &addrs);
    }
    builder = connect_to(builder, group)?;
    builder = builder.ip_version(match (args.ipv4, args.ipv6) {
        (true, false) => IpVersion::V4,
        (false, true) => IpVersion::V6,
        _ => IpVersion::Any,
    });
    let (builder, jar) = policy::apply(builder, group)?;
    let front = if parallel {
        builder.build_async().map(Front::Async)
    } else {
        builder.build().map(Front::Blocking)
    };
    let front = front.map_err(|e| CliError::code(exit_code::FAILED_INIT, format!("{e:#}")))?;
    Ok(GroupClient { front, jar })
}

/// A number of seconds from the command line; 0 means "no limit", as in curl.
fn seconds(value: Option<f64>, option: &str) -> Result<Option<Duration>, CliError> {
    match value {
        None => Ok(None),
        Some(0.0) => Ok(None),
        Some(s) => Duration::try_from_secs_f64(s).map(Some).map_err(|_| {
            CliError::usage(format!(
                "option {option}: expected a proper numerical parameter"
            ))
        }),
    }
}

fn tls_options(group: &Group) -> Result<TlsOptions, CliError> {
    let args = &group.args;
    let mut tls = TlsOptions::default();
    if args.cacert.is_some() || args.capath.is_some() {
        // As in curl, a CA file or directory replaces the default roots.
        tls = tls.root_certificates(RootCertificates::OnlyAdded);
    }
    if let Some(path) = &args.cacert {
        for cert in read_certificates(path)? {
            tls = tls.add_root_certificate(cert);
        }
    }
    if let Some(dir) = &args.capath {
        for cert in read_cert_dir(dir)? {
            tls = tls.add_root_certificate(cert);
        }
    }
    if let Some(cert_path) = &args.cert {
        let cert = std::fs::read(cert_path).map_err(|e| cert_problem(cert_path, &e))?;
        let key = match &args.key {
            Some(key_path) => std::fs::read(key_path).map_err(|e| cert_problem(key_path, &e))?,
            None => cert.clone(),
        };
        let identity = Identity::from_pem(&cert, &key).map_err(|e| {
            CliError::code(
                exit_code::SSL_CERTPROBLEM,
                format!("could not load client certificate '{cert_path}': {e:#}"),
            )
        })?;
        tls = tls.identity(identity);
    }
    if let Some(path) = &args.crlfile {
        let bad = |why: String| {
            CliError::code(
                exit_code::SSL_CRL_BADFILE,
                format!("error loading CRL file '{path}': {why}"),
            )
        };
        let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let crls = if bytes.starts_with(b"-----") || bytes.is_ascii() {
            Crl::from_pem(&bytes).map_err(|e| bad(format!("{e:#}")))?
        } else {
            vec![Crl::from_der(bytes)]
        };
        for crl in crls {
            tls = tls.add_crl(crl);
        }
    }
    if let Some(pins) = &args.pinnedpubkey {
        tls = tls
            .pin_public_key(pins)
            .map_err(|e| CliError::usage(format!("option --pinnedpubkey: {e}")))?;
    }
    if args.tlsv1_3 {
        tls = tls.min_version(TlsVersion::Tls13);
    } else if args.tlsv1_2 {
        tls = tls.min_version(TlsVersion::Tls12);
    }
    // -k is curl's "no verification": every certificate check is waived (revocation too;
    // curl -k accepts a revoked certificate with --crlfile). Pins are still checked.
    let k = args.insecure;
    Ok(tls
        .ignore_invalid_certificate(k || args.ignore_invalid_certificate)
        .ignore_certificate_name(k || args.ignore_certificate_name)
        .ignore_expired_certificate(k || args.ignore_expired_certificate)
        .ignore_revocation(k || args.ignore_revocation))
}

fn read_certificates(path: &str) -> Result<Vec<Certificate>, CliError> {
    let bad = |why: String| {
        CliError::code(
            exit_code::SSL_CACERT_BADFILE,
            format!("error setting certificate file: {path}: {why}"),
        )
    };
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    if bytes.first() == Some(&0x30) {
        return Ok(vec![Certificate::from_der(bytes)]);
    }
    Certificate::from_pem(&bytes).map_err(|e| bad(format!("{e:#}")))
}

fn read_cert_dir(dir: &str) -> Result<Vec<Certificate>, CliError> {
    let bad = |why: String| {
        CliError::code(
            exit_code::SSL_CACERT_BADFILE,
            format!("error setting certificate path: {dir}: {why}"),
        )
    };
    let mut certs = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| bad(e.to_string()))? {
        let path = entry.map_err(|e| bad(e.to_string()))?.path();
        if let Ok(bytes) = std::fs::read(&path) {
            // Hash links, PEM bundles and stray files all live in a CA directory: take
            // whatever parses.
            certs.extend(Certificate::from_pem(&bytes).unwrap_or_default());
        }
    }
    if certs.is_empty() {
        return Err(bad("no certificate found".into()));
    }
    Ok(certs)
}

fn cert_problem(path: &str, e: &std::io::Error) -> CliError {
    CliError::code(
        exit_code::SSL_CERTPROBLEM,
        format!("could not load client certificate '{path}': {e}"),
    )
}

/// The proxies of a group, per URL scheme, and the hosts that bypass them.
#[derive(Default)]
struct Proxies {
    /// For `http` URLs.
    http: Option<Proxy>,
    /// For `https` URLs.
    https: Option<Proxy>,
    /// Reached directly.
    bypass: Vec<String>,
}

/// `-x`, `--socks5`, `--socks5-hostname`, `-U` and `--noproxy`, or curl's proxy environment
/// variables when neither `-x` nor a `--socks5` option is given (`http_proxy` for http URLs,
/// `https_proxy`/`HTTPS_PROXY` for https, `all_proxy`/`ALL_PROXY` for either, read by the
/// library's [`EnvProxies`]; `-x ""` turns them off).
///
/// `-x` takes `http://`, `socks5://` and `socks5h://` proxies (a bare `host:port` is http);
/// `--socks5 HOST[:PORT]` is `-x socks5://HOST[:PORT]` and `--socks5-hostname` is
/// `socks5h://`, the last of the two winning. `-U` gives the proxy's credentials (Basic for
/// HTTP, RFC 1929's username and password for SOCKS5), replacing any `user:password@` of its
/// URL. curl chains a `--socks5` proxy in front of an `-x` proxy; envoi does not chain
/// proxies (exit 4), nor speak SOCKS4 (exit 4).
fn proxies(group: &Group) -> Result<Proxies, CliError> {
    let args = &group.args;
    let socks = match (&args.socks5, &args.socks5_hostname) {
        (_, Some(host)) => Some(("--socks5-hostname", "socks5h", host)),
        (Some(host), None) => Some(("--socks5", "socks5", host)),
        (None, None) => None,
    };
    let text = match (&args.proxy, socks) {
        (Some(p), Some((option, _, _))) if !p.is_empty() => {
            return Err(CliError::unsupported(&format!(
                "{option} with -x (a SOCKS5 proxy in front of another proxy)"
            )))
        }
        (_, Some((_, _, host))) if host.contains("://") => Some(host.clone()),
        (_, Some((_, scheme, host))) => Some(format!("{scheme}://{host}")),
        (Some(p), None) if p.is_empty() => return Ok(Proxies::default()),
        (Some(p), None) => Some(p.clone()),
        (None, None) => None,
    };
    let (http, https, env_bypass) = match text {
        Some(text) => {
            let proxy = parse_proxy(&text)?;
            // NO_PROXY still applies to a proxy given on the command line, as in curl.
            let no_proxy = |name: &str| {
                matches!(name, "no_proxy" | "NO_PROXY")
                    .then(|| std::env::var(name).ok())
                    .flatten()
            };
            let bypass = EnvProxies::read(no_proxy).ok().and_then(|env| env.no_proxy);
            (Some(proxy.clone()), Some(proxy), bypass)
        }
        None => {
            let env = EnvProxies::from_process().map_err(|e| {
                CliError::code(exit_code::for_kind(e.kind(), false), format!("{e:#}"))
            })?;
            (env.http, env.https, env.no_proxy)
        }
    };
    let with_user = |proxy: Option<Proxy>| match (proxy, &args.proxy_user) {
        (Some(proxy), Some(credentials)) => {
            let (user, password) = credentials.split_once(':').unwrap_or((credentials, ""));
            Some(proxy.basic_auth(user, password))
        }
        (proxy, _) => proxy,
    };
    let bypass = match &args.noproxy {
        Some(list) => list
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        None => env_bypass.unwrap_or_default(),
    };
    Ok(Proxies {
        http: with_user(http),
        https: with_user(https),
        bypass,
    })
}

/// A proxy named on the command line.
fn parse_proxy(text: &str) -> Result<Proxy, CliError> {
    let scheme = text
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    if let Some(scheme @ ("socks4" | "socks4a" | "socks")) = scheme.as_deref() {
        return Err(CliError::unsupported(&format!(
            "proxy '{text}' ({scheme}: SOCKS4)"
        )));
    }
    Proxy::parse(text).map_err(|e| {
        CliError::code(
            exit_code::for_kind(e.kind(), false),
            format!("bad proxy '{text}': {e:#}"),
        )
    })
}

/// `--resolve [+]host:port:addr[,addr]...` (IPv6 addresses in brackets).
fn parse_resolve(entry: &str) -> Result<(String, u16, Vec<SocketAddr>), CliError> {
    let bad = || CliError::usage(format!("option --resolve: bad entry '{entry}'"));
    let entry_body = entry.trim_start_matches('+');
    let (host, rest) = entry_body.split_once(':').ok_or_else(bad)?;
    let (port, addrs) = rest.split_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let addrs = addrs
        .split(',')
        .map(|a| {
            let a = a.trim().trim_start_matches('[').trim_end_matches(']');
            a.parse::<IpAddr>()
                .map(|ip| SocketAddr::new(ip, port))
                .map_err(|_| bad())
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((host.to_owned(), port, addrs))
}

/// Splits `a:b:c:d` at colons outside `[...]`.
fn split_fields(text: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut bracket = false;
    for c in text.chars() {
        match c {
            '[' => bracket = true,
            ']' => bracket = false,
            ':' if !bracket => {
                fields.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = fields.last_mut() {
            last.push(c);
        }
    }
    fields
}

/// `--connect-to HOST1:PORT1:HOST2:PORT2`: each URL of the group whose host and port match
/// (empty matches any) is connected to HOST2:PORT2 instead, through a name override.
fn connect_to(mut builder: ClientBuilder, group: &Group) -> Result<ClientBuilder, CliError> {
    for entry in &group.args.connect_to {
        let fields = split_fields(entry);
        let [host1, port1, host2, port2] = fields.as_slice() else {
            return Err(CliError::usage(format!(
                "option --connect-to: bad entry '{entry}'"
            )));
        };
        for transfer in &group.transfers {
            let Ok(url) = envoi::Url::parse(&transfer.url) else {
                continue;
            };
            let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
                continue;
            };
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            let host_ok = host1.is_empty() || host1.trim_matches(['[', ']']) == bare;
            let port_ok = port1.is_empty() || port1.parse() == Ok(port);
            if !(host_ok && port_ok) {
                continue;
            }
            let target_host = if host2.is_empty() {
                bare.to_owned()
            } else {
                host2.trim_matches(['[', ']']).to_owned()
            };
            let target_port = if port2.is_empty() {
                port
            } else {
                port2.parse().map_err(|_| {
                    CliError::usage(format!("option --connect-to: bad port in '{entry}'"))
                })?
            };
            let addrs: Vec<SocketAddr> = match target_host.parse::<IpAddr>() {
                Ok(ip) => vec![SocketAddr::new(ip, target_port)],
                Err(_) => (target_host.as_str(), target_port)
                    .to_socket_addrs()
                    .map_err(|e| {
                        CliError::code(6, format!("Could not resolve host: {target_host}: {e}"))
                    })?
                    .collect(),
            };
            builder = builder.resolve(bare, port, &addrs);
        }
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_entries_parse_v4_and_v6() {
        let (host, port, addrs) = parse_resolve("example.com:443:127.0.0.1,[::1]").unwrap();
        assert_eq!((host.as_str(), port), ("example.com", 443));
        assert_eq!(addrs.len(), 2);
        assert!(addrs[1].is_ipv6());
        assert!(parse_resolve("nonsense").is_err());
    }

    #[test]
    fn connect_to_fields_keep_brackets_together() {
        assert_eq!(
            split_fields("a:80:[::1]:8080"),
            vec!["a", "80", "[::1]", "8080"]
        );
        assert_eq!(split_fields("::b:"), vec!["", "", "b", ""]);
    }
}
