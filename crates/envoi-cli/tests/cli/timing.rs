//! `-w` timings are ordered as the phases are, and plausible; keep-alive shows in
//! `%{num_connects}`.

use crate::support::envoi_run;

const TIMES: &str = "%{time_namelookup} %{time_connect} %{time_appconnect} \
                     %{time_pretransfer} %{time_starttransfer} %{time_total}\\n";

fn times(stdout: &[u8]) -> Vec<f64> {
    String::from_utf8_lossy(stdout)
        .split_whitespace()
        .map(|t| t.parse().unwrap_or_else(|_| panic!("not a time: {t}")))
        .collect()
}

#[test]
fn write_out_times_follow_the_phases_over_http() {
    // The server waits 0.3 s before answering, then drips 3 bytes over 0.3 s.
    let url = "{http}/drip?numbytes=3&duration=0.3&delay=0.3";
    let (out, _) = envoi_run("timing-http", &["-s", "-o", "/dev/null", "-w", TIMES, url]);
    assert_eq!(out.code, Some(0), "{}", out.stderr_text());
    let t = times(&out.stdout);
    let [lookup, connect, app, pre, start, total] = t[..] else {
        panic!("{t:?}")
    };
    assert!(lookup >= 0.0 && lookup <= connect, "{t:?}");
    assert_eq!(app, 0.0, "no TLS over http: {t:?}");
    assert!(connect <= pre && pre <= start && start <= total, "{t:?}");
    assert!(
        start >= 0.29,
        "the first byte came after the server's delay: {t:?}"
    );
    assert!(
        total >= start + 0.15,
        "the body dripped after the first byte: {t:?}"
    );
    assert!(total < 5.0, "{t:?}");
}

#[test]
fn write_out_times_include_the_tls_handshake() {
    let args = [
        "-s",
        "--cacert",
        "{ca}",
        "-o",
        "/dev/null",
        "-w",
        TIMES,
        "{https}/get",
    ];
    let (out, _) = envoi_run("timing-https", &args);
    assert_eq!(out.code, Some(0), "{}", out.stderr_text());
    let t = times(&out.stdout);
    let [lookup, connect, app, pre, start, total] = t[..] else {
        panic!("{t:?}")
    };
    assert!(
        lookup <= connect && connect < app,
        "TLS ends after TCP: {t:?}"
    );
    assert!(app <= pre && pre <= start && start <= total, "{t:?}");
    assert!(total < 5.0, "{t:?}");
}

#[test]
fn several_urls_share_one_connection() {
    let args = [
        "-s",
        "-o",
        "/dev/null",
        "-o",
        "/dev/null",
        "-o",
        "/dev/null",
        "-w",
        "%{num_connects} %{http_code}\\n",
        "{http}/range/10",
        "{http}/get",
        "{http}/range/20",
    ];
    let (out, _) = envoi_run("keep-alive", &args);
    assert_eq!(out.code, Some(0), "{}", out.stderr_text());
    assert_eq!(out.stdout_text(), "1 200\n0 200\n0 200\n");
}
