//! `frame`: one large download through the poll front end, driven by a frame loop, with every
//! call timed (see `calls.rs`).
//!
//! The loop runs at `--fps` (default 240: a 4.17 ms frame). Each frame it makes at most
//! `--per-frame` network calls (default 64) and stops early when the frame's network budget
//! (`--budget-us`, default 2,000 µs from the frame's start) is spent or when a call brings
//! nothing new; then it sleeps to the next tick (a frame that ends past its tick starts the
//! next one at once and counts as late).
//!
//! - `--api client`: `poll::HttpClient`, Godot's documented pattern (`poll()`, then
//!   `read_response_body_chunk()` while the status is Body); both calls are timed apart.
//! - `--api request`: `poll::Request` (Godot's `HTTPRequest`) with defaults but for a download
//!   file (`--download-file`, on tmpfs in the script; without it the body is kept in memory);
//!   each `poll()` moves up to four chunks or 500 µs of body, and is timed.
//! - `--api socket`: the control, a bare non-blocking `TcpStream` (see `socket.rs`), each
//!   `read()` of up to `--chunk` bytes into one reused buffer timed.

use std::time::{Duration, Instant};

use envoi::poll::{HttpClient, Request, Status};

use crate::calls::{thread_cpu_ns, Calls};
use crate::measure::{load1, status_kib, Flags, Result, Usage};
use crate::socket;

/// `http://host:port/path` split up.
pub struct Target {
    pub host: String,
    pub port: u16,
    pub path: String,
}

pub fn target(url: &str) -> Result<Target> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("--url must be http://HOST:PORT/PATH")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = authority
        .rsplit_once(':')
        .ok_or("--url needs an explicit port")?;
    Ok(Target {
        host: host.to_owned(),
        port: port.parse()?,
        path: if path.is_empty() { "/" } else { path }.to_owned(),
    })
}

struct Loop {
    frame: Duration,
    per_frame: usize,
    budget: Duration,
    frames: u64,
    late: u64,
    /// The longest time from a frame's start to the end of its network calls.
    longest_frame_work: Duration,
    started: Instant,
    next: Instant,
    /// Frames that took more than `budget` of network work.
    over_budget: u64,
}

impl Loop {
    fn new(flags: &Flags) -> Result<Loop> {
        let fps = flags.num("fps", 240.0)?;
        let now = Instant::now();
        Ok(Loop {
            frame: Duration::from_secs_f64(1.0 / fps),
            per_frame: flags.num("per-frame", 64.0)? as usize,
            budget: Duration::from_micros(flags.num("budget-us", 2000.0)? as u64),
            frames: 0,
            late: 0,
            longest_frame_work: Duration::ZERO,
            started: now,
            next: now,
            over_budget: 0,
        })
    }

    /// Ends a frame whose work started at `start`, and sleeps to the next tick.
    fn end_frame(&mut self, start: Instant) {
        let work = start.elapsed();
        self.longest_frame_work = self.longest_frame_work.max(work);
        if work > self.budget {
            self.over_budget += 1;
        }
        self.frames += 1;
        self.next += self.frame;
        let now = Instant::now();
        match self.next.checked_duration_since(now) {
            Some(rest) => std::thread::sleep(rest),
            None => {
                self.late += 1;
                self.next = now;
            }
        }
    }

    fn fields(&self) -> String {
        format!(
            "fps={:.0} per_frame={} budget_us={} frames={} late_frames={} over_budget_frames={} \
             longest_frame_work_ns={} loop_secs={:.6}",
            1.0 / self.frame.as_secs_f64(),
            self.per_frame,
            self.budget.as_micros(),
            self.frames,
            self.late,
            self.over_budget,
            self.longest_frame_work.as_nanos(),
            self.started.elapsed().as_secs_f64(),
        )
    }
}

pub fn run(flags: &Flags) -> Result<()> {
    let api = flags.get("api").unwrap_or("client");
    let tag = flags.get("tag").unwrap_or("frame");
    let url = flags.need("url")?;
    let expect = flags.num("bytes", 0.0)? as u64;
    let chunk = flags.num("chunk", 65536.0)? as usize;
    let mut frames = Loop::new(flags)?;
    let usage = Usage::now(libc::RUSAGE_SELF);
    let cpu0 = thread_cpu_ns();
    let (got, calls, setup_ns) = match api {
        "client" => client(url, chunk, &mut frames)?,
        "request" => request(url, chunk, flags.get("download-file"), &mut frames)?,
        "socket" => socket(url, chunk, &mut frames)?,
        other => return Err(format!("unknown --api {other:?}").into()),
    };
    let thread_cpu = thread_cpu_ns() - cpu0;
    let fields = usage.fields_since(libc::RUSAGE_SELF);
    if let Some(path) = flags.get("download-file").filter(|_| api == "request") {
        std::fs::remove_file(path)?; // 1 GiB of tmpfs, freed outside the timed part
    }
    if expect > 0 && got != expect {
        return Err(format!("{api}: downloaded {got} bytes, expected {expect}").into());
    }
    let run = format!(
        "tag={tag} kind=frame api={api} chunk={chunk} bytes={got} setup_ns={setup_ns} \
         thread_cpu={:.6} {} {fields} hwm_kib={} load1={}",
        thread_cpu as f64 / 1e9,
        frames.fields(),
        status_kib("VmHWM:"),
        load1()
    );
    println!("RESULT {run}");
    for c in &calls {
        println!(
            "RESULT tag={tag} kind=call api={api} chunk={chunk} {}",
            c.fields()
        );
        eprintln!("  {api} longest calls (wall/cpu ns): {}", c.worst(8));
    }
    Ok(())
}

/// `poll::HttpClient`: connect, request, read the body, all from the frame loop.
fn client(url: &str, chunk: usize, frames: &mut Loop) -> Result<(u64, Vec<Calls>, u64)> {
    let t = target(url)?;
    let mut client = HttpClient::new();
    client.set_read_chunk_size(chunk);
    let mut polls = Calls::new("poll", 1 << 20);
    let mut reads = Calls::new("read_chunk", 1 << 20);
    let setup = Instant::now();
    client.connect_to_host(&t.host, t.port, None)?;
    let mut setup_ns = setup.elapsed().as_nanos() as u64;
    let mut requested = false;
    let mut got = 0u64;
    'frames: loop {
        let start = Instant::now();
        for _ in 0..frames.per_frame {
            if start.elapsed() >= frames.budget {
                break;
            }
            let status = polls.time(|| client.poll());
            match status {
                Status::Connected if !requested => {
                    let sent = Instant::now();
                    client.request(http::Method::GET, &t.path, &[], "")?;
                    setup_ns += sent.elapsed().as_nanos() as u64;
                    requested = true;
                }
                Status::Connected | Status::Disconnected if client.has_response() => {
                    frames.end_frame(start);
                    break 'frames;
                }
                Status::Body => {
                    let data = reads.time(|| client.read_response_body_chunk());
                    if data.is_empty() {
                        if client.status().is_error() {
                            return Err(failure(&client));
                        }
                        break; // nothing more this frame
                    }
                    got += data.len() as u64;
                }
                s if s.is_waiting() => break,
                _ => return Err(failure(&client)),
            }
        }
        frames.end_frame(start);
    }
    if client.response_code() != Some(http::StatusCode::OK) {
        return Err(format!("status {:?}", client.response_code()).into());
    }
    Ok((got, vec![polls, reads], setup_ns))
}

fn failure(client: &HttpClient) -> crate::measure::BoxError {
    match client.last_error() {
        Some(e) => format!("{:?}: {e:#}", client.status()).into(),
        None => format!("status {:?}", client.status()).into(),
    }
}

/// `poll::Request`: the whole request from `poll()` calls, the body to `file` (or memory).
fn request(
    url: &str,
    chunk: usize,
    file: Option<&str>,
    frames: &mut Loop,
) -> Result<(u64, Vec<Calls>, u64)> {
    let mut request = Request::new();
    request.set_download_chunk_size(chunk);
    request.set_download_file(file.map(Into::into));
    if let Some(f) = file {
        let _ = std::fs::remove_file(f);
    }
    let mut polls = Calls::new("poll", 1 << 20);
    let setup = Instant::now();
    request.request(url, &[], http::Method::GET, "")?;
    let setup_ns = setup.elapsed().as_nanos() as u64;
    let completion = 'frames: loop {
        let start = Instant::now();
        for _ in 0..frames.per_frame {
            if start.elapsed() >= frames.budget {
                break;
            }
            let before = request.downloaded_bytes();
            let done = polls.time(|| request.poll().is_some());
            if done {
                frames.end_frame(start);
                break 'frames request.take_completion().ok_or("no completion")?;
            }
            if request.downloaded_bytes() == before {
                break; // nothing new this frame (connecting, waiting, or no data yet)
            }
        }
        frames.end_frame(start);
    };
    if !completion.is_success() || completion.response_code() != Some(http::StatusCode::OK) {
        return Err(format!(
            "{:?} {:?}: {:?}",
            completion.result(),
            completion.response_code(),
            completion.error()
        )
        .into());
    }
    let got = match completion.download_path() {
        Some(path) => std::fs::metadata(path)?.len(),
        None => completion.body().len() as u64,
    };
    Ok((got, vec![polls], setup_ns))
}

/// The control: a bare non-blocking socket, read from the same frame loop.
fn socket(url: &str, chunk: usize, frames: &mut Loop) -> Result<(u64, Vec<Calls>, u64)> {
    let setup = Instant::now();
    let mut body = socket::open(url)?;
    let setup_ns = setup.elapsed().as_nanos() as u64;
    let mut reads = Calls::new("read", 1 << 20);
    let mut buf = vec![0u8; chunk];
    let mut got = body.early;
    while got < body.length {
        let start = Instant::now();
        for _ in 0..frames.per_frame {
            if start.elapsed() >= frames.budget || got >= body.length {
                break;
            }
            match reads.time(|| socket::read(&mut body.stream, &mut buf))? {
                Some(0) => return Err(format!("closed after {got} body bytes").into()),
                Some(n) => got += n as u64,
                None => break, // nothing more this frame
            }
        }
        frames.end_frame(start);
    }
    Ok((got, vec![reads], setup_ns))
}
