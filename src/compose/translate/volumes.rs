//! Volumes: top-level named volumes (→ PersistentVolumeClaims, exact names kept for external
//! ones) and a service's `volumes:` (named → claim, bind → `hostPath` typed by what the source
//! is now, anonymous → emptyDir), `tmpfs:` and `shm_size:` (memory-backed emptyDirs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::super::load::normalize;
use super::super::objects::{ClaimSource, EmptyDir, HostPath, Volume, VolumeMount};
use super::super::tree::{At, Entry, Item, Node};
use super::super::ComposeError;
use super::ctx::Ctx;
use super::sanitize_name;
use super::service::{Parts, Svc};

/// A top-level named volume: the claim (Podman volume) name it becomes.
pub(super) struct NamedVolume {
    pub claim: String,
}

pub(super) fn declared_volumes(
    ctx: &mut Ctx,
    decl: &[Entry],
    app: &str,
) -> Result<BTreeMap<String, NamedVolume>, ComposeError> {
    let mut out = BTreeMap::new();
    // Claim name → the volume that made it, and whether it was named on purpose (`name:` or
    // `external:`: two such volumes with one name are one volume, as in compose).
    let mut claims: BTreeMap<String, (String, bool)> = BTreeMap::new();
    for v in decl {
        let key = format!("volumes.{}", v.key);
        // Compose names volumes `<project>_<volume>`; a claim name must be DNS-1123, so `-`.
        let mut claim = sanitize_name(&format!("{app}-{}", v.key));
        let mut named = false;
        for e in ctx.map(&v.value, &key)?.to_vec() {
            let k = format!("{key}.{}", e.key);
            match e.key.as_str() {
                "name" => {
                    claim = sanitize_name(&ctx.string(&e.value, &k)?);
                    named = true;
                }
                "external" => {
                    if ctx.bool(&e.value, &k)? {
                        claim = sanitize_name(&v.key);
                        named = true;
                    }
                }
                "driver" | "driver_opts" | "labels" => ctx.warn(
                    e.line,
                    &k,
                    "not supported; the volume is a plain local Podman volume",
                ),
                _ => ctx.warn(e.line, &k, "not supported; ignored"),
            }
        }
        if claim.is_empty() {
            return Err(ctx.invalid(v.line, &key, "no volume name is left once made a DNS-1123 name; give it a name: of letters and digits"));
        }
        match claims.get(&claim) {
            Some((other, other_named)) if !(named && *other_named) => {
                return Err(ctx.invalid(v.line, &key, format!(
                    "volumes {other:?} and {:?} would both be the volume {claim}; rename one, or give both name: {claim} to share it",
                    v.key
                )));
            }
            Some(_) => {}
            None => {
                claims.insert(claim.clone(), (v.key.clone(), named));
            }
        }
        out.insert(v.key.clone(), NamedVolume { claim });
    }
    Ok(out)
}

/// One `volumes:` entry of a service: a named volume (→ PVC), a bind mount (→ hostPath typed by
/// what the source is now) or an anonymous volume (→ emptyDir).
pub(super) fn volume(
    ctx: &mut Ctx,
    s: &mut Svc,
    it: &Item,
    key: &str,
    index: usize,
) -> Result<(), ComposeError> {
    let spec = match &it.node {
        Node::Map(entries) => long_volume(ctx, entries, it.line, key)?,
        _ => short_volume(ctx, it, key)?,
    };
    absolute_target(ctx, it.line, key, &spec.target)?;
    let name = format!("{}-vol-{index}", s.name);
    let volume = match spec.kind.as_str() {
        "volume" => {
            let src = spec.source.clone().unwrap_or_default();
            let Some(v) = s.sh.named.get(&src) else {
                return Err(ctx.invalid(
                    it.line,
                    key,
                    format!("named volume {src:?} is not declared under the top-level volumes:"),
                ));
            };
            ctx.used_volumes.insert(src.clone());
            Volume {
                persistent_volume_claim: Some(ClaimSource {
                    claim_name: v.claim.clone(),
                }),
                ..named_volume(&name)
            }
        }
        "bind" => {
            let path = bind_path(ctx, it, key, spec.source.as_deref().unwrap_or_default())?;
            let kind = host_path_type(&path, spec.create).ok_or_else(|| {
                ctx.invalid(
                    it.line,
                    key,
                    format!(
                        "bind source {} does not exist (and bind.create_host_path is not true)",
                        path.display()
                    ),
                )
            })?;
            Volume {
                host_path: Some(HostPath {
                    path: path.to_string_lossy().into_owned(),
                    kind,
                }),
                ..named_volume(&name)
            }
        }
        "anonymous" => empty_dir(&name, None, None),
        "tmpfs" => empty_dir(&name, Some("Memory"), None),
        other => {
            return Err(ctx.invalid(
                it.line,
                key,
                format!("volume type {other:?} is not supported"),
            ))
        }
    };
    s.p.volumes.push(volume);
    s.p.mounts.push(VolumeMount {
        mount_path: spec.target,
        name,
        read_only: spec.read_only.then_some(true),
        sub_path: None,
    });
    Ok(())
}

/// Compose refuses a container path that is not absolute ("mount path must be absolute"), and
/// so does the Kubernetes side (found by the `compose` fuzz target: `./data: relative` converted
/// into a mountPath our own executor refuses).
fn absolute_target(ctx: &mut Ctx, line: At, key: &str, target: &str) -> Result<(), ComposeError> {
    if target.starts_with('/') {
        return Ok(());
    }
    Err(ctx.invalid(
        line,
        key,
        format!("container path {target:?} is not absolute"),
    ))
}

fn named_volume(name: &str) -> Volume {
    Volume {
        name: name.to_string(),
        ..Volume::default()
    }
}

fn empty_dir(name: &str, medium: Option<&'static str>, size_limit: Option<String>) -> Volume {
    Volume {
        empty_dir: Some(EmptyDir { medium, size_limit }),
        ..named_volume(name)
    }
}

/// `tmpfs:` → a memory-backed emptyDir per target (mount options are not kept).
pub(super) fn tmpfs(ctx: &mut Ctx, p: &mut Parts, v: &Item, key: &str) -> Result<(), ComposeError> {
    for (i, target) in ctx.strings(v, key)?.into_iter().enumerate() {
        let target = target.split(':').next().unwrap_or("").to_string();
        absolute_target(ctx, v.line, key, &target)?;
        let name = format!("tmpfs-{i}");
        p.volumes.push(empty_dir(&name, Some("Memory"), None));
        p.mounts.push(VolumeMount {
            mount_path: target,
            name,
            read_only: None,
            sub_path: None,
        });
    }
    Ok(())
}

/// `shm_size:` → a memory-backed emptyDir of that size on `/dev/shm`.
pub(super) fn shm(ctx: &mut Ctx, p: &mut Parts, v: &Item, key: &str) -> Result<(), ComposeError> {
    let size = super::runtime::size(ctx, v, key)?;
    let name = "dshm";
    p.volumes.push(empty_dir(name, Some("Memory"), Some(size)));
    p.mounts.push(VolumeMount {
        mount_path: "/dev/shm".into(),
        name: name.into(),
        read_only: None,
        sub_path: None,
    });
    Ok(())
}

fn bind_path(ctx: &mut Ctx, it: &Item, key: &str, src: &str) -> Result<PathBuf, ComposeError> {
    if let Some(rest) = src
        .strip_prefix("~/")
        .or(if src == "~" { Some("") } else { None })
    {
        return match ctx.env.get("HOME") {
            Some(h) => Ok(normalize(&PathBuf::from(h).join(rest))),
            None => Err(ctx.invalid(it.line, key, "~ needs $HOME")),
        };
    }
    Ok(normalize(&ctx.dir.join(src)))
}

/// The hostPath type for what `path` is now: `File`, `Directory`, `Socket`, `CharDevice`,
/// `BlockDevice`; missing → `DirectoryOrCreate` when compose would create it, else None.
fn host_path_type(path: &Path, create: bool) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt as _;
    match std::fs::metadata(path) {
        Ok(m) => {
            let t = m.file_type();
            Some(if t.is_dir() {
                "Directory"
            } else if t.is_socket() {
                "Socket"
            } else if t.is_char_device() {
                "CharDevice"
            } else if t.is_block_device() {
                "BlockDevice"
            } else {
                "File"
            })
        }
        Err(_) if create => Some("DirectoryOrCreate"),
        Err(_) => None,
    }
}

/// A service volume: type, source, target, read-only, and whether a missing bind source is
/// created (short syntax: yes, as docker does; long syntax: only with create_host_path).
struct VolumeSpec {
    kind: String,
    source: Option<String>,
    target: String,
    read_only: bool,
    create: bool,
}

fn short_volume(ctx: &mut Ctx, it: &Item, key: &str) -> Result<VolumeSpec, ComposeError> {
    let spec = ctx.string(it, key)?;
    let parts: Vec<&str> = spec.splitn(3, ':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [t] => (None, t.to_string(), ""),
        [s, t] => (Some(s.to_string()), t.to_string(), ""),
        [s, t, m] => (Some(s.to_string()), t.to_string(), *m),
        _ => return Err(ctx.invalid(it.line, key, "empty volume")),
    };
    let mut read_only = false;
    for opt in mode.split(',').filter(|o| !o.is_empty()) {
        match opt {
            "ro" => read_only = true,
            "rw" => read_only = false,
            "z" | "Z" => ctx.note(
                it.line,
                key,
                format!("SELinux relabel option {opt:?} is not kept"),
            ),
            other => ctx.warn(it.line, key, format!("mount option {other:?} is not kept")),
        }
    }
    let kind = match &source {
        None => "anonymous",
        Some(s) if s.starts_with('/') || s.starts_with('.') || s.starts_with('~') => "bind",
        Some(_) => "volume",
    };
    Ok(VolumeSpec {
        kind: kind.into(),
        source,
        target,
        read_only,
        create: true,
    })
}

fn long_volume(
    ctx: &mut Ctx,
    entries: &[Entry],
    line: At,
    key: &str,
) -> Result<VolumeSpec, ComposeError> {
    let (mut kind, mut source, mut target, mut read_only, mut create) =
        (None, None, None, false, false);
    for e in entries {
        let k = format!("{key}.{}", e.key);
        match e.key.as_str() {
            "type" => kind = Some(ctx.string(&e.value, &k)?),
            "source" => source = Some(ctx.string(&e.value, &k)?),
            "target" => target = Some(ctx.string(&e.value, &k)?),
            "read_only" => read_only = ctx.bool(&e.value, &k)?,
            "bind" => {
                for b in ctx.map(&e.value, &k)?.to_vec() {
                    let bk = format!("{k}.{}", b.key);
                    match b.key.as_str() {
                        "create_host_path" => create = ctx.bool(&b.value, &bk)?,
                        "selinux" => ctx.note(b.line, &bk, "SELinux relabelling is not kept"),
                        _ => ctx.warn(b.line, &bk, "not supported; ignored"),
                    }
                }
            }
            "volume" => {
                for b in ctx.map(&e.value, &k)?.to_vec() {
                    ctx.warn(b.line, &format!("{k}.{}", b.key), "not supported; ignored");
                }
            }
            other => ctx.warn(e.line, &k, format!("{other} is not supported; ignored")),
        }
    }
    let target = target.ok_or_else(|| ctx.invalid(line, key, "no target"))?;
    let kind = match kind.as_deref() {
        Some("volume") if source.is_none() => "anonymous".to_string(),
        Some(k) => k.to_string(),
        None => return Err(ctx.invalid(line, key, "no type")),
    };
    Ok(VolumeSpec {
        kind,
        source,
        target,
        read_only,
        create,
    })
}
