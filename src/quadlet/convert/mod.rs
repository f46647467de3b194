//! One converter per kind, plus what they share. Each converter is a pure function of the
//! source unit and the cross-unit table ([`Ctx`]); nothing here touches the filesystem except
//! `AddDevice=-/optional` (Quadlet checks the host path at generation time).

pub mod common;
pub mod container;
pub mod kube;
pub mod names;
pub mod network;
pub mod pod;
pub mod volume;

use std::collections::HashMap;

use crate::quadlet::{ConvertError, Kind, PodmanVersion, Service, Settings, Source};
use crate::unit::UnitFile;

/// What other units may learn about a unit (Quadlet's `UnitInfo`).
#[derive(Debug, Clone)]
pub struct UnitInfo {
    pub kind: Kind,
    /// Service name without `.service`.
    pub service_base: String,
    /// The podman object name, once known (networks and volumes: after they converted).
    pub resource_name: Option<String>,
    /// Service file names of containers to start with this pod.
    pub containers_to_start: Vec<String>,
}

impl UnitInfo {
    pub fn service_file_name(&self) -> String {
        format!("{}.service", self.service_base)
    }
}

/// The conversion context: settings and the table of all units by file name.
pub struct Ctx<'a> {
    pub settings: &'a Settings,
    pub units: HashMap<String, UnitInfo>,
    /// The target Podman, when known.
    pub podman_version: Option<PodmanVersion>,
}

impl Ctx<'_> {
    /// Whether `network create --ignore`/`volume create --ignore` may be used.
    pub fn create_ignore(&self) -> bool {
        self.podman_version
            .is_some_and(PodmanVersion::has_create_ignore)
    }
}

/// What a converter produces before it is wrapped into a [`Service`].
pub struct Converted {
    pub unit: UnitFile,
    pub warnings: Vec<String>,
}

/// See [`crate::quadlet::convert_all`].
pub fn convert_all(
    sources: &[Source],
    settings: &Settings,
    podman_version: Option<PodmanVersion>,
) -> Vec<(String, Result<Service, ConvertError>)> {
    let mut ctx = Ctx {
        settings,
        units: HashMap::new(),
        podman_version,
    };
    let mut order: Vec<(usize, Kind)> = Vec::new();
    for (i, src) in sources.iter().enumerate() {
        let Some(kind) = Kind::from_file_name(&src.file_name) else {
            continue;
        };
        // Resource names of networks and volumes become known only when they convert,
        // so a reference to one that failed reports that (as Quadlet does).
        let resource_name = match kind {
            Kind::Container | Kind::Pod => names::resource_name(kind, &src.file_name, &src.unit),
            _ => None,
        };
        ctx.units.insert(
            src.file_name.clone(),
            UnitInfo {
                kind,
                service_base: names::service_base(&src.file_name, &src.unit),
                resource_name,
                containers_to_start: Vec::new(),
            },
        );
        order.push((i, kind));
    }
    // Stable sort: equal ranks keep the caller's (search-path) order, fixed from run to run.
    order.sort_by_key(|(_, k)| k.rank());

    let mut out = Vec::with_capacity(order.len());
    for (i, kind) in order {
        let Some(src) = sources.get(i) else { continue };
        let result = convert_one(src, kind, &mut ctx).map(|c| Service {
            source_file_name: src.file_name.clone(),
            service_name: names::service_base(&src.file_name, &src.unit) + ".service",
            unit: c.unit,
            warnings: c.warnings,
        });
        if result.is_ok() && matches!(kind, Kind::Network | Kind::Volume) {
            if let Some(info) = ctx.units.get_mut(&src.file_name) {
                info.resource_name = names::resource_name(kind, &src.file_name, &src.unit);
            }
        }
        out.push((src.file_name.clone(), result));
    }
    out
}

fn convert_one(src: &Source, kind: Kind, ctx: &mut Ctx) -> Result<Converted, ConvertError> {
    match kind {
        Kind::Kube => kube::convert(src, ctx),
        Kind::Network => network::convert(src, ctx),
        Kind::Volume => volume::convert(src, ctx),
        Kind::Container => container::convert(src, ctx),
        Kind::Pod => pod::convert(src, ctx),
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;
    use std::path::Path;

    pub fn settings(user: bool) -> Settings {
        Settings {
            user,
            podman: "/usr/bin/podman".into(),
            quadplay: "/usr/bin/quadplay".into(),
        }
    }

    pub fn source(name: &str, text: &str) -> Source {
        let path = Path::new("/etc/containers/systemd").join(name);
        Source {
            file_name: name.to_string(),
            unit: UnitFile::parse(&path, text).unwrap(),
        }
    }

    /// Converts `files` and returns the result for `name`: rendered text or error message.
    pub fn convert_named(files: &[(&str, &str)], name: &str, user: bool) -> Result<String, String> {
        let sources: Vec<Source> = files.iter().map(|(n, t)| source(n, t)).collect();
        let s = settings(user);
        let results = convert_all(&sources, &s, None);
        let (_, r) = results
            .into_iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| format!("no result for {name}"))?;
        r.map(|svc| svc.unit.render()).map_err(|e| e.to_string())
    }

    /// Converts for Podman 5 (Quadlet's exact `create --ignore` form).
    pub fn convert_modern(name: &str, text: &str) -> Result<String, String> {
        let sources = [source(name, text)];
        let v = PodmanVersion { major: 5, minor: 0 };
        let results = convert_all(&sources, &settings(false), Some(v));
        let (_, r) = results.into_iter().next().ok_or("no result")?;
        r.map(|svc| svc.unit.render()).map_err(|e| e.to_string())
    }

    pub fn convert1(name: &str, text: &str) -> Result<String, String> {
        convert_named(&[(name, text)], name, false)
    }

    /// The value of the last `key=` line of a rendered unit.
    pub fn line<'a>(rendered: &'a str, key: &str) -> Option<&'a str> {
        let prefix = format!("{key}=");
        rendered
            .lines()
            .filter_map(|l| l.strip_prefix(prefix.as_str()))
            .next_back()
    }

    pub fn lines<'a>(rendered: &'a str, key: &str) -> Vec<&'a str> {
        let prefix = format!("{key}=");
        rendered
            .lines()
            .filter_map(|l| l.strip_prefix(prefix.as_str()))
            .collect()
    }
}
