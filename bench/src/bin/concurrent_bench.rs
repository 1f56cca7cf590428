//! The driver of the concurrent-GET benchmark (issue 6); `bench/run-concurrent-bench.sh` runs
//! it. Each client runs as its own binary (`concurrent_envoi`, `concurrent_reqwest`,
//! `concurrent_hyper`; see `src/concurrent/harness.rs`); this one does the rest:
//!
//! ```text
//! concurrent_bench wrk --tag TAG [--stub URL] -- wrk ARGS...   (wrk as the ceiling)
//! concurrent_bench port                                        (a free loopback port)
//! concurrent_bench report RESULTS-FILE                         (Markdown tables)
//! ```

#[path = "../concurrent/harness.rs"]
mod harness;
#[path = "../client/measure.rs"]
mod measure;
#[path = "../concurrent/report.rs"]
mod report;
#[path = "../results.rs"]
mod results;

use std::process::{Command, ExitCode};

use measure::{load1, Flags, Result, Usage};

const USAGE: &str = "usage:
  concurrent_bench wrk --tag T [--stub URL] -- wrk [ARGS...]
  concurrent_bench port
  concurrent_bench report FILE";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("wrk") => wrk(&args[1..]),
        Some("port") => results::print_free_port().map_err(Into::into),
        Some("report") => match args.get(1) {
            Some(path) => report::print(path),
            None => Err(USAGE.into()),
        },
        _ => Err(USAGE.into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("concurrent_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs wrk to its end and reports its request count over its own duration, its CPU time
/// (this process's children's rusage) and peak RSS as a `RESULT` line.
fn wrk(args: &[String]) -> Result<()> {
    let split = args
        .iter()
        .position(|a| a == "--")
        .ok_or("wrk needs -- COMMAND")?;
    let flags = Flags::parse(&args[..split])?;
    let command = &args[split + 1..];
    let program = command.first().ok_or("wrk needs a command")?;
    let stub = flags.get("stub");
    let before = stub.map(measure::accepts).transpose()?;
    let usage = Usage::now(libc::RUSAGE_CHILDREN);
    let output = Command::new(program)
        .args(&command[1..])
        .stderr(std::process::Stdio::inherit())
        .output()?;
    let fields = usage.fields_since(libc::RUSAGE_CHILDREN);
    let after = stub.map(measure::accepts).transpose()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprint!("{stdout}");
    if !output.status.success() {
        return Err(format!("{program} failed: {}", output.status).into());
    }
    if stdout.contains("Socket errors") || stdout.contains("Non-2xx") {
        return Err(format!("wrk saw errors:\n{stdout}").into());
    }
    // "  123456 requests in 10.00s, 30.00MB read"
    let line = stdout
        .lines()
        .find(|l| l.contains(" requests in "))
        .ok_or("no request count in wrk's output")?;
    let mut words = line.split_whitespace();
    let count: u64 = words.next().unwrap_or("").parse()?;
    let secs: f64 = words
        .nth(2)
        .unwrap_or("")
        .trim_end_matches([',', 's'])
        .parse()?;
    let conns = match (before, after) {
        (Some(b), Some(a)) => (a - b - 1).to_string(),
        _ => "?".to_owned(),
    };
    // SAFETY: an all-zero rusage is valid; getrusage writes into it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_CHILDREN is valid.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    println!(
        "RESULT tag={} client=wrk count={count} wrk_secs={secs} conns={conns} {fields} \
         hwm_kib={} load1={}",
        flags.need("tag")?,
        ru.ru_maxrss,
        load1()
    );
    Ok(())
}
