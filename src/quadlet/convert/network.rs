//! `.network` (§5): a oneshot service that creates the network unless it exists.

use super::common::{base_podman, init_service, invalid, CreateIfMissing, Flags, SERVICE};
use super::{names, Converted, Ctx};
use crate::quadlet::{ConvertError, Kind, Source};

const GROUP: &str = "Network";

/// Keys of `[Network]` (Quadlet v5.8.2).
pub const KEYS: &[&str] = &[
    "ContainersConfModule",
    "DisableDNS",
    "DNS",
    "Driver",
    "Gateway",
    "GlobalArgs",
    "InterfaceName",
    "Internal",
    "IPAMDriver",
    "IPRange",
    "IPv6",
    "Label",
    "NetworkDeleteOnStop",
    "NetworkName",
    "Options",
    "PodmanArgs",
    "ServiceName",
    "Subnet",
];

pub fn convert(src: &Source, ctx: &mut Ctx) -> Result<Converted, ConvertError> {
    let unit = &src.unit;
    let mut service = init_service(src, Kind::Network, KEYS, ctx)?;
    let name = names::resource_name_in(ctx, Kind::Network, &src.file_name, unit)
        .unwrap_or_else(|| names::default_resource_name(&src.file_name));
    let base = base_podman(unit, GROUP, &ctx.settings.podman);

    if unit.lookup_bool(GROUP, "NetworkDeleteOnStop") == Some(true) {
        let mut rm = base.clone();
        rm.extend(["network".into(), "rm".into(), name.clone()]);
        service.add_cmdline(SERVICE, "ExecStopPost", &rm);
    }

    let (plan, start) = CreateIfMissing::new(base, "network", &name);
    let mut f = Flags::new(unit, GROUP, start);
    f.boolean("DisableDNS", "--disable-dns");
    f.boolean("Internal", "--internal");
    f.boolean("IPv6", "--ipv6");
    f.strings(&[
        ("Driver", "--driver"),
        ("IPAMDriver", "--ipam-driver"),
        ("InterfaceName", "--interface-name"),
    ]);
    f.all_strings("DNS", "--dns");
    subnets(&mut f)?;
    f.key_vals("Options", "--opt");
    f.key_vals("Label", "--label");
    f.podman_args();
    f.push(name);
    Ok(plan.finish(service, ctx, f))
}

/// `Subnet=`/`Gateway=`/`IPRange=` paired by position.
fn subnets(f: &mut Flags) -> Result<(), ConvertError> {
    let unit = f.unit;
    let subnets = unit.lookup_all(GROUP, "Subnet");
    let gateways = unit.lookup_all(GROUP, "Gateway");
    let ranges = unit.lookup_all(GROUP, "IPRange");
    if subnets.is_empty() {
        if !gateways.is_empty() || !ranges.is_empty() {
            let key = if gateways.is_empty() {
                "IPRange"
            } else {
                "Gateway"
            };
            return Err(invalid(
                unit,
                GROUP,
                key,
                "cannot set gateway or range without subnet",
            ));
        }
        return Ok(());
    }
    if gateways.len() > subnets.len() {
        return Err(invalid(
            unit,
            GROUP,
            "Gateway",
            "cannot set more gateways than subnets",
        ));
    }
    if ranges.len() > subnets.len() {
        return Err(invalid(
            unit,
            GROUP,
            "IPRange",
            "cannot set more ranges than subnets",
        ));
    }
    for (i, s) in subnets.iter().enumerate() {
        f.push2("--subnet", s.clone());
        if let Some(g) = gateways.get(i) {
            f.push2("--gateway", g.clone());
        }
        if let Some(r) = ranges.get(i) {
            f.push2("--ip-range", r.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_fails_with, convert1, convert_modern, line, lines};

    #[test]
    fn basic_network_modern_is_quadlets() {
        let out = convert_modern("basic.network", "").unwrap();
        assert_eq!(
            out,
            "[Unit]\nWants=network-online.target\nAfter=network-online.target\nSourcePath=/etc/containers/systemd/basic.network\nRequiresMountsFor=%t/containers\n\n[Service]\nExecStart=/usr/bin/podman network create --ignore systemd-basic\nSyslogIdentifier=%N\nType=oneshot\nRemainAfterExit=yes\n"
        );
    }

    #[test]
    fn basic_network_portable() {
        let out = convert1("basic.network", "[Network]\nGlobalArgs=--log-level=info\n").unwrap();
        assert_eq!(
            [lines(&out, "ExecStartPre"), lines(&out, "ExecStart")].concat(),
            [
                "-/usr/bin/podman --log-level=info network create systemd-basic",
                "/usr/bin/podman --log-level=info network exists systemd-basic"
            ]
        );
    }

    #[test]
    fn every_key() {
        let text = "[Network]\nContainersConfModule=/m.conf\nGlobalArgs=--log-level=debug\nDisableDNS=true\nInternal=no\nIPv6=yes\nDriver=bridge\nIPAMDriver=host-local\nInterfaceName=br9\nDNS=1.1.1.1\nDNS=8.8.8.8\nSubnet=10.9.0.0/24\nGateway=10.9.0.1\nIPRange=10.9.0.128/25\nSubnet=fd00::/64\nOptions=mtu=1400 isolate=true\nLabel=b=2 a=1\nPodmanArgs=--opt x=y\nNetworkName=mynet\nNetworkDeleteOnStop=true\n[Service]\nType=exec\nRemainAfterExit=no\n";
        let out = convert_modern("n.network", text).unwrap();
        assert_eq!(
            line(&out, "ExecStart").unwrap(),
            "/usr/bin/podman --module=/m.conf --log-level=debug network create --ignore --disable-dns --internal=false --ipv6 --driver bridge --ipam-driver host-local --interface-name br9 --dns 1.1.1.1 --dns 8.8.8.8 --subnet 10.9.0.0/24 --gateway 10.9.0.1 --ip-range 10.9.0.128/25 --subnet fd00::/64 --opt isolate=true --opt mtu=1400 --label a=1 --label b=2 --opt x=y mynet"
        );
        assert_eq!(
            line(&out, "ExecStopPost").unwrap(),
            "/usr/bin/podman --module=/m.conf --log-level=debug network rm mynet"
        );
        assert_eq!(line(&out, "Type"), Some("exec"));
        assert_eq!(line(&out, "RemainAfterExit"), Some("no"));
    }

    #[test]
    fn subnet_errors() {
        assert_fails_with(
            "n.network",
            "[Network]\nGateway=10.0.0.1\n",
            ":2: Gateway: cannot set gateway or range without subnet",
        );
        assert_fails_with(
            "n.network",
            "[Network]\nSubnet=a\nGateway=b\nGateway=c\n",
            ":4: Gateway: cannot set more gateways than subnets",
        );
        assert_fails_with(
            "n.network",
            "[Network]\nSubnet=a\nIPRange=b\nIPRange=c\n",
            ":4: IPRange: cannot set more ranges than subnets",
        );
    }

    #[test]
    fn template_name() {
        let out = convert1("foo@.network", "").unwrap();
        assert!(out.contains("network exists systemd-foo-%i\n"), "{out}");
    }
}
