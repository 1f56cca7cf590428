//! Response body decoding per framing, and request body framing.
//!
//! Decoders take body bytes out of the connection's input buffer as zero-copy [`Bytes`], and
//! say how many bytes a front end may read straight into its own buffer, bypassing the input
//! buffer entirely, which is how a large download costs no extra copy.

pub(crate) mod chunked;
pub(crate) mod encode;

use bytes::{Bytes, BytesMut};
use http::HeaderMap;

use crate::error::{Error, ErrorKind};
use crate::framing::BodyFraming;
use crate::limits::Limits;
use chunked::ChunkedDecoder;

/// What the decoder made of the buffered input.
#[derive(Debug)]
pub(crate) enum BodyStep {
    Data(Bytes),
    Trailers(HeaderMap),
    End,
    NeedData,
}

/// The body reader for one framing.
#[derive(Debug)]
pub(crate) enum BodyDecoder {
    /// Content-Length (or no body, as a length of 0).
    Length {
        remaining: u64,
        declared: u64,
    },
    Chunked(ChunkedDecoder),
    CloseDelimited,
}

impl BodyDecoder {
    pub(crate) fn new(framing: BodyFraming) -> Self {
        match framing {
            BodyFraming::Length(n) => BodyDecoder::Length {
                remaining: n,
                declared: n,
            },
            BodyFraming::Chunked => BodyDecoder::Chunked(ChunkedDecoder::new()),
            BodyFraming::CloseDelimited => BodyDecoder::CloseDelimited,
            BodyFraming::Empty | BodyFraming::Tunnel => BodyDecoder::Length {
                remaining: 0,
                declared: 0,
            },
        }
    }

    /// Takes the next piece of body out of `input`. `offset` is the stream position of
    /// `input[0]`; `eof` says the server has closed its side.
    pub(crate) fn decode(
        &mut self,
        input: &mut BytesMut,
        eof: bool,
        offset: u64,
        limits: &Limits,
    ) -> Result<BodyStep, Error> {
        match self {
            BodyDecoder::Length {
                remaining,
                declared,
            } => {
                if *remaining == 0 {
                    return Ok(BodyStep::End);
                }
                if input.is_empty() {
                    return if eof {
                        Err(Error::new(
                            ErrorKind::TruncatedBody,
                            format!(
                                "Content-Length is {declared} but the connection closed after {}",
                                *declared - *remaining
                            ),
                        )
                        .at_offset(offset))
                    } else {
                        Ok(BodyStep::NeedData)
                    };
                }
                let n = clamp(*remaining, input.len());
                *remaining -= n as u64;
                Ok(BodyStep::Data(input.split_to(n).freeze()))
            }
            BodyDecoder::CloseDelimited => {
                if !input.is_empty() {
                    Ok(BodyStep::Data(input.split().freeze()))
                } else if eof {
                    Ok(BodyStep::End)
                } else {
                    Ok(BodyStep::NeedData)
                }
            }
            BodyDecoder::Chunked(chunked) => chunked.decode(input, eof, offset, limits),
        }
    }

    /// How many bytes, read next from the transport, are body data for sure. Only meaningful
    /// while the input buffer is empty.
    pub(crate) fn direct_window(&self) -> Option<u64> {
        match self {
            BodyDecoder::Length { remaining: 0, .. } => None,
            BodyDecoder::Length { remaining, .. } => Some(*remaining),
            BodyDecoder::CloseDelimited => Some(u64::MAX),
            BodyDecoder::Chunked(chunked) => chunked.direct_window(),
        }
    }

    /// Accounts for `n` body bytes the front end read directly; `n` is within the window.
    pub(crate) fn consume_direct(&mut self, n: u64) {
        match self {
            BodyDecoder::Length { remaining, .. } => *remaining -= n,
            BodyDecoder::CloseDelimited => {}
            BodyDecoder::Chunked(chunked) => chunked.consume_direct(n),
        }
    }
}

/// `min(remaining, available)` as a usize without a lossy cast.
pub(crate) fn clamp(remaining: u64, available: usize) -> usize {
    usize::try_from(remaining).map_or(available, |r| r.min(available))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(decoder: &mut BodyDecoder, input: &[u8], eof: bool) -> Result<Vec<u8>, ErrorKind> {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        loop {
            match decoder.decode(&mut buf, eof, 0, &Limits::default()) {
                Ok(BodyStep::Data(d)) => out.extend_from_slice(&d),
                Ok(BodyStep::End) => return Ok(out),
                Ok(BodyStep::NeedData) => return Err(ErrorKind::InvalidState),
                Ok(BodyStep::Trailers(_)) => {}
                Err(e) => return Err(e.kind()),
            }
        }
    }

    #[test]
    fn length_body_stops_at_its_length_and_leaves_the_rest() {
        let mut d = BodyDecoder::new(BodyFraming::Length(3));
        let mut buf = BytesMut::from(&b"abcdef"[..]);
        let step = d.decode(&mut buf, false, 0, &Limits::default()).unwrap();
        assert!(matches!(step, BodyStep::Data(ref b) if b == "abc"));
        assert!(matches!(
            d.decode(&mut buf, false, 0, &Limits::default()).unwrap(),
            BodyStep::End
        ));
        assert_eq!(&buf[..], b"def");
    }

    #[test]
    fn length_body_cut_short_at_eof_is_truncated() {
        let mut d = BodyDecoder::new(BodyFraming::Length(10));
        assert_eq!(drain(&mut d, b"abc", true), Err(ErrorKind::TruncatedBody));
    }

    #[test]
    fn close_delimited_body_ends_at_eof() {
        let mut d = BodyDecoder::new(BodyFraming::CloseDelimited);
        assert_eq!(drain(&mut d, b"all of it", true).unwrap(), b"all of it");
    }

    #[test]
    fn direct_window_follows_the_remaining_length() {
        let mut d = BodyDecoder::new(BodyFraming::Length(10));
        assert_eq!(d.direct_window(), Some(10));
        d.consume_direct(4);
        assert_eq!(d.direct_window(), Some(6));
        d.consume_direct(6);
        assert_eq!(d.direct_window(), None);
        assert_eq!(
            BodyDecoder::new(BodyFraming::CloseDelimited).direct_window(),
            Some(u64::MAX)
        );
    }
}
