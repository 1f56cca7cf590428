//! Downloads to a file: through `<name>.part`, renamed only when complete; resumed with Range.

mod support;

use std::path::PathBuf;

use support::*;

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("envoi-dl-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_download_is_only_seen_complete_under_its_final_name() {
    let server = TestServer::start();
    let client = builder().build().unwrap();
    let dir = temp_dir("complete");
    let target = dir.join("bytes.bin");
    let saved = client
        .get(server.url("/bytes/200000?seed=7"))
        .send()
        .unwrap()
        .save_to(&target)
        .unwrap();
    assert_eq!(saved, target);
    let expected = client
        .get(server.url("/bytes/200000?seed=7"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), expected);
    assert!(!dir.join("bytes.bin.part").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_download_leaves_no_file_behind() {
    let server = TestServer::start();
    let client = builder().build().unwrap();
    let dir = temp_dir("failed");
    let target = dir.join("cut.bin");
    let e = client
        .get(server.url("/raw/truncated-length"))
        .send()
        .unwrap()
        .save_to(&target)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TruncatedBody);
    assert!(!target.exists());
    assert!(!dir.join("cut.bin.part").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_download_into_an_unopenable_place_is_cant_open() {
    let server = TestServer::start();
    let client = builder().build().unwrap();
    let dir = temp_dir("unopenable");
    // A path under a regular file cannot be created, whoever runs the test (root ignores
    // directory permissions, so a read-only directory would not do).
    let file = dir.join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let e = client
        .get(server.url("/bytes/10"))
        .send()
        .unwrap()
        .save_to(file.join("inside.bin"))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DownloadFileCantOpen);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_partial_download_resumes_with_a_range_request() {
    let server = TestServer::start();
    let client = builder().build().unwrap();
    let whole = client
        .get(server.url("/range/5000"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(whole.len(), 5000);
    let dir = temp_dir("resume");
    let target = dir.join("range.bin");
    std::fs::write(dir.join("range.bin.part"), &whole[..1234]).unwrap();
    let request = client.get(server.url("/range/5000")).build().unwrap();
    let (status, path) = client.download(&request, &target, true).unwrap();
    assert_eq!(status, 206);
    assert_eq!(path.as_deref(), Some(target.as_path()));
    assert_eq!(std::fs::read(&target).unwrap(), whole);
    std::fs::remove_dir_all(&dir).unwrap();
}
