//! Per-sample timing on a shared machine.
//!
//! Builds and tests of other engineers run beside this benchmark on two cores, so a sample's
//! wall-clock time includes whatever stretches the scheduler gave to them. The thread's CPU
//! time does not: every case here is single-threaded (hyper's runtime is current-thread), so
//! it is the time the case itself ran. Interference through shared caches and memory
//! bandwidth remains, and shows as spread. Both are recorded; `--wall` ranks by wall clock.

use std::time::{Duration, Instant};

pub struct Stamp {
    wall: Instant,
    cpu: Duration,
}

/// One sample's duration on both clocks.
pub struct Elapsed {
    pub wall: Duration,
    pub cpu: Duration,
}

impl Stamp {
    pub fn now() -> Stamp {
        Stamp {
            wall: Instant::now(),
            cpu: thread_cpu_time(),
        }
    }

    pub fn elapsed(&self) -> Elapsed {
        let cpu = thread_cpu_time();
        Elapsed {
            wall: self.wall.elapsed(),
            cpu: cpu.saturating_sub(self.cpu),
        }
    }
}

fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call, and
    // CLOCK_THREAD_CPUTIME_ID is a clock every Linux since 2.6.12 provides.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}
