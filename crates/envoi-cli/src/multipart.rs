//! `-F`/`--form` and `--form-string`: a multipart/form-data body laid out byte for byte as
//! curl lays it out (same boundary shape and length, same part headers), so the two tools
//! send bodies of the same size.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;

use crate::data::read_file_or_stdin;
use crate::error::CliError;

/// One `-F` argument, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    name: String,
    content: Vec<u8>,
    filename: Option<String>,
    content_type: Option<String>,
    headers: Vec<String>,
}

/// A finished body and the Content-Type that names its boundary.
#[derive(Debug, Clone)]
pub struct Multipart {
    /// The whole body.
    pub body: Vec<u8>,
    /// `multipart/form-data; boundary=...`.
    pub content_type: String,
}

/// Whether an argument came from `-F` (with `@file`, `<file` and `;type=`) or from
/// `--form-string` (taken literally).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormKind {
    /// `-F`.
    Form,
    /// `--form-string`.
    Literal,
}

/// Builds the body from the arguments in command-line order.
pub fn build(args: &[(FormKind, String)]) -> Result<Multipart, CliError> {
    let parts = args
        .iter()
        .map(|(kind, arg)| parse(*kind, arg))
        .collect::<Result<Vec<_>, _>>()?;
    let boundary = boundary();
    let mut body = Vec::new();
    for part in &parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!(
            "Content-Disposition: form-data; name=\"{}\"",
            escape(&part.name)
        );
        if let Some(filename) = &part.filename {
            disposition.push_str(&format!("; filename=\"{}\"", escape(filename)));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(content_type) = &part.content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        for header in &part.headers {
            body.extend_from_slice(format!("{header}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&part.content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok(Multipart {
        body,
        content_type: format!("multipart/form-data; boundary={boundary}"),
    })
}

fn parse(kind: FormKind, arg: &str) -> Result<Part, CliError> {
    let Some((name, value)) = arg.split_once('=') else {
        return Err(CliError::usage(format!(
            "option -F: is badly used here (`{arg}` has no `=`)"
        )));
    };
    let mut part = Part {
        name: name.to_owned(),
        content: Vec::new(),
        filename: None,
        content_type: None,
        headers: Vec::new(),
    };
    if kind == FormKind::Literal {
        part.content = value.as_bytes().to_vec();
        return Ok(part);
    }
    let (first, params) = split_params(value);
    for param in params {
        let (key, val) = param.split_once('=').unwrap_or((param.as_str(), ""));
        match key.trim() {
            "type" => part.content_type = Some(val.trim().to_owned()),
            "filename" => part.filename = Some(unquote(val.trim())),
            "headers" => part.headers.push(unquote(val.trim())),
            other => {
                return Err(CliError::usage(format!(
                    "option -F: unknown parameter `{other}` in `{arg}`"
                )))
            }
        }
    }
    if let Some(path) = first.strip_prefix('@') {
        let path = unquote(path);
        part.content = read_form_file(&path)?;
        if part.filename.is_none() && path != "-" {
            let base = Path::new(&path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.clone());
            part.filename = Some(base);
        }
        if part.content_type.is_none() {
            let by_name = part.filename.as_deref().unwrap_or("");
            part.content_type = Some(type_for(by_name).to_owned());
        }
    } else if let Some(path) = first.strip_prefix('<') {
        part.content = read_form_file(&unquote(path))?;
    } else {
        part.content = unquote(&first).into_bytes();
    }
    Ok(part)
}

fn read_form_file(path: &str) -> Result<Vec<u8>, CliError> {
    read_file_or_stdin(path, "form file").map_err(|_| {
        CliError::code(
            crate::exit_code::READ_ERROR,
            format!("Failed to open/read local data from file/application ('{path}')"),
        )
    })
}

/// Splits `value;type=x;filename=y` at the semicolons that are outside double quotes.
fn split_params(value: &str) -> (String, Vec<String>) {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in value.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ';' if !quoted => pieces.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    pieces.push(current);
    let first = pieces.remove(0);
    (first, pieces)
}

fn unquote(text: &str) -> String {
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => text.to_owned(),
    }
}

/// Quotes and backslashes in a name are escaped, as curl does.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// curl's table of content types by file extension.
fn type_for(filename: &str) -> &'static str {
    let lower = filename.to_ascii_lowercase();
    const TYPES: &[(&str, &str)] = &[
        (".gif", "image/gif"),
        (".jpg", "image/jpeg"),
        (".jpeg", "image/jpeg"),
        (".png", "image/png"),
        (".svg", "image/svg+xml"),
        (".txt", "text/plain"),
        (".htm", "text/html"),
        (".html", "text/html"),
        (".pdf", "application/pdf"),
        (".xml", "application/xml"),
    ];
    TYPES
        .iter()
        .find(|(ext, _)| lower.ends_with(ext))
        .map_or("application/octet-stream", |(_, t)| t)
}

/// 24 dashes and 16 random hex digits: curl's boundary, so body sizes match curl's.
fn boundary() -> String {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{}{:016x}", "-".repeat(24), hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_laid_out_as_curl_does() {
        let dir = std::env::temp_dir().join(format!("envoi-form-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.txt");
        std::fs::write(&file, "hello\n").unwrap();
        let args = vec![
            (FormKind::Form, "name=value".to_owned()),
            (FormKind::Form, format!("file=@{}", file.display())),
            (
                FormKind::Form,
                format!("f2=@{};type=text/x-foo;filename=b.bin", file.display()),
            ),
            (FormKind::Form, format!("t=<{}", file.display())),
            (FormKind::Literal, "lit=@not-a-file;type=x".to_owned()),
        ];
        let form = build(&args).unwrap();
        let boundary = form.content_type.rsplit('=').next().unwrap().to_owned();
        assert_eq!(boundary.len(), 40);
        let expected = "--B\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nvalue\r\n\
             --B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
             Content-Type: text/plain\r\n\r\nhello\n\r\n\
             --B\r\nContent-Disposition: form-data; name=\"f2\"; filename=\"b.bin\"\r\n\
             Content-Type: text/x-foo\r\n\r\nhello\n\r\n\
             --B\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\nhello\n\r\n\
             --B\r\nContent-Disposition: form-data; name=\"lit\"\r\n\r\n@not-a-file;type=x\r\n\
             --B--\r\n";
        assert_eq!(
            String::from_utf8(form.body).unwrap(),
            expected.replace('B', &boundary)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_arguments_are_refused() {
        assert_eq!(
            build(&[(FormKind::Form, "novalue".into())])
                .unwrap_err()
                .exit_code(),
            2
        );
        let missing = build(&[(FormKind::Form, "f=@/nonexistent/envoi".into())]);
        assert_eq!(missing.unwrap_err().exit_code(), 26);
        assert_eq!(type_for("x.PNG"), "image/png");
        assert_eq!(type_for("x.bin"), "application/octet-stream");
    }
}
