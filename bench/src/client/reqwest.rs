//! reqwest's blocking client: a tokio runtime on a thread of its own behind the blocking
//! calls. Built with `rustls-no-provider` and ring installed as rustls' process default
//! (reqwest 0.13's `rustls` feature would bring aws-lc-rs). Built with the `gzip` feature:
//! the client of `get`, `download` and `upload` turns it off (`no_gzip()`); `decode` uses a
//! second one that keeps it on, which replaces the first (and its runtime thread).

use std::time::Duration;

use crate::common::{
    check_len, drain, install_ring, until, Client, Decoded, Pattern, Result, Trust,
};

pub struct Reqwest {
    client: reqwest::blocking::Client,
    /// True once `prepare_decode` made `client` one that decodes gzip.
    decoding: bool,
    pem: Option<Vec<u8>>,
}

impl Reqwest {
    pub fn new(trust: &Trust) -> Result<Reqwest> {
        install_ring();
        Ok(Reqwest {
            client: Reqwest::build(false, trust.pem.as_deref())?,
            decoding: false,
            pem: trust.pem.clone(),
        })
    }

    fn build(gzip: bool, pem: Option<&[u8]>) -> Result<reqwest::blocking::Client> {
        let mut builder = reqwest::blocking::Client::builder();
        if !gzip {
            builder = builder.no_gzip();
        }
        if let Some(pem) = pem {
            builder = builder.tls_certs_only(reqwest::Certificate::from_pem_bundle(pem)?);
        }
        Ok(builder.build()?)
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

    fn prepare_decode(&mut self) -> Result<()> {
        // The plain client (and its runtime thread) goes; only one runs, as in other modes.
        self.client = Reqwest::build(true, self.pem.as_deref())?;
        self.decoding = true;
        Ok(())
    }

    fn decode(&mut self, url: &str, buf: &mut [u8]) -> Result<Decoded> {
        if !self.decoding {
            return Err("prepare_decode first".into());
        }
        let mut response = self.client.get(url).send()?.error_for_status()?;
        // reqwest strips Content-Encoding from a body it decodes and counts no encoded bytes.
        let bytes = drain(&mut response, buf)?;
        Ok(Decoded {
            bytes,
            wire: None,
            encoding: None,
        })
    }
}
