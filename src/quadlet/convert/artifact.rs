//! `.artifact` (podman-systemd.unit(5) v5.8.2, `[Artifact]`): a oneshot service that pulls an
//! OCI artifact for containers that mount it (`Mount=type=artifact,source=x.artifact`).
//! `podman artifact` exists from Podman 5.4 on: for an older Podman the unit is refused at
//! generation time, naming the file, rather than written to fail at every start.

use super::common::{init_service, missing, pull_service, PullSpec};
use super::{Converted, Ctx};
use crate::engine::Version;
use crate::quadlet::{ConvertError, Kind, Source};
use crate::unit::UnitFile;

const GROUP: &str = "Artifact";

/// Keys of `[Artifact]` (Quadlet v5.8.2).
pub const KEYS: &[&str] = &[
    "Artifact",
    "AuthFile",
    "CertDir",
    "ContainersConfModule",
    "Creds",
    "DecryptionKey",
    "GlobalArgs",
    "PodmanArgs",
    "Quiet",
    "Retry",
    "RetryDelay",
    "ServiceName",
    "TLSVerify",
];

/// The first Podman with `podman artifact pull`.
pub const MIN_PODMAN: Version = Version::new(5, 4, 0);

/// `podman artifact pull` and its flags, in a fixed order (Quadlet's is a Go map's).
const PULL: PullSpec = PullSpec {
    group: GROUP,
    command: "artifact",
    strings: STRING_FLAGS,
    booleans: &[("Quiet", "--quiet"), ("TLSVerify", "--tls-verify")],
};

/// Flags taking the key's value.
const STRING_FLAGS: &[(&str, &str)] = &[
    ("AuthFile", "--authfile"),
    ("CertDir", "--cert-dir"),
    ("Creds", "--creds"),
    ("DecryptionKey", "--decryption-key"),
    ("Retry", "--retry"),
    ("RetryDelay", "--retry-delay"),
];

pub fn convert(src: &Source, ctx: &mut Ctx) -> Result<Converted, ConvertError> {
    let unit = &src.unit;
    let service = init_service(src, Kind::Artifact, KEYS, ctx)?;
    let artifact = resource_name(unit)
        .ok_or_else(|| missing(unit, "Artifact", "no Artifact key specified"))?;
    check_podman(unit, ctx)?;
    Ok(pull_service(&PULL, unit, ctx, service, artifact))
}

/// Refuses the unit when the Podman it will run with has no `podman artifact`.
fn check_podman(unit: &UnitFile, ctx: &Ctx) -> Result<(), ConvertError> {
    match ctx.podman_version {
        Some(v) if v < MIN_PODMAN => Err(super::common::invalid(
            unit,
            GROUP,
            "Artifact",
            format!(
                ".artifact units need Podman {} or later (podman artifact pull); this is Podman {}",
                MIN_PODMAN.major_minor(),
                v.major_minor()
            ),
        )),
        _ => Ok(()),
    }
}

/// The artifact containers mount: `Artifact=`.
pub fn resource_name(unit: &UnitFile) -> Option<String> {
    unit.lookup(GROUP, "Artifact").filter(|a| !a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{settings, source, Base};
    use super::super::{convert_all, testutil::line};
    use crate::engine::Version;

    const B: Base = Base {
        name: "models.artifact",
        head: "[Artifact]\nArtifact=registry.example.org/ml/models:v3\n",
    };

    #[test]
    fn pull_with_every_key() {
        let out = B
            .convert(
                "AuthFile=/a.json\nCertDir=/certs\nCreds=u:p\nDecryptionKey=/k\nRetry=4\n\
                 RetryDelay=2s\nQuiet=yes\nTLSVerify=no\nPodmanArgs=--arch=amd64\n\
                 ContainersConfModule=/m.conf\nGlobalArgs=--log-level=warn\n",
            )
            .unwrap();
        assert_eq!(
            line(&out, "ExecStart"),
            Some(
                "/usr/bin/podman --module=/m.conf --log-level=warn artifact pull --authfile /a.json \
                 --cert-dir /certs --creds u:p --decryption-key /k --retry 4 --retry-delay 2s \
                 --quiet --tls-verify=false --arch=amd64 registry.example.org/ml/models:v3"
            )
        );
        assert_eq!(line(&out, "RemainAfterExit"), Some("yes"));
        B.fails_with(
            "Quiet=1\nArch=x\n",
            ":4: Arch: unsupported key 'Arch' in group 'Artifact'",
        );
    }

    #[test]
    fn refused_before_podman_5_4() {
        let src = [source("models.artifact", B.head)];
        let convert = |major, minor| {
            let v = Version::new(major, minor, 2);
            let r = convert_all(&src, &settings(true), Some(v));
            r.into_iter().next().unwrap().1.map_err(|e| e.to_string())
        };
        // Podman 4.3 has no Quadlet of its own: refused for its missing `podman artifact`.
        assert_eq!(
            convert(4, 3).unwrap_err(),
            "/etc/containers/systemd/models.artifact:2: Artifact: .artifact units need Podman 5.4 or later (podman artifact pull); this is Podman 4.3"
        );
        // Podman's own Quadlet knows .artifact units from 5.7 on (compat.rs): before, refused
        // as that Quadlet would not convert them.
        assert_eq!(
            convert(5, 4).unwrap_err(),
            "/etc/containers/systemd/models.artifact: Artifact: the Quadlet of the installed Podman 5.4 has no .artifact units (Podman 5.7 added them)"
        );
        assert!(convert(5, 7).is_ok());
        B.fails_with(
            "Artifact=\n",
            "models.artifact: Artifact: no Artifact key specified",
        );
    }
}
