//! `quadplay doctor`: checks of what rootless users trip on, each with the fix to apply.
//!
//! Every check reads the machine through [`Host`], whose file-system paths resolve below a root
//! directory and whose commands can be canned, so that each check is unit-tested against a fake
//! machine; [`RealHost`] is the machine itself. A check never fails because it could not look: what
//! it cannot determine is a warning that says so.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::engine::netns;

/// The lowest Podman release quadplay supports (Debian 12's).
pub const MIN_PODMAN: (u32, u32, u32) = (4, 3, 0);

/// The user the checks are about (the one running `quadplay doctor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// What a command printed, or that it could not run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CmdOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// The machine as the checks see it.
pub trait Host {
    /// Where the absolute host path `abs` is (tests point this below a temporary root).
    fn path(&self, abs: &str) -> PathBuf;
    /// Runs a program; `None` when it cannot be started (not installed).
    fn run(&self, program: &str, args: &[&str]) -> Option<CmdOutput>;
    fn env(&self, name: &str) -> Option<String>;
    fn user(&self) -> User;
    /// Whether the file has file capabilities (`security.capability`), for newuidmap without setuid.
    fn has_file_caps(&self, path: &Path) -> bool;
    /// A dry run of the generator over the user's (or root's) unit files.
    fn generate(&self, user: bool) -> Generated;
}

/// What a generator dry run found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generated {
    /// Services the unit files became.
    pub services: usize,
    /// Errors (each unit with one gets no service).
    pub errors: usize,
    /// What the generator logged: errors and warnings, `file:line: key: what`.
    pub lines: Vec<String>,
}

/// This machine.
#[derive(Debug, Default)]
pub struct RealHost;

impl Host for RealHost {
    fn path(&self, abs: &str) -> PathBuf {
        PathBuf::from(abs)
    }

    fn run(&self, program: &str, args: &[&str]) -> Option<CmdOutput> {
        run_with_deadline(program, args, COMMAND_TIMEOUT)
    }

    fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }

    fn user(&self) -> User {
        // SAFETY: getuid/getgid cannot fail; getpwuid returns NULL or a pointer valid until the next
        // getpw* call, read at once into an owned String.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let name = unsafe {
            let pw = libc::getpwuid(uid);
            if pw.is_null() || (*pw).pw_name.is_null() {
                None
            } else {
                Some(
                    std::ffi::CStr::from_ptr((*pw).pw_name)
                        .to_string_lossy()
                        .into_owned(),
                )
            }
        };
        let name = name
            .or_else(|| self.env("USER"))
            .unwrap_or_else(|| uid.to_string());
        User { name, uid, gid }
    }

    fn has_file_caps(&self, path: &Path) -> bool {
        use std::os::unix::ffi::OsStrExt;
        let (Ok(p), Ok(attr)) = (
            std::ffi::CString::new(path.as_os_str().as_bytes()),
            std::ffi::CString::new("security.capability"),
        ) else {
            return false;
        };
        // SAFETY: both pointers are valid NUL-terminated strings; a NULL buffer of size 0 only asks
        // for the attribute's size.
        let size = unsafe { libc::getxattr(p.as_ptr(), attr.as_ptr(), std::ptr::null_mut(), 0) };
        size > 0
    }

    fn generate(&self, user: bool) -> Generated {
        let mut log = crate::quadlet::log::Log::capturing(false);
        let args = crate::cli::GenerateArgs {
            user,
            unit_dirs: Vec::new(),
        };
        let outcome = crate::quadlet::generator::dry_run(&args, &mut log);
        Generated {
            services: outcome.generated,
            errors: log.error_count(),
            lines: log.captured().to_vec(),
        }
    }
}

/// How long one probed command may take: a wedged `podman info` (a stuck pause process, a dead
/// NFS home) must not hang the doctor, whose job is to say what is wrong.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs a program with its output captured; kills it at the deadline and reports that as a
/// failed run. `None` when it cannot be started.
fn run_with_deadline(program: &str, args: &[&str], limit: Duration) -> Option<CmdOutput> {
    use std::io::Read;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    // Readers drain both pipes while we wait, so a chatty child never blocks on a full pipe. They
    // answer through channels: a grandchild that inherited a pipe (a daemon the command started)
    // may keep it open for ever, and must not hang us.
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            let _ = tx.send(String::from_utf8_lossy(&buf).into_owned());
        });
        rx
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let grace = Duration::from_secs(2);
    let stdout = out.recv_timeout(grace).unwrap_or_default();
    let stderr = err.recv_timeout(grace).unwrap_or_default();
    Some(match status {
        Some(status) => CmdOutput {
            success: status.success(),
            stdout,
            stderr,
        },
        None => CmdOutput {
            success: false,
            stdout,
            stderr: format!(
                "{program} did not finish within {} s; killed",
                limit.as_secs()
            ),
        },
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

/// One check's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub status: Status,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn ok(id: &'static str, summary: impl Into<String>) -> Self {
        Self {
            id,
            status: Status::Ok,
            summary: summary.into(),
            fix: None,
        }
    }
    fn skip(id: &'static str, summary: impl Into<String>) -> Self {
        Self {
            id,
            status: Status::Skip,
            summary: summary.into(),
            fix: None,
        }
    }
    fn warn(id: &'static str, summary: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            id,
            status: Status::Warn,
            summary: summary.into(),
            fix: Some(fix.into()),
        }
    }
    fn fail(id: &'static str, summary: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            id,
            status: Status::Fail,
            summary: summary.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Every check's verdict, for one user.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub user: String,
    pub uid: u32,
    pub failed: usize,
    pub warnings: usize,
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether any check failed (warnings do not count): the exit status.
    pub fn has_failures(&self) -> bool {
        self.failed > 0
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// One line per check, the fix indented below a warning or failure.
    pub fn to_table(&self) -> String {
        let width = self.checks.iter().map(|c| c.id.len()).max().unwrap_or(5);
        let mut out = String::new();
        for c in &self.checks {
            let status = match c.status {
                Status::Ok => "ok",
                Status::Warn => "WARN",
                Status::Fail => "FAIL",
                Status::Skip => "skip",
            };
            let _ = writeln!(out, "{status:<4}  {:<width$}  {}", c.id, c.summary);
            if let Some(fix) = &c.fix {
                let _ = writeln!(out, "      {:<width$}  fix: {fix}", "");
            }
        }
        let _ = writeln!(
            out,
            "{} checks for {} (uid {}): {} failed, {} warnings",
            self.checks.len(),
            self.user,
            self.uid,
            self.failed,
            self.warnings
        );
        out
    }
}

/// Runs every check against `host`.
pub fn run(host: &dyn Host) -> Report {
    let user = host.user();
    let podman = host.env("PODMAN").unwrap_or_else(|| "podman".to_string());
    let info = podman_info(host, &podman);
    let checks = vec![
        check_subids(host, &user, "/etc/subuid", "subuid"),
        check_subids(host, &user, "/etc/subgid", "subgid"),
        check_idmap_helpers(host, &user),
        check_tun(host, &user),
        check_podman_version(&podman, &info),
        check_network_backend(host, &info),
        check_bridges(host, &user, &podman, &info),
        check_log_driver(host, &info),
        check_cgroups(host),
        check_linger(host, &user),
        check_unprivileged_ports(host, &user),
        check_generator(host, &user),
        check_podman_generator(host, &user),
        check_units(host, &user),
        check_manager(host, &user),
    ];
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    let warnings = checks.iter().filter(|c| c.status == Status::Warn).count();
    Report {
        user: user.name,
        uid: user.uid,
        failed,
        warnings,
        checks,
    }
}

fn rootless(user: &User) -> bool {
    user.uid != 0
}

/// `/etc/subuid` or `/etc/subgid`: the user needs a range of subordinate IDs (65536 is the usual
/// size; less breaks images whose files belong to high IDs).
fn check_subids(host: &dyn Host, user: &User, file: &str, id: &'static str) -> Check {
    if !rootless(user) {
        return Check::skip(id, "root needs no subordinate IDs");
    }
    let fix = format!(
        "usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {} (pick a range no other user has), then podman system migrate",
        user.name
    );
    let text = match std::fs::read_to_string(host.path(file)) {
        Ok(t) => t,
        Err(e) => return Check::fail(id, format!("cannot read {file}: {e}"), fix),
    };
    let mut total: u64 = 0;
    let mut ranges = Vec::new();
    let mut mine = Vec::new();
    let mut others = Vec::new();
    for line in text.lines() {
        let mut parts = line.trim().splitn(3, ':');
        let (Some(who), Some(start), Some(count)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (Ok(start), Ok(count)) = (start.parse::<u64>(), count.trim().parse::<u64>()) else {
            continue;
        };
        if who != user.name && who != user.uid.to_string() {
            others.push((who.to_string(), start, count));
            continue;
        }
        total += count;
        ranges.push(format!("{start}-{}", start + count.saturating_sub(1)));
        mine.push((start, count));
    }
    let what = if id == "subuid" { "UIDs" } else { "GIDs" };
    // Two users sharing subordinate IDs can read and write each other's container files.
    let shared: Vec<String> = others
        .iter()
        .filter(|(_, s, c)| mine.iter().any(|(ms, mc)| *s < ms + mc && *ms < s + c))
        .map(|(who, _, _)| who.clone())
        .collect();
    if total > 0 && !shared.is_empty() {
        return Check::warn(
            id,
            format!(
                "{}'s subordinate {what} ({}) overlap those of {}: their containers can touch each other's files",
                user.name,
                ranges.join(", "),
                shared.join(", ")
            ),
            format!("give each user its own range in {file} (usermod --del-subuids/--add-subuids), then podman system migrate"),
        );
    }
    match total {
        0 => Check::fail(
            id,
            format!("{} has no subordinate {what} in {file}", user.name),
            fix,
        ),
        n if n < 65536 => Check::warn(
            id,
            format!(
                "{} has only {n} subordinate {what} ({}); images with files owned by higher IDs fail to unpack",
                user.name,
                ranges.join(", ")
            ),
            fix,
        ),
        n => Check::ok(
            id,
            format!("{} has {n} subordinate {what} ({})", user.name, ranges.join(", ")),
        ),
    }
}

/// Where a program is installed, looked up in the usual directories (not `$PATH`: a user's PATH
/// in a systemd unit is not their shell's).
fn find_program(host: &dyn Host, name: &str, dirs: &[&str]) -> Option<PathBuf> {
    dirs.iter()
        .map(|d| host.path(&format!("{d}/{name}")))
        .find(|p| p.is_file())
}

/// newuidmap/newgidmap map the subordinate IDs; they need setuid root or file capabilities.
fn check_idmap_helpers(host: &dyn Host, user: &User) -> Check {
    const ID: &str = "uidmap";
    if !rootless(user) {
        return Check::skip(ID, "root needs no newuidmap/newgidmap");
    }
    let dirs = ["/usr/bin", "/bin", "/usr/sbin", "/usr/local/bin"];
    let mut problems = Vec::new();
    let mut found = Vec::new();
    for name in ["newuidmap", "newgidmap"] {
        match find_program(host, name, &dirs) {
            None => problems.push(format!("{name} is not installed")),
            Some(path) => {
                let setuid = std::fs::metadata(&path)
                    .map(|m| m.mode() & 0o4000 != 0 && m.uid() == 0)
                    .unwrap_or(false);
                if setuid || host.has_file_caps(&path) {
                    found.push(format!(
                        "{} ({})",
                        name,
                        if setuid { "setuid root" } else { "file caps" }
                    ));
                } else {
                    problems.push(format!(
                        "{} is neither setuid root nor has file capabilities",
                        path.display()
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        Check::ok(ID, found.join(", "))
    } else {
        Check::fail(
            ID,
            problems.join("; "),
            "apt-get install uidmap (Debian/Ubuntu) or dnf install shadow-utils (Fedora/RHEL); the files must be setuid root (chmod u+s) or carry cap_setuid/cap_setgid",
        )
    }
}

/// Whether `user` may read and write a file with these owner, group and mode bits.
fn may_read_write(meta: &std::fs::Metadata, user: &User) -> bool {
    if user.uid == 0 {
        return true;
    }
    let mode = meta.permissions().mode();
    let bits = if meta.uid() == user.uid {
        (mode >> 6) & 0o7
    } else if meta.gid() == user.gid {
        (mode >> 3) & 0o7
    } else {
        mode & 0o7
    };
    bits & 0o6 == 0o6
}

/// Rootless networking (slirp4netns, pasta) opens /dev/net/tun.
fn check_tun(host: &dyn Host, user: &User) -> Check {
    const ID: &str = "tun";
    let path = host.path("/dev/net/tun");
    match std::fs::metadata(&path) {
        Err(_) => Check::fail(
            ID,
            "/dev/net/tun is missing: rootless networking (slirp4netns/pasta) cannot start",
            "modprobe tun (and add tun to /etc/modules-load.d/); in a container, pass --device /dev/net/tun",
        ),
        Ok(meta) if !may_read_write(&meta, user) => Check::fail(
            ID,
            format!(
                "/dev/net/tun is mode {:o}: {} may not open it, so rootless networking fails",
                meta.permissions().mode() & 0o777,
                user.name
            ),
            "chmod 0666 /dev/net/tun (the kernel's default mode)",
        ),
        Ok(_) => Check::ok(ID, format!("/dev/net/tun is usable by {}", user.name)),
    }
}

/// What `podman info` says, by field; empty when podman could not run.
#[derive(Debug, Default)]
struct PodmanInfo {
    ran: bool,
    missing: bool,
    error: String,
    fields: BTreeMap<&'static str, String>,
}

impl PodmanInfo {
    /// One field's value; empty when podman did not report it.
    fn field(&self, key: &str) -> &str {
        self.fields.get(key).map(String::as_str).unwrap_or("")
    }
}

fn podman_info(host: &dyn Host, podman: &str) -> PodmanInfo {
    // One call for all fields (podman info is slow: it may start the rootless pause process), as
    // JSON because a Go template naming a field an older Podman lacks fails the whole call.
    let failed = |error: String| PodmanInfo {
        ran: false,
        error,
        ..PodmanInfo::default()
    };
    let out = match host.run(podman, &["info", "--format", "json"]) {
        None => {
            return PodmanInfo {
                missing: true,
                ..failed(format!("{podman} not found"))
            }
        }
        Some(out) if !out.success => return failed(first_line(&out.stderr).to_string()),
        Some(out) => out,
    };
    let json: serde_json::Value = match serde_json::from_str(&out.stdout) {
        Ok(v) => v,
        Err(e) => return failed(format!("podman info printed no JSON: {e}")),
    };
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    let fields = BTreeMap::from([
        ("version", text(&json["version"]["Version"])),
        ("network_backend", text(&json["host"]["networkBackend"])),
        ("log_driver", text(&json["host"]["logDriver"])),
        ("cgroups", text(&json["host"]["cgroupVersion"])),
    ]);
    PodmanInfo {
        ran: true,
        missing: false,
        error: String::new(),
        fields,
    }
}

fn first_line(s: &str) -> &str {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

/// `4.3.1`, `5.0.0-rc1`, `4.9` → (major, minor, patch).
pub fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let mut parts = v.trim().split(['.', '-', '+', '~']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major, minor, patch))
}

fn check_podman_version(podman: &str, info: &PodmanInfo) -> Check {
    const ID: &str = "podman";
    if !info.ran {
        let fix = if info.missing {
            "install podman (apt-get install podman / dnf install podman), or set $PODMAN to its path"
        } else {
            "run podman info as this user and fix the error it prints"
        };
        return Check::fail(ID, format!("podman info failed: {}", info.error), fix);
    }
    let v = info.field("version");
    match parse_version(v) {
        Some(found) if found >= MIN_PODMAN => Check::ok(ID, format!("{podman} {v}")),
        Some(_) => Check::fail(
            ID,
            format!("podman {v} is older than 4.3, the oldest quadplay supports"),
            "upgrade podman to 4.3 or later",
        ),
        None => Check::warn(
            ID,
            format!("cannot read podman's version from {v:?}"),
            "run podman version and report it",
        ),
    }
}

fn check_network_backend(host: &dyn Host, info: &PodmanInfo) -> Check {
    const ID: &str = "network";
    if !info.ran {
        return Check::skip(ID, "podman info failed; backend unknown");
    }
    let backend = info.field("network_backend");
    match backend {
        "netavark" => {
            let dirs = [
                "/usr/libexec/podman",
                "/usr/lib/podman",
                "/usr/local/libexec/podman",
                "/usr/local/lib/podman",
            ];
            match find_program(host, "aardvark-dns", &dirs) {
                Some(p) => check_aardvark_version(host, &p),
                None => Check::fail(
                    ID,
                    "netavark without aardvark-dns: pods cannot resolve each other's names",
                    "apt-get install aardvark-dns (dnf install aardvark-dns)",
                ),
            }
        }
        "cni" => Check::warn(
            ID,
            "CNI network backend: name resolution between pods needs the dnsname plugin, and CNI is deprecated",
            "install netavark and aardvark-dns, set network_backend = \"netavark\" under [network] in containers.conf, then podman system reset (removes containers and images)",
        ),
        other => Check::warn(
            ID,
            format!("unknown network backend {other:?}"),
            "use netavark with aardvark-dns",
        ),
    }
}

/// The first aardvark-dns that keeps answering while it reloads (aardvark-dns#389, PR #449).
const AARDVARK_STEADY: (u32, u32, u32) = (1, 11, 0);

/// Older aardvark-dns tears down and rebuilds its servers on every reload, which each container
/// joining or leaving a network triggers: names stop resolving for up to a minute (measured 25-45 s
/// on Debian 12's 1.4.0), so an app that looks up a peer once at start-up can fail.
fn check_aardvark_version(host: &dyn Host, path: &Path) -> Check {
    const ID: &str = "network";
    let found = format!("netavark with aardvark-dns ({})", path.display());
    let out = host.run(&path.to_string_lossy(), &["--version"]);
    // `aardvark-dns 1.4.0`; it may add a syslog complaint on stderr.
    let version = out
        .as_ref()
        .filter(|o| o.success)
        .and_then(|o| o.stdout.split_whitespace().nth(1).map(str::to_string));
    match version.as_deref().and_then(parse_version) {
        Some(v) if v < AARDVARK_STEADY => Check::warn(
            ID,
            format!(
                "{found} {}: names stop resolving for up to a minute whenever a container starts or stops on the network (aardvark-dns#389)",
                version.as_deref().unwrap_or_default()
            ),
            "upgrade aardvark-dns to 1.11 or later; until then let the apps retry name lookups",
        ),
        Some(_) => Check::ok(
            ID,
            format!("{found} {}: pods find each other by name", version.as_deref().unwrap_or_default()),
        ),
        None => Check::ok(ID, format!("{found}: pods find each other by name")),
    }
}

/// Bridges in the rootless network namespace that no longer match their network: a removed
/// network's cut-short teardown leaves its bridge, and a later network with that interface name
/// gets no gateway (see `engine::netns`). `quadplay play` repairs it when nothing runs on it.
fn check_bridges(host: &dyn Host, user: &User, podman: &str, info: &PodmanInfo) -> Check {
    const ID: &str = "bridges";
    if !rootless(user) || !info.ran || info.field("network_backend") != "netavark" {
        return Check::skip(
            ID,
            "only rootless netavark keeps bridges in a namespace of its own",
        );
    }
    let runtime = host.env("XDG_RUNTIME_DIR").unwrap_or_default();
    // Looking inside a namespace that does not exist would create it.
    if runtime.is_empty() || !netns::rootless_netns_exists(&host.path(&runtime)) {
        return Check::ok(ID, "no rootless network namespace yet");
    }
    let networks = host
        .run(podman, &["network", "ls", "--format", "json"])
        .filter(|o| o.success)
        .and_then(|o| serde_json::from_str::<Vec<netns::Network>>(&o.stdout).ok());
    let bridges = host
        .run(
            podman,
            &[
                "unshare",
                "--rootless-netns",
                "ip",
                "-j",
                "addr",
                "show",
                "type",
                "bridge",
            ],
        )
        .filter(|o| o.success)
        .and_then(|o| netns::interfaces(&o.stdout));
    let (Some(networks), Some(bridges)) = (networks, bridges) else {
        return Check::skip(ID, "cannot list the networks or the namespace's bridges");
    };
    let mut broken = Vec::new();
    let mut orphans = Vec::new();
    for (ifname, addresses) in &bridges {
        let shown = addresses
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        match networks.iter().find(|n| &n.network_interface == ifname) {
            None if !addresses.is_empty() => orphans.push(format!("{ifname} ({shown})")),
            Some(net)
                if netns::verdict(&net.gateways(), addresses, false)
                    != netns::BridgeVerdict::Fine =>
            {
                broken.push(format!(
                    "{ifname} of network {} carries {shown} instead of its gateway",
                    net.name
                ))
            }
            _ => {}
        }
    }
    const FIX: &str = "stop the containers on it (podman stop --all), then podman unshare --rootless-netns ip link del BRIDGE; quadplay play does this itself when none of the network's containers runs";
    if !broken.is_empty() {
        return Check::fail(
            ID,
            format!(
                "{}: pods on it get no gateway, DNS or published ports (a removed network's teardown left the bridge)",
                broken.join("; ")
            ),
            FIX,
        );
    }
    if !orphans.is_empty() {
        return Check::warn(
            ID,
            format!(
                "bridge(s) of removed networks left in the rootless network namespace: {}; a network created later under that name gets no gateway",
                orphans.join(", ")
            ),
            FIX,
        );
    }
    Check::ok(
        ID,
        format!("{} bridge(s) match their networks", bridges.len()),
    )
}

/// With `log_driver = journald` and no journald, `podman logs` has nothing to read.
fn check_log_driver(host: &dyn Host, info: &PodmanInfo) -> Check {
    const ID: &str = "log-driver";
    if !info.ran {
        return Check::skip(ID, "podman info failed; log driver unknown");
    }
    let driver = info.field("log_driver");
    let journald = host.path("/run/systemd/journal/socket").exists();
    match (driver, journald) {
        ("journald", true) => Check::ok(ID, "journald (podman logs and journalctl read the journal)"),
        ("journald", false) => Check::fail(
            ID,
            "log_driver is journald but journald is not running: container output is lost and podman logs fails",
            "set log_driver = \"k8s-file\" under [containers] in ~/.config/containers/containers.conf, or run systemd-journald",
        ),
        ("", _) => Check::warn(ID, "podman did not report its log driver", "check log_driver in containers.conf"),
        (other, _) => Check::ok(ID, format!("{other} (podman logs reads the container's log file)")),
    }
}

/// cgroup v2 is what rootless Podman and systemd delegation are built for.
fn check_cgroups(host: &dyn Host) -> Check {
    const ID: &str = "cgroups";
    if host.path("/sys/fs/cgroup/cgroup.controllers").exists() {
        Check::ok(ID, "cgroup v2 (unified)")
    } else if host.path("/sys/fs/cgroup/unified").is_dir() {
        Check::warn(
            ID,
            "cgroup v1/v2 hybrid: crun refuses it and rootless resource limits are ignored",
            "boot with systemd.unified_cgroup_hierarchy=1; until then set runtime = \"runc\" under [engine] in containers.conf",
        )
    } else if host.path("/sys/fs/cgroup").is_dir() {
        Check::warn(
            ID,
            "cgroup v1: rootless containers get no resource limits",
            "boot with systemd.unified_cgroup_hierarchy=1 (cgroup v2)",
        )
    } else {
        Check::warn(
            ID,
            "no cgroup file system mounted at /sys/fs/cgroup",
            "mount cgroup2 on /sys/fs/cgroup",
        )
    }
}

/// Without lingering a user's manager (and so their units) starts at login and stops at logout.
fn check_linger(host: &dyn Host, user: &User) -> Check {
    const ID: &str = "linger";
    if !rootless(user) {
        return Check::skip(ID, "root's units run in the system manager");
    }
    if host
        .path(&format!("/var/lib/systemd/linger/{}", user.name))
        .exists()
    {
        Check::ok(
            ID,
            format!("lingering is on: {}'s units start at boot", user.name),
        )
    } else {
        Check::warn(
            ID,
            format!(
                "lingering is off: {}'s units start at login and stop at logout, not at boot",
                user.name
            ),
            format!("loginctl enable-linger {}", user.name),
        )
    }
}

/// Rootless Podman cannot bind host ports below `ip_unprivileged_port_start` (1024 by default).
fn check_unprivileged_ports(host: &dyn Host, user: &User) -> Check {
    const ID: &str = "low-ports";
    if !rootless(user) {
        return Check::skip(ID, "root may bind any port");
    }
    let path = host.path("/proc/sys/net/ipv4/ip_unprivileged_port_start");
    match std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
    {
        Some(0) => Check::ok(ID, "every host port may be published rootless"),
        Some(n) if n <= 80 => Check::ok(ID, format!("host ports from {n} up may be published rootless")),
        Some(n) => Check::warn(
            ID,
            format!("host ports below {n} (80, 443) cannot be published rootless: hostPort: 80 fails"),
            "echo net.ipv4.ip_unprivileged_port_start=80 > /etc/sysctl.d/50-rootless-ports.conf && sysctl --system (or publish ports from 1024 up)",
        ),
        None => Check::warn(
            ID,
            "cannot read net.ipv4.ip_unprivileged_port_start",
            "sysctl net.ipv4.ip_unprivileged_port_start",
        ),
    }
}

/// systemd's generator directories, highest precedence first.
fn generator_dirs(user: &User) -> Vec<String> {
    let kind = if rootless(user) { "user" } else { "system" };
    let mut dirs = vec![
        format!("/run/systemd/{kind}-generators"),
        format!("/etc/systemd/{kind}-generators"),
        format!("/usr/local/lib/systemd/{kind}-generators"),
        format!("/usr/lib/systemd/{kind}-generators"),
    ];
    if !rootless(user) {
        dirs.push("/lib/systemd/system-generators".to_string());
    }
    dirs
}

/// The first file named `name` in the generator directories (a higher one shadows lower ones):
/// its shown path, whether it is a mask (a link to /dev/null), and whether it can run.
fn find_generator(host: &dyn Host, user: &User, name: &str) -> Option<(String, bool, bool)> {
    find_generators(host, user, name).into_iter().next()
}

/// Every file named `name` in the generator directories, highest precedence first.
fn find_generators(host: &dyn Host, user: &User, name: &str) -> Vec<(String, bool, bool)> {
    generator_dirs(user)
        .into_iter()
        .filter_map(|dir| {
            let shown = format!("{dir}/{name}");
            let path = host.path(&shown);
            let link = std::fs::symlink_metadata(&path).ok()?;
            let masked = link.file_type().is_symlink()
                && std::fs::read_link(&path).is_ok_and(|t| t == Path::new("/dev/null"));
            let runnable = std::fs::metadata(&path)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false);
            Some((shown, masked, runnable))
        })
        .collect()
}

fn check_generator(host: &dyn Host, user: &User) -> Check {
    const ID: &str = "generator";
    let kind = if rootless(user) { "user" } else { "system" };
    let name = format!("quadplay-{kind}-generator");
    match find_generator(host, user, &name) {
        None => Check::fail(
            ID,
            format!("{name} is not installed: .kube files are not turned into services"),
            "install the quadplay package, or make install PREFIX=/usr/local",
        ),
        Some((path, true, _)) => Check::fail(
            ID,
            format!("{path} masks quadplay's generator (a link to /dev/null)"),
            format!("rm {path}"),
        ),
        Some((path, false, false)) => Check::fail(
            ID,
            format!("{path} is not an executable file (dangling link?)"),
            "reinstall quadplay",
        ),
        Some((path, false, true)) => {
            // A second copy (make install in /usr/local and the package in /usr) is shadowed and
            // probably stale: say which one runs.
            let shadowed: Vec<String> = find_generators(host, user, &name)
                .into_iter()
                .skip(1)
                .map(|(p, _, _)| p)
                .collect();
            if shadowed.is_empty() {
                Check::ok(ID, path)
            } else {
                Check::warn(
                    ID,
                    format!("{path} runs; it shadows {}", shadowed.join(", ")),
                    "remove the installation you do not use (make uninstall PREFIX=/usr/local, or apt remove quadplay)",
                )
            }
        }
    }
}

/// Podman's own Quadlet generator writes services of the same names from the same files.
fn check_podman_generator(host: &dyn Host, user: &User) -> Check {
    const ID: &str = "podman-quadlet";
    let kind = if rootless(user) { "user" } else { "system" };
    let name = format!("podman-{kind}-generator");
    match find_generator(host, user, &name) {
        None => Check::ok(ID, "Podman's Quadlet generator is not installed"),
        Some((path, true, _)) => Check::ok(ID, format!("Podman's Quadlet generator is masked ({path})")),
        Some((path, false, _)) => Check::fail(
            ID,
            format!("Podman's Quadlet generator {path} is active too: both write a .service for the same unit files, and one overwrites the other"),
            format!("ln -s /dev/null /etc/systemd/{kind}-generators/{name} (the quadplay package and make install MASK_PODMAN_QUADLET=1 do this)"),
        ),
    }
}

/// The user's unit files must convert: a unit with an error gets no service at all, which
/// otherwise only shows as "unit not found" at `systemctl start`.
fn check_units(host: &dyn Host, user: &User) -> Check {
    const ID: &str = "units";
    let g = host.generate(rootless(user));
    let flag = if rootless(user) { " --user" } else { "" };
    if g.errors == 0 {
        let noun = if g.services == 1 {
            "service"
        } else {
            "services"
        };
        return Check::ok(ID, format!("the unit files convert: {} {noun}", g.services));
    }
    let shown: Vec<&str> = g.lines.iter().map(String::as_str).take(3).collect();
    Check::fail(
        ID,
        format!(
            "{} error(s) in the unit files, those units get no service: {}",
            g.errors,
            shown.join("; ")
        ),
        format!("quadplay generate{flag} lists every problem with file, line and key; fix those"),
    )
}

/// `systemctl --user` must reach the user's manager: units start there.
fn check_manager(host: &dyn Host, user: &User) -> Check {
    const ID: &str = "manager";
    let mut args = vec!["show", "--property=SystemState", "--value"];
    if rootless(user) {
        // After `su` the variable often still names the previous user's directory.
        if let Some(dir) = host.env("XDG_RUNTIME_DIR") {
            let owner = std::fs::metadata(host.path(&dir)).map(|m| m.uid());
            if owner.as_ref().map_or(true, |&o| o != user.uid) {
                return Check::fail(
                    ID,
                    match owner {
                        Ok(o) => format!("XDG_RUNTIME_DIR={dir} belongs to uid {o}, not to {}", user.name),
                        Err(e) => format!("XDG_RUNTIME_DIR={dir}: {e}"),
                    },
                    format!(
                        "log in as {} through a PAM session (ssh, machinectl shell {}@), or export XDG_RUNTIME_DIR=/run/user/{}",
                        user.name, user.name, user.uid
                    ),
                );
            }
        }
        if host.env("XDG_RUNTIME_DIR").is_none() {
            return Check::fail(
                ID,
                "XDG_RUNTIME_DIR is not set: systemctl --user and rootless Podman cannot find the user's runtime directory",
                format!(
                    "log in through a PAM session (ssh, machinectl shell {}@) rather than su/sudo, or export XDG_RUNTIME_DIR=/run/user/{}",
                    user.name, user.uid
                ),
            );
        }
        args.insert(0, "--user");
    }
    let manager = if rootless(user) {
        "user manager"
    } else {
        "system manager"
    };
    match host.run("systemctl", &args) {
        None => Check::fail(ID, "systemctl is not installed", "install systemd"),
        Some(out) => {
            let state = first_line(&out.stdout).to_string();
            match state.as_str() {
                "running" | "degraded" => {
                    Check::ok(ID, format!("the {manager} is reachable ({state})"))
                }
                _ => {
                    let why = if out.success {
                        state
                    } else {
                        first_line(&out.stderr).to_string()
                    };
                    Check::fail(
                        ID,
                        format!("the {manager} is not reachable: {why}"),
                        if rootless(user) {
                            format!("loginctl enable-linger {} (starts user@{}.service), or log in through a PAM session", user.name, user.uid)
                        } else {
                            "boot with systemd as PID 1".to_string()
                        },
                    )
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::os::unix::fs::symlink;

    /// A machine below a temporary root, with canned command outputs.
    struct Fake {
        root: tempfile::TempDir,
        user: User,
        env: HashMap<String, String>,
        cmds: HashMap<String, CmdOutput>,
        /// Outputs for one exact command line (`program arg…`), before `cmds`.
        lines: HashMap<String, CmdOutput>,
        caps: bool,
        generated: Generated,
    }

    impl Fake {
        /// `uid` 0 is root; any other asks for a rootless user, which is the test process's own
        /// uid when that is not root (so that files it creates belong to the fake user).
        fn new(uid: u32) -> Self {
            let root = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
            // SAFETY: getuid cannot fail.
            let real = unsafe { libc::getuid() };
            let uid = if uid == 0 || real == 0 { uid } else { real };
            let user = User {
                name: if uid == 0 {
                    "root".into()
                } else {
                    "alice".into()
                },
                uid,
                gid: uid,
            };
            let mut env = HashMap::new();
            env.insert("XDG_RUNTIME_DIR".into(), format!("/run/user/{uid}"));
            let rt = root.path().join(format!("run/user/{uid}"));
            std::fs::create_dir_all(&rt).unwrap_or_else(|e| panic!("{e}"));
            if real == 0 {
                std::os::unix::fs::chown(&rt, Some(uid), Some(uid))
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            Self {
                root,
                user,
                env,
                cmds: HashMap::new(),
                lines: HashMap::new(),
                caps: false,
                generated: Generated::default(),
            }
        }
        /// A machine where everything is right, for a rootless user.
        fn healthy() -> Self {
            let f = Self::new(1000);
            f.file("/etc/subuid", "alice:100000:65536\n", 0o644);
            f.file(
                "/etc/subgid",
                &format!("{}:100000:65536\n", f.user.uid),
                0o644,
            );
            f.file("/usr/bin/newuidmap", "", 0o4755);
            f.file("/usr/bin/newgidmap", "", 0o4755);
            f.file("/dev/net/tun", "", 0o666);
            f.file("/usr/libexec/podman/aardvark-dns", "", 0o755);
            f.file("/sys/fs/cgroup/cgroup.controllers", "memory pids", 0o644);
            f.file("/var/lib/systemd/linger/alice", "", 0o644);
            f.file(
                "/proc/sys/net/ipv4/ip_unprivileged_port_start",
                "80\n",
                0o644,
            );
            f.file("/usr/libexec/quadplay/quadplay-generator", "", 0o755);
            f.link(
                "/usr/lib/systemd/user-generators/quadplay-user-generator",
                &f.host_path("/usr/libexec/quadplay/quadplay-generator"),
            );
            let mut f = f;
            f.cmd(
                "podman",
                true,
                &info_json("4.3.1", "netavark", "k8s-file"),
                "",
            );
            f.cmd("systemctl", true, "running\n", "");
            f
        }
        fn host_path(&self, abs: &str) -> PathBuf {
            self.root.path().join(abs.trim_start_matches('/'))
        }
        /// `abs` below the fake root, its directory created.
        fn new_path(&self, abs: &str) -> PathBuf {
            let p = self.host_path(abs);
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{e}"));
            }
            p
        }
        fn file(&self, abs: &str, text: &str, mode: u32) {
            let p = self.new_path(abs);
            std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        fn link(&self, abs: &str, target: &Path) {
            let p = self.new_path(abs);
            let _ = std::fs::remove_file(&p);
            symlink(target, &p).unwrap_or_else(|e| panic!("{e}"));
        }
        fn remove(&self, abs: &str) {
            let _ = std::fs::remove_file(self.host_path(abs));
        }
        fn cmd(&mut self, program: &str, success: bool, stdout: &str, stderr: &str) {
            self.cmds.insert(
                program.to_string(),
                CmdOutput {
                    success,
                    stdout: stdout.into(),
                    stderr: stderr.into(),
                },
            );
        }

        /// A successful run of one exact command line (`program arg…`) printing `stdout`.
        fn line(&mut self, line: &str, stdout: &str) {
            self.lines.insert(
                line.to_string(),
                CmdOutput {
                    success: true,
                    stdout: stdout.into(),
                    stderr: String::new(),
                },
            );
        }
    }

    impl Host for Fake {
        fn path(&self, abs: &str) -> PathBuf {
            self.host_path(abs)
        }
        fn run(&self, program: &str, args: &[&str]) -> Option<CmdOutput> {
            let line = std::iter::once(program)
                .chain(args.iter().copied())
                .collect::<Vec<_>>()
                .join(" ");
            if let Some(out) = self.lines.get(&line) {
                return Some(out.clone());
            }
            let base = Path::new(program)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            self.cmds
                .get(program)
                .or_else(|| self.cmds.get(&base))
                .cloned()
        }
        fn env(&self, name: &str) -> Option<String> {
            self.env.get(name).cloned()
        }
        fn user(&self) -> User {
            self.user.clone()
        }
        fn has_file_caps(&self, _path: &Path) -> bool {
            self.caps
        }
        fn generate(&self, _user: bool) -> Generated {
            self.generated.clone()
        }
    }

    fn info_json(version: &str, backend: &str, log_driver: &str) -> String {
        serde_json::json!({
            "host": {"networkBackend": backend, "logDriver": log_driver, "cgroupVersion": "v2"},
            "version": {"Version": version}
        })
        .to_string()
    }

    /// The check's fix, empty when it has none.
    fn fix(c: &Check) -> &str {
        c.fix.as_deref().unwrap_or("")
    }

    fn check<'a>(r: &'a Report, id: &str) -> &'a Check {
        r.checks
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no check {id}"))
    }

    #[test]
    fn commands_are_killed_at_their_deadline() {
        let start = Instant::now();
        let out = run_with_deadline("sleep", &["5"], Duration::from_millis(200));
        assert!(start.elapsed() < Duration::from_secs(3));
        let out = out.unwrap_or_default();
        assert!(
            !out.success && out.stderr.contains("did not finish"),
            "{out:?}"
        );
        let ok = run_with_deadline(
            "sh",
            &["-c", "echo hi; echo err >&2"],
            Duration::from_secs(5),
        );
        assert_eq!(
            ok,
            Some(CmdOutput {
                success: true,
                stdout: "hi\n".into(),
                stderr: "err\n".into()
            })
        );
        assert_eq!(
            run_with_deadline("/nonexistent/program", &[], Duration::from_secs(1)),
            None
        );
    }

    #[test]
    fn healthy_machine_passes_every_check() {
        let r = run(&Fake::healthy());
        let bad: Vec<_> = r.checks.iter().filter(|c| c.status != Status::Ok).collect();
        assert!(bad.is_empty(), "{bad:#?}");
        assert!(!r.has_failures());
        assert_eq!(r.checks.len(), 15);
    }

    #[test]
    fn missing_subuid_fails_with_usermod_fix() {
        let f = Fake::healthy();
        f.file("/etc/subuid", "bob:100000:65536\n", 0o644);
        let r = run(&f);
        let c = check(&r, "subuid");
        assert_eq!(c.status, Status::Fail);
        assert!(fix(c).contains("usermod --add-subuids"), "{:?}", c.fix);
        assert_eq!(check(&r, "subgid").status, Status::Ok);
        assert!(r.has_failures());
    }

    #[test]
    fn small_subuid_range_warns_and_ranges_add_up() {
        let f = Fake::healthy();
        f.file(
            "/etc/subuid",
            "alice:100000:1000\nalice:300000:1000\n",
            0o644,
        );
        let r = run(&f);
        let c = check(&r, "subuid");
        assert_eq!(c.status, Status::Warn);
        assert!(c.summary.contains("2000"), "{}", c.summary);
    }

    #[test]
    fn overlapping_subuid_ranges_warn_and_name_the_other_user() {
        let f = Fake::healthy();
        f.file(
            "/etc/subuid",
            "bob:100000:65536\nalice:165536:65536\ncarol:200000:10\n",
            0o644,
        );
        let c = check(&run(&f), "subuid").clone();
        assert_eq!(c.status, Status::Warn);
        assert!(
            c.summary.contains("overlap those of carol"),
            "{}",
            c.summary
        );
        assert!(
            !c.summary.contains("bob"),
            "adjacent is not overlapping: {}",
            c.summary
        );
    }

    #[test]
    fn newuidmap_without_setuid_or_caps_fails_and_caps_suffice() {
        let mut f = Fake::healthy();
        f.file("/usr/bin/newuidmap", "", 0o755);
        assert_eq!(check(&run(&f), "uidmap").status, Status::Fail);
        f.caps = true;
        assert_eq!(check(&run(&f), "uidmap").status, Status::Ok);
        f.remove("/usr/bin/newgidmap");
        let r = run(&f);
        assert!(check(&r, "uidmap")
            .summary
            .contains("newgidmap is not installed"));
    }

    #[test]
    fn tun_mode_0600_fails_for_users_not_root() {
        let f = Fake::healthy();
        f.file("/dev/net/tun", "", 0o600);
        let r = run(&f);
        assert_eq!(check(&r, "tun").status, Status::Fail);
        assert!(
            fix(check(&r, "tun")).contains("chmod 0666"),
            "{:?}",
            check(&r, "tun").fix
        );
        f.remove("/dev/net/tun");
        assert!(check(&run(&f), "tun").summary.contains("missing"));
    }

    #[test]
    fn podman_version_parsing_and_minimum() {
        assert_eq!(parse_version("4.3.1"), Some((4, 3, 1)));
        assert_eq!(parse_version("5.0.0-rc1"), Some((5, 0, 0)));
        assert_eq!(parse_version("4.9"), Some((4, 9, 0)));
        assert_eq!(parse_version("x"), None);
        let mut f = Fake::healthy();
        f.cmd(
            "podman",
            true,
            &info_json("4.2.0", "netavark", "k8s-file"),
            "",
        );
        assert_eq!(check(&run(&f), "podman").status, Status::Fail);
        f.cmd(
            "podman",
            true,
            &info_json("5.8.2", "netavark", "k8s-file"),
            "",
        );
        assert_eq!(check(&run(&f), "podman").status, Status::Ok);
    }

    #[test]
    fn podman_missing_fails_and_dependent_checks_skip() {
        let mut f = Fake::healthy();
        f.cmds.remove("podman");
        let r = run(&f);
        assert_eq!(check(&r, "podman").status, Status::Fail);
        assert_eq!(check(&r, "network").status, Status::Skip);
        assert_eq!(check(&r, "log-driver").status, Status::Skip);
    }

    #[test]
    fn podman_info_error_is_reported() {
        let mut f = Fake::healthy();
        f.cmd(
            "podman",
            false,
            "",
            "Error: cannot set up namespace using newuidmap\n",
        );
        let c = check(&run(&f), "podman").clone();
        assert_eq!(c.status, Status::Fail);
        assert!(c.summary.contains("newuidmap"), "{}", c.summary);
    }

    #[test]
    fn network_backend_cni_warns_netavark_without_aardvark_fails() {
        let mut f = Fake::healthy();
        f.cmd("podman", true, &info_json("4.3.1", "cni", "k8s-file"), "");
        assert_eq!(check(&run(&f), "network").status, Status::Warn);
        f.cmd(
            "podman",
            true,
            &info_json("4.3.1", "netavark", "k8s-file"),
            "",
        );
        f.remove("/usr/libexec/podman/aardvark-dns");
        assert_eq!(check(&run(&f), "network").status, Status::Fail);
    }

    /// A rootless namespace whose bridges `ip -j addr show type bridge` lists as `ip_json`.
    fn with_bridges(f: &mut Fake, ip_json: &str) {
        f.file(
            &format!("/run/user/{}/netns/rootless-netns-0123", f.user.uid),
            "",
            0o644,
        );
        f.line(
            "podman network ls --format json",
            r#"[{"name":"podman-default-kube-network","driver":"bridge","network_interface":"podman1","subnets":[{"subnet":"10.89.0.0/24","gateway":"10.89.0.1"}]}]"#,
        );
        f.line(
            "podman unshare --rootless-netns ip -j addr show type bridge",
            ip_json,
        );
    }

    fn bridge_json(ifname: &str, addr: &str) -> String {
        format!(
            r#"[{{"ifname":"{ifname}","addr_info":[{{"family":"inet","local":"{addr}","prefixlen":24,"scope":"global"}},{{"family":"inet6","local":"fe80::1","prefixlen":64,"scope":"link"}}]}}]"#
        )
    }

    #[test]
    fn bridges_are_checked_against_their_networks() {
        let mut f = Fake::healthy();
        let c = check(&run(&f), "bridges").clone();
        assert_eq!(c.status, Status::Ok, "{}", c.summary);
        assert!(
            c.summary.contains("no rootless network namespace"),
            "{}",
            c.summary
        );

        with_bridges(&mut f, &bridge_json("podman1", "10.89.0.1"));
        assert_eq!(check(&run(&f), "bridges").status, Status::Ok);

        with_bridges(&mut f, &bridge_json("podman1", "10.89.179.1"));
        let c = check(&run(&f), "bridges").clone();
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.summary
                .contains("podman1 of network podman-default-kube-network carries 10.89.179.1"),
            "{}",
            c.summary
        );

        with_bridges(&mut f, &bridge_json("podman7", "10.89.179.1"));
        let c = check(&run(&f), "bridges").clone();
        assert_eq!(c.status, Status::Warn);
        assert!(c.summary.contains("podman7 (10.89.179.1)"), "{}", c.summary);
    }

    #[test]
    fn aardvark_before_1_11_warns_that_names_pause() {
        let mut f = Fake::healthy();
        f.cmd(
            "aardvark-dns",
            true,
            "aardvark-dns 1.4.0\n",
            "failed to connect to syslog",
        );
        let c = check(&run(&f), "network").clone();
        assert_eq!(c.status, Status::Warn);
        assert!(
            c.summary.contains("1.4.0") && c.summary.contains("#389"),
            "{}",
            c.summary
        );
        f.cmd("aardvark-dns", true, "aardvark-dns 1.11.0\n", "");
        let c = check(&run(&f), "network").clone();
        assert_eq!(c.status, Status::Ok, "{}", c.summary);
        assert!(c.summary.contains("1.11.0"), "{}", c.summary);
    }

    #[test]
    fn journald_log_driver_without_journald_fails() {
        let mut f = Fake::healthy();
        f.cmd(
            "podman",
            true,
            &info_json("4.3.1", "netavark", "journald"),
            "",
        );
        assert_eq!(check(&run(&f), "log-driver").status, Status::Fail);
        f.file("/run/systemd/journal/socket", "", 0o666);
        assert_eq!(check(&run(&f), "log-driver").status, Status::Ok);
    }

    #[test]
    fn cgroup_hybrid_and_v1_warn() {
        let f = Fake::healthy();
        f.remove("/sys/fs/cgroup/cgroup.controllers");
        std::fs::create_dir_all(f.host_path("/sys/fs/cgroup/unified"))
            .unwrap_or_else(|e| panic!("{e}"));
        let r = run(&f);
        assert_eq!(check(&r, "cgroups").status, Status::Warn);
        assert!(check(&r, "cgroups").summary.contains("hybrid"));
        std::fs::remove_dir(f.host_path("/sys/fs/cgroup/unified"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(check(&run(&f), "cgroups").summary.contains("cgroup v1"));
    }

    #[test]
    fn linger_off_warns_with_loginctl_fix() {
        let f = Fake::healthy();
        f.remove("/var/lib/systemd/linger/alice");
        let r = run(&f);
        let c = check(&r, "linger");
        assert_eq!(c.status, Status::Warn);
        assert_eq!(c.fix.as_deref(), Some("loginctl enable-linger alice"));
        assert!(!r.has_failures(), "a warning is not a failure");
    }

    #[test]
    fn low_ports_warn_above_80() {
        let f = Fake::healthy();
        f.file(
            "/proc/sys/net/ipv4/ip_unprivileged_port_start",
            "1024\n",
            0o644,
        );
        let c = check(&run(&f), "low-ports").clone();
        assert_eq!(c.status, Status::Warn);
        assert!(c.summary.contains("below 1024"));
    }

    #[test]
    fn generator_missing_masked_or_dangling_fails() {
        let f = Fake::healthy();
        let g = "/usr/lib/systemd/user-generators/quadplay-user-generator";
        // A higher-precedence mask shadows the installed link.
        f.link(
            "/etc/systemd/user-generators/quadplay-user-generator",
            Path::new("/dev/null"),
        );
        let c = check(&run(&f), "generator").clone();
        assert_eq!(c.status, Status::Fail);
        assert!(c.summary.contains("masks"), "{}", c.summary);
        f.remove("/etc/systemd/user-generators/quadplay-user-generator");
        f.link(g, Path::new("/nonexistent/quadplay-generator"));
        assert!(check(&run(&f), "generator")
            .summary
            .contains("not an executable"));
        f.remove(g);
        assert!(check(&run(&f), "generator")
            .summary
            .contains("not installed"));
    }

    #[test]
    fn a_second_generator_copy_is_reported_as_shadowed() {
        let f = Fake::healthy();
        f.file(
            "/usr/local/lib/systemd/user-generators/quadplay-user-generator",
            "",
            0o755,
        );
        let c = check(&run(&f), "generator").clone();
        assert_eq!(c.status, Status::Warn);
        assert!(c.summary.starts_with("/usr/local/lib/systemd/user-generators/quadplay-user-generator runs; it shadows /usr/lib/systemd/user-generators/"), "{}", c.summary);
    }

    #[test]
    fn podman_quadlet_generator_active_fails_masked_passes() {
        let f = Fake::healthy();
        f.file(
            "/usr/lib/systemd/user-generators/podman-user-generator",
            "",
            0o755,
        );
        let c = check(&run(&f), "podman-quadlet").clone();
        assert_eq!(c.status, Status::Fail);
        assert!(
            fix(&c).contains("ln -s /dev/null /etc/systemd/user-generators/podman-user-generator"),
            "{:?}",
            c.fix
        );
        f.link(
            "/etc/systemd/user-generators/podman-user-generator",
            Path::new("/dev/null"),
        );
        assert_eq!(check(&run(&f), "podman-quadlet").status, Status::Ok);
    }

    #[test]
    fn runtime_dir_of_another_user_fails() {
        let mut f = Fake::healthy();
        std::fs::create_dir_all(f.host_path("/run/user/4242")).unwrap_or_else(|e| panic!("{e}"));
        f.env
            .insert("XDG_RUNTIME_DIR".into(), "/run/user/4242".into());
        let c = check(&run(&f), "manager").clone();
        if f.user.uid != 0 {
            // Owned by the test process, which is not the fake user unless both are the same uid.
            let owner = std::fs::metadata(f.host_path("/run/user/4242"))
                .map(|m| m.uid())
                .unwrap_or(0);
            assert_eq!(c.status == Status::Fail, owner != f.user.uid, "{c:?}");
        }
        f.env
            .insert("XDG_RUNTIME_DIR".into(), "/run/user/missing".into());
        assert_eq!(check(&run(&f), "manager").status, Status::Fail);
    }

    #[test]
    fn unit_files_that_do_not_convert_fail_with_the_first_errors() {
        let mut f = Fake::healthy();
        f.generated = Generated {
            services: 2,
            errors: 1,
            lines: vec!["converting \"web.kube\": /home/alice/.config/containers/systemd/web.kube: Yaml: no Yaml key specified".into()],
        };
        let c = check(&run(&f), "units").clone();
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.summary.contains("web.kube: Yaml: no Yaml key specified"),
            "{}",
            c.summary
        );
        assert!(
            fix(&c).starts_with("quadplay generate --user"),
            "{:?}",
            c.fix
        );
        f.generated = Generated {
            services: 1,
            errors: 0,
            lines: Vec::new(),
        };
        assert_eq!(
            check(&run(&f), "units").summary,
            "the unit files convert: 1 service"
        );
    }

    #[test]
    fn user_manager_unreachable_or_no_runtime_dir_fails() {
        let mut f = Fake::healthy();
        f.cmd(
            "systemctl",
            false,
            "",
            "Failed to connect to bus: No medium found\n",
        );
        let c = check(&run(&f), "manager").clone();
        assert_eq!(c.status, Status::Fail);
        assert!(c.summary.contains("No medium found"));
        f.env.remove("XDG_RUNTIME_DIR");
        assert!(check(&run(&f), "manager")
            .summary
            .contains("XDG_RUNTIME_DIR"));
    }

    #[test]
    fn root_skips_rootless_only_checks_and_looks_for_system_generator() {
        let mut f = Fake::new(0);
        f.cmd(
            "podman",
            true,
            &info_json("4.3.1", "netavark", "k8s-file"),
            "",
        );
        f.cmd("systemctl", true, "running\n", "");
        f.file("/usr/libexec/quadplay/quadplay-generator", "", 0o755);
        f.link(
            "/usr/lib/systemd/system-generators/quadplay-system-generator",
            &f.host_path("/usr/libexec/quadplay/quadplay-generator"),
        );
        let r = run(&f);
        for id in ["subuid", "subgid", "uidmap", "linger", "low-ports"] {
            assert_eq!(check(&r, id).status, Status::Skip, "{id}");
        }
        assert_eq!(check(&r, "generator").status, Status::Ok);
    }

    #[test]
    fn report_renders_table_and_json() {
        let f = Fake::healthy();
        f.remove("/var/lib/systemd/linger/alice");
        let r = run(&f);
        let table = r.to_table();
        assert!(table.contains("WARN  linger"), "{table}");
        assert!(table.contains("fix: loginctl enable-linger alice"));
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap_or_default();
        assert_eq!(v["warnings"], 1);
        assert_eq!(v["checks"][0]["id"], "subuid");
        assert_eq!(v["checks"][9]["status"], "warn");
    }
}
