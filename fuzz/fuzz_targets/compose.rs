//! Fuzz target: compose conversion. Properties: what is accepted loads, plans and converts as
//! our own input, and no message carries a secret `content:` value (../../tests/props/compose.rs).
//! An input whose scratch file cannot be written (a full disk) is skipped, not a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/props/compose.rs"]
mod compose;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _written = compose::check(text);
    }
});
