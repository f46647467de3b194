//! `quadplay`: thin entry point over the library; each subcommand lives in its module.

use std::process::ExitCode;

use clap::Parser;
use quadplay::cli::{Cli, Command};
use quadplay::quadlet::{generator, log::Log};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<u8, Box<dyn std::error::Error>> = match cli.command {
        Command::Play(_) => Err("play: not built yet".into()),
        Command::Down(_) => Err("down: not built yet".into()),
        Command::AutoUpdate(_) => Err("auto-update: not built yet".into()),
        Command::Doctor(_) => Err("doctor: not built yet".into()),
        Command::Generate(args) => {
            let mut log = Log::new(false, false).with_prefix("quadplay generate: ");
            let outcome = generator::dry_run(&args, &mut log);
            print!("{}", outcome.dry_run_text);
            Ok(u8::from(log.error_count() > 0))
        }
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
