//! Markdown tables from the `RESULT` lines of one `run-poll-bench.sh` run (each line carries
//! `round=N`, added by the script).

use std::collections::HashMap;

use crate::measure::Result;
use crate::results::{num, read, stats, Record};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const BASELINE: &str = "blocking-1048576";

fn text<'a>(r: &'a Record, key: &str) -> &'a str {
    r.get(key).map_or("?", String::as_str)
}

/// Median, min, max of the finite values.
fn spread(values: &[f64]) -> Option<(f64, f64, f64)> {
    stats(values).map(|s| (s.median, s.min, s.max))
}

fn fmt_spread(values: &[f64], decimals: usize, suffix: &str) -> String {
    match spread(values) {
        Some((m, lo, hi)) => format!(
            "{}{suffix} ({}–{})",
            group(m, decimals),
            group(lo, decimals),
            group(hi, decimals)
        ),
        None => "–".to_owned(),
    }
}

/// A number with thousands separators.
fn group(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(i, f)| (i, f));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        "" => format!("{sign}{out}"),
        f => format!("{sign}{out}.{f}"),
    }
}

fn us(r: &Record, key: &str) -> String {
    let v = num(r, key) / 1e3;
    if v >= 100.0 {
        group(v, 0)
    } else {
        format!("{v:.1}")
    }
}

fn api_name(api: &str) -> &str {
    match api {
        "client" => "`HttpClient`",
        "request" => "`Request` (to a download file)",
        "socket" => "bare socket (control)",
        other => other,
    }
}

pub fn print(path: &str) -> Result<()> {
    let records = read(path)?;
    let of = |kind: &str| -> Vec<&Record> {
        records.iter().filter(|r| text(r, "kind") == kind).collect()
    };

    let runs = of("frame");
    if !runs.is_empty() {
        let r0 = runs[0];
        println!(
            "(1) Frame loop, 1 GiB download: {} frames/s, at most {} network calls and {} µs of \
             network work per frame, chunk {} B\n",
            text(r0, "fps"),
            text(r0, "per_frame"),
            text(r0, "budget_us"),
            group(num(r0, "chunk"), 0)
        );
        println!(
            "| API | round | MB/s | frames | late frames | frames over budget | longest frame \
             (network part) ms | process CPU s/GiB | involuntary switches | load (1 min) |"
        );
        println!("|---|:-:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &runs {
            let bytes = num(r, "bytes");
            println!(
                "| {} | {} | {} | {} | {} | {} | {:.2} | {:.3} | {} | {} |",
                api_name(text(r, "api")),
                text(r, "round"),
                group(bytes / 1e6 / num(r, "wall"), 0),
                group(num(r, "frames"), 0),
                group(num(r, "late_frames"), 0),
                group(num(r, "over_budget_frames"), 0),
                num(r, "longest_frame_work_ns") / 1e6,
                num(r, "cpu") / (bytes / GIB),
                group(num(r, "ivcsw"), 0),
                text(r, "load1"),
            );
        }
        println!();
    }

    let calls = of("call");
    if !calls.is_empty() {
        println!("(1) Every call, timed: wall clock (`Instant`) and the thread's CPU time\n");
        println!(
            "| API | call | round | calls | median µs | p99 µs | p99.9 µs | max µs | > 1 ms | \
             CPU of the longest call µs | CPU p99.9 µs | CPU max µs | > 1 ms CPU |"
        );
        println!("|---|---|:-:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &calls {
            let call = match text(r, "call") {
                "read_chunk" => "`read_response_body_chunk()`",
                "read" => "`read()`",
                _ => "`poll()`",
            };
            println!(
                "| {} | {call} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                api_name(text(r, "api")),
                text(r, "round"),
                group(num(r, "n"), 0),
                us(r, "wall_p50"),
                us(r, "wall_p99"),
                us(r, "wall_p999"),
                us(r, "wall_max"),
                text(r, "wall_over_1ms"),
                us(r, "worst_wall_cpu"),
                us(r, "cpu_p999"),
                us(r, "cpu_max"),
                text(r, "cpu_over_1ms"),
            );
        }
        println!();
    }

    let tight = of("tight");
    if !tight.is_empty() {
        let mut labels: Vec<&str> = Vec::new();
        for r in &tight {
            if !labels.contains(&text(r, "client")) {
                labels.push(text(r, "client"));
            }
        }
        // Per round: the blocking client's MB/s and CPU per GiB that round.
        let base: HashMap<&str, (f64, f64)> = tight
            .iter()
            .filter(|r| text(r, "client") == BASELINE)
            .map(|r| (text(r, "round"), (rate(r), cpu_per_gib(r))))
            .collect();
        println!("(2) Tight loop, 1 GiB download, against the blocking client\n");
        println!(
            "| client | runs | MB/s median (min–max) | × blocking (per round) | process CPU s/GiB \
             median (min–max) | × blocking (per round) | peak RSS MiB median (min–max) | body \
             reads (empty) per run, median |"
        );
        println!("|---|:-:|---:|---:|---:|---:|---:|---:|");
        for label in labels {
            let rows: Vec<&&Record> = tight
                .iter()
                .filter(|r| text(r, "client") == label)
                .collect();
            let rates: Vec<f64> = rows.iter().map(|r| rate(r)).collect();
            let cpus: Vec<f64> = rows.iter().map(|r| cpu_per_gib(r)).collect();
            let rss: Vec<f64> = rows.iter().map(|r| num(r, "hwm_kib") / 1024.0).collect();
            let ratio = |f: fn(&Record) -> f64, i: usize| -> Vec<f64> {
                rows.iter()
                    .filter_map(|r| {
                        let b = base.get(text(r, "round"))?;
                        let b = if i == 0 { b.0 } else { b.1 };
                        Some(f(r) / b)
                    })
                    .collect()
            };
            let times = |v: Vec<f64>| match label {
                BASELINE => "1".to_owned(),
                _ => fmt_spread(&v, 2, "×"),
            };
            let reads: Vec<f64> = rows.iter().map(|r| num(r, "reads")).collect();
            let empty: Vec<f64> = rows.iter().map(|r| num(r, "empty_reads")).collect();
            let med = |v: &[f64]| spread(v).map_or(f64::NAN, |s| s.0);
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} ({}) |",
                tight_name(label),
                rows.len(),
                fmt_spread(&rates, 0, ""),
                times(ratio(rate, 0)),
                fmt_spread(&cpus, 3, ""),
                times(ratio(cpu_per_gib, 1)),
                fmt_spread(&rss, 1, ""),
                group(med(&reads), 0),
                group(med(&empty), 0),
            );
        }
        println!();
    }
    Ok(())
}

fn rate(r: &Record) -> f64 {
    num(r, "bytes") / 1e6 / num(r, "wall")
}

fn cpu_per_gib(r: &Record) -> f64 {
    num(r, "cpu") / (num(r, "bytes") / GIB)
}

fn tight_name(label: &str) -> String {
    match label.split_once('-') {
        Some(("poll", chunk)) => format!(
            "`poll::HttpClient`, chunk {} B",
            group(chunk.parse().unwrap_or(f64::NAN), 0)
        ),
        Some(("socket", buf)) => format!(
            "bare non-blocking socket (control), {} B reads",
            group(buf.parse().unwrap_or(f64::NAN), 0)
        ),
        Some(("blocking", buf)) => format!(
            "`blocking::Client`, `read_body`, {} B buffer",
            group(buf.parse().unwrap_or(f64::NAN), 0)
        ),
        _ => label.to_owned(),
    }
}
