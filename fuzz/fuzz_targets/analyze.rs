//! Arbitrary bytes as a capture file: `report::analyze` returns `Ok` or
//! `Err`, never panics (input from outside never panics, see the crate's
//! `lib.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use streamlab_analyzer::report::{self, Filter};

fuzz_target!(|data: &[u8]| {
    let _ = report::analyze("fuzz", data, &Filter::default(), &mut |_| None);
});
