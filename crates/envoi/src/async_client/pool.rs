//! Keep-alive connections for the async front end, keyed by [`Route`] with the limits of
//! [`PoolLimits`], as the blocking pool keeps them; a request that finds every slot taken
//! waits on a [`Notify`] instead of a condition variable, so no thread is held.
//!
//! A connection counts as open from the moment a request reserves a slot for it until it is
//! dropped; an idle connection still holds its slot. Slots point back at the pool weakly, so
//! dropping the last client drops the pool and closes every idle connection.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;

use tokio::sync::Notify;

use super::stream::AsyncStream;
use crate::error::{Error, ErrorKind, TimeoutPhase};
use crate::pool::{PoolLimits, PoolState, Reuse};
use crate::transport::route::Route;

/// The idle connections and slot counts of one async client.
pub(crate) struct Pool {
    limits: PoolLimits,
    /// Connections are kept boxed: checking one in or out moves a pointer, not the connection.
    state: Mutex<PoolState<Box<Connection>>>,
    freed: Notify,
}

/// An open connection with its protocol state, holding a pool slot until dropped.
pub(crate) struct Connection {
    pub(crate) stream: AsyncStream,
    pub(crate) proto: envoi_proto::Connection,
    pub(crate) peer: SocketAddr,
    /// Where reads land before the protocol core takes them: kept with the connection, so no
    /// read pays for preparing a buffer (a wait that finds nothing costs nothing).
    pub(crate) read_buf: Box<[u8]>,
    pub(crate) slot: Slot,
}

/// A reserved place among the open connections of a route; released on drop.
pub(crate) struct Slot {
    pool: Weak<Pool>,
    route: Route,
}

/// What checking out found.
pub(crate) enum Checkout {
    /// A kept-alive connection, ready for a request.
    Reused(Box<Connection>),
    /// A free slot: open a new connection in it.
    Open(Slot),
}

impl Pool {
    pub(crate) fn new(limits: PoolLimits) -> Arc<Pool> {
        Arc::new(Pool {
            limits,
            state: Mutex::new(PoolState::default()),
            freed: Notify::new(),
        })
    }

    /// Takes an idle connection for `route` as `reuse` allows, or reserves a slot for a new
    /// one, waiting for a free slot until `deadline` when the limits are reached.
    pub(crate) async fn checkout(
        self: &Arc<Self>,
        route: &Route,
        deadline: Option<Instant>,
        reuse: Reuse,
    ) -> Result<Checkout, Error> {
        if let Some(found) = self.try_checkout(route, reuse) {
            return Ok(found);
        }
        loop {
            // Registered before looking again, so a slot freed in between is not missed.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some(found) = self.try_checkout(route, reuse) {
                return Ok(found);
            }
            match deadline {
                None => freed.await,
                Some(d) => {
                    if tokio::time::timeout_at(d.into(), freed).await.is_err() {
                        return Err(Error::new(
                            ErrorKind::Timeout(TimeoutPhase::Pool),
                            "every connection slot stayed busy",
                        ));
                    }
                }
            }
        }
    }

    /// One look: a live idle connection, or a free slot (after closing an idle connection of
    /// another route to make room, if need be). Connections are closed without the lock held,
    /// since closing one releases its slot, which takes the lock.
    fn try_checkout(self: &Arc<Self>, route: &Route, reuse: Reuse) -> Option<Checkout> {
        loop {
            let mut expired = Vec::new();
            let mut state = self.lock();
            if reuse != Reuse::Never {
                while let Some(idle) = state.pop_idle(route) {
                    if idle.is_usable(self.limits.idle_timeout, reuse, |c| c.stream.is_stale()) {
                        drop(state);
                        drop(expired);
                        return Some(Checkout::Reused(idle.conn));
                    }
                    expired.push(idle);
                }
            }
            if state.has_room(&self.limits, route) {
                state.reserve(route);
                drop(state);
                drop(expired);
                return Some(Checkout::Open(Slot {
                    pool: Arc::downgrade(self),
                    route: route.clone(),
                }));
            }
            // Full: an idle connection of another route can make room.
            let victim = state.oldest_idle_elsewhere(route);
            drop(state);
            drop(expired);
            let room_was_made = victim.is_some();
            drop(victim);
            // Closing the expired ones may have made room too.
            if !room_was_made && !self.lock().has_room(&self.limits, route) {
                return None;
            }
        }
    }

    /// Returns a connection whose exchange completed; it is kept if it may carry another
    /// request and the route has room for one more idle connection, and closed otherwise.
    pub(crate) fn checkin(&self, conn: Box<Connection>) {
        if !conn.proto.ready_for_request() || self.limits.max_idle_per_host == 0 {
            return;
        }
        let mut state = self.lock();
        let max_idle = self.limits.max_idle_per_host;
        let displaced = state.push_idle(conn, |c| &c.slot.route, max_idle);
        drop(state);
        drop(displaced);
    }

    fn release(&self, route: &Route) {
        self.lock().release(route);
        self.freed.notify_one();
    }

    fn lock(&self) -> MutexGuard<'_, PoolState<Box<Connection>>> {
        crate::pool::lock(&self.state)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.upgrade() {
            pool.release(&self.route);
        }
    }
}
