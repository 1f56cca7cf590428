//! `-v` prints `*` connection events, `>` request head lines and `<` response head lines
//! in curl's shape; the `>` lines are the head as written (credentials and jar cookies
//! included), the `<` lines every head as received (1xx and each redirect hop), the same
//! bytes curl shows.

use crate::support::{env, envoi_run, normalize, run, CURL, PROCESS_TIMEOUT};

/// The `*`, `>` and `<` lines of a `-v` run (curl adds `{ [n bytes data]` lines).
fn trace_lines(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| l.starts_with("* ") || l.starts_with("> ") || l.starts_with("< "))
        .map(str::to_owned)
        .collect()
}

/// The order in which the kinds of lines come, runs collapsed: `*><*` for one request.
fn shape(lines: &[String]) -> String {
    let mut shape = String::new();
    for line in lines {
        let c = line.chars().next().unwrap_or(' ');
        if !shape.ends_with(c) {
            shape.push(c);
        }
    }
    shape
}

fn with_prefix(lines: &[String], prefix: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.starts_with(prefix))
        .cloned()
        .collect()
}

fn curl_verbose(args: &[&str]) -> Vec<String> {
    let env = env();
    let dir = env.scratch(&format!(
        "curl-verbose-{}",
        args.join(" ").replace(['/', '{', '}'], "_")
    ));
    let args: Vec<String> = args.iter().map(|a| env.expand(a)).collect();
    let out = run(
        std::path::Path::new(CURL),
        &args,
        &dir,
        None,
        PROCESS_TIMEOUT,
    );
    trace_lines(&out.stderr)
}

#[test]
fn verbose_has_curls_shape_and_the_same_response_lines() {
    let args = ["-s", "-v", "-o", "/dev/null", "{http}/range/10"];
    let (out, _) = envoi_run("verbose-get", &args);
    assert_eq!(out.code, Some(0), "{}", out.stderr_text());
    let envoi = trace_lines(&out.stderr);
    let curl = curl_verbose(&args);
    assert_eq!(shape(&envoi), "*><*", "{envoi:#?}");
    assert_eq!(
        shape(&envoi),
        shape(&curl),
        "envoi {envoi:#?}\ncurl {curl:#?}"
    );

    let port = env().server.http_addr().port();
    assert_eq!(envoi[0], format!("*   Trying 127.0.0.1:{port}..."));
    assert!(envoi[1].starts_with(&format!("* Connected to 127.0.0.1 (127.0.0.1) port {port}")));
    let sent = with_prefix(&envoi, "> ");
    assert_eq!(sent[0], "> GET /range/10 HTTP/1.1");
    assert_eq!(sent[1], format!("> Host: 127.0.0.1:{port}"));
    assert_eq!(
        sent.last().map(String::as_str),
        Some("> "),
        "a blank line ends the head"
    );
    assert!(
        envoi.last().is_some_and(|l| l.contains("left intact")),
        "{envoi:#?}"
    );

    // The response head is printed as received: the same lines curl prints.
    assert_eq!(
        masked_date(with_prefix(&envoi, "< ")),
        masked_date(with_prefix(&curl, "< "))
    );
}

fn masked_date(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .map(|l| {
            if l.to_ascii_lowercase().starts_with("< date:") {
                "< date: <date>".into()
            } else {
                l
            }
        })
        .collect()
}

#[test]
fn verbose_request_lines_match_curls_but_the_agent() {
    let args = [
        "-s",
        "-v",
        "-o",
        "/dev/null",
        "-d",
        "a=1",
        "-H",
        "X-Trace: on",
        "{http}/post",
    ];
    let (out, _) = envoi_run("verbose-post", &args);
    assert_eq!(out.code, Some(0), "{}", out.stderr_text());
    let mut envoi = with_prefix(&trace_lines(&out.stderr), "> ");
    let mut curl = with_prefix(&curl_verbose(&args), "> ");
    for lines in [&mut envoi, &mut curl] {
        lines.retain(|l| !l.starts_with("> User-Agent:"));
        lines.sort();
    }
    assert_eq!(envoi, curl);
}

#[test]
fn verbose_shows_every_hop_of_a_redirect_chain() {
    let (out, _) = envoi_run(
        "verbose-redirect",
        &["-s", "-v", "-L", "-o", "/dev/null", "{http}/redirect/2"],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr_text());
    let lines = trace_lines(&out.stderr);
    let requests: Vec<_> = lines.iter().filter(|l| l.starts_with("> GET ")).collect();
    assert_eq!(
        requests,
        vec![
            "> GET /redirect/2 HTTP/1.1",
            "> GET /relative-redirect/1 HTTP/1.1",
            "> GET /get HTTP/1.1"
        ]
    );
    let hops = lines
        .iter()
        .filter(|l| l.starts_with("* Issue another request"))
        .count();
    assert_eq!(hops, 2, "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("* Re-using existing connection")),
        "the hops reuse the connection: {lines:#?}"
    );
    // As curl: each hop's head, then what became of the connection, then the next URL.
    let issue = lines
        .iter()
        .position(|l| l.starts_with("* Issue another request"))
        .expect("a redirect line");
    assert!(lines[issue - 1].ends_with("left intact"), "{lines:#?}");
    assert_eq!(lines[issue - 2], "< ", "{lines:#?}");

    // Every hop's response head, as curl prints them.
    let curl = curl_verbose(&["-s", "-v", "-L", "-o", "/dev/null", "{http}/redirect/2"]);
    let received = masked_date(with_prefix(&lines, "< "));
    assert_eq!(received, masked_date(with_prefix(&curl, "< ")));
    let statuses: Vec<_> = received
        .iter()
        .filter(|l| l.starts_with("< HTTP/"))
        .collect();
    assert_eq!(
        statuses,
        [
            "< HTTP/1.1 302 Found",
            "< HTTP/1.1 302 Found",
            "< HTTP/1.1 200 OK"
        ]
    );
}

#[test]
fn verbose_shows_the_request_as_sent_with_credentials_and_jar_cookies() {
    // The server sets a cookie and redirects; the second hop carries it from the jar, and
    // both carry the Basic credentials.
    let args = [
        "-s",
        "-v",
        "-L",
        "-u",
        "user:pw",
        "-c",
        "jar.txt",
        "-o",
        "/dev/null",
        "{http}/cookies/set?k=v",
    ];
    let (out, _) = envoi_run("verbose-sent-head", &args);
    assert_eq!(out.code, Some(0), "{}", out.stderr_text());
    let sent = with_prefix(&trace_lines(&out.stderr), "> ");
    let hops: Vec<&[String]> = sent
        .split(|l| l == "> ")
        .filter(|h| !h.is_empty())
        .collect();
    assert_eq!(hops.len(), 2, "{sent:#?}");
    let auth = "> Authorization: Basic dXNlcjpwdw==".to_owned();
    assert!(hops[0].contains(&auth), "{sent:#?}");
    assert!(hops[1].contains(&auth), "{sent:#?}");
    assert!(
        !hops[0].iter().any(|l| l.starts_with("> Cookie:")),
        "{sent:#?}"
    );
    assert!(hops[1].contains(&"> Cookie: k=v".to_owned()), "{sent:#?}");
    assert_eq!(hops[1][0], "> GET /cookies HTTP/1.1");

    // The same lines curl sends, field order and the agent aside.
    let mut curl = with_prefix(&curl_verbose(&args), "> ");
    let mut envoi = sent;
    for lines in [&mut envoi, &mut curl] {
        lines.retain(|l| !l.starts_with("> User-Agent:"));
        lines.sort();
    }
    assert_eq!(envoi, curl);

    // --trace-ascii shows the same bytes in its Send header blocks.
    let (out, dir) = envoi_run(
        "trace-ascii-sent-head",
        &[
            "-s",
            "--trace-ascii",
            "t.txt",
            "-u",
            "user:pw",
            "-o",
            "/dev/null",
            "{http}/get",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr_text());
    let trace = std::fs::read_to_string(dir.join("t.txt")).expect("trace file");
    assert!(
        trace.contains(": Authorization: Basic dXNlcjpwdw==\n"),
        "{trace}"
    );
}

/// The rows of a `--trace-ascii` file's `<= Recv header` blocks, titles included.
fn recv_header_blocks(trace: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in trace.lines() {
        if line.starts_with("<= Recv header") {
            inside = true;
        } else if line.starts_with("=") {
            inside = false;
        }
        if inside {
            out.push(line.to_owned());
        }
    }
    out
}

#[test]
fn interim_heads_are_traced_as_curl_traces_them() {
    // -v: the 103 head without a blank line, then the final head.
    let args = ["-s", "-v", "-o", "/dev/null", "{http}/raw/interim-103"];
    let (out, _) = envoi_run("verbose-interim", &args);
    assert_eq!(out.code, Some(0), "{}", out.stderr_text());
    let received = with_prefix(&trace_lines(&out.stderr), "< ");
    assert_eq!(received[0], "< HTTP/1.1 103 Early Hints");
    assert_eq!(received, with_prefix(&curl_verbose(&args), "< "));

    // --trace-ascii: one Recv header block per line, as curl writes them.
    let args = [
        "-s",
        "--trace-ascii",
        "t.txt",
        "-o",
        "/dev/null",
        "{http}/raw/interim-103",
    ];
    let (out, dir) = envoi_run("trace-ascii-interim", &args);
    assert_eq!(out.code, Some(0), "{}", out.stderr_text());
    let envoi = std::fs::read_to_string(dir.join("t.txt")).expect("trace file");
    let env = env();
    let curl_dir = env.scratch("curl-trace-ascii-interim");
    let expanded: Vec<String> = args.iter().map(|a| env.expand(a)).collect();
    let done = run(
        std::path::Path::new(CURL),
        &expanded,
        &curl_dir,
        None,
        PROCESS_TIMEOUT,
    );
    assert_eq!(done.code, Some(0), "{}", done.stderr_text());
    let curl = std::fs::read_to_string(curl_dir.join("t.txt")).expect("curl's trace file");
    let blocks = recv_header_blocks(&envoi);
    assert!(
        blocks.contains(&"0000: HTTP/1.1 103 Early Hints".to_owned()),
        "{envoi}"
    );
    assert_eq!(blocks, recv_header_blocks(&curl));
}

#[test]
fn verbose_over_tls_names_the_protocol_version() {
    let (out, _) = envoi_run(
        "verbose-tls",
        &[
            "-s",
            "-v",
            "--cacert",
            "{ca}",
            "-o",
            "/dev/null",
            "{https}/get",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr_text());
    let lines = trace_lines(&out.stderr);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("* SSL connection using TLSv1.")),
        "{lines:#?}"
    );
    assert_eq!(shape(&lines).chars().next(), Some('*'));
    assert!(shape(&lines).contains("><"), "{lines:#?}");
}

#[test]
fn trace_ascii_writes_curls_blocks_to_a_file() {
    let (out, dir) = envoi_run(
        "trace-ascii",
        &["-s", "--trace-ascii", "t.txt", "{http}/range/10"],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr_text());
    assert_eq!(out.stdout, b"abcdefghij");
    assert!(
        out.stderr.is_empty(),
        "--trace-ascii replaces -v: {}",
        out.stderr_text()
    );
    let trace = std::fs::read_to_string(dir.join("t.txt")).expect("trace file");
    assert!(trace.contains("== Info:   Trying 127.0.0.1:"), "{trace}");
    assert!(trace.contains("=> Send header, "), "{trace}");
    assert!(trace.contains("0000: GET /range/10 HTTP/1.1\n"), "{trace}");
    assert!(trace.contains("<= Recv header, "), "{trace}");
    assert!(
        trace.contains("<= Recv data, 10 bytes (0xa)\n0000: abcdefghij\n"),
        "{trace}"
    );
    let _ = normalize;
    let (out, dir) = envoi_run(
        "trace-ascii-post",
        &["-s", "--trace-ascii", "t.txt", "-d", "a=1", "{http}/post"],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr_text());
    let trace = std::fs::read_to_string(dir.join("t.txt")).expect("trace file");
    let head = trace.find("=> Send header").expect("head traced");
    let data = trace
        .find("=> Send data, 3 bytes (0x3)\n0000: a=1\n")
        .expect("data traced");
    assert!(head < data, "the body follows the head: {trace}");
}
