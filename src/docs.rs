//! Documentation generated from the command line definition in [`crate::cli`]: the
//! `quadplay(1)` man page and shell completion scripts.
//!
//! Why our own roff instead of clap_mangen's page: clap_mangen renders one page per command and
//! lists subcommands by name only, while `quadplay(1)` must document every subcommand with every
//! option on one page. The option texts still come from `cli.rs` (single source), so the page
//! cannot drift from the binary. The prose sections (environment, files, exit status) live here.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, Command, CommandFactory};

use crate::cli::Cli;

/// Why writing the generated documentation failed.
#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    #[error("{path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The completion script for `shell`, generated from the CLI definition.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "quadplay", &mut out);
    out
}

/// Writes `quadplay.1` into `dir` (created if missing) and returns the paths written.
pub fn write_man_pages(dir: &Path) -> Result<Vec<PathBuf>, DocsError> {
    let err = |path: &Path, source| DocsError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
    let path = dir.join("quadplay.1");
    std::fs::write(&path, quadplay_1()).map_err(|e| err(&path, e))?;
    Ok(vec![path])
}

/// The roff source of `quadplay(1)`.
pub fn quadplay_1() -> String {
    let mut cmd = Cli::command();
    cmd.build();
    let version = cmd.get_version().unwrap_or("").to_string();
    let mut out = String::new();
    let _ = writeln!(
        out,
        ".TH QUADPLAY 1 \"\" \"quadplay {}\" \"User Commands\"",
        esc(&version)
    );
    out.push_str(".SH NAME\nquadplay \\- run Kubernetes YAML on rootless Podman under systemd\n");
    out.push_str(".SH SYNOPSIS\n.B quadplay\n.I COMMAND\n.RI [ OPTIONS ]\n.br\n");
    out.push_str(".B quadplay\n.RB [ \\-h | \\-\\-help | \\-V | \\-\\-version ]\n");
    out.push_str(DESCRIPTION);
    out.push_str(".SH COMMANDS\n");
    for sub in documented_subcommands(&cmd) {
        render_subcommand(&mut out, sub);
    }
    out.push_str(TRAILER);
    out
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

/// Escapes text for roff: backslashes, dashes (so they stay ASCII hyphen-minus and copy-paste
/// works), and control characters at the start of a line.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split('\n') {
        if !out.is_empty() {
            out.push('\n');
        }
        let line = line.trim_end();
        if line.starts_with('.') || line.starts_with('\'') {
            out.push_str("\\&");
        }
        for c in line.chars() {
            match c {
                '\\' => out.push_str("\\e"),
                '-' => out.push_str("\\-"),
                _ => out.push(c),
            }
        }
    }
    out
}

const DESCRIPTION: &str = r#".SH DESCRIPTION
.B quadplay
runs Kubernetes YAML (Pod, Deployment, DaemonSet, Job, ConfigMap, Secret,
PersistentVolumeClaim, List, Service) on rootless or rootful Podman, one pod per workload on one
shared bridge network, as the main process of a systemd service.
Its generator,
.BR quadplay\-generator (8),
turns Quadlet unit files
.RB ( .kube ", " .container ", " .network ", " .volume ", " .pod )
into such services at boot and at every
.BR "systemctl daemon\-reload" ;
see
.BR quadplay.unit (5)
for the keys of those files.
.PP
A
.B .kube
unit's service runs
.B quadplay play
with the unit's YAML files; it reports readiness to systemd once every pod runs, supervises the
containers, stops them gracefully on
.BR SIGTERM ,
and its
.B ExecStopPost
runs
.B quadplay down
so that an unclean shutdown never blocks the next start.
"#;

const TRAILER: &str = r#".SH ENVIRONMENT
.TP
.B PODMAN
Path of the podman binary to run (default: the one found in
.BR PATH ).
.TP
.B PODMAN_SYSTEMD_UNIT
The unit a run belongs to; systemd sets it for generated services.
.TP
.B XDG_RUNTIME_DIR
Rootless runtime directory; file sets and the user manager's sockets live below it.
.TP
.B DBUS_SESSION_BUS_ADDRESS
Bus of the user manager used by
.BR "quadplay auto\-update" ;
without it the manager's private socket below
.B XDG_RUNTIME_DIR
is used.
.SH FILES
.TP
.I ~/.config/containers/systemd/
Rootless unit files
.RB ( .kube ", " .container ", ...)."
.TP
.I /etc/containers/systemd/
Rootful unit files.
.TP
.IR /usr/lib/systemd/user\-generators/quadplay\-user\-generator ", " /usr/lib/systemd/system\-generators/quadplay\-system\-generator
The generator links.
.TP
.IR quadplay\-auto\-update.service ", " quadplay\-auto\-update.timer
Daily auto\-update, for the system and the user manager.
.SH EXIT STATUS
0 on success.
.B quadplay play
exits as
.B \-\-exit\-code\-propagation
says once every pod is done.
.B quadplay doctor
exits 1 when a check failed (warnings do not count).
.B quadplay auto\-update
exits non\-zero when a unit failed to update.
Other errors exit 1 (2 for a bad command line).
.SH EXAMPLES
.nf
quadplay convert compose.yaml \-o ~/.config/containers/systemd \-\-name app
systemctl \-\-user daemon\-reload
systemctl \-\-user start app.service
quadplay doctor
.fi
.SH SEE ALSO
.BR quadplay\-generator (8),
.BR quadplay.unit (5),
.BR podman (1),
.BR podman\-systemd.unit (5),
.BR systemd.unit (5)
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_page_documents_every_visible_subcommand_and_option() {
        let page = quadplay_1();
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
    fn escapes_roff_controls() {
        assert_eq!(esc(".x\n'y\na\\b-c"), "\\&.x\n\\&'y\na\\eb\\-c");
    }

    #[test]
    fn synopsis_marks_repeated_required_positionals() {
        let cmd = Cli::command();
        let play = cmd.find_subcommand("play").map(synopsis);
        assert_eq!(play.as_deref(), Some("quadplay play [OPTIONS] YAML..."));
    }

    #[test]
    fn completions_name_the_subcommands() {
        let bash = String::from_utf8(completions(clap_complete::Shell::Bash)).unwrap_or_default();
        assert!(bash.contains("auto-update") && bash.contains("--exit-code-propagation"));
        let fish = String::from_utf8(completions(clap_complete::Shell::Fish)).unwrap_or_default();
        assert!(fish.contains("complete -c quadplay"));
    }
}
