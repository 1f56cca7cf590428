//! envoi's `AsyncClient` under 64 concurrent GETs (issue 6); the harness is
//! `src/concurrent/harness.rs`, the driver `bench/run-concurrent-bench.sh`.
//!
//! The pool is opened to the benchmark's concurrency: `max_connections_per_host(tasks)` and
//! `pool_max_idle_per_host(tasks)` (envoi keeps at most 16 idle connections per host by
//! default, so with 64 tasks most connections would be closed after each response and
//! opened again; `--idle N` sets another idle limit to see that). No decompression.

#[path = "../concurrent/harness.rs"]
mod harness;
#[path = "../client/measure.rs"]
mod measure;

use harness::{Getter, Settings};
use measure::{Flags, Result};

#[derive(Clone)]
struct Envoi(envoi::AsyncClient);

impl Getter for Envoi {
    /// Parsed once, as hyper-util's `Uri` is: each request clones it.
    type Target = envoi::Url;

    fn target(url: &str) -> Result<envoi::Url> {
        Ok(envoi::Url::parse(url)?)
    }

    async fn get(&self, url: &envoi::Url) -> Result<usize> {
        let response = self.0.get(url).send().await?;
        if response.status() != 200 {
            return Err(format!("status {}", response.status()).into());
        }
        Ok(response.bytes().await?.len())
    }
}

fn make(flags: &Flags, settings: &Settings) -> Result<Envoi> {
    let idle = flags.num("idle", settings.tasks as f64)? as usize;
    let client = envoi::AsyncClient::builder()
        .decompress(false)
        .max_connections_per_host(settings.tasks)
        .pool_max_idle_per_host(idle)
        .build_async()?;
    Ok(Envoi(client))
}

fn main() -> std::process::ExitCode {
    if std::env::var_os("CONCURRENT_BENCH_SIZES").is_some() {
        // Diagnostics: how many bytes a request's future holds (moved into `execute`'s box).
        let client = envoi::AsyncClient::new().expect("a client");
        let send = client.get("http://127.0.0.1/").send();
        eprintln!("send() future: {} bytes", std::mem::size_of_val(&send));
        let request =
            envoi::Request::new(http::Method::GET, "http://127.0.0.1/").expect("a request");
        let execute = client.execute(&request);
        eprintln!(
            "execute() future: {} bytes",
            std::mem::size_of_val(&execute)
        );
    }
    harness::main("envoi", make)
}
