//! Where a [`Request`](super::Request)'s body goes: decoded by the shared
//! [`ContentDecoder`] (push-style, so a piece is decoded a bounded amount at a time), held to
//! the shared size limit, and kept in memory or written through the shared
//! [`DownloadFile`](crate::policy::DownloadFile) (`.part`, renamed when complete) on the
//! download writer thread.

use std::path::{Path, PathBuf};

use bytes::{Buf, Bytes, BytesMut};

use super::download_writer::DownloadWriter;
use crate::error::{Error, ErrorKind};
use crate::policy::decode::{check_limit, ContentDecoder};

/// Decoded bytes produced per decoder call.
const SCRATCH: usize = 16 * 1024;
/// A body kept in memory starts with at most this much room, whatever its announced size.
const INITIAL_CAPACITY: u64 = 8 * 1024 * 1024;

/// The body of a delivered response, on its way to the caller.
pub(crate) struct BodySink {
    decoder: Option<ContentDecoder>,
    limit: Option<u64>,
    out: Out,
    /// Received bytes not yet through the decoder.
    encoded: Bytes,
    scratch: Box<[u8]>,
    /// Body bytes as received (before decoding).
    received: u64,
    /// The wire body has ended; what the decoder holds is still to flush.
    wire_ended: bool,
    done: bool,
    /// Where the download file was completed.
    committed: Option<PathBuf>,
}

enum Out {
    Memory(BytesMut),
    File(DownloadWriter),
}

impl BodySink {
    /// A sink for a body announced as `size` bytes (when known), decoded by `decoder` if any,
    /// refused past `limit` decoded bytes, written to `file` if given.
    pub(crate) fn new(
        decoder: Option<ContentDecoder>,
        limit: Option<u64>,
        size: Option<u64>,
        file: Option<&Path>,
    ) -> Result<BodySink, Error> {
        let out = match file {
            Some(path) => Out::File(DownloadWriter::create(path.to_owned())),
            None => {
                let room = size.unwrap_or(8 * 1024).min(INITIAL_CAPACITY);
                Out::Memory(BytesMut::with_capacity(room as usize))
            }
        };
        Ok(BodySink {
            scratch: vec![0; if decoder.is_some() { SCRATCH } else { 0 }].into_boxed_slice(),
            decoder,
            limit,
            out,
            encoded: Bytes::new(),
            received: 0,
            wire_ended: false,
            done: false,
            committed: None,
        })
    }

    /// Body bytes received so far, before decoding.
    pub(crate) fn received(&self) -> u64 {
        self.received
    }

    /// True while received bytes wait for the decoder, or the decoder must be flushed: the
    /// next [`work`](Self::work) needs no new bytes.
    pub(crate) fn has_work(&self) -> bool {
        !self.encoded.is_empty() || (self.wire_ended && !self.done)
    }

    /// True once the whole body has gone through (a download file may still be on its way
    /// to the disk: see [`settle`](Self::settle)).
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// True while so much of the body waits for the download writer that no more should be
    /// read for now.
    pub(crate) fn backlogged(&self) -> bool {
        matches!(&self.out, Out::File(writer) if writer.backlogged())
    }

    /// True once the body is complete where it goes: in memory, or a download file flushed
    /// and under its final name. Never waits for the writer.
    pub(crate) fn settle(&mut self) -> Result<bool, Error> {
        if !self.done {
            return Ok(false);
        }
        match &mut self.out {
            Out::Memory(_) => Ok(true),
            Out::File(_) if self.committed.is_some() => Ok(true),
            Out::File(writer) => {
                self.committed = writer.poll_commit()?;
                Ok(self.committed.is_some())
            }
        }
    }

    /// Takes a piece of the body as received. Without decoding it is checked against the
    /// limit and kept at once; with decoding it waits for [`work`](Self::work).
    pub(crate) fn push(&mut self, data: Bytes) -> Result<(), Error> {
        self.received += data.len() as u64;
        if self.decoder.is_none() {
            check_limit(self.received, self.limit)?;
            // The piece itself goes to the download writer, uncopied.
            if let Out::File(writer) = &mut self.out {
                return writer.write(data);
            }
            return write(&mut self.out, &data);
        }
        if self.encoded.is_empty() {
            self.encoded = data;
        } else {
            // Only reached if a caller pushes before the last piece was decoded.
            let mut joined = BytesMut::from(&self.encoded[..]);
            joined.extend_from_slice(&data);
            self.encoded = joined.freeze();
        }
        Ok(())
    }

    /// The wire body has ended.
    pub(crate) fn end(&mut self) {
        self.wire_ended = true;
        if self.decoder.is_none() {
            self.done = true;
        }
    }

    /// Decodes (and flushes, once the wire body ended) until about `budget` decoded bytes
    /// were produced or nothing is left to do. Returns the bytes produced.
    pub(crate) fn work(&mut self, budget: usize) -> Result<usize, Error> {
        let Some(decoder) = self.decoder.as_mut() else {
            return Ok(0);
        };
        let mut produced = 0;
        while produced < budget && !self.done {
            let made = if !self.encoded.is_empty() {
                let (used, made) = decoder.decode(&self.encoded, &mut self.scratch)?;
                self.encoded.advance(used);
                if used == 0 && made == 0 {
                    // Input and room, yet nothing moved: never spin on it.
                    return Err(Error::new(
                        ErrorKind::DecompressionFailed,
                        "the decoder is stuck",
                    ));
                }
                made
            } else if self.wire_ended {
                let made = decoder.finish(&mut self.scratch)?;
                self.done = made == 0;
                made
            } else {
                // The decoder may hold more output than the last call had room for: drain it.
                let (_, made) = decoder.decode(&[], &mut self.scratch)?;
                if made == 0 {
                    break;
                }
                made
            };
            produced += made;
            write(&mut self.out, &self.scratch[..made])?;
        }
        Ok(produced)
    }

    /// The complete body, once [`settle`](Self::settle) said so: the bytes, or (for a
    /// download) none and the file's final name.
    pub(crate) fn finish(self) -> Result<(Bytes, Option<PathBuf>), Error> {
        match (self.out, self.committed) {
            (Out::Memory(body), _) => Ok((body.freeze(), None)),
            (Out::File(_), Some(path)) => Ok((Bytes::new(), Some(path))),
            (Out::File(_), None) => Err(Error::new(
                ErrorKind::DownloadFileWriteError,
                "the download file was not completed",
            )),
        }
    }
}

fn write(out: &mut Out, bytes: &[u8]) -> Result<(), Error> {
    match out {
        Out::Memory(body) => {
            body.extend_from_slice(bytes);
            Ok(())
        }
        Out::File(writer) => writer.write(Bytes::copy_from_slice(bytes)),
    }
}

// Every test here decodes gzip.
#[cfg(all(test, feature = "gzip"))]
mod tests {
    use super::*;
    use http::header::{HeaderMap, HeaderValue, CONTENT_ENCODING};
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn gzip_decoder(limit: Option<u64>) -> Option<ContentDecoder> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        ContentDecoder::for_headers(&headers, limit)
    }

    fn run(sink: &mut BodySink, pieces: &[&[u8]]) -> Result<(), Error> {
        for piece in pieces {
            sink.push(Bytes::copy_from_slice(piece))?;
            while sink.has_work() && !sink.is_done() {
                sink.work(1000)?;
            }
        }
        sink.end();
        while !sink.is_done() {
            sink.work(1000)?;
        }
        Ok(())
    }

    #[test]
    fn a_gzip_body_decodes_in_bounded_steps() {
        let plain = vec![b'x'; 100_000];
        let packed = gzip(&plain);
        let mut sink = BodySink::new(gzip_decoder(None), None, None, None).unwrap();
        let (a, b) = packed.split_at(packed.len() / 2);
        run(&mut sink, &[a, b]).unwrap();
        assert_eq!(sink.received(), packed.len() as u64);
        assert_eq!(sink.finish().unwrap().0, plain);
    }

    #[test]
    fn limits_count_decoded_bytes_and_plain_ones_alike() {
        let packed = gzip(&vec![0; 10_000]);
        let mut sink = BodySink::new(gzip_decoder(Some(5_000)), Some(5_000), None, None).unwrap();
        assert_eq!(
            run(&mut sink, &[&packed]).unwrap_err().kind(),
            ErrorKind::BodyTooLarge
        );
        let mut plain = BodySink::new(None, Some(3), None, None).unwrap();
        assert_eq!(
            run(&mut plain, &[b"abcd"]).unwrap_err().kind(),
            ErrorKind::BodyTooLarge
        );
    }

    #[test]
    fn a_cut_gzip_body_is_decompression_failed() {
        let packed = gzip(b"hello hello hello");
        let mut sink = BodySink::new(gzip_decoder(None), None, None, None).unwrap();
        let e = run(&mut sink, &[&packed[..packed.len() - 4]]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DecompressionFailed);
    }
}
