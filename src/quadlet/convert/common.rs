//! What every converter does (§3): unknown-key check, the service skeleton with its `[Unit]`
//! dependencies, the base podman command, the flag helpers, `Network=`, user namespaces, paths.

use std::path::{Component, Path, PathBuf};

use super::{Converted, Ctx, UnitInfo};
use crate::quadlet::{is_quadlet_file_name, ConvertError, Kind, Source};
use crate::unit::{Origin, UnitFile, Value};

pub const UNIT: &str = "Unit";
pub const SERVICE: &str = "Service";
pub const QUADLET: &str = "Quadlet";

/// `[Unit]` keys whose values may name Quadlet files (§3.1 step 3).
pub const DEPENDENCY_KEYS: &[&str] = &[
    "After",
    "Before",
    "BindsTo",
    "Conflicts",
    "OnFailure",
    "OnSuccess",
    "PartOf",
    "PropagatesReloadTo",
    "PropagatesStopTo",
    "ReloadPropagatedFrom",
    "Requires",
    "Requisite",
    "StopPropagatedFrom",
    "Upholds",
    "Wants",
];

/// An error about the last value of `key` (its line), or about the file when the key is absent.
pub fn invalid(
    unit: &UnitFile,
    group: &str,
    key: &str,
    message: impl Into<String>,
) -> ConvertError {
    match unit.lookup_last(group, key) {
        Some(v) => invalid_value(v, key, message),
        None => missing(unit, key, message),
    }
}

/// An error about one specific value.
pub fn invalid_value(v: &Value, key: &str, message: impl Into<String>) -> ConvertError {
    ConvertError::Invalid {
        origin: v.origin.clone(),
        key: key.to_string(),
        message: message.into(),
    }
}

/// An error about something absent from the file.
pub fn missing(unit: &UnitFile, key: &str, message: impl Into<String>) -> ConvertError {
    ConvertError::Missing {
        path: unit.path().to_path_buf(),
        key: key.to_string(),
        message: message.into(),
    }
}

/// A warning line `path:line: key: message`.
pub fn warning(origin: &Origin, key: &str, message: &str) -> String {
    format!("{origin}: {key}: {message}")
}

/// `[Service] User/Group/DynamicUser` would make systemd run podman as that user, which Quadlet
/// does not support; warn like Quadlet does (for every kind).
pub fn service_key_warnings(unit: &UnitFile) -> Vec<String> {
    ["User", "Group", "DynamicUser"]
        .iter()
        .filter_map(|k| {
            unit.lookup_last(SERVICE, k).map(|v| {
                warning(
                    &v.origin,
                    k,
                    &format!("Warning: using key {k} in the Service group is not supported - use at your own risk"),
                )
            })
        })
        .collect()
}

/// Every key of `group` must be supported.
pub fn check_keys(unit: &UnitFile, group: &str, supported: &[&str]) -> Result<(), ConvertError> {
    for (key, value) in unit.entries(group) {
        if !supported.contains(&key) {
            return Err(ConvertError::UnsupportedKey {
                origin: value.origin.clone(),
                group: group.to_string(),
                key: key.to_string(),
            });
        }
    }
    Ok(())
}

/// §3.1: checks the keys and builds the service skeleton (a copy of the source with translated
/// dependencies, default dependencies, `SourcePath`, `RequiresMountsFor`, renamed groups).
pub fn init_service(
    src: &Source,
    kind: Kind,
    supported: &[&str],
    ctx: &Ctx,
) -> Result<UnitFile, ConvertError> {
    let unit = &src.unit;
    check_keys(unit, kind.group(), supported)?;
    check_keys(unit, QUADLET, &["DefaultDependencies"])?;
    super::compat::check_key_versions(unit, kind, ctx)?;

    let mut service = unit.clone();
    // Translated for every Podman, also where its own Quadlet (before 5.5) copied
    // `After=db.container` as written, a dependency systemd drops: see compat.rs.
    translate_dependencies(&mut service, ctx)?;
    if unit
        .lookup_bool(QUADLET, "DefaultDependencies")
        .unwrap_or(true)
    {
        let target = network_online_unit(ctx.settings.user);
        service.prepend(UNIT, "After", target);
        service.prepend(UNIT, "Wants", target);
    }
    service.add(UNIT, "SourcePath", &unit.path().to_string_lossy());
    service.add(UNIT, "RequiresMountsFor", "%t/containers");
    service.rename_group(kind.group(), &format!("X-{}", kind.group()));
    service.rename_group(QUADLET, "X-Quadlet");
    Ok(service)
}

/// The unit that orders containers after the network is up. Rootful: `network-online.target`.
/// Rootless: Quadlet's `podman-user-wait-network-online.service` (shipped by Podman ≥ 5.0). On
/// older Podman it does not exist; a `Wants=`/`After=` on a missing unit is ignored by systemd, so
/// the same name is written everywhere and starts waiting once Podman is upgraded.
pub fn network_online_unit(user: bool) -> &'static str {
    if user {
        "podman-user-wait-network-online.service"
    } else {
        "network-online.target"
    }
}

fn translate_dependencies(service: &mut UnitFile, ctx: &Ctx) -> Result<(), ConvertError> {
    for key in DEPENDENCY_KEYS {
        let words = service.lookup_all_strv_values(UNIT, key);
        if words.is_empty() {
            continue;
        }
        let mut translated = false;
        let mut out = Vec::with_capacity(words.len());
        for w in &words {
            if is_quadlet_file_name(&w.value) {
                let info = ctx.units.get(&w.value).ok_or_else(|| {
                    invalid_value(
                        w,
                        key,
                        format!("unable to translate dependency for {}", w.value),
                    )
                })?;
                out.push(info.service_file_name());
                translated = true;
            } else {
                out.push(w.value.clone());
            }
        }
        if translated {
            service.unset(UNIT, key);
            service.add(UNIT, key, &out.join(" "));
        }
    }
    Ok(())
}

/// §3.2: `<podman> [--module=M]... [GlobalArgs...]`.
pub fn base_podman(unit: &UnitFile, group: &str, podman: &str) -> Vec<String> {
    let mut args = vec![podman.to_string()];
    args.extend(podman_globals(unit, group));
    args
}

/// The `--module=M` and GlobalArgs words only.
pub fn podman_globals(unit: &UnitFile, group: &str) -> Vec<String> {
    let mut args: Vec<String> = unit
        .lookup_all(group, "ContainersConfModule")
        .into_iter()
        .map(|m| format!("--module={m}"))
        .collect();
    args.extend(unit.lookup_all_args(group, "GlobalArgs"));
    args
}

/// Flag helpers over one group (§3.3).
pub struct Flags<'a> {
    pub unit: &'a UnitFile,
    pub group: &'a str,
    pub args: Vec<String>,
    pub warnings: Vec<String>,
}

impl<'a> Flags<'a> {
    pub fn new(unit: &'a UnitFile, group: &'a str, start: Vec<String>) -> Flags<'a> {
        Flags {
            unit,
            group,
            args: start,
            warnings: Vec::new(),
        }
    }

    pub fn push(&mut self, word: impl Into<String>) {
        self.args.push(word.into());
    }

    pub fn push2(&mut self, flag: &str, value: impl Into<String>) {
        self.args.push(flag.to_string());
        self.args.push(value.into());
    }

    /// `Lookup`, non-empty → `FLAG VALUE`.
    pub fn string(&mut self, key: &str, flag: &str) {
        if let Some(v) = self.unit.lookup(self.group, key).filter(|v| !v.is_empty()) {
            self.push2(flag, v);
        }
    }

    /// Several string keys in a fixed order.
    pub fn strings(&mut self, pairs: &[(&str, &str)]) {
        for (key, flag) in pairs {
            self.string(key, flag);
        }
    }

    /// Each raw `LookupAll` value → `FLAG VALUE`.
    pub fn all_strings(&mut self, key: &str, flag: &str) {
        for v in self.unit.lookup_all(self.group, key) {
            self.push2(flag, v);
        }
    }

    /// Each `LookupAllStrv` word → `FLAG WORD`.
    pub fn all_strv(&mut self, key: &str, flag: &str) {
        for v in self.unit.lookup_all_strv(self.group, key) {
            self.push2(flag, v);
        }
    }

    /// Boolean present: `FLAG` or `FLAG=false`.
    pub fn boolean(&mut self, key: &str, flag: &str) {
        match self.unit.lookup_bool(self.group, key) {
            Some(true) => self.push(flag),
            Some(false) => self.push(format!("{flag}=false")),
            None => {}
        }
    }

    /// Key-value map, sorted by key → `FLAG k=v` / `FLAG k`.
    pub fn key_vals(&mut self, key: &str, flag: &str) {
        let (map, warnings) = self.unit.lookup_all_key_val(self.group, key);
        self.warnings.extend(warnings);
        for (k, v) in map {
            match v {
                Some(v) => self.push2(flag, format!("{k}={v}")),
                None => self.push2(flag, k),
            }
        }
    }

    /// `LogDriver` (present, even empty) and `LogOpt` words.
    pub fn logging(&mut self) {
        if let Some(d) = self.unit.lookup(self.group, "LogDriver") {
            self.push2("--log-driver", d);
        }
        self.all_strv("LogOpt", "--log-opt");
    }

    /// `PodmanArgs` words verbatim.
    pub fn podman_args(&mut self) {
        let words = self.unit.lookup_all_args(self.group, "PodmanArgs");
        self.args.extend(words);
    }
}

/// A resolved `Network=` value.
pub enum NetworkRef {
    /// Verbatim (`host`, `bridge`, `mynet:ip=…`).
    Plain(String),
    /// `NAME[:OPTIONS]` of a `.network` unit, name resolved.
    Network(String),
    /// `container:NAME` of a `.container` unit.
    Container(String),
}

impl NetworkRef {
    pub fn value(&self) -> String {
        match self {
            NetworkRef::Plain(v) | NetworkRef::Network(v) => v.clone(),
            NetworkRef::Container(name) => format!("container:{name}"),
        }
    }
}

/// §3.4: resolves every `Network=` value, adding `Requires=`/`After=` for Quadlet units.
pub fn networks(
    unit: &UnitFile,
    group: &str,
    ctx: &Ctx,
    service: &mut UnitFile,
) -> Result<Vec<NetworkRef>, ConvertError> {
    let mut out = Vec::new();
    for v in unit.lookup_all_values(group, "Network") {
        let (name, options) = match v.value.split_once(':') {
            Some((n, o)) => (n, Some(o)),
            None => (v.value.as_str(), None),
        };
        let is_net = name.ends_with(".network");
        let is_ctr = name.ends_with(".container");
        if !is_net && !is_ctr {
            out.push(NetworkRef::Plain(v.value.clone()));
            continue;
        }
        let info = referenced(ctx, v, "Network", name)?;
        let resource = resource_of(info, v, "Network", name)?;
        let svc = info.service_file_name();
        service.add(UNIT, "Requires", &svc);
        service.add(UNIT, "After", &svc);
        if is_net {
            out.push(NetworkRef::Network(match options {
                Some(o) => format!("{resource}:{o}"),
                None => resource,
            }));
        } else {
            if options.is_some() {
                return Err(invalid_value(
                    v,
                    "Network",
                    "extra options are not supported when joining another container's network",
                ));
            }
            out.push(NetworkRef::Container(resource));
        }
    }
    Ok(out)
}

/// An image name (`image`, looked up from the value `v`) that may be a Quadlet reference
/// (`x.image`, `x.build`): resolved to the image that unit pulls or builds, with
/// `Requires=`/`After=` on its service. Other names are kept.
pub fn image_reference(
    v: &Value,
    image: &str,
    key: &str,
    ctx: &Ctx,
    service: &mut UnitFile,
) -> Result<String, ConvertError> {
    if !(image.ends_with(".image") || image.ends_with(".build")) {
        return Ok(image.to_string());
    }
    let info = ctx.units.get(image).ok_or_else(|| {
        invalid_value(
            v,
            key,
            format!("requested Quadlet image {image} was not found"),
        )
    })?;
    let svc = info.service_file_name();
    service.add(UNIT, "Requires", &svc);
    service.add(UNIT, "After", &svc);
    resource_of(info, v, key, image)
}

/// Looks up a referenced Quadlet unit.
pub fn referenced<'c>(
    ctx: &'c Ctx,
    v: &Value,
    key: &str,
    name: &str,
) -> Result<&'c UnitInfo, ConvertError> {
    ctx.units.get(name).ok_or_else(|| {
        invalid_value(
            v,
            key,
            format!("requested Quadlet unit {name} was not found"),
        )
    })
}

/// The resource name of a referenced unit (absent when that unit failed to convert).
pub fn resource_of(
    info: &UnitInfo,
    v: &Value,
    key: &str,
    name: &str,
) -> Result<String, ConvertError> {
    info.resource_name
        .clone()
        .ok_or_else(|| invalid_value(v, key, format!("cannot get the resource name of {name}")))
}

/// §6.3: user-namespace keys as podman words. `manual_ok` is false for `.kube`.
pub fn user_mappings(
    unit: &UnitFile,
    group: &str,
    manual_ok: bool,
) -> Result<Vec<String>, ConvertError> {
    let mut args = Vec::new();
    if let Some(u) = unit.lookup(group, "UserNS").filter(|u| !u.is_empty()) {
        args.push("--userns".to_string());
        args.push(u);
    }
    for m in unit.lookup_all_strv(group, "UIDMap") {
        args.push("--uidmap".to_string());
        args.push(m);
    }
    for m in unit.lookup_all_strv(group, "GIDMap") {
        args.push("--gidmap".to_string());
        args.push(m);
    }
    if let Some(n) = unit.lookup(group, "SubUIDMap").filter(|n| !n.is_empty()) {
        args.push("--subuidname".to_string());
        args.push(n);
    }
    if let Some(n) = unit.lookup(group, "SubGIDMap").filter(|n| !n.is_empty()) {
        args.push("--subgidname".to_string());
        args.push(n);
    }
    if !args.is_empty() {
        for key in ["RemapUsers", "RemapUid", "RemapGid"] {
            if unit.has_key(group, key) {
                return Err(invalid(
                    unit,
                    group,
                    key,
                    "deprecated Remap keys are set along with explicit mapping keys",
                ));
            }
        }
        return Ok(args);
    }
    remap_users(unit, group, manual_ok)
}

/// The deprecated `RemapUsers=` family.
fn remap_users(unit: &UnitFile, group: &str, manual_ok: bool) -> Result<Vec<String>, ConvertError> {
    let uids = unit.lookup_all_strv(group, "RemapUid");
    let gids = unit.lookup_all_strv(group, "RemapGid");
    let mode = unit
        .lookup_last(group, "RemapUsers")
        .map(|v| v.value.clone())
        .unwrap_or_default();
    let err = |key: &str, msg: String| invalid(unit, group, key, msg);
    match mode.as_str() {
        "" => {
            if !uids.is_empty() {
                return Err(err("RemapUid", "UidMap set without RemapUsers".into()));
            }
            if !gids.is_empty() {
                return Err(err("RemapGid", "GidMap set without RemapUsers".into()));
            }
            Ok(Vec::new())
        }
        "manual" if manual_ok => Ok(uids
            .iter()
            .flat_map(|u| ["--uidmap".to_string(), u.clone()])
            .chain(
                gids.iter()
                    .flat_map(|g| ["--gidmap".to_string(), g.clone()]),
            )
            .collect()),
        "manual" => Err(err(
            "RemapUsers",
            "RemapUsers=manual is not supported".into(),
        )),
        "auto" => {
            let mut opts: Vec<String> = uids.iter().map(|u| format!("uidmapping={u}")).collect();
            opts.extend(gids.iter().map(|g| format!("gidmapping={g}")));
            let size = unit.lookup_u32(group, "RemapUidSize", 0).unwrap_or(0);
            if size > 0 {
                opts.push(format!("size={size}"));
            }
            Ok(vec!["--userns".to_string(), userns_opts("auto", &opts)])
        }
        "keep-id" => {
            if uids.len() > 1 {
                return Err(err(
                    "RemapUid",
                    "RemapUsers=keep-id supports only a single value for UID mapping".into(),
                ));
            }
            if gids.len() > 1 {
                return Err(err(
                    "RemapGid",
                    "RemapUsers=keep-id supports only a single value for GID mapping".into(),
                ));
            }
            let mut opts: Vec<String> = uids.iter().map(|u| format!("uid={u}")).collect();
            opts.extend(gids.iter().map(|g| format!("gid={g}")));
            Ok(vec!["--userns".to_string(), userns_opts("keep-id", &opts)])
        }
        other => Err(err(
            "RemapUsers",
            format!("unsupported RemapUsers option '{other}'"),
        )),
    }
}

/// The value of `--userns` (a word of its own, as Quadlet writes it): `MODE[:OPT,...]`.
fn userns_opts(mode: &str, opts: &[String]) -> String {
    if opts.is_empty() {
        mode.to_string()
    } else {
        format!("{mode}:{}", opts.join(","))
    }
}

/// Makes a path from a unit absolute (Yaml, ConfigMap, EnvironmentFile): values starting with a
/// specifier (`%h/x`, not `%%`) or `/` are kept; others are joined to the unit's directory.
pub fn absolute_path(unit: &UnitFile, p: &str) -> String {
    if p.starts_with('/') || (p.starts_with('%') && !p.starts_with("%%")) {
        return p.to_string();
    }
    let dir = unit.path().parent().unwrap_or(Path::new("/"));
    clean_path(&dir.join(p)).to_string_lossy().into_owned()
}

/// Lexical path cleaning like Go's `filepath.Clean` for absolute paths.
pub fn clean_path(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(if p.is_absolute() { "/" } else { "." });
    }
    out
}

/// Directory of a path written into a unit (`%h/app.yml` → `%h`).
pub fn dir_of(p: &str) -> String {
    match p.rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => p[..i].to_string(),
        None => ".".to_string(),
    }
}

/// Parses a systemd time span (`90`, `1min 30s`, `2.5s`, `500ms`) into seconds.
/// `None` for `infinity` and for values systemd would reject.
pub fn parse_timespan(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() || s == "infinity" {
        return None;
    }
    let mut total = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        rest = rest.trim_start();
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = rest[num_len..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "" | "s" | "sec" | "second" | "seconds" => 1.0,
            "us" | "usec" | "µs" => 1e-6,
            "ms" | "msec" => 1e-3,
            "m" | "min" | "minute" | "minutes" => 60.0,
            "h" | "hr" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86400.0,
            "w" | "week" | "weeks" => 604800.0,
            "M" | "month" | "months" => 2629800.0,
            "y" | "year" | "years" => 31557600.0,
            _ => return None,
        };
        total += n * factor;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// What a `.network`/`.volume` service needs beside its create command: where `--ignore` goes
/// in it, and the matching `exists` command (see [`add_create_if_missing`]).
pub struct CreateIfMissing {
    subcommand_end: usize,
    exists: Vec<String>,
}

impl CreateIfMissing {
    /// For podman resource `noun` (`network`, `volume`) called `name`: the plan, and the start of
    /// the create command (`podman [globals] NOUN create`) for the caller to add flags and the name to.
    pub fn new(base: Vec<String>, noun: &str, name: &str) -> (Self, Vec<String>) {
        let mut exists = base.clone();
        exists.extend([noun, "exists", name].map(String::from));
        let mut start = base;
        start.extend([noun, "create"].map(String::from));
        let subcommand_end = start.len();
        let plan = CreateIfMissing {
            subcommand_end,
            exists,
        };
        (plan, start)
    }

    /// Completes the service with the create command `f` built and the defaults of a oneshot
    /// service that stays active once the resource exists (each unless the user set it).
    pub fn finish(self, mut service: UnitFile, ctx: &Ctx, f: Flags) -> Converted {
        let Flags { args, warnings, .. } = f;
        add_create_if_missing(&mut service, ctx, args, self.subcommand_end, self.exists);
        set_default(&mut service, "SyslogIdentifier", "%N");
        set_default(&mut service, "Type", "oneshot");
        set_default(&mut service, "RemainAfterExit", "yes");
        Converted {
            unit: service,
            warnings,
        }
    }
}

/// Adds the start commands of a `.network`/`.volume`: `create` is the full create command
/// (`podman … network create [flags] NAME`), `exists` the matching `podman … network exists`.
/// With `--ignore` support: `ExecStart=` with `--ignore` after the sub-command (Quadlet's form).
/// Otherwise `ExecStartPre=-<create>` (failing because the object exists is fine) and
/// `ExecStart=<exists>`, which fails the unit when the object really could not be created.
/// `ExecStartPre=` rather than a second `ExecStart=` keeps a user's `Type=` (only oneshot
/// services may have several `ExecStart=`).
pub fn add_create_if_missing(
    service: &mut UnitFile,
    ctx: &Ctx,
    mut create: Vec<String>,
    subcommand_end: usize,
    exists: Vec<String>,
) {
    if ctx.create_ignore() {
        create.insert(subcommand_end.min(create.len()), "--ignore".to_string());
        service.add_cmdline(SERVICE, "ExecStart", &create);
        return;
    }
    if let Some(first) = create.first_mut() {
        *first = format!("-{first}");
    }
    service.add_cmdline(SERVICE, "ExecStartPre", &create);
    service.add_cmdline(SERVICE, "ExecStart", &exists);
}

/// `[Service] Type`/`KillMode` handling shared by `.kube` and `.container`: `KillMode=mixed`
/// unless the user chose `mixed` or `control-group`.
pub fn set_kill_mode(src: &UnitFile, service: &mut UnitFile) -> Result<(), ConvertError> {
    match src.lookup(SERVICE, "KillMode") {
        None => {}
        Some(m) if m == "mixed" || m == "control-group" => return Ok(()),
        Some(m) => {
            return Err(invalid(
                src,
                SERVICE,
                "KillMode",
                format!("invalid KillMode '{m}'"),
            ))
        }
    }
    service.set(SERVICE, "KillMode", "mixed");
    Ok(())
}

/// The user's `[Service] Type`: `Ok(true)` for `oneshot`, `Ok(false)` for absent or `notify`,
/// error otherwise.
pub fn is_oneshot(src: &UnitFile) -> Result<bool, ConvertError> {
    match src.lookup(SERVICE, "Type") {
        None => Ok(false),
        Some(t) if t == "notify" => Ok(false),
        Some(t) if t == "oneshot" => Ok(true),
        Some(t) => Err(invalid(
            src,
            SERVICE,
            "Type",
            format!("invalid service Type '{t}'"),
        )),
    }
}

/// `SyslogIdentifier=%N` unless the user set one.
pub fn default_syslog_identifier(service: &mut UnitFile) {
    if !service.has_key(SERVICE, "SyslogIdentifier") {
        service.add(SERVICE, "SyslogIdentifier", "%N");
    }
}

/// What a `podman … pull` service takes from its group (`.image`: `podman image pull`,
/// `.artifact`: `podman artifact pull`): flags with the key's value and boolean flags, in order.
pub struct PullSpec {
    pub group: &'static str,
    /// `image` or `artifact`.
    pub command: &'static str,
    pub strings: &'static [(&'static str, &'static str)],
    pub booleans: &'static [(&'static str, &'static str)],
}

/// The oneshot pull service: `podman [globals] COMMAND pull FLAGS [PodmanArgs] REFERENCE` as
/// `ExecStart=`, with Quadlet's `SyslogIdentifier=%N`, `Type=oneshot`, `RemainAfterExit=yes`
/// unless `[Service]` sets them.
pub fn pull_service(
    spec: &PullSpec,
    unit: &UnitFile,
    ctx: &Ctx,
    mut service: UnitFile,
    reference: String,
) -> Converted {
    let mut start = base_podman(unit, spec.group, &ctx.settings.podman);
    start.extend([spec.command.to_string(), "pull".to_string()]);
    let mut f = Flags::new(unit, spec.group, start);
    f.strings(spec.strings);
    for (key, flag) in spec.booleans {
        f.boolean(key, flag);
    }
    f.podman_args();
    f.push(reference);
    service.add_cmdline(SERVICE, "ExecStart", &f.args);
    set_default(&mut service, "SyslogIdentifier", "%N");
    set_default(&mut service, "Type", "oneshot");
    set_default(&mut service, "RemainAfterExit", "yes");
    Converted {
        unit: service,
        warnings: f.warnings,
    }
}

/// Sets `key=value` in `[Service]` unless the user already set the key.
pub fn set_default(service: &mut UnitFile, key: &str, value: &str) {
    if !service.has_key(SERVICE, key) {
        service.add(SERVICE, key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("90"), Some(90.0));
        assert_eq!(parse_timespan("1min 30s"), Some(90.0));
        assert_eq!(parse_timespan("2m"), Some(120.0));
        assert_eq!(parse_timespan("1.5s"), Some(1.5));
        assert_eq!(parse_timespan("500ms"), Some(0.5));
        assert_eq!(parse_timespan("1h2min"), Some(3720.0));
        assert_eq!(parse_timespan("infinity"), None);
        assert_eq!(parse_timespan("soon"), None);
        assert_eq!(parse_timespan("5 parsecs"), None);
    }

    #[test]
    fn paths() {
        let u = UnitFile::parse(Path::new("/etc/q/app.kube"), "").unwrap();
        assert_eq!(absolute_path(&u, "a.yml"), "/etc/q/a.yml");
        assert_eq!(absolute_path(&u, "./sub/../b.yml"), "/etc/q/b.yml");
        assert_eq!(absolute_path(&u, "../x/c.yml"), "/etc/x/c.yml");
        assert_eq!(absolute_path(&u, "/abs.yml"), "/abs.yml");
        assert_eq!(absolute_path(&u, "%h/d.yml"), "%h/d.yml");
        assert_eq!(absolute_path(&u, "%%e.yml"), "/etc/q/%%e.yml");
        assert_eq!(dir_of("/etc/q/a.yml"), "/etc/q");
        assert_eq!(dir_of("%h/a.yml"), "%h");
        assert_eq!(dir_of("/a.yml"), "/");
    }
}
