//! `quadplay(1)`: the prose of `man/quadplay.1.md` with a COMMANDS section generated from the
//! command-line definition (`quadplay::cli`), so that the page cannot drift from the binary.
//!
//! Why not clap_mangen's page: clap_mangen renders one page per command and lists subcommands by
//! name only, while `quadplay(1)` documents every subcommand with every option on one page.

use std::fmt::Write as _;

use clap::{Arg, ArgAction, Command, CommandFactory};
use quadplay::cli::Cli;

use crate::roff::{body_to_roff, esc, front_matter, title};

/// The heading whose (placeholder) section is replaced by the generated one.
const COMMANDS: &str = "# COMMANDS\n";

/// The roff source of `quadplay(1)` from its markdown source `md`.
pub fn quadplay_1(md: &str) -> Result<String, String> {
    let mut cmd = Cli::command();
    cmd.build();
    let (meta, body) = front_matter(md);
    let start = body
        .find(COMMANDS)
        .ok_or("quadplay.1.md has no `# COMMANDS` section")?;
    let after = &body[start + COMMANDS.len()..];
    let end = after
        .find("\n# ")
        .map_or(body.len(), |e| start + COMMANDS.len() + e + 1);
    let mut out = title(&meta);
    out.push_str(&body_to_roff(&body[..start]));
    out.push_str(".SH COMMANDS\n");
    for sub in documented_subcommands(&cmd) {
        render_subcommand(&mut out, sub);
    }
    out.push_str(&body_to_roff(&body[end..]));
    Ok(out)
}

fn render_subcommand(out: &mut String, sub: &Command) {
    let _ = writeln!(out, ".SS \"{}\"", esc(&synopsis(sub)));
    if let Some(about) = sub.get_long_about().or(sub.get_about()) {
        let about = about.to_string();
        let period = if about.ends_with('.') { "" } else { "." };
        let _ = writeln!(out, "{}{period}", esc(&about));
    }
    for arg in documented_args(sub) {
        out.push_str(".TP\n");
        let _ = writeln!(out, "{}", arg_label(arg));
        let _ = writeln!(out, "{}", esc(&arg_help(arg)));
    }
}

/// The subcommands the page documents: visible ones, without clap's generated `help`.
fn documented_subcommands(cmd: &Command) -> impl Iterator<Item = &Command> {
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
}

/// The arguments the page documents: visible ones, without clap's generated help and version.
fn documented_args(sub: &Command) -> impl Iterator<Item = &Arg> {
    sub.get_arguments()
        .filter(|a| !a.is_hide_set() && a.get_id() != "help" && a.get_id() != "version")
}

/// `quadplay play [OPTIONS] YAML...`
fn synopsis(sub: &Command) -> String {
    let mut s = format!("quadplay {}", sub.get_name());
    if documented_args(sub).any(|a| !a.is_positional()) {
        s.push_str(" [OPTIONS]");
    }
    for arg in sub.get_arguments().filter(|a| a.is_positional()) {
        let name = value_name(arg);
        let many = matches!(arg.get_action(), ArgAction::Append);
        let word = if many { format!("{name}...") } else { name };
        if arg.is_required_set() {
            let _ = write!(s, " {word}");
        } else {
            let _ = write!(s, " [{word}]");
        }
    }
    s
}

fn value_name(arg: &Arg) -> String {
    arg.get_value_names()
        .and_then(|v| v.first())
        .map(|v| v.to_string())
        .unwrap_or_else(|| arg.get_id().to_string().to_uppercase())
}

fn takes_value(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Set | ArgAction::Append)
}

/// The bold/italic label of one option, e.g. `\fB\-o\fR, \fB\-\-output\fR \fIDIR\fR`.
fn arg_label(arg: &Arg) -> String {
    if arg.is_positional() {
        return format!("\\fI{}\\fR", esc(&value_name(arg)));
    }
    let mut names = Vec::new();
    if let Some(c) = arg.get_short() {
        names.push(format!("\\fB\\-{}\\fR", esc(&c.to_string())));
    }
    if let Some(l) = arg.get_long() {
        names.push(format!("\\fB\\-\\-{}\\fR", esc(l)));
    }
    let mut label = names.join(", ");
    if takes_value(arg) {
        let optional = arg
            .get_num_args()
            .is_some_and(|r| r.min_values() == 0 && r.max_values() > 0);
        let v = esc(&value_name(arg));
        if optional {
            let _ = write!(label, "[=\\fI{v}\\fR]");
        } else {
            let _ = write!(label, " \\fI{v}\\fR");
        }
    }
    label
}

/// The help text plus what clap knows about defaults, environment and choices.
fn arg_help(arg: &Arg) -> String {
    let mut help = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    // clap strips the final period of one-line help; the page appends sentences to it.
    if !help.is_empty() && !help.ends_with('.') {
        help.push('.');
    }
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|p| !p.is_hide_set())
        .map(|p| p.get_name().to_string())
        .collect();
    // A bool flag's possible values are just true/false; say nothing for plain switches.
    if !possible.is_empty() && takes_value(arg) {
        let _ = write!(help, " Possible values: {}.", possible.join(", "));
    }
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && takes_value(arg) {
        let _ = write!(help, " Default: {}.", defaults.join(", "));
    }
    if let Some(env) = arg.get_env() {
        let _ = write!(help, " Environment: {}.", env.to_string_lossy());
    }
    if matches!(arg.get_action(), ArgAction::Append)
        && !arg.is_positional()
        && !help.contains("repeatable")
    {
        help.push_str(" May be given more than once.");
    }
    help
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> String {
        let md = include_str!("../../man/quadplay.1.md");
        quadplay_1(md).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn man_page_documents_every_visible_subcommand_and_option() {
        let page = page();
        let mut cmd = Cli::command();
        cmd.build();
        for sub in documented_subcommands(&cmd) {
            assert!(
                page.contains(&format!(".SS \"quadplay {}", esc(sub.get_name()))),
                "{} missing",
                sub.get_name()
            );
            for arg in documented_args(sub) {
                if let Some(long) = arg.get_long() {
                    assert!(
                        page.contains(&format!("\\fB\\-\\-{}\\fR", esc(long))),
                        "{long}"
                    );
                }
            }
        }
        assert!(!page.contains("quadplay man"), "hidden subcommand leaked");
    }

    #[test]
    fn synopsis_marks_repeated_required_positionals() {
        let cmd = Cli::command();
        let play = cmd.find_subcommand("play").map(synopsis);
        assert_eq!(play.as_deref(), Some("quadplay play [OPTIONS] YAML..."));
    }
}
