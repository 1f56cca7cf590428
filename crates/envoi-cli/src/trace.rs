//! `-v` and `--trace-ascii`: connection events as `*` lines, the request head as `>` lines,
//! the response head as `<` lines, as curl prints them.
//!
//! Events come from the client's observer, which runs on the thread doing the request; each
//! request carries its [`Probe`] as the event's user value, so one client serves every
//! transfer (and every `-Z` thread) and each event reaches its own transfer's trace.
//!
//! The library does not expose the request head bytes, so the `>` lines are the head envoi
//! builds from the same inputs (method, URL, headers, body framing), rebuilt after each
//! redirect.

use std::fmt::Write as _;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use envoi::{Event, EventKind};
use url::Url;

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

    /// The response head, as `<` lines.
    pub fn recv_head(&self, head: &[u8]) {
        if self.verbose {
            eprint_block(&prefixed(head, "< "));
        }
        self.dump("<= Recv header", head);
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

/// What a transfer's request looks like, to print its head.
#[derive(Clone, Debug)]
pub struct PlannedRequest {
    /// The method.
    pub method: String,
    /// The headers after Host, in the order envoi sends them.
    pub headers: Vec<(String, String)>,
    /// The body length (`None`: chunked).
    pub body_len: Option<u64>,
    /// A bytes body, for `--trace-ascii` (only kept when tracing).
    pub data: Option<Vec<u8>>,
}

/// One transfer's view of the events: its trace, the request to print, and facts for
/// `-w` (the peer address, redirects).
pub struct Probe {
    trace: Arc<Trace>,
    state: Mutex<ProbeState>,
}

/// Facts a probe gathered.
#[derive(Clone, Debug)]
pub struct ProbeState {
    /// The URL being requested (changes with each redirect).
    pub url: Url,
    /// The request as planned.
    pub planned: PlannedRequest,
    /// The address of the last connection.
    pub remote: Option<SocketAddr>,
    /// New connections made (not reused).
    pub connects: u32,
    /// Redirects followed.
    pub redirects: usize,
    /// The status of the last response head.
    pub last_status: u16,
}

impl Probe {
    /// A probe for a request to `url`.
    pub fn new(trace: Arc<Trace>, url: Url, planned: PlannedRequest) -> Self {
        Probe {
            trace,
            state: Mutex::new(ProbeState {
                url,
                planned,
                remote: None,
                connects: 0,
                redirects: 0,
                last_status: 0,
            }),
        }
    }

    /// The facts gathered so far.
    pub fn state(&self) -> ProbeState {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, ProbeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn on_event(&self, event: &Event) {
        let mut state = self.lock();
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
            EventKind::SendingRequest { .. } if trace.is_on() => {
                trace.send_head(request_head(&state.url, &state.planned).as_bytes());
                if let Some(data) = &state.planned.data {
                    trace.send_data(data);
                }
            }
            EventKind::InterimResponse { status, .. } => {
                trace.info(&format!("Received interim response {}", status.as_u16()))
            }
            EventKind::ResponseReceived { status, .. } => state.last_status = status.as_u16(),
            EventKind::Redirect { location } => {
                let next = state.url.join(location).ok();
                state.redirects += 1;
                let status = state.last_status;
                if let Some(next) = next {
                    trace.info(&format!(
                        "Issue another request to this URL: '{}'",
                        next.as_str()
                    ));
                    state.url = next;
                }
                redirected(&mut state.planned, status);
            }
            EventKind::ClosingConnection { reason } => {
                trace.info(&format!("Closing connection: {reason}"))
            }
            EventKind::ConnectionPooled => {
                trace.info(&format!("Connection to host {host} left intact"))
            }
            _ => {}
        }
    }
}

/// The method and body after a redirect with `status`: 303 turns anything but HEAD into a
/// GET without body; 301 and 302 turn a POST into a GET (the `--post30x` switches are
/// applied by the library; the trace shows the common case).
fn redirected(planned: &mut PlannedRequest, status: u16) {
    let to_get = match status {
        303 => planned.method != "HEAD",
        301 | 302 => planned.method == "POST",
        _ => false,
    };
    if to_get {
        planned.method = "GET".into();
        planned.body_len = Some(0);
        planned.data = None;
        planned.headers.retain(|(n, _)| {
            !n.eq_ignore_ascii_case("content-type") && !n.eq_ignore_ascii_case("content-length")
        });
    }
}

/// The request head envoi sends for `planned` to `url`.
pub fn request_head(url: &Url, planned: &PlannedRequest) -> String {
    let mut target = url.path().to_owned();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let mut head = format!("{} {target} HTTP/1.1\r\n", planned.method);
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => String::new(),
    };
    let _ = write!(head, "Host: {host}\r\n");
    for (name, value) in &planned.headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    let has = |n: &str| {
        planned
            .headers
            .iter()
            .any(|(h, _)| h.eq_ignore_ascii_case(n))
    };
    match planned.body_len {
        None if !has("transfer-encoding") => head.push_str("Transfer-Encoding: chunked\r\n"),
        Some(0) if !matches!(planned.method.as_str(), "POST" | "PUT" | "PATCH") => {}
        Some(n) if !has("content-length") => {
            let _ = write!(head, "Content-Length: {n}\r\n");
        }
        _ => {}
    }
    head.push_str("\r\n");
    head
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
    fn the_planned_head_has_framing_and_host() {
        let url = Url::parse("http://127.0.0.1:8080/p?q=1").unwrap();
        let planned = PlannedRequest {
            method: "POST".into(),
            headers: vec![("User-Agent".into(), "envoi/0".into())],
            body_len: Some(3),
            data: Some(b"a=1".to_vec()),
        };
        assert_eq!(
            request_head(&url, &planned),
            "POST /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: envoi/0\r\n\
             Content-Length: 3\r\n\r\n"
        );
        let mut after = planned.clone();
        redirected(&mut after, 302);
        assert_eq!(after.method, "GET");
        assert_eq!(after.data, None);
        assert!(!request_head(&url, &after).contains("Content-Length"));
    }
}
