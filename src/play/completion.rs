//! Waiting for one-shot dependencies: a pod whose workload names others in
//! `io.quadplay.after-completed` (compose's `depends_on: condition:
//! service_completed_successfully`, a database migration run before the app) is created only
//! once every container of those pods has exited for good with status 0. A non-zero exit fails
//! the start, naming both workloads, the container, its code and its last output.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::apply::{check_stop, sleep_unless_aborted, Context};
use super::PlayError;
use crate::engine::ContainerState;
use crate::plan::{Plan, PodPlan};

/// How often the dependency's containers are looked at while it runs.
const POLL: Duration = Duration::from_millis(250);

/// Returns once every pod of `pod.after_completed` has completed successfully.
pub(super) fn wait_for_dependencies(
    ctx: &Context<'_>,
    plan: &Plan,
    pod: &PodPlan,
    abort: &AtomicBool,
) -> Result<(), PlayError> {
    for name in &pod.after_completed {
        let Some(dep) = plan.pods.iter().find(|p| p.name == *name) else {
            continue;
        };
        ctx.notifier
            .status(&format!("waiting for {} to complete", dep.workload));
        let states = wait_until_done(ctx, dep, abort)?;
        if let Some(failed) = states.iter().find(|s| s.exit_code != 0) {
            let output = ctx.engine.logs_tail(&failed.name, 5).unwrap_or_default();
            return Err(PlayError::DependencyFailed {
                workload: pod.workload.clone(),
                dependency: dep.workload.clone(),
                container: failed.name.clone(),
                code: failed.exit_code,
                output,
            });
        }
    }
    Ok(())
}

/// The states of `dep`'s containers once all of them are done (exited, not to be restarted).
fn wait_until_done(
    ctx: &Context<'_>,
    dep: &PodPlan,
    abort: &AtomicBool,
) -> Result<Vec<ContainerState>, PlayError> {
    let names: Vec<String> = dep.containers.iter().map(|c| c.name.clone()).collect();
    loop {
        let states = ctx.engine.inspect(&names)?;
        if states.len() < names.len() {
            return Err(PlayError::Internal(format!(
                "{}: a container disappeared before it completed",
                dep.workload
            )));
        }
        if states.iter().all(ContainerState::is_done) {
            return Ok(states);
        }
        if sleep_unless_aborted(ctx, abort, POLL) {
            check_stop(ctx)?;
            return Err(PlayError::Aborted);
        }
    }
}
