//! The generator: Quadlet unit files (`.container .volume .network .kube .pod .image .build
//! .artifact`) → `.service` units.
//!
//! This module holds the contract between the generator's mechanics (search paths, drop-ins,
//! output, `[Install]` links: `generator`, `paths`, `dropins`, `install`, `log`) and the pure
//! conversions in [`convert`]: the driver hands over every loaded [`Source`] (drop-ins merged) and
//! gets one [`Service`] or [`ConvertError`] back per source, in Quadlet's processing order.

pub mod convert;
pub mod dropins;
pub mod generator;
pub mod install;
pub mod log;
pub mod output;
pub mod paths;
pub mod podman_version;
pub mod rpmdb;

use std::path::PathBuf;

use crate::engine::Version;
use crate::unit::{Origin, UnitFile};

/// The Quadlet unit kinds quadplay converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Container,
    Volume,
    Network,
    Kube,
    Pod,
    Image,
    Build,
    Artifact,
}

impl Kind {
    /// The kind of a unit file name, by its extension (`web.container` → `Container`).
    pub fn from_file_name(name: &str) -> Option<Kind> {
        let (_, ext) = name.rsplit_once('.')?;
        Some(match ext {
            "container" => Kind::Container,
            "volume" => Kind::Volume,
            "network" => Kind::Network,
            "kube" => Kind::Kube,
            "pod" => Kind::Pod,
            "image" => Kind::Image,
            "build" => Kind::Build,
            "artifact" => Kind::Artifact,
            _ => return None,
        })
    }

    /// The file extension without the dot (`container`), also the top-level drop-in dir stem.
    pub fn extension(self) -> &'static str {
        match self {
            Kind::Container => "container",
            Kind::Volume => "volume",
            Kind::Network => "network",
            Kind::Kube => "kube",
            Kind::Pod => "pod",
            Kind::Image => "image",
            Kind::Build => "build",
            Kind::Artifact => "artifact",
        }
    }

    /// The group holding the kind's keys (`[Container]`).
    pub fn group(self) -> &'static str {
        match self {
            Kind::Container => "Container",
            Kind::Volume => "Volume",
            Kind::Network => "Network",
            Kind::Kube => "Kube",
            Kind::Pod => "Pod",
            Kind::Image => "Image",
            Kind::Build => "Build",
            Kind::Artifact => "Artifact",
        }
    }

    /// Suffix added to the service name (`foo.volume` → `foo-volume.service`).
    fn service_suffix(self) -> &'static str {
        match self {
            Kind::Container | Kind::Kube => "",
            Kind::Volume => "-volume",
            Kind::Network => "-network",
            Kind::Pod => "-pod",
            Kind::Image => "-image",
            Kind::Build => "-build",
            Kind::Artifact => "-artifact",
        }
    }

    /// Processing rank (§1.8): images and artifacts first (their names become known when they
    /// convert), then networks and volumes, builds (they may mount volumes), containers, and
    /// pods last (containers register with them).
    fn rank(self) -> u8 {
        match self {
            Kind::Image | Kind::Artifact => 1,
            Kind::Volume | Kind::Network => 2,
            Kind::Build => 3,
            Kind::Container | Kind::Kube => 4,
            Kind::Pod => 5,
        }
    }
}

/// Whether a file name has one of Quadlet's extensions (including the kinds quadplay does not
/// convert), as used when translating `[Unit]` dependencies.
pub fn is_quadlet_file_name(name: &str) -> bool {
    matches!(
        name.rsplit_once('.').map(|(_, e)| e),
        Some("container" | "volume" | "network" | "kube" | "pod" | "image" | "build" | "artifact")
    )
}

/// A loaded unit file with its drop-ins already merged.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file name (`web.container`); references between units use it.
    pub file_name: String,
    pub unit: UnitFile,
}

/// What the conversion needs to know about the machine and the build.
#[derive(Debug, Clone)]
pub struct Settings {
    /// User (rootless) mode.
    pub user: bool,
    /// The podman binary written into Exec lines.
    pub podman: String,
    /// The quadplay binary written into `.kube` Exec lines.
    pub quadplay: String,
}

/// One generated service.
#[derive(Debug, Clone)]
pub struct Service {
    /// `web.container`
    pub source_file_name: String,
    /// `web.service`: the output file name.
    pub service_name: String,
    /// The service unit; its `[Install]` group is still there for the link step.
    pub unit: UnitFile,
    /// Non-fatal problems, each `path:line: key: message`.
    pub warnings: Vec<String>,
    /// Whether `[Install] UpheldBy=` makes `.upholds/` links (not for a Podman whose Quadlet
    /// predates the key: it leaves the line and makes no link).
    pub upholds_links: bool,
}

/// Why a unit could not be converted. Display: `path:line: key: what is wrong` (or `path: key:
/// what is wrong` when there is no line, e.g. for a missing key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("{origin}: {key}: unsupported key '{key}' in group '{group}'")]
    UnsupportedKey {
        origin: Origin,
        group: String,
        key: String,
    },
    #[error("{origin}: {key}: {message}")]
    Invalid {
        origin: Origin,
        key: String,
        message: String,
    },
    #[error("{}: {key}: {message}", path.display())]
    Missing {
        path: PathBuf,
        key: String,
        message: String,
    },
}

impl ConvertError {
    /// The key the error is about.
    pub fn key(&self) -> &str {
        match self {
            ConvertError::UnsupportedKey { key, .. }
            | ConvertError::Invalid { key, .. }
            | ConvertError::Missing { key, .. } => key,
        }
    }
}

/// The service file name of a Quadlet file (`foo.container` → `foo.service`, `foo@.volume` →
/// `foo-volume@.service`, `foo@bar.volume` → `foo@bar-volume.service`); `ServiceName=` in the
/// kind's group wins. Names that are not Quadlet kinds just get `.service`.
pub fn service_file_name(file_name: &str, unit: &UnitFile) -> String {
    format!("{}.service", convert::names::service_base(file_name, unit))
}

/// Converts every source in Quadlet's processing order (§1.8) and returns one result per source,
/// in that order. Cross-unit references resolve against `sources`.
///
/// `podman` is the installed Podman's version when known: from 4.4 on, networks and volumes are
/// created exactly as Quadlet does (`create --ignore`); before (Debian 12 ships 4.3), and when
/// the version is unknown, `ExecStartPre=-… create` may fail because the object exists (ignored)
/// and `ExecStart=… exists NAME` fails the unit if the object is really missing.
pub fn convert_all(
    sources: &[Source],
    settings: &Settings,
    podman: Option<Version>,
) -> Vec<(String, Result<Service, ConvertError>)> {
    convert::convert_all(sources, settings, podman)
}

/// [`convert_all`], handing each result to `each` as soon as it is made (the generator writes
/// each service and frees it, instead of holding all of them at once).
pub fn convert_each(
    sources: &[Source],
    settings: &Settings,
    podman: Option<Version>,
    each: impl FnMut(&str, Result<Service, ConvertError>),
) {
    convert::convert_each(sources, settings, podman, each)
}
