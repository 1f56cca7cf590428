//! hyper-util's legacy client on a current-thread tokio runtime, measured by the client benchmark harness (`src/client/run.rs`); driven by
//! `bench/run-client-bench.sh`.

#[path = "../client/common.rs"]
mod common;
#[path = "../client/hyper.rs"]
mod imp;
#[path = "../client/measure.rs"]
mod measure;
#[path = "../client/run.rs"]
mod run;

fn main() -> std::process::ExitCode {
    run::main("hyper", |trust| Ok(Box::new(imp::Hyper::new(trust)?)))
}
