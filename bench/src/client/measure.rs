//! Measuring a client process: its CPU time (user + system, all threads), context switches,
//! peak RSS and the load average; and the `--flag value` parsing the binaries share.

// Shared by several binaries (`#[path]`); each uses a part.
#![allow(dead_code)]

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, BoxError>;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

/// `--name value` pairs.
pub struct Flags(Vec<(String, String)>);

impl Flags {
    pub fn parse(args: &[String]) -> Result<Flags> {
        let mut pairs = Vec::new();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let name = flag
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected {flag:?}"))?;
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            pairs.push((name.to_owned(), value.clone()));
        }
        Ok(Flags(pairs))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn need(&self, name: &str) -> Result<&str> {
        self.get(name)
            .ok_or_else(|| format!("--{name} is required").into())
    }

    pub fn num(&self, name: &str, default: f64) -> Result<f64> {
        match self.get(name) {
            Some(v) => Ok(v
                .parse()
                .map_err(|_| format!("--{name}: bad number {v:?}"))?),
            None => Ok(default),
        }
    }
}

/// CPU time, context switches and the clock at one instant.
pub struct Usage {
    wall: Instant,
    user: f64,
    sys: f64,
    nvcsw: i64,
    nivcsw: i64,
    minflt: i64,
    majflt: i64,
}

impl Usage {
    pub fn now(who: libc::c_int) -> Usage {
        // SAFETY: an all-zero rusage is a valid value, and getrusage only writes into it.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `ru` is a valid, writable rusage; RUSAGE_SELF and RUSAGE_CHILDREN are valid.
        let rc = unsafe { libc::getrusage(who, &mut ru) };
        assert_eq!(rc, 0, "getrusage failed");
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        Usage {
            wall: Instant::now(),
            user: secs(ru.ru_utime),
            sys: secs(ru.ru_stime),
            nvcsw: ru.ru_nvcsw,
            nivcsw: ru.ru_nivcsw,
            minflt: ru.ru_minflt,
            majflt: ru.ru_majflt,
        }
    }

    /// `key=value` fields for the time since `self`.
    pub fn fields_since(&self, who: libc::c_int) -> String {
        let end = Usage::now(who);
        let (user, sys) = (end.user - self.user, end.sys - self.sys);
        format!(
            "wall={:.6} cpu={:.6} user={:.6} sys={:.6} vcsw={} ivcsw={} minflt={} majflt={}",
            self.wall.elapsed().as_secs_f64(),
            user + sys,
            user,
            sys,
            end.nvcsw - self.nvcsw,
            end.nivcsw - self.nivcsw,
            end.minflt - self.minflt,
            end.majflt - self.majflt
        )
    }
}

/// A line of `/proc/self/status`, in KiB.
pub fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

pub fn load1() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "0".to_owned())
}

/// nginx's `stub_status` "accepts" counter, over a connection of its own.
pub fn accepts(url: &str) -> Result<u64> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("--stub must be an http:// URL")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = TcpStream::connect(host)?;
    write!(
        stream,
        "GET /{path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    // "server accepts handled requests\n 12 12 34"
    let line = text
        .lines()
        .skip_while(|l| !l.contains("accepts"))
        .nth(1)
        .ok_or_else(|| format!("no stub_status in {text:?}"))?;
    Ok(line.split_whitespace().next().unwrap_or("").parse()?)
}
