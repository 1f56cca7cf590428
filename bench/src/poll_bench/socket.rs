//! The control: the same download from a bare non-blocking `std::net::TcpStream`, every body
//! read into one reused buffer (no HTTP client at all). The request goes out and the response
//! head is read in blocking mode first (not timed per call); the body is read without
//! blocking, so whatever the kernel does inside `read(2)` (copying, and on loopback the
//! sender's segments that a window update lets through, processed in the reader's softirq)
//! shows up here exactly as it does under envoi.

use std::io::{self, Read, Write};
use std::net::TcpStream;

use crate::frame::target;
use crate::measure::Result;

/// A connection whose response head has been read.
pub struct Body {
    pub stream: TcpStream,
    /// Body bytes that came with the head.
    pub early: u64,
    pub length: u64,
}

pub fn open(url: &str) -> Result<Body> {
    let t = target(url)?;
    let mut stream = TcpStream::connect((t.host.as_str(), t.port))?;
    stream.set_nodelay(true)?;
    write!(
        stream,
        "GET {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: poll_bench\r\n\r\n",
        t.path, t.host, t.port
    )?;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err("the connection closed before the response head".into());
        }
        head.extend_from_slice(&buf[..n]);
        let mut fields = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut fields);
        if let httparse::Status::Complete(len) = response.parse(&head)? {
            if response.code != Some(200) {
                return Err(format!("status {:?}", response.code).into());
            }
            let length = response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
                .ok_or("no Content-Length")?;
            stream.set_nonblocking(true)?;
            return Ok(Body {
                stream,
                early: (head.len() - len) as u64,
                length,
            });
        }
    }
}

/// One non-blocking read: `Some(n)` bytes (0 at the end of the stream), `None` for nothing
/// yet.
#[inline(always)]
pub fn read(stream: &mut TcpStream, buf: &mut [u8]) -> Result<Option<usize>> {
    match stream.read(buf) {
        Ok(n) => Ok(Some(n)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}
