//! Request body framing: known length or chunked, with the count of bytes checked both ways.

use http::HeaderMap;

use crate::error::{Error, ErrorKind};
use crate::head::find_invalid_value_byte;
use crate::head::request::RequestBody;

/// The framing to write around one piece of request body, for callers that write the data
/// itself straight from their own buffer (vectored writes, no copy).
///
/// Write [`prefix`](Self::prefix), then the data, then [`suffix`](Self::suffix).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataFrame {
    prefix: [u8; 18],
    prefix_len: u8,
    suffix: &'static [u8],
}

impl DataFrame {
    /// Bytes to write before the data (the chunk-size line when chunked).
    pub fn prefix(&self) -> &[u8] {
        &self.prefix[..usize::from(self.prefix_len)]
    }

    /// Bytes to write after the data (CRLF when chunked).
    pub fn suffix(&self) -> &'static [u8] {
        self.suffix
    }

    const NONE: DataFrame = DataFrame {
        prefix: [0; 18],
        prefix_len: 0,
        suffix: b"",
    };

    fn chunk(len: usize) -> DataFrame {
        let mut prefix = [0u8; 18];
        let mut digits = [0u8; 16];
        let mut n = len as u64;
        let mut count = 0;
        loop {
            digits[count] = b"0123456789abcdef"[(n & 0xf) as usize];
            count += 1;
            n >>= 4;
            if n == 0 {
                break;
            }
        }
        for i in 0..count {
            prefix[i] = digits[count - 1 - i];
        }
        prefix[count] = b'\r';
        prefix[count + 1] = b'\n';
        DataFrame {
            prefix,
            prefix_len: (count + 2) as u8,
            suffix: b"\r\n",
        }
    }
}

/// Counts and frames the request body as it goes out.
#[derive(Debug)]
pub(crate) struct BodyEncoder {
    framing: RequestBody,
    sent: u64,
}

impl BodyEncoder {
    pub(crate) fn new(framing: RequestBody) -> Self {
        BodyEncoder { framing, sent: 0 }
    }

    /// Accounts for `len` more bytes of body and returns the framing around them. Refuses,
    /// without accounting anything, bytes beyond a declared length.
    pub(crate) fn frame(&mut self, len: usize) -> Result<DataFrame, Error> {
        let frame = match self.framing {
            RequestBody::Empty => {
                if len == 0 {
                    return Ok(DataFrame::NONE);
                }
                return Err(Error::new(
                    ErrorKind::BodyNotAllowed,
                    "the request declared no body (no Content-Length or Transfer-Encoding)",
                ));
            }
            RequestBody::Length(declared) => {
                if self.sent.saturating_add(len as u64) > declared {
                    return Err(Error::new(
                        ErrorKind::BodyTooLong,
                        format!(
                            "Content-Length is {declared}; {} bytes were sent and {len} more given",
                            self.sent
                        ),
                    ));
                }
                DataFrame::NONE
            }
            // An empty chunk would read as the last chunk: send nothing for it.
            RequestBody::Chunked if len == 0 => DataFrame::NONE,
            RequestBody::Chunked => DataFrame::chunk(len),
        };
        self.sent += len as u64;
        Ok(frame)
    }

    /// Ends the body: checks the declared length was met, or writes the last chunk and the
    /// trailer fields.
    pub(crate) fn finish(
        &mut self,
        trailers: Option<&HeaderMap>,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        match self.framing {
            RequestBody::Empty => Ok(()),
            RequestBody::Length(declared) if self.sent < declared => Err(Error::new(
                ErrorKind::BodyTooShort,
                format!(
                    "Content-Length is {declared} but the body ended after {}",
                    self.sent
                ),
            )),
            RequestBody::Length(_) => Ok(()),
            RequestBody::Chunked => {
                let trailers = trailers.filter(|t| !t.is_empty());
                if let Some(fields) = trailers {
                    for (name, value) in fields {
                        if find_invalid_value_byte(value.as_bytes()).is_some() {
                            return Err(Error::new(
                                ErrorKind::InvalidHeader,
                                "invalid trailer value",
                            )
                            .with_header(name.as_str()));
                        }
                    }
                }
                out.extend_from_slice(b"0\r\n");
                for (name, value) in trailers.into_iter().flatten() {
                    out.extend_from_slice(name.as_str().as_bytes());
                    out.extend_from_slice(b": ");
                    out.extend_from_slice(value.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"\r\n");
                Ok(())
            }
        }
    }

    /// Bytes of body accounted so far.
    pub(crate) fn sent(&self) -> u64 {
        self.sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_prefix_is_lowercase_hex_of_the_length() {
        assert_eq!(DataFrame::chunk(0x1a2b).prefix(), b"1a2b\r\n");
        assert_eq!(DataFrame::chunk(1).prefix(), b"1\r\n");
        assert_eq!(DataFrame::chunk(usize::MAX).prefix().len(), 16 + 2);
    }

    #[test]
    fn length_body_refuses_bytes_beyond_the_declared_length() {
        let mut e = BodyEncoder::new(RequestBody::Length(5));
        e.frame(3).unwrap();
        let err = e.frame(3).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BodyTooLong);
        assert_eq!(e.sent(), 3, "a refused piece is not counted");
        e.frame(2).unwrap();
        e.finish(None, &mut Vec::new()).unwrap();
    }

    #[test]
    fn length_body_finished_early_is_too_short() {
        let mut e = BodyEncoder::new(RequestBody::Length(5));
        e.frame(4).unwrap();
        assert_eq!(
            e.finish(None, &mut Vec::new()).unwrap_err().kind(),
            ErrorKind::BodyTooShort
        );
    }

    #[test]
    fn lengths_over_4_gib_are_ordinary() {
        let five_gib = 5u64 << 30;
        let mut e = BodyEncoder::new(RequestBody::Length(five_gib));
        for _ in 0..5 * 1024 {
            e.frame(1 << 20).unwrap();
        }
        assert_eq!(e.sent(), five_gib);
        e.finish(None, &mut Vec::new()).unwrap();
    }

    #[test]
    fn chunked_body_ends_with_last_chunk_and_trailers() {
        let mut e = BodyEncoder::new(RequestBody::Chunked);
        assert_eq!(e.frame(0).unwrap().prefix(), b"");
        let mut trailers = HeaderMap::new();
        trailers.insert("x-sum", "7".parse().unwrap());
        let mut out = Vec::new();
        e.finish(Some(&trailers), &mut out).unwrap();
        assert_eq!(out, b"0\r\nx-sum: 7\r\n\r\n");
    }

    #[test]
    fn body_for_a_request_without_one_is_refused() {
        let mut e = BodyEncoder::new(RequestBody::Empty);
        assert_eq!(e.frame(1).unwrap_err().kind(), ErrorKind::BodyNotAllowed);
    }
}
