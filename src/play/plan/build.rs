//! The planner: Kubernetes objects + command-line options → [`Plan`], purely.
//!
//! No I/O happens here: relative host paths are resolved against the directory the loader
//! recorded, and existence checks are left to apply. Every error names the object, the field
//! path and its `file:line:column`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use thiserror::Error;

use super::annotations::{self, owns};
use super::env::{self, EnvValue};
use super::volumes::{self, PodVolumes};
use super::*;
use crate::cli::{DownArgs, PlayArgs};
use crate::kube::model::IntOrString;
use crate::kube::model::{
    ConfigMap, Container, ContainerPort, ObjectMeta, PersistentVolumeClaim, PodSpec,
    Probe as KProbe, Secret, Service,
};
use crate::kube::quantity::Quantity;
use crate::kube::{Documents, Object, Resource};

/// Deployment annotation prefix giving one host port per replica:
/// `io.quadplay.replica-host-ports/<containerPort>: "8081,8082,8083"`. Without it a Deployment
/// with `replicas > 1` and a `hostPort` is refused, because every replica would bind the same
/// host port. It is an annotation so the YAML stays valid Kubernetes.
pub const REPLICA_HOST_PORTS: &str = "io.quadplay.replica-host-ports/";

/// Podman's per-pod user-namespace annotation (as `podman kube play` reads it).
const USERNS_ANNOTATION: &str = "io.podman.annotations.userns";

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
        }
    }
}

impl PlanOptions {
    pub fn from_play(args: &PlayArgs, runtime_dir: PathBuf) -> Self {
        PlanOptions {
            unit: args.podman.unit.clone(),
            network: args.network.clone(),
            publish: args.publish.clone(),
            userns: args.userns.clone(),
            log_driver: args.log_driver.clone(),
            log_opts: args.log_opt.clone(),
            auto_update: args.auto_update.clone(),
            exit_code_propagation: args.exit_code_propagation,
            podman_args: args.podman_args.clone(),
            strict: args.strict,
            stop_timeout: args.stop_timeout,
            runtime_dir,
            down: false,
        }
    }

    /// `down` needs the same names as `play`; options that only shape containers do not matter.
    pub fn from_down(args: &DownArgs, runtime_dir: PathBuf) -> Self {
        PlanOptions {
            unit: args.podman.unit.clone(),
            runtime_dir,
            down: true,
            ..PlanOptions::default()
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

fn field_prefix(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!("{field}: ")
    }
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
    pub pvcs: BTreeMap<&'a str, (&'a Object, &'a PersistentVolumeClaim)>,
    pub warnings: Vec<Warning>,
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
    fn of(obj: &'a Object) -> Option<Workload<'a>> {
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
    fn pod_names(&self) -> Vec<String> {
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

/// Turns loaded documents into a plan.
pub fn plan(docs: &Documents, opts: &PlanOptions) -> Result<Plan, PlanError> {
    let mut ctx = Ctx {
        opts,
        app: app_name(opts.unit.as_deref(), &docs.files),
        configmaps: BTreeMap::new(),
        secrets: BTreeMap::new(),
        pvcs: BTreeMap::new(),
        warnings: docs
            .findings
            .iter()
            .map(|f| Warning {
                location: f.location.clone(),
                object: f.object.clone(),
                field: f.field.clone(),
                message: f.message.clone(),
            })
            .collect(),
        volumes: Vec::new(),
        files: Vec::new(),
        host_paths: Vec::new(),
    };
    let mut services = Vec::new();
    for obj in &docs.objects {
        match &obj.resource {
            Resource::ConfigMap(c) => {
                ctx.configmaps.insert(&obj.name, (obj, c));
            }
            Resource::Secret(s) => {
                ctx.secrets.insert(&obj.name, (obj, s));
            }
            Resource::PersistentVolumeClaim(p) => {
                ctx.pvcs.insert(&obj.name, (obj, p));
            }
            Resource::Service(s) => services.push((obj, s)),
            _ => {}
        }
    }
    let workloads: Vec<Workload> = docs.objects.iter().filter_map(Workload::of).collect();
    if workloads.is_empty() {
        return Err(PlanError::NoWorkload);
    }
    let auto_update = AutoUpdate::parse(&opts.auto_update)?;
    let publish = opts
        .publish
        .iter()
        .map(|p| parse_publish(p))
        .collect::<Result<Vec<_>, _>>()?;
    for p in publish.iter().filter(|p| p.implicit_host_port) {
        ctx.warnings.push(Warning {
            location: "--publish".into(),
            object: p.text.clone(),
            field: String::new(),
            message: format!(
                "no host port given: published on host port {} (the container port), not a random one",
                p.mapping.host_port
            ),
        });
    }

    let secrets = volumes::secret_plans(&ctx)?;
    volumes::pvc_volumes(&mut ctx)?;

    let mut pods: Vec<PodPlan> = Vec::new();
    for w in &workloads {
        annotations::warn_unsupported(&mut ctx, w);
        if w.replicas == 0 {
            ctx.warn(w.obj, "spec.replicas", "replicas: 0, no pod is created");
        }
        for (i, name) in w.pod_names().into_iter().enumerate() {
            let replica = (w.replicas > 1).then_some(i);
            if let Some(other) = pods.iter().find(|p| p.name == name) {
                return Err(invalid(
                    w.obj,
                    "metadata.name",
                    format!(
                        "its pod would be named {name}, as the pod of {} is",
                        other.workload
                    ),
                ));
            }
            pods.push(pod_plan(&mut ctx, w, &name, replica, &auto_update)?);
        }
    }
    annotations::order(&mut pods, &workloads)?;
    apply_publish(&mut pods, &publish)?;
    if !opts.down {
        check_host_ports(&pods, &workloads)?;
    }
    set_aliases(&mut ctx, &mut pods, &workloads, &services);

    let networks = networks(opts, &pods);
    for pod in &mut pods {
        if !pod.host_network {
            pod.networks = networks.iter().map(|n| n.1.clone()).collect();
        }
    }
    // Replicas share their template: say each thing once.
    let mut seen = BTreeSet::new();
    ctx.warnings
        .retain(|w| seen.insert((w.location.clone(), w.field.clone(), w.message.clone())));
    if opts.strict && !ctx.warnings.is_empty() {
        return Err(PlanError::Strict(ctx.warnings));
    }
    Ok(Plan {
        app: ctx.app,
        unit: opts.unit.clone(),
        networks: networks.into_iter().filter_map(|(plan, _)| plan).collect(),
        secrets,
        volumes: ctx.volumes,
        files: ctx.files,
        pods,
        exit_code_propagation: opts.exit_code_propagation,
        stop_timeout: opts.stop_timeout,
        warnings: ctx.warnings,
        host_paths: ctx.host_paths,
    })
}

/// The unit name, else `yaml-<12 hex digits>` of a stable hash (FNV-1a) of the absolute
/// YAML paths: stable across runs and Rust versions, so `down` finds what `play` made.
pub fn app_name(unit: Option<&str>, files: &[PathBuf]) -> String {
    if let Some(unit) = unit {
        return unit.to_string();
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for f in files {
        for b in f.as_os_str().as_encoded_bytes().iter().chain(b"\0") {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("yaml-{:012x}", h & 0xffff_ffff_ffff)
}

/// Networks pods join: `(what to ensure exists, the pod's network value)`.
fn networks(opts: &PlanOptions, pods: &[PodPlan]) -> Vec<(Option<NetworkPlan>, String)> {
    if !opts.network.is_empty() {
        return opts
            .network
            .iter()
            .map(|value| {
                let name = value.split(':').next().unwrap_or_default();
                // Modes are not networks to ensure; user-named networks belong to their
                // `.network` unit (or the admin), so they are never created here.
                let mode = matches!(
                    name,
                    "host" | "none" | "private" | "slirp4netns" | "pasta" | "bridge"
                ) || name.starts_with("ns")
                    || name.starts_with("container");
                let plan = (!mode).then(|| NetworkPlan {
                    name: name.to_string(),
                    create_if_missing: false,
                });
                (plan, value.clone())
            })
            .collect();
    }
    if pods.iter().all(|p| p.host_network) {
        return Vec::new();
    }
    vec![(
        Some(NetworkPlan {
            name: DEFAULT_NETWORK.to_string(),
            create_if_missing: true,
        }),
        DEFAULT_NETWORK.to_string(),
    )]
}

/// `--auto-update` values: one policy for all, and per-container ones.
#[derive(Debug, Default)]
struct AutoUpdate {
    all: Option<String>,
    per_container: BTreeMap<String, String>,
}

const AUTO_UPDATE_POLICIES: &[&str] = &["registry", "local", "disabled"];

impl AutoUpdate {
    fn parse(values: &[String]) -> Result<AutoUpdate, PlanError> {
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
    fn policy(&self, w: &Workload, ctr: &str) -> Option<String> {
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

fn pod_plan(
    ctx: &mut Ctx,
    w: &Workload,
    name: &str,
    replica: Option<usize>,
    auto_update: &AutoUpdate,
) -> Result<PodPlan, PlanError> {
    let spec = w.spec;
    check_name(w.obj, "metadata.name", name)?;
    if spec.containers.is_empty() {
        return Err(invalid(w.obj, &w.path("containers"), "no containers"));
    }
    let mut labels = ctx.base_labels();
    labels.extend(w.template_meta.labels.clone());
    let restart_policy = restart_policy(ctx, w)?;
    let pod_volumes = volumes::pod_volumes(ctx, w, name)?;
    let mut seen = BTreeSet::new();
    let mut init_containers = Vec::new();
    for (i, c) in spec.init_containers.iter().enumerate() {
        let path = w.path(&format!("initContainers[{i}]"));
        check_init(w, c, &path)?;
        let mut cp = container(
            ctx,
            w,
            name,
            c,
            &path,
            &pod_volumes,
            &labels,
            auto_update,
            &mut seen,
        )?;
        cp.restart_policy = RestartPolicy::Never;
        init_containers.push(cp);
    }
    let mut containers = Vec::new();
    let mut ports = Vec::new();
    for (i, c) in spec.containers.iter().enumerate() {
        let path = w.path(&format!("containers[{i}]"));
        let mut cp = container(
            ctx,
            w,
            name,
            c,
            &path,
            &pod_volumes,
            &labels,
            auto_update,
            &mut seen,
        )?;
        cp.restart_policy = restart_policy;
        ports.extend(container_ports(w, c, &path, replica, ctx.opts.down)?);
        containers.push(cp);
    }
    let sec = spec.security_context.clone().unwrap_or_default();
    let userns = ctx
        .opts
        .userns
        .clone()
        .or_else(|| w.annotation(USERNS_ANNOTATION).map(str::to_string))
        .or_else(|| (spec.host_users == Some(false)).then(|| "auto".to_string()));
    let dns = spec.dns_config.clone().unwrap_or_default();
    let host_network = spec.host_network || ctx.opts.network.iter().any(|n| n == "host");
    if host_network && !ports.is_empty() {
        // The containers bind the host's ports themselves: there is nothing to publish.
        if ports.iter().any(|m| m.host_port != m.container_port) {
            ctx.warn(
                w.obj,
                &w.path("hostNetwork"),
                "with host networking a hostPort other than its containerPort has no effect",
            );
        }
        ports.clear();
    }
    Ok(PodPlan {
        name: name.to_string(),
        workload: match replica {
            Some(i) => format!("{}[{i}]", w.obj.describe()),
            None => w.obj.describe(),
        },
        labels,
        hostname: if host_network {
            None
        } else {
            spec.hostname.clone()
        },
        networks: Vec::new(),
        aliases: Vec::new(),
        ports,
        host_network,
        host_pid: spec.host_pid,
        host_ipc: spec.host_ipc,
        share_process_namespace: spec.share_process_namespace,
        userns,
        dns_servers: dns.nameservers,
        dns_search: dns.searches,
        dns_options: dns
            .options
            .iter()
            .map(|o| match &o.value {
                Some(v) => format!("{}:{v}", o.name),
                None => o.name.clone(),
            })
            .collect(),
        add_hosts: spec
            .host_aliases
            .iter()
            .flat_map(|a| a.hostnames.iter().map(move |h| format!("{h}:{}", a.ip)))
            .collect(),
        sysctls: sec
            .sysctls
            .iter()
            .map(|s| format!("{}={}", s.name, s.value))
            .collect(),
        init_containers,
        containers,
        restart_policy,
        after: Vec::new(),
    })
}

/// Podman names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
fn check_name(obj: &Object, field: &str, name: &str) -> Result<(), PlanError> {
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

fn restart_policy(ctx: &mut Ctx, w: &Workload) -> Result<RestartPolicy, PlanError> {
    let field = w.path("restartPolicy");
    let policy = match w.spec.restart_policy.as_deref() {
        None if w.job => {
            ctx.warn(
                w.obj,
                &field,
                "a Job needs restartPolicy Never or OnFailure; using Never",
            );
            RestartPolicy::Never
        }
        None | Some("Always") => RestartPolicy::Always,
        Some("OnFailure") => RestartPolicy::OnFailure,
        Some("Never") => RestartPolicy::Never,
        Some(other) => {
            return Err(invalid(
                w.obj,
                &field,
                format!("`{other}` is not Always, OnFailure or Never"),
            ))
        }
    };
    if w.job && policy == RestartPolicy::Always {
        return Err(invalid(
            w.obj,
            &field,
            "a Job's restartPolicy must be Never or OnFailure",
        ));
    }
    Ok(policy)
}

/// Kubernetes (and Podman) refuse probes and lifecycle hooks on init containers.
fn check_init(w: &Workload, c: &Container, path: &str) -> Result<(), PlanError> {
    for (set, field) in [
        (c.liveness_probe.is_some(), "livenessProbe"),
        (c.readiness_probe.is_some(), "readinessProbe"),
        (c.startup_probe.is_some(), "startupProbe"),
        (c.lifecycle.is_some(), "lifecycle"),
    ] {
        if set {
            return Err(invalid(
                w.obj,
                &format!("{path}.{field}"),
                "not allowed on an init container",
            ));
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn container(
    ctx: &mut Ctx,
    w: &Workload,
    pod: &str,
    c: &Container,
    path: &str,
    pod_volumes: &PodVolumes,
    pod_labels: &BTreeMap<String, String>,
    auto_update: &AutoUpdate,
    seen: &mut BTreeSet<String>,
) -> Result<ContainerPlan, PlanError> {
    check_name(w.obj, &format!("{path}.name"), &c.name)?;
    if !seen.insert(c.name.clone()) {
        return Err(invalid(
            w.obj,
            &format!("{path}.name"),
            format!("a second container named `{}` in this pod", c.name),
        ));
    }
    let image = match c.image.as_deref().map(str::trim) {
        Some(i) if !i.is_empty() => i.to_string(),
        _ => {
            return Err(invalid(
                w.obj,
                &format!("{path}.image"),
                format!("container `{}` has no image", c.name),
            ))
        }
    };
    let env_list = env::resolve(ctx, w, pod, c, path)?;
    let mut env = Vec::new();
    let mut secret_env = Vec::new();
    for (name, value) in env_list {
        match value {
            EnvValue::Plain(v) => env.push((name, v)),
            EnvValue::Secret(secret) => secret_env.push(SecretEnv {
                variable: name,
                secret,
            }),
        }
    }
    let command = c.command.as_ref().map(|v| env::expand_all(v, &env));
    let args = c.args.as_ref().map(|v| env::expand_all(v, &env));
    let (mounts, devices) = volumes::mounts(ctx, w, pod_volumes, c, path)?;
    let mut labels = pod_labels.clone();
    if let Some(unit) = &ctx.opts.unit {
        labels.insert(LABEL_SYSTEMD_UNIT.to_string(), unit.clone());
    }
    if let Some(policy) = auto_update.policy(w, &c.name) {
        if !AUTO_UPDATE_POLICIES.contains(&policy.as_str()) {
            return Err(invalid(
                w.obj,
                "metadata.annotations",
                format!(
                    "auto-update policy `{policy}` for `{}` is not registry, local or disabled",
                    c.name
                ),
            ));
        }
        if policy != "disabled" {
            labels.insert(LABEL_AUTOUPDATE.to_string(), policy);
        }
    }
    let mut extra_args = Vec::new();
    annotations::container_extras(w, &c.name, &mut extra_args, &mut labels)?;
    extra_args.extend(ctx.opts.podman_args.iter().cloned());
    // The workload's annotations, as `podman kube play` sets them, minus `io.quadplay.*`:
    // those are instructions to this planner, already carried out.
    let mut annotations = w.template_meta.annotations.clone();
    annotations.extend(w.meta.annotations.clone());
    annotations.retain(|k, _| !k.starts_with("io.quadplay."));
    let mut cp = ContainerPlan {
        name: format!("{pod}-{}", c.name),
        short_name: c.name.clone(),
        image,
        pull_policy: pull_policy(w, c, path)?,
        command,
        args,
        working_dir: c.working_dir.clone(),
        env,
        secret_env,
        mounts,
        devices,
        labels,
        annotations,
        tty: c.tty,
        stop_signal: c.lifecycle.as_ref().and_then(|l| l.stop_signal.clone()),
        stop_timeout: stop_timeout(ctx, w)?,
        log_driver: ctx.opts.log_driver.clone(),
        log_opts: ctx.opts.log_opts.clone(),
        extra_args,
        ..ContainerPlan::default()
    };
    security(w, c, path, &mut cp)?;
    resources(ctx, w, c, path, &mut cp)?;
    let probe = |p: &Option<KProbe>, field: &str| -> Result<Option<Probe>, PlanError> {
        p.as_ref()
            .map(|p| probe(w, c, p, &format!("{path}.{field}")))
            .transpose()
    };
    cp.liveness = probe(&c.liveness_probe, "livenessProbe")?;
    cp.readiness = probe(&c.readiness_probe, "readinessProbe")?;
    cp.startup = probe(&c.startup_probe, "startupProbe")?;
    Ok(cp)
}

fn pull_policy(w: &Workload, c: &Container, path: &str) -> Result<PullPolicy, PlanError> {
    // Unset means `missing`: pulling at every start would make a boot without network fail.
    Ok(match c.image_pull_policy.as_deref() {
        None => PullPolicy::Missing,
        Some(p) => match p.to_ascii_lowercase().as_str() {
            "always" => PullPolicy::Always,
            "ifnotpresent" | "missing" => PullPolicy::Missing,
            "never" => PullPolicy::Never,
            "newer" | "ifnewer" => PullPolicy::Newer,
            _ => {
                return Err(invalid(
                    w.obj,
                    &format!("{path}.imagePullPolicy"),
                    format!("`{p}` is not Always, IfNotPresent or Never"),
                ))
            }
        },
    })
}

fn stop_timeout(ctx: &Ctx, w: &Workload) -> Result<Option<u64>, PlanError> {
    match w.spec.termination_grace_period_seconds {
        None => Ok(None),
        Some(s) if s < 0 => Err(invalid(
            w.obj,
            &w.path("terminationGracePeriodSeconds"),
            "must not be negative",
        )),
        Some(s) => Ok(Some((s as u64).min(ctx.opts.stop_timeout))),
    }
}

fn security(
    w: &Workload,
    c: &Container,
    path: &str,
    cp: &mut ContainerPlan,
) -> Result<(), PlanError> {
    let pod = w.spec.security_context.clone().unwrap_or_default();
    let sc = c.security_context.clone().unwrap_or_default();
    let uid = sc.run_as_user.or(pod.run_as_user);
    let gid = sc.run_as_group.or(pod.run_as_group);
    for (v, field) in [(uid, "runAsUser"), (gid, "runAsGroup")] {
        if v.is_some_and(|v| !(0..=i64::from(u32::MAX)).contains(&v)) {
            return Err(invalid(
                w.obj,
                &format!("{path}.securityContext.{field}"),
                "not a valid id",
            ));
        }
    }
    cp.user = match (uid, gid) {
        (Some(u), Some(g)) => Some(format!("{u}:{g}")),
        (Some(u), None) => Some(u.to_string()),
        (None, Some(g)) => Some(format!("0:{g}")),
        (None, None) => None,
    };
    cp.supplemental_groups = pod
        .supplemental_groups
        .iter()
        .filter_map(|g| u32::try_from(*g).ok())
        .collect();
    cp.privileged = sc.privileged.unwrap_or(false);
    cp.no_new_privileges = sc.allow_privilege_escalation == Some(false);
    cp.read_only_root = sc.read_only_root_filesystem.unwrap_or(false);
    if let Some(caps) = &sc.capabilities {
        cp.cap_add = caps.add.clone();
        cp.cap_drop = caps.drop.clone();
    }
    if let Some(se) = sc
        .se_linux_options
        .as_ref()
        .or(pod.se_linux_options.as_ref())
    {
        for (k, v) in [
            ("user", &se.user),
            ("role", &se.role),
            ("type", &se.type_),
            ("level", &se.level),
        ] {
            if let Some(v) = v {
                cp.selinux_opts.push(format!("{k}:{v}"));
            }
        }
    }
    cp.unmask_all = match sc.proc_mount.as_deref() {
        None | Some("Default") => false,
        Some("Unmasked") => true,
        Some(other) => {
            return Err(invalid(
                w.obj,
                &format!("{path}.securityContext.procMount"),
                format!("`{other}` is not Default or Unmasked"),
            ))
        }
    };
    Ok(())
}

fn resources(
    ctx: &mut Ctx,
    w: &Workload,
    c: &Container,
    path: &str,
    cp: &mut ContainerPlan,
) -> Result<(), PlanError> {
    let Some(r) = &c.resources else {
        return Ok(());
    };
    let quantity = |section: &str, key: &str, text: &str| {
        Quantity::parse(text)
            .map_err(|m| invalid(w.obj, &format!("{path}.resources.{section}.{key}"), m))
    };
    for (key, text) in &r.limits {
        match key.as_str() {
            "memory" => cp.memory_limit = Some(quantity("limits", key, text)?.ceil_units()),
            "cpu" => cp.cpu_limit_millis = Some(quantity("limits", key, text)?.ceil_millis()),
            _ => ctx.warn(
                w.obj,
                &format!("{path}.resources.limits"),
                format!("resource `{key}` is not supported, ignored"),
            ),
        }
    }
    for (key, text) in &r.requests {
        match key.as_str() {
            "memory" => cp.memory_reservation = Some(quantity("requests", key, text)?.ceil_units()),
            "cpu" => {
                quantity("requests", key, text)?;
                ctx.warn(
                    w.obj,
                    &format!("{path}.resources.requests.cpu"),
                    "ignored on a single host (only limits.cpu is enforced)",
                );
            }
            _ => ctx.warn(
                w.obj,
                &format!("{path}.resources.requests"),
                format!("resource `{key}` is not supported, ignored"),
            ),
        }
    }
    Ok(())
}

/// A probe's port: a number, or the name of one of the container's ports.
fn probe_port(
    w: &Workload,
    c: &Container,
    port: &IntOrString,
    field: &str,
) -> Result<u16, PlanError> {
    let n = match port {
        IntOrString::Int(n) => *n,
        IntOrString::Str(name) => c
            .ports
            .iter()
            .find(|p| p.name.as_deref() == Some(name))
            .and_then(|p| p.container_port)
            .map(i64::from)
            .ok_or_else(|| {
                invalid(
                    w.obj,
                    field,
                    format!("no port named `{name}` in container `{}`", c.name),
                )
            })?,
    };
    u16::try_from(n)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| invalid(w.obj, field, format!("{n} is not a port number")))
}

fn probe(w: &Workload, c: &Container, p: &KProbe, path: &str) -> Result<Probe, PlanError> {
    let mut actions = Vec::new();
    if let Some(e) = &p.exec {
        if e.command.is_empty() {
            return Err(invalid(
                w.obj,
                &format!("{path}.exec.command"),
                "empty command",
            ));
        }
        actions.push(ProbeAction::Exec(e.command.clone()));
    }
    if let Some(h) = &p.http_get {
        let scheme = h
            .scheme
            .clone()
            .unwrap_or_else(|| "HTTP".into())
            .to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(invalid(
                w.obj,
                &format!("{path}.httpGet.scheme"),
                "must be HTTP or HTTPS",
            ));
        }
        actions.push(ProbeAction::HttpGet {
            host: h.host.clone(),
            port: probe_port(w, c, &h.port, &format!("{path}.httpGet.port"))?,
            path: h.path.clone().unwrap_or_else(|| "/".into()),
            scheme,
        });
    }
    if let Some(t) = &p.tcp_socket {
        actions.push(ProbeAction::TcpSocket {
            host: t.host.clone(),
            port: probe_port(w, c, &t.port, &format!("{path}.tcpSocket.port"))?,
        });
    }
    if actions.len() != 1 {
        return Err(invalid(
            w.obj,
            path,
            "a probe needs exactly one of exec, httpGet, tcpSocket",
        ));
    }
    let action = actions.remove(0);
    Ok(Probe {
        action,
        initial_delay_seconds: p.initial_delay_seconds.unwrap_or(0),
        period_seconds: p.period_seconds.unwrap_or(10).max(1),
        timeout_seconds: p.timeout_seconds.unwrap_or(1).max(1),
        success_threshold: p.success_threshold.unwrap_or(1).max(1),
        failure_threshold: p.failure_threshold.unwrap_or(3).max(1),
    })
}

/// The published ports of one container: entries with a `hostPort` (or, for replicas, a port
/// given by the replica-host-ports annotation).
fn container_ports(
    w: &Workload,
    c: &Container,
    path: &str,
    replica: Option<usize>,
    down: bool,
) -> Result<Vec<PortMapping>, PlanError> {
    let mut out = Vec::new();
    for (i, p) in c.ports.iter().enumerate() {
        let field = format!("{path}.ports[{i}]");
        let Some(mapping) = port_mapping(w, p, &field)? else {
            continue;
        };
        let mapping = match replica {
            None => mapping,
            Some(_) if down => continue,
            Some(r) => replica_port(w, mapping, r, &field)?,
        };
        out.push(mapping);
    }
    Ok(out)
}

fn port_mapping(
    w: &Workload,
    p: &ContainerPort,
    field: &str,
) -> Result<Option<PortMapping>, PlanError> {
    let protocol = p
        .protocol
        .clone()
        .unwrap_or_else(|| "tcp".into())
        .to_ascii_lowercase();
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(invalid(
            w.obj,
            &format!("{field}.protocol"),
            "must be TCP, UDP or SCTP",
        ));
    }
    let container_port = match (p.container_port, p.host_port) {
        (Some(0), _) => {
            return Err(invalid(
                w.obj,
                &format!("{field}.containerPort"),
                "must not be 0",
            ))
        }
        (Some(c), _) => c,
        (None, Some(h)) => h,
        (None, None) => return Err(invalid(w.obj, field, "missing containerPort")),
    };
    let Some(host_port) = p.host_port.filter(|h| *h != 0) else {
        return Ok(None);
    };
    Ok(Some(PortMapping {
        host_ip: p.host_ip.clone().filter(|ip| !ip.is_empty()),
        host_port,
        container_port,
        protocol,
    }))
}

/// For replica `r`: the r-th port of `io.quadplay.replica-host-ports/<containerPort>`.
fn replica_port(
    w: &Workload,
    mut m: PortMapping,
    r: usize,
    field: &str,
) -> Result<PortMapping, PlanError> {
    let key = format!("{REPLICA_HOST_PORTS}{}", m.container_port);
    let Some(list) = w.meta.annotations.get(&key) else {
        return Err(invalid(
            w.obj,
            &format!("{field}.hostPort"),
            format!(
                "{} replicas would each bind host port {}; give one host port per replica with the annotation `{key}: \"{}\"` on the {}, or use replicas: 1",
                w.replicas,
                m.host_port,
                (0..w.replicas).map(|i| (u32::from(m.host_port) + i).to_string()).collect::<Vec<_>>().join(","),
                w.obj.kind
            ),
        ));
    };
    let ports: Vec<&str> = list.split(',').map(str::trim).collect();
    if ports.len() != w.replicas as usize {
        return Err(invalid(
            w.obj,
            "metadata.annotations",
            format!(
                "`{key}` lists {} port(s) for {} replicas",
                ports.len(),
                w.replicas
            ),
        ));
    }
    m.host_port = ports[r]
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| {
            invalid(
                w.obj,
                "metadata.annotations",
                format!("`{key}`: `{}` is not a port", ports[r]),
            )
        })?;
    Ok(m)
}

/// A parsed `--publish` value; `container_port` with `protocol` is what it overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Publish {
    text: String,
    mapping: PortMapping,
    /// The value named no host port.
    implicit_host_port: bool,
}

/// `[[IP:][HOSTPORT]:]CONTAINERPORT[/PROTO]`; IPv6 addresses in brackets.
fn parse_publish(text: &str) -> Result<Publish, PlanError> {
    let bad = |message: &str| PlanError::Option {
        option: "--publish",
        value: text.to_string(),
        message: message.to_string(),
    };
    let (rest, protocol) = match text.rsplit_once('/') {
        Some((r, p)) => (r, p.to_ascii_lowercase()),
        None => (text, "tcp".to_string()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(bad("the protocol must be tcp, udp or sctp"));
    }
    let (host_ip, rest) = if let Some(stripped) = rest.strip_prefix('[') {
        let (ip, after) = stripped
            .split_once("]:")
            .ok_or_else(|| bad("unterminated IPv6 address"))?;
        (Some(ip.to_string()), after)
    } else {
        let parts: Vec<&str> = rest.split(':').collect();
        match parts.len() {
            1 | 2 => (None, rest),
            3 => (
                Some(parts[0].to_string()).filter(|s| !s.is_empty()),
                &rest[parts[0].len() + 1..],
            ),
            _ => return Err(bad("expected [[IP:][HOSTPORT]:]CONTAINERPORT[/PROTO]")),
        }
    };
    let port = |s: &str| s.parse::<u16>().map_err(|_| bad("not a port number"));
    // No host port: Podman would pick a random one, which nothing could find behind a unit;
    // the container port is used instead (and said so in a warning).
    let (host_port, container_port) = match rest.split_once(':') {
        Some(("", c)) => (port(c)?, port(c)?),
        Some((h, c)) => (port(h)?, port(c)?),
        None => (port(rest)?, port(rest)?),
    };
    if container_port == 0 || host_port == 0 {
        return Err(bad("port numbers must be 1 to 65535"));
    }
    Ok(Publish {
        text: text.to_string(),
        implicit_host_port: !matches!(rest.split_once(':'), Some((h, _)) if !h.is_empty()),
        mapping: PortMapping {
            host_ip,
            host_port,
            container_port,
            protocol,
        },
    })
}

/// A `--publish` entry replaces the YAML's mapping for the same container port and protocol in
/// every pod that declares that port; a port no pod declares is published on the first pod.
fn apply_publish(pods: &mut [PodPlan], publish: &[Publish]) -> Result<(), PlanError> {
    for p in publish {
        let m = &p.mapping;
        let declares = |pod: &PodPlan| {
            pod.ports
                .iter()
                .any(|x| x.container_port == m.container_port && x.protocol == m.protocol)
        };
        let mut targets: Vec<usize> = (0..pods.len()).filter(|i| declares(&pods[*i])).collect();
        if targets.is_empty() {
            targets.push(0);
        }
        if pods.is_empty() {
            return Err(PlanError::Option {
                option: "--publish",
                value: p.text.clone(),
                message: "there is no pod to publish on".into(),
            });
        }
        for i in targets {
            let pod = &mut pods[i];
            pod.ports
                .retain(|x| !(x.container_port == m.container_port && x.protocol == m.protocol));
            pod.ports.push(m.clone());
        }
    }
    Ok(())
}

/// Two pods binding one host port would fail at start with a rootlessport error; say so now.
fn check_host_ports(pods: &[PodPlan], workloads: &[Workload]) -> Result<(), PlanError> {
    let mut seen: BTreeMap<(String, u16, String), &PodPlan> = BTreeMap::new();
    for pod in pods {
        for m in &pod.ports {
            let key = (
                m.host_ip.clone().unwrap_or_default(),
                m.host_port,
                m.protocol.clone(),
            );
            if let Some(first) = seen.insert(key, pod) {
                let obj = workloads.iter().find(|w| owns(w, pod)).map(|w| w.obj);
                let message = if first.name == pod.name {
                    format!(
                        "pod {} publishes host port {}/{} twice",
                        pod.name, m.host_port, m.protocol
                    )
                } else {
                    format!(
                        "pods {} and {} both publish host port {}/{}",
                        first.name, pod.name, m.host_port, m.protocol
                    )
                };
                return Err(match obj {
                    Some(o) => invalid(o, "", message),
                    None => PlanError::NoWorkload,
                });
            }
        }
    }
    Ok(())
}

/// DNS names: the pod, its workload, matching Services, and container names that are unique
/// across the whole run (two pods with a container `app` would otherwise answer the same name).
fn set_aliases(
    ctx: &mut Ctx,
    pods: &mut [PodPlan],
    workloads: &[Workload],
    services: &[(&Object, &Service)],
) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for pod in pods.iter() {
        for c in &pod.containers {
            *counts.entry(c.short_name.clone()).or_default() += 1;
        }
    }
    let pod_names: BTreeSet<String> = pods.iter().map(|p| p.name.clone()).collect();
    let mut selected: BTreeSet<&str> = BTreeSet::new();
    for pod in pods.iter_mut() {
        let mut aliases = vec![pod.name.clone()];
        if let Some(w) = workloads.iter().find(|w| owns(w, pod)) {
            aliases.push(w.obj.name.clone());
        }
        if let Some(h) = &pod.hostname {
            aliases.push(h.clone());
        }
        for (obj, svc) in services {
            let sel = &svc.spec.selector;
            if !sel.is_empty() && sel.iter().all(|(k, v)| pod.labels.get(k) == Some(v)) {
                aliases.push(obj.name.clone());
                selected.insert(obj.name.as_str());
            }
        }
        for c in &pod.containers {
            if counts.get(&c.short_name) == Some(&1) && !pod_names.contains(&c.short_name) {
                aliases.push(c.short_name.clone());
            }
        }
        let mut unique = BTreeSet::new();
        aliases.retain(|a| unique.insert(a.clone()));
        pod.aliases = aliases;
    }
    for (obj, svc) in services {
        if svc.spec.selector.is_empty() || !selected.contains(obj.name.as_str()) {
            ctx.warn(
                obj,
                "spec.selector",
                "selects no pod of this YAML; the name resolves to nothing",
            );
        }
        if let Some(t) = svc.spec.type_.as_deref().filter(|t| *t != "ClusterIP") {
            ctx.warn(
                obj,
                "spec.type",
                format!("type {t} publishes nothing on a single host; use a hostPort or --publish"),
            );
        }
        for (i, p) in svc.spec.ports.iter().enumerate() {
            let target = match &p.target_port {
                Some(IntOrString::Int(t)) => Some(*t),
                Some(IntOrString::Str(_)) => None,
                None => p.port,
            };
            if p.port.is_some() && target.is_some() && p.port != target {
                ctx.warn(
                    obj,
                    &format!("spec.ports[{i}]"),
                    format!(
                        "the Service name resolves to the pods themselves: port {} is not forwarded to targetPort {}",
                        p.port.unwrap_or_default(),
                        target.unwrap_or_default()
                    ),
                );
            }
        }
    }
}
