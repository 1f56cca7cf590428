//! `-Z`/`--parallel`: the transfers of a group run at the same time, at most
//! `--parallel-max` (default 50, as curl) at once.
//!
//! envoi's async client is not built yet, so this uses threads over the blocking client:
//! the worker threads share the group's one client, and so its connection pool.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::transfer::{self, GroupContext};

/// curl's default `--parallel-max`.
pub const DEFAULT_PARALLEL_MAX: usize = 50;
/// curl's upper bound for `--parallel-max`.
pub const MAX_PARALLEL: usize = 300;

/// Runs every transfer of the group with up to `max` threads; returns the exit codes in
/// command-line order.
pub fn run_all(ctx: &GroupContext, max: usize) -> Vec<u8> {
    let count = ctx.group.transfers.len();
    let workers = max.clamp(1, MAX_PARALLEL).min(count.max(1));
    let next = AtomicUsize::new(0);
    let codes = Mutex::new(vec![0u8; count]);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(spec) = ctx.group.transfers.get(i) else {
                    break;
                };
                let code = transfer::run(ctx, spec);
                codes.lock().unwrap_or_else(|e| e.into_inner())[i] = code;
            });
        }
    });
    codes.into_inner().unwrap_or_else(|e| e.into_inner())
}
