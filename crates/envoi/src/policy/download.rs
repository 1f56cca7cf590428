//! Download to a file, and the progress of a body.
//!
//! A download is written to `<name>.part` and renamed to `<name>` only once it is complete,
//! so a file under its final name is always a complete one (DESIGN.md: "a download to a file
//! is only ever seen complete under its final name"). A failed download removes its `.part`,
//! unless it was resumed (or asked to keep it), in which case the `.part` stays for the next
//! attempt to continue with a Range request.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use http::header::{self, HeaderMap, HeaderValue};
use http::StatusCode;

use crate::error::{Error, ErrorKind};

/// A file being downloaded: bytes go to `<path>.part`, [`commit`](DownloadFile::commit)
/// renames it to `path`, and dropping it uncommitted removes the `.part`.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("envoi-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// use envoi::policy::DownloadFile;
///
/// let target = dir.join("report.csv");
/// let mut file = DownloadFile::create(&target)?;
/// file.write(b"a,b\n1,2\n")?;
/// assert!(!target.exists(), "not under its final name until complete");
/// file.commit()?;
/// assert_eq!(std::fs::read(&target).unwrap(), b"a,b\n1,2\n");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), envoi::Error>(())
/// ```
pub struct DownloadFile {
    path: PathBuf,
    part: PathBuf,
    /// `None` once committed.
    sink: Option<Sink>,
    written: u64,
    keep_partial: bool,
}

enum Sink {
    File(File),
    /// Any writer, for tests of write failures (a `.part` on /dev/full cannot be renamed).
    #[cfg(test)]
    Writer(Box<dyn Write + Send>),
}

impl DownloadFile {
    /// Starts a download to `path`, creating `<path>.part`. An existing `.part` is not
    /// overwritten (it may be another download in progress, or one to
    /// [`resume`](DownloadFile::resume)): that, like any failure to create the file, is
    /// [`ErrorKind::DownloadFileCantOpen`].
    pub fn create(path: impl AsRef<Path>) -> Result<DownloadFile, Error> {
        let path = path.as_ref().to_path_buf();
        let part = part_path(&path);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&part)
            .map_err(|e| cant_open(&part, e))?;
        Ok(DownloadFile {
            path,
            part,
            sink: Some(Sink::File(file)),
            written: 0,
            keep_partial: false,
        })
    }

    /// Continues a download to `path` from an existing `<path>.part` (or starts one), and
    /// returns the offset to resume from: the request then asks for `Range: bytes=<offset>-`.
    /// The `.part` is kept if this attempt fails too.
    pub fn resume(path: impl AsRef<Path>) -> Result<(DownloadFile, u64), Error> {
        let path = path.as_ref().to_path_buf();
        let part = part_path(&path);
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&part)
            .map_err(|e| cant_open(&part, e))?;
        let offset = file.metadata().map_err(|e| cant_open(&part, e))?.len();
        let download = DownloadFile {
            path,
            part,
            sink: Some(Sink::File(file)),
            written: offset,
            keep_partial: true,
        };
        Ok((download, offset))
    }

    /// A download to `path` whose bytes go to `writer` instead of the `.part` file.
    #[cfg(test)]
    pub(crate) fn with_writer(path: impl AsRef<Path>, writer: Box<dyn Write + Send>) -> Self {
        let path = path.as_ref().to_path_buf();
        DownloadFile {
            part: part_path(&path),
            path,
            sink: Some(Sink::Writer(writer)),
            written: 0,
            keep_partial: false,
        }
    }

    /// Appends body bytes. A failure ([`ErrorKind::DownloadFileWriteError`]) leaves the
    /// download to be dropped.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let result = match &mut self.sink {
            Some(Sink::File(file)) => file.write_all(bytes),
            #[cfg(test)]
            Some(Sink::Writer(writer)) => writer.write_all(bytes),
            None => Err(io::Error::other("the download was already committed")),
        };
        result.map_err(|e| self.write_error("writing", e))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Empties the `.part` to start over (the server answered a Range request with the
    /// whole body).
    pub fn restart(&mut self) -> Result<(), Error> {
        if let Some(Sink::File(file)) = &mut self.sink {
            let result = file.set_len(0).and_then(|()| file.seek(SeekFrom::Start(0)));
            result.map_err(|e| self.write_error("truncating", e))?;
        }
        self.written = 0;
        Ok(())
    }

    /// Flushes the bytes to disk and renames `<path>.part` to `path`, replacing any file
    /// there. Returns the final path.
    pub fn commit(mut self) -> Result<PathBuf, Error> {
        let flushed = match self.sink.take() {
            Some(Sink::File(mut file)) => file.flush().and_then(|()| file.sync_all()),
            #[cfg(test)]
            Some(Sink::Writer(mut writer)) => writer.flush(),
            None => Ok(()),
        };
        let renamed = flushed.and_then(|()| fs::rename(&self.part, &self.path));
        if let Err(e) = renamed {
            if !self.keep_partial {
                let _ = fs::remove_file(&self.part);
            }
            return Err(self.write_error("completing", e));
        }
        Ok(std::mem::take(&mut self.path))
    }

    /// Keeps (or not) the `.part` when the download is dropped uncommitted. Off for
    /// [`create`](DownloadFile::create), on for [`resume`](DownloadFile::resume).
    pub fn keep_partial(&mut self, keep: bool) {
        self.keep_partial = keep;
    }

    /// Bytes in the `.part` so far, a resumed download's earlier bytes included.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `.part` path being written.
    pub fn part_path(&self) -> &Path {
        &self.part
    }

    fn write_error(&self, doing: &str, e: io::Error) -> Error {
        Error::new(
            ErrorKind::DownloadFileWriteError,
            format!("{doing} {}", self.part.display()),
        )
        .with_source(e)
    }
}

impl Drop for DownloadFile {
    fn drop(&mut self) {
        if let Some(sink) = self.sink.take() {
            drop(sink);
            if !self.keep_partial {
                let _ = fs::remove_file(&self.part);
            }
        }
    }
}

impl std::fmt::Debug for DownloadFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadFile")
            .field("part", &self.part)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

/// `<path>.part`, next to the final file so the rename stays on one file system.
fn part_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

fn cant_open(part: &Path, e: io::Error) -> Error {
    let hint = if e.kind() == io::ErrorKind::AlreadyExists {
        " (exists already: another download, or one to resume)"
    } else {
        ""
    };
    Error::new(
        ErrorKind::DownloadFileCantOpen,
        format!("{}{hint}", part.display()),
    )
    .with_source(e)
}

/// `Range: bytes=<offset>-`, asking for the rest of a partial download.
pub(crate) fn range_header(offset: u64) -> HeaderValue {
    // ASCII digits and punctuation: the fallback is never taken.
    HeaderValue::from_str(&format!("bytes={offset}-"))
        .unwrap_or_else(|_| HeaderValue::from_static("bytes=0-"))
}

/// What a response to a resumed download means for the `.part`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResumeAnswer {
    /// 206 from the offset: append the body.
    Continue,
    /// 200: the server sent the whole body; [`DownloadFile::restart`] and write it.
    Restart,
    /// 416 saying the resource is exactly as long as the `.part`: commit it as it is.
    Complete,
    /// Any other answer is not the file: deliver it, leave the `.part` alone.
    NotTheFile,
}

/// Checks the answer to a request sent with [`range_header`]`(offset)`.
pub(crate) fn check_resume_answer(
    offset: u64,
    status: StatusCode,
    headers: &HeaderMap,
) -> Result<ResumeAnswer, Error> {
    let range = headers
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes "));
    match status.as_u16() {
        200 => Ok(ResumeAnswer::Restart),
        206 => {
            let start = range
                .and_then(|r| r.split_once('-'))
                .and_then(|(start, _)| start.trim().parse::<u64>().ok());
            match start {
                Some(start) if start == offset => Ok(ResumeAnswer::Continue),
                Some(start) => Err(Error::new(
                    ErrorKind::MalformedResponse,
                    format!("asked for the bytes from {offset} on, got them from {start} on"),
                )),
                None => Err(Error::new(
                    ErrorKind::MalformedResponse,
                    "a 206 without a single byte range",
                )
                .with_header("content-range")),
            }
        }
        416 => {
            let total = range
                .and_then(|r| r.strip_prefix("*/"))
                .and_then(|t| t.trim().parse::<u64>().ok());
            if total == Some(offset) {
                Ok(ResumeAnswer::Complete)
            } else {
                Ok(ResumeAnswer::NotTheFile)
            }
        }
        _ => Ok(ResumeAnswer::NotTheFile),
    }
}

/// How far a body has come: bytes delivered so far, and the body size when known.
///
/// ```
/// use envoi::policy::Progress;
///
/// let progress = Progress::default();
/// assert_eq!((progress.downloaded(), progress.total()), (0, None));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    downloaded: u64,
    total: Option<u64>,
}

impl Progress {
    /// Progress of a body of `total` bytes (`None`: unknown).
    pub(crate) fn new(total: Option<u64>) -> Self {
        Progress {
            downloaded: 0,
            total,
        }
    }

    /// Counts `n` more bytes delivered.
    pub(crate) fn add(&mut self, n: u64) {
        self.downloaded = self.downloaded.saturating_add(n);
    }

    /// Bytes of the body delivered so far (decoded bytes when the body is decoded).
    pub fn downloaded(&self) -> u64 {
        self.downloaded
    }

    /// The size of the body, or `None` when unknown: chunked, delimited by the connection
    /// closing, or decoded (its decoded size is not announced).
    pub fn total(&self) -> Option<u64> {
        self.total
    }
}

/// The size of a response body as its head announces it, for a response that has one:
/// Content-Length, unless it is chunked or about to be decoded.
pub(crate) fn body_size(headers: &HeaderMap, decoding: bool) -> Option<u64> {
    if decoding || headers.contains_key(header::TRANSFER_ENCODING) {
        return None;
    }
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests;
