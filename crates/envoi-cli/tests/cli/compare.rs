//! The comparison list: every `tests/cases/<topic>/<behaviour>.toml` is run with envoi and
//! with curl, and their exit codes, stdout bytes and written files are compared after
//! normalisation (`support::normalize`). A case with `differs = "why"` is an intended
//! difference: both tools still run, envoi's own expectations are checked, and the
//! difference is listed in the summary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::support::{self, env, normalize, run, CURL, PROCESS_TIMEOUT};

/// One case file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// What the case shows.
    about: String,
    /// The arguments, with placeholders (`support::Env::placeholders`).
    args: Vec<String>,
    /// Bytes fed to stdin.
    #[serde(default)]
    stdin: Option<String>,
    /// Files created in the working directory first (placeholders expanded).
    #[serde(default)]
    files: BTreeMap<String, String>,
    /// Files the invocation writes, compared between the tools (a missing file is compared
    /// as missing).
    #[serde(default)]
    outputs: Vec<String>,
    /// The exit code envoi must return (and curl too, unless `differs`).
    exit: Option<i32>,
    /// JSON paths (`headers.Accept-Encoding`) left out of the comparison.
    #[serde(default)]
    json_ignore: Vec<String>,
    /// Text envoi's stderr must contain.
    #[serde(default)]
    stderr_contains: Option<String>,
    /// Why envoi differs from curl here, when it does on purpose.
    #[serde(default)]
    differs: Option<String>,
}

/// What one tool did on one case, normalised.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    code: Option<i32>,
    stdout: String,
    files: BTreeMap<String, Option<String>>,
}

fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

fn case_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            case_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

fn run_tool(tool: &Path, name: &str, case: &Case) -> (Seen, support::Outcome) {
    let env = env();
    let dir = env.scratch(name);
    for (file, text) in &case.files {
        let path = dir.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("case dir");
        }
        std::fs::write(path, env.expand(text)).expect("case file");
    }
    let args: Vec<String> = case.args.iter().map(|a| env.expand(a)).collect();
    let stdin = case.stdin.as_ref().map(|s| s.as_bytes());
    let outcome = run(tool, &args, &dir, stdin, PROCESS_TIMEOUT);
    let files = case
        .outputs
        .iter()
        .map(|f| {
            let content = std::fs::read(dir.join(f))
                .ok()
                .map(|b| normalize_file(&b, &case.json_ignore));
            (f.clone(), content)
        })
        .collect();
    let seen = Seen {
        code: outcome.code,
        stdout: normalize(&outcome.stdout, &case.json_ignore),
        files,
    };
    (seen, outcome)
}

/// Files are normalised like stdout; comment lines (a cookie jar's banner) are dropped.
fn normalize_file(bytes: &[u8], ignore: &[String]) -> String {
    normalize(bytes, ignore)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What one case came to: a summary line, whether it is an intended difference, and the
/// problems found.
struct Verdict {
    line: String,
    intended: bool,
    problems: Vec<String>,
}

fn check(file: &Path) -> Verdict {
    let rel = file
        .strip_prefix(cases_dir())
        .unwrap_or(file)
        .with_extension("")
        .display()
        .to_string();
    let text = std::fs::read_to_string(file).expect("case file");
    let case: Case = match toml::from_str(&text) {
        Ok(case) => case,
        Err(e) => {
            return Verdict {
                line: format!("{rel:<40} bad case file"),
                intended: false,
                problems: vec![format!("{rel}: bad case file: {e}")],
            }
        }
    };
    let key = rel.replace('/', "-");
    let (envoi, e_out) = run_tool(&support::envoi(), &format!("{key}-envoi"), &case);
    let (curl, c_out) = run_tool(Path::new(CURL), &format!("{key}-curl"), &case);
    let mut problems = Vec::new();
    if let Some(want) = case.exit {
        if envoi.code != Some(want) {
            problems.push(format!("envoi exited {:?}, want {want}", envoi.code));
        }
        if case.differs.is_none() && curl.code != Some(want) {
            problems.push(format!("curl exited {:?}, want {want}", curl.code));
        }
    }
    if let Some(needle) = &case.stderr_contains {
        if !e_out.stderr_text().contains(needle.as_str()) {
            problems.push(format!(
                "envoi's stderr lacks {needle:?}: {}",
                e_out.stderr_text()
            ));
        }
    }
    let same = envoi == curl;
    if case.differs.is_none() && !same {
        problems.push(format!(
            "envoi and curl differ\n  envoi: {envoi:?}\n  curl:  {curl:?}\n  \
             envoi stderr: {}\n  curl stderr: {}",
            e_out.stderr_text(),
            c_out.stderr_text()
        ));
    }
    let verdict = match (&case.differs, same, problems.is_empty()) {
        (_, _, false) => "FAIL".to_owned(),
        (Some(why), false, true) => format!("differs as intended: {why}"),
        (Some(why), true, true) => format!("same (difference noted: {why})"),
        (None, _, true) => "same".to_owned(),
    };
    Verdict {
        line: format!(
            "{rel:<40} envoi {:>4} curl {:>4}  {verdict}  -- {}",
            fmt_code(envoi.code),
            fmt_code(curl.code),
            case.about
        ),
        intended: case.differs.is_some(),
        problems: problems
            .into_iter()
            .map(|p| format!("{rel}: {p}"))
            .collect(),
    }
}

/// Cases run on this many threads at once.
const WORKERS: usize = 4;

#[test]
fn envoi_and_curl_agree_on_the_comparison_list() {
    assert!(
        Path::new(CURL).exists(),
        "{CURL} is needed for the comparison (apt-get install curl)"
    );
    let mut files = Vec::new();
    case_files(&cases_dir(), &mut files);
    files.sort();
    assert!(files.len() >= 40, "only {} cases", files.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let verdicts: std::sync::Mutex<Vec<(usize, Verdict)>> = Default::default();
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(file) = files.get(i) else { break };
                let verdict = check(file);
                verdicts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((i, verdict));
            });
        }
    });
    let mut verdicts = verdicts.into_inner().unwrap_or_else(|e| e.into_inner());
    verdicts.sort_by_key(|(i, _)| *i);
    let intended = verdicts.iter().filter(|(_, v)| v.intended).count();
    let summary: Vec<&str> = verdicts.iter().map(|(_, v)| v.line.as_str()).collect();
    eprintln!(
        "comparison list: {} cases, {} intended differences\n{}",
        files.len(),
        intended,
        summary.join("\n")
    );
    let failures: Vec<&String> = verdicts.iter().flat_map(|(_, v)| &v.problems).collect();
    let failures: Vec<&str> = failures.iter().map(|s| s.as_str()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn fmt_code(code: Option<i32>) -> String {
    code.map_or("kill".into(), |c| c.to_string())
}
