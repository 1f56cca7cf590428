//! Where response bytes go: stdout, `-o FILE`, `-O`, with `--output-dir`, `--create-dirs`
//! and `-C`; heads for `-i`/`-I` (into the body's output) and `-D` (a file or stdout).
//!
//! A file is written as `NAME.part` and renamed to `NAME` only when the transfer succeeded,
//! so a file under its final name is always complete (the library's [`DownloadFile`]); a
//! failed download leaves the old `NAME` untouched. With `-C` the `.part` is kept for the
//! next attempt to continue. Outputs that are not regular files (`/dev/null`, a FIFO) are
//! written directly.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use envoi::DownloadFile;

use crate::error::CliError;
use crate::exit_code::WRITE_ERROR;
use crate::plan::OutputSpec;

/// Where a transfer's body (and `-i` head) goes.
pub enum BodySink {
    /// Standard output.
    Stdout,
    /// A file written through `.part`.
    Download {
        /// The download.
        file: DownloadFile,
        /// `-C -` moved an existing `NAME` to `NAME.part`; put it back if nothing was added.
        moved_from: Option<PathBuf>,
        /// Bytes in the file when the transfer started.
        start: u64,
    },
    /// A special file written in place.
    Direct(File),
}

/// The path a transfer writes to, decided before the request (for `-C` and `%{filename_effective}`).
pub fn target_path(
    spec: &OutputSpec,
    url: &str,
    output_dir: Option<&str>,
) -> Result<Option<PathBuf>, CliError> {
    let path = match spec {
        OutputSpec::Stdout => return Ok(None),
        OutputSpec::File(p) => p.clone(),
        OutputSpec::RemoteName => PathBuf::from(remote_name(url)?),
    };
    Ok(Some(match output_dir {
        Some(dir) if path.is_relative() => Path::new(dir).join(path),
        _ => path,
    }))
}

/// `-O`: the last segment of the URL's path, as curl takes it (no decoding).
fn remote_name(url: &str) -> Result<String, CliError> {
    let path = envoi::Url::parse(url)
        .map(|u| u.path().to_owned())
        .unwrap_or_default();
    let name = path.rsplit('/').next().unwrap_or("");
    if name.is_empty() {
        return Err(CliError::code(
            WRITE_ERROR,
            "Remote file name has no length!",
        ));
    }
    Ok(name.to_owned())
}

/// How many bytes `-C -` continues after: the size of `NAME.part`, else of `NAME`.
pub fn resume_offset(path: &Path) -> u64 {
    let part = part_path(path);
    fs::metadata(&part)
        .or_else(|_| fs::metadata(path))
        .map(|m| if m.is_file() { m.len() } else { 0 })
        .unwrap_or(0)
}

fn part_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

impl BodySink {
    /// Opens the output once the response has arrived (so a failed connection creates no
    /// file). `resume` appends to what is there.
    pub fn open(path: Option<&Path>, resume: bool, create_dirs: bool) -> Result<Self, CliError> {
        let Some(path) = path else {
            return Ok(BodySink::Stdout);
        };
        let cant = |e: &dyn std::fmt::Display| {
            CliError::code(
                WRITE_ERROR,
                format!("Failed to open the file {}: {e}", path.display()),
            )
        };
        if create_dirs {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent).map_err(|e| cant(&e))?;
            }
        }
        if let Ok(meta) = fs::metadata(path) {
            if !meta.is_file() && !meta.is_dir() {
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| cant(&e))?;
                return Ok(BodySink::Direct(file));
            }
        }
        if resume {
            let part = part_path(path);
            let mut moved_from = None;
            if !part.exists() && path.is_file() {
                fs::rename(path, &part).map_err(|e| cant(&e))?;
                moved_from = Some(path.to_owned());
            }
            let (file, start) = DownloadFile::resume(path).map_err(|e| cant(&e))?;
            return Ok(BodySink::Download {
                file,
                moved_from,
                start,
            });
        }
        let file = match DownloadFile::create(path) {
            Ok(file) => file,
            Err(_) if part_path(path).is_file() => {
                // A `.part` left by a download that was killed: start over, as curl
                // overwrites its output.
                fs::remove_file(part_path(path)).map_err(|e| cant(&e))?;
                DownloadFile::create(path).map_err(|e| cant(&e))?
            }
            Err(e) => return Err(cant(&e)),
        };
        Ok(BodySink::Download {
            file,
            moved_from: None,
            start: 0,
        })
    }

    /// Writes bytes; a failure is curl's write error (23).
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), CliError> {
        let failed = |e: &dyn std::fmt::Display| {
            CliError::code(
                WRITE_ERROR,
                format!("Failure writing output to destination: {e}"),
            )
        };
        match self {
            BodySink::Stdout => std::io::stdout()
                .lock()
                .write_all(bytes)
                .map_err(|e| failed(&e)),
            BodySink::Download { file, .. } => file.write(bytes).map_err(|e| failed(&e)),
            BodySink::Direct(file) => file.write_all(bytes).map_err(|e| failed(&e)),
        }
    }

    /// The transfer succeeded: flush, and give the file its final name.
    pub fn commit(self) -> Result<(), CliError> {
        let failed = |e: &dyn std::fmt::Display| {
            CliError::code(
                WRITE_ERROR,
                format!("Failure writing output to destination: {e}"),
            )
        };
        match self {
            BodySink::Stdout => std::io::stdout().flush().map_err(|e| failed(&e)),
            BodySink::Download { file, .. } => file.commit().map(|_| ()).map_err(|e| failed(&e)),
            BodySink::Direct(mut file) => file.flush().map_err(|e| failed(&e)),
        }
    }

    /// The transfer failed. A plain download's `.part` is removed; a resumed one keeps its
    /// `.part`, unless nothing was added to a file `-C` had moved there, which goes back.
    pub fn abandon(self) {
        match self {
            BodySink::Stdout => {
                let _ = std::io::stdout().flush();
            }
            BodySink::Download {
                file,
                moved_from,
                start,
            } => {
                let unchanged = file.written() == start;
                let part = file.part_path().to_owned();
                drop(file);
                if let (Some(original), true) = (moved_from, unchanged) {
                    let _ = fs::rename(part, original);
                }
            }
            BodySink::Direct(..) => {}
        }
    }
}

/// `-D`: the heads of a group's transfers, in one file (or stdout for `-`).
pub struct HeaderDump {
    target: Mutex<Option<HeaderTarget>>,
    path: String,
}

enum HeaderTarget {
    Stdout,
    File(File),
}

impl HeaderDump {
    /// A dump to `path`, opened (and truncated) at the first head.
    pub fn new(path: &str) -> Self {
        HeaderDump {
            target: Mutex::new(None),
            path: path.to_owned(),
        }
    }

    /// Appends one head.
    pub fn write(&self, head: &[u8]) -> Result<(), CliError> {
        let failed = |e: std::io::Error| {
            CliError::code(
                WRITE_ERROR,
                format!("Failed writing headers to {}: {e}", self.path),
            )
        };
        let mut target = self.target.lock().unwrap_or_else(|e| e.into_inner());
        if target.is_none() {
            *target = Some(if self.path == "-" {
                HeaderTarget::Stdout
            } else {
                HeaderTarget::File(File::create(&self.path).map_err(failed)?)
            });
        }
        match target.as_mut() {
            Some(HeaderTarget::File(f)) => f.write_all(head).map_err(failed),
            _ => std::io::stdout().lock().write_all(head).map_err(failed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("envoi-out-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn remote_names_and_output_dirs() {
        let spec = OutputSpec::RemoteName;
        let p = target_path(&spec, "http://h/a/b.txt?x=1", Some("out")).unwrap();
        assert_eq!(p, Some(PathBuf::from("out/b.txt")));
        let e = target_path(&spec, "http://h/a/", None).unwrap_err();
        assert_eq!(e.exit_code(), 23);
        let abs = OutputSpec::File("/tmp/x".into());
        assert_eq!(
            target_path(&abs, "http://h/", Some("out")).unwrap(),
            Some(PathBuf::from("/tmp/x"))
        );
    }

    #[test]
    fn a_file_appears_only_when_complete() {
        let dir = temp("commit");
        let path = dir.join("sub/f.bin");
        let mut sink = BodySink::open(Some(&path), false, true).unwrap();
        sink.write(b"abc").unwrap();
        assert!(!path.exists());
        sink.commit().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"abc");

        let mut sink = BodySink::open(Some(&path), false, false).unwrap();
        sink.write(b"partial").unwrap();
        sink.abandon();
        assert_eq!(fs::read(&path).unwrap(), b"abc", "the old file stays");
        assert!(!part_path(&path).exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn resume_continues_a_part_or_an_existing_file() {
        let dir = temp("resume");
        let path = dir.join("f.bin");
        fs::write(&path, b"abc").unwrap();
        assert_eq!(resume_offset(&path), 3);
        let sink = BodySink::open(Some(&path), true, false).unwrap();
        sink.abandon();
        assert_eq!(
            fs::read(&path).unwrap(),
            b"abc",
            "nothing added: file restored"
        );

        let mut sink = BodySink::open(Some(&path), true, false).unwrap();
        sink.write(b"de").unwrap();
        sink.abandon();
        assert_eq!(fs::read(part_path(&path)).unwrap(), b"abcde");
        assert_eq!(resume_offset(&path), 5);
        let mut sink = BodySink::open(Some(&path), true, false).unwrap();
        sink.write(b"f").unwrap();
        sink.commit().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"abcdef");
        fs::remove_dir_all(&dir).unwrap();
    }
}
