//! Annotations that steer Podman (and quadplay), read from the workload's metadata and its pod
//! template. Kubernetes ignores them, so YAML using them stays valid Kubernetes.

use std::collections::{BTreeMap, BTreeSet};

use super::context::{invalid, Ctx, PlanError, Workload};
use crate::plan::*;

/// The names of an [`ALIASES_ANNOTATION`] value that a DNS lookup can ask for (letters, digits,
/// `-`, `_`, `.`; at most 253 characters); others are left out.
pub fn extra_aliases(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split(',')
        .map(str::trim)
        .filter(|a| {
            !a.is_empty()
                && a.len() <= 253
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
        .map(str::to_string)
}

/// Podman's ulimits for every container of the pod: `nofile=1024:2048,nproc=512`.
const ULIMIT: &str = "io.podman.annotations.ulimit";
/// Per-container Podman annotations (`<key>/<container>`) mapped to `podman create` flags.
const PER_CONTAINER_FLAGS: &[(&str, &str)] = &[
    ("io.podman.annotations.pids-limit", "--pids-limit"),
    ("io.podman.annotations.cpuset", "--cpuset-cpus"),
    ("io.podman.annotations.memory-nodes", "--cpuset-mems"),
];
const INIT: &str = "io.podman.annotations.init";
const AUTHFILE: &str = LABEL_AUTOUPDATE_AUTHFILE;

/// Annotations honoured elsewhere in the planner (or here), by prefix.
const HONOURED: &[&str] = &[
    LABEL_AUTOUPDATE,
    "io.podman.annotations.userns",
    "io.podman.annotations.ulimit",
    "io.podman.annotations.pids-limit/",
    "io.podman.annotations.cpuset/",
    "io.podman.annotations.memory-nodes/",
    "io.podman.annotations.init/",
    "io.quadplay.",
];

/// Prefixes of annotations Podman would act on: not honouring one must be said.
const PODMAN_PREFIXES: &[&str] = &[
    "io.podman.annotations.",
    "io.containers.",
    "bind-mount-options",
    "seccomp.security.alpha.kubernetes.io",
    "container.seccomp.security.alpha.kubernetes.io",
    "container.apparmor.security.beta.kubernetes.io",
];

fn merged<'a>(w: &Workload<'a>) -> BTreeMap<&'a str, &'a str> {
    w.template_meta
        .annotations
        .iter()
        .chain(&w.meta.annotations)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Warns once per workload about Podman annotations quadplay does not honour.
pub(super) fn warn_unsupported(ctx: &mut Ctx, w: &Workload) {
    for key in merged(w).keys() {
        let podman = PODMAN_PREFIXES.iter().any(|p| key.starts_with(p));
        let honoured = HONOURED.iter().any(|p| key.starts_with(p));
        if podman && !honoured {
            ctx.warn(
                w.obj,
                "metadata.annotations",
                format!("annotation `{key}` is not supported by quadplay, ignored"),
            );
        }
    }
}

/// `podman create` flags and labels that annotations give container `ctr`.
pub(super) fn container_extras(
    w: &Workload,
    ctr: &str,
    args: &mut Vec<String>,
    labels: &mut BTreeMap<String, String>,
) -> Result<(), PlanError> {
    let a = merged(w);
    if let Some(list) = a.get(ULIMIT) {
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            args.push(format!("--ulimit={item}"));
        }
    }
    for (key, flag) in PER_CONTAINER_FLAGS {
        if let Some(v) = a.get(format!("{key}/{ctr}").as_str()) {
            if *key == "io.podman.annotations.pids-limit" && v.parse::<i64>().is_err() {
                return Err(invalid(
                    w.obj,
                    "metadata.annotations",
                    format!("{key}/{ctr}: `{v}` is not a number"),
                ));
            }
            args.push(format!("{flag}={v}"));
        }
    }
    match a.get(format!("{INIT}/{ctr}").as_str()).copied() {
        None | Some("false") => {}
        Some("true") => args.push("--init".into()),
        Some(other) => {
            return Err(invalid(
                w.obj,
                "metadata.annotations",
                format!("{INIT}/{ctr}: `{other}` is not true or false"),
            ))
        }
    }
    if let Some(v) = a
        .get(format!("{AUTHFILE}/{ctr}").as_str())
        .or_else(|| a.get(AUTHFILE))
    {
        labels.insert(AUTHFILE.to_string(), (*v).to_string());
    }
    Ok(())
}

/// Fills [`PodPlan::after`] from `io.quadplay.after` and `io.quadplay.after-completed` (those
/// also into [`PodPlan::after_completed`]), refusing unknown names, cycles, and completion
/// awaited of pods that restart always (they never complete).
/// `owners[i]` is the index in `workloads` of the workload `pods[i]` was made from.
pub(super) fn order(
    pods: &mut [PodPlan],
    owners: &[usize],
    workloads: &[Workload],
) -> Result<(), PlanError> {
    // Workload name → its pods' indexes.
    let mut pods_of: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, &owner) in owners.iter().enumerate() {
        pods_of
            .entry(workloads[owner].obj.name.as_str())
            .or_default()
            .push(i);
    }
    // Workload index → its pods' indexes (a chain of N workloads stays linear).
    let mut pods_by_owner: Vec<Vec<usize>> = vec![Vec::new(); workloads.len()];
    for (i, &owner) in owners.iter().enumerate() {
        pods_by_owner[owner].push(i);
    }
    let mut deps: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (index, w) in workloads.iter().enumerate() {
        for (annotation, completed) in [
            (AFTER_ANNOTATION, false),
            (AFTER_COMPLETED_ANNOTATION, true),
        ] {
            let Some(list) = w.annotation(annotation) else {
                continue;
            };
            for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let targets = dependency(w, annotation, name, &pods_of)?;
                if completed {
                    refuse_restarting(w, name, targets, pods)?;
                }
                deps.entry(w.obj.name.as_str()).or_default().push(name);
                let names: Vec<String> = targets.iter().map(|&t| pods[t].name.clone()).collect();
                for &i in &pods_by_owner[index] {
                    add_new(&mut pods[i].after, &names);
                    if completed {
                        add_new(&mut pods[i].after_completed, &names);
                    }
                }
            }
        }
    }
    check_cycles(&deps, workloads)
}

/// The pods of the workload `name` that `w`'s `annotation` names.
fn dependency<'m>(
    w: &Workload,
    annotation: &str,
    name: &str,
    pods_of: &'m BTreeMap<&str, Vec<usize>>,
) -> Result<&'m [usize], PlanError> {
    if name == w.obj.name {
        return Err(invalid(
            w.obj,
            "metadata.annotations",
            format!("{annotation}: `{name}` is this workload itself"),
        ));
    }
    pods_of.get(name).map(Vec::as_slice).ok_or_else(|| {
        invalid(
            w.obj,
            "metadata.annotations",
            format!(
                "{annotation}: no Pod, Deployment, DaemonSet or Job named `{name}` in the YAML"
            ),
        )
    })
}

/// A pod whose containers restart always never completes: waiting for it would never end.
fn refuse_restarting(
    w: &Workload,
    name: &str,
    targets: &[usize],
    pods: &[PodPlan],
) -> Result<(), PlanError> {
    let always = targets.iter().any(|&t| {
        pods[t]
            .containers
            .iter()
            .any(|c| c.restart_policy == RestartPolicy::Always)
    });
    if always {
        return Err(invalid(
            w.obj,
            "metadata.annotations",
            format!("{AFTER_COMPLETED_ANNOTATION}: `{name}` restarts its containers always (restartPolicy Always, or a Deployment/DaemonSet), so it never completes; give it restartPolicy Never or OnFailure"),
        ));
    }
    Ok(())
}

/// Appends the names not yet in `list`.
fn add_new(list: &mut Vec<String>, names: &[String]) {
    let add: Vec<String> = {
        let mut present: BTreeSet<&str> = list.iter().map(String::as_str).collect();
        names
            .iter()
            .filter(|n| present.insert(n.as_str()))
            .cloned()
            .collect()
    };
    list.extend(add);
}

/// The first cycle of `deps`, found by a depth-first walk with an explicit stack: a chain of
/// 20,000 workloads neither recurses 20,000 deep nor rescans the path at each step.
fn find_cycle<'a>(
    start: &'a str,
    deps: &BTreeMap<&'a str, Vec<&'a str>>,
    done: &mut BTreeSet<&'a str>,
) -> Option<Vec<&'a str>> {
    let mut on_path: BTreeSet<&'a str> = BTreeSet::new();
    // (node, index of its next dependency to visit)
    let mut stack: Vec<(&'a str, usize)> = Vec::new();
    if done.contains(start) {
        return None;
    }
    stack.push((start, 0));
    on_path.insert(start);
    while let Some(top) = stack.last_mut() {
        let (n, next) = *top;
        let Some(&d) = deps.get(n).and_then(|ds| ds.get(next)) else {
            stack.pop();
            on_path.remove(n);
            done.insert(n);
            continue;
        };
        top.1 += 1;
        if on_path.contains(d) {
            let i = stack.iter().position(|(x, _)| *x == d).unwrap_or(0);
            let mut cycle: Vec<&str> = stack[i..].iter().map(|(x, _)| *x).collect();
            cycle.push(d);
            return Some(cycle);
        }
        if !done.contains(d) {
            stack.push((d, 0));
            on_path.insert(d);
        }
    }
    None
}

fn check_cycles(deps: &BTreeMap<&str, Vec<&str>>, workloads: &[Workload]) -> Result<(), PlanError> {
    let mut done = BTreeSet::new();
    for n in deps.keys() {
        if let Some(cycle) = find_cycle(n, deps, &mut done) {
            let w = workloads.iter().find(|w| w.obj.name == cycle[0]);
            let message = format!("{AFTER_ANNOTATION} forms a cycle: {}", cycle.join(" → "));
            return Err(match w {
                Some(w) => invalid(w.obj, "metadata.annotations", message),
                None => PlanError::NoWorkload,
            });
        }
    }
    Ok(())
}
