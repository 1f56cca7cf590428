//! The Markdown tables: medians, ranges, and time ratios against each group's first case.

use crate::wire::{READ_SIZE, SMALL_RESPONSE};
use crate::{Case, Group, Options};

struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

fn stats(values: &[f64]) -> Stats {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Stats {
        median,
        min: sorted[0],
        max: sorted[n - 1],
    }
}

fn rate(group: Group, value: f64) -> String {
    match group {
        Group::Small => format!("{:.2} M/s", value / 1e6),
        Group::Chunked | Group::Length => format!("{:.2} GB/s", value / 1e9),
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

pub fn print(cases: &[Case], options: &Options, body_len: usize) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "CPU: {}, {cores} cores. {} runs of ~{} ms per case, interleaved, timed in {}. \
         Small response: {} bytes. Large body: {} MiB in {} KiB reads.",
        cpu_model(),
        options.runs,
        options.sample.as_millis(),
        if options.wall {
            "wall-clock time"
        } else {
            "thread CPU time"
        },
        SMALL_RESPONSE.len(),
        body_len / (1024 * 1024),
        READ_SIZE / 1024,
    );
    println!();
    for (group, title) in [
        (Group::Small, "(a) small keep-alive responses"),
        (
            Group::Chunked,
            "(b) chunked body in 64 KiB chunks, 64 KiB reads into a 64 KiB buffer",
        ),
        (
            Group::Length,
            "(b′, b″) Content-Length body, 64 KiB reads into a 64 KiB buffer",
        ),
    ] {
        let members: Vec<&Case> = cases.iter().filter(|c| c.group == group).collect();
        // The first case of a group is its yardstick: httparse, or memcpy.
        let Some(&baseline) = members.first() else {
            continue;
        };
        let (unit, extra) = match group {
            Group::Small => ("responses/s", "ns/response"),
            Group::Chunked | Group::Length => ("GB/s", "copies/byte"),
        };
        println!("{title}");
        println!();
        println!(
            "| case | id | {extra} | {unit} (median) | min – max | spread | on-CPU | \
             time vs `{}` (median, min–max) |",
            baseline.id
        );
        println!("|---|---|:-:|---:|---:|---:|---:|---:|");
        for case in &members {
            let s = stats(&case.rates);
            // Time ratios are taken round by round, against the baseline's sample of the same
            // round, so slow stretches of the shared machine cancel out.
            let ratios: Vec<f64> = baseline
                .rates
                .iter()
                .zip(&case.rates)
                .map(|(b, c)| b / c)
                .collect();
            let r = stats(&ratios);
            let extra = match group {
                Group::Small => format!("{:.0}", 1e9 / s.median),
                Group::Chunked | Group::Length => case.copies.to_owned(),
            };
            println!(
                "| {} | `{}` | {} | {} | {} – {} | ±{:.1}% | {:.0}% | {:.3}× ({:.3}–{:.3}) |",
                case.name,
                case.id,
                extra,
                rate(group, s.median),
                rate(group, s.min),
                rate(group, s.max),
                (s.max - s.min) / s.median * 50.0,
                stats(&case.on_cpu).median * 100.0,
                r.median,
                r.min,
                r.max,
            );
        }
        println!();
    }
}
