//! Rescue Podman's shared rootless network helpers from our unit's cgroup.
//!
//! The first Podman call that needs the rootless network namespace starts `slirp4netns` (or
//! `pasta`), `aardvark-dns` and the rootless pause process, and they stay in the cgroup of
//! whoever called it. Called from `quadplay play`, that is our unit's cgroup, so when the unit
//! stops, `KillMode=mixed` SIGKILLs them — and every *other* unit's pods lose DNS and outbound
//! networking (seen here: stopping one unit broke name resolution in another). Podman itself
//! moves such processes into scopes when its cgroup manager is systemd; with cgroupfs (as on
//! these test machines) nobody does. So after starting the pods, and again before exiting, we
//! ask the user's (or system) manager to adopt each such process into its own transient scope
//! (`StartTransientUnit` with `PIDs=`). Best effort: a failure is reported and changes nothing
//! else, since the app itself runs either way.

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::systemd;

/// The connection's job timeout, which only restarts wait on: starting a scope is one call.
const ADOPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Process names of the helpers shared by all rootless pods of the user.
const SHARED_HELPERS: [&str; 4] = ["slirp4netns", "aardvark-dns", "pasta", "pasta.avx2"];

/// The cgroup line identifying a process's place: the unified (`0::`) entry, else systemd's
/// named v1 hierarchy.
fn cgroup_of(pid: &str) -> Option<String> {
    let text = fs::read_to_string(Path::new("/proc").join(pid).join("cgroup")).ok()?;
    pick_cgroup(&text)
}

fn pick_cgroup(text: &str) -> Option<String> {
    let unified = text.lines().find_map(|l| l.strip_prefix("0::"));
    let named = text
        .lines()
        .find_map(|l| l.split_once(":name=systemd:").map(|(_, p)| p));
    // In hybrid mode the unified entry can be "/" for everyone; systemd's own hierarchy is exact.
    match (named, unified) {
        (Some(path), _) if path != "/" => Some(path.to_string()),
        (_, Some(path)) => Some(path.to_string()),
        (Some(path), None) => Some(path.to_string()),
        (None, None) => None,
    }
}

fn is_shared_helper(pid: &str) -> bool {
    let dir = Path::new("/proc").join(pid);
    let comm = fs::read_to_string(dir.join("comm")).unwrap_or_default();
    let comm = comm.trim();
    if SHARED_HELPERS.contains(&comm) {
        return true;
    }
    // The rootless pause process: `catatonit -P`.
    comm == "catatonit"
        && fs::read(dir.join("cmdline"))
            .map(|c| c.split(|b| *b == 0).any(|arg| arg == b"-P"))
            .unwrap_or(false)
}

/// PIDs of shared helpers that live in our own cgroup.
pub fn helpers_in_our_cgroup() -> Vec<u32> {
    let Some(ours) = cgroup_of("self") else {
        return Vec::new();
    };
    if ours == "/" {
        return Vec::new();
    }
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str() else { continue };
        let Ok(number) = pid.parse::<u32>() else {
            continue;
        };
        if number == std::process::id() || !is_shared_helper(pid) {
            continue;
        }
        if cgroup_of(pid).as_deref() == Some(ours.as_str()) {
            pids.push(number);
        }
    }
    pids
}

/// Moves every shared helper found in our cgroup into a transient scope of its own.
pub fn rescue_shared_helpers() {
    let pids = helpers_in_our_cgroup();
    if pids.is_empty() {
        return;
    }
    if let Err(e) = adopt(&pids) {
        eprintln!(
            "quadplay: warning: Podman's shared network helpers (pids {pids:?}) run in this \
             unit's cgroup and will be killed when it stops; moving them out failed: {e}"
        );
    }
}

/// The manager of this user (the session bus, else its private socket; the system one as root)
/// adopts each pid into `quadplay-podman-helper-<pid>.scope`.
fn adopt(pids: &[u32]) -> Result<(), systemd::Error> {
    let manager = systemd::DbusManager::connect(systemd::Scope::of_current_user(), ADOPT_TIMEOUT)?;
    for pid in pids {
        manager.start_scope(
            &format!("quadplay-podman-helper-{pid}.scope"),
            "Podman rootless network helper (moved out by quadplay)",
            &[*pid],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_systemd_hierarchy_in_hybrid_mode_and_unified_otherwise() {
        let hybrid = "12:memory:/x\n1:name=systemd:/user.slice/app.slice/a.service\n0::/\n";
        assert_eq!(
            pick_cgroup(hybrid).as_deref(),
            Some("/user.slice/app.slice/a.service")
        );
        let v2 = "0::/user.slice/app.slice/b.service\n";
        assert_eq!(
            pick_cgroup(v2).as_deref(),
            Some("/user.slice/app.slice/b.service")
        );
        assert_eq!(pick_cgroup("3:cpu:/\n"), None);
    }
}
