//! Retries: which failures are tried again, and after how long.
//!
//! Off by default. When on, only idempotent requests are retried, only after a failure that
//! says the server did not act on the request (the connection could not be made, or was
//! reset before a single response byte) or asked to be asked again later (429, 503), with
//! exponential backoff and jitter, bounded in count and in total time. A server's
//! Retry-After is honoured, never shortened: if it asks for longer than the policy allows,
//! the response is delivered instead.

use std::time::{Duration, SystemTime};

use http::header::HeaderValue;
use http::{Method, StatusCode};

/// When failed requests are tried again. Off by default ([`RetryPolicy::max_retries`] 0).
///
/// ```
/// use std::time::Duration;
/// use envoi::policy::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .max_retries(3)
///     .base_delay(Duration::from_millis(200))
///     .max_total(Duration::from_secs(10));
/// assert!(policy.is_enabled());
/// assert!(!RetryPolicy::default().is_enabled());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 0,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            max_total: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// How many times a request may be tried again (0: never, the default).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The wait before the first retry; each later one doubles it (default 250 ms).
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest single wait, backoff or Retry-After (default 30 s).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// No retry starts later than this after the first attempt started (default 120 s).
    pub fn max_total(mut self, total: Duration) -> Self {
        self.max_total = total;
        self
    }

    /// True when any retry may happen.
    pub fn is_enabled(&self) -> bool {
        self.max_retries > 0
    }
}

/// Why an attempt failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RetryCause {
    /// No connection could be made (nothing was sent).
    ConnectFailed,
    /// The connection was reset or closed before any byte of the response arrived.
    ResetBeforeResponse,
    /// A complete response head with this status.
    Status {
        status: StatusCode,
        retry_after: Option<HeaderValue>,
    },
}

/// The attempt that just failed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Attempt<'a> {
    /// Retries made so far: 0 after the first attempt failed.
    pub(crate) retries: u32,
    pub(crate) method: &'a Method,
    /// A one-shot stream body cannot be sent again, whatever the method.
    pub(crate) body_replayable: bool,
    /// Time since the first attempt started.
    pub(crate) elapsed: Duration,
}

/// How long to wait before trying `attempt` again, or `None` to give up (and deliver the
/// failure or the response). `jitter` is a caller-supplied number in `[0, 1)`; `now` is used
/// only to read an HTTP-date Retry-After.
pub(crate) fn retry_delay(
    policy: &RetryPolicy,
    attempt: &Attempt<'_>,
    cause: &RetryCause,
    jitter: f64,
    now: SystemTime,
) -> Option<Duration> {
    if attempt.retries >= policy.max_retries
        || !is_idempotent(attempt.method)
        || !attempt.body_replayable
    {
        return None;
    }
    let delay = match cause {
        RetryCause::ConnectFailed | RetryCause::ResetBeforeResponse => {
            backoff(policy, attempt.retries, jitter)
        }
        RetryCause::Status {
            status,
            retry_after,
        } => {
            if !matches!(status.as_u16(), 429 | 503) {
                return None;
            }
            match retry_after.as_ref().and_then(|v| parse_retry_after(v, now)) {
                Some(asked) if asked > policy.max_delay => return None,
                Some(asked) => asked,
                None => backoff(policy, attempt.retries, jitter),
            }
        }
    };
    let start = attempt.elapsed.checked_add(delay)?;
    (start <= policy.max_total).then_some(delay)
}

/// RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT and DELETE.
pub(crate) fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// `base * 2^retries`, capped at `max_delay`, with "equal jitter": half fixed, half random,
/// so a crowd of clients spreads out yet none retries at once.
fn backoff(policy: &RetryPolicy, retries: u32, jitter: f64) -> Duration {
    let factor = 1u32.checked_shl(retries).unwrap_or(u32::MAX);
    let full = policy
        .base_delay
        .checked_mul(factor)
        .unwrap_or(policy.max_delay)
        .min(policy.max_delay);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let half = full / 2;
    // The float product can round up past `half` for waits of months and more.
    (half + half.mul_f64(jitter)).min(full)
}

/// Retry-After as delta-seconds or an HTTP-date relative to `now` (RFC 9110 §10.2.3); a
/// date in the past means "now". Anything else is ignored.
fn parse_retry_after(value: &HeaderValue, now: SystemTime) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        // A number too long for u64 is "a very long time": more than any max_delay.
        return Some(Duration::from_secs(text.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Duration = Duration::from_secs(1_700_000_000);

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + NOW
    }

    fn on() -> RetryPolicy {
        RetryPolicy::default()
            .max_retries(3)
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(5))
            .max_total(Duration::from_secs(20))
    }

    fn attempt(retries: u32, method: &Method) -> Attempt<'_> {
        Attempt {
            retries,
            method,
            body_replayable: true,
            elapsed: Duration::ZERO,
        }
    }

    fn status(code: u16, retry_after: Option<&str>) -> RetryCause {
        RetryCause::Status {
            status: StatusCode::from_u16(code).unwrap(),
            retry_after: retry_after.map(|v| HeaderValue::from_str(v).unwrap()),
        }
    }

    #[test]
    fn retries_are_off_by_default() {
        let get = Method::GET;
        let delay = retry_delay(
            &RetryPolicy::default(),
            &attempt(0, &get),
            &RetryCause::ConnectFailed,
            0.5,
            now(),
        );
        assert_eq!(delay, None);
    }

    #[test]
    fn only_idempotent_requests_with_a_replayable_body_are_retried() {
        let policy = on();
        let cause = RetryCause::ResetBeforeResponse;
        for method in [
            Method::GET,
            Method::HEAD,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ] {
            assert!(
                retry_delay(&policy, &attempt(0, &method), &cause, 0.0, now()).is_some(),
                "{method}"
            );
        }
        for method in [Method::POST, Method::PATCH, Method::CONNECT] {
            assert_eq!(
                retry_delay(&policy, &attempt(0, &method), &cause, 0.0, now()),
                None,
                "{method}"
            );
        }
        let put = Method::PUT;
        let one_shot = Attempt {
            body_replayable: false,
            ..attempt(0, &put)
        };
        assert_eq!(retry_delay(&policy, &one_shot, &cause, 0.0, now()), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_stops_after_max_retries() {
        let policy = on();
        let get = Method::GET;
        let cause = RetryCause::ConnectFailed;
        let delay =
            |retries, jitter| retry_delay(&policy, &attempt(retries, &get), &cause, jitter, now());
        assert_eq!(delay(0, 0.0), Some(Duration::from_millis(50)));
        let most = delay(0, 0.999_999).unwrap();
        assert!(most > Duration::from_millis(99) && most < Duration::from_millis(100));
        assert_eq!(delay(1, 0.0), Some(Duration::from_millis(100)));
        assert_eq!(delay(2, 0.5), Some(Duration::from_millis(300)));
        assert_eq!(delay(3, 0.0), None, "3 retries made: no fourth");
    }

    #[test]
    fn backoff_is_capped_at_max_delay_even_for_huge_attempt_numbers() {
        let policy = on().max_retries(u32::MAX).max_total(Duration::MAX);
        let get = Method::GET;
        let cause = RetryCause::ConnectFailed;
        for retries in [10, 31, 32, 64, 1000] {
            let delay = retry_delay(&policy, &attempt(retries, &get), &cause, 1.0, now());
            assert_eq!(delay, Some(Duration::from_secs(5)), "{retries}");
        }
        let nan = retry_delay(&policy, &attempt(0, &get), &cause, f64::NAN, now());
        assert_eq!(nan, Some(Duration::from_millis(50)));
    }

    #[test]
    fn backoff_never_exceeds_a_huge_max_delay_by_rounding() {
        // Found by `retry_decisions_stay_within_the_policy_whatever_the_server_says`: half
        // of a wait this long, times a jitter of 1 in f64, came out 1.5 ms over it.
        let max_delay = Duration::from_millis(38_230_279_567_881_997);
        let policy = on()
            .max_retries(u32::MAX)
            .base_delay(Duration::from_millis(815_575_128))
            .max_delay(max_delay)
            .max_total(Duration::MAX);
        let get = Method::GET;
        let delay = retry_delay(
            &policy,
            &attempt(26, &get),
            &RetryCause::ConnectFailed,
            1.0,
            now(),
        );
        assert_eq!(delay, Some(max_delay));
    }

    #[test]
    fn only_429_and_503_statuses_are_retried() {
        let policy = on();
        let get = Method::GET;
        for code in [429, 503] {
            assert!(
                retry_delay(&policy, &attempt(0, &get), &status(code, None), 0.0, now()).is_some()
            );
        }
        for code in [200, 404, 500, 502, 504] {
            assert_eq!(
                retry_delay(&policy, &attempt(0, &get), &status(code, None), 0.0, now()),
                None,
                "{code}"
            );
        }
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date_is_honoured() {
        let policy = on();
        let get = Method::GET;
        let delay = |value: &str| {
            retry_delay(
                &policy,
                &attempt(0, &get),
                &status(503, Some(value)),
                0.9,
                now(),
            )
        };
        assert_eq!(delay("3"), Some(Duration::from_secs(3)));
        assert_eq!(delay(" 0 "), Some(Duration::ZERO));
        let in_two = httpdate::fmt_http_date(now() + Duration::from_secs(2));
        assert_eq!(delay(&in_two), Some(Duration::from_secs(2)));
        let past = httpdate::fmt_http_date(now() - Duration::from_secs(60));
        assert_eq!(delay(&past), Some(Duration::ZERO));
        assert_eq!(
            delay("soon"),
            Some(Duration::from_millis(95)),
            "unreadable: backoff"
        );
    }

    #[test]
    fn a_retry_after_longer_than_max_delay_gives_up() {
        let policy = on();
        let get = Method::GET;
        for value in ["6", "99999999999999999999999"] {
            let cause = status(429, Some(value));
            assert_eq!(
                retry_delay(&policy, &attempt(0, &get), &cause, 0.0, now()),
                None
            );
        }
    }

    #[test]
    fn no_retry_starts_past_max_total() {
        let policy = on();
        let get = Method::GET;
        let late = Attempt {
            elapsed: Duration::from_millis(19_950),
            ..attempt(0, &get)
        };
        let cause = RetryCause::ConnectFailed;
        assert_eq!(
            retry_delay(&policy, &late, &cause, 0.0, now()),
            Some(Duration::from_millis(50))
        );
        let later = Attempt {
            elapsed: Duration::from_millis(19_990),
            ..late
        };
        assert_eq!(retry_delay(&policy, &later, &cause, 0.0, now()), None);
        let cause = status(503, Some("5"));
        assert_eq!(retry_delay(&policy, &late, &cause, 0.0, now()), None);
    }

    mod properties {
        use crate::policy::field_values::field_value;
        use proptest::prelude::*;

        use super::*;

        /// Retry-After values that are almost right: numbers of any size and sign, and
        /// HTTP-dates in the three formats with fields in and out of range.
        fn near_valid() -> impl Strategy<Value = String> {
            const DAYS: [&str; 8] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Xyz"];
            const LONG_DAYS: [&str; 8] = [
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday",
                "Funday",
            ];
            const MONTHS: [&str; 13] = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
                "Foo",
            ];
            let fields = (
                0usize..8,
                0u32..=99,
                0usize..13,
                prop_oneof![0u32..=99, 1900u32..=2100, 9990u32..=10_001, any::<u32>()],
                0u32..=25,
                0u32..=61,
                0u32..=61,
            );
            prop_oneof![
                "[0-9]{1,40}",
                "-[0-9]{1,25}",
                "[+ ]?[0-9]{1,5}(\\.[0-9]{1,3})?[ smh]?",
                fields.prop_map(|(wd, d, mo, y, h, mi, s)| match y % 3 {
                    // IMF-fixdate, RFC 850 and asctime.
                    0 => format!(
                        "{}, {d:02} {} {y:04} {h:02}:{mi:02}:{s:02} GMT",
                        DAYS[wd], MONTHS[mo]
                    ),
                    1 => format!(
                        "{}, {d:02}-{}-{:02} {h:02}:{mi:02}:{s:02} GMT",
                        LONG_DAYS[wd],
                        MONTHS[mo],
                        y % 100
                    ),
                    _ => format!(
                        "{} {} {d:>2} {h:02}:{mi:02}:{s:02} {y}",
                        DAYS[wd], MONTHS[mo]
                    ),
                }),
            ]
        }

        /// A time anywhere from the epoch to past the year 9999.
        fn any_now() -> impl Strategy<Value = SystemTime> {
            (0u64..300_000_000_000).prop_map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
        }

        /// What `text` must read as: all digits is that many seconds (a number too long for
        /// u64 is the longest wait there is); a sign makes it no number at all.
        fn check_reading(text: &[u8], now: SystemTime) -> Result<(), TestCaseError> {
            let Ok(value) = HeaderValue::from_bytes(text) else {
                return Ok(());
            };
            let read = parse_retry_after(&value, now);
            let trimmed = text.trim_ascii();
            if !trimmed.is_empty() && trimmed.iter().all(u8::is_ascii_digit) {
                let digits = std::str::from_utf8(trimmed).unwrap();
                let secs = digits.parse::<u64>().unwrap_or(u64::MAX);
                prop_assert_eq!(read, Some(Duration::from_secs(secs)));
            } else if trimmed.first().is_some_and(|b| b"+-".contains(b)) {
                prop_assert_eq!(read, None);
            } else if let Some(read) = read {
                // A date: never further than the last second of 9999.
                let latest = SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799);
                let most = latest.duration_since(now).unwrap_or(Duration::ZERO);
                prop_assert!(read <= most, "{read:?}");
            }
            Ok(())
        }

        proptest! {
            /// Whatever a server sends as Retry-After, reading it never panics (no overflow,
            /// no Duration panic), and numbers and dates read as what they say.
            #[test]
            fn any_retry_after_reads_without_panicking(
                text in prop_oneof![field_value(40), near_valid().prop_map(String::into_bytes)],
                now in any_now(),
            ) {
                check_reading(&text, now)?;
            }

            /// A date written from a time, in any of the three formats, reads back as the
            /// wait until that time.
            #[test]
            fn an_http_date_in_any_format_reads_as_the_wait_until_it(
                at in 0u64..253_402_300_800,
                format in 0..3,
                now in any_now(),
            ) {
                // The two-digit years of RFC 850 stand for 1970–2069.
                let at = if format == 1 { at % 3_155_760_000 } else { at };
                let at = SystemTime::UNIX_EPOCH + Duration::from_secs(at);
                // "Sun, 06 Nov 1994 08:49:37 GMT", cut into its fields.
                let imf = httpdate::fmt_http_date(at);
                let [wd, d, mo, y, time, _] = imf.split([',', ' ']).filter(|f| !f.is_empty())
                    .collect::<Vec<_>>()[..] else { panic!("{imf}") };
                let text = match format {
                    0 => imf.clone(),
                    1 => {
                        let long = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                            "Saturday", "Sunday"]
                            .into_iter()
                            .find(|l| l.starts_with(wd))
                            .unwrap();
                        format!("{long}, {d}-{mo}-{} {time} GMT", &y[2..])
                    }
                    _ => format!("{wd} {mo} {:>2} {time} {y}", d.trim_start_matches('0')),
                };
                let value = HeaderValue::from_str(&text).unwrap();
                let expected = at.duration_since(now).unwrap_or(Duration::ZERO);
                prop_assert_eq!(parse_retry_after(&value, now), Some(expected), "{}", text);
            }

            /// Whatever the Retry-After, policy and jitter, the decision never panics, never
            /// waits past max_delay and never starts a retry past max_total.
            #[test]
            fn retry_decisions_stay_within_the_policy_whatever_the_server_says(
                text in prop_oneof![field_value(40), near_valid().prop_map(String::into_bytes)],
                code in prop_oneof![Just(429u16), Just(503u16), 100u16..1000],
                base_ms in any::<u64>(),
                max_delay_ms in any::<u64>(),
                max_total_ms in any::<u64>(),
                elapsed_ms in any::<u64>(),
                retries in any::<u32>(),
                jitter in prop_oneof![any::<f64>(), 0.0f64..1.0],
                now in any_now(),
            ) {
                let policy = RetryPolicy::default()
                    .max_retries(u32::MAX)
                    .base_delay(Duration::from_millis(base_ms))
                    .max_delay(Duration::from_millis(max_delay_ms))
                    .max_total(Duration::from_millis(max_total_ms));
                let get = Method::GET;
                let attempt = Attempt {
                    elapsed: Duration::from_millis(elapsed_ms),
                    ..attempt(retries.min(u32::MAX - 1), &get)
                };
                let cause = RetryCause::Status {
                    status: StatusCode::from_u16(code).unwrap(),
                    retry_after: HeaderValue::from_bytes(&text).ok(),
                };
                for cause in [cause, RetryCause::ConnectFailed] {
                    if let Some(delay) = retry_delay(&policy, &attempt, &cause, jitter, now) {
                        prop_assert!(delay <= policy.max_delay, "{delay:?}");
                        let start = attempt.elapsed.checked_add(delay);
                        prop_assert!(start.is_some_and(|s| s <= policy.max_total));
                    }
                }
            }
        }
    }
}
