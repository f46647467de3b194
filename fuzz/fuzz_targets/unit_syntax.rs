//! Fuzz target: unit-file syntax. Input starting with `!` is an exec line (split → join →
//! split round trip); anything else is a unit file (parse → render → parse round trip).
//! Properties: ../../tests/props/unit.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/props/unit.rs"]
mod unit;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match text.strip_prefix('!') {
        Some(line) => unit::check_exec_text(line),
        None => unit::check_unit_text(text),
    }
});
