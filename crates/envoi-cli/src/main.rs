//! `envoi`: a curl-compatible command-line HTTP client. Parse, run, exit.

mod app;
mod args;
mod argv;
mod client;
mod data;
mod error;
mod exit_code;
mod multipart;
mod output;
mod pace;
mod parallel;
mod plan;
mod policy;
mod progress;
mod serve;
mod trace;
mod transfer;
mod upload;
mod writeout;

#[cfg(test)]
mod docs_check;

use std::process::ExitCode;

fn main() -> ExitCode {
    let code = match app::parse(std::env::args_os().skip(1)) {
        Ok(groups) => app::run(groups),
        Err(e) => {
            e.report(false);
            e.exit_code()
        }
    };
    ExitCode::from(code)
}
