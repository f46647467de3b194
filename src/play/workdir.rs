//! The Kubernetes rule for a `workingDir` the image lacks: the runtime creates it (runc under
//! containerd or CRI-O). Podman refuses to start such a container instead and leaves it created;
//! only after that refusal, and only for the container's own `workingDir`, the directory is made
//! in the container ([`Engine::make_dir`]) and the container is started once more. Asking first
//! would cost a Podman call per container on every start, for a case that is rare.

use crate::engine::workdir::missing_workdir;
use crate::engine::{Engine, EngineError};
use crate::plan::ContainerPlan;

/// `started` is the outcome of starting `c` (`run` or `start`); a refusal over its missing
/// working directory is turned into a second start after the directory is made.
pub fn start_in_missing_workdir(
    engine: &dyn Engine,
    c: &ContainerPlan,
    started: Result<(), EngineError>,
) -> Result<(), EngineError> {
    let Err(err) = started else {
        return Ok(());
    };
    let Some(dir) = missing_workdir(&err).filter(|d| c.working_dir.as_deref() == Some(*d)) else {
        return Err(err);
    };
    engine.make_dir(&c.name, dir)?;
    engine.start(std::slice::from_ref(&c.name))
}
