//! The kube-play executor: plan, apply (with rollback), supervise, down.
//!
//! `quadplay play` is the main process of a `Type=notify` unit:
//!
//! ```text
//! load → plan → clear leftovers → apply (undo log) → READY=1 → supervise → tear down → exit
//!                                     SIGTERM at any point ──────────────► tear down → exit 0
//! ```

pub mod apply;
mod completion;
pub mod control;
pub mod crashloop;
pub mod credentials;
pub mod diff;
pub mod down;
pub mod dryrun;
pub mod hostports;
pub mod notify;
pub mod plan;
pub mod probe;
pub mod reload;
pub mod scope;
pub mod signals;
pub mod status;
pub mod supervise;
pub mod workdir;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender};
use std::time::Duration;

use thiserror::Error;

use crate::engine::{Engine, EngineError};

use self::apply::Context;
use self::down::{DownError, Scope};
use self::notify::Notifier;
use self::signals::StopFlag;
use self::supervise::{Msg, Outcome};
use crate::plan::Plan;

/// Why `play` or `down` failed. Messages name the workload, the container and Podman's words.
#[derive(Debug, Error)]
pub enum PlayError {
    #[error(transparent)]
    Load(#[from] crate::kube::KubeError),
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    #[error("{0}")]
    Engine(#[from] EngineError),
    #[error("{workload}: {source}")]
    Pod {
        workload: String,
        source: EngineError,
    },
    #[error("{workload}: container {container}: {source}")]
    Container {
        workload: String,
        container: String,
        source: EngineError,
    },
    #[error("{workload}: init container {container} exited with code {code}{}", tail(.output))]
    InitFailed {
        workload: String,
        container: String,
        code: i32,
        output: String,
    },
    #[error("{workload}: waits for {dependency} to complete, but its container {container} exited with code {code}{}", tail(.output))]
    DependencyFailed {
        workload: String,
        dependency: String,
        container: String,
        code: i32,
        output: String,
    },
    #[error("{workload}: container {container}: {kind} probe failed {failures} times in a row")]
    Probe {
        workload: String,
        container: String,
        kind: String,
        failures: u32,
    },
    #[error("{workload}: container {container}: image {image} is not present and imagePullPolicy is Never")]
    ImageMissing {
        workload: String,
        container: String,
        image: String,
    },
    #[error("{}: {source}", .path.display())]
    Files {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `origin` is where the YAML asked for it (`app.yaml:12:9: Pod/web: spec.volumes[0]...: `).
    #[error("{origin}{}: {message}", .path.display())]
    HostPath {
        origin: String,
        path: PathBuf,
        message: String,
    },
    #[error(transparent)]
    PortUnavailable(#[from] hostports::PortUnavailable),
    /// `origin` is the `io.quadplay.podman-secrets` annotation that names it.
    #[error("{origin}Podman secret `{name}` does not exist; create it first (`podman secret create {name} FILE`, or `-` to read stdin)")]
    PodmanSecretMissing { origin: String, name: String },
    #[error("pods wait for each other in a cycle: {0}")]
    Cycle(String),
    #[error("--strict: {0} unsupported field(s) or kind(s), listed above")]
    Strict(usize),
    #[error("stopped by a signal before the app was up")]
    Interrupted,
    /// Another pod of the same wave failed; that pod's error is the one reported.
    #[error("aborted because another pod failed")]
    Aborted,
    #[error("{} problem(s) while tearing down:\n  {}", .0.len(), join(.0))]
    Down(Vec<DownError>),
    #[error("{}: exited with code {} after {} restart(s) in a crash loop: --max-restarts reached, the app was stopped{}", .0.container, .0.exit_code, .0.restarts, tail(.1))]
    CrashLoop(supervise::GaveUp, String),
    #[error("internal error: {0}")]
    Internal(String),
    /// A pod that failed after planning, with where the YAML writes its workload's containers
    /// (`app.yaml:9:7: Deployment/web: spec.template.spec.containers: `).
    #[error("{origin}{source}")]
    Located {
        origin: String,
        source: Box<PlayError>,
    },
    /// A changed workload failed to start and its previous spec runs again.
    #[error("{workload}: the new spec failed, rolled back to the running one: {source}")]
    RolledBack {
        workload: String,
        source: Box<PlayError>,
    },
    #[error("{workload}: the new spec failed: {source}; starting the previous one failed too: {rollback}")]
    RollbackFailed {
        workload: String,
        source: Box<PlayError>,
        rollback: Box<PlayError>,
    },
    /// `quadplay reload` could not reach the running executor.
    #[error(transparent)]
    Control(#[from] control::ClientError),
    /// Some workloads of a reload failed (each error names its workload); the others changed.
    #[error("{} workload(s) failed:\n  {}", .0.len(), join_errors(.0))]
    Reload(Vec<PlayError>),
}

fn join_errors(errors: &[PlayError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n  ")
}

fn tail(output: &str) -> String {
    if output.is_empty() {
        String::new()
    } else {
        format!("; last output:\n{output}")
    }
}

fn join(errors: &[DownError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// How one `play` run behaves beyond the plan.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Apply, report READY, and return without supervising.
    pub detach: bool,
    /// Move Podman's shared network helpers out of our cgroup (see [`scope`]); under systemd.
    pub rescue_helpers: bool,
    /// Check that the published host ports are free before creating anything, waiting this long
    /// for a port an earlier run still holds (see [`hostports`]); `None` skips the check (a
    /// remote Podman binds on another machine).
    pub port_wait: Option<Duration>,
    /// When and how often the supervisor restarts exited containers.
    pub backoff: crashloop::Backoff,
    /// Keep restart counts for `quadplay status` in the app's runtime directory.
    pub record_restarts: bool,
}

/// Prints the plan's warnings on stderr; with `strict` they are an error.
pub fn report_warnings(plan: &Plan, strict: bool) -> Result<(), PlayError> {
    let level = if strict { "error" } else { "warning" };
    for w in &plan.warnings {
        eprintln!("quadplay: {level}: {w}");
    }
    if strict && !plan.warnings.is_empty() {
        return Err(PlayError::Strict(plan.warnings.len()));
    }
    Ok(())
}

/// Plans the app again from its files: what `systemctl reload` applies.
pub type Replan<'a> = &'a dyn Fn() -> Result<Plan, PlayError>;

/// Runs a planned app: clear leftovers, apply, READY, supervise, tear down. Returns the exit
/// status. `tx`/`rx` carry stop requests (the signal thread holds a clone of `tx`).
pub fn execute(
    engine: &dyn Engine,
    plan: &Plan,
    options: RunOptions,
    notifier: Notifier,
    stop: &StopFlag,
    tx: &Sender<Msg>,
    rx: &Receiver<Msg>,
) -> Result<u8, PlayError> {
    execute_with(engine, plan, options, notifier, stop, tx, rx, None)
}

/// [`execute`], answering control requests ([`control`]) while it supervises: `replan` gives
/// the new plan for a reload (without it, a reload fails and changes nothing).
#[allow(clippy::too_many_arguments)]
pub fn execute_with(
    engine: &dyn Engine,
    plan: &Plan,
    options: RunOptions,
    notifier: Notifier,
    stop: &StopFlag,
    tx: &Sender<Msg>,
    rx: &Receiver<Msg>,
    replan: Option<Replan<'_>>,
) -> Result<u8, PlayError> {
    let mut plan = apply::prepare(plan);
    if options.detach {
        // No supervisor stays to restart containers: Podman does, per restartPolicy.
        plan.pods
            .iter_mut()
            .flat_map(|p| p.containers.iter_mut())
            .for_each(|c| c.podman_restarts = true);
    }
    notifier.status("removing leftovers of an earlier run");
    apply::clear_leftovers(engine, &plan)?;
    if let Some(wait) = options.port_wait {
        notifier.status("checking host ports");
        hostports::check(&plan, wait)?;
    }
    let ctx = Context {
        engine,
        notifier,
        stop,
    };
    match apply::apply(&ctx, &plan) {
        Ok(()) => {}
        // Stopped while starting: the undo log already removed what we made; that is a stop.
        Err(PlayError::Interrupted) => {
            notifier.stopping("stopped while starting");
            return Ok(0);
        }
        Err(e) => return Err(e),
    }
    if options.rescue_helpers {
        scope::rescue_shared_helpers();
    }
    let containers: usize = plan.pods.iter().map(|p| p.containers.len()).sum();
    notifier.ready(&format!(
        "running: {} pod(s), {containers} container(s)",
        plan.pods.len()
    ));
    if options.detach {
        return Ok(0);
    }
    release_free_memory();
    let restarts_file = options
        .record_restarts
        .then(|| restarts_file(&plan.app))
        .flatten();
    let settings = supervise::Settings {
        backoff: options.backoff,
        notifier,
        restarts_file: restarts_file.clone(),
    };
    // Crash-loop counts live across reloads for the containers a reload leaves alone.
    let mut loops = BTreeMap::new();
    let outcome = loop {
        let chan = (tx, rx);
        match supervise::supervise(engine, &plan, settings.clone(), stop, chan, &mut loops) {
            Ok(Outcome::Control(pending)) => {
                let touched;
                (plan, touched) = answer(&ctx, plan, pending, replan, options.port_wait);
                forget_loops(&mut loops, &plan, &touched);
            }
            other => break other,
        }
    };
    if let Some(path) = &restarts_file {
        let _ = std::fs::remove_file(path);
    }
    let code = match outcome {
        Ok(Outcome::GaveUp(g)) => {
            notifier.stopping(&format!(
                "{}: CrashLoopBackOff, {} restarts: --max-restarts reached, stopping",
                g.container, g.restarts
            ));
            let output = engine.logs_tail(&g.name, 10).unwrap_or_default();
            let errors = down::teardown(engine, &plan, false, Scope::Planned);
            for e in &errors {
                eprintln!("quadplay: while stopping: {e}");
            }
            return Err(PlayError::CrashLoop(g, output));
        }
        Ok(Outcome::Stopped) => {
            notifier.stopping("stopping");
            0
        }
        Ok(Outcome::Done(code)) => {
            notifier.stopping(&format!("all containers done, exit status {code}"));
            code
        }
        Ok(Outcome::Control(_)) => unreachable!("control requests are answered in the loop"),
        Err(e) => {
            // Supervision broke down: still remove everything, then report.
            let _ = down::teardown(engine, &plan, false, Scope::Labelled);
            return Err(e);
        }
    };
    let errors = down::teardown(engine, &plan, false, Scope::Planned);
    if options.rescue_helpers {
        // A container restart may have started new helpers in our cgroup since READY.
        scope::rescue_shared_helpers();
    }
    if !errors.is_empty() {
        return Err(PlayError::Down(errors));
    }
    Ok(code)
}

/// Drops the crash-loop state of the containers of `touched` pods (new containers, or gone),
/// and of every container no longer planned.
fn forget_loops(
    loops: &mut BTreeMap<String, crashloop::CrashLoop>,
    plan: &Plan,
    touched: &BTreeSet<String>,
) {
    let kept: BTreeSet<&str> = plan
        .pods
        .iter()
        .filter(|p| !touched.contains(&p.name))
        .flat_map(|p| p.containers.iter().map(|c| c.name.as_str()))
        .collect();
    loops.retain(|name, _| kept.contains(name.as_str()));
}

/// Applies one control request to the running app; returns the plan that runs afterwards and
/// the pods it stopped, created or removed. systemd sees `RELOADING=1` until the verdict, then
/// `READY=1` again (the app runs either way).
fn answer(
    ctx: &Context<'_>,
    plan: Plan,
    pending: control::Pending,
    replan: Option<Replan<'_>>,
    port_wait: Option<Duration>,
) -> (Plan, BTreeSet<String>) {
    ctx.notifier.reloading("reloading");
    let mut touched = BTreeSet::new();
    let (plan, result) = match &pending.request {
        control::Request::Reload => {
            let new = match replan {
                Some(replan) => replan(),
                None => Err(PlayError::Internal(
                    "this run cannot re-read its YAML".into(),
                )),
            };
            match new {
                Ok(new) => {
                    for w in &new.warnings {
                        pending.say(&format!("warning: {w}"));
                    }
                    let done = reload::reload(ctx, &plan, &new, port_wait);
                    touched = done.touched;
                    (done.plan, done.result)
                }
                Err(e) => (plan, Err(e)),
            }
        }
        control::Request::Replace(pods) => {
            touched = pods.iter().cloned().collect();
            let result = reload::replace_pods(ctx, &plan, pods);
            (plan, result)
        }
    };
    match &result {
        Ok(summary) => eprintln!("quadplay: reload: {summary}"),
        Err(e) => eprintln!("quadplay: reload failed: {e}"),
    }
    let containers: usize = plan.pods.iter().map(|p| p.containers.len()).sum();
    ctx.notifier.ready(&format!(
        "running: {} pod(s), {containers} container(s){}",
        plan.pods.len(),
        if result.is_ok() {
            ""
        } else {
            "; last reload failed"
        }
    ));
    pending.finish(&result);
    (plan, touched)
}

/// `$XDG_RUNTIME_DIR/quadplay/<app>/restarts`, its directory made (owner only) if missing.
fn restarts_file(app: &str) -> Option<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = crate::engine::podman::runtime_dir()
        .join("quadplay")
        .join(app);
    let made = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir);
    match made {
        Ok(()) => Some(dir.join(status::RESTARTS_FILE)),
        Err(e) => {
            eprintln!(
                "quadplay: {}: {e}; restarts are not recorded",
                dir.display()
            );
            None
        }
    }
}

/// Hands memory used only during start-up back to the kernel, so that the long-running
/// supervisor stays small: heap freed by the pod threads and the D-Bus connection, and the
/// mapped code pages of start-up (the kernel maps a binary's text in large chunks, so nearly
/// all of our 4 MB binary counts as resident after apply). Only executable (`r-xp`) file
/// mappings are dropped: they are never written, so the pages the supervisor still needs are
/// simply faulted in again from the page cache. Writable or relocated mappings are left alone.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own heap structures; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    for (start, end) in code_mappings(&maps) {
        // SAFETY: the range is a whole read-only executable file mapping of this process;
        // MADV_DONTNEED on it only drops page-table entries, and the unchanged file backs them.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}

/// `(start, end)` of the read-only, executable, file-backed mappings in `/proc/self/maps` text.
fn code_mappings(maps: &str) -> Vec<(usize, usize)> {
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let range = fields.next()?;
            let perms = fields.next()?;
            let path = fields.nth(3)?;
            if perms != "r-xp" || !path.starts_with('/') {
                return None;
            }
            let (start, end) = range.split_once('-')?;
            let start = usize::from_str_radix(start, 16).ok()?;
            let end = usize::from_str_radix(end, 16).ok()?;
            (end > start).then_some((start, end))
        })
        .collect()
}

/// Tears down what `play` made for the plan; every error is reported.
pub fn execute_down(engine: &dyn Engine, plan: &Plan, force: bool) -> Result<(), PlayError> {
    let plan = apply::prepare(plan);
    let errors = down::teardown(engine, &plan, force, Scope::Labelled);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(PlayError::Down(errors))
    }
}

#[cfg(test)]
mod tests;
