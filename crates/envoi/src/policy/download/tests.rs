//! Tests of downloads to a file: the `.part` discipline, resuming, and the two failure kinds.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// A fresh directory under the system temp dir, removed (permissions restored) on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("envoi-download-{}-{n}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(&self.0, fs::Permissions::from_mode(0o755));
        }
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn names(dir: &TempDir) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_download_is_written_to_part_and_renamed_on_commit() {
    let dir = TempDir::new("commit");
    let target = dir.join("file.bin");
    let mut download = DownloadFile::create(&target).unwrap();
    download.write(b"hello ").unwrap();
    download.write(b"world").unwrap();
    assert_eq!(download.written(), 11);
    assert_eq!(names(&dir), ["file.bin.part"]);
    assert_eq!(download.part_path(), dir.join("file.bin.part"));
    assert_eq!(download.commit().unwrap(), target);
    assert_eq!(names(&dir), ["file.bin"]);
    assert_eq!(fs::read(&target).unwrap(), b"hello world");
}

#[test]
fn a_download_dropped_without_commit_leaves_nothing() {
    let dir = TempDir::new("drop");
    let mut download = DownloadFile::create(dir.join("file.bin")).unwrap();
    download.write(b"half of it").unwrap();
    drop(download);
    assert!(names(&dir).is_empty(), "{:?}", names(&dir));
}

#[test]
fn commit_replaces_an_older_file() {
    let dir = TempDir::new("replace");
    let target = dir.join("file.bin");
    fs::write(&target, b"old").unwrap();
    let mut download = DownloadFile::create(&target).unwrap();
    download.write(b"new").unwrap();
    download.commit().unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"new");
}

#[test]
fn an_existing_part_is_not_overwritten() {
    let dir = TempDir::new("exists");
    fs::write(dir.join("file.bin.part"), b"someone else's").unwrap();
    let e = DownloadFile::create(dir.join("file.bin")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DownloadFileCantOpen);
    assert!(e.to_string().contains("resume"), "{e}");
    assert_eq!(
        fs::read(dir.join("file.bin.part")).unwrap(),
        b"someone else's"
    );
}

/// True when this process can create files in a 0o555 directory (root can): permissions are
/// then no test of "cannot open".
#[cfg(unix)]
fn permissions_are_ignored(dir: &Path) -> bool {
    let probe = dir.join("probe");
    let created = File::create(&probe).is_ok();
    let _ = fs::remove_file(&probe);
    created
}

#[cfg(unix)]
#[test]
fn download_into_a_read_only_directory_cant_open() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("read-only");
    fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o555)).unwrap();
    let target = if permissions_are_ignored(&dir.0) {
        // Running as root, where a read-only directory is writable: use a path that no one
        // can open instead, one whose parent is a regular file.
        fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(dir.join("plain-file"), b"").unwrap();
        dir.join("plain-file").join("file.bin")
    } else {
        dir.join("file.bin")
    };
    let e = DownloadFile::create(&target).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DownloadFileCantOpen);
    assert!(e.to_string().contains("file.bin.part"), "{e}");
    assert_eq!(
        DownloadFile::resume(&target).unwrap_err().kind(),
        ErrorKind::DownloadFileCantOpen
    );
}

#[test]
fn download_under_a_regular_file_or_a_missing_directory_cant_open() {
    let dir = TempDir::new("not-a-dir");
    fs::write(dir.join("plain-file"), b"").unwrap();
    for target in [
        dir.join("plain-file").join("x"),
        dir.join("missing").join("x"),
    ] {
        let e = DownloadFile::create(&target).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DownloadFileCantOpen, "{target:?}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn writing_to_a_full_device_is_download_file_write_error() {
    let dir = TempDir::new("full");
    let full = OpenOptions::new().write(true).open("/dev/full").unwrap();
    let mut download = DownloadFile::with_writer(dir.join("file.bin"), Box::new(full));
    let e = download.write(&[0; 4096]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DownloadFileWriteError);
    assert!(format!("{e:#}").contains("file.bin.part"), "{e:#}");
    drop(download);
    assert!(names(&dir).is_empty());
}

#[test]
fn a_failed_commit_is_a_write_error_and_leaves_no_final_file() {
    let dir = TempDir::new("commit-fails");
    // The final name is a non-empty directory: the rename cannot replace it.
    let target = dir.join("taken");
    fs::create_dir_all(target.join("inside")).unwrap();
    let mut download = DownloadFile::create(&target).unwrap();
    download.write(b"bytes").unwrap();
    let e = download.commit().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DownloadFileWriteError);
    assert_eq!(names(&dir), ["taken"], "the .part is gone");
}

#[test]
fn resume_continues_an_existing_part() {
    let dir = TempDir::new("resume");
    let target = dir.join("file.bin");
    fs::write(dir.join("file.bin.part"), b"hello").unwrap();
    let (mut download, offset) = DownloadFile::resume(&target).unwrap();
    assert_eq!(offset, 5);
    assert_eq!(range_header(offset), "bytes=5-");
    download.write(b" world").unwrap();
    assert_eq!(download.written(), 11);
    download.commit().unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"hello world");
}

#[test]
fn resume_without_a_part_starts_at_zero() {
    let dir = TempDir::new("resume-fresh");
    let (download, offset) = DownloadFile::resume(dir.join("file.bin")).unwrap();
    assert_eq!((offset, download.written()), (0, 0));
}

#[test]
fn a_failed_resumed_download_keeps_its_part_for_next_time() {
    let dir = TempDir::new("resume-keep");
    let (mut download, _) = DownloadFile::resume(dir.join("file.bin")).unwrap();
    download.write(b"first half").unwrap();
    drop(download);
    assert_eq!(fs::read(dir.join("file.bin.part")).unwrap(), b"first half");
    let (mut download, offset) = DownloadFile::resume(dir.join("file.bin")).unwrap();
    assert_eq!(offset, 10);
    download.keep_partial(false);
    drop(download);
    assert!(names(&dir).is_empty());
}

#[test]
fn restart_empties_the_part() {
    let dir = TempDir::new("restart");
    fs::write(dir.join("file.bin.part"), b"stale bytes").unwrap();
    let (mut download, _) = DownloadFile::resume(dir.join("file.bin")).unwrap();
    download.restart().unwrap();
    download.write(b"whole body").unwrap();
    download.commit().unwrap();
    assert_eq!(fs::read(dir.join("file.bin")).unwrap(), b"whole body");
}

fn content_range(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_RANGE, HeaderValue::from_str(value).unwrap());
    headers
}

#[test]
fn resume_answers_are_checked() {
    let status = |code| StatusCode::from_u16(code).unwrap();
    let check = |code, headers: &HeaderMap| check_resume_answer(100, status(code), headers);
    assert_eq!(
        check(206, &content_range("bytes 100-199/200")).unwrap(),
        ResumeAnswer::Continue
    );
    assert_eq!(
        check(206, &content_range("bytes 100-199/*")).unwrap(),
        ResumeAnswer::Continue
    );
    let e = check(206, &content_range("bytes 0-199/200")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MalformedResponse);
    let e = check(206, &HeaderMap::new()).unwrap_err();
    assert_eq!(e.header(), Some("content-range"));
    assert_eq!(
        check(200, &HeaderMap::new()).unwrap(),
        ResumeAnswer::Restart
    );
    assert_eq!(
        check(416, &content_range("bytes */100")).unwrap(),
        ResumeAnswer::Complete
    );
    assert_eq!(
        check(416, &content_range("bytes */50")).unwrap(),
        ResumeAnswer::NotTheFile
    );
    assert_eq!(
        check(404, &HeaderMap::new()).unwrap(),
        ResumeAnswer::NotTheFile
    );
}

#[test]
fn progress_knows_the_size_only_from_a_plain_content_length() {
    let mut headers = HeaderMap::new();
    assert_eq!(body_size(&headers, false), None);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("1234"));
    assert_eq!(body_size(&headers, false), Some(1234));
    assert_eq!(body_size(&headers, true), None, "decoded size unknown");
    headers.insert(
        header::TRANSFER_ENCODING,
        HeaderValue::from_static("chunked"),
    );
    assert_eq!(body_size(&headers, false), None);
    let mut bad = HeaderMap::new();
    bad.insert(header::CONTENT_LENGTH, HeaderValue::from_static("12x"));
    assert_eq!(body_size(&bad, false), None);

    let mut progress = Progress::new(Some(1234));
    progress.add(1000);
    progress.add(234);
    assert_eq!(
        (progress.downloaded(), progress.total()),
        (1234, Some(1234))
    );
}

mod properties {
    use crate::policy::field_values::field_value;
    use proptest::prelude::*;

    use super::*;

    /// Content-Range values that are almost right: its parts in any order and number, with
    /// numbers of any size and sign.
    fn near_valid_range() -> impl Strategy<Value = Vec<u8>> {
        let number = prop_oneof![
            "[0-9]{1,3}",
            "[0-9]{19,30}",
            "-[0-9]{1,5}",
            "\\+[0-9]{1,5}",
            Just("18446744073709551615".to_owned()),
            Just("18446744073709551616".to_owned()),
        ];
        let piece = prop_oneof![
            number,
            Just("bytes ".to_owned()),
            Just("Bytes ".to_owned()),
            Just("bytes=".to_owned()),
            Just("-".to_owned()),
            Just("/".to_owned()),
            Just("*".to_owned()),
            Just(" ".to_owned()),
            Just("\t".to_owned()),
            Just(",".to_owned()),
        ];
        prop::collection::vec(piece, 0..8).prop_map(|p| p.concat().into_bytes())
    }

    fn with_field(name: header::HeaderName, value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_bytes(value).unwrap());
        headers
    }

    proptest! {
        /// Whatever Content-Range answers a resumed download, checking it never panics and
        /// the status decides the kind of answer.
        #[test]
        fn any_content_range_in_a_resume_answer_is_checked_without_panicking(
            value in prop_oneof![field_value(40), near_valid_range()],
            code in prop_oneof![Just(200u16), Just(206), Just(416), 100u16..1000],
            offset in prop_oneof![0u64..1000, any::<u64>()],
        ) {
            let headers = with_field(header::CONTENT_RANGE, &value);
            let status = StatusCode::from_u16(code).unwrap();
            let answer = check_resume_answer(offset, status, &headers);
            let text = String::from_utf8_lossy(&value);
            let offset_text = offset.to_string();
            match (code, answer) {
                (200, Ok(ResumeAnswer::Restart)) => {}
                (206, Ok(ResumeAnswer::Continue)) | (416, Ok(ResumeAnswer::Complete)) => {
                    prop_assert!(text.contains(&offset_text), "{text} for {offset}");
                }
                (206, Err(e)) => prop_assert_eq!(e.kind(), ErrorKind::MalformedResponse),
                (416, Ok(ResumeAnswer::NotTheFile)) => {}
                (c, Ok(ResumeAnswer::NotTheFile)) if ![200, 206, 416].contains(&c) => {}
                (c, other) => prop_assert!(false, "{c} {text:?}: {other:?}"),
            }
        }

        /// A well-formed Content-Range continues the download only from its offset, and a
        /// 416 completes it only when the total is the offset.
        #[test]
        fn a_well_formed_content_range_continues_only_from_the_offset(
            start in prop_oneof![0u64..1000, any::<u64>()],
            len in 0u64..1000,
            total in prop::option::of(any::<u64>()),
            near in prop::bool::ANY,
            offset in 0u64..1000,
        ) {
            let offset = if near { start } else { offset };
            let end = start.saturating_add(len);
            let total_text = total.map_or("*".to_owned(), |t| t.to_string());
            let partial = with_field(
                header::CONTENT_RANGE,
                format!("bytes {start}-{end}/{total_text}").as_bytes(),
            );
            let answer = check_resume_answer(offset, StatusCode::PARTIAL_CONTENT, &partial);
            if start == offset {
                prop_assert_eq!(answer.unwrap(), ResumeAnswer::Continue);
            } else {
                prop_assert_eq!(answer.unwrap_err().kind(), ErrorKind::MalformedResponse);
            }
            let whole = total.unwrap_or(offset);
            let unsatisfiable =
                with_field(header::CONTENT_RANGE, format!("bytes */{whole}").as_bytes());
            let status = StatusCode::RANGE_NOT_SATISFIABLE;
            let expected = if whole == offset {
                ResumeAnswer::Complete
            } else {
                ResumeAnswer::NotTheFile
            };
            prop_assert_eq!(check_resume_answer(offset, status, &unsatisfiable).unwrap(), expected);
        }

        /// Whatever Content-Length a response carries, the announced size never panics and is
        /// only ever a number the field holds.
        #[test]
        fn any_content_length_gives_a_body_size_without_panicking(
            value in prop_oneof![field_value(40), near_valid_range()],
        ) {
            let headers = with_field(header::CONTENT_LENGTH, &value);
            if let Some(size) = body_size(&headers, false) {
                let text = String::from_utf8_lossy(&value);
                prop_assert!(text.contains(&size.to_string()), "{text:?}: {size}");
            }
            prop_assert_eq!(body_size(&headers, true), None);
        }
    }
}
