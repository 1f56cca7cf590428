//! Resuming a download that was cut off, and `-Z` over many URLs.

use std::time::Duration;

use crate::support::envoi_run;

/// The bytes `/range/{n}` serves.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| b'a' + (i % 26) as u8).collect()
}

#[test]
fn a_cut_off_download_resumes_where_it_stopped() {
    const SIZE: usize = 200_000;
    let url = format!("{{http}}/range/{SIZE}");
    // Cut off: 40 kB/s for 1 s of a 200 kB body.
    let (out, dir) = envoi_run(
        "resume-cut",
        &[
            "-s",
            "-C",
            "-",
            "--limit-rate",
            "40k",
            "-m",
            "1",
            "-o",
            "big.bin",
            &url,
        ],
    );
    assert_eq!(out.code, Some(28), "{}", out.stderr_text());
    assert!(
        !dir.join("big.bin").exists(),
        "no incomplete file under the final name"
    );
    let partial = std::fs::read(dir.join("big.bin.part")).expect("the .part is kept with -C");
    assert!(
        !partial.is_empty() && partial.len() < SIZE,
        "{} bytes",
        partial.len()
    );
    assert_eq!(partial, pattern(SIZE)[..partial.len()]);

    // Resume in the same directory.
    let out = crate::support::run(
        &crate::support::envoi(),
        &[
            "-s".into(),
            "-C".into(),
            "-".into(),
            "-o".into(),
            "big.bin".into(),
            crate::support::env().expand(&url),
        ],
        &dir,
        None,
        crate::support::PROCESS_TIMEOUT,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr_text());
    assert_eq!(std::fs::read(dir.join("big.bin")).unwrap(), pattern(SIZE));
    assert!(!dir.join("big.bin.part").exists());
}

#[test]
fn a_cut_off_download_without_resume_leaves_nothing() {
    let (out, dir) = envoi_run(
        "cut-no-resume",
        &[
            "-s",
            "--limit-rate",
            "40k",
            "-m",
            "0.5",
            "-o",
            "big.bin",
            "{http}/range/200000",
        ],
    );
    assert_eq!(out.code, Some(28), "{}", out.stderr_text());
    assert!(!dir.join("big.bin").exists());
    assert!(!dir.join("big.bin.part").exists());
}

#[test]
fn parallel_fetches_a_hundred_urls() {
    let urls: Vec<String> = (1..=100).map(|n| format!("{{http}}/range/{n}")).collect();
    let mut args = vec![
        "-s",
        "-Z",
        "--parallel-max",
        "20",
        "--create-dirs",
        "--output-dir",
        "out",
        "--remote-name-all",
        "-w",
        "%{urlnum} %{http_code}\\n",
    ];
    args.extend(urls.iter().map(String::as_str));
    let (out, dir) = envoi_run("parallel-100", &args);
    assert_eq!(out.code, Some(0), "{}", out.stderr_text());
    assert!(out.elapsed < Duration::from_secs(15), "{:?}", out.elapsed);
    let mut lines: Vec<String> = out.stdout_text().lines().map(str::to_owned).collect();
    lines.sort_by_key(|l| l.split(' ').next().and_then(|n| n.parse::<usize>().ok()));
    assert_eq!(lines.len(), 100);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line, &format!("{i} 200"));
    }
    for n in 1..=100 {
        let body = std::fs::read(dir.join("out").join(n.to_string())).expect("file");
        assert_eq!(body, pattern(n), "file {n}");
    }
}

#[test]
fn parallel_reports_the_last_transfers_exit_code() {
    let (out, _) = envoi_run(
        "parallel-codes",
        &[
            "-s",
            "-Z",
            "-o",
            "/dev/null",
            "{refused}/",
            "-o",
            "/dev/null",
            "{http}/range/3",
        ],
    );
    assert_eq!(out.code, Some(0), "curl's rule: the last transfer decides");
    let (out, _) = envoi_run(
        "parallel-codes-2",
        &[
            "-s",
            "-Z",
            "-o",
            "/dev/null",
            "{http}/range/3",
            "-o",
            "/dev/null",
            "{refused}/",
        ],
    );
    assert_eq!(out.code, Some(7));
}

#[test]
fn parallel_transfers_overlap_up_to_parallel_max() {
    // Twelve answers that each take 1 s: at most 3 at once cannot end before 4 s; all 12 at
    // once end long before the 12 s one after another would take.
    let urls: Vec<String> = (0..12).map(|_| "{http}/delay/1".to_owned()).collect();
    for (max, at_least, under) in [("3", 4.0, 8.0), ("12", 1.0, 5.0)] {
        let mut args = vec!["-s", "-Z", "--parallel-max", max];
        for url in &urls {
            args.extend(["-o", "/dev/null", url.as_str()]);
        }
        let (out, _) = envoi_run(&format!("parallel-overlap-{max}"), &args);
        assert_eq!(out.code, Some(0), "{}", out.stderr_text());
        let secs = out.elapsed.as_secs_f64();
        assert!(
            secs >= at_least && secs < under,
            "--parallel-max {max}: {secs:.2} s"
        );
    }
}

#[test]
fn parallel_transfers_write_what_serial_ones_write() {
    // The same group of transfers, one after another and with -Z: same files, same -w lines
    // (sorted, as -Z finishes them in any order), same exit code. Bodies sent, decoded,
    // paced, redirected and refused by -f all take part.
    let urls = [
        "{http}/anything/one",
        "{http}/range/70000",
        "{http}/gzip",
        "{http}/redirect-to?url=/anything/moved&status_code=307",
        "{http}/status/404",
        "{http}/anything/two",
    ];
    let mut common = vec![
        "-s",
        "-L",
        "-f",
        "--compressed",
        "--limit-rate",
        "400k",
        "-d",
        "name=value",
        "-w",
        "%{urlnum} %{http_code} %{size_download} %{num_redirects} %{exitcode}\\n",
    ];
    let names: Vec<String> = (0..urls.len()).map(|i| format!("out{i}")).collect();
    for (url, name) in urls.iter().zip(&names) {
        common.extend(["-o", name.as_str(), url]);
    }
    let mut results = Vec::new();
    for parallel in [false, true] {
        let mut args = common.clone();
        if parallel {
            args.push("-Z");
        }
        let (out, dir) = envoi_run(&format!("parallel-same-{parallel}"), &args);
        let mut lines: Vec<String> = out.stdout_text().lines().map(str::to_owned).collect();
        lines.sort();
        let files: Vec<Option<Vec<u8>>> = names
            .iter()
            .map(|n| std::fs::read(dir.join(n)).ok())
            .collect();
        results.push((out.code, lines, files, out.stderr_text()));
    }
    let (serial, parallel) = (&results[0], &results[1]);
    assert_eq!(serial.1.len(), urls.len(), "{:?} {}", serial.1, serial.3);
    assert!(
        serial.1.contains(&"4 404 0 0 22".to_owned()),
        "{:?}",
        serial.1
    );
    assert!(
        serial.1.contains(&"1 200 70000 0 0".to_owned()),
        "{:?}",
        serial.1
    );
    assert!(
        serial
            .1
            .iter()
            .any(|l| l.starts_with("3 200 ") && l.ends_with(" 1 0")),
        "{:?}",
        serial.1
    );
    assert_eq!(serial.0, parallel.0, "exit codes; {}", parallel.3);
    assert_eq!(serial.1, parallel.1, "-w lines");
    for (i, (a, b)) in serial.2.iter().zip(&parallel.2).enumerate() {
        assert_eq!(a.is_some(), b.is_some(), "file {i}");
        assert_eq!(
            a.as_ref().map(Vec::len),
            b.as_ref().map(Vec::len),
            "file {i}"
        );
    }
    // The echoed requests: the same method and form, sent and redirected alike.
    let echo = |bytes: &Option<Vec<u8>>| -> serde_json::Value {
        let v: serde_json::Value =
            serde_json::from_slice(bytes.as_deref().unwrap_or(b"null")).unwrap_or_default();
        serde_json::json!([v["method"], v["form"], v["url"]])
    };
    for i in [0, 3, 5] {
        assert_eq!(echo(&serial.2[i]), echo(&parallel.2[i]), "file {i}");
        assert_eq!(echo(&parallel.2[i])[1]["name"], "value", "file {i}");
    }
    assert_eq!(parallel.2[1].as_deref(), Some(&pattern(70000)[..]));
    assert!(parallel.2[4].is_none(), "-f keeps no output for a 404");
}

#[test]
fn limit_rate_paces_uploads_too() {
    // 60,000 bytes at 40,000 bytes/s cannot take less than 1.5 s; every byte arrives.
    let data = "x".repeat(60_000);
    let file = std::env::temp_dir().join(format!("envoi-limit-rate-{}.bin", std::process::id()));
    std::fs::write(&file, &data).unwrap();
    let file_arg = file.display().to_string();
    let cases: [(&str, Vec<&str>); 2] = [
        ("limit-rate-data", vec!["--data-binary", &data]),
        ("limit-rate-upload", vec!["-T", &file_arg]),
    ];
    for (name, body) in cases {
        let mut args = vec!["-s", "--limit-rate", "40000"];
        args.extend(body);
        args.push("{http}/upload-sink?sha256=false");
        let started = std::time::Instant::now();
        let (out, _) = envoi_run(name, &args);
        let took = started.elapsed();
        assert_eq!(out.code, Some(0), "{name}: {}", out.stderr_text());
        let answer = out.stdout_text().replace([' ', '\n'], "");
        assert!(answer.contains("\"bytes\":60000"), "{name}: {answer}");
        assert!(took.as_secs_f64() >= 1.4, "{name}: took {took:?}");
    }
    let _ = std::fs::remove_file(&file);
}
