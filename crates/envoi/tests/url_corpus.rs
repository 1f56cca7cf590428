//! Replays the committed corpus of the `url` fuzz target (`fuzz/corpus/url/`) through the
//! logic the target runs (`tests/fuzz_logic/mod.rs`), on the stable toolchain.

mod fuzz_logic;

use std::fs;
use std::path::Path;

#[test]
fn url_corpus_replays_cleanly() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/url");
    let mut inputs: Vec<_> = fs::read_dir(&corpus)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", corpus.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 10,
        "only {} inputs in {}",
        inputs.len(),
        corpus.display()
    );
    for path in inputs {
        let data = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        fuzz_logic::url(&data);
    }
}
