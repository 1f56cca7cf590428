//! The poll-driven front end as the shared behaviour tests see it: a `poll::Request` built
//! from the builder, polled with a short sleep (a frame) until it completes.

use std::time::{Duration, Instant};

use super::{ClientBuilder, Error, FrontEnd, Outcome, Request};

/// Polls allowed per request: far more than any behaviour needs at one poll per 200 µs.
const MAX_POLLS: usize = 1_000_000;
/// Time allowed per request: the slowest behaviour takes a few seconds.
const MAX_TIME: Duration = Duration::from_secs(60);

/// `envoi::poll::Request`.
pub struct Poll;

impl FrontEnd for Poll {
    fn fetch(&self, builder: ClientBuilder, request: &Request) -> Result<Outcome, Error> {
        let mut poll = envoi::poll::Request::from_builder(builder)?;
        poll.start(request)?;
        let started = Instant::now();
        for _ in 0..MAX_POLLS {
            if poll.poll().is_some() {
                break;
            }
            assert!(
                started.elapsed() < MAX_TIME,
                "no completion in {MAX_TIME:?}"
            );
            std::thread::sleep(Duration::from_micros(200));
        }
        let mut completion = poll
            .take_completion()
            .expect("a completion within the bound");
        if let Some(error) = completion.take_error() {
            return Err(error);
        }
        Ok(Outcome {
            status: completion.response_code().map_or(0, |s| s.as_u16()),
            headers: completion.header_map().clone(),
            body: completion.into_body().to_vec(),
        })
    }
}
