//! Writing what the installed Podman's own Quadlet writes where it differs from v5.8.2's.
//!
//! quadplay follows Quadlet v5.8.2. A machine with an older Podman (Debian 13: 5.4.2) has an older
//! Quadlet, whose units name containers by `--cidfile`/`--pod-id-file`, write spaces plainly inside
//! quoted words, do not translate `[Unit]` dependencies on Quadlet files, and refuse keys added
//! later. Users switching from that Quadlet must get the same units, and a key that Podman's
//! Quadlet would refuse must be refused here too, naming file, line and key, rather than written
//! into a unit the documentation of their Podman does not describe.
//!
//! Each difference is a gate: the first Podman whose Quadlet has the v5.8.2 behaviour (found in
//! Podman's history). A gate applies only when the version is known and the Podman has a Quadlet
//! (≥ 4.4): Podman 4.3 has none to match, so it gets v5.8.2's forms (with its own flag gates), and
//! an unknown version keeps v5.8.2's forms, which every Podman accepts.

use super::common::invalid_value;
use super::Ctx;
use crate::engine::Version;
use crate::quadlet::{ConvertError, Kind};
use crate::unit::UnitFile;

/// The first Podman that ships Quadlet.
pub const QUADLET_FIRST: Version = Version::new(4, 4, 0);
/// `[Unit]` dependencies on Quadlet files (`After=db.container`) become service names. Before,
/// Quadlet copied them as written and systemd drops them ("Failed to add dependency on
/// db.container, ignoring"): quadplay translates them for every Podman, and warns where the
/// installed Podman's Quadlet would not (a deliberate difference, in the README).
pub const DEPENDENCY_TRANSLATION: Version = Version::new(5, 5, 0);
/// `[Install] UpheldBy=` makes `.upholds` links.
pub const UPHELD_BY: Version = Version::new(5, 5, 0);
/// Containers and pods are named on the command line instead of `--cidfile`/`--pod-id-file`.
pub const NAMES_NOT_ID_FILES: Version = Version::new(5, 6, 0);
/// A space inside a quoted word is written `\x20`.
pub const ESCAPED_SPACES: Version = Version::new(5, 6, 0);
/// A `Type=bind` volume's `Device=` gets `RequiresMountsFor=`.
pub const BIND_VOLUME_MOUNTS: Version = Version::new(5, 6, 0);
/// A `.build`'s `File=%h/x` counts as absolute (no working directory appended as context).
pub const SPECIFIER_FILE_ABSOLUTE: Version = Version::new(5, 7, 0);
/// Template files: `foo@.volume` → `foo-volume@.service` and volume `systemd-foo-%i`.
pub const TEMPLATE_NAMES: Version = Version::new(5, 7, 0);
/// An empty `Entrypoint=` clears the image's (`--entrypoint=`); before, empty values were skipped
/// and a value was written `--entrypoint VALUE`.
pub const EMPTY_ENTRYPOINT: Version = Version::new(5, 8, 2);

/// Keys of each kind's group with the first Podman whose Quadlet accepts them (the rest are in
/// every Quadlet quadplay follows back to 5.4; `.artifact` units came with 5.7, see
/// [`super::artifact`]).
const KEYS_SINCE: &[(Kind, &str, Version)] = &[
    (Kind::Container, "Memory", Version::new(5, 5, 0)),
    (Kind::Container, "ReloadCmd", Version::new(5, 5, 0)),
    (Kind::Container, "ReloadSignal", Version::new(5, 5, 0)),
    (Kind::Container, "Retry", Version::new(5, 5, 0)),
    (Kind::Container, "RetryDelay", Version::new(5, 5, 0)),
    (Kind::Container, "HttpProxy", Version::new(5, 7, 0)),
    (Kind::Container, "AppArmor", Version::new(5, 8, 0)),
    (Kind::Build, "Retry", Version::new(5, 5, 0)),
    (Kind::Build, "RetryDelay", Version::new(5, 5, 0)),
    (Kind::Build, "BuildArg", Version::new(5, 7, 0)),
    (Kind::Build, "IgnoreFile", Version::new(5, 7, 0)),
    (Kind::Image, "Retry", Version::new(5, 5, 0)),
    (Kind::Image, "RetryDelay", Version::new(5, 5, 0)),
    (Kind::Image, "Policy", Version::new(5, 6, 0)),
    (Kind::Network, "NetworkDeleteOnStop", Version::new(5, 5, 0)),
    (Kind::Network, "InterfaceName", Version::new(5, 6, 0)),
    (Kind::Pod, "HostName", Version::new(5, 5, 0)),
    (Kind::Pod, "ExitPolicy", Version::new(5, 6, 0)),
    (Kind::Pod, "Label", Version::new(5, 6, 0)),
    (Kind::Pod, "StopTimeout", Version::new(5, 7, 0)),
];

impl Ctx<'_> {
    /// Whether the installed Podman has a Quadlet older than `gate`, whose form is written then.
    pub fn quadlet_before(&self, gate: Version) -> bool {
        self.podman_version
            .is_some_and(|v| v >= QUADLET_FIRST && v < gate)
    }
}

/// A warning for each `[Install] UpheldBy=` that the installed Podman's Quadlet ignores (it
/// came with 5.5): the line stays, no `.upholds/` link is made.
pub fn ignored_install_keys(unit: &UnitFile, ctx: &Ctx) -> Vec<String> {
    if !ctx.quadlet_before(UPHELD_BY) {
        return Vec::new();
    }
    let version = ctx
        .podman_version
        .map(|v| v.major_minor())
        .unwrap_or_default();
    unit.lookup_all_values("Install", "UpheldBy")
        .into_iter()
        .map(|v| {
            super::common::warning(
                &v.origin,
                "UpheldBy",
                &format!(
                    "Warning: no .upholds link: the Quadlet of the installed Podman {version} \
                     ignores UpheldBy (Podman 5.5 added it)"
                ),
            )
        })
        .collect()
}

/// A warning for each `[Unit]` dependency on a Quadlet file that the installed Podman's Quadlet
/// would have left untranslated (and systemd dropped).
pub fn translated_dependencies(unit: &UnitFile, ctx: &Ctx) -> Vec<String> {
    if !ctx.quadlet_before(DEPENDENCY_TRANSLATION) {
        return Vec::new();
    }
    let version = ctx
        .podman_version
        .map(|v| v.major_minor())
        .unwrap_or_default();
    let mut warnings = Vec::new();
    for key in super::common::DEPENDENCY_KEYS {
        for w in unit.lookup_all_strv_values(super::common::UNIT, key) {
            if crate::quadlet::is_quadlet_file_name(&w.value) {
                warnings.push(super::common::warning(
                    &w.origin,
                    key,
                    &format!(
                        "Warning: {} translated to its service; the Quadlet of the installed \
                         Podman {version} would write it as is, which systemd ignores (Podman \
                         5.5 translates it)",
                        w.value
                    ),
                ));
            }
        }
    }
    warnings
}

/// The first Podman whose Quadlet converts each kind that came later than 4.4.
const KINDS_SINCE: &[(Kind, Version)] = &[(Kind::Artifact, Version::new(5, 7, 0))];

/// The first key of `kind`'s group that the installed Podman's Quadlet does not know: the error
/// its Quadlet gives (the unit is not written), with file, line and the version that has it.
pub fn check_key_versions(unit: &UnitFile, kind: Kind, ctx: &Ctx) -> Result<(), ConvertError> {
    let Some(installed) = ctx.podman_version else {
        return Ok(());
    };
    let group = kind.group();
    let kind_since = KINDS_SINCE
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, v)| *v);
    if let Some(since) = kind_since.filter(|s| ctx.quadlet_before(*s)) {
        return Err(super::common::missing(
            unit,
            group,
            format!(
                "the Quadlet of the installed Podman {} has no .{} units (Podman {} added them)",
                installed.major_minor(),
                group.to_lowercase(),
                since.major_minor()
            ),
        ));
    }
    for (key, value) in unit.entries(group) {
        let since = KEYS_SINCE
            .iter()
            .find(|(k, name, _)| *k == kind && *name == key)
            .map(|(_, _, v)| *v);
        if let Some(since) = since.filter(|s| ctx.quadlet_before(*s)) {
            return Err(invalid_value(
                value,
                key,
                format!(
                    "unsupported key '{key}' in group '{group}': the Quadlet of the installed \
                     Podman {} does not have it (Podman {} added it); remove it or upgrade Podman",
                    installed.major_minor(),
                    since.major_minor()
                ),
            ));
        }
    }
    Ok(())
}

/// The command lines this generator wrote into `[Service]` (not those copied from the source),
/// with spaces as the installed Podman's Quadlet writes them.
pub fn older_quoting(mut service: UnitFile, ctx: &Ctx) -> UnitFile {
    if ctx.quadlet_before(ESCAPED_SPACES) {
        service.rewrite_added(
            super::common::SERVICE,
            |k| k.starts_with("Exec"),
            plain_spaces,
        );
    }
    service
}

/// Writes a space inside quoted words of generated command lines as a plain space, as Quadlet
/// before 5.6 did (`"a b"` and `"a\x20b"` are the same word to systemd). Only `\x20` escapes
/// made by quoting are touched: one preceded by an odd number of backslashes is not an escape.
pub fn plain_spaces(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut backslashes = 0usize;
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c == '\\' && backslashes % 2 == 0 && rest.starts_with("\\x20") {
            out.push(' ');
            rest = &rest[4..];
            backslashes = 0;
            continue;
        }
        backslashes = if c == '\\' { backslashes + 1 } else { 0 };
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quadlet::convert::testutil::{convert_for, settings};
    use crate::quadlet::Settings;
    use std::collections::HashMap;
    use std::path::Path;

    fn parse(path: &str, text: &str) -> UnitFile {
        UnitFile::parse(Path::new(path), text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn ctx(settings: &Settings, v: Option<Version>) -> Ctx<'_> {
        Ctx {
            settings,
            units: HashMap::new(),
            podman_version: v,
        }
    }

    #[test]
    fn gates_apply_only_to_a_known_podman_with_an_older_quadlet() {
        let s = settings(false);
        let gate = NAMES_NOT_ID_FILES;
        assert!(ctx(&s, Some(Version::new(5, 4, 2))).quadlet_before(gate));
        assert!(ctx(&s, Some(Version::new(4, 4, 0))).quadlet_before(gate));
        assert!(!ctx(&s, Some(Version::new(5, 6, 0))).quadlet_before(gate));
        assert!(!ctx(&s, Some(Version::new(5, 8, 2))).quadlet_before(gate));
        // Podman 4.3 has no Quadlet to match; unknown keeps v5.8.2's forms.
        assert!(!ctx(&s, Some(Version::new(4, 3, 1))).quadlet_before(gate));
        assert!(!ctx(&s, None).quadlet_before(gate));
    }

    #[test]
    fn keys_newer_than_the_installed_quadlet_are_refused_with_line_and_version() {
        let s = settings(false);
        let text = "[Pod]\nPodName=p\nExitPolicy=continue\n";
        let unit = parse("/etc/containers/systemd/app.pod", text);
        let old = ctx(&s, Some(Version::new(5, 4, 2)));
        let err = check_key_versions(&unit, Kind::Pod, &old)
            .err()
            .unwrap_or_else(|| panic!("ExitPolicy accepted on 5.4"))
            .to_string();
        assert!(
            err.starts_with("/etc/containers/systemd/app.pod:3"),
            "{err}"
        );
        assert!(
            err.contains("ExitPolicy") && err.contains("5.4") && err.contains("5.6"),
            "{err}"
        );
        for v in [
            Some(Version::new(5, 6, 0)),
            Some(Version::new(4, 3, 1)),
            None,
        ] {
            assert!(
                check_key_versions(&unit, Kind::Pod, &ctx(&s, v)).is_ok(),
                "{v:?}"
            );
        }
        // The same key name in another kind is judged by that kind's row (Label: pods only).
        let vol = parse("/x.volume", "[Volume]\nLabel=a=b\n");
        assert!(check_key_versions(&vol, Kind::Volume, &old).is_ok());
    }

    #[test]
    fn plain_spaces_touches_only_quoting_escapes() {
        assert_eq!(plain_spaces(r#"--env "A=a\x20b""#), r#"--env "A=a b""#);
        assert_eq!(plain_spaces(r#""a\\x20b""#), r#""a\\x20b""#);
        assert_eq!(plain_spaces(r#""a\\\x20b""#), r#""a\\ b""#);
        assert_eq!(plain_spaces("é\\x20ü"), "é ü");
        assert_eq!(plain_spaces("none"), "none");
    }

    const V542: Version = Version::new(5, 4, 2);
    const V582: Version = Version::new(5, 8, 2);

    fn line<'a>(out: &'a str, key: &str) -> Vec<&'a str> {
        out.lines()
            .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .collect()
    }

    /// What Quadlet 5.4.2 wrote for these files on Debian 13 (benches/quadlet_compare.py).
    #[test]
    fn a_container_for_5_4_uses_its_cidfile() {
        let text = "[Container]\nImage=localhost/busybox:latest\nEnvironment=\"QUOTED=a b\"\n";
        let old = convert_for("web.container", text, V542).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            line(&old, "ExecStart"),
            ["/usr/bin/podman run --name systemd-%N --cidfile=%t/%N.cid --replace --rm --cgroups=split --sdnotify=conmon -d --env \"QUOTED=a b\" localhost/busybox:latest"]
        );
        assert_eq!(
            line(&old, "ExecStop"),
            ["/usr/bin/podman rm -v -f -i --cidfile=%t/%N.cid"]
        );
        assert_eq!(
            line(&old, "ExecStopPost"),
            ["-/usr/bin/podman rm -v -f -i --cidfile=%t/%N.cid"]
        );
        let new = convert_for("web.container", text, V582).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            line(&new, "ExecStart"),
            ["/usr/bin/podman run --name systemd-%N --replace --rm --cgroups=split --sdnotify=conmon -d --env \"QUOTED=a\\x20b\" localhost/busybox:latest"]
        );
        assert_eq!(
            line(&new, "ExecStop"),
            ["/usr/bin/podman rm -v -f -i systemd-%N"]
        );
    }

    #[test]
    fn a_pod_for_5_4_uses_its_pod_id_file() {
        let old = convert_for("good.pod", "[Pod]\n", V542).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            line(&old, "ExecStart"),
            ["/usr/bin/podman pod start --pod-id-file=%t/%N.pod-id"]
        );
        assert_eq!(
            line(&old, "ExecStop"),
            ["/usr/bin/podman pod stop --pod-id-file=%t/%N.pod-id --ignore --time=10"]
        );
        assert_eq!(
            line(&old, "ExecStopPost"),
            ["/usr/bin/podman pod rm --pod-id-file=%t/%N.pod-id --ignore --force"]
        );
        assert_eq!(
            line(&old, "ExecStartPre"),
            ["/usr/bin/podman pod create --infra-conmon-pidfile=%t/%N.pid --pod-id-file=%t/%N.pod-id --exit-policy=stop --replace --infra-name systemd-good-infra --name systemd-good"]
        );
        let new = convert_for("good.pod", "[Pod]\n", V582).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            line(&new, "ExecStart"),
            ["/usr/bin/podman pod start systemd-good"]
        );
    }

    #[test]
    fn a_pod_member_and_its_dependencies_for_5_4() {
        // Dependencies are translated for 5.4 too (its Quadlet wrote `Requires=data.volume`,
        // which systemd drops), with a warning.
        let files = [
            ("app.pod", "[Pod]\nServiceName=demo-pod-svc\n"),
            ("data.volume", "[Volume]\n"),
            (
                "web.container",
                "[Unit]\nRequires=data.volume\nAfter=data.volume\n[Container]\nImage=localhost/busybox:latest\nPod=app.pod\n",
            ),
        ];
        let sources: Vec<_> = files
            .iter()
            .map(|(n, t)| crate::quadlet::convert::testutil::source(n, t))
            .collect();
        let s = settings(false);
        for (v, pod, requires) in [
            (
                V542,
                "--pod-id-file %t/demo-pod-svc.pod-id",
                "data-volume.service",
            ),
            (V582, "--pod systemd-app", "data-volume.service"),
        ] {
            let out = super::super::convert_all(&sources, &s, Some(v));
            let web = out
                .iter()
                .find(|(n, _)| n == "web.container")
                .and_then(|(_, r)| r.as_ref().ok())
                .unwrap_or_else(|| panic!("web.container failed for {v}"))
                .unit
                .render();
            assert!(line(&web, "ExecStart")[0].contains(pod), "{v}: {web}");
            assert!(line(&web, "Requires").contains(&requires), "{v}: {web}");
            let warned = out
                .iter()
                .filter_map(|(_, r)| r.as_ref().ok())
                .flat_map(|svc| svc.warnings.iter())
                .any(|w| w.contains("web.container:2: Requires: Warning: data.volume translated"));
            assert_eq!(warned, v == V542, "{v}");
        }
    }

    #[test]
    fn bind_volumes_entrypoints_and_reload_follow_the_version() {
        let vol = "[Volume]\nDevice=/srv/data\nType=bind\n";
        let old = convert_for("d.volume", vol, V542).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(line(&old, "RequiresMountsFor"), ["%t/containers"]);
        let new = convert_for("d.volume", vol, V582).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            line(&new, "RequiresMountsFor"),
            ["%t/containers", "/srv/data"]
        );

        let ctr = |more: &str| format!("[Container]\nImage=localhost/x\n{more}");
        let run = |text: &str, v| {
            let out = convert_for("c.container", text, v).unwrap_or_else(|e| panic!("{e}"));
            line(&out, "ExecStart")[0].to_string()
        };
        assert!(!run(&ctr("Entrypoint=\n"), V542).contains("--entrypoint"));
        assert!(run(&ctr("Entrypoint=/bin/sh\n"), V542).contains(" --entrypoint /bin/sh "));
        assert!(run(&ctr("Entrypoint=\n"), V582).contains(" --entrypoint= "));

        let reload = ctr("ReloadSignal=SIGHUP\n");
        let v550 = Version::new(5, 5, 0);
        let out = convert_for("c.container", &reload, v550).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            line(&out, "ExecReload"),
            ["/usr/bin/podman kill --cidfile=%t/%N.cid --signal SIGHUP"]
        );
        let err = convert_for("c.container", &reload, V542)
            .err()
            .unwrap_or_default();
        assert!(
            err.contains("c.container:3") && err.contains("ReloadSignal"),
            "{err}"
        );
    }
}
