//! Supervise a running app until it is done or asked to stop.
//!
//! Restarts are Podman's job: every container is created with `--restart` from its pod's
//! `restartPolicy` (always / on-failure / no), and Podman's exit handler (`podman container
//! cleanup`, run by conmon) restarts it even while we sleep or are being restarted ourselves.
//! Doing it ourselves would mean a `podman start` per exit plus backoff bookkeeping here, and
//! nothing would restart containers if the executor died. What stays here:
//!
//! * one watch over our containers' deaths — an inotify watch on conmon's exit directory
//!   (`engine::exitwatch`; no helper process, no polling), else one `podman events` stream
//!   filtered on our app label — we block on it, so an idle app costs no CPU in this process; on
//!   every death we inspect our containers once and decide whether everything is done (exited
//!   and not going to be restarted);
//! * liveness probes, one small thread per probed container, sleeping between checks;
//! * stop requests (SIGTERM/SIGINT) arriving as messages.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use crate::engine::{ContainerState, Engine, EngineError, Watch, WatchEvent};
use crate::plan::ExitCodePropagation;
use crate::plan::{ContainerPlan, Plan, Probe, RestartPolicy, LABEL_APP};

use super::control::Pending;
use super::probe;
use super::signals::StopFlag;
use super::PlayError;

/// What the supervisor hears about.
#[derive(Debug, Clone)]
pub enum Msg {
    Watch(WatchEvent),
    Signal(i32),
    /// A container failed its liveness probe `failureThreshold` times in a row.
    Liveness(String),
    /// A client of the control socket asks for a reload or a pod replacement.
    Control(Pending),
}

/// How supervision ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Every container is done; the exit status per ExitCodePropagation.
    Done(u8),
    /// A stop was requested.
    Stopped,
    /// A control request: the caller applies it, then supervises the app it leaves.
    Control(Pending),
}

/// How often to look when the event stream cannot be kept up.
const FALLBACK_POLL: Duration = Duration::from_secs(10);
/// Event stream restarts tried before falling back to polling.
const MAX_WATCH_RESTARTS: u32 = 5;

/// The exit status once every container is done.
pub fn propagate(policy: ExitCodePropagation, states: &[ContainerState]) -> u8 {
    let failed: Vec<&ContainerState> = states.iter().filter(|s| s.exit_code != 0).collect();
    let code = |s: &ContainerState| {
        u8::try_from(s.exit_code)
            .ok()
            .filter(|c| *c != 0)
            .unwrap_or(1)
    };
    match policy {
        ExitCodePropagation::None => 0,
        ExitCodePropagation::Any => failed.first().map(|s| code(s)).unwrap_or(0),
        ExitCodePropagation::All => {
            if !states.is_empty() && failed.len() == states.len() {
                failed.first().map(|s| code(s)).unwrap_or(1)
            } else {
                0
            }
        }
    }
}

fn app_containers(plan: &Plan) -> Vec<&ContainerPlan> {
    plan.pods.iter().flat_map(|p| p.containers.iter()).collect()
}

/// Where the app stands after one look at its containers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Standing {
    /// Something runs (or will be restarted on failure).
    Running,
    /// Something is between states (`stopping`, `removing`, ...): the exit file conmon writes
    /// can arrive before Podman's own bookkeeping, so look again shortly.
    Changing,
    /// Every container has exited, but some have a policy that restarts them — unless they were
    /// stopped on purpose (`podman stop`), which Podman does not undo. The key is the exit times
    /// of those containers: unchanged after [`SETTLE`], they were not restarted.
    Settling(Vec<String>, Vec<ContainerState>),
    /// Every container is done for good.
    Done(Vec<ContainerState>),
}

/// How long an exited container with restartPolicy Always must stay exited to count as stopped
/// for good (Podman restarts at once; only a deliberate stop lasts).
const SETTLE: Duration = Duration::from_secs(5);
/// How soon to look again at a container between states.
const RECHECK: Duration = Duration::from_millis(500);

/// Inspects our containers. A container that vanished (removed behind our back) counts as done
/// with a failure.
fn standing(engine: &dyn Engine, names: &[String]) -> Result<Standing, EngineError> {
    let states = engine.inspect(names)?;
    let mut finals = Vec::with_capacity(names.len());
    let mut key = Vec::new();
    for name in names {
        match states.iter().find(|s| &s.name == name) {
            Some(s) if s.is_done() => finals.push(s.clone()),
            Some(s) if s.is_exited() => {
                key.push(format!("{}@{}", s.name, s.finished_at));
                finals.push(s.clone());
            }
            Some(s) if s.is_running() => return Ok(Standing::Running),
            Some(_) => return Ok(Standing::Changing),
            None => finals.push(ContainerState {
                name: name.clone(),
                status: "removed".into(),
                exit_code: 1,
                restart_policy: String::new(),
                finished_at: String::new(),
            }),
        }
    }
    Ok(if key.is_empty() {
        Standing::Done(finals)
    } else {
        Standing::Settling(key, finals)
    })
}

fn start_watch(
    engine: &dyn Engine,
    plan: &Plan,
    tx: &Sender<Msg>,
) -> Result<Box<dyn Watch>, EngineError> {
    let tx = tx.clone();
    engine.watch_deaths(
        LABEL_APP,
        &plan.app,
        Box::new(move |event| tx.send(Msg::Watch(event)).is_ok()),
    )
}

fn liveness_loop(
    engine: &dyn Engine,
    name: &str,
    probe: &Probe,
    tx: &Sender<Msg>,
    stop: &StopFlag,
) {
    let period = Duration::from_secs(probe.period_seconds.max(1));
    let threshold = probe.failure_threshold.max(1);
    let mut delay = Duration::from_secs(probe.initial_delay_seconds);
    let mut failures = 0;
    loop {
        if stop.sleep(delay) {
            return;
        }
        delay = period;
        if probe::check(engine, name, probe) {
            failures = 0;
            continue;
        }
        failures += 1;
        if failures >= threshold {
            failures = 0;
            if tx.send(Msg::Liveness(name.to_string())).is_err() {
                return;
            }
            // As Kubernetes: the restarted container gets its initial delay again.
            delay = period + Duration::from_secs(probe.initial_delay_seconds);
        }
    }
}

/// Kubernetes kills a container that fails liveness; it comes back unless the policy is Never.
fn on_liveness_failure(engine: &dyn Engine, plan: &Plan, name: &str) {
    let policy = app_containers(plan)
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.restart_policy)
        .unwrap_or_default();
    eprintln!(
        "quadplay: {name}: liveness probe failed, {}",
        match policy {
            RestartPolicy::Never => "stopping it (restartPolicy Never)",
            _ => "restarting it",
        }
    );
    let result = match policy {
        RestartPolicy::Never => engine.stop(&[name.to_string()], None),
        _ => engine.restart(name),
    };
    if let Err(e) = result {
        eprintln!("quadplay: {name}: {e}");
    }
}

/// Runs until every container is done or a stop is requested. `tx` is the sender side of `rx`
/// (the signal thread holds another).
pub fn supervise(
    engine: &dyn Engine,
    plan: &Plan,
    stop: &StopFlag,
    tx: &Sender<Msg>,
    rx: &Receiver<Msg>,
) -> Result<Outcome, PlayError> {
    if stop.is_set() {
        return Ok(Outcome::Stopped);
    }
    let names: Vec<String> = app_containers(plan)
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let probes_done = StopFlag::new();
    thread::scope(|s| {
        for c in app_containers(plan) {
            if let Some(probe) = &c.liveness {
                let (name, probes_done) = (c.name.as_str(), &probes_done);
                let spawned = thread::Builder::new()
                    .name("liveness".into())
                    .stack_size(128 * 1024)
                    .spawn_scoped(s, move || {
                        liveness_loop(engine, name, probe, tx, probes_done)
                    });
                if let Err(e) = spawned {
                    eprintln!("quadplay: {name}: liveness probe not run: {e}");
                }
            }
        }
        let outcome = event_loop(engine, plan, &names, stop, tx, rx);
        probes_done.set();
        outcome
    })
}

fn event_loop(
    engine: &dyn Engine,
    plan: &Plan,
    names: &[String],
    stop: &StopFlag,
    tx: &Sender<Msg>,
    rx: &Receiver<Msg>,
) -> Result<Outcome, PlayError> {
    // Without an event stream (events_logger=none, a broken events file) the app still runs:
    // supervision falls back to looking every FALLBACK_POLL.
    let mut watch = match start_watch(engine, plan, tx) {
        Ok(w) => Some(w),
        Err(e) => {
            eprintln!("quadplay: warning: cannot follow Podman events ({e}); polling instead");
            None
        }
    };
    let mut restarts = 0;
    // (deadline, key) while every container looks exited but some might still be restarted.
    let mut settling: Option<(Instant, Vec<String>)> = None;
    // Containers may have died before the stream was listening: look once now.
    let mut check = true;
    loop {
        if stop.is_set() {
            return Ok(Outcome::Stopped);
        }
        if check {
            let finals = match standing(engine, names)? {
                Standing::Running => {
                    settling = None;
                    None
                }
                Standing::Changing => {
                    settling = Some((Instant::now() + RECHECK, Vec::new()));
                    None
                }
                Standing::Done(states) => Some(states),
                Standing::Settling(key, states) => match &settling {
                    Some((deadline, seen)) if *seen == key && Instant::now() >= *deadline => {
                        Some(states)
                    }
                    Some((_, seen)) if *seen == key => None,
                    _ => {
                        settling = Some((Instant::now() + SETTLE, key));
                        None
                    }
                },
            };
            if let Some(states) = finals {
                if let Some(mut w) = watch.take() {
                    w.stop();
                }
                return Ok(Outcome::Done(propagate(
                    plan.exit_code_propagation,
                    &states,
                )));
            }
        }
        let msg = match (&settling, &watch) {
            (Some((deadline, _)), _) => {
                rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            }
            (None, Some(_)) => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            (None, None) => rx.recv_timeout(FALLBACK_POLL),
        };
        check = false;
        match msg {
            Ok(Msg::Signal(_)) => return Ok(Outcome::Stopped),
            Ok(Msg::Watch(WatchEvent::Died { .. })) => check = true,
            Ok(Msg::Watch(WatchEvent::Ended)) => {
                watch = None;
                check = true;
                if restarts < MAX_WATCH_RESTARTS && !stop.sleep(Duration::from_secs(1)) {
                    restarts += 1;
                    match start_watch(engine, plan, tx) {
                        Ok(w) => watch = Some(w),
                        Err(e) => eprintln!("quadplay: event stream: {e}; polling instead"),
                    }
                }
            }
            Ok(Msg::Liveness(name)) => on_liveness_failure(engine, plan, &name),
            Ok(Msg::Control(pending)) => return Ok(Outcome::Control(pending)),
            Err(RecvTimeoutError::Timeout) => check = true,
            Err(RecvTimeoutError::Disconnected) => {
                return Err(PlayError::Internal("supervisor channel closed".into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(code: i32) -> ContainerState {
        ContainerState {
            name: format!("c{code}"),
            status: "exited".into(),
            exit_code: code,
            restart_policy: "no".into(),
            finished_at: String::new(),
        }
    }

    #[test]
    fn propagation_matrix() {
        use ExitCodePropagation::*;
        // As podman's 260-sdnotify.bats: all/true,false→0; all/false,false→fail; any/false,true→fail.
        assert_eq!(propagate(All, &[st(0), st(1)]), 0);
        assert_eq!(propagate(All, &[st(1), st(2)]), 1);
        assert_eq!(propagate(Any, &[st(1), st(0)]), 1);
        assert_eq!(propagate(Any, &[st(0), st(0)]), 0);
        assert_eq!(propagate(Any, &[st(0), st(3)]), 3);
        assert_eq!(propagate(None, &[st(1), st(1)]), 0);
        assert_eq!(propagate(All, &[]), 0);
        assert_eq!(propagate(Any, &[st(-1)]), 1);
    }
}
