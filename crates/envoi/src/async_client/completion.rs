//! Send with a completion procedure on the async client (WinDev's asynchronous
//! `Send(request, procedure)`, WinHTTP's completion callback): the request runs in a spawned
//! task, which then calls the procedure once with the response or the typed error.

use std::fmt;
use std::future::Future;

use tokio::task::JoinHandle;

use super::{AsyncClient, AsyncResponse};
use crate::error::{Error, ErrorKind};
use crate::policy::CancelHandle;
use crate::request::Request;

/// A request sent with [`AsyncClient::send_then`]: await [`wait`](Self::wait) for the
/// procedure's value, or [`cancel`](Self::cancel) the request. Dropping the handle lets the
/// request and its procedure run on unobserved.
pub struct AsyncCompletion<T> {
    task: JoinHandle<T>,
    cancel: CancelHandle,
}

pub(super) fn spawn<F, Fut>(
    client: AsyncClient,
    mut request: Request,
    procedure: F,
) -> AsyncCompletion<Fut::Output>
where
    F: FnOnce(Result<AsyncResponse, Error>) -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    // The request's own handle if it has one, so either cancels it.
    let cancel = request.cancel.get_or_insert_with(CancelHandle::new).clone();
    let task = tokio::spawn(async move {
        let outcome = client.execute(&request).await;
        procedure(outcome).await
    });
    AsyncCompletion { task, cancel }
}

impl<T> AsyncCompletion<T> {
    /// Cancels the request, at whatever phase it is in, body reading in the procedure
    /// included; the procedure is still called once, with
    /// [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled) if the response had not come.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// True once the procedure has returned.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits for the procedure and returns its value. A panic in the procedure is resumed
    /// here; a task that never finished (its runtime shut down) is
    /// [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled).
    pub async fn wait(self) -> Result<T, Error> {
        match self.task.await {
            Ok(value) => Ok(value),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(Error::new(
                ErrorKind::Cancelled,
                "the task ended before its procedure was called",
            )
            .with_source(e)),
        }
    }
}

impl<T> fmt::Debug for AsyncCompletion<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncCompletion")
            .field("finished", &self.is_finished())
            .field("cancelled", &self.cancel.is_cancelled())
            .finish()
    }
}
