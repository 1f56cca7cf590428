//! The driver of the client benchmarks (issue 4, "Speed and memory");
//! `bench/run-client-bench.sh` runs it. Each client runs as its own binary (`client_envoi`,
//! `client_ureq`, `client_reqwest`, `client_hyper`, `client_curl`; see `src/client/`); this
//! one does the rest:
//!
//! ```text
//! client_bench exec --tag TAG --client NAME -- COMMAND ARGS...   (wrk, cargo build)
//! client_bench port                                              (a free loopback port)
//! client_bench report RESULTS-FILE                               (Markdown tables)
//! client_bench report-decode RESULTS-FILE                        (the decode bench's tables)
//! client_bench gen-json BYTES [SEED] > FILE                      (the decode bench's body)
//! ```

#[path = "../../client/measure.rs"]
mod measure;
mod report;
#[path = "../../results.rs"]
mod results;

use std::process::{Command, ExitCode};

use measure::{load1, Flags, Result, Usage};

const USAGE: &str = "usage:
  client_bench exec --tag T --client NAME -- COMMAND [ARGS...]
  client_bench port
  client_bench report FILE
  client_bench report-decode FILE
  client_bench gen-json BYTES [SEED]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("exec") => exec(&args[1..]),
        Some("port") => results::print_free_port().map_err(Into::into),
        Some("report") => match args.get(1) {
            Some(path) => report::print(path),
            None => Err(USAGE.into()),
        },
        Some("report-decode") => match args.get(1) {
            Some(path) => report::print_decode(path),
            None => Err(USAGE.into()),
        },
        Some("gen-json") => gen_json(&args[1..]),
        _ => Err(USAGE.into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("client_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a command to its end and reports its wall and CPU time (its children's rusage) as a
/// `RESULT` line; for `wrk`, the request count is read from its output.
fn exec(args: &[String]) -> Result<()> {
    let split = args
        .iter()
        .position(|a| a == "--")
        .ok_or("exec needs -- COMMAND")?;
    let flags = Flags::parse(&args[..split])?;
    let command = &args[split + 1..];
    let program = command.first().ok_or("exec needs a command")?;
    let usage = Usage::now(libc::RUSAGE_CHILDREN);
    let output = Command::new(program)
        .args(&command[1..])
        .stderr(std::process::Stdio::inherit())
        .output()?;
    let fields = usage.fields_since(libc::RUSAGE_CHILDREN);
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprint!("{stdout}");
    if !output.status.success() {
        return Err(format!("{program} failed: {}", output.status).into());
    }
    let mut work = String::from("count=1");
    if program.ends_with("wrk") {
        // "  123456 requests in 5.00s, 30.00MB read"
        let line = stdout
            .lines()
            .find(|l| l.contains(" requests in "))
            .ok_or("no request count in wrk's output")?;
        let mut words = line.split_whitespace();
        let count: u64 = words.next().unwrap_or("").parse()?;
        let secs: f64 = words
            .nth(2)
            .unwrap_or("")
            .trim_end_matches([',', 's'])
            .parse()?;
        // wrk's own figure: its request count over its own duration.
        work = format!("count={count} wrk_secs={secs}");
        if stdout.contains("Socket errors") || stdout.contains("Non-2xx") {
            return Err(format!("wrk saw errors:\n{stdout}").into());
        }
    }
    // SAFETY: an all-zero rusage is valid; getrusage writes into it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_CHILDREN is valid.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    println!(
        "RESULT tag={} client={} {work} {fields} hwm_kib={} load1={}",
        flags.need("tag")?,
        flags.need("client")?,
        ru.ru_maxrss,
        load1()
    );
    Ok(())
}

/// Writes `BYTES` bytes of JSON-like text (one record a line, as an API's export would be)
/// to stdout, from a seeded generator so every run serves the same body: field names repeat,
/// values vary (ids, counts, prices, words from a vocabulary, hex tokens), so gzip -6 shrinks
/// it some 4× — compressible, but nothing like a run of zeros.
fn gen_json(args: &[String]) -> Result<()> {
    use std::io::Write;
    let len: usize = args.first().ok_or(USAGE)?.parse()?;
    let mut state: u64 = match args.get(1) {
        Some(seed) => seed.parse()?,
        None => 0x5eed_0005,
    };
    // xorshift64*: small, fast and the same everywhere.
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    const WORDS: [&str; 48] = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra",
        "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu", "red", "green", "blue",
        "amber", "violet", "silver", "north", "south", "east", "west", "river", "stone", "cloud",
        "forest", "harbor", "meadow", "summit", "valley", "canyon", "island", "prairie", "glacier",
    ];
    const STATUS: [&str; 4] = ["active", "pending", "suspended", "closed"];
    let mut out = Vec::with_capacity(len + 1024);
    let mut id = 100_000u64;
    while out.len() < len {
        id += 1 + next() % 7;
        let r = next();
        let word = |i: u64| WORDS[(i % WORDS.len() as u64) as usize];
        writeln!(
            out,
            "{{\"id\":{id},\"user\":\"{}_{}\",\"email\":\"{}.{}@{}.example\",\
             \"status\":\"{}\",\"score\":{}.{:03},\"visits\":{},\"tags\":[\"{}\",\"{}\"],\
             \"token\":\"{:012x}\",\"ts\":\"2024-{:02}-{:02}T{:02}:{:02}:{:02}Z\",\
             \"verified\":{}}}",
            word(r),
            (r >> 40) & 0xfff,
            word(r >> 8),
            word(r >> 16),
            word(r >> 24),
            STATUS[((r >> 32) & 3) as usize],
            (r >> 34) & 0x3f,
            (r >> 44) & 0x3ff,
            next() % 5000,
            word(r >> 54),
            word((r >> 60) ^ (r >> 3)),
            next() & 0xffff_ffff_ffff,
            1 + r % 12,
            1 + (r >> 4) % 28,
            (r >> 9) % 24,
            (r >> 14) % 60,
            (r >> 20) % 60,
            r & 1 == 1,
        )?;
    }
    out.truncate(len);
    if let Some(last) = out.last_mut() {
        *last = b'\n';
    }
    std::io::stdout().lock().write_all(&out)?;
    Ok(())
}
