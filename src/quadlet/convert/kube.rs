//! `.kube` (§4) — quadplay's deviation: the service's main process is `quadplay play`, which
//! sends READY itself, and `quadplay down` cleans up after it.

use super::common::{
    absolute_path, default_syslog_identifier, dir_of, init_service, invalid, invalid_value,
    is_oneshot, missing, networks, parse_timespan, set_kill_mode, user_mappings, warning, SERVICE,
};
use super::{Converted, Ctx};
use crate::quadlet::{ConvertError, Kind, Source};
use crate::unit::UnitFile;

const GROUP: &str = "Kube";

/// Keys of `[Kube]` (Quadlet v5.8.2, plus quadplay's `MaxRestarts`).
pub const KEYS: &[&str] = &[
    "AutoUpdate",
    "ConfigMap",
    "ContainersConfModule",
    "ExitCodePropagation",
    "GlobalArgs",
    "KubeDownForce",
    "LogDriver",
    "LogOpt",
    // quadplay's own: restarts in one crash loop before the unit fails (`--max-restarts`).
    "MaxRestarts",
    "Network",
    "PodmanArgs",
    "PublishPort",
    "RemapGid",
    "RemapUid",
    "RemapUidSize",
    "RemapUsers",
    "ServiceName",
    "SetWorkingDirectory",
    "UserNS",
    "Yaml",
];

/// Seconds the executor's graceful stop ends before systemd's SIGKILL.
const STOP_MARGIN_SECS: f64 = 5.0;

pub fn convert(src: &Source, ctx: &mut Ctx) -> Result<Converted, ConvertError> {
    let unit = &src.unit;
    let mut service = init_service(src, Kind::Kube, KEYS, ctx)?;
    let mut warnings = Vec::new();

    let yaml: Vec<String> = unit
        .lookup_all_strv(GROUP, "Yaml")
        .iter()
        .map(|p| absolute_path(unit, p))
        .collect();
    if yaml.is_empty() {
        return Err(missing(unit, "Yaml", "no Yaml key specified"));
    }

    set_kill_mode(unit, &mut service)?;
    let unit_env = format!("{}=%n", crate::plan::LABEL_SYSTEMD_UNIT);
    service.add(SERVICE, "Environment", &unit_env);
    if !is_oneshot(unit)? {
        service.set(SERVICE, "Type", "notify");
        // quadplay itself is the main process and sends READY=1 (no child does).
        service.set(SERVICE, "NotifyAccess", "main");
    }
    default_syslog_identifier(&mut service);

    let quadplay = ctx.settings.quadplay.as_str();
    let globals = executor_globals(unit);

    let mut play = vec![quadplay.to_string(), "play".to_string()];
    play.extend(globals.iter().cloned());
    if let Some(v) = unit.lookup_last(GROUP, "ExitCodePropagation") {
        let e = unit
            .lookup(GROUP, "ExitCodePropagation")
            .unwrap_or_default();
        match e.as_str() {
            "" => {}
            "none" | "any" | "all" => play.push(format!("--exit-code-propagation={e}")),
            other => {
                return Err(invalid_value(
                    v,
                    "ExitCodePropagation",
                    format!("invalid value '{other}' (expected none, any or all)"),
                ))
            }
        }
    }
    if let Some(d) = unit.lookup(GROUP, "LogDriver") {
        play.push(format!("--log-driver={d}"));
    }
    for o in unit.lookup_all_strv(GROUP, "LogOpt") {
        play.push(format!("--log-opt={o}"));
    }
    if let Some(u) = kube_userns(unit)? {
        play.push(format!("--userns={u}"));
    }
    for n in networks(unit, GROUP, ctx, &mut service)? {
        play.push(format!("--network={}", n.value()));
    }
    for a in unit.lookup_all_strv(GROUP, "AutoUpdate") {
        play.push(format!("--auto-update={a}"));
    }
    for c in unit.lookup_all_strv(GROUP, "ConfigMap") {
        play.push(format!("--configmap={}", absolute_path(unit, &c)));
    }
    for p in unit.lookup_all(GROUP, "PublishPort") {
        play.push(format!("--publish={p}"));
    }
    for a in unit.lookup_all_args(GROUP, "PodmanArgs") {
        play.push(format!("--podman-arg={a}"));
    }
    if let Some(secs) = stop_timeout(unit, &mut warnings) {
        play.push(format!("--stop-timeout={secs}"));
    }
    // Always written, so that `systemctl cat` shows the limit in force.
    play.push(format!("--max-restarts={}", max_restarts(unit)?));
    play.extend(yaml.iter().cloned());
    service.add_cmdline(SERVICE, "ExecStart", &play);

    if !is_oneshot(unit)? && service.lookup(SERVICE, "ExecReload").is_none() {
        // `systemctl reload`: the running executor applies only what changed in the YAML and
        // waits for the outcome (see play::control); the unit is found by $PODMAN_SYSTEMD_UNIT.
        let mut reload = vec![quadplay.to_string(), "reload".to_string()];
        reload.extend(yaml.iter().cloned());
        service.add_cmdline(SERVICE, "ExecReload", &reload);
    }

    let mut down = vec![quadplay.to_string(), "down".to_string()];
    down.extend(globals);
    match unit.lookup_bool(GROUP, "KubeDownForce") {
        // `--force=true`, not bare `--force`: the option takes an optional value, so a bare
        // flag followed by the YAML path would swallow the path.
        Some(true) => down.push("--force=true".to_string()),
        Some(false) => down.push("--force=false".to_string()),
        None => {}
    }
    down.extend(yaml.iter().cloned());
    service.add_cmdline(SERVICE, "ExecStopPost", &down);

    if let Some(dir) = working_directory(unit, &yaml)? {
        if service
            .lookup(SERVICE, "WorkingDirectory")
            .map_or(true, |w| w.is_empty())
        {
            service.add(SERVICE, "WorkingDirectory", &dir);
        }
    }
    Ok(Converted {
        unit: service,
        warnings,
    })
}

/// `ContainersConfModule` / `GlobalArgs` as executor options (one word each).
/// `[Kube] MaxRestarts=`: a count (the last one wins), else the executor's default.
fn max_restarts(unit: &UnitFile) -> Result<u32, ConvertError> {
    let Some(v) = unit.lookup_last(GROUP, "MaxRestarts") else {
        return Ok(crate::plan::DEFAULT_MAX_RESTARTS);
    };
    let text = unit.lookup(GROUP, "MaxRestarts").unwrap_or_default();
    text.trim().parse().map_err(|_| {
        invalid_value(
            v,
            "MaxRestarts",
            format!("invalid value '{text}' (expected a number of restarts, 0 or more)"),
        )
    })
}

fn executor_globals(unit: &UnitFile) -> Vec<String> {
    let mut out: Vec<String> = unit
        .lookup_all(GROUP, "ContainersConfModule")
        .into_iter()
        .map(|m| format!("--podman-module={m}"))
        .collect();
    out.extend(
        unit.lookup_all_args(GROUP, "GlobalArgs")
            .into_iter()
            .map(|a| format!("--podman-global-arg={a}")),
    );
    out
}

/// The `--userns` value for the executor: `UserNS=` or the `RemapUsers=` translation.
fn kube_userns(unit: &UnitFile) -> Result<Option<String>, ConvertError> {
    let words = user_mappings(unit, GROUP, false)?;
    Ok(match words.as_slice() {
        [flag, value] if flag == "--userns" => Some(value.clone()),
        [one] => one.strip_prefix("--userns=").map(str::to_string),
        _ => None,
    })
}

/// `--stop-timeout` from `[Service] TimeoutStopSec=` (or `TimeoutSec=`, which sets it too):
/// that many seconds minus a margin, at least 1, so our graceful stop finishes before
/// systemd escalates to SIGKILL.
fn stop_timeout(unit: &UnitFile, warnings: &mut Vec<String>) -> Option<u64> {
    let (key, v) = ["TimeoutStopSec", "TimeoutSec"]
        .iter()
        .find_map(|k| unit.lookup_last(SERVICE, k).map(|v| (*k, v)))?;
    let text = v.value.trim();
    if text == "infinity" || text.is_empty() {
        return None;
    }
    match parse_timespan(text) {
        Some(secs) => Some(((secs - STOP_MARGIN_SECS).floor() as i64).max(1) as u64),
        None => {
            warnings.push(warning(
                &v.origin,
                key,
                &format!("cannot parse time span '{text}'; quadplay uses its default stop timeout"),
            ));
            None
        }
    }
}

/// `SetWorkingDirectory=yaml|unit`.
fn working_directory(unit: &UnitFile, yaml: &[String]) -> Result<Option<String>, ConvertError> {
    let Some(mode) = unit.lookup(GROUP, "SetWorkingDirectory") else {
        return Ok(None);
    };
    let key = "SetWorkingDirectory";
    match mode.to_ascii_lowercase().as_str() {
        "yaml" => match yaml {
            [one] => Ok(Some(dir_of(one))),
            _ => Err(invalid(
                unit,
                GROUP,
                key,
                "SetWorkingDirectory=yaml is only supported when a single Yaml key is provided",
            )),
        },
        "unit" => Ok(Some(dir_of(&unit.path().to_string_lossy()))),
        "file" => Err(invalid(
            unit,
            GROUP,
            key,
            "SetWorkingDirectory=file is only supported in .build files",
        )),
        _ => Err(invalid(
            unit,
            GROUP,
            key,
            format!("unsupported value for WorkingDirectory: {mode} "),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_fails_with, convert1, convert_named, line, lines, Base};

    /// `x.kube` playing `a`.
    const K: Base = Base {
        name: "x.kube",
        head: "[Kube]\nYaml=a\n",
    };

    #[test]
    fn basic_kube_matches_quadlet_shape() {
        let out = convert1("basic.kube", "[Kube]\nYaml=deployment.yml\n").unwrap();
        assert_eq!(
            out,
            "[X-Kube]\nYaml=deployment.yml\n\n[Unit]\nWants=network-online.target\nAfter=network-online.target\nSourcePath=/etc/containers/systemd/basic.kube\nRequiresMountsFor=%t/containers\n\n[Service]\nKillMode=mixed\nEnvironment=PODMAN_SYSTEMD_UNIT=%n\nType=notify\nNotifyAccess=main\nSyslogIdentifier=%N\nExecStart=/usr/bin/quadplay play --max-restarts=5 /etc/containers/systemd/deployment.yml\nExecReload=/usr/bin/quadplay reload /etc/containers/systemd/deployment.yml\nExecStopPost=/usr/bin/quadplay down /etc/containers/systemd/deployment.yml\n"
        );
    }

    #[test]
    fn every_option_in_order() {
        let text = "[Kube]\nYaml=a.yml /abs/b.yml\nYaml=%h/c.yml\nContainersConfModule=/m.conf\nGlobalArgs=--log-level=debug\nExitCodePropagation=any\nLogDriver=journald\nLogOpt=tag=x max-size=1m\nUserNS=keep-id\nNetwork=host\nAutoUpdate=registry\nAutoUpdate=web/local\nConfigMap=cm.yml\nPublishPort=8080:80\nPodmanArgs=--annotation \"a=b c\"\nKubeDownForce=yes\n[Service]\nTimeoutStopSec=1min\n";
        let out = convert1("app.kube", text).unwrap();
        assert_eq!(
            line(&out, "ExecStart").unwrap(),
            "/usr/bin/quadplay play --podman-module=/m.conf --podman-global-arg=--log-level=debug --exit-code-propagation=any --log-driver=journald --log-opt=tag=x --log-opt=max-size=1m --userns=keep-id --network=host --auto-update=registry --auto-update=web/local --configmap=/etc/containers/systemd/cm.yml --publish=8080:80 --podman-arg=--annotation \"--podman-arg=a=b\\x20c\" --stop-timeout=55 --max-restarts=5 /etc/containers/systemd/a.yml /abs/b.yml %h/c.yml"
        );
        assert_eq!(
            line(&out, "ExecStopPost").unwrap(),
            "/usr/bin/quadplay down --podman-module=/m.conf --podman-global-arg=--log-level=debug --force=true /etc/containers/systemd/a.yml /abs/b.yml %h/c.yml"
        );
    }

    #[test]
    fn missing_yaml_is_an_error_naming_the_file() {
        let e = convert1("x.kube", "[Kube]\nNetwork=host\n").unwrap_err();
        assert_eq!(
            e,
            "/etc/containers/systemd/x.kube: Yaml: no Yaml key specified"
        );
    }

    #[test]
    fn unknown_key_names_line() {
        let e = K.convert("Bogus=1\n").unwrap_err();
        assert_eq!(
            e,
            "/etc/containers/systemd/x.kube:3: Bogus: unsupported key 'Bogus' in group 'Kube'"
        );
        let e = convert1("x.kube", "[Quadlet]\nFoo=1\n[Kube]\nYaml=a\n").unwrap_err();
        assert!(
            e.contains(":2: Foo: unsupported key 'Foo' in group 'Quadlet'"),
            "{e}"
        );
    }

    #[test]
    fn max_restarts_default_is_written_and_the_key_overrides_it() {
        let out = K.convert("").unwrap();
        let exec = line(&out, "ExecStart").unwrap();
        assert!(exec.contains(" --max-restarts=5 "), "{exec}");
        let out = K.convert("MaxRestarts=2\nMaxRestarts=0\n").unwrap();
        assert!(line(&out, "ExecStart")
            .unwrap()
            .contains(" --max-restarts=0 "));
        let e = K.convert("MaxRestarts=many\n").unwrap_err();
        assert!(
            e.starts_with("/etc/containers/systemd/x.kube:3: MaxRestarts: invalid value 'many'"),
            "{e}"
        );
    }

    #[test]
    fn bad_exit_code_propagation() {
        let e = K.convert("ExitCodePropagation=some\n").unwrap_err();
        assert!(
            e.starts_with(
                "/etc/containers/systemd/x.kube:3: ExitCodePropagation: invalid value 'some'"
            ),
            "{e}"
        );
    }

    #[test]
    fn kill_mode_and_type_rules() {
        let out = K
            .convert("[Service]\nKillMode=control-group\nType=oneshot\n")
            .unwrap();
        assert_eq!(line(&out, "KillMode"), Some("control-group"));
        assert_eq!(line(&out, "Type"), Some("oneshot"));
        assert_eq!(line(&out, "NotifyAccess"), None);
        // A oneshot run has no executor left to reload; a reload of the user's own is kept.
        assert_eq!(line(&out, "ExecReload"), None);
        let out = K.convert("[Service]\nExecReload=/bin/true\n").unwrap();
        assert_eq!(line(&out, "ExecReload"), Some("/bin/true"));
        K.fails_with(
            "[Service]\nKillMode=process\n",
            ":4: KillMode: invalid KillMode 'process'",
        );
        K.fails_with(
            "[Service]\nType=simple\n",
            ":4: Type: invalid service Type 'simple'",
        );
    }

    #[test]
    fn network_reference_adds_dependencies() {
        let out = convert_named(
            &[
                ("app.kube", "[Kube]\nYaml=a.yml\nNetwork=front.network\n"),
                ("front.network", "[Network]\nNetworkName=frontnet\n"),
            ],
            "app.kube",
            false,
        )
        .unwrap();
        assert!(out.contains("--network=frontnet "), "{out}");
        assert_eq!(lines(&out, "Requires"), ["front-network.service"]);
        assert_eq!(
            lines(&out, "After"),
            ["network-online.target", "front-network.service"]
        );
    }

    #[test]
    fn missing_network_reference() {
        assert_fails_with(
            "app.kube",
            "[Kube]\nYaml=a.yml\nNetwork=nope.network\n",
            ":3: Network: requested Quadlet unit nope.network was not found",
        );
    }

    #[test]
    fn user_mode_network_online_unit() {
        let out = convert_named(&[("x.kube", "[Kube]\nYaml=a\n")], "x.kube", true).unwrap();
        assert_eq!(
            line(&out, "Wants"),
            Some("podman-user-wait-network-online.service")
        );
    }

    #[test]
    fn default_dependencies_off() {
        let out = convert1(
            "x.kube",
            "[Quadlet]\nDefaultDependencies=false\n[Kube]\nYaml=a\n",
        )
        .unwrap();
        assert_eq!(line(&out, "Wants"), None);
        assert!(out.contains("[X-Quadlet]"));
    }

    #[test]
    fn working_directory_modes() {
        let out = convert1(
            "x.kube",
            "[Kube]\nYaml=sub/a.yml\nSetWorkingDirectory=YAML\n",
        )
        .unwrap();
        assert_eq!(
            line(&out, "WorkingDirectory"),
            Some("/etc/containers/systemd/sub")
        );
        let out = K.convert("SetWorkingDirectory=unit\n").unwrap();
        assert_eq!(
            line(&out, "WorkingDirectory"),
            Some("/etc/containers/systemd")
        );
        let out = K
            .convert("SetWorkingDirectory=unit\n[Service]\nWorkingDirectory=/w\n")
            .unwrap();
        assert_eq!(lines(&out, "WorkingDirectory"), ["/w"]);
        let e = convert1("x.kube", "[Kube]\nYaml=a b\nSetWorkingDirectory=yaml\n").unwrap_err();
        assert!(e.contains("only supported when a single Yaml"), "{e}");
        let e = K.convert("SetWorkingDirectory=file\n").unwrap_err();
        assert!(e.contains("only supported in .build files"), "{e}");
        K.fails_with(
            "SetWorkingDirectory=x\n",
            "unsupported value for WorkingDirectory: x ",
        );
    }

    #[test]
    fn remap_users() {
        let out = K
            .convert("RemapUsers=auto\nRemapUid=0:1000:10\nRemapUidSize=100\n")
            .unwrap();
        assert!(
            out.contains("--userns=auto:uidmapping=0:1000:10,size=100 "),
            "{out}"
        );
        let out = K
            .convert("RemapUsers=keep-id\nRemapUid=10\nRemapGid=20\n")
            .unwrap();
        assert!(out.contains("--userns=keep-id:uid=10,gid=20 "), "{out}");
        K.fails_with(
            "RemapUsers=manual\n",
            ":3: RemapUsers: RemapUsers=manual is not supported",
        );
        let e = K.convert("UserNS=auto\nRemapUsers=auto\n").unwrap_err();
        assert!(e.contains("deprecated Remap keys"), "{e}");
        let e = K.convert("RemapUid=1\n").unwrap_err();
        assert!(e.contains("UidMap set without RemapUsers"), "{e}");
    }

    #[test]
    fn stop_timeout_variants() {
        let out = K.convert("[Service]\nTimeoutStopSec=3\n").unwrap();
        assert!(out.contains("--stop-timeout=1 "), "{out}");
        let out = K.convert("[Service]\nTimeoutSec=30s\n").unwrap();
        assert!(out.contains("--stop-timeout=25 "), "{out}");
        let out = K.convert("[Service]\nTimeoutStopSec=infinity\n").unwrap();
        assert!(!out.contains("--stop-timeout"), "{out}");
    }

    #[test]
    fn dependency_translation() {
        let out = convert_named(
            &[
                (
                    "app.kube",
                    "[Unit]\nRequires=data.volume db.container other.service\n[Kube]\nYaml=a\n",
                ),
                ("data.volume", ""),
                ("db.container", "[Container]\nImage=x\n"),
            ],
            "app.kube",
            false,
        )
        .unwrap();
        assert_eq!(
            lines(&out, "Requires"),
            ["data-volume.service db.service other.service"]
        );
        assert_fails_with(
            "app.kube",
            "[Unit]\nAfter=ghost.pod\n[Kube]\nYaml=a\n",
            ":2: After: unable to translate dependency for ghost.pod",
        );
    }

    /// The lines we write must parse with the executor's own command line definition.
    #[test]
    fn exec_lines_parse_with_the_cli_contract() {
        use crate::cli::{Cli, Command, ExitCodePropagation};
        use crate::unit::split::split_exec;
        use clap::Parser;
        let text = "[Kube]\nYaml=\"my app.yml\" b.yml\nContainersConfModule=/m.conf\nGlobalArgs=--log-level=debug\nExitCodePropagation=all\nLogDriver=journald\nLogOpt=tag=x\nUserNS=auto\nNetwork=host\nNetwork=other:ip=10.0.0.2\nAutoUpdate=web/local\nConfigMap=cm.yml\nPublishPort=127.0.0.1:8080:80\nPodmanArgs=--annotation=\"a=b c\" -q\nKubeDownForce=true\n[Service]\nTimeoutStopSec=30\n";
        let out = convert1("app.kube", text).unwrap();
        let play = split_exec(line(&out, "ExecStart").unwrap()).unwrap();
        let Command::Play(p) = Cli::try_parse_from(&play).unwrap().command else {
            panic!("not play: {play:?}");
        };
        let dir = "/etc/containers/systemd";
        assert_eq!(
            p.yaml,
            [format!("{dir}/my app.yml"), format!("{dir}/b.yml")].map(std::path::PathBuf::from)
        );
        assert_eq!(p.podman.podman_modules, ["/m.conf"]);
        assert_eq!(p.podman.podman_global_args, ["--log-level=debug"]);
        assert_eq!(p.exit_code_propagation, ExitCodePropagation::All);
        assert_eq!(p.log_driver.as_deref(), Some("journald"));
        assert_eq!(p.log_opt, ["tag=x"]);
        assert_eq!(p.userns.as_deref(), Some("auto"));
        assert_eq!(p.network, ["host", "other:ip=10.0.0.2"]);
        assert_eq!(p.auto_update, ["web/local"]);
        assert_eq!(
            p.configmap,
            [std::path::PathBuf::from(format!("{dir}/cm.yml"))]
        );
        assert_eq!(p.publish, ["127.0.0.1:8080:80"]);
        assert_eq!(p.podman_args, ["--annotation=a=b c", "-q"]);
        assert_eq!(p.stop_timeout, 25);
        let down = split_exec(line(&out, "ExecStopPost").unwrap()).unwrap();
        let Command::Down(d) = Cli::try_parse_from(&down).unwrap().command else {
            panic!("not down: {down:?}");
        };
        assert_eq!(d.force, Some(true));
        assert_eq!(d.yaml.len(), 2);
        assert_eq!(d.podman.podman_global_args, ["--log-level=debug"]);
    }

    #[test]
    fn yaml_with_space_is_quoted() {
        let out = convert1("x.kube", "[Kube]\nYaml=\"my app.yml\"\n").unwrap();
        assert!(
            out.contains("play --max-restarts=5 \"/etc/containers/systemd/my\\x20app.yml\"\n"),
            "{out}"
        );
    }
}
