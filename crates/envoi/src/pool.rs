//! Keep-alive connections, keyed by route, with bounds on idle and open connections.
//!
//! A connection counts as open from the moment a request reserves a slot for it until it is
//! dropped; an idle connection in the pool still holds its slot. A request that finds every
//! slot taken waits for one, no longer than its deadline.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, TimeoutPhase};
use crate::transport::route::Route;
use crate::transport::stream::{remaining, Stream};

/// Settings the pool enforces.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolLimits {
    pub(crate) idle_timeout: Duration,
    pub(crate) max_idle_per_host: usize,
    pub(crate) max_per_host: Option<usize>,
    pub(crate) max_total: Option<usize>,
}

/// The idle connections and slot counts of one client.
pub(crate) struct Pool {
    limits: PoolLimits,
    /// Connections are kept boxed: checking one in or out moves a pointer, not the connection.
    state: Mutex<PoolState<Box<Connection>>>,
    freed: Condvar,
}

/// The bookkeeping every pool shares, whatever its connection type `C` and however it waits:
/// idle connections per route, and the open-slot counts the limits apply to. Nothing here
/// closes a connection: what leaves the state is handed back, to be dropped without the lock.
pub(crate) struct PoolState<C> {
    idle: HashMap<Route, Vec<Idle<C>>>,
    open_per_route: HashMap<Route, usize>,
    open_total: usize,
}

/// An idle connection and since when it has been idle.
pub(crate) struct Idle<C> {
    pub(crate) conn: C,
    pub(crate) since: Instant,
}

/// Whether a request may take an idle connection, and whether that connection is first
/// checked (a one-byte peek, one system call) for a close or unsolicited bytes from the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reuse {
    /// Open a new connection: a retry after a reused one turned out closed.
    Never,
    /// Take an idle connection once the peek shows it still open and silent.
    Checked,
    /// Take a connection given back less than [`TRUSTED_IDLE`] ago without the peek: for a
    /// request that the fresh-connection retry covers (see
    /// [`crate::exchange::reuse_for`]), should the server have closed it after all.
    Trusted,
}

/// How long a connection given back to the pool is taken again without a peek. Servers keep
/// idle connections for seconds (nginx 75 s, Apache and Node 5 s), so a close in the first
/// 50 ms means a server that dropped it without saying so, which the retry covers.
const TRUSTED_IDLE: Duration = Duration::from_millis(50);

impl<C> Idle<C> {
    /// True when the connection may carry a request under `reuse`: idle for less than
    /// `idle_timeout`, and either trusted or found open by `is_stale`.
    pub(crate) fn is_usable(
        &self,
        idle_timeout: Duration,
        reuse: Reuse,
        is_stale: impl FnOnce(&C) -> bool,
    ) -> bool {
        let idle_for = self.since.elapsed();
        idle_for < idle_timeout
            && ((reuse == Reuse::Trusted && idle_for < TRUSTED_IDLE) || !is_stale(&self.conn))
    }
}

impl<C> Default for PoolState<C> {
    fn default() -> Self {
        PoolState {
            idle: HashMap::new(),
            open_per_route: HashMap::new(),
            open_total: 0,
        }
    }
}

impl<C> PoolState<C> {
    /// The most recently idled connection of `route`, if any.
    pub(crate) fn pop_idle(&mut self, route: &Route) -> Option<Idle<C>> {
        self.idle.get_mut(route).and_then(Vec::pop)
    }

    /// Keeps `conn` idle for its route (`route_of` reads it from the connection); returns the
    /// oldest idle one it displaces when the route already holds `max_idle` (at least 1) of
    /// them. The route is copied only for a route with no list yet: a keep-alive loop
    /// allocates nothing here.
    pub(crate) fn push_idle(
        &mut self,
        conn: C,
        route_of: impl Fn(&C) -> &Route,
        max_idle: usize,
    ) -> Option<Idle<C>> {
        let since = Instant::now();
        if let Some(idle) = self.idle.get_mut(route_of(&conn)) {
            let oldest = (idle.len() >= max_idle).then(|| idle.remove(0));
            idle.push(Idle { conn, since });
            return oldest;
        }
        let route = route_of(&conn).clone();
        self.idle.insert(route, vec![Idle { conn, since }]);
        None
    }

    /// True when the limits leave room for one more open connection to `route`.
    pub(crate) fn has_room(&self, limits: &PoolLimits, route: &Route) -> bool {
        let per_route = self.open_per_route.get(route).copied().unwrap_or(0);
        limits.max_per_host.is_none_or(|max| per_route < max)
            && limits.max_total.is_none_or(|max| self.open_total < max)
    }

    /// Counts one more open connection to `route`.
    pub(crate) fn reserve(&mut self, route: &Route) {
        *self.open_per_route.entry(route.clone()).or_default() += 1;
        self.open_total += 1;
    }

    /// Counts one open connection to `route` fewer.
    pub(crate) fn release(&mut self, route: &Route) {
        if let Some(n) = self.open_per_route.get_mut(route) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.open_per_route.remove(route);
            }
        }
        self.open_total = self.open_total.saturating_sub(1);
    }

    /// Takes out the longest-idle connection of another route, to make room for `route`.
    pub(crate) fn oldest_idle_elsewhere(&mut self, route: &Route) -> Option<Idle<C>> {
        let key = self
            .idle
            .iter()
            .filter(|(r, list)| *r != route && !list.is_empty())
            .min_by_key(|(_, list)| list[0].since)
            .map(|(r, _)| r.clone())?;
        let list = self.idle.get_mut(&key)?;
        Some(list.remove(0))
    }

    /// Idle connections kept, over all routes.
    #[cfg(test)]
    pub(crate) fn idle_count(&self) -> usize {
        self.idle.values().map(Vec::len).sum()
    }
}

/// Locks a pool's state; a panic while holding the lock leaves counts that are still
/// consistent enough to go on with, and refusing every later request would be worse.
pub(crate) fn lock<C>(state: &Mutex<PoolState<C>>) -> MutexGuard<'_, PoolState<C>> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An open connection with its protocol state, holding a pool slot until dropped.
pub(crate) struct Connection {
    pub(crate) stream: Stream,
    pub(crate) proto: envoi_proto::Connection,
    pub(crate) peer: SocketAddr,
    pub(crate) slot: Slot,
    /// The socket timeouts last set, so an unchanged one costs no system call (with no
    /// timeouts configured, the common case, none is made after the first).
    pub(crate) timeouts: SocketTimeouts,
    /// Where reads that go through the protocol core land first. Allocated and zeroed once
    /// per connection: handing the core a zero-filled region before every read cost a
    /// 16 KiB memset per response; copying the few bytes a read returns costs far less.
    pub(crate) read_buf: Box<[u8]>,
    /// Whether the blocking client polls this connection for its next response head.
    pub(crate) read_polling: crate::blocking::busy_poll::ReadPolling,
}

/// Read size when the bytes go through the protocol core's buffer (heads, chunk framing).
pub(crate) const READ_CHUNK: usize = 16 * 1024;

/// Socket timeouts as last set on a connection; `None` until set.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SocketTimeouts {
    read: Option<Option<Duration>>,
    write: Option<Option<Duration>>,
}

impl Connection {
    /// A newly opened connection in `slot`.
    pub(crate) fn new(
        stream: Stream,
        proto: envoi_proto::Connection,
        peer: SocketAddr,
        slot: Slot,
    ) -> Connection {
        Connection {
            stream,
            proto,
            peer,
            slot,
            timeouts: SocketTimeouts::default(),
            read_buf: vec![0; READ_CHUNK].into_boxed_slice(),
            read_polling: Default::default(),
        }
    }

    /// Bounds the next reads by `deadline`; a deadline that has passed is an error.
    pub(crate) fn set_read_deadline(&mut self, deadline: Option<Instant>) -> std::io::Result<()> {
        let timeout = remaining(deadline)?;
        if self.timeouts.read != Some(timeout) {
            self.stream.tcp().set_read_timeout(timeout)?;
            self.timeouts.read = Some(timeout);
        }
        Ok(())
    }

    /// Bounds the next writes by `deadline`; a deadline that has passed is an error.
    pub(crate) fn set_write_deadline(&mut self, deadline: Option<Instant>) -> std::io::Result<()> {
        let timeout = remaining(deadline)?;
        if self.timeouts.write != Some(timeout) {
            self.stream.tcp().set_write_timeout(timeout)?;
            self.timeouts.write = Some(timeout);
        }
        Ok(())
    }
}

/// A reserved place among the open connections of a route; released on drop. It points at
/// its pool weakly, so idle connections do not keep a dropped client's pool (and their
/// sockets) alive.
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
            freed: Condvar::new(),
        })
    }

    /// Takes an idle connection for `route` as `reuse` allows, or reserves a slot for a new
    /// one, waiting for a free slot until `deadline` when the limits are reached.
    pub(crate) fn checkout(
        self: &Arc<Self>,
        route: &Route,
        deadline: Option<Instant>,
        reuse: Reuse,
    ) -> Result<Checkout, Error> {
        let mut state = self.lock();
        loop {
            while let Some(idle) = (reuse != Reuse::Never)
                .then(|| state.pop_idle(route))
                .flatten()
            {
                if idle.is_usable(self.limits.idle_timeout, reuse, |c| c.stream.is_stale()) {
                    return Ok(Checkout::Reused(idle.conn));
                }
                // Dropping it frees its slot; do that without the lock held.
                drop(state);
                drop(idle);
                state = self.lock();
            }
            if state.has_room(&self.limits, route) {
                state.reserve(route);
                return Ok(Checkout::Open(Slot {
                    pool: Arc::downgrade(self),
                    route: route.clone(),
                }));
            }
            // Full: an idle connection of another route can make room.
            if let Some(victim) = state.oldest_idle_elsewhere(route) {
                drop(state);
                drop(victim);
                state = self.lock();
                continue;
            }
            let wait = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Error::new(
                            ErrorKind::Timeout(TimeoutPhase::Pool),
                            "every connection slot stayed busy",
                        ));
                    }
                    left
                }
                None => Duration::from_secs(3600),
            };
            state = self
                .freed
                .wait_timeout(state, wait)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
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

    /// Idle connections currently kept, over all routes (for tests and diagnostics).
    #[cfg(test)]
    pub(crate) fn idle_count(&self) -> usize {
        self.lock().idle_count()
    }

    fn release(&self, route: &Route) {
        self.lock().release(route);
        self.freed.notify_one();
    }

    fn lock(&self) -> MutexGuard<'_, PoolState<Box<Connection>>> {
        lock(&self.state)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.upgrade() {
            pool.release(&self.route);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    fn route(port: u16) -> Route {
        Route {
            https: false,
            host: "127.0.0.1".into(),
            port,
            proxy: None,
        }
    }

    fn limits(max_per_host: Option<usize>) -> PoolLimits {
        PoolLimits {
            idle_timeout: Duration::from_secs(60),
            max_idle_per_host: 4,
            max_per_host,
            max_total: None,
        }
    }

    fn open(pool: &Arc<Pool>, listener: &TcpListener) -> Connection {
        let addr = listener.local_addr().unwrap();
        let Checkout::Open(slot) = pool
            .checkout(&route(addr.port()), None, Reuse::Checked)
            .unwrap()
        else {
            panic!("expected a slot")
        };
        Connection::new(
            Stream::Plain(TcpStream::connect(addr).unwrap()),
            envoi_proto::Connection::default(),
            addr,
            slot,
        )
    }

    #[test]
    fn a_trusted_reuse_skips_the_peek_only_while_the_connection_is_fresh() {
        let idle = |ago: Duration| Idle {
            conn: (),
            since: Instant::now() - ago,
        };
        let timeout = Duration::from_secs(90);
        let stale = |_: &()| true;
        let open = |_: &()| false;
        // Given back just now: trusted without a peek, checked with one.
        assert!(idle(Duration::ZERO).is_usable(timeout, Reuse::Trusted, stale));
        assert!(!idle(Duration::ZERO).is_usable(timeout, Reuse::Checked, stale));
        assert!(idle(Duration::ZERO).is_usable(timeout, Reuse::Checked, open));
        // Idle for a while: the peek decides, trusted or not.
        assert!(!idle(TRUSTED_IDLE * 2).is_usable(timeout, Reuse::Trusted, stale));
        assert!(idle(TRUSTED_IDLE * 2).is_usable(timeout, Reuse::Trusted, open));
        // Past the idle timeout: never.
        assert!(!idle(Duration::from_secs(91)).is_usable(timeout, Reuse::Trusted, open));
    }

    #[test]
    fn a_checked_in_connection_is_reused() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let pool = Pool::new(limits(None));
        let conn = open(&pool, &listener);
        let _server_side = listener.accept().unwrap();
        pool.checkin(Box::new(conn));
        assert_eq!(pool.idle_count(), 1);
        let port = listener.local_addr().unwrap().port();
        assert!(matches!(
            pool.checkout(&route(port), None, Reuse::Checked).unwrap(),
            Checkout::Reused(_)
        ));
    }

    #[test]
    fn a_connection_the_server_closed_is_not_reused() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let pool = Pool::new(limits(None));
        let conn = open(&pool, &listener);
        drop(listener.accept().unwrap());
        pool.checkin(Box::new(conn));
        std::thread::sleep(Duration::from_millis(20));
        let port = listener.local_addr().unwrap().port();
        assert!(matches!(
            pool.checkout(&route(port), None, Reuse::Checked).unwrap(),
            Checkout::Open(_)
        ));
    }

    #[test]
    fn an_idle_connection_past_its_timeout_is_not_reused() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let pool = Pool::new(PoolLimits {
            idle_timeout: Duration::from_millis(10),
            ..limits(None)
        });
        let conn = open(&pool, &listener);
        let _server_side = listener.accept().unwrap();
        pool.checkin(Box::new(conn));
        std::thread::sleep(Duration::from_millis(30));
        let port = listener.local_addr().unwrap().port();
        assert!(matches!(
            pool.checkout(&route(port), None, Reuse::Checked).unwrap(),
            Checkout::Open(_)
        ));
    }

    #[test]
    fn idle_connections_per_route_are_bounded() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let pool = Pool::new(PoolLimits {
            max_idle_per_host: 2,
            ..limits(None)
        });
        let conns: Vec<_> = (0..3).map(|_| open(&pool, &listener)).collect();
        let _accepted: Vec<_> = (0..3).map(|_| listener.accept().unwrap()).collect();
        for conn in conns {
            pool.checkin(Box::new(conn));
        }
        assert_eq!(pool.idle_count(), 2);
    }

    #[test]
    fn dropping_the_pool_closes_its_idle_connections() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let pool = Pool::new(limits(None));
        let conn = open(&pool, &listener);
        let (mut server_side, _) = listener.accept().unwrap();
        pool.checkin(Box::new(conn));
        drop(pool);
        server_side
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0u8; 1];
        let n = std::io::Read::read(&mut server_side, &mut buf).unwrap();
        assert_eq!(n, 0, "the idle connection was closed");
    }

    #[test]
    fn a_full_route_waits_for_a_slot_until_its_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let pool = Pool::new(limits(Some(1)));
        let held = open(&pool, &listener);
        let port = listener.local_addr().unwrap().port();
        let deadline = Some(Instant::now() + Duration::from_millis(50));
        let e = pool
            .checkout(&route(port), deadline, Reuse::Checked)
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::Timeout(TimeoutPhase::Pool));
        drop(held);
        assert!(matches!(
            pool.checkout(
                &route(port),
                deadline.map(|d| d + Duration::from_secs(1)),
                Reuse::Checked
            )
            .unwrap(),
            Checkout::Open(_)
        ));
    }
}
