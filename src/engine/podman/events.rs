//! Container deaths, as the supervisor needs them: from conmon's exit files (see
//! [`crate::engine::exitwatch`]) when conmon's exit directory can be found, else from one
//! `podman events` child filtered on our label.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::Child;
use std::thread;

use super::argv::args;
use super::process::Cli;
use crate::engine::{exitwatch, EngineError, EventSink, Watch, WatchEvent};

/// Starts calling `sink` for deaths of the containers labelled `key=value`.
pub fn watch_deaths(
    cli: &Cli,
    key: &str,
    value: &str,
    sink: EventSink,
) -> Result<Box<dyn Watch>, EngineError> {
    let sink = match exit_dir_and_ids(cli, key, value) {
        Some((dir, ids)) => match exitwatch::start(&dir, ids, sink) {
            Ok(watch) => return Ok(Box::new(watch)),
            Err((_, sink)) => sink,
        },
        None => sink,
    };
    watch_events(cli, key, value, sink)
}

/// conmon's `--exit-dir` (read from the command line of one of our containers' conmon) and
/// the full IDs of the containers labelled `key=value`; None when either is unknown.
fn exit_dir_and_ids(cli: &Cli, key: &str, value: &str) -> Option<(PathBuf, HashSet<String>)> {
    let out = cli
        .run(
            "list containers",
            &args(&[
                "ps",
                "--all",
                "--no-trunc",
                "--filter",
                &format!("label={key}={value}"),
                "--format",
                "{{.ID}}",
            ]),
        )
        .ok()?;
    let ids: HashSet<String> = out.split_whitespace().map(str::to_string).collect();
    let any = ids.iter().next()?;
    let pid = cli
        .run(
            "inspect",
            &args(&[
                "container",
                "inspect",
                "--format",
                "{{.State.ConmonPid}}",
                any,
            ]),
        )
        .ok()?;
    let pid: u32 = pid.trim().parse().ok().filter(|p| *p > 0)?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let mut argv = cmdline.split(|b| *b == 0);
    argv.find(|a| *a == b"--exit-dir")?;
    let dir = PathBuf::from(std::ffi::OsStr::from_bytes(argv.next()?));
    dir.is_dir().then_some((dir, ids))
}

/// Deaths from one `podman events` child, filtered on our label.
fn watch_events(
    cli: &Cli,
    key: &str,
    value: &str,
    mut sink: EventSink,
) -> Result<Box<dyn Watch>, EngineError> {
    let argv = args(&[
        "events",
        "--filter",
        &format!("label={key}={value}"),
        "--filter",
        "event=died",
        "--format",
        "{{.Name}}",
    ]);
    let mut child = cli.spawn_piped(&argv)?;
    let stdout = child.stdout.take().ok_or_else(|| EngineError::Output {
        action: "events".into(),
        detail: "no stdout".into(),
    })?;
    thread::Builder::new()
        .name("events".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let container = line.trim().to_string();
                if !container.is_empty() && !sink(WatchEvent::Died { container }) {
                    return;
                }
            }
            sink(WatchEvent::Ended);
        })
        .map_err(|e| cli.spawn_error(&argv, e))?;
    Ok(Box::new(EventsWatch { child: Some(child) }))
}

/// A `podman events` child; killed when stopped or dropped.
struct EventsWatch {
    child: Option<Child>,
}

impl Watch for EventsWatch {
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for EventsWatch {
    fn drop(&mut self) {
        self.stop();
    }
}
