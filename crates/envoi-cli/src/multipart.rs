//! `-F`/`--form` and `--form-string`: a multipart/form-data body laid out byte for byte as
//! curl lays it out (same boundary shape and length, same part headers), so the two tools
//! send bodies of the same size.

use std::path::Path;

use envoi::multipart::{media_type_for, Form, Part};

use crate::data::read_file_or_stdin;
use crate::error::CliError;

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

/// Builds the body from the arguments in command-line order, laid out by the library's
/// [`Form`] (curl's layout). Files are read now: `-F` also reads stdin (`@-`), and the
/// trace and `Expect` decisions look at the whole body.
pub fn build(args: &[(FormKind, String)]) -> Result<Multipart, CliError> {
    let mut form = Form::new();
    for (kind, arg) in args {
        let (name, part) = parse(*kind, arg)?;
        form = form.part(name, part);
    }
    let body = form
        .to_vec()
        .map_err(|e| CliError::code(crate::exit_code::READ_ERROR, format!("{e:#}")))?;
    Ok(Multipart {
        body,
        content_type: form.content_type(),
    })
}

fn parse(kind: FormKind, arg: &str) -> Result<(String, Part), CliError> {
    let Some((name, value)) = arg.split_once('=') else {
        return Err(CliError::usage(format!(
            "option -F: is badly used here (`{arg}` has no `=`)"
        )));
    };
    if kind == FormKind::Literal {
        return Ok((name.to_owned(), Part::text(value)));
    }
    let (first, params) = split_params(value);
    let mut content_type = None;
    let mut filename = None;
    let mut headers = Vec::new();
    for param in params {
        let (key, val) = param.split_once('=').unwrap_or((param.as_str(), ""));
        match key.trim() {
            "type" => content_type = Some(val.trim().to_owned()),
            "filename" => filename = Some(unquote(val.trim())),
            "headers" => headers.push(unquote(val.trim())),
            other => {
                return Err(CliError::usage(format!(
                    "option -F: unknown parameter `{other}` in `{arg}`"
                )))
            }
        }
    }
    let content = if let Some(path) = first.strip_prefix('@') {
        let path = unquote(path);
        if filename.is_none() && path != "-" {
            let base = Path::new(&path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.clone());
            filename = Some(base);
        }
        if content_type.is_none() {
            let by_name = filename.as_deref().unwrap_or("");
            content_type = Some(media_type_for(by_name).to_owned());
        }
        read_form_file(&path)?
    } else if let Some(path) = first.strip_prefix('<') {
        read_form_file(&unquote(path))?
    } else {
        unquote(&first).into_bytes()
    };
    let bad = |e: envoi::Error| CliError::usage(format!("option -F: {e} in `{arg}`"));
    let mut part = Part::bytes(content);
    if let Some(filename) = filename {
        part = part.file_name(filename);
    }
    if let Some(content_type) = content_type {
        part = part.mime_str(&content_type).map_err(bad)?;
    }
    for header in headers {
        let Some((field, text)) = header.split_once(':') else {
            return Err(CliError::usage(format!(
                "option -F: header `{header}` has no `:` in `{arg}`"
            )));
        };
        part = part.header(field.trim(), text.trim()).map_err(bad)?;
    }
    Ok((name.to_owned(), part))
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
        let bad_type = build(&[(FormKind::Form, "f=x;type=text/plain\rX".into())]);
        assert_eq!(bad_type.unwrap_err().exit_code(), 2);
        let bad_header = build(&[(FormKind::Form, "f=x;headers=no-colon".into())]);
        assert_eq!(bad_header.unwrap_err().exit_code(), 2);
    }
}
