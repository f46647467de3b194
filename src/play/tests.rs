//! Apply/supervise/down logic against the fake engine. Behaviour against real Podman and
//! systemd is proven by tests/e2e/2*-*.sh.

use std::collections::BTreeMap;
use std::sync::mpsc;

use super::*;
use crate::engine::fake::Fake;
use crate::engine::WatchEvent;
use crate::plan::ExitCodePropagation;
use crate::plan::*;

const SECRET_VALUE: &[u8] = b"hunter2-very-secret";

fn container(pod: &str, short: &str, policy: RestartPolicy) -> ContainerPlan {
    ContainerPlan {
        name: format!("{pod}-{short}"),
        short_name: short.into(),
        image: "localhost/busybox:latest".into(),
        restart_policy: policy,
        secret_env: vec![SecretEnv {
            variable: "PASSWORD".into(),
            secret: "app-db".into(),
        }],
        ..ContainerPlan::default()
    }
}

fn pod(name: &str, policy: RestartPolicy) -> PodPlan {
    PodPlan {
        name: name.into(),
        workload: format!("Deployment/{name}"),
        networks: vec![DEFAULT_NETWORK.into()],
        aliases: vec![name.into()],
        containers: vec![container(name, "app", policy)],
        restart_policy: policy,
        ..PodPlan::default()
    }
}

fn plan(policy: RestartPolicy, dir: &std::path::Path) -> Plan {
    Plan {
        app: "app.service".into(),
        unit: Some("app.service".into()),
        networks: vec![NetworkPlan {
            name: DEFAULT_NETWORK.into(),
            create_if_missing: true,
        }],
        secrets: vec![SecretPlan {
            name: "app-db".into(),
            data: SECRET_VALUE.to_vec(),
            source: SecretSource::Yaml,
        }],
        podman_secrets: vec![],
        volumes: vec![
            VolumePlan {
                name: "data".into(),
                labels: BTreeMap::new(),
                driver: None,
                options: vec![],
                keep_on_down: true,
            },
            VolumePlan {
                name: "scratch".into(),
                labels: BTreeMap::new(),
                driver: None,
                options: vec![],
                keep_on_down: false,
            },
        ],
        files: vec![FileSetPlan {
            dir: dir.join("quadplay/app.service/web1/secret-db"),
            app_dir: dir.join("quadplay/app.service"),
            files: [("password".to_string(), (SECRET_VALUE.to_vec(), 0o644))].into(),
            secret: true,
        }],
        pods: vec![pod("web1", policy), pod("web2", policy)],
        exit_code_propagation: ExitCodePropagation::Any,
        stop_timeout: 30,
        warnings: vec![],
        host_paths: vec![],
        pod_origins: BTreeMap::new(),
    }
}

struct Run {
    backoff: crashloop::Backoff,
    stop: StopFlag,
    tx: mpsc::Sender<Msg>,
    rx: mpsc::Receiver<Msg>,
}

impl Run {
    fn new() -> Run {
        let (tx, rx) = mpsc::channel();
        Run {
            backoff: crashloop::Backoff::kubelet(5),
            stop: StopFlag::new(),
            tx,
            rx,
        }
    }

    fn exec(&self, fake: &Fake, plan: &Plan, detach: bool) -> Result<u8, PlayError> {
        execute(
            fake,
            plan,
            RunOptions {
                detach,
                rescue_helpers: false,
                port_wait: None,
                backoff: self.backoff,
                record_restarts: false,
            },
            Notifier::disabled(),
            &self.stop,
            &self.tx,
            &self.rx,
        )
    }
}

#[test]
fn applies_in_order_and_stops_cleanly_on_signal() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let plan = plan(RestartPolicy::Always, tmp.path());
    let run = Run::new();
    // The stop request is already queued: supervise returns at its first receive.
    run.tx.send(Msg::Signal(15)).unwrap();
    let code = run.exec(&fake, &plan, false).unwrap();
    assert_eq!(code, 0);
    let calls = fake.calls();
    let pos = |prefix: &str| calls.iter().position(|c| c.starts_with(prefix)).unwrap();
    assert!(pos("ensure_network") < pos("create_secret app-db"));
    assert!(pos("create_secret") < pos("create_volume data"));
    assert!(pos("create_volume") < pos("create_pod"));
    assert!(pos("create_pod web1") < pos("start web1-app"));
    assert!(pos("create_container web1-app") < pos("start web1-app"));
    assert!(pos("watch") > pos("start web2-app"));
    assert!(pos("stop web1-app web2-app") > pos("watch"));
    let state = fake.lock();
    assert!(state.pods.is_empty(), "pods left: {:?}", state.pods);
    assert!(state.containers.is_empty());
    assert!(state.secrets.is_empty());
    assert!(state.volumes.contains("data"), "PVC volumes stay");
    assert!(!state.volumes.contains("scratch"), "emptyDir volumes go");
    assert!(!plan.files[0].dir.exists());
    assert!(!plan.files[0].app_dir.exists(), "empty parents stay behind");
    for call in &state.calls {
        assert!(!call.contains("hunter2"), "secret value in a call: {call}");
    }
}

#[test]
fn labels_and_bounded_stop_timeouts_reach_the_engine() {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = plan(RestartPolicy::Always, tmp.path());
    p.pods[0].containers[0].stop_timeout = Some(300);
    let prepared = apply::prepare(&p);
    let c = &prepared.pods[0].containers[0];
    assert_eq!(c.stop_timeout, Some(30));
    assert_eq!(prepared.pods[1].containers[0].stop_timeout, Some(10));
    assert_eq!(
        c.labels.get(LABEL_APP).map(String::as_str),
        Some("app.service")
    );
    assert_eq!(
        c.labels.get(LABEL_SYSTEMD_UNIT).map(String::as_str),
        Some("app.service")
    );
    assert!(prepared.pods[0].labels.contains_key(LABEL_UNIT));
}

#[test]
fn file_sets_get_kubernetes_modes_under_an_owner_only_app_dir() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let mut plan = plan(RestartPolicy::Always, tmp.path());
    // An items[].mode narrower than the default, in a nested path.
    plan.files[0]
        .files
        .insert("private/key.pem".into(), (b"KEY".to_vec(), 0o400));
    // A leftover app directory with the wrong mode is tightened.
    std::fs::create_dir_all(&plan.files[0].app_dir).unwrap();
    std::fs::set_permissions(
        &plan.files[0].app_dir,
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let run = Run::new();
    run.exec(&fake, &plan, true).unwrap();
    let set = &plan.files[0];
    let dir = &set.dir;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    // Readable by a container's non-owner uid: the volume directory and files as the YAML says.
    assert_eq!(mode(dir), 0o755);
    assert_eq!(mode(dir.parent().unwrap()), 0o755);
    assert_eq!(mode(&dir.join("password")), 0o644);
    assert_eq!(mode(&dir.join("private")), 0o755);
    assert_eq!(mode(&dir.join("private/key.pem")), 0o400);
    // Host users other than the owner are kept out by the per-app directory alone.
    assert_eq!(dir.parent().unwrap().parent().unwrap(), set.app_dir);
    assert_eq!(mode(&set.app_dir), 0o700);
    assert_eq!(std::fs::read(dir.join("password")).unwrap(), SECRET_VALUE);
    assert_eq!(std::fs::read(dir.join("private/key.pem")).unwrap(), b"KEY");
    // Detached: nothing was stopped or watched.
    assert!(!fake.calls().iter().any(|c| c.starts_with("watch")));
    assert_eq!(fake.lock().pods.len(), 2);
}

#[test]
fn leftovers_of_a_killed_run_are_removed_first() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    {
        let mut state = fake.lock();
        let labels: BTreeMap<String, String> =
            [(LABEL_APP.to_string(), "app.service".to_string())].into();
        state.pods.insert("old-pod".into(), labels);
        // Same name as the plan's pod, without our labels (e.g. from `podman kube play`).
        state.pods.insert("web1".into(), BTreeMap::new());
    }
    let plan = plan(RestartPolicy::Always, tmp.path());
    let run = Run::new();
    run.exec(&fake, &plan, true).unwrap();
    let state = fake.lock();
    assert!(!state.pods.contains_key("old-pod"));
    assert!(state.pods.contains_key("web1"));
    let first_create = state.calls.iter().position(|c| c.starts_with("create_pod"));
    let removal = state
        .calls
        .iter()
        .position(|c| c.starts_with("remove_pods"));
    assert!(removal < first_create);
}

#[test]
fn failure_midway_rolls_back_everything_this_run_made() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    fake.lock().volumes.insert("data".into()); // an existing PVC: must survive
    fake.fail(
        "start web2-app",
        "rootlessport listen tcp 0.0.0.0:8082: bind: address already in use",
    );
    let plan = plan(RestartPolicy::Always, tmp.path());
    let run = Run::new();
    let err = run.exec(&fake, &plan, false).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("Deployment/web2"), "{message}");
    assert!(message.contains("container app"), "{message}");
    assert!(message.contains("address already in use"), "{message}");
    let state = fake.lock();
    assert!(state.pods.is_empty(), "pods leaked: {:?}", state.pods);
    assert!(state.containers.is_empty());
    assert!(state.secrets.is_empty(), "secret leaked");
    assert!(state.volumes.contains("data"), "pre-existing PVC removed");
    assert!(
        !state.volumes.contains("scratch"),
        "volume created by the run leaked"
    );
    assert!(!plan.files[0].dir.exists(), "secret files leaked");
}

#[test]
fn missing_image_with_never_policy_fails_before_creating_pods() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let mut plan = plan(RestartPolicy::Always, tmp.path());
    plan.pods[1].containers[0].image = "example.org/nope:1".into();
    plan.pods[1].containers[0].pull_policy = PullPolicy::Never;
    let err = Run::new().exec(&fake, &plan, false).unwrap_err();
    assert!(matches!(err, PlayError::ImageMissing { .. }), "{err}");
    assert!(!fake.calls().iter().any(|c| c.starts_with("create_pod")));
}

#[test]
fn missing_image_is_pulled_and_pull_errors_name_the_container() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let mut p = plan(RestartPolicy::Always, tmp.path());
    p.pods[1].containers[0].image = "127.0.0.1:5000/demo/app:1".into();
    Run::new().exec(&fake, &p, true).unwrap();
    assert!(fake
        .calls()
        .contains(&"pull 127.0.0.1:5000/demo/app:1".to_string()));

    let fake = Fake::new();
    fake.fail("pull", "manifest unknown");
    let err = Run::new().exec(&fake, &p, true).unwrap_err().to_string();
    assert!(err.contains("Deployment/web2: container app"), "{err}");
    assert!(err.contains("manifest unknown"), "{err}");
    assert!(fake.lock().secrets.is_empty());
}

#[test]
fn failing_init_container_stops_the_pod_and_reports_its_output() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let mut plan = plan(RestartPolicy::Always, tmp.path());
    plan.pods[0].init_containers = vec![container("web1", "migrate", RestartPolicy::Never)];
    fake.lock().exit_on_start.insert("web1-migrate".into(), 3);
    let err = Run::new()
        .exec(&fake, &plan, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Deployment/web1: init container migrate exited with code 3"),
        "{err}"
    );
    assert!(err.contains("output of web1-migrate"), "{err}");
    assert!(fake.lock().pods.is_empty());
}

#[test]
fn successful_init_container_runs_before_the_app_and_is_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let mut plan = plan(RestartPolicy::Always, tmp.path());
    plan.pods[0].init_containers = vec![container("web1", "migrate", RestartPolicy::Never)];
    fake.lock().exit_on_start.insert("web1-migrate".into(), 0);
    Run::new().exec(&fake, &plan, true).unwrap();
    let calls = fake.calls();
    let pos = |l: &str| calls.iter().position(|c| c == l).unwrap();
    assert!(pos("wait web1-migrate") < pos("create_container web1-app"));
    assert!(!fake.lock().containers.contains_key("web1-migrate"));
}

fn run_to_completion(policy: ExitCodePropagation, codes: [i32; 2]) -> u8 {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let mut plan = plan(RestartPolicy::Never, tmp.path());
    plan.exit_code_propagation = policy;
    {
        let mut state = fake.lock();
        state.exit_on_start.insert("web1-app".into(), codes[0]);
        state.exit_on_start.insert("web2-app".into(), codes[1]);
    }
    let code = Run::new().exec(&fake, &plan, false).unwrap();
    assert!(fake.lock().pods.is_empty(), "pods left after completion");
    code
}

#[test]
fn exit_code_propagation_when_all_containers_are_done() {
    assert_eq!(run_to_completion(ExitCodePropagation::Any, [0, 1]), 1);
    assert_eq!(run_to_completion(ExitCodePropagation::Any, [0, 0]), 0);
    assert_eq!(run_to_completion(ExitCodePropagation::All, [0, 1]), 0);
    assert_eq!(run_to_completion(ExitCodePropagation::All, [2, 1]), 2);
    assert_eq!(run_to_completion(ExitCodePropagation::None, [2, 1]), 0);
}

/// Back-off in milliseconds instead of seconds, so that crash loops run in a test.
fn fast_backoff(max_restarts: u32) -> crashloop::Backoff {
    crashloop::Backoff {
        initial: std::time::Duration::from_millis(10),
        max: std::time::Duration::from_millis(40),
        reset_after: std::time::Duration::from_secs(600),
        max_restarts,
    }
}

fn starts_of(fake: &Fake, name: &str) -> usize {
    let line = format!("start {name}");
    fake.calls().iter().filter(|c| **c == line).count()
}

#[test]
fn supervisor_wakes_on_death_events_and_restarts_on_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let plan = plan(RestartPolicy::OnFailure, tmp.path());
    let mut run = Run::new();
    run.backoff = fast_backoff(5);
    let code = std::thread::scope(|s| {
        let (f, p) = (&fake, &plan);
        let handle = s.spawn(move || run.exec(f, p, false));
        // Wait until the supervisor listens, then let both containers finish.
        while !fake.calls().iter().any(|c| c.starts_with("watch")) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // A failure under OnFailure is restarted by the supervisor after the back-off.
        fake.exit("web1-app", 1);
        fake.exit("web2-app", 0);
        while starts_of(&fake, "web1-app") < 2 {
            assert!(
                !handle.is_finished(),
                "on-failure container counted as done"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(starts_of(&fake, "web2-app"), 1, "exit 0 restarted");
        fake.exit("web1-app", 0);
        handle.join().unwrap()
    });
    assert_eq!(code.unwrap(), 0);
}

#[test]
fn a_crash_loop_backs_off_then_fails_the_app_and_removes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let plan = plan(RestartPolicy::Always, tmp.path());
    // web1 exits 1 at every start (before supervision begins, too); web2 runs.
    fake.lock().exit_on_start.insert("web1-app".into(), 1);
    let mut run = Run::new();
    run.backoff = fast_backoff(3);
    let start = std::time::Instant::now();
    let err = run.exec(&fake, &plan, false).unwrap_err();
    // The first restart at once, then back-offs of 10 and 20 ms; the fourth exit gives up.
    assert!(start.elapsed() >= std::time::Duration::from_millis(30));
    let PlayError::CrashLoop(gave_up, output) = &err else {
        panic!("not a crash loop: {err}")
    };
    assert_eq!(
        (
            gave_up.container.as_str(),
            gave_up.exit_code,
            gave_up.restarts
        ),
        ("web1/app", 1, 3)
    );
    assert_eq!(output, "output of web1-app");
    assert_eq!(starts_of(&fake, "web1-app"), 1 + 3);
    assert_eq!(starts_of(&fake, "web2-app"), 1);
    let message = err.to_string();
    assert!(
        message.starts_with("web1/app: exited with code 1 after 3 restart(s) in a crash loop"),
        "{message}"
    );
    assert!(fake.lock().pods.is_empty(), "pods left after giving up");
    assert!(
        fake.lock().secrets.is_empty(),
        "secrets left after giving up"
    );
}

#[test]
fn a_stopped_always_container_is_started_again() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let plan = plan(RestartPolicy::Always, tmp.path());
    let mut run = Run::new();
    run.backoff = fast_backoff(0);
    let tx = run.tx.clone();
    std::thread::scope(|s| {
        let (f, p) = (&fake, &plan);
        let handle = s.spawn(move || run.exec(f, p, false));
        while !fake.calls().iter().any(|c| c.starts_with("watch")) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // `podman stop` (exit 0) of an Always container: restarted as the kubelet would, and
        // with --max-restarts 0 the first such exit ends the app instead.
        fake.exit("web2-app", 0);
        let err = handle.join().unwrap().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("web2/app: exited with code 0 after 0 restart(s)"),
            "{err}"
        );
        drop(tx);
    });
}

#[test]
fn ended_event_stream_is_restarted() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let plan = plan(RestartPolicy::Always, tmp.path());
    let run = Run::new();
    run.tx.send(Msg::Watch(WatchEvent::Ended)).unwrap();
    let tx = run.tx.clone();
    std::thread::scope(|s| {
        let (f, p) = (&fake, &plan);
        let handle = s.spawn(move || run.exec(f, p, false));
        while fake
            .calls()
            .iter()
            .filter(|c| c.starts_with("watch"))
            .count()
            < 2
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        tx.send(Msg::Signal(15)).unwrap();
        assert_eq!(handle.join().unwrap().unwrap(), 0);
    });
}

#[test]
fn down_is_idempotent_and_reports_every_error() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let plan = plan(RestartPolicy::Always, tmp.path());
    Run::new().exec(&fake, &plan, true).unwrap();
    fake.fail("remove_secret", "secret is busy");
    fake.fail("remove_volume scratch", "volume is busy");
    let err = execute_down(&fake, &plan, false).unwrap_err();
    let PlayError::Down(errors) = &err else {
        panic!("not a down error: {err}")
    };
    assert_eq!(errors.len(), 2, "{err}");
    assert!(
        fake.lock().pods.is_empty(),
        "pods must go despite other errors"
    );
    // Second run: nothing left to remove except the still-failing secret.
    fake.lock().failures.clear();
    execute_down(&fake, &plan, true).unwrap();
    execute_down(&fake, &plan, true).unwrap();
    let state = fake.lock();
    assert!(state.secrets.is_empty());
    assert!(state.volumes.is_empty(), "--force removes PVC volumes");
}

#[test]
fn pods_with_after_wait_for_their_wave_and_cycles_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let mut p = plan(RestartPolicy::Always, tmp.path());
    p.pods[0].after = vec!["web2".into()];
    Run::new().exec(&fake, &p, true).unwrap();
    let calls = fake.calls();
    let pos = |l: &str| calls.iter().position(|c| c == l).unwrap();
    assert!(pos("start web2-app") < pos("create_pod web1"));

    let fake = Fake::new();
    p.pods[1].after = vec!["web1".into()];
    let err = Run::new().exec(&fake, &p, true).unwrap_err();
    assert!(matches!(err, PlayError::Cycle(_)), "{err}");
    assert!(fake.lock().secrets.is_empty());
}

#[test]
fn a_pod_after_a_completed_one_starts_once_it_exited_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let mut p = plan(RestartPolicy::Never, tmp.path());
    // web2 is the one-shot job (a migration); web1 waits until it has exited with status 0.
    p.pods[0].after = vec!["web2".into()];
    p.pods[0].after_completed = vec!["web2".into()];
    std::thread::scope(|s| {
        s.spawn(|| {
            // The job runs a while: web1 must not be created before it is done.
            while !fake.calls().iter().any(|c| c == "start web2-app") {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            std::thread::sleep(std::time::Duration::from_millis(400));
            assert!(!fake.calls().iter().any(|c| c == "create_pod web1"));
            fake.exit("web2-app", 0);
        });
        Run::new().exec(&fake, &p, true).unwrap();
    });
    let calls = fake.calls();
    let pos = |l: &str| calls.iter().position(|c| c == l).unwrap();
    assert!(pos("start web2-app") < pos("inspect web2-app"));
    assert!(pos("inspect web2-app") < pos("create_pod web1"));
}

#[test]
fn a_pod_after_a_failed_one_is_never_created_and_the_start_rolls_back() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    fake.lock().exit_on_start.insert("web2-app".into(), 3);
    let mut p = plan(RestartPolicy::Never, tmp.path());
    p.pods[0].after = vec!["web2".into()];
    p.pods[0].after_completed = vec!["web2".into()];
    let err = Run::new().exec(&fake, &p, false).unwrap_err();
    assert!(
        matches!(err, PlayError::DependencyFailed { code: 3, .. }),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("Deployment/web1: waits for Deployment/web2 to complete, but its container web2-app exited with code 3"),
        "{err}"
    );
    assert!(!fake.calls().iter().any(|c| c == "create_pod web1"));
    let state = fake.lock();
    assert!(state.pods.is_empty() && state.secrets.is_empty());
}

#[test]
fn stop_during_start_rolls_back_and_exits_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let plan = plan(RestartPolicy::Always, tmp.path());
    let run = Run::new();
    run.stop.set();
    assert_eq!(run.exec(&fake, &plan, false).unwrap(), 0);
    let state = fake.lock();
    assert!(state.pods.is_empty() && state.secrets.is_empty());
}

#[test]
fn strict_turns_warnings_into_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = plan(RestartPolicy::Always, tmp.path());
    p.warnings.push(Warning {
        location: "app.yaml:3:5".into(),
        object: "Pod/web".into(),
        field: "spec.containers[0].lifecycle".into(),
        message: "not supported".into(),
    });
    assert!(report_warnings(&p, false).is_ok());
    assert!(matches!(
        report_warnings(&p, true),
        Err(PlayError::Strict(1))
    ));
}

#[test]
fn a_failing_pod_ends_the_readiness_wait_of_its_sibling() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let mut p = plan(RestartPolicy::Always, tmp.path());
    // web1 never gets ready; web2 fails to start: the run must fail fast, not hang.
    p.pods[0].containers[0].readiness = Some(Probe {
        action: ProbeAction::Exec(vec!["false".into()]),
        initial_delay_seconds: 0,
        period_seconds: 1,
        timeout_seconds: 1,
        success_threshold: 1,
        failure_threshold: 3,
    });
    fake.lock().exec_codes.insert("web1-app".into(), 1);
    fake.fail("start web2-app", "address already in use");
    let start = std::time::Instant::now();
    let err = Run::new().exec(&fake, &p, false).unwrap_err().to_string();
    assert!(err.contains("Deployment/web2"), "{err}");
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    assert!(fake.lock().pods.is_empty());
}

#[test]
fn host_paths_are_created_or_checked_before_any_pod() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let mut p = plan(RestartPolicy::Always, tmp.path());
    let dir = tmp.path().join("made/dir");
    let file = tmp.path().join("made/file.txt");
    p.host_paths = vec![
        HostPathPlan {
            path: dir.clone(),
            kind: HostPathType::DirectoryOrCreate,
            ..HostPathPlan::default()
        },
        HostPathPlan {
            path: file.clone(),
            kind: HostPathType::FileOrCreate,
            ..HostPathPlan::default()
        },
    ];
    Run::new().exec(&fake, &p, true).unwrap();
    assert!(dir.is_dir() && file.is_file());

    let fake = Fake::new();
    p.host_paths = vec![HostPathPlan {
        path: file.clone(),
        kind: HostPathType::Directory,
        origin: Origin {
            location: "/apps/app.yaml:14:15".into(),
            object: "Pod/web".into(),
            field: "spec.volumes[0].hostPath.path".into(),
        },
    }];
    let err = Run::new().exec(&fake, &p, true).unwrap_err().to_string();
    assert!(
        err.contains("file.txt: hostPath is not a directory"),
        "{err}"
    );
    assert!(
        err.starts_with("/apps/app.yaml:14:15: Pod/web: spec.volumes[0].hostPath.path: /"),
        "located where the YAML asks for it: {err}"
    );
    assert!(!fake.calls().iter().any(|c| c.starts_with("create_pod")));
    assert!(fake.lock().secrets.is_empty());
}

#[test]
fn supervision_polls_when_podman_events_cannot_start() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    fake.fail("watch", "events logger is none");
    let mut plan = plan(RestartPolicy::Never, tmp.path());
    plan.exit_code_propagation = ExitCodePropagation::Any;
    {
        let mut state = fake.lock();
        state.exit_on_start.insert("web1-app".into(), 0);
        state.exit_on_start.insert("web2-app".into(), 4);
    }
    // The first look (before any wait) already sees both containers done.
    assert_eq!(Run::new().exec(&fake, &plan, false).unwrap(), 4);
}

#[test]
fn only_read_only_executable_file_mappings_are_dropped() {
    let maps = "\
55d0a0000000-55d0a0400000 r-xp 00001000 fd:01 42 /usr/bin/quadplay
55d0a0400000-55d0a0500000 r--p 00401000 fd:01 42 /usr/bin/quadplay
55d0a0500000-55d0a0510000 rw-p 00501000 fd:01 42 /usr/bin/quadplay
7f0000000000-7f0000100000 r-xp 00000000 00:00 0 
7f0000200000-7f0000300000 r-xp 00000000 fd:01 7 /usr/lib/x86_64-linux-gnu/libc.so.6
7ffc00000000-7ffc00001000 r-xp 00000000 00:00 0 [vdso]
";
    assert_eq!(
        code_mappings(maps),
        vec![
            (0x55d0_a000_0000, 0x55d0_a040_0000),
            (0x7f00_0020_0000, 0x7f00_0030_0000)
        ]
    );
}

/// Kubernetes creates a `workingDir` the image lacks; Podman refuses to start in it. After that
/// refusal the directory is made in the created container and the container starts, for init
/// and app containers alike; nothing is made for a container that started, and a working
/// directory that still fails (or another refusal) is reported, not retried again.
#[test]
fn a_working_dir_the_image_lacks_is_made_after_podmans_refusal() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let mut plan = plan(RestartPolicy::Always, tmp.path());
    let mut init = container("web1", "migrate", RestartPolicy::Never);
    init.working_dir = Some("/srv/migrate".into());
    plan.pods[0].init_containers = vec![init];
    plan.pods[0].containers[0].working_dir = Some("/srv/app/data".into());
    plan.pods[1].containers[0].working_dir = Some("/".into());
    {
        let mut state = fake.lock();
        state.exit_on_start.insert("web1-migrate".into(), 0);
        state.images_lack = ["/srv/app/data".into(), "/srv/migrate".into()].into();
    }
    Run::new().exec(&fake, &plan, true).unwrap();
    let calls = fake.calls();
    let made: Vec<&String> = calls.iter().filter(|c| c.starts_with("make_dir")).collect();
    assert_eq!(
        made,
        [
            "make_dir web1-migrate /srv/migrate",
            "make_dir web1-app /srv/app/data"
        ]
    );
    let pos = |l: &str| calls.iter().rposition(|c| c == l).unwrap();
    assert!(pos("make_dir web1-app /srv/app/data") < pos("start web1-app"));
    assert!(fake.lock().containers["web1-app"].state.is_running());
    assert!(fake.lock().containers["web2-app"].state.is_running());

    // make_dir itself fails: the pod fails with that error, and everything is rolled back.
    let fake = Fake::new();
    fake.lock().images_lack = ["/srv/app/data".into()].into();
    fake.fail("make_dir", "cannot copy into a read-only root file system");
    let err = Run::new().exec(&fake, &plan, true).unwrap_err().to_string();
    assert!(
        err.contains("container app") && err.contains("read-only"),
        "{err}"
    );
    assert!(fake.lock().pods.is_empty());
}

#[test]
fn another_refusal_to_start_is_not_taken_for_a_missing_working_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let mut plan = plan(RestartPolicy::Always, tmp.path());
    plan.pods[0].containers[0].working_dir = Some("/srv/app".into());
    // Podman names another directory than the container's own working directory.
    fake.fail(
        "start web1-app",
        "workdir \"/elsewhere\" does not exist on container x",
    );
    let err = Run::new().exec(&fake, &plan, true).unwrap_err().to_string();
    assert!(err.contains("/elsewhere"), "{err}");
    assert!(!fake.calls().iter().any(|c| c.starts_with("make_dir")));
}

#[test]
fn a_missing_podman_secret_fails_before_anything_is_created_and_one_that_exists_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let mut plan = plan(RestartPolicy::Always, tmp.path());
    plan.podman_secrets = vec![PodmanSecretRef {
        name: "vendor-token".into(),
        origin: Origin {
            location: "/apps/app.yaml:7:33".into(),
            object: "Secret/db".into(),
            field: "metadata.annotations[\"io.quadplay.podman-secrets\"]".into(),
        },
    }];
    plan.pods[0].containers[0].secret_env.push(SecretEnv {
        variable: "TOKEN".into(),
        secret: "vendor-token".into(),
    });
    let err = Run::new().exec(&fake, &plan, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "/apps/app.yaml:7:33: Secret/db: metadata.annotations[\"io.quadplay.podman-secrets\"]: \
         Podman secret `vendor-token` does not exist; create it first \
         (`podman secret create vendor-token FILE`, or `-` to read stdin)"
    );
    let calls = fake.calls();
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("create_") || c.starts_with("ensure_")),
        "nothing may be created: {calls:?}"
    );
    assert!(!plan.files[0].dir.exists());

    // It exists: the run uses it, and neither the stop nor the rollback removes it.
    fake.lock()
        .secrets
        .insert("vendor-token".into(), b"users-own".to_vec());
    let run = Run::new();
    run.tx.send(Msg::Signal(15)).unwrap();
    assert_eq!(run.exec(&fake, &plan, false).unwrap(), 0);
    let state = fake.lock();
    assert!(
        state.secrets.contains_key("vendor-token"),
        "the user's secret stays"
    );
    assert!(
        !state.secrets.contains_key("app-db"),
        "quadplay's own is removed"
    );
    assert!(!state
        .calls
        .iter()
        .any(|c| c.contains("create_secret vendor-token")));
}
