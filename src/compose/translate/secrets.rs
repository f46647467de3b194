//! Compose `secrets:` and `configs:` → a Kubernetes Secret / ConfigMap per used name, mounted as
//! one file at the service's target (`/run/secrets/<name>` for secrets, `/<name>` for configs)
//! with its mode. Sources: `file:` (read now, so a missing or unreadable file is an error at
//! conversion, not at start), `environment:` (the variable's value now), `content:` (configs).
//! An `external:` secret is an existing Podman secret (its `name:`, else its compose name): it
//! becomes a Secret with no data whose key names it (`io.quadplay.podman-secrets`), so that the
//! value never passes through the conversion or the YAML and quadplay never removes it.

use std::path::{Path, PathBuf};

use base64::Engine as _;

use super::super::load::read_regular;
use super::super::objects::{
    ConfigMapSource, DataObject, KeyToPath, Metadata, Object, SecretSource, Strings, Volume,
    VolumeMount,
};
use super::super::tree::{Entry, Item, Node};
use super::super::ComposeError;
use super::ctx::Ctx;
use super::sanitize_name;
use super::service::Svc;

/// Largest secret or config file put into the YAML.
const MAX_SECRET_BYTES: u64 = 1 << 20;

pub(super) fn mounts(ctx: &mut Ctx, s: &mut Svc, e: &Entry, key: &str) -> Result<(), ComposeError> {
    let sh = s.sh;
    let section = e.key.as_str();
    let Node::Seq(items) = &e.value.node else {
        return Err(ctx.invalid(e.value.line, key, "expected a list"));
    };
    for (i, it) in items.iter().enumerate() {
        let k = format!("{key}[{i}]");
        let (source, target, mode) = reference(ctx, it, &k, section)?;
        let decl = sh
            .root
            .get(section)
            .and_then(|s| s.get(&source))
            .ok_or_else(|| {
                ctx.invalid(
                    it.line,
                    &k,
                    format!("{source:?} is not declared under the top-level {section}:"),
                )
            })?
            .clone();
        let object = sanitize_name(&format!("{}-{source}", sh.app));
        let external = decl
            .get("external")
            .is_some_and(|x| matches!(x.node, Node::Bool(true)));
        if let Some(other) = ctx.data_sources.get(&format!("{}/{object}", kind(section))) {
            if *other != source {
                return Err(ctx.invalid(
                    it.line,
                    &k,
                    format!(
                        "{source:?} and {other:?} would both be the {} {object}; rename one",
                        kind(section)
                    ),
                ));
            }
        }
        if !ctx.extra.iter().any(|d| d.is(kind(section), &object)) {
            ctx.data_sources
                .insert(format!("{}/{object}", kind(section)), source.clone());
            let decl_key = format!("{section}.{source}");
            if !external {
                let data = value(ctx, &decl, &decl_key, &source)?;
                ctx.extra.push(object_doc(section, &object, &source, &data));
            } else if section == "secrets" {
                let name = match decl.get("name") {
                    Some(n) => ctx.string(n, &format!("{decl_key}.name"))?,
                    None => source.clone(),
                };
                ctx.extra.push(podman_secret_doc(&object, &source, &name));
            }
        }
        let vol = format!(
            "{}-{}-{i}",
            s.name,
            if section == "secrets" {
                "secret"
            } else {
                "config"
            }
        );
        let file = "content".to_string();
        let items = vec![KeyToPath {
            key: source.clone(),
            mode,
            path: file.clone(),
        }];
        let mut volume = Volume {
            name: vol.clone(),
            ..Volume::default()
        };
        if section == "secrets" {
            volume.secret = Some(SecretSource {
                default_mode: None,
                items,
                secret_name: object,
            });
        } else {
            volume.config_map = Some(ConfigMapSource {
                items,
                name: object,
            });
        }
        s.p.volumes.push(volume);
        s.p.mounts.push(VolumeMount {
            mount_path: target,
            name: vol,
            read_only: Some(true),
            sub_path: Some(file),
        });
    }
    Ok(())
}

fn kind(section: &str) -> &'static str {
    if section == "secrets" {
        "Secret"
    } else {
        "ConfigMap"
    }
}

/// A service's reference: source name, target path, file mode.
fn reference(
    ctx: &mut Ctx,
    it: &Item,
    key: &str,
    section: &str,
) -> Result<(String, String, Option<i64>), ComposeError> {
    let default_target = |s: &str| {
        if section == "secrets" {
            format!("/run/secrets/{s}")
        } else {
            format!("/{s}")
        }
    };
    match &it.node {
        Node::Map(_) => {
            let source = it
                .get("source")
                .map(|s| ctx.string(s, &format!("{key}.source")))
                .transpose()?
                .ok_or_else(|| ctx.invalid(it.line, key, "no source"))?;
            let target = match it.get("target") {
                Some(t) => {
                    let t = ctx.string(t, &format!("{key}.target"))?;
                    if t.starts_with('/') {
                        t
                    } else {
                        default_target(&t)
                    }
                }
                None => default_target(&source),
            };
            let mode = it
                .get("mode")
                .map(|m| match &m.node {
                    Node::Str(s) => {
                        i64::from_str_radix(s.trim_start_matches("0o"), 8).map_err(|_| {
                            ctx.invalid(m.line, &format!("{key}.mode"), "expected an octal mode")
                        })
                    }
                    _ => ctx.int(m, &format!("{key}.mode")),
                })
                .transpose()?;
            let mode = owner_mode(ctx, it, key, mode)?;
            Ok((source, target, mode))
        }
        _ => {
            let s = ctx.string(it, key)?;
            Ok((s.clone(), default_target(&s), None))
        }
    }
}

/// `uid`/`gid`: Kubernetes sets no owner per mounted file (the file belongs to root in the
/// container), so what compose means — that user or group can read it — is kept through the
/// mode instead: the owner's (or group's) permission bits are given to every user, with one
/// warning saying so. Without a mode the file is readable by all already (Kubernetes' 0644):
/// only a note. `uid`/`gid` 0 is what the file has anyway.
fn owner_mode(
    ctx: &mut Ctx,
    it: &Item,
    key: &str,
    mode: Option<i64>,
) -> Result<Option<i64>, ComposeError> {
    let mut widened = mode;
    for (k, shift) in [("uid", 6), ("gid", 3)] {
        let Some(x) = it.get(k) else { continue };
        let xk = format!("{key}.{k}");
        let id = ctx.string(x, &xk)?;
        if id.trim().parse::<u32>().is_err() {
            return Err(ctx.invalid(x.line, &xk, format!("expected a numeric id, found {id:?}")));
        }
        if id.trim() == "0" {
            continue;
        }
        match widened {
            None => ctx.note(x.line, &xk, format!("the file belongs to root in the container (Kubernetes sets no owner per file); it is readable by every user, {k} {id} included")),
            Some(m) => widened = Some(m | ((m >> shift) & 0o7)),
        }
    }
    if let (Some(before), Some(after)) = (mode, widened) {
        if before != after {
            let line = it.get("mode").map_or(it.line, |m| m.line);
            ctx.warn(line, &format!("{key}.mode"), format!("{before:04o} becomes {after:04o}: the file cannot belong to the uid/gid given (Kubernetes sets no owner per file; it belongs to root in the container), so their permissions are given to every user in the container, or that user could not read it"));
        }
    }
    Ok(widened)
}

/// The secret's or config's value, read now.
fn value(ctx: &mut Ctx, decl: &Item, key: &str, name: &str) -> Result<Vec<u8>, ComposeError> {
    if let Some(f) = decl.get("file") {
        let path = PathBuf::from(ctx.string(f, &format!("{key}.file"))?);
        let path = if path.is_relative() {
            ctx.dir.join(path)
        } else {
            path
        };
        return read_secret(&path).map_err(|e| {
            ctx.invalid(
                f.line,
                &format!("{key}.file"),
                format!("{}: {e}", path.display()),
            )
        });
    }
    if let Some(v) = decl.get("environment") {
        let var = ctx.string(v, &format!("{key}.environment"))?;
        return ctx
            .env
            .get(&var)
            .map(|s| s.clone().into_bytes())
            .ok_or_else(|| {
                ctx.invalid(
                    v.line,
                    &format!("{key}.environment"),
                    format!("{var} is not set"),
                )
            });
    }
    if let Some(c) = decl.get("content") {
        return Ok(ctx.string(c, &format!("{key}.content"))?.into_bytes());
    }
    Err(ctx.invalid(
        decl.line,
        key,
        format!("{name}: no file:, environment: or content:"),
    ))
}

fn read_secret(path: &Path) -> std::io::Result<Vec<u8>> {
    read_regular(path, MAX_SECRET_BYTES).map(String::into_bytes)
}

/// A Secret whose key `key` is the existing Podman secret `name`.
fn podman_secret_doc(object: &str, key: &str, name: &str) -> Object {
    let mut metadata = Metadata::named(object);
    metadata.annotations.insert(
        crate::plan::PODMAN_SECRETS_ANNOTATION.to_string(),
        format!("{key}={name}"),
    );
    Object::Data(DataObject {
        api_version: "v1",
        data: Strings::new(),
        kind: "Secret",
        metadata,
    })
}

fn object_doc(section: &str, object: &str, key: &str, data: &[u8]) -> Object {
    let text = if section == "secrets" {
        base64::engine::general_purpose::STANDARD.encode(data)
    } else {
        String::from_utf8_lossy(data).into_owned()
    };
    Object::Data(DataObject {
        api_version: "v1",
        data: Strings::from([(key.to_string(), text)]),
        kind: kind(section),
        metadata: Metadata::named(object),
    })
}
