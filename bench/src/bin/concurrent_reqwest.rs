//! reqwest's async `Client` under 64 concurrent GETs (issue 6); the harness is
//! `src/concurrent/harness.rs`, the driver `bench/run-concurrent-bench.sh`.
//!
//! reqwest's defaults: no limit on connections or idle connections per host, Nagle off. Built
//! with `rustls-no-provider` (no gzip is asked for: `gzip` is a feature of the crate, but the
//! client is built with `.gzip(false)`) and ring installed as rustls' process default, as the
//! other client benchmarks do; this plain-http run makes no TLS connection.

#[path = "../concurrent/harness.rs"]
mod harness;
#[path = "../client/measure.rs"]
mod measure;

use harness::{Getter, Settings};
use measure::{Flags, Result};

#[derive(Clone)]
struct Reqwest(reqwest::Client);

impl Getter for Reqwest {
    type Target = reqwest::Url;

    fn target(url: &str) -> Result<reqwest::Url> {
        Ok(url.parse()?)
    }

    async fn get(&self, url: &reqwest::Url) -> Result<usize> {
        let response = self.0.get(url.clone()).send().await?;
        if response.status() != 200 {
            return Err(format!("status {}", response.status()).into());
        }
        Ok(response.bytes().await?.len())
    }
}

fn make(_: &Flags, _: &Settings) -> Result<Reqwest> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(Reqwest(reqwest::Client::builder().gzip(false).build()?))
}

fn main() -> std::process::ExitCode {
    harness::main("reqwest", make)
}
