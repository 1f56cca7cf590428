//! `tight`: download throughput, `poll::HttpClient` polled in a tight loop (no frames, no
//! sleeping: `poll()`, then `read_response_body_chunk()` while the status is Body, spinning
//! when nothing has arrived) against envoi's blocking client (`read_body` into one 1 MiB
//! buffer), with a bare non-blocking socket spinning the same way as the control (`socket.rs`).
//! One client per process; the timed part runs from the connect to the last byte.

use envoi::poll::{HttpClient, Status};

use crate::frame::target;
use crate::measure::{load1, status_kib, Flags, Result, Usage};
use crate::socket;

pub fn run(flags: &Flags) -> Result<()> {
    let client = flags.need("client")?;
    let tag = flags.get("tag").unwrap_or("tight");
    let url = flags.need("url")?;
    let expect = flags.num("bytes", 0.0)? as u64;
    let chunk = flags.num("chunk", 65536.0)? as usize;
    let (label, got, fields, extra) = match client {
        "poll" => {
            let mut http = HttpClient::new();
            http.set_read_chunk_size(chunk);
            let usage = Usage::now(libc::RUSAGE_SELF);
            let (got, extra) = poll(&mut http, url)?;
            (
                format!("poll-{chunk}"),
                got,
                usage.fields_since(libc::RUSAGE_SELF),
                extra,
            )
        }
        "blocking" => {
            let http = envoi::blocking::Client::builder()
                .decompress(false)
                .build()?;
            let mut buf = vec![0u8; chunk];
            let usage = Usage::now(libc::RUSAGE_SELF);
            let mut response = http.get(url).send()?;
            let mut got = 0u64;
            let mut reads = 0u64;
            loop {
                reads += 1;
                match response.read_body(&mut buf)? {
                    0 => break,
                    n => got += n as u64,
                }
            }
            (
                format!("blocking-{chunk}"),
                got,
                usage.fields_since(libc::RUSAGE_SELF),
                format!("reads={reads} empty_reads=0 polls=0"),
            )
        }
        "socket" => {
            let mut buf = vec![0u8; chunk];
            let usage = Usage::now(libc::RUSAGE_SELF);
            let mut body = socket::open(url)?;
            let (mut got, mut reads, mut empty) = (body.early, 0u64, 0u64);
            while got < body.length {
                reads += 1;
                match socket::read(&mut body.stream, &mut buf)? {
                    Some(0) => return Err(format!("closed after {got} body bytes").into()),
                    Some(n) => got += n as u64,
                    None => empty += 1,
                }
            }
            (
                format!("socket-{chunk}"),
                got,
                usage.fields_since(libc::RUSAGE_SELF),
                format!("reads={reads} empty_reads={empty} polls=0"),
            )
        }
        other => return Err(format!("unknown --client {other:?}").into()),
    };
    if expect > 0 && got != expect {
        return Err(format!("{label}: downloaded {got} bytes, expected {expect}").into());
    }
    println!(
        "RESULT tag={tag} kind=tight client={label} chunk={chunk} bytes={got} {extra} {fields} \
         hwm_kib={} load1={}",
        status_kib("VmHWM:"),
        load1()
    );
    Ok(())
}

/// Connects, sends the request and reads the body, never waiting.
fn poll(client: &mut HttpClient, url: &str) -> Result<(u64, String)> {
    let t = target(url)?;
    client.connect_to_host(&t.host, t.port, None)?;
    let (mut polls, mut reads, mut empty, mut got) = (0u64, 0u64, 0u64, 0u64);
    let mut requested = false;
    loop {
        polls += 1;
        match client.poll() {
            Status::Connected if !requested => {
                client.request(http::Method::GET, &t.path, &[], "")?;
                requested = true;
            }
            Status::Connected | Status::Disconnected if client.has_response() => break,
            Status::Body => {
                reads += 1;
                let data = client.read_response_body_chunk();
                if data.is_empty() {
                    empty += 1;
                    if client.status().is_error() {
                        return Err(
                            format!("{:?}: {:?}", client.status(), client.last_error()).into()
                        );
                    }
                }
                got += data.len() as u64;
            }
            s if s.is_waiting() => {}
            s => return Err(format!("{s:?}: {:?}", client.last_error()).into()),
        }
    }
    if client.response_code() != Some(http::StatusCode::OK) {
        return Err(format!("status {:?}", client.response_code()).into());
    }
    Ok((
        got,
        format!("reads={reads} empty_reads={empty} polls={polls}"),
    ))
}
