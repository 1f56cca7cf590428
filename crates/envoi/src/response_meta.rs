//! What every front end's response says about itself apart from its body, written once: the
//! head as the caller sees it, the URL it answers, the redirects before it and the announced
//! body size. A response type holds a [`ResponseMeta`] in a field `meta`; invoking
//! [`response_meta_methods!`] inside its `impl` block gives it the public accessors.

use std::fmt;

use envoi_proto::ResponseHead;

use crate::policy::decode::strip_decoded_headers;
use crate::policy::download::body_size;
use crate::Url;

pub(crate) struct ResponseMeta {
    pub(crate) head: ResponseHead,
    pub(crate) url: Url,
    pub(crate) redirects: usize,
    /// The announced body size (None when chunked, close-delimited or decoded).
    pub(crate) size: Option<u64>,
}

impl ResponseMeta {
    /// The facts of a delivered response; `decoding` when its body is handed out decoded.
    pub(crate) fn new(
        mut head: ResponseHead,
        url: Url,
        redirects: usize,
        decoding: bool,
    ) -> ResponseMeta {
        let size = body_size(head.headers(), decoding);
        if decoding {
            // The caller sees the decoded body: its length and coding are no longer these.
            strip_decoded_headers(head.headers_mut());
        }
        ResponseMeta {
            head,
            url,
            redirects,
            size,
        }
    }

    /// The `Debug` form of a response named `name`.
    pub(crate) fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("url", &self.url.as_str())
            .field("status", &self.head.status())
            .field("version", &self.head.version())
            .field("headers", self.head.headers())
            .finish_non_exhaustive()
    }
}

/// Expands to the shared response accessors; see the module docs.
macro_rules! response_meta_methods {
    () => {
        /// The status code.
        pub fn status(&self) -> http::StatusCode {
            self.meta.head.status()
        }

        /// The HTTP version of the response.
        pub fn version(&self) -> http::Version {
            self.meta.head.version()
        }

        /// The reason phrase as sent.
        pub fn reason(&self) -> &str {
            self.meta.head.reason()
        }

        /// The header fields (without Content-Encoding and Content-Length when the body is
        /// decoded).
        pub fn headers(&self) -> &http::HeaderMap {
            self.meta.head.headers()
        }

        /// The header fields in the order and letter case they were received.
        pub fn raw_fields(&self) -> Vec<envoi_proto::RawField> {
            self.meta.head.fields()
        }

        /// The response head exactly as received (what `curl -i` prints).
        pub fn raw_head(&self) -> &bytes::Bytes {
            self.meta.head.raw()
        }

        /// The URL this response answers (after redirects).
        pub fn url(&self) -> &crate::Url {
            &self.meta.url
        }

        /// Redirects followed before this response.
        pub fn redirects(&self) -> usize {
            self.meta.redirects
        }

        /// The body length when the response announces it; `None` when it is chunked, runs to
        /// the connection's close, or is being decoded (Godot's `get_body_length` of −1).
        pub fn content_length(&self) -> Option<u64> {
            self.meta.size
        }

        /// True when the body is chunked.
        pub fn is_chunked(&self) -> bool {
            self.meta.head.framing().is_chunked()
        }
    };
}

pub(crate) use response_meta_methods;
