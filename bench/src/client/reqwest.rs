//! reqwest's blocking client: a tokio runtime on a thread of its own behind the blocking
//! calls. Built with `rustls-no-provider` and ring installed as rustls' process default
//! (reqwest 0.13's `rustls` feature would bring aws-lc-rs).

use std::time::Duration;

use crate::common::{check_len, drain, install_ring, until, Client, Pattern, Result, Trust};

pub struct Reqwest {
    client: reqwest::blocking::Client,
}

impl Reqwest {
    pub fn new(trust: &Trust) -> Result<Reqwest> {
        install_ring();
        let mut builder = reqwest::blocking::Client::builder();
        if let Some(pem) = &trust.pem {
            builder = builder.tls_certs_only(reqwest::Certificate::from_pem_bundle(pem)?);
        }
        Ok(Reqwest {
            client: builder.build()?,
        })
    }
}

impl Client for Reqwest {
    fn get_loop(&mut self, url: &str, secs: Duration, expect: usize) -> Result<u64> {
        until(secs, || {
            let body = self.client.get(url).send()?.bytes()?;
            check_len(body.len(), expect)
        })
    }

    fn download(&mut self, url: &str, buf: &mut [u8]) -> Result<u64> {
        let mut response = self.client.get(url).send()?.error_for_status()?;
        drain(&mut response, buf)
    }

    fn upload(&mut self, url: &str, len: u64) -> Result<String> {
        let body = reqwest::blocking::Body::sized(Pattern::new(len), len);
        Ok(self.client.post(url).body(body).send()?.text()?)
    }
}
