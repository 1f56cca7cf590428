//! hyper-util's legacy client under 64 concurrent GETs (issue 6); the harness is
//! `src/concurrent/harness.rs`, the driver `bench/run-concurrent-bench.sh`.
//!
//! Plain http only: an `HttpConnector` with Nagle off (hyper-util leaves it on; envoi and
//! reqwest turn it off), hyper-util's default pool (no limit on idle connections per host),
//! bodies collected whole with `http-body-util`.

#[path = "../concurrent/harness.rs"]
mod harness;
#[path = "../client/measure.rs"]
mod measure;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use harness::{Getter, Settings};
use measure::{Flags, Result};

#[derive(Clone)]
struct Hyper(Client<HttpConnector, Empty<Bytes>>);

impl Getter for Hyper {
    type Target = hyper::Uri;

    fn target(url: &str) -> Result<hyper::Uri> {
        Ok(url.parse()?)
    }

    async fn get(&self, uri: &hyper::Uri) -> Result<usize> {
        let response = self.0.get(uri.clone()).await?;
        if response.status() != 200 {
            return Err(format!("status {}", response.status()).into());
        }
        Ok(response.into_body().collect().await?.to_bytes().len())
    }
}

fn make(_: &Flags, _: &Settings) -> Result<Hyper> {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    Ok(Hyper(Client::builder(TokioExecutor::new()).build(http)))
}

fn main() -> std::process::ExitCode {
    harness::main("hyper", make)
}
