//! doctor's checks against a fake machine below a temporary root, with canned command outputs.

use super::*;
use crate::engine::Version;
use std::collections::HashMap;
use std::os::unix::fs::symlink;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
            std::os::unix::fs::chown(&rt, Some(uid), Some(uid)).unwrap_or_else(|e| panic!("{e}"));
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
        f.file("/usr/bin/slirp4netns", "", 0o755);
        f.file("/usr/sbin/iptables", "", 0o755);
        f.file("/run/user/1000/bus", "", 0o666);
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
        "host": {"networkBackend": backend, "logDriver": log_driver, "cgroupVersion": "v2", "cgroupManager": "systemd"},
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
    assert_eq!(r.checks.len(), 19);
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
    assert_eq!(Version::parse("4.3.1"), Some(Version::new(4, 3, 1)));
    assert_eq!(Version::parse("5.0.0-rc1"), Some(Version::new(5, 0, 0)));
    assert_eq!(Version::parse("4.9"), Some(Version::new(4, 9, 0)));
    assert_eq!(Version::parse("x"), None);
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
    std::fs::remove_dir(f.host_path("/sys/fs/cgroup/unified")).unwrap_or_else(|e| panic!("{e}"));
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
    assert_eq!(v["checks"][12]["status"], "warn");
}

/// `podman info --format json` of Podman 5.4 as Debian 13 prints it (the fields doctor reads).
fn info_json5(net_cmd: &str, cgroup_manager: &str) -> String {
    serde_json::json!({
        "host": {
            "networkBackend": "netavark", "logDriver": "k8s-file", "cgroupVersion": "v2",
            "cgroupManager": cgroup_manager, "rootlessNetworkCmd": net_cmd,
            "pasta": {"executable": "/usr/bin/pasta", "package": "passt_0.0~git20250503.587980c-2", "version": ""},
            "slirp4netns": {"executable": "/usr/bin/slirp4netns", "package": "slirp4netns_1.2.1-1.1", "version": "slirp4netns version 1.2.1"},
            "networkBackendInfo": {"backend": "netavark", "version": "netavark 1.14.0", "path": "/usr/lib/podman/netavark"}
        },
        "version": {"Version": "5.4.2"}
    })
    .to_string()
}

/// A healthy rootless user on Podman 5.4: pasta, nftables, the wait-online unit shipped.
fn podman5() -> Fake {
    let mut f = Fake::healthy();
    f.env.insert("HOME".into(), "/home/alice".into());
    f.cmd("podman", true, &info_json5("pasta", "systemd"), "");
    f.file("/usr/bin/pasta", "", 0o755);
    f.file("/usr/sbin/nft", "", 0o755);
    f.file(
        "/usr/lib/systemd/user/podman-user-wait-network-online.service",
        "[Service]\nType=oneshot\n",
        0o644,
    );
    f.line("systemctl is-active network-online.target", "active\n");
    f
}

#[test]
fn podman5_healthy_machine_passes_every_check() {
    let r = run(&podman5());
    let bad: Vec<_> = r.checks.iter().filter(|c| c.status != Status::Ok).collect();
    assert!(bad.is_empty(), "{bad:#?}");
    assert!(check(&r, "rootless-net")
        .summary
        .contains("pasta (/usr/bin/pasta)"));
    assert!(check(&r, "firewall")
        .summary
        .contains("netavark 1.14.0 with nftables"));
    assert!(check(&r, "wait-online").summary.contains("is active"));
}

#[test]
fn missing_pasta_fails_and_names_its_package() {
    let f = podman5();
    f.remove("/usr/bin/pasta");
    let r = run(&f);
    let c = check(&r, "rootless-net");
    assert_eq!(c.status, Status::Fail);
    assert!(c.summary.contains("through pasta"), "{}", c.summary);
    assert!(fix(c).contains("apt-get install passt"), "{:?}", c.fix);
    // Podman 4 (no rootlessNetworkCmd) needs slirp4netns instead.
    let mut old = Fake::healthy();
    old.remove("/usr/bin/slirp4netns");
    old.cmd(
        "podman",
        true,
        &info_json("4.3.1", "netavark", "k8s-file"),
        "",
    );
    let c = check(&run(&old), "rootless-net").clone();
    assert_eq!(c.status, Status::Fail);
    assert!(fix(&c).contains("install slirp4netns"), "{:?}", c.fix);
}

#[test]
fn firewall_follows_the_configured_driver_and_the_installed_tools() {
    // netavark 1.14 with nft missing and no iptables either: nothing sets up networks.
    let f = podman5();
    f.remove("/usr/sbin/nft");
    f.remove("/usr/sbin/iptables");
    let c = check(&run(&f), "firewall").clone();
    assert_eq!(c.status, Status::Fail);
    assert!(fix(&c).contains("nftables"), "{:?}", c.fix);
    // firewall_driver = "nftables" configured but nft missing, iptables present: still a failure.
    f.file("/usr/sbin/iptables", "", 0o755);
    f.file(
        "/home/alice/.config/containers/containers.conf",
        "[engine]\nruntime = \"runc\"\n\n[network]\nfirewall_driver = \"nftables\"\n",
        0o644,
    );
    let c = check(&run(&f), "firewall").clone();
    assert_eq!(c.status, Status::Fail, "{c:?}");
    assert!(c.summary.contains("nft is not installed"), "{}", c.summary);
    // firewall_driver = "iptables" in the system's file, nft present: iptables is what is used.
    f.remove("/home/alice/.config/containers/containers.conf");
    f.file("/usr/sbin/nft", "", 0o755);
    f.file(
        "/etc/containers/containers.conf",
        "[network]\nfirewall_driver = \"iptables\"\n",
        0o644,
    );
    let c = check(&run(&f), "firewall").clone();
    assert_eq!(c.status, Status::Ok);
    assert!(c.summary.contains("with iptables"), "{}", c.summary);
}

#[test]
fn systemd_cgroup_manager_without_a_session_bus_fails() {
    let f = podman5();
    f.remove("/run/user/1000/bus");
    let c = check(&run(&f), "cgroup-manager").clone();
    assert_eq!(c.status, Status::Fail);
    assert!(
        fix(&c).contains("cgroup_manager = \"cgroupfs\""),
        "{:?}",
        c.fix
    );
    let mut f = f;
    f.env.insert(
        "DBUS_SESSION_BUS_ADDRESS".into(),
        "unix:path=/run/user/1000/bus".into(),
    );
    assert_eq!(check(&run(&f), "cgroup-manager").status, Status::Ok);
    f.cmd("podman", true, &info_json5("pasta", "cgroupfs"), "");
    let c = check(&run(&f), "cgroup-manager").clone();
    assert_eq!(c.status, Status::Ok);
    assert!(
        c.summary.contains("quadplay play moves them"),
        "{}",
        c.summary
    );
}

#[test]
fn wait_online_unit_warns_when_the_network_never_comes_and_not_when_masked() {
    let mut f = podman5();
    f.line("systemctl is-active network-online.target", "inactive\n");
    let c = check(&run(&f), "wait-online").clone();
    assert_eq!(c.status, Status::Warn);
    assert!(c.summary.contains("which is inactive"), "{}", c.summary);
    assert!(fix(&c).contains(
        "ln -s /dev/null ~/.config/systemd/user/podman-user-wait-network-online.service"
    ));
    // No system manager: systemctl prints nothing on stdout and why on stderr.
    f.lines.insert(
        "systemctl is-active network-online.target".into(),
        CmdOutput {
            success: false,
            stdout: String::new(),
            stderr:
                "System has not been booted with systemd as init system (PID 1). Can't operate.\n"
                    .into(),
        },
    );
    let c = check(&run(&f), "wait-online").clone();
    assert_eq!(c.status, Status::Warn);
    assert!(
        c.summary
            .contains("which is unreachable (System has not been booted"),
        "{}",
        c.summary
    );
    f.link(
        "/home/alice/.config/systemd/user/podman-user-wait-network-online.service",
        Path::new("/dev/null"),
    );
    let c = check(&run(&f), "wait-online").clone();
    assert_eq!(c.status, Status::Ok);
    assert!(c.summary.contains("is masked"), "{}", c.summary);
}

#[test]
fn podman5_on_cgroup_v1_says_it_is_deprecated() {
    let f = podman5();
    f.remove("/sys/fs/cgroup/cgroup.controllers");
    std::fs::create_dir_all(f.host_path("/sys/fs/cgroup/unified"))
        .unwrap_or_else(|e| panic!("{e}"));
    let c = check(&run(&f), "cgroups").clone();
    assert_eq!(c.status, Status::Warn);
    assert!(
        c.summary.contains("Podman 5 deprecates cgroup v1"),
        "{}",
        c.summary
    );
    let old = Fake::healthy();
    old.remove("/sys/fs/cgroup/cgroup.controllers");
    std::fs::create_dir_all(old.host_path("/sys/fs/cgroup/unified"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!check(&run(&old), "cgroups").summary.contains("Podman 5"));
}
