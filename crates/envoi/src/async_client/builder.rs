//! The async request builder: the blocking builder's methods, ending in `send().await` (or
//! `send_streaming(length).await` for a body the caller writes afterwards).

use super::{AsyncClient, AsyncResponse, AsyncUpload};
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

    /// Sends the head; the caller writes the body through the returned [`AsyncUpload`], with a
    /// known total `length` or chunked (`None`).
    pub async fn send_streaming(self, length: Option<u64>) -> Result<AsyncUpload, Error> {
        let request = self.request?;
        self.client.send_streaming(&request, length).await
    }
}

impl std::fmt::Debug for AsyncRequestBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncRequestBuilder")
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}
