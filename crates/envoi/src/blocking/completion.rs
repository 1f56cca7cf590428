//! Send with a completion procedure on the blocking client (WinDev's asynchronous
//! `Send(request, procedure)`): the request runs on a thread of its own, which then calls the
//! procedure once with the response (its body still readable) or the typed error.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::{Client, Response};
use crate::error::{Error, ErrorKind};
use crate::policy::CancelHandle;
use crate::request::Request;

/// A request sent with [`Client::send_then`]: [`wait`](Self::wait) for the procedure's value,
/// or [`cancel`](Self::cancel) the request. Dropping the handle lets the request and its
/// procedure run on unobserved.
pub struct Completion<T> {
    run: Run<T>,
    cancel: CancelHandle,
}

enum Run<T> {
    /// On its thread. (`None`, here and below, only if no job was found, which cannot
    /// happen.)
    Thread(JoinHandle<Option<T>>),
    /// No thread could be started: the request ran on the caller's thread instead, so the
    /// procedure is still called once.
    Done(Option<T>),
}

type Job<F> = (Client, Request, F);

pub(super) fn start<T, F>(client: &Client, mut request: Request, procedure: F) -> Completion<T>
where
    F: FnOnce(Result<Response, Error>) -> T + Send + 'static,
    T: Send + 'static,
{
    // The request's own handle if it has one, so either cancels it.
    let cancel = request.cancel.get_or_insert_with(CancelHandle::new).clone();
    let run = |(client, request, procedure): Job<F>| procedure(client.execute(&request));
    // The job waits here rather than moving into the thread, so a thread that cannot be
    // started leaves it behind to run in place.
    let job: Arc<Mutex<Option<Job<F>>>> =
        Arc::new(Mutex::new(Some((client.clone(), request, procedure))));
    let theirs = Arc::clone(&job);
    let spawned = std::thread::Builder::new()
        .name("envoi-send".into())
        .spawn(move || take(&theirs).map(run));
    let run = match spawned {
        Ok(thread) => Run::Thread(thread),
        // A thread that never started cannot have taken the job.
        Err(_) => Run::Done(take(&job).map(run)),
    };
    Completion { run, cancel }
}

fn take<J>(job: &Mutex<Option<J>>) -> Option<J> {
    job.lock().unwrap_or_else(|e| e.into_inner()).take()
}

impl<T> Completion<T> {
    /// Cancels the request, at whatever phase it is in, body reading in the procedure
    /// included; the procedure is still called once, with
    /// [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled) if the response had not come.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// True once the procedure has returned.
    pub fn is_finished(&self) -> bool {
        match &self.run {
            Run::Thread(thread) => thread.is_finished(),
            Run::Done(_) => true,
        }
    }

    /// Waits for the procedure and returns its value. A panic in the procedure is resumed
    /// here.
    pub fn wait(self) -> Result<T, Error> {
        let value = match self.run {
            Run::Done(value) => value,
            Run::Thread(thread) => match thread.join() {
                Ok(value) => value,
                Err(panic) => std::panic::resume_unwind(panic),
            },
        };
        value.ok_or_else(|| Error::new(ErrorKind::Cancelled, "the request never ran"))
    }
}

impl<T> fmt::Debug for Completion<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completion")
            .field("finished", &self.is_finished())
            .field("cancelled", &self.cancel.is_cancelled())
            .finish()
    }
}
