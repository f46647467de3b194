//! Supervise a running app until it is done, gives up on a crash loop, or is asked to stop.
//!
//! Restarts are ours, not Podman's: containers are created with `--restart no` (unless
//! `--detach`, where no supervisor stays), and when one exits and its pod's `restartPolicy`
//! says so, this loop starts it again after the kubelet's back-off ([`super::crashloop`]). Podman
//! restarts at once and forever, so a container that exits at start would spin unseen; here it
//! backs off (the first restart at once, then 10 s doubling to 5 min), `STATUS=` names it ("web/app: CrashLoopBackOff, 3
//! restarts"), and after `--max-restarts` restarts in one loop the app is torn down and the unit
//! fails, where `Restart=`/`OnFailure=` and monitoring see it. If the executor itself dies, the
//! unit is over anyway (`ExecStopPost=quadplay down`), so nothing needs Podman to restart
//! containers behind our back. What else runs here:
//!
//! * one watch over our containers' deaths — an inotify watch on conmon's exit directory
//!   (`engine::exitwatch`; no helper process, no polling), else one `podman events` stream
//!   filtered on our app label — we block on it (or on the next restart that is due), so an idle
//!   app costs no CPU in this process; on every death we inspect our containers once;
//! * liveness probes, one small thread per probed container, sleeping between checks; a failed
//!   one stops its container, which the restart policy then brings back;
//! * stop requests (SIGTERM/SIGINT) arriving as messages.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use crate::engine::{ContainerState, Engine, EngineError, Watch, WatchEvent};
use crate::plan::ExitCodePropagation;
use crate::plan::{ContainerPlan, Plan, Probe, RestartPolicy, LABEL_APP};

use super::control::Pending;
use super::crashloop::{Backoff, CrashLoop, Decision};
use super::notify::Notifier;
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
    /// A container exited again after `--max-restarts` restarts in one crash loop.
    GaveUp(GaveUp),
}

/// The container whose crash loop ended the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GaveUp {
    /// `pod/container`.
    pub container: String,
    /// The Podman container name.
    pub name: String,
    pub exit_code: i32,
    pub restarts: u32,
}

/// How the supervisor behaves beyond the plan.
#[derive(Debug, Clone)]
pub struct Settings {
    pub backoff: Backoff,
    pub notifier: Notifier,
    /// Where to keep restart counts for `quadplay status` ([`super::status::RESTARTS_FILE`]).
    pub restarts_file: Option<std::path::PathBuf>,
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

/// A supervised container: its plan and its pod's name, for messages (`pod/container`).
struct Member<'a> {
    pod: &'a str,
    plan: &'a ContainerPlan,
}

impl Member<'_> {
    fn label(&self) -> String {
        format!("{}/{}", self.pod, self.plan.short_name)
    }
}

fn members(plan: &Plan) -> Vec<Member<'_>> {
    plan.pods
        .iter()
        .flat_map(|p| {
            p.containers.iter().map(move |c| Member {
                pod: &p.name,
                plan: c,
            })
        })
        .collect()
}

/// Whether the restart policy brings a container back after it exited with `code`.
pub fn restarts(policy: RestartPolicy, code: i32) -> bool {
    match policy {
        RestartPolicy::Always => true,
        RestartPolicy::OnFailure => code != 0,
        RestartPolicy::Never => false,
    }
}

/// How soon to look again at a container between states (`stopping`, `removing`, ...): the exit
/// file conmon writes can arrive before Podman's own bookkeeping.
const RECHECK: Duration = Duration::from_millis(500);

/// What one look at the containers found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Look {
    /// Something runs, is between states (look again soon) or waits for its restart.
    Busy {
        recheck: bool,
    },
    GaveUp(GaveUp),
    /// Every container is done for good.
    Done(Vec<ContainerState>),
}

/// The restart bookkeeping of one supervision.
struct Restarts<'a> {
    members: Vec<Member<'a>>,
    loops: BTreeMap<String, CrashLoop>,
    backoff: Backoff,
}

impl<'a> Restarts<'a> {
    /// `carried`: the loops of an earlier supervision of this app (before a reload), taken
    /// over for the containers that still run; the others start afresh.
    fn new(
        plan: &'a Plan,
        backoff: Backoff,
        now: Instant,
        carried: &mut BTreeMap<String, CrashLoop>,
    ) -> Restarts<'a> {
        let members = members(plan);
        let loops = members
            .iter()
            .map(|m| {
                let name = m.plan.name.clone();
                let lp = carried.remove(&name).unwrap_or_else(|| CrashLoop::new(now));
                (name, lp)
            })
            .collect();
        Restarts {
            members,
            loops,
            backoff,
        }
    }

    fn names(&self) -> Vec<String> {
        self.members.iter().map(|m| m.plan.name.clone()).collect()
    }

    /// Inspects every container once and schedules restarts for new exits. A container that
    /// vanished (removed behind our back) counts as done with a failure.
    fn look(&mut self, engine: &dyn Engine, now: Instant) -> Result<Look, EngineError> {
        let states = engine.inspect(&self.names())?;
        let (mut busy, mut recheck) = (false, false);
        let mut finals = Vec::with_capacity(self.members.len());
        for m in &self.members {
            let name = &m.plan.name;
            let Some(s) = states.iter().find(|s| &s.name == name) else {
                self.loops.remove(name);
                finals.push(removed(name));
                continue;
            };
            let Some(lp) = self.loops.get_mut(name) else {
                finals.push(s.clone());
                continue;
            };
            if s.is_running() {
                busy = true;
            } else if !s.is_exited() {
                (busy, recheck) = (true, true);
            } else if lp.backing_off() {
                busy = true;
            } else if restarts(m.plan.restart_policy, s.exit_code) {
                match lp.exited(now, s.exit_code, &self.backoff) {
                    Decision::RestartAt(_) => busy = true,
                    Decision::GiveUp => {
                        return Ok(Look::GaveUp(GaveUp {
                            container: m.label(),
                            name: name.clone(),
                            exit_code: s.exit_code,
                            restarts: lp.streak,
                        }))
                    }
                }
            } else {
                finals.push(s.clone());
            }
        }
        Ok(if busy {
            Look::Busy { recheck }
        } else {
            Look::Done(finals)
        })
    }

    /// When the next restart is due.
    fn next_due(&self) -> Option<Instant> {
        self.loops.values().filter_map(|l| l.due).min()
    }

    /// Starts the containers whose restart is due; true if any was started (or tried).
    fn restart_due(&mut self, engine: &dyn Engine, now: Instant) -> bool {
        let mut any = false;
        for m in &self.members {
            let Some(lp) = self.loops.get_mut(&m.plan.name) else {
                continue;
            };
            if lp.due.is_some_and(|due| due <= now) {
                any = true;
                lp.restarted(now);
                eprintln!(
                    "quadplay: {}: restarting (restart {}, exit code {})",
                    m.label(),
                    lp.restarts,
                    lp.last_exit.unwrap_or_default()
                );
                // A failed start leaves the container exited: the next look backs off again.
                if let Err(e) = engine.start(std::slice::from_ref(&m.plan.name)) {
                    eprintln!("quadplay: {}: {e}", m.label());
                }
            }
        }
        any
    }

    /// The `STATUS=` line: the containers in a crash loop, else a summary.
    fn status(&self, pods: usize) -> String {
        let looping: Vec<String> = self
            .members
            .iter()
            .filter_map(|m| {
                let lp = self.loops.get(&m.plan.name)?;
                lp.backing_off().then(|| {
                    format!(
                        "{}: CrashLoopBackOff, {} restart{}",
                        m.label(),
                        lp.restarts,
                        if lp.restarts == 1 { "" } else { "s" }
                    )
                })
            })
            .collect();
        if !looping.is_empty() {
            return looping.join("; ");
        }
        let total: u32 = self.loops.values().map(|l| l.restarts).sum();
        let mut line = format!(
            "running: {pods} pod(s), {} container(s)",
            self.members.len()
        );
        if total > 0 {
            line.push_str(&format!(", {total} restart(s)"));
        }
        line
    }
}

fn removed(name: &str) -> ContainerState {
    ContainerState {
        name: name.to_string(),
        status: "removed".into(),
        exit_code: 1,
        restart_policy: String::new(),
        finished_at: String::new(),
    }
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
    probes: (&Probe, Option<&Probe>),
    tx: &Sender<Msg>,
    stop: &StopFlag,
) {
    let (probe, startup) = probes;
    let period = Duration::from_secs(probe.period_seconds.max(1));
    let threshold = probe.failure_threshold.max(1);
    let initial = Duration::from_secs(probe.initial_delay_seconds);
    let mut delay = initial;
    let mut failures = 0;
    let mut life = Life::default();
    loop {
        if stop.sleep(delay) {
            return;
        }
        delay = period;
        if probe::check(engine, name, probe) {
            failures = 0;
            life.passed();
            continue;
        }
        match life.observe(engine, name) {
            Seen::Down => {
                failures = 0;
                continue;
            }
            Seen::Restarted => {
                failures = 0;
                if !started_again(engine, name, startup, tx, stop) {
                    return;
                }
                delay = initial;
                continue;
            }
            Seen::Same => failures += 1,
        }
        if failures >= threshold {
            failures = 0;
            if tx.send(Msg::Liveness(name.to_string())).is_err() {
                return;
            }
        }
    }
}

/// What a failed liveness check found the container doing.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    /// Not running (stopped by us, exited, backing off): a failure of no one; do not count it.
    Down,
    /// Running again since the last look: a new container life, whose probes start over.
    Restarted,
    /// The same life as before: the failure counts.
    Same,
}

/// The container's lives as a liveness thread sees them, told apart by Podman's `FinishedAt`
/// (it changes at every exit) and by having been seen down since the last look.
#[derive(Default)]
struct Life {
    /// `FinishedAt` at the last failed check; None after a passing one (no baseline needed).
    finished_at: Option<String>,
    was_down: bool,
}

impl Life {
    fn passed(&mut self) {
        *self = Life::default();
    }

    /// Only asked after a failed check, so a healthy container costs no `inspect`. An inspect
    /// that fails counts the failure, as before this check existed.
    fn observe(&mut self, engine: &dyn Engine, name: &str) -> Seen {
        let Some(state) = inspect_one(engine, name) else {
            return Seen::Same;
        };
        let exited_since = matches!(&self.finished_at, Some(f) if *f != state.finished_at);
        let new_life = self.was_down || exited_since;
        self.finished_at = Some(state.finished_at.clone());
        if !state.is_running() {
            self.was_down = true;
            return Seen::Down;
        }
        self.was_down = false;
        if new_life {
            Seen::Restarted
        } else {
            Seen::Same
        }
    }
}

fn inspect_one(engine: &dyn Engine, name: &str) -> Option<ContainerState> {
    engine.inspect(&[name.to_string()]).ok()?.into_iter().next()
}

/// As the kubelet: a restarted container's liveness probe waits for its startup probe again; a
/// startup probe that gives up kills the container as a liveness failure does. False when the
/// supervisor is gone or a stop was requested.
fn started_again(
    engine: &dyn Engine,
    name: &str,
    startup: Option<&Probe>,
    tx: &Sender<Msg>,
    stop: &StopFlag,
) -> bool {
    let Some(startup) = startup else {
        return true;
    };
    let sleep = |d: Duration| stop.sleep(d);
    match probe::wait_until_passing(engine, name, startup, probe::ProbeKind::Startup, &sleep) {
        Ok(()) => true,
        Err(probe::WaitFailure::Stopped) => false,
        Err(probe::WaitFailure::Failed { .. }) => tx.send(Msg::Liveness(name.to_string())).is_ok(),
    }
}

/// Kubernetes kills a container that fails liveness; the restart policy decides whether it
/// comes back (after the back-off, like any other exit).
fn on_liveness_failure(engine: &dyn Engine, plan: &Plan, name: &str) {
    let policy = members(plan)
        .iter()
        .find(|m| m.plan.name == name)
        .map(|m| m.plan.restart_policy)
        .unwrap_or_default();
    eprintln!(
        "quadplay: {name}: liveness probe failed, {}",
        match policy {
            RestartPolicy::Never => "stopping it (restartPolicy Never)",
            _ => "restarting it",
        }
    );
    if let Err(e) = engine.stop(&[name.to_string()], None) {
        eprintln!("quadplay: {name}: {e}");
    }
}

/// Runs until every container is done, a crash loop gives up, or a stop is requested. `tx` is
/// the sender side of `rx` (the signal thread holds another). `loops` carries the crash-loop
/// state from one supervision of the app to the next (after a control request): what it holds
/// for a planned container is taken over, and it holds every container's state on return.
pub fn supervise(
    engine: &dyn Engine,
    plan: &Plan,
    settings: Settings,
    stop: &StopFlag,
    chan: (&Sender<Msg>, &Receiver<Msg>),
    loops: &mut BTreeMap<String, CrashLoop>,
) -> Result<Outcome, PlayError> {
    let (tx, rx) = chan;
    if stop.is_set() {
        return Ok(Outcome::Stopped);
    }
    let probes_done = StopFlag::new();
    thread::scope(|s| {
        for m in members(plan) {
            if let Some(probe) = &m.plan.liveness {
                let (name, probes_done) = (m.plan.name.as_str(), &probes_done);
                let startup = m.plan.startup.as_ref();
                let spawned = thread::Builder::new()
                    .name("liveness".into())
                    .stack_size(128 * 1024)
                    .spawn_scoped(s, move || {
                        liveness_loop(engine, name, (probe, startup), tx, probes_done)
                    });
                if let Err(e) = spawned {
                    eprintln!("quadplay: {name}: liveness probe not run: {e}");
                }
            }
        }
        let outcome = event_loop(engine, plan, settings, stop, (tx, rx), loops);
        probes_done.set();
        outcome
    })
}

/// Waits for the next message, at most until `deadline` (if any).
fn receive(rx: &Receiver<Msg>, deadline: Option<Instant>) -> Result<Msg, RecvTimeoutError> {
    match deadline {
        Some(deadline) => rx.recv_timeout(deadline.saturating_duration_since(Instant::now())),
        None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
    }
}

fn event_loop(
    engine: &dyn Engine,
    plan: &Plan,
    settings: Settings,
    stop: &StopFlag,
    (tx, rx): (&Sender<Msg>, &Receiver<Msg>),
    loops: &mut BTreeMap<String, CrashLoop>,
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
    let mut watch_restarts = 0;
    let mut restarts = Restarts::new(plan, settings.backoff, Instant::now(), loops);
    let mut status = restarts.status(plan.pods.len());
    let mut recheck_at: Option<Instant> = None;
    // Containers may have died before the stream was listening: look once now.
    let mut check = true;
    let outcome = loop {
        if stop.is_set() {
            break Outcome::Stopped;
        }
        if check {
            recheck_at = None;
            match restarts.look(engine, Instant::now())? {
                Look::Busy { recheck } => {
                    if recheck {
                        recheck_at = Some(Instant::now() + RECHECK);
                    }
                }
                Look::GaveUp(g) => break Outcome::GaveUp(g),
                Look::Done(states) => {
                    break Outcome::Done(propagate(plan.exit_code_propagation, &states))
                }
            }
        }
        // Restarts due now (a loop's first is immediate): start them, then look again.
        if restarts.restart_due(engine, Instant::now()) {
            check = true;
            continue;
        }
        let now = restarts.status(plan.pods.len());
        if now != status {
            settings.notifier.status(&now);
            status = now;
            if let Some(path) = &settings.restarts_file {
                let counts = restarts
                    .loops
                    .iter()
                    .map(|(name, l)| (name.clone(), l.restarts))
                    .collect();
                if let Err(e) = super::status::write_restarts(path, &counts) {
                    eprintln!("quadplay: {}: {e}", path.display());
                }
            }
        }
        let poll = watch.is_none().then(|| Instant::now() + FALLBACK_POLL);
        let deadline = [recheck_at, restarts.next_due(), poll]
            .into_iter()
            .flatten()
            .min();
        check = false;
        match receive(rx, deadline) {
            Ok(Msg::Signal(_)) => break Outcome::Stopped,
            Ok(Msg::Watch(WatchEvent::Died { .. })) => check = true,
            Ok(Msg::Watch(WatchEvent::Ended)) => {
                watch = None;
                check = true;
                if watch_restarts < MAX_WATCH_RESTARTS && !stop.sleep(Duration::from_secs(1)) {
                    watch_restarts += 1;
                    match start_watch(engine, plan, tx) {
                        Ok(w) => watch = Some(w),
                        Err(e) => eprintln!("quadplay: event stream: {e}; polling instead"),
                    }
                }
            }
            Ok(Msg::Liveness(name)) => on_liveness_failure(engine, plan, &name),
            Ok(Msg::Control(pending)) => break Outcome::Control(pending),
            Err(RecvTimeoutError::Timeout) => check = true,
            Err(RecvTimeoutError::Disconnected) => {
                return Err(PlayError::Internal("supervisor channel closed".into()))
            }
        }
    };
    if let Some(mut w) = watch.take() {
        w.stop();
    }
    *loops = std::mem::take(&mut restarts.loops);
    Ok(outcome)
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
    fn status_names_containers_in_a_crash_loop_else_sums_up() {
        let c = |pod: &str, short: &str| ContainerPlan {
            name: format!("{pod}-{short}"),
            short_name: short.into(),
            ..ContainerPlan::default()
        };
        let pod = |name: &str, containers| crate::plan::PodPlan {
            name: name.into(),
            containers,
            ..crate::plan::PodPlan::default()
        };
        let plan = Plan {
            pods: vec![
                pod("web", vec![c("web", "app"), c("web", "proxy")]),
                pod("db", vec![c("db", "pg")]),
            ],
            ..Plan::default()
        };
        let t0 = Instant::now();
        let mut r = Restarts::new(&plan, Backoff::kubelet(10), t0, &mut BTreeMap::new());
        assert_eq!(r.status(2), "running: 2 pod(s), 3 container(s)");
        let lp = r.loops.get_mut("web-app").unwrap();
        for _ in 0..6 {
            lp.exited(t0, 1, &Backoff::kubelet(10));
            lp.restarted(t0);
        }
        assert_eq!(
            r.status(2),
            "running: 2 pod(s), 3 container(s), 6 restart(s)"
        );
        r.loops
            .get_mut("web-app")
            .unwrap()
            .exited(t0, 1, &Backoff::kubelet(10));
        r.loops
            .get_mut("db-pg")
            .unwrap()
            .exited(t0, 1, &Backoff::kubelet(10));
        assert_eq!(
            r.status(2),
            "web/app: CrashLoopBackOff, 6 restarts; db/pg: CrashLoopBackOff, 0 restarts"
        );
        // db/pg's first restart is due at once; web/app's seventh after 5 minutes.
        assert_eq!(r.next_due(), Some(t0));
        assert_eq!(r.loops["web-app"].due, Some(t0 + Duration::from_secs(300)));
    }

    fn probed(fake: &crate::engine::fake::Fake, status: &str, finished_at: &str) {
        let state = ContainerState {
            name: "app-web".into(),
            status: status.into(),
            finished_at: finished_at.into(),
            ..ContainerState::default()
        };
        let mut st = fake.lock();
        match st.containers.get_mut("app-web") {
            Some(c) => c.state = state,
            None => {
                st.containers.insert(
                    "app-web".into(),
                    crate::engine::fake::FakeContainer {
                        pod: "app".into(),
                        labels: BTreeMap::new(),
                        state,
                        working_dir: None,
                        made_dirs: Default::default(),
                    },
                );
            }
        }
    }

    #[test]
    fn liveness_failures_count_only_against_the_running_life() {
        let fake = crate::engine::fake::Fake::new();
        let mut life = Life::default();
        probed(&fake, "running", "t0");
        assert_eq!(life.observe(&fake, "app-web"), Seen::Same);
        assert_eq!(life.observe(&fake, "app-web"), Seen::Same);
        // Killed for failing: while it is down (backing off), failures are no one's.
        probed(&fake, "exited", "t1");
        assert_eq!(life.observe(&fake, "app-web"), Seen::Down);
        assert_eq!(life.observe(&fake, "app-web"), Seen::Down);
        // Back up: a new life, whose probes start over.
        probed(&fake, "running", "t1");
        assert_eq!(life.observe(&fake, "app-web"), Seen::Restarted);
        assert_eq!(life.observe(&fake, "app-web"), Seen::Same);
        // Restarted between two looks, never seen down: FinishedAt tells.
        probed(&fake, "running", "t2");
        assert_eq!(life.observe(&fake, "app-web"), Seen::Restarted);
        // After a passing check there is no baseline: the next failure counts.
        life.passed();
        probed(&fake, "running", "t3");
        assert_eq!(life.observe(&fake, "app-web"), Seen::Same);
    }

    #[test]
    fn a_restarted_container_waits_for_its_startup_probe_and_dies_if_it_gives_up() {
        let fake = crate::engine::fake::Fake::new();
        probed(&fake, "running", "t1");
        let startup = Probe {
            action: crate::plan::ProbeAction::Exec(vec!["ready".into()]),
            initial_delay_seconds: 0,
            period_seconds: 1,
            timeout_seconds: 1,
            success_threshold: 1,
            failure_threshold: 1,
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let stop = StopFlag::new();
        assert!(started_again(&fake, "app-web", None, &tx, &stop));
        assert!(started_again(&fake, "app-web", Some(&startup), &tx, &stop));
        assert!(
            rx.try_recv().is_err(),
            "a passing startup probe kills nothing"
        );
        assert!(fake.calls().contains(&"exec app-web ready".to_string()));
        fake.lock().exec_codes.insert("app-web".into(), 1);
        assert!(started_again(&fake, "app-web", Some(&startup), &tx, &stop));
        assert!(matches!(rx.try_recv(), Ok(Msg::Liveness(n)) if n == "app-web"));
    }

    #[test]
    fn restart_policy_decides_which_exits_come_back() {
        assert!(restarts(RestartPolicy::Always, 0));
        assert!(restarts(RestartPolicy::OnFailure, 137));
        assert!(!restarts(RestartPolicy::OnFailure, 0));
        assert!(!restarts(RestartPolicy::Never, 1));
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
