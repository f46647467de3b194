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

/// Fills [`PodPlan::after`] from `io.quadplay.after`, refusing unknown names and cycles.
/// `owners[i]` is the index in `workloads` of the workload `pods[i]` was made from.
pub(super) fn order(
    pods: &mut [PodPlan],
    owners: &[usize],
    workloads: &[Workload],
) -> Result<(), PlanError> {
    // Workload name → its pods' names.
    let mut pods_of: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (p, &owner) in pods.iter().zip(owners) {
        pods_of
            .entry(workloads[owner].obj.name.as_str())
            .or_default()
            .push(p.name.clone());
    }
    let mut deps: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (index, w) in workloads.iter().enumerate() {
        let Some(list) = w.annotation(AFTER_ANNOTATION) else {
            continue;
        };
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if name == w.obj.name {
                return Err(invalid(
                    w.obj,
                    "metadata.annotations",
                    format!("{AFTER_ANNOTATION}: `{name}` is this workload itself"),
                ));
            }
            let Some(names) = pods_of.get(name) else {
                return Err(invalid(
                    w.obj,
                    "metadata.annotations",
                    format!("{AFTER_ANNOTATION}: no Pod, Deployment, DaemonSet or Job named `{name}` in the YAML"),
                ));
            };
            let names = names.clone();
            deps.entry(w.obj.name.as_str()).or_default().push(name);
            let own = pods.iter_mut().zip(owners).filter(|(_, &o)| o == index);
            for (p, _) in own {
                for n in &names {
                    if !p.after.contains(n) {
                        p.after.push(n.clone());
                    }
                }
            }
        }
    }
    check_cycles(&deps, workloads)
}

fn check_cycles(deps: &BTreeMap<&str, Vec<&str>>, workloads: &[Workload]) -> Result<(), PlanError> {
    fn visit<'a>(
        n: &'a str,
        deps: &BTreeMap<&'a str, Vec<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if done.contains(n) {
            return None;
        }
        if let Some(i) = path.iter().position(|x| *x == n) {
            let mut cycle = path[i..].to_vec();
            cycle.push(n);
            return Some(cycle);
        }
        path.push(n);
        for d in deps.get(n).into_iter().flatten() {
            if let Some(c) = visit(d, deps, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n);
        None
    }
    let mut done = BTreeSet::new();
    for n in deps.keys() {
        if let Some(cycle) = visit(n, deps, &mut Vec::new(), &mut done) {
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
