//! Per-call timing: the wall-clock time of every call (`CLOCK_MONOTONIC`, as `Instant`) and
//! the CPU time the calling thread spent in it (`CLOCK_THREAD_CPUTIME_ID`), kept whole so
//! the tail can be read afterwards. On a shared 2-core machine a call can be descheduled half
//! way: its wall time then grows while its CPU time does not. The longest calls are logged
//! with their start on `CLOCK_MONOTONIC`, the clock `perf record -k mono` stamps samples
//! with, so a profile's samples inside them can be picked out.

/// Nanoseconds of CPU time this thread has used.
pub fn thread_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// Nanoseconds on `CLOCK_MONOTONIC`.
fn monotonic_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    // SAFETY: an all-zero timespec is a valid value; clock_gettime only writes into it.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `ts` is valid and writable, and both callers pass a valid clock.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime({clock}) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The durations of every call of one kind, in nanoseconds (saturating at ~4.3 s).
pub struct Calls {
    name: &'static str,
    wall: Vec<u32>,
    cpu: Vec<u32>,
    /// When each call started, `CLOCK_MONOTONIC` ns.
    start: Vec<u64>,
}

fn ns(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl Calls {
    pub fn new(name: &'static str, capacity: usize) -> Calls {
        Calls {
            name,
            wall: Vec::with_capacity(capacity),
            cpu: Vec::with_capacity(capacity),
            start: Vec::with_capacity(capacity),
        }
    }

    /// Runs `f`, recording its wall and thread CPU time. The CPU clock is read outside the
    /// wall clock, so the wall time holds only the call and one clock read.
    #[inline(always)]
    pub fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let cpu0 = thread_cpu_ns();
        let wall0 = monotonic_ns();
        let out = f();
        let wall = monotonic_ns().saturating_sub(wall0);
        let cpu = thread_cpu_ns().saturating_sub(cpu0);
        self.wall.push(ns(wall));
        self.cpu.push(ns(cpu));
        self.start.push(wall0);
        out
    }

    /// `key=value` fields: count, wall median/p99/p99.9/max, calls over 1 ms in wall time
    /// and in CPU time, the same percentiles of CPU time, and the CPU time of the call with
    /// the longest wall time (and the wall time of the one with the most CPU time).
    pub fn fields(&self) -> String {
        let n = self.wall.len();
        if n == 0 {
            return format!("call={} n=0", self.name);
        }
        let (wall, cpu) = (sorted(&self.wall), sorted(&self.cpu));
        let worst_wall = argmax(&self.wall);
        let worst_cpu = argmax(&self.cpu);
        let over = |v: &[u32]| v.iter().filter(|&&x| x > 1_000_000).count();
        // Over 1 ms of wall time while under 1 ms of CPU: the thread was off the CPU.
        let preempted = self
            .wall
            .iter()
            .zip(&self.cpu)
            .filter(|(&w, &c)| w > 1_000_000 && c <= 1_000_000)
            .count();
        let total_wall: u64 = self.wall.iter().map(|&x| u64::from(x)).sum();
        format!(
            "call={} n={n} wall_sum_ns={total_wall} \
             wall_p50={} wall_p99={} wall_p999={} wall_max={} wall_over_1ms={} \
             cpu_p50={} cpu_p99={} cpu_p999={} cpu_max={} cpu_over_1ms={} \
             worst_wall_cpu={} worst_cpu_wall={} preempted_over_1ms={preempted}",
            self.name,
            pct(&wall, 0.5),
            pct(&wall, 0.99),
            pct(&wall, 0.999),
            wall[n - 1],
            over(&self.wall),
            pct(&cpu, 0.5),
            pct(&cpu, 0.99),
            pct(&cpu, 0.999),
            cpu[n - 1],
            over(&self.cpu),
            self.cpu[worst_wall],
            self.wall[worst_cpu],
        )
    }

    /// The `k` longest calls by wall time, as `index@start:wall/cpu` in ns (for the log).
    pub fn worst(&self, k: usize) -> String {
        let mut idx: Vec<usize> = (0..self.wall.len()).collect();
        idx.sort_by_key(|&i| std::cmp::Reverse(self.wall[i]));
        idx.iter()
            .take(k)
            .map(|&i| format!("#{i}@{}:{}/{}", self.start[i], self.wall[i], self.cpu[i]))
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn sorted(v: &[u32]) -> Vec<u32> {
    let mut s = v.to_vec();
    s.sort_unstable();
    s
}

fn argmax(v: &[u32]) -> usize {
    v.iter()
        .enumerate()
        .max_by_key(|(_, &x)| x)
        .map_or(0, |(i, _)| i)
}

/// The nearest-rank percentile of sorted values.
fn pct(sorted: &[u32], p: f64) -> u32 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
