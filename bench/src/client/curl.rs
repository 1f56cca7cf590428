//! libcurl through the `curl` crate: one easy handle reused, so its connection is kept.

use std::time::Duration;

use crate::common::{check_len, until, Client, Decoded, Pattern, Result, Trust};

/// What the easy handle does with the bytes it moves.
struct Handler {
    /// Small bodies are collected here (cleared per request).
    collected: Vec<u8>,
    collect: bool,
    received: u64,
    upload: Pattern,
    /// The Content-Encoding of the last response, when `watch` is on (the decode mode).
    encoding: Option<String>,
    watch: bool,
}

impl curl::easy::Handler for Handler {
    fn write(&mut self, data: &[u8]) -> std::result::Result<usize, curl::easy::WriteError> {
        self.received += data.len() as u64;
        if self.collect {
            self.collected.extend_from_slice(data);
        }
        Ok(data.len())
    }

    fn read(&mut self, data: &mut [u8]) -> std::result::Result<usize, curl::easy::ReadError> {
        use std::io::Read;
        Ok(self.upload.read(data).unwrap_or(0))
    }

    fn header(&mut self, data: &[u8]) -> bool {
        if self.watch {
            if data.starts_with(b"HTTP/") {
                self.encoding = None; // a new response head
            } else if let Some(value) = crate::common::content_encoding(data) {
                self.encoding = Some(value);
            }
        }
        true
    }
}

pub struct Curl {
    easy: curl::easy::Easy2<Handler>,
}

impl Curl {
    pub fn new(trust: &Trust) -> Result<Curl> {
        let mut easy = curl::easy::Easy2::new(Handler {
            collected: Vec::new(),
            collect: false,
            received: 0,
            upload: Pattern::new(0),
            encoding: None,
            watch: false,
        });
        if let Some(path) = &trust.path {
            easy.cainfo(path)?;
        }
        Ok(Curl { easy })
    }

    fn status(&mut self) -> Result<()> {
        match self.easy.response_code()? {
            200..=299 => Ok(()),
            code => Err(format!("status {code}").into()),
        }
    }
}

impl Client for Curl {
    fn get_loop(&mut self, url: &str, secs: Duration, expect: usize) -> Result<u64> {
        self.easy.url(url)?;
        self.easy.get(true)?;
        self.easy.get_mut().collect = true;
        until(secs, || {
            self.easy.get_mut().collected.clear();
            self.easy.perform()?;
            check_len(self.easy.get_ref().collected.len(), expect)
        })
    }

    fn download(&mut self, url: &str, _buf: &mut [u8]) -> Result<u64> {
        self.easy.url(url)?;
        self.easy.get(true)?;
        self.easy.get_mut().collect = false;
        self.easy.get_mut().received = 0;
        self.easy.perform()?;
        self.status()?;
        Ok(self.easy.get_ref().received)
    }

    fn upload(&mut self, url: &str, len: u64) -> Result<String> {
        self.easy.url(url)?;
        self.easy.post(true)?;
        self.easy.post_field_size(len)?;
        // curl would wait for `100 Continue` before a large body; the other clients do not.
        let mut headers = curl::easy::List::new();
        headers.append("Expect:")?;
        self.easy.http_headers(headers)?;
        let handler = self.easy.get_mut();
        handler.upload = Pattern::new(len);
        handler.collect = true;
        handler.collected.clear();
        self.easy.perform()?;
        self.status()?;
        Ok(String::from_utf8_lossy(&self.easy.get_ref().collected).into_owned())
    }

    fn prepare_decode(&mut self) -> Result<()> {
        // libcurl sends `Accept-Encoding: gzip` and decodes (zlib) before the write callback.
        self.easy.accept_encoding("gzip")?;
        self.easy.get_mut().watch = true;
        Ok(())
    }

    fn decode(&mut self, url: &str, _buf: &mut [u8]) -> Result<Decoded> {
        self.easy.url(url)?;
        self.easy.get(true)?;
        let handler = self.easy.get_mut();
        handler.collect = false;
        handler.received = 0;
        handler.encoding = None;
        self.easy.perform()?;
        self.status()?;
        Ok(Decoded {
            bytes: self.easy.get_ref().received,
            // CURLINFO_SIZE_DOWNLOAD: body bytes as received, before decoding.
            wire: Some(self.easy.download_size()? as u64),
            encoding: self.easy.get_ref().encoding.clone(),
        })
    }
}
