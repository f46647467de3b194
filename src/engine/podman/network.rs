//! Repair of a bridge that a removed network left in the rootless network namespace under the
//! shared network's interface name (see [`crate::engine::netns`] for the facts and the verdict).

use super::argv::args;
use super::process::Cli;
use super::runtime_dir;
use crate::engine::{netns, EngineError};

/// Deletes a stale bridge named like `name`'s when no container uses it; a note of what was done.
pub fn repair(cli: &Cli, name: &str) -> Result<Option<String>, EngineError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        // Rootful bridges live in the host's namespace, where other software owns bridges too.
        return Ok(None);
    }
    // A remote Podman's bridges are on its machine, not in this one's runtime dir.
    if cli.is_remote() {
        return Ok(None);
    }
    // Entering a namespace that does not exist yet would create it: then nothing is stale.
    if !netns::rootless_netns_exists(&runtime_dir()) {
        return Ok(None);
    }
    // Best effort: when a fact cannot be had (no `ip`, an old Podman), change nothing.
    let Some((iface, gateways)) = bridge_of(cli, name) else {
        return Ok(None);
    };
    let in_netns = |rest: &[&str]| {
        let mut argv = args(&["unshare", "--rootless-netns", "ip"]);
        argv.extend(rest.iter().map(|a| a.to_string()));
        argv
    };
    let addresses = match cli.run(
        "inspect bridge",
        &in_netns(&["-j", "addr", "show", "dev", &iface]),
    ) {
        Ok(json) => netns::bridge_addresses(&json),
        Err(EngineError::Failed { message, .. }) if message.contains("does not exist") => {
            return Ok(None)
        }
        Err(_) => None,
    };
    let Some(addresses) = addresses else {
        return Ok(None);
    };
    let filter = format!("network={name}");
    let running = cli.run(
        "list containers",
        &args(&["ps", "--quiet", "--filter", &filter]),
    );
    let Ok(running) = running else {
        return Ok(None);
    };
    match netns::verdict(&gateways, &addresses, !running.trim().is_empty()) {
        netns::BridgeVerdict::Fine => Ok(None),
        netns::BridgeVerdict::RemoveStale { addresses } => {
            cli.run(
                &format!("remove stale bridge {iface}"),
                &in_netns(&["link", "del", &iface]),
            )?;
            Ok(Some(format!(
                "network {name}: removed bridge {iface} from the rootless network namespace: \
                 a removed network's teardown had left it there with {} instead of {name}'s \
                 gateway, which would leave the pods without gateway, DNS or published ports; \
                 Podman builds it again",
                addresses.join(", ")
            )))
        }
        netns::BridgeVerdict::Conflict { addresses } => Err(EngineError::Failed {
            action: format!("network {name}"),
            message: format!(
                "bridge {iface} in the rootless network namespace carries {} (left by a \
                 removed network) and running containers of {name} are attached to it \
                 without a gateway, DNS or published ports; stop them (podman stop --all) \
                 so that Podman builds the bridge again, then start this again",
                addresses.join(", ")
            ),
            code: None,
        }),
    }
}

/// A bridge network's interface name and gateways; `None` for other drivers or on failure.
fn bridge_of(cli: &Cli, network: &str) -> Option<(String, Vec<std::net::IpAddr>)> {
    let argv = args(&["network", "inspect", "--format", "json", network]);
    let json = cli.run("inspect network", &argv).ok()?;
    let nets: Vec<netns::Network> = serde_json::from_str(&json).ok()?;
    let net = nets.into_iter().next()?;
    if net.driver != "bridge" || net.network_interface.is_empty() {
        return None;
    }
    let gateways = net.gateways();
    Some((net.network_interface, gateways))
}
