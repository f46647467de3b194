//! Apply only the difference between what runs and a new plan: `systemctl reload` of a `.kube`
//! unit, and auto-update's per-pod replacement.
//!
//! ```text
//! diff (spec digests) → networks, volumes, images of the pods to start (nothing touched yet)
//!   → remove pods gone from the YAML → per changed pod, in `after` order:
//!        stop + remove old → write its files/secrets → create, start, probes
//!        └ fails: remove the new one, start the old spec again (rolled back alone)
//! ```
//!
//! A replacement is gated by its probes as at start, except that a readiness probe failing
//! `failureThreshold` times in a row fails it (at start the unit's start timeout bounds the wait;
//! nothing bounds a reload's). Pods whose digest is unchanged are never touched: same containers, no stop. A failure before
//! the first pod is touched (a missing image, an unreachable registry) changes nothing at all.
//! The result always carries the plan that now runs, so that supervision and the final teardown
//! know every pod, file set and secret, whether the reload worked or not.

use std::collections::BTreeSet;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::engine::Engine;
use crate::plan::{Plan, PodPlan, LABEL_APP};

use super::apply::{self, Context, Created, UndoLog};
use super::diff::{self, Diff};
use super::{hostports, PlayError};

/// What a reload did: the plan that runs now, and its verdict.
#[derive(Debug)]
pub struct Reloaded {
    pub plan: Plan,
    /// A summary for the caller on success; every workload's failure otherwise.
    pub result: Result<String, PlayError>,
    /// The pods stopped, created or removed (their containers are new or gone; the others'
    /// crash-loop counts carry on).
    pub touched: BTreeSet<String>,
}

impl Reloaded {
    fn unchanged(current: &Plan, error: PlayError) -> Reloaded {
        Reloaded {
            plan: current.clone(),
            result: Err(error),
            touched: BTreeSet::new(),
        }
    }
}

/// Brings the running app (started from `current`, already prepared) to `new` (as planned).
pub fn reload(
    ctx: &Context<'_>,
    current: &Plan,
    new: &Plan,
    port_wait: Option<Duration>,
) -> Reloaded {
    let new = apply::prepare(new);
    let running = match ctx.engine.pod_labels(LABEL_APP, &new.app) {
        Ok(r) => r,
        Err(e) => return Reloaded::unchanged(current, e.into()),
    };
    let diff = diff::diff(&running, &new);
    if diff.is_empty() {
        let summary = format!("nothing changed: {} pod(s) kept", diff.keep.len());
        return Reloaded {
            plan: merge(&new, current, &BTreeSet::new(), &BTreeSet::new()),
            result: Ok(summary),
            touched: BTreeSet::new(),
        };
    }
    if let Err(e) = prepare_shared(ctx, &new, &diff) {
        return Reloaded::unchanged(current, e);
    }
    let mut failures = Vec::new();
    remove_pods(ctx, current, &diff.remove, &mut failures);
    let mut restored = BTreeSet::new();
    let mut missing = BTreeSet::new();
    for name in start_order(&new, &diff.starting()) {
        let Some(pod) = new.pods.iter().find(|p| p.name == name) else {
            continue;
        };
        let old = diff
            .replace
            .contains(&name)
            .then(|| current.pods.iter().find(|p| p.name == name))
            .flatten();
        ctx.notifier.status(&format!("reload: starting pod {name}"));
        match replace(ctx, old.map(|p| (p, current)), (pod, &new), port_wait) {
            Ok(()) => {}
            Err(Failure::RolledBack(e)) => {
                restored.insert(name.clone());
                failures.push(located(&new, &name, e));
            }
            Err(Failure::Lost(e)) => {
                missing.insert(name.clone());
                failures.push(located(&new, &name, e));
            }
        }
    }
    remove_unused(ctx.engine, current, &new, &restored, &mut failures);
    let plan = merge(&new, current, &restored, &missing);
    let result = if failures.is_empty() {
        Ok(one_line(&diff::describe(&diff, &new)))
    } else {
        Err(PlayError::Reload(failures))
    };
    let touched = diff.starting().into_iter().map(str::to_string);
    let touched = touched.chain(diff.remove.iter().cloned()).collect();
    Reloaded {
        plan,
        result,
        touched,
    }
}

/// `error` of pod `name`, starting with where `plan`'s YAML writes its workload's containers
/// (as a start's errors do), when the plan knows.
fn located(plan: &Plan, name: &str, error: PlayError) -> PlayError {
    match plan.pod_origins.get(name) {
        Some(origin) => PlayError::Located {
            origin: origin.to_string(),
            source: Box::new(error),
        },
        None => error,
    }
}

fn one_line(text: &str) -> String {
    text.lines().map(str::trim).collect::<Vec<_>>().join("; ")
}

/// Replaces the named pods with their spec in `plan` (auto-update: their image changed under
/// the same name). A pod that fails is removed and named in the error; nothing is restored,
/// since the caller's rollback is to point the image back, then ask again.
pub fn replace_pods(ctx: &Context<'_>, plan: &Plan, names: &[String]) -> Result<String, PlayError> {
    let wanted: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    let unknown: Vec<&str> = wanted
        .iter()
        .filter(|n| !plan.pods.iter().any(|p| p.name == **n))
        .copied()
        .collect();
    if !unknown.is_empty() {
        return Err(PlayError::Internal(format!(
            "no pod {} in this app",
            unknown.join(", ")
        )));
    }
    let sub = diff::subplan(plan, &wanted);
    apply::ensure_images(ctx, &sub)?;
    let mut failures = Vec::new();
    for name in start_order(plan, &wanted) {
        let Some(pod) = plan.pods.iter().find(|p| p.name == name) else {
            continue;
        };
        ctx.notifier
            .status(&format!("update: replacing pod {name}"));
        let result =
            stop_and_remove(ctx.engine, pod).and_then(|()| start_pod(ctx, pod, plan, None));
        if let Err(e) = result {
            failures.push(located(plan, &name, e));
        }
    }
    if failures.is_empty() {
        Ok(format!("replaced pod(s) {}", names.join(", ")))
    } else {
        Err(PlayError::Reload(failures))
    }
}

/// Networks, volumes and the images of the pods to start: done before any pod is touched, so
/// that a missing image or an unreachable registry leaves the app as it was.
fn prepare_shared(ctx: &Context<'_>, new: &Plan, diff: &Diff) -> Result<(), PlayError> {
    apply::check_podman_secrets(ctx.engine, new)?;
    let net_labels = [(LABEL_APP.to_string(), new.app.clone())].into();
    for net in &new.networks {
        ctx.engine.ensure_network(net, &net_labels)?;
    }
    apply::ensure_images(ctx, &diff::subplan(new, &diff.starting()))?;
    for volume in &new.volumes {
        if !ctx.engine.volume_exists(&volume.name)? {
            ctx.engine.create_volume(volume)?;
        }
    }
    Ok(())
}

/// Pod names of `set` in an order that honours `after` among themselves (plan order otherwise).
fn start_order(plan: &Plan, set: &BTreeSet<&str>) -> Vec<String> {
    let mut pending: Vec<&PodPlan> = plan
        .pods
        .iter()
        .filter(|p| set.contains(p.name.as_str()))
        .collect();
    let mut order: Vec<String> = Vec::new();
    while !pending.is_empty() {
        let ready = pending.iter().position(|p| {
            p.after
                .iter()
                .chain(&p.after_completed)
                .all(|a| !set.contains(a.as_str()) || order.contains(a))
        });
        // A cycle was refused by the planner; take the first rather than loop.
        let next = pending.remove(ready.unwrap_or(0));
        order.push(next.name.clone());
    }
    order
}

/// Stops (gracefully) and removes pods that are no longer in the YAML, with their file sets.
fn remove_pods(ctx: &Context<'_>, current: &Plan, names: &[String], failures: &mut Vec<PlayError>) {
    for name in names {
        ctx.notifier.status(&format!("reload: removing pod {name}"));
        let result = match current.pods.iter().find(|p| &p.name == name) {
            Some(pod) => stop_and_remove(ctx.engine, pod).map(|()| remove_file_sets(pod, current)),
            // Running but unknown to this executor (left by an older run): force-remove it.
            None => ctx
                .engine
                .remove_pods(std::slice::from_ref(name))
                .map_err(PlayError::from),
        };
        if let Err(e) = result {
            failures.push(e);
        }
    }
}

fn remove_file_sets(pod: &PodPlan, plan: &Plan) {
    for set in diff::file_sets_of(pod, plan) {
        if let Err(e) = apply::remove_dir(&set.dir) {
            eprintln!("quadplay: reload: remove {}: {e}", set.dir.display());
        }
    }
}

/// Each container with its own stop signal and grace period, then the pod.
fn stop_and_remove(engine: &dyn Engine, pod: &PodPlan) -> Result<(), PlayError> {
    let names: Vec<String> = pod.containers.iter().map(|c| c.name.clone()).collect();
    let err = |source| PlayError::Pod {
        workload: pod.workload.clone(),
        source,
    };
    engine.stop(&names, None).map_err(err)?;
    engine
        .remove_pods(std::slice::from_ref(&pod.name))
        .map_err(err)
}

/// How one pod's replacement failed.
enum Failure {
    /// The old spec runs again.
    RolledBack(PlayError),
    /// Neither the new nor the old spec runs.
    Lost(PlayError),
}

/// Replaces `old` (if running) with `new`; on failure starts `old` again.
fn replace(
    ctx: &Context<'_>,
    old: Option<(&PodPlan, &Plan)>,
    new: (&PodPlan, &Plan),
    port_wait: Option<Duration>,
) -> Result<(), Failure> {
    if let Some((pod, _)) = old {
        stop_and_remove(ctx.engine, pod).map_err(Failure::RolledBack)?;
    }
    let error = match start_pod(ctx, new.0, new.1, port_wait) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    let Some((pod, plan)) = old else {
        return Err(Failure::Lost(error));
    };
    ctx.notifier
        .status(&format!("reload: {}: rolling back", pod.workload));
    match start_pod(ctx, pod, plan, port_wait) {
        Ok(()) => Err(Failure::RolledBack(PlayError::RolledBack {
            workload: pod.workload.clone(),
            source: Box::new(error),
        })),
        Err(again) => Err(Failure::Lost(PlayError::RollbackFailed {
            workload: pod.workload.clone(),
            source: Box::new(error),
            rollback: Box::new(again),
        })),
    }
}

/// Creates one pod as a start does (files, secrets, pod, init containers, containers, probes);
/// on failure removes what it made.
fn start_pod(
    ctx: &Context<'_>,
    pod: &PodPlan,
    plan: &Plan,
    port_wait: Option<Duration>,
) -> Result<(), PlayError> {
    if let Some(wait) = port_wait {
        hostports::check(&diff::subplan(plan, &[pod.name.as_str()].into()), wait)?;
    }
    let log = UndoLog::default();
    let result = (|| {
        let labels = [(LABEL_APP.to_string(), plan.app.clone())].into();
        for secret in diff::secrets_of(pod, plan) {
            ctx.engine
                .create_secret(&secret.name, &secret.data, &labels)?;
        }
        for set in diff::file_sets_of(pod, plan) {
            log.push(Created::Files(set.dir.clone()));
            apply::write_file_set(set)?;
        }
        apply::apply_pod(ctx, pod, &log, &AtomicBool::new(false), true)
    })();
    if result.is_err() {
        for problem in log.roll_back(ctx.engine) {
            eprintln!("quadplay: reload: {problem}");
        }
    }
    result
}

/// Secrets and emptyDir volumes only the old plan had, once no pod uses them.
fn remove_unused(
    engine: &dyn Engine,
    current: &Plan,
    new: &Plan,
    restored: &BTreeSet<String>,
    failures: &mut Vec<PlayError>,
) {
    let still_used = |pred: &dyn Fn(&PodPlan) -> bool| {
        current
            .pods
            .iter()
            .filter(|p| restored.contains(&p.name))
            .any(pred)
    };
    for secret in &current.secrets {
        let gone = !new.secrets.iter().any(|s| s.name == secret.name);
        let used = still_used(&|p| {
            diff::secrets_of(p, current)
                .iter()
                .any(|s| s.name == secret.name)
        });
        if gone && !used {
            if let Err(e) = engine.remove_secret(&secret.name) {
                failures.push(e.into());
            }
        }
    }
    for volume in current.volumes.iter().filter(|v| !v.keep_on_down) {
        let gone = !new.volumes.iter().any(|v| v.name == volume.name);
        let used = still_used(&|p| {
            diff::volumes_of(p, current)
                .iter()
                .any(|v| v.name == volume.name)
        });
        if gone && !used {
            if let Err(e) = engine.remove_volume(&volume.name) {
                failures.push(e.into());
            }
        }
    }
}

/// The plan that runs after a reload: `new`, except that rolled-back pods run their old spec
/// (with the file sets and secrets it uses) and lost pods run nothing.
fn merge(
    new: &Plan,
    current: &Plan,
    restored: &BTreeSet<String>,
    missing: &BTreeSet<String>,
) -> Plan {
    let mut plan = new.clone();
    plan.pods.retain(|p| !missing.contains(&p.name));
    for pod in plan.pods.iter_mut() {
        if !restored.contains(&pod.name) {
            continue;
        }
        let Some(old) = current.pods.iter().find(|p| p.name == pod.name) else {
            continue;
        };
        for set in diff::file_sets_of(old, current) {
            plan.files.retain(|s| s.dir != set.dir);
            plan.files.push(set.clone());
        }
        for secret in diff::secrets_of(old, current) {
            if !plan.secrets.iter().any(|s| s.name == secret.name) {
                plan.secrets.push(secret.clone());
            }
        }
        *pod = old.clone();
    }
    plan
}

#[cfg(test)]
#[path = "reload_tests.rs"]
mod tests;
