//! Policy: the rules every front end shares, written once, as code that decides and does no
//! I/O.
//!
//! The blocking, async and poll-driven front ends only move bytes and wait. Whenever a rule
//! applies they ask this module "what next?" and do what it answers:
//!
//! | concern      | the front end asks                         | the answer                     |
//! |--------------|--------------------------------------------|--------------------------------|
//! | redirects    | after a response head: follow it?          | the next request, or deliver   |
//! | cookies      | before a request / after a response head   | the Cookie field / jar updated |
//! | auth         | before a request / after a 401 or 407      | the field to send, once        |
//! | decoding     | for each piece of body                     | decoded bytes, within a limit  |
//! | retries      | after a failure                            | how long to wait, or give up   |
//! | downloads    | for each piece of body / at the end        | bytes in `.part`, then renamed |
//! | cancellation | between steps                              | go on, or `Cancelled`          |
//!
//! Nothing here touches the network or sleeps. Where time matters (cookie expiry, an
//! HTTP-date Retry-After) the decisions take `now` as a parameter, and randomness (retry
//! jitter, a Digest client nonce) is an argument too (`jitter()` and `new_cnonce()` make
//! them), so every rule is tested without sockets and without waiting. Two exceptions are
//! deliberate: [`DownloadFile`] writes its file, that being its job, and the public
//! conveniences of `CookieJar` (feature `cookies`) read the system clock for callers who use a jar on its own.
//! The public types are the settings a user chooses; the decisions are crate-private, for
//! the front ends.

pub(crate) mod auth;
pub(crate) mod cancel;
#[cfg(feature = "cookies")]
pub(crate) mod cookies;
pub(crate) mod decode;
pub(crate) mod download;
#[cfg(test)]
pub(crate) mod field_values;
pub(crate) mod redirect;
pub(crate) mod retry;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

pub use auth::Auth;
pub use cancel::CancelHandle;
#[cfg(feature = "cookies")]
pub use cookies::{CookieJar, StoredCookie};
pub use decode::ACCEPT_ENCODING;
pub use download::{DownloadFile, Progress};
pub use redirect::{RedirectPolicy, DEFAULT_MAX_REDIRECTS};
pub use retry::RetryPolicy;

/// 64 unpredictable bits without a random-number crate: std's hash keys are drawn from the
/// operating system once per thread and differ for every `RandomState`, and a counter keeps
/// two calls apart even then.
pub(crate) fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

/// A fresh Digest client nonce: 128 random bits in hex.
pub(crate) fn new_cnonce() -> String {
    format!("{:016x}{:016x}", random_u64(), random_u64())
}

/// A retry jitter in `[0, 1)`.
pub(crate) fn jitter() -> f64 {
    // The top 53 bits fill an f64's mantissa exactly.
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_nonces_differ_and_jitter_stays_in_range() {
        let (a, b) = (new_cnonce(), new_cnonce());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
    }
}
