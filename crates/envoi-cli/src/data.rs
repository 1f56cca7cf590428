//! Request data from `-d`, `--data-ascii`, `--data-binary`, `--data-raw`, `--data-urlencode`
//! and `--json`, joined in command-line order as curl joins them.

use std::io::Read;

use crate::error::CliError;

/// Which option a piece of data came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataKind {
    /// `-d`/`--data`/`--data-ascii`: `@file` is read with CR and LF removed.
    Ascii,
    /// `--data-binary`: `@file` is read as it is.
    Binary,
    /// `--data-raw`: taken literally, `@` included.
    Raw,
    /// `--data-urlencode`: `[name][=|@]content`, the content percent-encoded.
    UrlEncode,
    /// `--json`: as `--data-binary`, joined without `&`, and JSON headers.
    Json,
}

/// The data of one transfer group.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PostData {
    /// The bytes, pieces joined.
    pub bytes: Vec<u8>,
    /// True when any piece came from `--json`.
    pub json: bool,
}

/// Joins the pieces in order: `&` between pieces, none before a `--json` piece that follows
/// another `--json` piece. Files named with `@` (and `@-` for stdin) are read here; one that
/// cannot be read gives a warning and no data, as in curl.
pub fn join(
    pieces: &[(DataKind, String)],
    warn: &mut dyn FnMut(String),
) -> Result<Option<PostData>, CliError> {
    if pieces.is_empty() {
        return Ok(None);
    }
    let mut data = PostData::default();
    let mut previous: Option<DataKind> = None;
    for (kind, value) in pieces {
        let bytes = piece(*kind, value).unwrap_or_else(|path| {
            warn(format!(
                "Warning: Couldn't read data from file \"{path}\", this makes an empty POST."
            ));
            Vec::new()
        });
        if let Some(prev) = previous {
            let glued = prev == DataKind::Json && *kind == DataKind::Json;
            if !glued {
                data.bytes.push(b'&');
            }
        }
        data.bytes.extend_from_slice(&bytes);
        data.json |= *kind == DataKind::Json;
        previous = Some(*kind);
    }
    Ok(Some(data))
}

/// One piece's bytes; `Err` names a file that could not be read.
fn piece(kind: DataKind, value: &str) -> Result<Vec<u8>, String> {
    match kind {
        DataKind::Raw => Ok(value.as_bytes().to_vec()),
        DataKind::Ascii => match value.strip_prefix('@') {
            Some(path) => {
                let mut bytes = read_data_file(path)?;
                bytes.retain(|&b| b != b'\r' && b != b'\n');
                Ok(bytes)
            }
            None => Ok(value.as_bytes().to_vec()),
        },
        DataKind::Binary | DataKind::Json => match value.strip_prefix('@') {
            Some(path) => read_data_file(path),
            None => Ok(value.as_bytes().to_vec()),
        },
        DataKind::UrlEncode => url_encode_piece(value),
    }
}

/// `--data-urlencode`: `content`, `=content`, `name=content`, `@file` or `name@file`.
fn url_encode_piece(value: &str) -> Result<Vec<u8>, String> {
    let split = value.find(['=', '@']);
    let (name, content) = match split {
        Some(i) if value.as_bytes()[i] == b'@' => {
            let bytes = read_data_file(&value[i + 1..])?;
            (&value[..i], bytes)
        }
        Some(i) => (&value[..i], value.as_bytes()[i + 1..].to_vec()),
        None => ("", value.as_bytes().to_vec()),
    };
    let encoded = encode_bytes(&content);
    let mut out = Vec::with_capacity(name.len() + 1 + encoded.len());
    if !name.is_empty() {
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
    }
    out.extend_from_slice(encoded.as_bytes());
    Ok(out)
}

/// Encodes bytes the way curl's `--data-urlencode` does: `A-Za-z0-9-._~` stay, a space
/// becomes `+`, every other byte `%xx` (lowercase hex).
pub fn encode_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02x}")),
        }
    }
    out
}

/// Percent-encodes a path segment (a space is `%20` there, not `+`).
pub fn encode_path(text: &str) -> String {
    encode_bytes(text.as_bytes()).replace('+', "%20")
}

fn read_data_file(path: &str) -> Result<Vec<u8>, String> {
    read_file_or_stdin(path, "data").map_err(|_| path.to_owned())
}

/// Reads a whole file, or stdin for `-`.
pub fn read_file_or_stdin(path: &str, what: &str) -> Result<Vec<u8>, CliError> {
    let mut bytes = Vec::new();
    let result = if path == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(path).map(|b| bytes = b)
    };
    result.map_err(|e| CliError::read(what, path, &e))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(pieces: &[(DataKind, &str)]) -> String {
        let owned: Vec<(DataKind, String)> =
            pieces.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        let data = join(&owned, &mut |w| panic!("{w}")).unwrap().unwrap();
        String::from_utf8(data.bytes).unwrap()
    }

    #[test]
    fn pieces_join_with_ampersands_and_json_glues() {
        assert_eq!(
            joined(&[(DataKind::Ascii, "a=1"), (DataKind::Raw, "@b=2")]),
            "a=1&@b=2"
        );
        assert_eq!(
            joined(&[(DataKind::Json, "{\"a\":"), (DataKind::Json, "1}")]),
            "{\"a\":1}"
        );
        assert!(join(&[], &mut |_| {}).unwrap().is_none());
    }

    #[test]
    fn urlencode_forms_follow_curl() {
        assert_eq!(joined(&[(DataKind::UrlEncode, "a b&c")]), "a+b%26c");
        assert_eq!(joined(&[(DataKind::UrlEncode, "=x=y")]), "x%3dy");
        assert_eq!(
            joined(&[(DataKind::UrlEncode, "name=café ~ok")]),
            "name=caf%c3%a9+~ok"
        );
        assert_eq!(encode_path("a b"), "a%20b");
    }

    #[test]
    fn files_are_read_with_or_without_newlines() {
        let dir = std::env::temp_dir().join(format!("envoi-data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("d.txt");
        std::fs::write(&file, "a=1\r\nb=2\n").unwrap();
        let at = format!("@{}", file.display());
        assert_eq!(joined(&[(DataKind::Ascii, &at)]), "a=1b=2");
        assert_eq!(joined(&[(DataKind::Binary, &at)]), "a=1\r\nb=2\n");
        let named = format!("v@{}", file.display());
        assert_eq!(
            joined(&[(DataKind::UrlEncode, &named)]),
            "v=a%3d1%0d%0ab%3d2%0a"
        );
        let missing = [(DataKind::Binary, "@/nonexistent/envoi".to_owned())];
        let mut warnings = Vec::new();
        let data = join(&missing, &mut |w| warnings.push(w)).unwrap().unwrap();
        assert!(data.bytes.is_empty());
        assert!(warnings[0].contains("/nonexistent/envoi"), "{warnings:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
