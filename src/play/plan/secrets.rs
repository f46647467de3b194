//! Where each key of a Secret takes its value from, so that no secret value has to sit in the
//! YAML: its `data`/`stringData`, a systemd credential of the `.kube` unit
//! (`io.quadplay.credentials`, read from `$CREDENTIALS_DIRECTORY` before planning, see
//! `play::credentials`), or an existing Podman secret (`io.quadplay.podman-secrets`), which is
//! only referenced (`--secret NAME,type=env|mount`): its value never passes through quadplay,
//! and quadplay never creates, replaces or removes it.
//!
//! Both are annotations on the Secret, so the YAML stays valid Kubernetes. Every Secret is
//! resolved once per plan ([`resolve_all`]); env, envFrom, Secret volumes and the Podman secrets
//! quadplay owns ([`secret_plans`]) all read that one result. No message quotes a value.

use std::collections::BTreeMap;

use base64::Engine;

use super::context::{invalid, Ctx, PlanError};
use crate::kube::model::Secret;
use crate::kube::Object;
use crate::plan::*;

/// The value of one key of a Secret or ConfigMap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum KeyValue {
    /// Known bytes (from the YAML or a credential), with where they came from.
    Bytes(Vec<u8>, SecretSource),
    /// An existing Podman secret of this name.
    Podman(String),
}

/// A Secret's (or ConfigMap's) keys with their values.
pub(super) type Keys = BTreeMap<String, KeyValue>;

/// The Podman secret holding key `key` of Kubernetes Secret `secret`: `<secret>-<key>`, with
/// any character Podman does not allow in a name (outside `A-Za-z0-9_.-`) replaced by `_`.
/// Kubernetes' own name and key rules already keep to that set, so the replacement only
/// matters for hand-made names; collisions (`a-b`+`c` vs `a`+`b-c`) are refused by the planner.
pub fn secret_name(secret: &str, key: &str) -> String {
    format!("{secret}-{key}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Kubernetes ConfigMap/Secret keys: `[-._a-zA-Z0-9]+`, and never `.` or `..`: they become
/// file names, so anything else could escape the file set's directory.
pub(super) fn check_key(obj: &Object, field: &str, key: &str) -> Result<(), PlanError> {
    let ok = !key.is_empty()
        && key != "."
        && key != ".."
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            obj,
            field,
            format!(
                "`{}` is not a valid key (letters, digits, `-`, `.`, `_`)",
                key.escape_debug()
            ),
        ))
    }
}

/// Decodes a `data` value. The message says where the value is wrong, never what it holds:
/// base64's own message quotes the offending byte of what may be a secret.
pub(super) fn decode(obj: &Object, field: &str, text: &str) -> Result<Vec<u8>, PlanError> {
    use base64::DecodeError;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| {
            let why = match e {
                DecodeError::InvalidByte(at, _) => {
                    format!("character {} is not a base64 character", at + 1)
                }
                DecodeError::InvalidLastSymbol(at, _) => {
                    format!("character {} (the last) cannot end base64 text", at + 1)
                }
                DecodeError::InvalidLength(_) => "its length cannot be base64".into(),
                DecodeError::InvalidPadding => "its `=` padding is wrong".into(),
            };
            invalid(
                obj,
                field,
                format!("not valid base64: {why} (whitespace skipped)"),
            )
        })
}

/// The YAML path of annotation `key`: `metadata.annotations["io.quadplay.credentials"]`.
pub(super) fn annotation_field(key: &str) -> String {
    format!("metadata.annotations[\"{key}\"]")
}

/// The `KEY=NAME` pairs of a source annotation (`KEY` alone: the name is the key), in order.
fn pairs(obj: &Object, annotation: &str, text: &str) -> Result<Vec<(String, String)>, PlanError> {
    let field = annotation_field(annotation);
    let mut out = Vec::new();
    for (key, name) in entries(text) {
        check_key(obj, &field, key)?;
        check_source_name(obj, &field, annotation, name)?;
        out.push((key.to_string(), name.to_string()));
    }
    Ok(out)
}

/// The `KEY=NAME` (or `KEY`) entries of a source annotation, unchecked.
fn entries(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| match entry.split_once('=') {
            Some((k, n)) => (k.trim(), n.trim()),
            None => (entry, entry),
        })
}

/// A credential name is a file name in `$CREDENTIALS_DIRECTORY`; a Podman secret name goes into
/// `--secret NAME,type=…`, so neither may hold a `/`, `,`, `=`, a control character or space.
fn check_source_name(
    obj: &Object,
    field: &str,
    annotation: &str,
    name: &str,
) -> Result<(), PlanError> {
    let what = if annotation == CREDENTIALS_ANNOTATION {
        "credential"
    } else {
        "Podman secret"
    };
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name.len() > 253
        || name
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '/' | ',' | '='));
    if bad {
        return Err(invalid(
            obj,
            field,
            format!(
                "`{}` is not a valid {what} name (no `/`, `,`, `=`, spaces or control characters)",
                name.escape_debug()
            ),
        ));
    }
    Ok(())
}

/// Every Secret of the YAML with its keys resolved.
pub(super) fn resolve_all(ctx: &Ctx) -> Result<BTreeMap<String, Keys>, PlanError> {
    let mut out = BTreeMap::new();
    for (name, (obj, s)) in &ctx.secrets {
        out.insert(name.to_string(), resolve(ctx, obj, s)?);
    }
    Ok(out)
}

/// The keys of one Secret: `data`, `stringData` (which wins over `data`), then the annotated
/// sources, each of which must name a key no other place gives.
fn resolve(ctx: &Ctx, obj: &Object, s: &Secret) -> Result<Keys, PlanError> {
    let mut out = Keys::new();
    for (k, v) in &s.data {
        let field = format!("data.{k}");
        check_key(obj, &field, k)?;
        out.insert(
            k.clone(),
            KeyValue::Bytes(decode(obj, &field, v)?, SecretSource::Yaml),
        );
    }
    for (k, v) in &s.string_data {
        check_key(obj, &format!("stringData.{k}"), k)?;
        let value = KeyValue::Bytes(v.clone().into_bytes(), SecretSource::Yaml);
        out.insert(k.clone(), value);
    }
    for annotation in [CREDENTIALS_ANNOTATION, PODMAN_SECRETS_ANNOTATION] {
        let Some(text) = s.metadata.annotations.get(annotation) else {
            continue;
        };
        for (key, name) in pairs(obj, annotation, text)? {
            let field = annotation_field(annotation);
            if out.contains_key(&key) {
                let elsewhere = if s.data.contains_key(&key) || s.string_data.contains_key(&key) {
                    "also given in data/stringData"
                } else {
                    "given twice by the io.quadplay.credentials/podman-secrets annotations"
                };
                return Err(invalid(
                    obj,
                    &field,
                    format!("key `{key}` is {elsewhere}: a key takes its value from one place"),
                ));
            }
            let value = if annotation == CREDENTIALS_ANNOTATION {
                credential(ctx, obj, &field, &key, &name)?
            } else {
                KeyValue::Podman(name)
            };
            out.insert(key, value);
        }
    }
    Ok(out)
}

/// The value of credential `name` for key `key`, or a located error saying why it is missing
/// and what to add to the unit. `down` needs names only: an unread credential is empty there.
fn credential(
    ctx: &Ctx,
    obj: &Object,
    field: &str,
    key: &str,
    name: &str,
) -> Result<KeyValue, PlanError> {
    let source = SecretSource::Credential(name.to_string());
    let creds = &ctx.opts.credentials;
    let why = match (&creds.dir, creds.values.get(name)) {
        (_, Some(Ok(value))) => return Ok(KeyValue::Bytes(value.clone(), source)),
        _ if ctx.opts.down => return Ok(KeyValue::Bytes(Vec::new(), source)),
        (None, _) => "$CREDENTIALS_DIRECTORY is unset (quadplay was not started by a systemd \
                      service that passes credentials)"
            .to_string(),
        (Some(_), Some(Err(why))) => why.clone(),
        (Some(dir), None) => format!("{} has no `{name}`", dir.display()),
    };
    Err(invalid(
        obj,
        field,
        format!(
            "key `{key}`: credential `{name}`: {why}; add `LoadCredential={name}:/path/to/file` \
             (or `SetCredentialEncrypted={name}:…`) to the [Service] section of the .kube unit"
        ),
    ))
}

/// The credential names the Secrets of `objects` take keys from, for reading them before
/// planning. Lenient: malformed annotations are reported by the planner, with their location.
pub fn credential_names<'a>(objects: impl IntoIterator<Item = &'a Object>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for obj in objects {
        let crate::kube::Resource::Secret(s) = &obj.resource else {
            continue;
        };
        let Some(text) = s.metadata.annotations.get(CREDENTIALS_ANNOTATION) else {
            continue;
        };
        for (_, name) in entries(text) {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// One Podman secret per key of every Secret in the YAML whose value quadplay knows (from the
/// YAML or a credential): `down` must know every name, and creating an unreferenced one costs
/// nothing. Keys naming an existing Podman secret become [`PodmanSecretRef`]s instead: checked
/// to exist before anything is created, never created or removed; one that has the name of a
/// secret quadplay creates (and `down` removes) is refused.
pub(super) fn secret_plans(
    ctx: &Ctx,
) -> Result<(Vec<SecretPlan>, Vec<PodmanSecretRef>), PlanError> {
    let mut out: Vec<SecretPlan> = Vec::new();
    let mut refs: Vec<PodmanSecretRef> = Vec::new();
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    for (name, (obj, _)) in &ctx.secrets {
        for (key, value) in &ctx.secret_keys[*name] {
            match value {
                KeyValue::Bytes(data, source) => {
                    let podman = secret_name(name, key);
                    if let Some(other) = owners.insert(podman.clone(), format!("{name}/{key}")) {
                        return Err(invalid(
                            obj,
                            "metadata.name",
                            format!(
                                "key `{key}` maps to Podman secret `{podman}`, as {other} does; rename one"
                            ),
                        ));
                    }
                    out.push(SecretPlan {
                        name: podman,
                        data: data.clone(),
                        source: source.clone(),
                    });
                }
                KeyValue::Podman(podman) => {
                    let field = annotation_field(PODMAN_SECRETS_ANNOTATION);
                    if !refs.iter().any(|r| r.name == *podman) {
                        refs.push(PodmanSecretRef {
                            name: podman.clone(),
                            origin: Origin {
                                location: obj.location(&field),
                                object: obj.describe(),
                                field,
                            },
                        });
                    }
                }
            }
        }
    }
    for r in &refs {
        if let Some(owner) = owners.get(&r.name) {
            return Err(PlanError::Invalid {
                location: r.origin.location.clone(),
                object: r.origin.object.clone(),
                field: r.origin.field.clone(),
                message: format!(
                    "Podman secret `{}` is also the name quadplay gives key {owner} (and removes \
                     at stop); rename one",
                    r.name
                ),
            });
        }
    }
    Ok((out, refs))
}
