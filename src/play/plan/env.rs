//! A container's environment in Kubernetes precedence, and `$(VAR)` expansion.
//!
//! Order and precedence: `envFrom` sources in order, then `env` entries in order; a later
//! definition of a name replaces the earlier value in place. `$(VAR)` in an `env` value is
//! expanded against what is defined before it, as Kubernetes does (Podman does not: its #24181).
//! Values from Secrets never become plain values: they stay references to Podman secrets, so
//! they cannot be expanded into other variables or into an argv.

use super::context::{invalid, Ctx, PlanError, Workload};
use super::secrets::{secret_name, KeyValue};
use crate::kube::model::{Container, EnvVar, EnvVarSource};
use crate::kube::quantity::Quantity;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum EnvValue {
    Plain(String),
    /// A Podman secret name (see [`secret_name`]).
    Secret(String),
}

struct EnvList(Vec<(String, EnvValue)>);

impl EnvList {
    fn set(&mut self, name: String, value: EnvValue) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    fn plain(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter_map(|(n, v)| match v {
                EnvValue::Plain(s) => Some((n.clone(), s.clone())),
                EnvValue::Secret(_) => None,
            })
            .collect()
    }
}

/// The final environment of container `c` (at YAML path `path`) in pod `pod`.
pub(super) fn resolve(
    ctx: &mut Ctx,
    w: &Workload,
    pod: &str,
    c: &Container,
    path: &str,
) -> Result<Vec<(String, EnvValue)>, PlanError> {
    let mut list = EnvList(Vec::new());
    for (i, from) in c.env_from.iter().enumerate() {
        let field = format!("{path}.envFrom[{i}]");
        env_from(ctx, w, from, &field, &mut list)?;
    }
    for (i, var) in c.env.iter().enumerate() {
        let field = format!("{path}.env[{i}]");
        if var.name.is_empty() || var.name.contains('=') {
            return Err(invalid(
                w.obj,
                &format!("{field}.name"),
                "not a valid variable name",
            ));
        }
        if let Some(value) = env_var(ctx, w, pod, c, var, &field, &list)? {
            list.set(var.name.clone(), value);
        }
    }
    Ok(list.0)
}

fn env_from(
    ctx: &mut Ctx,
    w: &Workload,
    from: &crate::kube::model::EnvFromSource,
    field: &str,
    list: &mut EnvList,
) -> Result<(), PlanError> {
    let prefix = from.prefix.clone().unwrap_or_default();
    match (&from.config_map_ref, &from.secret_ref) {
        (Some(r), None) => match ctx.configmaps.get(r.name.as_str()) {
            Some((_, cm)) => {
                for (k, v) in &cm.data {
                    add_from(
                        ctx,
                        w,
                        field,
                        list,
                        format!("{prefix}{k}"),
                        EnvValue::Plain(v.clone()),
                    );
                }
            }
            None if ctx.optional(r.optional) => {}
            None => {
                return Err(invalid(
                    w.obj,
                    &format!("{field}.configMapRef.name"),
                    format!("no ConfigMap `{}` in the YAML or --configmap files", r.name),
                ))
            }
        },
        (None, Some(r)) => match ctx.secret_keys.get(r.name.as_str()) {
            Some(keys) => {
                let values: Vec<(String, EnvValue)> = keys
                    .iter()
                    .map(|(k, v)| (format!("{prefix}{k}"), secret_env(&r.name, k, v)))
                    .collect();
                for (name, value) in values {
                    add_from(ctx, w, field, list, name, value);
                }
            }
            None if ctx.optional(r.optional) => {}
            None => {
                return Err(invalid(
                    w.obj,
                    &format!("{field}.secretRef.name"),
                    format!("no Secret `{}` in the YAML", r.name),
                ))
            }
        },
        _ => {
            return Err(invalid(
                w.obj,
                field,
                "needs exactly one of configMapRef, secretRef",
            ))
        }
    }
    Ok(())
}

/// The Podman secret behind key `key` of Secret `secret`: the one quadplay creates for it, or
/// the existing one it names.
fn secret_env(secret: &str, key: &str, value: &KeyValue) -> EnvValue {
    match value {
        KeyValue::Bytes(..) => EnvValue::Secret(secret_name(secret, key)),
        KeyValue::Podman(name) => EnvValue::Secret(name.clone()),
    }
}

/// Keys that are not variable names are skipped with a warning, as the kubelet does.
fn add_from(
    ctx: &mut Ctx,
    w: &Workload,
    field: &str,
    list: &mut EnvList,
    name: String,
    value: EnvValue,
) {
    if name.is_empty() || name.contains('=') || name.contains('\0') {
        ctx.warn(
            w.obj,
            field,
            format!("key `{name}` is not a valid variable name, skipped"),
        );
    } else {
        list.set(name, value);
    }
}

/// The value of one `env` entry; `None` when an optional reference is missing (unset).
fn env_var(
    ctx: &Ctx,
    w: &Workload,
    pod: &str,
    c: &Container,
    var: &EnvVar,
    field: &str,
    list: &EnvList,
) -> Result<Option<EnvValue>, PlanError> {
    let Some(from) = &var.value_from else {
        let value = var.value.as_deref().unwrap_or_default();
        return Ok(Some(EnvValue::Plain(expand(value, &list.plain()))));
    };
    if var.value.is_some() {
        return Err(invalid(w.obj, field, "value and valueFrom are exclusive"));
    }
    let field = format!("{field}.valueFrom");
    value_from(ctx, w, pod, c, from, &field)
}

fn value_from(
    ctx: &Ctx,
    w: &Workload,
    pod: &str,
    c: &Container,
    from: &EnvVarSource,
    field: &str,
) -> Result<Option<EnvValue>, PlanError> {
    let sources = [
        from.config_map_key_ref.is_some(),
        from.secret_key_ref.is_some(),
        from.field_ref.is_some(),
        from.resource_field_ref.is_some(),
    ];
    if sources.iter().filter(|s| **s).count() != 1 {
        return Err(invalid(
            w.obj,
            field,
            "needs exactly one of configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef",
        ));
    }
    if let Some(r) = &from.config_map_key_ref {
        let field = format!("{field}.configMapKeyRef");
        let value = ctx
            .configmaps
            .get(r.name.as_str())
            .and_then(|(_, cm)| cm.data.get(&r.key));
        return match value {
            Some(v) => Ok(Some(EnvValue::Plain(v.clone()))),
            None if ctx.optional(r.optional) => Ok(None),
            None if ctx.configmaps.contains_key(r.name.as_str()) => Err(invalid(
                w.obj,
                &format!("{field}.key"),
                format!("ConfigMap `{}` has no key `{}` in data", r.name, r.key),
            )),
            None => Err(invalid(
                w.obj,
                &format!("{field}.name"),
                format!("no ConfigMap `{}` in the YAML or --configmap files", r.name),
            )),
        };
    }
    if let Some(r) = &from.secret_key_ref {
        let field = format!("{field}.secretKeyRef");
        let keys = ctx.secret_keys.get(r.name.as_str());
        return match keys.map(|k| k.get(&r.key)) {
            Some(Some(v)) => Ok(Some(secret_env(&r.name, &r.key, v))),
            _ if ctx.optional(r.optional) => Ok(None),
            Some(_) => Err(invalid(
                w.obj,
                &format!("{field}.key"),
                format!("Secret `{}` has no key `{}`", r.name, r.key),
            )),
            None => Err(invalid(
                w.obj,
                &format!("{field}.name"),
                format!("no Secret `{}` in the YAML", r.name),
            )),
        };
    }
    if let Some(f) = &from.field_ref {
        return field_ref(
            ctx,
            w,
            pod,
            &f.field_path,
            &format!("{field}.fieldRef.fieldPath"),
        )
        .map(|v| Some(EnvValue::Plain(v)));
    }
    if let Some(r) = &from.resource_field_ref {
        return resource_field_ref(w, c, r, &format!("{field}.resourceFieldRef"))
            .map(|v| Some(EnvValue::Plain(v)));
    }
    Ok(None)
}

/// The Downward API fields that are known before the pod exists.
fn field_ref(
    ctx: &Ctx,
    w: &Workload,
    pod: &str,
    path: &str,
    field: &str,
) -> Result<String, PlanError> {
    let meta = w.template_meta;
    let key = |prefix: &str| {
        path.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix("']"))
            .map(str::to_string)
    };
    if let Some(k) = key("metadata.labels['") {
        return Ok(meta.labels.get(&k).cloned().unwrap_or_default());
    }
    if let Some(k) = key("metadata.annotations['") {
        let mut annotations = meta.annotations.clone();
        annotations.extend(w.meta.annotations.clone());
        return Ok(annotations.get(&k).cloned().unwrap_or_default());
    }
    match path {
        "metadata.name" => Ok(pod.to_string()),
        "metadata.namespace" => Ok(w
            .meta
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string())),
        "metadata.uid" => Ok(pseudo_uid(&ctx.app, pod)),
        "status.podIP"
        | "status.podIPs"
        | "status.hostIP"
        | "status.hostIPs"
        | "spec.nodeName"
        | "spec.serviceAccountName" => Err(invalid(
            w.obj,
            field,
            format!("`{path}` is not known before the pod runs on a single host; not supported"),
        )),
        _ => Err(invalid(
            w.obj,
            field,
            format!("`{path}` is not a supported fieldPath"),
        )),
    }
}

/// A stable UUID-shaped id for a pod: the same across restarts of the same app, as a uid
/// that identifies the pod should be; Podman's pod ID is not known when planning.
fn pseudo_uid(app: &str, pod: &str) -> String {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4;
    for byte in app.bytes().chain([0]).chain(pod.bytes()) {
        a = (a ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        b = (b ^ u64::from(byte))
            .wrapping_mul(0x0000_0100_0000_01b3)
            .rotate_left(7);
    }
    let h = format!("{a:016x}{b:016x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn resource_field_ref(
    w: &Workload,
    c: &Container,
    r: &crate::kube::model::ResourceFieldRef,
    field: &str,
) -> Result<String, PlanError> {
    let target = match r.container_name.as_deref().filter(|n| !n.is_empty()) {
        None => c,
        Some(name) => w
            .spec
            .containers
            .iter()
            .chain(&w.spec.init_containers)
            .find(|x| x.name == name)
            .ok_or_else(|| {
                invalid(
                    w.obj,
                    &format!("{field}.containerName"),
                    format!("no container `{name}`"),
                )
            })?,
    };
    let (section, key) = r
        .resource
        .split_once('.')
        .filter(|(s, k)| matches!(*s, "limits" | "requests") && matches!(*k, "cpu" | "memory"))
        .ok_or_else(|| {
            invalid(
                w.obj,
                &format!("{field}.resource"),
                format!(
                    "`{}` is not limits.cpu, limits.memory, requests.cpu or requests.memory",
                    r.resource
                ),
            )
        })?;
    let res = target.resources.clone().unwrap_or_default();
    // A missing request defaults to the limit, as in Kubernetes; a missing limit would be the
    // host's capacity, which a pure plan does not know.
    let text = match section {
        "requests" => res.requests.get(key).or_else(|| res.limits.get(key)),
        _ => res.limits.get(key),
    }
    .ok_or_else(|| {
        invalid(
            w.obj,
            &format!("{field}.resource"),
            format!("container `{}` sets no {section}.{key}", target.name),
        )
    })?;
    let bad = |m: String| invalid(w.obj, &format!("{field}.resource"), m);
    let q = Quantity::parse(text).map_err(bad)?;
    let divisor = Quantity::parse(r.divisor.as_deref().unwrap_or("1"))
        .map_err(|m| invalid(w.obj, &format!("{field}.divisor"), m))?;
    if divisor.is_zero() {
        return Err(invalid(w.obj, &format!("{field}.divisor"), "must not be 0"));
    }
    Ok(q.ceil_div(divisor).to_string())
}

/// Kubernetes `$(VAR)` expansion: defined names are replaced, `$$` is a literal `$`, anything
/// else (unknown names, unterminated references) is kept as written.
pub(super) fn expand(s: &str, env: &[(String, String)]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => {
                    let name = &inner[..end];
                    match env.iter().rev().find(|(n, _)| n == name) {
                        Some((_, v)) => out.push_str(v),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    out.push('$');
                    rest = after;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

pub(super) fn expand_all(v: &[String], env: &[(String, String)]) -> Vec<String> {
    v.iter().map(|s| expand(s, env)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_follows_kubernetes() {
        let env = vec![
            ("A".to_string(), "x".to_string()),
            ("B".to_string(), "y".to_string()),
        ];
        assert_eq!(expand("$(A)-$(B)", &env), "x-y");
        assert_eq!(expand("$$(A)", &env), "$(A)");
        assert_eq!(expand("$(C) $A $", &env), "$(C) $A $");
        assert_eq!(expand("$(A", &env), "$(A");
        assert_eq!(expand("a$$b", &env), "a$b");
    }

    #[test]
    fn pseudo_uid_is_stable_and_uuid_shaped() {
        let a = pseudo_uid("app", "web");
        assert_eq!(a, pseudo_uid("app", "web"));
        assert_ne!(a, pseudo_uid("app", "db"));
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }
}
