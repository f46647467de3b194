//! What a reload would change: each pod's spec digest, and the difference between the pods that
//! run and a new plan.
//!
//! Every pod carries [`LABEL_SPEC_DIGEST`], a SHA-256 over its effective spec: the pod plan
//! (containers, images, env, mounts, ports, probes, ...) plus the contents of what it uses from
//! outside itself — its ConfigMap/Secret file sets, the Podman secrets behind its `secretKeyRef`s
//! and its named volumes' definitions. A ConfigMap value read through `configMapKeyRef` is already
//! in the container's env. Left out on purpose: where in the YAML a port was written (moving a
//! line must not restart anything) and `io.quadplay.after`/`after-completed` (start order, not
//! spec). Secret values enter only mixed with the whole spec, never alone.
//!
//! `systemctl reload` (see [`super::reload`]) and `quadplay play --dry-run` both compare the
//! running pods' labels with [`diff`], so the dry run shows exactly what a reload would do.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::engine::PodLabels;
use crate::plan::{FileSetPlan, Mount, Plan, PodPlan, SecretPlan, VolumePlan, LABEL_SPEC_DIGEST};

/// What a reload does with each pod.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// Running with the same spec: left alone.
    pub keep: Vec<String>,
    /// Running with another spec (or without a digest): stopped, removed and created anew.
    pub replace: Vec<String>,
    /// Planned, not running.
    pub create: Vec<String>,
    /// Running, no longer planned.
    pub remove: Vec<String>,
}

impl Diff {
    /// True when a reload would change nothing.
    pub fn is_empty(&self) -> bool {
        self.replace.is_empty() && self.create.is_empty() && self.remove.is_empty()
    }

    /// The pods a reload starts: replaced and new ones.
    pub fn starting(&self) -> BTreeSet<&str> {
        self.replace
            .iter()
            .chain(&self.create)
            .map(String::as_str)
            .collect()
    }
}

/// Compares the running pods (with their labels) with a plan. Pods in plan order, then the
/// removed ones by name.
pub fn diff(running: &PodLabels, plan: &Plan) -> Diff {
    let mut d = Diff::default();
    for pod in &plan.pods {
        let Some(labels) = running.get(&pod.name) else {
            d.create.push(pod.name.clone());
            continue;
        };
        let same = labels
            .get(LABEL_SPEC_DIGEST)
            .is_some_and(|digest| *digest == pod_digest(pod, plan));
        if same {
            d.keep.push(pod.name.clone());
        } else {
            d.replace.push(pod.name.clone());
        }
    }
    let planned: BTreeSet<&str> = plan.pods.iter().map(|p| p.name.as_str()).collect();
    d.remove = running
        .keys()
        .filter(|name| !planned.contains(name.as_str()))
        .cloned()
        .collect();
    d
}

/// The plan reduced to the named pods (image pulls and host checks of what a reload starts).
pub fn subplan(plan: &Plan, names: &BTreeSet<&str>) -> Plan {
    Plan {
        pods: plan
            .pods
            .iter()
            .filter(|p| names.contains(p.name.as_str()))
            .cloned()
            .collect(),
        ..plan.clone()
    }
}

/// Puts each pod's digest on it as [`LABEL_SPEC_DIGEST`].
pub fn stamp(plan: &mut Plan) {
    let digests: Vec<String> = plan.pods.iter().map(|p| pod_digest(p, plan)).collect();
    for (pod, digest) in plan.pods.iter_mut().zip(digests) {
        pod.labels.insert(LABEL_SPEC_DIGEST.to_string(), digest);
    }
}

/// The digest of one pod's effective spec (hex, 32 characters).
pub fn pod_digest(pod: &PodPlan, plan: &Plan) -> String {
    let mut spec = pod.clone();
    spec.labels.remove(LABEL_SPEC_DIGEST);
    spec.after.clear();
    spec.after_completed.clear();
    spec.after_completed.clear();
    for port in &mut spec.ports {
        port.origin = Default::default();
    }
    let mut h = Sha256::new();
    field(&mut h, format!("{spec:?}").as_bytes());
    for set in file_sets_of(pod, plan) {
        field(&mut h, set.dir.as_os_str().as_encoded_bytes());
        for (path, (content, mode)) in &set.files {
            field(&mut h, path.as_bytes());
            field(&mut h, content);
            field(&mut h, &mode.to_le_bytes());
        }
    }
    for secret in secrets_of(pod, plan) {
        field(&mut h, secret.name.as_bytes());
        field(&mut h, &secret.data);
    }
    for volume in volumes_of(pod, plan) {
        let mut v = volume.clone();
        v.labels.clear();
        field(&mut h, format!("{v:?}").as_bytes());
    }
    h.finalize()[..16]
        .iter()
        .fold(String::with_capacity(32), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Feeds one length-prefixed field, so that field boundaries cannot shift.
fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

fn mounts(pod: &PodPlan) -> impl Iterator<Item = &Mount> {
    pod.init_containers
        .iter()
        .chain(&pod.containers)
        .flat_map(|c| c.mounts.iter())
}

/// The ConfigMap/Secret file sets the pod bind-mounts (whole, or one file of it by subPath).
pub fn file_sets_of<'a>(pod: &PodPlan, plan: &'a Plan) -> Vec<&'a FileSetPlan> {
    plan.files
        .iter()
        .filter(|set| {
            mounts(pod)
                .any(|m| matches!(m, Mount::Bind { source, .. } if source.starts_with(&set.dir)))
        })
        .collect()
}

/// The Podman secrets the pod's containers read into their environment.
pub fn secrets_of<'a>(pod: &PodPlan, plan: &'a Plan) -> Vec<&'a SecretPlan> {
    let used: BTreeSet<&str> = pod
        .init_containers
        .iter()
        .chain(&pod.containers)
        .flat_map(|c| c.secret_env.iter().map(|s| s.secret.as_str()))
        .collect();
    plan.secrets
        .iter()
        .filter(|s| used.contains(s.name.as_str()))
        .collect()
}

/// The named volumes the pod mounts.
pub fn volumes_of<'a>(pod: &PodPlan, plan: &'a Plan) -> Vec<&'a VolumePlan> {
    plan.volumes
        .iter()
        .filter(|v| mounts(pod).any(|m| matches!(m, Mount::Volume { name, .. } if *name == v.name)))
        .collect()
}

/// The difference as people read it: one line per pod that changes, then a summary.
pub fn describe(diff: &Diff, plan: &Plan) -> String {
    let workload = |name: &str| {
        plan.pods
            .iter()
            .find(|p| p.name == name)
            .map(|p| format!(" ({})", p.workload))
            .unwrap_or_default()
    };
    let mut out = String::new();
    for (verb, pods, why) in [
        ("replace", &diff.replace, ": its spec changed"),
        ("create", &diff.create, ""),
        ("remove", &diff.remove, ": no longer in the YAML"),
    ] {
        for pod in pods {
            let _ = writeln!(out, "  {verb} pod {pod}{}{why}", workload(pod));
        }
    }
    let _ = writeln!(
        out,
        "{} pod(s) replaced, {} created, {} removed, {} kept running untouched",
        diff.replace.len(),
        diff.create.len(),
        diff.remove.len(),
        diff.keep.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{ContainerPlan, PortMapping, PortOrigin, SecretEnv};
    use std::path::PathBuf;

    fn web(name: &str, image: &str) -> PodPlan {
        PodPlan {
            name: name.into(),
            workload: format!("Deployment/{name}"),
            containers: vec![ContainerPlan {
                name: format!("{name}-httpd"),
                short_name: "httpd".into(),
                image: image.into(),
                env: vec![("GREETING".into(), "hello".into())],
                mounts: vec![Mount::Bind {
                    source: PathBuf::from(format!("/run/user/1000/quadplay/app/{name}/conf")),
                    target: "/etc/conf".into(),
                    read_only: true,
                    options: vec![],
                }],
                secret_env: vec![SecretEnv {
                    variable: "TOKEN".into(),
                    secret: format!("{name}-token"),
                }],
                ..ContainerPlan::default()
            }],
            ports: vec![PortMapping {
                host_ip: None,
                host_port: 8081,
                container_port: 80,
                protocol: "tcp".into(),
                origin: PortOrigin {
                    location: "app.yaml:20:11".into(),
                    field: "spec.containers[0].ports[0].hostPort".into(),
                },
            }],
            ..PodPlan::default()
        }
    }

    fn app() -> Plan {
        let names = ["front", "api", "db"];
        Plan {
            app: "app.service".into(),
            pods: names
                .iter()
                .map(|n| web(n, "registry.example/web:1"))
                .collect(),
            files: names
                .iter()
                .map(|n| FileSetPlan {
                    dir: PathBuf::from(format!("/run/user/1000/quadplay/app/{n}/conf")),
                    app_dir: PathBuf::from("/run/user/1000/quadplay/app"),
                    files: [("index.html".to_string(), (b"v1".to_vec(), 0o644))].into(),
                    secret: false,
                })
                .collect(),
            secrets: names
                .iter()
                .map(|n| SecretPlan {
                    name: format!("{n}-token"),
                    data: b"s3cret".to_vec(),
                    source: crate::plan::SecretSource::Yaml,
                })
                .collect(),
            ..Plan::default()
        }
    }

    /// What the running app's pods look like after a start with `plan`.
    fn running(plan: &Plan) -> PodLabels {
        let mut stamped = plan.clone();
        stamp(&mut stamped);
        stamped
            .pods
            .into_iter()
            .map(|p| (p.name, p.labels))
            .collect()
    }

    #[test]
    fn unchanged_app_keeps_everything() {
        let plan = app();
        let d = diff(&running(&plan), &plan);
        assert!(d.is_empty());
        assert_eq!(d.keep, ["front", "api", "db"]);
    }

    #[test]
    fn a_configmap_value_replaces_only_the_pod_that_mounts_it() {
        let old = app();
        let mut new = old.clone();
        new.files[1]
            .files
            .insert("index.html".into(), (b"v2".to_vec(), 0o644));
        let d = diff(&running(&old), &new);
        assert_eq!(d.replace, ["api"]);
        assert_eq!(d.keep, ["front", "db"]);
        // The mode counts too: a file that becomes executable is a new spec.
        let mut new = old.clone();
        new.files[2]
            .files
            .insert("index.html".into(), (b"v1".to_vec(), 0o755));
        assert_eq!(diff(&running(&old), &new).replace, ["db"]);
    }

    #[test]
    fn image_env_port_and_secret_changes_are_spec_changes() {
        let old = app();
        let run = running(&old);
        let mut new = old.clone();
        new.pods[0].containers[0].image = "registry.example/web:2".into();
        new.pods[1].containers[0].env[0].1 = "bonjour".into();
        new.pods[2].ports[0].host_port = 9090;
        assert_eq!(diff(&run, &new).replace, ["front", "api", "db"]);
        let mut new = old.clone();
        new.secrets[2].data = b"rotated".to_vec();
        assert_eq!(diff(&run, &new).replace, ["db"]);
    }

    #[test]
    fn yaml_positions_and_start_order_are_not_spec() {
        let old = app();
        let mut new = old.clone();
        new.pods[0].ports[0].origin.location = "app.yaml:27:11".into();
        new.pods[1].after = vec!["db".into()];
        assert!(diff(&running(&old), &new).is_empty());
    }

    #[test]
    fn scaling_and_removal() {
        let old = app();
        let mut new = old.clone();
        new.pods.retain(|p| p.name != "db");
        new.pods.push(web("api-pod-1", "registry.example/web:1"));
        let d = diff(&running(&old), &new);
        assert_eq!(d.remove, ["db"]);
        assert_eq!(d.create, ["api-pod-1"]);
        assert_eq!(d.keep, ["front", "api"]);
        let text = describe(&d, &new);
        assert!(text.contains("  create pod api-pod-1 (Deployment/api-pod-1)\n"));
        assert!(text.contains("  remove pod db: no longer in the YAML\n"));
        assert!(
            text.ends_with("0 pod(s) replaced, 1 created, 1 removed, 2 kept running untouched\n")
        );
    }

    #[test]
    fn a_pod_without_digest_is_replaced() {
        let plan = app();
        let mut run = running(&plan);
        run.get_mut("front").unwrap().remove(LABEL_SPEC_DIGEST);
        assert_eq!(diff(&run, &plan).replace, ["front"]);
    }

    #[test]
    fn digest_is_stable_and_hex() {
        let plan = app();
        let a = pod_digest(&plan.pods[0], &plan);
        assert_eq!(a, pod_digest(&plan.pods[0], &plan));
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!a.contains("s3cret"));
    }
}
