//! What the connection reports as the response arrives.

use bytes::Bytes;
use http::HeaderMap;

use crate::head::response::ResponseHead;

/// One step of a response, as returned by
/// [`Connection::next_event`](crate::Connection::next_event).
///
/// A response reads as: any number of [`Informational`](Event::Informational), one
/// [`ResponseHead`](Event::ResponseHead), any number of [`Data`](Event::Data), at most one
/// [`Trailers`](Event::Trailers), then [`End`](Event::End). A tunnel or upgrade reads as
/// [`ResponseHead`](Event::ResponseHead) then [`Upgraded`](Event::Upgraded).
#[derive(Debug)]
pub enum Event {
    /// An interim 1xx response (100 Continue, 103 Early Hints, …). The exchange goes on.
    Informational(ResponseHead),
    /// The final response head; [`ResponseHead::framing`] says how the body is delimited.
    ResponseHead(ResponseHead),
    /// A piece of the body: a slice of the received bytes, not a copy.
    Data(Bytes),
    /// The trailer fields after a chunked body, when there are any.
    Trailers(HeaderMap),
    /// The response is complete.
    End,
    /// The connection left HTTP (a 2xx to CONNECT or a 101); these are the bytes already
    /// received after the head, which belong to the new protocol.
    Upgraded(Bytes),
    /// Nothing more can be decided until more bytes (or the end of the stream) arrive.
    NeedData,
}
