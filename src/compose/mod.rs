//! `quadplay convert`: a Docker Compose project → Kubernetes YAML (one pod per service) and a
//! `.kube` unit, in stages:
//!
//! * [`load`] reads the project as compose-go does (files, `.env`, interpolation, include,
//!   extends, several `-f` merged, profiles, project name) into one positioned [`tree`];
//! * [`translate`] turns each service into Kubernetes objects, reporting every key it does not
//!   translate (or not fully) as a located warning, never dropping one silently;
//! * [`write`] puts `<name>.yaml` and `<name>.kube` in place together, or neither.
//!
//! Each compose service becomes a `Pod` named `<app>-<service>` (a `Deployment` when
//! `deploy.replicas` > 1) whose one container is named after the service. Why a Pod and not always
//! a Deployment: a Deployment only allows `restartPolicy: Always`, while compose's default is
//! `restart: "no"` and `on-failure` is common; a Pod keeps every restart policy exact. Why the app
//! prefix: Podman pod names are per user, so two apps with a `db` service must not collide. The
//! other services still reach it by the service name (compose's service-name DNS): quadplay makes
//! a container name that is unique in the YAML a DNS alias of its pod on the shared network.

pub mod dotenv;
pub mod interpolate;
pub mod load;
pub mod merge;
pub mod objects;
pub mod translate;
pub mod tree;
pub mod write;

use std::path::{Path, PathBuf};

pub use load::Options;
pub use tree::At;
pub use write::write;

/// Why a compose project could not be converted. Every variant names the file; most name the
/// line, column and key path (`services.web.ports[0]`).
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Yaml {
        path: PathBuf,
        line: At,
        message: String,
    },
    #[error("{path}:{line}: {key}: {message}")]
    Invalid {
        path: PathBuf,
        line: At,
        key: String,
        message: String,
    },
    #[error("{path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
}

/// The result of a conversion: the app's name, its Kubernetes YAML, its `.kube` unit, and the
/// warnings: `warnings` are what changes the app (a key not translated, a value not kept);
/// `notes` are routine (variables substituted, services left out by profile), shown grouped.
#[derive(Debug, Clone)]
pub struct Converted {
    pub name: String,
    pub yaml: String,
    /// The same objects as `yaml`, in order.
    pub objects: Vec<objects::Object>,
    pub kube: String,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
    /// Each Pod/Deployment (`Pod/shop-web`) → the compose service it was made from, for
    /// messages about the YAML that should point back at the compose file (`convert --check`).
    pub origins: std::collections::BTreeMap<String, ServiceOrigin>,
}

/// Where a compose service is written: its file, its key path (`services.web`) and line, and
/// the line of each of its keys (`volumes`, `ports`, `image`, ...).
#[derive(Debug, Clone, Default)]
pub struct ServiceOrigin {
    pub file: PathBuf,
    pub key: String,
    pub line: At,
    pub keys: Vec<(String, At)>,
}

impl ServiceOrigin {
    /// `compose.yaml:12:5: services.web.volumes: ` — the key of the service that produced a
    /// field of its Kubernetes object (by the field's path), else the service itself.
    pub fn locate(&self, field: &str) -> String {
        let wanted = if field.contains("hostPath") || field.contains("volume") {
            &["volumes", "secrets", "configs", "tmpfs"][..]
        } else if field.contains("ports") || field.contains("hostPort") {
            &["ports"][..]
        } else if field.contains("image") {
            &["image", "build"][..]
        } else {
            &[][..]
        };
        let found = wanted
            .iter()
            .find_map(|w| self.keys.iter().find(|(k, _)| k == w));
        match found {
            Some((k, at)) => format!("{}:{at}: {}.{k}: ", self.file.display(), self.key),
            None => format!("{}:{}: {}: ", self.file.display(), self.line, self.key),
        }
    }
}

impl Converted {
    /// `problem` (a message about the converted YAML) starting with the compose file, line
    /// and key that produced it, when the message names one of the converted objects; the
    /// message itself (with the converted YAML's own location) follows, so both are said.
    pub fn relocate(&self, problem: &str) -> String {
        for (object, origin) in &self.origins {
            for end in [": ", "["] {
                let Some(at) = problem.find(&format!("{object}{end}")) else {
                    continue;
                };
                // `…: Pod/x: spec.volumes[0].hostPath.path: …`, or `Pod/x[0]: container c: image …`.
                let rest = &problem[at + object.len()..];
                let rest = rest.trim_start_matches(|c: char| c != ' ').trim_start();
                let field = rest.split(": ").next().unwrap_or_default();
                let field = if field.starts_with("spec.") {
                    field
                } else {
                    rest
                };
                return format!("{}{problem}", origin.locate(field));
            }
        }
        problem.to_string()
    }

    /// The objects as one Kubernetes JSON `List` (what `--format json` prints).
    pub fn json(&self) -> String {
        let list = objects::List {
            api_version: "v1",
            items: &self.objects,
            kind: "List",
        };
        let text = serde_json::to_string_pretty(&list).unwrap_or_default();
        format!("{text}\n")
    }
}

/// Loads and converts the project `opts` describe.
pub fn convert(opts: &Options) -> Result<Converted, ComposeError> {
    let project = load::load(opts)?;
    translate::project(&project)
}

/// Reads and converts one compose file. `name` defaults to the file's `name:` key, else its
/// directory's name.
pub fn convert_file(path: &Path, name: Option<&str>) -> Result<Converted, ComposeError> {
    convert(&Options {
        files: vec![path.to_path_buf()],
        name: name.map(str::to_string),
        ..Options::default()
    })
}

#[cfg(test)]
mod tests;
