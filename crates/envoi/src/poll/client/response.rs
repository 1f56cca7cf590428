//! The response side of [`HttpClient`]: the head's views and the body read in chunks.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use envoi_proto::ResponseHead;
use http::{HeaderMap, StatusCode};

use super::{failure_status, Conn, HttpClient, BLOCKING_SLICE};
use crate::error::Error;
use crate::exchange::timeout;
use crate::poll::wire::{BodyRead, Phase};
use crate::poll::Status;

impl HttpClient {
    /// True when a response head has arrived for the last request.
    pub fn has_response(&self) -> bool {
        self.response.is_some()
    }

    /// The status code of the response (Godot's 0 is `None`).
    pub fn response_code(&self) -> Option<StatusCode> {
        self.response.as_ref().map(ResponseHead::status)
    }

    /// The response header fields as received, in order and letter case, as `Name: value`.
    pub fn response_headers(&self) -> Vec<String> {
        self.response
            .as_ref()
            .map_or_else(Vec::new, crate::poll::raw::header_lines)
    }

    /// The response header fields by name (looked up without regard to case), the values of
    /// a repeated field joined with `, `.
    pub fn response_headers_map(&self) -> HeaderMap<String> {
        self.response.as_ref().map_or_else(HeaderMap::default, |h| {
            crate::poll::raw::header_map(h.headers())
        })
    }

    /// The response trailers, once a chunked body has been read to its end.
    pub fn response_trailers(&self) -> Option<&HeaderMap> {
        self.trailers.as_ref()
    }

    /// The body length when the response announces it; `None` (Godot's −1) when it is chunked
    /// or runs until the connection closes. A response without a body (to HEAD, a 204 or 304)
    /// has length 0.
    pub fn response_body_length(&self) -> Option<u64> {
        self.response.as_ref()?.framing().known_length()
    }

    /// True when the response body is chunked.
    pub fn is_response_chunked(&self) -> bool {
        self.response
            .as_ref()
            .is_some_and(|h| h.framing().is_chunked())
    }

    /// Reads the next piece of the body, at most [`read_chunk_size`](Self::read_chunk_size)
    /// bytes, with at most one read of the connection: empty when nothing has arrived yet.
    /// The status turns [`Status::Connected`] (or [`Status::Disconnected`], when the
    /// connection cannot carry another request) once the body is complete, or
    /// [`Status::ConnectionError`] when it fails: a body that ends early is an error, never a
    /// short success. In blocking mode it waits until the chunk is full or the body ends.
    pub fn read_response_body_chunk(&mut self) -> Bytes {
        let max = self.read_chunk_size;
        if !self.blocking {
            return match self.read_body(max, Instant::now()) {
                Ok(BodyRead::Data(data)) => data,
                Ok(_) => Bytes::new(),
                Err(e) => {
                    self.error = Some(e);
                    Bytes::new()
                }
            };
        }
        let mut chunk = BytesMut::new();
        while chunk.len() < max && self.status == Status::Body {
            match self.read_body(max - chunk.len(), Instant::now()) {
                Ok(BodyRead::Data(data)) => chunk.extend_from_slice(&data),
                Ok(BodyRead::Pending) => self.wait(BLOCKING_SLICE),
                Ok(BodyRead::End) => break,
                Err(e) => {
                    self.error = Some(e);
                    break;
                }
            }
        }
        chunk.freeze()
    }

    /// Reads body bytes (at most `max`); on failure the status says so and the error is
    /// returned, not kept.
    pub(crate) fn read_body(&mut self, max: usize, now: Instant) -> Result<BodyRead, Error> {
        let Conn::Open(wire) = &mut self.conn else {
            return Ok(BodyRead::End);
        };
        if wire.phase() != Phase::Body {
            return Ok(BodyRead::End);
        }
        let coalesce = self.coalesce_reads && !self.blocking;
        let read = match wire.read_body(max, now, coalesce, &mut self.sink) {
            Ok(BodyRead::Pending) => {
                let deadline = self.deadlines.read(|| wire.progress_at());
                if deadline.is_some_and(|d| now >= d) {
                    Err(timeout(crate::TimeoutPhase::Body))
                } else {
                    Ok(BodyRead::Pending)
                }
            }
            other => other,
        };
        match read {
            Ok(read) => {
                if matches!(&self.conn, Conn::Open(w) if w.phase() == Phase::Idle) {
                    self.after_body();
                }
                Ok(read)
            }
            Err(e) => {
                self.drop_connection(failure_status(&e));
                Err(e)
            }
        }
    }

    /// The most bytes one [`read_response_body_chunk`](Self::read_response_body_chunk)
    /// returns (default 65,536).
    pub fn read_chunk_size(&self) -> usize {
        self.read_chunk_size
    }

    /// Sets the most bytes one chunk read returns (at least 1).
    pub fn set_read_chunk_size(&mut self, size: usize) {
        self.read_chunk_size = size.max(1);
    }
}
