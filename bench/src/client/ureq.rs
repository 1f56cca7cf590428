//! ureq 3 with its default features (rustls on ring, gzip: it always asks for gzip and
//! decodes it, so `download` and `decode` differ only in what nginx sends).

use std::sync::Arc;
use std::time::Duration;

use crate::common::{check_len, drain, until, Client, Decoded, Pattern, Result, Trust};

pub struct Ureq {
    agent: ureq::Agent,
}

impl Ureq {
    pub fn new(trust: &Trust) -> Result<Ureq> {
        let mut config = ureq::Agent::config_builder();
        if let Some(pem) = &trust.pem {
            use ureq::tls::{PemItem, RootCerts, TlsConfig};
            let mut certs = Vec::new();
            for item in ureq::tls::parse_pem(pem) {
                if let PemItem::Certificate(cert) = item? {
                    certs.push(cert);
                }
            }
            let tls = TlsConfig::builder()
                .root_certs(RootCerts::Specific(Arc::new(certs)))
                .build();
            config = config.tls_config(tls);
        }
        Ok(Ureq {
            agent: config.build().into(),
        })
    }
}

impl Client for Ureq {
    fn get_loop(&mut self, url: &str, secs: Duration, expect: usize) -> Result<u64> {
        until(secs, || {
            let body = self.agent.get(url).call()?.body_mut().read_to_vec()?;
            check_len(body.len(), expect)
        })
    }

    fn download(&mut self, url: &str, buf: &mut [u8]) -> Result<u64> {
        let mut response = self.agent.get(url).call()?;
        drain(&mut response.body_mut().as_reader(), buf)
    }

    fn upload(&mut self, url: &str, len: u64) -> Result<String> {
        let mut response = self
            .agent
            .post(url)
            .header("content-length", len.to_string())
            .send(ureq::SendBody::from_owned_reader(Pattern::new(len)))?;
        Ok(response.body_mut().read_to_string()?)
    }

    fn decode(&mut self, url: &str, buf: &mut [u8]) -> Result<Decoded> {
        let mut response = self.agent.get(url).call()?;
        // ureq strips Content-Encoding from a body it decodes and counts no encoded bytes.
        let bytes = drain(&mut response.body_mut().as_reader(), buf)?;
        Ok(Decoded {
            bytes,
            wire: None,
            encoding: None,
        })
    }
}
