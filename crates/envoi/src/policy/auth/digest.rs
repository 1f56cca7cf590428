//! HTTP Digest (RFC 7616): choosing among challenges and computing the answer.
//!
//! Supported: MD5, MD5-sess, SHA-256 and SHA-256-sess; `qop=auth`, and no qop at all (the
//! RFC 2069 form old servers still use). `auth-int` alone, SHA-512-256 and `userhash=true`
//! are not: such a challenge is passed over, and with nothing else to answer the 401 is
//! delivered.

use std::fmt::Write as _;

use super::md5::md5;
use super::Challenge;

/// A hash algorithm of Digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Algorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
}

impl Algorithm {
    /// No `algorithm` parameter means MD5 (RFC 7616 §3.3).
    fn parse(text: Option<&str>) -> Option<Algorithm> {
        let Some(text) = text else {
            return Some(Algorithm::Md5);
        };
        [
            Algorithm::Md5,
            Algorithm::Md5Sess,
            Algorithm::Sha256,
            Algorithm::Sha256Sess,
        ]
        .into_iter()
        .find(|a| a.name().eq_ignore_ascii_case(text.trim()))
    }

    fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    /// SHA-256 is preferred to MD5 when a server offers both (RFC 7616 §3.7).
    fn strength(self) -> u8 {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => 1,
            Algorithm::Sha256 | Algorithm::Sha256Sess => 2,
        }
    }

    fn is_sess(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// The lower-case hex digest of `data`.
    fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hex(&md5(data.as_bytes())),
            Algorithm::Sha256 | Algorithm::Sha256Sess => {
                hex(ring::digest::digest(&ring::digest::SHA256, data.as_bytes()).as_ref())
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(text, "{b:02x}");
    }
    text
}

/// A Digest challenge this client can answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct DigestChallenge {
    realm: String,
    pub(super) nonce: String,
    opaque: Option<String>,
    algorithm: Algorithm,
    /// Echo `algorithm=` only when the server named one: RFC 2069 servers know no such field.
    algorithm_named: bool,
    /// `qop=auth` was offered; false means the RFC 2069 form.
    qop_auth: bool,
    /// The nonce expired but the credentials were right (RFC 7616 §3.3).
    pub(super) stale: bool,
    /// The server sent `userhash`; the answer then says `userhash=false`.
    userhash_named: bool,
}

/// What the answer is computed from, besides the challenge.
pub(super) struct DigestInput<'a> {
    pub(super) user: &'a str,
    pub(super) password: &'a str,
    pub(super) method: &'a str,
    pub(super) uri: &'a str,
    pub(super) cnonce: &'a str,
    pub(super) nc: u32,
}

impl DigestChallenge {
    /// The strongest Digest challenge that can be answered, the first among equals.
    pub(super) fn pick(challenges: &[Challenge]) -> Option<DigestChallenge> {
        let mut best: Option<DigestChallenge> = None;
        for candidate in challenges
            .iter()
            .filter_map(DigestChallenge::from_challenge)
        {
            let stronger = best
                .as_ref()
                .is_none_or(|b| candidate.algorithm.strength() > b.algorithm.strength());
            if stronger {
                best = Some(candidate);
            }
        }
        best
    }

    fn from_challenge(challenge: &Challenge) -> Option<DigestChallenge> {
        if challenge.scheme != "digest" {
            return None;
        }
        let nonce = challenge.param("nonce")?.to_owned();
        let algorithm_text = challenge.param("algorithm");
        let algorithm = Algorithm::parse(algorithm_text)?;
        let qop_auth = match challenge.param("qop") {
            None => false,
            Some(list) => {
                if !list
                    .split(',')
                    .any(|q| q.trim().eq_ignore_ascii_case("auth"))
                {
                    return None;
                }
                true
            }
        };
        let flag = |name: &str| {
            challenge
                .param(name)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        };
        if flag("userhash") {
            return None;
        }
        // The -sess variants hash the client nonce into HA1, so they need qop.
        if algorithm.is_sess() && !qop_auth {
            return None;
        }
        Some(DigestChallenge {
            realm: challenge.param("realm").unwrap_or_default().to_owned(),
            nonce,
            opaque: challenge.param("opaque").map(str::to_owned),
            algorithm,
            algorithm_named: algorithm_text.is_some(),
            qop_auth,
            stale: flag("stale"),
            userhash_named: challenge.param("userhash").is_some(),
        })
    }

    /// The `response` parameter (RFC 7616 §3.4.1).
    fn response(&self, input: &DigestInput<'_>) -> String {
        let h = |data: &str| self.algorithm.hash(data);
        let mut ha1 = h(&format!("{}:{}:{}", input.user, self.realm, input.password));
        if self.algorithm.is_sess() {
            ha1 = h(&format!("{ha1}:{}:{}", self.nonce, input.cnonce));
        }
        let ha2 = h(&format!("{}:{}", input.method, input.uri));
        if self.qop_auth {
            h(&format!(
                "{ha1}:{}:{:08x}:{}:auth:{ha2}",
                self.nonce, input.nc, input.cnonce
            ))
        } else {
            h(&format!("{ha1}:{}:{ha2}", self.nonce))
        }
    }

    /// The whole Authorization (or Proxy-Authorization) value, fields in RFC 7616's order.
    pub(super) fn answer(&self, input: &DigestInput<'_>) -> String {
        let mut text = String::from("Digest ");
        if input.user.is_ascii() {
            let _ = write!(text, "username={}", quote(input.user));
        } else {
            // RFC 7616 §3.4.4: a name outside ASCII goes in username* (RFC 8187).
            let encoded = percent_encoding::utf8_percent_encode(input.user, ATTR_CHAR);
            let _ = write!(text, "username*=UTF-8''{encoded}");
        }
        let _ = write!(
            text,
            ", realm={}, uri={}",
            quote(&self.realm),
            quote(input.uri)
        );
        if self.algorithm_named {
            let _ = write!(text, ", algorithm={}", self.algorithm.name());
        }
        let _ = write!(text, ", nonce={}", quote(&self.nonce));
        if self.qop_auth {
            let _ = write!(
                text,
                ", nc={:08x}, cnonce={}, qop=auth",
                input.nc,
                quote(input.cnonce)
            );
        }
        let _ = write!(text, ", response=\"{}\"", self.response(input));
        if let Some(opaque) = &self.opaque {
            let _ = write!(text, ", opaque={}", quote(opaque));
        }
        if self.userhash_named {
            text.push_str(", userhash=false");
        }
        text
    }
}

/// Everything but RFC 8187's attr-char is percent-encoded.
const ATTR_CHAR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// A quoted string, with `"` and `\` escaped.
fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::super::parse_challenges;
    use super::*;
    use http::HeaderValue;

    /// RFC 7616 §3.9.1: the two challenges the server sends, SHA-256 first.
    const RFC7616_SHA256: &str = "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", \
        algorithm=SHA-256, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", \
        opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
    const RFC7616_MD5: &str = "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", \
        algorithm=MD5, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", \
        opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
    const RFC7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn challenge(text: &str) -> DigestChallenge {
        let value = HeaderValue::from_str(text).unwrap();
        DigestChallenge::pick(&parse_challenges([&value])).expect("an answerable challenge")
    }

    fn mufasa<'a>(cnonce: &'a str) -> DigestInput<'a> {
        DigestInput {
            user: "Mufasa",
            password: "Circle of Life",
            method: "GET",
            uri: "/dir/index.html",
            cnonce,
            nc: 1,
        }
    }

    #[test]
    fn digest_md5_matches_rfc7616_example() {
        let answer = challenge(RFC7616_MD5).answer(&mufasa(RFC7616_CNONCE));
        assert_eq!(
            answer,
            "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", \
             uri=\"/dir/index.html\", algorithm=MD5, \
             nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, \
             cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, \
             response=\"8ca523f5e9506fed4657c9700eebdbec\", \
             opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
        );
    }

    #[test]
    fn digest_sha256_matches_rfc7616_example() {
        let answer = challenge(RFC7616_SHA256).answer(&mufasa(RFC7616_CNONCE));
        assert!(answer.contains("algorithm=SHA-256,"), "{answer}");
        assert!(
            answer.contains(
                "response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\""
            ),
            "{answer}"
        );
    }

    #[test]
    fn sha256_is_picked_over_md5_in_either_order() {
        for fields in [[RFC7616_MD5, RFC7616_SHA256], [RFC7616_SHA256, RFC7616_MD5]] {
            let values: Vec<HeaderValue> = fields
                .iter()
                .map(|f| HeaderValue::from_str(f).unwrap())
                .collect();
            let picked = DigestChallenge::pick(&parse_challenges(&values)).unwrap();
            assert_eq!(picked.algorithm, Algorithm::Sha256);
        }
        let one_field = format!("{RFC7616_MD5}, {RFC7616_SHA256}");
        assert_eq!(challenge(&one_field).algorithm, Algorithm::Sha256);
    }

    #[test]
    fn digest_md5_matches_rfc2617_example() {
        let c = challenge(
            "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", \
             opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        );
        let input = DigestInput {
            password: "Circle Of Life",
            ..mufasa("0a4f113b")
        };
        let answer = c.answer(&input);
        assert!(
            answer.contains("response=\"6629fae49393a05397450978507c4ef1\""),
            "{answer}"
        );
        assert!(
            !answer.contains("algorithm"),
            "not named by the server: {answer}"
        );
    }

    #[test]
    fn sess_variants_hash_the_nonces_into_ha1() {
        // Expected values computed independently (Python hashlib) from RFC 7616's inputs.
        let md5_sess = RFC7616_MD5.replace("algorithm=MD5", "algorithm=MD5-sess");
        let answer = challenge(&md5_sess).answer(&mufasa(RFC7616_CNONCE));
        assert!(answer.contains("algorithm=MD5-sess"), "{answer}");
        assert!(
            answer.contains("response=\"e783283f46242139c486a698fec7211d\""),
            "{answer}"
        );
        let sha_sess = RFC7616_SHA256.replace("algorithm=SHA-256", "algorithm=SHA-256-sess");
        let answer = challenge(&sha_sess).answer(&mufasa(RFC7616_CNONCE));
        assert!(
            answer.contains(
                "response=\"2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7\""
            ),
            "{answer}"
        );
    }

    #[test]
    fn a_challenge_without_qop_gets_the_rfc2069_answer() {
        let c = challenge(
            "Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"",
        );
        let input = DigestInput {
            password: "Circle Of Life",
            ..mufasa("ignored")
        };
        assert_eq!(
            c.answer(&input),
            "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", \
             uri=\"/dir/index.html\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", \
             response=\"670fd8c2df070c60b045671b8b24ff02\""
        );
    }

    #[test]
    fn unanswerable_challenges_are_passed_over() {
        for text in [
            "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256",
            "Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"",
            "Digest realm=\"r\"",
            "Digest realm=\"r\", nonce=\"n\", userhash=true",
            "Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess",
            "Basic realm=\"r\"",
        ] {
            let value = HeaderValue::from_str(text).unwrap();
            assert_eq!(
                DigestChallenge::pick(&parse_challenges([&value])),
                None,
                "{text}"
            );
        }
    }

    #[test]
    fn quotes_and_non_ascii_names_are_encoded() {
        let c = challenge("Digest realm=\"a \\\"quoted\\\" realm\", nonce=\"n\", userhash=false");
        let input = DigestInput {
            user: "J\u{e4}s\u{f8}n Doe",
            ..mufasa("c")
        };
        let answer = c.answer(&input);
        assert!(
            answer.starts_with("Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, "),
            "{answer}"
        );
        assert!(
            answer.contains("realm=\"a \\\"quoted\\\" realm\""),
            "{answer}"
        );
        assert!(answer.ends_with(", userhash=false"), "{answer}");
    }
}
