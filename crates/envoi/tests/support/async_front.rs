//! The async front end as a [`FrontEnd`]: each fetch builds a runtime, an `AsyncClient` from
//! the builder, executes the request and reads the body to its end.

use super::{ClientBuilder, Error, FrontEnd, Outcome, Request};

/// The async client, driven on a current-thread tokio runtime of its own: everything, the
/// resolver's hand-off and cancellation from another thread included, must work on one
/// thread. (`tests/async_client.rs` runs it on multi-thread runtimes.)
pub struct Async;

impl FrontEnd for Async {
    fn fetch(&self, builder: ClientBuilder, request: &Request) -> Result<Outcome, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        runtime.block_on(async {
            let client = builder.build_async()?;
            let response = client.execute(request).await?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.bytes().await?.to_vec();
            Ok(Outcome {
                status,
                headers,
                body,
            })
        })
    }
}
