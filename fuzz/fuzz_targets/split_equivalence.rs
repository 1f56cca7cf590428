//! The same response whole and in pieces must read the same; see fuzz_logic::split_equivalence.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The logic is shared with the corpus replay test (crates/envoi-proto/tests/fuzz_corpus.rs).
#[allow(dead_code)]
#[path = "../../crates/envoi-proto/tests/fuzz_logic/mod.rs"]
mod fuzz_logic;

fuzz_target!(|data: &[u8]| fuzz_logic::split_equivalence(data));
