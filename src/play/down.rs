//! Tear an app down: what `quadplay down` does, and what `play` does when asked to stop.
//!
//! Everything is attempted and every failure is collected (as netavark does), so one stuck
//! object never hides the others. Missing objects are fine: `down` runs as `ExecStopPost` after
//! `play` already cleaned up, after `play` was SIGKILLed, and by hand, any number of times.

use std::collections::BTreeSet;
use std::fmt;

use crate::engine::{Engine, EngineError};
use crate::plan::{Plan, LABEL_APP};

/// One thing `down` could not do.
#[derive(Debug)]
pub struct DownError {
    /// What it was doing, e.g. `remove secret web-db`.
    pub step: String,
    pub message: String,
}

impl fmt::Display for DownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.step, self.message)
    }
}

fn record(errors: &mut Vec<DownError>, step: &str, result: Result<(), EngineError>) {
    if let Err(e) = result {
        errors.push(DownError {
            step: step.to_string(),
            message: e.to_string(),
        });
    }
}

/// Which objects a teardown goes after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only what the plan names: `play` tearing down what it made itself (saves two Podman calls).
    Planned,
    /// Also whatever carries the app's label: `down`, possibly after a crash or a changed YAML.
    Labelled,
}

/// Stops (gracefully: each container's own stop signal and timeout) and removes the app's pods
/// and containers, its secrets and file sets, its emptyDir volumes, and its PVC volumes only
/// with `force`. Returns every error met.
pub fn teardown(engine: &dyn Engine, plan: &Plan, force: bool, scope: Scope) -> Vec<DownError> {
    let mut errors = Vec::new();
    let mut pods: BTreeSet<String> = plan.pods.iter().map(|p| p.name.clone()).collect();
    let mut containers: BTreeSet<String> = BTreeSet::new();
    if scope == Scope::Planned {
        containers.extend(
            plan.pods
                .iter()
                .flat_map(|p| p.containers.iter().map(|c| c.name.clone())),
        );
    } else {
        match engine.list_pods(LABEL_APP, &plan.app) {
            Ok(found) => pods.extend(found),
            Err(e) => record(&mut errors, "list pods", Err(e)),
        }
        match engine.list_containers(LABEL_APP, &plan.app) {
            Ok(found) => containers.extend(found),
            Err(e) => record(&mut errors, "list containers", Err(e)),
        }
    }
    let containers: Vec<String> = containers.into_iter().collect();
    // Without a timeout argument Podman uses each container's --stop-timeout/--stop-signal,
    // which apply set from terminationGracePeriodSeconds bounded by --stop-timeout.
    record(
        &mut errors,
        "stop containers",
        engine.stop(&containers, None),
    );
    let pods: Vec<String> = pods.into_iter().collect();
    record(&mut errors, "remove pods", engine.remove_pods(&pods));
    if scope == Scope::Labelled {
        // Containers outside any pod (a crashed create); pod removal took the others.
        record(
            &mut errors,
            "remove containers",
            engine.remove_containers(&containers),
        );
    }
    for secret in &plan.secrets {
        let step = format!("remove secret {}", secret.name);
        record(
            &mut errors,
            &step,
            engine.remove_secret(&secret.name).map(|_| ()),
        );
    }
    for set in &plan.files {
        if let Err(e) = std::fs::remove_dir_all(&set.dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                errors.push(DownError {
                    step: format!("remove {}", set.dir.display()),
                    message: e.to_string(),
                });
            }
        }
        // The parents up to the per-app directory go once empty; `remove_dir` refuses non-empty ones.
        let mut parent = set.dir.parent();
        while let Some(dir) = parent.filter(|d| d.starts_with(&set.app_dir)) {
            if std::fs::remove_dir(dir).is_err() {
                break;
            }
            parent = dir.parent();
        }
    }
    for volume in &plan.volumes {
        if volume.keep_on_down && !force {
            continue;
        }
        let step = format!("remove volume {}", volume.name);
        record(
            &mut errors,
            &step,
            engine.remove_volume(&volume.name).map(|_| ()),
        );
    }
    errors
}
