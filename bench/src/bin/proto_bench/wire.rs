//! The bytes every case is fed: one canned small response, and large bodies built once.

/// A keep-alive response as nginx sends it for a small static file. The header set is the
/// one issue 3 names; the values are nginx's so the head is realistic in size and shape.
pub const SMALL_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: nginx/1.26.2\r\n\
Date: Mon, 04 May 2026 10:15:42 GMT\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 13\r\n\
Connection: keep-alive\r\n\
\r\n\
Hello, world!";

/// The body length `SMALL_RESPONSE` declares.
pub const SMALL_BODY_LEN: usize = 13;

/// The request every client sends; the same fields for envoi and hyper so both encode the
/// same head.
pub const HOST: &str = "127.0.0.1:8080";
pub const TARGET: &str = "/bytes";
pub const USER_AGENT: &str = "envoi-bench";

/// The size of one simulated socket read, and of the reader's destination buffer.
pub const READ_SIZE: usize = 64 * 1024;

/// One large response in both framings. Leaked so hyper's `'static` IO can serve them
/// without a copy; the process lives exactly as long as it needs them.
pub struct LargeWires {
    /// The body alone (a slice of `length`, not a copy).
    pub body: &'static [u8],
    /// Head with `Transfer-Encoding: chunked`, then the body in `chunk`-sized chunks.
    pub chunked: &'static [u8],
    /// Head with `Content-Length`, then the body.
    pub length: &'static [u8],
}

const LARGE_HEAD_START: &str = "HTTP/1.1 200 OK\r\n\
Server: nginx/1.26.2\r\n\
Date: Mon, 04 May 2026 10:15:42 GMT\r\n\
Content-Type: application/octet-stream\r\n";

impl LargeWires {
    pub fn build(body_len: usize, chunk: usize) -> LargeWires {
        let head = format!("{LARGE_HEAD_START}Content-Length: {body_len}\r\n\r\n");
        let mut length = Vec::with_capacity(head.len() + body_len);
        length.extend_from_slice(head.as_bytes());
        fill_pseudo_random(&mut length, body_len);
        let length: &'static [u8] = Vec::leak(length);
        let body = &length[head.len()..];

        let head = format!("{LARGE_HEAD_START}Transfer-Encoding: chunked\r\n\r\n");
        let framing = body_len.div_ceil(chunk) * 16 + 5;
        let mut chunked = Vec::with_capacity(head.len() + body_len + framing);
        chunked.extend_from_slice(head.as_bytes());
        for piece in body.chunks(chunk) {
            chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            chunked.extend_from_slice(piece);
            chunked.extend_from_slice(b"\r\n");
        }
        chunked.extend_from_slice(b"0\r\n\r\n");
        LargeWires {
            body,
            chunked: Vec::leak(chunked),
            length,
        }
    }
}

/// Appends `len` bytes of xorshift output: every page distinct and written, so no run
/// measures zero pages or page faults, and no byte pattern helps a scanner.
fn fill_pseudo_random(out: &mut Vec<u8>, len: usize) {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let end = out.len() + len;
    while out.len() < end {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let take = (end - out.len()).min(8);
        out.extend_from_slice(&x.to_le_bytes()[..take]);
    }
}
