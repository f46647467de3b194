//! The planner's shared context, imported by every other planner module (none of which import
//! each other's internals): the options, the errors, the run-wide [`Ctx`], a workload seen as
//! metadata + pod template ([`Workload`]) and the per-pod [`PodCtx`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use thiserror::Error;

pub(crate) use crate::kube::field_prefix;
use crate::kube::model::{ConfigMap, ObjectMeta, PersistentVolumeClaim, PodSpec, Secret};
use crate::kube::{Object, Resource};
use crate::plan::*;

/// What the command line adds to the YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    pub unit: Option<String>,
    /// `NAME[:OPTIONS]` values; empty = the shared default bridge.
    pub network: Vec<String>,
    /// `[[IP:][HOSTPORT]:]CONTAINERPORT[/PROTO]`.
    pub publish: Vec<String>,
    pub userns: Option<String>,
    pub log_driver: Option<String>,
    pub log_opts: Vec<String>,
    /// `registry|local|disabled` for all containers, or `CONTAINER/POLICY`.
    pub auto_update: Vec<String>,
    pub exit_code_propagation: ExitCodePropagation,
    pub podman_args: Vec<String>,
    pub strict: bool,
    /// Upper bound on any graceful stop, seconds.
    pub stop_timeout: u64,
    /// Where ConfigMap/Secret file sets are written: `$XDG_RUNTIME_DIR/quadplay/<app>` or
    /// `/run/quadplay/<app>`, with `<app>` from [`app_name`] — per app, so two apps with a pod
    /// of the same name do not share files.
    pub runtime_dir: PathBuf,
    /// Planning for `down`: only names matter. Missing ConfigMap/Secret references (the
    /// `--configmap` files are not given to `down`) are treated as optional and host ports are
    /// not checked, so teardown never fails on what `play` accepted.
    pub down: bool,
    /// The systemd credentials the YAML's Secrets take keys from (`io.quadplay.credentials`),
    /// read from `$CREDENTIALS_DIRECTORY` before planning: the planner itself does no I/O.
    pub credentials: Credentials,
}

/// Values of systemd credentials, read before planning (`play::credentials`). Its `Debug`
/// shows names only: options get printed in test failures, values must never be.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Credentials {
    /// `$CREDENTIALS_DIRECTORY`; `None` when it is unset (not started by systemd with
    /// `LoadCredential=`/`SetCredential=`/`SetCredentialEncrypted=`).
    pub dir: Option<PathBuf>,
    /// Credential name → its value, or why it could not be read (never quoting the value).
    pub values: BTreeMap<String, Result<Vec<u8>, String>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("dir", &self.dir)
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            unit: None,
            network: Vec::new(),
            publish: Vec::new(),
            userns: None,
            log_driver: None,
            log_opts: Vec::new(),
            auto_update: Vec::new(),
            exit_code_propagation: ExitCodePropagation::None,
            podman_args: Vec::new(),
            strict: false,
            stop_timeout: 80,
            runtime_dir: PathBuf::new(),
            down: false,
            credentials: Credentials::default(),
        }
    }
}

#[derive(Debug, Error)]
pub enum PlanError {
    #[error("{location}: {object}: {}{message}", field_prefix(field))]
    Invalid {
        location: String,
        object: String,
        field: String,
        message: String,
    },
    #[error("{}", strict_message(.0))]
    Strict(Vec<Warning>),
    /// A bad command-line value (`--publish`, `--auto-update`, `--network`).
    #[error("{option} {value:?}: {message}")]
    Option {
        option: &'static str,
        value: String,
        message: String,
    },
    #[error("the YAML defines no Pod, Deployment, DaemonSet or Job")]
    NoWorkload,
}

fn strict_message(warnings: &[Warning]) -> String {
    let mut s = format!(
        "--strict: {} unsupported kind(s) or field(s) in the YAML:",
        warnings.len()
    );
    for w in warnings {
        s.push_str(&format!("\n  {w}"));
    }
    s
}

/// An error about `field` (a YAML path) of `obj`.
pub(super) fn invalid(obj: &Object, field: &str, message: impl Into<String>) -> PlanError {
    PlanError::Invalid {
        location: obj.location(field),
        object: obj.describe(),
        field: field.to_string(),
        message: message.into(),
    }
}

/// Everything the planner looks things up in, and what it accumulates besides pods.
pub(super) struct Ctx<'a> {
    pub opts: &'a PlanOptions,
    pub app: String,
    pub configmaps: BTreeMap<&'a str, (&'a Object, &'a ConfigMap)>,
    pub secrets: BTreeMap<&'a str, (&'a Object, &'a Secret)>,
    /// Every Secret's keys with their values or sources (`secrets::resolve_all`), by name.
    pub secret_keys: BTreeMap<String, super::secrets::Keys>,
    pub pvcs: BTreeMap<&'a str, (&'a Object, &'a PersistentVolumeClaim)>,
    pub warnings: Vec<Warning>,
    /// `--auto-update` values.
    pub auto_update: AutoUpdate,
    pub volumes: Vec<VolumePlan>,
    pub files: Vec<FileSetPlan>,
    pub host_paths: Vec<HostPathPlan>,
}

impl Ctx<'_> {
    /// Whether a missing reference is skipped rather than an error.
    pub fn optional(&self, declared: bool) -> bool {
        declared || self.opts.down
    }

    pub fn warn(&mut self, obj: &Object, field: &str, message: impl Into<String>) {
        self.warnings.push(Warning {
            location: obj.location(field),
            object: obj.describe(),
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// The labels every object of this run carries.
    pub fn base_labels(&self) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::new();
        labels.insert(LABEL_APP.to_string(), self.app.clone());
        if let Some(unit) = &self.opts.unit {
            labels.insert(LABEL_UNIT.to_string(), unit.clone());
        }
        labels
    }
}

/// A workload document seen as "metadata + pod template".
pub(super) struct Workload<'a> {
    pub obj: &'a Object,
    /// The object's own metadata (the Pod's, or the controller's).
    pub meta: &'a ObjectMeta,
    /// The pod template's metadata (the Pod's own for a Pod).
    pub template_meta: &'a ObjectMeta,
    pub spec: &'a PodSpec,
    /// YAML path of `spec` (`spec` or `spec.template.spec`).
    pub spec_path: &'static str,
    pub replicas: u32,
    pub job: bool,
}

impl<'a> Workload<'a> {
    pub(super) fn of(obj: &'a Object) -> Option<Workload<'a>> {
        let controller = |meta, template: &'a crate::kube::model::PodTemplateSpec| Workload {
            obj,
            meta,
            template_meta: &template.metadata,
            spec: &template.spec,
            spec_path: "spec.template.spec",
            replicas: 1,
            job: false,
        };
        Some(match &obj.resource {
            Resource::Pod(p) => Workload {
                obj,
                meta: &p.metadata,
                template_meta: &p.metadata,
                spec: &p.spec,
                spec_path: "spec",
                replicas: 1,
                job: false,
            },
            Resource::Deployment(d) => Workload {
                replicas: d.spec.replicas.unwrap_or(1),
                ..controller(&d.metadata, &d.spec.template)
            },
            Resource::DaemonSet(d) => controller(&d.metadata, &d.spec.template),
            Resource::Job(j) => Workload {
                job: true,
                ..controller(&j.metadata, &j.spec.template)
            },
            _ => return None,
        })
    }

    /// An annotation of the object, else of its pod template (Podman reads only the
    /// controller's, which is its #22801; both are honoured here).
    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.meta
            .annotations
            .get(key)
            .or_else(|| self.template_meta.annotations.get(key))
            .map(String::as_str)
    }

    /// Pod names: the Pod's name; `<name>-pod`; `<name>-pod-<i>` for several replicas.
    pub(super) fn pod_names(&self) -> Vec<String> {
        let name = &self.obj.name;
        match (&self.obj.resource, self.replicas) {
            (Resource::Pod(_), _) => vec![name.clone()],
            (_, 1) => vec![format!("{name}-pod")],
            (_, n) => (0..n).map(|i| format!("{name}-pod-{i}")).collect(),
        }
    }

    pub fn path(&self, rest: &str) -> String {
        format!("{}.{rest}", self.spec_path)
    }
}

/// `--auto-update` values: one policy for all, and per-container ones.
#[derive(Debug, Default)]
pub(super) struct AutoUpdate {
    all: Option<String>,
    per_container: BTreeMap<String, String>,
}

pub(super) const AUTO_UPDATE_POLICIES: &[&str] = &["registry", "local", "disabled"];

impl AutoUpdate {
    pub(super) fn parse(values: &[String]) -> Result<AutoUpdate, PlanError> {
        let mut au = AutoUpdate::default();
        for v in values {
            let (ctr, policy) = match v.rsplit_once('/') {
                Some((c, p)) => (Some(c), p),
                None => (None, v.as_str()),
            };
            if !AUTO_UPDATE_POLICIES.contains(&policy) {
                return Err(PlanError::Option {
                    option: "--auto-update",
                    value: v.clone(),
                    message: "the policy must be registry, local or disabled".into(),
                });
            }
            match ctr {
                Some(c) => {
                    au.per_container.insert(c.to_string(), policy.to_string());
                }
                None => au.all = Some(policy.to_string()),
            }
        }
        Ok(au)
    }

    /// Command line first (it is the unit's `AutoUpdate=`), then the per-container
    /// annotation, then the general one.
    pub(super) fn policy(&self, w: &Workload, ctr: &str) -> Option<String> {
        self.per_container
            .get(ctr)
            .or(self.all.as_ref())
            .cloned()
            .or_else(|| {
                w.annotation(&format!("{LABEL_AUTOUPDATE}/{ctr}"))
                    .or_else(|| w.annotation(LABEL_AUTOUPDATE))
                    .map(str::to_string)
            })
    }
}

/// Podman names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub(super) fn check_name(obj: &Object, field: &str, name: &str) -> Result<(), PlanError> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            obj,
            field,
            format!("`{name}` is not a valid name (letters, digits, `_`, `.`, `-`; starting with a letter or digit)"),
        ))
    }
}

/// One pod being planned: its workload, its name, which replica it is, and its labels.
pub(super) struct PodCtx<'p, 'a> {
    pub w: &'p Workload<'a>,
    /// The Podman pod name.
    pub name: &'p str,
    /// Which replica, for workloads with several.
    pub replica: Option<usize>,
    /// Labels every container of the pod carries.
    pub labels: BTreeMap<String, String>,
}
