//! `envoi-testserver`: runs the test server until killed, printing one `NAME URL` line per
//! listener so scripts can read them (`http http://127.0.0.1:PORT`).

use std::io::Write;
use std::process::ExitCode;

use envoi_testserver::{CertKind, Config, TestServer};

const USAGE: &str = "usage: envoi-testserver [--port N] [--tls-port N] [--ca-out PATH]
                        [--client-cert-out PATH] [--client-key-out PATH] [--crl-out PATH]

Serves httpbin-compatible routes on loopback until killed, and prints one line per listener:
  http URL, http-v6 URL, https URL, https-v6 URL, tls-KIND URL (one per certificate kind),
  client-auth URL.
--port / --tls-port fix the plain and the valid-certificate TLS ports (default: any free one).
The --*-out options write the test CA, a client certificate and key, and the CRL as PEM.";

/// Parsed command line.
#[derive(Default)]
struct Args {
    config: Config,
    ca_out: Option<String>,
    client_cert_out: Option<String>,
    client_key_out: Option<String>,
    crl_out: Option<String>,
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("envoi-testserver: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let server = match TestServer::start_with(args.config) {
        Ok(server) => server,
        Err(err) => {
            eprintln!("envoi-testserver: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    let files = [
        (&args.ca_out, server.ca_cert_pem()),
        (&args.client_cert_out, server.client_cert_pem()),
        (&args.client_key_out, server.client_key_pem()),
        (&args.crl_out, server.crl_pem()),
    ];
    for (path, pem) in files {
        if let Some(path) = path {
            if let Err(err) = std::fs::write(path, pem) {
                eprintln!("envoi-testserver: cannot write {path}: {err}");
                return ExitCode::FAILURE;
            }
        }
    }
    print_urls(&server);
    // The server runs on its own threads; this one only has to stay alive.
    loop {
        std::thread::park();
    }
}

fn print_urls(server: &TestServer) {
    let mut lines = vec![format!("http {}", server.url(""))];
    if let Some(url) = server.http_url_v6("") {
        lines.push(format!("http-v6 {url}"));
    }
    lines.push(format!("https {}", server.https_url("")));
    if let Some(url) = server.https_url_v6("") {
        lines.push(format!("https-v6 {url}"));
    }
    for kind in CertKind::ALL {
        lines.push(format!("tls-{} {}", kind.name(), server.tls_url(kind, "")));
    }
    lines.push(format!("client-auth {}", server.client_auth_url("")));
    lines.push(format!("socks5 socks5h://{}", server.socks5_addr()));
    let mut stdout = std::io::stdout().lock();
    for line in lines {
        // A URL ends with the `/` of the empty path; print the origin, without it.
        let _ = writeln!(stdout, "{}", line.trim_end_matches('/'));
    }
    let _ = stdout.flush();
}

/// `Ok(None)` for `--help`.
fn parse(mut argv: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args::default();
    while let Some(flag) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" => args.config.http_port = port(&value()?)?,
            "--tls-port" => args.config.tls_port = port(&value()?)?,
            "--ca-out" => args.ca_out = Some(value()?),
            "--client-cert-out" => args.client_cert_out = Some(value()?),
            "--client-key-out" => args.client_key_out = Some(value()?),
            "--crl-out" => args.crl_out = Some(value()?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(args))
}

fn port(text: &str) -> Result<u16, String> {
    text.parse().map_err(|_| format!("invalid port {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Option<Args>, String> {
        parse(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn ports_and_output_paths_are_read() {
        let parsed = args(&[
            "--port",
            "8080",
            "--tls-port",
            "8443",
            "--ca-out",
            "/tmp/ca.pem",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            parsed.config,
            Config {
                http_port: 8080,
                tls_port: 8443
            }
        );
        assert_eq!(parsed.ca_out.as_deref(), Some("/tmp/ca.pem"));
    }

    #[test]
    fn bad_arguments_are_errors_and_help_is_none() {
        assert!(args(&["--port", "http"]).is_err());
        assert!(args(&["--port"]).is_err());
        assert!(args(&["--verbose"]).is_err());
        assert!(args(&["--help"]).unwrap().is_none());
    }
}
