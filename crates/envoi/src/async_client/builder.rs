//! The async request builder: the blocking builder's methods, ending in `send().await`.

use super::{AsyncClient, AsyncResponse};
use crate::error::Error;
use crate::request::Request;

/// A request being built; errors (a bad URL or header) are kept until
/// [`send`](Self::send) or [`build`](Self::build) reports them, so nothing reaches the wire.
#[must_use]
pub struct AsyncRequestBuilder {
    client: AsyncClient,
    request: Result<Request, Error>,
}

impl AsyncRequestBuilder {
    pub(super) fn new(client: AsyncClient, request: Result<Request, Error>) -> Self {
        AsyncRequestBuilder { client, request }
    }

    crate::request_builder::request_builder_methods!();

    /// Sends the request and waits for the response head.
    pub async fn send(self) -> Result<AsyncResponse, Error> {
        let request = self.request?;
        self.client.execute(&request).await
    }
}

impl std::fmt::Debug for AsyncRequestBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncRequestBuilder")
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}
