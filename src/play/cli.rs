//! The `play` and `down` subcommands: load, plan, then run through the real engine.

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use super::notify::Notifier;
use super::signals::{self, StopFlag};
use super::{execute, execute_down, plan, report_warnings, PlayError, RunOptions};
use crate::cli::{DownArgs, PlayArgs};
use crate::engine::podman::runtime_dir;
use crate::engine::Podman;

/// Where the app's file sets live: `$XDG_RUNTIME_DIR/quadplay/<app>` (or `/run/quadplay/<app>`).
fn app_dir(unit: Option<&str>, docs: &crate::kube::Documents) -> PathBuf {
    runtime_dir()
        .join("quadplay")
        .join(plan::app_name(unit, &docs.files))
}

/// How long a published port may stay taken after the leftovers of an earlier run are removed
/// (Podman's port forwarder exits with the pod, a moment after `pod rm` returns).
const PORT_WAIT: Duration = Duration::from_secs(3);

/// `quadplay play`: load, plan, run under the service manager (or detached). The exit status.
pub fn play(args: &PlayArgs) -> Result<u8, PlayError> {
    let docs = crate::kube::load(&args.yaml, &args.configmap)?;
    let options = plan::PlanOptions::from_play(args, app_dir(args.podman.unit.as_deref(), &docs));
    let plan = plan::plan(&docs, &options)?;
    report_warnings(&plan, args.strict)?;
    let engine = Podman::new(&args.podman.podman_modules, &args.podman.podman_global_args)?;
    let stop = Arc::new(StopFlag::new());
    let (tx, rx) = mpsc::channel();
    signals::install(Arc::clone(&stop), tx.clone())
        .map_err(|e| PlayError::Internal(format!("cannot handle signals: {e}")))?;
    execute(
        &engine,
        &plan,
        RunOptions {
            detach: args.detach,
            rescue_helpers: std::env::var_os("NOTIFY_SOCKET").is_some(),
            port_wait: (!engine.is_remote()).then_some(PORT_WAIT),
        },
        Notifier::from_env(),
        &stop,
        &tx,
        &rx,
    )
}

/// `quadplay down`: remove what `play` made for the same YAML.
pub fn down(args: &DownArgs) -> Result<(), PlayError> {
    let docs = crate::kube::load(&args.yaml, &[])?;
    let options = plan::PlanOptions::from_down(args, app_dir(args.podman.unit.as_deref(), &docs));
    let plan = plan::plan(&docs, &options)?;
    let engine = Podman::new(&args.podman.podman_modules, &args.podman.podman_global_args)?;
    execute_down(&engine, &plan, args.force.unwrap_or(false))
}
