//! envoi's blocking client, as its documentation shows it: one `Client`, `get(url).send()`,
//! the body read with `bytes()` or `read_body` into the caller's buffer. Decompression is
//! off except for `decode`, which uses a second client with envoi's default (on).
//!
//! For profiling only, `ENVOI_BENCH_READ_BODY=1` reads each small body with `read_body` into
//! a 1 KiB stack buffer instead of `bytes()` (the tables always use `bytes()`), and
//! `ENVOI_BENCH_BUSY_POLL_US=N` sets the client's busy-poll budget (the tables use the default).

use std::time::Duration;

use crate::common::{check_len, content_encoding, until, Client, Decoded, Pattern, Result, Trust};

pub struct Envoi {
    client: envoi::blocking::Client,
    /// The client with decompression on (envoi's default), made by `prepare_decode`.
    decoding: Option<envoi::blocking::Client>,
    pem: Option<Vec<u8>>,
}

impl Envoi {
    pub fn new(trust: &Trust) -> Result<Envoi> {
        Ok(Envoi {
            client: Envoi::build(false, trust.pem.as_deref())?,
            decoding: None,
            pem: trust.pem.clone(),
        })
    }

    fn build(decompress: bool, pem: Option<&[u8]>) -> Result<envoi::blocking::Client> {
        let mut builder = envoi::blocking::Client::builder();
        if let Ok(us) = std::env::var("ENVOI_BENCH_BUSY_POLL_US") {
            builder = builder.busy_poll(Duration::from_micros(us.parse()?));
        }
        if !decompress {
            builder = builder.decompress(false);
        }
        if let Some(pem) = pem {
            use envoi::tls::{Certificate, RootCertificates, TlsOptions};
            let tls = Certificate::from_pem(pem)?.into_iter().fold(
                TlsOptions::default().root_certificates(RootCertificates::OnlyAdded),
                TlsOptions::add_root_certificate,
            );
            builder = builder.tls(tls);
        }
        Ok(builder.build()?)
    }
}

impl Client for Envoi {
    fn get_loop(&mut self, url: &str, secs: Duration, expect: usize) -> Result<u64> {
        if std::env::var_os("ENVOI_BENCH_READ_BODY").is_some() {
            let mut buf = [0u8; 1024];
            return until(secs, || {
                let mut response = self.client.get(url).send()?;
                let mut len = 0;
                loop {
                    match response.read_body(&mut buf)? {
                        0 => break,
                        n => len += n,
                    }
                }
                check_len(len, expect)
            });
        }
        // Parsed once, as hyper's harness parses its `Uri` once; each request clones it.
        let url = envoi::Url::parse(url)?;
        until(secs, || {
            let body = self.client.get(&url).send()?.bytes()?;
            check_len(body.len(), expect)
        })
    }

    fn download(&mut self, url: &str, buf: &mut [u8]) -> Result<u64> {
        let mut response = self.client.get(url).send()?;
        let mut total = 0u64;
        loop {
            match response.read_body(buf)? {
                0 => return Ok(total),
                n => total += n as u64,
            }
        }
    }

    fn upload(&mut self, url: &str, len: u64) -> Result<String> {
        let body = envoi::Body::from_reader(Pattern::new(len), len);
        Ok(self.client.post(url).body(body).send()?.text()?)
    }

    fn prepare_decode(&mut self) -> Result<()> {
        self.decoding = Some(Envoi::build(true, self.pem.as_deref())?);
        Ok(())
    }

    fn decode(&mut self, url: &str, buf: &mut [u8]) -> Result<Decoded> {
        let client = self.decoding.as_ref().ok_or("prepare_decode first")?;
        let mut response = client.get(url).send()?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()).into());
        }
        let mut total = 0u64;
        loop {
            match response.read_body(buf)? {
                0 => break,
                n => total += n as u64,
            }
        }
        Ok(Decoded {
            bytes: total,
            // The decoded response loses Content-Encoding; the raw head keeps it.
            encoding: content_encoding(response.raw_head()),
            wire: Some(response.received_bytes()),
        })
    }
}
