//! Limits on what the peer may make the connection buffer, with safe defaults.

/// Default for [`Limits::max_head_size`]: 64 KiB, as DESIGN.md and most servers use.
pub const DEFAULT_MAX_HEAD_SIZE: usize = 64 * 1024;
/// Default for [`Limits::max_headers`].
pub const DEFAULT_MAX_HEADERS: usize = 128;
/// Default for [`Limits::max_chunk_line`]: room for a 16-digit size and generous extensions.
pub const DEFAULT_MAX_CHUNK_LINE: usize = 4 * 1024;
/// Default for [`Limits::max_trailer_size`].
pub const DEFAULT_MAX_TRAILER_SIZE: usize = 16 * 1024;
/// Default for [`Limits::max_informational`]: more 1xx than this is a misbehaving server.
pub const DEFAULT_MAX_INFORMATIONAL: usize = 32;

/// Bounds on the bytes a response may make the connection hold. Exceeding one is a typed
/// error, never unbounded buffering.
///
/// ```
/// let mut limits = envoi_proto::Limits::default();
/// limits.max_headers = 16;
/// assert_eq!(limits.max_head_size, 64 * 1024);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest response head (status line, fields and the blank line), in bytes.
    pub max_head_size: usize,
    /// Most header fields in one response head; also bounds the trailer fields.
    pub max_headers: usize,
    /// Longest chunk-size line, extensions included, in bytes.
    pub max_chunk_line: usize,
    /// Largest trailer section, in bytes.
    pub max_trailer_size: usize,
    /// Most interim (1xx) responses before the final one.
    pub max_informational: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_size: DEFAULT_MAX_HEAD_SIZE,
            max_headers: DEFAULT_MAX_HEADERS,
            max_chunk_line: DEFAULT_MAX_CHUNK_LINE,
            max_trailer_size: DEFAULT_MAX_TRAILER_SIZE,
            max_informational: DEFAULT_MAX_INFORMATIONAL,
        }
    }
}
