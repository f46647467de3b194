//! `.build` (podman-systemd.unit(5) v5.8.2, `[Build]`): a oneshot service that builds a local
//! image with `podman build` before the containers, pods and volumes that name it
//! (`Image=x.build`) start. Its resource name is the first `ImageTag=`.

use super::common::{
    absolute_path, base_podman, dir_of, init_service, invalid, missing, networks, set_default,
    Flags, SERVICE,
};
use super::container::volumes;
use super::{compat, Converted, Ctx};
use crate::quadlet::{ConvertError, Kind, Source};
use crate::unit::UnitFile;

const GROUP: &str = "Build";

/// Keys of `[Build]` (Quadlet v5.8.2).
pub const KEYS: &[&str] = &[
    "Annotation",
    "Arch",
    "AuthFile",
    "BuildArg",
    "ContainersConfModule",
    "DNS",
    "DNSOption",
    "DNSSearch",
    "Environment",
    "File",
    "ForceRM",
    "GlobalArgs",
    "GroupAdd",
    "IgnoreFile",
    "ImageTag",
    "Label",
    "Network",
    "PodmanArgs",
    "Pull",
    "Retry",
    "RetryDelay",
    "Secret",
    "ServiceName",
    "SetWorkingDirectory",
    "Target",
    "TLSVerify",
    "Variant",
    "Volume",
];

/// Flags taking the key's (last) value, in a fixed order (Quadlet's is a Go map's).
const STRING_FLAGS: &[(&str, &str)] = &[
    ("Arch", "--arch"),
    ("AuthFile", "--authfile"),
    ("IgnoreFile", "--ignorefile"),
    ("Target", "--target"),
    ("Variant", "--variant"),
    ("Retry", "--retry"),
    ("RetryDelay", "--retry-delay"),
];

/// Flags repeated for every value of the key.
const ALL_STRING_FLAGS: &[(&str, &str)] = &[
    ("DNS", "--dns"),
    ("DNSOption", "--dns-option"),
    ("DNSSearch", "--dns-search"),
    ("GroupAdd", "--group-add"),
    ("ImageTag", "--tag"),
];

/// `KEY=VALUE` lists, one flag per pair, sorted by key.
const KEY_VAL_FLAGS: &[(&str, &str)] = &[
    ("BuildArg", "--build-arg"),
    ("Environment", "--env"),
    ("Label", "--label"),
    ("Annotation", "--annotation"),
];

pub fn convert(src: &Source, ctx: &mut Ctx) -> Result<Converted, ConvertError> {
    let unit = &src.unit;
    let mut service = init_service(src, Kind::Build, KEYS, ctx)?;
    if resource_name(unit).is_none() {
        return Err(missing(unit, "ImageTag", "no ImageTag key specified"));
    }
    let mut start = base_podman(unit, GROUP, &ctx.settings.podman);
    start.push("build".to_string());
    let mut f = Flags::new(unit, GROUP, start);
    // `--pull=VALUE` in one word: `--pull VALUE` would read VALUE as the context (podman#24599).
    if let Some(p) = unit.lookup(GROUP, "Pull").filter(|p| !p.is_empty()) {
        f.push(format!("--pull={p}"));
    }
    f.strings(STRING_FLAGS);
    f.boolean("TLSVerify", "--tls-verify");
    f.boolean("ForceRM", "--force-rm");
    for (key, flag) in ALL_STRING_FLAGS {
        f.all_strings(key, flag);
    }
    for (key, flag) in KEY_VAL_FLAGS {
        f.key_vals(key, flag);
    }
    for n in networks(unit, GROUP, ctx, &mut service)? {
        f.push2("--network", n.value());
    }
    for s in unit.lookup_all_args(GROUP, "Secret") {
        f.push2("--secret", s);
    }
    volumes(&mut f, ctx, &mut service)?;
    let context = build_context(unit, &mut service)?;
    // Before 5.7 Quadlet took `File=%h/x` for a relative path (context: the working directory).
    let specifier_is_absolute = !ctx.quadlet_before(compat::SPECIFIER_FILE_ABSOLUTE);
    finish_command(unit, &mut f, &service, context, specifier_is_absolute)?;
    service.add_cmdline(SERVICE, "ExecStart", &f.args);
    set_default(&mut service, "SyslogIdentifier", "%N");
    // No RemainAfterExit: a restart of a dependent unit builds again (Quadlet's choice).
    set_default(&mut service, "Type", "oneshot");
    Ok(Converted {
        unit: service,
        warnings: f.warnings,
    })
}

/// `--file`, `PodmanArgs=` and the build context, which must come last: the
/// `SetWorkingDirectory=` context, else the working directory for a relative `File=` (one
/// starting with a specifier counts as absolute unless `specifier_is_absolute` is false).
fn finish_command(
    unit: &UnitFile,
    f: &mut Flags,
    service: &UnitFile,
    context: Option<String>,
    specifier_is_absolute: bool,
) -> Result<(), ConvertError> {
    let working_dir = service
        .lookup(SERVICE, "WorkingDirectory")
        .filter(|w| !w.is_empty());
    let file = unit.lookup(GROUP, "File").filter(|f| !f.is_empty());
    if working_dir.is_none() && file.is_none() && context.is_none() {
        return Err(missing(
            unit,
            "SetWorkingDirectory",
            "neither SetWorkingDirectory, nor File key specified",
        ));
    }
    if let Some(file) = &file {
        f.push2("--file", file.clone());
    }
    f.podman_args();
    let file = file.unwrap_or_default();
    if let Some(c) = context {
        f.push(c);
    } else if !(file.starts_with('/')
        || is_url(&file)
        || specifier_is_absolute && starts_with_specifier(&file))
    {
        let Some(wd) = working_dir else {
            return Err(invalid(
                unit,
                GROUP,
                "File",
                "relative path in File key requires SetWorkingDirectory key to be set",
            ));
        };
        f.push(wd);
    }
    Ok(())
}

/// `SetWorkingDirectory=`: `unit` (the unit file's directory), `file` (`File=`'s directory),
/// or a path or URL that becomes the build context. Sets `[Service] WorkingDirectory` (unless
/// the user set it) and returns the context, if any.
fn build_context(unit: &UnitFile, service: &mut UnitFile) -> Result<Option<String>, ConvertError> {
    let Some(value) = unit
        .lookup(GROUP, "SetWorkingDirectory")
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    let (relative_to, context) = match value.to_lowercase().as_str() {
        "file" => {
            let file = unit
                .lookup(GROUP, "File")
                .ok_or_else(|| missing(unit, "File", "no File key specified"))?;
            (Some(file), None)
        }
        "unit" => (Some(unit.path().to_string_lossy().into_owned()), None),
        _ if value.starts_with('/') => (None, Some(value)),
        _ => (
            Some(unit.path().to_string_lossy().into_owned()),
            Some(value),
        ),
    };
    let Some(relative_to) = relative_to else {
        return Ok(context);
    };
    if context.as_deref().is_some_and(is_url) {
        return Ok(context);
    }
    if unit
        .lookup(SERVICE, "WorkingDirectory")
        .is_some_and(|w| !w.is_empty())
    {
        // Quadlet keeps the user's directory and then drops the context too.
        return Ok(None);
    }
    let dir = dir_of(&absolute_path(unit, &relative_to));
    service.add(SERVICE, "WorkingDirectory", &dir);
    Ok(context)
}

/// Quadlet's URL test (`^((https?)|(git)://)|(github\.com/).+$`): starts with `http`, starts
/// with `git://`, or has `github.com/` followed by something.
fn is_url(s: &str) -> bool {
    s.starts_with("http")
        || s.starts_with("git://")
        || s.find("github.com/")
            .is_some_and(|i| s.len() > i + "github.com/".len())
}

/// A value starting with a systemd specifier (`%h/x`, not `%%`).
fn starts_with_specifier(s: &str) -> bool {
    s.starts_with('%') && !s.starts_with("%%")
}

/// The image units referring to this build run: the first `ImageTag=`.
pub fn resource_name(unit: &UnitFile) -> Option<String> {
    unit.lookup_all(GROUP, "ImageTag")
        .into_iter()
        .next()
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{convert_named, line, Base};
    use super::is_url;

    const B: Base = Base {
        name: "app.build",
        head: "[Build]\nImageTag=localhost/app:latest\n",
    };

    #[test]
    fn build_in_the_unit_directory() {
        let out = B.convert("SetWorkingDirectory=unit\n").unwrap();
        assert_eq!(
            line(&out, "ExecStart"),
            Some("/usr/bin/podman build --tag localhost/app:latest /etc/containers/systemd")
        );
        assert_eq!(
            line(&out, "WorkingDirectory"),
            Some("/etc/containers/systemd")
        );
        assert_eq!(line(&out, "Type"), Some("oneshot"));
        assert_eq!(line(&out, "RemainAfterExit"), None);
    }

    #[test]
    fn relative_file_builds_in_the_working_directory() {
        let out = B
            .convert("File=images/Containerfile\nSetWorkingDirectory=file\n")
            .unwrap();
        assert_eq!(
            line(&out, "ExecStart"),
            // Quadlet's output: the context is File='s directory, where WorkingDirectory goes.
            Some("/usr/bin/podman build --tag localhost/app:latest --file images/Containerfile /etc/containers/systemd/images")
        );
        assert_eq!(
            line(&out, "WorkingDirectory"),
            Some("/etc/containers/systemd/images")
        );
        B.fails_with(
            "File=Containerfile\n",
            ":3: File: relative path in File key requires SetWorkingDirectory key to be set",
        );
    }

    #[test]
    fn context_paths_and_urls() {
        let abs = B.convert("SetWorkingDirectory=/srv/app\n").unwrap();
        assert!(line(&abs, "ExecStart").unwrap().ends_with(" /srv/app"));
        assert_eq!(line(&abs, "WorkingDirectory"), None);
        let rel = B.convert("SetWorkingDirectory=src\n").unwrap();
        assert!(line(&rel, "ExecStart").unwrap().ends_with(" src"));
        assert_eq!(
            line(&rel, "WorkingDirectory"),
            Some("/etc/containers/systemd")
        );
        let git = B
            .convert("SetWorkingDirectory=https://git.example.org/app.git\n")
            .unwrap();
        assert!(line(&git, "ExecStart")
            .unwrap()
            .ends_with(" https://git.example.org/app.git"));
        assert_eq!(line(&git, "WorkingDirectory"), None);
        let spec = B.convert("File=%h/app/Containerfile\n").unwrap();
        assert!(line(&spec, "ExecStart")
            .unwrap()
            .ends_with(" --file %h/app/Containerfile"));
    }

    #[test]
    fn user_working_directory_wins() {
        let out = B
            .convert("SetWorkingDirectory=unit\n[Service]\nWorkingDirectory=/srv/x\n")
            .unwrap();
        assert_eq!(line(&out, "WorkingDirectory"), Some("/srv/x"));
        assert_eq!(
            line(&out, "ExecStart"),
            Some("/usr/bin/podman build --tag localhost/app:latest /srv/x")
        );
    }

    #[test]
    fn required_keys() {
        let no_tag = convert_named(
            &[("a.build", "[Build]\nFile=/x/Containerfile\n")],
            "a.build",
            false,
        );
        assert_eq!(
            no_tag.unwrap_err(),
            "/etc/containers/systemd/a.build: ImageTag: no ImageTag key specified"
        );
        B.fails_with(
            "Pull=always\n",
            "app.build: SetWorkingDirectory: neither SetWorkingDirectory, nor File key specified",
        );
    }

    #[test]
    fn every_flag() {
        let out = B
            .convert(
                "ImageTag=localhost/app:1\nPull=newer\nArch=arm64\nAuthFile=/a.json\nIgnoreFile=.ign\n\
                 Target=prod\nVariant=v8\nRetry=2\nRetryDelay=3s\nTLSVerify=false\nForceRM=true\n\
                 DNS=192.0.2.1\nDNSOption=ndots:1\nDNSSearch=example.org\nGroupAdd=wheel\n\
                 BuildArg=V=1 W=2\nEnvironment=E=1\nLabel=l=1\nAnnotation=a=1\nNetwork=host\n\
                 Secret=id=tok,src=/run/tok\nVolume=/src:/src:ro\nPodmanArgs=--squash\n\
                 ContainersConfModule=/m.conf\nGlobalArgs=--log-level=info\n\
                 SetWorkingDirectory=unit\n",
            )
            .unwrap();
        assert_eq!(
            line(&out, "ExecStart"),
            Some(
                "/usr/bin/podman --module=/m.conf --log-level=info build --pull=newer --arch arm64 \
                 --authfile /a.json --ignorefile .ign --target prod --variant v8 --retry 2 \
                 --retry-delay 3s --tls-verify=false --force-rm --dns 192.0.2.1 --dns-option ndots:1 \
                 --dns-search example.org --group-add wheel --tag localhost/app:latest \
                 --tag localhost/app:1 --build-arg V=1 --build-arg W=2 --env E=1 --label l=1 \
                 --annotation a=1 --network host --secret id=tok,src=/run/tok -v /src:/src:ro \
                 --squash /etc/containers/systemd"
            )
        );
        assert!(out.contains("RequiresMountsFor=/src\n"));
    }

    #[test]
    fn urls() {
        assert!(is_url("https://x/y"));
        assert!(is_url("git://h/r"));
        assert!(is_url("github.com/containers/PodmanHello.git"));
        assert!(!is_url("github.com/"));
        assert!(!is_url("./src"));
        assert!(!is_url("gitlab.example/x"));
    }
}
