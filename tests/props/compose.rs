//! Properties of compose conversion, shared by the fuzz target `fuzz/fuzz_targets/compose.rs`
//! and `tests/prop_compose.rs`:
//!
//! * what `convert` accepts is valid input for our own executor and generator: the YAML loads
//!   and plans, and the `.kube` unit converts (the YAML must stay valid Kubernetes);
//! * the `.kube` unit text is a fixed point of parse → render.

// Each driver (fuzz target, property test) uses only part of this module.
#![allow(dead_code)]

use std::path::Path;

use quadplay::compose::convert_file;
use quadplay::kube::{load_text, Documents};
use quadplay::play::plan::{plan, PlanOptions};
use quadplay::quadlet::{convert_all, Settings, Source};
use quadplay::unit::UnitFile;

/// Converts `text` (written as `compose.yaml` alone in a fresh directory: no `.env`, no bind
/// sources); when it is accepted, checks what came out.
pub fn check(text: &str) {
    let dir = tempfile::tempdir().expect("scratch dir");
    let path = dir.path().join("compose.yaml");
    std::fs::write(&path, text).expect("compose file");
    let Ok(conv) = convert_file(&path, Some("fuzzapp")) else {
        return;
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
