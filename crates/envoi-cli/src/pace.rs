//! `--limit-rate`: when the bytes moved so far are due, at the rate, from the start of the
//! transfer. Deciding is separate from waiting, so the blocking and async transfers sleep
//! each in their own way.

use std::time::{Duration, Instant};

/// The read size when the rate is not limited.
pub const BUFFER: usize = 256 * 1024;

/// A rate limit started at one instant. Downloads and uploads both keep it.
pub struct Pace {
    rate: u64,
    started: Instant,
}

impl Pace {
    /// A pace from now; `None` when there is no limit (absent or 0).
    pub fn new(rate: Option<u64>) -> Option<Pace> {
        rate.filter(|&r| r > 0).map(|rate| Pace {
            rate,
            started: Instant::now(),
        })
    }

    /// How long to wait before moving more, once `total` bytes have moved.
    pub fn due(&self, total: u64) -> Option<Duration> {
        let due = Duration::from_secs_f64(total as f64 / self.rate as f64);
        due.checked_sub(self.started.elapsed())
            .filter(|wait| !wait.is_zero())
    }

    /// Waits, on this thread, until `total` bytes are due.
    pub fn wait(&self, total: u64) {
        if let Some(wait) = self.due(total) {
            std::thread::sleep(wait);
        }
    }
}

/// Small reads when the rate is limited, so the pace is smooth.
pub fn rate_buffer(limit: Option<u64>) -> usize {
    match limit {
        Some(rate) if rate > 0 => (rate / 10).clamp(1024, BUFFER as u64) as usize,
        _ => BUFFER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_rates_read_small_pieces() {
        assert_eq!(rate_buffer(None), BUFFER);
        assert_eq!(rate_buffer(Some(100)), 1024);
        assert_eq!(rate_buffer(Some(100_000)), 10_000);
    }

    #[test]
    fn bytes_ahead_of_the_rate_wait_and_bytes_behind_it_do_not() {
        let pace = Pace::new(Some(1000)).unwrap();
        let wait = pace.due(2000).unwrap();
        assert!(wait > Duration::from_millis(1500) && wait <= Duration::from_secs(2));
        assert_eq!(pace.due(0), None);
        assert!(Pace::new(Some(0)).is_none());
        assert!(Pace::new(None).is_none());
    }
}
