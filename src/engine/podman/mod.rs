//! [`Engine`] over the `podman` CLI, through the adapter in [`process`].
//!
//! The argv of each call is built in [`argv`] (pure, unit-tested); container deaths are watched
//! in [`events`]; a bridge a removed network left behind is repaired in [`network`].

pub mod argv;
pub mod describe;
pub mod events;
pub mod network;
pub mod process;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use self::argv::{
    args, container_create_args, label_args, parse_pod_labels, parse_states, pod_create_args,
    secret_create_args, ANNOTATION_WHOLE, INSPECT_FORMAT, SECRET_REPLACE,
};
use self::process::{is_missing, Call, Cli};
use super::{
    ContainerInfo, ContainerState, Engine, EngineError, EventSink, LineSink, PodLabels, Version,
    Watch,
};
use crate::plan::{ContainerPlan, Mount, NetworkPlan, PodPlan, PullPolicy, VolumePlan};

/// The `podman` CLI, with the global arguments of the unit and the version detected once.
#[derive(Debug, Clone)]
pub struct Podman {
    cli: Cli,
    version: Version,
}

impl Podman {
    /// Uses `$PODMAN` or `podman` from `PATH` with the unit's containers.conf modules and global
    /// arguments, and detects the version (`podman version`).
    pub fn new(modules: &[String], global_args: &[String]) -> Result<Podman, EngineError> {
        let mut global = Vec::new();
        for module in modules {
            global.push("--module".to_string());
            global.push(module.clone());
        }
        global.extend(global_args.iter().cloned());
        let cli = Cli::from_env(global);
        let version = cli.version()?;
        Ok(Podman { cli, version })
    }

    /// Whether Podman works on another machine, where this machine's ports and network
    /// namespace say nothing about its containers.
    pub fn is_remote(&self) -> bool {
        self.cli.is_remote()
    }

    fn run(&self, action: &str, argv: &[String]) -> Result<String, EngineError> {
        self.cli.run(action, argv)
    }

    fn status(&self, argv: &[String]) -> Result<bool, EngineError> {
        self.cli.status(argv)
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
        network::repair(&self.cli, name)
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
        let call = Call {
            input: Some(data),
            ..Call::default()
        };
        self.cli
            .run_with(&format!("create secret {name}"), &argv, call)
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

    fn secret_exists(&self, name: &str) -> Result<bool, EngineError> {
        // `secret exists` is Podman 4.5+; `inspect` fails on a missing secret everywhere.
        match self.run(
            &format!("inspect secret {name}"),
            &args(&["secret", "inspect", "--format", "{{.ID}}", name]),
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

    fn pod_labels(&self, key: &str, value: &str) -> Result<PodLabels, EngineError> {
        let action = "list pods";
        let out = self.run(
            action,
            &args(&[
                "pod",
                "ps",
                "--filter",
                &format!("label={key}={value}"),
                "--format",
                "json",
            ]),
        )?;
        parse_pod_labels(&out).map_err(|detail| EngineError::Output {
            action: action.into(),
            detail,
        })
    }

    fn create_container(&self, pod: &str, container: &ContainerPlan) -> Result<(), EngineError> {
        let resolved = self.resolve_sub_paths(container)?;
        self.run(
            &format!("create container {}", container.name),
            &container_create_args(pod, &resolved, self.version < ANNOTATION_WHOLE),
        )
        .map(|_| ())
    }

    fn run_container(&self, pod: &str, container: &ContainerPlan) -> Result<(), EngineError> {
        let resolved = self.resolve_sub_paths(container)?;
        let mut argv = container_create_args(pod, &resolved, self.version < ANNOTATION_WHOLE);
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

    fn describe(&self, filter: &str) -> Result<Vec<ContainerInfo>, EngineError> {
        describe::describe(&self.cli, filter)
    }

    fn logs(&self, name: &str, follow: bool, sink: LineSink<'_>) -> Result<(), EngineError> {
        describe::logs(&self.cli, name, follow, sink)
    }

    fn make_dir(&self, container: &str, path: &str) -> Result<(), EngineError> {
        let action = format!("create directory {path} in container {container}");
        let archive = super::workdir::dir_archive(path).ok_or_else(|| EngineError::Failed {
            action: action.clone(),
            message: "not an absolute path without `.` or `..`".into(),
            code: None,
        })?;
        // `cp -` extracts a tar stream; the default --archive owns it to the container's user.
        let argv = args(&["cp", "-", &format!("{container}:/")]);
        let call = Call {
            input: Some(&archive),
            ..Call::default()
        };
        self.cli.run_with(&action, &argv, call).map(|_| ())
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
        let mut argv = args(&["container", "inspect", "--format", INSPECT_FORMAT]);
        argv.extend(names.iter().cloned());
        // Podman prints what exists and fails for the rest; missing containers are simply absent.
        let action = "inspect containers";
        let output = self.cli.call(action, &argv, Call::default())?;
        let states = parse_states(&output.stdout);
        if states.is_empty() && !output.success && !output.stderr.contains("no such") {
            return Err(EngineError::Failed {
                action: action.into(),
                message: output.stderr,
                code: output.code,
            });
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
        let argv = args(&["logs", "--tail", &lines.to_string(), name]);
        let output = process::run_process(self.cli.command(&argv), None, None)
            .map_err(|e| self.cli.spawn_error(&argv, e))?;
        // The container's own stderr, verbatim: not Podman's explanation of a failure.
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
            .cli
            .command(&full)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| self.cli.spawn_error(&full, e))?;
        let deadline = Instant::now() + timeout;
        let status = process::wait_until(&mut child, deadline)
            .map_err(|e| self.cli.spawn_error(&full, e))?;
        match status {
            Some(status) => Ok(status.code().unwrap_or(128)),
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
        events::watch_deaths(&self.cli, key, value, sink)
    }
}

/// Where the executor keeps per-app state: `$XDG_RUNTIME_DIR` or `/run`.
pub fn runtime_dir() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty() && Path::new(d).is_absolute())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run"))
}
