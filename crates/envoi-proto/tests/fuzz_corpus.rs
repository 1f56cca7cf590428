//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) and the regression inputs
//! (`fuzz/regressions/<target>/*.bin`) through the same logic the fuzz targets run
//! (`tests/fuzz_logic/mod.rs`), so every `cargo test` checks them without a nightly toolchain.

mod fuzz_logic;

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 3] = [
    ("response_head", fuzz_logic::response_head),
    ("chunked", fuzz_logic::chunked),
    ("split_equivalence", fuzz_logic::split_equivalence),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `dir`, sorted, without subdirectories or dotfiles.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            path.is_file()
                && !path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

/// Runs every input, collecting the ones that panic so one run names them all.
fn replay(name: &str, target: Target, inputs: &[PathBuf], failures: &mut Vec<String>) {
    for path in inputs {
        let data = fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        if panic::catch_unwind(AssertUnwindSafe(|| target(&data))).is_err() {
            failures.push(format!("{name}: {}", path.display()));
        }
    }
}

#[test]
fn corpus_and_regressions_replay_cleanly() {
    let fuzz = fuzz_dir();
    let mut failures = Vec::new();
    let mut total = 0;
    for (name, target) in TARGETS {
        let corpus = fuzz.join("corpus").join(name);
        assert!(
            corpus.is_dir(),
            "the corpus directory {} is missing",
            corpus.display()
        );
        let inputs = files(&corpus);
        assert!(
            !inputs.is_empty(),
            "the corpus directory {} is empty",
            corpus.display()
        );
        replay(name, target, &inputs, &mut failures);

        let regressions_dir = fuzz.join("regressions").join(name);
        let regressions: Vec<PathBuf> = if regressions_dir.is_dir() {
            files(&regressions_dir)
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "bin"))
                .collect()
        } else {
            Vec::new()
        };
        replay(name, target, &regressions, &mut failures);

        println!(
            "{name}: {} corpus inputs, {} regression inputs",
            inputs.len(),
            regressions.len()
        );
        total += inputs.len() + regressions.len();
    }
    println!("replayed {total} fuzz inputs");
    assert!(
        failures.is_empty(),
        "{} of {total} fuzz inputs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
