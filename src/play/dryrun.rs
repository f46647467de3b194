//! `quadplay play --dry-run`: load and plan the YAML, then check this machine for what would stop a
//! real start after planning — hostPath sources missing or of the wrong type, published host ports
//! taken or not allowed, images missing where the pull policy forbids pulling — and print what
//! would be created — or, when the app runs, what a reload would replace, create and remove (see
//! [`super::diff`]). Nothing is created, pulled or removed. The exit status is 0 when a real start
//! would get past these checks, 1 when not (each problem is printed with its workload or origin).

use std::path::Path;
use std::time::Duration;

use super::plan::{self, PlanOptions};
use super::{hostports, report_warnings, PlayError};
use crate::engine::Engine;
use crate::plan::{HostPathType, Plan, PullPolicy, SecretSource, LABEL_APP};

/// What the check found: problems (a real start would fail) and notes (it would pull).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Findings {
    pub problems: Vec<String>,
    pub notes: Vec<String>,
}

/// How a problem is printed: as found, or pointing back at what the YAML was made from.
pub type Relocate<'a> = &'a dyn Fn(&str) -> String;

/// Loads, plans and checks; prints the plan and the findings; the exit status.
pub fn run(
    yaml: &[std::path::PathBuf],
    configmaps: &[std::path::PathBuf],
    options: &PlanOptions,
    strict: bool,
    engine: &dyn Engine,
    local: bool,
) -> Result<u8, PlayError> {
    let as_found = |p: &str| p.to_string();
    run_relocated(
        yaml,
        configmaps,
        options,
        (strict, local),
        engine,
        &as_found,
    )
}

/// [`run`], each problem printed through `relocate`.
fn run_relocated(
    yaml: &[std::path::PathBuf],
    configmaps: &[std::path::PathBuf],
    options: &PlanOptions,
    (strict, local): (bool, bool),
    engine: &dyn Engine,
    relocate: Relocate<'_>,
) -> Result<u8, PlayError> {
    let docs = crate::kube::load(yaml, configmaps)?;
    let (options, unread) = super::credentials::options_for_dry_run(options, &docs);
    let plan = plan::plan(&docs, &options)?;
    report_warnings(&plan, strict)?;
    let running = running_pods(&plan, engine);
    let mut findings = match &running {
        Some(diff) => check(&reload_subplan(&plan, diff), engine, local),
        None => check(&plan, engine, local),
    };
    findings.notes.extend(unread);
    match &running {
        Some(diff) => print!(
            "app {} runs: a reload would change\n{}",
            plan.app,
            super::diff::describe(diff, &plan)
        ),
        None => print!("{}", describe(&plan)),
    }
    for n in &findings.notes {
        println!("note: {n}");
    }
    for p in &findings.problems {
        eprintln!("quadplay: dry run: {}", relocate(p));
    }
    if findings.problems.is_empty() {
        println!(
            "dry run: a start would get past planning and the host checks; nothing was changed"
        );
        Ok(0)
    } else {
        println!(
            "dry run: {} problem(s) would stop a start; nothing was changed",
            findings.problems.len()
        );
        Ok(1)
    }
}

/// When pods of the app run, what a reload would do with them (the same comparison
/// `systemctl reload` makes, so the plan gets the labels and digests a start gives it).
fn running_pods(plan: &Plan, engine: &dyn Engine) -> Option<super::diff::Diff> {
    let running = engine.pod_labels(LABEL_APP, &plan.app).ok()?;
    if running.is_empty() {
        return None;
    }
    Some(super::diff::diff(&running, &super::apply::prepare(plan)))
}

/// What a reload would start, for the host checks: new pods as they are; replaced pods without
/// their published ports, which the pods they replace hold until the reload removes them.
fn reload_subplan(plan: &Plan, diff: &super::diff::Diff) -> Plan {
    let mut sub = super::diff::subplan(plan, &diff.starting());
    for pod in &mut sub.pods {
        if diff.replace.contains(&pod.name) {
            pod.ports.clear();
        }
    }
    sub
}

/// `quadplay convert --check`: the converted YAML checked as `play --dry-run` checks it, for the
/// unit `<app>.service`. It is written as `<app>.yaml` (the name `convert -o` gives it) in a
/// private temporary directory, removed after; `relocate` puts the compose file's line first,
/// so that a problem reads `compose.yaml:9:5: services.web.volumes: …/<app>.yaml:13:22:
/// Pod/<app>-web: spec.volumes[0].hostPath.path: …` (both: where it was written, and the line
/// and column of `quadplay convert`'s own output).
pub fn check_converted(app: &str, yaml: &str, relocate: Relocate<'_>) -> Result<u8, PlayError> {
    let internal = |e: std::io::Error| PlayError::Internal(format!("temporary file: {e}"));
    let dir = private_dir().map_err(internal)?;
    let file = dir.join(format!("{app}.yaml"));
    let result = write_private(&file, yaml).map_err(internal).and_then(|()| {
        let options = PlanOptions {
            unit: Some(format!("{app}.service")),
            runtime_dir: crate::engine::podman::runtime_dir()
                .join("quadplay")
                .join(app),
            ..PlanOptions::default()
        };
        let engine = crate::engine::Podman::new(&[], &[])?;
        let local = !engine.is_remote();
        run_relocated(
            std::slice::from_ref(&file),
            &[],
            &options,
            (false, local),
            &engine,
            relocate,
        )
    });
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_dir(&dir);
    result
}

/// A new private (0700) directory for the converted YAML.
fn private_dir() -> std::io::Result<std::path::PathBuf> {
    use std::os::unix::fs::DirBuilderExt as _;
    let base = std::env::temp_dir();
    for n in 0..100 {
        let dir = base.join(format!("quadplay-check-{}-{n}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free temporary directory name"))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

/// The host checks. `local`: Podman runs on this machine (host paths and ports are checked).
pub fn check(plan: &Plan, engine: &dyn Engine, local: bool) -> Findings {
    let mut f = Findings::default();
    if local {
        for hp in &plan.host_paths {
            if let Some(p) = host_path_problem(&hp.path, hp.kind) {
                f.problems
                    .push(format!("{}hostPath {}: {p}", hp.origin, hp.path.display()));
            }
        }
        if let Err(e) = hostports::check(plan, Duration::ZERO) {
            f.problems.push(e.to_string());
        }
    }
    images(plan, engine, &mut f);
    podman_secrets(plan, engine, &mut f);
    f
}

/// The existing Podman secrets the YAML names must exist (a start checks it before creating
/// anything; this says it first).
fn podman_secrets(plan: &Plan, engine: &dyn Engine, f: &mut Findings) {
    for r in &plan.podman_secrets {
        match engine.secret_exists(&r.name) {
            Ok(true) => {}
            Ok(false) => f.problems.push(super::apply::missing_secret(r).to_string()),
            Err(e) => f.problems.push(format!("{}{e}", r.origin)),
        }
    }
}

fn images(plan: &Plan, engine: &dyn Engine, f: &mut Findings) {
    let mut seen = std::collections::BTreeSet::new();
    for pod in &plan.pods {
        for c in pod.init_containers.iter().chain(&pod.containers) {
            if !seen.insert(c.image.clone()) {
                continue;
            }
            let present = match engine.image_exists(&c.image) {
                Ok(p) => p,
                Err(e) => {
                    f.problems.push(format!(
                        "{}: {}: image {}: {e}",
                        pod.workload, c.short_name, c.image
                    ));
                    continue;
                }
            };
            match (present, c.pull_policy) {
                (false, PullPolicy::Never) => f.problems.push(format!(
                    "{}: container {}: image {} is not present and its pull policy is Never",
                    pod.workload, c.short_name, c.image
                )),
                (false, _) => f.notes.push(format!("image {} would be pulled", c.image)),
                (true, PullPolicy::Always | PullPolicy::Newer) => f.notes.push(format!(
                    "image {} would be pulled again (policy Always)",
                    c.image
                )),
                (true, _) => {}
            }
        }
    }
}

/// Why a hostPath would stop a start (the rules `apply` enforces), or None.
fn host_path_problem(path: &Path, kind: HostPathType) -> Option<String> {
    use std::os::unix::fs::FileTypeExt;
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(_)
            if matches!(
                kind,
                HostPathType::DirectoryOrCreate | HostPathType::FileOrCreate
            ) =>
        {
            return None
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some("does not exist".into()),
        Err(e) => return Some(e.to_string()),
    };
    let t = meta.file_type();
    let (ok, wanted) = match kind {
        HostPathType::Unset => (true, ""),
        HostPathType::Directory | HostPathType::DirectoryOrCreate => (t.is_dir(), "a directory"),
        HostPathType::File | HostPathType::FileOrCreate => (t.is_file(), "a regular file"),
        HostPathType::Socket => (t.is_socket(), "a socket"),
        HostPathType::CharDevice => (t.is_char_device(), "a character device"),
        HostPathType::BlockDevice => (t.is_block_device(), "a block device"),
    };
    (!ok).then(|| format!("is not {wanted}"))
}

/// What a start would create, one line each.
pub fn describe(plan: &Plan) -> String {
    let mut out = format!("app {}: would create\n", plan.app);
    for n in plan.networks.iter().filter(|n| n.create_if_missing) {
        out.push_str(&format!("  network {} (if missing)\n", n.name));
    }
    for v in &plan.volumes {
        out.push_str(&format!("  volume {} (if missing)\n", v.name));
    }
    for s in &plan.secrets {
        let source = match &s.source {
            SecretSource::Yaml => String::new(),
            SecretSource::Credential(c) => format!(" (value from credential {c})"),
        };
        out.push_str(&format!("  secret {}{source}\n", s.name));
    }
    for r in &plan.podman_secrets {
        out.push_str(&format!(
            "  uses existing Podman secret {} (never created or removed)\n",
            r.name
        ));
    }
    for p in &plan.pods {
        let ports: Vec<String> = p
            .ports
            .iter()
            .map(|m| format!("{}->{}", m.host_port, m.container_port))
            .collect();
        out.push_str(&format!(
            "  pod {} ({}): {} container(s){}{}\n",
            p.name,
            p.workload,
            p.containers.len(),
            if ports.is_empty() {
                String::new()
            } else {
                format!(", ports {}", ports.join(" "))
            },
            if p.after.is_empty() {
                String::new()
            } else {
                let after: Vec<String> = p
                    .after
                    .iter()
                    .map(|a| {
                        if p.after_completed.contains(a) {
                            format!("{a} (completed)")
                        } else {
                            a.clone()
                        }
                    })
                    .collect();
                format!(", after {}", after.join(" "))
            },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fake::Fake;

    fn plan_of(yaml: &str) -> (tempfile::TempDir, Plan) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("app.yaml");
        std::fs::write(&file, yaml).unwrap();
        let docs = crate::kube::load(&[file], &[]).unwrap_or_else(|e| panic!("{e}"));
        let plan = plan::plan(&docs, &PlanOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        (dir, plan)
    }

    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: c\n    image: localhost/busybox:latest\n    imagePullPolicy: Never\n    ports: [{containerPort: 80, hostPort: PORT}]\n    volumeMounts: [{name: conf, mountPath: /etc/x.conf}]\n  volumes:\n  - name: conf\n    hostPath: {path: ./x.conf, type: File}\n";

    #[test]
    fn missing_bind_source_taken_port_and_missing_image_are_problems() {
        let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let taken = listener.local_addr().unwrap().port();
        let (dir, plan) = plan_of(&POD.replace("PORT", &taken.to_string()));
        let fake = Fake::new();
        fake.lock().images.clear();
        let f = check(&plan, &fake, true);
        assert_eq!(f.problems.len(), 3, "{:?}", f.problems);
        assert!(
            f.problems[0].ends_with("x.conf: does not exist"),
            "{}",
            f.problems[0]
        );
        // Located where the YAML asks for it: file:line:column, object, field path.
        let at = format!(
            "{}:13:22: Pod/web: spec.volumes[0].hostPath.path: hostPath ",
            dir.path().join("app.yaml").display()
        );
        assert!(f.problems[0].starts_with(&at), "{}", f.problems[0]);
        assert!(
            f.problems[1].contains(&format!("host port 0.0.0.0:{taken}/tcp: already in use")),
            "{}",
            f.problems[1]
        );
        assert!(
            f.problems[1].contains("app.yaml:9:"),
            "located: {}",
            f.problems[1]
        );
        assert!(f.problems[2].contains(
            "image localhost/busybox:latest is not present and its pull policy is Never"
        ));
        // With the file there, the port free and the image present: no problem.
        std::fs::write(dir.path().join("x.conf"), "x\n").unwrap();
        drop(listener);
        fake.lock().images.insert("localhost/busybox:latest".into());
        let f = check(&plan, &fake, true);
        assert_eq!(f.problems, Vec::<String>::new());
        assert!(
            describe(&plan).contains("pod web (Pod/web): 1 container(s), ports"),
            "{}",
            describe(&plan)
        );
    }

    /// Against a running app the dry run shows a reload's difference, and does not count the
    /// ports the running pods hold (and keep, or free when replaced) as taken.
    #[test]
    fn a_running_app_gets_the_reload_difference() {
        let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let held = listener.local_addr().unwrap().port();
        let two = format!(
            "{}---\n{}",
            POD.replace("PORT", &held.to_string()),
            POD.replace("web", "api")
                .replace("hostPort: PORT", "hostPort: 0")
        );
        let (dir, plan) = plan_of(&two);
        std::fs::write(dir.path().join("x.conf"), "x").unwrap();
        let fake = Fake::new();
        let ctx = super::super::apply::Context {
            engine: &fake,
            notifier: super::super::notify::Notifier::disabled(),
            stop: &super::super::signals::StopFlag::new(),
        };
        super::super::apply::apply(&ctx, &super::super::apply::prepare(&plan)).unwrap();
        assert_eq!(running_pods(&plan, &fake).unwrap().keep, ["web", "api"]);
        let mut changed = plan.clone();
        changed.pods[0].containers[0]
            .env
            .push(("MODE".into(), "new".into()));
        let diff = running_pods(&changed, &fake).unwrap();
        assert_eq!(
            (&diff.replace[..], &diff.keep[..]),
            (&["web".to_string()][..], &["api".to_string()][..])
        );
        let f = check(&reload_subplan(&changed, &diff), &fake, true);
        assert!(f.problems.is_empty(), "{:?}", f.problems);
        drop(listener);
    }
}
