//! From one group of arguments (between `--next`s) to a plan: the URLs with their outputs and
//! uploads, the method, the headers and the body, checked before anything is sent.

use std::path::PathBuf;

use clap::{ArgMatches, CommandFactory, FromArgMatches};

use crate::args::Args;
use crate::data::{self, DataKind, PostData};
use crate::error::CliError;
use crate::multipart::{self, FormKind};

/// Where one transfer's body goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputSpec {
    /// Standard output (no `-o`, or `-o -`).
    Stdout,
    /// `-o FILE`.
    File(PathBuf),
    /// `-O`: a file named after the URL's last path segment.
    RemoteName,
}

/// One URL to transfer.
#[derive(Debug, Clone)]
pub struct TransferSpec {
    /// The URL, with a scheme added when it had none and `-G` data appended.
    pub url: String,
    /// Where its body goes.
    pub output: OutputSpec,
    /// `-T`: a file to upload (`-` for stdin).
    pub upload: Option<String>,
    /// Its position among all URLs of the command line, from 0 (`%{urlnum}`).
    pub number: usize,
}

/// `-C`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// No resume.
    No,
    /// `-C -`: from the size of what is already there.
    Auto,
    /// `-C N`.
    At(u64),
}

/// The body all URLs of a group send (except those with `-T`).
#[derive(Debug, Clone, Default)]
pub enum RequestBody {
    /// None.
    #[default]
    None,
    /// `-d` and friends, `--json`, or `-F`, with the Content-Type it implies.
    Bytes {
        /// The bytes.
        bytes: Vec<u8>,
        /// The Content-Type sent unless `-H` sets one.
        content_type: String,
    },
}

/// Everything one group of arguments asks for.
#[derive(Debug)]
pub struct Group {
    /// The options as parsed.
    pub args: Args,
    /// The URLs, in order.
    pub transfers: Vec<TransferSpec>,
    /// The method to send.
    pub method: String,
    /// Headers to send, in order, as `(name, value)`; from `-H` and the options that imply
    /// headers (`-e`, `-b` strings, `--json`, data).
    pub headers: Vec<(String, String)>,
    /// Default headers `-H "Name:"` removes (lowercase).
    pub removed: Vec<String>,
    /// The body.
    pub body: RequestBody,
    /// `-C`.
    pub resume: Resume,
    /// `--limit-rate`, bytes per second.
    pub limit_rate: Option<u64>,
    /// `--max-filesize`, bytes.
    pub max_filesize: Option<u64>,
    /// Cookie files for `-b`.
    pub cookie_files: Vec<String>,
}

/// Parses one group; `first_number` is how many URLs earlier groups had.
pub fn parse_group(
    argv: Vec<String>,
    first_number: usize,
    warn: &mut dyn FnMut(String),
) -> Result<Group, CliError> {
    let matches = Args::command()
        .try_get_matches_from(argv)
        .map_err(clap_error)?;
    let args = Args::from_arg_matches(&matches).map_err(clap_error)?;
    build(args, &matches, first_number, warn)
}

fn build(
    args: Args,
    matches: &ArgMatches,
    first_number: usize,
    warn: &mut dyn FnMut(String),
) -> Result<Group, CliError> {
    let urls = ordered_strings(matches, &["urls", "url"]);
    let data_pieces: Vec<(DataKind, String)> = ordered_strings(
        matches,
        &[
            "data",
            "data_ascii",
            "data_binary",
            "data_raw",
            "data_urlencode",
            "json",
        ],
    )
    .into_iter()
    .map(|(id, value)| (data_kind(id), value))
    .collect();
    let post = data::join(&data_pieces, warn)?;
    let forms: Vec<(FormKind, String)> = ordered_strings(matches, &["form", "form_string"])
        .into_iter()
        .map(|(id, v)| {
            let kind = if id == "form" {
                FormKind::Form
            } else {
                FormKind::Literal
            };
            (kind, v)
        })
        .collect();

    check_methods(&args, post.is_some(), !forms.is_empty())?;
    let method = method(&args, post.is_some() || !forms.is_empty());

    let mut headers = Vec::new();
    let mut removed = Vec::new();
    for line in &args.header {
        header_lines(line, &mut headers, &mut removed)?;
    }
    let has = |headers: &[(String, String)], removed: &[String], name: &str| {
        headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
            || removed.iter().any(|n| n == name)
    };

    let mut body = RequestBody::None;
    let mut query = None;
    if let Some(PostData { bytes, json }) = post {
        if args.get {
            query = Some(String::from_utf8_lossy(&bytes).into_owned());
        } else {
            let content_type = if json {
                "application/json"
            } else {
                "application/x-www-form-urlencoded"
            };
            body = RequestBody::Bytes {
                bytes,
                content_type: content_type.to_owned(),
            };
        }
        if json && !has(&headers, &removed, "accept") {
            headers.push(("Accept".into(), "application/json".into()));
        }
    }
    if !forms.is_empty() {
        let form = multipart::build(&forms)?;
        body = RequestBody::Bytes {
            bytes: form.body,
            content_type: form.content_type,
        };
    }
    if let RequestBody::Bytes { content_type, .. } = &body {
        if !has(&headers, &removed, "content-type") {
            headers.push(("Content-Type".into(), content_type.clone()));
        }
    }
    if let Some(referer) = &args.referer {
        let referer = referer.trim_end_matches(";auto");
        if !referer.is_empty() && !has(&headers, &removed, "referer") {
            headers.push(("Referer".into(), referer.to_owned()));
        }
    }
    let (cookie_strings, cookie_files): (Vec<String>, Vec<String>) =
        args.cookie.iter().cloned().partition(|c| c.contains('='));
    if !cookie_strings.is_empty() && !has(&headers, &removed, "cookie") {
        headers.push(("Cookie".into(), cookie_strings.join("; ")));
    }

    let transfers = transfers(&args, matches, &urls, query.as_deref(), first_number)?;
    if transfers.is_empty() && !(args.serve || args.help || args.version) {
        return Err(CliError::usage("no URL specified!"));
    }
    let resume = match args.continue_at.as_deref() {
        None => Resume::No,
        Some("-") => Resume::Auto,
        Some(n) => Resume::At(n.parse().map_err(|_| numeric_error("-C, --continue-at"))?),
    };
    let limit_rate = args
        .limit_rate
        .as_deref()
        .map(|s| parse_size(s).ok_or_else(|| numeric_error("--limit-rate")))
        .transpose()?;
    let max_filesize = args
        .max_filesize
        .as_deref()
        .map(|s| parse_size(s).ok_or_else(|| numeric_error("--max-filesize")))
        .transpose()?;
    Ok(Group {
        args,
        transfers,
        method,
        headers,
        removed,
        body,
        resume,
        limit_rate,
        max_filesize,
        cookie_files,
    })
}

/// The values of several options, with their option id, in command-line order.
fn ordered_strings(matches: &ArgMatches, ids: &[&'static str]) -> Vec<(&'static str, String)> {
    let mut all: Vec<(usize, &'static str, String)> = Vec::new();
    for &id in ids {
        let (Ok(Some(values)), Some(indices)) =
            (matches.try_get_many::<String>(id), matches.indices_of(id))
        else {
            continue;
        };
        all.extend(
            indices
                .zip(values)
                .map(|(index, value)| (index, id, value.clone())),
        );
    }
    all.sort_by_key(|(index, _, _)| *index);
    all.into_iter().map(|(_, id, v)| (id, v)).collect()
}

fn data_kind(id: &str) -> DataKind {
    match id {
        "data_binary" => DataKind::Binary,
        "data_raw" => DataKind::Raw,
        "data_urlencode" => DataKind::UrlEncode,
        "json" => DataKind::Json,
        _ => DataKind::Ascii,
    }
}

/// curl refuses to mix options that each pick a method.
fn check_methods(args: &Args, data: bool, form: bool) -> Result<(), CliError> {
    let mut picked: Vec<&str> = Vec::new();
    if args.head {
        picked.push("HEAD (using -I)");
    }
    if data && !args.get {
        picked.push("POST (using -d)");
    }
    if form {
        picked.push("multipart formpost (using -F)");
    }
    if !args.upload_file.is_empty() {
        picked.push("PUT (using -T)");
    }
    if form && args.get {
        picked.push("GET (using -G)");
    }
    match picked.as_slice() {
        [a, b, ..] => Err(CliError::usage(format!(
            "You can only select one HTTP request method! You asked for both {b} and {a}."
        ))),
        _ => Ok(()),
    }
}

fn method(args: &Args, has_body: bool) -> String {
    if let Some(m) = &args.request {
        return m.clone();
    }
    if args.head {
        "HEAD".into()
    } else if args.get || !has_body {
        "GET".into()
    } else {
        "POST".into()
    }
}

/// One `-H` argument: `Name: value`, `Name:` (remove), `Name;` (empty value) or `@file`.
fn header_lines(
    arg: &str,
    headers: &mut Vec<(String, String)>,
    removed: &mut Vec<String>,
) -> Result<(), CliError> {
    if let Some(path) = arg.strip_prefix('@') {
        let bytes = data::read_file_or_stdin(path, "header file")
            .map_err(|_| CliError::usage(format!("Can't open '{path}'!")))?;
        let text = String::from_utf8_lossy(&bytes);
        for line in text.lines().map(|l| l.trim_end_matches('\r')) {
            if !line.trim().is_empty() {
                header_lines(line, headers, removed)?;
            }
        }
        return Ok(());
    }
    if let Some((name, value)) = arg.split_once(':') {
        let value = value.trim();
        if value.is_empty() {
            removed.push(name.trim().to_ascii_lowercase());
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name.trim()));
        } else {
            headers.push((name.trim().to_owned(), value.to_owned()));
        }
    } else if let Some(name) = arg.strip_suffix(';') {
        headers.push((name.trim().to_owned(), String::new()));
    } else {
        return Err(CliError::usage(format!(
            "option -H: header `{arg}` has no `:`"
        )));
    }
    Ok(())
}

fn transfers(
    args: &Args,
    matches: &ArgMatches,
    urls: &[(&str, String)],
    query: Option<&str>,
    first_number: usize,
) -> Result<Vec<TransferSpec>, CliError> {
    // -o and -O pair with URLs in order, whatever their positions.
    let mut outputs: Vec<(usize, OutputSpec)> = Vec::new();
    if let (Some(indices), Ok(Some(values))) = (
        matches.indices_of("output"),
        matches.try_get_many::<String>("output"),
    ) {
        for (i, v) in indices.zip(values) {
            let spec = if v == "-" {
                OutputSpec::Stdout
            } else {
                OutputSpec::File(PathBuf::from(v))
            };
            outputs.push((i, spec));
        }
    }
    if let Some(indices) = matches.indices_of("remote_name") {
        outputs.extend(indices.map(|i| (i, OutputSpec::RemoteName)));
    }
    outputs.sort_by_key(|(i, _)| *i);
    let mut outputs = outputs.into_iter().map(|(_, o)| o);
    let mut uploads = args.upload_file.iter();
    let mut specs = Vec::new();
    for (n, (_, raw)) in urls.iter().enumerate() {
        let default = if args.remote_name_all {
            OutputSpec::RemoteName
        } else {
            OutputSpec::Stdout
        };
        let mut url = with_scheme(raw);
        if let Some(q) = query {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(q);
        }
        specs.push(TransferSpec {
            url,
            output: outputs.next().unwrap_or(default),
            upload: uploads.next().cloned(),
            number: first_number + n,
        });
    }
    Ok(specs)
}

/// curl guesses `http://` for a URL without a scheme.
fn with_scheme(url: &str) -> String {
    if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    }
}

/// `100`, `10k`, `2M`, `1G` (powers of 1024, either case), as curl reads sizes and rates.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, factor) = match text.chars().last()?.to_ascii_lowercase() {
        'k' => (&text[..text.len() - 1], 1u64 << 10),
        'm' => (&text[..text.len() - 1], 1 << 20),
        'g' => (&text[..text.len() - 1], 1 << 30),
        c if c.is_ascii_digit() => (text, 1),
        _ => return None,
    };
    let value: f64 = digits.parse().ok().filter(|v: &f64| *v >= 0.0)?;
    Some((value * factor as f64) as u64)
}

fn numeric_error(option: &str) -> CliError {
    CliError::usage(format!(
        "option {option}: expected a proper numerical parameter"
    ))
}

/// clap's complaints in curl's words.
fn clap_error(e: clap::Error) -> CliError {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let arg = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.split(' ').next().unwrap_or(s).to_owned(),
        _ => String::new(),
    };
    let value_empty = matches!(
        e.get(ContextKind::InvalidValue),
        Some(ContextValue::String(v)) if v.is_empty()
    );
    match e.kind() {
        ErrorKind::UnknownArgument => CliError::usage(format!("option {arg}: is unknown")),
        ErrorKind::InvalidValue if value_empty => {
            CliError::usage(format!("option {arg}: requires parameter"))
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => CliError::usage(format!(
            "option {arg}: expected a proper numerical parameter"
        )),
        _ => {
            let text = e.to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("bad arguments")
                .trim_start_matches("error: ");
            CliError::usage(first.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(line: &str) -> Result<Group, CliError> {
        let argv = std::iter::once("envoi")
            .chain(line.split_whitespace())
            .map(str::to_owned)
            .collect();
        parse_group(argv, 0, &mut |_| {})
    }

    #[test]
    fn outputs_pair_with_urls_in_order() {
        let g = group("-s a -O b -o x.txt c --remote-name-all d").unwrap();
        let outs: Vec<_> = g.transfers.iter().map(|t| t.output.clone()).collect();
        assert_eq!(
            outs,
            vec![
                OutputSpec::RemoteName,
                OutputSpec::File("x.txt".into()),
                OutputSpec::RemoteName,
                OutputSpec::RemoteName
            ]
        );
        assert_eq!(g.transfers[0].url, "http://a");
        let g = group("-O a -O b c").unwrap();
        let outs: Vec<_> = g.transfers.iter().map(|t| t.output.clone()).collect();
        assert_eq!(
            outs,
            vec![
                OutputSpec::RemoteName,
                OutputSpec::RemoteName,
                OutputSpec::Stdout
            ]
        );
    }

    #[test]
    fn data_picks_post_and_get_moves_it_to_the_query() {
        let g = group("-d a=1 --data-urlencode b=x&y h/p").unwrap();
        assert_eq!(g.method, "POST");
        assert!(matches!(&g.body, RequestBody::Bytes { bytes, .. } if bytes == b"a=1&b=x%26y"));
        let g = group("-G -d a=1 h/p?z=0").unwrap();
        assert_eq!(g.method, "GET");
        assert_eq!(g.transfers[0].url, "http://h/p?z=0&a=1");
    }

    #[test]
    fn headers_add_remove_and_empty() {
        let g = group("-H X-A:1 -H Accept: -H X-Empty; --json {} u").unwrap();
        assert!(g.headers.contains(&("X-A".into(), "1".into())));
        assert!(g.headers.contains(&("X-Empty".into(), String::new())));
        assert_eq!(g.removed, vec!["accept".to_owned()]);
        assert!(
            !g.headers.iter().any(|(n, _)| n == "Accept"),
            "removed wins"
        );
        assert!(g
            .headers
            .contains(&("Content-Type".into(), "application/json".into())));
    }

    #[test]
    fn mistakes_are_usage_errors() {
        for bad in [
            "--bogus u",
            "-m abc u",
            "-o",
            "-I -d x u",
            "-C abc u",
            "--limit-rate fast u",
            "",
        ] {
            let e = group(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}: {e}");
        }
        let e = group("-m abc u").unwrap_err();
        assert!(e.to_string().contains("--max-time"), "{e}");
    }

    #[test]
    fn sizes_take_curl_suffixes() {
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("10k"), Some(10240));
        assert_eq!(parse_size("1.5M"), Some(1_572_864));
        assert_eq!(parse_size("x"), None);
    }
}
