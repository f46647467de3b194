//! Properties of the generator's conversion of one unit file with one drop-in, shared by the
//! fuzz target `fuzz/fuzz_targets/generator.rs` and `tests/prop_generator.rs`:
//!
//! * nothing is written, removed or linked outside the output directory (the input files stay
//!   as they were, and the sandbox holds nothing else);
//! * every written file has one entry per key line (no value spills into the next line) and
//!   holds no NUL byte; a converted unit that cannot be written so is not written, and the
//!   run reports an error;
//! * every converted service, as the converter built it, renders to text that parses back to
//!   the same values.

// Each driver (fuzz target, property test) uses only part of this module.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use quadplay::quadlet::generator::{self, Options};
use quadplay::quadlet::log::Log;
use quadplay::quadlet::paths::search_dirs_in;
use quadplay::quadlet::{convert_all, Settings, Source};
use quadplay::unit::UnitFile;

use super::unit::{check_one_entry_per_line, check_render_reparses};

/// The Quadlet kinds a unit file can have (the generator refuses the last three).
pub const KINDS: [&str; 8] = [
    "container",
    "volume",
    "network",
    "kube",
    "pod",
    "image",
    "build",
    "artifact",
];

/// Output dir depth below the sandbox: a `../` escape of up to this many levels lands inside
/// the sandbox, where the walk below sees it.
const DEPTH: usize = 8;

/// One generator input: `<name>.<kind>` and its drop-in `<name>.<kind>.d/10-fuzz.conf`.
#[derive(Debug, Clone)]
pub struct Case<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub unit: &'a str,
    pub dropin: &'a str,
    pub user: bool,
}

/// A file name stem usable on disk: non-empty, no `/`, no NUL, not `.`/`..`.
pub fn usable_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 200
        && !name.contains(['/', '\0'])
        && name != "."
        && name != ".."
}

fn settings(user: bool) -> Settings {
    Settings {
        user,
        // Not a real binary: the version probe fails at once and nothing runs.
        podman: "/nonexistent/podman".into(),
        quadplay: "/usr/bin/quadplay".into(),
    }
}

/// Runs the whole generator on `case` in a fresh sandbox and checks the file-system properties,
/// then checks the in-memory conversion. Cases with an unusable name are skipped.
pub fn check(case: &Case) {
    if !usable_name(case.name) || !KINDS.contains(&case.kind) {
        return;
    }
    let sandbox = tempfile::tempdir().expect("sandbox");
    let input = sandbox.path().join("in");
    let file_name = format!("{}.{}", case.name, case.kind);
    let unit_path = input.join(&file_name);
    let dropin_path = input.join(format!("{file_name}.d")).join("10-fuzz.conf");
    fs::create_dir_all(dropin_path.parent().unwrap()).expect("input dir");
    fs::write(&unit_path, case.unit).expect("unit");
    fs::write(&dropin_path, case.dropin).expect("drop-in");
    let mut out = sandbox.path().to_path_buf();
    for i in 0..DEPTH {
        out.push(format!("d{i}"));
    }
    out.push("out");
    fs::create_dir_all(&out).expect("output dir");

    let settings = settings(case.user);
    let mut log = Log::capturing(false);
    let dirs = search_dirs_in(std::slice::from_ref(&input), &mut log);
    let options = Options {
        dry_run: false,
        output_dir: Some(&out),
        argv0: "quadplay-generator",
        settings: &settings,
        exits_after: false,
    };
    generator::run(&dirs, &options, &mut log);

    assert_eq!(
        fs::read(&unit_path).ok().as_deref(),
        Some(case.unit.as_bytes()),
        "the unit file was changed"
    );
    assert_eq!(
        fs::read(&dropin_path).ok().as_deref(),
        Some(case.dropin.as_bytes()),
        "the drop-in was changed"
    );
    check_sandbox(sandbox.path(), &input, &out);
    check_written(&out);
    for service in unwritable(&file_name, case) {
        assert!(
            !out.join(&service).exists(),
            "{service} cannot be written as converted, yet it was"
        );
        assert!(log.error_count() > 0, "{service} dropped without an error");
    }
}

/// Everything in the sandbox is the input tree, the output tree or a directory on the way to it.
fn check_sandbox(sandbox: &Path, input: &Path, out: &Path) {
    for path in walk(sandbox) {
        if path.starts_with(input) || path.starts_with(out) {
            continue;
        }
        let on_the_way = out.starts_with(&path) && path.is_dir();
        assert!(
            on_the_way,
            "written outside the output dir: {}",
            path.display()
        );
    }
}

/// All paths below `dir` (symlinks not followed).
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(p.clone());
            }
            all.push(p);
        }
    }
    all
}

/// Each regular file written is NUL-free UTF-8 with one entry per key line.
fn check_written(out: &Path) {
    for path in walk(out) {
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let bytes = fs::read(&path).expect("read output");
        assert!(!bytes.contains(&0), "NUL in {}", path.display());
        let text = String::from_utf8(bytes).expect("output is UTF-8");
        check_one_entry_per_line(&text);
    }
}

/// The converter's own result (before writing) renders to text with the same values, or is
/// refused as unwritable: returns the refused services' file names.
fn unwritable(file_name: &str, case: &Case) -> Vec<String> {
    let path = Path::new("/etc/containers/systemd").join(file_name);
    let Ok(mut unit) = UnitFile::parse(&path, case.unit) else {
        return Vec::new();
    };
    let dropin_path =
        Path::new("/etc/containers/systemd").join(format!("{file_name}.d/10-fuzz.conf"));
    let Ok(dropin) = UnitFile::parse(&dropin_path, case.dropin) else {
        return Vec::new();
    };
    unit.merge(&dropin);
    let sources = [Source {
        file_name: file_name.to_string(),
        unit,
    }];
    convert_all(&sources, &settings(case.user), None)
        .into_iter()
        .filter_map(|(_, result)| result.ok())
        .filter(|service| !check_render_reparses(&service.unit))
        .map(|service| service.service_name)
        .collect()
}
