//! `use_threads`: a request driven on a thread of its own (Godot's `HTTPRequest.use_threads`).
//! The thread runs the same [`Driver`] and waits for the socket between steps; the caller's
//! `poll()` only reads what it reports, and never waits for it.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::client::HttpClient;
use super::driver::{Driver, Step};
use super::request::Completion;
use super::Status;

/// The longest the thread waits for the socket before it looks at cancellation again.
const WAIT: Duration = Duration::from_millis(5);
/// `size` when the body size is unknown.
const UNKNOWN: u64 = u64::MAX;

/// What a finished request hands back: the completion, and what the next request reuses.
pub(crate) struct Finished {
    pub(crate) completion: Completion,
    pub(crate) client: HttpClient,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
}

/// What the thread reports, read without waiting.
struct Shared {
    status: AtomicU8,
    received: AtomicU64,
    size: AtomicU64,
    cancelled: AtomicBool,
    finished: Mutex<Option<Finished>>,
}

/// A request running on its own thread.
pub(crate) struct Threaded {
    shared: Arc<Shared>,
}

impl Threaded {
    /// Starts the thread; gives the driver back if no thread can be started (`None` only if
    /// the thread that could not start had taken it, which a failed spawn never does).
    pub(crate) fn spawn(driver: Box<Driver>) -> Result<Threaded, Option<Box<Driver>>> {
        let shared = Arc::new(Shared {
            status: AtomicU8::new(driver.status() as u8),
            received: AtomicU64::new(0),
            size: AtomicU64::new(UNKNOWN),
            cancelled: AtomicBool::new(false),
            finished: Mutex::new(None),
        });
        // The driver waits in a slot so it can be taken back if the thread never starts.
        let slot = Arc::new(Mutex::new(Some(driver)));
        let theirs = Arc::clone(&slot);
        let report = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("envoi-poll-request".into())
            .spawn(move || {
                let taken = theirs.lock().unwrap_or_else(PoisonError::into_inner).take();
                if let Some(driver) = taken {
                    run(driver, &report);
                }
            });
        match spawned {
            Ok(_) => Ok(Threaded { shared }),
            Err(_) => Err(slot.lock().unwrap_or_else(PoisonError::into_inner).take()),
        }
    }

    /// The outcome, once the thread has finished (taken once).
    pub(crate) fn finished(&self) -> Option<Finished> {
        self.shared.finished.try_lock().ok()?.take()
    }

    /// The client's status as last reported.
    pub(crate) fn status(&self) -> Status {
        status_from(self.shared.status.load(Ordering::Relaxed))
    }

    /// Body bytes received and the announced size, as last reported.
    pub(crate) fn progress(&self) -> (u64, Option<u64>) {
        let size = self.shared.size.load(Ordering::Relaxed);
        (
            self.shared.received.load(Ordering::Relaxed),
            (size != UNKNOWN).then_some(size),
        )
    }
}

impl Drop for Threaded {
    /// A request dropped or cancelled stops at the thread's next step; its connection closes.
    fn drop(&mut self) {
        self.shared.cancelled.store(true, Ordering::Relaxed);
    }
}

fn run(mut driver: Box<Driver>, shared: &Shared) {
    while !shared.cancelled.load(Ordering::Relaxed) {
        let step = driver.step(Instant::now());
        shared
            .status
            .store(driver.status() as u8, Ordering::Relaxed);
        let (received, size) = driver.progress();
        shared.received.store(received, Ordering::Relaxed);
        shared
            .size
            .store(size.unwrap_or(UNKNOWN), Ordering::Relaxed);
        match step {
            Step::Running => driver.wait(WAIT),
            Step::Done(completion) => {
                let finished = Finished {
                    completion: *completion,
                    client: driver.client,
                    tls: driver.tls,
                };
                *shared
                    .finished
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(finished);
                return;
            }
        }
    }
}

fn status_from(n: u8) -> Status {
    match n {
        1 => Status::Resolving,
        2 => Status::CantResolve,
        3 => Status::Connecting,
        4 => Status::CantConnect,
        5 => Status::Connected,
        6 => Status::Requesting,
        7 => Status::Body,
        8 => Status::ConnectionError,
        9 => Status::TlsHandshakeError,
        _ => Status::Disconnected,
    }
}
