//! The harness of every client binary: `client_NAME --mode get|download|upload|decode --url URL
//! [--tag T] [--secs S] [--expect N] [--bytes N] [--buf N] [--ca PEM] [--stub URL]`, printing
//! one `RESULT key=value ...` line: the work done, wall-clock time, the process's CPU time over
//! the timed part only, its context switches, peak RSS (`VmHWM` at the end) and the load.
//! `decode` is `download` of a gzip-encoded body the client decodes: `--bytes` is the decoded
//! size, and the line adds the encoded size and Content-Encoding the client saw (`?` where it
//! does not tell).

use std::process::ExitCode;
use std::time::Duration;

use crate::common::{Client, Decoded, Trust};
use crate::measure::{accepts, load1, status_kib, Flags, Result, Usage};

/// Runs the client `make` builds, as `name`, on the command line's work.
pub fn main(name: &str, make: fn(&Trust) -> Result<Box<dyn Client>>) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(name, make, &args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("client_{name}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(name: &str, make: fn(&Trust) -> Result<Box<dyn Client>>, args: &[String]) -> Result<()> {
    let flags = Flags::parse(args)?;
    let mode = flags.need("mode")?;
    let url = flags.need("url")?;
    let tag = flags.get("tag").unwrap_or(mode);
    let trust = match flags.get("ca") {
        Some(path) => Trust {
            pem: Some(std::fs::read(path)?),
            path: Some(path.to_owned()),
        },
        None => Trust {
            pem: None,
            path: None,
        },
    };
    let mut client = make(&trust)?;
    let (work, usage) = match mode {
        "get" => {
            let secs = Duration::from_secs_f64(flags.num("secs", 5.0)?);
            let expect = flags.num("expect", 13.0)? as usize;
            let stub = flags.get("stub");
            let accepts_before = stub.map(accepts).transpose()?;
            // Opens the connection and warms caches; not timed.
            let warm = client.get_loop(url, Duration::from_millis(200), expect)?;
            let usage = Usage::now(libc::RUSAGE_SELF);
            let count = client.get_loop(url, secs, expect)?;
            let fields = usage.fields_since(libc::RUSAGE_SELF);
            let conns = match (stub, accepts_before) {
                // The second status request is one more accepted connection.
                (Some(stub), Some(before)) => (accepts(stub)? - before - 1).to_string(),
                _ => "?".to_owned(),
            };
            (
                format!(
                    "count={count} warm={warm} bytes={} conns={conns}",
                    count * expect as u64
                ),
                fields,
            )
        }
        "download" => {
            let expect = flags.num("bytes", 0.0)? as u64;
            let mut buf = vec![0u8; flags.num("buf", 1048576.0)? as usize];
            let usage = Usage::now(libc::RUSAGE_SELF);
            let got = client.download(url, &mut buf)?;
            let fields = usage.fields_since(libc::RUSAGE_SELF);
            if expect > 0 && got != expect {
                return Err(format!("{name}: downloaded {got} bytes, expected {expect}").into());
            }
            (format!("count=1 bytes={got}"), fields)
        }
        "decode" => {
            let expect = flags.num("bytes", 0.0)? as u64;
            let mut buf = vec![0u8; flags.num("buf", 1048576.0)? as usize];
            client.prepare_decode()?;
            let usage = Usage::now(libc::RUSAGE_SELF);
            let got = client.decode(url, &mut buf)?;
            let fields = usage.fields_since(libc::RUSAGE_SELF);
            check_decoded(name, &got, expect)?;
            let unknown = || "?".to_owned();
            (
                format!(
                    "count=1 bytes={} wire={} encoding={}",
                    got.bytes,
                    got.wire.map_or_else(unknown, |w| w.to_string()),
                    got.encoding.clone().unwrap_or_else(unknown)
                ),
                fields,
            )
        }
        "upload" => {
            let len = flags.num("bytes", 0.0)? as u64;
            let usage = Usage::now(libc::RUSAGE_SELF);
            let answer = client.upload(url, len)?;
            let fields = usage.fields_since(libc::RUSAGE_SELF);
            check_upload(name, &answer, len)?;
            (format!("count=1 bytes={len}"), fields)
        }
        other => return Err(format!("unknown mode {other:?}").into()),
    };
    println!(
        "RESULT tag={tag} client={name} {work} {usage} hwm_kib={} load1={}",
        status_kib("VmHWM:"),
        load1()
    );
    if std::env::var_os("CLIENT_BENCH_SMAPS").is_some() {
        print_rss_by_mapping();
    }
    Ok(())
}

/// With `CLIENT_BENCH_SMAPS` set: resident KiB per mapped file (or `[heap]`, `[stack]`,
/// anonymous) at the end, on stderr, to see what a peak RSS is made of.
fn print_rss_by_mapping() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    let mut by_name: Vec<(String, u64)> = Vec::new();
    let mut current = String::new();
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            current = words.nth(4).unwrap_or("[anonymous]").to_owned();
        } else if first == "Rss:" {
            let kib: u64 = words.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            match by_name.iter_mut().find(|(n, _)| *n == current) {
                Some((_, total)) => *total += kib,
                None => by_name.push((current.clone(), kib)),
            }
        }
    }
    by_name.sort_by_key(|(_, kib)| std::cmp::Reverse(*kib));
    for (name, kib) in by_name.iter().filter(|(_, kib)| *kib > 0) {
        eprintln!("{kib:>8} KiB  {name}");
    }
}

/// A decoded body must have the expected length and, where the client tells, must have come
/// gzip-encoded and much smaller on the wire (nginx's log checks the others).
fn check_decoded(name: &str, got: &Decoded, expect: u64) -> Result<()> {
    if expect > 0 && got.bytes != expect {
        return Err(format!("{name}: decoded {} bytes, expected {expect}", got.bytes).into());
    }
    if let Some(encoding) = &got.encoding {
        if !encoding.eq_ignore_ascii_case("gzip") {
            return Err(format!("{name}: Content-Encoding {encoding:?}, not gzip").into());
        }
    }
    if let Some(wire) = got.wire {
        if wire == 0 || wire.saturating_mul(2) > got.bytes {
            return Err(format!(
                "{name}: {wire} bytes on the wire for {} decoded: not compressed",
                got.bytes
            )
            .into());
        }
    }
    Ok(())
}

/// The test server's `/upload-sink` answer must count every byte, sent with Content-Length.
fn check_upload(name: &str, answer: &str, len: u64) -> Result<()> {
    let compact: String = answer.chars().filter(|c| !c.is_whitespace()).collect();
    if !compact.contains(&format!("\"bytes\":{len}")) {
        return Err(format!("{name}: the sink did not count {len} bytes: {answer}").into());
    }
    if compact.contains("\"chunked\":true") {
        eprintln!("client_bench: note: {name} sent the upload chunked");
    }
    Ok(())
}
