//! Translation of a loaded compose project into Kubernetes objects: one Pod (or Deployment) per
//! service, a PersistentVolumeClaim per named volume, a Secret per compose secret and a ConfigMap
//! per compose config. Every key not translated, or not fully, is a warning naming the file,
//! line, column and key path (`compose.yaml:12:5: services.web.build: ...`).
//!
//! By concern: [`ctx`] (state and typed readers), [`service`] (a service's keys → its pod),
//! [`env`], [`ports`], [`volumes`], [`secrets`], [`health`] (probes and start order),
//! [`runtime`] (deploy, restart, user, network keys); the objects are [`super::objects`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::load::Project;
use super::objects::{Object, PersistentVolumeClaim};
use super::tree::{At, Entry, Item};
use super::{ComposeError, Converted};

mod ctx;
mod env;
mod health;
mod ports;
mod runtime;
mod secrets;
mod service;
mod volumes;

use ctx::Ctx;
#[cfg(test)]
pub(crate) use env::split_shell;
#[cfg(test)]
pub(crate) use runtime::duration_secs;
use service::{convert_service, ServiceDoc};
use volumes::{declared_volumes, NamedVolume};

/// Translates a loaded project.
pub fn project(project: &Project) -> Result<Converted, ComposeError> {
    let mut ctx = Ctx {
        files: &project.files,
        dir: project.dir.clone(),
        env: &project.env,
        warnings: Vec::new(),
        notes: Vec::new(),
        used_volumes: BTreeSet::new(),
        extra: Vec::new(),
        host_ports: BTreeMap::new(),
        data_sources: BTreeMap::new(),
    };
    let root = &project.root;
    let start = At::default();
    let mut services = None;
    let mut volumes_decl: Vec<Entry> = Vec::new();
    for e in root.entries() {
        match e.key.as_str() {
            "services" => services = Some(e.clone()),
            "volumes" => volumes_decl = ctx.map(&e.value, "volumes")?.to_vec(),
            "secrets" | "configs" | "name" | "version" => {} // secrets/configs: read per service
            k if k.starts_with("x-") => {} // extension fields: for anchors, ignored by compose too
            "networks" => ctx.note(
                e.line,
                "networks",
                "every pod joins one shared bridge network and reaches the others by service name",
            ),
            other => ctx.warn(e.line, other, "not supported; ignored"),
        }
    }
    for (name, from) in &project.vars_used {
        if *from == "unset" {
            ctx.warnings.push(format!(
                "variable {name} is not set: an empty string was substituted"
            ));
        }
    }
    let substituted: Vec<String> = project
        .vars_used
        .iter()
        .filter(|(_, f)| **f != "unset" && **f != "defaulted")
        .map(|(n, f)| format!("{n} ({f})"))
        .collect();
    if !substituted.is_empty() {
        ctx.notes
            .push(format!("variables substituted: {}", substituted.join(", ")));
    }
    if !project.disabled.is_empty() {
        ctx.notes.push(format!(
            "services left out (no active profile enables them; --profile NAME or COMPOSE_PROFILES): {}",
            project.disabled.join(", ")
        ));
    }
    let Some(services) = services else {
        return Err(ctx.invalid(start, "services", "no services defined"));
    };
    let app = sanitize_name(&project.name);
    if app.is_empty() {
        return Err(ctx.invalid(
            start,
            "name",
            "cannot derive an application name; pass --name",
        ));
    }
    let named = declared_volumes(&mut ctx, &volumes_decl, &app)?;
    let entries = ctx.map(&services.value, "services")?.to_vec();
    if entries.is_empty() {
        return Err(ctx.invalid(services.line, "services", "no services defined"));
    }
    let names = service_names(&mut ctx, &entries, &app)?;
    let shared = Shared {
        app: &app,
        named: &named,
        names: &names,
        root,
        disabled: &project.disabled,
    };
    let mut docs = Vec::new();
    let mut deps = BTreeMap::new();
    for svc in &entries {
        let converted = convert_service(&mut ctx, svc, &shared)?;
        deps.insert(converted.name.clone(), converted.depends_on.clone());
        docs.push(converted);
    }
    refuse_colliding_pods(&ctx, &entries, &docs)?;
    let origins = service_origins(&ctx, &entries, &docs);
    health::check_completions(&mut ctx, &docs, &deps)?;
    let order = health::dependency_order(&mut ctx, &entries, &names, &deps)?;
    let first = project.files.first().cloned().unwrap_or_default();
    let mut yaml = format!(
        "# Kubernetes YAML for {app}, converted from {} by quadplay convert.\n",
        file_name(&first)
    );
    // Volumes given one name on purpose are one volume: one claim.
    let claims: BTreeSet<&str> = ctx
        .used_volumes
        .iter()
        .filter_map(|vol| named.get(vol))
        .map(|v| v.claim.as_str())
        .collect();
    let mut objects: Vec<Object> = claims
        .into_iter()
        .map(|c| Object::Claim(PersistentVolumeClaim::new(c)))
        .collect();
    objects.append(&mut ctx.extra);
    for name in order {
        if let Some(i) = docs.iter().position(|d| d.name == name) {
            objects.push(docs.swap_remove(i).doc);
        }
    }
    for doc in &objects {
        push_doc(&mut yaml, doc, &first)?;
    }
    let kube = kube_unit(&app, &first);
    Ok(Converted {
        name: app,
        yaml,
        objects,
        kube,
        warnings: ctx.warnings,
        notes: ctx.notes,
        origins,
    })
}

/// Each service's Pod/Deployment (`Pod/shop-web`) → where the service is written.
fn service_origins(
    ctx: &Ctx,
    entries: &[Entry],
    docs: &[ServiceDoc],
) -> BTreeMap<String, super::ServiceOrigin> {
    let mut out = BTreeMap::new();
    for (e, d) in entries.iter().zip(docs) {
        let object = match &d.doc {
            Object::Deployment(x) => {
                format!(
                    "Deployment/{}",
                    x.metadata.name.as_deref().unwrap_or_default()
                )
            }
            Object::Pod(x) => format!("Pod/{}", x.metadata.name.as_deref().unwrap_or_default()),
            _ => continue,
        };
        let origin = super::ServiceOrigin {
            file: ctx.path(e.line),
            key: format!("services.{}", e.key),
            line: e.line,
            keys: e
                .value
                .entries()
                .iter()
                .map(|k| (k.key.clone(), k.line))
                .collect(),
        };
        out.insert(object, origin);
    }
    out
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What every service's translation reads: the app name, named volumes, the name each service
/// gets, the project tree (for top-level secrets and configs).
struct Shared<'a> {
    app: &'a str,
    named: &'a BTreeMap<String, NamedVolume>,
    /// Compose service name → its DNS-1123 name (distinct for every service).
    names: &'a BTreeMap<String, String>,
    root: &'a Item,
    disabled: &'a [String],
}

/// Gives every service a distinct DNS-1123 name whose pod name (`<app>-<name>`, cut to 63
/// characters) is distinct too: its own when valid, else the sanitized form, with `-2`, `-3`...
/// when two services would collapse to one name (`a-b`, `a_b`, `A-B`, or long names that differ
/// only past the 63rd character of the pod name), and `service-N` when nothing is left (`!!!`).
/// Compose's own name stays reachable as a network alias. Nothing is dropped.
fn service_names(
    ctx: &mut Ctx,
    entries: &[Entry],
    app: &str,
) -> Result<BTreeMap<String, String>, ComposeError> {
    let pod = |name: &str| sanitize_name(&format!("{app}-{name}"));
    let mut pods = BTreeSet::new();
    let mut out = BTreeMap::new();
    let mut rest = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if sanitize_name(&e.key) == e.key && pods.insert(pod(&e.key)) {
            out.insert(e.key.clone(), e.key.clone());
        } else {
            rest.push((i, e));
        }
    }
    for (i, e) in rest {
        let key = format!("services.{}", e.key);
        let mut base = sanitize_name(&e.key);
        if base.is_empty() {
            base = format!("service-{}", i + 1);
        }
        let base: String = base.chars().take(56).collect();
        let mut name = base.trim_end_matches('-').to_string();
        let mut n = 2;
        while !pods.insert(pod(&name)) {
            name = suffixed(&base, app, n).ok_or_else(|| {
                ctx.invalid(e.line, &key, format!("the application name {app} leaves no room for a distinct pod name (<app>-<service>, at most 63 characters): pass a shorter --name"))
            })?;
            n += 1;
        }
        ctx.note(
            e.line,
            &key,
            format!(
                "named {name} in Kubernetes (a DNS-1123 name); {:?} stays reachable as a network alias",
                e.key
            ),
        );
        out.insert(e.key.clone(), name);
    }
    Ok(out)
}

/// `base` cut so that `<app>-<base>-<n>` fits in 63 characters, then `-<n>`; None when no
/// character of `base` fits.
fn suffixed(base: &str, app: &str, n: usize) -> Option<String> {
    let suffix = format!("-{n}");
    let room = 63usize.checked_sub(app.len() + 1 + suffix.len())?;
    let cut: String = base.chars().take(room).collect();
    let cut = cut.trim_end_matches('-');
    (!cut.is_empty()).then(|| format!("{cut}{suffix}"))
}

/// A replicated service's pods are `<app>-<name>-pod-<i>` (as the executor names a
/// Deployment's pods), which another service's pod can be (`web` ×2 and `web-pod-1`): an error
/// at the later service, where the executor would only refuse the whole YAML.
fn refuse_colliding_pods(
    ctx: &Ctx,
    entries: &[Entry],
    docs: &[ServiceDoc],
) -> Result<(), ComposeError> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (e, d) in entries.iter().zip(docs) {
        let pods: Vec<String> = match &d.doc {
            Object::Deployment(x) => {
                let name = x.metadata.name.clone().unwrap_or_default();
                (0..x.spec.replicas)
                    .map(|i| format!("{name}-pod-{i}"))
                    .collect()
            }
            Object::Pod(x) => x.metadata.name.iter().cloned().collect(),
            _ => Vec::new(),
        };
        for p in pods {
            if let Some(other) = seen.insert(p.clone(), &e.key) {
                return Err(ctx.invalid(e.line, &format!("services.{}", e.key), format!(
                    "its pod {p} would also be a pod of service {other:?} (a Deployment's pods are <name>-pod-<i>); rename one"
                )));
            }
        }
    }
    Ok(())
}

fn push_doc(out: &mut String, doc: &Object, path: &Path) -> Result<(), ComposeError> {
    let text = serde_saphyr::to_string(doc).map_err(|e| ComposeError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    out.push_str("---\n");
    out.push_str(&text);
    if !text.ends_with('\n') {
        out.push('\n');
    }
    Ok(())
}

/// A DNS-1123 label: lower case, digits and `-`, at most 63 characters, no leading/trailing `-`.
pub(crate) fn sanitize_name(raw: &str) -> String {
    let mut out: String = raw
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    let trimmed: String = out.trim_matches('-').chars().take(63).collect();
    trimmed.trim_end_matches('-').to_string()
}

/// The `.kube` unit that runs the YAML: started with the user's manager (and at boot with
/// lingering) through `[Install] WantedBy=default.target`.
fn kube_unit(app: &str, compose: &Path) -> String {
    format!(
        "# {app}: converted from {} by quadplay convert.\n\
         [Unit]\n\
         Description={app} (one pod per compose service)\n\
         \n\
         [Kube]\n\
         Yaml={app}.yaml\n\
         \n\
         [Service]\n\
         # The first start pulls the images, which can take longer than systemd's default 90 s.\n\
         TimeoutStartSec=900\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
        compose
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    )
}
