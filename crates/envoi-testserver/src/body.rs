//! Response bodies and the small response builders every handler shares.
//!
//! Large bodies (`/bytes/{n}`, bombs, `/range/{n}`) are produced chunk by chunk by a
//! generator so the server never holds more than one chunk; timed bodies (`/drip`) are fed
//! by a task through a bounded channel, which also stops the task when the client goes away.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};
use http_body::{Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use tokio::sync::mpsc;

/// The body type of every hyper-served response.
pub(crate) type Body = UnsyncBoxBody<Bytes, io::Error>;

/// A handler failure that becomes a JSON error response (`{"error": "..."}`).
#[derive(Debug)]
pub(crate) struct HttpError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl HttpError {
    /// A 400 Bad Request with `message`.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// An error with any status.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        HttpError {
            status,
            message: message.into(),
        }
    }

    /// The JSON response for this error.
    pub(crate) fn into_response(self) -> Response<Body> {
        json(
            self.status,
            &serde_json::json!({ "error": self.message, "status": self.status.as_u16() }),
        )
    }
}

/// What a handler returns: a response, or an error that becomes a JSON error response.
pub(crate) type Reply = Result<Response<Body>, HttpError>;

/// Parses a number from a path segment or query value; bad input is a 400, never a panic.
pub(crate) fn parse_num<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, HttpError> {
    text.trim()
        .parse()
        .map_err(|_| HttpError::bad_request(format!("invalid {what}: {text:?}")))
}

/// A body held in memory.
pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

/// An empty body.
pub(crate) fn empty() -> Body {
    full(Bytes::new())
}

/// A response with `status`, a `Content-Type` and a body held in memory.
pub(crate) fn with_type(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A pretty-printed JSON response, as httpbin writes them (two-space indent, final newline).
pub(crate) fn json(status: StatusCode, value: &Value) -> Response<Body> {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_owned());
    text.push('\n');
    with_type(status, "application/json", text)
}

/// A 200 JSON response.
pub(crate) fn ok_json(value: &Value) -> Reply {
    Ok(json(StatusCode::OK, value))
}

/// A body whose chunks come from `next` until it returns `None`; `len` is announced as the
/// exact size (so hyper writes `Content-Length`) or left unknown (so hyper uses chunked).
pub(crate) fn generated<F>(len: Option<u64>, next: F) -> Body
where
    F: FnMut() -> Option<Bytes> + Send + Unpin + 'static,
{
    GenBody { next, len }.boxed_unsync()
}

/// A body fed through the returned sender by another task; it ends when the sender drops.
pub(crate) fn channel(len: Option<u64>) -> (mpsc::Sender<Bytes>, Body) {
    let (tx, rx) = mpsc::channel(4);
    (tx, ChannelBody { rx, len }.boxed_unsync())
}

struct GenBody<F> {
    next: F,
    len: Option<u64>,
}

impl<F> http_body::Body for GenBody<F>
where
    F: FnMut() -> Option<Bytes> + Send + Unpin,
{
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        Poll::Ready((this.next)().map(|chunk| Ok(Frame::data(chunk))))
    }

    fn size_hint(&self) -> SizeHint {
        self.len.map(SizeHint::with_exact).unwrap_or_default()
    }
}

struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
    len: Option<u64>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        self.get_mut()
            .rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|data| Ok(Frame::data(data))))
    }

    fn size_hint(&self) -> SizeHint {
        self.len.map(SizeHint::with_exact).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn generated_body_yields_every_chunk_then_ends() {
        let mut left = 3;
        let body = generated(Some(3), move || {
            (left > 0).then(|| {
                left -= 1;
                Bytes::from_static(b"x")
            })
        });
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"xxx");
    }

    #[test]
    fn bad_number_is_a_bad_request() {
        let err = parse_num::<u64>("12x", "size").unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
    }
}
