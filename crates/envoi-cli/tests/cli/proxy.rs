//! `-x`, `-U` and `--noproxy` through a real tinyproxy (from apt) started on loopback, with
//! envoi and curl side by side; SOCKS5's `-v` lines and the proxy combinations envoi refuses
//! (the SOCKS5 comparison cases are under `tests/cases/socks/`).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{env, envoi, envoi_run, normalize, run, CURL, PROCESS_TIMEOUT};

/// A tinyproxy requiring `user:secret`, stopped on drop.
struct Tinyproxy {
    child: Child,
    addr: SocketAddr,
}

impl Tinyproxy {
    fn start() -> Tinyproxy {
        let binary = ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .expect("tinyproxy is not installed (apt-get install tinyproxy)");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let dir = env().scratch("tinyproxy");
        let config = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\nAllow 127.0.0.1\n\
             LogLevel Error\nDisableViaHeader Yes\nBasicAuth user secret\n"
        );
        let path = dir.join("tinyproxy.conf");
        std::fs::write(&path, config).expect("config");
        let child = Command::new(binary)
            .arg("-d")
            .arg("-c")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tinyproxy starts");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let until = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < until, "tinyproxy did not listen on {addr}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Tinyproxy { child, addr }
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs both tools; returns (envoi code, curl code, envoi stdout, curl stdout), normalised.
fn both(name: &str, args: &[String]) -> (Option<i32>, Option<i32>, String, String) {
    let env = env();
    let args: Vec<String> = args.iter().map(|a| env.expand(a)).collect();
    let e_dir = env.scratch(&format!("{name}-envoi"));
    let c_dir = env.scratch(&format!("{name}-curl"));
    let e = run(&envoi(), &args, &e_dir, None, PROCESS_TIMEOUT);
    let c = run(Path::new(CURL), &args, &c_dir, None, PROCESS_TIMEOUT);
    (
        e.code,
        c.code,
        normalize(&e.stdout, &[]),
        normalize(&c.stdout, &[]),
    )
}

#[test]
fn proxies_work_as_in_curl() {
    let proxy = Tinyproxy::start();
    let p = format!("http://{}", proxy.addr);
    let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let cases: Vec<(&str, Vec<String>, i32)> = vec![
        (
            "proxy-http",
            s(&["-s", "-x", &p, "-U", "user:secret", "{http}/get"]),
            0,
        ),
        (
            "proxy-url-credentials",
            s(&[
                "-s",
                "-x",
                &format!("http://user:secret@{}", proxy.addr),
                "{http}/range/5",
            ]),
            0,
        ),
        (
            "proxy-connect",
            s(&[
                "-s",
                "-x",
                &p,
                "-U",
                "user:secret",
                "--cacert",
                "{ca}",
                "{https}/get",
            ]),
            0,
        ),
        (
            "proxy-connect-include",
            s(&[
                "-s",
                "-i",
                "-x",
                &p,
                "-U",
                "user:secret",
                "--cacert",
                "{ca}",
                "{https}/range/5",
            ]),
            0,
        ),
        (
            "proxy-407",
            s(&["-s", "-w", "%{http_code}", "-x", &p, "{http}/get"]),
            0,
        ),
        (
            "proxy-bypass",
            s(&[
                "-s",
                "-x",
                "http://127.0.0.1:9",
                "--noproxy",
                "127.0.0.1",
                "{http}/range/4",
            ]),
            0,
        ),
        (
            "proxy-refused",
            s(&["-s", "-x", "http://127.0.0.1:9", "{http}/get"]),
            7,
        ),
    ];
    for (name, args, want) in cases {
        let (e, c, e_out, c_out) = both(name, &args);
        assert_eq!(e, Some(want), "{name}: envoi exit");
        assert_eq!(c, Some(want), "{name}: curl exit");
        assert_eq!(e_out, c_out, "{name}: stdout");
    }
    // A CONNECT refused with 407: curl calls it a receive error (56); envoi says the proxy
    // refused the credentials (67, login denied).
    let args = s(&["-s", "-x", &p, "--cacert", "{ca}", "{https}/get"]);
    let (e, c, _, _) = both("proxy-connect-407", &args);
    assert_eq!(e, Some(67));
    assert_eq!(c, Some(56));
}

/// The `*` and `>` lines of a `-v` run.
fn info_and_sent(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with("* ") || l.starts_with("> "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn verbose_shows_the_socks5_request_and_grant_in_curls_words() {
    let env = env();
    let port = env.server.http_addr().port();
    let url = format!("http://localhost:{port}/get");
    let remote = [
        "-s",
        "-v",
        "-o",
        "/dev/null",
        "-x",
        "socks5h://{socks5}",
        &url,
    ];
    let local = [
        "-s",
        "-v",
        "-o",
        "/dev/null",
        "--socks5",
        "{socks5}",
        "--resolve",
        &format!("localhost:{port}:127.0.0.1"),
        &url,
    ];
    let cases = [
        (
            &remote[..],
            format!("* SOCKS5 connect to localhost:{port} (remotely resolved)"),
        ),
        (
            &local[..],
            format!("* SOCKS5 connect to IPv4 127.0.0.1:{port} (locally resolved)"),
        ),
    ];
    for (i, (args, connect_line)) in cases.into_iter().enumerate() {
        let (out, _) = envoi_run(&format!("socks-verbose-{i}"), args);
        assert_eq!(out.code, Some(0), "{}", out.stderr_text());
        let envoi = info_and_sent(&out.stderr_text());
        let c = run(
            Path::new(CURL),
            &args.iter().map(|a| env.expand(a)).collect::<Vec<_>>(),
            &env.scratch(&format!("socks-verbose-curl-{i}")),
            None,
            PROCESS_TIMEOUT,
        );
        let curl = info_and_sent(&c.stderr_text());
        // The same two lines as curl, in the same place: after the proxy's TCP connection,
        // before the request, which goes in origin form.
        for lines in [&envoi, &curl] {
            let at = |line: &str| lines.iter().position(|l| l == line);
            let connect = at(&connect_line);
            let granted = at("* SOCKS5 request granted.");
            let request = at("> GET /get HTTP/1.1");
            assert!(
                connect.is_some() && connect < granted && granted < request,
                "{lines:#?}"
            );
        }
    }
}

#[test]
fn socks4_and_a_socks5_proxy_in_front_of_another_are_not_built_in() {
    let cases: [&[&str]; 3] = [
        &["-s", "-x", "socks4://{socks5}", "{http}/get"],
        &["-s", "-x", "socks4a://{socks5}", "{http}/get"],
        &[
            "-s",
            "--socks5",
            "{socks5}",
            "-x",
            "http://127.0.0.1:9",
            "{http}/get",
        ],
    ];
    for (i, args) in cases.into_iter().enumerate() {
        let (out, _) = envoi_run(&format!("socks-not-built-in-{i}"), args);
        assert_eq!(out.code, Some(4), "{args:?}: {}", out.stderr_text());
    }
    // `-x ''` turns the proxy off, which leaves the SOCKS5 proxy alone.
    let args = [
        "-s",
        "-x",
        "",
        "--socks5-hostname",
        "{socks5}",
        "{http}/range/3",
    ];
    let (out, _) = envoi_run("socks-with-empty-x", &args);
    assert_eq!(out.code, Some(0), "{}", out.stderr_text());
    assert_eq!(out.stdout_text(), "abc");
    let requests = env().server.socks5().requests();
    let port = env().server.http_addr().port();
    assert!(
        requests.iter().any(|r| r.target
            == envoi_testserver::SocksTarget::Address(
                format!("127.0.0.1:{port}").parse().unwrap()
            )),
        "{requests:?}"
    );
}

#[test]
fn proxy_environment_variables_apply_per_scheme_as_in_curl() {
    let env = env();
    let endpoint = env
        .server
        .start_socks5(envoi_testserver::SocksOptions::default())
        .expect("a SOCKS5 endpoint");
    let proxy = format!("socks5h://{}", endpoint.addr());
    let http = format!("http://localhost:{}/get", env.server.http_addr().port());
    let https = format!("https://localhost:{}/get", env.server.https_addr().port());
    // (what, variables, extra arguments, URL, goes through the proxy)
    type Case<'a> = (
        &'a str,
        &'a [(&'a str, &'a str)],
        &'a [&'a str],
        &'a str,
        bool,
    );
    let cases: [Case; 8] = [
        (
            "http_proxy, http URL",
            &[("http_proxy", &proxy)],
            &[],
            &http,
            true,
        ),
        (
            "http_proxy, https URL",
            &[("http_proxy", &proxy)],
            &[],
            &https,
            false,
        ),
        (
            "HTTP_PROXY is never read",
            &[("HTTP_PROXY", &proxy)],
            &[],
            &http,
            false,
        ),
        (
            "HTTPS_PROXY, https URL",
            &[("HTTPS_PROXY", &proxy)],
            &[],
            &https,
            true,
        ),
        (
            "https_proxy, http URL",
            &[("https_proxy", &proxy)],
            &[],
            &http,
            false,
        ),
        (
            "ALL_PROXY, https URL",
            &[("ALL_PROXY", &proxy)],
            &[],
            &https,
            true,
        ),
        (
            "NO_PROXY names the host",
            &[("all_proxy", &proxy), ("NO_PROXY", "localhost")],
            &[],
            &http,
            false,
        ),
        (
            "-x '' turns them off",
            &[("all_proxy", &proxy)],
            &["-x", ""],
            &http,
            false,
        ),
    ];
    for (i, (what, vars, extra, url, via)) in cases.into_iter().enumerate() {
        let mut args: Vec<String> = ["-s", "-o", "/dev/null", "--cacert"]
            .iter()
            .map(|a| a.to_string())
            .collect();
        args.push(env.expand("{ca}"));
        args.extend(extra.iter().map(|a| a.to_string()));
        args.push(url.to_owned());
        for (tool, program) in [("envoi", envoi()), ("curl", PathBuf::from(CURL))] {
            let before = endpoint.requests().len();
            let out = crate::support::run_with_env(
                &program,
                &args,
                &env.scratch(&format!("proxy-env-{i}-{tool}")),
                None,
                PROCESS_TIMEOUT,
                vars,
            );
            assert_eq!(out.code, Some(0), "{what}, {tool}: {}", out.stderr_text());
            let through = endpoint.requests().len() - before;
            assert_eq!(through, usize::from(via), "{what}, {tool}");
        }
    }
}
