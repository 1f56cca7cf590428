//! How long a response body is: the RFC 9112 §6.3 decision, in one function.

use http::{StatusCode, Version};

use crate::error::Error;
use crate::head::request::RequestInfo;
use crate::head::response::ResponseHead;
use crate::head::{content_length, transfer_coding, TransferCoding};
use crate::state::CloseReason;

/// How the body after a response head is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body at all: a response to HEAD, a 1xx, 204 or 304.
    Empty,
    /// Exactly this many bytes, from Content-Length.
    Length(u64),
    /// Chunked transfer coding: chunks, a last chunk, then optional trailers.
    Chunked,
    /// The body runs until the server closes the connection.
    CloseDelimited,
    /// The connection leaves HTTP: a 2xx to CONNECT, or a 101 to an upgrade request. The bytes
    /// after the head belong to the new protocol.
    Tunnel,
}

impl BodyFraming {
    /// The body length when it is known in advance (`Some(0)` for [`BodyFraming::Empty`]).
    pub fn known_length(self) -> Option<u64> {
        match self {
            BodyFraming::Empty => Some(0),
            BodyFraming::Length(n) => Some(n),
            _ => None,
        }
    }

    /// True for a chunked body.
    pub fn is_chunked(self) -> bool {
        self == BodyFraming::Chunked
    }
}

/// Decides the framing of a final response's body, and whether it forces the connection to
/// close, following the numbered rules of RFC 9112 §6.3.
pub(crate) fn response_framing(
    request: &RequestInfo,
    head: &ResponseHead,
) -> Result<(BodyFraming, Option<CloseReason>), Error> {
    let status = head.status();
    // 1. HEAD responses, 1xx, 204 and 304 end at the blank line, whatever their fields say.
    //    (A 101 only reaches here for an upgrade request: the connection leaves HTTP.)
    if status == StatusCode::SWITCHING_PROTOCOLS {
        return Ok((BodyFraming::Tunnel, Some(CloseReason::Upgraded)));
    }
    if request.is_head
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok((BodyFraming::Empty, None));
    }
    // 2. A 2xx to CONNECT turns the connection into a tunnel; its length fields are ignored.
    if request.is_connect && status.is_success() {
        return Ok((BodyFraming::Tunnel, Some(CloseReason::Upgraded)));
    }
    let headers = head.headers();
    let coding = transfer_coding(headers)?;
    if coding != TransferCoding::Absent {
        // 3. Transfer-Encoding overrides Content-Length; both together smell of smuggling, so
        //    the connection is not trusted with another request.
        let close = if headers.contains_key(http::header::CONTENT_LENGTH) {
            Some(CloseReason::ContentLengthWithTransferEncoding)
        } else if head.version() == Version::HTTP_10 {
            // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing: close after.
            Some(CloseReason::TransferEncodingInHttp10)
        } else {
            None
        };
        // 4. chunked last: chunked; any other final coding: read until close.
        return Ok(match coding {
            TransferCoding::ChunkedLast => (BodyFraming::Chunked, close),
            _ => (
                BodyFraming::CloseDelimited,
                Some(CloseReason::CloseDelimitedBody),
            ),
        });
    }
    // 5 and 6. An invalid or conflicting Content-Length is an error; a valid one is exact.
    if let Some(length) = content_length(headers)? {
        return Ok((BodyFraming::Length(length), None));
    }
    // 7. Otherwise the body runs to the end of the connection.
    Ok((
        BodyFraming::CloseDelimited,
        Some(CloseReason::CloseDelimitedBody),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::head::request::RequestBody;
    use crate::head::response;
    use bytes::Bytes;

    fn request(method: &str) -> RequestInfo {
        RequestInfo {
            body: RequestBody::Empty,
            is_head: method == "HEAD",
            is_connect: method == "CONNECT",
            wants_upgrade: false,
            expects_continue: false,
            asks_close: false,
            is_http10: false,
            asks_keep_alive: false,
        }
    }

    fn decide(method: &str, head: &str) -> Result<(BodyFraming, Option<CloseReason>), ErrorKind> {
        let text = format!("{head}\r\n\r\n");
        let parsed = response::parse(Bytes::from(text), 128, 0).unwrap();
        response_framing(&request(method), &parsed).map_err(|e| e.kind())
    }

    /// (method, status line and fields, expected framing, expected close reason)
    const TABLE: &[(&str, &str, BodyFraming, Option<CloseReason>)] = &[
        (
            "HEAD",
            "HTTP/1.1 200 OK\r\nContent-Length: 10",
            BodyFraming::Empty,
            None,
        ),
        (
            "HEAD",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked",
            BodyFraming::Empty,
            None,
        ),
        (
            "GET",
            "HTTP/1.1 204 No Content\r\nContent-Length: 10",
            BodyFraming::Empty,
            None,
        ),
        (
            "GET",
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 10",
            BodyFraming::Empty,
            None,
        ),
        (
            "CONNECT",
            "HTTP/1.1 200 OK\r\nContent-Length: 10",
            BodyFraming::Tunnel,
            Some(CloseReason::Upgraded),
        ),
        (
            "CONNECT",
            "HTTP/1.1 407 Proxy Auth\r\nContent-Length: 3",
            BodyFraming::Length(3),
            None,
        ),
        (
            "GET",
            "HTTP/1.1 101 Switching\r\nUpgrade: ws",
            BodyFraming::Tunnel,
            Some(CloseReason::Upgraded),
        ),
        (
            "GET",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked",
            BodyFraming::Chunked,
            None,
        ),
        (
            "GET",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked",
            BodyFraming::Chunked,
            None,
        ),
        (
            "GET",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5",
            BodyFraming::Chunked,
            Some(CloseReason::ContentLengthWithTransferEncoding),
        ),
        (
            "GET",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: x",
            BodyFraming::Chunked,
            Some(CloseReason::ContentLengthWithTransferEncoding),
        ),
        (
            "GET",
            "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked",
            BodyFraming::Chunked,
            Some(CloseReason::TransferEncodingInHttp10),
        ),
        (
            "GET",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip",
            BodyFraming::CloseDelimited,
            Some(CloseReason::CloseDelimitedBody),
        ),
        (
            "GET",
            "HTTP/1.1 200 OK\r\nContent-Length: 42",
            BodyFraming::Length(42),
            None,
        ),
        (
            "GET",
            "HTTP/1.1 200 OK\r\nContent-Length: 0",
            BodyFraming::Length(0),
            None,
        ),
        (
            "GET",
            "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 7",
            BodyFraming::Length(7),
            None,
        ),
        (
            "GET",
            "HTTP/1.1 200 OK",
            BodyFraming::CloseDelimited,
            Some(CloseReason::CloseDelimitedBody),
        ),
        (
            "POST",
            "HTTP/1.1 404 Not Found\r\nContent-Length: 9",
            BodyFraming::Length(9),
            None,
        ),
    ];

    #[test]
    fn framing_table_follows_rfc9112_section_6_3() {
        for (method, head, framing, close) in TABLE {
            assert_eq!(
                decide(method, head),
                Ok((*framing, *close)),
                "{method} {head:?}"
            );
        }
    }

    #[test]
    fn differing_or_malformed_content_length_is_an_error() {
        for head in [
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6",
            "HTTP/1.1 200 OK\r\nContent-Length: 5, 6",
            "HTTP/1.1 200 OK\r\nContent-Length: -5",
            "HTTP/1.1 200 OK\r\nContent-Length: 5x",
        ] {
            assert_eq!(
                decide("GET", head),
                Err(ErrorKind::InvalidContentLength),
                "{head:?}"
            );
        }
    }

    #[test]
    fn chunked_applied_twice_is_an_error() {
        assert_eq!(
            decide(
                "GET",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked"
            ),
            Err(ErrorKind::InvalidTransferEncoding)
        );
    }
}
