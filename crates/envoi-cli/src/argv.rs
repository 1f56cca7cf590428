//! What clap cannot do alone: `-K`/`--config` files spliced into the command line where they
//! appear, and `-:`/`--next` splitting it into groups that each have their own options.
//!
//! The tokens are walked with clap's own knowledge of which options take a value, so a `-K`
//! or `--next` that is the value of another option (`-d --next`) stays a value.

use std::collections::HashSet;
use std::io::Read;

use clap::CommandFactory;

use crate::args::Args;
use crate::error::CliError;

/// How deep `-K` files may include each other.
const MAX_CONFIG_DEPTH: usize = 10;

/// Which options take a value, by long name and by short letter.
struct ValueOptions {
    long: HashSet<String>,
    short: HashSet<char>,
    known_long: HashSet<String>,
}

impl ValueOptions {
    fn new() -> Self {
        let cmd = Args::command();
        let mut v = ValueOptions {
            long: HashSet::new(),
            short: HashSet::new(),
            known_long: HashSet::new(),
        };
        for arg in cmd.get_arguments() {
            // `-O` appends a value without reading one (`num_args = 0`).
            let takes = arg.get_action().takes_values()
                && arg.get_num_args().is_none_or(|n| n.max_values() != 0);
            if let Some(long) = arg.get_long() {
                v.known_long.insert(long.to_owned());
                if takes {
                    v.long.insert(long.to_owned());
                }
            }
            if let (Some(short), true) = (arg.get_short(), takes) {
                v.short.insert(short);
            }
        }
        v
    }
}

/// The command line as groups of arguments, one per `--next` section, with every `-K` file
/// expanded in place. Each group starts with the program name, ready for clap.
pub fn split(args: Vec<String>) -> Result<Vec<Vec<String>>, CliError> {
    let options = ValueOptions::new();
    let mut groups = vec![Vec::new()];
    walk(&options, args, &mut groups, 0)?;
    Ok(groups
        .into_iter()
        .map(|g| std::iter::once("envoi".to_owned()).chain(g).collect())
        .collect())
}

fn walk(
    options: &ValueOptions,
    tokens: Vec<String>,
    groups: &mut Vec<Vec<String>>,
    depth: usize,
) -> Result<(), CliError> {
    let mut it = tokens.into_iter();
    while let Some(token) = it.next() {
        let current = groups.len() - 1;
        if let Some(long) = token.strip_prefix("--") {
            if long.is_empty() {
                // `--`: everything after it is a URL.
                groups[current].push(token);
                groups[current].extend(it.by_ref());
                break;
            }
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (long.to_owned(), None),
            };
            match name.as_str() {
                "next" => groups.push(Vec::new()),
                "config" => {
                    let file = take_value(inline, &mut it, "--config")?;
                    include(options, &file, groups, depth)?;
                }
                _ if options.long.contains(&name) && inline.is_none() => {
                    groups[current].push(token);
                    if let Some(value) = it.next() {
                        groups[current].push(value);
                    }
                }
                _ => groups[current].push(token),
            }
        } else if token.len() > 1 && token.starts_with('-') {
            let chars: Vec<char> = token.chars().skip(1).collect();
            let mut kept = String::from("-");
            let mut i = 0;
            while i < chars.len() {
                let c = chars[i];
                let rest: String = chars[i + 1..].iter().collect();
                match c {
                    ':' => {
                        flush(&mut kept, &mut groups[current]);
                        groups.push(Vec::new());
                    }
                    'K' => {
                        let last = groups.len() - 1;
                        flush(&mut kept, &mut groups[last]);
                        let inline = (!rest.is_empty()).then_some(rest);
                        let file = take_value(inline, &mut it, "-K")?;
                        include(options, &file, groups, depth)?;
                        break;
                    }
                    c if options.short.contains(&c) => {
                        kept.push(c);
                        let group = groups.len() - 1;
                        if rest.is_empty() {
                            flush(&mut kept, &mut groups[group]);
                            if let Some(value) = it.next() {
                                groups[group].push(value);
                            }
                        } else {
                            kept.push_str(&rest);
                            flush(&mut kept, &mut groups[group]);
                        }
                        break;
                    }
                    c => kept.push(c),
                }
                i += 1;
            }
            let last = groups.len() - 1;
            flush(&mut kept, &mut groups[last]);
        } else {
            groups[current].push(token);
        }
    }
    Ok(())
}

/// Moves a pending `-abc` cluster into the group.
fn flush(kept: &mut String, group: &mut Vec<String>) {
    if kept.len() > 1 {
        group.push(std::mem::replace(kept, String::from("-")));
    }
}

fn take_value(
    inline: Option<String>,
    it: &mut impl Iterator<Item = String>,
    option: &str,
) -> Result<String, CliError> {
    inline
        .or_else(|| it.next())
        .ok_or_else(|| CliError::usage(format!("option {option}: requires parameter")))
}

fn include(
    options: &ValueOptions,
    file: &str,
    groups: &mut Vec<Vec<String>>,
    depth: usize,
) -> Result<(), CliError> {
    if depth >= MAX_CONFIG_DEPTH {
        return Err(CliError::usage(format!(
            "config file {file}: included more than {MAX_CONFIG_DEPTH} levels deep"
        )));
    }
    let text = read_config(file)?;
    let tokens = parse_config(&text, options)?;
    walk(options, tokens, groups, depth + 1)
}

fn read_config(file: &str) -> Result<String, CliError> {
    let mut bytes = Vec::new();
    let result = if file == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(file).map(|b| bytes = b)
    };
    result.map_err(|e| CliError::usage(format!("cannot read config from '{file}': {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Turns curl's config-file syntax into command-line tokens: one option per line, written
/// `--name value`, `name = value`, `name: value` or `-x value`; values may be quoted with
/// `"` and then use `\"`, `\\`, `\t`, `\n`, `\r`, `\v`; `#` starts a comment line.
fn parse_config(text: &str, options: &ValueOptions) -> Result<Vec<String>, CliError> {
    let mut tokens = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let end = line
            .find(|c: char| c.is_whitespace() || c == '=' || c == ':')
            .unwrap_or(line.len());
        let (name, rest) = line.split_at(end);
        // A short option keeps its dash; a long one may be written with or without `--`.
        let option = if name.starts_with("--") || (name.starts_with('-') && name.len() == 2) {
            name.to_owned()
        } else {
            format!("--{}", name.trim_start_matches('-'))
        };
        let takes_value = match option.strip_prefix("--") {
            Some(long) => {
                if !options.known_long.contains(long) {
                    return Err(CliError::usage(format!(
                        "config line {}: option {option}: is unknown",
                        n + 1
                    )));
                }
                options.long.contains(long) || long == "config"
            }
            None => option
                .chars()
                .nth(1)
                .is_some_and(|c| options.short.contains(&c) || c == 'K'),
        };
        tokens.push(option.clone());
        if takes_value {
            let rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '=' || c == ':');
            let value = config_value(rest).map_err(|why| {
                CliError::usage(format!("config line {}: option {option}: {why}", n + 1))
            })?;
            tokens.push(value);
        }
    }
    Ok(tokens)
}

/// One value: quoted with escapes, or up to the first whitespace.
fn config_value(rest: &str) -> Result<String, &'static str> {
    let Some(quoted) = rest.strip_prefix('"') else {
        return Ok(rest.split_whitespace().next().unwrap_or("").to_owned());
    };
    let mut value = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Ok(value),
            '\\' => match chars.next() {
                Some('t') => value.push('\t'),
                Some('n') => value.push('\n'),
                Some('r') => value.push('\r'),
                Some('v') => value.push('\u{b}'),
                Some(other) => value.push(other),
                None => break,
            },
            c => value.push(c),
        }
    }
    Err("unterminated quoted value")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn next_splits_into_groups_but_not_inside_a_value() {
        let groups = split(args("-s a --next -d --next b -: c")).unwrap();
        assert_eq!(groups.len(), 3, "{groups:?}");
        assert_eq!(groups[0], args("envoi -s a"));
        assert_eq!(groups[1], args("envoi -d --next b"));
        assert_eq!(groups[2], args("envoi c"));
    }

    #[test]
    fn short_clusters_with_values_are_kept_whole() {
        let groups = split(args("-sSLo out.txt -ofile url")).unwrap();
        assert_eq!(groups[0], args("envoi -sSLo out.txt -ofile url"));
    }

    fn parse_config_text(text: &str) -> Result<Vec<String>, CliError> {
        parse_config(text, &ValueOptions::new())
    }

    #[test]
    fn config_lines_in_every_spelling() {
        let text = "# comment\n  silent\n--output out.txt\nurl = \"http://x/a b\"\n\
                    -H \"X-A: \\\"q\\\"\"\nmax-time: 5\n";
        let tokens = parse_config_text(text).unwrap();
        assert_eq!(
            tokens,
            vec![
                "--silent",
                "--output",
                "out.txt",
                "--url",
                "http://x/a b",
                "-H",
                "X-A: \"q\"",
                "--max-time",
                "5"
            ]
        );
        assert!(parse_config_text("bogus-option\n").is_err());
        assert!(parse_config_text("url = \"open\n").is_err());
    }

    #[test]
    fn config_files_are_spliced_where_they_appear() {
        let dir = std::env::temp_dir().join(format!("envoi-argv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("k.conf");
        std::fs::write(&file, "silent\nnext\nurl = b\n").unwrap();
        let path = file.to_string_lossy().into_owned();
        let groups = split(vec!["a".into(), "-K".into(), path, "-v".into()]).unwrap();
        assert_eq!(groups[0], args("envoi a --silent"));
        assert_eq!(groups[1], args("envoi --url b -v"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(split(args("-K /nonexistent/envoi.conf")).is_err());
    }
}
