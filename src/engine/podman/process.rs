//! The one Podman adapter: where the `podman` binary is, how one `podman …` process is run (argv,
//! optional stdin, optional deadline) and what its failure means, for every part of quadplay that
//! calls Podman (the engine, auto-update, doctor).
//!
//! Every call is `podman [--module M]… [GLOBAL ARGS]… SUBCOMMAND …`. `NOTIFY_SOCKET` is removed
//! from every child's environment: a `.kube` unit has `NotifyAccess=main`, and Podman would
//! otherwise try to speak for it. Secret values travel on stdin and nowhere else.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::engine::{EngineError, Version};

/// The environment variable naming the Podman binary; `podman` from `PATH` without it.
pub const PODMAN_ENV: &str = "PODMAN";

/// The Podman binary `value` (the value of `$PODMAN`, if set) names: `podman` when unset or empty.
pub fn program_from(value: Option<OsString>) -> PathBuf {
    value
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("podman"))
}

/// The `podman` command line: the binary and the global arguments put before each subcommand.
#[derive(Debug, Clone)]
pub struct Cli {
    program: PathBuf,
    global: Vec<String>,
    remote: bool,
}

/// How one call runs besides its argv.
#[derive(Debug, Default, Clone, Copy)]
pub struct Call<'a> {
    /// Written to the child's stdin, which is closed afterwards (stdin is empty otherwise).
    pub input: Option<&'a [u8]>,
    /// `REGISTRY_AUTH_FILE` for the child: unlike `--authfile`, every command that talks to a
    /// registry honours it on every Podman version.
    pub authfile: Option<&'a str>,
    /// Killed and reported as [`EngineError::Timeout`] when it runs longer.
    pub deadline: Option<Duration>,
}

/// A finished call, successful or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    /// Podman's explanation (see [`clean_stderr`]).
    pub stderr: String,
}

impl Cli {
    /// `$PODMAN` (or `podman`) with these global arguments.
    pub fn from_env(global: Vec<String>) -> Cli {
        Cli::new(program_from(std::env::var_os(PODMAN_ENV)), global)
    }

    pub fn new(program: impl Into<PathBuf>, global: Vec<String>) -> Cli {
        let program = program.into();
        let remote = remote_podman(&program, &global, |v| std::env::var_os(v).is_some());
        Cli {
            program,
            global,
            remote,
        }
    }

    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Whether Podman works on another machine, where this machine's ports and network
    /// namespace say nothing about its containers.
    pub fn is_remote(&self) -> bool {
        self.remote
    }

    /// The command line of `argv` as a person would type it, for messages.
    pub fn command_line(&self, argv: &[String]) -> String {
        std::iter::once(self.program.display().to_string())
            .chain(self.global.iter().cloned())
            .chain(argv.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The process for `argv`, stdin empty, `NOTIFY_SOCKET` removed; output not yet redirected.
    pub fn command(&self, argv: &[String]) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.global)
            .args(argv)
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null());
        cmd
    }

    /// The error for a child that could not be started (or waited for).
    pub fn spawn_error(&self, argv: &[String], source: std::io::Error) -> EngineError {
        EngineError::Spawn {
            command: self.command_line(argv),
            source,
        }
    }

    /// Runs podman to completion; stdout on success, the explanation in the error otherwise.
    /// `action` names the call in errors (`create container web-app`).
    pub fn run(&self, action: &str, argv: &[String]) -> Result<String, EngineError> {
        self.run_with(action, argv, Call::default())
    }

    /// [`Cli::run`] with stdin, an auth file or a deadline.
    pub fn run_with(
        &self,
        action: &str,
        argv: &[String],
        call: Call<'_>,
    ) -> Result<String, EngineError> {
        let out = self.call(action, argv, call)?;
        if out.success {
            Ok(out.stdout)
        } else {
            Err(EngineError::Failed {
                action: action.to_string(),
                message: out.stderr,
                code: out.code,
            })
        }
    }

    /// Runs podman to completion whatever its exit status; an error only when it could not run
    /// or overran its deadline.
    pub fn call(
        &self,
        action: &str,
        argv: &[String],
        call: Call<'_>,
    ) -> Result<Finished, EngineError> {
        let mut cmd = self.command(argv);
        if let Some(authfile) = call.authfile {
            cmd.env("REGISTRY_AUTH_FILE", authfile);
        }
        let out =
            run_process(cmd, call.input, call.deadline).map_err(|e| self.spawn_error(argv, e))?;
        let Some(status) = out.status else {
            return Err(EngineError::Timeout {
                action: action.to_string(),
                seconds: call.deadline.unwrap_or_default().as_secs(),
            });
        };
        Ok(Finished {
            success: status.success(),
            code: status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: clean_stderr(&out.stderr),
        })
    }

    /// Runs podman for its exit status only (`exists` subcommands).
    pub fn status(&self, argv: &[String]) -> Result<bool, EngineError> {
        let status = self
            .command(argv)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| self.spawn_error(argv, e))?;
        Ok(status.success())
    }

    /// Starts a long-running podman (`events`) with stdout piped and stderr dropped.
    pub fn spawn_piped(&self, argv: &[String]) -> Result<Child, EngineError> {
        self.command(argv)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| self.spawn_error(argv, e))
    }

    /// The version of the Podman that runs containers (the server's, for a remote client).
    pub fn version(&self) -> Result<Version, EngineError> {
        let argv = ["version", "--format", "json"].map(String::from);
        let out = self.run("version", &argv)?;
        Version::from_podman_json(&out).ok_or_else(|| EngineError::Output {
            action: "version".into(),
            detail: out.chars().take(200).collect(),
        })
    }
}

/// Whether Podman works on another machine: `podman-remote`, a global `--remote`/`--url`/
/// `--connection`/`--host` (either spelling), or `$CONTAINER_HOST`/`$CONTAINER_CONNECTION`, as
/// Podman decides it. `env_set` says whether an environment variable is set.
fn remote_podman(program: &Path, global: &[String], env_set: impl Fn(&str) -> bool) -> bool {
    let binary = program.file_name().and_then(|n| n.to_str()).unwrap_or("");
    binary.starts_with("podman-remote")
        || env_set("CONTAINER_HOST")
        || env_set("CONTAINER_CONNECTION")
        || global.iter().any(|a| {
            let flag = a.split('=').next().unwrap_or_default();
            matches!(
                flag,
                "--remote" | "-r" | "--url" | "--connection" | "-c" | "--host" | "-H"
            )
        })
}

/// What a process left: its status (`None`: killed at the deadline) and its raw output.
#[derive(Debug)]
pub struct Exited {
    pub status: Option<ExitStatus>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Runs `cmd` with stdout and stderr captured and `input` (if any) on stdin. With a deadline the
/// child is killed when it overruns, and output that a grandchild keeps open (a daemon the command
/// started) cannot hang the caller. An error only when the child cannot be started.
pub fn run_process(
    mut cmd: Command,
    input: Option<&[u8]>,
    deadline: Option<Duration>,
) -> std::io::Result<Exited> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    if input.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn()?;
    if let (Some(data), Some(mut stdin)) = (input, child.stdin.take()) {
        // A write error shows up as the program's own failure; the pipe closes on drop.
        let _ = stdin.write_all(data);
    }
    let Some(limit) = deadline else {
        let out = child.wait_with_output()?;
        return Ok(Exited {
            status: Some(out.status),
            stdout: out.stdout,
            stderr: out.stderr,
        });
    };
    // Readers drain both pipes while we wait, so a chatty child never blocks on a full pipe.
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let status = wait_until(&mut child, Instant::now() + limit)?;
    let grace = Duration::from_secs(2);
    Ok(Exited {
        status,
        stdout: stdout.recv_timeout(grace).unwrap_or_default(),
        stderr: stderr.recv_timeout(grace).unwrap_or_default(),
    })
}

/// Reads `pipe` to its end on a thread of its own; the bytes arrive on the channel.
fn drain(pipe: Option<Box<dyn Read + Send>>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        let _ = tx.send(buf);
    });
    rx
}

/// Waits for `child` until `deadline`; kills it then. `None` when it was killed.
pub fn wait_until(child: &mut Child, deadline: Instant) -> std::io::Result<Option<ExitStatus>> {
    let mut pause = Duration::from_millis(5);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Podman's stderr reduced to what explains the failure: `Error: ` lines without the prefix and
/// the messages of `level=error` log lines, joined by `; `. Warnings and the "failed to connect
/// to syslog" noise Podman prints under systemd are dropped.
pub fn clean_stderr(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let mut kept: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.contains("failed to connect to syslog") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("time=") {
            let Some(msg) = log_message(rest) else {
                continue;
            };
            if msg != "Starting some container dependencies" {
                kept.push(msg);
            }
            continue;
        }
        kept.push(line.strip_prefix("Error: ").unwrap_or(line).to_string());
    }
    kept.dedup();
    kept.join("; ")
}

/// The `msg="…"` of a logrus line at level error or fatal, unescaped.
fn log_message(line: &str) -> Option<String> {
    if !(line.contains("level=error") || line.contains("level=fatal")) {
        return None;
    }
    let start = line.find("msg=\"")? + 5;
    let body = &line[start..];
    let body = body.strip_suffix('"').unwrap_or(body);
    let unescaped = body.replace("\\\"", "\"");
    Some(unescaped.trim_matches('"').to_string())
}

/// Whether Podman refused because the object does not exist.
pub fn is_missing(err: &EngineError) -> bool {
    match err {
        EngineError::Failed { message, .. } => {
            let m = message.to_ascii_lowercase();
            m.contains("no such") || m.contains("not found")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_podman_is_recognised_as_podman_decides_it() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let local = Path::new("/usr/bin/podman");
        let no_env = |_: &str| false;
        assert!(remote_podman(
            local,
            &args(&["--url=unix:///run/podman.sock"]),
            no_env
        ));
        assert!(remote_podman(
            local,
            &args(&["--connection", "prod"]),
            no_env
        ));
        assert!(remote_podman(local, &args(&["-r"]), no_env));
        assert!(remote_podman(
            Path::new("/usr/bin/podman-remote"),
            &[],
            no_env
        ));
        assert!(remote_podman(local, &[], |v| v == "CONTAINER_HOST"));
        assert!(remote_podman(local, &[], |v| v == "CONTAINER_CONNECTION"));
        let storage = args(&["--log-level=debug", "--root", "/srv/storage"]);
        assert!(!remote_podman(local, &storage, |v| v == "HOME"));
        assert!(!remote_podman(local, &[], no_env));
    }

    #[test]
    fn stderr_keeps_only_the_explanation() {
        assert_eq!(clean_stderr(b"Error: boom\n"), "boom");
        let podman = br#"failed to connect to syslog: Initialization
time="2026-11-23T04:45:18Z" level=warning msg="some warning"
time="2026-11-23T04:45:18Z" level=error msg="Starting some container dependencies"
time="2026-11-23T04:45:18Z" level=error msg="\"rootlessport listen tcp 0.0.0.0:18081: bind: address already in use\""
Error: unable to start container "6c33": starting some containers: internal libpod error
"#;
        assert_eq!(
            clean_stderr(podman),
            "rootlessport listen tcp 0.0.0.0:18081: bind: address already in use; \
             unable to start container \"6c33\": starting some containers: internal libpod error"
        );
    }

    #[test]
    fn program_comes_from_podman_unless_empty() {
        assert_eq!(program_from(None), PathBuf::from("podman"));
        assert_eq!(program_from(Some("".into())), PathBuf::from("podman"));
        assert_eq!(
            program_from(Some("/opt/podman".into())),
            PathBuf::from("/opt/podman")
        );
    }

    #[test]
    fn commands_are_killed_at_their_deadline() {
        let start = Instant::now();
        let mut sleep = Command::new("sleep");
        sleep.arg("5");
        let out = run_process(sleep, None, Some(Duration::from_millis(200)))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(start.elapsed() < Duration::from_secs(3));
        assert!(out.status.is_none(), "{out:?}");
        let mut sh = Command::new("sh");
        sh.args(["-c", "cat; echo err >&2"]);
        let ok = run_process(sh, Some(b"hi\n"), Some(Duration::from_secs(5)))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(ok.status.is_some_and(|s| s.success()));
        assert_eq!(
            (ok.stdout.as_slice(), ok.stderr.as_slice()),
            (&b"hi\n"[..], &b"err\n"[..])
        );
        let missing = Command::new("/nonexistent/program");
        assert!(run_process(missing, None, Some(Duration::from_secs(1))).is_err());
    }

    #[test]
    fn a_failed_call_names_the_command_and_keeps_the_explanation() {
        let cli = Cli::new("/nonexistent/podman", vec!["--root".into(), "/x".into()]);
        let argv = ["ps".to_string()];
        let err = cli.run("list", &argv).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/podman --root /x ps"), "{err}");
        let sh = Cli::new("sh", Vec::new());
        let argv = ["-c", "echo 'Error: no such pod' >&2; exit 125"].map(String::from);
        match sh.run("remove pod x", &argv) {
            Err(EngineError::Failed { message, code, .. }) => {
                assert_eq!((message.as_str(), code), ("no such pod", Some(125)));
            }
            other => panic!("{other:?}"),
        }
        let slow = ["-c", "sleep 5"].map(String::from);
        let call = Call {
            deadline: Some(Duration::from_millis(100)),
            ..Call::default()
        };
        assert!(matches!(
            sh.run_with("probe", &slow, call),
            Err(EngineError::Timeout { .. })
        ));
    }
}
