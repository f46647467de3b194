//! Time of YAML loading + planning on hostile and huge inputs (issue 13): prints figures and the
//! outcome (planned, or the first line of the error), asserts nothing about speed.
//!
//! `cargo bench --bench hostile` runs every case; `… -- CASE` runs one, so that
//! `/usr/bin/time -v target/…/hostile-… CASE` gives its peak memory. Cases: replicas (one
//! Deployment asking for 10⁹ replicas), replicas-100k, alias (a 1 MiB scalar aliased 20,000
//! times), keys (one mapping of 200,000 keys), pods (30,000 Pods), chain (20,000 Pods each
//! `io.quadplay.after` the previous one).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use quadplay::kube;
use quadplay::play::plan::{plan, PlanOptions};

const CASES: &[&str] = &[
    "replicas",
    "replicas-100k",
    "alias",
    "keys",
    "pods",
    "chain",
];

fn deployment(replicas: u64) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  replicas: {replicas}\n  \
         selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    \
         spec:\n      containers:\n      - {{name: web, image: localhost/busybox:latest}}\n"
    )
}

fn alias_bomb() -> String {
    let mut y =
        String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  a: &big ");
    y.push_str(&"x".repeat(1 << 20));
    y.push_str("\n  list: [");
    for i in 0..20_000 {
        y.push_str(if i == 0 { "*big" } else { ", *big" });
    }
    y.push_str("]\n");
    y
}

fn many_keys() -> String {
    let mut y = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keys}\ndata:\n");
    for i in 0..200_000 {
        let _ = writeln!(y, "  k{i}: v");
    }
    y
}

fn pods(n: usize, chained: bool) -> String {
    let mut y = String::new();
    for i in 0..n {
        let after = if chained && i > 0 {
            format!("\n  annotations: {{io.quadplay.after: p{}}}", i - 1)
        } else {
            String::new()
        };
        let _ = write!(
            y,
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p{i}{after}\nspec:\n  containers:\n  \
             - {{name: c, image: localhost/busybox:latest, command: [sleep, infinity]}}\n"
        );
    }
    y
}

fn input(case: &str) -> String {
    match case {
        "replicas" => deployment(1_000_000_000),
        "replicas-100k" => deployment(100_000),
        "alias" => alias_bomb(),
        "keys" => many_keys(),
        "pods" => pods(30_000, false),
        "chain" => pods(20_000, true),
        _ => unreachable!("unknown case {case}"),
    }
}

/// Loads and plans `path`; the outcome in one line.
fn run(path: &Path) -> String {
    let opts = PlanOptions {
        unit: Some("bench.service".into()),
        runtime_dir: PathBuf::from("/run/user/1000/quadplay/bench.service"),
        ..PlanOptions::default()
    };
    let docs = match kube::load(&[path.to_path_buf()], &[]) {
        Ok(d) => d,
        Err(e) => return format!("load error: {}", first_line(&e.to_string())),
    };
    match plan(&docs, &opts) {
        Ok(p) => format!("planned {} pods", p.pods.len()),
        Err(e) => format!("plan error: {}", first_line(&e.to_string())),
    }
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    let mut cut: String = line.chars().take(160).collect();
    if cut.len() < line.len() {
        cut.push('…');
    }
    cut
}

fn main() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("tempdir: {e}");
            std::process::exit(1);
        }
    };
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| CASES.contains(&a.as_str()))
        .collect();
    let cases: Vec<&str> = if wanted.is_empty() {
        CASES.to_vec()
    } else {
        wanted.iter().map(String::as_str).collect()
    };
    println!(
        "{:>14} {:>10} {:>10}  outcome",
        "case", "input KiB", "seconds"
    );
    for case in cases {
        let path = dir.path().join(format!("{case}.yaml"));
        let text = input(case);
        if let Err(e) = std::fs::write(&path, &text) {
            eprintln!("write: {e}");
            std::process::exit(1);
        }
        let t = Instant::now();
        let outcome = run(&path);
        println!(
            "{:>14} {:>10.0} {:>10.3}  {}",
            case,
            text.len() as f64 / 1024.0,
            t.elapsed().as_secs_f64(),
            outcome
        );
    }
}
