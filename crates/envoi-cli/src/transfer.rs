//! One transfer: build the request, send it, write the head and body where they belong,
//! and report (`-w`, the error line, the exit code).

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use envoi::blocking::{RequestBuilder, Response};
use envoi::proto::bytes::Bytes;
use envoi::{Auth, Body};
use http::Method;
use url::Url;

use crate::client::GroupClient;
use crate::error::CliError;
use crate::exit_code;
use crate::output::{self, BodySink, HeaderDump};
use crate::plan::{Group, RequestBody, Resume, TransferSpec};
use crate::progress::Progress;
use crate::trace::{Probe, Trace};
use crate::writeout::{self, Report};

/// The read buffer for bodies.
const BUFFER: usize = 256 * 1024;

/// What every transfer of a group shares.
pub struct GroupContext {
    /// The options and URLs.
    pub group: Group,
    /// The client.
    pub client: GroupClient,
    /// `-v` / `--trace-ascii`.
    pub trace: Arc<Trace>,
    /// Credentials.
    pub auth: Option<Auth>,
    /// `-D`.
    pub dump: Option<HeaderDump>,
    /// The `-w` format, read from its file if it named one.
    pub write_out: Option<String>,
    /// True when transfers run in parallel (no progress bars).
    pub parallel: bool,
}

impl GroupContext {
    /// True when transfer errors are not printed (`-s` without `-S`).
    pub fn quiet_errors(&self) -> bool {
        self.group.args.silent && !self.group.args.show_error
    }
}

/// Runs one transfer to its end; returns its exit code (0 for success). The error line and
/// the `-w` output are printed here.
pub fn run(ctx: &GroupContext, spec: &TransferSpec) -> u8 {
    let start = Instant::now();
    let mut report = Report {
        url: spec.url.clone(),
        url_effective: spec.url.clone(),
        urlnum: spec.number,
        ..Report::default()
    };
    let result = transfer(ctx, spec, &mut report);
    report.time_total = start.elapsed();
    let code = match &result {
        Ok(()) => 0,
        Err(e) => e.exit_code(),
    };
    report.exitcode = code;
    if let Err(e) = &result {
        if let CliError::Transfer { message, .. } = e {
            report.errormsg = Some(message.clone());
        }
        e.report(ctx.quiet_errors());
    }
    if let Some(format) = &ctx.write_out {
        let _ = writeout::write(format, &report);
    }
    code
}

fn transfer(ctx: &GroupContext, spec: &TransferSpec, report: &mut Report) -> Result<(), CliError> {
    let group = &ctx.group;
    let args = &group.args;
    let path = output::target_path(&spec.output, &spec.url, args.output_dir.as_deref())?;
    report.filename_effective = path.as_ref().map(|p| p.display().to_string());
    let offset = resume_offset(group.resume, path.as_ref())?;

    let url_text = upload_url(&spec.url, spec.upload.as_deref());
    let url = Url::parse(&url_text).map_err(|e| {
        CliError::code(
            exit_code::URL_MALFORMAT,
            format!("URL rejected: {url_text}: {e}"),
        )
    })?;
    let method = match (&args.request, &spec.upload) {
        (None, Some(_)) => "PUT".to_owned(),
        _ => group.method.clone(),
    };
    report.method = method.clone();
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|_| CliError::usage(format!("option -X: bad method '{method}'")))?;

    let mut headers = group.headers.clone();
    if wants_expect(ctx, spec) {
        headers.push(("Expect".into(), "100-continue".into()));
    }
    if offset > 0 {
        headers.push(("Range".into(), format!("bytes={offset}-")));
    }
    let uploaded = Arc::new(AtomicU64::new(0));
    let body = request_body(ctx, spec, &uploaded)?;
    // Bytes bodies are traced after the head; streamed ones as they are read.
    let traced_data = match (&group.body, &spec.upload) {
        (RequestBody::Bytes { bytes, .. }, None)
            if ctx.trace.is_on() && group.limit_rate.is_none_or(|r| r == 0) =>
        {
            Some(bytes.clone())
        }
        _ => None,
    };
    let probe = Arc::new(Probe::new(ctx.trace.clone(), url.clone(), traced_data));

    let mut request: RequestBuilder = ctx.client.client.request(method, url.as_str());
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    if let Some(body) = body {
        request = request.body(body);
    }
    if let Some(auth) = &ctx.auth {
        request = request.auth(auth.clone());
    }
    request = request.user_value(probe.clone());

    let via_proxy = ctx.client.via_proxy(url.as_str());
    let sent = request.send();
    let facts = probe.state();
    report.num_connects = facts.connects;
    report.remote_ip = facts.remote.map(|a| a.ip().to_string());
    report.remote_port = facts.remote.map(|a| a.port());
    report.size_upload = uploaded.load(Ordering::Relaxed);
    let to_stdout = path.is_none();
    let mut response = match sent {
        Ok(response) => response,
        Err(e) => {
            // The heads of the hops that did arrive (a redirect limit hit, say) were
            // already written when curl fails.
            write_heads_after_failure(ctx, &facts.heads, to_stdout);
            return Err(CliError::from_envoi(&e, via_proxy));
        }
    };
    describe(&response, report);

    // Every head as received, in order: 1xx interim heads and each hop's final head (the
    // probe saw them all; the response's own head ends the list).
    let mut heads = facts.heads;
    if heads.last() != Some(response.raw_head()) {
        heads.push(response.raw_head().clone());
    }
    report.size_header = heads.iter().map(|h| h.len() as u64).sum();
    if let Some(dump) = &ctx.dump {
        for head in &heads {
            dump.write(head)?;
        }
    }
    if let Err(e) = check_redirect_limit(ctx, &response) {
        if (args.include || args.head) && to_stdout {
            let _ = write_stdout_heads(&heads);
        }
        return Err(e);
    }
    let status = response.status().as_u16();
    let fail = (args.fail || args.fail_with_body) && status >= 400;
    if offset > 0 && status == 200 {
        return Err(CliError::code(
            exit_code::RANGE_ERROR,
            "HTTP server doesn't seem to support byte ranges. Cannot resume.",
        ));
    }
    if let (Some(max), Some(len)) = (group.max_filesize, response.content_length()) {
        if len.saturating_add(offset) > max {
            return Err(CliError::code(
                exit_code::FILESIZE_EXCEEDED,
                "Maximum file size exceeded",
            ));
        }
    }
    if fail && !args.fail_with_body && !args.include && !args.head {
        return Err(http_error(status));
    }

    let resume = offset > 0 || group.resume == Resume::Auto;
    let mut sink = BodySink::open(path.as_deref(), resume, args.create_dirs)?;
    if args.include || args.head {
        for head in &heads {
            if let Err(e) = sink.write(head) {
                sink.abandon();
                return Err(e);
            }
        }
    }
    if fail && !args.fail_with_body {
        sink.abandon();
        return Err(http_error(status));
    }
    let complete_already = offset > 0 && status == 416;
    if !args.head && !complete_already {
        if let Err(e) = copy_body(ctx, &mut response, &mut sink, report, via_proxy) {
            sink.abandon();
            return Err(e);
        }
    }
    sink.commit()?;
    if fail {
        return Err(http_error(status));
    }
    Ok(())
}

/// A transfer failed after some heads arrived: they go to `-D`, and to stdout for `-i`/`-I`
/// (a file output is not kept when the transfer fails, so it gets none).
fn write_heads_after_failure(ctx: &GroupContext, heads: &[Bytes], to_stdout: bool) {
    if let Some(dump) = &ctx.dump {
        for head in heads {
            let _ = dump.write(head);
        }
    }
    let args = &ctx.group.args;
    if (args.include || args.head) && to_stdout {
        let _ = write_stdout_heads(heads);
    }
}

fn write_stdout_heads(heads: &[Bytes]) -> Result<(), CliError> {
    let mut sink = BodySink::Stdout;
    for head in heads {
        sink.write(head)?;
    }
    sink.commit()
}

/// Bodies from 1 MiB, and every `-T` upload, ask `Expect: 100-continue` first, as curl
/// does, unless `-H "Expect:"` says otherwise.
fn wants_expect(ctx: &GroupContext, spec: &TransferSpec) -> bool {
    const THRESHOLD: usize = 1024 * 1024;
    let group = &ctx.group;
    let set_by_user = group
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("expect"))
        || group.removed.iter().any(|n| n == "expect");
    let big = matches!(&group.body, RequestBody::Bytes { bytes, .. } if bytes.len() >= THRESHOLD);
    !set_by_user && (spec.upload.is_some() || big)
}

/// `-C`: the offset to ask for.
fn resume_offset(resume: Resume, path: Option<&PathBuf>) -> Result<u64, CliError> {
    match (resume, path) {
        (Resume::No, _) => Ok(0),
        (Resume::Auto, Some(p)) => Ok(output::resume_offset(p)),
        (Resume::Auto, None) => Ok(0),
        (Resume::At(n), None) => Ok(n),
        (Resume::At(n), Some(p)) => {
            let have = output::resume_offset(p);
            if have == n || n == 0 {
                Ok(n)
            } else {
                Err(CliError::code(
                    exit_code::BAD_DOWNLOAD_RESUME,
                    format!(
                        "Offset {n} does not match {} ({have} bytes); use -C - to continue",
                        p.display()
                    ),
                ))
            }
        }
    }
}

/// `-T file` to a URL ending in `/` uploads to the file's name there.
fn upload_url(url: &str, upload: Option<&str>) -> String {
    match upload {
        Some(file) if file != "-" && url.ends_with('/') => {
            let name = std::path::Path::new(file)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            format!("{url}{}", crate::data::encode_path(&name))
        }
        _ => url.to_owned(),
    }
}

/// The request body: `-T` streams a file with its length (stdin chunked); otherwise the
/// group's data.
fn request_body(
    ctx: &GroupContext,
    spec: &TransferSpec,
    uploaded: &Arc<AtomicU64>,
) -> Result<Option<Body>, CliError> {
    let trace = ctx.trace.clone();
    let bar = !ctx.parallel && Progress::wanted(silent_meter(ctx), false);
    match spec.upload.as_deref() {
        Some("-") => {
            let reader = Counting::new(std::io::stdin(), uploaded.clone(), trace, None)
                .limited(ctx.group.limit_rate);
            Ok(Some(Body::chunked(reader)))
        }
        Some(path) => {
            let file = std::fs::File::open(path).map_err(|e| CliError::read("file", path, &e))?;
            let len = file
                .metadata()
                .map_err(|e| CliError::read("file", path, &e))?
                .len();
            let bar = bar.then(|| Progress::start(path, Some(len)));
            let reader =
                Counting::new(file, uploaded.clone(), trace, bar).limited(ctx.group.limit_rate);
            Ok(Some(Body::from_reader(reader, len)))
        }
        None => match &ctx.group.body {
            RequestBody::None => Ok(None),
            RequestBody::Bytes { bytes, .. } if ctx.group.limit_rate.is_some_and(|r| r > 0) => {
                // Paced like a file, read from memory; the trace shows it as it goes.
                let reader = Counting::new(
                    std::io::Cursor::new(bytes.clone()),
                    uploaded.clone(),
                    trace,
                    None,
                )
                .limited(ctx.group.limit_rate);
                Ok(Some(Body::from_reader(reader, bytes.len() as u64)))
            }
            RequestBody::Bytes { bytes, .. } => {
                uploaded.store(bytes.len() as u64, Ordering::Relaxed);
                Ok(Some(Body::from_bytes(bytes.clone())))
            }
        },
    }
}

fn silent_meter(ctx: &GroupContext) -> bool {
    let args = &ctx.group.args;
    args.silent || args.no_progress_meter || ctx.trace.is_on()
}

/// Facts of the response head for `-w`.
fn describe(response: &Response, report: &mut Report) {
    report.http_code = response.status().as_u16();
    report.url_effective = response.url().to_string();
    report.num_redirects = response.redirects();
    report.http_version = match response.version() {
        http::Version::HTTP_10 => "1".into(),
        http::Version::HTTP_09 => "0.9".into(),
        _ => "1.1".into(),
    };
    report.content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    report.headers = response.headers().clone();
    report.redirect_url = response
        .status()
        .is_redirection()
        .then(|| response.headers().get(http::header::LOCATION))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|location| response.url().join(location).ok())
        .map(|u| u.to_string());
    let t = response.timings();
    report.time_namelookup = t.name_lookup;
    report.time_connect = t.connect;
    report.time_appconnect = t.tls;
    report.time_starttransfer = t.first_byte;
}

/// `-L --max-redirs 0` still refuses the first redirect, as curl does (the library's limit
/// of 0 means "do not follow").
fn check_redirect_limit(ctx: &GroupContext, response: &Response) -> Result<(), CliError> {
    let group = &ctx.group;
    let is_redirect = response.status().is_redirection()
        && response.headers().contains_key(http::header::LOCATION);
    if group.args.location && is_redirect {
        let max = crate::policy::max_redirects(group);
        if response.redirects() >= max {
            return Err(CliError::code(
                exit_code::TOO_MANY_REDIRECTS,
                format!("Maximum ({max}) redirects followed"),
            ));
        }
    }
    Ok(())
}

fn http_error(status: u16) -> CliError {
    CliError::code(
        exit_code::HTTP_RETURNED_ERROR,
        format!("The requested URL returned error: {status}"),
    )
}

/// Copies the body to the sink, with `--limit-rate`, `--max-filesize`, the progress bar and
/// the trace.
fn copy_body(
    ctx: &GroupContext,
    response: &mut Response,
    sink: &mut BodySink,
    report: &mut Report,
    via_proxy: bool,
) -> Result<(), CliError> {
    let group = &ctx.group;
    let to_stdout = matches!(sink, BodySink::Stdout);
    let progress = if !ctx.parallel && Progress::wanted(silent_meter(ctx), to_stdout) {
        Progress::start(
            report.filename_effective.as_deref().unwrap_or("stdout"),
            response.content_length(),
        )
    } else {
        Progress::off()
    };
    let mut buf = vec![0u8; rate_buffer(group.limit_rate)];
    let pace = Pace::new(group.limit_rate);
    let mut total = 0u64;
    loop {
        let n = response
            .read_body(&mut buf)
            .map_err(|e| CliError::from_envoi(&e, via_proxy))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        report.size_download = total;
        if group.max_filesize.is_some_and(|max| total > max) {
            return Err(CliError::code(
                exit_code::FILESIZE_EXCEEDED,
                "Maximum file size exceeded",
            ));
        }
        ctx.trace.recv_data(&buf[..n]);
        sink.write(&buf[..n])?;
        progress.add(n as u64);
        if let Some(pace) = &pace {
            pace.wait(total);
        }
    }
    progress.finish();
    Ok(())
}

/// `--limit-rate`: the transfer waits until the bytes moved so far are due at `rate` bytes
/// per second from its start. Downloads and uploads both keep it.
struct Pace {
    rate: u64,
    started: Instant,
}

impl Pace {
    fn new(rate: Option<u64>) -> Option<Pace> {
        rate.filter(|&r| r > 0).map(|rate| Pace {
            rate,
            started: Instant::now(),
        })
    }

    fn wait(&self, total: u64) {
        let due = Duration::from_secs_f64(total as f64 / self.rate as f64);
        if let Some(wait) = due.checked_sub(self.started.elapsed()) {
            std::thread::sleep(wait);
        }
    }
}

/// Small reads when the rate is limited, so the pace is smooth.
fn rate_buffer(limit: Option<u64>) -> usize {
    match limit {
        Some(rate) if rate > 0 => (rate / 10).clamp(1024, BUFFER as u64) as usize,
        _ => BUFFER,
    }
}

/// A request body reader that counts bytes for `%{size_upload}`, feeds the trace and the
/// progress bar.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
    trace: Arc<Trace>,
    progress: Option<Progress>,
    /// `--limit-rate`, from the first read of the body.
    rate: Option<u64>,
    pace: Option<Pace>,
    read: u64,
}

impl<R> Counting<R> {
    fn new(inner: R, count: Arc<AtomicU64>, trace: Arc<Trace>, progress: Option<Progress>) -> Self {
        Counting {
            inner,
            count,
            trace,
            progress,
            rate: None,
            pace: None,
            read: 0,
        }
    }

    /// Keeps the body to `--limit-rate`.
    fn limited(mut self, rate: Option<u64>) -> Self {
        self.rate = rate;
        self
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.rate.is_some() && self.pace.is_none() {
            self.pace = Pace::new(self.rate);
        }
        let buf = match self.pace {
            Some(_) => {
                let len = buf.len().min(rate_buffer(self.rate));
                &mut buf[..len]
            }
            None => buf,
        };
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if let Some(pace) = &self.pace {
            pace.wait(self.read);
        }
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        self.trace.send_data(&buf[..n]);
        if let Some(p) = &self.progress {
            p.add(n as u64);
            if n == 0 {
                p.finish();
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_to_a_directory_url_take_the_file_name() {
        assert_eq!(
            upload_url("http://h/d/", Some("/tmp/a b.txt")),
            "http://h/d/a%20b.txt"
        );
        assert_eq!(upload_url("http://h/d/x", Some("a.txt")), "http://h/d/x");
        assert_eq!(upload_url("http://h/d/", Some("-")), "http://h/d/");
    }

    #[test]
    fn resume_offsets() {
        assert_eq!(resume_offset(Resume::No, None).unwrap(), 0);
        assert_eq!(resume_offset(Resume::At(7), None).unwrap(), 7);
        let missing = PathBuf::from("/nonexistent/envoi/file");
        assert_eq!(resume_offset(Resume::Auto, Some(&missing)).unwrap(), 0);
        assert_eq!(
            resume_offset(Resume::At(5), Some(&missing))
                .unwrap_err()
                .exit_code(),
            36
        );
    }

    #[test]
    fn limited_rates_read_small_pieces() {
        assert_eq!(rate_buffer(None), BUFFER);
        assert_eq!(rate_buffer(Some(100)), 1024);
        assert_eq!(rate_buffer(Some(100_000)), 10_000);
    }
}
