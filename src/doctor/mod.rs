//! `quadplay doctor`: checks of what rootless users trip on, each with the fix to apply.
//!
//! Every check reads the machine through [`Host`] (see [`host`]), whose file-system paths resolve
//! below a root directory and whose commands can be canned, so that each check is unit-tested
//! against a fake machine; [`RealHost`] is the machine itself. A check never fails because it could
//! not look: what it cannot determine is a warning that says so. The checks come in three families
//! ([`checks::user`], [`checks::podman`], [`checks::systemd`]); [`report`] renders the verdicts.

pub mod checks;
pub mod host;
pub mod report;
#[cfg(test)]
mod tests;

pub use self::checks::podman::MIN_PODMAN;
pub use self::host::{run_with_deadline, CmdOutput, Generated, Host, RealHost, User};
pub use self::report::{Check, Report, Status};

use self::checks::podman::{
    check_bridges, check_cgroups, check_log_driver, check_network_backend, check_podman_version,
    podman_info,
};
use self::checks::runtime::{
    check_cgroup_manager, check_firewall, check_rootless_network, check_wait_online,
};
use self::checks::systemd::{check_generator, check_manager, check_podman_generator, check_units};
use self::checks::user::{
    check_idmap_helpers, check_linger, check_subids, check_tun, check_unprivileged_ports,
};
use crate::engine::podman::process::{program_from, PODMAN_ENV};

/// Runs every check against `host`.
pub fn run(host: &dyn Host) -> Report {
    let user = host.user();
    let podman = program_from(host.env(PODMAN_ENV).map(Into::into))
        .display()
        .to_string();
    let info = podman_info(host, &podman);
    let checks = vec![
        check_subids(host, &user, "/etc/subuid", "subuid"),
        check_subids(host, &user, "/etc/subgid", "subgid"),
        check_idmap_helpers(host, &user),
        check_tun(host, &user),
        check_podman_version(&podman, &info),
        check_network_backend(host, &info),
        check_rootless_network(host, &user, &info),
        check_firewall(host, &info),
        check_bridges(host, &user, &podman, &info),
        check_log_driver(host, &info),
        check_cgroups(host, &info),
        check_cgroup_manager(host, &user, &info),
        check_linger(host, &user),
        check_unprivileged_ports(host, &user),
        check_generator(host, &user),
        check_podman_generator(host, &user),
        check_units(host, &user),
        check_manager(host, &user),
        check_wait_online(host, &user, &info),
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
