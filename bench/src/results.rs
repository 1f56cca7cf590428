//! The `RESULT key=value ...` lines every benchmark binary prints, read back, and the
//! statistics the reports take of them: written once for the reports of every benchmark,
//! each binary including this file with `#[path]`.

// Shared by several binaries; each uses a part.
#![allow(dead_code)]

use std::collections::HashMap;

/// One `RESULT` line: its `key=value` fields.
pub type Record = HashMap<String, String>;

/// The `RESULT` lines of `text`; other lines (progress, tables) are skipped.
pub fn parse(text: &str) -> Vec<Record> {
    text.lines()
        .filter_map(|l| l.strip_prefix("RESULT "))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// The `RESULT` lines of the file at `path`.
pub fn read(path: &str) -> std::io::Result<Vec<Record>> {
    Ok(parse(&std::fs::read_to_string(path)?))
}

/// A field as a number; NaN when it is missing or not one (`?`), so it drops out of
/// [`stats`].
pub fn num(r: &Record, key: &str) -> f64 {
    r.get(key).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
}

/// Median, least and greatest of a set of runs.
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// The [`Stats`] of the finite values; `None` when there are none.
pub fn stats(values: &[f64]) -> Option<Stats> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Stats {
        median,
        min: v[0],
        max: v[n - 1],
    })
}

/// Prints a loopback port that was free a moment ago (the scripts' `port` subcommand).
pub fn print_free_port() -> std::io::Result<()> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    println!("{}", listener.local_addr()?.port());
    Ok(())
}
