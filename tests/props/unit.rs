//! Properties of the unit-file syntax, shared by the fuzz targets (`fuzz/`) and the stable
//! property tests (`tests/prop_unit.rs`): one definition, two drivers (libFuzzer and proptest).
//!
//! * a parsed unit renders (as the generator writes) to text that parses back to the same
//!   groups, keys and values (no line injection through continuations), or is refused;
//! * words joined into an exec line split back to the same words (quoting round trip), also
//!   after the line went through a unit file.

// Each driver (fuzz target, property test) uses only part of this module.
#![allow(dead_code)]

use std::path::Path;

use quadplay::unit::split::split_exec;
use quadplay::unit::{join_cmdline, UnitFile};

/// The path units claim to come from in these checks.
pub const UNIT_PATH: &str = "/etc/containers/systemd/fuzz.container";

/// Every group with its `(key, value)` pairs, in file order: what a unit means. The unnamed
/// pseudo-group that holds comments before the first group means nothing when it is empty.
pub fn values(unit: &UnitFile) -> Vec<(String, Vec<(String, String)>)> {
    unit.groups()
        .filter(|g| !g.is_empty() || unit.entries(g).next().is_some())
        .map(|g| {
            let entries = unit
                .entries(g)
                .map(|(k, v)| (k.to_string(), v.value.clone()))
                .collect();
            (g.to_string(), entries)
        })
        .collect()
}

/// What the generator writes (`render_checked`) parses back to the same values; a unit it refuses (a value systemd would read back differently)
/// is reported by the generator instead of written. Returns whether the unit was writable.
pub fn check_render_reparses(unit: &UnitFile) -> bool {
    let Ok(rendered) = unit.render_checked() else {
        return false;
    };
    assert_eq!(rendered, unit.render(), "render_checked changed the text");
    let again = UnitFile::parse(unit.path(), &rendered)
        .unwrap_or_else(|e| panic!("rendered unit does not parse again: {e}\n---\n{rendered}"));
    assert_eq!(
        values(unit),
        values(&again),
        "rendered unit parses to other values\n---\n{rendered}"
    );
    true
}

/// Text that parses as a unit survives render → parse unchanged (in values).
pub fn check_unit_text(text: &str) {
    if let Ok(unit) = UnitFile::parse(Path::new(UNIT_PATH), text) {
        check_render_reparses(&unit);
    }
}

/// Quadlet's split stops at the first empty word (`a "" b` is `[a]`), a NUL cannot be written
/// in a unit file at all, and an empty `ExecStart=` resets the list: word lists with an empty
/// word or a NUL, and the empty list, are outside the round trip.
pub fn words_in_domain(words: &[String]) -> bool {
    !words.is_empty() && !words.iter().any(|w| w.is_empty() || w.contains('\0'))
}

/// `split_exec(join_cmdline(words)) == words`, directly and after the line was written as a
/// unit value (always writable) and read back.
pub fn check_words(words: &[String]) {
    if !words_in_domain(words) {
        return;
    }
    let line = join_cmdline(words);
    let split = split_exec(&line).unwrap_or_else(|e| panic!("{line:?} does not split: {e}"));
    assert_eq!(split, words, "exec line {line:?} splits to other words");
    let mut unit = UnitFile::new(Path::new(UNIT_PATH));
    unit.add("Service", "ExecStart", &line);
    unit.add("Service", "Environment", "AFTER=1");
    let text = unit
        .render_checked()
        .unwrap_or_else(|e| panic!("a joined exec line cannot be written: {e}\n{line:?}"));
    let again = UnitFile::parse(Path::new(UNIT_PATH), &text)
        .unwrap_or_else(|e| panic!("unit with exec line does not parse: {e}\n---\n{text}"));
    assert_eq!(
        again.lookup_all("Service", "ExecStart"),
        vec![line.clone()],
        "exec line changed in a unit file\n---\n{text}"
    );
    assert_eq!(
        again.lookup_all("Service", "Environment"),
        vec!["AFTER=1".to_string()],
        "exec line swallowed the next line\n---\n{text}"
    );
}

/// Whatever an exec line splits into joins back into a line that splits the same way.
pub fn check_exec_text(text: &str) {
    if let Ok(words) = split_exec(text) {
        check_words(&words);
    }
}

/// Every line of `text` that is not blank, a comment or a group header is one entry of the
/// parsed unit: no line was glued to the one before it (a continuation) or lost.
pub fn check_one_entry_per_line(text: &str) {
    let unit = UnitFile::parse(Path::new(UNIT_PATH), text)
        .unwrap_or_else(|e| panic!("written unit does not parse: {e}\n---\n{text}"));
    let lines = text
        .lines()
        .map(|l| l.trim_matches([' ', '\t', '\r']))
        .filter(|l| !(l.is_empty() || l.starts_with(['#', ';', '['])))
        .count();
    let entries: usize = values(&unit).iter().map(|(_, e)| e.len()).sum();
    assert_eq!(lines, entries, "lines and entries differ\n---\n{text}");
}
