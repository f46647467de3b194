//! `.image` (podman-systemd.unit(5) v5.8.2, `[Image]`): a oneshot service that pulls an image
//! before the containers, pods and volumes that name it (`Image=x.image`) start. Its resource
//! name, the image those units run, is `ImageTag=` or else `Image=`.

use super::common::{init_service, missing, pull_service, PullSpec};
use super::{Converted, Ctx};
use crate::quadlet::{ConvertError, Kind, Source};
use crate::unit::UnitFile;

const GROUP: &str = "Image";

/// Keys of `[Image]` (Quadlet v5.8.2).
pub const KEYS: &[&str] = &[
    "AllTags",
    "Arch",
    "AuthFile",
    "CertDir",
    "ContainersConfModule",
    "Creds",
    "DecryptionKey",
    "GlobalArgs",
    "Image",
    "ImageTag",
    "OS",
    "PodmanArgs",
    "Policy",
    "Retry",
    "RetryDelay",
    "ServiceName",
    "TLSVerify",
    "Variant",
];

/// `podman image pull` and its flags (Quadlet iterates a Go map, so its order varies from run to
/// run; ours is fixed).
const PULL: PullSpec = PullSpec {
    group: GROUP,
    command: "image",
    strings: STRING_FLAGS,
    booleans: &[("AllTags", "--all-tags"), ("TLSVerify", "--tls-verify")],
};

/// Flags taking the key's value.
const STRING_FLAGS: &[(&str, &str)] = &[
    ("Arch", "--arch"),
    ("AuthFile", "--authfile"),
    ("CertDir", "--cert-dir"),
    ("Creds", "--creds"),
    ("DecryptionKey", "--decryption-key"),
    ("OS", "--os"),
    ("Policy", "--policy"),
    ("Variant", "--variant"),
    ("Retry", "--retry"),
    ("RetryDelay", "--retry-delay"),
];

pub fn convert(src: &Source, ctx: &mut Ctx) -> Result<Converted, ConvertError> {
    let unit = &src.unit;
    let service = init_service(src, Kind::Image, KEYS, ctx)?;
    let image = pulled_image(unit)?;
    Ok(pull_service(&PULL, unit, ctx, service, image))
}

/// `Image=`, which must name something.
fn pulled_image(unit: &UnitFile) -> Result<String, ConvertError> {
    unit.lookup(GROUP, "Image")
        .filter(|i| !i.is_empty())
        .ok_or_else(|| missing(unit, "Image", "no Image key specified"))
}

/// The image units referring to this one run: `ImageTag=` if set, else `Image=`.
pub fn resource_name(unit: &UnitFile) -> Option<String> {
    unit.lookup(GROUP, "ImageTag")
        .filter(|t| !t.is_empty())
        .or_else(|| unit.lookup(GROUP, "Image").filter(|i| !i.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_fails_with, convert1, line, Base};

    const B: Base = Base {
        name: "web.image",
        head: "[Image]\nImage=registry.example.org/web:1.2\n",
    };

    #[test]
    fn basic_image_is_a_remaining_oneshot_pull() {
        let out = B.convert("").unwrap();
        assert_eq!(
            line(&out, "ExecStart"),
            Some("/usr/bin/podman image pull registry.example.org/web:1.2")
        );
        assert_eq!(line(&out, "Type"), Some("oneshot"));
        assert_eq!(line(&out, "RemainAfterExit"), Some("yes"));
        assert_eq!(line(&out, "SyslogIdentifier"), Some("%N"));
        assert!(out.contains("[X-Image]\nImage=registry.example.org/web:1.2\n"));
    }

    #[test]
    fn every_key_becomes_its_flag() {
        let out = B
            .convert(
                "AllTags=yes\nArch=arm64\nAuthFile=/etc/auth.json\nCertDir=/etc/certs\n\
                 ContainersConfModule=/etc/m.conf\nCreds=me:secret\nDecryptionKey=/k.pem\n\
                 GlobalArgs=--log-level=debug\nImageTag=localhost/web:stable\nOS=linux\n\
                 PodmanArgs=--quiet\nPolicy=always\nRetry=5\nRetryDelay=10s\nTLSVerify=no\n\
                 Variant=v8\n",
            )
            .unwrap();
        assert_eq!(
            line(&out, "ExecStart"),
            Some(
                "/usr/bin/podman --module=/etc/m.conf --log-level=debug image pull --arch arm64 \
                 --authfile /etc/auth.json --cert-dir /etc/certs --creds me:secret \
                 --decryption-key /k.pem --os linux --policy always --variant v8 --retry 5 \
                 --retry-delay 10s --all-tags --tls-verify=false --quiet \
                 registry.example.org/web:1.2"
            )
        );
    }

    #[test]
    fn user_service_settings_win() {
        let out = B
            .convert("[Service]\nType=simple\nRemainAfterExit=no\n")
            .unwrap();
        assert_eq!(line(&out, "Type"), Some("simple"));
        assert_eq!(line(&out, "RemainAfterExit"), Some("no"));
    }

    #[test]
    fn image_is_required() {
        assert_fails_with(
            "web.image",
            "[Image]\nArch=arm64\n",
            "/etc/containers/systemd/web.image: Image: no Image key specified",
        );
        B.fails_with("Tag=x\n", ":3: Tag: unsupported key 'Tag' in group 'Image'");
    }

    #[test]
    fn service_name() {
        let files = [("x.image", "[Image]\nImage=localhost/x\n")];
        let sources: Vec<_> = files
            .iter()
            .map(|(n, t)| super::super::testutil::source(n, t))
            .collect();
        let r = super::super::convert_all(&sources, &super::super::testutil::settings(true), None);
        assert_eq!(r[0].1.as_ref().unwrap().service_name, "x-image.service");
        assert!(convert1("x.image", "[Image]\nImage=localhost/x\n").is_ok());
    }
}
