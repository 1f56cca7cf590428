//! The driver of the client benchmarks (issue 4, "Speed and memory");
//! `bench/run-client-bench.sh` runs it. Each client runs as its own binary (`client_envoi`,
//! `client_ureq`, `client_reqwest`, `client_hyper`, `client_curl`; see `src/client/`); this
//! one does the rest:
//!
//! ```text
//! client_bench exec --tag TAG --client NAME -- COMMAND ARGS...   (wrk, cargo build)
//! client_bench port                                              (a free loopback port)
//! client_bench report RESULTS-FILE                               (Markdown tables)
//! ```

#[path = "../../client/measure.rs"]
mod measure;
mod report;

use std::process::{Command, ExitCode};

use measure::{load1, Flags, Result, Usage};

const USAGE: &str = "usage:
  client_bench exec --tag T --client NAME -- COMMAND [ARGS...]
  client_bench port
  client_bench report FILE";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("exec") => exec(&args[1..]),
        Some("port") => free_port(),
        Some("report") => match args.get(1) {
            Some(path) => report::print(path),
            None => Err(USAGE.into()),
        },
        _ => Err(USAGE.into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("client_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a command to its end and reports its wall and CPU time (its children's rusage) as a
/// `RESULT` line; for `wrk`, the request count is read from its output.
fn exec(args: &[String]) -> Result<()> {
    let split = args
        .iter()
        .position(|a| a == "--")
        .ok_or("exec needs -- COMMAND")?;
    let flags = Flags::parse(&args[..split])?;
    let command = &args[split + 1..];
    let program = command.first().ok_or("exec needs a command")?;
    let usage = Usage::now(libc::RUSAGE_CHILDREN);
    let output = Command::new(program)
        .args(&command[1..])
        .stderr(std::process::Stdio::inherit())
        .output()?;
    let fields = usage.fields_since(libc::RUSAGE_CHILDREN);
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprint!("{stdout}");
    if !output.status.success() {
        return Err(format!("{program} failed: {}", output.status).into());
    }
    let mut work = String::from("count=1");
    if program.ends_with("wrk") {
        // "  123456 requests in 5.00s, 30.00MB read"
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
        // wrk's own figure: its request count over its own duration.
        work = format!("count={count} wrk_secs={secs}");
        if stdout.contains("Socket errors") || stdout.contains("Non-2xx") {
            return Err(format!("wrk saw errors:\n{stdout}").into());
        }
    }
    // SAFETY: an all-zero rusage is valid; getrusage writes into it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_CHILDREN is valid.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    println!(
        "RESULT tag={} client={} {work} {fields} hwm_kib={} load1={}",
        flags.need("tag")?,
        flags.need("client")?,
        ru.ru_maxrss,
        load1()
    );
    Ok(())
}

/// A loopback port free at this instant.
fn free_port() -> Result<()> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    println!("{}", listener.local_addr()?.port());
    Ok(())
}
