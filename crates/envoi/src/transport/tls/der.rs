//! The few fields of an X.509 certificate (RFC 5280 §4.1) and CRL (§5.1) that the waivers
//! need, read from DER by hand: serial number, issuer, validity dates and subjectAltName of a
//! certificate; issuer and revoked serial numbers of a CRL. Nothing here decides trust
//! (webpki does); a structure that does not read as expected is `None`, never a guess.

/// A certificate's fields, borrowed from its DER.
#[derive(Debug)]
pub(super) struct CertificateFields<'a> {
    /// The serialNumber INTEGER's content octets (DER: minimal, so equal numbers are equal
    /// bytes).
    pub(super) serial: &'a [u8],
    /// The issuer Name, whole (tag and length included), to compare with a CRL's.
    pub(super) issuer: &'a [u8],
    /// notBefore and notAfter, in seconds since the Unix epoch.
    pub(super) not_before: i64,
    pub(super) not_after: i64,
    /// The content of the subjectAltName extension's GeneralNames, if present.
    subject_alt_names: Option<&'a [u8]>,
}

/// A name from subjectAltName.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum AltName<'a> {
    Dns(&'a str),
    /// 4 or 16 octets.
    Ip(&'a [u8]),
}

/// A certificate revocation list's fields, borrowed from its DER.
#[derive(Debug)]
pub(super) struct CrlFields<'a> {
    pub(super) issuer: &'a [u8],
    revoked: Option<&'a [u8]>,
}

const BOOLEAN: u8 = 0x01;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const SEQUENCE: u8 = 0x30;
const VERSION: u8 = 0xa0; // [0] EXPLICIT
const EXTENSIONS: u8 = 0xa3; // [3] EXPLICIT
const DNS_NAME: u8 = 0x82; // [2] IMPLICIT IA5String
const IP_ADDRESS: u8 = 0x87; // [7] IMPLICIT OCTET STRING
/// id-ce-subjectAltName, 2.5.29.17.
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

impl<'a> CertificateFields<'a> {
    /// Reads a certificate; `None` unless it is one DER Certificate with nothing after it.
    pub(super) fn parse(der: &'a [u8]) -> Option<CertificateFields<'a>> {
        let mut tbs = Reader::new(single(der, SEQUENCE)?);
        let mut fields = Reader::new(tbs.expect(SEQUENCE)?);
        if fields.peek_tag() == Some(VERSION) {
            fields.next()?;
        }
        let serial = fields.expect(INTEGER)?;
        fields.expect(SEQUENCE)?; // signature algorithm
        let issuer = fields.expect_whole(SEQUENCE)?;
        let mut validity = Reader::new(fields.expect(SEQUENCE)?);
        let not_before = time(validity.next()?)?;
        let not_after = time(validity.next()?)?;
        fields.expect(SEQUENCE)?; // subject
        fields.expect(SEQUENCE)?; // subjectPublicKeyInfo
        let mut subject_alt_names = None;
        // issuerUniqueID [1], subjectUniqueID [2], extensions [3], in that order.
        while let Some((tag, content)) = fields.next() {
            if tag == EXTENSIONS {
                subject_alt_names = find_subject_alt_names(content)?;
            }
        }
        Some(CertificateFields {
            serial,
            issuer,
            not_before,
            not_after,
            subject_alt_names,
        })
    }

    /// The DNS names and IP addresses of subjectAltName, in order; other kinds are skipped.
    pub(super) fn alt_names(&self) -> impl Iterator<Item = AltName<'a>> {
        let mut names = Reader::new(self.subject_alt_names.unwrap_or(&[]));
        std::iter::from_fn(move || loop {
            let (tag, content) = names.next()?;
            match tag {
                DNS_NAME => {
                    if let Ok(dns) = std::str::from_utf8(content) {
                        return Some(AltName::Dns(dns));
                    }
                }
                IP_ADDRESS => return Some(AltName::Ip(content)),
                _ => {}
            }
        })
    }
}

impl<'a> CrlFields<'a> {
    /// Reads a CRL; `None` unless it is one DER CertificateList with nothing after it.
    pub(super) fn parse(der: &'a [u8]) -> Option<CrlFields<'a>> {
        let mut list = Reader::new(single(der, SEQUENCE)?);
        let mut fields = Reader::new(list.expect(SEQUENCE)?);
        list.expect(SEQUENCE)?; // signature algorithm
        list.next()?; // signature
        if !list.is_empty() {
            return None;
        }
        if fields.peek_tag() == Some(INTEGER) {
            fields.next()?; // version
        }
        fields.expect(SEQUENCE)?; // signature algorithm
        let issuer = fields.expect_whole(SEQUENCE)?;
        time(fields.next()?)?; // thisUpdate
        if matches!(fields.peek_tag(), Some(UTC_TIME | GENERALIZED_TIME)) {
            time(fields.next()?)?; // nextUpdate
        }
        let revoked = match fields.peek_tag() {
            Some(SEQUENCE) => Some(fields.expect(SEQUENCE)?),
            _ => None,
        };
        let crl = CrlFields { issuer, revoked };
        // Every entry must read, so that a listing is never skipped silently.
        crl.revoked_serials()
            .all(|serial| serial.is_some())
            .then_some(crl)
    }

    /// True when `serial` (a certificate's serialNumber content) is listed.
    pub(super) fn lists(&self, serial: &[u8]) -> bool {
        self.revoked_serials().any(|s| s == Some(serial))
    }

    /// Each entry's serial number; `None` for an entry that does not read.
    fn revoked_serials(&self) -> impl Iterator<Item = Option<&'a [u8]>> {
        let mut entries = Reader::new(self.revoked.unwrap_or(&[]));
        std::iter::from_fn(move || {
            if entries.is_empty() {
                return None;
            }
            let entry = entries.expect(SEQUENCE);
            Some(entry.and_then(|e| Reader::new(e).expect(INTEGER)))
        })
    }
}

/// The content of the only element of `der`, which must have tag `tag`.
fn single(der: &[u8], tag: u8) -> Option<&[u8]> {
    let mut reader = Reader::new(der);
    let content = reader.expect(tag)?;
    reader.is_empty().then_some(content)
}

/// The GeneralNames of the subjectAltName extension among `extensions` ([3]'s content):
/// `Some(None)` when there is none, `None` when the extensions do not read.
fn find_subject_alt_names(extensions: &[u8]) -> Option<Option<&[u8]>> {
    let mut list = Reader::new(single(extensions, SEQUENCE)?);
    let mut found = None;
    while !list.is_empty() {
        let mut extension = Reader::new(list.expect(SEQUENCE)?);
        let id = extension.expect(OID)?;
        if extension.peek_tag() == Some(BOOLEAN) {
            extension.next()?; // critical
        }
        let value = extension.expect(OCTET_STRING)?;
        if id == SUBJECT_ALT_NAME {
            found = Some(single(value, SEQUENCE)?);
        }
    }
    Some(found)
}

/// A UTCTime or GeneralizedTime in the forms RFC 5280 §4.1.2.5 allows (`YYMMDDHHMMSSZ`,
/// `YYYYMMDDHHMMSSZ`), as seconds since the Unix epoch.
fn time((tag, text): (u8, &[u8])) -> Option<i64> {
    let (year, rest) = match tag {
        UTC_TIME if text.len() == 13 => {
            let yy = digits(&text[..2])?;
            // RFC 5280: 50–99 are 1950–1999, 00–49 are 2000–2049.
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        GENERALIZED_TIME if text.len() == 15 => (digits(&text[..4])?, &text[4..]),
        _ => return None,
    };
    if rest[10] != b'Z' {
        return None;
    }
    let (month, day) = (digits(&rest[0..2])?, digits(&rest[2..4])?);
    let (hour, minute, second) = (
        digits(&rest[4..6])?,
        digits(&rest[6..8])?,
        digits(&rest[8..10])?,
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // A leap second (60) is allowed by the ASN.1 types; it counts as the next second.
    if second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

fn digits(text: &[u8]) -> Option<i64> {
    text.iter().try_fold(0i64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0'))
    })
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// DER elements one after another: single-octet tags and definite lengths of at most four
/// octets, as certificates use; anything else ends the reading.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next element as (tag, content).
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (tag, header, len) = self.header()?;
        let content = self.rest.get(header..header.checked_add(len)?)?;
        self.rest = &self.rest[header + len..];
        Some((tag, content))
    }

    /// The next element's content, if its tag is `tag`.
    fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.next()? {
            (t, content) if t == tag => Some(content),
            _ => None,
        }
    }

    /// The next element whole (tag and length included), if its tag is `tag`.
    fn expect_whole(&mut self, tag: u8) -> Option<&'a [u8]> {
        let before = self.rest;
        self.expect(tag)?;
        Some(&before[..before.len() - self.rest.len()])
    }

    /// (tag, header length, content length) of the next element.
    fn header(&self) -> Option<(u8, usize, usize)> {
        let (&tag, rest) = self.rest.split_first()?;
        if tag & 0x1f == 0x1f {
            return None; // multi-octet tag: not in certificates
        }
        let (&first, rest) = rest.split_first()?;
        if first < 0x80 {
            return Some((tag, 2, usize::from(first)));
        }
        let octets = usize::from(first & 0x7f);
        if octets == 0 || octets > 4 {
            return None; // indefinite (BER only) or absurdly long
        }
        let len = rest
            .get(..octets)?
            .iter()
            .fold(0usize, |n, &b| (n << 8) | usize::from(b));
        Some((tag, 2 + octets, len))
    }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate(names: &[&str], not_before: (i32, u8, u8), not_after: (i32, u8, u8)) -> Vec<u8> {
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x01, 0x02, 0x03]));
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    fn unix(y: i32, m: u8, d: u8) -> i64 {
        rcgen::date_time_ymd(y, m, d).unix_timestamp()
    }

    #[test]
    fn a_certificate_yields_its_serial_dates_and_names() {
        // 2049 is written as UTCTime, 2050 and later as GeneralizedTime.
        let der = certificate(
            &["*.example.com", "127.0.0.1", "::1", "b.test"],
            (1999, 12, 31),
            (2060, 2, 29),
        );
        let cert = CertificateFields::parse(&der).unwrap();
        assert_eq!(cert.serial, &[0x01, 0x02, 0x03]);
        assert_eq!(cert.not_before, unix(1999, 12, 31));
        assert_eq!(cert.not_after, unix(2060, 2, 29));
        let names: Vec<_> = cert.alt_names().collect();
        assert_eq!(
            names,
            [
                AltName::Dns("*.example.com"),
                AltName::Ip(&[127, 0, 0, 1]),
                AltName::Ip(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
                AltName::Dns("b.test"),
            ]
        );
        assert_eq!(cert.issuer[0], SEQUENCE);
    }

    #[test]
    fn utc_time_years_follow_rfc_5280() {
        let t = |s: &str| time((UTC_TIME, s.as_bytes()));
        assert_eq!(t("500101000000Z"), Some(unix(1950, 1, 1)));
        assert_eq!(t("491231235959Z"), Some(unix(2050, 1, 1) - 1));
        assert_eq!(t("700101000000Z"), Some(0));
        assert_eq!(t("700101000000+0100"), None);
        assert_eq!(t("701301000000Z"), None);
        assert_eq!(
            time((GENERALIZED_TIME, b"21000301000000Z")),
            Some(unix(2100, 3, 1))
        );
        assert_eq!(time((GENERALIZED_TIME, b"2100030100000Z")), None);
    }

    #[test]
    fn a_crl_lists_the_serials_it_revokes() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::KeyCertSign,
        ];
        let ca = params.self_signed(&key).unwrap();
        let revoked = |serial: &[u8]| rcgen::RevokedCertParams {
            serial_number: rcgen::SerialNumber::from_slice(serial),
            revocation_time: rcgen::date_time_ymd(2020, 1, 1),
            reason_code: None,
            invalidity_date: None,
        };
        let crl = rcgen::CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2020, 1, 1),
            next_update: rcgen::date_time_ymd(2090, 1, 1),
            crl_number: rcgen::SerialNumber::from_slice(&[1]),
            issuing_distribution_point: None,
            revoked_certs: vec![revoked(&[0x05]), revoked(&[0x01, 0x02, 0x03])],
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        }
        .signed_by(&ca, &key)
        .unwrap();
        let fields = CrlFields::parse(crl.der()).unwrap();
        assert!(fields.lists(&[0x01, 0x02, 0x03]));
        assert!(fields.lists(&[0x05]));
        assert!(!fields.lists(&[0x01, 0x02]));
        let ca_fields = CertificateFields::parse(ca.der()).unwrap();
        assert_eq!(fields.issuer, ca_fields.issuer, "the CA's issuer is itself");
    }

    #[test]
    fn cut_or_padded_input_is_refused_without_panicking() {
        let der = certificate(&["a.test"], (2001, 1, 1), (2002, 1, 1));
        for end in 0..der.len() {
            assert!(
                CertificateFields::parse(&der[..end]).is_none(),
                "cut at {end}"
            );
        }
        let mut padded = der.clone();
        padded.push(0);
        assert!(CertificateFields::parse(&padded).is_none());
        // Every single-byte corruption either fails to read or reads; it never panics.
        for i in 0..der.len() {
            let mut bad = der.clone();
            bad[i] ^= 0xff;
            let _ = CertificateFields::parse(&bad);
            let _ = CrlFields::parse(&bad);
        }
        assert!(
            CrlFields::parse(&der).is_none(),
            "a certificate is not a CRL"
        );
    }

    #[test]
    fn random_mutations_never_panic() {
        let der = certificate(&["a.test", "10.0.0.1"], (2001, 1, 1), (2052, 1, 1));
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let mut bad = der.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % bad.len() as u64) as usize;
                bad[at] = next() as u8;
            }
            let cut = (next() % (bad.len() as u64 + 1)) as usize;
            if let Some(cert) = CertificateFields::parse(&bad[..cut]) {
                let _ = cert.alt_names().count();
            }
            let _ = CrlFields::parse(&bad[..cut]);
        }
    }
}
