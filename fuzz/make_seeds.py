#!/usr/bin/env python3
"""Writes the hand-written seeds into fuzz/corpus/<target>/seed-<name>.

Every input starts with two bytes: the split seed (0 whole, 1 byte by byte, others pieces of
pseudo-random sizes) and the flags (bits 0-1 limits preset: 0 default, 1 small, 2 tiny,
3 medium; bit 2 receive_with; bit 3 direct body reads; bit 4 misuse probes). The rest is the
response (for `chunked`, the body after a fixed `Transfer-Encoding: chunked` head). See
crates/envoi-proto/tests/fuzz_logic/mod.rs. Rerun after changing a seed; it only adds or
overwrites files named seed-*.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

WHOLE, BYTES, SMALL, LARGE = 0, 1, 3, 7  # split seeds
DEFAULT, LIM_SMALL, LIM_TINY, LIM_MEDIUM = 0, 1, 2, 3
RECV_WITH, DIRECT, PROBES = 4, 8, 16


def ok(body=b"hello", extra=b""):
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

RESPONSES = {
    # Content-Length
    "content-length": ok(),
    "content-length-zero": b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "content-length-repeated-equal": b"HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc",
    "content-length-differing": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "content-length-malformed": b"HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc",
    "content-length-overflow": b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
    "content-length-max": b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nabc",
    "content-length-truncated": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
    "content-length-extra-bytes": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabcdef",
    "keep-alive-two-responses": ok(b"one") + ok(b"two!"),
    "keep-alive-three-responses": ok(b"1") + b"HTTP/1.1 204 No Content\r\n\r\n" + ok(b"33", b"Connection: close\r\n"),
    # chunked
    "chunked": CHUNKED + b"5\r\nhello\r\n0\r\n\r\n",
    "chunked-extensions-trailers": CHUNKED
    + b"5;name=val\r\nhello\r\n6 ; x ; y=\"q\"\r\n world\r\n0;last\r\nX-Sum: 42\r\nX-More: a\r\n\r\n",
    "chunked-then-next-response": CHUNKED + b"3\r\nabc\r\n0\r\n\r\n" + ok(b"next"),
    "chunked-gzip-chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    "chunked-twice": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "transfer-encoding-gzip-close-delimited": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw until close",
    "transfer-encoding-empty": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\r\n\r\n",
    "bad-chunk-size-hex": CHUNKED + b"zz\r\nhello\r\n0\r\n\r\n",
    "bad-chunk-size-overflow": CHUNKED + b"10000000000000000\r\n",
    "bad-chunk-size-negative": CHUNKED + b"-5\r\nhello\r\n",
    "bad-chunk-size-bare-lf": CHUNKED + b"5\nhello\r\n0\r\n\r\n",
    "bad-chunk-too-long": CHUNKED + b"2\r\nabc\r\n0\r\n\r\n",
    "chunked-truncated": CHUNKED + b"5\r\nhel",
    # interim responses
    "continue-then-200": b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"ok"),
    "early-hints-then-200": b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n"
    + b"HTTP/1.1 103 Early Hints\r\nLink: </app.js>; rel=preload\r\n\r\n"
    + ok(b"<html>"),
    "many-interim": b"HTTP/1.1 100 Continue\r\n\r\n" * 40 + ok(),
    "unexpected-101": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nws",
    # empty bodies
    "no-content-204": b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
    "not-modified-304": b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\nETag: \"x\"\r\n\r\n",
    "empty-body-then-next": b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" + b"HTTP/1.1 304 Not Modified\r\n\r\n",
    # close-delimited and versions
    "close-delimited": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nthe body runs until the close",
    "connection-close": ok(b"bye", b"Connection: close\r\n"),
    "http10": b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc",
    "http10-keep-alive": b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc",
    "http10-close-delimited": b"HTTP/1.0 200 OK\r\n\r\nuntil close",
    "http10-transfer-encoding": b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
    "transfer-encoding-and-content-length": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    # head syntax
    "obsolete-line-folding": b"HTTP/1.1 200 OK\r\nX-Folded: first\r\n second\r\n\tthird\r\nContent-Length: 1\r\n\r\nx",
    "bare-lf-head": b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    "leading-blank-lines": b"\r\n\n\r\n" + ok(),
    "no-reason-phrase": b"HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx",
    "status-out-of-range": b"HTTP/1.1 099 Low\r\n\r\n",
    "malformed-status-line": b"HTTP/2 200 OK\r\n\r\n",
    "malformed-header-name": b"HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n",
    "header-value-control": b"HTTP/1.1 200 OK\r\nX-A: a\x01b\r\n\r\n",
    "truncated-head": b"HTTP/1.1 200 OK\r\nContent-Le",
    "closed-before-response": b"",
    "many-headers": b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(140)) + b"Content-Length: 0\r\n\r\n",
    "huge-head-small-limits": b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 600 + b"\r\n\r\n",
}

# Heads the libFuzzer runs cannot reach with -max_len=8192 and default limits; replayed by
# `cargo test` only (libFuzzer truncates them).
REPLAY_ONLY = {
    "huge-head-default-limits": b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
    "huge-head-no-end": b"HTTP/1.1 200 OK\r\nX-Big: " + b"b" * 66_000,
}

CHUNKED_BODIES = {
    "simple": b"5\r\nhello\r\n0\r\n\r\n",
    "extensions": b"5;name=val\r\nhello\r\n6 ; x\r\n world\r\n0\r\n\r\n",
    "extension-quoted": b"3;a=\"b;c\"\r\nabc\r\n0\r\n\r\n",
    "trailers": b"3\r\nabc\r\n0\r\nX-Sum: 42\r\nX-More: a\r\n\r\n",
    "trailer-folded": b"1\r\na\r\n0\r\nX-A: one\r\n two\r\n\r\n",
    "trailer-malformed": b"1\r\na\r\n0\r\nBad Name: x\r\n\r\n",
    "trailers-large": b"0\r\nX-Big: " + b"t" * 300 + b"\r\n\r\n",
    "leading-zeros": b"00000000000000000001\r\na\r\n0\r\n\r\n",
    "uppercase-hex": b"A\r\n0123456789\r\n0\r\n\r\n",
    "large-chunk": b"7d0\r\n" + bytes(range(256)) * 7 + b"x" * 208 + b"\r\n0\r\n\r\n",
    "many-chunks": b"".join(b"1\r\n%c\r\n" % (65 + i % 26) for i in range(100)) + b"0\r\n\r\n",
    "bad-size-hex": b"zz\r\n",
    "bad-size-empty": b"\r\n",
    "bad-size-bare-lf": b"5\nhello\r\n",
    "bad-size-space-junk": b"5 x\r\nhello\r\n",
    "bad-size-negative": b"-5\r\n",
    "bad-size-overflow": b"10000000000000000\r\n",
    "bad-extension-control": b"5;a\x01\r\nhello\r\n0\r\n\r\n",
    "chunk-line-too-long": b"1;" + b"x" * 5000 + b"\r\na\r\n0\r\n\r\n",
    "data-longer-than-size": b"2\r\nabc\r\n0\r\n\r\n",
    "data-bare-lf": b"3\r\nabc\n0\r\n\r\n",
    "bare-lf-after-last": b"0\r\n\n",
    "cr-junk-after-last": b"0\r\n\rX",
    "truncated-data": b"5\r\nhel",
    "truncated-no-last": b"3\r\nabc\r\n",
    "truncated-trailers": b"0\r\nX-A: b\r\n",
    "next-response": b"2\r\nhi\r\n0\r\n\r\n" + ok(b"next"),
    "next-response-chunked": b"2\r\nhi\r\n0\r\n\r\n" + CHUNKED + b"1\r\n!\r\n0\r\n\r\n",
}


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# Responses whose split matters most: also seeded byte by byte, with every feed path.
SPLIT_SENSITIVE = {
    "keep-alive-two-responses", "keep-alive-three-responses", "chunked-extensions-trailers",
    "chunked-then-next-response", "continue-then-200", "early-hints-then-200",
    "empty-body-then-next", "close-delimited", "obsolete-line-folding", "bare-lf-head",
    "leading-blank-lines", "transfer-encoding-and-content-length", "content-length-truncated",
    "chunked-truncated", "truncated-head",
}


def main():
    for name, response in RESPONSES.items():
        flags = LIM_SMALL if name.startswith("huge-head") or name == "many-headers" else DEFAULT
        write("response_head", name, bytes([WHOLE, flags]) + response)
        if name in SPLIT_SENSITIVE:
            write("response_head", name + "-bytes",
                  bytes([BYTES, flags | RECV_WITH | DIRECT | PROBES]) + response)
        write("split_equivalence", name, bytes([SMALL, flags | RECV_WITH | DIRECT]) + response)
    for name, response in REPLAY_ONLY.items():
        write("response_head", name, bytes([WHOLE, DEFAULT]) + response)
        write("split_equivalence", name, bytes([LARGE, DEFAULT]) + response)
    for name, body in CHUNKED_BODIES.items():
        write("chunked", name, bytes([WHOLE, DEFAULT]) + body)
        write("chunked", name + "-direct", bytes([SMALL, RECV_WITH | DIRECT | PROBES]) + body)
    for name in ("extensions", "trailers", "large-chunk", "next-response", "chunk-line-too-long"):
        write("chunked", name + "-bytes-tiny",
              bytes([BYTES, LIM_TINY | RECV_WITH | DIRECT]) + CHUNKED_BODIES[name])
    # The limit presets on a few inputs.
    for preset, lim in (("small", LIM_SMALL), ("tiny", LIM_TINY), ("medium", LIM_MEDIUM)):
        write("response_head", "limits-" + preset + "-interim",
              bytes([LARGE, lim]) + b"HTTP/1.1 100 Continue\r\n\r\n" * 3 + ok())
        write("response_head", "limits-" + preset + "-trailers",
              bytes([SMALL, lim | DIRECT]) + CHUNKED + b"1\r\na\r\n0\r\nX-T: " + b"v" * 40 + b"\r\n\r\n")


if __name__ == "__main__":
    main()
