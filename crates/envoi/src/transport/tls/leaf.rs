//! Facts read from certificates (by [`der`](super::der)), for the waivers that webpki cannot
//! do itself: a time inside the validity dates, a name the certificate holds, the dates of a
//! leaf checked on its own (its CRL listing is [`revocation`](super::revocation)'s).
//!
//! Errors come back as rustls `CertificateError`s so that they classify like webpki's.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use rustls::CertificateError;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::der::{AltName, CertificateFields};

/// The closed interval of seconds since the Unix epoch in which a certificate is valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Validity {
    not_before: i64,
    not_after: i64,
}

/// A time as close to `now` as possible at which the leaf, and if possible every intermediate
/// the server sent, is within its validity dates: `now` itself when it already is.
/// Intermediates are included because webpki checks their dates too; if their windows do not
/// overlap the leaf's (an unrelated certificate sent along, say), the leaf's alone is used.
pub(super) fn time_inside_validity(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: UnixTime,
) -> UnixTime {
    let Some(leaf) = parse(end_entity)
        .ok()
        .map(|c| validity(&c))
        .filter(|v| v.not_before <= v.not_after)
    else {
        // Unparseable, or valid at no time at all (notBefore after notAfter): webpki will
        // say so with the real time.
        return now;
    };
    let mut window = leaf;
    for cert in intermediates {
        if let Ok(v) = parse(cert).map(|c| validity(&c)) {
            window.not_before = window.not_before.max(v.not_before);
            window.not_after = window.not_after.min(v.not_after);
        }
    }
    if window.not_before > window.not_after {
        window = leaf;
    }
    let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    unix_time(now_secs.clamp(window.not_before, window.not_after))
}

/// A name the certificate holds, usable as a reference name for webpki: the first
/// subjectAltName that is a DNS name (a wildcard's `*` replaced by a label it covers) or an
/// IP address. None when it holds none, e.g. a certificate naming its host only in the CN.
pub(super) fn held_name(end_entity: &CertificateDer<'_>) -> Option<ServerName<'static>> {
    let cert = parse(end_entity).ok()?;
    cert.alt_names().find_map(|name| match name {
        AltName::Dns(dns) => {
            let dns = match dns.strip_prefix("*.") {
                Some(rest) => format!("wildcard.{rest}"),
                None => dns.to_owned(),
            };
            ServerName::try_from(dns).ok()
        }
        AltName::Ip(bytes) => ip_from_bytes(bytes).map(ServerName::from),
    })
}

/// The leaf's validity dates at `now`, with webpki's inclusive bounds and errors.
pub(super) fn check_dates(
    end_entity: &CertificateDer<'_>,
    now: UnixTime,
) -> Result<(), CertificateError> {
    let v = validity(&parse(end_entity)?);
    let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    if now_secs > v.not_after {
        return Err(CertificateError::ExpiredContext {
            time: now,
            not_after: unix_time(v.not_after),
        });
    }
    if now_secs < v.not_before {
        return Err(CertificateError::NotValidYetContext {
            time: now,
            not_before: unix_time(v.not_before),
        });
    }
    Ok(())
}

fn parse<'a>(der: &'a CertificateDer<'_>) -> Result<CertificateFields<'a>, CertificateError> {
    CertificateFields::parse(der).ok_or(CertificateError::BadEncoding)
}

fn validity(cert: &CertificateFields<'_>) -> Validity {
    Validity {
        not_before: cert.not_before,
        not_after: cert.not_after,
    }
}

/// Seconds since the epoch as a `UnixTime`; times before 1970 become the epoch, which webpki
/// cannot represent anyway.
fn unix_time(secs: i64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| Ipv4Addr::from(b).into()),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|b| Ipv6Addr::from(b).into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(
        names: &[&str],
        not_before: (i32, u8, u8),
        not_after: (i32, u8, u8),
    ) -> CertificateDer<'static> {
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().clone()
    }

    fn at(y: i32, m: u8, d: u8) -> UnixTime {
        let secs = rcgen::date_time_ymd(y, m, d).unix_timestamp();
        UnixTime::since_unix_epoch(Duration::from_secs(secs as u64))
    }

    #[test]
    fn time_inside_validity_moves_now_to_the_nearest_valid_second() {
        let leaf = cert(&["a.test"], (2001, 1, 1), (2002, 1, 1));
        assert_eq!(
            time_inside_validity(&leaf, &[], at(2030, 1, 1)),
            at(2002, 1, 1)
        );
        assert_eq!(
            time_inside_validity(&leaf, &[], at(1999, 1, 1)),
            at(2001, 1, 1)
        );
        assert_eq!(
            time_inside_validity(&leaf, &[], at(2001, 6, 1)),
            at(2001, 6, 1)
        );
    }

    #[test]
    fn time_inside_validity_keeps_intermediates_valid_when_it_can() {
        let leaf = cert(&["a.test"], (2001, 1, 1), (2010, 1, 1));
        let narrow = cert(&["ca.test"], (2003, 1, 1), (2004, 1, 1));
        let disjoint = cert(&["old.test"], (1990, 1, 1), (1991, 1, 1));
        let t = time_inside_validity(&leaf, std::slice::from_ref(&narrow), at(2030, 1, 1));
        assert_eq!(t, at(2004, 1, 1));
        let t = time_inside_validity(&leaf, &[narrow, disjoint], at(2030, 1, 1));
        assert_eq!(t, at(2010, 1, 1), "no common window: the leaf's alone");
    }

    #[test]
    fn a_leaf_valid_at_no_time_is_verified_at_now_without_panicking() {
        // notBefore after notAfter: no time is inside, so nothing to move `now` to.
        let inverted = cert(&["a.test"], (2010, 1, 1), (2000, 1, 1));
        assert_eq!(
            time_inside_validity(&inverted, &[], at(2030, 1, 1)),
            at(2030, 1, 1)
        );
        let leaf = cert(&["a.test"], (2001, 1, 1), (2002, 1, 1));
        assert_eq!(
            time_inside_validity(&leaf, std::slice::from_ref(&inverted), at(2030, 1, 1)),
            at(2002, 1, 1),
            "an intermediate valid at no time is passed over"
        );
        assert!(check_dates(&inverted, at(2005, 1, 1)).is_err());
    }

    #[test]
    fn held_name_prefers_the_first_usable_subject_alt_name() {
        let c = cert(&["*.example.com", "127.0.0.1"], (2001, 1, 1), (2099, 1, 1));
        assert_eq!(
            held_name(&c),
            Some(ServerName::try_from("wildcard.example.com").unwrap())
        );
        let ip = cert(&["::1"], (2001, 1, 1), (2099, 1, 1));
        assert_eq!(held_name(&ip), Some(ServerName::try_from("::1").unwrap()));
        let none = cert(&[], (2001, 1, 1), (2099, 1, 1));
        assert_eq!(held_name(&none), None);
    }

    #[test]
    fn check_dates_reports_which_bound_failed() {
        let c = cert(&["a.test"], (2001, 1, 1), (2002, 1, 1));
        assert!(check_dates(&c, at(2001, 5, 5)).is_ok());
        assert!(matches!(
            check_dates(&c, at(2003, 1, 1)),
            Err(CertificateError::ExpiredContext { .. })
        ));
        assert!(matches!(
            check_dates(&c, at(2000, 1, 1)),
            Err(CertificateError::NotValidYetContext { .. })
        ));
    }
}
