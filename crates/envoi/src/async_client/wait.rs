//! How the async front end waits: on a deadline (a tokio timer at the `Deadlines`' instant) or
//! on a `CancelHandle`, never on anything else. The deadlines themselves are the shared ones.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use crate::error::{Error, ErrorKind, TimeoutPhase};
use crate::exchange::timeout;
use crate::policy::cancel::CancelGuard;
use crate::policy::CancelHandle;

/// Runs `work`, failing with a timeout in `phase` if `deadline` passes first.
pub(crate) async fn within<T>(
    deadline: Option<Instant>,
    phase: TimeoutPhase,
    work: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match deadline {
        None => work.await,
        Some(d) => tokio::time::timeout_at(d.into(), work)
            .await
            .unwrap_or_else(|_| Err(timeout(phase))),
    }
}

/// The error a cancelled request ends with.
pub(crate) fn cancelled() -> Error {
    Error::new(ErrorKind::Cancelled, "")
}

/// A [`CancelHandle`] a task can wait on: the handle's wake-up callback wakes the task that
/// last polled the watch, and every poll checks the flag, so no cancellation is missed.
pub(crate) struct CancelWatch {
    handle: CancelHandle,
    waker: Arc<Mutex<Option<Waker>>>,
    _guard: CancelGuard,
}

impl CancelWatch {
    pub(crate) fn new(handle: &CancelHandle) -> Self {
        let waker: Arc<Mutex<Option<Waker>>> = Arc::default();
        let slot = Arc::clone(&waker);
        let guard = handle.on_cancel(move || {
            if let Some(waker) = lock(&slot).take() {
                waker.wake();
            }
        });
        CancelWatch {
            handle: handle.clone(),
            waker,
            _guard: guard,
        }
    }

    /// Ready once the handle is cancelled. The waker is stored before the flag is read:
    /// `cancel` sets the flag before it runs the callbacks, so a cancellation that this check
    /// misses finds the waker and wakes the task.
    pub(crate) fn poll_cancelled(&self, cx: &mut Context<'_>) -> Poll<()> {
        {
            let mut slot = lock(&self.waker);
            if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *slot = Some(cx.waker().clone());
            }
        }
        if self.handle.is_cancelled() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// `Err(Cancelled)` once cancelled, without registering a waker.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.handle.is_cancelled() {
            Err(cancelled())
        } else {
            Ok(())
        }
    }
}

/// Runs `work` until it ends or `watch` (if any) is cancelled; the caller then drops `work`,
/// and with it any connection it holds, which is closed rather than pooled. `work` is taken
/// pinned where it lies, so a large future is not copied into this one.
pub(crate) async fn unless_cancelled<T>(
    watch: Option<&CancelWatch>,
    work: Pin<&mut impl Future<Output = Result<T, Error>>>,
) -> Result<T, Error> {
    let Some(watch) = watch else {
        return work.await;
    };
    watch.check()?;
    tokio::select! {
        biased;
        () = poll_fn(|cx| watch.poll_cancelled(cx)) => Err(cancelled()),
        result = work => result,
    }
}

/// The waker slot; a poisoned lock (a waker panicked elsewhere) still yields it.
fn lock(slot: &Mutex<Option<Waker>>) -> MutexGuard<'_, Option<Waker>> {
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_cancel_from_another_thread_ends_the_wait() {
        let handle = CancelHandle::new();
        let watch = CancelWatch::new(&handle);
        let remote = handle.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            remote.cancel();
        });
        let never = std::pin::pin!(std::future::pending::<Result<(), Error>>());
        let e = unless_cancelled(Some(&watch), never).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Cancelled);
    }

    #[tokio::test]
    async fn a_passed_deadline_is_a_timeout_in_its_phase() {
        let deadline = Some(Instant::now() + Duration::from_millis(10));
        let never = std::future::pending::<Result<(), Error>>();
        let e = within(deadline, TimeoutPhase::Body, never)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout(TimeoutPhase::Body));
    }
}
