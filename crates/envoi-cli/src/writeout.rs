//! `-w`/`--write-out`: curl's `%{variable}` format after each transfer.
//!
//! Supported: `%{http_code}` (`%{response_code}`), `%{size_download}`, `%{size_upload}`,
//! `%{size_header}`, `%{time_namelookup}`, `%{time_connect}`, `%{time_appconnect}`,
//! `%{time_pretransfer}`, `%{time_starttransfer}`, `%{time_total}`, `%{speed_download}`,
//! `%{speed_upload}`, `%{url}`, `%{url_effective}`, `%{num_redirects}`, `%{num_connects}`,
//! `%{content_type}`, `%{exitcode}`, `%{errormsg}`, `%{method}`, `%{http_version}`,
//! `%{filename_effective}`, `%{redirect_url}`, `%{remote_ip}`, `%{remote_port}`, `%{scheme}`,
//! `%{urlnum}`,
//! `%{json}`, `%header{name}`, `%{stdout}`/`%{stderr}` (switch the output), `%%`, and the
//! escapes `\n`, `\r`, `\t`, `\\`. A format starting with `@` is read from a file (`@-`:
//! stdin).

use std::fmt::Write as _;
use std::io::Write;
use std::time::Duration;

use http::HeaderMap;

/// What one transfer reports.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The final response's status; 0 when none arrived.
    pub http_code: u16,
    /// Body bytes received (after decoding).
    pub size_download: u64,
    /// Body bytes sent.
    pub size_upload: u64,
    /// Bytes of the response head.
    pub size_header: u64,
    /// Name resolved.
    pub time_namelookup: Option<Duration>,
    /// TCP connected.
    pub time_connect: Option<Duration>,
    /// TLS done.
    pub time_appconnect: Option<Duration>,
    /// First response byte.
    pub time_starttransfer: Option<Duration>,
    /// Whole transfer.
    pub time_total: Duration,
    /// The URL as given.
    pub url: String,
    /// The last URL requested.
    pub url_effective: String,
    /// Redirects followed.
    pub num_redirects: usize,
    /// New connections made.
    pub num_connects: u32,
    /// The response's Content-Type.
    pub content_type: Option<String>,
    /// The transfer's exit code.
    pub exitcode: u8,
    /// The error message when it failed.
    pub errormsg: Option<String>,
    /// The method sent.
    pub method: String,
    /// `1.1` or `1.0`; empty without a response.
    pub http_version: String,
    /// The output file, if any.
    pub filename_effective: Option<String>,
    /// The peer's address.
    pub remote_ip: Option<String>,
    /// The peer's port.
    pub remote_port: Option<u16>,
    /// The URL's number on the command line, from 0.
    pub urlnum: usize,
    /// Where a redirect that was not followed points.
    pub redirect_url: Option<String>,
    /// The response headers.
    pub headers: HeaderMap,
}

/// A value as curl prints it.
enum Value {
    /// A status code: three digits in text (`000` when none), a number in JSON.
    Code(u16),
    Int(u64),
    Time(Option<Duration>),
    Str(Option<String>),
}

impl Report {
    /// The report of a transfer that is starting.
    pub fn for_transfer(spec: &crate::plan::TransferSpec) -> Report {
        Report {
            url: spec.url.clone(),
            url_effective: spec.url.clone(),
            urlnum: spec.number,
            ..Report::default()
        }
    }

    fn scheme(&self) -> String {
        self.url_effective
            .split("://")
            .next()
            .unwrap_or("")
            .to_ascii_uppercase()
    }

    fn speed(&self, bytes: u64) -> u64 {
        let secs = self.time_total.as_secs_f64();
        if secs > 0.0 {
            (bytes as f64 / secs) as u64
        } else {
            0
        }
    }

    fn value(&self, name: &str) -> Option<Value> {
        Some(match name {
            "http_code" | "response_code" => Value::Code(self.http_code),
            "size_download" => Value::Int(self.size_download),
            "size_upload" => Value::Int(self.size_upload),
            "size_header" => Value::Int(self.size_header),
            "time_namelookup" => Value::Time(self.time_namelookup),
            "time_connect" => Value::Time(self.time_connect),
            "time_appconnect" => Value::Time(self.time_appconnect),
            "time_pretransfer" => Value::Time(
                self.time_appconnect
                    .or(self.time_connect)
                    .or(self.time_namelookup),
            ),
            "time_starttransfer" => Value::Time(self.time_starttransfer),
            "time_total" => Value::Time(Some(self.time_total)),
            "speed_download" => Value::Int(self.speed(self.size_download)),
            "speed_upload" => Value::Int(self.speed(self.size_upload)),
            "url" => Value::Str(Some(self.url.clone())),
            "url_effective" => Value::Str(Some(self.url_effective.clone())),
            "num_redirects" => Value::Int(self.num_redirects as u64),
            "num_connects" => Value::Int(self.num_connects.into()),
            "content_type" => Value::Str(self.content_type.clone()),
            "exitcode" => Value::Int(self.exitcode.into()),
            "errormsg" => Value::Str(self.errormsg.clone()),
            "method" => Value::Str(Some(self.method.clone())),
            "http_version" => Value::Str(Some(self.http_version.clone())),
            "filename_effective" => Value::Str(self.filename_effective.clone()),
            "remote_ip" => Value::Str(self.remote_ip.clone()),
            "remote_port" => Value::Int(self.remote_port.unwrap_or(0).into()),
            "scheme" => Value::Str(Some(self.scheme())),
            "urlnum" => Value::Int(self.urlnum as u64),
            "redirect_url" => Value::Str(self.redirect_url.clone()),
            _ => return None,
        })
    }
}

/// Every variable `%{json}` lists, in curl's (alphabetical) order.
const JSON_KEYS: &[&str] = &[
    "content_type",
    "errormsg",
    "exitcode",
    "filename_effective",
    "http_code",
    "http_version",
    "method",
    "num_connects",
    "num_redirects",
    "redirect_url",
    "remote_ip",
    "remote_port",
    "response_code",
    "scheme",
    "size_download",
    "size_header",
    "size_upload",
    "speed_download",
    "speed_upload",
    "time_appconnect",
    "time_connect",
    "time_namelookup",
    "time_pretransfer",
    "time_starttransfer",
    "time_total",
    "url",
    "url_effective",
    "urlnum",
];

/// Formats `format` for `report`: what goes to stdout and to stderr, in order, plus
/// warnings about unknown variables.
pub fn render(format: &str, report: &Report) -> (Vec<(Stream, String)>, Vec<String>) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let mut stream = Stream::Stdout;
    let mut text = String::new();
    let mut rest = format;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("%{") {
            if let Some(end) = after.find('}') {
                let name = &after[..end];
                rest = &after[end + 1..];
                match name {
                    "stdout" | "stderr" => {
                        out.push((stream, std::mem::take(&mut text)));
                        stream = if name == "stdout" {
                            Stream::Stdout
                        } else {
                            Stream::Stderr
                        };
                    }
                    "json" => text.push_str(&json(report)),
                    _ => match report.value(name) {
                        Some(v) => text.push_str(&plain(&v)),
                        None => {
                            warnings.push(format!("envoi: unknown --write-out variable: '{name}'"))
                        }
                    },
                }
                continue;
            }
        }
        if let Some(after) = rest.strip_prefix("%header{") {
            if let Some(end) = after.find('}') {
                let name = &after[..end];
                let values: Vec<String> = report
                    .headers
                    .get_all(name)
                    .iter()
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .collect();
                text.push_str(&values.join(", "));
                rest = &after[end + 1..];
                continue;
            }
        }
        let (piece, skip) = match (c, rest.as_bytes().get(1)) {
            ('%', Some(b'%')) => ("%", 2),
            ('\\', Some(b'n')) => ("\n", 2),
            ('\\', Some(b'r')) => ("\r", 2),
            ('\\', Some(b't')) => ("\t", 2),
            ('\\', Some(b'\\')) => ("\\", 2),
            _ => {
                text.push(c);
                rest = &rest[c.len_utf8()..];
                continue;
            }
        };
        text.push_str(piece);
        rest = &rest[skip..];
    }
    out.push((stream, text));
    out.retain(|(_, t)| !t.is_empty());
    (out, warnings)
}

/// Which stream a piece of `-w` output goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Renders and writes the `-w` output for one transfer.
pub fn write(format: &str, report: &Report) -> std::io::Result<()> {
    let (pieces, warnings) = render(format, report);
    for w in warnings {
        eprintln!("{w}");
    }
    for (stream, text) in pieces {
        match stream {
            Stream::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())?;
                out.flush()?;
            }
            Stream::Stderr => std::io::stderr().lock().write_all(text.as_bytes())?,
        }
    }
    Ok(())
}

fn plain(value: &Value) -> String {
    match value {
        Value::Code(n) => format!("{n:03}"),
        Value::Int(n) => n.to_string(),
        Value::Time(t) => format!("{:.6}", t.unwrap_or_default().as_secs_f64()),
        Value::Str(s) => s.clone().unwrap_or_default(),
    }
}

fn json(report: &Report) -> String {
    let mut out = String::from("{");
    for (i, key) in JSON_KEYS.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let value = match report.value(key) {
            Some(Value::Str(None)) | None => "null".to_owned(),
            Some(Value::Str(Some(s))) => json_string(&s),
            Some(Value::Code(n)) => n.to_string(),
            Some(v) => plain(&v),
        };
        let _ = write!(out, "\"{key}\":{value}");
    }
    out.push('}');
    out
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let mut headers = HeaderMap::new();
        headers.insert("x-a", "1".parse().unwrap());
        Report {
            http_code: 200,
            size_download: 42,
            time_total: Duration::from_millis(1500),
            url: "http://h/".into(),
            url_effective: "http://h/get".into(),
            content_type: Some("text/plain".into()),
            headers,
            ..Report::default()
        }
    }

    #[test]
    fn variables_escapes_and_streams() {
        let (out, warnings) = render(
            "%{http_code} %{size_download} %{time_total}\\n%% %header{x-a}%{stderr}err %{bogus}",
            &report(),
        );
        assert_eq!(
            out,
            vec![
                (Stream::Stdout, "200 42 1.500000\n% 1".to_owned()),
                (Stream::Stderr, "err ".to_owned())
            ]
        );
        assert_eq!(warnings.len(), 1);
        let (out, _) = render("%{time_connect}|%{scheme}|%{content_type}", &report());
        assert_eq!(out[0].1, "0.000000|HTTP|text/plain");
        let none = Report::default();
        assert_eq!(render("%{http_code}", &none).0[0].1, "000");
    }

    #[test]
    fn json_lists_every_variable() {
        let (out, _) = render("%{json}", &report());
        let text = &out[0].1;
        assert!(text.starts_with("{\"content_type\":\"text/plain\",\"errormsg\":null,"));
        assert!(text.contains("\"http_code\":200,"));
        assert!(text.contains("\"time_total\":1.500000,"));
        assert!(text.ends_with("\"urlnum\":0}"));
        assert_eq!(json_string("a\"b\n"), "\"a\\\"b\\n\"");
    }
}
