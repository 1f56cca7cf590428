//! Content decoding: gzip, deflate, br and zstd, chained in any order, decoded as the body
//! streams, under a limit on the decoded size.
//!
//! [`ContentDecoder`] is push-style: the caller hands in compressed bytes and an output
//! buffer of its own, and gets back how much was consumed and produced. Memory is bounded by
//! that buffer, the codecs' windows (32 KiB for gzip and deflate, at most 16 MiB for br and
//! 8 MiB for zstd) and one 16 KiB buffer between chained codings; a body that inflates past
//! the limit stops one byte after it. The blocking front end wraps it in
//! [`DecodingReader`]; the async and poll-driven ones call it directly.
//!
//! Rules where the RFCs leave a choice: an unknown coding anywhere in Content-Encoding means
//! no decoding at all (the body is passed through raw, the field kept); an empty body is an
//! empty body, whatever its coding; bytes after the end of a gzip, deflate or br stream are
//! ignored, as browsers do, except that a new gzip member or zstd frame is decoded in turn.

// With every decoding feature off there is no coding to decode: what remains compiles, and
// is never reached.
#![cfg_attr(
    not(any(feature = "gzip", feature = "brotli", feature = "zstd")),
    allow(unused_variables, unreachable_code, dead_code)
)]

use std::io::{self, Read};

use http::header::{self, HeaderMap, HeaderValue};

use crate::error::{Error, ErrorKind};
use codecs::Stage;

mod codecs;

/// The Accept-Encoding sent unless the caller set one or turned decoding off: the codings
/// this build decodes (features `gzip`, `brotli`, `zstd`; all on by default).
pub const ACCEPT_ENCODING: &str = match (
    cfg!(feature = "gzip"),
    cfg!(feature = "brotli"),
    cfg!(feature = "zstd"),
) {
    (true, true, true) => "gzip, deflate, br, zstd",
    (true, true, false) => "gzip, deflate, br",
    (true, false, true) => "gzip, deflate, zstd",
    (true, false, false) => "gzip, deflate",
    (false, true, true) => "br, zstd",
    (false, true, false) => "br",
    (false, false, true) => "zstd",
    (false, false, false) => "",
};

/// The buffer between two chained codings.
const STAGE_BUFFER: usize = 16 * 1024;

/// Encoded bytes read from the connection at once for decoding: large enough that one read
/// feeds many decoder calls (16 KiB made four times the system calls and twice the
/// inflater's window updates of a 64 KiB read).
pub(crate) const ENCODED_READ: usize = 64 * 1024;

/// Adds [`ACCEPT_ENCODING`] unless the caller set Accept-Encoding, or asked for a Range (a
/// range of the encoded representation is useless to a resumed download, so, as reqwest
/// does, such a request asks for the identity coding).
pub(crate) fn add_accept_encoding(headers: &mut HeaderMap) {
    if !ACCEPT_ENCODING.is_empty()
        && !headers.contains_key(header::ACCEPT_ENCODING)
        && !headers.contains_key(header::RANGE)
    {
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static(ACCEPT_ENCODING),
        );
    }
}

/// Once a body is decoded its coding and length no longer describe it, so the response
/// handed to the caller loses Content-Encoding and Content-Length (as reqwest does).
pub(crate) fn strip_decoded_headers(headers: &mut HeaderMap) {
    headers.remove(header::CONTENT_ENCODING);
    headers.remove(header::CONTENT_LENGTH);
}

/// Decodes a whole body as text in the charset its Content-Type names (UTF-8 when none is
/// named or the label is unknown); malformed sequences become U+FFFD.
#[cfg(feature = "charset")]
pub(crate) fn body_text(headers: &HeaderMap, body: &[u8]) -> String {
    let encoding = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(charset_of)
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    encoding.decode(body).0.into_owned()
}

/// Decodes a whole body as UTF-8, malformed sequences as U+FFFD: without the `charset`
/// feature no other charset is known.
#[cfg(not(feature = "charset"))]
pub(crate) fn body_text(_headers: &HeaderMap, body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

/// The `charset` parameter of a Content-Type value.
#[cfg(feature = "charset")]
fn charset_of(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    })
}

/// The limit check for a body that is not decoded (identity, or an unknown coding passed
/// through): the same rule and the same error as for a decoded one.
pub(crate) fn check_limit(total: u64, limit: Option<u64>) -> Result<(), Error> {
    match limit {
        Some(limit) if total > limit => Err(too_large(limit)),
        _ => Ok(()),
    }
}

fn too_large(limit: u64) -> Error {
    Error::new(
        ErrorKind::BodyTooLarge,
        format!("the body exceeds the limit of {limit} bytes"),
    )
}

/// A content coding envoi decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    #[cfg(feature = "gzip")]
    Gzip,
    #[cfg(feature = "gzip")]
    Deflate,
    #[cfg(feature = "brotli")]
    Brotli,
    #[cfg(feature = "zstd")]
    Zstd,
}

impl Coding {
    pub(super) fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "gzip")]
            Coding::Gzip => "gzip",
            #[cfg(feature = "gzip")]
            Coding::Deflate => "deflate",
            #[cfg(feature = "brotli")]
            Coding::Brotli => "br",
            #[cfg(feature = "zstd")]
            Coding::Zstd => "zstd",
        }
    }
}

/// The codings of a response, in the order to undo them; `None` when there is nothing to
/// decode or something envoi cannot decode.
fn codings(headers: &HeaderMap) -> Option<Vec<Coding>> {
    let mut codings = Vec::new();
    for value in headers.get_all(header::CONTENT_ENCODING) {
        for token in value.to_str().ok()?.split(',') {
            let token = token.trim();
            let coding = match token.to_ascii_lowercase().as_str() {
                "" | "identity" => continue,
                #[cfg(feature = "gzip")]
                "gzip" | "x-gzip" => Coding::Gzip,
                #[cfg(feature = "gzip")]
                "deflate" => Coding::Deflate,
                #[cfg(feature = "brotli")]
                "br" => Coding::Brotli,
                #[cfg(feature = "zstd")]
                "zstd" => Coding::Zstd,
                // Unknown, or not decoded by this build: the body goes through raw.
                _ => return None,
            };
            codings.push(coding);
        }
    }
    // Codings are listed in the order they were applied (RFC 9110 §8.4), so undone last first.
    codings.reverse();
    (!codings.is_empty()).then_some(codings)
}

/// Decodes one response body, push-style.
///
/// Call [`decode`](ContentDecoder::decode) with each piece of the body until it has consumed
/// it all; when it fills the output, call again (with the rest, or with nothing) to drain.
/// At the end of the body call [`finish`](ContentDecoder::finish) until it returns 0: that
/// flushes what is left and fails if the compressed stream was cut short.
pub(crate) struct ContentDecoder {
    stages: Vec<Stage>,
    /// `buffers[i]` carries stage `i`'s output to stage `i + 1`.
    buffers: Vec<StageBuffer>,
    finished: Vec<bool>,
    limit: Option<u64>,
    produced: u64,
}

impl ContentDecoder {
    /// A decoder for the response's Content-Encoding, or `None` to pass the body as it is.
    pub(crate) fn for_headers(headers: &HeaderMap, limit: Option<u64>) -> Option<ContentDecoder> {
        codings(headers).map(|codings| ContentDecoder::new(&codings, limit))
    }

    fn new(codings: &[Coding], limit: Option<u64>) -> ContentDecoder {
        ContentDecoder {
            stages: codings.iter().map(|&c| Stage::new(c)).collect(),
            buffers: (1..codings.len()).map(|_| StageBuffer::new()).collect(),
            finished: vec![false; codings.len()],
            limit,
            produced: 0,
        }
    }

    /// Decodes from `input` into `output`; returns (consumed, produced).
    pub(crate) fn decode(
        &mut self,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(usize, usize), Error> {
        self.pump(input, output, false)
    }

    /// The body has ended: flushes into `output`. Returns the bytes produced; 0 means the
    /// body is complete. A stream cut short is [`ErrorKind::DecompressionFailed`].
    pub(crate) fn finish(&mut self, output: &mut [u8]) -> Result<usize, Error> {
        self.pump(&[], output, true).map(|(_, produced)| produced)
    }

    /// True once [`finish`](ContentDecoder::finish) has returned 0.
    #[cfg(all(test, feature = "gzip", feature = "brotli", feature = "zstd"))]
    pub(crate) fn is_done(&self) -> bool {
        self.finished.iter().all(|&f| f)
    }

    /// The decoded bytes produced so far.
    #[cfg(all(test, feature = "gzip", feature = "brotli", feature = "zstd"))]
    pub(crate) fn decoded_len(&self) -> u64 {
        self.produced
    }

    /// Moves bytes through every stage until none can move. Each stage reads from the input
    /// or the buffer before it and writes into the next buffer or the output; a stage whose
    /// source has ended (and is drained) is finished, which checks its stream is complete.
    fn pump(
        &mut self,
        input: &[u8],
        output: &mut [u8],
        input_ended: bool,
    ) -> Result<(usize, usize), Error> {
        let count = self.stages.len();
        let (mut consumed, mut produced) = (0, 0);
        loop {
            let mut progress = false;
            for i in 0..count {
                if self.finished[i] {
                    continue;
                }
                let last = i + 1 == count;
                let upstream_done = if i == 0 {
                    input_ended
                } else {
                    self.finished[i - 1] && self.buffers[i - 1].is_empty()
                };
                let window = if last {
                    self.window(output.len() - produced)
                } else {
                    usize::MAX
                };
                let (before, after) = self.buffers.split_at_mut(i);
                let source: &[u8] = match i {
                    0 => &input[consumed..],
                    _ => before[i - 1].filled(),
                };
                let target: &mut [u8] = if last {
                    let end = produced + window;
                    &mut output[produced..end]
                } else {
                    after[0].space()
                };
                if target.is_empty() {
                    continue;
                }
                let stage = &mut self.stages[i];
                let (used, mut made) = stage.run(source, target)?;
                if used == 0 && made == 0 && source.is_empty() && upstream_done {
                    made = stage.finish(target)?;
                    if made == 0 {
                        self.finished[i] = true;
                        progress = true;
                    }
                }
                match i {
                    0 => consumed += used,
                    _ => before[i - 1].consume(used),
                }
                if last {
                    produced += made;
                    self.produced += made as u64;
                    if let Some(limit) = self.limit.filter(|&l| self.produced > l) {
                        return Err(too_large(limit));
                    }
                } else {
                    after[0].fill(made);
                }
                progress |= used > 0 || made > 0;
            }
            if !progress {
                return Ok((consumed, produced));
            }
        }
    }

    /// How much of the caller's `room` the last stage may fill: never more than one byte past
    /// the limit, so an inflating bomb stops as soon as it crosses it.
    fn window(&self, room: usize) -> usize {
        match self.limit {
            None => room,
            Some(limit) => {
                let left = limit.saturating_sub(self.produced).saturating_add(1);
                room.min(usize::try_from(left).unwrap_or(usize::MAX))
            }
        }
    }
}

/// A fixed buffer between two stages.
struct StageBuffer {
    data: Box<[u8]>,
    start: usize,
    end: usize,
}

impl StageBuffer {
    fn new() -> Self {
        StageBuffer {
            data: vec![0; STAGE_BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.start == self.end
    }

    fn filled(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// Free space at the end, after moving what is left to the front when that helps.
    fn space(&mut self) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 && self.end == self.data.len() {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        &mut self.data[self.end..]
    }

    fn fill(&mut self, n: usize) {
        self.end = (self.end + n).min(self.data.len());
    }
}

/// A blocking reader of decoded bytes over a reader of encoded ones. Decoding errors come
/// out as `io::Error`s wrapping the envoi [`Error`]; [`error_from_io`] unwraps them.
pub(crate) struct DecodingReader<R> {
    inner: R,
    decoder: ContentDecoder,
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
}

impl<R: Read> DecodingReader<R> {
    pub(crate) fn new(inner: R, decoder: ContentDecoder) -> Self {
        DecodingReader {
            inner,
            decoder,
            buffer: vec![0; ENCODED_READ].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
        }
    }

    /// The reader of encoded bytes.
    pub(crate) fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The reader of encoded bytes, to change.
    pub(crate) fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

impl<R: Read> Read for DecodingReader<R> {
    /// Decodes into `out` as long as encoded bytes are at hand, so one call uses up a whole
    /// read of the connection when `out` has room; it reads the connection only when it has
    /// nothing to return yet.
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        while filled < out.len() {
            let pending = &self.buffer[self.start..self.end];
            let (used, made) = self
                .decoder
                .decode(pending, &mut out[filled..])
                .map_err(io::Error::other)?;
            self.start += used;
            filled += made;
            if used > 0 || made > 0 {
                continue;
            }
            if self.start < self.end {
                // Input and room, yet nothing moved: never spin on it.
                let e = Error::new(ErrorKind::DecompressionFailed, "the decoder is stuck");
                return Err(io::Error::other(e));
            }
            if filled > 0 {
                break;
            }
            if self.eof {
                return self.decoder.finish(out).map_err(io::Error::other);
            }
            match self.inner.read(&mut self.buffer) {
                Ok(0) => self.eof = true,
                Ok(n) => (self.start, self.end) = (0, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(filled)
    }
}

/// The envoi error inside an `io::Error` from [`DecodingReader`], or the I/O error as
/// [`ErrorKind::BodyIo`].
pub(crate) fn error_from_io(e: io::Error) -> Error {
    if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        if let Some(inner) = e.into_inner() {
            if let Ok(error) = inner.downcast::<Error>() {
                return *error;
            }
        }
        return Error::new(ErrorKind::BodyIo, "reading the body");
    }
    Error::new(ErrorKind::BodyIo, "reading the body").with_source(e)
}

#[cfg(all(test, any(feature = "gzip", feature = "brotli", feature = "zstd")))]
mod encoders;
#[cfg(test)]
mod proptests;
// These exercise every decoder, so they need all three.
#[cfg(all(test, feature = "gzip", feature = "brotli", feature = "zstd"))]
mod tests;
