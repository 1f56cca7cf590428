//! A request body written by the caller after the head went out (WinHTTP's
//! `WinHttpWriteData`), with a known total length or chunked.

use std::io::{self, Write};

use std::time::SystemTime;

use super::response::BodyOptions;
use super::transfer::Transfer;
use super::Response;
use crate::error::Error;
use crate::event::EventSink;
use crate::exchange::Exchange;

/// The body of a request in flight. Write the body, then call [`finish`](Self::finish) for the
/// response. Writing more than a declared length, or finishing with less, is an error;
/// dropping an unfinished upload closes its connection. The response is delivered as it is:
/// cookies are stored and the body decoded, but a redirect or a challenge is not followed,
/// since the body was a one-shot stream.
///
/// ```no_run
/// use std::io::Write;
/// let client = envoi::blocking::Client::new()?;
/// let mut upload = client.post("http://127.0.0.1:8080/upload-sink").send_streaming(None)?;
/// upload.write_all(b"first piece, ")?;
/// upload.write_all(b"second piece")?;
/// let response = upload.finish()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Upload {
    transfer: Transfer,
    sink: EventSink,
    exchange: Exchange,
}

impl Upload {
    pub(crate) fn new(transfer: Transfer, sink: EventSink, exchange: Exchange) -> Self {
        Upload {
            transfer,
            sink,
            exchange,
        }
    }

    /// Sends a piece of the body.
    pub fn send(&mut self, data: &[u8]) -> Result<(), Error> {
        if data.is_empty() {
            return Ok(());
        }
        self.transfer
            .write_body(data)
            .map_err(|e| e.with_url(&self.exchange.request().url))
    }

    /// Ends the body and waits for the response head.
    pub fn finish(mut self) -> Result<Response, Error> {
        let url = self.exchange.request().url.clone();
        self.transfer
            .finish_body(&mut self.sink)
            .map_err(|e| e.with_url(&url))?;
        let head = self
            .transfer
            .receive_head(&mut self.sink)
            .map_err(|e| e.with_url(&url))?;
        let config = &self.transfer.client.config;
        config.store_cookies(&url, head.headers(), SystemTime::now());
        let body = BodyOptions {
            decoder: self.exchange.decoder(config, &head),
            limit: config.max_body_size,
            redirects: 0,
            cancel: self.exchange.request().cancel.clone(),
        };
        Ok(self.transfer.into_response(head, &self.sink, url, body))
    }
}

impl Write for Upload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf).map_err(io::Error::other)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
