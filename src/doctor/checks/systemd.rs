//! Checks of systemd: quadplay's generator installed and not shadowed, Podman's Quadlet generator
//! masked, the user's unit files converting, and the user's manager reachable.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use super::{first_line, rootless};
use crate::doctor::host::{Host, User};
use crate::doctor::report::Check;

/// systemd's generator directories, highest precedence first.
pub(crate) fn generator_dirs(user: &User) -> Vec<String> {
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
pub(crate) fn find_generator(
    host: &dyn Host,
    user: &User,
    name: &str,
) -> Option<(String, bool, bool)> {
    find_generators(host, user, name).into_iter().next()
}

/// Every file named `name` in the generator directories, highest precedence first.
pub(crate) fn find_generators(
    host: &dyn Host,
    user: &User,
    name: &str,
) -> Vec<(String, bool, bool)> {
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

pub(crate) fn check_generator(host: &dyn Host, user: &User) -> Check {
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
pub(crate) fn check_podman_generator(host: &dyn Host, user: &User) -> Check {
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
pub(crate) fn check_units(host: &dyn Host, user: &User) -> Check {
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
pub(crate) fn check_manager(host: &dyn Host, user: &User) -> Check {
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
