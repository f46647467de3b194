//! The container engine, in the plan's terms, and the one error type of every Podman call.
//!
//! [`Engine`] is everything the executor asks of a container engine: networks, secrets, volumes,
//! pods, containers, probes and a stream of container deaths. [`podman::Podman`] implements it with
//! the `podman` CLI; [`fake::Fake`] records calls for unit tests of the apply/down logic.
//!
//! The trait is `Send + Sync` because independent pods are applied from parallel threads.

pub mod exitwatch;
pub mod fake;
pub mod netns;
pub mod podman;
pub mod version;
pub mod workdir;

use std::collections::BTreeMap;
use std::time::Duration;

use thiserror::Error;

use crate::plan::{ContainerPlan, NetworkPlan, PodPlan, PullPolicy, VolumePlan};

pub use podman::Podman;
pub use version::Version;

/// What went wrong talking to the engine. Carries the engine's own message verbatim.
#[derive(Debug, Error)]
pub enum EngineError {
    /// The engine binary could not be run at all.
    #[error("cannot run {command}: {source}")]
    Spawn {
        /// The command line, as a person would type it.
        command: String,
        source: std::io::Error,
    },
    /// The engine ran and refused: `action` is e.g. `create container web-app`.
    #[error("podman {action}: {message}")]
    Failed {
        action: String,
        /// The engine's stderr, trimmed (never contains secret values: those go on stdin).
        message: String,
        code: Option<i32>,
    },
    /// The engine's answer could not be understood.
    #[error("podman {action}: unexpected output: {detail}")]
    Output { action: String, detail: String },
    /// The plan asks for something this engine version cannot do.
    #[error("{feature} needs Podman {needed} or newer (this is {found})")]
    Unsupported {
        feature: String,
        needed: Version,
        found: Version,
    },
    /// A command did not finish in time (probes).
    #[error("podman {action}: timed out after {seconds} s")]
    Timeout { action: String, seconds: u64 },
}

/// The state of one container, as far as supervision needs it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerState {
    pub name: String,
    /// Podman's state string: `created`, `running`, `exited`, `stopped`, `paused`, ...
    pub status: String,
    pub exit_code: i32,
    /// Podman's restart policy name: `no`, `always`, `on-failure`, `unless-stopped`, `""`.
    pub restart_policy: String,
    /// When it last exited, as Podman prints it; tells a restart apart from a lasting stop.
    pub finished_at: String,
}

impl ContainerState {
    pub fn is_running(&self) -> bool {
        matches!(self.status.as_str(), "running" | "paused")
    }

    /// Exited (or never started), whatever the restart policy says.
    pub fn is_exited(&self) -> bool {
        matches!(
            self.status.as_str(),
            "exited" | "stopped" | "dead" | "configured" | "created"
        )
    }

    /// True once the container has exited and the engine will not restart it.
    pub fn is_done(&self) -> bool {
        let exited = matches!(
            self.status.as_str(),
            "exited" | "stopped" | "dead" | "configured" | "created"
        );
        exited
            && match self.restart_policy.as_str() {
                "always" | "unless-stopped" => false,
                "on-failure" => self.exit_code == 0,
                _ => true,
            }
    }
}

/// One container as `quadplay status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerInfo {
    pub name: String,
    /// The pod's name.
    pub pod: String,
    /// Podman's state: `running`, `exited`, ...
    pub status: String,
    pub exit_code: i32,
    /// Restarts done by Podman's own `--restart` (the supervisor's are counted by the executor).
    pub restarts: u32,
    pub image: String,
    /// The image's manifest digest (`sha256:…`), empty when unknown (a local build).
    pub image_digest: String,
    /// Published ports, `HOSTIP:HOSTPORT->PORT/PROTO` (shared by the containers of a pod).
    pub ports: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

/// Receives log lines (`TIMESTAMP TEXT`, Podman's `--timestamps` form); false ends the stream.
pub type LineSink<'a> = &'a mut dyn FnMut(&str) -> bool;

/// A running watch over container deaths; dropping or stopping it ends the stream.
pub trait Watch: Send {
    fn stop(&mut self);
}

/// One message of a watch: a container of ours died, or the stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    Died { container: String },
    Ended,
}

/// Pod name → that pod's labels.
pub type PodLabels = BTreeMap<String, BTreeMap<String, String>>;

/// Receives watch events; returns false to end the watch.
pub type EventSink = Box<dyn FnMut(WatchEvent) -> bool + Send>;

/// Everything the executor asks of a container engine.
///
/// Removal methods treat "no such object" as success and return whether something was removed,
/// so that `down` is idempotent and a rollback can run after a partial apply.
pub trait Engine: Send + Sync {
    fn version(&self) -> Version;

    /// Creates the network (DNS-enabled bridge) if asked and missing; true if created now.
    fn ensure_network(
        &self,
        net: &NetworkPlan,
        labels: &BTreeMap<String, String>,
    ) -> Result<bool, EngineError>;

    /// Deletes a bridge that a removed network left in the rootless network namespace under
    /// this network's interface name, when no container uses it (see [`netns`]); returns a note
    /// of what was done. An engine without such a namespace has nothing to repair.
    fn repair_network(&self, _name: &str) -> Result<Option<String>, EngineError> {
        Ok(None)
    }

    /// Creates a secret whose value is passed on stdin only.
    fn create_secret(
        &self,
        name: &str,
        data: &[u8],
        labels: &BTreeMap<String, String>,
    ) -> Result<(), EngineError>;
    fn remove_secret(&self, name: &str) -> Result<bool, EngineError>;
    /// Whether a secret of this name exists (one the user made, referenced by the YAML).
    fn secret_exists(&self, name: &str) -> Result<bool, EngineError>;

    fn volume_exists(&self, name: &str) -> Result<bool, EngineError>;
    fn create_volume(&self, volume: &VolumePlan) -> Result<(), EngineError>;
    fn remove_volume(&self, name: &str) -> Result<bool, EngineError>;

    fn image_exists(&self, image: &str) -> Result<bool, EngineError>;
    fn pull(&self, image: &str, policy: PullPolicy) -> Result<(), EngineError>;

    fn create_pod(&self, pod: &PodPlan) -> Result<(), EngineError>;
    fn pod_exists(&self, name: &str) -> Result<bool, EngineError>;
    /// Force-removes pods with their containers.
    fn remove_pods(&self, names: &[String]) -> Result<(), EngineError>;
    /// Names of pods carrying the label `key=value`.
    fn list_pods(&self, key: &str, value: &str) -> Result<Vec<String>, EngineError>;
    /// Pods carrying the label `key=value`, each with all of its labels (reload compares the
    /// spec digest label, see [`crate::plan::LABEL_SPEC_DIGEST`]).
    fn pod_labels(&self, key: &str, value: &str) -> Result<PodLabels, EngineError>;

    fn create_container(&self, pod: &str, container: &ContainerPlan) -> Result<(), EngineError>;
    /// Creates and starts a container in one step (`podman run --detach`).
    fn run_container(&self, pod: &str, container: &ContainerPlan) -> Result<(), EngineError>;
    fn start(&self, names: &[String]) -> Result<(), EngineError>;
    /// Makes the directory `path` (absolute; missing parents too) in a created container's root
    /// file system, owned by the container's user: the working directory the image lacks
    /// ([`workdir`]).
    fn make_dir(&self, container: &str, path: &str) -> Result<(), EngineError>;
    /// Every container (infra excluded) carrying the label `filter` (`KEY` or `KEY=VALUE`).
    fn describe(&self, filter: &str) -> Result<Vec<ContainerInfo>, EngineError>;
    /// Streams a container's output (stdout and stderr) line by line with timestamps, until it
    /// ends (`follow`: until the container stops or `sink` returns false).
    fn logs(&self, name: &str, follow: bool, sink: LineSink<'_>) -> Result<(), EngineError>;
    /// Blocks until the container exits; its exit code.
    fn wait(&self, name: &str) -> Result<i32, EngineError>;
    fn inspect(&self, names: &[String]) -> Result<Vec<ContainerState>, EngineError>;
    /// Stops containers with each one's own stop signal and timeout, or `timeout` if given.
    fn stop(&self, names: &[String], timeout: Option<u64>) -> Result<(), EngineError>;
    fn restart(&self, name: &str) -> Result<(), EngineError>;
    /// Force-removes containers.
    fn remove_containers(&self, names: &[String]) -> Result<(), EngineError>;
    /// Names of containers (any state, infra excluded) carrying the label `key=value`.
    fn list_containers(&self, key: &str, value: &str) -> Result<Vec<String>, EngineError>;
    /// The last lines of a container's output, for error messages.
    fn logs_tail(&self, name: &str, lines: u32) -> Result<String, EngineError>;

    /// Runs `argv` in the container; its exit code. Times out after `timeout`.
    fn exec(&self, container: &str, argv: &[String], timeout: Duration)
        -> Result<i32, EngineError>;

    /// Starts calling `sink` with [`WatchEvent`]s for deaths of containers labelled `key=value`,
    /// from another thread, until the watch is stopped or `sink` returns false.
    fn watch_deaths(
        &self,
        key: &str,
        value: &str,
        sink: EventSink,
    ) -> Result<Box<dyn Watch>, EngineError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: &str, code: i32, policy: &str) -> ContainerState {
        ContainerState {
            name: "c".into(),
            status: status.into(),
            exit_code: code,
            restart_policy: policy.into(),
            finished_at: String::new(),
        }
    }

    #[test]
    fn done_follows_restart_policy() {
        assert!(state("exited", 1, "no").is_done());
        assert!(state("exited", 0, "").is_done());
        assert!(!state("exited", 1, "on-failure").is_done());
        assert!(state("exited", 0, "on-failure").is_done());
        assert!(!state("exited", 0, "always").is_done());
        assert!(!state("running", 0, "no").is_done());
    }
}
