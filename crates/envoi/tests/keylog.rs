//! `SSLKEYLOGFILE`, written only when the user asks for it. Alone in its binary because it
//! sets a process-wide environment variable.

mod support;

use support::*;

#[test]
fn key_log_writes_secrets_to_sslkeylogfile_only_when_asked() {
    let server = TestServer::start();
    let path = std::env::temp_dir().join(format!("envoi-keylog-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    std::env::set_var("SSLKEYLOGFILE", &path);

    let quiet = builder().tls(tls_options(&server)).build().unwrap();
    quiet
        .get(server.https_url("/get"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert!(!path.exists(), "secrets were logged without key_log(true)");

    let logging = builder()
        .tls(tls_options(&server).key_log(true))
        .build()
        .unwrap();
    logging
        .get(server.https_url("/get"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    let log = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        log.contains("CLIENT_TRAFFIC_SECRET_0") || log.contains("CLIENT_RANDOM"),
        "{log}"
    );
}
