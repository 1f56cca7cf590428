//! `-x`, `-U` and `--noproxy` through a real tinyproxy (from apt) started on loopback, with
//! envoi and curl side by side.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{env, envoi, normalize, run, CURL, PROCESS_TIMEOUT};

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
