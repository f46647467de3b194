//! `podman …` argv for the plan's objects: pure functions, so that what we ask Podman for is
//! unit-tested without running it. Secret values never appear here: they travel on stdin.

use std::collections::BTreeMap;

use crate::engine::{ContainerState, Version};
use crate::plan::{ContainerPlan, Mount, PodPlan, PortMapping, RestartPolicy};

/// Owned argv from string literals.
pub fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

pub fn label_args(out: &mut Vec<String>, flag: &str, labels: &BTreeMap<String, String>) {
    for (key, value) in labels {
        out.push(flag.to_string());
        out.push(format!("{key}={value}"));
    }
}

/// From this version `podman create --annotation` takes each value whole (seen on 5.4.2: a
/// CSV-quoted value keeps its quotes); 4.3.1 parses it as a CSV list. The versions between were not
/// checked; 5.0 is where Podman's flag changes landed.
pub const ANNOTATION_WHOLE: Version = Version::new(5, 0, 0);

/// One `--annotation` value. Before [`ANNOTATION_WHOLE`] Podman parses that flag as a CSV list (a
/// cobra StringSlice), so `k=a,b` would become two broken entries and a bare `"` is a parse error:
/// CSV-quoting the whole `key=value` (inner quotes doubled) makes it read back verbatim. Plain
/// values, and every value on newer Podman, stay unquoted.
fn annotation_arg(key: &str, value: &str, csv: bool) -> String {
    let arg = format!("{key}={value}");
    if csv && arg.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", arg.replace('"', "\"\""))
    } else {
        arg
    }
}

fn port_spec(port: &PortMapping) -> String {
    let mut spec = String::new();
    if let Some(ip) = &port.host_ip {
        if ip.contains(':') {
            spec.push_str(&format!("[{ip}]:"));
        } else {
            spec.push_str(&format!("{ip}:"));
        }
    }
    spec.push_str(&format!(
        "{}:{}/{}",
        port.host_port, port.container_port, port.protocol
    ));
    spec
}

/// First Podman with `secret create --replace` (older ones get `secret rm` first).
pub const SECRET_REPLACE: Version = Version::new(4, 7, 0);

/// `podman secret create …`, the value coming on stdin (`-`).
pub fn secret_create_args(
    name: &str,
    labels: &BTreeMap<String, String>,
    replace: bool,
) -> Vec<String> {
    let mut argv = args(&["secret", "create"]);
    if replace {
        argv.push("--replace".into());
    }
    label_args(&mut argv, "--label", labels);
    argv.push(name.to_string());
    argv.push("-".into());
    argv
}

/// `podman pod create …` for a pod of the plan.
pub fn pod_create_args(pod: &PodPlan) -> Vec<String> {
    let mut out = args(&["pod", "create", "--name", &pod.name]);
    label_args(&mut out, "--label", &pod.labels);
    if let Some(hostname) = &pod.hostname {
        out.push("--hostname".into());
        out.push(hostname.clone());
    }
    if pod.host_network {
        out.push("--network".into());
        out.push("host".into());
    } else {
        for net in &pod.networks {
            out.push("--network".into());
            out.push(net.clone());
        }
        if !pod.networks.is_empty() {
            for alias in &pod.aliases {
                out.push("--network-alias".into());
                out.push(alias.clone());
            }
        }
    }
    for port in &pod.ports {
        out.push("--publish".into());
        out.push(port_spec(port));
    }
    let mut share = vec!["net", "uts"];
    if !pod.host_ipc {
        share.push("ipc");
    }
    if pod.share_process_namespace && !pod.host_pid {
        share.push("pid");
    }
    out.push("--share".into());
    out.push(share.join(","));
    if pod.host_pid {
        out.push("--pid".into());
        out.push("host".into());
    }
    if let Some(userns) = &pod.userns {
        out.push("--userns".into());
        out.push(userns.clone());
    }
    let lists: [(&str, &Vec<String>); 5] = [
        ("--dns", &pod.dns_servers),
        ("--dns-search", &pod.dns_search),
        ("--dns-option", &pod.dns_options),
        ("--add-host", &pod.add_hosts),
        ("--sysctl", &pod.sysctls),
    ];
    for (flag, values) in lists {
        for value in values {
            out.push(flag.into());
            out.push(value.clone());
        }
    }
    out
}

fn restart_name(policy: RestartPolicy) -> &'static str {
    match policy {
        RestartPolicy::Always => "always",
        RestartPolicy::OnFailure => "on-failure",
        RestartPolicy::Never => "no",
    }
}

fn mount_args(out: &mut Vec<String>, mount: &Mount) {
    match mount {
        Mount::Bind {
            source,
            target,
            read_only,
            options,
        } => {
            let mut opts: Vec<String> = Vec::new();
            if *read_only {
                opts.push("ro".into());
            }
            opts.extend(options.iter().cloned());
            let mut spec = format!("{}:{target}", source.display());
            if !opts.is_empty() {
                spec.push(':');
                spec.push_str(&opts.join(","));
            }
            out.push("--volume".into());
            out.push(spec);
        }
        Mount::Volume {
            name,
            target,
            read_only,
            sub_path,
        } => {
            // Sub paths were resolved to binds before this point (see resolve_sub_paths).
            let _ = sub_path;
            let mut spec = format!("{name}:{target}");
            if *read_only {
                spec.push_str(":ro");
            }
            out.push("--volume".into());
            out.push(spec);
        }
        Mount::Tmpfs { target, size } => {
            out.push("--tmpfs".into());
            match size {
                Some(size) => out.push(format!("{target}:size={size}")),
                None => out.push(target.clone()),
            }
        }
    }
}

/// `podman create …` for a container of the plan, in pod `pod`. The image must be present
/// already (the apply step pulls first, so that pulls can extend systemd's start timeout).
/// `csv_annotations`: the installed Podman parses `--annotation` as a CSV list (see
/// [`ANNOTATION_WHOLE`]).
pub fn container_create_args(pod: &str, c: &ContainerPlan, csv_annotations: bool) -> Vec<String> {
    let mut out = args(&["create", "--pod", pod, "--name", &c.name, "--pull", "never"]);
    label_args(&mut out, "--label", &c.labels);
    for (key, value) in &c.annotations {
        out.push("--annotation".into());
        out.push(annotation_arg(key, value, csv_annotations));
    }
    out.push("--restart".into());
    out.push(
        if c.podman_restarts {
            restart_name(c.restart_policy)
        } else {
            "no"
        }
        .into(),
    );
    for (key, value) in &c.env {
        out.push("--env".into());
        out.push(format!("{key}={value}"));
    }
    for secret in &c.secret_env {
        out.push("--secret".into());
        out.push(format!(
            "{},type=env,target={}",
            secret.secret, secret.variable
        ));
    }
    for mount in &c.mounts {
        mount_args(&mut out, mount);
    }
    // After the binds: Podman mounts a secret over the placeholder its Secret volume holds.
    for secret in &c.secret_mounts {
        out.push("--secret".into());
        out.push(format!(
            "{},type=mount,target={},mode={:04o}",
            secret.secret, secret.target, secret.mode
        ));
    }
    let single: [(&str, &Option<String>); 4] = [
        ("--workdir", &c.working_dir),
        ("--user", &c.user),
        ("--stop-signal", &c.stop_signal),
        ("--log-driver", &c.log_driver),
    ];
    for (flag, value) in single {
        if let Some(value) = value {
            out.push(flag.into());
            out.push(value.clone());
        }
    }
    if let Some(timeout) = c.stop_timeout {
        out.push("--stop-timeout".into());
        out.push(timeout.to_string());
    }
    for group in &c.supplemental_groups {
        out.push("--group-add".into());
        out.push(group.to_string());
    }
    let flags = [
        (c.privileged, "--privileged"),
        (c.read_only_root, "--read-only"),
        (c.tty, "--tty"),
    ];
    for (on, flag) in flags {
        if on {
            out.push(flag.into());
        }
    }
    let mut security: Vec<String> = Vec::new();
    if c.no_new_privileges {
        security.push("no-new-privileges".into());
    }
    security.extend(c.selinux_opts.iter().map(|o| format!("label={o}")));
    if c.unmask_all {
        security.push("unmask=ALL".into());
    }
    let lists: [(&str, &Vec<String>); 5] = [
        ("--cap-add", &c.cap_add),
        ("--cap-drop", &c.cap_drop),
        ("--security-opt", &security),
        ("--device", &c.devices),
        ("--log-opt", &c.log_opts),
    ];
    for (flag, values) in lists {
        for value in values {
            out.push(flag.into());
            out.push(value.clone());
        }
    }
    if let Some(bytes) = c.memory_limit {
        out.push("--memory".into());
        out.push(format!("{bytes}b"));
    }
    if let Some(bytes) = c.memory_reservation {
        out.push("--memory-reservation".into());
        out.push(format!("{bytes}b"));
    }
    if let Some(millis) = c.cpu_limit_millis {
        out.push("--cpus".into());
        out.push(format!("{}.{:03}", millis / 1000, millis % 1000));
    }
    if let Some(command) = &c.command {
        out.push("--entrypoint".into());
        // The JSON form keeps each word intact; Podman splits a plain string on spaces.
        out.push(serde_json::to_string(command).unwrap_or_else(|_| "[]".into()));
    }
    out.extend(c.extra_args.iter().cloned());
    out.push(c.image.clone());
    if let Some(args) = &c.args {
        out.extend(args.iter().cloned());
    }
    out
}

/// The `container inspect --format` template whose lines [`parse_states`] reads.
pub const INSPECT_FORMAT: &str = "{{.Name}} {{.State.Status}} {{.State.ExitCode}} \
     {{if .HostConfig.RestartPolicy.Name}}{{.HostConfig.RestartPolicy.Name}}{{else}}no{{end}} \
     {{.State.FinishedAt}}";

/// Parses `name status exitcode policy finished-at…` lines of our inspect template (the time
/// has spaces in it, so it is last and takes the rest of the line).
pub fn parse_states(text: &str) -> Vec<ContainerState> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.trim().splitn(5, ' ');
            let name = fields.next()?.trim_start_matches('/').to_string();
            let status = fields.next()?.to_string();
            let exit_code = fields.next()?.parse().ok()?;
            let restart_policy = fields.next().unwrap_or("").to_string();
            let finished_at = fields.next().unwrap_or("").to_string();
            Some(ContainerState {
                name,
                status,
                exit_code,
                restart_policy,
                finished_at,
            })
        })
        .collect()
}

/// Parses `podman pod ps --format json`: a list of pods with `Name` and `Labels` (null when a
/// pod has none). Label values that are not strings are an error, not skipped.
pub fn parse_pod_labels(json: &str) -> Result<super::super::PodLabels, String> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let pods = value.as_array().ok_or("not a JSON list")?;
    let mut out = super::super::PodLabels::new();
    for pod in pods {
        let name = pod["Name"].as_str().ok_or("a pod without a Name")?;
        let mut labels = BTreeMap::new();
        if let Some(map) = pod["Labels"].as_object() {
            for (k, v) in map {
                let v = v
                    .as_str()
                    .ok_or_else(|| format!("{name}: label {k} is not a string"))?;
                labels.insert(k.clone(), v.to_string());
            }
        }
        out.insert(name.to_string(), labels);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_labels_from_pod_ps_json() {
        let json = r#"[{"Cgroup":"user.slice","Id":"4f1c","Name":"web-pod","Labels":{"io.quadplay.app":"app.service","io.quadplay.spec-digest":"ab12"},"Status":"Running"},
                      {"Id":"77aa","Name":"bare","Labels":null}]"#;
        let pods = parse_pod_labels(json).unwrap();
        assert_eq!(pods["web-pod"]["io.quadplay.spec-digest"], "ab12");
        assert!(pods["bare"].is_empty());
        assert_eq!(parse_pod_labels("[]").unwrap().len(), 0);
        let err = parse_pod_labels(r#"[{"Name":"x","Labels":{"a":1}}]"#).unwrap_err();
        assert_eq!(err, "x: label a is not a string");
        assert!(parse_pod_labels("{}").is_err());
    }
    use crate::plan::{PortOrigin, PullPolicy, SecretEnv};

    fn pod() -> PodPlan {
        PodPlan {
            name: "web".into(),
            workload: "Pod/web".into(),
            labels: [("io.quadplay.app".to_string(), "a".to_string())].into(),
            networks: vec!["podman-default-kube-network".into()],
            aliases: vec!["web".into(), "frontend".into()],
            ports: vec![PortMapping {
                host_ip: None,
                host_port: 8081,
                container_port: 80,
                protocol: "tcp".into(),
                origin: PortOrigin::default(),
            }],
            containers: vec![],
            restart_policy: RestartPolicy::Always,
            ..PodPlan::default()
        }
    }

    #[test]
    fn pod_args_carry_network_aliases_and_ports() {
        let argv = pod_create_args(&pod()).join(" ");
        assert!(argv.starts_with("pod create --name web --label io.quadplay.app=a"));
        assert!(argv.contains("--network podman-default-kube-network"));
        assert!(argv.contains("--network-alias web --network-alias frontend"));
        assert!(argv.contains("--publish 8081:80/tcp"));
        assert!(argv.contains("--share net,uts,ipc"));
    }

    #[test]
    fn host_network_pod_has_no_aliases() {
        let mut p = pod();
        p.host_network = true;
        let argv = pod_create_args(&p).join(" ");
        assert!(argv.contains("--network host"));
        assert!(!argv.contains("--network-alias"));
    }

    #[test]
    fn annotations_with_commas_or_quotes_are_csv_quoted() {
        let c = ContainerPlan {
            name: "web-app".into(),
            image: "localhost/busybox:latest".into(),
            annotations: [
                ("plain".to_string(), "v w".to_string()),
                ("list".to_string(), "a,b".to_string()),
                ("quote".to_string(), r#"say "hi", bye"#.to_string()),
            ]
            .into(),
            ..ContainerPlan::default()
        };
        let values = |csv| {
            let argv = container_create_args("web", &c, csv);
            argv.windows(2)
                .filter(|w| w[0] == "--annotation")
                .map(|w| w[1].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            values(true),
            [r#""list=a,b""#, "plain=v w", r#""quote=say ""hi"", bye""#]
        );
        // Podman 5 takes each value whole: quoting would reach the container.
        assert_eq!(
            values(false),
            ["list=a,b", "plain=v w", r#"quote=say "hi", bye"#]
        );
    }

    #[test]
    fn ipv6_host_ip_is_bracketed() {
        let port = PortMapping {
            host_ip: Some("::1".into()),
            host_port: 80,
            container_port: 8080,
            protocol: "udp".into(),
            origin: PortOrigin::default(),
        };
        assert_eq!(port_spec(&port), "[::1]:80:8080/udp");
    }

    #[test]
    fn container_args_keep_secrets_out_and_order_image_last() {
        let c = ContainerPlan {
            name: "web-app".into(),
            short_name: "app".into(),
            image: "localhost/busybox:latest".into(),
            pull_policy: PullPolicy::Missing,
            command: Some(vec!["httpd".into(), "-f".into()]),
            args: Some(vec!["-p".into(), "80".into()]),
            env: vec![("A".into(), "b c".into())],
            secret_env: vec![SecretEnv {
                variable: "PASSWORD".into(),
                secret: "web-db".into(),
            }],
            mounts: vec![Mount::Volume {
                name: "data".into(),
                target: "/data".into(),
                read_only: true,
                sub_path: None,
            }],
            stop_timeout: Some(5),
            stop_signal: Some("SIGINT".into()),
            restart_policy: RestartPolicy::OnFailure,
            cpu_limit_millis: Some(1500),
            ..ContainerPlan::default()
        };
        let argv = container_create_args("web", &c, true);
        let joined = argv.join(" ");
        assert!(joined.starts_with("create --pod web --name web-app --pull never"));
        // The supervisor restarts (with back-off); Podman only without one (--detach).
        assert!(joined.contains("--restart no"), "{joined}");
        let detached = ContainerPlan {
            podman_restarts: true,
            ..c.clone()
        };
        assert!(container_create_args("web", &detached, true)
            .join(" ")
            .contains("--restart on-failure"));
        assert!(joined.contains("--env A=b c"));
        assert!(joined.contains("--secret web-db,type=env,target=PASSWORD"));
        assert!(joined.contains("--volume data:/data:ro"));
        assert!(joined.contains("--stop-signal SIGINT --stop-timeout 5"));
        assert!(joined.contains("--cpus 1.500"));
        assert!(joined.contains(r#"--entrypoint ["httpd","-f"]"#));
        assert!(joined.ends_with("localhost/busybox:latest -p 80"));
    }

    #[test]
    fn parses_inspect_lines() {
        let states = parse_states(
            "/a running 0 always 0001-01-01 00:00:00 +0000 UTC\n\
             b exited 3 no 2026-11-23 05:57:01.5 +0000 UTC\nc exited 0\n",
        );
        assert_eq!(states.len(), 3);
        assert_eq!(states[0].name, "a");
        assert_eq!(states[1].exit_code, 3);
        assert_eq!(states[1].finished_at, "2026-11-23 05:57:01.5 +0000 UTC");
        assert_eq!(states[2].restart_policy, "");
    }

    #[test]
    fn podman_secret_files_are_mounted_after_the_binds_they_sit_in() {
        let c = ContainerPlan {
            name: "web-app".into(),
            image: "localhost/busybox:latest".into(),
            mounts: vec![Mount::Bind {
                source: "/run/user/1001/quadplay/app/web/creds".into(),
                target: "/etc/app".into(),
                read_only: true,
                options: vec![],
            }],
            secret_mounts: vec![crate::plan::SecretMount {
                secret: "vendor-token".into(),
                target: "/etc/app/token".into(),
                mode: 0o400,
            }],
            ..ContainerPlan::default()
        };
        let argv = container_create_args("web", &c, true).join(" ");
        let bind = argv.find("/etc/app:ro").expect(&argv);
        let secret = argv
            .find("--secret vendor-token,type=mount,target=/etc/app/token,mode=0400")
            .expect(&argv);
        assert!(bind < secret, "{argv}");
    }

    #[test]
    fn secret_value_goes_on_stdin_and_replace_is_gated() {
        let labels = [("io.quadplay.app".to_string(), "a".to_string())].into();
        let old = secret_create_args("db", &labels, Version::new(4, 3, 1) >= SECRET_REPLACE);
        assert_eq!(
            old.join(" "),
            "secret create --label io.quadplay.app=a db -"
        );
        let new = secret_create_args("db", &labels, Version::new(5, 2, 0) >= SECRET_REPLACE);
        assert_eq!(
            new.join(" "),
            "secret create --replace --label io.quadplay.app=a db -"
        );
    }
}
