//! Property tests: whatever DER a server sends (or a CRL file holds), reading it and using
//! what was read never panics. Arbitrary bytes, random element trees, and mutations of a real
//! certificate and CRL: flipped, inserted and removed bytes, rewritten length octets, dates
//! with out-of-range fields, cuts at any length.

use std::ops::Range;
use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::Index;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};

use super::super::testkit::{Ca, Leaf};
use super::super::{leaf, revocation};
use super::*;

/// A certificate and a CRL of its issuer listing it, made once.
fn samples() -> &'static (Vec<u8>, Vec<u8>) {
    static SAMPLES: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let ca = Ca::new("proptest CA");
        let leaf = ca.issue(
            Leaf::new()
                .names(&["a.test", "*.b.test", "10.0.0.1", "::1"])
                .serial(0x0102_0304),
        );
        let crl = ca.crl(&[5, 0x0102_0304]);
        let (cert, crl) = (leaf.der().to_vec(), crl.der.to_vec());
        let fields = CertificateFields::parse(&cert).expect("a valid certificate reads");
        let list = CrlFields::parse(&crl).expect("a valid CRL reads");
        assert!(list.lists(fields.serial) && list.issuer == fields.issuer);
        (cert, crl)
    })
}

/// One element found in DER: where its length octets are, and where its content is.
#[derive(Debug)]
struct Element {
    tag: u8,
    length: Range<usize>,
    content: Range<usize>,
}

/// Every element of `der` that reads, descending into constructed ones and into OCTET
/// STRINGs (extension values are DER too).
fn elements(der: &[u8], base: usize, out: &mut Vec<Element>) {
    let mut i = 0;
    while i + 2 <= der.len() {
        let (tag, first) = (der[i], der[i + 1]);
        let (octets, len) = if first < 0x80 {
            (1, usize::from(first))
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || i + 2 + n > der.len() {
                return;
            }
            let len = der[i + 2..i + 2 + n]
                .iter()
                .fold(0usize, |l, &b| (l << 8) | usize::from(b));
            (1 + n, len)
        };
        let start = i + 1 + octets;
        let Some(end) = start.checked_add(len).filter(|&e| e <= der.len()) else {
            return;
        };
        out.push(Element {
            tag,
            length: base + i + 1..base + start,
            content: base + start..base + end,
        });
        if tag & 0x20 != 0 || tag == OCTET_STRING {
            elements(&der[start..end], base + start, out);
        }
        i = end;
    }
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip(Index, u8),
    Insert(Index, Vec<u8>),
    Remove(Index, usize),
    /// Overwrites an element's length octets (as many as it has) with these.
    Length(Index, [u8; 5]),
    /// Adds to an element's length, keeping its number of octets.
    LengthDelta(Index, i16),
    /// Rewrites a UTCTime or GeneralizedTime's text, keeping its length: fields in and out
    /// of range, or any text.
    Time(Index, TimeText),
}

#[derive(Clone, Debug)]
enum TimeText {
    /// Year, month, day, hour, minute, second, and whether it ends in `Z`.
    Fields([u16; 6], bool),
    Raw(Vec<u8>),
}

impl TimeText {
    fn text(&self, len: usize) -> Vec<u8> {
        match self {
            TimeText::Fields([y, mo, d, h, mi, s], z) => {
                let end = if *z { "Z" } else { "+" };
                let text = if len == 13 {
                    format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}{end}", y % 100)
                } else {
                    format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}{end}")
                };
                text.into_bytes()
            }
            TimeText::Raw(text) => text.clone(),
        }
    }
}

fn time_text() -> impl Strategy<Value = TimeText> {
    let fields = (
        0u16..=9999,
        0u16..=13,
        0u16..=32,
        0u16..=24,
        0u16..=60,
        0u16..=61,
    );
    prop_oneof![
        4 => (fields, prop::bool::weighted(0.9))
            .prop_map(|((y, mo, d, h, mi, s), z)| TimeText::Fields([y, mo, d, h, mi, s], z)),
        // Mostly digits and the few characters a time holds.
        1 => prop::collection::vec(
            prop_oneof![8 => b'0'..=b'9', 1 => Just(b'Z'), 1 => Just(b'+'), 1 => any::<u8>()],
            15,
        )
        .prop_map(TimeText::Raw),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 1u8..).prop_map(|(at, mask)| Mutation::Flip(at, mask)),
        (any::<Index>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (any::<Index>(), 1usize..64).prop_map(|(at, n)| Mutation::Remove(at, n)),
        (any::<Index>(), any::<[u8; 5]>()).prop_map(|(at, bytes)| Mutation::Length(at, bytes)),
        (any::<Index>(), -300i16..300).prop_map(|(at, d)| Mutation::LengthDelta(at, d)),
        (any::<Index>(), time_text()).prop_map(|(at, text)| Mutation::Time(at, text)),
    ]
}

fn apply(der: &mut Vec<u8>, mutation: &Mutation) {
    let mut found = Vec::new();
    elements(der, 0, &mut found);
    match mutation {
        Mutation::Flip(at, mask) => {
            let i = at.index(der.len());
            der[i] ^= mask;
        }
        Mutation::Insert(at, bytes) => {
            let i = at.index(der.len() + 1);
            der.splice(i..i, bytes.iter().copied());
        }
        Mutation::Remove(at, n) => {
            let i = at.index(der.len());
            der.drain(i..(i + n).min(der.len()));
        }
        Mutation::Length(which, bytes) => {
            if let Some(e) = (!found.is_empty()).then(|| &found[which.index(found.len())]) {
                let octets = &mut der[e.length.clone()];
                let n = octets.len();
                octets.copy_from_slice(&bytes[..n]);
            }
        }
        Mutation::LengthDelta(which, delta) => {
            if let Some(e) = (!found.is_empty()).then(|| &found[which.index(found.len())]) {
                let len = e.content.len() as i64 + i64::from(*delta);
                let octets = &mut der[e.length.clone()];
                if octets.len() == 1 {
                    octets[0] = len.clamp(0, 0x7f) as u8;
                } else {
                    let value = len.max(0) as u64;
                    let n = octets.len() - 1;
                    for (k, b) in octets[1..].iter_mut().enumerate() {
                        *b = (value >> (8 * (n - 1 - k))) as u8;
                    }
                }
            }
        }
        Mutation::Time(which, text) => {
            let times: Vec<&Element> = found
                .iter()
                .filter(|e| matches!(e.tag, UTC_TIME | GENERALIZED_TIME))
                .collect();
            if !times.is_empty() {
                let e = times[which.index(times.len())];
                let text = text.text(e.content.len());
                let n = e.content.len().min(text.len());
                der[e.content.start..e.content.start + n].copy_from_slice(&text[..n]);
            }
        }
    }
}

/// `part` lies inside `whole`.
fn within(part: &[u8], whole: &[u8]) -> bool {
    let (p, w) = (part.as_ptr_range(), whole.as_ptr_range());
    w.start <= p.start && p.end <= w.end
}

/// 0000-01-01 and 9999-12-31 23:59:60, the widest dates the two time types can write.
const EARLIEST: i64 = -62_167_219_200;
const LATEST: i64 = 253_402_300_800;

/// Reads `der` as a certificate and as a CRL, uses whatever reads the way the verifier does,
/// and checks what was read.
fn read_everything(der: &[u8], serial: &[u8]) -> Result<(), TestCaseError> {
    if let Some(cert) = CertificateFields::parse(der) {
        prop_assert!(within(cert.serial, der) && within(cert.issuer, der));
        prop_assert_eq!(cert.issuer.first(), Some(&SEQUENCE));
        for t in [cert.not_before, cert.not_after] {
            prop_assert!((EARLIEST..=LATEST).contains(&t), "{t}");
        }
        // Each name takes two bytes at least.
        prop_assert!(cert.alt_names().count() <= der.len() / 2);
        for name in cert.alt_names() {
            if let AltName::Ip(ip) = name {
                prop_assert!(within(ip, der));
            }
        }
    }
    if let Some(crl) = CrlFields::parse(der) {
        prop_assert!(within(crl.issuer, der));
        prop_assert_eq!(crl.issuer.first(), Some(&SEQUENCE));
        let _ = crl.lists(serial);
        let _ = crl.lists(&[]);
    }
    // The users of these fields, with `der` as the server's leaf and as a CRL.
    let cert = CertificateDer::from(der);
    let crl = CertificateRevocationListDer::from(der.to_vec());
    let other = CertificateDer::from(samples().0.as_slice());
    for now in [0, 1_700_000_000, u64::MAX / 2] {
        let now = UnixTime::since_unix_epoch(Duration::from_secs(now));
        let _ = leaf::time_inside_validity(&cert, std::slice::from_ref(&other), now);
        let _ = leaf::time_inside_validity(&other, std::slice::from_ref(&cert), now);
        let _ = leaf::check_dates(&cert, now);
    }
    let _ = leaf::held_name(&cert);
    let _ = revocation::crl_parses(&crl);
    let _ = revocation::is_listed(&cert, std::slice::from_ref(&crl));
    let _ = revocation::is_listed(&other, &[crl]);
    Ok(())
}

/// A random tree of DER elements with right lengths and the tags certificates use, to get
/// past the first length check into the field-by-field reading.
fn der_tree() -> impl Strategy<Value = Vec<u8>> {
    let tag = prop_oneof![
        Just(BOOLEAN),
        Just(INTEGER),
        Just(OID),
        Just(UTC_TIME),
        Just(GENERALIZED_TIME),
        Just(DNS_NAME),
        Just(IP_ADDRESS),
        Just(0x03), // BIT STRING
        any::<u8>(),
    ];
    let leaf = (tag, prop::collection::vec(any::<u8>(), 0..20)).prop_map(|(t, c)| encode(t, &c));
    leaf.prop_recursive(5, 64, 6, |inner| {
        (
            prop_oneof![
                Just(SEQUENCE),
                Just(VERSION),
                Just(EXTENSIONS),
                Just(OCTET_STRING)
            ],
            prop::collection::vec(inner, 0..6),
        )
            .prop_map(|(t, children)| encode(t, &children.concat()))
    })
}

/// One element: `tag`, the DER length of `content`, `content`.
fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u32).to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (4 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

proptest! {
    /// Arbitrary bytes, bare or behind a plausible SEQUENCE header, never panic.
    #[test]
    fn any_bytes_read_as_certificate_or_crl_without_panicking(
        head in prop_oneof![
            Just(vec![]),
            Just(vec![SEQUENCE, 0x82, 0x01, 0x00]),
            Just(vec![SEQUENCE, 0x84, 0xff, 0xff, 0xff, 0xff]),
            Just(vec![SEQUENCE, 0x80]),
        ],
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        serial in prop::collection::vec(any::<u8>(), 0..4),
    ) {
        read_everything(&[head, bytes].concat(), &serial)?;
    }

    /// Well-formed DER trees of certificate-like elements never panic.
    #[test]
    fn random_der_trees_read_without_panicking(tree in der_tree()) {
        read_everything(&tree, &[1])?;
        read_everything(&encode(SEQUENCE, &tree), &[1])?;
    }

    /// A real certificate and CRL, mutated a few times and cut anywhere, never panic; the
    /// certificate cut short never reads.
    #[test]
    fn mutated_certificates_and_crls_never_panic(
        crl_first in any::<bool>(),
        mutations in prop::collection::vec(mutation(), 0..4),
        cut in prop::option::weighted(0.25, any::<Index>()),
    ) {
        let (cert, crl) = samples();
        let fields = CertificateFields::parse(cert).unwrap();
        let mut der = if crl_first { crl.clone() } else { cert.clone() };
        for m in &mutations {
            apply(&mut der, m);
        }
        if let Some(cut) = cut {
            der.truncate(cut.index(der.len() + 1));
        }
        read_everything(&der, fields.serial)?;
        if mutations.is_empty() && der.len() < cert.len() && !crl_first {
            prop_assert!(CertificateFields::parse(&der).is_none(), "cut at {}", der.len());
        }
    }

    /// A real certificate and CRL with their dates rewritten, fields in range or not, never
    /// panic; a certificate whose dates read is placed in time the way webpki will judge it.
    #[test]
    fn certificates_with_any_validity_dates_never_panic(
        crl_first in any::<bool>(),
        dates in prop::collection::vec((any::<Index>(), time_text()), 1..3),
        now in 0u64..LATEST as u64 + 1000,
    ) {
        let (cert, crl) = samples();
        let mut der = if crl_first { crl.clone() } else { cert.clone() };
        for (which, text) in dates {
            apply(&mut der, &Mutation::Time(which, text));
        }
        read_everything(&der, &[5])?;
        if let Some(fields) = CertificateFields::parse(&der) {
            let (before, after) = (fields.not_before, fields.not_after);
            let leaf = CertificateDer::from(der.as_slice());
            let now = UnixTime::since_unix_epoch(Duration::from_secs(now));
            let secs = now.as_secs() as i64;
            let inside = (before..=after).contains(&secs);
            prop_assert_eq!(leaf::check_dates(&leaf, now).is_ok(), inside);
            let moved = leaf::time_inside_validity(&leaf, &[], now).as_secs() as i64;
            if inside || before > after {
                prop_assert_eq!(moved, secs, "{}..={}", before, after);
            } else {
                prop_assert!(moved == before.max(0) || moved == after.max(0));
            }
        }
    }
}
