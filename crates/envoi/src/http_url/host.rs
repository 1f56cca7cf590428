//! Hosts: domains (IDNA through `url` when the feature is on), IPv4 in every WHATWG
//! form, and IPv6 with its canonical serialization.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{HostKind, ParseError};

/// Returns the host's kind and serialization.
pub(super) fn parse_host(input: &str) -> Result<(HostKind, String), ParseError> {
    if let Some(inner) = input.strip_prefix('[') {
        let address = inner.strip_suffix(']').and_then(parse_ipv6);
        return address.map(ipv6_host).ok_or(ParseError::INVALID_IPV6);
    }
    let domain = if input.contains('%') {
        String::from_utf8(percent_encoding::percent_decode_str(input).collect())
            .map_err(|_| ParseError::IDNA)?
    } else {
        input.to_owned()
    };
    if domain
        .bytes()
        .any(|b| b <= b' ' || b == 0x7f || b"#%/:<>?@[\\]^|".contains(&b))
    {
        return Err(ParseError::INVALID_DOMAIN_CHARACTER);
    }
    if let Some(host) = idna_host(&domain) {
        return host;
    }
    let mut domain = domain;
    domain.make_ascii_lowercase();
    if !ends_in_number(&domain) {
        return Ok((HostKind::Domain, domain));
    }
    let address = parse_ipv4(&domain).ok_or(ParseError::INVALID_IPV4)?;
    Ok((HostKind::Ipv4(address), address.to_string()))
}

/// IDNA (UTS #46) needs Unicode tables this module deliberately does not carry,
/// so hosts that need it go through `url`. `None`: plain ASCII, no IDNA needed.
#[cfg(feature = "url")]
fn idna_host(domain: &str) -> Option<Result<(HostKind, String), ParseError>> {
    let punycode = |label: &str| {
        label
            .get(..4)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("xn--"))
    };
    if domain.is_ascii() && !domain.split('.').any(punycode) {
        return None;
    }
    // `domain` holds no `%` any more, so `url` cannot percent-decode it twice.
    Some(match url::Host::parse(domain) {
        Ok(url::Host::Domain(domain)) => Ok((HostKind::Domain, domain)),
        Ok(url::Host::Ipv4(address)) => Ok((HostKind::Ipv4(address), address.to_string())),
        Ok(url::Host::Ipv6(address)) => Ok(ipv6_host(address)),
        Err(url::ParseError::EmptyHost) => Err(ParseError::EMPTY_HOST),
        Err(url::ParseError::InvalidIpv4Address) => Err(ParseError::INVALID_IPV4),
        Err(_) => Err(ParseError::IDNA),
    })
}

/// IDNA (UTS #46) needs Unicode tables this module deliberately does not carry.
/// `xn--` labels cannot be checked without them either, so they pass as ASCII.
#[cfg(not(feature = "url"))]
fn idna_host(domain: &str) -> Option<Result<(HostKind, String), ParseError>> {
    (!domain.is_ascii()).then_some(Err(ParseError::IDNA_UNSUPPORTED))
}

/// Whether the last label (ignoring one trailing dot) is an IPv4 number,
/// which makes the whole host an IPv4 address or an error.
fn ends_in_number(domain: &str) -> bool {
    let mut labels = domain.rsplit('.');
    let last = match labels.next() {
        Some("") => labels.next(),
        last => last,
    };
    last.is_some_and(|last| {
        (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
            || ipv4_number(last).is_some()
    })
}

/// Parses decimal, `0x` hex or leading-zero octal; saturates, as anything past
/// `u32` is rejected anyway.
fn ipv4_number(input: &str) -> Option<u64> {
    if input.is_empty() {
        return None;
    }
    let (digits, radix) = if let Some(hex) = input
        .strip_prefix("0x")
        .or_else(|| input.strip_prefix("0X"))
    {
        (hex, 16)
    } else if let Some(octal) = input.strip_prefix('0').filter(|rest| !rest.is_empty()) {
        (octal, 8)
    } else {
        (input, 10)
    };
    digits.chars().try_fold(0u64, |n, c| {
        let digit = c.to_digit(radix)?;
        Some(
            n.saturating_mul(u64::from(radix))
                .saturating_add(u64::from(digit)),
        )
    })
}

fn parse_ipv4(domain: &str) -> Option<Ipv4Addr> {
    let domain = domain
        .strip_suffix('.')
        .filter(|d| !d.is_empty())
        .unwrap_or(domain);
    let mut numbers = [0u64; 4];
    let mut count = 0;
    for part in domain.split('.') {
        *numbers.get_mut(count)? = ipv4_number(part)?;
        count += 1;
    }
    let (&last, init) = numbers.get(..count)?.split_last()?;
    // The last number fills all the bytes the earlier ones leave over.
    let free_bits = 8 * (5 - count as u32);
    if init.iter().any(|&n| n > 255) || last >= 1u64 << free_bits {
        return None;
    }
    let address = init
        .iter()
        .zip([24, 16, 8])
        .fold(last, |address, (&n, shift)| address | n << shift);
    u32::try_from(address).ok().map(Ipv4Addr::from)
}

/// The WHATWG IPv6 parser: 1–4 hex digits a piece, at most one `::`, and
/// optionally a strict dotted IPv4 address as the last two pieces.
fn parse_ipv6(input: &str) -> Option<Ipv6Addr> {
    let (head, tail) = match input.split_once("::") {
        Some((head, tail)) => (ipv6_pieces(head, false)?, Some(ipv6_pieces(tail, true)?)),
        None => (ipv6_pieces(input, true)?, None),
    };
    let tail = tail.unwrap_or_default();
    let zeros = 8usize.checked_sub(head.len() + tail.len())?;
    // "::" stands for at least one zero piece, and only it can.
    if (zeros > 0) != input.contains("::") {
        return None;
    }
    let mut pieces = head;
    pieces.resize(pieces.len() + zeros, 0);
    pieces.extend(tail);
    <[u16; 8]>::try_from(pieces).ok().map(Ipv6Addr::from)
}

fn ipv6_pieces(input: &str, ipv4_last: bool) -> Option<Vec<u16>> {
    let mut pieces = Vec::new();
    if input.is_empty() {
        return Some(pieces);
    }
    let mut parts = input.split(':').peekable();
    while let Some(part) = parts.next() {
        if ipv4_last && parts.peek().is_none() && part.contains('.') {
            let number = |n: &str| {
                let canonical =
                    n.bytes().all(|b| b.is_ascii_digit()) && (n.len() == 1 || !n.starts_with('0'));
                n.parse::<u8>().ok().filter(|_| canonical)
            };
            let bytes = part.split('.').map(number).collect::<Option<Vec<u8>>>()?;
            let [a, b, c, d] = <[u8; 4]>::try_from(bytes).ok()?;
            pieces.extend([u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d])]);
        } else if (1..=4).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_hexdigit()) {
            pieces.push(u16::from_str_radix(part, 16).ok()?);
        } else {
            return None;
        }
    }
    Some(pieces)
}

/// Serializes lowercase hex pieces, the first longest run of two or more zeros as `::`.
fn ipv6_host(address: Ipv6Addr) -> (HostKind, String) {
    let pieces = address.segments();
    let mut zeros = 0..0;
    for start in 0..pieces.len() {
        let run = pieces
            .iter()
            .skip(start)
            .take_while(|&&piece| piece == 0)
            .count();
        if run >= 2 && run > zeros.len() {
            zeros = start..start + run;
        }
    }
    let hex = |pieces: Option<&[u16]>| {
        let pieces = pieces
            .unwrap_or_default()
            .iter()
            .map(|piece| format!("{piece:x}"));
        pieces.collect::<Vec<_>>().join(":")
    };
    let text = if zeros.is_empty() {
        hex(Some(&pieces))
    } else {
        format!(
            "{}::{}",
            hex(pieces.get(..zeros.start)),
            hex(pieces.get(zeros.end..))
        )
    };
    (HostKind::Ipv6(address), format!("[{text}]"))
}
