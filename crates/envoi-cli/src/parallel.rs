//! `-Z`/`--parallel`: the transfers of a group run at the same time, at most
//! `--parallel-max` (default 50, as curl) at once, as tasks of envoi's async client on one
//! tokio runtime. They share the group's client, and so its connection pool.
//!
//! A transfer here is the same as a serial one (`transfer`): it is prepared, judged and
//! written by the same code; only sending, reading and waiting are awaited. Outputs are
//! written in the task, as curl writes them in its one thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use envoi::AsyncClient;

use crate::error::CliError;
use crate::exit_code;
use crate::plan::TransferSpec;
use crate::transfer::{self, answer_of, BodyCopy, GroupContext, Prepared};
use crate::writeout::Report;

/// curl's default `--parallel-max`.
pub const DEFAULT_PARALLEL_MAX: usize = 50;
/// curl's upper bound for `--parallel-max`.
pub const MAX_PARALLEL: usize = 300;

/// Runs every transfer of the group, up to `max` at once; returns the exit codes in
/// command-line order.
pub fn run_all(ctx: &Arc<GroupContext>, client: AsyncClient, max: usize) -> Vec<u8> {
    let count = ctx.group.transfers.len();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let error = CliError::code(
                exit_code::FAILED_INIT,
                format!("cannot start the parallel transfers: {e}"),
            );
            error.report(ctx.quiet_errors());
            return vec![error.exit_code(); count];
        }
    };
    let workers = max.clamp(1, MAX_PARALLEL).min(count.max(1));
    let next = Arc::new(AtomicUsize::new(0));
    let codes = Arc::new(Mutex::new(vec![0u8; count]));
    runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..workers {
            let (ctx, client) = (ctx.clone(), client.clone());
            let (next, codes) = (next.clone(), codes.clone());
            tasks.spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(spec) = ctx.group.transfers.get(i) else {
                        break;
                    };
                    let code = run(&ctx, &client, spec).await;
                    codes.lock().unwrap_or_else(|e| e.into_inner())[i] = code;
                }
            });
        }
        while tasks.join_next().await.is_some() {}
    });
    let codes = codes.lock().unwrap_or_else(|e| e.into_inner());
    codes.clone()
}

/// Runs one transfer to its end over the async client; returns its exit code.
async fn run(ctx: &GroupContext, client: &AsyncClient, spec: &TransferSpec) -> u8 {
    let start = Instant::now();
    let mut report = Report::for_transfer(spec);
    let result = transfer(ctx, client, spec, &mut report).await;
    transfer::conclude(ctx, report, start, &result)
}

async fn transfer(
    ctx: &GroupContext,
    client: &AsyncClient,
    spec: &TransferSpec,
    report: &mut Report,
) -> Result<(), CliError> {
    let prepared = Prepared::new(ctx, spec, report)?;
    let sent = client.execute(&prepared.request).await;
    let mut response = prepared.answered(ctx, sent, report)?;
    let mut copy = BodyCopy::start(ctx, &prepared, &answer_of!(response), report)?;
    let mut buf = vec![0u8; copy.buffer_len()];
    while copy.wants_more() {
        let n = response
            .read_body(&mut buf)
            .await
            .map_err(|e| copy.read_failed(&e))?;
        if let Some(wait) = copy.take(&buf[..n], report)? {
            tokio::time::sleep(wait).await;
        }
    }
    copy.finish()
}
