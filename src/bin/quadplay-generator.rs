//! `quadplay-generator`: the systemd generator (system and user), Quadlet-compatible.
//!
//! systemd runs it as `GEN NORMAL_DIR EARLY_DIR LATE_DIR` at boot and on every daemon-reload;
//! it takes Quadlet's flags (`-user -dryrun -v -no-kmsg-log -version`). The argv parser is
//! written by hand with Go `flag` semantics rather than with clap: Quadlet users and scripts
//! pass Go-style flags (`-dryrun`, `--user=true`), and the generator should stay small and
//! start fast.

use std::path::Path;
use std::process::ExitCode;

use quadplay::quadlet::generator::{self, Options};
use quadplay::quadlet::log::Log;
use quadplay::quadlet::paths::{search_dirs, SearchEnv};

const USAGE: &str = "\
  -dryrun
    \tRun in dryrun mode printing debug information
  -no-kmsg-log
    \tDon't log to kmsg
  -user
    \tRun as systemd user
  -v\tPrint debug information
  -version
    \tPrint version information and exit
";

#[derive(Debug, Default, PartialEq, Eq)]
struct Args {
    verbose: bool,
    no_kmsg: bool,
    user: bool,
    dry_run: bool,
    version: bool,
    help: bool,
    positional: Vec<String>,
}

/// Go's `flag` package: `-x` and `--x` alike, `-x=BOOL` for bools, `--` or the first
/// non-flag argument ends the flags.
fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg == "--" {
            i += 1;
            break;
        }
        if arg.len() < 2 || !arg.starts_with('-') {
            break;
        }
        let body = arg.strip_prefix("--").unwrap_or(&arg[1..]);
        if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
            return Err(format!("bad flag syntax: {arg}"));
        }
        let (name, value) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (body, None),
        };
        let flag = match name {
            "v" => &mut parsed.verbose,
            "no-kmsg-log" => &mut parsed.no_kmsg,
            "user" => &mut parsed.user,
            "dryrun" => &mut parsed.dry_run,
            "version" => &mut parsed.version,
            "h" | "help" => &mut parsed.help,
            _ => return Err(format!("flag provided but not defined: -{name}")),
        };
        *flag = match value {
            None => true,
            Some(v) => parse_go_bool(v)
                .ok_or_else(|| format!("invalid boolean value {v:?} for -{name}: parse error"))?,
        };
        i += 1;
    }
    parsed.positional = args[i..].to_vec();
    Ok(parsed)
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let argv0 = argv
        .first()
        .cloned()
        .unwrap_or_else(|| "quadplay-generator".into());
    let args = match parse_args(argv.get(1..).unwrap_or_default()) {
        Ok(args) => args,
        Err(why) => {
            eprint!("{why}\nUsage of {argv0}:\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.help {
        eprint!("Usage of {argv0}:\n{USAGE}");
        return ExitCode::SUCCESS;
    }
    if args.version {
        println!("{}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let program = Path::new(&argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let user = args.user || program.contains("user");
    let mut log = Log::new(!args.no_kmsg && !args.dry_run, args.verbose || args.dry_run);
    let output_dir = args.positional.first().map(Path::new);
    if !args.dry_run && output_dir.is_none() {
        log.error("missing output directory argument");
        return ExitCode::FAILURE;
    }
    log.debug(&format!(
        "Starting quadplay-generator, output to: {}",
        output_dir.map_or_else(String::new, |d| d.display().to_string())
    ));
    let env = SearchEnv::from_process(user);
    let dirs = search_dirs(&env, &mut log);
    let settings = generator::settings_from_env(user);
    let options = Options {
        dry_run: args.dry_run,
        output_dir,
        argv0: &argv0,
        settings: &settings,
        exits_after: true,
    };
    let outcome = generator::run(&dirs, &options, &mut log);
    if args.dry_run {
        print!("{}", outcome.dry_run_text);
    }
    if log.error_count() > 0 {
        log.info("processing encountered some errors");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn systemd_invocation_takes_three_dirs() {
        let args = parse(&["/run/n", "/run/e", "/run/l"]).unwrap();
        assert_eq!(args.positional, ["/run/n", "/run/e", "/run/l"]);
        assert!(!args.user && !args.dry_run);
    }

    #[test]
    fn single_and_double_dashes_and_bool_values() {
        let args = parse(&["-user", "--dryrun", "-v=false", "--no-kmsg-log=1", "out"]).unwrap();
        assert!(args.user && args.dry_run && args.no_kmsg && !args.verbose);
        assert_eq!(args.positional, ["out"]);
    }

    #[test]
    fn flags_stop_at_the_first_non_flag_or_double_dash() {
        assert_eq!(
            parse(&["out", "-user"]).unwrap().positional,
            ["out", "-user"]
        );
        let args = parse(&["-v", "--", "-dryrun"]).unwrap();
        assert!(args.verbose && !args.dry_run);
        assert_eq!(args.positional, ["-dryrun"]);
        // A lone dash is an argument, as in Go.
        assert_eq!(parse(&["-", "x"]).unwrap().positional, ["-", "x"]);
    }

    #[test]
    fn bad_flags_are_errors() {
        assert_eq!(
            parse(&["-nope"]).unwrap_err(),
            "flag provided but not defined: -nope"
        );
        assert!(parse(&["-user=maybe"])
            .unwrap_err()
            .starts_with("invalid boolean value"));
        assert!(parse(&["---user"])
            .unwrap_err()
            .starts_with("bad flag syntax"));
        assert!(parse(&["-=x"]).unwrap_err().starts_with("bad flag syntax"));
        assert!(parse(&["-h"]).unwrap().help);
    }
}
