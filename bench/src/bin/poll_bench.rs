//! The poll front end's benchmarks (issue 7); `bench/run-poll-bench.sh` runs them against its
//! own nginx.
//!
//! ```text
//! poll_bench frame --api client|request|socket --url URL [--bytes N] [--fps 240] [--per-frame 64]
//!                  [--budget-us 2000] [--chunk 65536] [--download-file PATH] [--tag T]
//! poll_bench tight --client poll|blocking|socket --url URL [--bytes N] [--chunk N] [--tag T]
//! poll_bench port                                   (a free loopback port)
//! poll_bench report RESULTS-FILE                    (Markdown tables)
//! ```
//!
//! `frame` times every `poll()` and `read_response_body_chunk()` call of a download driven by
//! a frame loop (wall clock and thread CPU time); `tight` measures throughput with the poll
//! client spinning against envoi's blocking client. Each prints `RESULT key=value ...` lines.

#[path = "../poll_bench/calls.rs"]
mod calls;
#[path = "../poll_bench/frame.rs"]
mod frame;
#[path = "../client/measure.rs"]
mod measure;
#[path = "../poll_bench/report.rs"]
mod report;
#[path = "../results.rs"]
mod results;
#[path = "../poll_bench/socket.rs"]
mod socket;
#[path = "../poll_bench/tight.rs"]
mod tight;

use std::process::ExitCode;

use measure::Flags;

const USAGE: &str = "usage:
  poll_bench frame --api client|request|socket --url URL [--bytes N] [--fps F] [--per-frame N]
                   [--budget-us US] [--chunk N] [--download-file PATH] [--tag T]
  poll_bench tight --client poll|blocking|socket --url URL [--bytes N] [--chunk N] [--tag T]
  poll_bench port
  poll_bench report FILE";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("frame") => Flags::parse(&args[1..]).and_then(|f| frame::run(&f)),
        Some("tight") => Flags::parse(&args[1..]).and_then(|f| tight::run(&f)),
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
            eprintln!("poll_bench: {e}");
            ExitCode::FAILURE
        }
    }
}
