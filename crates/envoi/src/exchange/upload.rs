//! What a streamed upload (WinHTTP's `WinHttpWriteData`: the head goes out, then the caller
//! writes the body piece by piece) decides the same way in the blocking and the async front
//! end: the request it sends, when it stops taking pieces and what `finish` then reports, and
//! how the answer is delivered. The front ends only move the bytes and wait.
//!
//! The rules, once:
//! - A request that asked for `100 Continue` waits for it (no longer than the client's
//!   expect-continue timeout, as a non-streamed body does) before its first piece, or before
//!   its end when no piece came.
//! - A final answer that comes before `100 Continue` means the server does not want the body.
//!   Every piece is then refused, unsent, with the protocol core's typed error
//!   ([`ErrorKind::InvalidRequest`], whose
//!   [`protocol_kind`](crate::Error::protocol_kind) is `BodyNotAllowed`), and `finish` returns
//!   that answer. A refusal rather than a silent `Ok`: a caller pushing a large file would
//!   otherwise read all of it and be told each piece went out; curl can stay silent only
//!   because it pulls the body through a callback it simply stops calling.
//! - A piece refused for going past a declared length leaves the upload as it was.
//! - A piece that failed on the connection may be half-written: nothing more is ever written
//!   after it, and each later piece gets a refusal of the same kind. When the failure is a
//!   closed connection ([`answer_may_follow`]), the server may have answered early and closed
//!   (a 413 to a body it will not read): `finish` reads for that answer and returns it, or the
//!   failure when none came. Any other failure closes the connection at once.

use std::borrow::Cow;
use std::time::SystemTime;

use envoi_proto::ResponseHead;

use super::{answer_may_follow, BodyOptions, Exchange};
use crate::config::Config;
use crate::error::{Error, ErrorKind};
use crate::request::{Body, Request};

/// The request a streamed upload sends: `request` with a body the caller writes afterwards,
/// of `length` bytes (sent with Content-Length) or chunked. The request's own body is not used.
pub(crate) fn streaming_request(request: &Request, length: Option<u64>) -> Request {
    let mut request = request.clone();
    request.body = match length {
        Some(n) => Body::from_reader(std::io::empty(), n),
        None => Body::chunked(std::io::empty()),
    };
    request
}

/// A streamed upload that takes no more pieces after a failure, and why. `C` is the front
/// end's side of the connection: kept only while the server's answer may still be read on it,
/// dropped (which closes the connection) otherwise.
pub(crate) struct Halt<C> {
    kind: ErrorKind,
    /// The failure in words, for the refusals of later pieces and for `finish`'s report.
    detail: Cow<'static, str>,
    conn: Option<C>,
}

impl<C> Halt<C> {
    /// After a piece, the wait for `100 Continue` or the end of the body failed with `error`
    /// on the connection. (The caller reports `error` itself; this keeps what follows.)
    pub(crate) fn after(error: &Error, conn: C) -> Self {
        Halt {
            kind: error.kind(),
            detail: Cow::Owned(format!("{error:#}")),
            conn: answer_may_follow(error).then_some(conn),
        }
    }

    /// With the connection already gone: a piece dropped midway, or a cancelled request.
    pub(crate) fn closed(kind: ErrorKind, detail: &'static str) -> Self {
        Halt {
            kind,
            detail: Cow::Borrowed(detail),
            conn: None,
        }
    }

    /// The error for a piece, or an end of the body, offered after the halt.
    pub(crate) fn refusal(&self) -> Error {
        Error::new(
            self.kind,
            format!(
                "the upload broke off earlier ({}); nothing more is sent on its connection",
                self.detail
            ),
        )
    }

    /// For `finish`: the connection to read the server's answer on, if one may have come,
    /// and the error to report when none did.
    pub(crate) fn into_parts(self) -> (Option<C>, Error) {
        let error = Error::new(
            self.kind,
            format!(
                "the upload broke off ({}) and no response followed",
                self.detail
            ),
        );
        (self.conn, error)
    }
}

/// What `finish` reports: the response head when one arrived, else the failure that stopped
/// the body (if it did), else the error of the read.
pub(crate) fn answer_or(
    head: Result<ResponseHead, Error>,
    failure: Option<Error>,
) -> Result<ResponseHead, Error> {
    match (head, failure) {
        (Ok(head), _) => Ok(head),
        (Err(_), Some(failure)) => Err(failure),
        (Err(e), None) => Err(e),
    }
}

impl Exchange {
    /// How a streamed upload's answer is delivered, in every front end: the cookies it sets
    /// are stored, and its body is read as any delivered body is (decoded when this request
    /// asked for compressed content, within the body limit, cancellable), but a redirect or a
    /// challenge is not followed, since the body was a one-shot stream.
    pub(crate) fn deliver_upload_answer(
        &self,
        config: &Config,
        head: &ResponseHead,
        now: SystemTime,
    ) -> BodyOptions {
        config.store_cookies(&self.request().url, head.headers(), now);
        self.body_options(config, head)
    }
}
