//! `quadplay`: thin entry point over the library; each subcommand lives in its module.

use std::process::ExitCode;

use clap::Parser;
use quadplay::cli::{AutoUpdateArgs, Cli, Command, ConvertArgs, OutputFormat};
use quadplay::quadlet::{generator, log::Log};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<u8, Box<dyn std::error::Error>> = match cli.command {
        Command::Play(args) => quadplay::cli::play::play(&args).map_err(Into::into),
        Command::Down(args) => quadplay::cli::play::down(&args)
            .map(|()| 0)
            .map_err(Into::into),
        Command::Reload(args) => quadplay::cli::play::reload(&args).map_err(Into::into),
        Command::AutoUpdate(args) => auto_update(&args),
        Command::Doctor(args) => {
            let host = quadplay::doctor::RealHost::new(generate_for_doctor);
            let report = quadplay::doctor::run(&host);
            match args.format {
                quadplay::cli::OutputFormat::Json => println!("{}", report.to_json()),
                quadplay::cli::OutputFormat::Table => print!("{}", report.to_table()),
            }
            Ok(u8::from(report.has_failures()))
        }
        Command::Generate(args) => {
            let mut log = Log::new(false, false).with_prefix("quadplay generate: ");
            let outcome = generator::dry_run(args.user, &args.unit_dirs, &mut log);
            print!("{}", outcome.dry_run_text);
            Ok(u8::from(log.error_count() > 0))
        }
        Command::Convert(args) => convert(&args),
        Command::Status(args) => quadplay::cli::play::status(&args).map_err(Into::into),
        Command::Logs(args) => quadplay::cli::play::logs(&args).map_err(Into::into),
        Command::Completions(args) => {
            use std::io::Write;
            let script = quadplay::docs::completions(args.shell);
            std::io::stdout()
                .write_all(&script)
                .map(|()| 0)
                .map_err(Into::into)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("quadplay: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `quadplay auto-update`: the report goes to stdout; exit 1 if any unit failed or was rolled back.
fn auto_update(args: &AutoUpdateArgs) -> Result<u8, Box<dyn std::error::Error>> {
    use quadplay::autoupdate::{self, podman::PodmanCli};
    use quadplay::systemd::{DbusManager, Scope};
    use std::time::Duration;

    if !args.settle.is_finite() || args.settle < 0.0 {
        return Err(format!("--settle: {} is not a number of seconds", args.settle).into());
    }
    let opts = autoupdate::Options {
        dry_run: args.dry_run,
        rollback: args.rollback,
        settle: Duration::from_secs_f64(args.settle),
        units: args.units.clone(),
        ..autoupdate::Options::default()
    };
    // A unit's own start timeout normally ends its job; this only guards against units without one.
    let job_timeout = Duration::from_secs(15 * 60);
    // A dry run changes nothing, so it may run beside a real one.
    let _lock = if args.dry_run {
        None
    } else {
        Some(autoupdate::lock::try_lock(
            &autoupdate::lock::default_path(),
        )?)
    };
    let report = autoupdate::run(&opts, &PodmanCli::from_env(), || {
        DbusManager::connect(Scope::of_current_user(), job_timeout)
    })?;
    match args.format {
        OutputFormat::Table => print!("{}", report.to_table()),
        OutputFormat::Json => println!("{}", report.to_json()),
    }
    Ok(u8::from(report.failed()))
}

/// The generator's dry run over the user's (or root's) unit files, as doctor's units check reads it.
fn generate_for_doctor(user: bool) -> quadplay::doctor::Generated {
    let mut log = Log::capturing(false);
    let outcome = generator::dry_run(user, &[], &mut log);
    quadplay::doctor::Generated {
        services: outcome.generated,
        errors: log.error_count(),
        lines: log.captured().to_vec(),
    }
}

/// `quadplay convert`: warnings one per line; notes (routine changes) summarised unless
/// `--verbose`, so the few warnings that matter are not buried.
fn convert(args: &ConvertArgs) -> Result<u8, Box<dyn std::error::Error>> {
    let opts = quadplay::compose::Options {
        files: args.compose.iter().chain(&args.files).cloned().collect(),
        env_files: args.env_files.clone(),
        profiles: args.profiles.clone(),
        name: args.name.clone(),
    };
    let conv = quadplay::compose::convert(&opts)?;
    for w in &conv.warnings {
        eprintln!("quadplay: warning: {w}");
    }
    if args.verbose {
        for n in &conv.notes {
            eprintln!("quadplay: note: {n}");
        }
    } else if !conv.notes.is_empty() {
        eprintln!(
            "quadplay: {} notes (renamed services, substituted variables, ignored networks...); --verbose lists them",
            conv.notes.len()
        );
    }
    if args.check {
        let relocate = |p: &str| conv.relocate(p);
        return Ok(quadplay::play::dryrun::check_converted(
            &conv.name, &conv.yaml, &relocate,
        )?);
    }
    match &args.output {
        None if args.format == quadplay::cli::ConvertFormat::Json => print!("{}", conv.json()),
        None => print!("{}", conv.yaml),
        Some(dir) => {
            for path in quadplay::compose::write(&conv, dir)? {
                println!("wrote {}", path.display());
            }
        }
    }
    Ok(0)
}
