//! A game loop at 60 frames per second that downloads several files through
//! `envoi::poll::Request` while it keeps drawing a frame counter, and prints each request's
//! status transitions. Offline: it starts the bundled test server on loopback.
//!
//! Run it with `cargo run --release --example game_loop`.

use std::io::Write;
use std::time::{Duration, Instant};

use envoi::poll::{Request, Status};
use envoi::tls::{Certificate, RootCertificates, TlsOptions};
use envoi_testserver::TestServer;

const FRAME: Duration = Duration::from_micros(16_667);
/// The loop gives up after this many frames (a minute), whatever happens.
const MAX_FRAMES: u64 = 3600;

/// One download shown on screen.
struct Download {
    name: &'static str,
    request: Request,
    status: Status,
    done: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = TestServer::start();
    let trust_test_ca = Certificate::from_pem(server.ca_cert_pem().as_bytes())?
        .into_iter()
        .fold(
            TlsOptions::default().root_certificates(RootCertificates::OnlyAdded),
            TlsOptions::add_root_certificate,
        );
    let files = [
        ("4 MB of bytes", server.url("/bytes/4000000")),
        ("gzip JSON", server.url("/gzip")),
        (
            "chunked 1 MB",
            server.url("/stream-bytes/1000000?chunk_size=8192"),
        ),
        ("slow drip", server.url("/drip?numbytes=20&duration=1")),
        ("https, 2 redirects", server.https_url("/redirect/2")),
    ];
    let mut downloads = Vec::new();
    for (name, url) in files {
        let mut request = Request::new();
        request.set_tls_options(trust_test_ca.clone());
        request.set_timeout(Duration::from_secs(30));
        request.request(&url, &[], http::Method::GET, "")?;
        downloads.push(Download {
            name,
            request,
            status: Status::Disconnected,
            done: false,
        });
    }

    let mut longest_poll = (Duration::ZERO, "", Status::Disconnected);
    let mut late_frames = 0;
    let started = Instant::now();
    let mut next_frame = started;
    for frame in 0..MAX_FRAMES {
        for download in downloads.iter_mut().filter(|d| !d.done) {
            let polled = Instant::now();
            let completed = download.request.poll().is_some();
            let took = polled.elapsed();
            let status = download.request.http_client_status();
            if took > longest_poll.0 {
                longest_poll = (took, download.name, status);
            }
            if status != download.status {
                println!(
                    "\rframe {frame:>4}: {:<20} {:?} -> {status:?}",
                    download.name, download.status
                );
                download.status = status;
            }
            if let Some(done) = completed.then(|| download.request.completion()).flatten() {
                println!(
                    "\rframe {frame:>4}: {:<20} done: {:?}, {:?}, {} bytes ({} received)",
                    download.name,
                    done.result(),
                    done.response_code(),
                    done.body().len(),
                    download.request.downloaded_bytes(),
                );
                download.done = true;
            }
        }
        // "Draw" the frame: a counter, redrawn in place.
        let busy = downloads.iter().filter(|d| !d.done).count();
        print!(
            "\rframe {frame:>4}  t={:>6.3}s  downloads running: {busy}",
            started.elapsed().as_secs_f64()
        );
        std::io::stdout().flush()?;
        if busy == 0 {
            break;
        }
        next_frame += FRAME;
        match next_frame.checked_duration_since(Instant::now()) {
            Some(rest) => std::thread::sleep(rest),
            None => late_frames += 1,
        }
    }
    println!(
        "\n\nall done in {:.2?}; longest poll(): {:.2?} ({}, then {:?}); frames started late: {late_frames}",
        started.elapsed(),
        longest_poll.0,
        longest_poll.1,
        longest_poll.2,
    );
    Ok(())
}
