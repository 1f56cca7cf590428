//! Results that helper threads (getaddrinfo, connection attempts) hand back to the thread
//! waiting for them, which waits no longer than its deadline.
//!
//! `std::sync::mpsc` would do, but each type sent through it instantiates its three channel
//! flavours: about 10 KB of machine code per type in every program that links envoi, where
//! a mutex and a condition variable take a fraction of that.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Where helper threads post results, in the order they arrive. Clones share the box.
pub(crate) struct Mailbox<T> {
    shared: Arc<(Mutex<Vec<T>>, Condvar)>,
}

impl<T> Mailbox<T> {
    pub(crate) fn new() -> Mailbox<T> {
        Mailbox {
            shared: Arc::new((Mutex::new(Vec::new()), Condvar::new())),
        }
    }

    /// Leaves `value` for the waiting thread; it is dropped with the box if nobody waits.
    pub(crate) fn post(&self, value: T) {
        let (posted, arrived) = &*self.shared;
        posted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(value);
        arrived.notify_one();
    }

    /// The oldest result, waiting for one at most `wait`; `None` when none came in time.
    pub(crate) fn wait(&self, wait: Duration) -> Option<T> {
        let (posted, arrived) = &*self.shared;
        // An overflowing deadline (Duration::MAX: no deadline) waits without one.
        let until = Instant::now().checked_add(wait);
        let mut queue = posted.lock().unwrap_or_else(PoisonError::into_inner);
        while queue.is_empty() {
            queue = match until {
                Some(until) => {
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    arrived
                        .wait_timeout(queue, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => arrived.wait(queue).unwrap_or_else(PoisonError::into_inner),
            };
        }
        Some(queue.remove(0))
    }
}

impl<T> Clone for Mailbox<T> {
    fn clone(&self) -> Self {
        Mailbox {
            shared: Arc::clone(&self.shared),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_out_in_the_order_they_were_posted() {
        let mailbox = Mailbox::new();
        mailbox.post(1);
        mailbox.post(2);
        assert_eq!(mailbox.wait(Duration::ZERO), Some(1));
        assert_eq!(mailbox.wait(Duration::ZERO), Some(2));
    }

    #[test]
    fn an_empty_box_waits_out_its_timeout() {
        let mailbox = Mailbox::<u8>::new();
        let start = Instant::now();
        assert_eq!(mailbox.wait(Duration::from_millis(30)), None);
        assert!(start.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn a_waiting_thread_wakes_when_another_posts() {
        let mailbox = Mailbox::new();
        let sender = mailbox.clone();
        let poster = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            sender.post("answer");
        });
        assert_eq!(mailbox.wait(Duration::MAX), Some("answer"));
        poster.join().unwrap();
    }
}
