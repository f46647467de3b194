//! Translation of a loaded compose project into Kubernetes objects: one Pod (or Deployment) per
//! service, a PersistentVolumeClaim per named volume, a Secret per compose secret and a ConfigMap
//! per compose config. Every key not translated, or not fully, is a warning naming the file,
//! line, column and key path (`compose.yaml:12:5: services.web.build: ...`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::load::{normalize, read_regular, Project, MAX_FILE_BYTES};
use super::tree::{At, Entry, Item, Node};
use super::{dotenv, ComposeError, Converted};
// The workload annotation naming the workloads whose pods quadplay starts first; plain Kubernetes
// ignores it.
// More DNS names of a workload's pods (compose's service name when Kubernetes forbids it,
// `container_name`, network aliases): quadplay's executor adds them as network aliases.
use crate::plan::{AFTER_ANNOTATION, ALIASES_ANNOTATION};

mod secrets;
mod service;

use service::{convert_service, Parts};

/// The converter's state: the project's files, its variables and what it has warned about.
struct Ctx<'a> {
    files: &'a [PathBuf],
    dir: PathBuf,
    env: &'a BTreeMap<String, String>,
    warnings: Vec<String>,
    notes: Vec<String>,
}

impl Ctx<'_> {
    fn path(&self, at: At) -> PathBuf {
        self.files
            .get(usize::from(at.file))
            .cloned()
            .unwrap_or_default()
    }

    fn warn(&mut self, line: At, key: &str, message: impl fmt::Display) {
        let path = self.path(line);
        self.warnings
            .push(format!("{}:{line}: {key}: {message}", path.display()));
    }

    fn note(&mut self, line: At, key: &str, message: impl fmt::Display) {
        let path = self.path(line);
        self.notes
            .push(format!("{}:{line}: {key}: {message}", path.display()));
    }

    fn invalid(&self, line: At, key: &str, message: impl fmt::Display) -> ComposeError {
        ComposeError::Invalid {
            path: self.path(line),
            line,
            key: key.to_string(),
            message: message.to_string(),
        }
    }

    /// A scalar as text (interpolation was done when the file was loaded).
    fn string(&mut self, item: &Item, key: &str) -> Result<String, ComposeError> {
        item.node.scalar().ok_or_else(|| {
            self.invalid(
                item.line,
                key,
                format!("expected a string, found {}", item.node.type_name()),
            )
        })
    }

    /// A whole number (compose casts strings such as an interpolated `"3"`).
    fn int(&mut self, item: &Item, key: &str) -> Result<i64, ComposeError> {
        match &item.node {
            Node::Int(i) => Ok(*i),
            Node::Str(s) => s.trim().parse().map_err(|_| {
                self.invalid(
                    item.line,
                    key,
                    format!("expected a whole number, found {s:?}"),
                )
            }),
            other => Err(self.invalid(
                item.line,
                key,
                format!("expected a whole number, found {}", other.type_name()),
            )),
        }
    }

    fn map<'n>(&self, item: &'n Item, key: &str) -> Result<&'n [Entry], ComposeError> {
        match &item.node {
            Node::Map(entries) => Ok(entries),
            Node::Null => Ok(&[]),
            other => Err(self.invalid(
                item.line,
                key,
                format!("expected a mapping, found {}", other.type_name()),
            )),
        }
    }

    fn bool(&self, item: &Item, key: &str) -> Result<bool, ComposeError> {
        match &item.node {
            Node::Bool(b) => Ok(*b),
            Node::Str(s) if s == "true" || s == "false" => Ok(s == "true"),
            other => Err(self.invalid(
                item.line,
                key,
                format!("expected true or false, found {}", other.type_name()),
            )),
        }
    }

    /// A string or a list of strings (compose accepts both for many keys).
    fn strings(&mut self, item: &Item, key: &str) -> Result<Vec<String>, ComposeError> {
        match &item.node {
            Node::Seq(items) => items
                .iter()
                .enumerate()
                .map(|(i, it)| self.string(it, &format!("{key}[{i}]")))
                .collect(),
            Node::Null => Ok(Vec::new()),
            _ => Ok(vec![self.string(item, key)?]),
        }
    }
}

/// Translates a loaded project.
pub fn project(project: &Project) -> Result<Converted, ComposeError> {
    let mut ctx = Ctx {
        files: &project.files,
        dir: project.dir.clone(),
        env: &project.env,
        warnings: Vec::new(),
        notes: Vec::new(),
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
    let names = service_names(&mut ctx, &entries, &project.disabled)?;
    let shared = Shared {
        app: &app,
        named: &named,
        names: &names,
        root,
        disabled: &project.disabled,
    };
    let mut docs = Vec::new();
    let mut used_volumes = BTreeSet::new();
    let mut extra_docs = Vec::new();
    let mut deps = BTreeMap::new();
    for svc in &entries {
        let converted =
            convert_service(&mut ctx, svc, &shared, &mut used_volumes, &mut extra_docs)?;
        deps.insert(converted.name.clone(), converted.depends_on.clone());
        docs.push(converted);
    }
    let order = dependency_order(&mut ctx, &entries, &names, &deps)?;
    let first = project.files.first().cloned().unwrap_or_default();
    let mut yaml = format!(
        "# Kubernetes YAML for {app}, converted from {} by quadplay convert.\n",
        file_name(&first)
    );
    let mut objects: Vec<Value> = used_volumes
        .iter()
        .filter_map(|vol| named.get(vol).map(|v| pvc(&v.claim)))
        .collect();
    objects.extend(extra_docs);
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
    })
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

/// Gives every service a distinct DNS-1123 name: its own when valid, else the sanitized form,
/// with `-2`, `-3`... when two services would collapse to one name (`a-b`, `a_b`, `A-B`), and
/// `service-N` when nothing is left (`!!!`). Compose's own name stays reachable as a network
/// alias. Nothing is dropped.
fn service_names(
    ctx: &mut Ctx,
    entries: &[Entry],
    _disabled: &[String],
) -> Result<BTreeMap<String, String>, ComposeError> {
    let mut taken: BTreeSet<String> = entries
        .iter()
        .filter(|e| sanitize_name(&e.key) == e.key)
        .map(|e| e.key.clone())
        .collect();
    let mut out = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        if sanitize_name(&e.key) == e.key {
            out.insert(e.key.clone(), e.key.clone());
            continue;
        }
        let mut base = sanitize_name(&e.key);
        if base.is_empty() {
            base = format!("service-{}", i + 1);
        }
        let base: String = base.chars().take(56).collect();
        let mut name = base.trim_end_matches('-').to_string();
        let mut n = 2;
        while taken.contains(&name) {
            name = format!("{}-{n}", base.trim_end_matches('-'));
            n += 1;
        }
        taken.insert(name.clone());
        ctx.note(
            e.line,
            &format!("services.{}", e.key),
            format!(
                "named {name} in Kubernetes (a DNS-1123 name); {:?} stays reachable as a network alias",
                e.key
            ),
        );
        out.insert(e.key.clone(), name);
    }
    Ok(out)
}

fn push_doc(out: &mut String, doc: &Value, path: &Path) -> Result<(), ComposeError> {
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

/// A top-level named volume: the claim (Podman volume) name it becomes.
struct NamedVolume {
    claim: String,
}

fn declared_volumes(
    ctx: &mut Ctx,
    decl: &[Entry],
    app: &str,
) -> Result<BTreeMap<String, NamedVolume>, ComposeError> {
    let mut out = BTreeMap::new();
    for v in decl {
        let key = format!("volumes.{}", v.key);
        // Compose names volumes `<project>_<volume>`; a claim name must be DNS-1123, so `-`.
        let mut claim = sanitize_name(&format!("{app}-{}", v.key));
        for e in ctx.map(&v.value, &key)?.to_vec() {
            let k = format!("{key}.{}", e.key);
            match e.key.as_str() {
                "name" => claim = sanitize_name(&ctx.string(&e.value, &k)?),
                "external" => {
                    if ctx.bool(&e.value, &k)? {
                        claim = sanitize_name(&v.key);
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
        out.insert(v.key.clone(), NamedVolume { claim });
    }
    Ok(out)
}

fn pvc(claim: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": claim},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}}
        }
    })
}

/// Kubernetes expands `$(VAR)` in env values, command and args; compose does not.
fn escape_k8s_vars(s: &str) -> String {
    s.replace("$(", "$$(")
}

fn command_words(ctx: &mut Ctx, v: &Item, key: &str) -> Result<Vec<String>, ComposeError> {
    let words = match &v.node {
        Node::Seq(_) => ctx.strings(v, key)?,
        Node::Null => Vec::new(),
        _ => {
            let s = ctx.string(v, key)?;
            split_shell(&s).map_err(|m| ctx.invalid(v.line, key, m))?
        }
    };
    Ok(words.iter().map(|w| escape_k8s_vars(w)).collect())
}

/// Splits a command string as compose does (POSIX shell words: quotes and backslashes, no
/// expansion).
pub(crate) fn split_shell(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\' | '$' | '`')) => cur.push(x),
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(x) => cur.push(x),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(x) => cur.push(x),
                    None => return Err("trailing backslash".into()),
                }
            }
            _ => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// `environment:` as a mapping or a list of `K=V`/`K`. A bare `K` takes the value from the
/// environment of `quadplay convert` (as compose does at `up`), with a warning.
fn environment(ctx: &mut Ctx, v: &Item, key: &str) -> Result<Vec<(String, String)>, ComposeError> {
    let mut out = Vec::new();
    match &v.node {
        Node::Map(entries) => {
            for e in entries {
                let k = format!("{key}.{}", e.key);
                match &e.value.node {
                    Node::Null => out.extend(from_host_env(ctx, &e.key, e.line, &k)),
                    _ => out.push((e.key.clone(), ctx.string(&e.value, &k)?)),
                }
            }
        }
        Node::Seq(items) => {
            for (i, it) in items.iter().enumerate() {
                let k = format!("{key}[{i}]");
                let s = ctx.string(it, &k)?;
                match s.split_once('=') {
                    Some((name, val)) => out.push((name.to_string(), val.to_string())),
                    None => out.extend(from_host_env(ctx, &s, it.line, &k)),
                }
            }
        }
        Node::Null => {}
        other => {
            return Err(ctx.invalid(
                v.line,
                key,
                format!("expected a mapping or a list, found {}", other.type_name()),
            ))
        }
    }
    Ok(out)
}

fn from_host_env(ctx: &mut Ctx, name: &str, line: At, key: &str) -> Option<(String, String)> {
    match ctx.env.get(name).cloned() {
        Some(val) => {
            ctx.note(
                line,
                key,
                format!("{name} has no value: took it from the environment or .env"),
            );
            Some((name.to_string(), val))
        }
        None => {
            ctx.warn(
                line,
                key,
                format!("{name} has no value and is not set here; left out"),
            );
            None
        }
    }
}

/// `env_file:` entries read now, by compose's dotenv rules (`format: raw` takes lines as they
/// are); a missing file is an error unless `required: false`.
fn env_files(ctx: &mut Ctx, v: &Item, key: &str) -> Result<Vec<(String, String)>, ComposeError> {
    let items: Vec<Item> = match &v.node {
        Node::Seq(items) => items.clone(),
        _ => vec![v.clone()],
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let k = format!("{key}[{i}]");
        let (mut path, mut required, mut raw) = (None, true, false);
        match &it.node {
            Node::Map(entries) => {
                for e in entries {
                    let ek = format!("{k}.{}", e.key);
                    match e.key.as_str() {
                        "path" => path = Some(ctx.string(&e.value, &ek)?),
                        "required" => required = ctx.bool(&e.value, &ek)?,
                        "format" => raw = ctx.string(&e.value, &ek)? == "raw",
                        _ => ctx.warn(e.line, &ek, "not supported; ignored"),
                    }
                }
            }
            _ => path = Some(ctx.string(it, &k)?),
        }
        let path = path.ok_or_else(|| ctx.invalid(it.line, &k, "no path"))?;
        let file = normalize(&ctx.dir.join(&path));
        if !required && !file.exists() {
            ctx.note(
                it.line,
                &k,
                format!(
                    "{} does not exist; skipped (required: false)",
                    file.display()
                ),
            );
            continue;
        }
        let text = read_regular(&file, MAX_FILE_BYTES)
            .map_err(|e| ctx.invalid(it.line, &k, format!("{}: {e}", file.display())))?;
        let pairs = if raw {
            text.lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .filter_map(|l| {
                    l.split_once('=')
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                })
                .collect()
        } else {
            dotenv::parse(&text, ctx.env).map_err(|e| {
                ctx.invalid(
                    it.line,
                    &k,
                    format!("{}:{}: {}", file.display(), e.line, e.message),
                )
            })?
        };
        out.extend(pairs);
    }
    Ok(out)
}

/// Kubernetes precedence is "later wins"; compose's `environment` overrides `env_file`.
fn merge_env(file: Vec<(String, String)>, inline: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in file.into_iter().chain(inline) {
        if let Some(slot) = out.iter_mut().find(|(name, _)| *name == k) {
            slot.1 = v;
        } else {
            out.push((k, v));
        }
    }
    out
}

/// One `ports:` entry → containerPort entries (a range gives several).
fn port(ctx: &mut Ctx, it: &Item, key: &str) -> Result<Vec<Value>, ComposeError> {
    if let Node::Map(entries) = &it.node {
        return long_port(ctx, entries, it.line, key);
    }
    let spec = ctx.string(it, key)?;
    let (spec, proto) = match spec.rsplit_once('/') {
        Some((s, p)) => (s.to_string(), p.to_uppercase()),
        None => (spec.clone(), "TCP".to_string()),
    };
    if proto != "TCP" && proto != "UDP" && proto != "SCTP" {
        return Err(ctx.invalid(it.line, key, format!("unknown protocol {proto:?}")));
    }
    let parts: Vec<&str> = spec.rsplitn(3, ':').collect();
    let (container, host, ip) = match parts.as_slice() {
        [c] => (*c, None, None),
        [c, h] => (*c, Some(*h), None),
        [c, h, ip] => (
            *c,
            Some(*h),
            Some(ip.trim_start_matches('[').trim_end_matches(']')),
        ),
        _ => return Err(ctx.invalid(it.line, key, format!("cannot read port {spec:?}"))),
    };
    let bad = |_| {
        ctx.invalid(
            it.line,
            key,
            format!("cannot read port {spec:?}: [[IP:]HOST:]CONTAINER[/PROTO] expected"),
        )
    };
    let containers = port_range(container).map_err(bad)?;
    let hosts = match host.filter(|h| !h.is_empty()) {
        Some(h) => Some(port_range(h).map_err(bad)?),
        None => None,
    };
    if hosts.as_ref().is_some_and(|h| h.len() != containers.len()) {
        return Err(ctx.invalid(
            it.line,
            key,
            "host and container port ranges differ in length",
        ));
    }
    if hosts.is_none() {
        ctx.warn(it.line, key, "a container port without a host port is not published (compose would pick a random host port); give HOST:CONTAINER to publish it");
    }
    let mut out = Vec::new();
    for (i, c) in containers.iter().enumerate() {
        let mut m = Map::new();
        m.insert("containerPort".into(), json!(c));
        if let Some(h) = hosts.as_ref().and_then(|h| h.get(i)) {
            m.insert("hostPort".into(), json!(h));
        }
        if let Some(ip) = ip.filter(|ip| !ip.is_empty()) {
            m.insert("hostIP".into(), json!(ip));
        }
        m.insert("protocol".into(), json!(proto));
        out.push(Value::Object(m));
    }
    Ok(out)
}

fn port_range(s: &str) -> Result<Vec<u16>, ()> {
    let parse = |x: &str| {
        x.trim()
            .parse::<u16>()
            .map_err(|_| ())
            .and_then(|p| if p == 0 { Err(()) } else { Ok(p) })
    };
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (parse(a)?, parse(b)?);
            if b < a {
                return Err(());
            }
            Ok((a..=b).collect())
        }
        None => Ok(vec![parse(s)?]),
    }
}

fn long_port(
    ctx: &mut Ctx,
    entries: &[Entry],
    line: At,
    key: &str,
) -> Result<Vec<Value>, ComposeError> {
    let mut m = Map::new();
    let mut proto = "TCP".to_string();
    for e in entries {
        let k = format!("{key}.{}", e.key);
        match e.key.as_str() {
            "target" => {
                let s = ctx.string(&e.value, &k)?;
                let p = port_range(&s)
                    .ok()
                    .filter(|v| v.len() == 1)
                    .ok_or_else(|| ctx.invalid(e.line, &k, "expected a port number"))?;
                m.insert("containerPort".into(), json!(p[0]));
            }
            "published" => {
                let s = ctx.string(&e.value, &k)?;
                let p = port_range(&s)
                    .ok()
                    .filter(|v| v.len() == 1)
                    .ok_or_else(|| {
                        ctx.invalid(
                            e.line,
                            &k,
                            "expected one port number (ranges only in the short syntax)",
                        )
                    })?;
                m.insert("hostPort".into(), json!(p[0]));
            }
            "host_ip" => {
                m.insert("hostIP".into(), json!(ctx.string(&e.value, &k)?));
            }
            "protocol" => proto = ctx.string(&e.value, &k)?.to_uppercase(),
            "mode" | "name" | "app_protocol" => {}
            other => ctx.warn(e.line, &k, format!("{other} is not supported; ignored")),
        }
    }
    if !m.contains_key("containerPort") {
        return Err(ctx.invalid(line, key, "no target port"));
    }
    m.insert("protocol".into(), json!(proto));
    Ok(vec![Value::Object(m)])
}

/// One `volumes:` entry of a service: a named volume (→ PVC), a bind mount (→ hostPath typed by
/// what the source is now) or an anonymous volume (→ emptyDir).
#[allow(clippy::too_many_arguments)]
fn volume(
    ctx: &mut Ctx,
    p: &mut Parts,
    it: &Item,
    key: &str,
    svc: &str,
    index: usize,
    named: &BTreeMap<String, NamedVolume>,
    used_volumes: &mut BTreeSet<String>,
) -> Result<(), ComposeError> {
    let spec = match &it.node {
        Node::Map(entries) => long_volume(ctx, entries, it.line, key)?,
        _ => short_volume(ctx, it, key)?,
    };
    let vol_name = format!("{svc}-vol-{index}");
    match spec.kind.as_str() {
        "volume" => {
            let src = spec.source.clone().unwrap_or_default();
            let Some(v) = named.get(&src) else {
                return Err(ctx.invalid(
                    it.line,
                    key,
                    format!("named volume {src:?} is not declared under the top-level volumes:"),
                ));
            };
            used_volumes.insert(src.clone());
            p.volumes
                .push(json!({"name": vol_name, "persistentVolumeClaim": {"claimName": v.claim}}));
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
            p.volumes.push(json!({"name": vol_name, "hostPath": {"path": path.to_string_lossy(), "type": kind}}));
        }
        "anonymous" => p.volumes.push(json!({"name": vol_name, "emptyDir": {}})),
        "tmpfs" => p
            .volumes
            .push(json!({"name": vol_name, "emptyDir": {"medium": "Memory"}})),
        other => {
            return Err(ctx.invalid(
                it.line,
                key,
                format!("volume type {other:?} is not supported"),
            ))
        }
    }
    let mut mount = Map::new();
    mount.insert("name".into(), json!(vol_name));
    mount.insert("mountPath".into(), json!(spec.target));
    if spec.read_only {
        mount.insert("readOnly".into(), json!(true));
    }
    p.mounts.push(Value::Object(mount));
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
pub(crate) fn host_path_type(path: &Path, create: bool) -> Option<&'static str> {
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

/// `depends_on` (a list, or a mapping with `condition`/`required`) → the services this one
/// starts after, by their Kubernetes names. A dependency left out by profiles is an error unless
/// `required: false`.
fn depends_on(
    ctx: &mut Ctx,
    v: &Item,
    key: &str,
    sh: &Shared,
) -> Result<Vec<(String, At)>, ComposeError> {
    let mut out = Vec::new();
    let list: Vec<(String, At, Option<Item>)> = match &v.node {
        Node::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, it)| Ok((ctx.string(it, &format!("{key}[{i}]"))?, it.line, None)))
            .collect::<Result<_, ComposeError>>()?,
        Node::Map(entries) => entries
            .iter()
            .map(|e| (e.key.clone(), e.line, Some(e.value.clone())))
            .collect(),
        other => {
            return Err(ctx.invalid(
                v.line,
                key,
                format!("expected a list or a mapping, found {}", other.type_name()),
            ))
        }
    };
    for (dep, line, opts) in list {
        let k = format!("{key}.{dep}");
        let mut required = true;
        if let Some(o) = &opts {
            for c in ctx.map(o, &k)?.to_vec() {
                let ck = format!("{k}.{}", c.key);
                match c.key.as_str() {
                    "condition" => {
                        let cond = ctx.string(&c.value, &ck)?;
                        match cond.as_str() {
                            "service_started" | "service_healthy" => {}
                            "service_completed_successfully" => ctx.warn(c.line, &ck, format!("{cond}: the pod starts once {dep} is running and ready, not once it has exited; make {dep}'s work part of this service's entrypoint if it must finish first")),
                            _ => return Err(ctx.invalid(c.value.line, &ck, format!("unknown condition {cond:?} (service_started, service_healthy, service_completed_successfully)"))),
                        }
                    }
                    "required" => required = ctx.bool(&c.value, &ck)?,
                    "restart" => ctx.note(
                        c.line,
                        &ck,
                        "not kept: a dependency's restart does not restart this service",
                    ),
                    _ => ctx.warn(c.line, &ck, "not supported; ignored"),
                }
            }
        }
        match sh.names.get(&dep) {
            Some(name) => out.push((name.clone(), line)),
            None if sh.disabled.contains(&dep) && !required => {}
            None if sh.disabled.contains(&dep) => {
                return Err(ctx.invalid(line, &k, format!("{dep} is not enabled by any active profile (enable its profile with --profile, or set required: false)")))
            }
            None => return Err(ctx.invalid(line, &k, format!("unknown service {dep:?}"))),
        }
    }
    Ok(out)
}

/// `deploy:` — replicas, resources (limits and reservations), restart_policy.
fn deploy(ctx: &mut Ctx, p: &mut Parts, v: &Item, key: &str) -> Result<(), ComposeError> {
    for e in ctx.map(v, key)?.to_vec() {
        let k = format!("{key}.{}", e.key);
        match e.key.as_str() {
            "replicas" => p.replicas = Some(service::replicas(ctx, &e.value, &k)?),
            "resources" => resources(ctx, p, &e.value, &k)?,
            "restart_policy" => {
                if let Some(c) = e.value.get("condition") {
                    let cond = ctx.string(c, &format!("{k}.condition"))?;
                    p.restart = Some(match cond.as_str() {
                        "none" => "Never",
                        "on-failure" => "OnFailure",
                        _ => "Always",
                    });
                }
                for x in e.value.entries() {
                    if x.key != "condition" {
                        ctx.warn(
                            x.line,
                            &format!("{k}.{}", x.key),
                            "not kept: Kubernetes restarts with its own back-off",
                        );
                    }
                }
            }
            "labels" => {
                for (lk, lv) in environment(ctx, &e.value, &k)? {
                    p.annotations.insert(lk, json!(lv));
                }
            }
            "mode" | "endpoint_mode" | "placement" | "update_config" | "rollback_config" => {
                ctx.note(e.line, &k, "swarm-only; nothing to do on one machine")
            }
            _ => ctx.warn(e.line, &k, "not supported; ignored"),
        }
    }
    Ok(())
}

fn resources(ctx: &mut Ctx, p: &mut Parts, v: &Item, key: &str) -> Result<(), ComposeError> {
    for e in ctx.map(v, key)?.to_vec() {
        let k = format!("{key}.{}", e.key);
        let target = match e.key.as_str() {
            "limits" => &mut p.limits,
            "reservations" => &mut p.requests,
            _ => {
                ctx.warn(e.line, &k, "not supported; ignored");
                continue;
            }
        };
        let mut found = Vec::new();
        for r in e.value.entries() {
            let rk = format!("{k}.{}", r.key);
            match r.key.as_str() {
                "cpus" => found.push(("cpu", ctx.string(&r.value, &rk)?)),
                "memory" => found.push(("memory", service::quantity(&ctx.string(&r.value, &rk)?))),
                "pids" | "devices" | "generic_resources" => ctx.warn(
                    r.line,
                    &rk,
                    "not kept: Kubernetes YAML has no per-container equivalent",
                ),
                _ => ctx.warn(r.line, &rk, "not supported; ignored"),
            }
        }
        for (name, val) in found {
            target.insert(name.into(), json!(val));
        }
    }
    Ok(())
}

fn user(ctx: &mut Ctx, p: &mut Parts, v: &Item, key: &str, line: At) -> Result<(), ComposeError> {
    let s = ctx.string(v, key)?;
    let (u, g) = match s.split_once(':') {
        Some((u, g)) => (u.to_string(), Some(g.to_string())),
        None => (s.clone(), None),
    };
    match u.parse::<i64>() {
        Ok(uid) => {
            p.security.insert("runAsUser".into(), json!(uid));
        }
        Err(_) => {
            ctx.warn(
                line,
                key,
                format!("user {u:?} is a name; Kubernetes takes numeric IDs only: not kept"),
            );
            return Ok(());
        }
    }
    if let Some(g) = g {
        match g.parse::<i64>() {
            Ok(gid) => {
                p.security.insert("runAsGroup".into(), json!(gid));
            }
            Err(_) => ctx.warn(line, key, format!("group {g:?} is a name; not kept")),
        }
    }
    Ok(())
}

/// `healthcheck:` → a startupProbe and a readinessProbe running the same test. Compose's health
/// decides "healthy" (what `depends_on: condition: service_healthy` waits for) and never
/// restarts the container: that is readiness, not liveness. With compose's defaults (interval
/// 30 s, timeout 30 s, retries 3, start_period 0, start_interval 5 s): the startupProbe checks
/// every start_interval and allows start_period + retries × interval before it gives up (compose
/// does not count failures in the start period), so a service is found healthy seconds after it
/// is, not one interval later; then the readinessProbe checks every interval.
fn healthcheck(ctx: &mut Ctx, v: &Item, key: &str) -> Result<Option<(Value, Value)>, ComposeError> {
    let mut command = None;
    let (mut interval, mut timeout, mut retries, mut start_period, mut start_interval) =
        (30u64, 30u64, 3u64, 0u64, 5u64);
    for e in ctx.map(v, key)?.to_vec() {
        let k = format!("{key}.{}", e.key);
        match e.key.as_str() {
            "test" => {
                let words = match &e.value.node {
                    Node::Seq(_) => ctx.strings(&e.value, &k)?,
                    _ => vec!["CMD-SHELL".to_string(), ctx.string(&e.value, &k)?],
                };
                command = match words.split_first() {
                    Some((first, rest)) if first == "CMD" => Some(rest.to_vec()),
                    Some((first, rest)) if first == "CMD-SHELL" => {
                        Some(vec!["/bin/sh".into(), "-c".into(), rest.join(" ")])
                    }
                    Some((first, _)) if first == "NONE" => return Ok(None),
                    _ => {
                        return Err(ctx.invalid(
                            e.line,
                            &k,
                            "expected [\"CMD\", ...], [\"CMD-SHELL\", \"...\"] or a string",
                        ))
                    }
                };
            }
            "disable" => {
                if ctx.bool(&e.value, &k)? {
                    return Ok(None);
                }
            }
            "interval" | "timeout" | "start_period" | "start_interval" => {
                let s = ctx.string(&e.value, &k)?;
                let secs = duration_secs(&s).ok_or_else(|| {
                    ctx.invalid(e.line, &k, format!("cannot read duration {s:?}"))
                })?;
                *match e.key.as_str() {
                    "interval" => &mut interval,
                    "timeout" => &mut timeout,
                    "start_period" => &mut start_period,
                    _ => &mut start_interval,
                } = secs;
            }
            "retries" => {
                let n = ctx.int(&e.value, &k)?;
                retries = u64::try_from(n)
                    .map_err(|_| ctx.invalid(e.line, &k, "expected a number ≥ 0"))?;
            }
            other => ctx.warn(e.line, &k, format!("{other} is not supported; ignored")),
        }
    }
    let Some(command) = command else {
        ctx.note(
            v.line,
            key,
            "no test: the image's own HEALTHCHECK is not used; no probe",
        );
        return Ok(None);
    };
    let (interval, timeout, retries, start_interval) = (
        interval.max(1),
        timeout.max(1),
        retries.max(1),
        start_interval.max(1),
    );
    let budget = start_period + retries * interval;
    let startup = json!({
        "exec": {"command": command},
        "periodSeconds": start_interval,
        "timeoutSeconds": timeout,
        "failureThreshold": budget.div_ceil(start_interval).max(1),
    });
    let readiness = json!({
        "exec": {"command": command},
        "periodSeconds": interval,
        "timeoutSeconds": timeout,
        "failureThreshold": retries,
    });
    Ok(Some((startup, readiness)))
}

/// Compose durations: `1m30s`, `10s`, `500ms`, `1h`.
pub(crate) fn duration_secs(s: &str) -> Option<u64> {
    let mut total_ms: u64 = 0;
    let mut num = String::new();
    let mut chars = s.trim().chars().peekable();
    if s.trim().is_empty() {
        return None;
    }
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        let unit_ms = match c {
            'h' => 3_600_000,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1
            }
            'm' => 60_000,
            's' => 1000,
            _ => return None,
        };
        total_ms = total_ms.checked_add(n.checked_mul(unit_ms)?)?;
    }
    if !num.is_empty() {
        total_ms = total_ms.checked_add(num.parse::<u64>().ok()?.checked_mul(1000)?)?;
    }
    Some(total_ms.div_ceil(1000))
}

/// The services in an order where each comes after what it depends on, so that the YAML reads in
/// start order (the waiting itself is the `io.quadplay.after` annotation's).
fn dependency_order(
    ctx: &mut Ctx,
    entries: &[Entry],
    names: &BTreeMap<String, String>,
    deps: &BTreeMap<String, Vec<(String, At)>>,
) -> Result<Vec<String>, ComposeError> {
    let names: Vec<String> = entries
        .iter()
        .map(|e| names.get(&e.key).cloned().unwrap_or_default())
        .collect();
    let mut done: Vec<String> = Vec::new();
    let mut visiting = BTreeSet::new();
    fn visit(
        n: &str,
        deps: &BTreeMap<String, Vec<(String, At)>>,
        done: &mut Vec<String>,
        visiting: &mut BTreeSet<String>,
    ) -> Result<(), String> {
        if done.iter().any(|d| d == n) {
            return Ok(());
        }
        if !visiting.insert(n.to_string()) {
            return Err(n.to_string());
        }
        for (d, _) in deps.get(n).map(Vec::as_slice).unwrap_or(&[]) {
            visit(d, deps, done, visiting)?;
        }
        visiting.remove(n);
        done.push(n.to_string());
        Ok(())
    }
    for (i, n) in names.iter().enumerate() {
        visit(n, deps, &mut done, &mut visiting).map_err(|cycle| {
            ctx.invalid(
                entries[i].line,
                &format!("services.{}.depends_on", entries[i].key),
                format!("dependency cycle through {cycle}"),
            )
        })?;
    }
    Ok(done)
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
