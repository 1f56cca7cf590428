//! Requests and their bodies, checked before anything is sent.

use std::any::Any;
use std::fmt;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::Method;

use crate::error::{Error, ErrorKind};
use crate::policy::{Auth, CancelHandle};
use crate::Url;

/// A value of the caller's that travels with a request into every event (WinHTTP's
/// `dwContext`).
pub type UserValue = Arc<dyn Any + Send + Sync>;

/// A request: method, URL, headers, body and per-request settings. It can be sent again as it
/// is (WinHTTP re-sends the same handle), which is how a caller re-runs it after changing one
/// ignore flag; only a one-shot stream body refuses a second send.
#[derive(Clone)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Body,
    pub(crate) timeout: Option<Duration>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) read_timeout: Option<Duration>,
    pub(crate) user_value: Option<UserValue>,
    pub(crate) auth: Option<Auth>,
    pub(crate) cancel: Option<CancelHandle>,
}

impl Request {
    /// A request with no headers and no body. The URL, text or an already parsed
    /// [`Url`], must be `http` or `https` with a host.
    pub fn new(method: Method, url: impl IntoUrl) -> Result<Request, Error> {
        Ok(Request {
            method,
            url: url.into_url()?,
            headers: HeaderMap::new(),
            body: Body::empty(),
            timeout: None,
            connect_timeout: None,
            read_timeout: None,
            user_value: None,
            auth: None,
            cancel: None,
        })
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The headers set on this request (client defaults are added when it is sent).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The headers, to change.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// Replaces the body.
    pub fn set_body(&mut self, body: impl Into<Body>) {
        self.body = body.into();
    }

    /// Bounds the whole request (overrides the client's timeout).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// Bounds each wait for response bytes (overrides the client's read timeout).
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.read_timeout = timeout;
    }

    /// Sets the credentials (Basic and Bearer go at once; Digest answers a challenge).
    pub fn set_auth(&mut self, auth: Option<Auth>) {
        self.auth = auth;
    }

    /// Lets `handle` cancel this request from another thread, at any phase.
    pub fn set_cancel_handle(&mut self, handle: Option<CancelHandle>) {
        self.cancel = handle;
    }

    /// Appends a header given as text, refusing (and naming) an invalid name or value.
    pub fn append_header(&mut self, name: &str, value: &str) -> Result<(), Error> {
        let (name, value) = header_pair(name, value.as_bytes())?;
        self.headers.append(name, value);
        Ok(())
    }

    /// Sets the value that travels with the request into every event (WinHTTP's
    /// `dwContext`), as the builders' `user_value` does.
    pub fn set_user_value(&mut self, value: Option<UserValue>) {
        self.user_value = value;
    }

    /// The user value given to [`RequestBuilder::user_value`](crate::blocking::RequestBuilder).
    pub fn user_value(&self) -> Option<&UserValue> {
        self.user_value.as_ref()
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field("headers", &self.headers)
            .field("body", &self.body)
            .finish_non_exhaustive()
    }
}

/// A request body: nothing, bytes, or a stream (with a known length, or sent chunked).
#[derive(Clone)]
pub struct Body {
    kind: BodyKind,
}

#[derive(Clone)]
enum BodyKind {
    Empty,
    Bytes(Bytes),
    Stream {
        reader: Arc<Mutex<Option<Box<dyn Read + Send>>>>,
        length: Option<u64>,
    },
    Replayable {
        open: Arc<OpenBody>,
        length: Option<u64>,
    },
}

/// Opens a replayable stream body for one send.
type OpenBody = dyn Fn() -> std::io::Result<Box<dyn Read + Send>> + Send + Sync;

impl Body {
    /// No body.
    pub fn empty() -> Body {
        Body {
            kind: BodyKind::Empty,
        }
    }

    /// A body of bytes, sent with Content-Length; replayable.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Body {
        Body {
            kind: BodyKind::Bytes(bytes.into()),
        }
    }

    /// A stream of exactly `length` bytes (a u64: over 4 GiB is fine), sent with
    /// Content-Length. A stream that ends early or runs long fails the request. One-shot: a
    /// second send is [`ErrorKind::BodyNotReplayable`].
    pub fn from_reader(reader: impl Read + Send + 'static, length: u64) -> Body {
        Body::stream(Box::new(reader), Some(length))
    }

    /// A stream of unknown length, sent chunked. One-shot as above.
    pub fn chunked(reader: impl Read + Send + 'static) -> Body {
        Body::stream(Box::new(reader), None)
    }

    /// A stream opened anew by `open` for each send, so it can be sent again: after a 307 or
    /// 308 redirect, an authentication challenge, or on a fresh connection when a kept-alive
    /// one turned out closed (curl rewinds its upload for the same reasons). With a `length`
    /// it is sent with Content-Length, and each opening must give exactly that many bytes;
    /// without, it is sent chunked. A failure to open is [`ErrorKind::BodyIo`].
    ///
    /// ```no_run
    /// let body = envoi::Body::replayable(Some(11), || Ok(std::fs::File::open("notes.txt")?));
    /// let client = envoi::blocking::Client::new()?;
    /// let response = client.put("http://127.0.0.1:8080/put").body(body).send()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn replayable<R, F>(length: Option<u64>, open: F) -> Body
    where
        R: Read + Send + 'static,
        F: Fn() -> std::io::Result<R> + Send + Sync + 'static,
    {
        let open: Arc<OpenBody> =
            Arc::new(move || open().map(|r| Box::new(r) as Box<dyn Read + Send>));
        Body {
            kind: BodyKind::Replayable { open, length },
        }
    }

    fn stream(reader: Box<dyn Read + Send>, length: Option<u64>) -> Body {
        Body {
            kind: BodyKind::Stream {
                reader: Arc::new(Mutex::new(Some(reader))),
                length,
            },
        }
    }

    /// The length when known; `None` for a chunked stream.
    pub fn len(&self) -> Option<u64> {
        match &self.kind {
            BodyKind::Empty => Some(0),
            BodyKind::Bytes(b) => Some(b.len() as u64),
            BodyKind::Stream { length, .. } | BodyKind::Replayable { length, .. } => *length,
        }
    }

    /// True for a body known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0) && !self.is_stream()
    }

    /// True when the body can be sent again (bytes, nothing, or a
    /// [`replayable`](Self::replayable) stream).
    pub fn is_replayable(&self) -> bool {
        !matches!(self.kind, BodyKind::Stream { .. })
    }

    fn is_stream(&self) -> bool {
        matches!(
            self.kind,
            BodyKind::Stream { .. } | BodyKind::Replayable { .. }
        )
    }

    /// Opens the body for one send.
    pub(crate) fn open(&self) -> Result<BodySource, Error> {
        match &self.kind {
            BodyKind::Empty => Ok(BodySource::Bytes(Bytes::new())),
            BodyKind::Bytes(b) => Ok(BodySource::Bytes(b.clone())),
            BodyKind::Stream { reader, .. } => {
                let taken = reader.lock().map(|mut r| r.take()).unwrap_or(None);
                taken.map(BodySource::Stream).ok_or_else(|| {
                    Error::new(
                        ErrorKind::BodyNotReplayable,
                        "the body stream was consumed by an earlier send",
                    )
                })
            }
            BodyKind::Replayable { open, .. } => open().map(BodySource::Stream).map_err(|e| {
                Error::new(ErrorKind::BodyIo, "opening the request body").with_source(e)
            }),
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BodyKind::Empty => f.write_str("Body::Empty"),
            BodyKind::Bytes(b) => write!(f, "Body::Bytes({} bytes)", b.len()),
            BodyKind::Stream { length, .. } => write!(f, "Body::Stream({length:?})"),
            BodyKind::Replayable { length, .. } => write!(f, "Body::Replayable({length:?})"),
        }
    }
}

macro_rules! body_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Body {
            fn from(value: $t) -> Body {
                Body::from_bytes(value)
            }
        }
    )*};
}
body_from!(Bytes, Vec<u8>, String, &'static str, &'static [u8]);

/// One send's worth of body bytes.
pub(crate) enum BodySource {
    Bytes(Bytes),
    Stream(Box<dyn Read + Send>),
}

/// Bytes read from a body stream for each write in the blocking and async clients. Readers
/// often hand out 64 KiB or less per read (a `BufReader`, a pipe, data copied from memory);
/// asking again until this much is in hand makes one write, its framing and its system call
/// carry 512 KiB. A 256 MiB upload on loopback went from 1.4 to 3.6 GB/s (BENCHMARKS.md).
pub(crate) const STREAM_READ: usize = 512 * 1024;

/// Reads the next piece of a body stream into `buf`; 0 only at its end. With `fill` (a body
/// of known length) it reads until `buf` is full or the stream ends. Without (a chunked
/// stream, which may be live data) it returns what one read gave, so each piece goes out as
/// soon as the reader has it.
pub(crate) fn read_stream_piece(
    reader: &mut (dyn Read + Send),
    buf: &mut [u8],
    fill: bool,
) -> Result<usize, Error> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => {
                n += k;
                if !fill {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(Error::new(ErrorKind::BodyIo, "reading the request body").with_source(e))
            }
        }
    }
    Ok(n)
}

/// What a request can be addressed with: text to parse (`&str`, `String`), an envoi
/// [`Url`] parsed once and sent many times, which costs no parsing per request, or (feature
/// `url`, on by default) the `url` crate's `url::Url`.
///
/// ```
/// let url = envoi::Url::parse("http://127.0.0.1:8080/get").unwrap();
/// let request = envoi::Request::new(http::Method::GET, &url)?;
/// assert_eq!(request.url(), &url);
/// let refused = envoi::Request::new(http::Method::GET, "ftp://127.0.0.1/").unwrap_err();
/// assert_eq!(refused.kind(), envoi::ErrorKind::UnsupportedScheme);
/// # Ok::<(), envoi::Error>(())
/// ```
pub trait IntoUrl: into_url::Sealed {
    /// The URL, checked: `http` or `https`, with a host.
    fn into_url(self) -> Result<Url, Error>;
}

impl IntoUrl for &str {
    fn into_url(self) -> Result<Url, Error> {
        parse_url(self)
    }
}

impl IntoUrl for String {
    fn into_url(self) -> Result<Url, Error> {
        self.as_str().into_url()
    }
}

impl IntoUrl for &String {
    fn into_url(self) -> Result<Url, Error> {
        self.as_str().into_url()
    }
}

impl IntoUrl for Url {
    fn into_url(self) -> Result<Url, Error> {
        check_url(&self)?;
        Ok(self)
    }
}

impl IntoUrl for &Url {
    fn into_url(self) -> Result<Url, Error> {
        self.clone().into_url()
    }
}

#[cfg(feature = "url")]
impl IntoUrl for url::Url {
    fn into_url(self) -> Result<Url, Error> {
        (&self).into_url()
    }
}

/// The `url` crate's serialization is the one envoi's parser makes, so the text parses back
/// to the same URL.
#[cfg(feature = "url")]
impl IntoUrl for &url::Url {
    fn into_url(self) -> Result<Url, Error> {
        self.as_str().into_url()
    }
}

mod into_url {
    /// Only envoi's own implementations: the trait may grow.
    pub trait Sealed {}
    impl Sealed for &str {}
    impl Sealed for String {}
    impl Sealed for &String {}
    impl Sealed for crate::Url {}
    impl Sealed for &crate::Url {}
    #[cfg(feature = "url")]
    impl Sealed for url::Url {}
    #[cfg(feature = "url")]
    impl Sealed for &url::Url {}
}

/// Parses a URL and checks it can be requested: `http`/`https`, with a host.
pub(crate) fn parse_url(text: &str) -> Result<Url, Error> {
    let url = Url::parse(text).map_err(|e| {
        // A scheme envoi does not speak is the answer, even where the parser gives up on
        // the rest (it does not read `file:` URLs at all).
        match crate::http_url::scheme_of(text).filter(|s| !is_http(s)) {
            Some(scheme) => unsupported_scheme(scheme, text),
            None => Error::new(ErrorKind::InvalidUrl, format!("`{text}`: {e}")),
        }
        .with_source(e)
    })?;
    check_url(&url)?;
    Ok(url)
}

pub(crate) fn check_url(url: &Url) -> Result<(), Error> {
    if !is_http(url.scheme()) {
        return Err(unsupported_scheme(url.scheme(), url.as_str()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::new(
            ErrorKind::InvalidUrl,
            format!("{url} has no host"),
        ));
    }
    Ok(())
}

fn is_http(scheme: &str) -> bool {
    scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
}

fn unsupported_scheme(scheme: &str, url: &str) -> Error {
    Error::new(
        ErrorKind::UnsupportedScheme,
        format!("`{scheme}` in {url} (envoi speaks http and https)"),
    )
}

/// Builds a header name and value from the caller's text, naming the header on refusal.
pub(crate) fn header_pair(name: &str, value: &[u8]) -> Result<(HeaderName, HeaderValue), Error> {
    let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        Error::new(ErrorKind::InvalidHeader, "the name is not a token")
            .with_header(name.escape_debug().to_string())
    })?;
    Ok((header_name, header_value(name, value)?))
}

/// Builds a header value, refusing CR, LF, NUL and other controls (HTAB allowed).
pub(crate) fn header_value(name: &str, value: &[u8]) -> Result<HeaderValue, Error> {
    if let Some(&b) = value
        .iter()
        .find(|&&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        return Err(Error::new(
            ErrorKind::InvalidHeader,
            format!("the value holds the control byte 0x{b:02x}"),
        )
        .with_header(name));
    }
    HeaderValue::from_bytes(value)
        .map_err(|_| Error::new(ErrorKind::InvalidHeader, "invalid value").with_header(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_urls_with_a_host_are_accepted() {
        assert!(parse_url("http://127.0.0.1:8080/get").is_ok());
        assert_eq!(
            parse_url("ftp://127.0.0.1/").unwrap_err().kind(),
            ErrorKind::UnsupportedScheme
        );
        assert_eq!(
            parse_url("not a url").unwrap_err().kind(),
            ErrorKind::InvalidUrl
        );
        assert_eq!(
            parse_url("http://").unwrap_err().kind(),
            ErrorKind::InvalidUrl
        );
        // The parser does not read `file:` URLs; the scheme is still what is wrong.
        let e = parse_url("FILE:///etc/hostname").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedScheme, "{e:#}");
        assert!(e.to_string().contains("`FILE`"), "{e:#}");
        assert_eq!(
            parse_url("http://[::1/").unwrap_err().kind(),
            ErrorKind::InvalidUrl
        );
    }

    #[test]
    fn header_injection_is_refused_naming_the_header() {
        let e = header_pair("X-Token", b"a\r\nEvil: 1").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidHeader);
        assert!(e.to_string().contains("X-Token"), "{e}");
        let e = header_pair("Bad Name", b"v").unwrap_err();
        assert!(e.to_string().contains("Bad Name"), "{e}");
    }

    #[test]
    fn a_stream_body_is_sent_once() {
        let body = Body::chunked(std::io::Cursor::new(b"abc".to_vec()));
        assert!(body.open().is_ok());
        assert_eq!(
            body.clone().open().err().unwrap().kind(),
            ErrorKind::BodyNotReplayable
        );
        let bytes = Body::from("abc");
        assert!(bytes.open().is_ok() && bytes.open().is_ok());
    }

    /// Hands out at most `step` bytes per read, with an interruption before each.
    struct Trickle {
        left: usize,
        step: usize,
        interrupt: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Err(std::io::ErrorKind::Interrupted.into());
            }
            let n = self.left.min(self.step).min(buf.len());
            buf[..n].fill(b'x');
            self.left -= n;
            Ok(n)
        }
    }

    #[test]
    fn a_sized_stream_fills_each_piece_and_a_chunked_one_sends_what_each_read_gave() {
        let mut buf = [0u8; 10];
        let trickle = || Trickle {
            left: 25,
            step: 3,
            interrupt: false,
        };
        let mut sized = trickle();
        let pieces: Vec<usize> = std::iter::from_fn(|| {
            Some(read_stream_piece(&mut sized, &mut buf, true).unwrap()).filter(|&n| n > 0)
        })
        .collect();
        assert_eq!(pieces, [10, 10, 5]);
        let mut chunked = trickle();
        let pieces: Vec<usize> = std::iter::from_fn(|| {
            Some(read_stream_piece(&mut chunked, &mut buf, false).unwrap()).filter(|&n| n > 0)
        })
        .collect();
        assert_eq!(pieces, [3, 3, 3, 3, 3, 3, 3, 3, 1]);
    }

    #[test]
    fn a_failing_body_stream_is_a_body_io_error_with_its_cause() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk gone"))
            }
        }
        let e = read_stream_piece(&mut Broken, &mut [0u8; 4], true).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BodyIo);
        assert!(format!("{e:#}").contains("disk gone"), "{e:#}");
    }
}
