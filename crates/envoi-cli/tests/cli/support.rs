//! What every CLI test needs: one test server for the whole test binary, its URLs and
//! files as placeholders, a process runner bounded in time, and the normalisation that
//! makes envoi's and curl's outputs comparable.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use envoi_testserver::{CertKind, ClosedPort, SocksEndpoint, SocksOptions, TestServer};

/// The envoi binary under test.
pub fn envoi() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_envoi"))
}

/// The curl envoi is compared with.
pub const CURL: &str = "/usr/bin/curl";

/// How long any one process may run.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(20);

/// The shared server and the files tests point at.
pub struct Env {
    pub server: TestServer,
    pub dir: PathBuf,
    /// A port nobody listens on, held (so never reused) for the whole test binary.
    pub refused: ClosedPort,
    /// A SOCKS5 endpoint that requires `user:secret`.
    pub socks_auth: SocksEndpoint,
}

/// The test server, started once for the whole test binary.
pub fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let server = TestServer::start();
        remove_stale_dirs();
        let dir = std::env::temp_dir().join(format!("envoi-cli-tests-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let files = [
            ("ca.pem", server.ca_cert_pem().to_owned()),
            ("crl.pem", server.crl_pem().to_owned()),
            ("client-cert.pem", server.client_cert_pem().to_owned()),
            ("client-key.pem", server.client_key_pem().to_owned()),
        ];
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("write test file");
        }
        let refused = ClosedPort::new();
        let socks_auth = server
            .start_socks5(SocksOptions {
                credentials: Some(("user".into(), "secret".into())),
                ..SocksOptions::default()
            })
            .expect("a SOCKS5 endpoint");
        Env {
            server,
            dir,
            refused,
            socks_auth,
        }
    })
}

/// Removes the scratch directories of earlier test runs whose process is gone (the shared
/// environment lives in a static, so a run cannot clean up after itself).
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("envoi-cli-tests-") else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Env {
    /// Placeholders usable in case files: `{http}`, `{https}`, `{host}`, `{port}`,
    /// `{refused}` (a URL) and `{refused-addr}` (its `127.0.0.1:PORT`), `{tls-KIND}`,
    /// `{client-auth}`, `{ca}`, `{crl}`, `{client-cert}`, `{client-key}`, and the test
    /// server's SOCKS5 endpoints as `127.0.0.1:PORT`: `{socks5}` (no authentication) and
    /// `{socks5-auth}` (requires `user:secret`). Both resolve only `localhost` names and
    /// connect only to loopback: any other name is refused with reply 4.
    pub fn placeholders(&self) -> BTreeMap<String, String> {
        let s = &self.server;
        let mut map = BTreeMap::new();
        let http = s.url("/").trim_end_matches('/').to_owned();
        map.insert("{http}".into(), http);
        map.insert(
            "{https}".into(),
            s.https_url("/").trim_end_matches('/').into(),
        );
        map.insert("{host}".into(), s.http_addr().to_string());
        map.insert("{port}".into(), s.http_addr().port().to_string());
        map.insert(
            "{refused}".into(),
            format!("http://{}", self.refused.addr()),
        );
        map.insert("{refused-addr}".into(), self.refused.addr().to_string());
        map.insert("{socks5}".into(), s.socks5_addr().to_string());
        map.insert("{socks5-auth}".into(), self.socks_auth.addr().to_string());
        for kind in CertKind::ALL {
            map.insert(
                format!("{{tls-{}}}", kind.name()),
                s.tls_url(kind, "/").trim_end_matches('/').into(),
            );
        }
        map.insert(
            "{client-auth}".into(),
            s.client_auth_url("/").trim_end_matches('/').into(),
        );
        for name in ["ca", "crl", "client-cert", "client-key"] {
            let path = self.dir.join(format!("{name}.pem"));
            map.insert(format!("{{{name}}}"), path.display().to_string());
        }
        map
    }

    /// `text` with every placeholder replaced.
    pub fn expand(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (key, value) in self.placeholders() {
            out = out.replace(&key, &value);
        }
        out
    }

    /// A fresh empty directory for one run.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let dir = self.dir.join("runs").join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }
}

/// What a process did.
#[derive(Debug)]
pub struct Outcome {
    /// The exit code; `None` when it was killed (timeout or signal).
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Runs `program` in `cwd`, feeding `stdin`, killed after `timeout`. Proxy variables are
/// cleared and HOME points at `cwd`, so neither tool reads the user's settings.
pub fn run(
    program: &Path,
    args: &[String],
    cwd: &Path,
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Outcome {
    run_with_env(program, args, cwd, stdin, timeout, &[])
}

/// [`run`], with `vars` set after the proxy variables were cleared.
pub fn run_with_env(
    program: &Path,
    args: &[String],
    cwd: &Path,
    stdin: Option<&[u8]>,
    timeout: Duration,
    vars: &[(&str, &str)],
) -> Outcome {
    let started = Instant::now();
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(cwd)
        .env("HOME", cwd)
        .env("CURL_HOME", cwd)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
    ] {
        command.env_remove(var);
    }
    for (name, value) in vars {
        command.env(name, value);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    if let (Some(mut pipe), Some(bytes)) = (child.stdin.take(), stdin) {
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let code = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code(),
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => break None,
        }
    };
    Outcome {
        code,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        elapsed: started.elapsed(),
    }
}

/// Runs envoi with `args` (placeholders expanded) in a scratch directory.
pub fn envoi_run(name: &str, args: &[&str]) -> (Outcome, PathBuf) {
    let env = env();
    let dir = env.scratch(name);
    let args: Vec<String> = args.iter().map(|a| env.expand(a)).collect();
    let outcome = run(&envoi(), &args, &dir, None, PROCESS_TIMEOUT);
    (outcome, dir)
}

/// The agent strings both tools send by default.
fn agents() -> [String; 2] {
    static CURL_AGENT: OnceLock<String> = OnceLock::new();
    let curl = CURL_AGENT.get_or_init(|| {
        let out = Command::new(CURL).arg("--version").output();
        let text = out
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let version = text.split_whitespace().nth(1).unwrap_or("unknown");
        format!("curl/{version}")
    });
    [curl.clone(), format!("envoi/{}", env!("CARGO_PKG_VERSION"))]
}

/// Output made comparable: response heads with their Date masked, JSON bodies parsed with
/// the default User-Agent and multipart boundaries masked and `ignore` paths removed, text
/// with the default agents masked.
pub fn normalize(bytes: &[u8], ignore: &[String]) -> String {
    let mut rest = bytes;
    let mut out = String::new();
    while rest.starts_with(b"HTTP/") {
        let Some(end) = rest.windows(4).position(|w| w == b"\r\n\r\n") else {
            break;
        };
        let head = String::from_utf8_lossy(&rest[..end + 4]);
        for line in head.split_inclusive("\r\n") {
            if line.to_ascii_lowercase().starts_with("date:") {
                out.push_str("date: <date>\r\n");
            } else {
                out.push_str(line);
            }
        }
        rest = &rest[end + 4..];
    }
    match serde_json::from_slice::<serde_json::Value>(rest) {
        Ok(mut value) if !rest.is_empty() => {
            mask_json(&mut value, ignore);
            out.push_str(&serde_json::to_string_pretty(&value).unwrap_or_default());
        }
        _ => {
            let mut text = String::from_utf8_lossy(rest).into_owned();
            for agent in agents() {
                text = text.replace(&agent, "<agent>");
            }
            out.push_str(&text);
        }
    }
    out
}

fn mask_json(value: &mut serde_json::Value, ignore: &[String]) {
    use serde_json::Value;
    if let Some(headers) = value.get_mut("headers").and_then(Value::as_object_mut) {
        if let Some(Value::String(agent)) = headers.get_mut("User-Agent") {
            if agents().contains(agent) {
                *agent = "<agent>".into();
            }
        }
        if let Some(Value::String(ct)) = headers.get_mut("Content-Type") {
            if let Some(i) = ct.find("boundary=") {
                ct.truncate(i);
                ct.push_str("boundary=<boundary>");
            }
        }
    }
    for path in ignore {
        let mut parts: Vec<&str> = path.split('.').collect();
        let Some(last) = parts.pop() else { continue };
        let pointer: String = parts.iter().map(|p| format!("/{p}")).collect();
        if let Some(map) = value.pointer_mut(&pointer).and_then(Value::as_object_mut) {
            map.remove(last);
        }
    }
}
