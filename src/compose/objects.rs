//! The Kubernetes objects `quadplay convert` writes, as typed serde structs: only the fields
//! convert fills, so that what it emits is checked by the compiler rather than assembled as
//! untyped JSON. These are output types (Serialize only); `kube/` holds the input model the
//! executor reads, with positions and unknown-field reports, which is why they are separate.
//!
//! Fields are declared in byte order of their wire names, and `None`/empty ones are skipped
//! where convert left them out: the YAML keeps its keys sorted, as it always has.

use std::collections::BTreeMap;

use serde::Serialize;

/// String → string maps (labels, annotations, resource quantities, data), sorted.
pub type Strings = BTreeMap<String, String>;

/// One object of the output, in the order convert writes them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Object {
    Claim(PersistentVolumeClaim),
    Data(DataObject),
    Pod(Pod),
    Deployment(Deployment),
}

impl Object {
    /// `Kind/name`, to find an object already emitted.
    pub fn is(&self, kind: &str, name: &str) -> bool {
        match self {
            Object::Data(d) => d.kind == kind && d.metadata.name.as_deref() == Some(name),
            Object::Claim(c) => kind == c.kind && c.metadata.name.as_deref() == Some(name),
            Object::Pod(p) => kind == p.kind && p.metadata.name.as_deref() == Some(name),
            Object::Deployment(d) => kind == d.kind && d.metadata.name.as_deref() == Some(name),
        }
    }
}

/// A Kubernetes JSON `List` (what `convert --format json` prints).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct List<'a> {
    pub api_version: &'static str,
    pub items: &'a [Object],
    pub kind: &'static str,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metadata {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: Strings,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Strings,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Metadata {
    pub fn named(name: &str) -> Self {
        Metadata {
            name: Some(name.to_string()),
            ..Metadata::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolumeClaim {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Metadata,
    pub spec: ClaimSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimSpec {
    pub access_modes: Vec<String>,
    pub resources: ClaimResources,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClaimResources {
    pub requests: Strings,
}

impl PersistentVolumeClaim {
    /// A claim of the default size (Podman's volumes are not sized; Kubernetes wants one).
    pub fn new(name: &str) -> Self {
        PersistentVolumeClaim {
            api_version: "v1",
            kind: "PersistentVolumeClaim",
            metadata: Metadata::named(name),
            spec: ClaimSpec {
                access_modes: vec!["ReadWriteOnce".into()],
                resources: ClaimResources {
                    requests: Strings::from([("storage".into(), "1Gi".into())]),
                },
            },
        }
    }
}

/// A Secret (`data` base64) or a ConfigMap (`data` text).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataObject {
    pub api_version: &'static str,
    pub data: Strings,
    pub kind: &'static str,
    pub metadata: Metadata,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Metadata,
    pub spec: PodSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Metadata,
    pub spec: DeploymentSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeploymentSpec {
    pub replicas: u64,
    pub selector: Selector,
    pub template: Template,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    pub match_labels: Strings,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Template {
    pub metadata: Metadata,
    pub spec: PodSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    pub containers: Vec<Container>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_config: Option<DnsConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_aliases: Option<Vec<HostAlias>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_network: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_context: Option<PodSecurityContext>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination_grace_period_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DnsConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nameservers: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<DnsOption>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub searches: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DnsOption {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostAlias {
    pub hostnames: Vec<String>,
    pub ip: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PodSecurityContext {
    pub sysctls: Vec<NameValue>,
}

/// `{name, value}`: an environment variable or a sysctl.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<NameValue>,
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
    pub name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ContainerPort>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<Probe>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup_probe: Option<Probe>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lifecycle {
    pub stop_signal: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPort {
    pub container_port: u16,
    #[serde(rename = "hostIP", skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u16>,
    pub protocol: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    pub exec: ExecAction,
    pub failure_threshold: u64,
    pub period_seconds: u64,
    pub timeout_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecAction {
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Resources {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: Strings,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: Strings,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityContext {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only_root_filesystem: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_as_group: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<i64>,
}

impl SecurityContext {
    pub fn is_empty(&self) -> bool {
        *self == SecurityContext::default()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Capabilities {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    pub mount_path: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
}

/// A pod volume: its name and exactly one source.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map: Option<ConfigMapSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<EmptyDir>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_path: Option<HostPath>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim: Option<ClaimSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretSource>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmptyDir {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostPath {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimSource {
    pub claim_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigMapSource {
    pub items: Vec<KeyToPath>,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretSource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<i64>,
    pub items: Vec<KeyToPath>,
    pub secret_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyToPath {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<i64>,
    pub path: String,
}
