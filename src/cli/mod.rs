//! The command line of the `quadplay` binary, defined once.
//!
//! The generator writes `quadplay play …`/`quadplay down …` lines from these definitions'
//! long option names, man pages and shell completions are generated from them, and the binary
//! dispatches on them. Changing an option name here is a change of the generator's output format.

pub mod play;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Run Kubernetes YAML on rootless Podman under systemd.
#[derive(Debug, Parser)]
#[command(name = "quadplay", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and run the pods of Kubernetes YAML files; the main process of a `.kube` unit.
    Play(PlayArgs),
    /// Stop and remove what `play` created for the same YAML files.
    Down(DownArgs),
    /// Make a running `play` re-read its YAML and apply only the difference; waits for the
    /// outcome (a `.kube` unit's ExecReload=, so `systemctl reload` works).
    Reload(ReloadArgs),
    /// Pull newer images of auto-updating containers and restart their units.
    AutoUpdate(AutoUpdateArgs),
    /// Check this machine's rootless Podman and systemd prerequisites.
    Doctor(DoctorArgs),
    /// Print the units the generator would write for the unit files found (a dry run).
    Generate(GenerateArgs),
    /// Convert a Docker Compose file into Kubernetes YAML (one pod per service) and a `.kube` unit.
    Convert(ConvertArgs),
    /// Show an app's pods and containers: state, readiness, restarts, published ports, image digest.
    Status(StatusArgs),
    /// Print the logs of an app's containers merged in time order, each line prefixed `pod/container`.
    Logs(LogsArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

/// How the unit's exit status follows the containers' exit codes once every pod is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ExitCodePropagation {
    /// Exit 0 whatever the containers' exit codes.
    #[default]
    None,
    /// Fail if any container exited non-zero.
    Any,
    /// Fail only if every container exited non-zero.
    All,
}

impl From<ExitCodePropagation> for crate::plan::ExitCodePropagation {
    fn from(value: ExitCodePropagation) -> Self {
        match value {
            ExitCodePropagation::None => Self::None,
            ExitCodePropagation::Any => Self::Any,
            ExitCodePropagation::All => Self::All,
        }
    }
}

/// Options shared by `play` and `down` that say how to call Podman and what belongs to the unit.
#[derive(Debug, Clone, Args, Default)]
pub struct PodmanOptions {
    /// The systemd unit this run belongs to (labels every object; default: $PODMAN_SYSTEMD_UNIT).
    #[arg(long, env = crate::plan::LABEL_SYSTEMD_UNIT, value_name = "UNIT")]
    pub unit: Option<String>,
    /// A containers.conf module to load (`podman --module`); repeatable.
    #[arg(long = "podman-module", value_name = "MODULE")]
    pub podman_modules: Vec<String>,
    /// An argument put between `podman` and its subcommand (Quadlet's GlobalArgs); repeatable.
    #[arg(
        long = "podman-global-arg",
        value_name = "ARG",
        allow_hyphen_values = true
    )]
    pub podman_global_args: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct PlayArgs {
    /// Kubernetes YAML files (multi-document); read in order as one stream.
    #[arg(required = true, value_name = "YAML")]
    pub yaml: Vec<PathBuf>,
    #[command(flatten)]
    pub podman: PodmanOptions,
    /// Network the pods join instead of the shared default bridge; repeatable (`NAME[:OPTIONS]`).
    #[arg(long, value_name = "NETWORK")]
    pub network: Vec<String>,
    /// Extra ConfigMap YAML file; repeatable.
    #[arg(long, value_name = "FILE")]
    pub configmap: Vec<PathBuf>,
    /// Publish a port, `[[IP:][HOSTPORT]:]CONTAINERPORT[/PROTO]`, overriding the YAML's; repeatable.
    #[arg(long, value_name = "SPEC")]
    pub publish: Vec<String>,
    /// User namespace mode for every pod (`podman --userns`).
    #[arg(long, value_name = "MODE")]
    pub userns: Option<String>,
    /// Log driver of every container.
    #[arg(long, value_name = "DRIVER")]
    pub log_driver: Option<String>,
    /// Log driver option of every container; repeatable.
    #[arg(long, value_name = "OPT")]
    pub log_opt: Vec<String>,
    /// Auto-update policy `registry|local` for all containers, or `CONTAINER/POLICY`; repeatable.
    #[arg(long, value_name = "POLICY")]
    pub auto_update: Vec<String>,
    /// How the exit status follows the containers' exit codes once all pods are done.
    #[arg(long, value_enum, default_value_t, value_name = "WHEN")]
    pub exit_code_propagation: ExitCodePropagation,
    /// Argument added to every `podman create` of a container (Quadlet's PodmanArgs); repeatable.
    #[arg(long = "podman-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub podman_args: Vec<String>,
    /// Treat unsupported kinds and fields as errors instead of warnings.
    #[arg(long)]
    pub strict: bool,
    /// Upper bound, in seconds, on graceful stops (keep below the unit's TimeoutStopSec).
    #[arg(long, value_name = "SECONDS", default_value_t = 80)]
    pub stop_timeout: u64,
    /// Restarts of one container in one crash loop (the first at once, then back-off from 10 s
    /// doubling to 5 min, forgiven after 10 min of running) before the app is stopped and the unit fails.
    #[arg(long, value_name = "N", default_value_t = crate::play::crashloop::DEFAULT_MAX_RESTARTS)]
    pub max_restarts: u32,
    /// Create, start and report, then exit without supervising (for use outside systemd).
    #[arg(long)]
    pub detach: bool,
    /// Load, plan and check this machine (hostPath sources, free host ports, images by pull
    /// policy); print what would be created; change nothing. Exit 1 if a start would fail.
    #[arg(long, conflicts_with = "detach")]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DownArgs {
    /// The YAML files given to `play`.
    #[arg(required = true, value_name = "YAML")]
    pub yaml: Vec<PathBuf>,
    #[command(flatten)]
    pub podman: PodmanOptions,
    /// Also remove the named volumes (PersistentVolumeClaims) the YAML declares.
    /// (`--force` alone means true; a value needs `=`, so `down --force app.yaml` works.)
    #[arg(
        long,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_name = "BOOL"
    )]
    pub force: Option<bool>,
}

#[derive(Debug, Clone, Args)]
pub struct ReloadArgs {
    /// The YAML files given to `play` (they name the app outside systemd).
    #[arg(required = true, value_name = "YAML")]
    pub yaml: Vec<PathBuf>,
    /// The systemd unit the running `play` belongs to (default: $PODMAN_SYSTEMD_UNIT).
    #[arg(long, env = crate::plan::LABEL_SYSTEMD_UNIT, value_name = "UNIT")]
    pub unit: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ConvertFormat {
    #[default]
    Yaml,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    #[default]
    Table,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct AutoUpdateArgs {
    /// Check and report, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Roll a unit back to its previous image when its restart fails.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub rollback: bool,
    /// Report format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
    /// Seconds a restarted unit must stay active (same invocation) to count as running the new
    /// image; catches containers that exit right after start.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub settle: f64,
    /// Only consider containers of this systemd unit (`NAME` means `NAME.service`); repeatable.
    #[arg(long = "unit", value_name = "UNIT")]
    pub units: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// Report format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// Generate user (rootless) units, as the user generator does.
    #[arg(long)]
    pub user: bool,
    /// Read unit files from these directories instead of the Quadlet search paths; repeatable.
    #[arg(long = "unit-dir", value_name = "DIR")]
    pub unit_dirs: Vec<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ConvertArgs {
    /// The compose file (`compose.yaml`, `docker-compose.yml`, ...).
    #[arg(value_name = "COMPOSE", required_unless_present = "files")]
    pub compose: Option<PathBuf>,
    /// Compose files merged in order, as `docker compose -f A -f B` (instead of COMPOSE).
    #[arg(
        long = "file",
        short = 'f',
        value_name = "FILE",
        conflicts_with = "compose"
    )]
    pub files: Vec<PathBuf>,
    /// Directory to write `<name>.yaml` and `<name>.kube` into (default: print the YAML).
    #[arg(long, short, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Application name (default: COMPOSE_PROJECT_NAME, the file's `name:`, else its directory's name).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Enable services of this profile (repeatable; default: COMPOSE_PROFILES).
    #[arg(long = "profile", value_name = "PROFILE")]
    pub profiles: Vec<String>,
    /// Read variables from this file instead of the project's `.env` (repeatable).
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// Convert, then check this machine as `play --dry-run` does (hostPath sources, host ports,
    /// images by pull policy) and print what a start would create; write nothing.
    #[arg(long, conflicts_with = "output")]
    pub check: bool,
    /// What to print when no `-o` is given: Kubernetes YAML, or the same objects as a JSON `List`.
    #[arg(long, value_enum, default_value_t)]
    pub format: ConvertFormat,
    /// List every note (substituted variables, renamed services...) instead of a summary.
    #[arg(long, short)]
    pub verbose: bool,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The app: its unit (`web`, `web.service`) or its YAML file.
    #[arg(value_name = "UNIT|YAML")]
    pub target: String,
}

#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// The app: its unit (`web`, `web.service`) or its YAML file.
    #[arg(value_name = "UNIT|YAML")]
    pub target: String,
    /// Only this workload: a pod (`web-pod-1`), a controller's name (`web`) or `pod/container`.
    #[arg(value_name = "WORKLOAD")]
    pub workload: Option<String>,
    /// Keep printing new lines as they come, until the containers stop.
    #[arg(long, short)]
    pub follow: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
