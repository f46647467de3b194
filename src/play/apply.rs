//! Apply a plan: clear what an earlier run left, then create everything in order, recording each
//! created object in an undo log so that a failure midway removes exactly what this run made.
//!
//! Order: networks, images, secrets, volumes, file sets, then pods. Pods whose `after` list is
//! satisfied are created in parallel threads (Podman calls are process-bound; two pods' calls
//! overlap well even on two cores). Each pod: create the pod, run the init containers to
//! completion in order, create and start the containers, wait for startup and readiness probes.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use crate::engine::{Engine, EngineError};
use crate::plan::{
    ContainerPlan, FileSetPlan, HostPathPlan, HostPathType, Plan, PodPlan, PullPolicy, LABEL_APP,
    LABEL_SYSTEMD_UNIT, LABEL_UNIT,
};

use super::notify::Notifier;
use super::probe::{self, ProbeKind, WaitFailure};
use super::signals::StopFlag;
use super::workdir::start_in_missing_workdir;
use super::PlayError;

/// Podman's default stop timeout, used when the plan gives none.
const DEFAULT_STOP_TIMEOUT: u64 = 10;

/// What the apply step needs from its surroundings.
pub struct Context<'a> {
    pub engine: &'a dyn Engine,
    pub notifier: Notifier,
    pub stop: &'a StopFlag,
}

/// One object this run created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Created {
    Pod(String),
    Secret(String),
    Volume(String),
    Files(PathBuf),
}

/// What to remove if the run fails; shared by the pod threads.
#[derive(Debug, Default)]
pub(super) struct UndoLog(Mutex<Vec<Created>>);

impl UndoLog {
    pub(super) fn push(&self, created: Created) {
        match self.0.lock() {
            Ok(mut log) => log.push(created),
            Err(p) => p.into_inner().push(created),
        }
    }

    fn take(&self) -> Vec<Created> {
        match self.0.lock() {
            Ok(mut log) => std::mem::take(&mut *log),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        }
    }

    /// Removes everything recorded, newest first; returns what could not be removed.
    pub(super) fn roll_back(&self, engine: &dyn Engine) -> Vec<String> {
        let created = self.take();
        let mut problems = Vec::new();
        let pods: Vec<String> = created
            .iter()
            .filter_map(|c| match c {
                Created::Pod(name) => Some(name.clone()),
                _ => None,
            })
            .collect();
        if let Err(e) = engine.remove_pods(&pods) {
            problems.push(e.to_string());
        }
        for item in created.iter().rev() {
            let result = match item {
                Created::Pod(_) => Ok(()),
                Created::Secret(name) => engine.remove_secret(name).map(|_| ()),
                Created::Volume(name) => engine.remove_volume(name).map(|_| ()),
                Created::Files(dir) => remove_dir(dir).map_err(|e| EngineError::Failed {
                    action: format!("remove {}", dir.display()),
                    message: e.to_string(),
                    code: None,
                }),
            };
            if let Err(e) = result {
                problems.push(e.to_string());
            }
        }
        problems
    }
}

pub(super) fn remove_dir(dir: &Path) -> std::io::Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The plan with the run's identity labels on every pod and container (and each pod's spec
/// digest, see [`super::diff`]), and stop timeouts bounded by the plan's, so that objects are findable after a crash and stops fit systemd's.
pub fn prepare(plan: &Plan) -> Plan {
    let mut plan = plan.clone();
    let mut labels = vec![(LABEL_APP.to_string(), plan.app.clone())];
    if let Some(unit) = &plan.unit {
        labels.push((LABEL_UNIT.to_string(), unit.clone()));
    }
    let bound = plan.stop_timeout;
    for pod in &mut plan.pods {
        pod.labels.extend(labels.iter().cloned());
        let all = pod
            .init_containers
            .iter_mut()
            .chain(pod.containers.iter_mut());
        for c in all {
            c.labels.extend(labels.iter().cloned());
            if let Some(unit) = &plan.unit {
                c.labels
                    .insert(LABEL_SYSTEMD_UNIT.to_string(), unit.clone());
            }
            let wanted = c.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT);
            c.stop_timeout = Some(wanted.min(bound));
        }
    }
    for volume in &mut plan.volumes {
        volume.labels.extend(labels.iter().cloned());
    }
    super::diff::stamp(&mut plan);
    plan
}

/// Removes pods and containers an earlier run of the same app left behind (also after SIGKILL),
/// and pods with the names this plan uses: a leftover must never make the start fail.
pub fn clear_leftovers(engine: &dyn Engine, plan: &Plan) -> Result<(), EngineError> {
    let mut pods: BTreeSet<String> = engine
        .list_pods(LABEL_APP, &plan.app)?
        .into_iter()
        .collect();
    pods.extend(plan.pods.iter().map(|p| p.name.clone()));
    engine.remove_pods(&pods.into_iter().collect::<Vec<_>>())?;
    let leftover = engine.list_containers(LABEL_APP, &plan.app)?;
    engine.remove_containers(&leftover)
}

/// Creates and starts everything in the plan. On failure (or a stop request) everything this
/// run created is removed again before returning the error.
pub fn apply(ctx: &Context<'_>, plan: &Plan) -> Result<(), PlayError> {
    let log = UndoLog::default();
    let result = apply_steps(ctx, plan, &log);
    if let Err(err) = &result {
        ctx.notifier.status(&format!("failed, rolling back: {err}"));
        for problem in log.roll_back(ctx.engine) {
            eprintln!("quadplay: rollback: {problem}");
        }
    }
    result
}

pub(super) fn check_stop(ctx: &Context<'_>) -> Result<(), PlayError> {
    if ctx.stop.is_set() {
        Err(PlayError::Interrupted)
    } else {
        Ok(())
    }
}

/// The existing Podman secrets the YAML names must all exist: checked before anything is
/// created, so that a missing one leaves nothing behind.
pub(super) fn check_podman_secrets(engine: &dyn Engine, plan: &Plan) -> Result<(), PlayError> {
    for r in &plan.podman_secrets {
        if !engine.secret_exists(&r.name)? {
            return Err(missing_secret(r));
        }
    }
    Ok(())
}

/// The error for an existing Podman secret that does not exist (start and dry run alike).
pub(super) fn missing_secret(r: &crate::plan::PodmanSecretRef) -> PlayError {
    PlayError::PodmanSecretMissing {
        origin: r.origin.to_string(),
        name: r.name.clone(),
    }
}

fn apply_steps(ctx: &Context<'_>, plan: &Plan, log: &UndoLog) -> Result<(), PlayError> {
    let engine = ctx.engine;
    check_podman_secrets(engine, plan)?;
    let net_labels = [(LABEL_APP.to_string(), plan.app.clone())].into();
    for net in &plan.networks {
        engine.ensure_network(net, &net_labels)?;
        if let Some(note) = engine.repair_network(&net.name)? {
            eprintln!("quadplay: warning: {note}");
        }
    }
    ensure_images(ctx, plan)?;
    check_stop(ctx)?;
    let secret_labels = [(LABEL_APP.to_string(), plan.app.clone())].into();
    for secret in &plan.secrets {
        log.push(Created::Secret(secret.name.clone()));
        engine.create_secret(&secret.name, &secret.data, &secret_labels)?;
    }
    for volume in &plan.volumes {
        if !engine.volume_exists(&volume.name)? {
            engine.create_volume(volume)?;
            log.push(Created::Volume(volume.name.clone()));
        }
    }
    for set in &plan.files {
        log.push(Created::Files(set.dir.clone()));
        write_file_set(set)?;
    }
    for host_path in &plan.host_paths {
        prepare_host_path(host_path)?;
    }
    check_stop(ctx)?;
    apply_pods(ctx, plan, log)
}

/// Pulls what the pull policies ask for, before any pod exists, telling systemd to wait longer.
pub(super) fn ensure_images(ctx: &Context<'_>, plan: &Plan) -> Result<(), PlayError> {
    let mut seen = BTreeSet::new();
    for pod in &plan.pods {
        for c in pod.init_containers.iter().chain(&pod.containers) {
            if !seen.insert((c.image.clone(), format!("{:?}", c.pull_policy))) {
                continue;
            }
            let err = |source| PlayError::Container {
                workload: pod.workload.clone(),
                container: c.short_name.clone(),
                source,
            };
            let pull = match c.pull_policy {
                PullPolicy::Always | PullPolicy::Newer => true,
                PullPolicy::Missing => !ctx.engine.image_exists(&c.image).map_err(err)?,
                PullPolicy::Never => {
                    if !ctx.engine.image_exists(&c.image).map_err(err)? {
                        return Err(PlayError::ImageMissing {
                            workload: pod.workload.clone(),
                            container: c.short_name.clone(),
                            image: c.image.clone(),
                        });
                    }
                    false
                }
            };
            if pull {
                ctx.notifier.status(&format!("pulling {}", c.image));
                pull_extending(ctx, &c.image, c.pull_policy).map_err(err)?;
            }
        }
    }
    Ok(())
}

/// Pulls while a helper thread keeps extending systemd's start timeout.
fn pull_extending(ctx: &Context<'_>, image: &str, policy: PullPolicy) -> Result<(), EngineError> {
    const STEP: Duration = Duration::from_secs(20);
    let done = StopFlag::new();
    thread::scope(|s| {
        s.spawn(|| {
            ctx.notifier.extend_timeout(STEP * 2);
            while !done.sleep(STEP) {
                ctx.notifier.extend_timeout(STEP * 2);
            }
        });
        let result = ctx.engine.pull(image, policy);
        done.set();
        result
    })
}

/// Writes a ConfigMap/Secret file set as the kubelet does: directories 0755, each file exactly
/// its planned mode (default 0644) — a container running as a non-root uid reads them through
/// the "other" bits, since rootless its uid is a subuid, not the file's owner. Only the per-app
/// directory above is 0700: it keeps other host users out of secrets. Modes are set explicitly
/// after creation so the process umask cannot narrow them.
pub(super) fn write_file_set(set: &FileSetPlan) -> Result<(), PlayError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PlayError::Files { path, source }
    };
    let invalid = |path: PathBuf, message: &str| PlayError::Files {
        path,
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, message.to_string()),
    };
    let below_app = set
        .dir
        .strip_prefix(&set.app_dir)
        .map_err(|_| invalid(set.dir.clone(), "file set lies outside its app directory"))?;
    remove_dir(&set.dir).map_err(io(&set.dir))?;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&set.app_dir)
        .map_err(io(&set.app_dir))?;
    set_mode(&set.app_dir, 0o700).map_err(io(&set.app_dir))?;
    let mut dir = set.app_dir.clone();
    for part in below_app.components() {
        dir.push(part);
        make_dir(&dir).map_err(io(&dir))?;
    }
    for (relative, (content, mode)) in &set.files {
        let relative = Path::new(relative.trim_start_matches('/'));
        if relative
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(invalid(
                set.dir.join(relative),
                "file path leaves its volume directory",
            ));
        }
        let path = set.dir.join(relative);
        let mut sub = set.dir.clone();
        if let Some(parent) = relative.parent() {
            for part in parent.components() {
                sub.push(part);
                make_dir(&sub).map_err(io(&sub))?;
            }
        }
        let mode = *mode & 0o7777;
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io(&path))?;
        file.write_all(content).map_err(io(&path))?;
        // Widened only once the content is complete; the fd keeps working for its owner.
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io(&path))?;
    }
    Ok(())
}

/// Creates one directory (fine if it exists) and gives it 0755 whatever the umask.
fn make_dir(dir: &Path) -> std::io::Result<()> {
    match fs::DirBuilder::new().mode(0o755).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => {}
        Err(e) => return Err(e),
    }
    set_mode(dir, 0o755)
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// Creates `…OrCreate` host paths and checks the type of the others, as the kubelet does.
/// Created paths are the user's data from then on: a rollback leaves them.
fn prepare_host_path(host: &HostPathPlan) -> Result<(), PlayError> {
    use std::os::unix::fs::FileTypeExt;
    let path = &host.path;
    let fail = |message: &str| PlayError::HostPath {
        origin: host.origin.to_string(),
        path: path.clone(),
        message: message.to_string(),
    };
    let io = |source| PlayError::Files {
        path: path.clone(),
        source,
    };
    match host.kind {
        HostPathType::DirectoryOrCreate => {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(path)
                .map_err(io)?;
        }
        HostPathType::FileOrCreate => {
            if let Some(parent) = path.parent() {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o755)
                    .create(parent)
                    .map_err(io)?;
            }
            let created = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(path);
            match created {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
        }
        _ => {}
    }
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail("hostPath does not exist"))
        }
        Err(e) => return Err(io(e)),
    };
    let t = meta.file_type();
    let (ok, wanted) = match host.kind {
        HostPathType::Unset => (true, ""),
        HostPathType::Directory | HostPathType::DirectoryOrCreate => (t.is_dir(), "a directory"),
        HostPathType::File | HostPathType::FileOrCreate => (t.is_file(), "a regular file"),
        HostPathType::Socket => (t.is_socket(), "a socket"),
        HostPathType::CharDevice => (t.is_char_device(), "a character device"),
        HostPathType::BlockDevice => (t.is_block_device(), "a block device"),
    };
    if ok {
        Ok(())
    } else {
        Err(fail(&format!("hostPath is not {wanted}")))
    }
}

/// Creates the pods wave by wave: each wave is every pod whose `after` pods are done.
fn apply_pods(ctx: &Context<'_>, plan: &Plan, log: &UndoLog) -> Result<(), PlayError> {
    let known: BTreeSet<&str> = plan.pods.iter().map(|p| p.name.as_str()).collect();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut remaining: Vec<&PodPlan> = plan.pods.iter().collect();
    let abort = AtomicBool::new(false);
    while !remaining.is_empty() {
        let (wave, rest): (Vec<&PodPlan>, Vec<&PodPlan>) = remaining.into_iter().partition(|p| {
            p.after
                .iter()
                .all(|a| done.contains(a.as_str()) || !known.contains(a.as_str()))
        });
        if wave.is_empty() {
            let names: Vec<&str> = rest.iter().map(|p| p.name.as_str()).collect();
            return Err(PlayError::Cycle(names.join(", ")));
        }
        let results: Vec<Result<(), PlayError>> = thread::scope(|s| {
            let handles: Vec<_> = wave
                .iter()
                .map(|pod| {
                    let abort = &abort;
                    thread::Builder::new()
                        .name(format!("pod {}", pod.name))
                        .stack_size(256 * 1024)
                        .spawn_scoped(s, move || {
                            let result =
                                super::completion::wait_for_dependencies(ctx, plan, pod, abort)
                                    .and_then(|()| apply_pod(ctx, pod, log, abort, false));
                            if result.is_err() {
                                abort.store(true, Ordering::SeqCst);
                            }
                            result
                        })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| match h {
                    Ok(handle) => handle.join().unwrap_or_else(|_| {
                        Err(PlayError::Internal("a pod thread panicked".into()))
                    }),
                    Err(e) => Err(PlayError::Internal(format!("cannot start a thread: {e}"))),
                })
                .collect()
        });
        // The first real error is the one to report; "aborted" ones are its echoes.
        let rank = |e: &PlayError| match e {
            PlayError::Aborted => 0,
            PlayError::Interrupted => 1,
            _ => 2,
        };
        let mut first: Option<PlayError> = None;
        for e in results.into_iter().filter_map(Result::err) {
            if first.as_ref().map_or(true, |f| rank(&e) > rank(f)) {
                first = Some(e);
            }
        }
        if let Some(e) = first {
            return Err(e);
        }
        done.extend(wave.iter().map(|p| p.name.as_str()));
        remaining = rest;
    }
    Ok(())
}

/// Creates one pod and waits for its probes. `bounded`: a readiness probe failing
/// `failureThreshold` times in a row fails the pod (a reload); else the start timeout bounds it.
pub(super) fn apply_pod(
    ctx: &Context<'_>,
    pod: &PodPlan,
    log: &UndoLog,
    abort: &AtomicBool,
    bounded: bool,
) -> Result<(), PlayError> {
    let engine = ctx.engine;
    let proceed = || -> Result<(), PlayError> {
        check_stop(ctx)?;
        if abort.load(Ordering::SeqCst) {
            return Err(PlayError::Aborted);
        }
        Ok(())
    };
    let container_err = |c: &ContainerPlan| {
        let workload = pod.workload.clone();
        let container = c.short_name.clone();
        move |source| PlayError::Container {
            workload,
            container,
            source,
        }
    };
    proceed()?;
    ctx.notifier.status(&format!("creating pod {}", pod.name));
    log.push(Created::Pod(pod.name.clone()));
    engine.create_pod(pod).map_err(|source| PlayError::Pod {
        workload: pod.workload.clone(),
        source,
    })?;
    for init in &pod.init_containers {
        proceed()?;
        run_init(ctx, pod, init)?;
    }
    for c in &pod.containers {
        proceed()?;
        let started = engine.run_container(&pod.name, c);
        start_in_missing_workdir(engine, c, started).map_err(container_err(c))?;
    }
    for c in &pod.containers {
        for (probe, kind) in [
            (&c.startup, ProbeKind::Startup),
            (&c.readiness, ProbeKind::Readiness),
        ] {
            let Some(probe) = probe else { continue };
            proceed()?;
            ctx.notifier
                .status(&format!("waiting for {kind} probe of {}", c.name));
            let sleep = |d| sleep_unless_aborted(ctx, abort, d);
            let bounded = bounded || kind == ProbeKind::Startup;
            match probe::wait_bounded(engine, &c.name, probe, kind, bounded, &sleep) {
                Ok(()) => {}
                Err(WaitFailure::Stopped) => {
                    proceed()?;
                    return Err(PlayError::Aborted);
                }
                Err(WaitFailure::Failed { failures }) => {
                    return Err(PlayError::Probe {
                        workload: pod.workload.clone(),
                        container: c.short_name.clone(),
                        kind: kind.to_string(),
                        failures,
                    })
                }
            }
        }
    }
    Ok(())
}

/// Sleeps up to `duration`; true as soon as a stop is requested or another pod failed (checked
/// every 200 ms: this only runs while the app starts).
pub(super) fn sleep_unless_aborted(
    ctx: &Context<'_>,
    abort: &AtomicBool,
    duration: Duration,
) -> bool {
    let deadline = std::time::Instant::now() + duration;
    loop {
        if abort.load(Ordering::SeqCst) {
            return true;
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        if ctx.stop.sleep(left.min(Duration::from_millis(200))) {
            return true;
        }
    }
}

/// Runs one init container to completion; removes it after success (`once`, as kube play).
fn run_init(ctx: &Context<'_>, pod: &PodPlan, init: &ContainerPlan) -> Result<(), PlayError> {
    let engine = ctx.engine;
    let err = |source| PlayError::Container {
        workload: pod.workload.clone(),
        container: init.short_name.clone(),
        source,
    };
    ctx.notifier
        .status(&format!("running init container {}", init.name));
    engine.create_container(&pod.name, init).map_err(err)?;
    let started = engine.start(std::slice::from_ref(&init.name));
    start_in_missing_workdir(engine, init, started).map_err(err)?;
    let code = engine.wait(&init.name).map_err(err)?;
    if code != 0 {
        let output = engine.logs_tail(&init.name, 5).unwrap_or_default();
        return Err(PlayError::InitFailed {
            workload: pod.workload.clone(),
            container: init.short_name.clone(),
            code,
            output,
        });
    }
    engine.remove_containers(std::slice::from_ref(&init.name))?;
    Ok(())
}
