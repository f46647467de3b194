//! Fuzz target: compose conversion. Property: what is accepted loads, plans and converts as
//! our own input (../../tests/props/compose.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/props/compose.rs"]
mod compose;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        compose::check(text);
    }
});
