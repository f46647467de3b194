//! Reload logic against the fake engine: only the difference is applied, a failed replacement is
//! rolled back alone, and a failure before any pod is touched changes nothing. The real thing
//! (systemd reload, container IDs, serving during the reload) is tests/e2e/60-reload.sh.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::mpsc;

use super::*;
use crate::engine::fake::Fake;
use crate::plan::{
    ContainerPlan, FileSetPlan, Mount, Plan, PodPlan, RestartPolicy, DEFAULT_NETWORK,
};
use crate::play::control::{Pending, Request};
use crate::play::notify::Notifier;
use crate::play::signals::StopFlag;
use crate::play::supervise::Msg;
use crate::play::RunOptions;

const NAMES: [&str; 3] = ["front", "api", "db"];

fn pod(name: &str, dir: &Path) -> PodPlan {
    PodPlan {
        name: name.into(),
        workload: format!("Deployment/{name}"),
        networks: vec![DEFAULT_NETWORK.into()],
        containers: vec![ContainerPlan {
            name: format!("{name}-httpd"),
            short_name: "httpd".into(),
            image: "localhost/busybox:latest".into(),
            env: vec![("GREETING".into(), "hello".into())],
            mounts: vec![Mount::Bind {
                source: dir.join(format!("app/{name}/www")),
                target: "/www".into(),
                read_only: true,
                options: vec![],
            }],
            ..ContainerPlan::default()
        }],
        restart_policy: RestartPolicy::Always,
        ..PodPlan::default()
    }
}

fn app(dir: &Path) -> Plan {
    Plan {
        app: "app.service".into(),
        unit: Some("app.service".into()),
        pods: NAMES.iter().map(|n| pod(n, dir)).collect(),
        files: NAMES
            .iter()
            .map(|n| FileSetPlan {
                dir: dir.join(format!("app/{n}/www")),
                app_dir: dir.join("app"),
                files: [("index.html".to_string(), (b"v1".to_vec(), 0o644))].into(),
                secret: false,
            })
            .collect(),
        stop_timeout: 30,
        ..Plan::default()
    }
}

fn ctx<'a>(fake: &'a Fake, stop: &'a StopFlag) -> Context<'a> {
    Context {
        engine: fake,
        notifier: Notifier::disabled(),
        stop,
    }
}

/// Starts `plan` as `play` does and forgets the calls made so far.
fn started(fake: &Fake, stop: &StopFlag, plan: &Plan) -> Plan {
    let prepared = apply::prepare(plan);
    apply::apply(&ctx(fake, stop), &prepared).unwrap();
    fake.lock().calls.clear();
    prepared
}

fn touched(calls: &[String], pod: &str) -> bool {
    calls.iter().any(|c| {
        c.split_whitespace()
            .skip(1)
            .any(|w| w == pod || w.starts_with(&format!("{pod}-")))
    })
}

fn inode(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().ino()
}

#[test]
fn a_changed_configmap_replaces_only_its_pod() {
    let tmp = tempfile::tempdir().unwrap();
    let (fake, stop) = (Fake::new(), StopFlag::new());
    let current = started(&fake, &stop, &app(tmp.path()));
    let front_file = tmp.path().join("app/front/www/index.html");
    let before = inode(&front_file);
    let mut new = app(tmp.path());
    new.files[1]
        .files
        .insert("index.html".into(), (b"v2".to_vec(), 0o644));
    let done = reload(&ctx(&fake, &stop), &current, &new, None);
    assert_eq!(
        done.result.unwrap(),
        "replace pod api (Deployment/api): its spec changed; \
         1 pod(s) replaced, 0 created, 0 removed, 2 kept running untouched"
    );
    let calls = fake.calls();
    let pos = |line: &str| calls.iter().position(|c| c == line).unwrap();
    assert!(pos("stop api-httpd") < pos("remove_pods api"));
    assert!(pos("remove_pods api") < pos("create_pod api"));
    assert!(pos("create_pod api") < pos("start api-httpd"));
    assert!(
        !touched(&calls, "front") && !touched(&calls, "db"),
        "{calls:?}"
    );
    let served = std::fs::read(tmp.path().join("app/api/www/index.html")).unwrap();
    assert_eq!(served, b"v2");
    assert_eq!(
        inode(&front_file),
        before,
        "an untouched pod's files stay as they are"
    );
    // The pod now carries the new digest: a second reload has nothing to do.
    let again = reload(&ctx(&fake, &stop), &done.plan, &new, None);
    assert!(again.result.unwrap().starts_with("nothing changed"));
}

#[test]
fn a_failed_replacement_is_rolled_back_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let (fake, stop) = (Fake::new(), StopFlag::new());
    let current = started(&fake, &stop, &app(tmp.path()));
    let mut new = app(tmp.path());
    // api gets an init container that fails; db gets a new env value and must still change.
    new.pods[1].init_containers = vec![ContainerPlan {
        name: "api-migrate".into(),
        short_name: "migrate".into(),
        image: "localhost/busybox:latest".into(),
        ..ContainerPlan::default()
    }];
    new.pods[2].containers[0].env[0].1 = "bonjour".into();
    fake.lock().exit_on_start.insert("api-migrate".into(), 3);
    let done = reload(&ctx(&fake, &stop), &current, &new, None);
    let err = done.result.unwrap_err().to_string();
    assert!(
        err.starts_with(
            "1 workload(s) failed:\n  Deployment/api: the new spec failed, rolled back to the \
             running one: Deployment/api: init container migrate exited with code 3"
        ),
        "{err}"
    );
    let calls = fake.calls();
    assert_eq!(calls.iter().filter(|c| *c == "create_pod api").count(), 2);
    assert!(calls.contains(&"create_pod db".to_string()));
    assert!(!touched(&calls, "front"));
    // What runs now: api on its old spec, db on the new one.
    let api = done.plan.pods.iter().find(|p| p.name == "api").unwrap();
    assert!(api.init_containers.is_empty());
    let db = done.plan.pods.iter().find(|p| p.name == "db").unwrap();
    assert_eq!(db.containers[0].env[0].1, "bonjour");
    let state = fake.lock();
    assert_eq!(state.containers["api-httpd"].state.status, "running");
    assert!(!state.containers.contains_key("api-migrate"));
}

#[test]
fn a_missing_image_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (fake, stop) = (Fake::new(), StopFlag::new());
    let current = started(&fake, &stop, &app(tmp.path()));
    let mut new = app(tmp.path());
    new.pods[0].containers[0].image = "127.0.0.1:5000/nope:1".into();
    fake.fail("pull 127.0.0.1:5000/nope:1", "manifest unknown");
    let done = reload(&ctx(&fake, &stop), &current, &new, None);
    let err = done.result.unwrap_err().to_string();
    assert!(err.contains("Deployment/front: container httpd"), "{err}");
    assert!(err.contains("manifest unknown"), "{err}");
    let calls = fake.calls();
    assert!(!calls
        .iter()
        .any(|c| c.starts_with("stop") || c.starts_with("remove")));
    assert_eq!(done.plan, current);
}

#[test]
fn scaling_adds_and_removes_pods_in_after_order() {
    let tmp = tempfile::tempdir().unwrap();
    let (fake, stop) = (Fake::new(), StopFlag::new());
    let current = started(&fake, &stop, &app(tmp.path()));
    let mut new = app(tmp.path());
    new.pods.retain(|p| p.name != "db");
    new.files.retain(|f| !f.dir.ends_with("db/www"));
    let mut worker = pod("worker", tmp.path());
    worker.containers[0].mounts.clear();
    worker.after = vec!["cache".into()];
    let mut cache = pod("cache", tmp.path());
    cache.containers[0].mounts.clear();
    new.pods.push(worker);
    new.pods.push(cache);
    let done = reload(&ctx(&fake, &stop), &current, &new, None);
    assert!(done.result.is_ok(), "{:?}", done.result);
    let calls = fake.calls();
    let pos = |line: &str| calls.iter().position(|c| c == line).unwrap();
    assert!(pos("stop db-httpd") < pos("remove_pods db"));
    assert!(pos("create_pod cache") < pos("create_pod worker"));
    assert!(!tmp.path().join("app/db/www").exists());
    assert!(!touched(&calls, "front") && !touched(&calls, "api"));
    let names: Vec<&str> = done.plan.pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["front", "api", "worker", "cache"]);
}

#[test]
fn replace_pods_recreates_the_named_pods_only() {
    let tmp = tempfile::tempdir().unwrap();
    let (fake, stop) = (Fake::new(), StopFlag::new());
    let current = started(&fake, &stop, &app(tmp.path()));
    let summary = replace_pods(&ctx(&fake, &stop), &current, &["db".to_string()]).unwrap();
    assert_eq!(summary, "replaced pod(s) db");
    let calls = fake.calls();
    assert!(calls.contains(&"create_pod db".to_string()));
    assert!(!touched(&calls, "front") && !touched(&calls, "api"));
    let err = replace_pods(&ctx(&fake, &stop), &current, &["nope".to_string()]).unwrap_err();
    assert_eq!(err.to_string(), "internal error: no pod nope in this app");
}

/// The whole path: a control request reaches the supervisor, the app is reloaded, the client
/// gets the verdict, and the final teardown removes the pods the reload made.
#[test]
fn the_executor_answers_a_reload_between_two_looks() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let stop = StopFlag::new();
    let (tx, rx) = mpsc::channel();
    let mut new = app(tmp.path());
    let mut extra = pod("extra", tmp.path());
    extra.containers[0].mounts.clear();
    new.pods.push(extra);
    let (pending, answers) = Pending::new(Request::Reload);
    tx.send(Msg::Control(pending)).unwrap();
    tx.send(Msg::Signal(15)).unwrap();
    let replan = || Ok(new.clone());
    let options = RunOptions {
        detach: false,
        rescue_helpers: false,
        port_wait: None,
        backoff: crate::play::crashloop::Backoff::kubelet(5),
        record_restarts: false,
    };
    let plan = app(tmp.path());
    let code = crate::play::execute_with(
        &fake,
        &plan,
        options,
        Notifier::disabled(),
        &stop,
        &tx,
        &rx,
        Some(&replan),
    )
    .unwrap();
    assert_eq!(code, 0);
    let lines: Vec<String> = answers.try_iter().collect();
    assert_eq!(
        lines.last().unwrap(),
        "= ok: create pod extra (Deployment/extra); \
         0 pod(s) replaced, 1 created, 0 removed, 3 kept running untouched"
    );
    let calls = fake.calls();
    let teardown = calls
        .iter()
        .rposition(|c| c.starts_with("remove_pods"))
        .unwrap();
    assert!(calls[teardown].contains("extra"), "{}", calls[teardown]);
}

/// At start a readiness probe may take as long as the start timeout allows; a reload has no such
/// bound, so a replacement that fails readiness `failureThreshold` times in a row is rolled back.
#[test]
fn a_replacement_that_never_gets_ready_is_rolled_back() {
    let tmp = tempfile::tempdir().unwrap();
    let (fake, stop) = (Fake::new(), StopFlag::new());
    let current = started(&fake, &stop, &app(tmp.path()));
    let mut new = app(tmp.path());
    new.pods[0].containers[0].readiness = Some(crate::plan::Probe {
        action: crate::plan::ProbeAction::Exec(vec!["true".into()]),
        initial_delay_seconds: 0,
        period_seconds: 1,
        timeout_seconds: 1,
        success_threshold: 1,
        failure_threshold: 2,
    });
    fake.lock().exec_codes.insert("front-httpd".into(), 1);
    let done = reload(&ctx(&fake, &stop), &current, &new, None);
    let err = done.result.unwrap_err().to_string();
    assert!(
        err.contains("Deployment/front: container httpd: readiness probe failed 2 times in a row"),
        "{err}"
    );
    assert!(err.contains("rolled back to the running one"), "{err}");
    assert_eq!(done.plan.pods[0].containers[0].readiness, None);
    assert_eq!(
        fake.lock().containers["front-httpd"].state.status,
        "running"
    );
}

/// Issue 12: a reload must not forgive a crash loop of a container it leaves alone. `front`
/// exits 1 at every start (limit 3 restarts); a reload arrives after its first restart. When the
/// reload changes `api` only, `front`'s loop carries on: it gives up after 3 restarts in all
/// (4 starts). When the reload replaces `front` itself, its new container starts a new loop.
#[test]
fn a_reload_keeps_the_crash_loop_of_pods_it_leaves_alone() {
    let starts = |replaced: &str| {
        let tmp = tempfile::tempdir().unwrap();
        let fake = Fake::new();
        fake.lock().exit_on_start.insert("front-httpd".into(), 1);
        let stop = StopFlag::new();
        let (tx, rx) = mpsc::channel();
        let mut new = app(tmp.path());
        for p in new.pods.iter_mut().filter(|p| p.name == replaced) {
            p.containers[0].env[0].1 = "changed".into();
        }
        let (pending, answers) = Pending::new(Request::Reload);
        tx.send(Msg::Control(pending)).unwrap();
        let replan = || Ok(new.clone());
        let options = RunOptions {
            detach: false,
            rescue_helpers: false,
            port_wait: None,
            backoff: crate::play::crashloop::Backoff {
                initial: std::time::Duration::from_millis(10),
                max: std::time::Duration::from_millis(40),
                reset_after: std::time::Duration::from_secs(600),
                max_restarts: 3,
            },
            record_restarts: false,
        };
        let plan = app(tmp.path());
        let err = crate::play::execute_with(
            &fake,
            &plan,
            options,
            Notifier::disabled(),
            &stop,
            &tx,
            &rx,
            Some(&replan),
        )
        .unwrap_err();
        assert!(matches!(err, PlayError::CrashLoop(..)), "{err}");
        let verdict: Vec<String> = answers.try_iter().collect();
        assert!(
            verdict.last().unwrap().contains("1 pod(s) replaced"),
            "{verdict:?}"
        );
        let calls = fake.calls();
        calls.iter().filter(|c| *c == "start front-httpd").count()
    };
    assert_eq!(starts("api"), 1 + 3, "the reload reset front's crash loop");
    assert_eq!(
        starts("front"),
        1 + 1 + 1 + 3,
        "a replaced container keeps its old loop"
    );
}

/// Issue 12: a reload's failure is located like a start's: the file, line and column where the
/// YAML writes the failing workload's containers, the object and the field path.
#[test]
fn a_failed_reload_names_where_the_yaml_writes_the_workload() {
    let tmp = tempfile::tempdir().unwrap();
    let yaml = |init: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: front}}\nspec:\n  selector: {{matchLabels: {{app: front}}}}\n  template:\n    metadata: {{labels: {{app: front}}}}\n    spec:\n      containers:\n      - {{name: httpd, image: localhost/busybox:latest}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: api}}\nspec:\n  selector: {{matchLabels: {{app: api}}}}\n  template:\n    metadata: {{labels: {{app: api}}}}\n    spec:\n{init}      containers:\n      - {{name: httpd, image: localhost/busybox:latest}}\n"
        )
    };
    let planned = |text: &str| {
        let mut docs = crate::kube::Documents::default();
        let path = tmp.path().join("app.yaml");
        crate::kube::load_text(&mut docs, &path, text, false).unwrap();
        let opts = crate::play::plan::PlanOptions {
            runtime_dir: tmp.path().join("run"),
            unit: Some("app.service".into()),
            ..crate::play::plan::PlanOptions::default()
        };
        crate::play::plan::plan(&docs, &opts).unwrap()
    };
    let (fake, stop) = (Fake::new(), StopFlag::new());
    let current = started(&fake, &stop, &planned(&yaml("")));
    let new = planned(&yaml(
        "      initContainers:\n      - {name: migrate, image: localhost/busybox:latest}\n",
    ));
    let migrate = new.pods[1].init_containers[0].name.clone();
    fake.lock().exit_on_start.insert(migrate, 3);
    let done = reload(&ctx(&fake, &stop), &current, &new, None);
    let err = done.result.unwrap_err().to_string();
    let want = format!(
        "1 workload(s) failed:\n  {}:23:9: Deployment/api: spec.template.spec.containers: \
         Deployment/api: the new spec failed, rolled back to the running one: Deployment/api: \
         init container migrate exited with code 3",
        tmp.path().join("app.yaml").display()
    );
    assert!(err.starts_with(&want), "{err}\nwant {want}");
}
