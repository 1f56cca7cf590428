//! Markdown tables from the `RESULT` lines of one script run: medians over the runs, their
//! range, and ratios to the best peer (envoi, envoi-gzip and wrk are not peers).
//!
//! A ratio is computed per round (each round runs every client once, one after the other,
//! so they share that moment's load) against the peer with the best median, and the table
//! gives the median ratio with its range over the rounds.

use crate::measure::Result;
use crate::results::{num, read, stats, Record};

const CLIENTS: [&str; 7] = [
    "envoi",
    "envoi-gzip",
    "ureq",
    "reqwest",
    "hyper",
    "curl",
    "wrk",
];
const PEERS: [&str; 4] = ["ureq", "reqwest", "hyper", "curl"];
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// One measured quantity of a scenario.
struct Metric {
    title: &'static str,
    value: fn(&Record) -> f64,
    higher_is_better: bool,
    decimals: usize,
}

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
fn cpu_us_per_req(r: &Record) -> f64 {
    num(r, "cpu") / num(r, "count") * 1e6
}
fn mb_per_s(r: &Record) -> f64 {
    num(r, "bytes") / num(r, "wall") / 1e6
}
fn cpu_s_per_gib(r: &Record) -> f64 {
    num(r, "cpu") / (num(r, "bytes") / GIB)
}
fn rss_mib(r: &Record) -> f64 {
    num(r, "hwm_kib") / 1024.0
}
fn on_cpu(r: &Record) -> f64 {
    num(r, "cpu") / num(r, "wall") * 100.0
}

fn wire_ratio(r: &Record) -> f64 {
    num(r, "bytes") / num(r, "nginx_sent")
}

fn fmt(x: f64, decimals: usize) -> String {
    format!("{x:.decimals$}")
}

/// One table: a row per client, for each metric its median (range) and ratio to the best peer.
fn table(records: &[Record], tag: &str, metrics: &[Metric]) {
    let of: Vec<&Record> = records
        .iter()
        .filter(|r| r.get("tag").map(String::as_str) == Some(tag))
        .collect();
    if of.is_empty() {
        println!("(no results for `{tag}`)\n");
        return;
    }
    let mut head = String::from("| client | runs |");
    let mut rule = String::from("|---|:-:|");
    for m in metrics {
        head += &format!(" {} median (min–max) | × best peer (per round) |", m.title);
        rule += "---:|---:|";
    }
    head += " on-CPU |";
    rule += "---:|";
    println!("{head}\n{rule}");
    for client in CLIENTS {
        let rows: Vec<&&Record> = of.iter().filter(|r| r["client"] == client).collect();
        if rows.is_empty() {
            continue;
        }
        let mut line = format!("| {client} | {} |", rows.len());
        for m in metrics {
            let values: Vec<f64> = rows.iter().map(|r| (m.value)(r)).collect();
            let Some(s) = stats(&values) else {
                line += " – | – |";
                continue;
            };
            line += &format!(
                " {} ({}–{}) | {} |",
                fmt(s.median, m.decimals),
                fmt(s.min, m.decimals),
                fmt(s.max, m.decimals),
                ratio(&of, client, m)
            );
        }
        let busy = stats(&rows.iter().map(|r| on_cpu(r)).collect::<Vec<_>>());
        line += &format!(
            " {} |",
            busy.map_or("–".into(), |s| format!("{:.0}%", s.median))
        );
        println!("{line}");
    }
    println!();
}

/// The client's value over the best peer's, round by round: "1.05× (0.97–1.12)".
fn ratio(of: &[&Record], client: &str, m: &Metric) -> String {
    let medians: Vec<(&str, f64)> = PEERS
        .iter()
        .filter_map(|p| {
            let v: Vec<f64> = of
                .iter()
                .filter(|r| r["client"] == *p)
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
        return "–".into();
    };
    let per_round: Vec<f64> = of
        .iter()
        .filter(|r| r["client"] == client)
        .filter_map(|r| {
            let peer = of
                .iter()
                .find(|p| p["client"] == best && p.get("round") == r.get("round"))?;
            Some((m.value)(r) / (m.value)(peer))
        })
        .collect();
    match stats(&per_round) {
        Some(_) if client == best => format!("1 ({best})"),
        Some(s) => format!("{:.2}× ({:.2}–{:.2})", s.median, s.min, s.max),
        None => "–".into(),
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn machine_line(records: &[Record]) {
    let loads = stats(&records.iter().map(|r| num(r, "load1")).collect::<Vec<_>>());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "Machine: {}, nproc {cores}. Load average (1 min) during the runs: {}.\n",
        cpu_model(),
        loads.map_or("?".into(), |s| format!(
            "median {:.2}, {:.2}–{:.2}",
            s.median, s.min, s.max
        ))
    );
}

pub fn print(path: &str) -> Result<()> {
    let records = read(path)?;
    machine_line(&records);
    let get = [
        Metric {
            title: "requests/s",
            value: req_per_s,
            higher_is_better: true,
            decimals: 0,
        },
        Metric {
            title: "client CPU µs/request",
            value: cpu_us_per_req,
            higher_is_better: false,
            decimals: 1,
        },
    ];
    println!(
        "### 1a. Sequential small GETs, one keep-alive connection, client and nginx on one core\n"
    );
    table(&records, "get-pinned", &get);
    println!("### 1b. Sequential small GETs, client on core 0, nginx on core 1\n");
    table(&records, "get-split", &get);
    let conns: Vec<String> = records
        .iter()
        .filter(|r| r.get("conns").is_some_and(|c| c != "1"))
        .map(|r| {
            format!(
                "{} {} round {}: {} connections",
                r["tag"],
                r["client"],
                r.get("round").map_or("?", |s| s),
                r["conns"]
            )
        })
        .collect();
    if conns.is_empty() {
        println!("Every GET run used exactly one connection (nginx stub_status accepts).\n");
    } else {
        println!(
            "Runs that used more than one connection: {}\n",
            conns.join("; ")
        );
    }
    let download = [
        Metric {
            title: "MB/s",
            value: mb_per_s,
            higher_is_better: true,
            decimals: 0,
        },
        Metric {
            title: "client CPU s/GiB",
            value: cpu_s_per_gib,
            higher_is_better: false,
            decimals: 3,
        },
        Metric {
            title: "peak RSS MiB",
            value: rss_mib,
            higher_is_better: false,
            decimals: 1,
        },
    ];
    println!("### 2a. 1 GiB download, plain HTTP (nginx, sendfile)\n");
    table(&records, "dl-plain", &download);
    println!("### 2b. 1 GiB download over TLS (nginx, TLS 1.3)\n");
    table(&records, "dl-tls", &download);
    let upload = [
        Metric {
            title: "MB/s",
            value: mb_per_s,
            higher_is_better: true,
            decimals: 0,
        },
        Metric {
            title: "client CPU s/GiB",
            value: cpu_s_per_gib,
            higher_is_better: false,
            decimals: 3,
        },
    ];
    println!("### 3. 256 MiB upload to envoi-testserver's /upload-sink?sha256=false\n");
    table(&records, "upload", &upload);
    build_table(&records);
    Ok(())
}

/// The minimal "GET a URL and print it" programs: stripped size and clean release build.
fn build_table(records: &[Record]) {
    // BUILD=0 leaves no size or build records: no table rather than one of NaNs.
    let built = |r: &Record| r.get("tag").is_some_and(|t| t == "size" || t == "build");
    if !records.iter().any(built) {
        return;
    }
    println!("### 4. Minimal \"GET a URL and print it\" program, clean `cargo build --release`\n");
    println!(
        "| program | stripped size (bytes) | MiB | builds | build wall s median (min–max) | \
         build CPU s (user+sys) median (min–max) |"
    );
    println!("|---|---:|---:|:-:|---:|---:|");
    let of = |tag: &str, client: &str, key: &str| -> Vec<f64> {
        records
            .iter()
            .filter(|r| r["tag"] == tag && r["client"] == client)
            .map(|r| num(r, key))
            .collect()
    };
    let shown = |values: &[f64]| match stats(values) {
        Some(s) if s.min < s.max => format!("{:.1} ({:.1}–{:.1})", s.median, s.min, s.max),
        Some(s) => format!("{:.1}", s.median),
        None => "–".to_owned(),
    };
    let median = |values: &[f64]| stats(values).map_or(f64::NAN, |s| s.median);
    let mut rows = Vec::new();
    for client in ["envoi", "envoi-min", "ureq"] {
        let size = median(&of("size", client, "bytes"));
        let (wall, cpu) = (of("build", client, "wall"), of("build", client, "cpu"));
        println!(
            "| {client} | {size:.0} | {:.2} | {} | {} | {} |",
            size / 1048576.0,
            wall.len(),
            shown(&wall),
            shown(&cpu)
        );
        rows.push((size, median(&wall), median(&cpu)));
    }
    if let [e, m, u] = rows[..] {
        for (name, r) in [("envoi", e), ("envoi-min", m)] {
            println!(
                "| {name} ÷ ureq (medians) | {:.2}× | | | {:.2}× | {:.2}× |",
                r.0 / u.0,
                r.1 / u.1,
                r.2 / u.2
            );
        }
    }
    println!();
}

/// The decode benchmark (`bench/run-decode-bench.sh`, issue 5): a gzip-encoded body decoded
/// by each client, the same body sent as it is (identity, no decoding) as the baseline, and
/// what nginx's access log says each response was.
pub fn print_decode(path: &str) -> Result<()> {
    let records = read(path)?;
    machine_line(&records);
    let metrics = [
        Metric {
            title: "decoded MB/s",
            value: mb_per_s,
            higher_is_better: true,
            decimals: 0,
        },
        Metric {
            title: "client CPU s/GiB decoded",
            value: cpu_s_per_gib,
            higher_is_better: false,
            decimals: 3,
        },
        Metric {
            title: "peak RSS MiB",
            value: rss_mib,
            higher_is_better: false,
            decimals: 1,
        },
    ];
    println!("### (a) gzip-encoded body, decoded by the client\n");
    table(&records, "decode", &metrics);
    let baseline = [
        Metric {
            title: "MB/s",
            ..metrics[0]
        },
        Metric {
            title: "client CPU s/GiB",
            ..metrics[1]
        },
        Metric { ..metrics[2] },
    ];
    println!("### (b) the same body sent as it is (identity), nothing to decode\n");
    table(&records, "identity", &baseline);

    println!("### (c) CPU the decoding itself costs (medians of (a) minus (b))\n");
    println!("| client | decode CPU s/GiB | identity CPU s/GiB | difference s/GiB | decoding MB/s of CPU |");
    println!("|---|---:|---:|---:|---:|");
    let median = |tag: &str, client: &str, f: fn(&Record) -> f64| {
        let v: Vec<f64> = records
            .iter()
            .filter(|r| r["tag"] == tag && r["client"] == client)
            .map(f)
            .collect();
        stats(&v).map_or(f64::NAN, |s| s.median)
    };
    for client in CLIENTS {
        let decode = median("decode", client, cpu_s_per_gib);
        if decode.is_nan() {
            continue;
        }
        let identity = median("identity", client, cpu_s_per_gib);
        let diff = decode - identity;
        println!(
            "| {client} | {decode:.3} | {identity:.3} | {diff:.3} | {:.0} |",
            GIB / diff / 1e6
        );
    }
    println!();

    // What nginx's log says each response was, and what the clients saw themselves.
    let decode: Vec<&Record> = records.iter().filter(|r| r["tag"] == "decode").collect();
    let gzip = decode
        .iter()
        .filter(|r| r.get("nginx_ce").map(String::as_str) == Some("gzip"))
        .count();
    let sent = stats(
        &decode
            .iter()
            .map(|r| num(r, "nginx_sent"))
            .collect::<Vec<_>>(),
    );
    let ratio = stats(&decode.iter().map(|r| wire_ratio(r)).collect::<Vec<_>>());
    println!(
        "nginx's access log: {gzip} of {} decode responses sent with `Content-Encoding: gzip`, \
         body {} bytes on the wire (decoded {}× larger).",
        decode.len(),
        sent.as_ref()
            .map_or("?".into(), |s| format!("{:.0}", s.median)),
        ratio.map_or("?".into(), |s| format!("{:.2}", s.median)),
    );
    for client in CLIENTS {
        let rows: Vec<&&Record> = decode.iter().filter(|r| r["client"] == client).collect();
        let Some(first) = rows.first() else { continue };
        let seen = first.get("encoding").map_or("?", String::as_str);
        let wire = first.get("wire").map_or("?", String::as_str);
        if seen != "?" || wire != "?" {
            println!(
                "- {client} itself saw `Content-Encoding: {seen}` and {wire} body bytes on the wire."
            );
        }
    }
    let identity: Vec<&Record> = records.iter().filter(|r| r["tag"] == "identity").collect();
    let plain = identity
        .iter()
        .filter(|r| r.get("nginx_ce").map(String::as_str) == Some("-"))
        .count();
    println!(
        "\nnginx's access log: {plain} of {} identity responses sent without Content-Encoding.\n",
        identity.len()
    );
    Ok(())
}
