//! Service and resource names derived from file names (§1.7, §3.5).

use super::{compat, Ctx};
use crate::quadlet::Kind;
use crate::unit::UnitFile;

/// Whether template files get Quadlet 5.7's names (`foo@.volume` → `foo-volume@.service`,
/// `systemd-foo-%i`); the installed Podman's older Quadlet names them plainly
/// (`foo@-volume.service`, `systemd-foo@`).
pub fn template_names(ctx: &Ctx) -> bool {
    !ctx.quadlet_before(compat::TEMPLATE_NAMES)
}

/// [`service_base`] as the installed Podman's Quadlet names services.
pub fn service_base_in(ctx: &Ctx, file_name: &str, unit: &UnitFile) -> String {
    if template_names(ctx) {
        return service_base(file_name, unit);
    }
    let kind = Kind::from_file_name(file_name);
    if let Some(name) = kind.and_then(|k| unit.lookup(k.group(), "ServiceName")) {
        return name;
    }
    let suffix = kind.map(Kind::service_suffix).unwrap_or("");
    format!("{}{suffix}", remove_extension(file_name))
}

/// [`resource_name`] as the installed Podman's Quadlet names networks and volumes.
pub fn resource_name_in(ctx: &Ctx, kind: Kind, file_name: &str, unit: &UnitFile) -> Option<String> {
    let plain = !template_names(ctx) && matches!(kind, Kind::Network | Kind::Volume);
    let key = if kind == Kind::Network {
        "NetworkName"
    } else {
        "VolumeName"
    };
    match unit.lookup(kind.group(), key) {
        _ if !plain => resource_name(kind, file_name, unit),
        Some(n) if !n.is_empty() => Some(n),
        _ => Some(format!("systemd-{}", remove_extension(file_name))),
    }
}

/// The name up to the last `.` (a leading dot is not an extension).
pub fn remove_extension(name: &str) -> &str {
    match name.rfind('.') {
        Some(dot) if dot > 0 => &name[..dot],
        _ => name,
    }
}

/// The service name without `.service`: `ServiceName=` if present (even empty, as Quadlet),
/// else the base name with the kind's suffix, inserted before a trailing `@` for templates.
pub fn service_base(file_name: &str, unit: &UnitFile) -> String {
    let kind = Kind::from_file_name(file_name);
    if let Some(k) = kind {
        if let Some(name) = unit.lookup(k.group(), "ServiceName") {
            return name;
        }
    }
    let base = remove_extension(file_name);
    let suffix = kind.map(Kind::service_suffix).unwrap_or("");
    match base.strip_suffix('@') {
        Some(stem) => format!("{stem}{suffix}@"),
        None => format!("{base}{suffix}"),
    }
}

/// Default podman resource name of networks and volumes: `systemd-BASE`; for names with `@`
/// the last character is dropped and `-%i` appended (Quadlet's quirk, kept for compatibility:
/// `foo@.network` → `systemd-foo-%i`, `foo@bar.network` → `systemd-foo@ba-%i`).
pub fn default_resource_name(file_name: &str) -> String {
    let name = format!("systemd-{}", remove_extension(file_name));
    if file_name.contains('@') {
        let mut chars = name.chars();
        chars.next_back();
        format!("{}-%i", chars.as_str())
    } else {
        name
    }
}

/// The container name a `.container` runs as: `ContainerName=` or `systemd-%N`
/// (`systemd-%p_%i` for templates and instances).
pub fn container_name(file_name: &str, unit: &UnitFile) -> String {
    match unit.lookup("Container", "ContainerName") {
        Some(n) if !n.is_empty() => n,
        _ if file_name.contains('@') => "systemd-%p_%i".to_string(),
        _ => "systemd-%N".to_string(),
    }
}

/// The container name as other units can use it (`Network=x.container`): `%N` replaced by the
/// service base name; any other specifier makes it unknowable at generation time.
pub fn container_resource_name(file_name: &str, unit: &UnitFile) -> Option<String> {
    let name = container_name(file_name, unit).replace("%N", &service_base(file_name, unit));
    (!name.contains('%')).then_some(name)
}

/// `NetworkName=`/`VolumeName=`/`PodName=` or the default.
pub fn resource_name(kind: Kind, file_name: &str, unit: &UnitFile) -> Option<String> {
    let key = match kind {
        Kind::Network => "NetworkName",
        Kind::Volume => "VolumeName",
        Kind::Pod => "PodName",
        Kind::Container => return container_resource_name(file_name, unit),
        Kind::Kube | Kind::Image | Kind::Build | Kind::Artifact => return None,
    };
    match unit.lookup(kind.group(), key) {
        Some(n) if !n.is_empty() => Some(n),
        // Pods do not get the template treatment (Quadlet: `systemd-foo@`).
        _ if kind == Kind::Pod => Some(format!("systemd-{}", remove_extension(file_name))),
        _ => Some(default_resource_name(file_name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn unit(text: &str) -> UnitFile {
        UnitFile::parse(Path::new("/d/u"), text).unwrap()
    }

    #[test]
    fn service_names() {
        let e = unit("");
        assert_eq!(service_base("web.container", &e), "web");
        assert_eq!(service_base("web.kube", &e), "web");
        assert_eq!(service_base("db.volume", &e), "db-volume");
        assert_eq!(service_base("net.network", &e), "net-network");
        assert_eq!(service_base("p.pod", &e), "p-pod");
        assert_eq!(service_base("foo@.volume", &e), "foo-volume@");
        assert_eq!(service_base("foo@bar.volume", &e), "foo@bar-volume");
        assert_eq!(service_base("foo@.container", &e), "foo@");
        assert_eq!(
            service_base("subnet-trio.multiple.network", &e),
            "subnet-trio.multiple-network"
        );
    }

    #[test]
    fn service_name_override() {
        let u = unit("[Volume]\nServiceName=data\n");
        assert_eq!(service_base("x.volume", &u), "data");
        // ServiceName in another kind's group is not ours.
        assert_eq!(service_base("x.network", &u), "x-network");
    }

    #[test]
    fn resource_names() {
        let e = unit("");
        assert_eq!(
            resource_name(Kind::Network, "foo.network", &e).unwrap(),
            "systemd-foo"
        );
        assert_eq!(
            resource_name(Kind::Network, "foo@.network", &e).unwrap(),
            "systemd-foo-%i"
        );
        assert_eq!(
            resource_name(Kind::Volume, "foo@bar.volume", &e).unwrap(),
            "systemd-foo@ba-%i"
        );
        assert_eq!(
            resource_name(Kind::Pod, "foo@.pod", &e).unwrap(),
            "systemd-foo@"
        );
        let n = unit("[Network]\nNetworkName=mynet\n");
        assert_eq!(
            resource_name(Kind::Network, "foo.network", &n).unwrap(),
            "mynet"
        );
        let empty = unit("[Network]\nNetworkName=\n");
        assert_eq!(
            resource_name(Kind::Network, "foo.network", &empty).unwrap(),
            "systemd-foo"
        );
    }

    #[test]
    fn container_names() {
        let e = unit("");
        assert_eq!(container_name("basic.container", &e), "systemd-%N");
        assert_eq!(container_name("t@.container", &e), "systemd-%p_%i");
        assert_eq!(
            container_resource_name("basic.container", &e).unwrap(),
            "systemd-basic"
        );
        assert_eq!(container_resource_name("t@.container", &e), None);
        let n = unit("[Container]\nContainerName=web-%N\nServiceName=svc\n");
        assert_eq!(
            container_resource_name("x.container", &n).unwrap(),
            "web-svc"
        );
    }
}
