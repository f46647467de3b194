//! A recording, scriptable [`Engine`] for unit tests of the apply, supervise and down logic.
//!
//! It keeps a small model of what exists (pods, containers and their states, secrets, volumes,
//! networks, images), records every call as a line such as `create_pod web`, and fails any call
//! whose line starts with a scripted prefix. Secret values are recorded only as their length, so
//! tests can assert that they never show up anywhere else.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::{
    ContainerInfo, ContainerState, Engine, EngineError, EventSink, LineSink, PodLabels, Version,
    Watch, WatchEvent,
};
use crate::plan::{ContainerPlan, NetworkPlan, PodPlan, PullPolicy, VolumePlan};

#[derive(Debug, Clone)]
pub struct FakeContainer {
    pub pod: String,
    pub labels: BTreeMap<String, String>,
    pub state: ContainerState,
    pub working_dir: Option<String>,
    /// Directories made by [`Engine::make_dir`].
    pub made_dirs: BTreeSet<String>,
}

#[derive(Default)]
pub struct FakeState {
    pub calls: Vec<String>,
    pub pods: BTreeMap<String, BTreeMap<String, String>>,
    pub containers: BTreeMap<String, FakeContainer>,
    pub secrets: BTreeMap<String, Vec<u8>>,
    pub volumes: BTreeSet<String>,
    pub networks: BTreeSet<String>,
    pub images: BTreeSet<String>,
    /// Call-line prefix → error message.
    pub failures: Vec<(String, String)>,
    /// Container name → exit code it has right after `start` (else it runs).
    pub exit_on_start: BTreeMap<String, i32>,
    /// Container name → the lines `logs` gives (`TIMESTAMP TEXT`).
    pub log_lines: BTreeMap<String, Vec<String>>,
    /// Container name → exit code of every `exec` in it (default 0).
    pub exec_codes: BTreeMap<String, i32>,
    /// Working directories the images lack: `start` refuses them as Podman does, until made.
    pub images_lack: BTreeSet<String>,
    sinks: Vec<Arc<Mutex<EventSink>>>,
}

/// The fake engine; clone-free, share it by reference across threads.
#[derive(Default)]
pub struct Fake {
    state: Mutex<FakeState>,
}

struct FakeWatch;

impl Watch for FakeWatch {
    fn stop(&mut self) {}
}

impl Fake {
    pub fn new() -> Fake {
        let fake = Fake::default();
        fake.lock().images.insert("localhost/busybox:latest".into());
        fake
    }

    pub fn lock(&self) -> MutexGuard<'_, FakeState> {
        // A test thread that panicked while holding the lock already failed the test.
        match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Makes every call whose recorded line starts with `prefix` fail with `message`.
    pub fn fail(&self, prefix: &str, message: &str) {
        self.lock()
            .failures
            .push((prefix.to_string(), message.to_string()));
    }

    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// Simulates a container exiting on its own; watchers are told.
    pub fn exit(&self, name: &str, code: i32) {
        let sinks = {
            let mut state = self.lock();
            let tick = state.calls.len().to_string();
            if let Some(c) = state.containers.get_mut(name) {
                c.state.status = "exited".into();
                c.state.exit_code = code;
                c.state.finished_at = tick;
            }
            state.sinks.clone()
        };
        for sink in sinks {
            let mut sink = match sink.lock() {
                Ok(s) => s,
                Err(p) => p.into_inner(),
            };
            (*sink)(WatchEvent::Died {
                container: name.to_string(),
            });
        }
    }

    fn call(&self, line: String) -> Result<MutexGuard<'_, FakeState>, EngineError> {
        let mut state = self.lock();
        state.calls.push(line.clone());
        if let Some((_, message)) = state.failures.iter().find(|(p, _)| line.starts_with(p)) {
            return Err(EngineError::Failed {
                action: line,
                message: message.clone(),
                code: Some(125),
            });
        }
        Ok(state)
    }
}

/// The working directory of container `name` that its image lacks and no one made yet.
fn lacked_workdir(state: &FakeState, name: &str) -> Option<String> {
    let c = state.containers.get(name)?;
    c.working_dir
        .clone()
        .filter(|d| state.images_lack.contains(d) && !c.made_dirs.contains(d))
}

fn missing(what: &str, name: &str) -> EngineError {
    EngineError::Failed {
        action: format!("{what} {name}"),
        message: format!("no such {what}: {name}"),
        code: Some(125),
    }
}

impl Engine for Fake {
    fn version(&self) -> Version {
        Version::new(4, 3, 1)
    }

    fn ensure_network(
        &self,
        net: &NetworkPlan,
        _labels: &BTreeMap<String, String>,
    ) -> Result<bool, EngineError> {
        let mut state = self.call(format!("ensure_network {}", net.name))?;
        if state.networks.contains(&net.name) {
            return Ok(false);
        }
        if !net.create_if_missing {
            return Err(missing("network", &net.name));
        }
        state.networks.insert(net.name.clone());
        Ok(true)
    }

    fn create_secret(
        &self,
        name: &str,
        data: &[u8],
        _labels: &BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        let mut state = self.call(format!("create_secret {name} ({} bytes)", data.len()))?;
        state.secrets.insert(name.to_string(), data.to_vec());
        Ok(())
    }

    fn remove_secret(&self, name: &str) -> Result<bool, EngineError> {
        let mut state = self.call(format!("remove_secret {name}"))?;
        Ok(state.secrets.remove(name).is_some())
    }

    fn secret_exists(&self, name: &str) -> Result<bool, EngineError> {
        let state = self.call(format!("secret_exists {name}"))?;
        Ok(state.secrets.contains_key(name))
    }

    fn volume_exists(&self, name: &str) -> Result<bool, EngineError> {
        let state = self.call(format!("volume_exists {name}"))?;
        Ok(state.volumes.contains(name))
    }

    fn create_volume(&self, volume: &VolumePlan) -> Result<(), EngineError> {
        let mut state = self.call(format!("create_volume {}", volume.name))?;
        state.volumes.insert(volume.name.clone());
        Ok(())
    }

    fn remove_volume(&self, name: &str) -> Result<bool, EngineError> {
        let mut state = self.call(format!("remove_volume {name}"))?;
        Ok(state.volumes.remove(name))
    }

    fn image_exists(&self, image: &str) -> Result<bool, EngineError> {
        let state = self.call(format!("image_exists {image}"))?;
        Ok(state.images.contains(image))
    }

    fn pull(&self, image: &str, _policy: PullPolicy) -> Result<(), EngineError> {
        let mut state = self.call(format!("pull {image}"))?;
        state.images.insert(image.to_string());
        Ok(())
    }

    fn create_pod(&self, pod: &PodPlan) -> Result<(), EngineError> {
        let mut state = self.call(format!("create_pod {}", pod.name))?;
        if state.pods.contains_key(&pod.name) {
            return Err(EngineError::Failed {
                action: format!("create pod {}", pod.name),
                message: format!("{}: pod already exists", pod.name),
                code: Some(125),
            });
        }
        state.pods.insert(pod.name.clone(), pod.labels.clone());
        Ok(())
    }

    fn pod_exists(&self, name: &str) -> Result<bool, EngineError> {
        let state = self.call(format!("pod_exists {name}"))?;
        Ok(state.pods.contains_key(name))
    }

    fn remove_pods(&self, names: &[String]) -> Result<(), EngineError> {
        if names.is_empty() {
            return Ok(());
        }
        let mut state = self.call(format!("remove_pods {}", names.join(" ")))?;
        for name in names {
            state.pods.remove(name);
            state.containers.retain(|_, c| &c.pod != name);
        }
        Ok(())
    }

    fn list_pods(&self, key: &str, value: &str) -> Result<Vec<String>, EngineError> {
        let state = self.call(format!("list_pods {key}={value}"))?;
        Ok(state
            .pods
            .iter()
            .filter(|(_, labels)| labels.get(key).map(String::as_str) == Some(value))
            .map(|(name, _)| name.clone())
            .collect())
    }

    fn pod_labels(&self, key: &str, value: &str) -> Result<PodLabels, EngineError> {
        let state = self.call(format!("pod_labels {key}={value}"))?;
        Ok(state
            .pods
            .iter()
            .filter(|(_, labels)| labels.get(key).map(String::as_str) == Some(value))
            .map(|(name, labels)| (name.clone(), labels.clone()))
            .collect())
    }

    fn create_container(&self, pod: &str, container: &ContainerPlan) -> Result<(), EngineError> {
        let mut state = self.call(format!("create_container {}", container.name))?;
        if !state.pods.contains_key(pod) {
            return Err(missing("pod", pod));
        }
        if !state.images.contains(&container.image) {
            return Err(EngineError::Failed {
                action: format!("create container {}", container.name),
                message: format!("{}: image not known", container.image),
                code: Some(125),
            });
        }
        let policy = match container.restart_policy {
            crate::plan::RestartPolicy::Always => "always",
            crate::plan::RestartPolicy::OnFailure => "on-failure",
            crate::plan::RestartPolicy::Never => "no",
        };
        state.containers.insert(
            container.name.clone(),
            FakeContainer {
                pod: pod.to_string(),
                labels: container.labels.clone(),
                state: ContainerState {
                    name: container.name.clone(),
                    status: "created".into(),
                    exit_code: 0,
                    restart_policy: policy.into(),
                    finished_at: String::new(),
                },
                working_dir: container.working_dir.clone(),
                made_dirs: BTreeSet::new(),
            },
        );
        Ok(())
    }

    fn run_container(&self, pod: &str, container: &ContainerPlan) -> Result<(), EngineError> {
        self.create_container(pod, container)?;
        self.start(std::slice::from_ref(&container.name))
    }

    fn start(&self, names: &[String]) -> Result<(), EngineError> {
        let mut state = self.call(format!("start {}", names.join(" ")))?;
        for name in names {
            let exit = state.exit_on_start.get(name).copied();
            if let Some(dir) = lacked_workdir(&state, name) {
                return Err(EngineError::Failed {
                    action: format!("start {name}"),
                    message: format!("workdir \"{dir}\" does not exist on container {name}"),
                    code: Some(125),
                });
            }
            let c = state
                .containers
                .get_mut(name)
                .ok_or_else(|| missing("container", name))?;
            match exit {
                Some(code) => {
                    c.state.status = "exited".into();
                    c.state.exit_code = code;
                }
                None => c.state.status = "running".into(),
            }
        }
        Ok(())
    }

    fn describe(&self, filter: &str) -> Result<Vec<ContainerInfo>, EngineError> {
        let state = self.call(format!("describe {filter}"))?;
        let (key, value) = match filter.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (filter, None),
        };
        Ok(state
            .containers
            .iter()
            .filter(|(_, c)| match (c.labels.get(key), value) {
                (Some(have), Some(want)) => have == want,
                (Some(_), None) => true,
                (None, _) => false,
            })
            .map(|(name, c)| ContainerInfo {
                name: name.clone(),
                pod: c.pod.clone(),
                status: c.state.status.clone(),
                exit_code: c.state.exit_code,
                image: "localhost/busybox:latest".into(),
                labels: c.labels.clone(),
                ..ContainerInfo::default()
            })
            .collect())
    }

    fn logs(&self, name: &str, _follow: bool, sink: LineSink<'_>) -> Result<(), EngineError> {
        let lines = {
            let state = self.call(format!("logs {name}"))?;
            state.log_lines.get(name).cloned().unwrap_or_default()
        };
        for line in lines {
            if !sink(&line) {
                break;
            }
        }
        Ok(())
    }

    fn make_dir(&self, container: &str, path: &str) -> Result<(), EngineError> {
        let mut state = self.call(format!("make_dir {container} {path}"))?;
        let c = state
            .containers
            .get_mut(container)
            .ok_or_else(|| missing("container", container))?;
        c.made_dirs.insert(path.to_string());
        Ok(())
    }

    fn wait(&self, name: &str) -> Result<i32, EngineError> {
        let state = self.call(format!("wait {name}"))?;
        state
            .containers
            .get(name)
            .map(|c| c.state.exit_code)
            .ok_or_else(|| missing("container", name))
    }

    fn inspect(&self, names: &[String]) -> Result<Vec<ContainerState>, EngineError> {
        let state = self.call(format!("inspect {}", names.join(" ")))?;
        Ok(names
            .iter()
            .filter_map(|n| state.containers.get(n).map(|c| c.state.clone()))
            .collect())
    }

    fn stop(&self, names: &[String], timeout: Option<u64>) -> Result<(), EngineError> {
        let line = match timeout {
            Some(t) => format!("stop -t {t} {}", names.join(" ")),
            None => format!("stop {}", names.join(" ")),
        };
        let mut state = self.call(line)?;
        for name in names {
            if let Some(c) = state.containers.get_mut(name) {
                if c.state.is_running() {
                    c.state.status = "exited".into();
                    c.state.exit_code = 143;
                }
            }
        }
        Ok(())
    }

    fn restart(&self, name: &str) -> Result<(), EngineError> {
        let mut state = self.call(format!("restart {name}"))?;
        let c = state
            .containers
            .get_mut(name)
            .ok_or_else(|| missing("container", name))?;
        c.state.status = "running".into();
        Ok(())
    }

    fn remove_containers(&self, names: &[String]) -> Result<(), EngineError> {
        if names.is_empty() {
            return Ok(());
        }
        let mut state = self.call(format!("remove_containers {}", names.join(" ")))?;
        for name in names {
            state.containers.remove(name);
        }
        Ok(())
    }

    fn list_containers(&self, key: &str, value: &str) -> Result<Vec<String>, EngineError> {
        let state = self.call(format!("list_containers {key}={value}"))?;
        Ok(state
            .containers
            .iter()
            .filter(|(_, c)| c.labels.get(key).map(String::as_str) == Some(value))
            .map(|(name, _)| name.clone())
            .collect())
    }

    fn logs_tail(&self, name: &str, _lines: u32) -> Result<String, EngineError> {
        let _state = self.call(format!("logs {name}"))?;
        Ok(format!("output of {name}"))
    }

    fn exec(
        &self,
        container: &str,
        argv: &[String],
        _timeout: Duration,
    ) -> Result<i32, EngineError> {
        let state = self.call(format!("exec {container} {}", argv.join(" ")))?;
        Ok(state.exec_codes.get(container).copied().unwrap_or(0))
    }

    fn watch_deaths(
        &self,
        key: &str,
        value: &str,
        sink: EventSink,
    ) -> Result<Box<dyn Watch>, EngineError> {
        let mut state = self.call(format!("watch {key}={value}"))?;
        state.sinks.push(Arc::new(Mutex::new(sink)));
        Ok(Box::new(FakeWatch))
    }
}
