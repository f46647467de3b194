//! Properties of compose conversion, shared by the fuzz target `fuzz/fuzz_targets/compose.rs`
//! and `tests/prop_compose.rs`:
//!
//! * what `convert` accepts is valid input for our own executor and generator: the YAML loads
//!   and plans, and the `.kube` unit converts (the YAML must stay valid Kubernetes);
//! * the `.kube` unit text is a fixed point of parse → render;
//! * no message (conversion error, warning, note) and not the `.kube` unit contains a secret
//!   value. Secret values are recognised by a marker planted in a top-level secret's
//!   `content:`; the check applies when the marker occurs nowhere else in the parsed file
//!   (aliases and merge keys expanded), so a value the file also uses openly does not count.
//!
//! Only the code under test may fail: when the scaffolding cannot write its scratch file (a
//! full disk, a read-only temp dir), the input is skipped, not reported as a finding.

// Each driver (fuzz target, property test) uses only part of this module.
#![allow(dead_code)]

use std::path::Path;

use quadplay::compose::convert_file;
use quadplay::compose::tree::{self, Item, Node};
use quadplay::kube::{load_text, Documents};
use quadplay::play::plan::{plan, PlanOptions};
use quadplay::quadlet::{convert_all, Settings, Source};
use quadplay::unit::UnitFile;

/// The planted secret value (seeds and generators put it into `secrets.X.content`).
pub const MARKER: &str = "qpSECRETx7";

/// Converts `text` (written as `compose.yaml` alone in a fresh directory: no `.env`, no bind
/// sources); when it is accepted, checks what came out. Returns false when the input was
/// skipped because the scratch file could not be written.
pub fn check(text: &str) -> bool {
    let Some((_dir, path)) = scratch_file(text) else {
        return false;
    };
    let result = convert_file(&path, Some("fuzzapp"));
    if secret_only(text) {
        let messages = match &result {
            Ok(conv) => [
                &conv.warnings[..],
                &conv.notes[..],
                std::slice::from_ref(&conv.kube),
            ]
            .concat(),
            Err(e) => vec![e.to_string()],
        };
        for m in &messages {
            assert!(!m.contains(MARKER), "a secret value is in a message:\n{m}");
        }
    }
    let Ok(conv) = result else {
        return true;
    };
    let yaml_path = Path::new("/nonexistent/quadplay-fuzz/out").join(format!("{}.yaml", conv.name));
    let mut docs = Documents::default();
    if let Err(e) = load_text(&mut docs, &yaml_path, &conv.yaml, false) {
        panic!("converted YAML does not load: {e}\n---\n{}", conv.yaml);
    }
    let opts = PlanOptions {
        runtime_dir: "/nonexistent/quadplay-fuzz/run".into(),
        ..PlanOptions::default()
    };
    if let Err(e) = plan(&docs, &opts) {
        panic!("converted YAML does not plan: {e}\n---\n{}", conv.yaml);
    }
    check_kube_unit(&conv.name, &conv.kube);
    true
}

/// A fresh directory holding `compose.yaml` with `text`; None when the file system refuses.
fn scratch_file(text: &str) -> Option<(tempfile::TempDir, std::path::PathBuf)> {
    let dir = tempfile::tempdir().ok()?;
    let path = dir.path().join("compose.yaml");
    std::fs::write(&path, text).ok()?;
    Some((dir, path))
}

/// Whether the marker occurs in secret `content:` values and nowhere else. A content holding
/// `$` is counted as open: interpolation errors quote the template, as compose's do.
fn secret_only(text: &str) -> bool {
    let Ok(root) = tree::parse(text, 0) else {
        return false;
    };
    let (mut secret, mut open) = (0, 0);
    for e in root.entries() {
        open += e.key.matches(MARKER).count();
        if e.key != "secrets" {
            open += markers(&e.value);
            continue;
        }
        for s in e.value.entries() {
            open += s.key.matches(MARKER).count();
            for f in s.value.entries() {
                open += f.key.matches(MARKER).count();
                match (f.key.as_str(), &f.value.node) {
                    ("content", Node::Str(v)) if !v.contains('$') => {
                        secret += v.matches(MARKER).count()
                    }
                    _ => open += markers(&f.value),
                }
            }
            if !matches!(s.value.node, Node::Map(_)) {
                open += markers(&s.value);
            }
        }
        if !matches!(e.value.node, Node::Map(_)) {
            open += markers(&e.value);
        }
    }
    secret > 0 && open == 0
}

/// Marker occurrences anywhere in `item`, keys included.
fn markers(item: &Item) -> usize {
    match &item.node {
        Node::Str(s) => s.matches(MARKER).count(),
        Node::Seq(items) => items.iter().map(markers).sum(),
        Node::Map(entries) => entries
            .iter()
            .map(|e| e.key.matches(MARKER).count() + markers(&e.value))
            .sum(),
        _ => 0,
    }
}

fn check_kube_unit(name: &str, text: &str) {
    let file_name = format!("{name}.kube");
    let path = Path::new("/nonexistent/quadplay-fuzz/out").join(&file_name);
    let unit = UnitFile::parse(&path, text)
        .unwrap_or_else(|e| panic!("converted .kube does not parse: {e}\n---\n{text}"));
    assert_eq!(
        unit.render(),
        text,
        ".kube is not a fixed point of parse → render"
    );
    let settings = Settings {
        user: true,
        podman: "/usr/bin/podman".into(),
        quadplay: "/usr/bin/quadplay".into(),
    };
    let sources = [Source { file_name, unit }];
    for (_, result) in convert_all(&sources, &settings, None) {
        if let Err(e) = result {
            panic!("converted .kube does not convert: {e}\n---\n{text}");
        }
    }
}
