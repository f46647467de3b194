//! The planner: `plan()` turns the loaded Kubernetes documents and the command-line options into
//! a [`crate::plan::Plan`] (the model, one layer down); the apply step hands its parts to the
//! engine in order, and `down` tears the same plan down.
//!
//! The planner is a DAG of submodules. `context` is at the bottom (options, errors, the run-wide
//! and per-pod contexts, workloads) and every other module imports it; `build` is at the top
//! (the entry point: workloads → pods, networks, DNS aliases) and imports the rest; in between,
//! `containers` (image, command, security, resources, probes), `env` (Kubernetes env
//! precedence and `$(VAR)` expansion), `volumes` (named volumes, file sets, host paths,
//! mounts), `secrets` (where each Secret key's value comes from — the YAML, a systemd
//! credential, an existing Podman secret — and the Podman secrets quadplay owns), `ports`
//! (hostPorts, per-replica ports, `--publish`, conflicts) and `annotations` (Podman's and
//! quadplay's own: `io.quadplay.after`, `io.quadplay.replica-host-ports/<port>`).
//! `containers` uses `env`, `volumes` and `annotations`; `env` and `volumes` use `secrets`;
//! nothing below imports upward. Pods are linked to their workloads by index (`owners`).

mod annotations;
mod build;
mod containers;
mod context;
mod env;
mod ports;
mod secrets;
#[cfg(test)]
mod secrets_tests;
#[cfg(test)]
mod tests;
mod volumes;

pub use build::{app_name, plan};
pub(crate) use context::field_prefix;
pub use context::{Credentials, PlanError, PlanOptions};
pub use secrets::{credential_names, secret_name};
