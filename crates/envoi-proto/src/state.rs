//! The connection's states and every transition between them.
//!
//! Two small machines, one per direction, plus the reason the connection must close if it
//! must. [`Connection`](crate::Connection) moves bytes and calls these transitions; no state
//! changes anywhere else.

use std::fmt;

use crate::error::{Error, ErrorKind};
use crate::framing::BodyFraming;
use crate::head::request::{RequestBody, RequestInfo};

/// Where the response side of the connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadState {
    /// No request in flight.
    Idle,
    /// Waiting for the response head (interim responses included).
    Head,
    /// Reading the response body.
    Body,
    /// The response is complete.
    Done,
    /// The connection left HTTP (a tunnel or an upgrade); its bytes belong to the caller.
    Upgraded,
    /// An error ended the exchange.
    Failed,
}

/// Where the request side of the connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteState {
    /// No request started.
    Idle,
    /// The head asked `Expect: 100-continue`; the body waits for `100 Continue` (or for the
    /// caller to stop waiting).
    AwaitingContinue,
    /// The body is being sent.
    Body,
    /// The request is completely sent.
    Done,
    /// The server answered before `100 Continue`: the body must not be sent.
    BodySkipped,
    /// An error ended the request.
    Failed,
}

/// Why the connection cannot carry another request. Printable for a `-v` trace.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The request carried `Connection: close`.
    RequestedByClient,
    /// The response carried `Connection: close`.
    RequestedByServer,
    /// An HTTP/1.0 exchange without `Connection: keep-alive` on both sides.
    Http10,
    /// The body ran until the server closed the connection.
    CloseDelimitedBody,
    /// The response had both Transfer-Encoding and Content-Length.
    ContentLengthWithTransferEncoding,
    /// An HTTP/1.0 response used Transfer-Encoding.
    TransferEncodingInHttp10,
    /// The request body was not sent completely.
    RequestBodyIncomplete,
    /// The peer broke HTTP or the caller misused the connection.
    ProtocolError,
    /// The connection became a tunnel or switched protocols.
    Upgraded,
    /// The server closed its side.
    PeerClosed,
    /// Bytes arrived that no request asked for.
    UnsolicitedData,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CloseReason::RequestedByClient => "the request asked Connection: close",
            CloseReason::RequestedByServer => "the server sent Connection: close",
            CloseReason::Http10 => "HTTP/1.0 without keep-alive",
            CloseReason::CloseDelimitedBody => "the body is delimited by connection close",
            CloseReason::ContentLengthWithTransferEncoding => {
                "the response had both Content-Length and Transfer-Encoding"
            }
            CloseReason::TransferEncodingInHttp10 => "Transfer-Encoding in an HTTP/1.0 response",
            CloseReason::RequestBodyIncomplete => "the request body was not sent completely",
            CloseReason::ProtocolError => "a protocol error",
            CloseReason::Upgraded => "the connection left HTTP (tunnel or upgrade)",
            CloseReason::PeerClosed => "the server closed the connection",
            CloseReason::UnsolicitedData => "the server sent data no request asked for",
        })
    }
}

/// Both directions and the close reason, with every transition as a method.
#[derive(Clone, Debug)]
pub(crate) struct State {
    pub(crate) read: ReadState,
    pub(crate) write: WriteState,
    pub(crate) close: Option<CloseReason>,
    pub(crate) peer_closed: bool,
}

impl State {
    pub(crate) fn new() -> Self {
        State {
            read: ReadState::Idle,
            write: WriteState::Idle,
            close: None,
            peer_closed: false,
        }
    }

    /// True when a new request may start now.
    pub(crate) fn ready_for_request(&self) -> bool {
        matches!(self.read, ReadState::Idle | ReadState::Done)
            && matches!(self.write, WriteState::Idle | WriteState::Done)
            && self.close.is_none()
            && !self.peer_closed
    }

    /// Refuses a new request, saying why, unless [`ready_for_request`](Self::ready_for_request).
    pub(crate) fn check_ready(&self) -> Result<(), Error> {
        if self.ready_for_request() {
            return Ok(());
        }
        let why = match self.close {
            Some(reason) => format!("the connection must close: {reason}"),
            None => "the previous exchange is not finished".to_owned(),
        };
        Err(Error::new(ErrorKind::NotReady, why).in_state(self.describe()))
    }

    /// A request head was encoded.
    pub(crate) fn start_request(&mut self, info: &RequestInfo) -> Result<(), Error> {
        self.check_ready()?;
        self.write = match info.body {
            RequestBody::Empty => WriteState::Done,
            _ if info.expects_continue => WriteState::AwaitingContinue,
            _ => WriteState::Body,
        };
        self.read = ReadState::Head;
        if info.asks_close {
            self.close_with(CloseReason::RequestedByClient);
        } else if info.is_http10 && !info.asks_keep_alive {
            self.close_with(CloseReason::Http10);
        }
        Ok(())
    }

    /// An interim response arrived.
    pub(crate) fn interim(&mut self, status: http::StatusCode) {
        if status == http::StatusCode::CONTINUE && self.write == WriteState::AwaitingContinue {
            self.write = WriteState::Body;
        }
    }

    /// The caller stopped waiting for `100 Continue` and will send the body.
    pub(crate) fn stop_waiting_for_continue(&mut self) {
        if self.write == WriteState::AwaitingContinue {
            self.write = WriteState::Body;
        }
    }

    /// A final response head arrived with this framing and close reason.
    pub(crate) fn final_head(&mut self, framing: BodyFraming, close: Option<CloseReason>) {
        if self.write == WriteState::AwaitingContinue {
            self.write = WriteState::BodySkipped;
            self.close_with(CloseReason::RequestBodyIncomplete);
        }
        if let Some(reason) = close {
            self.close_with(reason);
        }
        self.read = match framing {
            BodyFraming::Tunnel => ReadState::Upgraded,
            _ => ReadState::Body,
        };
    }

    /// Applies the keep-alive rules of a final response head (RFC 9112 §9.3).
    pub(crate) fn response_persistence(
        &mut self,
        version: http::Version,
        server_close: bool,
        server_keep_alive: bool,
    ) {
        if server_close {
            self.close_with(CloseReason::RequestedByServer);
        } else if version == http::Version::HTTP_10 && !server_keep_alive {
            self.close_with(CloseReason::Http10);
        }
    }

    /// The response body ended.
    pub(crate) fn body_done(&mut self) {
        self.read = ReadState::Done;
        // A final response that arrived while the body was still going out leaves the request
        // half-sent only if the caller stops; that is decided when the next request starts.
    }

    /// The request body was completely sent.
    pub(crate) fn request_done(&mut self) {
        self.write = WriteState::Done;
    }

    /// The server closed its side of the connection.
    pub(crate) fn peer_closed(&mut self) {
        self.peer_closed = true;
        self.close_with(CloseReason::PeerClosed);
    }

    /// An error ended the exchange: both directions fail and the connection must close.
    pub(crate) fn fail(&mut self, reading: bool) {
        if reading {
            self.read = ReadState::Failed;
        } else {
            self.write = WriteState::Failed;
            self.close_with(CloseReason::RequestBodyIncomplete);
        }
        self.close_with(CloseReason::ProtocolError);
    }

    /// Bytes arrived while no response was expected.
    pub(crate) fn unsolicited(&mut self) {
        self.close_with(CloseReason::UnsolicitedData);
    }

    /// Keeps the first reason, which explains the others; but the peer's close is only the
    /// last resort, as the framing that led to it (if any) says more.
    fn close_with(&mut self, reason: CloseReason) {
        match self.close {
            None | Some(CloseReason::PeerClosed) => self.close = Some(reason),
            Some(_) => {}
        }
    }

    /// The state as words, for error messages.
    pub(crate) fn describe(&self) -> &'static str {
        match (self.read, self.write) {
            (_, WriteState::AwaitingContinue) => "waiting for 100 Continue",
            (_, WriteState::Body) => "sending the request body",
            (ReadState::Idle, _) => "idle",
            (ReadState::Head, _) => "reading the response head",
            (ReadState::Body, _) => "reading the response body",
            (ReadState::Done, _) => "after a complete response",
            (ReadState::Upgraded, _) => "after an upgrade",
            (ReadState::Failed, _) => "after a failed exchange",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(body: RequestBody, expects_continue: bool) -> RequestInfo {
        RequestInfo {
            body,
            is_head: false,
            is_connect: false,
            wants_upgrade: false,
            expects_continue,
            asks_close: false,
            is_http10: false,
            asks_keep_alive: false,
        }
    }

    #[test]
    fn request_without_body_is_sent_at_once() {
        let mut s = State::new();
        s.start_request(&info(RequestBody::Empty, true)).unwrap();
        assert_eq!((s.read, s.write), (ReadState::Head, WriteState::Done));
    }

    #[test]
    fn continue_releases_the_body() {
        let mut s = State::new();
        s.start_request(&info(RequestBody::Length(3), true))
            .unwrap();
        assert_eq!(s.write, WriteState::AwaitingContinue);
        s.interim(http::StatusCode::EARLY_HINTS);
        assert_eq!(s.write, WriteState::AwaitingContinue);
        s.interim(http::StatusCode::CONTINUE);
        assert_eq!(s.write, WriteState::Body);
    }

    #[test]
    fn final_status_before_continue_skips_the_body_and_closes() {
        let mut s = State::new();
        s.start_request(&info(RequestBody::Chunked, true)).unwrap();
        s.final_head(BodyFraming::Length(0), None);
        assert_eq!(s.write, WriteState::BodySkipped);
        assert_eq!(s.close, Some(CloseReason::RequestBodyIncomplete));
    }

    #[test]
    fn second_request_before_the_first_completes_is_refused() {
        let mut s = State::new();
        s.start_request(&info(RequestBody::Empty, false)).unwrap();
        let e = s
            .start_request(&info(RequestBody::Empty, false))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotReady);
        assert_eq!(e.state(), Some("reading the response head"));
    }

    #[test]
    fn http10_needs_keep_alive_from_the_server() {
        let mut s = State::new();
        s.response_persistence(http::Version::HTTP_10, false, true);
        assert_eq!(s.close, None);
        s.response_persistence(http::Version::HTTP_10, false, false);
        assert_eq!(s.close, Some(CloseReason::Http10));
    }

    #[test]
    fn first_close_reason_is_kept() {
        let mut s = State::new();
        s.response_persistence(http::Version::HTTP_11, true, false);
        s.peer_closed();
        assert_eq!(s.close, Some(CloseReason::RequestedByServer));
        assert!(!s.ready_for_request());
    }
}
