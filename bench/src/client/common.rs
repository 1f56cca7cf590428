//! What every client binary shares: the work each client does, its upload source and the
//! small helpers. Each client is used the way its documentation shows, one client (one
//! connection pool) per process, one binary per client (`client_envoi`, `client_ureq`, ...),
//! so that no client's peak RSS includes another's libraries (libcurl alone maps ~30).
//!
//! Every client gets the same work: sequential GETs of a small file on one kept-alive
//! connection, one large download read through a caller's buffer, one upload streamed from a
//! `Read` of known length. No client decompresses in those (envoi's `decompress(false)`;
//! reqwest's `no_gzip()`; ureq asks for gzip, which nginx does not send there).
//!
//! The decode benchmark (`--mode decode`, `bench/run-decode-bench.sh`) is the exception: one
//! large gzip-encoded body, decoded transparently by the client (envoi with decompression on,
//! ureq's and reqwest's gzip, libcurl's `CURLOPT_ACCEPT_ENCODING`) and read through the
//! caller's buffer. hyper-util has no transparent decoding and is left out.

// Shared by several binaries (`#[path]`); each uses a part.
#![allow(dead_code)]

use std::io::Read;
use std::time::{Duration, Instant};

pub use crate::measure::Result;

/// What every peer does; the loops live in the client so that an async client keeps its
/// whole loop inside one runtime entry, as its users would write it.
pub trait Client {
    /// GETs `url` again and again for `secs`; each body must be `expect` bytes. Returns the
    /// number of requests made.
    fn get_loop(&mut self, url: &str, secs: Duration, expect: usize) -> Result<u64>;
    /// GETs `url` once and reads the body through `buf`, dropping it; returns its length.
    fn download(&mut self, url: &str, buf: &mut [u8]) -> Result<u64>;
    /// POSTs `len` bytes from a [`Pattern`] reader; returns the response body as text.
    fn upload(&mut self, url: &str, len: u64) -> Result<String>;
    /// Sets up what `decode` needs (a client with decoding on), before the timing starts.
    fn prepare_decode(&mut self) -> Result<()> {
        Ok(())
    }
    /// GETs `url` asking for gzip and reads the transparently decoded body through `buf`,
    /// dropping it; returns its decoded length and what the client saw of the encoding.
    fn decode(&mut self, url: &str, buf: &mut [u8]) -> Result<Decoded>;
}

/// What a decoding GET saw. `wire` and `encoding` are `None` where the client does not tell
/// (ureq and reqwest strip Content-Encoding and give no count of the encoded bytes; the script
/// checks those runs against nginx's access log).
pub struct Decoded {
    /// Decoded body bytes handed to the caller.
    pub bytes: u64,
    /// Body bytes as they came over the wire, before decoding.
    pub wire: Option<u64>,
    /// The Content-Encoding the response carried.
    pub encoding: Option<String>,
}

/// The Content-Encoding field of a raw response head (`Name: value` lines), if any.
pub fn content_encoding(head: &[u8]) -> Option<String> {
    String::from_utf8_lossy(head).lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-encoding")
            .then(|| value.trim().to_owned())
    })
}

/// The CA certificate (PEM) the TLS runs trust, and nothing else.
pub struct Trust {
    pub pem: Option<Vec<u8>>,
    pub path: Option<String>,
}

/// An upload body generated on the fly: each read copies from a fixed 64 KiB block, as a
/// reader of data already in memory would.
pub struct Pattern {
    left: u64,
}

static BLOCK: [u8; 64 * 1024] = [b'x'; 64 * 1024];

impl Pattern {
    pub fn new(len: u64) -> Pattern {
        Pattern { left: len }
    }

    /// The next piece, at most 64 KiB; empty at the end.
    pub fn next_piece(&mut self) -> &'static [u8] {
        let n = self.left.min(BLOCK.len() as u64) as usize;
        self.left -= n as u64;
        &BLOCK[..n]
    }
}

impl Read for Pattern {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.left.min(buf.len().min(BLOCK.len()) as u64) as usize;
        buf[..n].copy_from_slice(&BLOCK[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

/// Checks a small body's length.
pub fn check_len(got: usize, expect: usize) -> Result<()> {
    if got == expect {
        Ok(())
    } else {
        Err(format!("body of {got} bytes, expected {expect}").into())
    }
}

/// Runs `one` until `secs` have passed; returns how many times it ran.
pub fn until(secs: Duration, mut one: impl FnMut() -> Result<()>) -> Result<u64> {
    let start = Instant::now();
    let mut count = 0;
    while start.elapsed() < secs {
        one()?;
        count += 1;
    }
    Ok(count)
}

/// Reads `reader` to its end through `buf`; returns the byte count.
pub fn drain(reader: &mut impl Read, buf: &mut [u8]) -> Result<u64> {
    let mut total = 0u64;
    loop {
        match reader.read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// The ring provider for every rustls in the process: reqwest (built with
/// `rustls-no-provider`) takes it from here, the others are given it.
pub fn install_ring() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
