//! Stable-toolchain property tests of the unit-file syntax (the fuzz target `unit_syntax` checks
//! the same properties, tests/props/unit.rs, under libFuzzer): parse → render → parse keeps
//! every value, and exec words survive join → split, also inside a unit file. A bounded number
//! of cases so that `cargo test` stays quick.

#[path = "props/unit.rs"]
mod unit;

use proptest::prelude::*;

/// Characters that matter to the unit syntax and to quoting, plus ordinary ones.
const TRICKY: &str = "[a-zA-Z0-9 \t\"'\\\\%$;#=\\[\\]\u{85}\u{9f}\u{a0}é\u{2028}\u{7f}\u{1}-]";

fn value() -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("{TRICKY}{{0,16}}")).unwrap()
}

/// One line of a unit file: a group header, an entry, a comment, a blank line; entries may end
/// in one or two backslashes (continuations).
fn line() -> impl Strategy<Value = String> {
    let group = prop::sample::select(vec!["Unit", "Service", "Container", "Install", "X-Y z"]);
    let key = prop::sample::select(vec!["Image", "Exec", "Environment", "Label", "WantedBy"]);
    let tail = prop::sample::select(vec!["", "", "\\", "\\\\", " \\"]);
    prop_oneof![
        group.prop_map(|g| format!("[{g}]")),
        (key, value(), tail).prop_map(|(k, v, t)| format!("{k}={v}{t}")),
        value().prop_map(|v| format!("# {v}")),
        Just(String::new()),
        value(),
    ]
}

fn unit_text() -> impl Strategy<Value = String> {
    (prop::collection::vec(line(), 0..12), any::<bool>()).prop_map(|(lines, newline)| {
        let mut text = format!("[Container]\n{}", lines.join("\n"));
        if newline {
            text.push('\n');
        }
        text
    })
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::string::string_regex(&format!("{TRICKY}{{1,12}}")).unwrap(),
        // Anything but NUL, newlines and other controls included.
        proptest::string::string_regex("(?s)[^\u{0}]{1,12}").unwrap(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn unit_text_round_trips(text in unit_text()) {
        unit::check_unit_text(&text);
    }

    #[test]
    fn exec_words_round_trip(words in prop::collection::vec(word(), 1..6)) {
        unit::check_words(&words);
    }

    #[test]
    fn exec_lines_round_trip(line in proptest::string::string_regex(&format!("{TRICKY}{{0,24}}")).unwrap()) {
        unit::check_exec_text(&line);
    }
}

/// The golden trees' generated services are fixed points of parse → render too (the property
/// holds of real output, not only of generated text).
#[test]
fn golden_services_round_trip() {
    let mut seen = 0;
    for entry in walk(std::path::Path::new("tests/golden")) {
        if entry.extension().is_some_and(|e| e == "service") {
            let text = std::fs::read_to_string(&entry).unwrap();
            unit::check_unit_text(&text);
            seen += 1;
        }
    }
    assert!(seen > 20, "only {seen} golden services found");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        // Not followed: a golden tree has symlink loops on purpose.
        if e.file_type().unwrap().is_dir() {
            all.extend(walk(&p));
        } else {
            all.push(p);
        }
    }
    all
}

/// Minimized inputs the fuzz campaigns and the property tests found, kept as fixed cases:
/// a lone backslash and blanks (an empty pseudo-group), a last line ending in backslashes,
/// blanks before a dangling continuation, C1 and NEL characters in words.
#[test]
fn found_inputs_stay_fixed() {
    for text in [
        "\\",
        "  ",
        " ",
        "[Container]\nImage=a\\\\",
        "[Container]\nImage=a \\",
        "[Container]\n\n\n[Container]",
    ] {
        unit::check_unit_text(text);
    }
    for words in [vec!["\u{85}"], vec!["n\u{9f}v", "\u{a0}x\u{2028}"]] {
        let words: Vec<String> = words.into_iter().map(String::from).collect();
        unit::check_words(&words);
    }
}
