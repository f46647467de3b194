//! The decisions of auto-update, against a fake Podman (tags, digests, a registry) and a fake
//! manager whose units run whatever image their tags point at, and fail on images marked broken.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::systemd::{JobOutcome, UnitStatus};

#[derive(Default)]
struct FakePodman {
    containers: Vec<Container>,
    /// Local tags: name -> image ID.
    tags: RefCell<BTreeMap<String, String>>,
    /// Local images: ID -> digests.
    digests: RefCell<BTreeMap<String, Vec<String>>>,
    /// The registry: name -> (manifest digest, image ID).
    registry: BTreeMap<String, (String, String)>,
    calls: RefCell<Vec<String>>,
    /// Images whose containers crash and are restarted by Podman at each look (the unit stays up).
    crash_looping: BTreeSet<String>,
    looks: RefCell<u64>,
    /// Image IDs that do not get ready when the executor recreates a pod on them.
    unready: BTreeSet<String>,
}

impl FakePodman {
    fn calls(&self, prefix: &str) -> Vec<String> {
        self.calls
            .borrow()
            .iter()
            .filter(|c| c.starts_with(prefix))
            .cloned()
            .collect()
    }
}

fn err(msg: &str) -> PodmanError {
    PodmanError::Failed {
        action: "podman".into(),
        message: msg.into(),
        code: Some(125),
    }
}

impl Podman for FakePodman {
    /// The executor recreates the pod on what its containers' tags point at now.
    fn replace_pods(&self, app: &str, pods: &[String]) -> Result<String, String> {
        self.calls
            .borrow_mut()
            .push(format!("replace {app} {}", pods.join(" ")));
        let tags = self.tags.borrow();
        let unready = self.containers.iter().find(|c| {
            pods.contains(&c.pod)
                && tags
                    .get(&c.image)
                    .is_some_and(|id| self.unready.contains(id))
        });
        match unready {
            Some(c) => Err(format!(
                "{}: readiness probe failed 3 times in a row",
                c.name
            )),
            None => Ok(format!("replaced pod(s) {}", pods.join(", "))),
        }
    }
    fn auto_update_containers(&self) -> Result<Vec<Container>, PodmanError> {
        Ok(self.containers.clone())
    }
    fn local_digests(&self, image_id: &str) -> Result<Vec<String>, PodmanError> {
        Ok(self
            .digests
            .borrow()
            .get(image_id)
            .cloned()
            .unwrap_or_default())
    }
    fn local_image_id(&self, name: &str) -> Result<Option<String>, PodmanError> {
        Ok(self.tags.borrow().get(name).cloned())
    }
    fn remote_digests(&self, name: &str, _: Option<&str>) -> Result<Vec<String>, PodmanError> {
        self.calls.borrow_mut().push(format!("remote {name}"));
        self.registry
            .get(name)
            .map(|(d, _)| vec![d.clone()])
            .ok_or_else(|| err("manifest unknown"))
    }
    fn pull(&self, name: &str, _: Option<&str>) -> Result<String, PodmanError> {
        self.calls.borrow_mut().push(format!("pull {name}"));
        let (digest, id) = self.registry.get(name).ok_or_else(|| err("pull failed"))?;
        self.tags.borrow_mut().insert(name.into(), id.clone());
        self.digests
            .borrow_mut()
            .entry(id.clone())
            .or_default()
            .push(digest.clone());
        Ok(id.clone())
    }
    fn tag(&self, image_id: &str, name: &str) -> Result<(), PodmanError> {
        self.calls
            .borrow_mut()
            .push(format!("tag {image_id} {name}"));
        self.tags.borrow_mut().insert(name.into(), image_id.into());
        Ok(())
    }
    fn unit_containers(&self, unit: &str) -> Result<Vec<ContainerHealth>, PodmanError> {
        *self.looks.borrow_mut() += 1;
        let looks = *self.looks.borrow();
        let tags = self.tags.borrow();
        Ok(self
            .containers
            .iter()
            .filter(|c| c.labels.get(UNIT_LABEL).map(String::as_str) == Some(unit))
            .map(|c| {
                let crashing = tags
                    .get(&c.image)
                    .is_some_and(|id| self.crash_looping.contains(id));
                ContainerHealth {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    state: "running".into(),
                    exit_code: 0,
                    restarts: if crashing { looks } else { 0 },
                    started_at: "2026-11-23T05:00:00Z".into(),
                }
            })
            .collect())
    }
}

/// Units run the images their containers' tags point at; an image in `broken` fails to start
/// (or, with `dies_later`, starts and dies during the settle time).
struct FakeManager<'a> {
    podman: &'a FakePodman,
    broken: BTreeSet<String>,
    dies_later: bool,
    /// Units this manager does not have.
    missing: BTreeSet<String>,
    /// Report jobs as ended without their JobRemoved signal.
    signal_lost: bool,
    restarts: RefCell<Vec<String>>,
    /// Per unit: status calls since the last restart, and the invocation count.
    looks: RefCell<BTreeMap<String, (u32, u32)>>,
}

impl<'a> FakeManager<'a> {
    fn new(podman: &'a FakePodman, broken: &[&str]) -> Self {
        FakeManager {
            podman,
            broken: broken.iter().map(|s| s.to_string()).collect(),
            dies_later: false,
            missing: BTreeSet::new(),
            signal_lost: false,
            restarts: RefCell::new(Vec::new()),
            looks: RefCell::new(BTreeMap::new()),
        }
    }

    fn unit_is_broken(&self, unit: &str) -> bool {
        let tags = self.podman.tags.borrow();
        self.podman
            .containers
            .iter()
            .filter(|c| c.labels.get(UNIT_LABEL).map(String::as_str) == Some(unit))
            .any(|c| {
                tags.get(&c.image)
                    .is_some_and(|id| self.broken.contains(id))
            })
    }
}

impl Manager for FakeManager<'_> {
    fn restart(&self, unit: &str) -> Result<JobOutcome, systemd::Error> {
        self.restarts.borrow_mut().push(unit.to_string());
        let mut looks = self.looks.borrow_mut();
        let e = looks.entry(unit.to_string()).or_default();
        *e = (0, e.1 + 1);
        let result = if self.signal_lost {
            systemd::JOB_RESULT_UNKNOWN
        } else if self.unit_is_broken(unit) && !self.dies_later {
            "failed"
        } else {
            "done"
        };
        Ok(JobOutcome {
            job: "/org/freedesktop/systemd1/job/1".into(),
            result: result.into(),
        })
    }
    fn status(&self, unit: &str) -> Result<UnitStatus, systemd::Error> {
        let mut looks = self.looks.borrow_mut();
        let e = looks.entry(unit.to_string()).or_default();
        e.0 += 1;
        if self.missing.contains(unit) {
            return Ok(UnitStatus {
                load_state: "not-found".into(),
                active_state: "inactive".into(),
                sub_state: "dead".into(),
                ..UnitStatus::default()
            });
        }
        let dead = self.unit_is_broken(unit) && (!self.dies_later || e.0 > 1);
        Ok(UnitStatus {
            load_state: "loaded".into(),
            active_state: if dead { "failed" } else { "active" }.into(),
            sub_state: if dead { "failed" } else { "running" }.into(),
            result: if dead { "exit-code" } else { "success" }.into(),
            invocation_id: format!("{:032x}", e.1),
        })
    }
}

const APP: &str = "127.0.0.1:5000/demo/app:stable";
const DB: &str = "127.0.0.1:5000/demo/db:stable";

fn container(name: &str, unit: &str, image: &str, image_id: &str, policy: &str) -> Container {
    let mut labels = BTreeMap::new();
    labels.insert(POLICY_LABEL.to_string(), policy.to_string());
    if !unit.is_empty() {
        labels.insert(UNIT_LABEL.to_string(), unit.to_string());
    }
    Container {
        id: format!("{name}-0123456789abcdef"),
        name: name.into(),
        image: image.into(),
        image_id: image_id.into(),
        labels,
        pod: String::new(),
    }
}

/// A machine where the containers run v1 of APP and DB, and the registry has `registry`.
fn machine(containers: Vec<Container>, registry: &[(&str, &str, &str)]) -> FakePodman {
    let p = FakePodman {
        containers,
        registry: registry
            .iter()
            .map(|(n, d, i)| (n.to_string(), (d.to_string(), i.to_string())))
            .collect(),
        ..FakePodman::default()
    };
    p.tags.borrow_mut().insert(APP.into(), "app1".into());
    p.tags.borrow_mut().insert(DB.into(), "db1".into());
    p.digests
        .borrow_mut()
        .insert("app1".into(), vec!["sha256:a1".into()]);
    p.digests
        .borrow_mut()
        .insert("db1".into(), vec!["sha256:d1".into()]);
    p
}

/// The usual subject: container `web` of app.service runs APP's v1 (`app1`), policy registry.
fn web() -> Container {
    container("web", "app.service", APP, "app1", "registry")
}

/// A machine with only [`web`], and the registry has `registry`.
fn web_machine(registry: &[(&str, &str, &str)]) -> FakePodman {
    machine(vec![web()], registry)
}

/// Options with a settle time of `ms` milliseconds, polled every 5 ms.
fn settling(ms: u64) -> Options {
    Options {
        settle: Duration::from_millis(ms),
        poll: Duration::from_millis(5),
        ..Options::default()
    }
}

fn opts() -> Options {
    Options {
        settle: Duration::ZERO,
        ..Options::default()
    }
}

fn outcomes(r: &Report) -> Vec<(&str, Outcome)> {
    r.entries
        .iter()
        .map(|e| (e.container_name.as_str(), e.updated))
        .collect()
}

fn no_connect<'a>() -> Result<FakeManager<'a>, systemd::Error> {
    panic!("must not connect to systemd")
}

#[test]
fn registry_up_to_date_pulls_and_restarts_nothing() {
    let p = web_machine(&[(APP, "sha256:a1", "app1")]);
    let r = run(&opts(), &p, no_connect).unwrap();
    assert_eq!(outcomes(&r), vec![("web", Outcome::UpToDate)]);
    assert!(p.calls("pull").is_empty());
    assert!(!r.failed());
}

#[test]
fn registry_update_pulls_once_and_restarts_the_unit_once() {
    let p = machine(
        vec![
            web(),
            container("worker", "app.service", APP, "app1", "registry"),
        ],
        &[(APP, "sha256:a2", "app2")],
    );
    let m = FakeManager::new(&p, &[]);
    let r = run(&opts(), &p, || Ok(&m)).unwrap();
    assert_eq!(
        outcomes(&r),
        vec![("web", Outcome::Updated), ("worker", Outcome::Updated)]
    );
    assert_eq!(p.calls("pull"), vec![format!("pull {APP}")]);
    assert_eq!(p.calls("remote").len(), 1, "registry asked once per image");
    assert_eq!(*m.restarts.borrow(), vec!["app.service".to_string()]);
    assert_eq!(r.entries[0].image_id, "app2");
    assert_eq!(r.entries[0].previous_image_id, "app1");
    assert!(r.entries[0]
        .message
        .contains("restarted app.service: active/running"));
    assert!(!r.failed());
}

#[test]
fn failing_new_image_is_rolled_back_and_the_run_fails() {
    let p = machine(
        vec![container("web", "app.service", APP, "app2", "registry")],
        &[(APP, "sha256:a3", "app3")],
    );
    p.digests
        .borrow_mut()
        .insert("app2".into(), vec!["sha256:a2".into()]);
    let m = FakeManager::new(&p, &["app3"]);
    let r = run(&opts(), &p, || Ok(&m)).unwrap();
    assert_eq!(outcomes(&r), vec![("web", Outcome::RolledBack)]);
    assert_eq!(p.calls("tag"), vec![format!("tag app2 {APP}")]);
    assert_eq!(
        p.tags.borrow()[APP],
        "app2",
        "tag points at the old image again"
    );
    assert_eq!(
        m.restarts.borrow().len(),
        2,
        "restart, then restart after rollback"
    );
    let msg = &r.entries[0].message;
    assert!(msg.contains("restart job failed"), "{msg}");
    assert!(msg.contains("rolled back to app2"), "{msg}");
    assert_eq!(r.entries[0].image_id, "app2");
    assert!(r.failed(), "a rollback makes the run fail");
}

#[test]
fn unit_that_dies_during_settle_time_is_rolled_back() {
    let p = web_machine(&[(APP, "sha256:a3", "app3")]);
    let mut m = FakeManager::new(&p, &["app3"]);
    m.dies_later = true;
    let o = settling(30);
    let r = run(&o, &p, || Ok(&m)).unwrap();
    assert_eq!(outcomes(&r), vec![("web", Outcome::RolledBack)]);
    let msg = &r.entries[0].message;
    assert!(
        msg.contains("unit failed/failed (result exit-code) within"),
        "{msg}"
    );
    assert_eq!(m.restarts.borrow().len(), 2);
}

#[test]
fn crash_loop_behind_an_active_unit_is_rolled_back() {
    let mut p = web_machine(&[(APP, "sha256:a3", "app3")]);
    p.crash_looping.insert("app3".into());
    let m = FakeManager::new(&p, &[]);
    let o = settling(20);
    let r = run(&o, &p, || Ok(&m)).unwrap();
    assert_eq!(outcomes(&r), vec![("web", Outcome::RolledBack)]);
    let msg = &r.entries[0].message;
    assert!(
        msg.contains("container web was restarted by its restart policy"),
        "{msg}"
    );
    assert!(msg.contains("rolled back to app1"), "{msg}");
}

#[test]
fn container_trouble_spots_errors_and_restarts_but_not_finished_jobs() {
    let c = |state: &str, code: i64, restarts: u64, started: &str| ContainerHealth {
        id: "1".into(),
        name: "web".into(),
        state: state.into(),
        exit_code: code,
        restarts,
        started_at: started.into(),
    };
    let up = [c("running", 0, 0, "t1")];
    assert_eq!(container_trouble(&up, &up), None);
    assert_eq!(container_trouble(&up, &[c("exited", 0, 0, "t1")]), None);
    let e = container_trouble(&up, &[c("exited", 3, 0, "t1")]).unwrap();
    assert_eq!(e, "container web exited with code 3");
    assert!(container_trouble(&up, &[c("running", 0, 1, "t1")]).is_some());
    assert!(container_trouble(&up, &[c("running", 0, 0, "t2")]).is_some());
    let created = [c("created", 0, 0, "")];
    assert_eq!(
        container_trouble(&created, &[c("running", 0, 0, "t1")]),
        None
    );
}

#[test]
fn without_rollback_a_failing_unit_is_reported_failed_and_left_alone() {
    let p = web_machine(&[(APP, "sha256:a3", "app3")]);
    let m = FakeManager::new(&p, &["app3"]);
    let o = Options {
        rollback: false,
        ..opts()
    };
    let r = run(&o, &p, || Ok(&m)).unwrap();
    assert_eq!(outcomes(&r), vec![("web", Outcome::Failed)]);
    assert!(p.calls("tag").is_empty());
    assert_eq!(m.restarts.borrow().len(), 1);
    assert!(r.entries[0].message.contains("rollback disabled"));
}

#[test]
fn dry_run_changes_nothing_and_needs_no_systemd() {
    let p = machine(
        vec![web(), container("db", "db.service", DB, "db1", "local")],
        &[(APP, "sha256:a2", "app2")],
    );
    p.tags.borrow_mut().insert(DB.into(), "db2".into());
    let o = Options {
        dry_run: true,
        ..opts()
    };
    let r = run(&o, &p, no_connect).unwrap();
    assert_eq!(
        outcomes(&r),
        vec![("web", Outcome::Pending), ("db", Outcome::Pending)]
    );
    assert!(p.calls("pull").is_empty() && p.calls("tag").is_empty());
    assert!(r.entries[0].message.contains("would restart app.service"));
    assert!(r.dry_run && !r.failed());
}

#[test]
fn local_policy_restarts_onto_the_rebuilt_tag_without_pulling() {
    let p = machine(vec![container("db", "db.service", DB, "db1", "local")], &[]);
    p.tags.borrow_mut().insert(DB.into(), "db2".into());
    let m = FakeManager::new(&p, &[]);
    let r = run(&opts(), &p, || Ok(&m)).unwrap();
    assert_eq!(outcomes(&r), vec![("db", Outcome::Updated)]);
    assert!(p.calls("pull").is_empty() && p.calls("remote").is_empty());
    assert_eq!(*m.restarts.borrow(), vec!["db.service".to_string()]);
    assert_eq!(r.entries[0].image_id, "db2");
}

#[test]
fn local_policy_without_local_image_fails_that_container_only() {
    let p = machine(
        vec![
            container("gone", "a.service", "localhost/gone:1", "x1", "local"),
            container("db", "db.service", DB, "db1", "local"),
        ],
        &[],
    );
    let r = run(&opts(), &p, no_connect).unwrap();
    assert_eq!(
        outcomes(&r),
        vec![("gone", Outcome::Failed), ("db", Outcome::UpToDate)]
    );
    assert!(r.entries[0]
        .message
        .contains("no local image localhost/gone:1"));
}

#[test]
fn short_names_unknown_policies_and_missing_units_are_named_errors() {
    let p = machine(
        vec![
            container("short", "s.service", "busybox:latest", "b1", "registry"),
            container("odd", "o.service", APP, "app1", "weekly"),
            container("loose", "", APP, "app1", "registry"),
            web(),
        ],
        &[(APP, "sha256:a1", "app1")],
    );
    let r = run(&opts(), &p, no_connect).unwrap();
    let by_name: BTreeMap<&str, &Entry> = r
        .entries
        .iter()
        .map(|e| (e.container_name.as_str(), e))
        .collect();
    assert_eq!(by_name["short"].updated, Outcome::Failed);
    assert!(by_name["short"].message.contains("not fully qualified"));
    assert_eq!(by_name["odd"].updated, Outcome::Failed);
    assert!(by_name["odd"].message.contains("\"weekly\""));
    assert_eq!(by_name["loose"].updated, Outcome::Failed);
    assert!(by_name["loose"].message.contains("PODMAN_SYSTEMD_UNIT"));
    assert_eq!(by_name["web"].updated, Outcome::UpToDate);
    assert!(r.failed());
}

#[test]
fn no_systemd_means_no_pull_and_a_failure() {
    let p = web_machine(&[(APP, "sha256:a2", "app2")]);
    let r = run(&opts(), &p, || -> Result<FakeManager<'_>, _> {
        Err(systemd::Error::Connect {
            scope: systemd::Scope::User,
            tried: vec!["unix:path=/x/bus: refused".into()],
        })
    })
    .unwrap();
    assert_eq!(outcomes(&r), vec![("web", Outcome::Failed)]);
    assert!(r.entries[0]
        .message
        .contains("cannot reach the systemd user manager"));
    assert!(p.calls("pull").is_empty(), "tags stay as they are");
}

#[test]
fn a_job_seen_gone_without_its_signal_is_judged_by_the_unit_state() {
    let p = machine(
        vec![web(), container("db", "db.service", DB, "db1", "registry")],
        &[(APP, "sha256:a2", "app2"), (DB, "sha256:d2", "db2")],
    );
    let mut m = FakeManager::new(&p, &["db2"]);
    m.signal_lost = true;
    let r = run(&opts(), &p, || Ok(&m)).unwrap();
    assert_eq!(
        outcomes(&r),
        vec![("web", Outcome::Updated), ("db", Outcome::RolledBack)]
    );
    assert!(
        r.entries[1].message.contains("unit failed/failed"),
        "{}",
        r.entries[1].message
    );
}

#[test]
fn a_unit_the_manager_does_not_have_is_not_pulled_for() {
    let p = machine(
        vec![container("web", "gone.service", APP, "app1", "registry")],
        &[(APP, "sha256:a2", "app2")],
    );
    let mut m = FakeManager::new(&p, &[]);
    m.missing.insert("gone.service".into());
    let r = run(&opts(), &p, || Ok(&m)).unwrap();
    assert_eq!(outcomes(&r), vec![("web", Outcome::Failed)]);
    let msg = &r.entries[0].message;
    assert!(msg.contains("cannot restart gone.service"), "{msg}");
    assert!(msg.contains("load state not-found"), "{msg}");
    assert!(
        p.calls("pull").is_empty(),
        "nothing pulled for a unit that cannot restart"
    );
    assert!(m.restarts.borrow().is_empty());
}

#[test]
fn pulled_image_identical_to_the_running_one_is_not_an_update() {
    // A re-push can give the same image a new manifest digest.
    let p = web_machine(&[(APP, "sha256:repushed", "app1")]);
    let m = FakeManager::new(&p, &[]);
    let r = run(&opts(), &p, || Ok(&m)).unwrap();
    assert_eq!(outcomes(&r), vec![("web", Outcome::UpToDate)]);
    assert!(m.restarts.borrow().is_empty());
    assert!(r.entries[0].message.contains("not restarted"));
}

#[test]
fn an_image_rolled_back_in_one_unit_is_not_applied_to_the_next() {
    let p = machine(
        vec![
            container("a", "a.service", APP, "app1", "registry"),
            container("b", "b.service", APP, "app1", "registry"),
        ],
        &[(APP, "sha256:a3", "app3")],
    );
    let m = FakeManager::new(&p, &["app3"]);
    let r = run(&opts(), &p, || Ok(&m)).unwrap();
    assert_eq!(
        outcomes(&r),
        vec![("a", Outcome::RolledBack), ("b", Outcome::Failed)]
    );
    assert!(r.entries[1].message.contains("failed in a.service"));
    assert_eq!(*m.restarts.borrow(), vec!["a.service", "a.service"]);
}

#[test]
fn units_are_independent_one_failing_does_not_stop_another() {
    let p = machine(
        vec![web(), container("db", "db.service", DB, "db1", "registry")],
        &[(APP, "sha256:a2", "app2"), (DB, "sha256:d2", "db2")],
    );
    let m = FakeManager::new(&p, &["app2"]);
    let r = run(&opts(), &p, || Ok(&m)).unwrap();
    assert_eq!(
        outcomes(&r),
        vec![("web", Outcome::RolledBack), ("db", Outcome::Updated)]
    );
}

#[test]
fn registry_errors_are_reported_per_container() {
    let p = web_machine(&[]);
    let r = run(&opts(), &p, no_connect).unwrap();
    assert_eq!(outcomes(&r), vec![("web", Outcome::Failed)]);
    assert!(r.entries[0].message.contains("checking the registry"));
    assert!(r.entries[0].message.contains("manifest unknown"));
}

#[test]
fn disabled_label_is_listed_but_untouched() {
    let p = machine(
        vec![container("web", "app.service", APP, "app1", "disabled")],
        &[(APP, "sha256:a2", "app2")],
    );
    let r = run(&opts(), &p, no_connect).unwrap();
    assert_eq!(outcomes(&r), vec![("web", Outcome::Disabled)]);
    assert!(p.calls("remote").is_empty());
}

#[test]
fn unit_filter_keeps_only_the_named_units() {
    let p = machine(
        vec![web(), container("db", "db.service", DB, "db1", "registry")],
        &[(APP, "sha256:a2", "app2"), (DB, "sha256:d2", "db2")],
    );
    let o = Options {
        dry_run: true,
        units: vec!["db".into()],
        ..opts()
    };
    let r = run(&o, &p, no_connect).unwrap();
    assert_eq!(outcomes(&r), vec![("db", Outcome::Pending)]);
    assert_eq!(p.calls("remote"), vec![format!("remote {DB}")]);
}

#[test]
fn image_ids_compare_with_or_without_prefix() {
    assert!(same_image("sha256:ABC", "abc"));
    assert!(!same_image("", ""));
    assert_eq!(
        short_digest("sha256:0123456789abcdef"),
        "sha256:0123456789ab"
    );
}

impl Manager for &FakeManager<'_> {
    fn restart(&self, unit: &str) -> Result<JobOutcome, systemd::Error> {
        (**self).restart(unit)
    }
    fn status(&self, unit: &str) -> Result<UnitStatus, systemd::Error> {
        (**self).status(unit)
    }
}

/// A container of a `.kube` unit: labelled with the executor's app and sitting in a pod.
fn in_pod(name: &str, pod: &str, image: &str, image_id: &str) -> Container {
    let mut c = container(name, "app.service", image, image_id, "registry");
    c.labels
        .insert(crate::plan::LABEL_APP.into(), "app.service".into());
    c.pod = pod.into();
    c
}

#[test]
fn a_kube_unit_gets_only_the_pod_whose_image_changed_replaced() {
    let p = machine(
        vec![
            in_pod("web-pod-web", "web-pod", APP, "app1"),
            in_pod("db-pod-db", "db-pod", DB, "db1"),
        ],
        &[(APP, "sha256:a2", "app2"), (DB, "sha256:d1", "db1")],
    );
    let m = FakeManager::new(&p, &[]);
    let r = run(&settling(20), &p, || Ok(&m)).unwrap();
    assert_eq!(
        outcomes(&r),
        vec![
            ("db-pod-db", Outcome::UpToDate),
            ("web-pod-web", Outcome::Updated)
        ]
    );
    assert_eq!(
        p.calls("replace"),
        vec!["replace app.service web-pod".to_string()]
    );
    assert!(m.restarts.borrow().is_empty(), "the unit is not restarted");
    let msg = &r.entries[1].message;
    assert!(
        msg.ends_with(
            "replaced pod web-pod of app.service: pod web-pod ready, app.service kept running"
        ),
        "{msg}"
    );
    assert!(!r.failed());
}

#[test]
fn a_pod_that_fails_on_its_new_image_is_rolled_back_alone() {
    let mut p = machine(
        vec![
            in_pod("web-pod-web", "web-pod", APP, "app1"),
            in_pod("db-pod-db", "db-pod", DB, "db1"),
        ],
        &[(APP, "sha256:a2", "app2"), (DB, "sha256:d2", "db2")],
    );
    p.unready.insert("app2".into());
    let m = FakeManager::new(&p, &[]);
    let r = run(&opts(), &p, || Ok(&m)).unwrap();
    assert_eq!(
        outcomes(&r),
        vec![
            ("db-pod-db", Outcome::Updated),
            ("web-pod-web", Outcome::RolledBack)
        ]
    );
    assert_eq!(
        p.calls("replace"),
        [
            "replace app.service db-pod",
            "replace app.service web-pod",
            "replace app.service web-pod"
        ]
    );
    assert_eq!(p.calls("tag"), vec![format!("tag app1 {APP}")]);
    assert_eq!(
        p.tags.borrow()[DB],
        "db2",
        "the other pod keeps its new image"
    );
    let msg = &r.entries[1].message;
    assert!(
        msg.contains(
            "pod web-pod of app.service failed on it: web-pod-web: readiness probe failed"
        ),
        "{msg}"
    );
    assert!(msg.contains("rolled back to app1"), "{msg}");
    assert!(m.restarts.borrow().is_empty());
    assert!(r.failed());
}

#[test]
fn a_container_unit_is_still_restarted_whole() {
    let p = machine(vec![web()], &[(APP, "sha256:a2", "app2")]);
    let m = FakeManager::new(&p, &[]);
    run(&opts(), &p, || Ok(&m)).unwrap();
    assert!(p.calls("replace").is_empty());
    assert_eq!(*m.restarts.borrow(), vec!["app.service".to_string()]);
}
