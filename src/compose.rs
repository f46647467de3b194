//! `quadplay convert`: Docker Compose → Kubernetes YAML (one pod per service) and a `.kube` unit.
//!
//! Each compose service becomes a `Pod` named `<app>-<service>` (a `Deployment` when
//! `deploy.replicas` > 1) whose one container is named after the service. Why a Pod and not always
//! a Deployment: a Deployment only allows `restartPolicy: Always`, while compose's default is
//! `restart: "no"` and `on-failure` is common; a Pod keeps every restart policy exact. Why the app
//! prefix: Podman pod names are per user, so two apps with a `db` service must not collide. The
//! other services still reach it by the service name (compose's service-name DNS): quadplay makes
//! a container name that is unique in the YAML a DNS alias of its pod on the shared network.
//!
//! The compose file is read into a tree that keeps each key's line, so that every key this
//! converter does not translate is reported as a warning `file:line: services.web.build: ...`
//! instead of being dropped silently.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{json, Map, Value};
use serde_saphyr::Spanned;

// The workload annotation naming the workloads whose pods quadplay starts first; plain Kubernetes
// ignores it.
use crate::play::plan::AFTER_ANNOTATION;

/// Why a compose file could not be converted. Every variant names the file; most name the line
/// and the key path (`services.web.ports[0]`).
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Yaml {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{path}:{line}: {key}: {message}")]
    Invalid {
        path: PathBuf,
        line: u64,
        key: String,
        message: String,
    },
    #[error("{path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The result of a conversion: the app's name, its Kubernetes YAML, its `.kube` unit, and one
/// warning per compose key that was not (or not fully) translated.
#[derive(Debug, Clone)]
pub struct Converted {
    pub name: String,
    pub yaml: String,
    pub kube: String,
    pub warnings: Vec<String>,
}

/// A YAML node with the line it starts on.
#[derive(Debug, Clone)]
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Item>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone)]
struct Item {
    line: u64,
    node: Node,
}

#[derive(Debug, Clone)]
struct Entry {
    key: String,
    line: u64,
    value: Item,
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Node>::deserialize(d)?;
        Ok(Item {
            line: spanned.referenced.line(),
            node: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        i64::try_from(v)
            .map(Node::Int)
            .map_err(|_| E::custom("integer too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Item>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<KeyText>>()? {
            let value = map.next_value::<Item>()?;
            entries.push(Entry {
                key: key.value.0,
                line: key.referenced.line(),
                value,
            });
        }
        Ok(Node::Map(entries))
    }
}

/// A mapping key as text (compose keys are strings, but `80: x` or `true: x` must not fail).
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Node::deserialize(d)? {
            Node::Str(s) => Ok(KeyText(s)),
            Node::Int(i) => Ok(KeyText(i.to_string())),
            Node::Bool(b) => Ok(KeyText(b.to_string())),
            Node::Float(f) => Ok(KeyText(f.to_string())),
            Node::Null => Ok(KeyText(String::new())),
            _ => Err(de::Error::custom("a mapping key must be a scalar")),
        }
    }
}

impl Node {
    fn type_name(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Int(_) | Node::Float(_) => "a number",
            Node::Str(_) => "a string",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }

    /// A scalar as text (numbers and booleans as YAML writes them).
    fn scalar(&self) -> Option<String> {
        match self {
            Node::Str(s) => Some(s.clone()),
            Node::Int(i) => Some(i.to_string()),
            Node::Float(f) => Some(f.to_string()),
            Node::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// The converter's state for one compose file: where it is and what it has warned about.
struct Ctx<'a> {
    path: &'a Path,
    dir: PathBuf,
    warnings: Vec<String>,
    /// The project's `.env` file, which compose reads for interpolation (the process
    /// environment wins over it).
    dotenv: BTreeMap<String, String>,
}

impl Ctx<'_> {
    fn warn(&mut self, line: u64, key: &str, message: impl fmt::Display) {
        self.warnings
            .push(format!("{}:{line}: {key}: {message}", self.path.display()));
    }

    fn invalid(&self, line: u64, key: &str, message: impl fmt::Display) -> ComposeError {
        ComposeError::Invalid {
            path: self.path.to_path_buf(),
            line,
            key: key.to_string(),
            message: message.to_string(),
        }
    }

    /// A scalar as text, with compose's `${VAR}` interpolation applied.
    fn string(&mut self, item: &Item, key: &str) -> Result<String, ComposeError> {
        let raw = item.node.scalar().ok_or_else(|| {
            self.invalid(
                item.line,
                key,
                format!("expected a string, found {}", item.node.type_name()),
            )
        })?;
        self.interpolate(&raw, item.line, key)
    }

    /// Compose's interpolation, done at conversion time from quadplay convert's environment:
    /// `$$` is a literal `$`; `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
    /// `${VAR:?message}`, `${VAR?message}`. Each substituted variable is reported, since the YAML
    /// then carries its value.
    fn interpolate(&mut self, s: &str, line: u64, key: &str) -> Result<String, ComposeError> {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            rest = &rest[i + 1..];
            if let Some(r) = rest.strip_prefix('$') {
                out.push('$');
                rest = r;
            } else if let Some(r) = rest.strip_prefix('{') {
                let end = r
                    .find('}')
                    .ok_or_else(|| self.invalid(line, key, format!("unterminated ${{ in {s:?}")))?;
                let expr = &r[..end];
                rest = &r[end + 1..];
                out.push_str(&self.expand(expr, line, key)?);
            } else {
                let n = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                if n == 0 {
                    return Err(self.invalid(
                        line,
                        key,
                        format!("invalid interpolation in {s:?}: write $$ for a literal $"),
                    ));
                }
                let name = &rest[..n];
                rest = &rest[n..];
                out.push_str(&self.expand(name, line, key)?);
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    /// A variable's value for interpolation and where it came from.
    fn variable(&self, name: &str) -> Option<(String, &'static str)> {
        std::env::var(name)
            .ok()
            .map(|v| (v, "the environment of quadplay convert"))
            .or_else(|| self.dotenv.get(name).map(|v| (v.clone(), ".env")))
    }

    fn expand(&mut self, expr: &str, line: u64, key: &str) -> Result<String, ComposeError> {
        let ops = [":-", "-", ":?", "?"];
        let (name, op, arg) = ops
            .iter()
            .filter_map(|op| expr.find(op).map(|i| (i, *op)))
            .min_by_key(|(i, op)| (*i, std::cmp::Reverse(op.len())))
            .map(|(i, op)| (&expr[..i], op, &expr[i + op.len()..]))
            .unwrap_or((expr, "", ""));
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(self.invalid(line, key, format!("invalid variable name in ${{{expr}}}")));
        }
        let value = self.variable(name);
        let empty_is_unset = op.starts_with(':');
        let set = value
            .as_ref()
            .is_some_and(|(v, _)| !(empty_is_unset && v.is_empty()));
        match (set, op) {
            (true, _) => {
                let (v, from) = value.unwrap_or_default();
                self.warn(line, key, format!("${name} substituted from {from}"));
                Ok(v)
            }
            (false, ":-" | "-") => Ok(arg.to_string()),
            (false, ":?" | "?") => Err(self.invalid(line, key, format!("{name}: {arg}"))),
            (false, _) => {
                if value.is_none() {
                    self.warn(
                        line,
                        key,
                        format!("${name} is not set; an empty string is used"),
                    );
                }
                Ok(String::new())
            }
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

/// Reads and converts a compose file. `name` defaults to the file's `name:` key, else its
/// directory's name.
pub fn convert_file(path: &Path, name: Option<&str>) -> Result<Converted, ComposeError> {
    let text = std::fs::read_to_string(path).map_err(|source| ComposeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    convert_str(path, &text, name)
}

/// Converts compose text; `path` names it in messages and anchors relative paths (bind mounts,
/// `env_file`).
pub fn convert_str(path: &Path, text: &str, name: Option<&str>) -> Result<Converted, ComposeError> {
    // Compose files follow YAML 1.2: `no`/`on`/`y` are strings (`restart: no`, a volume `n`).
    let options = serde_saphyr::options! { strict_booleans: true };
    let root: Item =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| ComposeError::Yaml {
            path: path.to_path_buf(),
            line: e.location().map(|l| l.line()).unwrap_or(0),
            message: e
                .to_string()
                .lines()
                .next()
                .unwrap_or("invalid YAML")
                .to_string(),
        })?;
    let dir = absolute_dir(path);
    let dotenv = std::fs::read_to_string(dir.join(".env"))
        .map(|t| parse_env_text(&t).0.into_iter().collect())
        .unwrap_or_default();
    let mut ctx = Ctx {
        path,
        dir,
        warnings: Vec::new(),
        dotenv,
    };
    let top = ctx.map(&root, "(top level)")?.to_vec();
    let mut services = None;
    let mut volumes_decl: Vec<Entry> = Vec::new();
    let mut file_name = None;
    for e in &top {
        match e.key.as_str() {
            "services" => services = Some(e.clone()),
            "volumes" => volumes_decl = ctx.map(&e.value, "volumes")?.to_vec(),
            "name" => file_name = Some(ctx.string(&e.value, "name")?),
            "version" => {} // obsolete in the compose specification; nothing to convert
            "networks" => ctx.warn(
                e.line,
                "networks",
                "ignored: every pod joins one shared bridge network and reaches the others by service name",
            ),
            other => ctx.warn(e.line, other, "not supported; ignored"),
        }
    }
    let Some(services) = services else {
        return Err(ctx.invalid(1, "services", "no services defined"));
    };
    let app = sanitize_name(
        name.map(str::to_string)
            .or(file_name)
            .unwrap_or_else(|| dir_name(&ctx.dir))
            .as_str(),
    );
    if app.is_empty() {
        return Err(ctx.invalid(1, "name", "cannot derive an application name; pass --name"));
    }
    let named = declared_volumes(&mut ctx, &volumes_decl, &app)?;
    let entries = ctx.map(&services.value, "services")?.to_vec();
    if entries.is_empty() {
        return Err(ctx.invalid(services.line, "services", "no services defined"));
    }
    let mut docs = Vec::new();
    let mut used_volumes = BTreeSet::new();
    let mut deps = BTreeMap::new();
    for svc in &entries {
        let converted = convert_service(&mut ctx, svc, &app, &named, &mut used_volumes)?;
        deps.insert(converted.name.clone(), converted.depends_on.clone());
        docs.push(converted);
    }
    let order = dependency_order(&mut ctx, &entries, &deps)?;
    let mut yaml = format!(
        "# Kubernetes YAML for {app}, converted from {} by quadplay convert.\n",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    for vol in &used_volumes {
        if let Some(v) = named.get(vol) {
            push_doc(&mut yaml, &pvc(&v.claim), path)?;
        }
    }
    for name in order {
        if let Some(doc) = docs.iter().find(|d| d.name == name) {
            push_doc(&mut yaml, &doc.doc, path)?;
        }
    }
    let kube = kube_unit(&app, path);
    Ok(Converted {
        name: app,
        yaml,
        kube,
        warnings: ctx.warnings,
    })
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

fn absolute_dir(path: &Path) -> PathBuf {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    std::path::absolute(&dir).unwrap_or(dir)
}

fn dir_name(dir: &Path) -> String {
    let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    canonical
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A DNS-1123 label: lower case, digits and `-`, at most 63 characters, no leading/trailing `-`.
fn sanitize_name(raw: &str) -> String {
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

/// One converted service.
struct ServiceDoc {
    name: String,
    doc: Value,
    depends_on: Vec<(String, u64)>,
}

/// Everything a service's container and pod collect while its keys are read.
#[derive(Default)]
struct Parts {
    image: Option<String>,
    command: Option<Vec<String>>,
    args: Option<Vec<String>>,
    env: Vec<(String, String)>,
    env_file: Vec<(String, String)>,
    ports: Vec<Value>,
    mounts: Vec<Value>,
    volumes: Vec<Value>,
    restart: Option<&'static str>,
    replicas: Option<u64>,
    hostname: Option<String>,
    working_dir: Option<String>,
    security: Map<String, Value>,
    caps_add: Vec<String>,
    caps_drop: Vec<String>,
    annotations: Map<String, Value>,
    tty: Option<bool>,
    probe: Option<Value>,
    depends_on: Vec<(String, u64)>,
}

fn convert_service(
    ctx: &mut Ctx,
    svc: &Entry,
    app: &str,
    named: &BTreeMap<String, NamedVolume>,
    used_volumes: &mut BTreeSet<String>,
) -> Result<ServiceDoc, ComposeError> {
    let name = sanitize_name(&svc.key);
    let base = format!("services.{}", svc.key);
    if name != svc.key {
        ctx.warn(
            svc.line,
            &base,
            format!("the service is named {name} (a DNS-1123 name)"),
        );
    }
    let workload = sanitize_name(&format!("{app}-{name}"));
    let mut p = Parts::default();
    for e in ctx.map(&svc.value, &base)?.to_vec() {
        let key = format!("{base}.{}", e.key);
        service_key(ctx, &mut p, &e, &key, &name, named, used_volumes)?;
    }
    let Some(image) = p.image.take() else {
        return Err(ctx.invalid(
            svc.line,
            &base,
            "no image: build the image first and name it with image:",
        ));
    };
    let mut container = Map::new();
    container.insert("name".into(), json!(name));
    container.insert("image".into(), json!(image));
    if let Some(c) = p.command {
        container.insert("command".into(), json!(c));
    }
    if let Some(a) = p.args {
        container.insert("args".into(), json!(a));
    }
    let env = merge_env(p.env_file, p.env);
    if !env.is_empty() {
        let list: Vec<Value> = env
            .into_iter()
            .map(|(k, v)| json!({"name": k, "value": escape_k8s_vars(&v)}))
            .collect();
        container.insert("env".into(), Value::Array(list));
    }
    if !p.ports.is_empty() {
        container.insert("ports".into(), Value::Array(p.ports));
    }
    if !p.mounts.is_empty() {
        container.insert("volumeMounts".into(), Value::Array(p.mounts));
    }
    if let Some(w) = p.working_dir {
        container.insert("workingDir".into(), json!(w));
    }
    if !p.caps_add.is_empty() || !p.caps_drop.is_empty() {
        let mut caps = Map::new();
        if !p.caps_add.is_empty() {
            caps.insert("add".into(), json!(p.caps_add));
        }
        if !p.caps_drop.is_empty() {
            caps.insert("drop".into(), json!(p.caps_drop));
        }
        p.security
            .insert("capabilities".into(), Value::Object(caps));
    }
    if !p.security.is_empty() {
        container.insert("securityContext".into(), Value::Object(p.security));
    }
    if let Some(t) = p.tty {
        container.insert("tty".into(), json!(t));
    }
    if let Some(probe) = p.probe {
        container.insert("readinessProbe".into(), probe);
    }
    let mut spec = Map::new();
    if let Some(h) = p.hostname {
        spec.insert("hostname".into(), json!(h));
    }
    let replicas = p.replicas.unwrap_or(1);
    // Compose's default is restart: "no"; a Deployment allows only Always.
    let restart = p.restart.unwrap_or("Never");
    let kind = if replicas > 1 { "Deployment" } else { "Pod" };
    if kind == "Deployment" && restart != "Always" {
        ctx.warn(svc.line, &base, format!("deploy.replicas > 1 makes a Deployment, which always restarts its containers (restart policy {restart} not kept)"));
    }
    if kind == "Pod" {
        spec.insert("restartPolicy".into(), json!(restart));
    }
    spec.insert("containers".into(), json!([Value::Object(container)]));
    if !p.volumes.is_empty() {
        spec.insert("volumes".into(), Value::Array(p.volumes));
    }
    let labels = json!({"app": app, "io.quadplay.compose/service": name});
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(workload));
    metadata.insert("labels".into(), labels.clone());
    if !p.depends_on.is_empty() {
        // quadplay's executor creates this workload's pods once those are ready.
        let after: Vec<String> = p
            .depends_on
            .iter()
            .map(|(d, _)| sanitize_name(&format!("{app}-{}", sanitize_name(d))))
            .collect();
        p.annotations
            .insert(AFTER_ANNOTATION.into(), json!(after.join(",")));
    }
    if !p.annotations.is_empty() {
        metadata.insert("annotations".into(), Value::Object(p.annotations));
    }
    let doc = if kind == "Pod" {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
    } else {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": metadata,
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": spec}
            }
        })
    };
    Ok(ServiceDoc {
        name,
        doc,
        depends_on: p.depends_on,
    })
}

fn service_key(
    ctx: &mut Ctx,
    p: &mut Parts,
    e: &Entry,
    key: &str,
    svc: &str,
    named: &BTreeMap<String, NamedVolume>,
    used_volumes: &mut BTreeSet<String>,
) -> Result<(), ComposeError> {
    let v = &e.value;
    match e.key.as_str() {
        "image" => p.image = Some(ctx.string(v, key)?),
        "build" => ctx.warn(
            e.line,
            key,
            "not supported: build the image (podman build -t NAME) and keep image: NAME",
        ),
        // Compose's entrypoint replaces the image's ENTRYPOINT (Kubernetes' command); its command
        // replaces CMD (Kubernetes' args).
        "entrypoint" => p.command = Some(command_words(ctx, v, key)?),
        "command" => p.args = Some(command_words(ctx, v, key)?),
        "environment" => p.env.extend(environment(ctx, v, key)?),
        "env_file" => {
            for file in env_files(ctx, v, key)? {
                p.env_file.extend(read_env_file(ctx, &file, e.line, key)?);
            }
        }
        "ports" => {
            let Node::Seq(items) = &v.node else {
                return Err(ctx.invalid(v.line, key, "expected a list of ports"));
            };
            for (i, it) in items.iter().enumerate() {
                p.ports.extend(port(ctx, it, &format!("{key}[{i}]"))?);
            }
        }
        "expose" => ctx.warn(
            e.line,
            key,
            "ignored: pods on the shared network reach every port of each other",
        ),
        "volumes" => {
            let Node::Seq(items) = &v.node else {
                return Err(ctx.invalid(v.line, key, "expected a list of volumes"));
            };
            for (i, it) in items.iter().enumerate() {
                let k = format!("{key}[{i}]");
                volume(ctx, p, it, &k, svc, i, named, used_volumes)?;
            }
        }
        "tmpfs" => {
            for (i, target) in ctx.strings(v, key)?.into_iter().enumerate() {
                let target = target.split(':').next().unwrap_or("").to_string();
                let vol = format!("tmpfs-{i}");
                p.volumes
                    .push(json!({"name": vol, "emptyDir": {"medium": "Memory"}}));
                p.mounts.push(json!({"name": vol, "mountPath": target}));
            }
        }
        "restart" => {
            let r = ctx.string(v, key)?;
            p.restart = Some(match r.split(':').next().unwrap_or("") {
                "always" | "unless-stopped" => "Always",
                "on-failure" => {
                    if r.contains(':') {
                        ctx.warn(
                            e.line,
                            key,
                            "the retry limit of on-failure:N is not kept (Kubernetes has none)",
                        );
                    }
                    "OnFailure"
                }
                "no" | "" => "Never",
                _ => {
                    return Err(ctx.invalid(
                        v.line,
                        key,
                        format!(
                            "unknown restart policy {r:?} (no, always, on-failure, unless-stopped)"
                        ),
                    ))
                }
            });
        }
        "depends_on" => p.depends_on = depends_on(ctx, v, key)?,
        "deploy" => deploy(ctx, p, v, key)?,
        "hostname" => p.hostname = Some(ctx.string(v, key)?),
        "working_dir" => p.working_dir = Some(ctx.string(v, key)?),
        "user" => user(ctx, p, v, key, e.line)?,
        "privileged" => {
            let b = ctx.bool(v, key)?;
            p.security.insert("privileged".into(), json!(b));
        }
        "read_only" => {
            let b = ctx.bool(v, key)?;
            p.security.insert("readOnlyRootFilesystem".into(), json!(b));
        }
        "cap_add" => p.caps_add = ctx.strings(v, key)?,
        "cap_drop" => p.caps_drop = ctx.strings(v, key)?,
        "tty" => p.tty = Some(ctx.bool(v, key)?),
        "stdin_open" => ctx.warn(
            e.line,
            key,
            "ignored: a service's container has no terminal to read from under systemd",
        ),
        "labels" => {
            // Kubernetes label values are restricted; annotations take any text.
            for (k, val) in environment(ctx, v, key)? {
                p.annotations.insert(k, json!(val));
            }
        }
        "healthcheck" => p.probe = healthcheck(ctx, v, key)?,
        "container_name" => ctx.warn(
            e.line,
            key,
            format!("ignored: the container is named after the service ({svc}) and reachable by that name"),
        ),
        "networks" => ctx.warn(
            e.line,
            key,
            "ignored: every pod joins one shared bridge network",
        ),
        other => ctx.warn(e.line, key, format!("{other} is not supported; ignored")),
    }
    Ok(())
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
fn split_shell(s: &str) -> Result<Vec<String>, String> {
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

fn from_host_env(ctx: &mut Ctx, name: &str, line: u64, key: &str) -> Option<(String, String)> {
    match ctx.variable(name) {
        Some((val, from)) => {
            ctx.warn(
                line,
                key,
                format!("{name} has no value: took it from {from}"),
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

fn env_files(ctx: &mut Ctx, v: &Item, key: &str) -> Result<Vec<PathBuf>, ComposeError> {
    let mut out = Vec::new();
    let items: Vec<Item> = match &v.node {
        Node::Seq(items) => items.clone(),
        _ => vec![v.clone()],
    };
    for (i, it) in items.iter().enumerate() {
        let k = format!("{key}[{i}]");
        let file = match &it.node {
            Node::Map(entries) => {
                let mut path = None;
                for e in entries {
                    match e.key.as_str() {
                        "path" => path = Some(ctx.string(&e.value, &format!("{k}.path"))?),
                        "required" => {
                            if !ctx.bool(&e.value, &format!("{k}.required"))? {
                                ctx.warn(
                                    e.line,
                                    &format!("{k}.required"),
                                    "optional env files must exist at conversion time",
                                );
                            }
                        }
                        other => {
                            ctx.warn(e.line, &format!("{k}.{other}"), "not supported; ignored")
                        }
                    }
                }
                path.ok_or_else(|| ctx.invalid(it.line, &k, "no path"))?
            }
            _ => ctx.string(it, &k)?,
        };
        out.push(ctx.dir.join(file));
    }
    Ok(out)
}

/// An env file's `KEY=VALUE` lines (comments and blank lines skipped, optional quotes removed),
/// read at conversion time: the YAML carries the values.
fn read_env_file(
    ctx: &mut Ctx,
    file: &Path,
    line: u64,
    key: &str,
) -> Result<Vec<(String, String)>, ComposeError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| ctx.invalid(line, key, format!("{}: {e}", file.display())))?;
    let (pairs, bad) = parse_env_text(&text);
    for (n, l) in bad {
        ctx.warn(
            line,
            key,
            format!("{}:{n}: no '=' in {l:?}; skipped", file.display()),
        );
    }
    Ok(pairs)
}

type EnvPairs = Vec<(String, String)>;

/// `KEY=VALUE` lines (comments, blank lines and `export ` skipped, one level of quotes removed),
/// and the 1-based numbers and text of lines without `=`.
fn parse_env_text(text: &str) -> (EnvPairs, Vec<(usize, String)>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let l = l.strip_prefix("export ").unwrap_or(l);
        match l.split_once('=') {
            Some((k, val)) => {
                let val = val.trim();
                let unquoted = val
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .or_else(|| val.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                    .unwrap_or(val);
                out.push((k.trim().to_string(), unquoted.to_string()));
            }
            None => bad.push((n + 1, l.to_string())),
        }
    }
    (out, bad)
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
    line: u64,
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

/// One `volumes:` entry of a service: a named volume (→ PVC), a bind mount (→ hostPath) or an
/// anonymous volume (→ emptyDir).
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
    let (kind, source, target, read_only) = match &it.node {
        Node::Map(entries) => long_volume(ctx, entries, it.line, key)?,
        _ => {
            let spec = ctx.string(it, key)?;
            let parts: Vec<&str> = spec.splitn(3, ':').collect();
            let (source, target, mode) = match parts.as_slice() {
                [t] => (None, t.to_string(), ""),
                [s, t] => (Some(s.to_string()), t.to_string(), ""),
                [s, t, m] => (Some(s.to_string()), t.to_string(), *m),
                _ => return Err(ctx.invalid(it.line, key, "empty volume")),
            };
            let mut ro = false;
            for opt in mode.split(',').filter(|o| !o.is_empty()) {
                match opt {
                    "ro" => ro = true,
                    "rw" => ro = false,
                    other => ctx.warn(it.line, key, format!("mount option {other:?} is not kept")),
                }
            }
            let kind = match &source {
                None => "anonymous",
                Some(s) if s.starts_with('/') || s.starts_with('.') || s.starts_with('~') => "bind",
                Some(_) => "volume",
            };
            (kind.to_string(), source, target, ro)
        }
    };
    let vol_name = format!("{svc}-vol-{index}");
    let mut mount = Map::new();
    match kind.as_str() {
        "volume" => {
            let src = source.unwrap_or_default();
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
            let src = source.unwrap_or_default();
            let path = if let Some(rest) = src.strip_prefix("~/") {
                match std::env::var("HOME") {
                    Ok(h) => PathBuf::from(h).join(rest),
                    Err(_) => return Err(ctx.invalid(it.line, key, "~ needs $HOME")),
                }
            } else {
                normalize(&ctx.dir.join(&src))
            };
            // Docker creates a missing bind source as a directory; so does DirectoryOrCreate.
            p.volumes.push(json!({"name": vol_name, "hostPath": {"path": path.to_string_lossy(), "type": "DirectoryOrCreate"}}));
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
    mount.insert("name".into(), json!(vol_name));
    mount.insert("mountPath".into(), json!(target));
    if read_only {
        mount.insert("readOnly".into(), json!(true));
    }
    p.mounts.push(Value::Object(mount));
    Ok(())
}

type VolumeSpec = (String, Option<String>, String, bool);

fn long_volume(
    ctx: &mut Ctx,
    entries: &[Entry],
    line: u64,
    key: &str,
) -> Result<VolumeSpec, ComposeError> {
    let (mut kind, mut source, mut target, mut ro) = (None, None, None, false);
    for e in entries {
        let k = format!("{key}.{}", e.key);
        match e.key.as_str() {
            "type" => kind = Some(ctx.string(&e.value, &k)?),
            "source" => source = Some(ctx.string(&e.value, &k)?),
            "target" => target = Some(ctx.string(&e.value, &k)?),
            "read_only" => ro = ctx.bool(&e.value, &k)?,
            other => ctx.warn(e.line, &k, format!("{other} is not supported; ignored")),
        }
    }
    let target = target.ok_or_else(|| ctx.invalid(line, key, "no target"))?;
    let kind = match kind.as_deref() {
        Some("volume") if source.is_none() => "anonymous".to_string(),
        Some(k) => k.to_string(),
        None => return Err(ctx.invalid(line, key, "no type")),
    };
    Ok((kind, source, target, ro))
}

/// Removes `.` and `..` components without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn depends_on(ctx: &mut Ctx, v: &Item, key: &str) -> Result<Vec<(String, u64)>, ComposeError> {
    match &v.node {
        Node::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, it)| Ok((ctx.string(it, &format!("{key}[{i}]"))?, it.line)))
            .collect(),
        Node::Map(entries) => {
            let mut out = Vec::new();
            for e in entries {
                for c in ctx.map(&e.value, &format!("{key}.{}", e.key))?.to_vec() {
                    if c.key == "condition" {
                        let cond = ctx.string(&c.value, &format!("{key}.{}.condition", e.key))?;
                        if cond == "service_completed_successfully" {
                            ctx.warn(c.line, &format!("{key}.{}.condition", e.key), format!("{cond} is not supported: the pod waits until {} is running and ready, not until it has exited", e.key));
                        }
                    }
                }
                out.push((e.key.clone(), e.line));
            }
            Ok(out)
        }
        other => Err(ctx.invalid(
            v.line,
            key,
            format!("expected a list or a mapping, found {}", other.type_name()),
        )),
    }
}

fn deploy(ctx: &mut Ctx, p: &mut Parts, v: &Item, key: &str) -> Result<(), ComposeError> {
    for e in ctx.map(v, key)?.to_vec() {
        let k = format!("{key}.{}", e.key);
        match (e.key.as_str(), &e.value.node) {
            ("replicas", Node::Int(n)) if *n >= 1 => p.replicas = u64::try_from(*n).ok(),
            ("replicas", Node::Int(0)) => ctx.warn(e.line, &k, "replicas: 0 is kept as one pod"),
            ("replicas", _) => return Err(ctx.invalid(e.line, &k, "expected a positive number")),
            _ => ctx.warn(e.line, &k, "not supported; ignored"),
        }
    }
    Ok(())
}

fn user(ctx: &mut Ctx, p: &mut Parts, v: &Item, key: &str, line: u64) -> Result<(), ComposeError> {
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

/// `healthcheck:` → an exec readinessProbe. Compose's health decides "healthy" (what
/// `depends_on: condition: service_healthy` waits for) and never restarts the container, which is
/// a readiness probe's meaning, not a liveness probe's; quadplay waits for it before starting the
/// pods that list this one in `io.quadplay.after`.
fn healthcheck(ctx: &mut Ctx, v: &Item, key: &str) -> Result<Option<Value>, ComposeError> {
    let mut probe = Map::new();
    let mut command = None;
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
            "interval" | "timeout" | "start_period" => {
                let s = ctx.string(&e.value, &k)?;
                let secs = duration_secs(&s).ok_or_else(|| {
                    ctx.invalid(e.line, &k, format!("cannot read duration {s:?}"))
                })?;
                let field = match e.key.as_str() {
                    "interval" => "periodSeconds",
                    "timeout" => "timeoutSeconds",
                    _ => "initialDelaySeconds",
                };
                probe.insert(field.into(), json!(secs.max(1)));
            }
            "retries" => {
                let n = ctx
                    .string(&e.value, &k)?
                    .parse::<u64>()
                    .map_err(|_| ctx.invalid(e.line, &k, "expected a number"))?;
                probe.insert("failureThreshold".into(), json!(n.max(1)));
            }
            other => ctx.warn(e.line, &k, format!("{other} is not supported; ignored")),
        }
    }
    let Some(command) = command else {
        ctx.warn(v.line, key, "no test: no probe");
        return Ok(None);
    };
    probe.insert("exec".into(), json!({"command": command}));
    Ok(Some(Value::Object(probe)))
}

/// Compose durations: `1m30s`, `10s`, `500ms`, `1h`.
fn duration_secs(s: &str) -> Option<u64> {
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
    deps: &BTreeMap<String, Vec<(String, u64)>>,
) -> Result<Vec<String>, ComposeError> {
    let names: Vec<String> = entries.iter().map(|e| sanitize_name(&e.key)).collect();
    for (svc, list) in deps {
        for (d, line) in list {
            if !names.contains(&sanitize_name(d)) {
                return Err(ctx.invalid(
                    *line,
                    &format!("services.{svc}.depends_on"),
                    format!("unknown service {d:?}"),
                ));
            }
        }
    }
    let mut done: Vec<String> = Vec::new();
    let mut visiting = BTreeSet::new();
    fn visit(
        n: &str,
        deps: &BTreeMap<String, Vec<(String, u64)>>,
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
            visit(&sanitize_name(d), deps, done, visiting)?;
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

/// Writes `<name>.yaml` and `<name>.kube` into `dir` (created if missing), each through a
/// temporary file renamed into place, so a reader never sees half a file.
pub fn write(conv: &Converted, dir: &Path) -> Result<Vec<PathBuf>, ComposeError> {
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ComposeError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(err(dir))?;
    let mut written = Vec::new();
    for (ext, text) in [("yaml", &conv.yaml), ("kube", &conv.kube)] {
        let path = dir.join(format!("{}.{ext}", conv.name));
        let mut tmp = tempfile_in(dir).map_err(err(&path))?;
        tmp.1.write_all(text.as_bytes()).map_err(err(&path))?;
        tmp.1.sync_all().map_err(err(&path))?;
        std::fs::rename(&tmp.0, &path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp.0);
            err(&path)(e)
        })?;
        written.push(path);
    }
    Ok(written)
}

/// A new file `.quadplay-convert-<pid>-<n>` in `dir`, opened exclusively.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    for n in 0..100 {
        let path = dir.join(format!(".quadplay-convert-{}-{n}", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free temporary file name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(text: &str) -> Converted {
        convert_str(Path::new("/srv/shop/compose.yaml"), text, None)
            .unwrap_or_else(|e| panic!("convert: {e}"))
    }

    fn docs(c: &Converted) -> Vec<Value> {
        serde_saphyr::from_multiple::<Value>(&c.yaml).unwrap_or_else(|e| panic!("{e}\n{}", c.yaml))
    }

    /// Asserts that one of the conversion's warnings contains `needle`.
    #[track_caller]
    fn assert_warns(c: &Converted, needle: &str) {
        assert!(
            c.warnings.iter().any(|w| w.contains(needle)),
            "no warning contains {needle:?}: {:?}",
            c.warnings
        );
    }

    fn err(text: &str) -> String {
        match convert_str(Path::new("/srv/shop/compose.yaml"), text, None) {
            Ok(c) => panic!("expected an error, got\n{}", c.yaml),
            Err(e) => e.to_string(),
        }
    }

    const SEED: &str = "\
services:
  web:
    image: localhost/busybox:latest
    command: httpd -f -p 80 -h /srv
    ports:
      - \"8081:80\"
    restart: unless-stopped
  api:
    image: localhost/busybox:latest
    command: [\"sh\", \"-c\", \"echo api > /srv/index.html && httpd -f -p 80 -h /srv\"]
    environment:
      GREETING: hello
      EMPTY: \"\"
    ports:
      - 127.0.0.1:8082:80/tcp
    depends_on: [web]
";

    #[test]
    fn seed_app_becomes_two_pods_with_ports_and_args() {
        let c = convert(SEED);
        assert_eq!(c.name, "shop");
        let d = docs(&c);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0]["kind"], "Pod");
        assert_eq!(d[0]["metadata"]["name"], "shop-web");
        assert_eq!(d[0]["spec"]["containers"][0]["name"], "web");
        assert_eq!(d[0]["spec"]["restartPolicy"], "Always");
        let web = &d[0]["spec"]["containers"][0];
        assert_eq!(
            web["args"],
            json!(["httpd", "-f", "-p", "80", "-h", "/srv"])
        );
        assert_eq!(
            web["ports"],
            json!([{"containerPort": 80, "hostPort": 8081, "protocol": "TCP"}])
        );
        let api = &d[1]["spec"]["containers"][0];
        assert_eq!(d[1]["spec"]["restartPolicy"], "Never");
        assert_eq!(
            api["args"][2],
            "echo api > /srv/index.html && httpd -f -p 80 -h /srv"
        );
        assert_eq!(
            api["env"],
            json!([{"name": "GREETING", "value": "hello"}, {"name": "EMPTY", "value": ""}])
        );
        assert_eq!(api["ports"][0]["hostIP"], "127.0.0.1");
        assert_eq!(d[1]["metadata"]["labels"]["app"], "shop");
        assert!(c.kube.contains("[Kube]\nYaml=shop.yaml\n"));
        assert!(c.kube.contains("[Install]\nWantedBy=default.target\n"));
        // depends_on → quadplay's ordering annotation (Kubernetes ignores it).
        assert_eq!(
            d[1]["metadata"]["annotations"],
            json!({"io.quadplay.after": "shop-web"})
        );
        assert!(d[0]["metadata"].get("annotations").is_none());
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn dependency_order_puts_dependencies_first() {
        let c = convert("services:\n  a:\n    image: x/a\n    depends_on: [b]\n  b:\n    image: x/b\n    depends_on:\n      c:\n        condition: service_healthy\n  c:\n    image: x/c\n");
        let names: Vec<Value> = docs(&c)
            .iter()
            .map(|d| d["metadata"]["name"].clone())
            .collect();
        assert_eq!(
            names,
            vec![json!("shop-c"), json!("shop-b"), json!("shop-a")]
        );
        assert_eq!(
            docs(&c)[1]["metadata"]["annotations"]["io.quadplay.after"],
            "shop-c"
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let c = convert("services:\n  a:\n    image: x\n    depends_on:\n      m:\n        condition: service_completed_successfully\n  m:\n    image: x\n");
        assert_warns(&c, ":6: services.a.depends_on.m.condition: service_completed_successfully is not supported");
    }

    #[test]
    fn dependency_cycle_and_unknown_service_are_errors_with_lines() {
        let e = err("services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n");
        assert!(e.contains("dependency cycle"), "{e}");
        let e = err("services:\n  a:\n    image: x\n    depends_on:\n      - nope\n");
        assert_eq!(
            e,
            "/srv/shop/compose.yaml:5: services.a.depends_on: unknown service \"nope\""
        );
    }

    #[test]
    fn unsupported_keys_warn_with_line_and_path() {
        let c = convert("version: '3'\nx-custom: 1\nservices:\n  web:\n    image: x\n    build: .\n    mem_limit: 1g\n    networks: [front]\n");
        let w = c.warnings.join("\n");
        assert!(w.contains("compose.yaml:2: x-custom: not supported"), "{w}");
        assert!(
            w.contains("compose.yaml:6: services.web.build: not supported"),
            "{w}"
        );
        assert!(
            w.contains("compose.yaml:7: services.web.mem_limit: mem_limit is not supported"),
            "{w}"
        );
        assert!(
            w.contains("compose.yaml:8: services.web.networks: ignored"),
            "{w}"
        );
        assert!(!w.contains("version"), "version is silently obsolete: {w}");
    }

    #[test]
    fn missing_image_and_bad_values_are_errors() {
        assert_eq!(err("services:\n  web:\n    build: .\n"), "/srv/shop/compose.yaml:2: services.web: no image: build the image first and name it with image:");
        assert!(
            err("services:\n  web:\n    image: x\n    ports:\n      - \"80:abc\"\n")
                .starts_with("/srv/shop/compose.yaml:5: services.web.ports[0]: cannot read port")
        );
        assert!(
            err("services:\n  web:\n    image: x\n    restart: sometimes\n")
                .contains(":4: services.web.restart: unknown restart policy")
        );
        assert!(err("services: {}\n").contains("no services"));
        assert!(err("services:\n  web: [\n").starts_with("/srv/shop/compose.yaml:"));
    }

    #[test]
    fn port_forms() {
        let c = convert("services:\n  w:\n    image: x\n    ports:\n      - \"9000-9001:8000-8001/udp\"\n      - 53\n      - target: 443\n        published: \"8443\"\n        host_ip: 0.0.0.0\n");
        let p = &docs(&c)[0]["spec"]["containers"][0]["ports"];
        assert_eq!(
            p[0],
            json!({"containerPort": 8000, "hostPort": 9000, "protocol": "UDP"})
        );
        assert_eq!(
            p[1],
            json!({"containerPort": 8001, "hostPort": 9001, "protocol": "UDP"})
        );
        assert_eq!(p[2], json!({"containerPort": 53, "protocol": "TCP"}));
        assert_eq!(
            p[3],
            json!({"containerPort": 443, "hostPort": 8443, "hostIP": "0.0.0.0", "protocol": "TCP"})
        );
        assert_warns(
            &c,
            ":6: services.w.ports[1]: a container port without a host port",
        );
    }

    #[test]
    fn volumes_named_bind_anonymous_and_long() {
        let c = convert("services:\n  db:\n    image: x\n    volumes:\n      - data:/var/lib/db\n      - ./conf:/etc/db:ro\n      - /cache\n      - type: bind\n        source: /srv/logs\n        target: /logs\n        read_only: true\nvolumes:\n  data: {}\n  unused:\n");
        let d = docs(&c);
        assert_eq!(d.len(), 2, "one PVC (only used volumes) and the pod");
        assert_eq!(d[0]["kind"], "PersistentVolumeClaim");
        assert_eq!(d[0]["metadata"]["name"], "shop-data");
        let vols = &d[1]["spec"]["volumes"];
        assert_eq!(
            vols[0],
            json!({"name": "db-vol-0", "persistentVolumeClaim": {"claimName": "shop-data"}})
        );
        assert_eq!(
            vols[1],
            json!({"name": "db-vol-1", "hostPath": {"path": "/srv/shop/conf", "type": "DirectoryOrCreate"}})
        );
        assert_eq!(vols[2], json!({"name": "db-vol-2", "emptyDir": {}}));
        assert_eq!(vols[3]["hostPath"]["path"], "/srv/logs");
        let mounts = &d[1]["spec"]["containers"][0]["volumeMounts"];
        assert_eq!(
            mounts[1],
            json!({"name": "db-vol-1", "mountPath": "/etc/db", "readOnly": true})
        );
        assert_eq!(mounts[3]["readOnly"], true);
        assert!(
            err("services:\n  db:\n    image: x\n    volumes: [\"nope:/x\"]\n")
                .contains(":4: services.db.volumes[0]: named volume \"nope\" is not declared")
        );
    }

    #[test]
    fn external_and_renamed_volumes_keep_their_names() {
        let c = convert("services:\n  a:\n    image: x\n    volumes: [\"e:/e\", \"n:/n\"]\nvolumes:\n  e:\n    external: true\n  n:\n    name: My_Data\n");
        let claims: Vec<Value> = docs(&c)
            .iter()
            .filter(|d| d["kind"] == "PersistentVolumeClaim")
            .map(|d| d["metadata"]["name"].clone())
            .collect();
        assert_eq!(claims, vec![json!("e"), json!("my-data")]);
    }

    #[test]
    fn entrypoint_command_env_list_and_k8s_escaping() {
        std::env::remove_var("QUADPLAY_TEST_UNSET");
        let c = convert("services:\n  a:\n    image: x\n    entrypoint: /bin/sh -c\n    command: 'echo \"$$(date)\" done'\n    environment:\n      - A=1=2\n      - QUADPLAY_TEST_UNSET\n      - B=$$(x)\n");
        let ctr = &docs(&c)[0]["spec"]["containers"][0];
        assert_eq!(ctr["command"], json!(["/bin/sh", "-c"]));
        assert_eq!(ctr["args"], json!(["echo", "$$(date)", "done"]));
        assert_eq!(
            ctr["env"],
            json!([{"name": "A", "value": "1=2"}, {"name": "B", "value": "$$(x)"}])
        );
        assert_warns(
            &c,
            ":8: services.a.environment[1]: QUADPLAY_TEST_UNSET has no value",
        );
    }

    #[test]
    fn env_file_is_read_and_environment_overrides_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.path().join("app.env"),
            "# c\nA=from-file\nexport B=\"quoted\"\nbad line\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("compose.yml");
        let c = convert_str(
            &path,
            "services:\n  a:\n    image: x\n    env_file: app.env\n    environment: {A: inline}\n",
            Some("t"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let env = &docs(&c)[0]["spec"]["containers"][0]["env"];
        assert_eq!(
            env,
            &json!([{"name": "A", "value": "inline"}, {"name": "B", "value": "quoted"}])
        );
        assert_warns(&c, "app.env:4: no '='");
        let missing = convert_str(
            &path,
            "services:\n  a:\n    image: x\n    env_file: [nope.env]\n",
            Some("t"),
        );
        assert!(
            matches!(missing, Err(ComposeError::Invalid { line: 4, .. })),
            "{missing:?}"
        );
    }

    #[test]
    fn restart_user_security_healthcheck_and_replicas() {
        let c = convert("services:\n  a:\n    image: x\n    restart: on-failure:3\n    user: \"1000:100\"\n    privileged: true\n    read_only: true\n    cap_add: [NET_ADMIN]\n    healthcheck:\n      test: [\"CMD-SHELL\", \"wget -q -O- localhost\"]\n      interval: 1m30s\n      retries: 5\n  b:\n    image: x\n    restart: always\n    deploy:\n      replicas: 3\n");
        let d = docs(&c);
        assert_eq!(d[0]["spec"]["restartPolicy"], "OnFailure");
        let a = &d[0]["spec"]["containers"][0];
        assert_eq!(
            a["securityContext"],
            json!({"runAsUser": 1000, "runAsGroup": 100, "privileged": true, "readOnlyRootFilesystem": true, "capabilities": {"add": ["NET_ADMIN"]}})
        );
        assert_eq!(
            a["readinessProbe"],
            json!({"exec": {"command": ["/bin/sh", "-c", "wget -q -O- localhost"]}, "periodSeconds": 90, "failureThreshold": 5})
        );
        assert_eq!(d[1]["kind"], "Deployment");
        assert_eq!(d[1]["spec"]["replicas"], 3);
        assert_eq!(
            d[1]["spec"]["template"]["spec"]["containers"][0]["name"],
            "b"
        );
        assert_eq!(
            d[1]["spec"]["selector"]["matchLabels"],
            d[1]["spec"]["template"]["metadata"]["labels"]
        );
        assert_warns(&c, ":4: services.a.restart: the retry limit");
    }

    #[test]
    fn names_are_dns_labels_and_name_option_wins() {
        let c = convert_str(
            Path::new("/x/My_Project/compose.yaml"),
            "name: From File\nservices:\n  Web_1:\n    image: x\n",
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.name, "from-file");
        assert_eq!(docs(&c)[0]["metadata"]["name"], "from-file-web-1");
        let c = convert_str(
            Path::new("/x/My_Project/compose.yaml"),
            "services:\n  w:\n    image: x\n",
            Some("Override"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.name, "override");
        assert_eq!(sanitize_name("--a..b--"), "a-b");
    }

    #[test]
    fn ambiguous_scalars_stay_strings_both_ways() {
        let c = convert("services:\n  a:\n    image: x\n    restart: no\n    environment:\n      A: \"yes\"\n      B: \"on\"\n      C: \"0755\"\n      D: \"1e3\"\n      E: \"null\"\n      F: \"~\"\n      G: \"true\"\n");
        let d = docs(&c);
        assert_eq!(d[0]["spec"]["restartPolicy"], "Never");
        let env = &d[0]["spec"]["containers"][0]["env"];
        for (i, want) in ["yes", "on", "0755", "1e3", "null", "~", "true"]
            .iter()
            .enumerate()
        {
            assert_eq!(env[i]["value"], json!(want), "{}", c.yaml);
        }
        // YAML 1.1 readers (Go's yaml.v2 in Kubernetes tools) must see strings too.
        for word in ["yes", "on", "0755", "true"] {
            assert!(
                c.yaml.contains(&format!("'{word}'")) || c.yaml.contains(&format!("\"{word}\"")),
                "{word} unquoted:\n{}",
                c.yaml
            );
        }
    }

    #[test]
    fn interpolation_follows_compose() {
        std::env::set_var("QUADPLAY_TEST_TAG", "1.2");
        std::env::remove_var("QUADPLAY_TEST_NONE");
        let c = convert("services:\n  a:\n    image: \"x:${QUADPLAY_TEST_TAG}\"\n    environment:\n      A: \"$$HOME ${QUADPLAY_TEST_NONE:-dflt} $QUADPLAY_TEST_TAG-x\"\n      B: \"[${QUADPLAY_TEST_NONE}]\"\n");
        let ctr = &docs(&c)[0]["spec"]["containers"][0];
        assert_eq!(ctr["image"], "x:1.2");
        assert_eq!(ctr["env"][0]["value"], "$HOME dflt 1.2-x");
        assert_eq!(ctr["env"][1]["value"], "[]");
        assert_warns(&c, ":3: services.a.image: $QUADPLAY_TEST_TAG substituted");
        assert_warns(&c, "$QUADPLAY_TEST_NONE is not set");
        let e = err("services:\n  a:\n    image: \"${QUADPLAY_TEST_NONE:?set the image}\"\n");
        assert_eq!(
            e,
            "/srv/shop/compose.yaml:3: services.a.image: QUADPLAY_TEST_NONE: set the image"
        );
        assert!(err("services:\n  a:\n    image: \"a$(b)\"\n").contains("write $$ for a literal $"));
    }

    /// Everything the converter writes is understood by quadplay's own loader and planner (no
    /// field ignored but a claim's size), and the pods are reachable by service name.
    #[test]
    fn output_loads_and_plans_in_quadplays_executor() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let compose = dir.path().join("compose.yaml");
        let text = "name: full\nservices:\n  db:\n    image: docker.io/library/postgres:16\n    environment: {POSTGRES_PASSWORD: pw}\n    volumes: [\"data:/var/lib/postgresql/data\", \"./init:/docker-entrypoint-initdb.d:ro\", /scratch]\n    tmpfs: [/run]\n    healthcheck:\n      test: [\"CMD\", \"pg_isready\"]\n      interval: 2s\n      timeout: 1s\n      retries: 3\n      start_period: 5s\n    restart: on-failure\n    user: \"999:999\"\n  web:\n    image: docker.io/library/nginx:latest\n    entrypoint: [/docker-entrypoint.sh]\n    command: nginx -g 'daemon off;'\n    ports: [\"8080:80\", \"127.0.0.1:8443:443/tcp\"]\n    depends_on: {db: {condition: service_healthy}}\n    working_dir: /usr/share/nginx\n    hostname: www\n    cap_add: [NET_ADMIN]\n    cap_drop: [MKNOD]\n    read_only: true\n    privileged: false\n    tty: true\n    labels: {tier: front}\n    restart: always\n  worker:\n    image: docker.io/library/busybox:latest\n    command: [sleep, infinity]\n    deploy: {replicas: 2}\n    restart: unless-stopped\nvolumes:\n  data: {}\n";
        std::fs::write(&compose, text).unwrap_or_else(|e| panic!("{e}"));
        let c = convert_file(&compose, None).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let yaml = dir.path().join("full.yaml");
        std::fs::write(&yaml, &c.yaml).unwrap_or_else(|e| panic!("{e}"));
        let docs = crate::kube::load(&[yaml], &[]).unwrap_or_else(|e| panic!("{e}\n{}", c.yaml));
        // A claim's access modes and size are required by Kubernetes and meaningless for a
        // Podman volume: the loader says so, and that is all it may say.
        let unexpected: Vec<_> = docs
            .findings
            .iter()
            .filter(|f| {
                !(f.object == "PersistentVolumeClaim/full-data"
                    && (f.field == "spec.accessModes" || f.field == "spec.resources"))
            })
            .collect();
        assert!(unexpected.is_empty(), "{unexpected:?}\n{}", c.yaml);
        let opts = crate::play::plan::PlanOptions::default();
        let plan =
            crate::play::plan::plan(&docs, &opts).unwrap_or_else(|e| panic!("{e}\n{}", c.yaml));
        assert!(
            plan.warnings.len() <= docs.findings.len(),
            "{:?}",
            plan.warnings
        );
        let pod = |n: &str| {
            plan.pods.iter().find(|p| p.name == n).unwrap_or_else(|| {
                panic!(
                    "no pod {n}: {:?}",
                    plan.pods.iter().map(|p| &p.name).collect::<Vec<_>>()
                )
            })
        };
        assert!(
            pod("full-db").aliases.contains(&"db".to_string()),
            "{:?}",
            pod("full-db").aliases
        );
        assert!(pod("full-web").aliases.contains(&"web".to_string()));
        assert_eq!(pod("full-web").after, vec!["full-db".to_string()]);
        let workers: Vec<&String> = plan
            .pods
            .iter()
            .filter(|p| p.workload.starts_with("Deployment/full-worker"))
            .map(|p| &p.name)
            .collect();
        assert_eq!(workers.len(), 2, "{workers:?}");
    }

    #[test]
    fn dot_env_feeds_interpolation_below_the_process_environment() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.path().join(".env"),
            "QUADPLAY_T_TAG=from-dotenv\nQUADPLAY_T_WIN=dotenv\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        std::env::set_var("QUADPLAY_T_WIN", "process");
        let path = dir.path().join("compose.yaml");
        let c = convert_str(&path, "services:\n  a:\n    image: \"x:${QUADPLAY_T_TAG}\"\n    environment: [QUADPLAY_T_WIN]\n", Some("t"))
            .unwrap_or_else(|e| panic!("{e}"));
        let ctr = &docs(&c)[0]["spec"]["containers"][0];
        assert_eq!(ctr["image"], "x:from-dotenv");
        assert_eq!(ctr["env"][0]["value"], "process");
        assert_warns(&c, "$QUADPLAY_T_TAG substituted from .env");
    }

    #[test]
    fn durations_and_shell_words() {
        assert_eq!(duration_secs("1m30s"), Some(90));
        assert_eq!(duration_secs("500ms"), Some(1));
        assert_eq!(duration_secs("2h"), Some(7200));
        assert_eq!(duration_secs("10"), Some(10));
        assert_eq!(duration_secs("x"), None);
        assert_eq!(
            split_shell(r#"a 'b c' "d \"e\"" f\ g"#),
            Ok(vec![
                "a".into(),
                "b c".into(),
                "d \"e\"".into(),
                "f g".into()
            ])
        );
        assert!(split_shell("'open").is_err());
    }

    #[test]
    fn write_puts_both_files_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let c = convert(SEED);
        let written = write(&c, &dir.path().join("units")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(written.len(), 2);
        let mut names: Vec<String> = std::fs::read_dir(dir.path().join("units"))
            .unwrap_or_else(|e| panic!("{e}"))
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        names.sort();
        assert_eq!(names, vec!["shop.kube", "shop.yaml"]);
        assert_eq!(
            std::fs::read_to_string(&written[0]).unwrap_or_default(),
            c.yaml
        );
    }
}
