//! `multipart/form-data` bodies (RFC 7578): text fields, bytes and files, laid out as curl
//! lays out `-F` (the same boundary shape and part headers), with an exact length so the body
//! goes out with Content-Length. Files are not read into memory: they are streamed, and opened
//! again for each send, so a 307 or 308 redirect or an authentication challenge sends the form
//! again ([`Body::replayable`]).
//!
//! ```no_run
//! use envoi::multipart::{Form, Part};
//!
//! let form = Form::new()
//!     .text("title", "holiday")
//!     .file("photo", "beach.jpg")?
//!     .part("notes", Part::bytes(b"sunny".to_vec()).file_name("notes.txt"));
//! let client = envoi::blocking::Client::new()?;
//! let response = client.post("http://127.0.0.1:8080/post").multipart(form).send()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::hash_map::RandomState;
use std::fmt;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use crate::error::{Error, ErrorKind};
use crate::request::Body;

/// A `multipart/form-data` body being built. Parts go out in the order they were added.
#[derive(Clone)]
pub struct Form {
    boundary: String,
    parts: Vec<(String, Part)>,
}

/// One part of a [`Form`]: its content, and optionally a file name, a media type and more
/// header fields.
#[derive(Clone)]
pub struct Part {
    content: Content,
    file_name: Option<String>,
    mime: Option<String>,
    headers: Vec<String>,
}

#[derive(Clone)]
enum Content {
    Bytes(Bytes),
    File { path: PathBuf, length: u64 },
}

impl Form {
    /// An empty form with a random boundary: 24 dashes and 16 hex digits, curl's shape.
    pub fn new() -> Form {
        Form {
            boundary: random_boundary(),
            parts: Vec::new(),
        }
    }

    /// An empty form with the given boundary: 1 to 70 characters from RFC 2046's set
    /// (letters, digits, `'()+_,-./:=?` and space, not last). It must not occur in any part.
    pub fn with_boundary(boundary: &str) -> Result<Form, Error> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || "'()+_,-./:=? ".contains(c);
        let valid = (1..=70).contains(&boundary.len())
            && boundary.chars().all(allowed)
            && !boundary.ends_with(' ');
        if !valid {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                format!("`{boundary}` is not a usable multipart boundary (RFC 2046 §5.1.1)"),
            ));
        }
        Ok(Form {
            boundary: boundary.to_owned(),
            parts: Vec::new(),
        })
    }

    /// Adds a text field.
    pub fn text(self, name: impl Into<String>, value: impl Into<String>) -> Form {
        self.part(name, Part::text(value))
    }

    /// Adds a file field: the file's name as its file name and a media type from its
    /// extension, as curl's `-F name=@path` (see [`Part::file`]).
    pub fn file(self, name: impl Into<String>, path: impl AsRef<Path>) -> Result<Form, Error> {
        Ok(self.part(name, Part::file(path)?))
    }

    /// Adds a part.
    pub fn part(mut self, name: impl Into<String>, part: Part) -> Form {
        self.parts.push((name.into(), part));
        self
    }

    /// The boundary between parts.
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// The Content-Type that names the boundary: `multipart/form-data; boundary=...`.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The exact length of the body, in bytes.
    pub fn len(&self) -> u64 {
        length(&self.segments())
    }

    /// True for a form with no parts (its body is still the closing boundary).
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The whole body in memory, files read now. A file that is not the length it had when
    /// it was added is an error ([`ErrorKind::BodyIo`]).
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        let segments = self.segments();
        let mut out = Vec::with_capacity(usize::try_from(length(&segments)).unwrap_or(0));
        SegmentReader::new(Arc::new(segments))
            .read_to_end(&mut out)
            .map_err(body_io)?;
        Ok(out)
    }

    /// The body: bytes when every part is in memory, else a stream of exactly
    /// [`len`](Self::len) bytes that opens its files again for each send.
    pub fn into_body(self) -> Body {
        let segments = self.segments();
        if let [Segment::Bytes(all)] = segments.as_slice() {
            return Body::from_bytes(all.clone());
        }
        let total = length(&segments);
        let segments = Arc::new(segments);
        Body::replayable(Some(total), move || {
            Ok(SegmentReader::new(Arc::clone(&segments)))
        })
    }

    /// The body as pieces: runs of bytes (heads, text, separators) and files.
    fn segments(&self) -> Vec<Segment> {
        let mut segments = Vec::new();
        let mut run = BytesMut::new();
        for (name, part) in &self.parts {
            run.extend_from_slice(format!("--{}\r\n", self.boundary).as_bytes());
            run.extend_from_slice(part.head(name).as_bytes());
            match &part.content {
                Content::Bytes(b) => run.extend_from_slice(b),
                Content::File { path, length } => {
                    segments.push(Segment::Bytes(run.split().freeze()));
                    segments.push(Segment::File {
                        path: path.clone(),
                        length: *length,
                    });
                }
            }
            run.extend_from_slice(b"\r\n");
        }
        run.extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        segments.push(Segment::Bytes(run.freeze()));
        segments.retain(|s| !matches!(s, Segment::Bytes(b) if b.is_empty()));
        segments
    }
}

impl Default for Form {
    fn default() -> Self {
        Form::new()
    }
}

impl fmt::Debug for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Form")
            .field("boundary", &self.boundary)
            .field("parts", &self.parts.len())
            .field("len", &self.len())
            .finish()
    }
}

impl Part {
    /// A text part.
    pub fn text(value: impl Into<String>) -> Part {
        Part::bytes(value.into().into_bytes())
    }

    /// A part of bytes.
    pub fn bytes(value: impl Into<Bytes>) -> Part {
        Part {
            content: Content::Bytes(value.into()),
            file_name: None,
            mime: None,
            headers: Vec::new(),
        }
    }

    /// A file, streamed when the form is sent. Its length is taken now: a file that then
    /// changes size fails the send ([`ErrorKind::BodyIo`]) rather than sending a body of the
    /// wrong length. The file name is the path's last component; the media type comes from
    /// its extension as curl chooses it (`text/plain` for `.txt`, `image/png` for `.png`, ...,
    /// `application/octet-stream` otherwise). A file that cannot be read is
    /// [`ErrorKind::BodyIo`].
    pub fn file(path: impl AsRef<Path>) -> Result<Part, Error> {
        let path = path.as_ref();
        let metadata = std::fs::metadata(path).map_err(|e| {
            Error::new(
                ErrorKind::BodyIo,
                format!("form file {}: cannot read it", path.display()),
            )
            .with_source(e)
        })?;
        if !metadata.is_file() {
            return Err(Error::new(
                ErrorKind::BodyIo,
                format!("form file {}: not a regular file", path.display()),
            ));
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mime = media_type_for(&name);
        Ok(Part {
            content: Content::File {
                path: path.to_owned(),
                length: metadata.len(),
            },
            file_name: Some(name),
            mime: Some(mime.to_owned()),
            headers: Vec::new(),
        })
    }

    /// Sets the file name sent with the part.
    pub fn file_name(mut self, name: impl Into<String>) -> Part {
        self.file_name = Some(name.into());
        self
    }

    /// Sets the part's media type (its Content-Type). A value with a control character is
    /// [`ErrorKind::InvalidHeader`].
    pub fn mime_str(mut self, mime: &str) -> Result<Part, Error> {
        crate::request::header_pair("Content-Type", mime.as_bytes())?;
        self.mime = Some(mime.to_owned());
        Ok(self)
    }

    /// Adds a header field to the part. An invalid name or value is
    /// [`ErrorKind::InvalidHeader`].
    pub fn header(mut self, name: &str, value: &str) -> Result<Part, Error> {
        crate::request::header_pair(name, value.as_bytes())?;
        self.headers.push(format!("{name}: {value}"));
        Ok(self)
    }

    /// The part's head: Content-Disposition, Content-Type, the extra fields, a blank line.
    fn head(&self, name: &str) -> String {
        let mut head = format!("Content-Disposition: form-data; name=\"{}\"", escape(name));
        if let Some(file_name) = &self.file_name {
            head.push_str(&format!("; filename=\"{}\"", escape(file_name)));
        }
        head.push_str("\r\n");
        if let Some(mime) = &self.mime {
            head.push_str(&format!("Content-Type: {mime}\r\n"));
        }
        for field in &self.headers {
            head.push_str(field);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        head
    }
}

impl fmt::Debug for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let content = match &self.content {
            Content::Bytes(b) => format!("{} bytes", b.len()),
            Content::File { path, length } => format!("{} ({length} bytes)", path.display()),
        };
        f.debug_struct("Part")
            .field("content", &content)
            .field("file_name", &self.file_name)
            .field("mime", &self.mime)
            .finish_non_exhaustive()
    }
}

/// curl's media types by file extension (lib/mime.c), `application/octet-stream` otherwise.
pub fn media_type_for(file_name: &str) -> &'static str {
    const TYPES: &[(&str, &str)] = &[
        (".gif", "image/gif"),
        (".jpg", "image/jpeg"),
        (".jpeg", "image/jpeg"),
        (".png", "image/png"),
        (".svg", "image/svg+xml"),
        (".txt", "text/plain"),
        (".htm", "text/html"),
        (".html", "text/html"),
        (".pdf", "application/pdf"),
        (".xml", "application/xml"),
    ];
    let lower = file_name.to_ascii_lowercase();
    TYPES
        .iter()
        .find(|(ext, _)| lower.ends_with(ext))
        .map_or("application/octet-stream", |(_, t)| t)
}

/// Quotes and backslashes in a name are escaped with a backslash, as curl 7.88 does.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// 24 dashes and 16 random hex digits.
fn random_boundary() -> String {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{}{:016x}", "-".repeat(24), hasher.finish())
}

fn body_io(e: io::Error) -> Error {
    Error::new(ErrorKind::BodyIo, "reading a form file").with_source(e)
}

#[derive(Clone)]
enum Segment {
    Bytes(Bytes),
    File { path: PathBuf, length: u64 },
}

/// The bytes `segments` add up to.
fn length(segments: &[Segment]) -> u64 {
    segments
        .iter()
        .map(|s| match s {
            Segment::Bytes(b) => b.len() as u64,
            Segment::File { length, .. } => *length,
        })
        .sum()
}

/// One send's read of the segments; files are opened as they are reached.
struct SegmentReader {
    segments: Arc<Vec<Segment>>,
    next: usize,
    current: Option<Current>,
}

enum Current {
    Bytes(Bytes),
    File {
        file: File,
        path: PathBuf,
        left: u64,
    },
}

impl SegmentReader {
    fn new(segments: Arc<Vec<Segment>>) -> SegmentReader {
        SegmentReader {
            segments,
            next: 0,
            current: None,
        }
    }

    /// Moves to the next segment; false at the end.
    fn advance(&mut self) -> io::Result<bool> {
        let Some(segment) = self.segments.get(self.next) else {
            return Ok(false);
        };
        self.next += 1;
        self.current = Some(match segment {
            Segment::Bytes(b) => Current::Bytes(b.clone()),
            Segment::File { path, length } => Current::File {
                file: File::open(path).map_err(|e| {
                    io::Error::new(e.kind(), format!("opening {}: {e}", path.display()))
                })?,
                path: path.clone(),
                left: *length,
            },
        });
        Ok(true)
    }
}

impl Read for SegmentReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match &mut self.current {
                None => {
                    if !self.advance()? {
                        return Ok(0);
                    }
                }
                Some(Current::Bytes(b)) if b.is_empty() => self.current = None,
                Some(Current::Bytes(b)) => {
                    let n = b.len().min(buf.len());
                    buf[..n].copy_from_slice(&b.split_to(n));
                    return Ok(n);
                }
                Some(Current::File { file, path, left }) => {
                    let want = usize::try_from(*left).unwrap_or(usize::MAX).min(buf.len());
                    if want == 0 {
                        // The declared length is done: the file must be too.
                        let mut probe = [0u8; 1];
                        if file.read(&mut probe)? != 0 {
                            return Err(changed(path));
                        }
                        self.current = None;
                        continue;
                    }
                    let n = file.read(&mut buf[..want])?;
                    if n == 0 {
                        return Err(changed(path));
                    }
                    *left -= n as u64;
                    return Ok(n);
                }
            }
        }
    }
}

fn changed(path: &Path) -> io::Error {
    io::Error::other(format!(
        "form file {} changed size after it was added to the form",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("envoi-multipart-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn parts_are_laid_out_as_curl_lays_them_out() {
        let dir = scratch("layout");
        let file = dir.join("a.txt");
        std::fs::write(&file, "hello\n").unwrap();
        let form = Form::with_boundary("B")
            .unwrap()
            .text("name", "value")
            .file("file", &file)
            .unwrap()
            .part(
                "f2",
                Part::file(&file)
                    .unwrap()
                    .file_name("b.bin")
                    .mime_str("text/x-foo")
                    .unwrap(),
            )
            .part(
                "q\"uote",
                Part::bytes(&b"x"[..]).header("X-Extra", "1").unwrap(),
            );
        let expected = "--B\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nvalue\r\n\
             --B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
             Content-Type: text/plain\r\n\r\nhello\n\r\n\
             --B\r\nContent-Disposition: form-data; name=\"f2\"; filename=\"b.bin\"\r\n\
             Content-Type: text/x-foo\r\n\r\nhello\n\r\n\
             --B\r\nContent-Disposition: form-data; name=\"q\\\"uote\"\r\nX-Extra: 1\r\n\r\nx\r\n\
             --B--\r\n";
        let bytes = form.to_vec().unwrap();
        assert_eq!(String::from_utf8(bytes.clone()).unwrap(), expected);
        assert_eq!(form.len(), expected.len() as u64);
        // The stream gives the same bytes whatever the read sizes.
        for size in [1, 7, 4096] {
            let mut reader = SegmentReader::new(Arc::new(form.segments()));
            let mut out = Vec::new();
            let mut buf = vec![0; size];
            loop {
                let n = reader.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            assert_eq!(String::from_utf8(out).unwrap(), expected, "reads of {size}");
        }
        let body = form.into_body();
        assert_eq!(body.len(), Some(expected.len() as u64));
        assert!(body.is_replayable());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_form_in_memory_is_a_bytes_body() {
        let form = Form::new().text("a", "1");
        assert_eq!(form.boundary().len(), 40);
        assert!(form.content_type().ends_with(form.boundary()));
        let len = form.len();
        let body = form.into_body();
        assert_eq!(body.len(), Some(len));
        assert!(body.is_replayable());
    }

    #[test]
    fn a_file_that_changes_size_fails_the_read() {
        let dir = scratch("changed");
        let file = dir.join("grows.bin");
        std::fs::write(&file, [1u8; 10]).unwrap();
        let form = Form::new().file("f", &file).unwrap();
        std::fs::write(&file, [1u8; 20]).unwrap();
        let e = form.to_vec().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BodyIo);
        assert!(format!("{e:#}").contains("changed size"), "{e:#}");
        std::fs::write(&file, [1u8; 5]).unwrap();
        assert_eq!(form.to_vec().unwrap_err().kind(), ErrorKind::BodyIo);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_input_is_refused_with_its_kind() {
        for bad in ["", "has\"quote", "ends with space ", &"x".repeat(71)] {
            assert_eq!(
                Form::with_boundary(bad).unwrap_err().kind(),
                ErrorKind::InvalidRequest,
                "{bad:?}"
            );
        }
        assert_eq!(
            Part::text("x")
                .mime_str("text/plain\r\nX: y")
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidHeader
        );
        assert_eq!(
            Part::text("x").header("Bad Name", "v").unwrap_err().kind(),
            ErrorKind::InvalidHeader
        );
        assert_eq!(
            Part::file("/nonexistent/envoi/file").unwrap_err().kind(),
            ErrorKind::BodyIo
        );
        assert_eq!(Part::file("/").unwrap_err().kind(), ErrorKind::BodyIo);
        assert_eq!(media_type_for("x.PNG"), "image/png");
        assert_eq!(media_type_for("x.bin"), "application/octet-stream");
    }
}
