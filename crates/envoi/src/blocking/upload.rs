//! A request body written by the caller after the head went out (WinHTTP's
//! `WinHttpWriteData`), with a known total length or chunked.

use std::io::{self, Write};

use url::Url;

use super::transfer::Transfer;
use super::Response;
use crate::error::Error;
use crate::event::EventSink;

/// The body of a request in flight. Write the body, then call [`finish`](Self::finish) for the
/// response. Writing more than a declared length, or finishing with less, is an error;
/// dropping an unfinished upload closes its connection.
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
    url: Url,
}

impl Upload {
    pub(crate) fn new(transfer: Transfer, sink: EventSink, url: Url) -> Self {
        Upload {
            transfer,
            sink,
            url,
        }
    }

    /// Sends a piece of the body.
    pub fn send(&mut self, data: &[u8]) -> Result<(), Error> {
        if data.is_empty() {
            return Ok(());
        }
        self.transfer
            .write_body(data)
            .map_err(|e| e.with_url(&self.url))
    }

    /// Ends the body and waits for the response head.
    pub fn finish(mut self) -> Result<Response, Error> {
        let url = self.url.clone();
        self.transfer
            .finish_body(&mut self.sink)
            .map_err(|e| e.with_url(&url))?;
        let head = self
            .transfer
            .receive_head(&mut self.sink)
            .map_err(|e| e.with_url(&url))?;
        Ok(self.transfer.into_response(head, &self.sink, url))
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
