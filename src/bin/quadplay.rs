//! `quadplay`: thin entry point over the library; each subcommand lives in its module.

use std::process::ExitCode;

use clap::Parser;
use quadplay::cli::{AutoUpdateArgs, Cli, Command, OutputFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<u8, Box<dyn std::error::Error>> = match cli.command {
        Command::Play(_) => Err("play: not built yet".into()),
        Command::Down(_) => Err("down: not built yet".into()),
        Command::AutoUpdate(args) => auto_update(&args),
        Command::Doctor(_) => Err("doctor: not built yet".into()),
        Command::Generate(_) => Err("generate: not built yet".into()),
        Command::Convert(_) => Err("convert: not built yet".into()),
        Command::Completions(_) => Err("completions: not built yet".into()),
        Command::Man(_) => Err("man: not built yet".into()),
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
    let report = autoupdate::run(&opts, &PodmanCli::from_env(), || {
        DbusManager::connect(Scope::of_current_user(), job_timeout)
    })?;
    match args.format {
        OutputFormat::Table => print!("{}", report.to_table()),
        OutputFormat::Json => println!("{}", report.to_json()),
    }
    Ok(u8::from(report.failed()))
}
