//! ureq 3, measured by the client benchmark harness (`src/client/run.rs`); driven by
//! `bench/run-client-bench.sh`.

#[path = "../client/common.rs"]
mod common;
#[path = "../client/ureq.rs"]
mod imp;
#[path = "../client/measure.rs"]
mod measure;
#[path = "../client/run.rs"]
mod run;

fn main() -> std::process::ExitCode {
    run::main("ureq", |trust| Ok(Box::new(imp::Ureq::new(trust)?)))
}
