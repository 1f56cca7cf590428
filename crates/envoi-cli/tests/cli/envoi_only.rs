//! What curl has no counterpart for: envoi's ignore flags, `--help`'s exit-code table,
//! `--serve`, and bad input that must never panic.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{envoi, envoi_run};

#[test]
fn each_ignore_flag_waives_its_own_check_only() {
    let cases: &[(&[&str], i32)] = &[
        (
            &[
                "--cacert",
                "{ca}",
                "--ignore-certificate-name",
                "{tls-wrong-name}/get",
            ],
            0,
        ),
        (
            &[
                "--cacert",
                "{ca}",
                "--ignore-expired-certificate",
                "{tls-wrong-name}/get",
            ],
            60,
        ),
        (
            &["--ignore-invalid-certificate", "{tls-unknown-issuer}/get"],
            0,
        ),
        (
            &["--ignore-invalid-certificate", "{tls-wrong-name}/get"],
            60,
        ),
        (
            &[
                "--cacert",
                "{ca}",
                "--ignore-expired-certificate",
                "{tls-not-yet-valid}/get",
            ],
            0,
        ),
        (
            &[
                "--cacert",
                "{ca}",
                "--crlfile",
                "{crl}",
                "--ignore-revocation",
                "{tls-revoked}/get",
            ],
            0,
        ),
        (
            &[
                "--cacert",
                "{ca}",
                "--crlfile",
                "{crl}",
                "--ignore-certificate-name",
                "{tls-revoked}/get",
            ],
            60,
        ),
    ];
    for (i, (args, want)) in cases.iter().enumerate() {
        let mut all = vec!["-s", "-o", "/dev/null"];
        all.extend_from_slice(args);
        let (out, _) = envoi_run(&format!("ignore-{i}"), &all);
        assert_eq!(out.code, Some(*want), "{args:?}: {}", out.stderr_text());
    }
}

#[test]
fn a_refused_certificate_names_the_flag_that_would_accept_it() {
    let (out, _) = envoi_run(
        "ignore-hint",
        &["-sS", "--cacert", "{ca}", "{tls-wrong-name}/get"],
    );
    assert_eq!(out.code, Some(60));
    let err = out.stderr_text();
    assert!(err.starts_with("envoi: (60) "), "{err}");
    assert!(err.contains("ignore_certificate_name"), "{err}");
}

#[test]
fn an_injected_header_is_refused_before_sending() {
    let (out, _) = envoi_run(
        "header-injection",
        &["-sS", "-H", "X-A: 1\r\nEvil: 2", "{http}/get"],
    );
    assert_eq!(out.code, Some(43), "{}", out.stderr_text());
    assert!(out.stdout.is_empty());
}

#[test]
fn help_lists_the_options_and_the_exit_codes() {
    let (out, _) = envoi_run("help", &["--help"]);
    assert_eq!(out.code, Some(0));
    let text = out.stdout_text();
    for needle in [
        "--output <file>",
        "-L, --location",
        " 60  PEER_FAILED_VERIFICATION",
        " 18  PARTIAL_FILE",
        "--serve",
    ] {
        assert!(text.contains(needle), "--help lacks {needle:?}:\n{text}");
    }
    let (out, _) = envoi_run("version", &["-V"]);
    assert_eq!(out.code, Some(0));
    assert!(out
        .stdout_text()
        .starts_with(&format!("envoi {}", env!("CARGO_PKG_VERSION"))));
}

#[test]
fn bad_input_never_panics() {
    let cases: &[&[&str]] = &[
        &[],
        &["-"],
        &["--"],
        &["-C", "-", "-C"],
        &["-K"],
        &["-K", "/nonexistent/envoi.conf"],
        &["--next"],
        &["-w", "%{", "{http}/get"],
        &["-w", "%header{", "{http}/get"],
        &["-F", "nofield", "{http}/post"],
        &["-F", "f=@/nonexistent", "{http}/post"],
        &["-H", "no colon", "{http}/get"],
        &["-X", "BAD METHOD", "{http}/get"],
        &["--resolve", "garbage", "{http}/get"],
        &["--connect-to", "a:b", "{http}/get"],
        &["-m", "-1", "{http}/get"],
        &["-m", "1e400", "{http}/get"],
        &["--limit-rate", "10x", "{http}/get"],
        &["--max-redirs", "abc", "{http}/get"],
        &["-x", "socks5://127.0.0.1:1", "{http}/get"],
        &["-x", "http://", "{http}/get"],
        &["--cert", "/nonexistent", "{https}/get"],
        &["--crlfile", "/nonexistent", "{https}/get"],
        &["--pinnedpubkey", "nonsense", "{https}/get"],
        &["-T", "/nonexistent", "{http}/put"],
        &["-O", "{http}/"],
        &["-o", "/nonexistent/dir/file", "{http}/get"],
        &["http://[::1"],
        &["http://"],
        &["http://127.0.0.1:99999/"],
        &["-d", "@/nonexistent", "{http}/post"],
        &["-u", ":", "{http}/basic-auth/user/"],
    ];
    for (i, args) in cases.iter().enumerate() {
        let mut all = vec!["-s"];
        all.extend_from_slice(args);
        let (out, _) = envoi_run(&format!("bad-{i}"), &all);
        let err = out.stderr_text();
        assert!(out.code.is_some(), "{args:?}: killed or timed out");
        assert_ne!(out.code, Some(101), "{args:?} panicked: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn serve_prints_urls_that_answer() {
    let mut child = Command::new(envoi())
        .arg("--serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("envoi --serve");
    let stdout = child.stdout.take().expect("stdout");
    let started = Instant::now();
    let mut first = String::new();
    let _ = BufReader::new(stdout).read_line(&mut first);
    let url = first
        .strip_prefix("http ")
        .map(|u| u.trim().to_owned())
        .unwrap_or_default();
    let out = crate::support::run(
        &envoi(),
        &["-s".into(), format!("{url}range/5")],
        &std::env::temp_dir(),
        None,
        Duration::from_secs(10),
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "first line: {first:?}"
    );
    assert_eq!(out.stdout, b"abcde", "{}", out.stderr_text());
    assert!(started.elapsed() < Duration::from_secs(15));
}

/// Runs envoi under a pseudo-terminal (util-linux `script`), so stderr is a terminal.
fn in_terminal(name: &str, args: &str) -> Option<(crate::support::Outcome, std::path::PathBuf)> {
    let script = std::path::Path::new("/usr/bin/script");
    // util-linux's `script` is in Debian's essential bsdutils; a machine without it cannot
    // run this test, and that must show as a failure, not a skip.
    assert!(script.exists(), "/usr/bin/script (util-linux) is missing");
    let env = crate::support::env();
    let dir = env.scratch(name);
    let command = format!("{} {}", envoi().display(), env.expand(args));
    let out = crate::support::run(
        script,
        &["-qec".into(), command, "/dev/null".into()],
        &dir,
        None,
        Duration::from_secs(20),
    );
    Some((out, dir))
}

#[test]
fn a_progress_bar_shows_on_a_terminal_unless_silent() {
    let args = "--limit-rate 300k -o out.bin {http}/range/150000";
    let Some((out, dir)) = in_terminal("progress-bar", args) else {
        return;
    };
    assert_eq!(out.code, Some(0), "{}", out.stdout_text());
    let screen = out.stdout_text();
    assert!(screen.contains("ETA"), "no bar: {screen:?}");
    assert!(screen.contains("KiB"), "no byte counts: {screen:?}");
    assert_eq!(
        std::fs::metadata(dir.join("out.bin")).unwrap().len(),
        150_000
    );

    let args = "--limit-rate 300k -o out.bin {http}/stream-bytes/100000?chunk_size=1000";
    let (out, _) = in_terminal("progress-spinner", args).expect("script exists");
    let screen = out.stdout_text();
    assert!(!screen.contains("ETA"), "no total, so no ETA: {screen:?}");
    assert!(
        screen.contains("KiB/s"),
        "a spinner with the rate: {screen:?}"
    );

    let (out, _) = in_terminal("progress-silent", &format!("-s {args}")).expect("script exists");
    assert!(
        !out.stdout_text().contains("KiB"),
        "{:?}",
        out.stdout_text()
    );
}
