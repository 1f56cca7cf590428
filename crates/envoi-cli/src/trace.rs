//! `-v` and `--trace-ascii`: connection events as `*` lines, the request head as `>` lines,
//! the response heads as `<` lines, as curl prints them.
//!
//! Events come from the client's observer, which runs on the thread doing the request; each
//! request carries its [`Probe`] as the event's user value, so one client serves every
//! transfer (and every `-Z` thread) and each event reaches its own transfer's trace.
//!
//! The `>` lines are the head as the library wrote it to the connection (credentials and jar
//! cookies included); the `<` lines are each head as received: 1xx interim heads, then each
//! hop's final head. The probe also keeps those heads for `-i` and `-D`.

use std::fmt::Write as _;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use envoi::proto::bytes::Bytes;
use envoi::Url;
use envoi::{Event, EventKind};

/// Where trace output goes: `-v` to stderr, `--trace-ascii` to a file (which replaces `-v`).
pub struct Trace {
    verbose: bool,
    file: Option<Mutex<Box<dyn Write + Send>>>,
}

impl Trace {
    /// A trace for `-v` (`verbose`) and/or `--trace-ascii` (`file`).
    pub fn new(verbose: bool, file: Option<Box<dyn Write + Send>>) -> Self {
        Trace {
            verbose: verbose && file.is_none(),
            file: file.map(Mutex::new),
        }
    }

    /// True when anything is traced.
    pub fn is_on(&self) -> bool {
        self.verbose || self.file.is_some()
    }

    /// A `*` line.
    pub fn info(&self, text: &str) {
        if self.verbose {
            eprint_block(&format!("* {text}\n"));
        }
        self.to_file(&format!("== Info: {text}\n"));
    }

    /// The request head, as `>` lines.
    pub fn send_head(&self, head: &[u8]) {
        if self.verbose {
            eprint_block(&prefixed(head, "> "));
        }
        self.dump("=> Send header", head);
    }

    /// A response head, as `<` lines (a `Recv header` block per line in the trace file).
    /// curl shows a 1xx `interim` head without its blank line.
    pub fn recv_head(&self, head: &[u8], interim: bool) {
        let head = if interim {
            without_blank_line(head)
        } else {
            head
        };
        if self.verbose {
            eprint_block(&prefixed(head, "< "));
        }
        if self.file.is_some() {
            self.to_file(&ascii_lines("<= Recv header", head));
        }
    }

    /// Request body bytes (trace file only).
    pub fn send_data(&self, data: &[u8]) {
        self.dump("=> Send data", data);
    }

    /// Response body bytes (trace file only).
    pub fn recv_data(&self, data: &[u8]) {
        self.dump("<= Recv data", data);
    }

    fn dump(&self, what: &str, bytes: &[u8]) {
        if self.file.is_some() {
            self.to_file(&ascii_dump(what, bytes));
        }
    }

    fn to_file(&self, text: &str) {
        if let Some(file) = &self.file {
            let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
            let _ = file.write_all(text.as_bytes());
            let _ = file.flush();
        }
    }
}

/// Writes a block of lines to stderr in one call, so `-Z` threads do not interleave lines.
fn eprint_block(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Each line of a head with a prefix and CRLF turned into LF, as `-v` shows it.
fn prefixed(head: &[u8], prefix: &str) -> String {
    let text = String::from_utf8_lossy(head);
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        out.push_str(prefix);
        out.push_str(line.trim_end_matches(['\r', '\n']));
        out.push('\n');
    }
    out
}

/// A head without the blank line that ends it.
fn without_blank_line(head: &[u8]) -> &[u8] {
    head.strip_suffix(b"\r\n\r\n")
        .map(|h| &head[..h.len() + 2])
        .or_else(|| head.strip_suffix(b"\n\n").map(|h| &head[..h.len() + 1]))
        .unwrap_or(head)
}

/// One `--trace-ascii` block per line of a head, as curl writes received heads.
fn ascii_lines(what: &str, head: &[u8]) -> String {
    head.split_inclusive(|&b| b == b'\n')
        .map(|line| ascii_dump(what, line))
        .collect()
}

/// curl's `--trace-ascii` block: a title, then rows of up to 64 bytes with their offset,
/// breaking after each CRLF; bytes outside printable ASCII shown as `.`.
fn ascii_dump(what: &str, bytes: &[u8]) -> String {
    let mut out = format!("{what}, {} bytes (0x{:x})\n", bytes.len(), bytes.len());
    let mut start = 0;
    while start < bytes.len() {
        let mut end = start;
        while end < bytes.len() && end - start < 64 {
            if bytes[end] == b'\r' && bytes.get(end + 1) == Some(&b'\n') {
                end += 2;
                break;
            }
            end += 1;
        }
        let _ = write!(out, "{start:04x}: ");
        for &b in &bytes[start..end] {
            out.push(if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            });
        }
        // The CRLF that ended the row is shown as `..` only when it is not at the row end.
        if out.ends_with("..") && bytes[..end].ends_with(b"\r\n") {
            out.truncate(out.len() - 2);
        }
        out.push('\n');
        start = end;
    }
    out
}

/// One transfer's view of the events: its trace, and the facts `-i`, `-D` and `-w` need (the
/// heads received, the peer address, redirects).
pub struct Probe {
    trace: Arc<Trace>,
    state: Mutex<ProbeState>,
}

/// Facts a probe gathered.
#[derive(Clone, Debug)]
pub struct ProbeState {
    /// The URL being requested (changes with each redirect).
    pub url: Url,
    /// A bytes request body, traced after each head that declares it (`--trace-ascii`).
    pub data: Option<Vec<u8>>,
    /// The address of the last connection.
    pub remote: Option<SocketAddr>,
    /// New connections made (not reused).
    pub connects: u32,
    /// Redirects followed.
    pub redirects: usize,
    /// Every response head received, as received and in order: 1xx interim heads and each
    /// hop's final head.
    pub heads: Vec<Bytes>,
    /// The `Issue another request` line, printed once the hop's connection is settled (curl
    /// says what became of the connection first).
    pending: Option<String>,
}

impl Probe {
    /// A probe for a request to `url`; `data` is a bytes body to trace (`None` when not
    /// tracing or when the body is streamed).
    pub fn new(trace: Arc<Trace>, url: Url, data: Option<Vec<u8>>) -> Self {
        Probe {
            trace,
            state: Mutex::new(ProbeState {
                url,
                data,
                remote: None,
                connects: 0,
                redirects: 0,
                heads: Vec::new(),
                pending: None,
            }),
        }
    }

    /// The facts gathered so far; prints a redirect line still waiting.
    pub fn state(&self) -> ProbeState {
        let mut state = self.lock();
        self.flush(&mut state);
        state.clone()
    }

    fn lock(&self) -> MutexGuard<'_, ProbeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn flush(&self, state: &mut ProbeState) {
        if let Some(line) = state.pending.take() {
            self.trace.info(&line);
        }
    }

    fn on_event(&self, event: &Event) {
        let mut state = self.lock();
        let settles = matches!(
            event.kind,
            EventKind::ConnectionPooled | EventKind::ClosingConnection { .. }
        );
        if !settles {
            self.flush(&mut state);
        }
        let host = state.url.host_str().unwrap_or("").to_owned();
        let trace = &self.trace;
        match &event.kind {
            EventKind::Connecting { addr } => trace.info(&format!("  Trying {addr}...")),
            EventKind::Connected { addr, reused } => {
                state.remote = Some(*addr);
                if *reused {
                    trace.info(&format!("Re-using existing connection with host {host}"));
                } else {
                    state.connects += 1;
                    trace.info(&format!(
                        "Connected to {host} ({}) port {}",
                        addr.ip(),
                        addr.port()
                    ));
                }
            }
            EventKind::TlsHandshakeStarted => trace.info(&format!("TLS handshake with {host}")),
            EventKind::TlsHandshakeDone { version } => {
                // The library names versions as rustls does (`TLSv1_3`); curl writes `TLSv1.3`.
                let version = version.replace('_', ".");
                trace.info(&format!("SSL connection using {version}"))
            }
            EventKind::SendingRequest { head } if trace.is_on() && !head.is_empty() => {
                trace.send_head(head);
                if let Some(data) = &state.data {
                    // A body that a redirect dropped (303, or a POST after 301/302) is not
                    // declared in the head that follows.
                    if declares_body(head, data.len()) {
                        trace.send_data(data);
                    }
                }
            }
            EventKind::TunnelRequested { head } if trace.is_on() && !head.is_empty() => {
                trace.send_head(head);
            }
            // The proxy's answer to CONNECT is a head of its own, as curl shows it (with -v,
            // -i and -D).
            EventKind::TunnelAnswered { head, .. } => {
                trace.recv_head(head, false);
                state.heads.push(head.clone());
            }
            // curl's wording for the SOCKS5 request and its grant.
            EventKind::SocksRequested {
                target,
                remote_resolve,
                ..
            } => {
                let line = match (*remote_resolve, target.starts_with('[')) {
                    (true, _) => format!("SOCKS5 connect to {target} (remotely resolved)"),
                    (false, false) => format!("SOCKS5 connect to IPv4 {target} (locally resolved)"),
                    (false, true) => format!("SOCKS5 connect to IPv6 {target} (locally resolved)"),
                };
                trace.info(&line);
            }
            EventKind::SocksGranted { .. } => trace.info("SOCKS5 request granted."),
            EventKind::InterimResponse { head, .. } => {
                trace.recv_head(head, true);
                state.heads.push(head.clone());
            }
            EventKind::ResponseReceived { head, .. } => {
                trace.recv_head(head, false);
                state.heads.push(head.clone());
            }
            EventKind::Redirect { location } => {
                state.redirects += 1;
                if let Ok(next) = state.url.join(location) {
                    state.pending = Some(format!(
                        "Issue another request to this URL: '{}'",
                        next.as_str()
                    ));
                    state.url = next;
                }
            }
            EventKind::ClosingConnection { reason } => {
                trace.info(&format!("Closing connection: {reason}"))
            }
            EventKind::ConnectionPooled => {
                trace.info(&format!("Connection to host {host} left intact"))
            }
            _ => {}
        }
        if settles {
            self.flush(&mut state);
        }
    }
}

/// True when a request head declares a body of `len` bytes (`Content-Length`, or chunked).
fn declares_body(head: &[u8], len: usize) -> bool {
    head.split(|&b| b == b'\n').skip(1).any(|line| {
        let line = String::from_utf8_lossy(line);
        let Some((name, value)) = line.split_once(':') else {
            return false;
        };
        let name = name.trim();
        (name.eq_ignore_ascii_case("content-length") && value.trim().parse() == Ok(len))
            || name.eq_ignore_ascii_case("transfer-encoding")
    })
}

/// The client's observer: hands each event to the probe its request carries.
pub fn dispatch_event(event: &Event) {
    if let Some(probe) = event
        .user_value
        .as_ref()
        .and_then(|v| (**v).downcast_ref::<Probe>())
    {
        probe.on_event(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_print_with_prefixes() {
        assert_eq!(
            prefixed(b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n", "< "),
            "< HTTP/1.1 200 OK\n< A: b\n< \n"
        );
    }

    #[test]
    fn ascii_dump_breaks_rows_at_crlf() {
        let dump = ascii_dump("=> Send header", b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(
            dump,
            "=> Send header, 27 bytes (0x1b)\n0000: GET / HTTP/1.1\n0010: Host: h\n0019: \n"
        );
        let long = ascii_dump("<= Recv data", &[b'a'; 70]);
        assert!(long.contains("\n0040: aaaaaa\n"), "{long}");
    }

    #[test]
    fn bodies_are_traced_when_the_head_declares_them() {
        let head = b"POST /p HTTP/1.1\r\nHost: h\r\ncontent-length: 3\r\n\r\n";
        assert!(declares_body(head, 3));
        assert!(!declares_body(head, 4));
        assert!(!declares_body(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", 3));
        assert!(!declares_body(b"\xff\n\xfe: 1\r\n", 1));
        assert!(declares_body(
            b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            9
        ));
    }

    #[test]
    fn interim_heads_print_without_their_blank_line() {
        assert_eq!(
            prefixed(without_blank_line(b"HTTP/1.1 100 Continue\r\n\r\n"), "< "),
            "< HTTP/1.1 100 Continue\n"
        );
        assert_eq!(
            ascii_lines("<= Recv header", b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n"),
            "<= Recv header, 17 bytes (0x11)\n0000: HTTP/1.1 200 OK\n\
             <= Recv header, 6 bytes (0x6)\n0000: A: b\n\
             <= Recv header, 2 bytes (0x2)\n0000: \n"
        );
    }
}
