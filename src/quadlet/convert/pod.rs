//! `.pod` (§8): a forking service whose `ExecStartPre` creates the pod and `ExecStart` starts it;
//! containers with `Pod=` are wired to it (`Wants=`/`Before=` here, `BindsTo=`/`After=` there).

use super::common::{
    base_podman, default_syslog_identifier, init_service, networks, user_mappings, Flags, SERVICE,
    UNIT,
};
use super::container::volumes;
use super::{compat, names, Converted, Ctx};
use crate::quadlet::{ConvertError, Kind, Source};

const GROUP: &str = "Pod";
/// Before Podman 5.6, Quadlet's pod id file: `pod create/start/stop/rm --pod-id-file=`.
const POD_ID_FILE: &str = "--pod-id-file=%t/%N.pod-id";

/// Keys of `[Pod]` (Quadlet v5.8.2).
pub const KEYS: &[&str] = &[
    "AddHost",
    "ContainersConfModule",
    "DNS",
    "DNSOption",
    "DNSSearch",
    "ExitPolicy",
    "GIDMap",
    "GlobalArgs",
    "HostName",
    "IP",
    "IP6",
    "Label",
    "Network",
    "NetworkAlias",
    "PodName",
    "PodmanArgs",
    "PublishPort",
    "RemapGid",
    "RemapUid",
    "RemapUidSize",
    "RemapUsers",
    "ServiceName",
    "ShmSize",
    "StopTimeout",
    "SubGIDMap",
    "SubUIDMap",
    "UIDMap",
    "UserNS",
    "Volume",
];

pub fn convert(src: &Source, ctx: &mut Ctx) -> Result<Converted, ConvertError> {
    let unit = &src.unit;
    let mut service = init_service(src, Kind::Pod, KEYS, ctx)?;
    let name = names::resource_name(Kind::Pod, &src.file_name, unit)
        .unwrap_or_else(|| format!("systemd-{}", names::remove_extension(&src.file_name)));

    let to_start = ctx
        .units
        .get(&src.file_name)
        .map(|i| i.containers_to_start.clone())
        .unwrap_or_default();
    for svc in &to_start {
        service.add(UNIT, "Wants", svc);
        service.add(UNIT, "Before", svc);
    }

    default_syslog_identifier(&mut service);
    let base = base_podman(unit, GROUP, &ctx.settings.podman);
    let stop_timeout = unit
        .lookup(GROUP, "StopTimeout")
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "10".to_string());
    // Before 5.6 Quadlet kept the pod's id in a file and named the pod by it.
    let id_file = ctx.quadlet_before(compat::NAMES_NOT_ID_FILES);
    let pod_words = |words: &[&str], options: &[&str]| -> Vec<String> {
        let mut v = base.clone();
        v.extend(words.iter().map(|w| w.to_string()));
        if id_file {
            v.push(POD_ID_FILE.to_string());
            v.extend(options.iter().map(|w| w.to_string()));
        } else {
            v.extend(options.iter().map(|w| w.to_string()));
            v.push(name.clone());
        }
        v
    };
    service.add_cmdline(SERVICE, "ExecStart", &pod_words(&["pod", "start"], &[]));
    let time = format!("--time={stop_timeout}");
    service.add_cmdline(
        SERVICE,
        "ExecStop",
        &pod_words(&["pod", "stop"], &["--ignore", &time]),
    );
    service.add_cmdline(
        SERVICE,
        "ExecStopPost",
        &pod_words(&["pod", "rm"], &["--ignore", "--force"]),
    );

    let mut create = base.clone();
    create.extend(["pod", "create", "--infra-conmon-pidfile=%t/%N.pid"].map(String::from));
    let exit_policy = unit
        .lookup(GROUP, "ExitPolicy")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "stop".to_string());
    if id_file {
        create.push(POD_ID_FILE.to_string());
        create.push(format!("--exit-policy={exit_policy}"));
        create.push("--replace".to_string());
    } else {
        create.extend(["--replace".to_string(), "--exit-policy".into(), exit_policy]);
    }
    let mut f = Flags::new(unit, GROUP, create);
    let userns = user_mappings(unit, GROUP, true)?;
    f.args.extend(userns);
    f.all_strings("PublishPort", "--publish");
    f.key_vals("Label", "--label");
    for n in networks(unit, GROUP, ctx, &mut service)? {
        f.push2("--network", n.value());
    }
    f.strings(&[("IP", "--ip"), ("IP6", "--ip6"), ("ShmSize", "--shm-size")]);
    for (key, flag) in [
        ("NetworkAlias", "--network-alias"),
        ("DNS", "--dns"),
        ("DNSOption", "--dns-option"),
        ("DNSSearch", "--dns-search"),
        ("AddHost", "--add-host"),
        ("HostName", "--hostname"),
    ] {
        f.all_strings(key, flag);
    }
    volumes(&mut f, ctx, &mut service)?;
    f.push2("--infra-name", format!("{name}-infra"));
    f.push2("--name", name.clone());
    f.podman_args();
    let Flags { args, warnings, .. } = f;
    service.add_cmdline(SERVICE, "ExecStartPre", &args);

    let unit_env = format!("{}=%n", crate::plan::LABEL_SYSTEMD_UNIT);
    service.add(SERVICE, "Environment", &unit_env);
    service.add(SERVICE, "Type", "forking");
    service.set(SERVICE, "Restart", "on-failure");
    service.add(SERVICE, "PIDFile", "%t/%N.pid");
    Ok(Converted {
        unit: service,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{convert1, convert_named, line, lines};

    #[test]
    fn basic_pod() {
        let out = convert1("basic.pod", "[Pod]\n").unwrap();
        assert_eq!(
            out,
            "[X-Pod]\n\n[Unit]\nWants=network-online.target\nAfter=network-online.target\nSourcePath=/etc/containers/systemd/basic.pod\nRequiresMountsFor=%t/containers\n\n[Service]\nSyslogIdentifier=%N\nExecStart=/usr/bin/podman pod start systemd-basic\nExecStop=/usr/bin/podman pod stop --ignore --time=10 systemd-basic\nExecStopPost=/usr/bin/podman pod rm --ignore --force systemd-basic\nExecStartPre=/usr/bin/podman pod create --infra-conmon-pidfile=%t/%N.pid --replace --exit-policy stop --infra-name systemd-basic-infra --name systemd-basic\nEnvironment=PODMAN_SYSTEMD_UNIT=%n\nType=forking\nRestart=on-failure\nPIDFile=%t/%N.pid\n"
        );
    }

    #[test]
    fn containers_are_wired_both_ways() {
        let files = [
            (
                "web.container",
                "[Container]\nImage=docker.io/x\nPod=app.pod\n",
            ),
            (
                "side.container",
                "[Container]\nImage=docker.io/x\nPod=app.pod\nStartWithPod=false\n",
            ),
            ("app.pod", "[Pod]\nPodName=app\n"),
        ];
        let pod = convert_named(&files, "app.pod", false).unwrap();
        assert_eq!(
            lines(&pod, "Wants"),
            ["network-online.target", "web.service"]
        );
        assert_eq!(lines(&pod, "Before"), ["web.service"]);
        let web = convert_named(&files, "web.container", false).unwrap();
        assert!(web.contains(" --pod app "), "{web}");
        assert_eq!(lines(&web, "BindsTo"), ["app-pod.service"]);
        assert_eq!(
            lines(&web, "After"),
            ["network-online.target", "app-pod.service"]
        );
    }

    #[test]
    fn every_key() {
        let files = [
            ("p.pod", "[Pod]\nContainersConfModule=/m\nGlobalArgs=--syslog\nExitPolicy=continue\nUserNS=auto\nPublishPort=8080:80\nLabel=a=1\nNetwork=n.network\nIP=10.0.0.2\nIP6=fd::2\nShmSize=64m\nNetworkAlias=web\nDNS=1.1.1.1\nDNSOption=ndots:1\nDNSSearch=example.com\nAddHost=h:10.0.0.9\nHostName=box\nVolume=d.volume:/d\nPodmanArgs=--cpus=1\nStopTimeout=30\nPodName=pp\n[Service]\nRestart=always\n"),
            ("n.network", ""),
            ("d.volume", ""),
        ];
        let out = convert_named(&files, "p.pod", false).unwrap();
        assert_eq!(
            line(&out, "ExecStartPre").unwrap(),
            "/usr/bin/podman --module=/m --syslog pod create --infra-conmon-pidfile=%t/%N.pid --replace --exit-policy continue --userns auto --publish 8080:80 --label a=1 --network systemd-n --ip 10.0.0.2 --ip6 fd::2 --shm-size 64m --network-alias web --dns 1.1.1.1 --dns-option ndots:1 --dns-search example.com --add-host h:10.0.0.9 --hostname box -v systemd-d:/d --infra-name pp-infra --name pp --cpus=1"
        );
        assert_eq!(
            line(&out, "ExecStop").unwrap(),
            "/usr/bin/podman --module=/m --syslog pod stop --ignore --time=30 pp"
        );
        assert_eq!(lines(&out, "Restart"), ["on-failure"]);
        assert_eq!(
            lines(&out, "Requires"),
            ["n-network.service", "d-volume.service"]
        );
    }
}
