//! The helper of the `envoi` CLI benchmark against `curl` (issue 8); `bench/run-cli-bench.sh`
//! runs it:
//!
//! ```text
//! cli_bench port                                    (a free loopback port)
//! cli_bench stub URL                                (nginx stub_status: "accepts requests")
//! cli_bench run --round R --tag T --client C [--bytes N] [--requests N] [--stub URL]
//!     -- COMMAND [ARGS...]                          (one timed run, a RESULT line)
//! cli_bench report FILE                             (the Markdown table)
//! ```
//!
//! `run` spawns the command with stdout to /dev/null, waits for it with `wait4`, and prints
//! its wall time (from just before the spawn to the reap), its user and system CPU time and
//! its peak RSS (`ru_maxrss`) from that `wait4`. With `--stub`, nginx's "accepts" and
//! "requests" counters are read before and after (outside the timed part) and the command's
//! share of each (the after-reading's own connection and request taken off) is reported too.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

#[path = "../results.rs"]
mod results;
use results::stats;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const USAGE: &str = "usage:
  cli_bench port
  cli_bench stub URL
  cli_bench run --round R --tag T --client C [--bytes N] [--requests N] [--stub URL] -- CMD...
  cli_bench report FILE";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("port") => results::print_free_port().map_err(Into::into),
        Some("stub") => match args.get(1) {
            Some(url) => stub(url).map(|(a, r)| println!("{a} {r}")),
            None => Err(USAGE.into()),
        },
        Some("run") => run(&args[1..]),
        Some("report") => match args.get(1) {
            Some(path) => report(path),
            None => Err(USAGE.into()),
        },
        _ => Err(USAGE.into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cli_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// nginx's stub_status "accepts" and "requests" counters, over a connection of its own.
fn stub(url: &str) -> Result<(u64, u64)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("stub URL must be http://")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut stream = TcpStream::connect(authority)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    // "...\r\n\r\nActive connections: 1 \nserver accepts handled requests\n 7 7 9 \n..."
    let mut lines = text
        .lines()
        .skip_while(|l| !l.starts_with("server accepts"));
    lines
        .next()
        .ok_or("no stub_status counters in the response")?;
    let numbers: Vec<u64> = lines
        .next()
        .ok_or("no stub_status counters in the response")?
        .split_whitespace()
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()?;
    match numbers[..] {
        [accepts, _handled, requests] => Ok((accepts, requests)),
        _ => Err("stub_status counters are not three numbers".into()),
    }
}

fn run(args: &[String]) -> Result<()> {
    let split = args
        .iter()
        .position(|a| a == "--")
        .ok_or("run needs -- COMMAND")?;
    let mut flags = BTreeMap::new();
    let mut it = args[..split].iter();
    while let Some(flag) = it.next() {
        let name = flag.strip_prefix("--").ok_or("flags are --name value")?;
        let value = it.next().ok_or("a flag without its value")?;
        flags.insert(name.to_owned(), value.clone());
    }
    let flag = |name: &str| flags.get(name).cloned();
    let command = &args[split + 1..];
    let program = command.first().ok_or("run needs a command")?;
    let stub_url = flag("stub");
    let before = stub_url.as_deref().map(stub).transpose()?;

    let start = Instant::now();
    let child = Command::new(program)
        .args(&command[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it and the status for our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    let wall = start.elapsed().as_secs_f64();
    if reaped != pid {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()).into());
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("{program} failed: wait status {status:#x}").into());
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let mut line = format!(
        "RESULT round={} tag={} client={} wall_s={wall:.6} user_s={:.6} sys_s={:.6} maxrss_kib={}",
        flag("round").ok_or("--round missing")?,
        flag("tag").ok_or("--tag missing")?,
        flag("client").ok_or("--client missing")?,
        secs(ru.ru_utime),
        secs(ru.ru_stime),
        ru.ru_maxrss,
    );
    for name in ["bytes", "requests"] {
        if let Some(v) = flag(name) {
            line += &format!(" {name}={v}");
        }
    }
    if let (Some(url), Some((accepts0, requests0))) = (stub_url, before) {
        let (accepts1, requests1) = stub(&url)?;
        line += &format!(
            " connections={} served={}",
            accepts1 - accepts0 - 1,
            requests1 - requests0 - 1
        );
    }
    println!("{line}");
    Ok(())
}

/// One `RESULT` line: its `key=value` fields.
type Fields = results::Record;

/// A metric: its name, how to get it from one result, how to print it.
struct Metric {
    name: &'static str,
    value: fn(&Fields) -> Option<f64>,
    decimals: usize,
}

fn get(f: &Fields, key: &str) -> Option<f64> {
    f.get(key)?.parse().ok()
}

fn wall_ms(f: &Fields) -> Option<f64> {
    Some(get(f, "wall_s")? * 1e3)
}
fn cpu_ms(f: &Fields) -> Option<f64> {
    Some((get(f, "user_s")? + get(f, "sys_s")?) * 1e3)
}
fn user_ms(f: &Fields) -> Option<f64> {
    Some(get(f, "user_s")? * 1e3)
}
fn sys_ms(f: &Fields) -> Option<f64> {
    Some(get(f, "sys_s")? * 1e3)
}
fn rss_mib(f: &Fields) -> Option<f64> {
    Some(get(f, "maxrss_kib")? / 1024.0)
}
fn mb_per_s(f: &Fields) -> Option<f64> {
    Some(get(f, "bytes")? / get(f, "wall_s")? / 1e6)
}
fn requests_per_s(f: &Fields) -> Option<f64> {
    Some(get(f, "requests")? / get(f, "wall_s")?)
}
fn connections(f: &Fields) -> Option<f64> {
    get(f, "connections")
}
fn served(f: &Fields) -> Option<f64> {
    get(f, "served")
}
fn min_ms(f: &Fields) -> Option<f64> {
    Some(get(f, "min_s")? * 1e3)
}

fn report(path: &str) -> Result<()> {
    let results = results::read(path)?;
    let sections: [(&str, &str, Vec<Metric>); 3] = [
        (
            "download",
            "(1) 1 GiB download, `-s -o /dev/null URL/big`",
            vec![
                Metric {
                    name: "wall time (ms)",
                    value: wall_ms,
                    decimals: 0,
                },
                Metric {
                    name: "MB/s",
                    value: mb_per_s,
                    decimals: 0,
                },
                Metric {
                    name: "CPU user+sys (ms)",
                    value: cpu_ms,
                    decimals: 0,
                },
                Metric {
                    name: "CPU user (ms)",
                    value: user_ms,
                    decimals: 0,
                },
                Metric {
                    name: "CPU sys (ms)",
                    value: sys_ms,
                    decimals: 0,
                },
                Metric {
                    name: "peak RSS (MiB)",
                    value: rss_mib,
                    decimals: 1,
                },
            ],
        ),
        (
            "many",
            "(2) 1,000 URLs in one call, `-s -o /dev/null URL/small` × 1,000",
            vec![
                Metric {
                    name: "wall time (ms)",
                    value: wall_ms,
                    decimals: 1,
                },
                Metric {
                    name: "requests/s",
                    value: requests_per_s,
                    decimals: 0,
                },
                Metric {
                    name: "CPU user+sys (ms)",
                    value: cpu_ms,
                    decimals: 1,
                },
                Metric {
                    name: "CPU user (ms)",
                    value: user_ms,
                    decimals: 1,
                },
                Metric {
                    name: "CPU sys (ms)",
                    value: sys_ms,
                    decimals: 1,
                },
                Metric {
                    name: "peak RSS (MiB)",
                    value: rss_mib,
                    decimals: 1,
                },
                Metric {
                    name: "connections (nginx accepts)",
                    value: connections,
                    decimals: 0,
                },
                Metric {
                    name: "requests nginx served",
                    value: served,
                    decimals: 0,
                },
            ],
        ),
        (
            "startup",
            "(3) start-up, `--version`, one hyperfine `-N --warmup 20` per round",
            vec![
                Metric {
                    name: "wall time, hyperfine median (ms)",
                    value: wall_ms,
                    decimals: 2,
                },
                Metric {
                    name: "wall time, hyperfine fastest (ms)",
                    value: min_ms,
                    decimals: 2,
                },
                Metric {
                    name: "CPU user+sys, hyperfine mean (ms)",
                    value: cpu_ms,
                    decimals: 2,
                },
                Metric {
                    name: "peak RSS (MiB)",
                    value: rss_mib,
                    decimals: 1,
                },
            ],
        ),
    ];
    println!(
        "| measurement | metric | envoi median (min – max) | curl median (min – max) | \
         envoi/curl per round, median (min – max) |"
    );
    println!("|---|---|---:|---:|---:|");
    for (tag, title, metrics) in &sections {
        let rows: Vec<&Fields> = results
            .iter()
            .filter(|f| f.get("tag").map(String::as_str) == Some(tag))
            .collect();
        if rows.is_empty() {
            continue;
        }
        let rounds = rows
            .iter()
            .filter_map(|f| f.get("round"))
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        for (i, metric) in metrics.iter().enumerate() {
            let of = |client: &str| -> BTreeMap<String, f64> {
                rows.iter()
                    .filter(|f| f.get("client").map(String::as_str) == Some(client))
                    .filter_map(|f| Some((f.get("round")?.clone(), (metric.value)(f)?)))
                    .collect()
            };
            let (envoi, curl) = (of("envoi"), of("curl"));
            if envoi.is_empty() && curl.is_empty() {
                continue;
            }
            let cell = |m: &BTreeMap<String, f64>| {
                let v: Vec<f64> = m.values().copied().collect();
                if v.is_empty() {
                    return "–".to_owned();
                }
                let Some(s) = stats(&v) else {
                    return "–".to_owned();
                };
                let d = metric.decimals;
                format!("{:.d$} ({:.d$} – {:.d$})", s.median, s.min, s.max)
            };
            let ratios: Vec<f64> = envoi
                .iter()
                .filter_map(|(round, e)| Some(e / curl.get(round)?))
                .filter(|r| r.is_finite())
                .collect();
            let ratio = match stats(&ratios) {
                None => "–".to_owned(),
                Some(s) => format!("{:.3}× ({:.3} – {:.3})", s.median, s.min, s.max),
            };
            let first = if i == 0 {
                format!("{title}, {rounds} rounds")
            } else {
                String::new()
            };
            println!(
                "| {first} | {} | {} | {} | {ratio} |",
                metric.name,
                cell(&envoi),
                cell(&curl)
            );
        }
    }
    let loads: Vec<f64> = results
        .iter()
        .filter(|f| f.get("tag").map(String::as_str) == Some("load"))
        .filter_map(|f| get(f, "load1"))
        .collect();
    if let Some(s) = stats(&loads) {
        println!(
            "\nLoad average (1 min) at the start of each round: median {:.2}, {:.2} – {:.2}.",
            s.median, s.min, s.max
        );
    }
    Ok(())
}
