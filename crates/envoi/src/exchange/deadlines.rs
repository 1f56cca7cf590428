//! The deadlines of one request, computed from its start and the settings in force. Time is
//! an input: callers pass `now`.

use std::time::{Duration, Instant};

use crate::config::Config;
use crate::error::{Error, ErrorKind, TimeoutPhase};
use crate::request::Request;

/// The deadlines of one request, computed from its start and the settings in force.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadlines {
    total: Option<Instant>,
    connect: Option<Instant>,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

impl Deadlines {
    pub(crate) fn new(config: &Config, request: &Request, start: Instant) -> Self {
        Self::with_overrides(
            config,
            [
                request.timeout,
                request.connect_timeout,
                request.read_timeout,
            ],
            start,
        )
    }

    /// The deadlines of a connection that carries no [`Request`] of its own (the poll front
    /// end's `HttpClient`, driven request by request): the client's settings alone.
    #[cfg(feature = "poll")]
    pub(crate) fn for_config(config: &Config, start: Instant) -> Self {
        Self::with_overrides(config, [None; 3], start)
    }

    /// `overrides` are the request's total, connect and read timeouts, each replacing the
    /// client's when set.
    fn with_overrides(config: &Config, overrides: [Option<Duration>; 3], start: Instant) -> Self {
        let [timeout, connect_timeout, read_timeout] = overrides;
        let total = timeout.or(config.timeout).map(|t| start + t);
        let connect_timeout = connect_timeout.or(config.connect_timeout);
        Deadlines {
            total,
            connect: earliest(total, connect_timeout.map(|t| start + t)),
            connect_timeout,
            read_timeout: read_timeout.or(config.read_timeout),
            write_timeout: config.write_timeout,
        }
    }

    /// A new hop (a redirect, a retry) starts at `now`: it gets a fresh connect budget, within
    /// the request's overall deadline.
    pub(crate) fn start_hop(&mut self, now: Instant) {
        self.connect = earliest(self.total, self.connect_timeout.map(|t| now + t));
    }

    /// Until when resolving, connecting and the TLS handshake may run.
    pub(crate) fn connect(&self) -> Option<Instant> {
        self.connect
    }

    /// Until when the next read may wait, if it starts at `now()`. The time is asked for only
    /// when a read timeout is set: a clock read per read adds up over a keep-alive loop.
    pub(crate) fn read(&self, now: impl FnOnce() -> Instant) -> Option<Instant> {
        earliest(self.total, self.read_timeout.map(|t| now() + t))
    }

    /// Until when the next write may wait, if it starts at `now()` (asked for only when a
    /// write timeout is set).
    pub(crate) fn write(&self, now: impl FnOnce() -> Instant) -> Option<Instant> {
        earliest(self.total, self.write_timeout.map(|t| now() + t))
    }

    /// The request's overall deadline.
    pub(crate) fn total(&self) -> Option<Instant> {
        self.total
    }
}

pub(crate) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The error for a deadline that ran out in `phase`.
pub(crate) fn timeout(phase: TimeoutPhase) -> Error {
    Error::new(ErrorKind::Timeout(phase), "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn deadlines_take_the_earliest_bound() {
        let config = Config::default();
        let mut request = Request::new(Method::GET, "http://h/").unwrap();
        request.timeout = Some(Duration::from_secs(2));
        let start = Instant::now();
        let d = Deadlines::new(&config, &request, start);
        assert_eq!(d.connect(), Some(start + Duration::from_secs(2)));
        assert_eq!(d.read(|| start), Some(start + Duration::from_secs(2)));
    }
}
