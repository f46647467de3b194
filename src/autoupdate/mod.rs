//! `quadplay auto-update`: find running containers with an auto-update policy, check their images,
//! pull what changed, restart each affected unit once over systemd's D-Bus API, and roll a unit
//! back to its previous image when it does not come up on the new one.
//!
//! The flow, per unit (containers grouped by their `PODMAN_SYSTEMD_UNIT` label):
//!
//! 1. check every container: `registry` compares the registry's manifest digest with the digests of
//!    the image the container runs; `local` compares the container's image with the local image of
//!    the same name;
//! 2. (not in a dry run) pull the registry images that differ; a pull that yields the image already
//!    running is not an update (the registry can serve the same image under another manifest
//!    digest, e.g. after a re-push);
//! 3. restart the unit once; it must finish its job with "done", be `active`, and stay active (same
//!    invocation) for the settle time, which catches a container that exits right after start;
//! 4. on failure, point each changed tag back at the image recorded before the pull, and restart
//!    again.
//!
//! A `.kube` unit run by `quadplay play` (its containers carry `io.quadplay.app` and sit in pods) is
//! not restarted: steps 3–4 happen per pod instead. The running executor is asked over its control
//! socket (`crate::control`) to recreate only the pods whose images changed, readiness-gated; each
//! pod must then stay up for the settle time while the unit stays active in the same invocation,
//! and a pod that fails gets its old image back and is recreated again, alone. `.container` units
//! are restarted whole, as Quadlet does.
//!
//! Podman and systemd are reached through the [`podman::Podman`] and [`crate::systemd::Manager`]
//! traits; the connection to systemd is made only when a unit has to be restarted, so a dry run or
//! a run with nothing to do never needs D-Bus.

pub mod lock;
pub mod podman;
pub mod policy;
pub mod report;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::plan::LABEL_APP;
use crate::systemd::{self, Manager};
use podman::{Container, ContainerHealth, Podman, PodmanError};
use policy::{check_registry_reference, Policy, AUTHFILE_LABEL, POLICY_LABEL, UNIT_LABEL};
pub use report::{Entry, Outcome, Report};

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Check and report; pull, tag and restart nothing.
    pub dry_run: bool,
    /// Restore the previous image when a unit fails on the new one.
    pub rollback: bool,
    /// How long a restarted unit must stay active to count as running the new image.
    pub settle: Duration,
    /// How often the unit is looked at during the settle time.
    pub poll: Duration,
    /// Only containers of these units (empty: all). `NAME` without a type means `NAME.service`.
    pub units: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dry_run: false,
            rollback: true,
            settle: Duration::from_secs(5),
            poll: Duration::from_millis(250),
            units: Vec::new(),
        }
    }
}

/// Errors that stop the whole run (per-container problems go into the report instead).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("listing containers with an auto-update policy: {0}")]
    List(#[from] PodmanError),
}

/// Run auto-update. `connect` is called at most once, when the first unit needs a restart.
pub fn run<P, M, C>(opts: &Options, podman: &P, connect: C) -> Result<Report, Error>
where
    P: Podman,
    M: Manager,
    C: FnOnce() -> Result<M, systemd::Error>,
{
    let mut containers = podman.auto_update_containers()?;
    if !opts.units.is_empty() {
        let wanted: Vec<String> = opts.units.iter().map(|u| unit_name(u)).collect();
        containers.retain(|c| {
            c.labels
                .get(UNIT_LABEL)
                .is_some_and(|u| wanted.iter().any(|w| w == u))
        });
    }
    // Stable output: by unit, then container name.
    containers.sort_by(|a, b| {
        (a.labels.get(UNIT_LABEL), &a.name).cmp(&(b.labels.get(UNIT_LABEL), &b.name))
    });
    let mut runner = Runner {
        opts,
        podman,
        manager: LazyManager::Pending(Some(connect)),
        remote: HashMap::new(),
        local_ids: HashMap::new(),
        pulls: HashMap::new(),
        rolled_back: HashMap::new(),
    };
    let mut entries: Vec<Entry> = containers.iter().map(new_entry).collect();
    let units = group_by_unit(&containers, &mut entries);
    for (unit, candidates) in &units {
        runner.update_unit(unit, candidates, &containers, &mut entries);
    }
    let via = match &runner.manager {
        LazyManager::Ready(m) => m.describe(),
        LazyManager::Pending(_) | LazyManager::Failed(_) => String::new(),
    };
    Ok(Report {
        dry_run: opts.dry_run,
        entries,
        via,
    })
}

/// The containers that take part, by unit. The others get their report line here: disabled, an
/// unknown policy, or no unit to restart.
fn group_by_unit(
    containers: &[Container],
    entries: &mut [Entry],
) -> BTreeMap<String, Vec<Candidate>> {
    let mut units: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
    for (index, (c, entry)) in containers.iter().zip(entries.iter_mut()).enumerate() {
        let policy = match Policy::parse(&entry.policy) {
            Ok(Policy::Disabled) => {
                entry.updated = Outcome::Disabled;
                entry.message = "auto-update disabled by label".into();
                continue;
            }
            Ok(p) => p,
            Err(msg) => {
                fail(entry, msg);
                continue;
            }
        };
        if entry.unit.is_empty() {
            let msg =
                format!("no {UNIT_LABEL} label: not run by a systemd unit, nothing to restart");
            fail(entry, msg);
            continue;
        }
        units
            .entry(entry.unit.clone())
            .or_default()
            .push(Candidate {
                index,
                policy,
                authfile: c.labels.get(AUTHFILE_LABEL).cloned(),
            });
    }
    units
}

/// A container that takes part in its unit's update.
struct Candidate {
    index: usize,
    policy: Policy,
    authfile: Option<String>,
}

/// What a check found out about a container whose image is not the newest.
struct Newer {
    /// Why, for the report.
    reason: String,
    /// For `local`: the image the tag points at now. For `registry`: unknown until pulled.
    image_id: Option<String>,
}

/// A container whose unit will be restarted onto a new image.
struct Change {
    index: usize,
    reason: String,
    new_id: String,
}

/// The systemd connection, made on first use and then kept (or its error kept).
enum LazyManager<M, C> {
    Pending(Option<C>),
    Ready(M),
    Failed(String),
}

impl<M: Manager, C: FnOnce() -> Result<M, systemd::Error>> LazyManager<M, C> {
    fn get(&mut self) -> Result<&M, String> {
        if let LazyManager::Pending(connect) = self {
            *self = match connect.take().map(|f| f()) {
                Some(Ok(m)) => LazyManager::Ready(m),
                Some(Err(e)) => LazyManager::Failed(e.to_string()),
                None => LazyManager::Failed("no way to connect to systemd".into()),
            };
        }
        match self {
            LazyManager::Ready(m) => Ok(m),
            LazyManager::Failed(e) => Err(e.clone()),
            LazyManager::Pending(_) => Err("no way to connect to systemd".into()),
        }
    }
}

struct Runner<'a, P, M, C> {
    opts: &'a Options,
    podman: &'a P,
    manager: LazyManager<M, C>,
    /// Per (image, authfile): the registry's digests, asked once per run.
    remote: HashMap<(String, Option<String>), Result<Vec<String>, String>>,
    /// Per image name: the local image's ID, asked once per run.
    local_ids: HashMap<String, Result<Option<String>, String>>,
    /// Per image name: the pulled image's ID, pulled once per run.
    pulls: HashMap<String, Result<String, String>>,
    /// Image names whose new image failed in a unit (and were tagged back), with that unit.
    rolled_back: HashMap<String, String>,
}

impl<P, M, C> Runner<'_, P, M, C>
where
    P: Podman,
    M: Manager,
    C: FnOnce() -> Result<M, systemd::Error>,
{
    fn update_unit(
        &mut self,
        unit: &str,
        candidates: &[Candidate],
        containers: &[Container],
        entries: &mut [Entry],
    ) {
        let mut newer = Vec::new();
        for cand in candidates {
            let c = &containers[cand.index];
            match self.check(c, cand) {
                Ok(None) => entries[cand.index].message = "up to date".into(),
                Ok(Some(found)) => newer.push((cand, found)),
                Err(msg) => fail(&mut entries[cand.index], msg),
            }
        }
        if newer.is_empty() {
            return;
        }
        if self.opts.dry_run {
            for (cand, found) in newer {
                let entry = &mut entries[cand.index];
                entry.updated = Outcome::Pending;
                let c = &containers[cand.index];
                entry.message = if c.labels.contains_key(LABEL_APP) && !c.pod.is_empty() {
                    format!("{}; would replace pod {} of {unit}", found.reason, c.pod)
                } else {
                    format!("{}; would restart {unit}", found.reason)
                };
            }
            return;
        }
        // Connect, and make sure the unit exists, before pulling: if the unit cannot be restarted,
        // its tags must stay as they are.
        if let Err(e) = self.manager.get().and_then(|m| restartable(m, unit)) {
            for (cand, found) in newer {
                let msg = format!("{}; cannot restart {unit}: {e}", found.reason);
                fail(&mut entries[cand.index], msg);
            }
            return;
        }
        let changes = self.fetch(unit, newer, containers, entries);
        if changes.is_empty() {
            return;
        }
        match executor_app(&changes, containers) {
            Some(app) => self.replace_per_pod(unit, &app, &changes, containers, entries),
            None => self.restart_with_rollback(unit, &changes, containers, entries),
        }
    }

    /// A `.kube` unit run by `quadplay play`: only the pods whose images changed are recreated,
    /// one pod at a time, each checked and rolled back on its own; the unit keeps running.
    fn replace_per_pod(
        &mut self,
        unit: &str,
        app: &str,
        changes: &[Change],
        containers: &[Container],
        entries: &mut [Entry],
    ) {
        let mut pods: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
        for ch in changes {
            pods.entry(containers[ch.index].pod.as_str())
                .or_default()
                .push(ch);
        }
        for (pod, changes) in pods {
            let failed_before = changes
                .iter()
                .find_map(|ch| self.rolled_back.get(&containers[ch.index].image).cloned());
            if let Some(bad) = failed_before {
                for ch in changes {
                    let msg = format!(
                        "{}; not applied: the new image failed in {bad} and was rolled back",
                        ch.reason
                    );
                    fail(&mut entries[ch.index], msg);
                }
                continue;
            }
            let where_ = format!("pod {pod} of {unit}");
            let first = self.replace_and_verify(unit, app, pod);
            let second = match &first {
                Ok(_) => None,
                Err(_) if !self.opts.rollback => None,
                Err(_) => Some(self.roll_back_pod(unit, app, pod, &where_, &changes, containers)),
            };
            for ch in changes {
                let entry = &mut entries[ch.index];
                record_outcome(entry, ch, &containers[ch.index], &where_, &first, &second);
            }
        }
    }

    /// Points the changed tags of `pod` back at the images its containers ran, and asks for the
    /// pod again.
    fn roll_back_pod(
        &mut self,
        unit: &str,
        app: &str,
        pod: &str,
        where_: &str,
        changes: &[&Change],
        containers: &[Container],
    ) -> Result<String, String> {
        let mut tag_errors = Vec::new();
        for ch in changes {
            let c = &containers[ch.index];
            if let Err(e) = self.podman.tag(&c.image_id, &c.image) {
                tag_errors.push(e.to_string());
            }
            self.rolled_back.insert(c.image.clone(), where_.to_string());
        }
        if !tag_errors.is_empty() {
            return Err(format!("retagging failed: {}", tag_errors.join("; ")));
        }
        self.replace_and_verify(unit, app, pod)
    }

    /// Asks the executor for `pod` again and checks it: the unit stays active in the same
    /// invocation, and the pod's containers neither fail nor get restarted for the settle time.
    fn replace_and_verify(&mut self, unit: &str, app: &str, pod: &str) -> Result<String, String> {
        let manager = self.manager.get()?;
        let first = manager.status(unit).map_err(|e| e.to_string())?;
        self.podman.replace_pods(app, &[pod.to_string()])?;
        let prefix = format!("{pod}-");
        let of_pod = |all: Vec<ContainerHealth>| -> Vec<ContainerHealth> {
            all.into_iter()
                .filter(|c| c.name.starts_with(&prefix))
                .collect()
        };
        let baseline = of_pod(self.podman.unit_containers(unit).unwrap_or_default());
        if let Some(trouble) = container_trouble(&baseline, &baseline) {
            return Err(trouble);
        }
        let settle = self.opts.settle.as_secs_f64();
        let deadline = Instant::now() + self.opts.settle;
        while Instant::now() < deadline {
            std::thread::sleep(self.opts.poll.min(deadline - Instant::now()));
            let s = manager.status(unit).map_err(|e| e.to_string())?;
            if !s.is_active() || s.invocation_id != first.invocation_id {
                return Err(format!(
                    "unit {s} within {settle:.1} s of replacing pod {pod}"
                ));
            }
            if let Ok(now) = self.podman.unit_containers(unit) {
                if let Some(trouble) = container_trouble(&baseline, &of_pod(now)) {
                    return Err(format!("{trouble} within {settle:.1} s"));
                }
            }
        }
        Ok(format!("pod {pod} ready, {unit} kept running"))
    }

    /// Is there a newer image for `c`? `Ok(None)` when it runs the newest.
    fn check(&mut self, c: &Container, cand: &Candidate) -> Result<Option<Newer>, String> {
        match cand.policy {
            Policy::Registry => {
                check_registry_reference(&c.image)?;
                let key = (c.image.clone(), cand.authfile.clone());
                let remote = self
                    .remote
                    .entry(key)
                    .or_insert_with(|| {
                        self.podman
                            .remote_digests(&c.image, cand.authfile.as_deref())
                            .map_err(|e| format!("checking the registry: {e}"))
                    })
                    .clone()?;
                let local = self
                    .podman
                    .local_digests(&c.image_id)
                    .map_err(|e| format!("reading the running image's digests: {e}"))?;
                if remote.iter().any(|d| local.contains(d)) {
                    return Ok(None);
                }
                let shown = remote.first().map(String::as_str).unwrap_or_default();
                Ok(Some(Newer {
                    reason: format!("registry has {}", short_digest(shown)),
                    image_id: None,
                }))
            }
            Policy::Local => {
                let id = self.local_image_id(&c.image)?.ok_or_else(|| {
                    format!("no local image {} (the local policy needs it)", c.image)
                })?;
                if same_image(&id, &c.image_id) {
                    return Ok(None);
                }
                Ok(Some(Newer {
                    reason: format!("local image {} is {}", c.image, short_id(&id)),
                    image_id: Some(id),
                }))
            }
            Policy::Disabled => Ok(None),
        }
    }

    fn local_image_id(&mut self, name: &str) -> Result<Option<String>, String> {
        self.local_ids
            .entry(name.to_string())
            .or_insert_with(|| {
                self.podman
                    .local_image_id(name)
                    .map_err(|e| format!("looking up the local image: {e}"))
            })
            .clone()
    }

    /// Pull what the registry policy found newer; the containers whose image really changes.
    fn fetch(
        &mut self,
        unit: &str,
        newer: Vec<(&Candidate, Newer)>,
        containers: &[Container],
        entries: &mut [Entry],
    ) -> Vec<Change> {
        let mut changes = Vec::new();
        for (cand, found) in newer {
            let c = &containers[cand.index];
            let entry = &mut entries[cand.index];
            if let Some(bad_unit) = self.rolled_back.get(&c.image) {
                let msg = format!(
                    "{}; not applied: the new image failed in {bad_unit} and was rolled back",
                    found.reason
                );
                fail(entry, msg);
                continue;
            }
            let new_id = match found.image_id {
                Some(id) => id,
                None => {
                    let pulled = self
                        .pulls
                        .entry(c.image.clone())
                        .or_insert_with(|| {
                            self.podman
                                .pull(&c.image, cand.authfile.as_deref())
                                .map_err(|e| e.to_string())
                        })
                        .clone();
                    match pulled {
                        Ok(id) => id,
                        Err(e) => {
                            fail(entry, format!("{}; pull failed: {e}", found.reason));
                            continue;
                        }
                    }
                }
            };
            if same_image(&new_id, &c.image_id) {
                entry.message = format!(
                    "{}, but the pulled image is the one running: {unit} not restarted",
                    found.reason
                );
                continue;
            }
            changes.push(Change {
                index: cand.index,
                reason: found.reason,
                new_id,
            });
        }
        changes
    }

    fn restart_with_rollback(
        &mut self,
        unit: &str,
        changes: &[Change],
        containers: &[Container],
        entries: &mut [Entry],
    ) {
        let first = match self.manager.get() {
            Ok(m) => restart_and_verify(m, self.podman, unit, self.opts),
            Err(e) => Err(format!("cannot restart: {e}")),
        };
        let why = match first {
            Ok(state) => {
                for ch in changes {
                    let entry = &mut entries[ch.index];
                    entry.updated = Outcome::Updated;
                    entry.previous_image_id = containers[ch.index].image_id.clone();
                    entry.image_id = ch.new_id.clone();
                    entry.message = format!("{}; restarted {unit}: {state}", ch.reason);
                }
                return;
            }
            Err(why) => why,
        };
        if !self.opts.rollback {
            for ch in changes {
                let entry = &mut entries[ch.index];
                entry.image_id = ch.new_id.clone();
                entry.previous_image_id = containers[ch.index].image_id.clone();
                let msg = format!(
                    "{}; {unit} failed on the new image: {why}; rollback disabled",
                    ch.reason
                );
                fail(entry, msg);
            }
            return;
        }
        // Point each changed tag back at the image its container ran before the pull.
        let mut tag_errors = Vec::new();
        let mut retagged: Vec<(&str, &str)> = Vec::new();
        for ch in changes {
            let c = &containers[ch.index];
            let pair = (c.image.as_str(), c.image_id.as_str());
            if retagged.contains(&pair) {
                continue;
            }
            retagged.push(pair);
            if let Err(e) = self.podman.tag(&c.image_id, &c.image) {
                tag_errors.push(e.to_string());
            }
            self.rolled_back.insert(c.image.clone(), unit.to_string());
        }
        let second = if tag_errors.is_empty() {
            match self.manager.get() {
                Ok(m) => restart_and_verify(m, self.podman, unit, self.opts),
                Err(e) => Err(format!("cannot restart: {e}")),
            }
        } else {
            Err(format!("retagging failed: {}", tag_errors.join("; ")))
        };
        for ch in changes {
            let c = &containers[ch.index];
            let entry = &mut entries[ch.index];
            entry.previous_image_id = ch.new_id.clone();
            entry.image_id = c.image_id.clone();
            match &second {
                Ok(state) => {
                    entry.updated = Outcome::RolledBack;
                    entry.message = format!(
                        "{}; {unit} failed on it: {why}; rolled back to {} and restarted: {state}",
                        ch.reason,
                        short_id(&c.image_id)
                    );
                }
                Err(why2) => {
                    let msg = format!(
                        "{}; {unit} failed on it: {why}; rollback to {} failed: {why2}",
                        ch.reason,
                        short_id(&c.image_id)
                    );
                    fail(entry, msg);
                }
            }
        }
    }
}

/// The app of the running `quadplay play` that owns every changed container (a `.kube` unit),
/// if all are in pods of one such app; `None` means the whole unit is restarted.
fn executor_app(changes: &[Change], containers: &[Container]) -> Option<String> {
    let mut apps = changes.iter().map(|ch| {
        let c = &containers[ch.index];
        c.labels.get(LABEL_APP).filter(|_| !c.pod.is_empty())
    });
    let first = apps.next()??;
    apps.all(|a| a == Some(first)).then(|| first.clone())
}

/// The report line of one container after its pod was replaced (`first`) and, if that failed,
/// rolled back (`second`; `None` when rollback is off).
fn record_outcome(
    entry: &mut Entry,
    ch: &Change,
    c: &Container,
    where_: &str,
    first: &Result<String, String>,
    second: &Option<Result<String, String>>,
) {
    match (first, second) {
        (Ok(state), _) => {
            entry.updated = Outcome::Updated;
            entry.previous_image_id = c.image_id.clone();
            entry.image_id = ch.new_id.clone();
            entry.message = format!("{}; replaced {where_}: {state}", ch.reason);
        }
        (Err(why), None) => {
            entry.image_id = ch.new_id.clone();
            entry.previous_image_id = c.image_id.clone();
            let msg = format!(
                "{}; {where_} failed on the new image: {why}; rollback disabled",
                ch.reason
            );
            fail(entry, msg);
        }
        (Err(why), Some(Ok(state))) => {
            entry.previous_image_id = ch.new_id.clone();
            entry.image_id = c.image_id.clone();
            entry.updated = Outcome::RolledBack;
            entry.message = format!(
                "{}; {where_} failed on it: {why}; rolled back to {}: {state}",
                ch.reason,
                short_id(&c.image_id)
            );
        }
        (Err(why), Some(Err(why2))) => {
            entry.previous_image_id = ch.new_id.clone();
            entry.image_id = c.image_id.clone();
            let msg = format!(
                "{}; {where_} failed on it: {why}; rollback to {} failed: {why2}",
                ch.reason,
                short_id(&c.image_id)
            );
            fail(entry, msg);
        }
    }
}

/// A unit the manager has: a container's label can name a unit that is gone (or belongs to another
/// manager), and restarting it would fail only after the pull.
fn restartable<M: Manager>(m: &M, unit: &str) -> Result<(), String> {
    let status = m.status(unit).map_err(|e| e.to_string())?;
    match status.load_state.as_str() {
        "loaded" => Ok(()),
        state => Err(format!(
            "the unit is not loaded in this manager (load state {state})"
        )),
    }
}

/// Restart `unit` and check it runs: the job ends "done", the unit is active, and for the settle
/// time it stays active in the same invocation while none of its containers exits with an error
/// or is restarted by Podman's restart policy (a crash loop behind an active unit, as under
/// `restartPolicy: Always`). `Ok` carries the state for the report.
fn restart_and_verify<M: Manager, P: Podman>(
    m: &M,
    podman: &P,
    unit: &str,
    opts: &Options,
) -> Result<String, String> {
    let job = m.restart(unit).map_err(|e| e.to_string())?;
    // "unknown": the job ended without its signal being seen; the unit's state decides below.
    if job.result != "done" && job.result != systemd::JOB_RESULT_UNKNOWN {
        let state = m
            .status(unit)
            .map(|s| format!("; unit {s}"))
            .unwrap_or_default();
        return Err(format!("restart job {}{state}", job.result));
    }
    let first = m.status(unit).map_err(|e| e.to_string())?;
    if !first.is_active() {
        return Err(format!("unit {first} after the restart"));
    }
    // Container checks add to the unit's state; if Podman cannot be asked, the unit's state is
    // still the verdict.
    let baseline = podman.unit_containers(unit).unwrap_or_default();
    if let Some(trouble) = container_trouble(&baseline, &baseline) {
        return Err(trouble);
    }
    let settle = opts.settle.as_secs_f64();
    let deadline = Instant::now() + opts.settle;
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        std::thread::sleep(opts.poll.min(deadline - now));
        let s = m.status(unit).map_err(|e| e.to_string())?;
        if !s.is_active() {
            return Err(format!("unit {s} within {settle:.1} s of the restart"));
        }
        if s.invocation_id != first.invocation_id {
            return Err(format!(
                "unit restarted itself within {settle:.1} s of the restart"
            ));
        }
        if let Ok(current) = podman.unit_containers(unit) {
            if let Some(trouble) = container_trouble(&baseline, &current) {
                return Err(format!("{trouble} within {settle:.1} s of the restart"));
            }
        }
    }
    Ok(format!("{}/{}", first.active_state, first.sub_state))
}

/// A container that exited with an error, or that Podman restarted since `before`.
fn container_trouble(before: &[ContainerHealth], now: &[ContainerHealth]) -> Option<String> {
    for c in now {
        let done = matches!(c.state.as_str(), "exited" | "stopped");
        if done && c.exit_code != 0 {
            return Some(format!(
                "container {} {} with code {}",
                c.name, c.state, c.exit_code
            ));
        }
        let Some(b) = before.iter().find(|b| b.id == c.id) else {
            continue;
        };
        let restarted_while_running = b.state == "running" && b.started_at != c.started_at;
        if c.restarts > b.restarts || restarted_while_running {
            return Some(format!(
                "container {} was restarted by its restart policy (crash loop)",
                c.name
            ));
        }
    }
    None
}

/// `web` means `web.service`, as for systemctl.
fn unit_name(name: &str) -> String {
    const TYPES: [&str; 4] = [".service", ".scope", ".socket", ".target"];
    if TYPES.iter().any(|t| name.ends_with(t)) {
        name.to_string()
    } else {
        format!("{name}.service")
    }
}

fn new_entry(c: &Container) -> Entry {
    let id12: String = c.id.chars().take(12).collect();
    Entry {
        unit: c.labels.get(UNIT_LABEL).cloned().unwrap_or_default(),
        container: format!("{id12} ({})", c.name),
        container_name: c.name.clone(),
        container_id: c.id.clone(),
        image: c.image.clone(),
        policy: c.labels.get(POLICY_LABEL).cloned().unwrap_or_default(),
        updated: Outcome::UpToDate,
        message: String::new(),
        image_id: c.image_id.clone(),
        previous_image_id: String::new(),
    }
}

fn fail(entry: &mut Entry, message: String) {
    entry.updated = Outcome::Failed;
    entry.message = message;
}

/// Image IDs compare without a `sha256:` prefix, which some Podman outputs carry and others not.
fn same_image(a: &str, b: &str) -> bool {
    let strip = |s: &str| s.trim().trim_start_matches("sha256:").to_ascii_lowercase();
    !a.trim().is_empty() && strip(a) == strip(b)
}

fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

fn short_digest(d: &str) -> String {
    match d.split_once(':') {
        Some((algo, hex)) => format!("{algo}:{}", hex.chars().take(12).collect::<String>()),
        None => d.to_string(),
    }
}

#[cfg(test)]
mod tests;
