//! An upload over 4 GiB: 5 GiB generated on the fly, streamed with Content-Length, counted by
//! the test server without storing it. Sizes beyond u32 must be ordinary.

mod support;

use std::io::Read;

use support::*;

/// Yields `remaining` bytes of a repeating pattern without holding them.
struct Generated {
    remaining: u64,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = usize::try_from(self.remaining).map_or(buf.len(), |r| r.min(buf.len()));
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = (i % 251) as u8;
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[test]
fn five_gib_upload_with_content_length_is_counted_whole() {
    const FIVE_GIB: u64 = 5 << 30;
    let server = TestServer::start();
    let client = ClientBuilder::new()
        .timeout(std::time::Duration::from_secs(600))
        .build()
        .unwrap();
    let body = envoi::Body::from_reader(
        Generated {
            remaining: FIVE_GIB,
        },
        FIVE_GIB,
    );
    let response = client
        .put(server.url("/upload-sink?sha256=false"))
        .body(body)
        .send()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&response.bytes().unwrap()).unwrap();
    assert_eq!(json["bytes"].as_u64(), Some(FIVE_GIB));
    assert_eq!(json["content_length"].as_u64(), Some(FIVE_GIB));
}
