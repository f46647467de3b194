//! Kubernetes probes, run inside the container with `podman exec`.
//!
//! `exec` probes run their command. `httpGet` runs `wget` (then `curl` if wget is missing) and
//! `tcpSocket` runs `nc -w T HOST PORT` — so those two need the tool in the image, as with
//! `podman kube play` (busybox has both). Each exec gets the probe's timeout plus
//! [`EXEC_ALLOWANCE`], because starting `podman exec` itself takes a good fraction of a second
//! on a busy machine and that is not the application's fault.

use std::time::Duration;

use crate::engine::{Engine, EngineError};
use crate::plan::{Probe, ProbeAction};

/// Time granted on top of `timeoutSeconds` for `podman exec` to start.
pub const EXEC_ALLOWANCE: Duration = Duration::from_secs(3);

/// Exit codes that mean "this command is not in the image": try the next alternative.
const NOT_FOUND: [i32; 2] = [126, 127];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    Startup,
    Readiness,
    Liveness,
}

impl std::fmt::Display for ProbeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProbeKind::Startup => "startup",
            ProbeKind::Readiness => "readiness",
            ProbeKind::Liveness => "liveness",
        })
    }
}

/// The commands that implement a probe, in order of preference.
pub fn commands(action: &ProbeAction, timeout_seconds: u64) -> Vec<Vec<String>> {
    match action {
        ProbeAction::Exec(argv) => vec![argv.clone()],
        ProbeAction::HttpGet {
            host,
            port,
            path,
            scheme,
        } => {
            let scheme = scheme.to_ascii_lowercase();
            let host = host.as_deref().unwrap_or("localhost");
            let path = if path.starts_with('/') {
                path.clone()
            } else {
                format!("/{path}")
            };
            let url = format!("{scheme}://{host}:{port}{path}");
            // Kubernetes does not verify certificates of probed endpoints.
            let mut wget: Vec<String> = ["wget", "-q", "-O", "/dev/null"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            let mut curl: Vec<String> = ["curl", "-fsS", "-o", "/dev/null"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            if scheme == "https" {
                wget.push("--no-check-certificate".into());
                curl.push("-k".into());
            }
            wget.push(url.clone());
            curl.push(url);
            vec![wget, curl]
        }
        ProbeAction::TcpSocket { host, port } => {
            // busybox nc has no -z; with stdin at EOF both it and other netcats exit at once.
            vec![vec![
                "nc".into(),
                "-w".into(),
                timeout_seconds.max(1).to_string(),
                host.as_deref().unwrap_or("localhost").to_string(),
                port.to_string(),
            ]]
        }
    }
}

/// Runs the probe once: true if it passed.
pub fn check(engine: &dyn Engine, container: &str, probe: &Probe) -> bool {
    let timeout = Duration::from_secs(probe.timeout_seconds.max(1)) + EXEC_ALLOWANCE;
    for argv in commands(&probe.action, probe.timeout_seconds) {
        match engine.exec(container, &argv, timeout) {
            Ok(0) => return true,
            Ok(code) if NOT_FOUND.contains(&code) => continue,
            Ok(_) | Err(EngineError::Timeout { .. }) => return false,
            Err(_) => return false,
        }
    }
    false
}

/// Why waiting for a probe ended without success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitFailure {
    /// Failed `failures` times in a row (startup probes only give up).
    Failed { failures: u32 },
    /// A stop was requested.
    Stopped,
}

/// Waits until `probe` passes `successThreshold` times in a row.
///
/// A startup probe gives up after `failureThreshold` failures (Kubernetes would restart the
/// container; at start-up we fail the unit instead, which rolls back). A readiness probe keeps
/// trying: the unit's start timeout bounds it, and `STATUS=` says what we wait for.
///
/// `sleep` waits between checks and returns true when the wait must end (stop or abort).
pub fn wait_until_passing(
    engine: &dyn Engine,
    container: &str,
    probe: &Probe,
    kind: ProbeKind,
    sleep: &dyn Fn(Duration) -> bool,
) -> Result<(), WaitFailure> {
    wait_bounded(
        engine,
        container,
        probe,
        kind,
        kind == ProbeKind::Startup,
        sleep,
    )
}

/// [`wait_until_passing`], giving up after `failureThreshold` failures in a row when `bounded`
/// whatever the kind: a reload's replacement has no start timeout to bound its readiness wait,
/// and one that does not get ready is rolled back.
pub fn wait_bounded(
    engine: &dyn Engine,
    container: &str,
    probe: &Probe,
    kind: ProbeKind,
    bounded: bool,
    sleep: &dyn Fn(Duration) -> bool,
) -> Result<(), WaitFailure> {
    if sleep(Duration::from_secs(probe.initial_delay_seconds)) {
        return Err(WaitFailure::Stopped);
    }
    let period = Duration::from_secs(probe.period_seconds.max(1));
    let needed = if kind == ProbeKind::Startup {
        1
    } else {
        probe.success_threshold.max(1)
    };
    let (mut successes, mut failures) = (0u32, 0u32);
    loop {
        if check(engine, container, probe) {
            successes += 1;
            failures = 0;
            if successes >= needed {
                return Ok(());
            }
        } else {
            successes = 0;
            failures += 1;
            if bounded && failures >= probe.failure_threshold.max(1) {
                return Err(WaitFailure::Failed { failures });
            }
        }
        if sleep(period) {
            return Err(WaitFailure::Stopped);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fake::Fake;
    use crate::play::signals::StopFlag;

    fn probe(action: ProbeAction) -> Probe {
        Probe {
            action,
            initial_delay_seconds: 0,
            period_seconds: 1,
            timeout_seconds: 1,
            success_threshold: 1,
            failure_threshold: 2,
        }
    }

    #[test]
    fn http_probe_uses_wget_then_curl() {
        let cmds = commands(
            &ProbeAction::HttpGet {
                host: None,
                port: 80,
                path: "healthz".into(),
                scheme: "HTTP".into(),
            },
            1,
        );
        assert_eq!(
            cmds[0].join(" "),
            "wget -q -O /dev/null http://localhost:80/healthz"
        );
        assert_eq!(cmds[1][0], "curl");
    }

    #[test]
    fn tcp_probe_uses_nc_with_timeout() {
        let cmds = commands(
            &ProbeAction::TcpSocket {
                host: Some("db".into()),
                port: 5432,
            },
            3,
        );
        assert_eq!(cmds, vec![vec!["nc", "-w", "3", "db", "5432"]]);
    }

    #[test]
    fn missing_tool_falls_back_and_failure_counts() {
        let fake = Fake::new();
        fake.lock().exec_codes.insert("c".into(), 127);
        let http = probe(ProbeAction::HttpGet {
            host: None,
            port: 80,
            path: "/".into(),
            scheme: "http".into(),
        });
        assert!(!check(&fake, "c", &http));
        let calls = fake.calls();
        assert!(calls[0].starts_with("exec c wget"));
        assert!(calls[1].starts_with("exec c curl"));
        fake.lock().exec_codes.insert("c".into(), 0);
        assert!(check(&fake, "c", &http));
    }

    #[test]
    fn startup_probe_gives_up_after_failure_threshold() {
        let fake = Fake::new();
        fake.lock().exec_codes.insert("c".into(), 1);
        let p = probe(ProbeAction::Exec(vec!["false".into()]));
        let stop = StopFlag::new();
        let result = wait_until_passing(&fake, "c", &p, ProbeKind::Startup, &|d| stop.sleep(d));
        assert_eq!(result, Err(WaitFailure::Failed { failures: 2 }));
        assert_eq!(fake.calls().len(), 2);
    }

    #[test]
    fn readiness_wait_ends_on_stop() {
        let fake = Fake::new();
        fake.lock().exec_codes.insert("c".into(), 1);
        let p = probe(ProbeAction::Exec(vec!["false".into()]));
        let stop = StopFlag::new();
        stop.set();
        let result = wait_until_passing(&fake, "c", &p, ProbeKind::Readiness, &|d| stop.sleep(d));
        assert_eq!(result, Err(WaitFailure::Stopped));
    }
}
