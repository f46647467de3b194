//! The plan: everything `quadplay play` will create, as pure data — the model at the bottom of
//! the executor's layers.
//!
//! The planner (`play::plan`) turns Kubernetes documents into a [`Plan`]; the engine takes its
//! parts (`ContainerPlan`, `PodPlan`, ...) and the apply, supervise and down steps walk it. All of
//! them import this module downward; it imports nothing of theirs (only the shared diagnostic,
//! [`crate::kube::Finding`], which a plan carries as its [`Warning`]s). Keeping every decision in
//! data (names, ports, env precedence, mounts) makes it assertable without Podman. Secret values
//! live only in [`SecretPlan::data`] and in files the apply step writes with the YAML's modes
//! inside a 0700 per-app directory; they never appear in an argv.
//!
//! OWNERSHIP: these types are the contract between the planner and the apply/engine side.
//! Extend them additively.

mod names;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use self::names::*;
/// A finding about the input that does not stop the run: the one diagnostic type of the loader
/// and the planner (`file:line:column`, object, field path, message).
pub use crate::kube::Finding as Warning;

/// How the unit's exit status follows the containers' exit codes once every pod is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExitCodePropagation {
    /// Exit 0 whatever the containers' exit codes.
    #[default]
    None,
    /// Fail if any container exited non-zero.
    Any,
    /// Fail only if every container exited non-zero.
    All,
}

/// The network pods join when the unit names none: a DNS-enabled bridge, as `podman kube play`.
pub const DEFAULT_NETWORK: &str = "podman-default-kube-network";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// App identity, the value of [`LABEL_APP`].
    pub app: String,
    /// The systemd unit, if any (value of [`LABEL_UNIT`] and [`LABEL_SYSTEMD_UNIT`]).
    pub unit: Option<String>,
    /// Networks to ensure exist (created if missing, never removed by `down`).
    pub networks: Vec<NetworkPlan>,
    /// Podman secrets to (re)create before any container; removed by `down`.
    pub secrets: Vec<SecretPlan>,
    /// Existing Podman secrets the YAML refers to (`io.quadplay.podman-secrets`): checked to
    /// exist before anything is created, never created, replaced or removed.
    pub podman_secrets: Vec<PodmanSecretRef>,
    /// Named volumes to ensure exist.
    pub volumes: Vec<VolumePlan>,
    /// Host directories whose files the apply step writes (ConfigMap/Secret volumes).
    pub files: Vec<FileSetPlan>,
    /// Pods in YAML order; pods with no [`PodPlan::after`] entries may be created in parallel.
    pub pods: Vec<PodPlan>,
    pub exit_code_propagation: ExitCodePropagation,
    /// Upper bound on any one graceful stop, seconds.
    pub stop_timeout: u64,
    /// Things the YAML asked for that are not (fully) honoured: printed, or errors with --strict.
    pub warnings: Vec<Warning>,
    /// Host paths of `hostPath` volumes with their declared type, for apply to create
    /// (`DirectoryOrCreate`, `FileOrCreate`) or check (the others) before any container.
    pub host_paths: Vec<HostPathPlan>,
    /// Pod name → where its workload's containers are written (`app.yaml:9:7`,
    /// `Deployment/web`, `spec.template.spec.containers`), for messages about a pod that fails
    /// after planning (a reload's replacement). Kept out of [`PodPlan`] so that it is no part of
    /// the pod's spec digest.
    pub pod_origins: BTreeMap<String, Origin>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostPathPlan {
    /// Absolute (relative paths in the YAML are resolved against the YAML file's directory).
    pub path: PathBuf,
    pub kind: HostPathType,
    /// Where it was first asked for, for messages about a source that turns out missing.
    pub origin: Origin,
}

/// Where something was asked for in the YAML: `app.yaml:12:9`, `Pod/web`,
/// `spec.volumes[0].hostPath.path`. Empty when it was not (a test's plan).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    pub location: String,
    pub object: String,
    pub field: String,
}

impl std::fmt::Display for Origin {
    /// `app.yaml:12:9: Pod/web: spec.volumes[0].hostPath.path: `, or nothing.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for part in [&self.location, &self.object, &self.field] {
            if !part.is_empty() {
                write!(f, "{part}: ")?;
            }
        }
        Ok(())
    }
}

/// Kubernetes `hostPath.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostPathType {
    /// Unset: the path must exist (Podman refuses a missing bind source); no type check.
    #[default]
    Unset,
    /// `mkdir -p` with mode 0755 if missing.
    DirectoryOrCreate,
    Directory,
    /// Create an empty file with mode 0644 if missing.
    FileOrCreate,
    File,
    Socket,
    /// Passed as a device (`ContainerPlan::devices`), not a mount.
    CharDevice,
    BlockDevice,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPlan {
    pub name: String,
    /// Create it (with DNS, bridge driver) if it does not exist; false for user-named networks
    /// that a `.network` unit owns.
    pub create_if_missing: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretPlan {
    /// Podman secret name.
    pub name: String,
    /// The value. Passed to Podman on stdin only.
    pub data: Vec<u8>,
    /// Where the value comes from, for `--dry-run` (which never shows the value).
    pub source: SecretSource,
}

/// Where the value of a Secret's key comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SecretSource {
    /// `data` / `stringData` in the YAML.
    #[default]
    Yaml,
    /// The systemd credential of this name (`$CREDENTIALS_DIRECTORY/<name>`).
    Credential(String),
}

/// An existing Podman secret that a Secret's key names (`io.quadplay.podman-secrets`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodmanSecretRef {
    /// The Podman secret's name.
    pub name: String,
    /// The annotation that names it, for the message when it does not exist.
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumePlan {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `--driver`, `--opt` from PVC annotations.
    pub driver: Option<String>,
    pub options: Vec<String>,
    /// PVC volumes survive `down` unless forced; emptyDir volumes are removed with their pod.
    pub keep_on_down: bool,
}

/// A directory of files materialised on the host and bind-mounted (ConfigMap and Secret volumes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSetPlan {
    /// Absolute host directory (under `$XDG_RUNTIME_DIR/quadplay/<app>/` or `/run/quadplay/<app>/`).
    pub dir: PathBuf,
    /// The per-app directory above `dir` (`PlanOptions::runtime_dir`). Apply makes it 0700 — the
    /// one barrier keeping other host users from the files — while `dir` and everything below
    /// it get Kubernetes' modes (0755 directories, each file its planned mode) so that a
    /// container running as another uid (a subuid, rootless) can read them through "other" bits.
    pub app_dir: PathBuf,
    /// Relative path inside `dir` → (content, mode). The mode is exactly what the YAML gives
    /// (`items[].mode`, else `defaultMode`, else 0644), as the kubelet writes it.
    pub files: BTreeMap<String, (Vec<u8>, u32)>,
    /// True for Secret volumes (false for ConfigMaps).
    pub secret: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodPlan {
    /// Podman pod name (the Pod's name, or `<controller>-pod`, `<controller>-pod-<i>` for replicas).
    pub name: String,
    /// What the user wrote, for messages: `Deployment/web` (replica 2 of 3 → `Deployment/web[2]`).
    pub workload: String,
    pub labels: BTreeMap<String, String>,
    pub hostname: Option<String>,
    /// Networks (`NAME[:OPTIONS]`); empty with host networking.
    pub networks: Vec<String>,
    /// DNS names this pod answers to on its networks: pod name, Service names, container names.
    pub aliases: Vec<String>,
    pub ports: Vec<PortMapping>,
    pub host_network: bool,
    pub host_pid: bool,
    pub host_ipc: bool,
    pub share_process_namespace: bool,
    pub userns: Option<String>,
    pub dns_servers: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    /// `host:ip` entries for /etc/hosts.
    pub add_hosts: Vec<String>,
    pub sysctls: Vec<String>,
    /// Run to completion, in order, before `containers` start.
    pub init_containers: Vec<ContainerPlan>,
    pub containers: Vec<ContainerPlan>,
    pub restart_policy: RestartPolicy,
    /// Names of pods that must be ready before this one is created (empty for almost all).
    pub after: Vec<String>,
    /// Those of `after` whose containers must all have exited with status 0 first.
    pub after_completed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    pub host_ip: Option<String>,
    /// Never 0: `--publish 80` (no host port) publishes on host port 80.
    pub host_port: u16,
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`, lower case.
    pub protocol: String,
    /// Where it was asked for, for messages about a port that turns out to be taken.
    pub origin: PortOrigin,
}

/// Where a published port comes from: `app.yaml:12:9` and the field, or `--publish 8080:80`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortOrigin {
    pub location: String,
    /// The field path; empty for `--publish`.
    pub field: String,
}

/// `quadplay play --max-restarts` when not given: restarts of one container in one crash loop
/// before the app is stopped and its unit fails. The generator writes it into every `.kube`
/// unit's `ExecStart=` (`[Kube] MaxRestarts=` changes it), so that the limit in force is visible.
pub const DEFAULT_MAX_RESTARTS: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestartPolicy {
    #[default]
    Always,
    OnFailure,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    Always,
    #[default]
    Missing,
    Never,
    Newer,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerPlan {
    /// Podman container name, `<pod>-<container>`.
    pub name: String,
    /// The name in the YAML.
    pub short_name: String,
    pub image: String,
    pub pull_policy: PullPolicy,
    /// Replaces the image ENTRYPOINT (and drops its CMD), after `$(VAR)` expansion.
    pub command: Option<Vec<String>>,
    /// Replaces the image CMD, after `$(VAR)` expansion.
    pub args: Option<Vec<String>>,
    pub working_dir: Option<String>,
    /// Final environment in Kubernetes precedence (envFrom < env), non-secret values only.
    pub env: Vec<(String, String)>,
    /// Environment variables whose value comes from a Podman secret (`--secret NAME,type=env,target=VAR`).
    pub secret_env: Vec<SecretEnv>,
    /// Files whose content is an existing Podman secret (`--secret NAME,type=mount,target=PATH`):
    /// keys of a Secret volume taken from `io.quadplay.podman-secrets`.
    pub secret_mounts: Vec<SecretMount>,
    pub mounts: Vec<Mount>,
    /// `uid[:gid]`.
    pub user: Option<String>,
    pub supplemental_groups: Vec<u32>,
    pub privileged: bool,
    pub read_only_root: bool,
    pub no_new_privileges: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `--security-opt label=...` values (`type:T`, `level:L`, ...).
    pub selinux_opts: Vec<String>,
    pub unmask_all: bool,
    /// Bytes.
    pub memory_limit: Option<u64>,
    pub memory_reservation: Option<u64>,
    /// Millicores.
    pub cpu_limit_millis: Option<u64>,
    pub devices: Vec<String>,
    pub stop_signal: Option<String>,
    /// Seconds (terminationGracePeriodSeconds, bounded by the plan's stop timeout).
    pub stop_timeout: Option<u64>,
    pub restart_policy: RestartPolicy,
    /// Podman restarts it per `restart_policy` (`--restart`); false: `--restart no`, and the
    /// executor's supervisor restarts it with back-off (only `--detach` leaves it to Podman).
    pub podman_restarts: bool,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub liveness: Option<Probe>,
    pub readiness: Option<Probe>,
    pub startup: Option<Probe>,
    pub tty: bool,
    pub log_driver: Option<String>,
    pub log_opts: Vec<String>,
    /// Passed verbatim to `podman create` before the image (PodmanArgs).
    pub extra_args: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretEnv {
    pub variable: String,
    /// Podman secret name (one of [`Plan::secrets`]).
    pub secret: String,
}

/// A Podman secret mounted as one file (`--secret NAME,type=mount,target=PATH,mode=MODE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretMount {
    /// Podman secret name.
    pub secret: String,
    /// Absolute path in the container.
    pub target: String,
    /// The file's mode, as the Secret volume's `items[].mode`/`defaultMode` give it.
    pub mode: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// A host file or directory (`hostPath`, ConfigMap/Secret file sets).
    Bind {
        source: PathBuf,
        target: String,
        read_only: bool,
        /// Extra options (`z`, `rslave`, ...).
        options: Vec<String>,
    },
    /// A named Podman volume (PVC, emptyDir), optionally a sub path of it.
    Volume {
        name: String,
        target: String,
        read_only: bool,
        sub_path: Option<String>,
    },
    /// A tmpfs (emptyDir with `medium: Memory`).
    Tmpfs {
        target: String,
        size: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub action: ProbeAction,
    pub initial_delay_seconds: u64,
    pub period_seconds: u64,
    pub timeout_seconds: u64,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeAction {
    /// Run in the container.
    Exec(Vec<String>),
    /// HTTP GET on the container's port from inside its network namespace.
    HttpGet {
        host: Option<String>,
        port: u16,
        path: String,
        scheme: String,
    },
    /// A TCP connect to the port.
    TcpSocket { host: Option<String>, port: u16 },
}
