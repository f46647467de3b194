//! `systemd-analyze verify` over everything the generator writes for the golden cases.
//!
//! Golden files prove we write what we meant; this proves systemd accepts it: unknown keys,
//! bad values, unparsable Exec lines and missing dependencies of our units all fail here.
//! `systemd-analyze` is required (CI installs it); `QUADPLAY_SKIP_VERIFY=1` skips explicitly.

#[path = "golden_common/mod.rs"]
mod golden_common;

use std::path::{Path, PathBuf};
use std::process::Command;

use golden_common::{run_case, Case};

#[test]
fn systemd_accepts_every_generated_unit() {
    if std::env::var_os("QUADPLAY_SKIP_VERIFY").is_some_and(|v| v == "1") {
        eprintln!("QUADPLAY_SKIP_VERIFY=1: not verifying");
        return;
    }
    let analyze = which("systemd-analyze").expect(
        "systemd-analyze is needed to verify generated units (install systemd, or set QUADPLAY_SKIP_VERIFY=1)",
    );
    // Exec lines must name executables that exist, so point them at real ones.
    let quadplay = env!("CARGO_BIN_EXE_quadplay");
    let mut failures = Vec::new();
    let mut verified = 0;
    for case in Case::all() {
        let run = run_case(&case, &[("PODMAN", "/bin/true"), ("QUADPLAY", quadplay)]);
        let units: Vec<PathBuf> = run
            .out_tree
            .iter()
            .filter(|(path, content)| {
                path.ends_with(".service")
                    && !path.contains('/')
                    && !content.starts_with(golden_common::LINK_PREFIX)
            })
            .map(|(path, _)| run.out_dir.join(path))
            .collect();
        if units.is_empty() {
            continue;
        }
        let user = case.args().iter().any(|a| a.contains("user"))
            || case.read("argv0").is_some_and(|a| a.contains("user"));
        match verify(&analyze, &run.out_dir, run.tmp.path(), &units, user) {
            Ok(()) => verified += units.len(),
            Err(why) => failures.push(format!("=== {} ===\n{why}", case.name)),
        }
    }
    assert!(verified > 0, "no generated unit was verified");
    assert!(
        failures.is_empty(),
        "systemd-analyze verify failed:\n{}",
        failures.join("\n")
    );
    eprintln!("systemd-analyze verify accepted {verified} generated units");
}

/// Warnings that are not about what we generate: `UpheldBy=` is a user's `[Install]` key that
/// systemd < 254 does not know (Debian 12 has 252); the generator makes the `.upholds/` link
/// itself, which 252 does honour, and the key stays in the file as in Quadlet's output.
const TOLERATED: [&str; 1] = ["Unknown key 'UpheldBy' in section [Install]"];

fn verify(
    analyze: &Path,
    out_dir: &Path,
    tmp: &Path,
    units: &[PathBuf],
    user: bool,
) -> Result<(), String> {
    let runtime = tmp.join("runtime");
    std::fs::create_dir_all(&runtime).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(analyze);
    if user {
        cmd.arg("--user");
    }
    cmd.arg("verify").args(units);
    // verify loads units from SYSTEMD_UNIT_PATH (the trailing ':' keeps the defaults) and, for
    // the user manager, needs a runtime dir.
    cmd.env("XDG_RUNTIME_DIR", &runtime)
        .env("SYSTEMD_UNIT_PATH", format!("{}:", out_dir.display()))
        .env("SYSTEMD_LOG_COLOR", "0");
    let output = cmd
        .output()
        .map_err(|e| format!("{}: {e}", analyze.display()))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // Warnings ("Unknown key ..., ignoring") do not change the exit status: any line naming one
    // of our units counts.
    let names: Vec<String> = units
        .iter()
        .filter_map(|u| u.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let ours: Vec<&str> = text
        .lines()
        .filter(|l| names.iter().any(|n| l.contains(n.as_str())))
        .filter(|l| !TOLERATED.iter().any(|t| l.contains(t)))
        .collect();
    if output.status.success() && ours.is_empty() {
        return Ok(());
    }
    let mut report = format!("exit status {:?}\n{text}", output.status.code());
    for unit in units {
        report.push_str(&format!(
            "--- {}\n{}",
            unit.display(),
            std::fs::read_to_string(unit).unwrap_or_default()
        ));
    }
    Err(report)
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/bin")])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The check itself must be able to fail: a unit systemd rejects is reported.
#[test]
fn a_broken_unit_is_caught() {
    let Some(analyze) = which("systemd-analyze") else {
        assert!(
            std::env::var_os("QUADPLAY_SKIP_VERIFY").is_some_and(|v| v == "1"),
            "systemd-analyze is missing"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let unit = out.join("broken.service");
    std::fs::write(
        &unit,
        "[Unit]\nBogusKey=1\nRequires=missing.service\n[Service]\nExecStart=/nonexistent/podman run x\n",
    )
    .unwrap();
    let err = verify(&analyze, &out, tmp.path(), &[unit], true).unwrap_err();
    assert!(
        err.contains("BogusKey") || err.contains("missing.service"),
        "{err}"
    );
}
