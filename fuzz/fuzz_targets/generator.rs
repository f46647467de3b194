//! Fuzz target: the generator converting one unit of each kind with a drop-in, on disk.
//! Input: a first line `KIND NAME [user]`, then the unit, then `\n--- dropin ---\n` and the
//! drop-in. Properties: ../../tests/props/generator.rs (run it where an escape cannot harm:
//! fuzz/run-campaign.sh runs it in a mount namespace with / read-only).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/props/unit.rs"]
mod unit;

#[path = "../../tests/props/generator.rs"]
mod generator;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (head, rest) = text.split_once('\n').unwrap_or((text, ""));
    let (unit, dropin) = rest.split_once("\n--- dropin ---\n").unwrap_or((rest, ""));
    let mut words = head.split(' ');
    let kind = words.next().unwrap_or("");
    let name = words.next().unwrap_or("");
    let user = words.next() == Some("user");
    generator::check(&generator::Case {
        name,
        kind,
        unit,
        dropin,
        user,
    });
});
