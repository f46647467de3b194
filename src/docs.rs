//! Documentation built into the binary: `quadplay(1)` generated from the command line definition
//! in [`crate::cli`], the other man pages converted from their markdown sources in `man/`, and
//! shell completion scripts.
//!
//! Why our own small markdown → roff converter instead of pandoc: building the pages then needs
//! nothing but the binary (no pandoc on CI machines or in package build dependencies), and the
//! subset the sources use (front matter, headings, paragraphs, definition lists, lists, indented
//! code, bold and italic) is small.
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

/// The markdown sources of the hand-written pages, by output file name.
const MARKDOWN_PAGES: &[(&str, &str)] = &[
    (
        "quadplay-generator.8",
        include_str!("../man/quadplay-generator.8.md"),
    ),
    ("quadplay.unit.5", include_str!("../man/quadplay.unit.5.md")),
];

/// Every man page as (file name, roff text).
pub fn man_pages() -> Vec<(String, String)> {
    let mut pages = vec![("quadplay.1".to_string(), quadplay_1())];
    for (name, md) in MARKDOWN_PAGES {
        // The sources say `footer: quadplay`; the page names the version it documents.
        let md = md.replacen(
            "\nfooter: quadplay\n",
            &format!("\nfooter: quadplay {}\n", env!("CARGO_PKG_VERSION")),
            1,
        );
        pages.push((name.to_string(), markdown_to_roff(&md)));
    }
    pages
}

/// Writes every man page into `dir` (created if missing) and returns the paths written.
pub fn write_man_pages(dir: &Path) -> Result<Vec<PathBuf>, DocsError> {
    let err = |path: &Path, source| DocsError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
    let mut written = Vec::new();
    for (name, text) in man_pages() {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| err(&path, e))?;
        written.push(path);
    }
    Ok(written)
}

/// Converts the markdown subset of `man/*.md` to a man page.
///
/// Front matter (`title`, `section`, `header`, `footer`) gives `.TH`; `#`/`##` give `.SH`/`.SS`;
/// a line followed by `:   text` is a definition (`.TP`); `1. ` and `* ` items are `.IP`;
/// lines indented by four spaces after a blank line are literal; `**bold**`, `*italic*` and
/// backslash escapes work inline.
pub fn markdown_to_roff(md: &str) -> String {
    let (meta, body) = front_matter(md);
    let get = |k: &str| {
        meta.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let mut out = format!(
        ".TH \"{}\" \"{}\" \"\" \"{}\" \"{}\"\n",
        esc(get("title")),
        esc(get("section")),
        esc(get("footer")),
        esc(get("header"))
    );
    // No hyphenation and a ragged right margin: paths and option names stay whole, and lines
    // need no stretching (groff warns when it cannot adjust a line).
    out.push_str(".nh\n.ad l\n");
    let lines: Vec<&str> = body.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() {
            i += 1;
        } else if let Some(h) = line.strip_prefix("## ") {
            let _ = writeln!(out, ".SS \"{}\"", esc(h.trim()));
            i += 1;
        } else if let Some(h) = line.strip_prefix("# ") {
            let _ = writeln!(out, ".SH \"{}\"", esc(h.trim()));
            i += 1;
        } else if line.starts_with("    ") {
            // Literal block: until a non-indented, non-blank line.
            out.push_str(".PP\n.RS 4\n.nf\n");
            while i < lines.len() && (lines[i].starts_with("    ") || lines[i].trim().is_empty()) {
                let next_literal = lines[i..].iter().find(|l| !l.trim().is_empty());
                if lines[i].trim().is_empty()
                    && !next_literal.is_some_and(|l| l.starts_with("    "))
                {
                    break;
                }
                let _ = writeln!(out, "{}", esc_line(lines[i].get(4..).unwrap_or("")));
                i += 1;
            }
            out.push_str(".fi\n.RE\n");
        } else if lines.get(i + 1).is_some_and(|l| l.starts_with(":   ")) {
            let _ = writeln!(out, ".TP\n{}", inline(line.trim()));
            i += 1;
            let mut def = vec![lines[i][4..].trim()];
            i += 1;
            while i < lines.len() && lines[i].starts_with("    ") && !lines[i].trim().is_empty() {
                def.push(lines[i].trim());
                i += 1;
            }
            let _ = writeln!(out, "{}", inline(&def.join(" ")));
        } else if let Some((marker, first)) = list_item(line) {
            let mut text = vec![first];
            i += 1;
            while i < lines.len()
                && !lines[i].trim().is_empty()
                && list_item(lines[i]).is_none()
                && lines[i].starts_with(' ')
            {
                text.push(lines[i].trim());
                i += 1;
            }
            let _ = writeln!(out, ".IP {marker} 4\n{}", inline(&text.join(" ")));
        } else {
            let mut text = Vec::new();
            while i < lines.len()
                && !lines[i].trim().is_empty()
                && !lines[i].starts_with('#')
                && !lines.get(i + 1).is_some_and(|l| l.starts_with(":   "))
            {
                text.push(lines[i].trim());
                i += 1;
            }
            if text.is_empty() {
                // A stray line the rules above do not take: keep it as a paragraph of its own.
                text.push(lines[i].trim());
                i += 1;
            }
            let _ = writeln!(out, ".PP\n{}", inline(&text.join(" ")));
        }
    }
    out
}

/// `---\nkey: value\n---\n` at the start: its pairs and the rest.
fn front_matter(md: &str) -> (Vec<(String, String)>, &str) {
    let Some(rest) = md.strip_prefix("---\n") else {
        return (Vec::new(), md);
    };
    let Some(end) = rest.find("\n---\n") else {
        return (Vec::new(), md);
    };
    let meta = rest[..end]
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    (meta, &rest[end + 5..])
}

/// `1. text` → ("1.", "text"); `* text` → ("\\(bu", "text").
fn list_item(line: &str) -> Option<(String, &str)> {
    if let Some(t) = line.strip_prefix("* ") {
        return Some(("\\(bu".to_string(), t.trim()));
    }
    let (num, t) = line.split_once(". ")?;
    if !num.is_empty() && num.chars().all(|c| c.is_ascii_digit()) {
        return Some((format!("{num}."), t.trim()));
    }
    None
}

/// Inline markdown: `**bold**`, `*italic*`, `\\x` escapes; roff-escaped, fonts closed at the end.
fn inline(text: &str) -> String {
    let mut out = String::new();
    let (mut bold, mut italic) = (false, false);
    let mut chars = text.chars().peekable();
    let font = |bold: bool, italic: bool| match (bold, italic) {
        (true, true) => "\\f(BI",
        (true, false) => "\\fB",
        (false, true) => "\\fI",
        (false, false) => "\\fR",
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(x) => push_escaped(&mut out, x),
                None => out.push_str("\\e"),
            },
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                bold = !bold;
                out.push_str(font(bold, italic));
            }
            '*' => {
                italic = !italic;
                out.push_str(font(bold, italic));
            }
            _ => push_escaped(&mut out, c),
        }
    }
    if bold || italic {
        out.push_str("\\fR");
    }
    esc_line_start(out)
}

/// A literal line: escaped, and protected when it starts with a roff control character.
fn esc_line(line: &str) -> String {
    esc(line)
}

/// One character of running text, roff-escaped: backslash, `-` as a real minus (options copy and
/// paste), and anything outside ASCII as a groff Unicode escape (`→` is `\\[u2192]`), since
/// troff reads Latin-1 input.
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\e"),
        '-' => out.push_str("\\-"),
        c if c.is_ascii() => out.push(c),
        c => {
            let _ = write!(out, "\\[u{:04X}]", u32::from(c));
        }
    }
}

/// Protects a line that would start with a roff control character after inline conversion.
fn esc_line_start(line: String) -> String {
    if line.starts_with('.') || line.starts_with('\'') {
        format!("\\&{line}")
    } else {
        line
    }
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
    out.push_str(
        ".nh\n.SH NAME\nquadplay \\- run Kubernetes YAML on rootless Podman under systemd\n",
    );
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
            push_escaped(&mut out, c);
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
with the unit's YAML files. Before it creates anything it removes what an earlier run left and checks
that every published host port is free (a taken port is named with the YAML's file, line and field);
it reports readiness to systemd once every pod runs, supervises the
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
.BR CONTAINER_HOST ", " CONTAINER_CONNECTION
Set, they make Podman work on another machine (as do
.B podman\-remote
and the global
.BR \-\-url ", " \-\-connection ", " \-\-remote );
.B quadplay play
then skips its checks of this machine's host ports and rootless network bridges.
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
.I /usr/lib/systemd/user\-generators/quadplay\-user\-generator
The user managers' link to the generator.
.TP
.I /usr/lib/systemd/system\-generators/quadplay\-system\-generator
The system manager's link to the generator.
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
    fn markdown_subset_becomes_roff() {
        let md = "---\ntitle: X\nsection: 5\nheader: H\nfooter: F\n---\n\n# NAME\n\nx - y\n\n## Sub\n\nSome **bold** and *it* and **b-***i*\\*.\nmore\n\n**Key=**\n:   What it\n    does.\n\n1. one\n2. two\n   cont\n\n* bullet\n\n    code -x\n    .dot\n\nafter\n";
        let roff = markdown_to_roff(md);
        let want = ".TH \"X\" \"5\" \"\" \"F\" \"H\"\n.nh\n.ad l\n.SH \"NAME\"\n.PP\nx \\- y\n.SS \"Sub\"\n.PP\nSome \\fBbold\\fR and \\fIit\\fR and \\fBb\\-\\fR\\fIi\\fR*. more\n.TP\n\\fBKey=\\fR\nWhat it does.\n.IP 1. 4\none\n.IP 2. 4\ntwo cont\n.IP \\(bu 4\nbullet\n.PP\n.RS 4\n.nf\ncode \\-x\n\\&.dot\n.fi\n.RE\n.PP\nafter\n";
        assert_eq!(roff, want);
    }

    #[test]
    fn every_page_renders_without_groff_warnings() {
        // groff is what man uses; where it is not installed this test has nothing to run.
        let Ok(dir) = tempfile::tempdir() else { return };
        for (name, text) in man_pages() {
            let path = dir.path().join(&name);
            assert!(std::fs::write(&path, &text).is_ok());
            let Ok(out) = std::process::Command::new("groff")
                .args(["-ww", "-man", "-Tutf8"])
                .arg(&path)
                .output()
            else {
                return;
            };
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && stderr.is_empty(),
                "{name}: {stderr}"
            );
            assert!(out.stdout.len() > 1000, "{name} renders almost nothing");
        }
    }

    /// quadplay.unit(5) documents every key each converter accepts, in that kind's section, so
    /// that a key added to a converter cannot go undocumented.
    #[test]
    fn unit_page_documents_every_converter_key() {
        use crate::quadlet::convert::{container, kube, network, pod, volume};
        let md = include_str!("../man/quadplay.unit.5.md");
        let section = |from: &str, to: &str| {
            let start = md.find(from).unwrap_or(0);
            let end = md[start..].find(to).map_or(md.len(), |e| start + e);
            &md[start..end]
        };
        let kinds: [(&str, &[&str], &str, &str); 5] = [
            ("kube", kube::KEYS, "# KUBE UNITS", "# CONTAINER UNITS"),
            (
                "container",
                container::KEYS,
                "# CONTAINER UNITS",
                "# NETWORK UNITS",
            ),
            (
                "network",
                network::KEYS,
                "# NETWORK UNITS",
                "# VOLUME UNITS",
            ),
            ("volume", volume::KEYS, "# VOLUME UNITS", "# POD UNITS"),
            ("pod", pod::KEYS, "# POD UNITS", "# EXAMPLES"),
        ];
        for (kind, keys, from, to) in kinds {
            assert!(
                md.contains(from) && md.contains(to) && !keys.is_empty(),
                "{kind}"
            );
            let text = section(from, to);
            let missing: Vec<&&str> = keys
                .iter()
                .filter(|k| !text.contains(&format!("**{k}=**")))
                .collect();
            assert!(
                missing.is_empty(),
                "{kind} keys missing from quadplay.unit(5): {missing:?}"
            );
        }
    }

    #[test]
    fn escapes_roff_controls() {
        assert_eq!(esc(".x\n'y\na\\b-c"), "\\&.x\n\\&'y\na\\eb\\-c");
        assert_eq!(esc("a → b"), "a \\[u2192] b");
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
