//! `quadplay status` and `quadplay logs` through the `podman` CLI: what runs (one `ps --pod`
//! and one `inspect`, both JSON, parsed here so that real outputs are unit-tested) and a
//! container's output as a stream of lines.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use serde::Deserialize;

use super::process::Cli;
use crate::engine::{ContainerInfo, EngineError, LineSink};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PsEntry {
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    pod_name: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    exit_code: i32,
    #[serde(default)]
    image: String,
    #[serde(default)]
    is_infra: bool,
    #[serde(default)]
    ports: Option<Vec<PsPort>>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct PsPort {
    #[serde(default)]
    host_ip: String,
    container_port: u32,
    host_port: u32,
    #[serde(default)]
    range: u32,
    #[serde(default)]
    protocol: String,
}

fn port_text(p: &PsPort) -> String {
    let host = if p.host_ip.is_empty() {
        "0.0.0.0"
    } else {
        &p.host_ip
    };
    let proto = if p.protocol.is_empty() {
        "tcp"
    } else {
        &p.protocol
    };
    if p.range > 1 {
        let last = p.range - 1;
        format!(
            "{host}:{}-{}->{}-{}/{proto}",
            p.host_port,
            p.host_port + last,
            p.container_port,
            p.container_port + last
        )
    } else {
        format!("{host}:{}->{}/{proto}", p.host_port, p.container_port)
    }
}

/// Parses `podman ps --all --pod --format json`; infra containers are left out.
pub fn parse_ps(json: &str) -> Result<Vec<ContainerInfo>, String> {
    let entries: Vec<PsEntry> = serde_json::from_str(json).map_err(|e| e.to_string())?;
    Ok(entries
        .into_iter()
        .filter(|e| !e.is_infra)
        .filter_map(|e| {
            let name = e.names.first()?.clone();
            Some(ContainerInfo {
                name,
                pod: e.pod_name,
                status: e.state,
                exit_code: e.exit_code,
                image: e.image,
                ports: e.ports.unwrap_or_default().iter().map(port_text).collect(),
                labels: e.labels.unwrap_or_default(),
                ..ContainerInfo::default()
            })
        })
        .collect())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectEntry {
    name: String,
    #[serde(default)]
    restart_count: u32,
    #[serde(default)]
    image_digest: String,
}

/// Adds restart counts and image digests from `podman container inspect --format json`.
pub fn merge_inspect(infos: &mut [ContainerInfo], json: &str) -> Result<(), String> {
    let entries: Vec<InspectEntry> = serde_json::from_str(json).map_err(|e| e.to_string())?;
    for e in entries {
        let name = e.name.trim_start_matches('/');
        if let Some(info) = infos.iter_mut().find(|i| i.name == name) {
            info.restarts = e.restart_count;
            info.image_digest = e.image_digest;
        }
    }
    Ok(())
}

/// Containers carrying the label `filter`, with their state, ports, restarts and digests.
pub fn describe(cli: &Cli, filter: &str) -> Result<Vec<ContainerInfo>, EngineError> {
    let action = "list containers";
    let argv: Vec<String> = ["ps", "--all", "--pod", "--filter"]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("label={filter}"), "--format".into(), "json".into()])
        .collect();
    let out = cli.run(action, &argv)?;
    let output = |detail: String| EngineError::Output {
        action: action.into(),
        detail,
    };
    let mut infos = parse_ps(&out).map_err(output)?;
    if infos.is_empty() {
        return Ok(infos);
    }
    let mut argv: Vec<String> = ["container", "inspect", "--format", "json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    argv.extend(infos.iter().map(|i| i.name.clone()));
    let out = cli.run("inspect containers", &argv)?;
    merge_inspect(&mut infos, &out).map_err(output)?;
    Ok(infos)
}

/// `podman logs --timestamps [--follow] NAME`, both streams, line by line into `sink`.
pub fn logs(cli: &Cli, name: &str, follow: bool, sink: LineSink<'_>) -> Result<(), EngineError> {
    let mut argv = vec!["logs".to_string(), "--timestamps".to_string()];
    if follow {
        argv.push("--follow".into());
    }
    argv.push(name.to_string());
    let mut child = cli
        .command(&argv)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| cli.spawn_error(&argv, e))?;
    // The container's stderr comes on Podman's stderr: read it beside stdout.
    let stderr = child.stderr.take();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = stderr.map(|err| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        })
    });
    if let Some(out) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    } else {
        drop(tx);
    }
    for line in rx {
        if !sink(&line) {
            break;
        }
    }
    let _ = child.kill();
    let status = child.wait().map_err(|e| cli.spawn_error(&argv, e))?;
    if let Some(r) = reader {
        let _ = r.join();
    }
    if !status.success() && !follow {
        return Err(EngineError::Failed {
            action: format!("logs {name}"),
            message: format!("exit status {status}"),
            code: status.code(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Shaped like Podman 4.3.1's `ps --all --pod --format json` for a pod with one container.
    const PS: &str = r#"[
      {"Names": ["ddb30c90e250-infra"], "IsInfra": true, "PodName": "web", "State": "running",
       "Ports": [{"host_ip": "127.0.0.1", "container_port": 80, "host_port": 18999, "range": 1, "protocol": "tcp"}]},
      {"Names": ["web-app"], "IsInfra": false, "PodName": "web", "State": "exited", "ExitCode": 3,
       "Image": "localhost/busybox:latest", "Labels": {"io.quadplay.app": "web.service"},
       "Ports": [{"host_ip": "", "container_port": 53, "host_port": 5353, "range": 2, "protocol": "udp"}]},
      {"Names": ["web-side"], "PodName": "web", "State": "running", "Ports": null, "Labels": null}
    ]"#;

    #[test]
    fn ps_json_gives_containers_without_infra_with_ports() {
        let infos = parse_ps(PS).unwrap();
        assert_eq!(infos.len(), 2);
        let app = &infos[0];
        assert_eq!(
            (
                app.name.as_str(),
                app.pod.as_str(),
                app.status.as_str(),
                app.exit_code
            ),
            ("web-app", "web", "exited", 3)
        );
        assert_eq!(app.ports, ["0.0.0.0:5353-5354->53-54/udp"]);
        assert_eq!(app.labels["io.quadplay.app"], "web.service");
        assert!(infos[1].ports.is_empty() && infos[1].labels.is_empty());
        assert!(parse_ps("{").is_err());
    }

    #[test]
    fn inspect_json_adds_restarts_and_digests() {
        let mut infos = parse_ps(PS).unwrap();
        let json = r#"[{"Name": "web-app", "RestartCount": 2, "ImageDigest": "sha256:9b75"},
                       {"Name": "other", "RestartCount": 9}]"#;
        merge_inspect(&mut infos, json).unwrap();
        assert_eq!(
            (infos[0].restarts, infos[0].image_digest.as_str()),
            (2, "sha256:9b75")
        );
        assert_eq!(infos[1].restarts, 0);
    }
}
