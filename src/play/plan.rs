//! The planner: `plan()` turns the loaded Kubernetes documents and the command-line options into
//! a [`crate::plan::Plan`] (the model, one layer down); the apply step hands its parts to the
//! engine in order, and `down` tears the same plan down.
//!
//! The planner lives in submodules: `build` (options, errors, workloads → pods, networks, DNS
//! aliases), `containers` (image, command, security, resources, probes), `env` (Kubernetes env
//! precedence and `$(VAR)` expansion), `volumes` (secrets, named volumes, file sets, host paths,
//! mounts), `ports` (hostPorts, per-replica ports, `--publish`, conflicts) and `annotations`
//! (Podman's and quadplay's own: `io.quadplay.after`, `io.quadplay.replica-host-ports/<port>`).

mod annotations;
mod build;
mod containers;
mod env;
mod ports;
#[cfg(test)]
mod tests;
mod volumes;

/// For `compose.rs` until it names [`crate::plan::AFTER_ANNOTATION`] itself.
pub use crate::plan::AFTER_ANNOTATION;
pub(crate) use build::field_prefix;
pub use build::{app_name, plan, PlanError, PlanOptions};
pub use volumes::secret_name;
