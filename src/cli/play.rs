//! The executor's subcommands (`play`, `down`, `reload`, `status`, `logs`): turn their clap
//! arguments into the executor's plain options, then load, plan and run through the real engine.
//! It lives here, above `play`, so that the executor never sees a clap struct.

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use super::{DownArgs, LogsArgs, PlayArgs, ReloadArgs, StatusArgs};
use crate::engine::podman::runtime_dir;
use crate::engine::{Engine, Podman};
use crate::play::control::{self, Request};
use crate::play::crashloop::Backoff;
use crate::play::notify::Notifier;
use crate::play::plan::{self, PlanOptions};
use crate::play::signals::{self, StopFlag};
use crate::play::status as view;
use crate::play::{execute_down, execute_with, report_warnings, PlayError, RunOptions};

/// What `play`'s command line adds to the YAML, as the planner's plain options.
pub fn play_options(args: &PlayArgs, runtime_dir: PathBuf) -> PlanOptions {
    PlanOptions {
        unit: args.podman.unit.clone(),
        network: args.network.clone(),
        publish: args.publish.clone(),
        userns: args.userns.clone(),
        log_driver: args.log_driver.clone(),
        log_opts: args.log_opt.clone(),
        auto_update: args.auto_update.clone(),
        exit_code_propagation: args.exit_code_propagation.into(),
        podman_args: args.podman_args.clone(),
        strict: args.strict,
        stop_timeout: args.stop_timeout,
        runtime_dir,
        down: false,
        credentials: Default::default(),
    }
}

/// `down` needs the same names as `play`; options that only shape containers do not matter.
pub fn down_options(args: &DownArgs, runtime_dir: PathBuf) -> PlanOptions {
    PlanOptions {
        unit: args.podman.unit.clone(),
        runtime_dir,
        down: true,
        ..PlanOptions::default()
    }
}

/// Where the app's file sets live: `$XDG_RUNTIME_DIR/quadplay/<app>` (or `/run/quadplay/<app>`).
fn app_dir(unit: Option<&str>, docs: &crate::kube::Documents) -> PathBuf {
    runtime_dir()
        .join("quadplay")
        .join(plan::app_name(unit, &docs.files))
}

/// How long a published port may stay taken after the leftovers of an earlier run are removed
/// (Podman's port forwarder exits with the pod, a moment after `pod rm` returns).
const PORT_WAIT: Duration = Duration::from_secs(3);

/// `quadplay play --dry-run`: plan and check, create nothing.
fn dry_run(args: &PlayArgs) -> Result<u8, PlayError> {
    let docs = crate::kube::load(&args.yaml, &args.configmap)?;
    let options = play_options(args, app_dir(args.podman.unit.as_deref(), &docs));
    let engine = Podman::new(&args.podman.podman_modules, &args.podman.podman_global_args)?;
    let local = !engine.is_remote();
    crate::play::dryrun::run(
        &args.yaml,
        &args.configmap,
        &options,
        args.strict,
        &engine,
        local,
    )
}

/// `quadplay play`: load, plan, run under the service manager (or detached). The exit status.
pub fn play(args: &PlayArgs) -> Result<u8, PlayError> {
    if args.dry_run {
        return dry_run(args);
    }
    let docs = crate::kube::load(&args.yaml, &args.configmap)?;
    let options = play_options(args, app_dir(args.podman.unit.as_deref(), &docs));
    let plan = plan::plan(
        &docs,
        &crate::play::credentials::options_for(&options, &docs),
    )?;
    report_warnings(&plan, args.strict)?;
    let engine = Podman::new(&args.podman.podman_modules, &args.podman.podman_global_args)?;
    let stop = Arc::new(StopFlag::new());
    let (tx, rx) = mpsc::channel();
    signals::install(Arc::clone(&stop), tx.clone())
        .map_err(|e| PlayError::Internal(format!("cannot handle signals: {e}")))?;
    // A detached run exits after READY: nobody would answer on the socket.
    // Without the socket the app still runs; only reloads fail (saying there is no executor).
    let socket = control::socket_path(&plan.app);
    let _server = match (!args.detach).then(|| control::listen(&socket, tx.clone())) {
        Some(Err(e)) => {
            eprintln!(
                "quadplay: warning: {}: {e}; reload and per-pod auto-update are off for this run",
                socket.display()
            );
            None
        }
        Some(Ok(server)) => Some(server),
        None => None,
    };
    // A reload reads the files again with the options of this start.
    let replan = || -> Result<crate::plan::Plan, PlayError> {
        let docs = crate::kube::load(&args.yaml, &args.configmap)?;
        let plan = plan::plan(
            &docs,
            &crate::play::credentials::options_for(&options, &docs),
        )?;
        report_warnings(&plan, args.strict)?;
        Ok(plan)
    };
    execute_with(
        &engine,
        &plan,
        RunOptions {
            detach: args.detach,
            rescue_helpers: std::env::var_os("NOTIFY_SOCKET").is_some(),
            port_wait: (!engine.is_remote()).then_some(PORT_WAIT),
            backoff: Backoff::kubelet(args.max_restarts),
            record_restarts: true,
        },
        Notifier::from_env(),
        &stop,
        &tx,
        &rx,
        Some(&replan),
    )
}

/// `quadplay reload`: ask the running `play` of the same app to reload, print its progress on
/// stderr, and exit 0 only when the reload worked.
pub fn reload(args: &ReloadArgs) -> Result<u8, PlayError> {
    let files: Vec<PathBuf> = args
        .yaml
        .iter()
        .map(|f| std::path::absolute(f).unwrap_or_else(|_| f.clone()))
        .collect();
    let app = plan::app_name(args.unit.as_deref(), &files);
    let mut progress = |line: &str| eprintln!("quadplay: {line}");
    match control::send(&app, &Request::Reload, &mut progress) {
        Ok(summary) => {
            println!("reloaded {app}: {summary}");
            Ok(0)
        }
        Err(control::ClientError::Failed(why)) => {
            eprintln!("quadplay: reload of {app} failed: {why}");
            Ok(1)
        }
        Err(e) => Err(e.into()),
    }
}

/// The app of a `status`/`logs` target: its plan when named by YAML, and the supervisor's
/// restart counts.
fn app_view(target: &view::Target, engine: &Podman) -> Result<Vec<view::Row>, PlayError> {
    let (plan, app) = match target {
        view::Target::Yaml(path) => {
            let files = vec![path.clone()];
            let docs = crate::kube::load(&files, &[])?;
            let options = PlanOptions {
                runtime_dir: app_dir(None, &docs),
                down: true,
                ..PlanOptions::default()
            };
            let plan = plan::plan(&docs, &options)?;
            // The unit that runs it names the app, when one does.
            let running = engine.describe(crate::plan::LABEL_APP)?;
            let app = plan
                .pods
                .iter()
                .flat_map(|p| &p.containers)
                .find_map(|c| {
                    let info = running.iter().find(|i| i.name == c.name)?;
                    info.labels.get(crate::plan::LABEL_APP).cloned()
                })
                .unwrap_or_else(|| plan.app.clone());
            (Some(plan), app)
        }
        view::Target::Unit(unit) => (None, unit.clone()),
    };
    let counts = view::read_restarts(
        &runtime_dir()
            .join("quadplay")
            .join(&app)
            .join(view::RESTARTS_FILE),
    );
    view::rows(engine, target, plan.as_ref(), &counts)
}

/// `quadplay status`: the app's table on stdout; exit 1 when a container is missing or not ready.
pub fn status(args: &StatusArgs) -> Result<u8, PlayError> {
    let engine = Podman::new(&[], &[])?;
    let target = view::Target::parse(&args.target);
    let rows = app_view(&target, &engine)?;
    if rows.is_empty() {
        eprintln!("quadplay: {}: no containers found", args.target);
        return Ok(1);
    }
    print!("{}", view::table(&rows));
    Ok(u8::from(rows.iter().any(|r| !r.ready)))
}

/// `quadplay logs`: the app's (or one workload's) logs, merged, prefixed `pod/container`.
pub fn logs(args: &LogsArgs) -> Result<u8, PlayError> {
    let engine = Podman::new(&[], &[])?;
    let target = view::Target::parse(&args.target);
    let mut rows = app_view(&target, &engine)?;
    if let Some(w) = &args.workload {
        rows.retain(|r| view::selects(w, &r.label));
    }
    if rows.iter().all(|r| r.info.is_none()) {
        let what = args.workload.as_deref().unwrap_or(&args.target);
        eprintln!("quadplay: {what}: no containers found");
        return Ok(1);
    }
    let out: std::sync::Mutex<Box<dyn std::io::Write + Send>> =
        std::sync::Mutex::new(Box::new(std::io::stdout()));
    view::print_logs(&engine, &rows, args.follow, &out)?;
    Ok(0)
}

/// `quadplay down`: remove what `play` made for the same YAML.
pub fn down(args: &DownArgs) -> Result<(), PlayError> {
    let docs = crate::kube::load(&args.yaml, &[])?;
    let options = down_options(args, app_dir(args.podman.unit.as_deref(), &docs));
    let plan = plan::plan(&docs, &options)?;
    let engine = Podman::new(&args.podman.podman_modules, &args.podman.podman_global_args)?;
    execute_down(&engine, &plan, args.force.unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ExitCodePropagation;

    #[test]
    fn status_and_logs_command_lines() {
        use clap::Parser;
        let parse = |argv: &[&str]| crate::cli::Cli::try_parse_from(argv).map(|c| c.command);
        let Ok(crate::cli::Command::Status(a)) = parse(&["quadplay", "status", "web"]) else {
            panic!("status web")
        };
        assert_eq!(a.target, "web");
        assert!(
            parse(&["quadplay", "status"]).is_err(),
            "status needs its target"
        );
        let Ok(crate::cli::Command::Logs(a)) =
            parse(&["quadplay", "logs", "-f", "web.service", "web-pod/app"])
        else {
            panic!("logs")
        };
        assert_eq!(
            (a.target.as_str(), a.workload.as_deref(), a.follow),
            ("web.service", Some("web-pod/app"), true)
        );
        let Ok(crate::cli::Command::Logs(a)) = parse(&["quadplay", "logs", "app.yaml"]) else {
            panic!("logs yaml")
        };
        assert_eq!((a.workload, a.follow), (None, false));
        assert!(parse(&["quadplay", "logs", "a", "b", "c"]).is_err());
    }

    #[test]
    fn options_from_the_cli_contract() {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from([
            "quadplay",
            "play",
            "--unit",
            "web.service",
            "--network",
            "n1",
            "--publish",
            "8080:80",
            "--userns",
            "keep-id",
            "--log-driver",
            "k8s-file",
            "--log-opt",
            "max-size=1m",
            "--auto-update",
            "registry",
            "--exit-code-propagation",
            "all",
            "--podman-arg=--pids-limit=5",
            "--strict",
            "--stop-timeout",
            "30",
            "/a.yaml",
        ])
        .unwrap();
        let crate::cli::Command::Play(args) = cli.command else {
            panic!("not play")
        };
        let o = play_options(&args, PathBuf::from("/run/x"));
        assert_eq!(o.unit.as_deref(), Some("web.service"));
        assert_eq!(
            (o.network.as_slice(), o.publish.as_slice()),
            (&["n1".to_string()][..], &["8080:80".to_string()][..])
        );
        assert_eq!(o.userns.as_deref(), Some("keep-id"));
        assert_eq!(o.log_driver.as_deref(), Some("k8s-file"));
        assert_eq!(o.log_opts, ["max-size=1m"]);
        assert_eq!(o.auto_update, ["registry"]);
        assert_eq!(o.exit_code_propagation, ExitCodePropagation::All);
        assert_eq!(o.podman_args, ["--pids-limit=5"]);
        assert!(o.strict && !o.down);
        assert_eq!(o.stop_timeout, 30);
        let cli = crate::cli::Cli::try_parse_from([
            "quadplay",
            "down",
            "--unit",
            "web.service",
            "/a.yaml",
        ])
        .unwrap();
        let crate::cli::Command::Down(args) = cli.command else {
            panic!("not down")
        };
        let o = down_options(&args, PathBuf::from("/run/x"));
        assert!(o.down && !o.strict);
        assert_eq!(o.unit.as_deref(), Some("web.service"));
    }
}
