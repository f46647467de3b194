//! Properties of YAML loading and planning (no Podman), shared by the fuzz target
//! `fuzz/fuzz_targets/kube_plan.rs` and `tests/prop_kube.rs`:
//!
//! * no message (load error, finding, plan error, plan warning) and no part of a planned pod
//!   (argv material) contains a secret value. Secret values are recognised by a marker planted
//!   in a Secret's `data`/`stringData` (raw or base64-encoded); the check applies when the marker
//!   occurs nowhere else in the parsed input, so a value the input also uses openly (an image
//!   named like it) does not count.

// Each driver (fuzz target, property test) uses only part of this module.
#![allow(dead_code)]

use std::path::Path;

use base64::Engine as _;
use quadplay::kube::yaml::{parse_stream, Node, Value};
use quadplay::kube::{load_text, Documents};
use quadplay::play::plan::{plan, PlanOptions};

/// The planted secret value (seeds and generators put it into Secrets).
pub const MARKER: &str = "qpSECRETx7";

/// Where the YAML claims to live: nothing there, so nothing is read from disk.
pub const YAML_PATH: &str = "/nonexistent/quadplay-fuzz/app.yaml";

/// Marker occurrences inside Secret data values and everywhere else in the parsed input.
#[derive(Debug, Default)]
struct Count {
    secret: usize,
    open: usize,
}

/// Loads and plans `text`, then checks that no message names the marker when it is secret.
pub fn check(text: &str, strict: bool) {
    let Some(count) = count_markers(text) else {
        // The parser refuses the text: the loader refuses it too; its message is checked below
        // only when the raw text has the marker solely in lines we cannot classify — skip.
        return;
    };
    let messages = load_and_plan(text, strict);
    if count.secret == 0 || count.open > 0 {
        return;
    }
    for m in &messages {
        assert!(
            !m.contains(MARKER),
            "a secret value is in a message or a pod's plan:\n{m}"
        );
    }
}

/// Every message the run produced, plus the planned pods (Debug) as one more "message".
fn load_and_plan(text: &str, strict: bool) -> Vec<String> {
    let mut docs = Documents::default();
    let mut messages = Vec::new();
    if let Err(e) = load_text(&mut docs, Path::new(YAML_PATH), text, false) {
        messages.push(e.to_string());
        return messages;
    }
    messages.extend(docs.findings.iter().map(|f| f.to_string()));
    let opts = PlanOptions {
        strict,
        runtime_dir: "/nonexistent/quadplay-fuzz/run".into(),
        ..PlanOptions::default()
    };
    match plan(&docs, &opts) {
        Ok(p) => {
            messages.extend(p.warnings.iter().map(|w| w.to_string()));
            messages.push(format!("{:?}", p.pods));
        }
        Err(e) => messages.push(e.to_string()),
    }
    messages
}

fn count_markers(text: &str) -> Option<Count> {
    let roots = parse_stream(text).ok()?;
    let mut count = Count::default();
    for root in &roots {
        visit_document(root, &mut count);
    }
    Some(count)
}

/// A document: a Secret's `data`/`stringData` values are secret, everything else is open;
/// a `List` holds documents.
fn visit_document(doc: &Node, count: &mut Count) {
    let Value::Map(entries) = &doc.value else {
        visit(doc, false, count);
        return;
    };
    let kind = doc.get("kind").and_then(Node::as_str);
    for e in entries {
        count.open += e.key.matches(MARKER).count();
        let secret = kind == Some("Secret") && (e.key == "data" || e.key == "stringData");
        match (&e.value.value, kind, e.key.as_str()) {
            (Value::Seq(items), Some("List"), "items") => {
                items.iter().for_each(|i| visit_document(i, count))
            }
            _ => visit(&e.value, secret, count),
        }
        if secret && e.key == "data" {
            count.secret += decoded_markers(&e.value);
        }
    }
}

fn visit(node: &Node, secret: bool, count: &mut Count) {
    match &node.value {
        Value::Scalar(s) => {
            let n = s.text.matches(MARKER).count();
            if secret {
                count.secret += n;
            } else {
                count.open += n;
            }
        }
        Value::Seq(items) => items.iter().for_each(|i| visit(i, secret, count)),
        Value::Map(entries) => {
            for e in entries {
                count.open += e.key.matches(MARKER).count();
                visit(&e.value, secret, count);
            }
        }
    }
}

/// Markers in the base64-decoded scalars of a Secret's `data`.
fn decoded_markers(node: &Node) -> usize {
    match &node.value {
        Value::Scalar(s) => base64::engine::general_purpose::STANDARD
            .decode(s.text.trim())
            .map(|b| String::from_utf8_lossy(&b).matches(MARKER).count())
            .unwrap_or(0),
        Value::Seq(items) => items.iter().map(decoded_markers).sum(),
        Value::Map(entries) => entries.iter().map(|e| decoded_markers(&e.value)).sum(),
    }
}
