//! A GET, then the input as its response in pieces; see fuzz_logic::response_head.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The logic is shared with the corpus replay test (crates/envoi-proto/tests/fuzz_corpus.rs).
#[allow(dead_code)]
#[path = "../../crates/envoi-proto/tests/fuzz_logic/mod.rs"]
mod fuzz_logic;

fuzz_target!(|data: &[u8]| fuzz_logic::response_head(data));
