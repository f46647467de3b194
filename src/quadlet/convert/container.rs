//! `.container` (§6): a notify service whose main process is conmon of `podman run -d`.

use std::path::Path;

use super::common::{
    absolute_path, base_podman, default_syslog_identifier, image_reference, init_service, invalid,
    invalid_value, is_oneshot, missing, networks, referenced, resource_of, set_kill_mode,
    user_mappings, warning, Flags, SERVICE, UNIT,
};
use super::{compat, names, Converted, Ctx};
use crate::engine::Version;
use crate::quadlet::{ConvertError, Kind, Source};
use crate::unit::{quote_word, UnitFile, Value};

const GROUP: &str = "Container";

/// Keys of `[Container]` (all 94 of Quadlet v5.8.2).
pub const KEYS: &[&str] = &[
    "AddCapability",
    "AddDevice",
    "AddHost",
    "Annotation",
    "AppArmor",
    "AutoUpdate",
    "CgroupsMode",
    "ContainerName",
    "ContainersConfModule",
    "DNS",
    "DNSOption",
    "DNSSearch",
    "DropCapability",
    "Entrypoint",
    "Environment",
    "EnvironmentFile",
    "EnvironmentHost",
    "Exec",
    "ExposeHostPort",
    "GIDMap",
    "GlobalArgs",
    "Group",
    "GroupAdd",
    "HealthCmd",
    "HealthInterval",
    "HealthOnFailure",
    "HealthLogDestination",
    "HealthMaxLogCount",
    "HealthMaxLogSize",
    "HealthRetries",
    "HealthStartPeriod",
    "HealthTimeout",
    "HealthStartupCmd",
    "HealthStartupInterval",
    "HealthStartupRetries",
    "HealthStartupSuccess",
    "HealthStartupTimeout",
    "HostName",
    "HttpProxy",
    "Image",
    "IP",
    "IP6",
    "Label",
    "LogDriver",
    "LogOpt",
    "Mask",
    "Memory",
    "Mount",
    "Network",
    "NetworkAlias",
    "NoNewPrivileges",
    "Notify",
    "PidsLimit",
    "Pod",
    "PodmanArgs",
    "PublishPort",
    "Pull",
    "ReadOnly",
    "ReadOnlyTmpfs",
    "ReloadCmd",
    "ReloadSignal",
    "RemapGid",
    "RemapUid",
    "RemapUidSize",
    "RemapUsers",
    "Retry",
    "RetryDelay",
    "Rootfs",
    "RunInit",
    "SeccompProfile",
    "Secret",
    "SecurityLabelDisable",
    "SecurityLabelFileType",
    "SecurityLabelLevel",
    "SecurityLabelNested",
    "SecurityLabelType",
    "ServiceName",
    "ShmSize",
    "StartWithPod",
    "StopSignal",
    "StopTimeout",
    "SubGIDMap",
    "SubUIDMap",
    "Sysctl",
    "Timezone",
    "Tmpfs",
    "UIDMap",
    "Ulimit",
    "Unmask",
    "User",
    "UserNS",
    "VolatileTmp",
    "Volume",
    "WorkingDir",
];

/// Before Podman 5.6, Quadlet's container id file: `run --cidfile=`, `rm --cidfile=`.
const CIDFILE: &str = "--cidfile=%t/%N.cid";

const STRING_FLAGS: &[(&str, &str)] = &[
    ("Timezone", "--tz"),
    ("PidsLimit", "--pids-limit"),
    ("ShmSize", "--shm-size"),
    ("WorkingDir", "--workdir"),
    ("IP", "--ip"),
    ("IP6", "--ip6"),
    ("HostName", "--hostname"),
    ("StopSignal", "--stop-signal"),
    ("StopTimeout", "--stop-timeout"),
    ("Pull", "--pull"),
    ("Memory", "--memory"),
    ("Retry", "--retry"),
    ("RetryDelay", "--retry-delay"),
];

const ALL_STRING_FLAGS: &[(&str, &str)] = &[
    ("NetworkAlias", "--network-alias"),
    ("Ulimit", "--ulimit"),
    ("DNS", "--dns"),
    ("DNSOption", "--dns-option"),
    ("DNSSearch", "--dns-search"),
    ("GroupAdd", "--group-add"),
    ("AddHost", "--add-host"),
    ("Tmpfs", "--tmpfs"),
];

const BOOL_FLAGS: &[(&str, &str)] = &[
    ("RunInit", "--init"),
    ("EnvironmentHost", "--env-host"),
    ("HttpProxy", "--http-proxy"),
    ("ReadOnlyTmpfs", "--read-only-tmpfs"),
];

const HEALTH_FLAGS: &[(&str, &str)] = &[
    ("HealthCmd", "--health-cmd"),
    ("HealthInterval", "--health-interval"),
    ("HealthOnFailure", "--health-on-failure"),
    ("HealthLogDestination", "--health-log-destination"),
    ("HealthMaxLogCount", "--health-max-log-count"),
    ("HealthMaxLogSize", "--health-max-log-size"),
    ("HealthRetries", "--health-retries"),
    ("HealthStartPeriod", "--health-start-period"),
    ("HealthTimeout", "--health-timeout"),
    ("HealthStartupCmd", "--health-startup-cmd"),
    ("HealthStartupInterval", "--health-startup-interval"),
    ("HealthStartupRetries", "--health-startup-retries"),
    ("HealthStartupSuccess", "--health-startup-success"),
    ("HealthStartupTimeout", "--health-startup-timeout"),
];

/// The image or rootfs the container runs.
enum Root {
    Image(String),
    Rootfs(String),
}

pub fn convert(src: &Source, ctx: &mut Ctx) -> Result<Converted, ConvertError> {
    let unit = &src.unit;
    let mut service = init_service(src, Kind::Container, KEYS, ctx)?;
    let mut warnings = Vec::new();
    let name = names::container_name(&src.file_name, unit);

    let root = match image_or_rootfs(&src.file_name, unit, &mut warnings)? {
        Root::Image(i) => match unit.lookup_last(GROUP, "Image") {
            Some(v) => Root::Image(image_reference(v, &i, "Image", ctx, &mut service)?),
            None => Root::Image(i),
        },
        rootfs => rootfs,
    };

    let unit_env = format!("{}=%n", crate::plan::LABEL_SYSTEMD_UNIT);
    service.add(SERVICE, "Environment", &unit_env);
    set_kill_mode(unit, &mut service)?;

    let base = base_podman(unit, GROUP, &ctx.settings.podman);
    // Before 5.6 Quadlet named the container by the id file `run` writes.
    let id_file = ctx.quadlet_before(compat::NAMES_NOT_ID_FILES);
    let target = if id_file {
        CIDFILE.to_string()
    } else {
        name.clone()
    };
    let mut stop = base.clone();
    stop.extend(["rm", "-v", "-f", "-i"].map(String::from));
    stop.push(target.clone());
    service.add_cmdline(SERVICE, "ExecStop", &stop);
    // ExecStopPost runs even when conmon was killed and ExecStop skipped; `-` because the
    // container is usually gone by then.
    if let Some(first) = stop.first_mut() {
        *first = format!("-{first}");
    }
    service.add_cmdline(SERVICE, "ExecStopPost", &stop);
    exec_reload(unit, &base, &target, &mut service, &mut warnings)?;
    service.add(SERVICE, "Delegate", "yes");

    let oneshot = is_oneshot(unit)?;
    let mut run = base;
    run.extend(["run".to_string(), "--name".to_string(), name]);
    if id_file {
        run.push(CIDFILE.to_string());
    }
    run.extend(["--replace".to_string(), "--rm".into()]);
    let mut f = Flags::new(unit, GROUP, run);
    f.logging();
    match unit.lookup(GROUP, "CgroupsMode").filter(|c| !c.is_empty()) {
        Some(mode) => f.push2("--cgroups", mode),
        None => f.push("--cgroups=split"),
    }
    match unit.lookup(GROUP, "Entrypoint") {
        // Before 5.8.2 an empty value was skipped like every other string key.
        Some(e) if ctx.quadlet_before(compat::EMPTY_ENTRYPOINT) && !e.is_empty() => {
            f.push2("--entrypoint", e);
        }
        Some(e) if !ctx.quadlet_before(compat::EMPTY_ENTRYPOINT) => {
            f.push(format!("--entrypoint={e}"));
        }
        _ => {}
    }
    f.strings(STRING_FLAGS);
    for (key, flag) in ALL_STRING_FLAGS {
        f.all_strings(key, flag);
    }
    for (key, flag) in BOOL_FLAGS {
        f.boolean(key, flag);
    }
    for n in networks(unit, GROUP, ctx, &mut service)? {
        f.push2("--network", n.value());
    }
    if !oneshot {
        f.push(notify_flag(unit));
        f.push("-d");
        service.set(SERVICE, "Type", "notify");
        service.set(SERVICE, "NotifyAccess", "all");
    }
    default_syslog_identifier(&mut service);

    security(&mut f);
    devices(&mut f);
    if let Some(p) = unit.lookup(GROUP, "SeccompProfile") {
        f.push2("--security-opt", format!("seccomp={p}"));
    }
    for c in unit.lookup_all_strv(GROUP, "DropCapability") {
        f.push2("--cap-drop", c.to_lowercase());
    }
    for c in unit.lookup_all_strv(GROUP, "AddCapability") {
        f.push2("--cap-add", c.to_lowercase());
    }
    f.all_strv("Sysctl", "--sysctl");
    let read_only = unit.lookup_bool(GROUP, "ReadOnly");
    f.boolean("ReadOnly", "--read-only");
    if unit.lookup_bool(GROUP, "VolatileTmp") == Some(true) && read_only != Some(true) {
        f.push2("--tmpfs", "/tmp:rw,size=512M,mode=1777");
    }
    user_and_group(&mut f)?;
    let userns = user_mappings(unit, GROUP, true)?;
    f.args.extend(userns);
    volumes(&mut f, ctx, &mut service)?;
    if let Some(a) = unit.lookup(GROUP, "AutoUpdate").filter(|a| !a.is_empty()) {
        f.push2("--label", format!("{}={a}", crate::plan::LABEL_AUTOUPDATE));
    }
    expose_ports(&mut f)?;
    f.all_strings("PublishPort", "--publish");
    f.key_vals("Environment", "--env");
    f.key_vals("Label", "--label");
    f.key_vals("Annotation", "--annotation");
    for m in unit.lookup_all_args(GROUP, "Mask") {
        f.push2("--security-opt", format!("mask={m}"));
    }
    for m in unit.lookup_all_args(GROUP, "Unmask") {
        f.push2("--security-opt", format!("unmask={m}"));
    }
    for e in unit.lookup_all_args(GROUP, "EnvironmentFile") {
        f.push2("--env-file", absolute_path(unit, &e));
    }
    for s in unit.lookup_all_args(GROUP, "Secret") {
        f.push2("--secret", s);
    }
    mounts(&mut f, ctx, &mut service)?;
    f.strings(HEALTH_FLAGS);
    pod(src, ctx, &mut service, &mut f)?;
    f.podman_args();
    match root {
        Root::Image(i) => f.push(i),
        Root::Rootfs(r) => f.push2("--rootfs", r),
    }
    match unit.lookup_last_args(GROUP, "Exec") {
        Some(Ok(args)) => f.args.extend(args),
        Some(Err((e, v))) => warnings.push(warning(&v.origin, "Exec", &e.to_string())),
        None => {}
    }
    let Flags {
        args,
        warnings: flag_warnings,
        ..
    } = f;
    warnings.extend(flag_warnings);
    service.add_cmdline(SERVICE, "ExecStart", &args);
    Ok(Converted {
        unit: service,
        warnings,
    })
}

/// `Image=` or `Rootfs=` (exactly one).
fn image_or_rootfs(
    file_name: &str,
    unit: &UnitFile,
    warnings: &mut Vec<String>,
) -> Result<Root, ConvertError> {
    let image = unit.lookup(GROUP, "Image").filter(|i| !i.is_empty());
    let rootfs = unit.lookup(GROUP, "Rootfs").filter(|r| !r.is_empty());
    match (image, rootfs) {
        (Some(_), Some(_)) => Err(invalid(
            unit,
            GROUP,
            "Rootfs",
            "the Image And Rootfs keys conflict can not be specified together",
        )),
        (None, None) => Err(missing(unit, "Image", "no Image or Rootfs key specified")),
        (None, Some(r)) => Ok(Root::Rootfs(r)),
        (Some(i), None) => {
            let reference = i.ends_with(".image") || i.ends_with(".build");
            if !reference && !is_fully_qualified(&i) {
                if let Some(v) = unit.lookup_last(GROUP, "Image") {
                    warnings.push(warning(
                        &v.origin,
                        "Image",
                        &format!("Warning: {file_name} specifies the image \"{i}\" which not a fully qualified image name. This is not ideal for performance and security reasons. See the podman-pull manpage discussion of short-name-aliases.conf for details."),
                    ));
                }
            }
            Ok(Root::Image(i))
        }
    }
}

/// Whether an image reference names its registry (`docker.io/x`, `localhost/x`, `reg:5000/x`).
fn is_fully_qualified(image: &str) -> bool {
    match image.split_once('/') {
        Some((first, _)) => first.contains('.') || first.contains(':') || first == "localhost",
        None => false,
    }
}

/// `ExecReload=` from `ReloadCmd=` (run in the container) or `ReloadSignal=`; `name` is the
/// container's name or, before Podman 5.6, its `--cidfile=` argument. A `ReloadCmd=`
/// that does not split (a bad escape) is warned about and left out, as Quadlet does.
fn exec_reload(
    unit: &UnitFile,
    base: &[String],
    name: &str,
    service: &mut UnitFile,
    warnings: &mut Vec<String>,
) -> Result<(), ConvertError> {
    let signal = unit.lookup(GROUP, "ReloadSignal").filter(|s| !s.is_empty());
    let cmd = match unit.lookup_last_args(GROUP, "ReloadCmd") {
        Some(Ok(args)) if !args.is_empty() => Some(args),
        Some(Err((e, v))) => {
            warnings.push(warning(&v.origin, "ReloadCmd", &e.to_string()));
            None
        }
        _ => None,
    };
    let mut reload = base.to_vec();
    match (cmd, signal) {
        (None, None) => return Ok(()),
        (Some(_), Some(_)) => {
            return Err(invalid(
                unit,
                GROUP,
                "ReloadSignal",
                "ReloadCmd and ReloadSignal are mutually exclusive but both are set",
            ))
        }
        (Some(args), None) => {
            reload.extend(["exec".to_string(), name.to_string()]);
            reload.extend(args);
        }
        // Quadlet 5.5 put its `--cidfile=` before the signal.
        (None, Some(sig)) if name == CIDFILE => {
            reload.extend(["kill".to_string(), name.to_string(), "--signal".into(), sig]);
        }
        (None, Some(sig)) => {
            reload.extend([
                "kill".to_string(),
                "--signal".to_string(),
                sig,
                name.to_string(),
            ]);
        }
    }
    service.add_cmdline(SERVICE, "ExecReload", &reload);
    Ok(())
}

fn notify_flag(unit: &UnitFile) -> &'static str {
    match unit.lookup(GROUP, "Notify") {
        Some(n) if n.eq_ignore_ascii_case("healthy") => "--sdnotify=healthy",
        _ if unit.lookup_bool(GROUP, "Notify") == Some(true) => "--sdnotify=container",
        _ => "--sdnotify=conmon",
    }
}

fn security(f: &mut Flags) {
    let unit = f.unit;
    if unit.lookup_bool(GROUP, "NoNewPrivileges") == Some(true) {
        f.push("--security-opt=no-new-privileges");
    }
    if unit.lookup_bool(GROUP, "SecurityLabelDisable") == Some(true) {
        f.push2("--security-opt", "label=disable");
    }
    if unit.lookup_bool(GROUP, "SecurityLabelNested") == Some(true) {
        f.push2("--security-opt", "label=nested");
    }
    for (key, prefix) in [
        ("SecurityLabelType", "label=type:"),
        ("SecurityLabelFileType", "label=filetype:"),
        ("SecurityLabelLevel", "label=level:"),
        ("AppArmor", "apparmor="),
    ] {
        if let Some(v) = unit.lookup(GROUP, key).filter(|v| !v.is_empty()) {
            f.push2("--security-opt", format!("{prefix}{v}"));
        }
    }
}

/// `AddDevice=`; a leading `-` makes the device optional: skipped when its host path is absent
/// at generation time (the one place a conversion looks at the filesystem, as in Quadlet).
fn devices(f: &mut Flags) {
    for d in f.unit.lookup_all_strv(GROUP, "AddDevice") {
        let device = match d.strip_prefix('-') {
            Some(optional) => {
                let host = optional.split(':').next().unwrap_or(optional);
                if !Path::new(host).exists() {
                    continue;
                }
                optional.to_string()
            }
            None => d,
        };
        f.push2("--device", device);
    }
}

fn user_and_group(f: &mut Flags) -> Result<(), ConvertError> {
    let unit = f.unit;
    let user = unit.lookup(GROUP, "User").filter(|u| !u.is_empty());
    let group = unit.lookup(GROUP, "Group").filter(|g| !g.is_empty());
    match (user, group) {
        (None, Some(_)) => Err(invalid(
            unit,
            GROUP,
            "Group",
            "invalid Group set without User",
        )),
        (None, None) => Ok(()),
        (Some(u), None) => {
            f.push2("--user", u);
            Ok(())
        }
        (Some(u), Some(g)) => {
            f.push2("--user", format!("{u}:{g}"));
            Ok(())
        }
    }
}

/// Resolves a volume/mount source (§6.4): relative `./x` made absolute, host paths ordered via
/// `RequiresMountsFor=`, `x.volume` replaced by its volume name with `Requires=`/`After=`.
fn storage_source(
    unit: &UnitFile,
    v: &Value,
    key: &str,
    source: &str,
    ctx: &Ctx,
    service: &mut UnitFile,
    allow_image: bool,
) -> Result<String, ConvertError> {
    let source = if source.starts_with('.') {
        absolute_path(unit, source)
    } else {
        source.to_string()
    };
    if source.starts_with('/') {
        service.add(UNIT, "RequiresMountsFor", &quote_word(&source));
        return Ok(source);
    }
    let is_unit = source.ends_with(".volume")
        || source.ends_with(".artifact")
        || (allow_image && source.ends_with(".image"));
    if !is_unit {
        return Ok(source);
    }
    let info = ctx.units.get(&source).ok_or_else(|| {
        invalid_value(
            v,
            key,
            format!("requested Quadlet source {source} was not found"),
        )
    })?;
    let svc = info.service_file_name();
    service.add(UNIT, "Requires", &svc);
    service.add(UNIT, "After", &svc);
    resource_of(info, v, key, &source)
}

/// `Volume=` of the flags' group (shared with `.pod`).
pub(super) fn volumes(
    f: &mut Flags,
    ctx: &Ctx,
    service: &mut UnitFile,
) -> Result<(), ConvertError> {
    let unit = f.unit;
    for v in unit.lookup_all_values(f.group, "Volume") {
        let parts: Vec<&str> = v.value.splitn(3, ':').collect();
        let spec = match parts.as_slice() {
            [dest] => dest.to_string(),
            [source, dest, rest @ ..] => {
                let options = rest.first().map(|o| format!(":{o}")).unwrap_or_default();
                if source.is_empty() {
                    dest.to_string()
                } else {
                    let s = storage_source(unit, v, "Volume", source, ctx, service, false)?;
                    format!("{s}:{dest}{options}")
                }
            }
            [] => continue,
        };
        f.push2("-v", spec);
    }
    Ok(())
}

fn mounts(f: &mut Flags, ctx: &Ctx, service: &mut UnitFile) -> Result<(), ConvertError> {
    let unit = f.unit;
    for v in unit.lookup_all_values(GROUP, "Mount") {
        // Mount= is read exec-style, like LookupAllArgs; a value that fails to split is dropped.
        let Ok(words) = crate::unit::split::split_exec(&v.value) else {
            continue;
        };
        for m in words {
            let resolved = resolve_mount(unit, v, &m, ctx, service)?;
            f.push2("--mount", resolved);
        }
    }
    Ok(())
}

/// The first Podman whose `--mount` knows `type=artifact`.
const ARTIFACT_MOUNT_PODMAN: Version = Version::new(5, 5, 0);

/// Refuses `Mount=type=artifact` at generation time when the Podman it will run with lacks it.
fn check_artifact_mount(v: &Value, ctx: &Ctx) -> Result<(), ConvertError> {
    match ctx.podman_version {
        Some(p) if p < ARTIFACT_MOUNT_PODMAN => Err(invalid_value(
            v,
            "Mount",
            format!(
                "type=artifact mounts need Podman {} or later; this is Podman {}",
                ARTIFACT_MOUNT_PODMAN.major_minor(),
                p.major_minor()
            ),
        )),
        _ => Ok(()),
    }
}

fn resolve_mount(
    unit: &UnitFile,
    v: &Value,
    mount: &str,
    ctx: &Ctx,
    service: &mut UnitFile,
) -> Result<String, ConvertError> {
    let fields = parse_csv_record(mount)
        .ok_or_else(|| invalid_value(v, "Mount", format!("invalid mount '{mount}'")))?;
    let mut mount_type: Option<String> = None;
    let mut tokens = Vec::new();
    for field in fields {
        match field.strip_prefix("type=") {
            Some(t) if mount_type.is_none() => mount_type = Some(t.to_string()),
            _ => tokens.push(field),
        }
    }
    let mount_type = mount_type.unwrap_or_else(|| "volume".to_string());
    if mount_type == "artifact" {
        check_artifact_mount(v, ctx)?;
    }
    if !["volume", "bind", "glob", "image", "artifact"].contains(&mount_type.as_str()) {
        return Ok(mount.to_string());
    }
    let mut source_at = None;
    for (i, t) in tokens.iter().enumerate() {
        let (k, val) = match t.split_once('=') {
            Some((k, val)) => (k, Some(val)),
            None => (t.as_str(), None),
        };
        if k == "source" || k == "src" {
            match val {
                Some(val) => source_at = Some((i, val.to_string())),
                None => {
                    return Err(invalid_value(
                        v,
                        "Mount",
                        "source parameter does not include a value",
                    ))
                }
            }
        }
    }
    let Some((i, source)) = source_at.filter(|(_, s)| !s.is_empty()) else {
        return Err(invalid_value(v, "Mount", "source cannot be empty"));
    };
    let resolved = storage_source(unit, v, "Mount", &source, ctx, service, true)?;
    if let Some(t) = tokens.get_mut(i) {
        *t = format!("source={resolved}");
    }
    let mut all = vec![format!("type={mount_type}")];
    all.extend(tokens);
    Ok(to_csv_record(&all))
}

/// One CSV record (Go `encoding/csv` rules: `"` quotes a field, `""` inside is a quote).
fn parse_csv_record(s: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    let mut at_start = true;
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
            continue;
        }
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            '"' => return None,
            ',' => {
                fields.push(std::mem::take(&mut cur));
                at_start = true;
            }
            c => {
                cur.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return None;
    }
    fields.push(cur);
    Some(fields)
}

/// Go `encoding/csv` writer quoting for one record.
fn to_csv_record(fields: &[String]) -> String {
    fields
        .iter()
        .map(|f| {
            let needs = !f.is_empty()
                && (f == "\\." || f.contains([',', '"', '\r', '\n']) || f.starts_with([' ', '\t']));
            if needs {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `ExposeHostPort=`: `\d+(-\d+)?(/udp|/tcp)?$`, not anchored at the start (as Quadlet).
fn expose_ports(f: &mut Flags) -> Result<(), ConvertError> {
    let unit = f.unit;
    for v in unit.lookup_all_values(GROUP, "ExposeHostPort") {
        let port = v.value.trim();
        if !is_port_suffix(port) {
            return Err(invalid_value(
                v,
                "ExposeHostPort",
                format!("invalid port format '{port}'"),
            ));
        }
        f.push2("--expose", port.to_string());
    }
    Ok(())
}

fn is_port_suffix(s: &str) -> bool {
    let s = s
        .strip_suffix("/udp")
        .or_else(|| s.strip_suffix("/tcp"))
        .unwrap_or(s);
    // `\d+(-\d+)?$` unanchored at the start: trailing digits suffice either way.
    s.ends_with(|c: char| c.is_ascii_digit())
}

fn pod(
    src: &Source,
    ctx: &mut Ctx,
    service: &mut UnitFile,
    f: &mut Flags,
) -> Result<(), ConvertError> {
    let unit = &src.unit;
    let Some(v) = unit.lookup_last(GROUP, "Pod") else {
        return Ok(());
    };
    let pod = unit.lookup(GROUP, "Pod").unwrap_or_default();
    if pod.is_empty() {
        return Ok(());
    }
    if !pod.ends_with(".pod") {
        return Err(invalid_value(
            v,
            "Pod",
            format!("pod {pod} is not Quadlet based"),
        ));
    }
    let info = referenced(ctx, v, "Pod", &pod)
        .map_err(|_| invalid_value(v, "Pod", format!("quadlet pod unit {pod} does not exist")))?;
    let pod_name = resource_of(info, v, "Pod", &pod)?;
    let pod_service = info.service_file_name();
    if ctx.quadlet_before(compat::NAMES_NOT_ID_FILES) {
        f.push2("--pod-id-file", format!("%t/{}.pod-id", info.service_base));
    } else {
        f.push2("--pod", pod_name);
    }
    service.add(UNIT, "BindsTo", &pod_service);
    service.add(UNIT, "After", &pod_service);
    if unit.lookup_bool(GROUP, "StartWithPod").unwrap_or(true) {
        let me = format!(
            "{}.service",
            names::service_base_in(ctx, &src.file_name, unit)
        );
        if let Some(info) = ctx.units.get_mut(&pod) {
            info.containers_to_start.push(me);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_fails_with, convert1, convert_named, line, lines, Base};
    use super::*;

    /// `x.container` running `docker.io/x`.
    const X: Base = Base {
        name: "x.container",
        head: "[Container]\nImage=docker.io/x\n",
    };

    #[test]
    fn basic_container() {
        let out = convert1(
            "basic.container",
            "[Container]\nImage=localhost/imagename\n",
        )
        .unwrap();
        assert_eq!(
            out,
            "[X-Container]\nImage=localhost/imagename\n\n[Unit]\nWants=network-online.target\nAfter=network-online.target\nSourcePath=/etc/containers/systemd/basic.container\nRequiresMountsFor=%t/containers\n\n[Service]\nEnvironment=PODMAN_SYSTEMD_UNIT=%n\nKillMode=mixed\nExecStop=/usr/bin/podman rm -v -f -i systemd-%N\nExecStopPost=-/usr/bin/podman rm -v -f -i systemd-%N\nDelegate=yes\nType=notify\nNotifyAccess=all\nSyslogIdentifier=%N\nExecStart=/usr/bin/podman run --name systemd-%N --replace --rm --cgroups=split --sdnotify=conmon -d localhost/imagename\n"
        );
    }

    #[test]
    fn all_keys_listed_once() {
        let mut k = KEYS.to_vec();
        k.sort_unstable();
        k.dedup();
        assert_eq!(k.len(), 94);
    }

    #[test]
    fn image_rootfs_rules() {
        let e = convert1("x.container", "[Container]\nExec=sh\n").unwrap_err();
        assert_eq!(
            e,
            "/etc/containers/systemd/x.container: Image: no Image or Rootfs key specified"
        );
        assert_fails_with(
            "x.container",
            "[Container]\nImage=a\nRootfs=/r\n",
            ":3: Rootfs: the Image And Rootfs keys conflict can not be specified together",
        );
        let out = convert1("x.container", "[Container]\nRootfs=/r:O\n").unwrap();
        assert!(
            line(&out, "ExecStart")
                .unwrap()
                .ends_with(" -d --rootfs /r:O"),
            "{out}"
        );
        assert_fails_with(
            "x.container",
            "[Container]\nImage=my.image\n",
            ":2: Image: requested Quadlet image my.image was not found",
        );
    }

    #[test]
    fn short_image_warns() {
        let sources = [super::super::testutil::source(
            "x.container",
            "[Container]\nImage=busybox\n",
        )];
        let s = super::super::testutil::settings(false);
        let r = super::super::convert_all(&sources, &s, None);
        let svc = r[0].1.as_ref().unwrap();
        assert_eq!(svc.warnings.len(), 1);
        assert!(svc.warnings[0].contains("not a fully qualified image name"));
        assert!(svc.warnings[0].starts_with("/etc/containers/systemd/x.container:2: Image: "));
    }

    #[test]
    fn exec_and_entrypoint_and_user() {
        let out = X
            .convert("Entrypoint=\nUser=1000\nGroup=100\nExec=/bin/sh -c \"echo hi\"\n")
            .unwrap();
        let exec = line(&out, "ExecStart").unwrap();
        assert!(exec.contains(" --entrypoint= "), "{exec}");
        assert!(exec.contains(" --user 1000:100 "), "{exec}");
        assert!(
            exec.ends_with(" docker.io/x /bin/sh -c \"echo\\x20hi\""),
            "{exec}"
        );
        X.fails_with("Group=1\n", ":3: Group: invalid Group set without User");
    }

    #[test]
    fn volumes_and_mounts() {
        let out = convert_named(
            &[
                (
                    "x.container",
                    "[Container]\nImage=docker.io/x\nVolume=/tmp\nVolume=./data:/data:Z\nVolume=/host dir:/h\nVolume=db.volume:/db\nMount=type=bind,src=./cfg,dst=/cfg,ro\nMount=type=tmpfs,dst=/t\nMount=source=db.volume,destination=/v\n",
                ),
                ("db.volume", "[Volume]\nVolumeName=dbvol\n"),
            ],
            "x.container",
            false,
        )
        .unwrap();
        let exec = line(&out, "ExecStart").unwrap();
        assert!(exec.contains(" -v /tmp -v /etc/containers/systemd/data:/data:Z -v \"/host\\x20dir:/h\" -v dbvol:/db "), "{exec}");
        assert!(exec.contains(" --mount type=bind,source=/etc/containers/systemd/cfg,dst=/cfg,ro --mount type=tmpfs,dst=/t --mount type=volume,source=dbvol,destination=/v "), "{exec}");
        assert_eq!(
            lines(&out, "RequiresMountsFor"),
            [
                "%t/containers",
                "/etc/containers/systemd/data",
                "\"/host\\x20dir\"",
                "/etc/containers/systemd/cfg"
            ]
        );
        assert_eq!(
            lines(&out, "Requires"),
            ["db-volume.service", "db-volume.service"]
        );
    }

    #[test]
    fn volume_reference_errors() {
        X.fails_with(
            "Volume=nope.volume:/d\n",
            ":3: Volume: requested Quadlet source nope.volume was not found",
        );
        X.fails_with(
            "Mount=type=bind,dst=/x\n",
            ":3: Mount: source cannot be empty",
        );
        X.fails_with(
            "Mount=type=bind,src,dst=/x\n",
            ":3: Mount: source parameter does not include a value",
        );
    }

    #[test]
    fn csv_round_trip() {
        assert_eq!(parse_csv_record("a,\"b,c\",d").unwrap(), ["a", "b,c", "d"]);
        assert_eq!(
            to_csv_record(&["a".into(), "b,c".into(), "q\"x".into()]),
            "a,\"b,c\",\"q\"\"x\""
        );
        assert!(parse_csv_record("a,\"b").is_none());
    }

    #[test]
    fn expose_port_format() {
        assert!(is_port_suffix("80"));
        assert!(is_port_suffix("80-90/udp"));
        assert!(is_port_suffix("x80"));
        assert!(!is_port_suffix("80/sctp"));
        assert!(!is_port_suffix("http"));
        X.fails_with(
            "ExposeHostPort=http\n",
            ":3: ExposeHostPort: invalid port format 'http'",
        );
    }

    #[test]
    fn notify_variants_and_oneshot() {
        let n = |v: &str| {
            let out = X.convert(&format!("Notify={v}\n")).unwrap();
            line(&out, "ExecStart").unwrap().to_string()
        };
        assert!(n("healthy").contains("--sdnotify=healthy -d"));
        assert!(n("yes").contains("--sdnotify=container -d"));
        assert!(n("no").contains("--sdnotify=conmon -d"));
        let out = X.convert("[Service]\nType=oneshot\n").unwrap();
        assert!(!out.contains("--sdnotify"), "{out}");
        assert_eq!(line(&out, "NotifyAccess"), None);
    }

    #[test]
    fn reload() {
        let out = X.convert("ReloadSignal=SIGHUP\n").unwrap();
        assert_eq!(
            line(&out, "ExecReload"),
            Some("/usr/bin/podman kill --signal SIGHUP systemd-%N")
        );
        let out = X.convert("ReloadCmd=/bin/reload now\n").unwrap();
        assert_eq!(
            line(&out, "ExecReload"),
            Some("/usr/bin/podman exec systemd-%N /bin/reload now")
        );
        let e = X.convert("ReloadCmd=a\nReloadSignal=b\n").unwrap_err();
        assert!(e.contains("mutually exclusive"), "{e}");
    }

    #[test]
    fn network_container_reference() {
        let out = convert_named(
            &[
                (
                    "a.container",
                    "[Container]\nImage=docker.io/x\nNetwork=b.container\n",
                ),
                ("b.container", "[Container]\nImage=docker.io/x\n"),
            ],
            "a.container",
            false,
        )
        .unwrap();
        assert!(out.contains(" --network container:systemd-b "), "{out}");
        let e = convert_named(
            &[
                (
                    "a.container",
                    "[Container]\nImage=docker.io/x\nNetwork=b.container:opt\n",
                ),
                ("b.container", "[Container]\nImage=docker.io/x\n"),
            ],
            "a.container",
            false,
        )
        .unwrap_err();
        assert!(e.contains("extra options are not supported"), "{e}");
    }

    #[test]
    fn failed_network_has_no_resource_name() {
        let e = convert_named(
            &[
                (
                    "a.container",
                    "[Container]\nImage=docker.io/x\nNetwork=n.network\n",
                ),
                ("n.network", "[Network]\nBogus=1\n"),
            ],
            "a.container",
            false,
        )
        .unwrap_err();
        assert!(
            e.ends_with(":3: Network: cannot get the resource name of n.network"),
            "{e}"
        );
    }

    #[test]
    fn pod_reference_errors() {
        X.fails_with("Pod=p\n", ":3: Pod: pod p is not Quadlet based");
        X.fails_with(
            "Pod=p.pod\n",
            ":3: Pod: quadlet pod unit p.pod does not exist",
        );
    }

    #[test]
    fn service_user_key_warns() {
        let sources = [super::super::testutil::source(
            "x.container",
            "[Container]\nImage=docker.io/x\n[Service]\nUser=bob\n",
        )];
        let r = super::super::convert_all(&sources, &super::super::testutil::settings(false), None);
        let svc = r[0].1.as_ref().unwrap();
        assert_eq!(
            svc.warnings,
            ["/etc/containers/systemd/x.container:4: User: Warning: using key User in the Service group is not supported - use at your own risk"]
        );
    }
}
