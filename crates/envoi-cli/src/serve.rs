//! `--serve`: runs the bundled test server (httpbin's routes plus misbehaving `/raw/` ones)
//! on loopback until interrupted, and prints one `NAME URL` line per listener, so envoi and
//! curl can be tried side by side without a network.

use std::io::Write;

use envoi_testserver::{CertKind, TestServer};

use crate::error::CliError;

/// Starts the server, prints its URLs, and serves until the process is killed.
pub fn serve() -> Result<(), CliError> {
    let server = TestServer::start_with(envoi_testserver::Config::default())
        .map_err(|e| CliError::code(2, format!("cannot start the test server: {e}")))?;
    let mut lines = vec![format!("http {}", server.url("/"))];
    if let Some(url) = server.http_url_v6("/") {
        lines.push(format!("http-v6 {url}"));
    }
    lines.push(format!("https {}", server.https_url("/")));
    for kind in CertKind::ALL {
        lines.push(format!("tls-{} {}", kind.name(), server.tls_url(kind, "/")));
    }
    lines.push(format!("client-auth {}", server.client_auth_url("/")));
    lines.push(format!("socks5 socks5h://{}", server.socks5_addr()));
    let ca = std::env::temp_dir().join(format!("envoi-serve-ca-{}.pem", std::process::id()));
    if std::fs::write(&ca, server.ca_cert_pem()).is_ok() {
        lines.push(format!("ca-file {}", ca.display()));
    }
    let mut out = std::io::stdout().lock();
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
    drop(out);
    eprintln!("envoi: serving on loopback; stop with Ctrl-C");
    loop {
        std::thread::park();
    }
}
