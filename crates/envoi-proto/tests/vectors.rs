//! Byte vectors as data: each `vectors/<behaviour>.txt` holds a request, the raw response and
//! the events expected. Each is fed whole, split in two at every offset, and one byte at a
//! time; every feeding must give exactly the expected events.
//!
//! File format, one directive per line:
//! - `# text` — a comment.
//! - `> METHOD` then `> Name: value` — the request (Host is added).
//! - `< bytes` — response bytes, concatenated; escapes `\r \n \t \\ \xHH`; `<eof>` closes.
//! - `= head 200 chunked|length N|empty|close|tunnel`, `= interim 103`, `= data TEXT`,
//!   `= trailers name: value`, `= end`, `= upgraded TEXT`, `= error Kind`, `= needdata`,
//!   then `= reusable` or `= close Reason` for the connection afterwards.

use std::fmt::Write as _;
use std::path::Path;

use envoi_proto::{BodyFraming, Connection, Event, RequestHead, RequestTarget};

struct Vector {
    name: String,
    method: String,
    fields: Vec<String>,
    response: Vec<u8>,
    eof: bool,
    expected: Vec<String>,
}

#[test]
fn every_vector_gives_its_events_whole_and_split_at_every_offset() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/vectors exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "only {} vectors found", files.len());
    let mut failures = String::new();
    for file in &files {
        let vector = parse(file);
        let whole = run(&vector, &[vector.response.len()]);
        if whole != vector.expected {
            let _ = writeln!(
                failures,
                "{}: fed whole\n  expected {:?}\n  got      {:?}",
                vector.name, vector.expected, whole
            );
            continue;
        }
        for cut in 1..vector.response.len() {
            let split = run(&vector, &[cut, vector.response.len() - cut]);
            if split != whole {
                let _ = writeln!(failures, "{}: split at {cut}\n  got {split:?}", vector.name);
                break;
            }
        }
        let ones = vec![1; vector.response.len().max(1)];
        let bytewise = run(&vector, &ones);
        if bytewise != whole {
            let _ = writeln!(
                failures,
                "{}: byte at a time\n  got {bytewise:?}",
                vector.name
            );
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

/// Feeds the response in pieces of the given sizes and describes what happened, merging
/// adjacent data and ignoring NeedData except at the very end.
fn run(vector: &Vector, pieces: &[usize]) -> Vec<String> {
    let mut head = RequestHead::new(
        vector.method.parse().unwrap(),
        RequestTarget::parse(if vector.method == "CONNECT" {
            "h:443"
        } else {
            "/"
        })
        .unwrap(),
    );
    head.try_append("Host", "h").unwrap();
    for line in &vector.fields {
        head.try_append_line(line).unwrap();
    }
    let mut conn = Connection::default();
    conn.send_request(&head, &mut Vec::new()).unwrap();
    let mut seen: Vec<String> = Vec::new();
    let mut data = Vec::new();
    let mut at = 0;
    let mut finished = false;
    for (i, &size) in pieces.iter().enumerate() {
        let size = size.min(vector.response.len() - at);
        conn.receive(&vector.response[at..at + size]);
        at += size;
        if i + 1 == pieces.len() && vector.eof {
            conn.receive_eof();
        }
        while !finished {
            let event = conn.next_event();
            if !matches!(event, Ok(Event::Data(_) | Event::NeedData)) && !data.is_empty() {
                seen.push(format!("data {}", escape(&std::mem::take(&mut data))));
            }
            match event {
                Ok(Event::NeedData) => break,
                Ok(Event::Data(d)) => data.extend_from_slice(&d),
                Ok(Event::Informational(h)) => {
                    seen.push(format!("interim {}", h.status().as_u16()))
                }
                Ok(Event::ResponseHead(h)) => seen.push(format!(
                    "head {} {}",
                    h.status().as_u16(),
                    framing(h.framing())
                )),
                Ok(Event::Trailers(t)) => {
                    for (n, v) in &t {
                        seen.push(format!("trailers {}: {}", n, v.to_str().unwrap()));
                    }
                }
                Ok(Event::End) => {
                    seen.push("end".into());
                    finished = true;
                }
                Ok(Event::Upgraded(rest)) => {
                    // Bytes after the head arrive with the upgrade or later; collect them all.
                    data.extend_from_slice(&rest);
                    finished = true;
                }
                Err(e) => {
                    seen.push(format!("error {:?}", e.kind()));
                    finished = true;
                }
            }
        }
        if finished && conn.read_state() == envoi_proto::ReadState::Upgraded && i + 1 < pieces.len()
        {
            data.extend_from_slice(&vector.response[at..]);
            break;
        }
    }
    if conn.read_state() == envoi_proto::ReadState::Upgraded {
        seen.push(format!("upgraded {}", escape(&data)));
    } else if !finished {
        if !data.is_empty() {
            seen.push(format!("data {}", escape(&data)));
        }
        seen.push("needdata".into());
    }
    seen.push(match conn.close_reason() {
        None if conn.ready_for_request() => "reusable".into(),
        None => "not ready".into(),
        Some(reason) => format!("close {reason:?}"),
    });
    seen
}

fn framing(f: BodyFraming) -> String {
    match f {
        BodyFraming::Empty => "empty".into(),
        BodyFraming::Length(n) => format!("length {n}"),
        BodyFraming::Chunked => "chunked".into(),
        BodyFraming::CloseDelimited => "close".into(),
        BodyFraming::Tunnel => "tunnel".into(),
    }
}

fn parse(path: &Path) -> Vector {
    let text = std::fs::read_to_string(path).unwrap();
    let mut vector = Vector {
        name: path.file_stem().unwrap().to_string_lossy().into_owned(),
        method: String::new(),
        fields: Vec::new(),
        response: Vec::new(),
        eof: false,
        expected: Vec::new(),
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("> ") {
            if vector.method.is_empty() {
                vector.method = rest.trim().to_owned();
            } else {
                vector.fields.push(rest.to_owned());
            }
        } else if line == "<eof>" {
            vector.eof = true;
        } else if let Some(rest) = line.strip_prefix("< ") {
            vector.response.extend(unescape(rest));
        } else if let Some(rest) = line.strip_prefix("= ") {
            vector.expected.push(rest.to_owned());
        } else {
            assert!(
                line.is_empty() || line.starts_with('#'),
                "{}: bad line {line:?}",
                vector.name
            );
        }
    }
    assert!(!vector.method.is_empty(), "{}: no request", vector.name);
    vector
}

fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let hex = [bytes.next().unwrap(), bytes.next().unwrap()];
                out.push(u8::from_str_radix(std::str::from_utf8(&hex).unwrap(), 16).unwrap());
            }
            other => panic!("bad escape {other:?} in {text:?}"),
        }
    }
    out
}

fn escape(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}
