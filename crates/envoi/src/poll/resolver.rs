//! Name resolution off the calling thread: one resolver thread for the whole process, fed by a
//! queue. getaddrinfo (or a resolver the caller plugged in) may block for seconds; a frame
//! loop must not. The answer is picked up by a later `poll()`; one nobody waits for any more
//! is dropped.
//!
//! One thread, not one per request: lookups queue behind each other, which bounds the
//! threads a game can spawn by accident, and the connect deadline bounds each wait.

use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::config::Config;
use crate::error::{Error, ErrorKind};
use crate::transport::dns;

type Answer = Result<Vec<SocketAddr>, Error>;

struct Job {
    config: Arc<Config>,
    host: String,
    port: u16,
    reply: mpsc::Sender<Answer>,
}

/// A lookup in progress.
pub(crate) struct Pending {
    answer: mpsc::Receiver<Answer>,
    /// An answer a wait picked up, kept for the next step.
    ready: Option<Answer>,
}

impl Pending {
    /// The answer, if it has come.
    pub(crate) fn try_answer(&mut self) -> Option<Answer> {
        if let Some(answer) = self.ready.take() {
            return Some(answer);
        }
        match self.answer.try_recv() {
            Ok(answer) => Some(answer),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(lost())),
        }
    }

    /// Waits up to `max` for the answer (the opt-in blocking mode); the next
    /// [`try_answer`](Self::try_answer) takes it.
    pub(crate) fn wait(&mut self, max: Duration) {
        if self.ready.is_none() {
            self.ready = match self.answer.recv_timeout(max) {
                Ok(answer) => Some(answer),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some(Err(lost())),
            };
        }
    }
}

/// Queues the resolution of `host:port` with the client's rules (IP literals, `resolve`
/// overrides, its resolver, the address family), the same function the blocking front end
/// calls.
pub(crate) fn resolve(config: Arc<Config>, host: &str, port: u16) -> Pending {
    let (reply, answer) = mpsc::channel();
    let job = Job {
        config,
        host: host.to_owned(),
        port,
        reply,
    };
    if let Err((job, e)) = submit(job) {
        let error = Error::new(
            ErrorKind::CantResolve,
            "could not start the resolver thread",
        );
        let _ = job.reply.send(Err(error.with_source(e)));
    }
    Pending {
        answer,
        ready: None,
    }
}

/// Sends the job to the resolver thread, starting one if there is none (or the last one
/// ended).
fn submit(job: Job) -> Result<(), (Job, std::io::Error)> {
    static QUEUE: Mutex<Option<mpsc::Sender<Job>>> = Mutex::new(None);
    let mut queue = QUEUE.lock().unwrap_or_else(PoisonError::into_inner);
    let job = match queue.as_ref() {
        Some(tx) => match tx.send(job) {
            Ok(()) => return Ok(()),
            Err(mpsc::SendError(job)) => job,
        },
        None => job,
    };
    let (tx, rx) = mpsc::channel::<Job>();
    let spawned = std::thread::Builder::new()
        .name("envoi-poll-resolver".into())
        .spawn(move || {
            for job in rx {
                run(job);
            }
        });
    if let Err(e) = spawned {
        return Err((job, e));
    }
    // The thread was just started and holds the receiver: this send cannot fail.
    let _ = tx.send(job);
    *queue = Some(tx);
    Ok(())
}

fn run(job: Job) {
    // A resolver the caller plugged in may panic; the thread must live on for the others.
    let answer = panic::catch_unwind(AssertUnwindSafe(|| {
        dns::resolve(&job.config, &job.host, job.port, None)
    }))
    .unwrap_or_else(|_| {
        Err(Error::new(
            ErrorKind::CantResolve,
            format!("the resolver panicked resolving {}", job.host),
        ))
    });
    let _ = job.reply.send(answer);
}

fn lost() -> Error {
    Error::new(
        ErrorKind::CantResolve,
        "the resolver thread ended without an answer",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_come_from_the_one_resolver_thread() {
        let config = Arc::new(Config {
            resolver: Some(Arc::new(|host: &str, port: u16| {
                if host == "fails.test" {
                    return Err(std::io::Error::other("no such host"));
                }
                assert_eq!(std::thread::current().name(), Some("envoi-poll-resolver"));
                Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))])
            })),
            ..Config::default()
        });
        let mut ok = resolve(Arc::clone(&config), "works.test", 80);
        let mut bad = resolve(config, "fails.test", 80);
        ok.wait(Duration::from_secs(5));
        let ok = ok.try_answer().unwrap().unwrap();
        assert_eq!(ok, [SocketAddr::from(([127, 0, 0, 1], 80))]);
        bad.wait(Duration::from_secs(5));
        let e = bad.try_answer().unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::CantResolve);
    }
}
