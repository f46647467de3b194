//! Kubernetes YAML: loading, the typed model, and findings about what we do not honour.
//!
//! [`load`] reads the YAML files as one stream (in order), splits documents, flattens
//! `kind: List`, skips empty documents and deserializes each into the typed [`model`]. Every
//! field the model does not know becomes a [`Finding`] naming file, line, object and field path,
//! so nothing is dropped silently; the planner turns findings into warnings (or errors with
//! `--strict`). This module knows nothing of Podman or systemd.

pub mod de;
pub mod model;
pub mod quantity;
pub mod yaml;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub use yaml::{Node, Pos};

use model::{ConfigMap, DaemonSet, Deployment, Job, PersistentVolumeClaim, Pod, Secret, Service};

/// Every object of the stream(s), in order, with where it came from.
#[derive(Debug, Clone, Default)]
pub struct Documents {
    /// Objects of the YAML files in stream order, then those of the `--configmap` files.
    pub objects: Vec<Object>,
    /// The YAML files as given, made absolute (the app identity hashes these).
    pub files: Vec<PathBuf>,
    /// Fields and kinds present in the input that are not (fully) honoured.
    pub findings: Vec<Finding>,
}

/// One Kubernetes object and its origin.
#[derive(Debug, Clone)]
pub struct Object {
    pub kind: String,
    /// `metadata.name` (empty only for unsupported kinds without one).
    pub name: String,
    pub source: Source,
    /// The positioned tree, to locate any field for a message.
    pub tree: Node,
    pub resource: Resource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The file as given on the command line.
    pub file: PathBuf,
    /// Absolute directory of the file: relative host paths in the YAML are resolved against it.
    pub dir: PathBuf,
    /// Where the document (or List item) starts.
    pub pos: Pos,
    /// True for documents of `--configmap` files.
    pub configmap_file: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    Pod(Pod),
    Deployment(Deployment),
    DaemonSet(DaemonSet),
    Job(Job),
    ConfigMap(ConfigMap),
    Secret(Secret),
    PersistentVolumeClaim(PersistentVolumeClaim),
    Service(Service),
    /// A kind we do not run; reported as a finding and otherwise skipped.
    Unsupported,
}

impl Object {
    /// `Deployment/web`.
    pub fn describe(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }

    /// `file:line:column` of the field at `path` (or of its nearest existing parent).
    pub fn location(&self, path: &str) -> String {
        let pos = self.tree.locate(path);
        format!("{}:{}:{}", self.source.file.display(), pos.line, pos.column)
    }

    /// True for kinds that become pods.
    pub fn is_workload(&self) -> bool {
        matches!(
            self.resource,
            Resource::Pod(_) | Resource::Deployment(_) | Resource::DaemonSet(_) | Resource::Job(_)
        )
    }
}

/// Something in the input that is not (fully) honoured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `file:line:column`.
    pub location: String,
    /// `Deployment/web`.
    pub object: String,
    /// `spec.template.spec.containers[0].lifecycle.preStop`; empty for a whole object.
    pub field: String,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.object)?;
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

#[derive(Debug, Error)]
pub enum KubeError {
    #[error("{}: cannot read: {source}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file that is not a regular file, or larger than [`MAX_FILE_BYTES`].
    #[error("{}: {message}", file.display())]
    Input { file: PathBuf, message: String },
    #[error("{}:{}:{}: invalid YAML: {}{message}", file.display(), pos.line, pos.column, field_prefix(field))]
    Syntax {
        file: PathBuf,
        pos: Pos,
        /// The key at fault (a duplicate key's path), or empty.
        field: String,
        message: String,
    },
    /// A document that is valid YAML but not a valid object.
    #[error("{location}: {object}: {}{message}", field_prefix(field))]
    Invalid {
        location: String,
        object: String,
        field: String,
        message: String,
    },
}

/// `field: ` before a message about that field; nothing for a message about the whole object
/// (shared by the planner's and the executor's errors, which name fields the same way).
pub fn field_prefix(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!("{field}: ")
    }
}

/// Reads `yaml` files (as one stream, in order) and `configmap_files` (ConfigMaps only).
pub fn load(yaml: &[PathBuf], configmap_files: &[PathBuf]) -> Result<Documents, KubeError> {
    let mut docs = Documents::default();
    for file in yaml {
        let text = read(file)?;
        docs.files.push(absolute(file));
        load_text(&mut docs, file, &text, false)?;
    }
    for file in configmap_files {
        let text = read(file)?;
        load_text(&mut docs, file, &text, true)?;
    }
    check_unique_names(&docs)?;
    Ok(docs)
}

/// The largest YAML (or `--configmap`) file read: Kubernetes refuses a request over 3 MiB, so a
/// real app is far below; a bigger file is a mistake (a log, an image) and would only be slow.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// The text of `file`, which must be a regular file of at most [`MAX_FILE_BYTES`]. It is opened
/// without blocking (a FIFO would block the open) and checked on the open descriptor, so a
/// FIFO, a device such as `/dev/zero` or a directory is refused before anything is read; the
/// read itself is bounded too (the file may grow between the check and the read).
fn read(file: &Path) -> Result<String, KubeError> {
    use std::io::Read as _;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let io_err = |source| KubeError::Read {
        file: file.to_path_buf(),
        source,
    };
    let refuse = |message: String| KubeError::Input {
        file: file.to_path_buf(),
        message,
    };
    let handle = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(file)
        .map_err(io_err)?;
    let meta = handle.metadata().map_err(io_err)?;
    let kind = meta.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(refuse(format!(
            "is {what}; only regular files are read (not a FIFO, device or directory)"
        )));
    }
    let too_large = || {
        refuse(format!(
            "larger than {} MiB; a Kubernetes YAML file is far smaller (the API server takes at most 3 MiB)",
            MAX_FILE_BYTES >> 20
        ))
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    handle
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_column(e.as_bytes(), e.utf8_error().valid_up_to());
        KubeError::Syntax {
            file: file.to_path_buf(),
            pos: Pos { line, column },
            field: String::new(),
            message: "not UTF-8 text".into(),
        }
    })
}

/// 1-based line and column (in characters) of byte `offset` of valid UTF-8 `bytes[..offset]`.
fn line_column(bytes: &[u8], offset: usize) -> (u32, u32) {
    let head = String::from_utf8_lossy(&bytes[..offset]);
    let line = head.matches('\n').count() + 1;
    let column = head.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

fn absolute(file: &Path) -> PathBuf {
    std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf())
}

/// Parses one file's text into `docs`. Public for tests and for callers that hold YAML in memory
/// (`file` is then only a name for messages, and relative paths resolve against its parent).
pub fn load_text(
    docs: &mut Documents,
    file: &Path,
    text: &str,
    configmap_file: bool,
) -> Result<(), KubeError> {
    let roots = yaml::parse_stream_with(text, &holds_secret).map_err(|e| KubeError::Syntax {
        file: file.to_path_buf(),
        pos: e.pos,
        field: e.field,
        message: e.message,
    })?;
    let dir = absolute(file)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    for root in roots {
        let source = Source {
            file: file.to_path_buf(),
            dir: dir.clone(),
            pos: root.pos,
            configmap_file,
        };
        add_document(docs, root, &source, "")?;
    }
    Ok(())
}

/// True for a Secret, or a List holding one: its content must never appear in a message.
fn holds_secret(root: &Node) -> bool {
    match root.get("kind").and_then(Node::as_str) {
        Some("Secret") => true,
        Some("List") => match root.get("items").map(|i| &i.value) {
            Some(yaml::Value::Seq(items)) => items.iter().any(holds_secret),
            _ => false,
        },
        _ => false,
    }
}

/// Adds one document; a `List` adds its items (recursively), each located where it stands.
fn add_document(
    docs: &mut Documents,
    root: Node,
    source: &Source,
    list_path: &str,
) -> Result<(), KubeError> {
    let loc = |pos: Pos| format!("{}:{}:{}", source.file.display(), pos.line, pos.column);
    if root.as_map().is_none() {
        return Err(KubeError::Invalid {
            location: loc(root.pos),
            object: "document".into(),
            field: list_path.into(),
            message: "a Kubernetes object must be a mapping".into(),
        });
    }
    let Some(kind) = root.get("kind").and_then(Node::as_str).map(str::to_string) else {
        return Err(KubeError::Invalid {
            location: loc(root.pos),
            object: "document".into(),
            field: join_path(list_path, "kind"),
            message: "missing `kind`".into(),
        });
    };
    if kind == "List" {
        let Some(items) = root.get("items") else {
            return Ok(());
        };
        let items = match &items.value {
            yaml::Value::Seq(items) => items.clone(),
            _ if items.is_null() => Vec::new(),
            _ => {
                return Err(KubeError::Invalid {
                    location: loc(items.pos),
                    object: "List".into(),
                    field: "items".into(),
                    message: "expected a list of objects".into(),
                })
            }
        };
        for (i, item) in items.into_iter().enumerate() {
            let item_source = Source {
                pos: item.pos,
                ..source.clone()
            };
            add_document(docs, item, &item_source, &format!("items[{i}]"))?;
        }
        return Ok(());
    }
    let name = root
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Node::as_str)
        .unwrap_or_default()
        .to_string();
    let object = format!("{kind}/{name}");
    if source.configmap_file && kind != "ConfigMap" {
        return Err(KubeError::Invalid {
            location: loc(root.pos),
            object,
            field: String::new(),
            message: "a --configmap file may contain only ConfigMaps".into(),
        });
    }
    let unknown = RefCell::new(Vec::new());
    let resource = typed(&root, &kind, &unknown).map_err(|e| KubeError::Invalid {
        location: loc(e.pos.unwrap_or(root.pos)),
        object: object.clone(),
        field: e.path.clone(),
        message: e.message.clone(),
    })?;
    check_replicas(&resource).map_err(|message| KubeError::Invalid {
        location: loc(root.locate("spec.replicas")),
        object: object.clone(),
        field: "spec.replicas".into(),
        message,
    })?;
    if matches!(resource, Resource::Unsupported) {
        docs.findings.push(Finding {
            location: loc(root.pos),
            object: object.clone(),
            field: String::new(),
            message: format!(
                "kind {kind} is not supported; the object is skipped{}",
                hint(&kind)
            ),
        });
    } else if name.is_empty() {
        return Err(KubeError::Invalid {
            location: loc(root.get("metadata").map_or(root.pos, |m| m.pos)),
            object: kind,
            field: "metadata.name".into(),
            message: "missing name".into(),
        });
    }
    for u in unknown.into_inner() {
        // An empty value asks for nothing; `kubectl create --dry-run -o yaml` writes many.
        if u.empty {
            continue;
        }
        if let Some(message) = classify(&u.path, || u.suggestion()) {
            docs.findings.push(Finding {
                location: loc(u.pos),
                object: object.clone(),
                field: u.path,
                message,
            });
        }
    }
    docs.objects.push(Object {
        kind: root
            .get("kind")
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_string(),
        name,
        source: source.clone(),
        tree: root,
        resource,
    });
    Ok(())
}

/// The most replicas one Deployment may ask for. Every replica is a pod of its own (an infra
/// container, conmon, a network namespace on the bridge): the kubelet runs at most 110 pods per
/// node by default, so 1,000 on one host is already far beyond a sensible app, and the limit
/// turns `replicas: 1000000000` into a message instead of an allocation failure.
pub const MAX_REPLICAS: u32 = 1000;

fn check_replicas(resource: &Resource) -> Result<(), String> {
    match resource {
        Resource::Deployment(d) if d.spec.replicas.is_some_and(|r| r > MAX_REPLICAS) => {
            Err(format!(
                "{} replicas is more than the {MAX_REPLICAS} one host can run",
                d.spec.replicas.unwrap_or_default()
            ))
        }
        _ => Ok(()),
    }
}

/// What to use instead of a kind quadplay does not run.
fn hint(kind: &str) -> &'static str {
    match kind {
        "StatefulSet" | "ReplicaSet" | "ReplicationController" => {
            " (a Deployment with a PersistentVolumeClaim runs the same pods)"
        }
        "CronJob" => " (run a Job from a systemd timer instead)",
        "Ingress" | "IngressClass" | "Gateway" | "HTTPRoute" => {
            " (publish with a hostPort or --publish instead)"
        }
        "Namespace" => " (one host is one namespace)",
        "ServiceAccount"
        | "Role"
        | "RoleBinding"
        | "ClusterRole"
        | "ClusterRoleBinding"
        | "NetworkPolicy"
        | "PodDisruptionBudget"
        | "HorizontalPodAutoscaler" => " (it has no meaning on a single host)",
        _ => "",
    }
}

fn join_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

fn typed(
    root: &Node,
    kind: &str,
    unknown: &RefCell<Vec<de::Unknown>>,
) -> Result<Resource, de::DeError> {
    Ok(match kind {
        "Pod" => Resource::Pod(de::from_node(root, "", unknown)?),
        "Deployment" => Resource::Deployment(de::from_node(root, "", unknown)?),
        "DaemonSet" => Resource::DaemonSet(de::from_node(root, "", unknown)?),
        "Job" => Resource::Job(de::from_node(root, "", unknown)?),
        "ConfigMap" => Resource::ConfigMap(de::from_node(root, "", unknown)?),
        "Secret" => Resource::Secret(de::from_node_with(root, "", unknown, true)?),
        "PersistentVolumeClaim" => {
            Resource::PersistentVolumeClaim(de::from_node(root, "", unknown)?)
        }
        "Service" => Resource::Service(de::from_node(root, "", unknown)?),
        _ => Resource::Unsupported,
    })
}

/// Fields Kubernetes has that mean nothing on one host, matched against the end of the field
/// path with list indexes removed: reported as "ignored on a single host".
const IGNORED_ON_HOST: &[&str] = &[
    "spec.nodeSelector",
    "spec.nodeName",
    "spec.affinity",
    "spec.tolerations",
    "spec.topologySpreadConstraints",
    "spec.schedulerName",
    "spec.priority",
    "spec.priorityClassName",
    "spec.preemptionPolicy",
    "spec.readinessGates",
    "spec.schedulingGates",
    "spec.overhead",
    "spec.os",
    "spec.dnsPolicy",
    "spec.serviceAccountName",
    "spec.serviceAccount",
    "spec.automountServiceAccountToken",
    "spec.enableServiceLinks",
    "spec.runtimeClassName",
    "spec.strategy",
    "spec.updateStrategy",
    "spec.minReadySeconds",
    "spec.revisionHistoryLimit",
    "spec.progressDeadlineSeconds",
    "spec.accessModes",
    "spec.storageClassName",
    "spec.volumeMode",
    "spec.clusterIP",
    "spec.clusterIPs",
    "spec.sessionAffinity",
    "spec.ipFamilies",
    "spec.ipFamilyPolicy",
    "spec.internalTrafficPolicy",
    "spec.externalTrafficPolicy",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "resizePolicy",
];

/// Fields the API server sets; they carry no intent, so they are not reported at all.
const SERVER_SET: &[&str] = &[
    "apiVersion",
    "kind",
    "status",
    "metadata.uid",
    "metadata.resourceVersion",
    "metadata.generation",
    "metadata.creationTimestamp",
    "metadata.managedFields",
    "metadata.selfLink",
];

/// The message for an unknown field at `path`, or `None` when it is not worth one.
fn classify(path: &str, suggestion: impl FnOnce() -> Option<&'static str>) -> Option<String> {
    let normal = strip_indexes(path);
    let matches = |pattern: &str| {
        normal == pattern
            || normal
                .strip_suffix(pattern)
                .is_some_and(|head| head.ends_with('.'))
    };
    if SERVER_SET.iter().any(|s| matches(s)) {
        return None;
    }
    if IGNORED_ON_HOST.iter().any(|p| matches(p)) {
        return Some("ignored on a single host".into());
    }
    if matches("spec.resources") && !normal.contains("containers") {
        return Some("ignored on a single host (a claim is a Podman named volume)".into());
    }
    if matches("spec.imagePullSecrets") {
        return Some(
            "not supported; log in with `podman login` (or use an auth file) instead".into(),
        );
    }
    Some(match suggestion() {
        Some(s) => format!("unknown or unsupported field, ignored (did you mean `{s}`?)"),
        None => "unknown or unsupported field, ignored".into(),
    })
}

fn strip_indexes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut skipping = false;
    for c in path.chars() {
        match c {
            '[' => skipping = true,
            ']' if skipping => skipping = false,
            _ if !skipping => out.push(c),
            _ => {}
        }
    }
    out
}

/// ConfigMap and Secret names must be unique across the stream and the `--configmap` files:
/// a second definition would silently win otherwise.
fn check_unique_names(docs: &Documents) -> Result<(), KubeError> {
    let mut seen: BTreeMap<(&str, &str), &Object> = BTreeMap::new();
    for obj in &docs.objects {
        let kind = match obj.resource {
            Resource::ConfigMap(_) => "ConfigMap",
            Resource::Secret(_) => "Secret",
            Resource::PersistentVolumeClaim(_) => "PersistentVolumeClaim",
            Resource::Service(_) => "Service",
            _ => continue,
        };
        if let Some(first) = seen.insert((kind, &obj.name), obj) {
            return Err(KubeError::Invalid {
                location: obj.location("metadata.name"),
                object: obj.describe(),
                field: "metadata.name".into(),
                message: format!(
                    "defined twice (first at {})",
                    first.location("metadata.name")
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
