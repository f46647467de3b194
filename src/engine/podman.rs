//! [`Engine`] over the `podman` CLI.
//!
//! Every call is one `podman [--module M]… [GLOBAL ARGS]… SUBCOMMAND …` process. The argv builders
//! are pure functions so that what we ask Podman for is unit-testable; only `run*` touch processes.
//! Secret values travel on stdin and nowhere else. `NOTIFY_SOCKET` is removed from every child's
//! environment: the unit has `NotifyAccess=main`, and Podman would otherwise try to speak for it.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::netns;
use super::{
    exitwatch, ContainerState, Engine, EngineError, EventSink, Version, Watch, WatchEvent,
};
use crate::cli::PodmanOptions;
use crate::play::plan::{
    ContainerPlan, Mount, NetworkPlan, PodPlan, PortMapping, PullPolicy, RestartPolicy, VolumePlan,
};

/// The `podman` CLI, with the global arguments of the unit and the version detected once.
#[derive(Debug, Clone)]
pub struct Podman {
    program: PathBuf,
    global: Vec<String>,
    version: Version,
    remote: bool,
}

/// Whether Podman works on another machine: `podman-remote`, a global `--remote`/`--url`/
/// `--connection`/`--host` (either spelling), or `$CONTAINER_HOST`/`$CONTAINER_CONNECTION`, as
/// Podman decides it. `env_set` says whether an environment variable is set.
fn remote_podman(program: &Path, global: &[String], env_set: impl Fn(&str) -> bool) -> bool {
    let binary = program.file_name().and_then(|n| n.to_str()).unwrap_or("");
    binary.starts_with("podman-remote")
        || env_set("CONTAINER_HOST")
        || env_set("CONTAINER_CONNECTION")
        || global.iter().any(|a| {
            let flag = a.split('=').next().unwrap_or_default();
            matches!(
                flag,
                "--remote" | "-r" | "--url" | "--connection" | "-c" | "--host" | "-H"
            )
        })
}

impl Podman {
    /// Uses `$PODMAN` or `podman` from `PATH`, and detects the version (`podman version`).
    pub fn new(options: &PodmanOptions) -> Result<Podman, EngineError> {
        let program = std::env::var_os("PODMAN")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("podman"));
        let mut global = Vec::new();
        for module in &options.podman_modules {
            global.push("--module".to_string());
            global.push(module.clone());
        }
        global.extend(options.podman_global_args.iter().cloned());
        let remote = remote_podman(&program, &global, |v| std::env::var_os(v).is_some());
        let mut podman = Podman {
            program,
            global,
            version: Version::new(0, 0, 0),
            remote,
        };
        podman.version = podman.detect_version()?;
        Ok(podman)
    }

    /// Whether Podman works on another machine, where this machine's ports and network
    /// namespace say nothing about its containers.
    pub fn is_remote(&self) -> bool {
        self.remote
    }

    fn detect_version(&self) -> Result<Version, EngineError> {
        let out = self.run("version", &args(&["version", "--format", "json"]))?;
        parse_version_json(&out).ok_or_else(|| EngineError::Output {
            action: "version".into(),
            detail: out.chars().take(200).collect(),
        })
    }

    fn command(&self, argv: &[String]) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.global)
            .args(argv)
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null());
        cmd
    }

    fn spawn_error(&self, source: std::io::Error) -> EngineError {
        EngineError::Spawn {
            program: self.program.display().to_string(),
            source,
        }
    }

    /// Runs podman to completion; stdout on success, stderr in the error otherwise.
    fn run(&self, action: &str, argv: &[String]) -> Result<String, EngineError> {
        self.run_input(action, argv, None)
    }

    /// A bridge network's interface name and gateways; `None` for other drivers or on failure.
    fn bridge_of(&self, network: &str) -> Option<(String, Vec<std::net::IpAddr>)> {
        let argv = args(&["network", "inspect", "--format", "json", network]);
        let json = self.run("inspect network", &argv).ok()?;
        let nets: Vec<netns::Network> = serde_json::from_str(&json).ok()?;
        let net = nets.into_iter().next()?;
        if net.driver != "bridge" || net.network_interface.is_empty() {
            return None;
        }
        let gateways = net.gateways();
        Some((net.network_interface, gateways))
    }

    fn run_input(
        &self,
        action: &str,
        argv: &[String],
        input: Option<&[u8]>,
    ) -> Result<String, EngineError> {
        let mut cmd = self.command(argv);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        if input.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().map_err(|e| self.spawn_error(e))?;
        if let (Some(data), Some(mut stdin)) = (input, child.stdin.take()) {
            // A write error shows up as Podman's own failure below; the pipe closes on drop.
            let _ = stdin.write_all(data);
        }
        let out = child.wait_with_output().map_err(|e| self.spawn_error(e))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(EngineError::Failed {
                action: action.to_string(),
                message: clean_stderr(&out.stderr),
                code: out.status.code(),
            })
        }
    }

    /// Runs podman for its exit status only (`exists` subcommands).
    fn status(&self, argv: &[String]) -> Result<bool, EngineError> {
        let status = self
            .command(argv)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| self.spawn_error(e))?;
        Ok(status.success())
    }

    fn volume_mountpoint(&self, name: &str) -> Result<PathBuf, EngineError> {
        let out = self.run(
            &format!("inspect volume {name}"),
            &args(&["volume", "inspect", "--format", "{{.Mountpoint}}", name]),
        )?;
        Ok(PathBuf::from(out.trim()))
    }

    /// Turns volume sub-path mounts into binds of the volume's directory: `--mount
    /// type=volume,subpath=` is newer than Podman 4.3, and the local driver's mountpoint is a plain
    /// directory. Like Kubernetes, a missing sub path is created.
    fn resolve_sub_paths(&self, container: &ContainerPlan) -> Result<ContainerPlan, EngineError> {
        let mut resolved = container.clone();
        for mount in &mut resolved.mounts {
            if let Mount::Volume {
                name,
                target,
                read_only,
                sub_path: Some(sub),
            } = mount
            {
                let source = self
                    .volume_mountpoint(name)?
                    .join(sub.trim_start_matches('/'));
                std::fs::create_dir_all(&source).map_err(|e| EngineError::Failed {
                    action: format!("create sub path {sub} of volume {name}"),
                    message: e.to_string(),
                    code: None,
                })?;
                *mount = Mount::Bind {
                    source,
                    target: target.clone(),
                    read_only: *read_only,
                    options: Vec::new(),
                };
            }
        }
        Ok(resolved)
    }
}

fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Podman's stderr reduced to what explains the failure: `Error: ` lines without the prefix and
/// the messages of `level=error` log lines, joined by `; `. Warnings and the "failed to connect
/// to syslog" noise Podman prints under systemd are dropped.
fn clean_stderr(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let mut kept: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.contains("failed to connect to syslog") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("time=") {
            let Some(msg) = log_message(rest) else {
                continue;
            };
            if msg != "Starting some container dependencies" {
                kept.push(msg);
            }
            continue;
        }
        kept.push(line.strip_prefix("Error: ").unwrap_or(line).to_string());
    }
    kept.dedup();
    kept.join("; ")
}

/// The `msg="…"` of a logrus line at level error or fatal, unescaped.
fn log_message(line: &str) -> Option<String> {
    if !(line.contains("level=error") || line.contains("level=fatal")) {
        return None;
    }
    let start = line.find("msg=\"")? + 5;
    let body = &line[start..];
    let body = body.strip_suffix('"').unwrap_or(body);
    let unescaped = body.replace("\\\"", "\"");
    Some(unescaped.trim_matches('"').to_string())
}

fn is_missing(err: &EngineError) -> bool {
    match err {
        EngineError::Failed { message, .. } => {
            let m = message.to_ascii_lowercase();
            m.contains("no such") || m.contains("not found")
        }
        _ => false,
    }
}

fn parse_version_json(text: &str) -> Option<Version> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    // A remote client reports the server separately; the server is what runs containers.
    let version = value
        .pointer("/Server/Version")
        .or_else(|| value.pointer("/Client/Version"))?
        .as_str()?;
    Version::parse(version)
}

fn label_args(out: &mut Vec<String>, flag: &str, labels: &BTreeMap<String, String>) {
    for (key, value) in labels {
        out.push(flag.to_string());
        out.push(format!("{key}={value}"));
    }
}

/// One `--annotation` value. Podman parses that flag as a CSV list (a cobra StringSlice, 4.3
/// through 5.x), so `k=a,b` would become two broken entries and a bare `"` is a parse error.
/// CSV-quoting the whole `key=value` (inner quotes doubled) makes Podman read it back verbatim;
/// plain values stay unquoted.
fn annotation_arg(key: &str, value: &str) -> String {
    let arg = format!("{key}={value}");
    if arg.contains([',', '"', '\n', '\r']) {
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
pub fn container_create_args(pod: &str, c: &ContainerPlan) -> Vec<String> {
    let mut out = args(&["create", "--pod", pod, "--name", &c.name, "--pull", "never"]);
    label_args(&mut out, "--label", &c.labels);
    for (key, value) in &c.annotations {
        out.push("--annotation".into());
        out.push(annotation_arg(key, value));
    }
    out.push("--restart".into());
    out.push(restart_name(c.restart_policy).into());
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

/// Parses `name status exitcode policy finished-at…` lines of our inspect template (the time
/// has spaces in it, so it is last and takes the rest of the line).
fn parse_states(text: &str) -> Vec<ContainerState> {
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

fn wait_timeout(child: &mut Child, timeout: Duration) -> std::io::Result<Option<i32>> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status.code().unwrap_or(128)));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// A `podman events` child; killed when stopped or dropped.
struct EventsWatch {
    child: Option<Child>,
}

impl Watch for EventsWatch {
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for EventsWatch {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Engine for Podman {
    fn version(&self) -> Version {
        self.version
    }

    fn ensure_network(
        &self,
        net: &NetworkPlan,
        labels: &BTreeMap<String, String>,
    ) -> Result<bool, EngineError> {
        if self.status(&args(&["network", "exists", &net.name]))? {
            return Ok(false);
        }
        if !net.create_if_missing {
            return Err(EngineError::Failed {
                action: format!("network {}", net.name),
                message: "network not found (is its .network unit started?)".into(),
                code: None,
            });
        }
        let mut argv = args(&["network", "create"]);
        label_args(&mut argv, "--label", labels);
        argv.push(net.name.clone());
        match self.run(&format!("create network {}", net.name), &argv) {
            Ok(_) => Ok(true),
            // Another unit may create the shared network at the same moment.
            Err(EngineError::Failed { message, .. }) if message.contains("already exists") => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn repair_network(&self, name: &str) -> Result<Option<String>, EngineError> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            // Rootful bridges live in the host's namespace, where other software owns bridges too.
            return Ok(None);
        }
        // A remote Podman's bridges are on its machine, not in this one's runtime dir.
        if self.remote {
            return Ok(None);
        }
        // Entering a namespace that does not exist yet would create it: then nothing is stale.
        if !netns::rootless_netns_exists(&runtime_dir()) {
            return Ok(None);
        }
        // Best effort: when a fact cannot be had (no `ip`, an old Podman), change nothing.
        let Some((iface, gateways)) = self.bridge_of(name) else {
            return Ok(None);
        };
        let in_netns = |rest: &[&str]| {
            let mut argv = args(&["unshare", "--rootless-netns", "ip"]);
            argv.extend(rest.iter().map(|a| a.to_string()));
            argv
        };
        let addresses = match self.run(
            "inspect bridge",
            &in_netns(&["-j", "addr", "show", "dev", &iface]),
        ) {
            Ok(json) => netns::bridge_addresses(&json),
            Err(EngineError::Failed { message, .. }) if message.contains("does not exist") => {
                return Ok(None)
            }
            Err(_) => None,
        };
        let Some(addresses) = addresses else {
            return Ok(None);
        };
        let filter = format!("network={name}");
        let running = self.run(
            "list containers",
            &args(&["ps", "--quiet", "--filter", &filter]),
        );
        let Ok(running) = running else {
            return Ok(None);
        };
        match netns::verdict(&gateways, &addresses, !running.trim().is_empty()) {
            netns::BridgeVerdict::Fine => Ok(None),
            netns::BridgeVerdict::RemoveStale { addresses } => {
                self.run(
                    &format!("remove stale bridge {iface}"),
                    &in_netns(&["link", "del", &iface]),
                )?;
                Ok(Some(format!(
                    "network {name}: removed bridge {iface} from the rootless network namespace: \
                     a removed network's teardown had left it there with {} instead of {name}'s \
                     gateway, which would leave the pods without gateway, DNS or published ports; \
                     Podman builds it again",
                    addresses.join(", ")
                )))
            }
            netns::BridgeVerdict::Conflict { addresses } => Err(EngineError::Failed {
                action: format!("network {name}"),
                message: format!(
                    "bridge {iface} in the rootless network namespace carries {} (left by a \
                     removed network) and running containers of {name} are attached to it \
                     without a gateway, DNS or published ports; stop them (podman stop --all) \
                     so that Podman builds the bridge again, then start this again",
                    addresses.join(", ")
                ),
                code: None,
            }),
        }
    }

    fn create_secret(
        &self,
        name: &str,
        data: &[u8],
        labels: &BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        let replace = self.version >= SECRET_REPLACE;
        if !replace {
            self.remove_secret(name)?;
        }
        let argv = secret_create_args(name, labels, replace);
        self.run_input(&format!("create secret {name}"), &argv, Some(data))
            .map(|_| ())
    }

    fn remove_secret(&self, name: &str) -> Result<bool, EngineError> {
        match self.run(
            &format!("remove secret {name}"),
            &args(&["secret", "rm", name]),
        ) {
            Ok(_) => Ok(true),
            Err(e) if is_missing(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn volume_exists(&self, name: &str) -> Result<bool, EngineError> {
        self.status(&args(&["volume", "exists", name]))
    }

    fn create_volume(&self, volume: &VolumePlan) -> Result<(), EngineError> {
        let mut argv = args(&["volume", "create"]);
        label_args(&mut argv, "--label", &volume.labels);
        if let Some(driver) = &volume.driver {
            argv.push("--driver".into());
            argv.push(driver.clone());
        }
        for opt in &volume.options {
            argv.push("--opt".into());
            argv.push(opt.clone());
        }
        argv.push(volume.name.clone());
        self.run(&format!("create volume {}", volume.name), &argv)
            .map(|_| ())
    }

    fn remove_volume(&self, name: &str) -> Result<bool, EngineError> {
        match self.run(
            &format!("remove volume {name}"),
            &args(&["volume", "rm", name]),
        ) {
            Ok(_) => Ok(true),
            Err(e) if is_missing(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn image_exists(&self, image: &str) -> Result<bool, EngineError> {
        self.status(&args(&["image", "exists", image]))
    }

    fn pull(&self, image: &str, _policy: PullPolicy) -> Result<(), EngineError> {
        // `pull --policy` is newer than 4.3; the caller decides whether to pull at all.
        self.run(&format!("pull {image}"), &args(&["pull", "--quiet", image]))
            .map(|_| ())
    }

    fn create_pod(&self, pod: &PodPlan) -> Result<(), EngineError> {
        self.run(&format!("create pod {}", pod.name), &pod_create_args(pod))
            .map(|_| ())
    }

    fn pod_exists(&self, name: &str) -> Result<bool, EngineError> {
        self.status(&args(&["pod", "exists", name]))
    }

    fn remove_pods(&self, names: &[String]) -> Result<(), EngineError> {
        if names.is_empty() {
            return Ok(());
        }
        let mut argv = args(&["pod", "rm", "--force", "--ignore", "--time", "0"]);
        argv.extend(names.iter().cloned());
        self.run(&format!("remove pods {}", names.join(" ")), &argv)
            .map(|_| ())
    }

    fn list_pods(&self, key: &str, value: &str) -> Result<Vec<String>, EngineError> {
        let out = self.run(
            "list pods",
            &args(&[
                "pod",
                "ps",
                "--filter",
                &format!("label={key}={value}"),
                "--format",
                "{{.Name}}",
            ]),
        )?;
        Ok(out
            .lines()
            .map(str::to_string)
            .filter(|l| !l.is_empty())
            .collect())
    }

    fn create_container(&self, pod: &str, container: &ContainerPlan) -> Result<(), EngineError> {
        let resolved = self.resolve_sub_paths(container)?;
        self.run(
            &format!("create container {}", container.name),
            &container_create_args(pod, &resolved),
        )
        .map(|_| ())
    }

    fn run_container(&self, pod: &str, container: &ContainerPlan) -> Result<(), EngineError> {
        let resolved = self.resolve_sub_paths(container)?;
        let mut argv = container_create_args(pod, &resolved);
        // `run --detach` is `create` + `start` in one Podman process: one process less per
        // container, and a start failure is attributed to its own container.
        argv[0] = "run".into();
        argv.insert(1, "--detach".into());
        self.run(&format!("run container {}", container.name), &argv)
            .map(|_| ())
    }

    fn start(&self, names: &[String]) -> Result<(), EngineError> {
        if names.is_empty() {
            return Ok(());
        }
        let mut argv = args(&["start"]);
        argv.extend(names.iter().cloned());
        self.run(&format!("start {}", names.join(" ")), &argv)
            .map(|_| ())
    }

    fn wait(&self, name: &str) -> Result<i32, EngineError> {
        let out = self.run(&format!("wait {name}"), &args(&["wait", name]))?;
        out.trim().parse().map_err(|_| EngineError::Output {
            action: format!("wait {name}"),
            detail: out.trim().to_string(),
        })
    }

    fn inspect(&self, names: &[String]) -> Result<Vec<ContainerState>, EngineError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut argv = args(&[
            "container",
            "inspect",
            "--format",
            "{{.Name}} {{.State.Status}} {{.State.ExitCode}} \
             {{if .HostConfig.RestartPolicy.Name}}{{.HostConfig.RestartPolicy.Name}}{{else}}no{{end}} \
             {{.State.FinishedAt}}",
        ]);
        argv.extend(names.iter().cloned());
        // Podman prints what exists and fails for the rest; missing containers are simply absent.
        let output = self
            .command(&argv)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| self.spawn_error(e))?;
        let states = parse_states(&String::from_utf8_lossy(&output.stdout));
        if states.is_empty() && !output.status.success() {
            let message = clean_stderr(&output.stderr);
            if !message.contains("no such") {
                return Err(EngineError::Failed {
                    action: "inspect containers".into(),
                    message,
                    code: output.status.code(),
                });
            }
        }
        Ok(states)
    }

    fn stop(&self, names: &[String], timeout: Option<u64>) -> Result<(), EngineError> {
        if names.is_empty() {
            return Ok(());
        }
        let mut argv = args(&["stop", "--ignore"]);
        if let Some(timeout) = timeout {
            argv.push("--time".into());
            argv.push(timeout.to_string());
        }
        argv.extend(names.iter().cloned());
        self.run(&format!("stop {}", names.join(" ")), &argv)
            .map(|_| ())
    }

    fn restart(&self, name: &str) -> Result<(), EngineError> {
        self.run(&format!("restart {name}"), &args(&["restart", name]))
            .map(|_| ())
    }

    fn remove_containers(&self, names: &[String]) -> Result<(), EngineError> {
        if names.is_empty() {
            return Ok(());
        }
        let mut argv = args(&["rm", "--force", "--ignore", "--time", "0"]);
        argv.extend(names.iter().cloned());
        self.run(&format!("remove containers {}", names.join(" ")), &argv)
            .map(|_| ())
    }

    fn list_containers(&self, key: &str, value: &str) -> Result<Vec<String>, EngineError> {
        let out = self.run(
            "list containers",
            &args(&[
                "ps",
                "--all",
                "--filter",
                &format!("label={key}={value}"),
                "--format",
                "{{.Names}} {{.IsInfra}}",
            ]),
        )?;
        Ok(out
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                let name = fields.next()?;
                (fields.next() != Some("true")).then(|| name.to_string())
            })
            .collect())
    }

    fn logs_tail(&self, name: &str, lines: u32) -> Result<String, EngineError> {
        let output = self
            .command(&args(&["logs", "--tail", &lines.to_string(), name]))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| self.spawn_error(e))?;
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        Ok(text.trim().to_string())
    }

    fn exec(
        &self,
        container: &str,
        argv: &[String],
        timeout: Duration,
    ) -> Result<i32, EngineError> {
        let mut full = args(&["exec", container]);
        full.extend(argv.iter().cloned());
        let mut child = self
            .command(&full)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| self.spawn_error(e))?;
        match wait_timeout(&mut child, timeout).map_err(|e| self.spawn_error(e))? {
            Some(code) => Ok(code),
            None => Err(EngineError::Timeout {
                action: format!("exec {container}"),
                seconds: timeout.as_secs(),
            }),
        }
    }

    fn watch_deaths(
        &self,
        key: &str,
        value: &str,
        sink: EventSink,
    ) -> Result<Box<dyn Watch>, EngineError> {
        let sink = match self.exit_dir_and_ids(key, value) {
            Some((dir, ids)) => match exitwatch::start(&dir, ids, sink) {
                Ok(watch) => return Ok(Box::new(watch)),
                Err((_, sink)) => sink,
            },
            None => sink,
        };
        self.watch_events(key, value, sink)
    }
}

impl Podman {
    /// conmon's `--exit-dir` (read from the command line of one of our containers' conmon) and
    /// the full IDs of the containers labelled `key=value`; None when either is unknown.
    fn exit_dir_and_ids(&self, key: &str, value: &str) -> Option<(PathBuf, HashSet<String>)> {
        let out = self
            .run(
                "list containers",
                &args(&[
                    "ps",
                    "--all",
                    "--no-trunc",
                    "--filter",
                    &format!("label={key}={value}"),
                    "--format",
                    "{{.ID}}",
                ]),
            )
            .ok()?;
        let ids: HashSet<String> = out.split_whitespace().map(str::to_string).collect();
        let any = ids.iter().next()?;
        let pid = self
            .run(
                "inspect",
                &args(&[
                    "container",
                    "inspect",
                    "--format",
                    "{{.State.ConmonPid}}",
                    any,
                ]),
            )
            .ok()?;
        let pid: u32 = pid.trim().parse().ok().filter(|p| *p > 0)?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let mut argv = cmdline.split(|b| *b == 0);
        argv.find(|a| *a == b"--exit-dir")?;
        let dir = PathBuf::from(std::ffi::OsStr::from_bytes(argv.next()?));
        dir.is_dir().then_some((dir, ids))
    }

    /// Deaths from one `podman events` child, filtered on our label.
    fn watch_events(
        &self,
        key: &str,
        value: &str,
        mut sink: EventSink,
    ) -> Result<Box<dyn Watch>, EngineError> {
        let argv = args(&[
            "events",
            "--filter",
            &format!("label={key}={value}"),
            "--filter",
            "event=died",
            "--format",
            "{{.Name}}",
        ]);
        let mut child = self
            .command(&argv)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| self.spawn_error(e))?;
        let stdout = child.stdout.take().ok_or_else(|| EngineError::Output {
            action: "events".into(),
            detail: "no stdout".into(),
        })?;
        thread::Builder::new()
            .name("events".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let container = line.trim().to_string();
                    if !container.is_empty() && !sink(WatchEvent::Died { container }) {
                        return;
                    }
                }
                sink(WatchEvent::Ended);
            })
            .map_err(|e| self.spawn_error(e))?;
        Ok(Box::new(EventsWatch { child: Some(child) }))
    }
}

/// Where the executor keeps per-app state: `$XDG_RUNTIME_DIR` or `/run`.
pub fn runtime_dir() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty() && Path::new(d).is_absolute())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::play::plan::{PortOrigin, PullPolicy, SecretEnv};

    #[test]
    fn remote_podman_is_recognised_as_podman_decides_it() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let local = Path::new("/usr/bin/podman");
        let no_env = |_: &str| false;
        assert!(remote_podman(
            local,
            &args(&["--url=unix:///run/podman.sock"]),
            no_env
        ));
        assert!(remote_podman(
            local,
            &args(&["--connection", "prod"]),
            no_env
        ));
        assert!(remote_podman(local, &args(&["-r"]), no_env));
        assert!(remote_podman(
            Path::new("/usr/bin/podman-remote"),
            &[],
            no_env
        ));
        assert!(remote_podman(local, &[], |v| v == "CONTAINER_HOST"));
        assert!(remote_podman(local, &[], |v| v == "CONTAINER_CONNECTION"));
        let storage = args(&["--log-level=debug", "--root", "/srv/storage"]);
        assert!(!remote_podman(local, &storage, |v| v == "HOME"));
        assert!(!remote_podman(local, &[], no_env));
    }

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
        let argv = container_create_args("web", &c);
        let values: Vec<&str> = argv
            .windows(2)
            .filter(|w| w[0] == "--annotation")
            .map(|w| w[1].as_str())
            .collect();
        assert_eq!(
            values,
            [r#""list=a,b""#, "plain=v w", r#""quote=say ""hi"", bye""#]
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
        let argv = container_create_args("web", &c);
        let joined = argv.join(" ");
        assert!(joined.starts_with("create --pod web --name web-app --pull never"));
        assert!(joined.contains("--restart on-failure"));
        assert!(joined.contains("--env A=b c"));
        assert!(joined.contains("--secret web-db,type=env,target=PASSWORD"));
        assert!(joined.contains("--volume data:/data:ro"));
        assert!(joined.contains("--stop-signal SIGINT --stop-timeout 5"));
        assert!(joined.contains("--cpus 1.500"));
        assert!(joined.contains(r#"--entrypoint ["httpd","-f"]"#));
        assert!(joined.ends_with("localhost/busybox:latest -p 80"));
    }

    #[test]
    fn parses_inspect_lines_and_version() {
        let states = parse_states(
            "/a running 0 always 0001-01-01 00:00:00 +0000 UTC\n\
             b exited 3 no 2026-11-23 05:57:01.5 +0000 UTC\nc exited 0\n",
        );
        assert_eq!(states.len(), 3);
        assert_eq!(states[0].name, "a");
        assert_eq!(states[1].exit_code, 3);
        assert_eq!(states[1].finished_at, "2026-11-23 05:57:01.5 +0000 UTC");
        assert_eq!(states[2].restart_policy, "");
        let v = parse_version_json(r#"{"Client":{"Version":"4.3.1"}}"#);
        assert_eq!(v, Some(Version::new(4, 3, 1)));
        let v =
            parse_version_json(r#"{"Client":{"Version":"5.2.0"},"Server":{"Version":"4.9.3"}}"#);
        assert_eq!(v, Some(Version::new(4, 9, 3)));
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

    #[test]
    fn stderr_keeps_only_the_explanation() {
        assert_eq!(clean_stderr(b"Error: boom\n"), "boom");
        let podman = br#"failed to connect to syslog: Initialization
time="2026-11-23T04:45:18Z" level=warning msg="some warning"
time="2026-11-23T04:45:18Z" level=error msg="Starting some container dependencies"
time="2026-11-23T04:45:18Z" level=error msg="\"rootlessport listen tcp 0.0.0.0:18081: bind: address already in use\""
Error: unable to start container "6c33": starting some containers: internal libpod error
"#;
        assert_eq!(
            clean_stderr(podman),
            "rootlessport listen tcp 0.0.0.0:18081: bind: address already in use; \
             unable to start container \"6c33\": starting some containers: internal libpod error"
        );
    }
}
