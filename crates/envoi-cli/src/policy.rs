//! The library's policies as the command line sets them: redirects (`-L`, `--max-redirs`,
//! `--post30x`), cookies (`-b`, `-c`, `-j`), decoding (`--compressed`), the body limit
//! (`--max-filesize`), retries (`--retry*`) and credentials (`-u`, `--digest`, ...).

use std::io::{BufRead, Write};
use std::time::Duration;

use envoi::{Auth, ClientBuilder, CookieJar, RedirectPolicy, RetryPolicy};

use crate::client::DEFAULT_MAX_REDIRS;
use crate::error::CliError;
use crate::exit_code;
use crate::plan::Group;

/// Sets the client's policies from the group's options; returns the cookie jar in use, if
/// any, for `-c` to save.
pub fn apply(
    mut builder: ClientBuilder,
    group: &Group,
) -> Result<(ClientBuilder, Option<CookieJar>), CliError> {
    let args = &group.args;
    builder = builder.redirect(redirect_policy(group));
    let jar = cookie_jar(group)?;
    builder = match &jar {
        Some(jar) => builder.cookie_jar(jar.clone()),
        // curl has no cookie engine unless -b FILE or -c asks for one.
        None => builder.no_cookies(),
    };
    // curl asks for compressed content only with --compressed.
    builder = builder.decompress(args.compressed);
    builder = builder.max_body_size(group.max_filesize);
    if let Some(retries) = args.retry.filter(|&n| n > 0) {
        let mut retry = RetryPolicy::default().max_retries(retries);
        if let Some(delay) = args.retry_delay.filter(|&d| d > 0) {
            // curl waits the same delay before every retry when one is given.
            let delay = Duration::from_secs(delay);
            retry = retry.base_delay(delay).max_delay(delay);
        }
        if let Some(total) = args.retry_max_time.filter(|&t| t > 0) {
            retry = retry.max_total(Duration::from_secs(total));
        }
        builder = builder.retry(retry);
    }
    Ok((builder, jar))
}

/// The redirect limit `-L` follows: `--max-redirs` (-1 for no limit) or curl's 50.
pub fn max_redirects(group: &Group) -> usize {
    match group.args.max_redirs {
        None => DEFAULT_MAX_REDIRS,
        Some(n) if n < 0 => usize::MAX,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    }
}

fn redirect_policy(group: &Group) -> RedirectPolicy {
    let args = &group.args;
    let policy = if args.location {
        RedirectPolicy::default().max_redirects(max_redirects(group))
    } else {
        RedirectPolicy::none()
    };
    policy
        .post301(args.post301)
        .post302(args.post302)
        .post303(args.post303)
        .ignore_redirect_to_http(args.ignore_redirect_to_http)
        // `-e ';auto'` (alone or after a URL): each redirect names the URL it came from.
        .auto_referer(
            args.referer
                .as_deref()
                .is_some_and(|r| r.ends_with(";auto")),
        )
}

/// The jar when `-b FILE` or `-c` is given: the files' cookies (less session cookies with
/// `-j`); a file that does not exist yet starts an empty jar, as in curl.
fn cookie_jar(group: &Group) -> Result<Option<CookieJar>, CliError> {
    let args = &group.args;
    if group.cookie_files.is_empty() && args.cookie_jar.is_none() {
        return Ok(None);
    }
    let mut text = String::new();
    for path in &group.cookie_files {
        let Ok(file) = std::fs::File::open(path) else {
            continue;
        };
        for line in std::io::BufReader::new(file).lines() {
            let line = line.map_err(|e| CliError::read("cookie file", path, &e))?;
            if args.junk_session_cookies && is_session_cookie(&line) {
                continue;
            }
            text.push_str(&line);
            text.push('\n');
        }
    }
    let jar = CookieJar::load_netscape(text.as_bytes())
        .map_err(|e| CliError::code(exit_code::READ_ERROR, format!("reading cookies: {e:#}")))?;
    Ok(Some(jar))
}

/// A Netscape cookie line whose expiry field is 0.
fn is_session_cookie(line: &str) -> bool {
    let fields: Vec<&str> = line.split('\t').collect();
    fields.len() == 7 && fields[4].trim() == "0"
}

/// Writes the jar for `-c FILE` (`-` for stdout).
pub fn save_cookies(jar: &CookieJar, path: &str) -> Result<(), CliError> {
    let failed = |e: String| {
        CliError::code(
            exit_code::WRITE_ERROR,
            format!("WARNING: failed to save cookies in {path}: {e}"),
        )
    };
    let mut bytes = Vec::new();
    jar.save_netscape(&mut bytes)
        .map_err(|e| failed(format!("{e:#}")))?;
    if path == "-" {
        std::io::stdout()
            .write_all(&bytes)
            .map_err(|e| failed(e.to_string()))
    } else {
        std::fs::write(path, bytes).map_err(|e| failed(e.to_string()))
    }
}

/// The credentials `-u`, `--basic`, `--digest`, `--anyauth` and `--oauth2-bearer` ask for.
pub fn auth(group: &Group) -> Result<Option<Auth>, CliError> {
    let args = &group.args;
    if let Some(token) = &args.oauth2_bearer {
        return Ok(Some(Auth::bearer(token.clone())));
    }
    let Some(user) = &args.user else {
        return Ok(None);
    };
    let (name, password) = match user.split_once(':') {
        Some((n, p)) => (n.to_owned(), p.to_owned()),
        None => (user.clone(), prompt_password(user)?),
    };
    Ok(Some(if args.digest {
        Auth::digest(name, password)
    } else if args.anyauth {
        Auth::any(name, password)
    } else {
        Auth::basic(name, password)
    }))
}

/// Asks for the password on the terminal, echo off, as curl does for `-u user`. Without a
/// terminal the password is empty.
fn prompt_password(user: &str) -> Result<String, CliError> {
    let Ok(tty) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    else {
        return Ok(String::new());
    };
    let stty = |arg: &str| {
        let input = tty.try_clone().ok()?;
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(input)
            .status()
            .ok()
    };
    eprint!("Enter host password for user '{user}':");
    let _ = stty("-echo");
    let mut line = String::new();
    let read = std::io::BufReader::new(&tty).read_line(&mut line);
    let _ = stty("echo");
    eprintln!();
    read.map_err(|e| CliError::read("password from", "/dev/tty", &e))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookie_lines_are_recognised() {
        assert!(is_session_cookie("h\tFALSE\t/\tFALSE\t0\tn\tv"));
        assert!(!is_session_cookie("h\tFALSE\t/\tFALSE\t1999999999\tn\tv"));
        assert!(!is_session_cookie("# comment"));
    }
}
