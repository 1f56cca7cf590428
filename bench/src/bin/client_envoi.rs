//! envoi's blocking client, measured by the client benchmark harness (`src/client/run.rs`); driven by
//! `bench/run-client-bench.sh`.

#[path = "../client/common.rs"]
mod common;
#[path = "../client/envoi.rs"]
mod imp;
#[path = "../client/measure.rs"]
mod measure;
#[path = "../client/run.rs"]
mod run;

fn main() -> std::process::ExitCode {
    // Built with envoi's default features, or with `gzip` only (run-client-bench.sh's
    // `envoi-gzip`, as ureq's defaults are): the results say which.
    let name = if cfg!(feature = "envoi-all") {
        "envoi"
    } else {
        "envoi-gzip"
    };
    run::main(name, |trust| Ok(Box::new(imp::Envoi::new(trust)?)))
}
