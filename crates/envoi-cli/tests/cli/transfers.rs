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
