//! Parse-and-frame throughput of envoi-proto on in-memory bytes, beside httparse, memcpy and
//! hyper (issue 3). Prints Markdown tables ready for BENCHMARKS.md, one per group of cases;
//! the first case of a group is the baseline its ratios are taken against.
//!
//! `cargo run --release -p envoi-bench --bin proto_bench -- [--runs N] [--mib N]
//! [--sample-ms N] [--only ID,ID] [--wall] [--iters N]`
//!
//! Every case runs once per round and the rounds interleave the cases, so a burst of load
//! from elsewhere on a shared machine lands on all of them alike rather than on one; ratios
//! are taken within a round, then their median is reported. Samples are timed in thread CPU
//! time unless `--wall` (see `clock.rs`).

mod clock;
mod envoi;
mod peers;
mod report;
mod sink;
mod wire;

use std::time::{Duration, Instant};

use clock::Stamp;
use envoi::Feed;
use peers::HyperClient;
use sink::{Aligned, Check, CopyOut, Count};
use wire::{LargeWires, READ_SIZE};

/// Cases are reported by group; the first case of a group is its baseline.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// (a): units are responses.
    Small,
    /// (b): the chunked body; units are body bytes.
    Chunked,
    /// (b′), (b″): the Content-Length body; units are body bytes.
    Length,
}

pub struct Case {
    pub id: &'static str,
    pub group: Group,
    pub name: &'static str,
    /// Copies of each body byte the loop makes, the simulated socket read included.
    pub copies: &'static str,
    /// Runs `iters` iterations, returns the units done.
    run: Box<dyn FnMut(u64) -> u64>,
    /// Iterations per sample, set by calibration.
    iters: u64,
    /// Units per second, one per round, by the clock in force.
    pub rates: Vec<f64>,
    /// CPU time over wall time, one per round: the share of the sample the case had a core.
    pub on_cpu: Vec<f64>,
}

pub struct Options {
    pub runs: usize,
    pub mib: usize,
    pub sample: Duration,
    pub only: Option<Vec<String>>,
    pub wall: bool,
    /// Fixed iterations per sample instead of calibrating, for runs under a profiler.
    pub iters: Option<u64>,
}

fn parse_options() -> Options {
    let mut options = Options {
        runs: 15,
        mib: 256,
        sample: Duration::from_millis(200),
        only: None,
        wall: false,
        iters: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        let number = |v: String| v.parse::<u64>().unwrap_or_else(|_| usage("not a number"));
        match arg.as_str() {
            "--runs" => options.runs = number(value()).max(1) as usize,
            "--mib" => options.mib = number(value()).max(1) as usize,
            "--sample-ms" => options.sample = Duration::from_millis(number(value())),
            "--only" => options.only = Some(value().split(',').map(str::to_owned).collect()),
            "--wall" => options.wall = true,
            "--iters" => options.iters = Some(number(value()).max(1)),
            _ => usage(&format!("unknown argument {arg}")),
        }
    }
    options
}

fn usage(why: &str) -> ! {
    eprintln!("proto_bench: {why}");
    eprintln!(
        "usage: proto_bench [--runs N] [--mib N] [--sample-ms N] [--only ID,ID] [--wall] \
         [--iters N]"
    );
    std::process::exit(2)
}

fn main() {
    let options = parse_options();
    let body_len = options.mib * 1024 * 1024;
    eprintln!("building {} MiB bodies…", options.mib);
    let wires = LargeWires::build(body_len, READ_SIZE);
    check_large_cases(&wires);

    let mut cases = build_cases(&wires);
    if let Some(only) = &options.only {
        cases.retain(|c| only.iter().any(|id| id == c.id));
        // In the order given, so order effects can be checked; a group's first is its baseline.
        cases.sort_by_key(|c| only.iter().position(|id| id == c.id));
        if cases.is_empty() {
            usage("--only matched no case id");
        }
    }
    for case in &mut cases {
        case.iters = match options.iters {
            Some(n) => n,
            None => calibrate(&mut case.run, options.sample),
        };
        eprintln!("{:<18} {} iterations per sample", case.id, case.iters);
    }
    let count = cases.len();
    for round in 0..options.runs {
        eprintln!("round {}/{}", round + 1, options.runs);
        // Each round starts one case later, so no case is always first in a round or always
        // after the same neighbour: order effects of a few percent showed up on this machine.
        for k in 0..count {
            let case = &mut cases[(k + round) % count];
            let start = Stamp::now();
            let units = (case.run)(case.iters);
            let elapsed = start.elapsed();
            let secs = if options.wall {
                elapsed.wall
            } else {
                elapsed.cpu
            };
            case.rates.push(units as f64 / secs.as_secs_f64());
            case.on_cpu
                .push(elapsed.cpu.as_secs_f64() / elapsed.wall.as_secs_f64());
        }
    }
    report::print(&cases, &options, wires.body.len());
}

/// Runs every large-body loop once with a checking sink: the timed loops are the same code,
/// so they deliver the body exactly and in order too.
fn check_large_cases(wires: &LargeWires) {
    let head = envoi::get_head();
    for (wire, feed) in [
        (wires.chunked, Feed::Receive),
        (wires.chunked, Feed::ReceiveWith),
        (wires.chunked, Feed::Direct),
        (wires.chunked, Feed::DirectSmallFramingReads),
        (wires.length, Feed::Receive),
        (wires.length, Feed::ReceiveWith),
        (wires.length, Feed::Direct),
        (wires.length, Feed::DirectSmallFramingReads),
    ] {
        let mut check = Check::new(wires.body);
        envoi::large_body(&head, wire, feed, &mut check);
        check.finish();
    }
    let hyper = HyperClient::new();
    for wire in [wires.chunked, wires.length] {
        let mut check = Check::new(wires.body);
        hyper.run(wire, READ_SIZE, 1, &mut check);
        check.finish();
    }
    envoi::small_responses(&head, 3);
    hyper.small_responses(3);
    eprintln!("checked: every loop delivers the body exactly");
}

fn build_cases(wires: &LargeWires) -> Vec<Case> {
    let head = envoi::get_head();
    let (chunked, length) = (wires.chunked, wires.length);
    let case = |group, id, name, copies, run: Box<dyn FnMut(u64) -> u64>| Case {
        id,
        group,
        name,
        copies,
        run,
        iters: 0,
        rates: Vec::new(),
        on_cpu: Vec::new(),
    };
    // One loop body per (wire, feed, sink) so each case is its own monomorphised loop.
    let envoi_case = move |wire: &'static [u8], feed: Feed, copy: bool| {
        let head = envoi::get_head();
        let mut out = CopyOut::new(READ_SIZE);
        let run: Box<dyn FnMut(u64) -> u64> = if copy {
            Box::new(move |n| {
                (0..n)
                    .map(|_| envoi::large_body(&head, wire, feed, &mut out))
                    .sum()
            })
        } else {
            Box::new(move |n| {
                let mut count = Count { total: 0 };
                (0..n).for_each(|_| {
                    envoi::large_body(&head, wire, feed, &mut count);
                });
                count.total
            })
        };
        run
    };
    let hyper_case = |wire: &'static [u8]| -> Box<dyn FnMut(u64) -> u64> {
        let hyper = HyperClient::new();
        let mut out = CopyOut::new(READ_SIZE);
        Box::new(move |n| hyper.run(wire, READ_SIZE, n, &mut out))
    };
    // Each wire has its own memcpy baseline over its very bytes and 64 KiB reads: on this
    // machine a plain copy of one 256 MiB buffer ran a few percent slower than of another
    // (physical placement), which is as large as the effect under test.
    let memcpy_case = |wire: &'static [u8]| -> Box<dyn FnMut(u64) -> u64> {
        let mut dst = Aligned::new(READ_SIZE);
        Box::new(move |n| (0..n).map(|_| peers::memcpy(wire, dst.get())).sum())
    };
    let hyper = HyperClient::new();
    let mut dst = Aligned::new(READ_SIZE);
    let mut read_buf = Aligned::new(READ_SIZE);
    let (small, c, l) = (Group::Small, Group::Chunked, Group::Length);
    vec![
        case(
            small,
            "httparse",
            "httparse: parse the head only (the floor)",
            "",
            Box::new(peers::httparse_heads),
        ),
        case(
            small,
            "envoi-small",
            "envoi: encode GET, receive, events to End, ready_for_request",
            "",
            Box::new(move |n| envoi::small_responses(&head, n)),
        ),
        case(
            small,
            "hyper-small",
            "hyper 1.x client, in-memory IO, tokio current-thread",
            "",
            Box::new(move |n| hyper.small_responses(n)),
        ),
        case(
            c,
            "memcpy-chunked",
            "memcpy of the wire, 64 KiB reads (baseline)",
            "1",
            memcpy_case(chunked),
        ),
        case(
            c,
            "memcpy2",
            "memcpy twice: into a read buffer, then out",
            "2",
            Box::new(move |n| {
                (0..n)
                    .map(|_| peers::memcpy_twice(chunked, read_buf.get(), dst.get()))
                    .sum()
            }),
        ),
        case(
            c,
            "chunked-sum",
            "envoi: receive, Data lengths summed",
            "1",
            envoi_case(chunked, Feed::Receive, false),
        ),
        case(
            c,
            "chunked-with",
            "envoi: receive_with, Data lengths summed",
            "1 + zero fill",
            envoi_case(chunked, Feed::ReceiveWith, false),
        ),
        case(
            c,
            "chunked-copy",
            "envoi: receive, Data copied out",
            "2",
            envoi_case(chunked, Feed::Receive, true),
        ),
        case(
            c,
            "chunked-direct",
            "envoi: direct window when open, else 64 KiB receive_with; Data copied out",
            "≈2 + zero fill",
            envoi_case(chunked, Feed::Direct, true),
        ),
        case(
            c,
            "chunked-direct64",
            "envoi: as chunked-direct, but 64-byte reads while framing is next",
            "≈1",
            envoi_case(chunked, Feed::DirectSmallFramingReads, true),
        ),
        case(
            c,
            "hyper-chunked",
            "hyper: frames copied out",
            "2",
            hyper_case(chunked),
        ),
        case(
            l,
            "memcpy-length",
            "memcpy of the wire, 64 KiB reads (baseline)",
            "1",
            memcpy_case(length),
        ),
        case(
            l,
            "length-direct",
            "envoi: direct_body_window + direct_body_received",
            "1",
            envoi_case(length, Feed::Direct, true),
        ),
        case(
            l,
            "length-copy",
            "envoi: receive, Data copied out",
            "2",
            envoi_case(length, Feed::Receive, true),
        ),
        case(
            l,
            "length-with",
            "envoi: receive_with, Data copied out",
            "2 + zero fill",
            envoi_case(length, Feed::ReceiveWith, true),
        ),
        case(
            l,
            "hyper-length",
            "hyper: frames copied out",
            "2",
            hyper_case(length),
        ),
    ]
}

/// Iterations that make one sample last about `target`: grow until a run is long enough to
/// time, then scale. The growing runs double as warm-up.
fn calibrate(run: &mut dyn FnMut(u64) -> u64, target: Duration) -> u64 {
    let mut iters = 1;
    loop {
        let start = Instant::now();
        run(iters);
        let elapsed = start.elapsed();
        if elapsed >= target / 8 {
            let per_iter = elapsed.as_secs_f64() / iters as f64;
            return ((target.as_secs_f64() / per_iter).ceil() as u64).max(1);
        }
        iters *= 8;
    }
}
