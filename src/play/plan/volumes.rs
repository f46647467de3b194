//! Secrets, named volumes, ConfigMap/Secret file sets, host paths, and container mounts.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use super::context::{invalid, Ctx, PlanError, Workload};
use super::secrets::{check_key, decode, KeyValue, Keys};
use crate::kube::model::{Container, KeyToPath, Volume};
use crate::kube::Object;
use crate::plan::*;

/// The files of a ConfigMap (`data` as text, `binaryData` decoded).
fn configmap_data(obj: &Object, cm: &crate::kube::model::ConfigMap) -> Result<Keys, PlanError> {
    let mut out = Keys::new();
    let bytes = |v: Vec<u8>| KeyValue::Bytes(v, SecretSource::Yaml);
    for (k, v) in &cm.data {
        check_key(obj, &format!("data.{k}"), k)?;
        out.insert(k.clone(), bytes(v.clone().into_bytes()));
    }
    for (k, v) in &cm.binary_data {
        let field = format!("binaryData.{k}");
        check_key(obj, &field, k)?;
        if out.contains_key(k) {
            return Err(invalid(obj, &field, format!("key `{k}` is also in data")));
        }
        out.insert(k.clone(), bytes(decode(obj, &field, v)?));
    }
    Ok(out)
}

/// Named volumes of the PersistentVolumeClaims in the YAML, with Podman's PVC annotations.
pub(super) fn pvc_volumes(ctx: &mut Ctx) -> Result<(), PlanError> {
    let pvcs: Vec<(&Object, &crate::kube::model::PersistentVolumeClaim)> =
        ctx.pvcs.values().copied().collect();
    for (obj, pvc) in pvcs {
        let a = &pvc.metadata.annotations;
        let mut labels = ctx.base_labels();
        labels.extend(pvc.metadata.labels.clone());
        let mut options = Vec::new();
        for key in ["device", "type"] {
            if let Some(v) = a.get(&format!("volume.podman.io/{key}")) {
                options.push(format!("{key}={v}"));
            }
        }
        let mut mount_opts: Vec<String> = a
            .get("volume.podman.io/mount-options")
            .map(|v| vec![v.clone()])
            .unwrap_or_default();
        for key in ["uid", "gid"] {
            if let Some(v) = a.get(&format!("volume.podman.io/{key}")) {
                if v.parse::<u32>().is_err() {
                    return Err(invalid(
                        obj,
                        "metadata.annotations",
                        format!("volume.podman.io/{key}: `{v}` is not a number"),
                    ));
                }
                mount_opts.push(format!("{key}={v}"));
            }
        }
        if !mount_opts.is_empty() {
            options.push(format!("o={}", mount_opts.join(",")));
        }
        for key in ["volume.podman.io/import-source", "volume.podman.io/image"] {
            if a.contains_key(key) {
                ctx.warn(
                    obj,
                    "metadata.annotations",
                    format!("{key} is not supported, ignored"),
                );
            }
        }
        ctx.volumes.push(VolumePlan {
            name: obj.name.clone(),
            labels,
            driver: a.get("volume.podman.io/driver").cloned(),
            options,
            keep_on_down: true,
        });
    }
    Ok(())
}

/// What a pod's volume resolved to.
#[derive(Debug, Clone)]
pub(super) enum PodVolume {
    HostPath(PathBuf),
    Device(PathBuf),
    Named {
        name: String,
        read_only: bool,
    },
    Tmpfs {
        size: Option<String>,
    },
    /// A ConfigMap/Secret file set: its host directory, and the files that are existing Podman
    /// secrets (mounted over an empty placeholder the file set holds for each).
    Files(PathBuf, Vec<PodmanFile>),
    /// An optional ConfigMap/Secret that does not exist: mounts of it are skipped.
    Missing,
}

pub(super) type PodVolumes = BTreeMap<String, PodVolume>;

/// A file of a Secret volume whose content is an existing Podman secret.
#[derive(Debug, Clone)]
pub(super) struct PodmanFile {
    /// Relative path inside the volume (`items[].path`, else the key).
    pub path: String,
    pub secret: String,
    pub mode: u32,
}

pub(super) fn pod_volumes(ctx: &mut Ctx, w: &Workload, pod: &str) -> Result<PodVolumes, PlanError> {
    let mut out = PodVolumes::new();
    for (i, v) in w.spec.volumes.iter().enumerate() {
        let field = w.path(&format!("volumes[{i}]"));
        let valid_name = !v.name.is_empty()
            && v.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !v.name.starts_with('.');
        if !valid_name {
            return Err(invalid(
                w.obj,
                &format!("{field}.name"),
                format!("`{}` is not a valid volume name", v.name),
            ));
        }
        if out.contains_key(&v.name) {
            return Err(invalid(
                w.obj,
                &format!("{field}.name"),
                format!("a second volume named `{}`", v.name),
            ));
        }
        let resolved = pod_volume(ctx, w, pod, v, &field)?;
        out.insert(v.name.clone(), resolved);
    }
    Ok(out)
}

fn pod_volume(
    ctx: &mut Ctx,
    w: &Workload,
    pod: &str,
    v: &Volume,
    field: &str,
) -> Result<PodVolume, PlanError> {
    let count = [
        v.host_path.is_some(),
        v.empty_dir.is_some(),
        v.persistent_volume_claim.is_some(),
        v.config_map.is_some(),
        v.secret.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if count != 1 {
        return Err(invalid(
            w.obj,
            field,
            if count == 0 {
                "no supported source (hostPath, emptyDir, persistentVolumeClaim, configMap, secret)"
            } else {
                "more than one source"
            },
        ));
    }
    if let Some(h) = &v.host_path {
        return host_path(ctx, w, h, &format!("{field}.hostPath"));
    }
    if let Some(e) = &v.empty_dir {
        return empty_dir(ctx, w, pod, v, e, &format!("{field}.emptyDir"));
    }
    if let Some(p) = &v.persistent_volume_claim {
        if p.claim_name.is_empty() {
            return Err(invalid(
                w.obj,
                &format!("{field}.persistentVolumeClaim.claimName"),
                "empty",
            ));
        }
        if !ctx.volumes.iter().any(|x| x.name == p.claim_name) {
            // No PVC document: Podman makes the named volume on first use; keep it on down too.
            ctx.volumes.push(VolumePlan {
                name: p.claim_name.clone(),
                labels: ctx.base_labels(),
                driver: None,
                options: Vec::new(),
                keep_on_down: true,
            });
        }
        return Ok(PodVolume::Named {
            name: p.claim_name.clone(),
            read_only: p.read_only,
        });
    }
    if let Some(c) = &v.config_map {
        let field = format!("{field}.configMap");
        let Some((obj, cm)) = ctx.configmaps.get(c.name.as_str()).copied() else {
            return missing(
                w,
                ctx.optional(c.optional),
                &format!("{field}.name"),
                "ConfigMap",
                &c.name,
            );
        };
        let source = FileSource {
            data: configmap_data(obj, cm)?,
            items: &c.items,
            default_mode: c.default_mode,
            optional: ctx.optional(c.optional),
            secret: false,
        };
        return file_set(ctx, w, pod, v, &field, source);
    }
    if let Some(s) = &v.secret {
        let field = format!("{field}.secret");
        let Some(keys) = ctx.secret_keys.get(s.secret_name.as_str()) else {
            return missing(
                w,
                ctx.optional(s.optional),
                &format!("{field}.secretName"),
                "Secret",
                &s.secret_name,
            );
        };
        let source = FileSource {
            data: keys.clone(),
            items: &s.items,
            default_mode: s.default_mode,
            optional: ctx.optional(s.optional),
            secret: true,
        };
        return file_set(ctx, w, pod, v, &field, source);
    }
    Ok(PodVolume::Missing)
}

fn missing(
    w: &Workload,
    optional: bool,
    field: &str,
    kind: &str,
    name: &str,
) -> Result<PodVolume, PlanError> {
    if optional {
        Ok(PodVolume::Missing)
    } else {
        Err(invalid(
            w.obj,
            field,
            format!("no {kind} `{name}` in the YAML"),
        ))
    }
}

fn host_path(
    ctx: &mut Ctx,
    w: &Workload,
    h: &crate::kube::model::HostPathSource,
    field: &str,
) -> Result<PodVolume, PlanError> {
    if h.path.is_empty() {
        return Err(invalid(w.obj, &format!("{field}.path"), "empty path"));
    }
    // Relative paths mean "next to the YAML" (Podman's #25437 makes them unusable there).
    let path = w.obj.source.dir.join(&h.path);
    let path = normalize(&path);
    check_volume_syntax(w, &format!("{field}.path"), &path.to_string_lossy())?;
    let kind = match h.type_.as_deref().unwrap_or("") {
        "" => HostPathType::Unset,
        "DirectoryOrCreate" => HostPathType::DirectoryOrCreate,
        "Directory" => HostPathType::Directory,
        "FileOrCreate" => HostPathType::FileOrCreate,
        "File" => HostPathType::File,
        "Socket" => HostPathType::Socket,
        "CharDevice" => HostPathType::CharDevice,
        "BlockDevice" => HostPathType::BlockDevice,
        other => {
            return Err(invalid(
                w.obj,
                &format!("{field}.type"),
                format!("`{other}` is not a hostPath type (DirectoryOrCreate, Directory, FileOrCreate, File, Socket, CharDevice, BlockDevice)"),
            ))
        }
    };
    match ctx.host_paths.iter().find(|p| p.path == path) {
        Some(existing) if existing.kind != kind => {
            return Err(invalid(
                w.obj,
                &format!("{field}.type"),
                format!("{} is used elsewhere with another type", path.display()),
            ))
        }
        Some(_) => {}
        None => {
            let field = format!("{field}.path");
            ctx.host_paths.push(HostPathPlan {
                path: path.clone(),
                kind,
                origin: Origin {
                    location: w.obj.location(&field),
                    object: w.obj.describe(),
                    field,
                },
            })
        }
    }
    Ok(match kind {
        HostPathType::CharDevice | HostPathType::BlockDevice => PodVolume::Device(path),
        _ => PodVolume::HostPath(path),
    })
}

/// Lexically removes `.` and `..` so labels and messages show the path the kernel will use.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn empty_dir(
    ctx: &mut Ctx,
    w: &Workload,
    pod: &str,
    v: &Volume,
    e: &crate::kube::model::EmptyDirSource,
    field: &str,
) -> Result<PodVolume, PlanError> {
    match e.medium.as_deref().unwrap_or("") {
        "Memory" => {
            // Podman's tmpfs `size=` wants bytes, not `64Mi`.
            let size = match &e.size_limit {
                Some(text) => Some(
                    crate::kube::quantity::Quantity::parse(text)
                        .map_err(|m| invalid(w.obj, &format!("{field}.sizeLimit"), m))?
                        .ceil_units()
                        .to_string(),
                ),
                None => None,
            };
            Ok(PodVolume::Tmpfs { size })
        }
        "" => {
            if e.size_limit.is_some() {
                ctx.warn(
                    w.obj,
                    &format!("{field}.sizeLimit"),
                    "not enforced for a disk-backed emptyDir",
                );
            }
            let name = format!("{pod}-{}", v.name);
            if ctx.volumes.iter().any(|x| x.name == name) {
                // `down` removes emptyDir volumes: sharing a name with a claim would lose data.
                return Err(invalid(
                    w.obj,
                    field,
                    format!(
                        "its Podman volume would be named {name}, like another volume of this YAML"
                    ),
                ));
            }
            ctx.volumes.push(VolumePlan {
                name: name.clone(),
                labels: ctx.base_labels(),
                driver: None,
                options: Vec::new(),
                keep_on_down: false,
            });
            Ok(PodVolume::Named {
                name,
                read_only: false,
            })
        }
        other => Err(invalid(
            w.obj,
            &format!("{field}.medium"),
            format!("`{other}` is not supported (\"\" or Memory)"),
        )),
    }
}

/// A mode as Kubernetes allows it: 0..=0777.
fn mode(w: &Workload, field: &str, m: Option<i64>, default: u32) -> Result<u32, PlanError> {
    match m {
        None => Ok(default),
        Some(m) if (0..=0o777).contains(&m) => Ok(m as u32),
        Some(m) => Err(invalid(
            w.obj,
            field,
            format!("mode {m} (0{m:o}) is out of range 0..0777"),
        )),
    }
}

/// Podman's `--volume SOURCE:TARGET:OPTIONS` (and `--device`, `--tmpfs`) split at colons: a
/// path holding one (or a NUL, which no argument can) would become a malformed argument.
fn check_volume_syntax(w: &Workload, field: &str, path: &str) -> Result<(), PlanError> {
    let bad = if path.contains(':') {
        "a colon"
    } else if path.contains('\0') {
        "a NUL byte"
    } else {
        return Ok(());
    };
    Err(invalid(
        w.obj,
        field,
        format!(
            "`{}` holds {bad}, which Podman's --volume syntax cannot carry",
            path.escape_debug()
        ),
    ))
}

/// The options Podman's `--volume` takes after the target (`/data:ro,z`): anything else after a
/// colon in `mountPath` is a path that holds a colon, or a typo.
const VOLUME_OPTIONS: &[&str] = &[
    "ro",
    "rw",
    "z",
    "Z",
    "O",
    "U",
    "copy",
    "nocopy",
    "dev",
    "nodev",
    "exec",
    "noexec",
    "suid",
    "nosuid",
    "bind",
    "rbind",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "private",
    "rprivate",
    "unbindable",
    "runbindable",
    "idmap",
];

/// Splits `mountPath` into the target and Podman's options (its extension `/x:z,ro`).
fn split_mount_path(
    w: &Workload,
    field: &str,
    text: &str,
) -> Result<(String, Vec<String>), PlanError> {
    let Some((target, extra)) = text.split_once(':') else {
        check_volume_syntax(w, field, text)?;
        return Ok((text.to_string(), Vec::new()));
    };
    check_volume_syntax(w, field, target)?;
    let options: Vec<String> = extra
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    for o in &options {
        let known = VOLUME_OPTIONS.contains(&o.as_str())
            || o.strip_prefix("idmap=").is_some_and(|v| !v.contains(':'));
        if !known {
            return Err(invalid(
                w.obj,
                field,
                format!(
                    "`{}` after the colon is not a volume option (ro, z, Z, U, …): a colon in mountPath starts Podman's options, so a path cannot hold one",
                    o.escape_debug()
                ),
            ));
        }
    }
    Ok((target.to_string(), options))
}

/// A relative path with no `..`: for `items[].path` and `subPath`.
fn check_relative(w: &Workload, field: &str, p: &str) -> Result<(), PlanError> {
    let path = Path::new(p);
    let ok = !p.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            w.obj,
            field,
            format!("`{p}` must be a relative path without `..`"),
        ))
    }
}

/// What a ConfigMap or Secret volume's files come from.
struct FileSource<'v> {
    /// Key → content.
    data: Keys,
    /// `items`: the keys to project and where; empty projects every key.
    items: &'v [KeyToPath],
    default_mode: Option<i64>,
    /// A missing key is skipped rather than an error.
    optional: bool,
    /// A Secret's (false for a ConfigMap's).
    secret: bool,
}

fn file_set(
    ctx: &mut Ctx,
    w: &Workload,
    pod: &str,
    v: &Volume,
    field: &str,
    source: FileSource,
) -> Result<PodVolume, PlanError> {
    let FileSource {
        data,
        items,
        default_mode,
        optional,
        secret,
    } = source;
    let default = mode(w, &format!("{field}.defaultMode"), default_mode, 0o644)?;
    let mut files = BTreeMap::new();
    let mut podman = Vec::new();
    let mut add = |path: String, value: &KeyValue, mode: u32| match value {
        KeyValue::Bytes(content, _) => {
            files.insert(path, (content.clone(), mode));
        }
        KeyValue::Podman(secret) => {
            // The mount point: Podman mounts the secret over it, inside the read-only bind.
            files.insert(path.clone(), (Vec::new(), mode));
            podman.push(PodmanFile {
                path,
                secret: secret.clone(),
                mode,
            });
        }
    };
    if items.is_empty() {
        for (k, value) in &data {
            add(k.clone(), value, default);
        }
    } else {
        for (i, item) in items.iter().enumerate() {
            let f = format!("{field}.items[{i}]");
            check_relative(w, &format!("{f}.path"), &item.path)?;
            let m = mode(w, &format!("{f}.mode"), item.mode, default)?;
            match data.get(&item.key) {
                Some(value) => add(item.path.clone(), value, m),
                None if optional => {}
                None => {
                    return Err(invalid(
                        w.obj,
                        &format!("{f}.key"),
                        format!("no key `{}`", item.key),
                    ));
                }
            }
        }
    }
    let dir = ctx.opts.runtime_dir.join(pod).join(&v.name);
    ctx.files.push(FileSetPlan {
        dir: dir.clone(),
        app_dir: ctx.opts.runtime_dir.clone(),
        files,
        secret,
    });
    Ok(PodVolume::Files(dir, podman))
}

/// What one container mounts.
#[derive(Debug, Default)]
pub(super) struct ContainerMounts {
    pub mounts: Vec<Mount>,
    pub devices: Vec<String>,
    /// Existing Podman secrets mounted as files of Secret volumes.
    pub secrets: Vec<SecretMount>,
}

/// The Podman-secret files of a Secret volume mounted at `target` (with `subPath`, only those
/// inside it), and whether the volume's bind is still needed (not when `subPath` is one of them).
fn podman_files(
    podman: &[PodmanFile],
    target: &str,
    sub_path: Option<&str>,
) -> (Vec<SecretMount>, bool) {
    let mut out = Vec::new();
    let mut bind = true;
    for f in podman {
        let rest = match sub_path {
            None => Some(f.path.as_str()),
            Some(sp) if sp == f.path => {
                bind = false;
                Some("")
            }
            Some(sp) => f.path.strip_prefix(sp).and_then(|r| r.strip_prefix('/')),
        };
        let Some(rest) = rest else { continue };
        let target = if rest.is_empty() {
            target.to_string()
        } else {
            format!("{}/{rest}", target.trim_end_matches('/'))
        };
        out.push(SecretMount {
            secret: f.secret.clone(),
            target,
            mode: f.mode,
        });
    }
    (out, bind)
}

/// The mounts, devices and Podman-secret files of one container.
pub(super) fn mounts(
    ctx: &mut Ctx,
    w: &Workload,
    vols: &PodVolumes,
    c: &Container,
    path: &str,
) -> Result<ContainerMounts, PlanError> {
    let mut mounts = Vec::new();
    let mut devices = Vec::new();
    let mut secrets = Vec::new();
    for (i, m) in c.volume_mounts.iter().enumerate() {
        let field = format!("{path}.volumeMounts[{i}]");
        let Some(vol) = vols.get(&m.name) else {
            return Err(invalid(
                w.obj,
                &format!("{field}.name"),
                format!("no volume `{}` in this pod", m.name),
            ));
        };
        // Podman's extension `mountPath: /x:z,ro`.
        let (target, extra) = split_mount_path(w, &format!("{field}.mountPath"), &m.mount_path)?;
        if !target.starts_with('/') {
            return Err(invalid(
                w.obj,
                &format!("{field}.mountPath"),
                "must be an absolute path",
            ));
        }
        let mut read_only = m.read_only || extra.iter().any(|o| o == "ro");
        let mut options: Vec<String> = extra
            .into_iter()
            .filter(|o| o != "ro" && o != "rw")
            .collect();
        if let Some(sp) = &m.sub_path {
            check_relative(w, &format!("{field}.subPath"), sp)?;
            check_volume_syntax(w, &format!("{field}.subPath"), sp)?;
        }
        let propagation = match m.mount_propagation.as_deref() {
            None => None,
            Some("None") => Some("private"),
            Some("HostToContainer") => Some("rslave"),
            Some("Bidirectional") => Some("rshared"),
            Some(other) => {
                return Err(invalid(
                    w.obj,
                    &format!("{field}.mountPropagation"),
                    format!("`{other}` is not None, HostToContainer or Bidirectional"),
                ))
            }
        };
        let bind_only = |ctx: &mut Ctx, what: &str| {
            if propagation.is_some() {
                ctx.warn(
                    w.obj,
                    &format!("{field}.mountPropagation"),
                    format!("ignored for a {what} volume"),
                );
            }
            if !options.is_empty() {
                ctx.warn(
                    w.obj,
                    &format!("{field}.mountPath"),
                    format!(
                        "mount options `{}` ignored for a {what} volume",
                        options.join(",")
                    ),
                );
            }
        };
        match vol {
            PodVolume::Missing => {}
            PodVolume::HostPath(src) | PodVolume::Files(src, _) => {
                let mut bind = true;
                if let PodVolume::Files(_, podman) = vol {
                    read_only = true;
                    let (files, needed) = podman_files(podman, &target, m.sub_path.as_deref());
                    secrets.extend(files);
                    bind = needed;
                }
                if !bind {
                    continue;
                }
                let source = match &m.sub_path {
                    Some(sp) => src.join(sp),
                    None => src.clone(),
                };
                options.extend(propagation.map(str::to_string));
                mounts.push(Mount::Bind {
                    source,
                    target,
                    read_only,
                    options,
                });
            }
            PodVolume::Device(src) => {
                bind_only(ctx, "device");
                devices.push(if read_only {
                    format!("{}:{target}:r", src.display())
                } else {
                    format!("{}:{target}", src.display())
                });
            }
            PodVolume::Named {
                name,
                read_only: ro,
            } => {
                bind_only(ctx, "named");
                mounts.push(Mount::Volume {
                    name: name.clone(),
                    target,
                    read_only: read_only || *ro,
                    sub_path: m.sub_path.clone(),
                });
            }
            PodVolume::Tmpfs { size } => {
                bind_only(ctx, "memory");
                if m.sub_path.is_some() {
                    return Err(invalid(
                        w.obj,
                        &format!("{field}.subPath"),
                        "not supported for a memory-backed emptyDir",
                    ));
                }
                if read_only {
                    ctx.warn(
                        w.obj,
                        &format!("{field}.readOnly"),
                        "a tmpfs is mounted read-write",
                    );
                }
                mounts.push(Mount::Tmpfs {
                    target,
                    size: size.clone(),
                });
            }
        }
    }
    Ok(ContainerMounts {
        mounts,
        devices,
        secrets,
    })
}
