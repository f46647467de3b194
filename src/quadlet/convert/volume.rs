//! `.volume` (§7): a oneshot service that creates the volume unless it exists.

use super::common::{
    base_podman, image_reference, init_service, invalid, CreateIfMissing, Flags, UNIT,
};
use super::{compat, names, Converted, Ctx};
use crate::quadlet::{ConvertError, Kind, Source};
use crate::unit::quote_word;

const GROUP: &str = "Volume";

/// Keys of `[Volume]` (Quadlet v5.8.2).
pub const KEYS: &[&str] = &[
    "ContainersConfModule",
    "Copy",
    "Device",
    "Driver",
    "GlobalArgs",
    "Group",
    "Image",
    "Label",
    "Options",
    "PodmanArgs",
    "ServiceName",
    "Type",
    "User",
    "VolumeName",
];

pub fn convert(src: &Source, ctx: &mut Ctx) -> Result<Converted, ConvertError> {
    let unit = &src.unit;
    let mut service = init_service(src, Kind::Volume, KEYS, ctx)?;
    let name = names::resource_name_in(ctx, Kind::Volume, &src.file_name, unit)
        .unwrap_or_else(|| names::default_resource_name(&src.file_name));

    let base = base_podman(unit, GROUP, &ctx.settings.podman);
    let (plan, start) = CreateIfMissing::new(base, "volume", &name);
    let mut f = Flags::new(unit, GROUP, start);
    let driver = unit.lookup(GROUP, "Driver");
    if let Some(d) = &driver {
        f.push2("--driver", d.clone());
    }
    // `o=` options collected from User/Group/Options, written as one `--opt o=...`.
    let mut o: Vec<String> = Vec::new();
    if driver.as_deref() == Some("image") {
        let v = unit.lookup_last(GROUP, "Image").ok_or_else(|| {
            invalid(
                unit,
                GROUP,
                "Driver",
                "the key Image is mandatory when using the image driver",
            )
        })?;
        let image = unit.lookup(GROUP, "Image").unwrap_or_default();
        let image = image_reference(v, &image, "Image", ctx, &mut service)?;
        f.push2("--opt", format!("image={image}"));
    } else {
        if unit.has_key(GROUP, "User") {
            o.push(format!(
                "uid={}",
                unit.lookup_u32(GROUP, "User", 0).unwrap_or(0)
            ));
        }
        if unit.has_key(GROUP, "Group") {
            o.push(format!(
                "gid={}",
                unit.lookup_u32(GROUP, "Group", 0).unwrap_or(0)
            ));
        }
        match unit.lookup_bool(GROUP, "Copy") {
            Some(true) => f.push2("--opt", "copy"),
            Some(false) => f.push2("--opt", "nocopy"),
            None => {}
        }
        let device = unit.lookup(GROUP, "Device").filter(|d| !d.is_empty());
        if let Some(d) = &device {
            f.push2("--opt", format!("device={d}"));
        }
        if let Some(t) = unit.lookup(GROUP, "Type").filter(|t| !t.is_empty()) {
            let Some(d) = &device else {
                return Err(invalid(
                    unit,
                    GROUP,
                    "Type",
                    "key Type can't be used without Device",
                ));
            };
            f.push2("--opt", format!("type={t}"));
            if t == "bind" && !ctx.quadlet_before(compat::BIND_VOLUME_MOUNTS) {
                service.add(UNIT, "RequiresMountsFor", &quote_word(d));
            }
        }
        if let Some(opts) = unit.lookup(GROUP, "Options").filter(|o| !o.is_empty()) {
            if device.is_none() {
                return Err(invalid(
                    unit,
                    GROUP,
                    "Options",
                    "key Options can't be used without Device",
                ));
            }
            o.push(opts);
        }
    }
    if !o.is_empty() {
        f.push2("--opt", format!("o={}", o.join(",")));
    }
    f.key_vals("Label", "--label");
    f.podman_args();
    f.push(name);
    Ok(plan.finish(service, ctx, f))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_fails_with, convert1, convert_modern, line, lines};

    #[test]
    fn basic_volume_portable() {
        let out = convert1("basic.volume", "[Volume]\n").unwrap();
        assert_eq!(
            [lines(&out, "ExecStartPre"), lines(&out, "ExecStart")].concat(),
            [
                "-/usr/bin/podman volume create systemd-basic",
                "/usr/bin/podman volume exists systemd-basic"
            ]
        );
    }

    #[test]
    fn basic_volume_modern_is_quadlets() {
        let out = convert_modern("basic.volume", "[Volume]\n").unwrap();
        assert_eq!(
            out,
            "[X-Volume]\n\n[Unit]\nWants=network-online.target\nAfter=network-online.target\nSourcePath=/etc/containers/systemd/basic.volume\nRequiresMountsFor=%t/containers\n\n[Service]\nExecStart=/usr/bin/podman volume create --ignore systemd-basic\nSyslogIdentifier=%N\nType=oneshot\nRemainAfterExit=yes\n"
        );
    }

    #[test]
    fn every_key() {
        let out = convert_modern(
            "v.volume",
            "[Volume]\nContainersConfModule=/m\nGlobalArgs=--syslog\nDriver=local\nUser=root\nGroup=0x10\nCopy=no\nDevice=/dev/sdb1\nType=bind\nOptions=noatime\nLabel=x=1 a\nPodmanArgs=--opt size=1G\nVolumeName=data\n",
        )
        .unwrap();
        assert_eq!(
            line(&out, "ExecStart").unwrap(),
            "/usr/bin/podman --module=/m --syslog volume create --ignore --driver local --opt nocopy --opt device=/dev/sdb1 --opt type=bind --opt o=uid=0,gid=16,noatime --label a --label x=1 --opt size=1G data"
        );
        assert_eq!(
            lines(&out, "RequiresMountsFor"),
            ["%t/containers", "/dev/sdb1"]
        );
    }

    #[test]
    fn image_driver() {
        let out = convert1("v.volume", "[Volume]\nDriver=image\nImage=quay.io/x\n").unwrap();
        assert!(
            out.contains("--driver image --opt image=quay.io/x systemd-v\n"),
            "{out}"
        );
        assert_fails_with(
            "v.volume",
            "[Volume]\nDriver=image\n",
            ":2: Driver: the key Image is mandatory when using the image driver",
        );
    }

    #[test]
    fn device_errors() {
        assert_fails_with(
            "v.volume",
            "[Volume]\nType=tmpfs\n",
            ":2: Type: key Type can't be used without Device",
        );
        assert_fails_with(
            "v.volume",
            "[Volume]\nOptions=size=1m\n",
            ":2: Options: key Options can't be used without Device",
        );
    }
}
