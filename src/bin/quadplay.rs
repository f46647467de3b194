//! `quadplay`: thin entry point over the library; each subcommand lives in its module.

use std::process::ExitCode;

use clap::Parser;
use quadplay::cli::{Cli, Command};
use quadplay::quadlet::{generator, log::Log};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<u8, Box<dyn std::error::Error>> = match cli.command {
        Command::Play(args) => quadplay::play::play(&args).map_err(Into::into),
        Command::Down(args) => quadplay::play::down(&args).map(|()| 0).map_err(Into::into),
        Command::AutoUpdate(_) => Err("auto-update: not built yet".into()),
        Command::Doctor(args) => {
            let report = quadplay::doctor::run(&quadplay::doctor::RealHost);
            match args.format {
                quadplay::cli::OutputFormat::Json => println!("{}", report.to_json()),
                quadplay::cli::OutputFormat::Table => print!("{}", report.to_table()),
            }
            Ok(u8::from(report.has_failures()))
        }
        Command::Generate(args) => {
            let mut log = Log::new(false, false).with_prefix("quadplay generate: ");
            let outcome = generator::dry_run(&args, &mut log);
            print!("{}", outcome.dry_run_text);
            Ok(u8::from(log.error_count() > 0))
        }
        Command::Convert(args) => {
            quadplay::compose::convert_file(&args.compose, args.name.as_deref())
                .and_then(|conv| {
                    for w in &conv.warnings {
                        eprintln!("quadplay: warning: {w}");
                    }
                    match &args.output {
                        None => print!("{}", conv.yaml),
                        Some(dir) => {
                            for path in quadplay::compose::write(&conv, dir)? {
                                println!("wrote {}", path.display());
                            }
                        }
                    }
                    Ok(0)
                })
                .map_err(Into::into)
        }
        Command::Completions(args) => {
            use std::io::Write;
            let script = quadplay::docs::completions(args.shell);
            std::io::stdout()
                .write_all(&script)
                .map(|()| 0)
                .map_err(Into::into)
        }
        Command::Man(args) => quadplay::docs::write_man_pages(&args.out_dir)
            .map(|_| 0)
            .map_err(Into::into),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("quadplay: {e}");
            ExitCode::FAILURE
        }
    }
}
