//! envoi's URL parser: parse, join, read back, setters; see envoi's tests/fuzz_logic.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The logic is shared with the corpus replay test (crates/envoi/tests/url_corpus.rs).
#[path = "../../crates/envoi/tests/fuzz_logic/mod.rs"]
mod fuzz_logic;

fuzz_target!(|data: &[u8]| fuzz_logic::url(data));
