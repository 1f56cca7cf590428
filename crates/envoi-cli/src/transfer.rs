//! One transfer, written once for both clients: prepare the request; judge the answer
//! (`-i`, `-D`, `-f`, `-C`, `--max-filesize`, `-w` facts); take the body into its output,
//! paced by `--limit-rate`; report (`-w`, the error line, the exit code). Only sending,
//! reading and waiting differ between the blocking client ([`run`]) and the async client of
//! `-Z` (`parallel`), and those few lines are all each of them holds.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use envoi::blocking::Client;
use envoi::proto::bytes::Bytes;
use envoi::Url;
use envoi::{Auth, Request, Timings};
use http::{HeaderMap, Method, StatusCode};

use crate::client::GroupClient;
use crate::error::CliError;
use crate::exit_code;
use crate::output::{self, BodySink, HeaderDump};
use crate::pace::{rate_buffer, Pace};
use crate::plan::{Group, RequestBody, Resume, TransferSpec};
use crate::progress::Progress;
use crate::trace::{Probe, Trace};
use crate::upload::request_body;
use crate::writeout::{self, Report};

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

/// Runs one transfer to its end over the blocking client; returns its exit code (0 for
/// success). The error line and the `-w` output are printed here.
pub fn run(ctx: &GroupContext, client: &Client, spec: &TransferSpec) -> u8 {
    let start = Instant::now();
    let mut report = Report::for_transfer(spec);
    let result = transfer(ctx, client, spec, &mut report);
    conclude(ctx, report, start, &result)
}

fn transfer(
    ctx: &GroupContext,
    client: &Client,
    spec: &TransferSpec,
    report: &mut Report,
) -> Result<(), CliError> {
    let prepared = Prepared::new(ctx, spec, report)?;
    let sent = client.execute(&prepared.request);
    let mut response = prepared.answered(ctx, sent, report)?;
    let mut copy = BodyCopy::start(ctx, &prepared, &answer_of!(response), report)?;
    let mut buf = vec![0u8; copy.buffer_len()];
    while copy.wants_more() {
        let n = response
            .read_body(&mut buf)
            .map_err(|e| copy.read_failed(&e))?;
        if let Some(wait) = copy.take(&buf[..n], report)? {
            std::thread::sleep(wait);
        }
    }
    copy.finish()
}

/// Ends a transfer: its exit code, its error line and its `-w` output.
pub fn conclude(
    ctx: &GroupContext,
    mut report: Report,
    start: Instant,
    result: &Result<(), CliError>,
) -> u8 {
    report.time_total = start.elapsed();
    let code = match result {
        Ok(()) => 0,
        Err(e) => e.exit_code(),
    };
    report.exitcode = code;
    if let Err(e) = result {
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

/// A request ready to send, with what judging its answer needs.
pub struct Prepared {
    /// The request, for either client.
    pub request: Request,
    probe: Arc<Probe>,
    path: Option<PathBuf>,
    /// `-C`: the offset asked for.
    offset: u64,
    via_proxy: bool,
    uploaded: Arc<AtomicU64>,
}

impl Prepared {
    /// Builds the request of `spec`: URL, method, headers, body, credentials and the probe
    /// that watches its events.
    pub fn new(
        ctx: &GroupContext,
        spec: &TransferSpec,
        report: &mut Report,
    ) -> Result<Prepared, CliError> {
        let group = &ctx.group;
        let args = &group.args;
        let path = output::target_path(&spec.output, &spec.url, args.output_dir.as_deref())?;
        report.filename_effective = path.as_ref().map(|p| p.display().to_string());
        let offset = resume_offset(group.resume, path.as_ref())?;

        let url_text = upload_url(&spec.url, spec.upload.as_deref());
        let url = Url::parse(&url_text).map_err(|e| {
            // A scheme envoi does not speak is curl's "unsupported protocol" (1), even where
            // the parser gives up on the rest (it does not read `file:` URLs).
            match envoi::IntoUrl::into_url(url_text.as_str()) {
                Err(refused) if refused.kind() == envoi::ErrorKind::UnsupportedScheme => {
                    CliError::from_envoi(&refused, false)
                }
                _ => CliError::code(
                    exit_code::URL_MALFORMAT,
                    format!("URL rejected: {url_text}: {e}"),
                ),
            }
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

        let via_proxy = ctx.client.via_proxy(url.as_str());
        let refused = |e: envoi::Error| CliError::from_envoi(&e, via_proxy);
        let mut request = Request::new(method, url.as_str()).map_err(refused)?;
        for (name, value) in &headers {
            request.append_header(name, value).map_err(refused)?;
        }
        if let Some(body) = body {
            request.set_body(body);
        }
        request.set_auth(ctx.auth.clone());
        request.set_user_value(Some(probe.clone()));
        Ok(Prepared {
            request,
            probe,
            path,
            offset,
            via_proxy,
            uploaded,
        })
    }

    /// Takes the outcome of sending: the facts the probe saw go to the report, and a failure
    /// becomes the CLI's error after the heads that did arrive were written.
    pub fn answered<R>(
        &self,
        ctx: &GroupContext,
        sent: Result<R, envoi::Error>,
        report: &mut Report,
    ) -> Result<R, CliError> {
        let facts = self.probe.state();
        report.num_connects = facts.connects;
        report.remote_ip = facts.remote.map(|a| a.ip().to_string());
        report.remote_port = facts.remote.map(|a| a.port());
        report.size_upload = self.uploaded.load(Ordering::Relaxed);
        sent.map_err(|e| {
            // The heads of the hops that did arrive (a redirect limit hit, say) were
            // already written when curl fails.
            write_heads_after_failure(ctx, &facts.heads, self.path.is_none());
            CliError::from_envoi(&e, self.via_proxy)
        })
    }
}

/// What a transfer needs of a response head, from either client's response.
pub struct Answer<'a> {
    /// The status.
    pub status: StatusCode,
    /// The version.
    pub version: http::Version,
    /// The header fields.
    pub headers: &'a HeaderMap,
    /// The URL that answered.
    pub url: &'a Url,
    /// Redirects followed before it.
    pub redirects: usize,
    /// The head as received.
    pub raw_head: &'a Bytes,
    /// The announced body length.
    pub content_length: Option<u64>,
    /// When each phase ended.
    pub timings: Timings,
}

/// The [`Answer`] of a blocking or async response (both have the same accessors).
macro_rules! answer_of {
    ($response:expr) => {
        $crate::transfer::Answer {
            status: $response.status(),
            version: $response.version(),
            headers: $response.headers(),
            url: $response.url(),
            redirects: $response.redirects(),
            raw_head: $response.raw_head(),
            content_length: $response.content_length(),
            timings: $response.timings(),
        }
    };
}
pub(crate) use answer_of;

/// The body on its way to its output. Dropped before [`finish`](Self::finish), it abandons
/// the output (a download's `.part` is not renamed).
pub struct BodyCopy {
    sink: Option<BodySink>,
    /// True while body bytes are still to come.
    more: bool,
    /// The status, when `-f`/`--fail-with-body` fail the transfer after the body.
    fail: Option<u16>,
    progress: Progress,
    pace: Option<Pace>,
    rate: Option<u64>,
    max_filesize: Option<u64>,
    total: u64,
    trace: Arc<Trace>,
    via_proxy: bool,
}

impl BodyCopy {
    /// Judges the answer: writes the heads where `-D`, `-i` and `-I` want them, fails as
    /// `-f`, `-C`, `--max-redirs` and `--max-filesize` say, and opens the output.
    pub fn start(
        ctx: &GroupContext,
        prepared: &Prepared,
        answer: &Answer<'_>,
        report: &mut Report,
    ) -> Result<BodyCopy, CliError> {
        let group = &ctx.group;
        let args = &group.args;
        describe(answer, report);
        let to_stdout = prepared.path.is_none();

        // Every head as received, in order: 1xx interim heads and each hop's final head (the
        // probe saw them all; the response's own head ends the list).
        let mut heads = prepared.probe.state().heads;
        if heads.last() != Some(answer.raw_head) {
            heads.push(answer.raw_head.clone());
        }
        report.size_header = heads.iter().map(|h| h.len() as u64).sum();
        if let Some(dump) = &ctx.dump {
            for head in &heads {
                dump.write(head)?;
            }
        }
        if let Err(e) = check_redirect_limit(ctx, answer) {
            if (args.include || args.head) && to_stdout {
                let _ = write_stdout_heads(&heads);
            }
            return Err(e);
        }
        let status = answer.status.as_u16();
        let fail = (args.fail || args.fail_with_body) && status >= 400;
        let offset = prepared.offset;
        if offset > 0 && status == 200 {
            return Err(CliError::code(
                exit_code::RANGE_ERROR,
                "HTTP server doesn't seem to support byte ranges. Cannot resume.",
            ));
        }
        if let (Some(max), Some(len)) = (group.max_filesize, answer.content_length) {
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
        let sink = BodySink::open(prepared.path.as_deref(), resume, args.create_dirs)?;
        let complete_already = offset > 0 && status == 416;
        let more = !args.head && !complete_already;
        let progress = if more && !ctx.parallel && Progress::wanted(silent_meter(ctx), to_stdout) {
            Progress::start(
                report.filename_effective.as_deref().unwrap_or("stdout"),
                answer.content_length,
            )
        } else {
            Progress::off()
        };
        let mut copy = BodyCopy {
            sink: Some(sink),
            more,
            fail: fail.then_some(status),
            progress,
            pace: None,
            rate: group.limit_rate,
            max_filesize: group.max_filesize,
            total: 0,
            trace: ctx.trace.clone(),
            via_proxy: prepared.via_proxy,
        };
        if args.include || args.head {
            for head in &heads {
                copy.write(head)?;
            }
        }
        if fail && !args.fail_with_body {
            // Dropping the copy abandons its output.
            return Err(http_error(status));
        }
        copy.pace = Pace::new(copy.rate);
        Ok(copy)
    }

    /// True while the body has bytes to come.
    pub fn wants_more(&self) -> bool {
        self.more
    }

    /// The read size: small when the rate is limited, so the pace is smooth; none when no
    /// body is to be read.
    pub fn buffer_len(&self) -> usize {
        if self.more {
            rate_buffer(self.rate)
        } else {
            0
        }
    }

    /// A failed body read, as the CLI's error.
    pub fn read_failed(&self, error: &envoi::Error) -> CliError {
        CliError::from_envoi(error, self.via_proxy)
    }

    /// Takes the next piece of the body (empty at its end); returns how long to wait before
    /// the next read, for `--limit-rate`.
    pub fn take(&mut self, data: &[u8], report: &mut Report) -> Result<Option<Duration>, CliError> {
        if data.is_empty() {
            self.more = false;
            self.progress.finish();
            return Ok(None);
        }
        self.total += data.len() as u64;
        report.size_download = self.total;
        if self.max_filesize.is_some_and(|max| self.total > max) {
            return Err(CliError::code(
                exit_code::FILESIZE_EXCEEDED,
                "Maximum file size exceeded",
            ));
        }
        self.trace.recv_data(data);
        self.write(data)?;
        self.progress.add(data.len() as u64);
        Ok(self.pace.as_ref().and_then(|pace| pace.due(self.total)))
    }

    /// The body is complete: the output gets its final name, then `-f` fails the transfer.
    pub fn finish(mut self) -> Result<(), CliError> {
        if let Some(sink) = self.sink.take() {
            sink.commit()?;
        }
        match self.fail {
            Some(status) => Err(http_error(status)),
            None => Ok(()),
        }
    }

    fn write(&mut self, data: &[u8]) -> Result<(), CliError> {
        match &mut self.sink {
            Some(sink) => sink.write(data),
            None => Ok(()),
        }
    }
}

impl Drop for BodyCopy {
    fn drop(&mut self) {
        if let Some(sink) = self.sink.take() {
            sink.abandon();
        }
    }
}

/// True when the meter stays off: `-s`, `--no-progress-meter`, or a trace on stderr.
pub fn silent_meter(ctx: &GroupContext) -> bool {
    let args = &ctx.group.args;
    args.silent || args.no_progress_meter || ctx.trace.is_on()
}

/// Facts of the response head for `-w`.
fn describe(answer: &Answer<'_>, report: &mut Report) {
    report.http_code = answer.status.as_u16();
    report.url_effective = answer.url.to_string();
    report.num_redirects = answer.redirects;
    report.http_version = match answer.version {
        http::Version::HTTP_10 => "1".into(),
        http::Version::HTTP_09 => "0.9".into(),
        _ => "1.1".into(),
    };
    report.content_type = answer
        .headers
        .get(http::header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    report.headers = answer.headers.clone();
    report.redirect_url = answer
        .status
        .is_redirection()
        .then(|| answer.headers.get(http::header::LOCATION))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|location| answer.url.join(location).ok())
        .map(|u| u.to_string());
    let t = answer.timings;
    report.time_namelookup = t.name_lookup;
    report.time_connect = t.connect;
    report.time_appconnect = t.tls;
    report.time_starttransfer = t.first_byte;
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

/// `-L --max-redirs 0` still refuses the first redirect, as curl does (the library's limit
/// of 0 means "do not follow").
fn check_redirect_limit(ctx: &GroupContext, answer: &Answer<'_>) -> Result<(), CliError> {
    let group = &ctx.group;
    let is_redirect =
        answer.status.is_redirection() && answer.headers.contains_key(http::header::LOCATION);
    if group.args.location && is_redirect {
        let max = crate::policy::max_redirects(group);
        if answer.redirects >= max {
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
}
