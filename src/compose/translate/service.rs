//! One compose service → one Pod (or Deployment): reads each service key into [`Parts`], then
//! assembles the Kubernetes object. Keys without an equivalent are warnings that say so.

use super::*;

/// One converted service.
pub(super) struct ServiceDoc {
    pub name: String,
    pub doc: Value,
    pub depends_on: Vec<(String, At)>,
}

/// Everything a service's container and pod collect while its keys are read.
#[derive(Default)]
pub(super) struct Parts {
    pub image: Option<String>,
    pub build: Option<String>,
    pub pull_policy: Option<&'static str>,
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
    pub env: Vec<(String, String)>,
    pub env_file: Vec<(String, String)>,
    pub ports: Vec<Value>,
    pub mounts: Vec<Value>,
    pub volumes: Vec<Value>,
    pub restart: Option<&'static str>,
    pub replicas: Option<u64>,
    pub hostname: Option<String>,
    pub working_dir: Option<String>,
    pub security: Map<String, Value>,
    pub pod_security: Map<String, Value>,
    pub pod: Map<String, Value>,
    pub caps_add: Vec<String>,
    pub caps_drop: Vec<String>,
    pub annotations: Map<String, Value>,
    pub tty: Option<bool>,
    pub probes: Option<(Value, Value)>,
    pub depends_on: Vec<(String, At)>,
    pub aliases: Vec<String>,
    pub limits: Map<String, Value>,
    pub requests: Map<String, Value>,
    pub stop_signal: Option<String>,
    pub grace: Option<u64>,
}

/// Largest `deploy.replicas` / `scale` taken: more pods than one machine runs is a mistake.
pub const MAX_REPLICAS: i64 = 1000;

pub(super) fn convert_service(
    ctx: &mut Ctx,
    svc: &Entry,
    sh: &Shared,
    used_volumes: &mut BTreeSet<String>,
    extra_docs: &mut Vec<Value>,
) -> Result<ServiceDoc, ComposeError> {
    let name = sh.names.get(&svc.key).cloned().unwrap_or_default();
    let base = format!("services.{}", svc.key);
    let workload = sanitize_name(&format!("{}-{name}", sh.app));
    let mut p = Parts::default();
    if name != svc.key {
        p.aliases.push(svc.key.clone());
    }
    for e in ctx.map(&svc.value, &base)?.to_vec() {
        let key = format!("{base}.{}", e.key);
        service_key(ctx, &mut p, &e, &key, &name, sh, used_volumes, extra_docs)?;
    }
    let image = match (p.image.take(), &p.build) {
        (Some(i), _) => i,
        (None, Some(context)) => {
            // Compose names a built image `<project>-<service>`.
            let image = format!("localhost/{}-{name}", sh.app);
            ctx.warn(svc.line, &format!("{base}.build"), format!(
                "build it before starting: podman build -t {image} {context} (the pod uses that image and never pulls it)"
            ));
            p.pull_policy = Some("Never");
            image
        }
        (None, None) => {
            return Err(ctx.invalid(
                svc.line,
                &base,
                "no image: name one with image:, or give build: to build it",
            ))
        }
    };
    let container = container(&name, image, &mut p);
    let doc = pod_doc(ctx, svc.line, &base, sh.app, &workload, &name, container, p)?;
    Ok(doc)
}

fn container(name: &str, image: String, p: &mut Parts) -> Map<String, Value> {
    let mut c = Map::new();
    c.insert("name".into(), json!(name));
    c.insert("image".into(), json!(image));
    if let Some(pp) = p.pull_policy {
        c.insert("imagePullPolicy".into(), json!(pp));
    }
    if let Some(cmd) = p.command.take() {
        c.insert("command".into(), json!(cmd));
    }
    if let Some(a) = p.args.take() {
        c.insert("args".into(), json!(a));
    }
    let env = merge_env(std::mem::take(&mut p.env_file), std::mem::take(&mut p.env));
    if !env.is_empty() {
        let list: Vec<Value> = env
            .into_iter()
            .map(|(k, v)| json!({"name": k, "value": escape_k8s_vars(&v)}))
            .collect();
        c.insert("env".into(), Value::Array(list));
    }
    if !p.ports.is_empty() {
        c.insert("ports".into(), Value::Array(std::mem::take(&mut p.ports)));
    }
    if !p.mounts.is_empty() {
        c.insert(
            "volumeMounts".into(),
            Value::Array(std::mem::take(&mut p.mounts)),
        );
    }
    if let Some(w) = p.working_dir.take() {
        c.insert("workingDir".into(), json!(w));
    }
    if !p.limits.is_empty() || !p.requests.is_empty() {
        let mut r = Map::new();
        if !p.limits.is_empty() {
            r.insert(
                "limits".into(),
                Value::Object(std::mem::take(&mut p.limits)),
            );
        }
        if !p.requests.is_empty() {
            r.insert(
                "requests".into(),
                Value::Object(std::mem::take(&mut p.requests)),
            );
        }
        c.insert("resources".into(), Value::Object(r));
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
        c.insert(
            "securityContext".into(),
            Value::Object(std::mem::take(&mut p.security)),
        );
    }
    if let Some(t) = p.tty {
        c.insert("tty".into(), json!(t));
    }
    if let Some((startup, readiness)) = p.probes.take() {
        c.insert("startupProbe".into(), startup);
        c.insert("readinessProbe".into(), readiness);
    }
    if let Some(sig) = p.stop_signal.take() {
        c.insert("lifecycle".into(), json!({"stopSignal": sig}));
    }
    c
}

#[allow(clippy::too_many_arguments)]
fn pod_doc(
    ctx: &mut Ctx,
    line: At,
    base: &str,
    app: &str,
    workload: &str,
    name: &str,
    container: Map<String, Value>,
    mut p: Parts,
) -> Result<ServiceDoc, ComposeError> {
    let mut spec = std::mem::take(&mut p.pod);
    if let Some(h) = p.hostname.take() {
        spec.insert("hostname".into(), json!(h));
    }
    if let Some(g) = p.grace {
        spec.insert("terminationGracePeriodSeconds".into(), json!(g));
    }
    if !p.pod_security.is_empty() {
        spec.insert(
            "securityContext".into(),
            Value::Object(std::mem::take(&mut p.pod_security)),
        );
    }
    let replicas = p.replicas.unwrap_or(1);
    // Compose's default is restart: "no"; a Deployment allows only Always.
    let restart = p.restart.unwrap_or("Never");
    let kind = if replicas > 1 { "Deployment" } else { "Pod" };
    if kind == "Deployment" && restart != "Always" {
        ctx.warn(line, base, format!("deploy.replicas > 1 makes a Deployment, which always restarts its containers (restart policy {restart} not kept)"));
    }
    if kind == "Pod" {
        spec.insert("restartPolicy".into(), json!(restart));
    }
    spec.insert("containers".into(), json!([Value::Object(container)]));
    if !p.volumes.is_empty() {
        spec.insert(
            "volumes".into(),
            Value::Array(std::mem::take(&mut p.volumes)),
        );
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
            .map(|(d, _)| sanitize_name(&format!("{app}-{d}")))
            .collect();
        p.annotations
            .insert(AFTER_ANNOTATION.into(), json!(after.join(",")));
    }
    p.aliases.retain(|a| a != name);
    p.aliases.sort();
    p.aliases.dedup();
    if !p.aliases.is_empty() {
        p.annotations
            .insert(ALIASES_ANNOTATION.into(), json!(p.aliases.join(",")));
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
        name: name.to_string(),
        doc,
        depends_on: p.depends_on,
    })
}

#[allow(clippy::too_many_arguments)]
fn service_key(
    ctx: &mut Ctx,
    p: &mut Parts,
    e: &Entry,
    key: &str,
    svc: &str,
    sh: &Shared,
    used_volumes: &mut BTreeSet<String>,
    extra_docs: &mut Vec<Value>,
) -> Result<(), ComposeError> {
    let v = &e.value;
    match e.key.as_str() {
        "image" => p.image = Some(ctx.string(v, key)?),
        "build" => p.build = Some(build_context(ctx, v, key)?),
        "pull_policy" => p.pull_policy = Some(pull_policy(ctx, v, key)?),
        // Compose's entrypoint replaces the image's ENTRYPOINT (Kubernetes' command); its command
        // replaces CMD (Kubernetes' args).
        "entrypoint" => p.command = Some(command_words(ctx, v, key)?),
        "command" => p.args = Some(command_words(ctx, v, key)?),
        "environment" => p.env.extend(environment(ctx, v, key)?),
        "env_file" => p.env_file.extend(env_files(ctx, v, key)?),
        "ports" => {
            let Node::Seq(items) = &v.node else {
                return Err(ctx.invalid(v.line, key, "expected a list of ports"));
            };
            for (i, it) in items.iter().enumerate() {
                p.ports.extend(port(ctx, it, &format!("{key}[{i}]"))?);
            }
        }
        "expose" => ctx.note(
            e.line,
            key,
            "pods on the shared network reach every port of each other",
        ),
        "volumes" => {
            let Node::Seq(items) = &v.node else {
                return Err(ctx.invalid(v.line, key, "expected a list of volumes"));
            };
            for (i, it) in items.iter().enumerate() {
                let k = format!("{key}[{i}]");
                volume(ctx, p, it, &k, svc, i, sh.named, used_volumes)?;
            }
        }
        "secrets" | "configs" => {
            super::secrets::mounts(ctx, p, e, key, svc, sh, extra_docs)?;
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
        "shm_size" => {
            let size = ctx.string(v, key)?;
            p.volumes.push(json!({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": quantity(&size)}}));
            p.mounts
                .push(json!({"name": "dshm", "mountPath": "/dev/shm"}));
        }
        "restart" => p.restart = Some(restart(ctx, v, key, e.line)?),
        "depends_on" => p.depends_on = depends_on(ctx, v, key, sh)?,
        "deploy" => deploy(ctx, p, v, key)?,
        "scale" => p.replicas = Some(replicas(ctx, v, key)?),
        "hostname" => p.hostname = Some(ctx.string(v, key)?),
        "container_name" => {
            let n = ctx.string(v, key)?;
            ctx.note(
                e.line,
                key,
                format!("the container is named {svc}; {n:?} stays reachable as a network alias"),
            );
            p.aliases.push(n);
        }
        "links" => {
            for l in ctx.strings(v, key)? {
                if let Some((_, alias)) = l.split_once(':') {
                    ctx.note(e.line, key, format!("link alias {alias:?} is a network alias of {svc} (every pod reaches every other)"));
                }
            }
        }
        "networks" => networks(ctx, p, v, key)?,
        "network_mode" => {
            let m = ctx.string(v, key)?;
            match m.as_str() {
                "host" => {
                    p.pod.insert("hostNetwork".into(), json!(true));
                }
                "bridge" | "default" => {}
                _ => ctx.warn(e.line, key, format!("network_mode {m:?} has no equivalent: the pod joins the shared network (put both containers' work in one service to share a network namespace)")),
            }
        }
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
        "stdin_open" => ctx.note(
            e.line,
            key,
            "a service's container has no terminal to read from under systemd",
        ),
        "labels" => {
            // Kubernetes label values are restricted; annotations take any text.
            for (k, val) in environment(ctx, v, key)? {
                p.annotations.insert(k, json!(val));
            }
        }
        "healthcheck" => p.probes = healthcheck(ctx, v, key)?,
        "stop_grace_period" => {
            let s = ctx.string(v, key)?;
            let secs = duration_secs(&s)
                .ok_or_else(|| ctx.invalid(v.line, key, format!("cannot read duration {s:?}")))?;
            p.grace = Some(secs);
        }
        "stop_signal" => p.stop_signal = Some(ctx.string(v, key)?),
        "mem_limit" => {
            let s = ctx.string(v, key)?;
            p.limits.insert("memory".into(), json!(quantity(&s)));
        }
        "mem_reservation" => {
            let s = ctx.string(v, key)?;
            p.requests.insert("memory".into(), json!(quantity(&s)));
        }
        "cpus" => {
            let s = ctx.string(v, key)?;
            p.limits.insert("cpu".into(), json!(s));
        }
        "extra_hosts" => extra_hosts(ctx, p, v, key)?,
        "dns" | "dns_search" | "dns_opt" => dns(ctx, p, e, key)?,
        "sysctls" => {
            let list: Vec<Value> = environment(ctx, v, key)?
                .into_iter()
                .map(|(k, v)| json!({"name": k, "value": v}))
                .collect();
            p.pod_security.insert("sysctls".into(), Value::Array(list));
        }
        "profiles" => {} // used when the project was loaded
        "annotations" => {
            for (k, val) in environment(ctx, v, key)? {
                p.annotations.insert(k, json!(val));
            }
        }
        "init" | "ulimits" | "devices" | "security_opt" | "logging" | "platform" | "pid"
        | "ipc" => {
            ctx.warn(e.line, key, no_equivalent(&e.key));
        }
        k if k.starts_with("x-") => {}
        other => ctx.warn(e.line, key, format!("{other} is not supported; ignored")),
    }
    Ok(())
}

/// Why a compose key has no equivalent, and what to do instead.
fn no_equivalent(key: &str) -> &'static str {
    match key {
        "init" => "not kept: Kubernetes YAML has no init process option; use an image whose entrypoint reaps children (tini, dumb-init)",
        "ulimits" => "not kept: Kubernetes YAML has no ulimits; set DefaultLimitNOFILE= etc. for the user manager, or Podman's default_ulimits in containers.conf",
        "devices" => "not kept: Kubernetes YAML has no device mapping; use a hostPath volume for the device node (privileged for access)",
        "security_opt" => "not kept: set seccomp/apparmor/label options in containers.conf or use securityContext fields in the YAML",
        "logging" => "not kept: containers log to the journal through Podman's default log driver",
        "platform" => "not kept: pull the image for the wanted platform first (podman pull --platform)",
        _ => "not kept: no equivalent in Kubernetes YAML",
    }
}

/// Compose sizes (`512m`, `1g`, `1024k`, bytes) as Kubernetes quantities (`512Mi`, `1Gi`).
pub(super) fn quantity(s: &str) -> String {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    for (suffix, k8s) in [("k", "Ki"), ("m", "Mi"), ("g", "Gi"), ("t", "Ti")] {
        if let Some(n) = t.strip_suffix(suffix) {
            return format!("{n}{k8s}");
        }
    }
    t.to_string()
}

fn build_context(ctx: &mut Ctx, v: &Item, key: &str) -> Result<String, ComposeError> {
    match &v.node {
        Node::Map(_) => Ok(v
            .get("context")
            .map(|c| ctx.string(c, &format!("{key}.context")))
            .transpose()?
            .unwrap_or_else(|| ".".into())),
        _ => ctx.string(v, key),
    }
}

fn pull_policy(ctx: &mut Ctx, v: &Item, key: &str) -> Result<&'static str, ComposeError> {
    let s = ctx.string(v, key)?;
    Ok(match s.as_str() {
        "always" => "Always",
        "never" | "build" => "Never",
        "missing" | "if_not_present" => "IfNotPresent",
        _ => {
            return Err(ctx.invalid(
                v.line,
                key,
                format!("unknown pull_policy {s:?} (always, never, missing, build)"),
            ))
        }
    })
}

fn restart(ctx: &mut Ctx, v: &Item, key: &str, line: At) -> Result<&'static str, ComposeError> {
    let r = ctx.string(v, key)?;
    Ok(match r.split(':').next().unwrap_or("") {
        "always" | "unless-stopped" => "Always",
        "on-failure" => {
            if r.contains(':') {
                ctx.warn(
                    line,
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
                format!("unknown restart policy {r:?} (no, always, on-failure, unless-stopped)"),
            ))
        }
    })
}

/// A service's `networks:` aliases become network aliases; the networks themselves are one.
fn networks(ctx: &mut Ctx, p: &mut Parts, v: &Item, key: &str) -> Result<(), ComposeError> {
    if let Node::Map(entries) = &v.node {
        for n in entries {
            if let Some(a) = n.value.get("aliases") {
                p.aliases
                    .extend(ctx.strings(a, &format!("{key}.{}.aliases", n.key))?);
            }
        }
    }
    ctx.note(v.line, key, "every pod joins one shared bridge network");
    Ok(())
}

fn extra_hosts(ctx: &mut Ctx, p: &mut Parts, v: &Item, key: &str) -> Result<(), ComposeError> {
    let pairs: Vec<(String, String)> = match &v.node {
        Node::Map(_) => environment(ctx, v, key)?,
        _ => ctx
            .strings(v, key)?
            .into_iter()
            .filter_map(|s| {
                let (h, ip) = s.split_once('=').or_else(|| s.split_once(':'))?;
                Some((h.to_string(), ip.to_string()))
            })
            .collect(),
    };
    let list: Vec<Value> = pairs
        .into_iter()
        .map(|(h, ip)| json!({"ip": ip.trim_matches(['[', ']']), "hostnames": [h]}))
        .collect();
    p.pod.insert("hostAliases".into(), Value::Array(list));
    Ok(())
}

fn dns(ctx: &mut Ctx, p: &mut Parts, e: &Entry, key: &str) -> Result<(), ComposeError> {
    let values = ctx.strings(&e.value, key)?;
    let cfg = p.pod.entry("dnsConfig").or_insert_with(|| json!({}));
    let field = match e.key.as_str() {
        "dns" => "nameservers",
        "dns_search" => "searches",
        _ => "options",
    };
    let list: Vec<Value> = if field == "options" {
        values
            .iter()
            .map(|o| match o.split_once(':') {
                Some((n, v)) => json!({"name": n, "value": v}),
                None => json!({"name": o}),
            })
            .collect()
    } else {
        values.iter().map(|s| json!(s)).collect()
    };
    cfg[field] = Value::Array(list);
    Ok(())
}

pub(super) fn replicas(ctx: &mut Ctx, v: &Item, key: &str) -> Result<u64, ComposeError> {
    let n = ctx.int(v, key)?;
    if !(0..=MAX_REPLICAS).contains(&n) {
        return Err(ctx.invalid(
            v.line,
            key,
            format!("{n} replicas: expected 0 to {MAX_REPLICAS}"),
        ));
    }
    if n == 0 {
        ctx.warn(v.line, key, "0 replicas is kept as one pod");
    }
    Ok(u64::try_from(n.max(1)).unwrap_or(1))
}
