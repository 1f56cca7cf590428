//! The harness of the concurrent-GET binaries (issue 6): `concurrent_NAME --url URL
//! [--tag T] [--secs S] [--warm S] [--tasks N] [--threads 1|2] [--expect N] [--stub URL]`.
//!
//! It builds one client (one connection pool), then runs `--tasks` tokio tasks that each GET
//! the URL again and again, reading every body whole and checking its length, first for an
//! untimed warm-up (which opens the connections) and then for `--secs`. The runtime is
//! tokio's multi-thread one with `--threads` workers (2 by default), or its current-thread
//! one with `--threads 1`. It prints one `RESULT key=value ...` line: requests completed,
//! wall-clock time, the process's CPU time over the timed part only (all threads), context
//! switches, peak RSS (`VmHWM` at the end), the load average, and with `--stub` the number
//! of connections nginx accepted during the warm-up and during the timed part.

// Shared by several binaries (`#[path]`); each uses a part.
#![allow(dead_code)]

use std::future::Future;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::measure::{accepts, load1, status_kib, BoxError, Flags, Result, Usage};

/// One client as every task uses it: cheap to clone, one pool behind all clones.
pub trait Getter: Clone + Send + Sync + 'static {
    /// The URL in the form the client takes it (parsed once, as its users would).
    type Target: Send + Sync + 'static;

    fn target(url: &str) -> Result<Self::Target>;

    /// GETs `target`, reads the whole body and returns its length; a status other than 200
    /// is an error.
    fn get(&self, target: &Self::Target) -> impl Future<Output = Result<usize>> + Send;
}

/// The settings every binary takes from the command line.
pub struct Settings {
    pub tasks: usize,
    pub threads: usize,
}

/// Runs the client `make` builds, as `name`, on the command line's work.
pub fn main<G: Getter>(name: &str, make: fn(&Flags, &Settings) -> Result<G>) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(name, make, &args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("concurrent_{name}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run<G: Getter>(
    name: &str,
    make: fn(&Flags, &Settings) -> Result<G>,
    args: &[String],
) -> Result<()> {
    let flags = Flags::parse(args)?;
    let url = flags.need("url")?;
    let tag = flags.get("tag").unwrap_or("concurrent");
    let secs = Duration::from_secs_f64(flags.num("secs", 10.0)?);
    let warm_secs = Duration::from_secs_f64(flags.num("warm", 0.5)?);
    let expect = flags.num("expect", 13.0)? as usize;
    let settings = Settings {
        tasks: flags.num("tasks", 64.0)? as usize,
        threads: flags.num("threads", 2.0)? as usize,
    };
    let stub = flags.get("stub");
    let runtime = match settings.threads {
        0 => return Err("--threads must be at least 1".into()),
        1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build()?,
    };
    let client = make(&flags, &settings)?;
    let target = Arc::new(G::target(url)?);

    let before_warm = stub.map(accepts).transpose()?;
    let warm = runtime.block_on(round(&client, &target, &settings, warm_secs, expect))?;
    let before = stub.map(accepts).transpose()?;
    let usage = Usage::now(libc::RUSAGE_SELF);
    let timed = runtime.block_on(round(&client, &target, &settings, secs, expect))?;
    let fields = usage.fields_since(libc::RUSAGE_SELF);
    let after = stub.map(accepts).transpose()?;
    // Each status request is one more accepted connection of its own.
    let conns = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) => (b - a - 1).to_string(),
        _ => "?".to_owned(),
    };
    let count: u64 = timed.iter().sum();
    println!(
        "RESULT tag={tag} client={name} threads={} tasks={} count={count} warm={} bytes={} \
         conns={} warm_conns={} task_min={} task_max={} {fields} hwm_kib={} load1={}",
        settings.threads,
        settings.tasks,
        warm.iter().sum::<u64>(),
        count * expect as u64,
        conns(before, after),
        conns(before_warm, before),
        timed.iter().min().unwrap_or(&0),
        timed.iter().max().unwrap_or(&0),
        status_kib("VmHWM:"),
        load1()
    );
    Ok(())
}

/// `settings.tasks` tasks GETting `target` until `secs` have passed; each finishes the
/// request it is in. Returns how many requests each task completed.
async fn round<G: Getter>(
    client: &G,
    target: &Arc<G::Target>,
    settings: &Settings,
    secs: Duration,
    expect: usize,
) -> Result<Vec<u64>> {
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..settings.tasks)
        .map(|_| {
            let (client, target, stop) = (client.clone(), target.clone(), stop.clone());
            tokio::spawn(async move {
                let mut count = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let len = client.get(&target).await?;
                    if len != expect {
                        return Err(format!("body of {len} bytes, expected {expect}").into());
                    }
                    count += 1;
                }
                Ok::<u64, BoxError>(count)
            })
        })
        .collect();
    tokio::time::sleep(secs).await;
    stop.store(true, Ordering::Relaxed);
    let mut counts = Vec::with_capacity(tasks.len());
    for task in tasks {
        counts.push(task.await??);
    }
    Ok(counts)
}
