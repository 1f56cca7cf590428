//! Markdown tables from the `RESULT` lines of `bench/run-concurrent-bench.sh`: per runtime
//! shape (`threads=1|2`), a row per client with medians over the rounds, their range, and
//! ratios to the best peer; then every round's figures as they came.
//!
//! A ratio is taken per round (each round runs every client once, one after the other, so
//! they share that moment's load) against the peer (reqwest, hyper) with the best median;
//! the table gives the median ratio and its range over the rounds. envoi and wrk are not
//! peers; wrk (one run per round, `tag=wrk`) is shown in every table as the ceiling.

use std::collections::BTreeSet;

use crate::measure::Result;
use crate::results::{num, read, stats, Record, Stats};

const CLIENTS: [&str; 4] = ["envoi", "hyper", "reqwest", "wrk"];
const PEERS: [&str; 2] = ["hyper", "reqwest"];

fn wall(r: &Record) -> f64 {
    let wrk = num(r, "wrk_secs");
    if wrk.is_finite() {
        wrk
    } else {
        num(r, "wall")
    }
}

fn req_per_s(r: &Record) -> f64 {
    num(r, "count") / wall(r)
}
fn cpu_us(r: &Record) -> f64 {
    num(r, "cpu") / num(r, "count") * 1e6
}
fn user_us(r: &Record) -> f64 {
    num(r, "user") / num(r, "count") * 1e6
}
fn sys_us(r: &Record) -> f64 {
    num(r, "sys") / num(r, "count") * 1e6
}
fn rss_mib(r: &Record) -> f64 {
    num(r, "hwm_kib") / 1024.0
}
fn on_cpu(r: &Record) -> f64 {
    num(r, "cpu") / num(r, "wall") * 100.0
}
fn conns(r: &Record) -> f64 {
    num(r, "conns")
}
fn warm_conns(r: &Record) -> f64 {
    num(r, "warm_conns")
}
fn csw_per_req(r: &Record) -> f64 {
    (num(r, "vcsw") + num(r, "ivcsw")) / num(r, "count")
}

/// `1234567.8` as `1,234,568` (no decimals) or `12.3`.
fn fmt(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return "–".to_owned();
    }
    let s = format!("{x:.decimals$}");
    if decimals > 0 || x.abs() < 10_000.0 {
        return s;
    }
    let (sign, digits) = s.split_at(usize::from(s.starts_with('-')));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

fn range(s: &Stats, decimals: usize) -> String {
    format!(
        "{} ({}–{})",
        fmt(s.median, decimals),
        fmt(s.min, decimals),
        fmt(s.max, decimals)
    )
}

/// One measured quantity.
struct Metric {
    title: &'static str,
    value: fn(&Record) -> f64,
    higher_is_better: bool,
    decimals: usize,
    /// Compared with reqwest's (the bar for memory) rather than the best peer's.
    against_reqwest: bool,
}

const METRICS: [Metric; 3] = [
    Metric {
        title: "requests/s",
        value: req_per_s,
        higher_is_better: true,
        decimals: 0,
        against_reqwest: false,
    },
    Metric {
        title: "client CPU µs/request",
        value: cpu_us,
        higher_is_better: false,
        decimals: 1,
        against_reqwest: false,
    },
    Metric {
        title: "peak RSS MiB",
        value: rss_mib,
        higher_is_better: false,
        decimals: 1,
        against_reqwest: true,
    },
];

fn round_of(r: &Record) -> &str {
    r.get("round").map_or("1", String::as_str)
}

/// The rows of one table: the runs of `threads`, and wrk's.
fn rows<'a>(records: &'a [Record], threads: &str, client: &str) -> Vec<&'a Record> {
    records
        .iter()
        .filter(|r| r["client"] == client)
        .filter(|r| client == "wrk" || r.get("threads").map(String::as_str) == Some(threads))
        .collect()
}

fn table(records: &[Record], threads: &str) {
    let mut head = String::from("| client | runs |");
    let mut rule = String::from("|---|:-:|");
    for m in &METRICS {
        let against = if m.against_reqwest {
            "× reqwest's"
        } else {
            "× best peer"
        };
        head += &format!(" {} median (min–max) | {against} (per round) |", m.title);
        rule += "---:|---:|";
    }
    head += " on-CPU % | conns opened (warm-up + timed) |";
    rule += "---:|---:|";
    println!("{head}\n{rule}");
    for client in CLIENTS {
        let mine = rows(records, threads, client);
        if mine.is_empty() {
            continue;
        }
        let mut line = format!("| {client} | {} |", mine.len());
        for m in &METRICS {
            let values: Vec<f64> = mine.iter().map(|r| (m.value)(r)).collect();
            let Some(s) = stats(&values) else {
                line += " – | – |";
                continue;
            };
            line += &format!(
                " {} | {} |",
                range(&s, m.decimals),
                ratio(records, threads, client, m)
            );
        }
        let cpu = stats(&mine.iter().map(|r| on_cpu(r)).collect::<Vec<_>>());
        line += &format!(" {} |", cpu.map_or("–".to_owned(), |s| fmt(s.median, 0)));
        let warm: BTreeSet<String> = mine.iter().map(|r| fmt(warm_conns(r), 0)).collect();
        let timed: BTreeSet<String> = mine.iter().map(|r| fmt(conns(r), 0)).collect();
        let join = |s: BTreeSet<String>| s.into_iter().collect::<Vec<_>>().join("/");
        if client == "wrk" {
            line += &format!(" {} |", join(timed));
        } else {
            line += &format!(" {} + {} |", join(warm), join(timed));
        }
        println!("{line}");
    }
    println!();
    let mut detail = Vec::new();
    for client in CLIENTS {
        let mine = rows(records, threads, client);
        let (Some(u), Some(s), Some(c)) = (
            stats(&mine.iter().map(|r| user_us(r)).collect::<Vec<_>>()),
            stats(&mine.iter().map(|r| sys_us(r)).collect::<Vec<_>>()),
            stats(&mine.iter().map(|r| csw_per_req(r)).collect::<Vec<_>>()),
        ) else {
            continue;
        };
        detail.push(format!(
            "{client} {} / {} ({} context switches per request)",
            fmt(u.median, 1),
            fmt(s.median, 1),
            fmt(c.median, 2)
        ));
    }
    println!(
        "Client CPU per request, user / system µs (medians): {}.\n",
        detail.join(", ")
    );
}

/// The per-round ratio of `client` to the peer with the best median (or to reqwest, for
/// peak RSS), as "median (min–max)", or "1 (name)" for that peer itself.
fn ratio(records: &[Record], threads: &str, client: &str, m: &Metric) -> String {
    let peers: &[&str] = if m.against_reqwest {
        &["reqwest"]
    } else {
        &PEERS
    };
    let medians: Vec<(&str, f64)> = peers
        .iter()
        .filter_map(|p| {
            let v: Vec<f64> = rows(records, threads, p)
                .iter()
                .map(|r| (m.value)(r))
                .collect();
            stats(&v).map(|s| (*p, s.median))
        })
        .collect();
    let best = medians.iter().copied().reduce(|a, b| {
        let better = if m.higher_is_better {
            b.1 > a.1
        } else {
            b.1 < a.1
        };
        if better {
            b
        } else {
            a
        }
    });
    let Some((best, _)) = best else {
        return "–".to_owned();
    };
    if best == client {
        return format!("1 ({best})");
    }
    let peer_rows = rows(records, threads, best);
    let ratios: Vec<f64> = rows(records, threads, client)
        .iter()
        .filter_map(|r| {
            let peer = peer_rows.iter().find(|p| round_of(p) == round_of(r))?;
            Some((m.value)(r) / (m.value)(peer))
        })
        .collect();
    match stats(&ratios) {
        Some(s) => format!(
            "{}× ({}–{})",
            fmt(s.median, 2),
            fmt(s.min, 2),
            fmt(s.max, 2)
        ),
        None => "–".to_owned(),
    }
}

/// Every round as it came: requests/s per client and the 1-minute load average.
fn per_round(records: &[Record], threads: &str) {
    let rounds: BTreeSet<u64> = records
        .iter()
        .filter_map(|r| round_of(r).parse().ok())
        .collect();
    let clients: Vec<&str> = CLIENTS
        .into_iter()
        .filter(|c| !rows(records, threads, c).is_empty())
        .collect();
    println!(
        "| round | {} | load (1 min) |\n|:-:|{}---:|",
        clients.join(" req/s | ") + " req/s",
        "---:|".repeat(clients.len())
    );
    for round in rounds {
        let mut line = format!("| {round} |");
        let mut loads = Vec::new();
        for c in &clients {
            let here = rows(records, threads, c)
                .into_iter()
                .find(|r| round_of(r) == round.to_string());
            match here {
                Some(r) => {
                    line += &format!(" {} |", fmt(req_per_s(r), 0));
                    loads.push(r.get("load1").cloned().unwrap_or_default());
                }
                None => line += " – |",
            }
        }
        line += &format!(" {} |", loads.join(", "));
        println!("{line}");
    }
    println!();
}

pub fn print(path: &str) -> Result<()> {
    let records = read(path)?;
    let shapes: BTreeSet<String> = records
        .iter()
        .filter_map(|r| r.get("threads").cloned())
        .collect();
    // Two worker threads first: the configuration.
    for threads in shapes.iter().rev() {
        let tasks = records
            .iter()
            .find(|r| r.get("threads") == Some(threads))
            .and_then(|r| r.get("tasks").cloned())
            .unwrap_or_default();
        let shape = if threads == "1" {
            "a current-thread tokio runtime".to_owned()
        } else {
            format!("a multi-thread tokio runtime with {threads} workers")
        };
        println!("{tasks} concurrent small GETs, {shape} (wrk -t2 -c{tasks} as the ceiling)\n");
        table(&records, threads);
        per_round(&records, threads);
    }
    Ok(())
}
