//! Cancellation: a handle any thread can use to stop a request in flight, at any phase.
//!
//! The handle is only a flag plus a list of wake-up callbacks; the front ends decide what
//! "stop" means for their I/O:
//!
//! - **blocking**: check [`CancelHandle::is_cancelled`] between I/O steps (before resolving,
//!   connecting, each write and each read), and register a callback with `on_cancel` that
//!   shuts the socket down, so a thread blocked in `read` or `connect` returns at once.
//! - **async**: register a callback that wakes the task's `Waker`, and check the flag each time
//!   the future is polled.
//! - **poll-driven**: check the flag at the top of every `poll()`; nothing blocks, so no
//!   callback is needed.
//!
//! In every front end the request then ends with [`ErrorKind::Cancelled`].

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{Error, ErrorKind};

type Callback = Box<dyn FnOnce() + Send + 'static>;

/// Cancels a request from anywhere: clone it to another thread and call
/// [`cancel`](CancelHandle::cancel). The request ends with [`ErrorKind::Cancelled`] at
/// whatever phase it is in. Cancelling twice, or after the request ended, does nothing.
///
/// ```
/// use envoi::policy::CancelHandle;
///
/// let handle = CancelHandle::new();
/// let remote = handle.clone();
/// std::thread::spawn(move || remote.cancel()).join().unwrap();
/// assert!(handle.is_cancelled());
/// ```
#[derive(Clone, Default)]
pub struct CancelHandle {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    cancelled: AtomicBool,
    next_id: AtomicU64,
    callbacks: Mutex<Vec<(u64, Callback)>>,
}

impl CancelHandle {
    /// A handle that is not cancelled.
    pub fn new() -> Self {
        CancelHandle::default()
    }

    /// Cancels the request: sets the flag, then runs every registered wake-up callback once.
    pub fn cancel(&self) {
        if self.inner.cancelled.swap(true, Ordering::SeqCst) {
            return;
        }
        // Take the callbacks out before running them, so a callback that touches this handle
        // (or drops a guard) cannot deadlock on the list.
        let callbacks = std::mem::take(&mut *self.inner.lock());
        for (_, callback) in callbacks {
            callback();
        }
    }

    /// True once [`cancel`](CancelHandle::cancel) has been called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// `Err(Cancelled)` once cancelled; front ends call it between steps.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.is_cancelled() {
            Err(Error::new(ErrorKind::Cancelled, ""))
        } else {
            Ok(())
        }
    }

    /// Runs `wake` when the handle is cancelled (at once if it already is). Dropping the
    /// returned guard unregisters it, so a finished phase leaves nothing behind.
    pub(crate) fn on_cancel(&self, wake: impl FnOnce() + Send + 'static) -> CancelGuard {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut callbacks = self.inner.lock();
            // Checked under the lock: `cancel` sets the flag before it takes the list, so a
            // callback pushed here is either taken by it or run right below.
            if !self.is_cancelled() {
                callbacks.push((id, Box::new(wake)));
                return CancelGuard {
                    inner: Arc::clone(&self.inner),
                    id,
                };
            }
        }
        wake();
        CancelGuard {
            inner: Arc::clone(&self.inner),
            id,
        }
    }
}

impl Inner {
    /// The callback list; a poisoned lock (a callback panicked elsewhere) still yields it.
    fn lock(&self) -> MutexGuard<'_, Vec<(u64, Callback)>> {
        self.callbacks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelHandle")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// Keeps a wake-up callback registered; dropping it unregisters the callback.
#[must_use = "dropping the guard unregisters the callback at once"]
pub(crate) struct CancelGuard {
    inner: Arc<Inner>,
    id: u64,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        self.inner.lock().retain(|(id, _)| *id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn a_clone_on_another_thread_cancels_and_check_says_cancelled() {
        let handle = CancelHandle::new();
        assert!(handle.check().is_ok());
        let remote = handle.clone();
        std::thread::spawn(move || remote.cancel()).join().unwrap();
        assert!(handle.is_cancelled());
        assert_eq!(handle.check().unwrap_err().kind(), ErrorKind::Cancelled);
    }

    #[test]
    fn cancel_runs_each_registered_callback_once() {
        let handle = CancelHandle::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let _guard = handle.on_cancel(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        handle.cancel();
        handle.cancel();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_callback_registered_after_cancel_runs_at_once() {
        let handle = CancelHandle::new();
        handle.cancel();
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let _guard = handle.on_cancel(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_dropped_guard_unregisters_its_callback() {
        let handle = CancelHandle::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        drop(handle.on_cancel(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        handle.cancel();
        assert_eq!(runs.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_callback_may_use_the_handle_without_deadlock() {
        let handle = CancelHandle::new();
        let inside = handle.clone();
        let seen = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&seen);
        let _guard = handle.on_cancel(move || {
            flag.store(inside.is_cancelled(), Ordering::SeqCst);
            drop(inside.on_cancel(|| {}));
        });
        handle.cancel();
        assert!(seen.load(Ordering::SeqCst));
    }

    #[test]
    fn a_blocked_thread_is_woken_by_its_callback() {
        use std::sync::mpsc;
        let handle = CancelHandle::new();
        let (wake, blocked) = mpsc::channel::<()>();
        let _guard = handle.on_cancel(move || {
            let _ = wake.send(());
        });
        let waiter = std::thread::spawn(move || blocked.recv().is_ok());
        handle.clone().cancel();
        assert!(waiter.join().unwrap());
    }
}
