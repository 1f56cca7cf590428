//! A tour of envoi, offline: it starts the bundled test server on loopback and walks through
//! the scenarios envoi was built for, with the blocking front end.
//!
//! Run it with `cargo run --release --example tour`.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use envoi::tls::{Certificate, RootCertificates, TlsOptions};
use envoi::{blocking::Client, Event, EventKind};
use envoi_testserver::{CertKind, TestServer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = TestServer::start();
    println!(
        "envoi tour: test server on {} (TLS on {})\n",
        server.http_addr(),
        server.https_addr()
    );

    // The test server's certificates come from its own CA; trust it and nothing else.
    let ca = Certificate::from_pem(server.ca_cert_pem().as_bytes())?;
    let trust_test_ca = || {
        ca.iter().cloned().fold(
            TlsOptions::default().root_certificates(RootCertificates::OnlyAdded),
            TlsOptions::add_root_certificate,
        )
    };
    let client = Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .tls(trust_test_ca())
        .build()?;

    section("1. A GET, synchronously (WinDev httpRequest.Send, WinHTTP Send)");
    let response = client
        .get(server.url("/get"))
        .query(&[("tour", "1")])
        .send()?;
    println!("{} {:?}", response.status(), response.version());
    println!("content-type: {:?}", response.headers().get("content-type"));
    let json: serde_json::Value = serde_json::from_slice(&response.bytes()?)?;
    println!(
        "the server saw args {} from {}",
        json["args"], json["origin"]
    );

    section("2. A POST with a JSON body");
    let response = client
        .post(server.url("/post"))
        .header("Content-Type", "application/json")
        .body(r#"{"hello":"envoi"}"#)
        .send()?;
    let status = response.status();
    let json: serde_json::Value = serde_json::from_slice(&response.bytes()?)?;
    println!("{status} — echoed json: {}", json["json"]);

    section("3. A certificate failure, then a re-run with one ignore flag");
    let expired = client
        .get(server.tls_url(CertKind::Expired, "/get"))
        .build()?;
    match client.execute(&expired) {
        Ok(r) => println!("unexpected success: {}", r.status()),
        Err(e) => {
            println!("error kind: {:?}", e.kind());
            println!("message:    {e}");
            if let Some(flag) = e.ignore_flag() {
                println!("re-running the same request with {} …", flag.method_name());
            }
        }
    }
    let lenient = Client::builder()
        .tls(trust_test_ca().ignore_expired_certificate(true))
        .build()?;
    let response = lenient.execute(&expired)?;
    println!(
        "re-run: {} (every other check still in force)",
        response.status()
    );
    let both_wrong = lenient
        .get(server.tls_url(CertKind::ExpiredWrongName, "/get"))
        .send()
        .err()
        .map(|e| format!("{:?}", e.kind()));
    println!("an expired certificate with a wrong name, only expiry waived: {both_wrong:?}");

    section("4. A chunked upload streamed after the head, with its events");
    let observed = Client::builder().observer(print_event).build()?;
    let mut upload = observed
        .post(server.url("/upload-sink"))
        .user_value(Arc::new("upload #1"))
        .send_streaming(None)?;
    for piece in 0..4 {
        upload.write_all(format!("piece {piece} of the body; ").as_bytes())?;
    }
    let response = upload.finish()?;
    let json: serde_json::Value = serde_json::from_slice(&response.bytes()?)?;
    println!(
        "server counted {} bytes, chunked: {}, sha256 {}…",
        json["bytes"],
        json["chunked"],
        &json["sha256"].as_str().unwrap_or("")[..16]
    );

    section("5. Faults are typed errors, never short successes");
    for route in [
        "/raw/truncated-length",
        "/raw/missing-last-chunk",
        "/raw/close-before-response",
    ] {
        let outcome = client.get(server.url(route)).send().and_then(|r| r.bytes());
        match outcome {
            Ok(body) => println!("{route}: unexpected success with {} bytes", body.len()),
            Err(e) => println!("{route}: {:?} — {e}", e.kind()),
        }
    }

    section("6. A form with a file, through a SOCKS5 proxy, redirected with a 307");
    let notes = std::env::temp_dir().join(format!("envoi-tour-{}.txt", std::process::id()));
    std::fs::write(&notes, "a file sent as a form part, streamed from disk\n")?;
    let form = envoi::multipart::Form::new()
        .text("title", "tour")
        .file("notes", &notes)?;
    let socks = envoi::Proxy::parse(&format!("socks5h://{}", server.socks5_addr()))?;
    let through_socks = envoi::blocking::Client::builder()
        .http_proxy(socks)
        .build()?;
    // A name only the proxy resolves: `localhost` goes to it as a name (socks5h).
    let url = format!(
        "http://localhost:{}/redirect-to?url=/post&status_code=307",
        server.http_addr().port()
    );
    let json: serde_json::Value =
        serde_json::from_str(&through_socks.post(&url).multipart(form).send()?.text()?)?;
    std::fs::remove_file(&notes)?;
    println!(
        "after the 307 the server got title={} and the {}-byte file, sent again from disk",
        json["form"]["title"],
        json["files"]["notes"].as_str().map_or(0, str::len)
    );

    #[cfg(feature = "tokio")]
    async_section(&server, trust_test_ca())?;

    println!("\nFor the poll-driven front end in a 60 fps loop: cargo run --example game_loop");
    Ok(())
}

/// The async front end: the same settings built with `build_async`, a few GETs at once on a
/// runtime of the example's own, and a send whose procedure runs when the answer comes.
#[cfg(feature = "tokio")]
fn async_section(server: &TestServer, tls: TlsOptions) -> Result<(), Box<dyn std::error::Error>> {
    section("7. Concurrent GETs with the async client (tokio), one pool shared by every task");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let client = envoi::AsyncClient::builder()
        .timeout(Duration::from_secs(30))
        .tls(tls)
        .build_async()?;
    runtime.block_on(async {
        let started = std::time::Instant::now();
        let tasks: Vec<_> = ["/get", "/bytes/100000", "/delay/1", "/gzip"]
            .into_iter()
            .map(|path| {
                let (client, url) = (client.clone(), server.https_url(path));
                tokio::spawn(async move {
                    let response = client.get(&url).send().await?;
                    let status = response.status();
                    let body = response.bytes().await?;
                    Ok::<_, envoi::Error>((url, status, body.len()))
                })
            })
            .collect();
        for task in tasks {
            let (url, status, length) = task.await??;
            println!("{status} {length:>6} bytes  {url}");
        }
        println!(
            "all four in {:?} (one of them waits 1 s)",
            started.elapsed()
        );

        // WinDev's asynchronous Send(request, procedure): the procedure runs once, here
        // with the body read inside it.
        let request = client.get(server.https_url("/uuid")).build()?;
        let done = client.send_then(request, |result| async move {
            let text = result?.text().await?;
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            println!("procedure called with: {text}");
            Ok::<_, envoi::Error>(())
        });
        done.wait().await??;
        Ok(())
    })
}

fn section(title: &str) {
    println!("\n== {title}");
}

fn print_event(event: &Event) {
    let who = event
        .user_value
        .as_ref()
        .and_then(|v| v.downcast_ref::<&str>())
        .copied()
        .unwrap_or("-");
    let what = match &event.kind {
        EventKind::BodyProgress { .. } => return,
        other => format!("{other:?}"),
    };
    println!(
        "  [{:>8.3} ms] {who}: {what}",
        event.elapsed.as_secs_f64() * 1000.0
    );
}
