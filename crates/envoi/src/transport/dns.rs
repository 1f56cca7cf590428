//! Name resolution: IP literals, `--resolve` overrides, a pluggable resolver, and the order
//! addresses are tried in (RFC 8305 §4: families interleaved, the first family first).

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Instant;

use super::mailbox::Mailbox;
use crate::config::{Config, IpVersion};
use crate::error::{Error, ErrorKind, TimeoutPhase};

/// Resolves host names to addresses. Plug one in with `ClientBuilder::resolver` to control
/// resolution (tests use one so no query ever leaves the machine).
pub trait Resolve: Send + Sync {
    /// The addresses of `host`, with `port` set on each.
    fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>>;
}

impl<F> Resolve for F
where
    F: Fn(&str, u16) -> io::Result<Vec<SocketAddr>> + Send + Sync,
{
    fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        self(host, port)
    }
}

/// The operating system's resolver (getaddrinfo).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        Ok((host, port).to_socket_addrs()?.collect())
    }
}

/// Resolves `host:port` for a connection, within `deadline`.
pub(crate) fn resolve(
    config: &Config,
    host: &str,
    port: u16,
    deadline: Option<Instant>,
) -> Result<Vec<SocketAddr>, Error> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let found = if let Ok(ip) = bare.parse::<IpAddr>() {
        vec![SocketAddr::new(ip, port)]
    } else if let Some(addrs) = config
        .resolve_overrides
        .get(&(bare.to_ascii_lowercase(), port))
    {
        addrs.clone()
    } else if let Some(resolver) = &config.resolver {
        resolver
            .resolve(bare, port)
            .map_err(|e| cant_resolve(bare, e))?
    } else {
        system_resolve(bare, port, deadline)?
    };
    let ordered = order(found, config.ip_version);
    if ordered.is_empty() {
        return Err(Error::new(
            ErrorKind::CantResolve,
            format!("{bare} has no {} address", family_name(config.ip_version)),
        ));
    }
    Ok(ordered)
}

/// getaddrinfo cannot be interrupted, so it runs on its own thread and the caller waits no
/// longer than its deadline; a late answer is simply dropped.
fn system_resolve(
    host: &str,
    port: u16,
    deadline: Option<Instant>,
) -> Result<Vec<SocketAddr>, Error> {
    let Some(deadline) = deadline else {
        return SystemResolver
            .resolve(host, port)
            .map_err(|e| cant_resolve(host, e));
    };
    let answer = Mailbox::new();
    let post = answer.clone();
    let name = host.to_owned();
    std::thread::Builder::new()
        .name("envoi-resolve".into())
        .spawn(move || post.post(SystemResolver.resolve(&name, port)))
        .map_err(|e| cant_resolve(host, e))?;
    match answer.wait(deadline.saturating_duration_since(Instant::now())) {
        Some(result) => result.map_err(|e| cant_resolve(host, e)),
        None => Err(Error::new(
            ErrorKind::Timeout(TimeoutPhase::Resolve),
            host.to_owned(),
        )),
    }
}

fn cant_resolve(host: &str, e: io::Error) -> Error {
    Error::new(ErrorKind::CantResolve, host.to_owned()).with_source(e)
}

fn family_name(version: IpVersion) -> &'static str {
    match version {
        IpVersion::Any => "usable",
        IpVersion::V4 => "IPv4",
        IpVersion::V6 => "IPv6",
    }
}

/// Keeps the allowed families and interleaves them, starting with the family of the first
/// address the resolver gave (RFC 8305 §4).
fn order(addrs: Vec<SocketAddr>, version: IpVersion) -> Vec<SocketAddr> {
    let mut allowed: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| match version {
            IpVersion::Any => true,
            IpVersion::V4 => a.is_ipv4(),
            IpVersion::V6 => a.is_ipv6(),
        })
        .collect();
    allowed.dedup();
    let Some(first) = allowed.first().copied() else {
        return allowed;
    };
    let (mut preferred, mut other): (Vec<_>, Vec<_>) = allowed
        .into_iter()
        .partition(|a| a.is_ipv6() == first.is_ipv6());
    preferred.reverse();
    other.reverse();
    let mut out = Vec::with_capacity(preferred.len() + other.len());
    while !preferred.is_empty() || !other.is_empty() {
        out.extend(preferred.pop());
        out.extend(other.pop());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn families_are_interleaved_starting_with_the_first() {
        let got = order(
            vec![
                addr("[::1]:80"),
                addr("[::2]:80"),
                addr("127.0.0.1:80"),
                addr("127.0.0.2:80"),
            ],
            IpVersion::Any,
        );
        assert_eq!(
            got,
            [
                addr("[::1]:80"),
                addr("127.0.0.1:80"),
                addr("[::2]:80"),
                addr("127.0.0.2:80")
            ]
        );
    }

    #[test]
    fn ip_version_filters_families() {
        let all = vec![addr("[::1]:80"), addr("127.0.0.1:80")];
        assert_eq!(order(all.clone(), IpVersion::V4), [addr("127.0.0.1:80")]);
        assert_eq!(order(all, IpVersion::V6), [addr("[::1]:80")]);
    }

    #[test]
    fn literals_and_overrides_need_no_resolver() {
        let mut config = Config {
            resolver: Some(std::sync::Arc::new(|_: &str, _: u16| {
                Err(io::Error::other("resolver must not be asked"))
            })),
            ..Config::default()
        };
        config
            .resolve_overrides
            .insert(("example.test".into(), 443), vec![addr("127.0.0.1:8443")]);
        assert_eq!(
            resolve(&config, "[::1]", 80, None).unwrap(),
            [addr("[::1]:80")]
        );
        assert_eq!(
            resolve(&config, "Example.Test", 443, None).unwrap(),
            [addr("127.0.0.1:8443")]
        );
        let e = resolve(&config, "other.test", 80, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::CantResolve);
    }

    #[test]
    fn a_resolver_with_no_allowed_family_is_cant_resolve() {
        let config = Config {
            ip_version: IpVersion::V6,
            ..Config::default()
        };
        let e = resolve(&config, "127.0.0.1", 80, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::CantResolve);
    }
}
