//! The Podman calls auto-update makes, behind a small trait so the decisions are tested with a fake.
//!
//! Only the `podman` CLI is used (path from `$PODMAN`), with commands whose output is the same from
//! Podman 4.3 through 5.x:
//!
//! * `podman ps --pod --filter label=io.containers.autoupdate --format json` — running candidates
//!   with their pod's name;
//! * `podman image inspect --format json ID` — the digests a local image is known by;
//! * `podman image exists NAME` + `podman image inspect --format {{.Id}} NAME` — a tag's image;
//! * the registry's digest: `podman manifest inspect docker://…` cannot do it on 4.3 ("Treating single
//!   images as manifest lists is not implemented"), so a throw-away manifest list is created from the
//!   remote reference (`podman manifest create PROBE docker://NAME`), which fetches only the manifest
//!   (no layers) and records its digest for this platform; the list is read and removed;
//! * `podman pull --quiet NAME` and `podman tag ID NAME`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use serde::Deserialize;

use crate::engine::podman::process::{Call, Cli, Finished};
pub use crate::engine::EngineError as PodmanError;
use crate::plan::{LABEL_AUTOUPDATE, LABEL_SYSTEMD_UNIT};

/// A running container that carries an auto-update policy label.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Container {
    pub id: String,
    pub name: String,
    /// The image name the container was created from, as given (`Image` in `podman ps`).
    pub image: String,
    /// The ID of the image the container runs.
    pub image_id: String,
    pub labels: BTreeMap<String, String>,
    /// The pod it belongs to (`PodName` in `podman ps --pod`), empty outside a pod.
    pub pod: String,
}

/// How a container of a restarted unit is doing, to tell a running unit from a crash loop that
/// Podman's restart policy hides behind an active unit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerHealth {
    pub id: String,
    pub name: String,
    /// Podman's state: "running", "exited", "created", ...
    pub state: String,
    pub exit_code: i64,
    /// Restarts by Podman's restart policy since the container was created.
    pub restarts: u64,
    pub started_at: String,
}

/// What auto-update asks of Podman.
pub trait Podman {
    /// Running containers that carry an `io.containers.autoupdate` label.
    fn auto_update_containers(&self) -> Result<Vec<Container>, PodmanError>;
    /// Every manifest digest (`sha256:…`) the local image `image_id` is known by.
    fn local_digests(&self, image_id: &str) -> Result<Vec<String>, PodmanError>;
    /// The ID of the local image `name` refers to, `None` if there is no such local image.
    fn local_image_id(&self, name: &str) -> Result<Option<String>, PodmanError>;
    /// The digests of the manifests the registry serves for `name` on this platform.
    fn remote_digests(
        &self,
        name: &str,
        authfile: Option<&str>,
    ) -> Result<Vec<String>, PodmanError>;
    /// Pull `name`; the pulled image's ID.
    fn pull(&self, name: &str, authfile: Option<&str>) -> Result<String, PodmanError>;
    /// Point the tag `name` at the image `image_id`.
    fn tag(&self, image_id: &str, name: &str) -> Result<(), PodmanError>;
    /// Every container (running or not, infra containers left out) labelled as run by `unit`.
    fn unit_containers(&self, unit: &str) -> Result<Vec<ContainerHealth>, PodmanError>;
    /// Asks the running `quadplay play` of `app` to recreate `pods` with the images their tags
    /// point at now, readiness-gated; its summary, or why it failed.
    fn replace_pods(&self, app: &str, pods: &[String]) -> Result<String, String>;
}

/// The `podman` command-line client, through the engine's adapter (`$PODMAN` or `podman`).
#[derive(Debug, Clone)]
pub struct PodmanCli {
    cli: Cli,
}

impl Default for PodmanCli {
    fn default() -> Self {
        Self::from_env()
    }
}

/// Distinguishes probe lists made by one process; the PID distinguishes processes.
static PROBE_SEQ: AtomicU32 = AtomicU32::new(0);

impl PodmanCli {
    /// `$PODMAN` if set, else `podman` from `PATH`.
    pub fn from_env() -> Self {
        PodmanCli {
            cli: Cli::from_env(Vec::new()),
        }
    }

    pub fn with_program(program: impl Into<String>) -> Self {
        PodmanCli {
            cli: Cli::new(program.into(), Vec::new()),
        }
    }

    /// Runs podman (with `REGISTRY_AUTH_FILE` when the container names an auth file) whatever its
    /// exit status; an error only when it could not run.
    fn exec(&self, args: &[&str], authfile: Option<&str>) -> Result<Finished, PodmanError> {
        let argv: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let call = Call {
            authfile,
            ..Call::default()
        };
        self.cli.call(&argv.join(" "), &argv, call)
    }

    /// Run podman and require success; its stdout.
    fn run(&self, args: &[&str], authfile: Option<&str>) -> Result<String, PodmanError> {
        let argv: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let call = Call {
            authfile,
            ..Call::default()
        };
        self.cli.run_with(&argv.join(" "), &argv, call)
    }

    /// A parse failure of `args`' output, as an error naming the command.
    fn output_error(&self, args: &[&str], detail: String) -> PodmanError {
        PodmanError::Output {
            action: args.join(" "),
            detail,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PsEntry {
    id: String,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    image: String,
    #[serde(rename = "ImageID", default)]
    image_id: String,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pod_name: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    is_infra: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IdEntry {
    id: String,
    #[serde(default)]
    is_infra: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectEntry {
    id: String,
    #[serde(default)]
    name: String,
    state: InspectState,
    #[serde(default)]
    restart_count: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectState {
    #[serde(default)]
    status: String,
    #[serde(default)]
    exit_code: i64,
    #[serde(default)]
    started_at: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ImageEntry {
    #[serde(default)]
    digest: String,
    #[serde(default)]
    repo_digests: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct ManifestList {
    #[serde(default)]
    manifests: Vec<ManifestEntry>,
}

#[derive(Deserialize)]
struct ManifestEntry {
    digest: String,
}

impl Podman for PodmanCli {
    fn auto_update_containers(&self) -> Result<Vec<Container>, PodmanError> {
        let filter = format!("label={LABEL_AUTOUPDATE}");
        // `--pod` fills in `PodName` (empty without it).
        let args = [
            "ps",
            "--pod",
            "--filter",
            filter.as_str(),
            "--format",
            "json",
        ];
        let out = self.run(&args, None)?;
        parse_ps(&out).map_err(|e| self.output_error(&args, e))
    }

    fn local_digests(&self, image_id: &str) -> Result<Vec<String>, PodmanError> {
        let args = ["image", "inspect", "--format", "json", image_id];
        let out = self.run(&args, None)?;
        parse_image_digests(&out).map_err(|e| self.output_error(&args, e))
    }

    fn local_image_id(&self, name: &str) -> Result<Option<String>, PodmanError> {
        let exists = self.exec(&["image", "exists", name], None)?;
        if !exists.success {
            // `image exists` says "no" with exit 1 and nothing on stderr; anything else is an error.
            if exists.stderr.is_empty() {
                return Ok(None);
            }
            return Err(PodmanError::Failed {
                action: format!("image exists {name}"),
                message: exists.stderr,
                code: exists.code,
            });
        }
        let out = self.run(&["image", "inspect", "--format", "{{.Id}}", name], None)?;
        Ok(out.lines().next().map(|l| l.trim().to_string()))
    }

    fn remote_digests(
        &self,
        name: &str,
        authfile: Option<&str>,
    ) -> Result<Vec<String>, PodmanError> {
        let probe = format!(
            "localhost/quadplay-auto-update-probe-{}-{}",
            std::process::id(),
            PROBE_SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let remote = format!("docker://{name}");
        let created = self.run(&["manifest", "create", &probe, &remote], authfile);
        let result = created.and_then(|_| {
            let args = ["manifest", "inspect", probe.as_str()];
            let out = self.run(&args, None)?;
            let digests = parse_manifest_digests(&out).map_err(|e| self.output_error(&args, e))?;
            if digests.is_empty() {
                let detail = format!("no manifest for this platform in {name}");
                return Err(self.output_error(&args, detail));
            }
            Ok(digests)
        });
        // A failed `manifest create` can still leave the empty list behind (seen on 4.3): always
        // remove it, and never let a cleanup failure hide the answer.
        let _ = self.exec(&["manifest", "rm", &probe], None);
        result
    }

    fn pull(&self, name: &str, authfile: Option<&str>) -> Result<String, PodmanError> {
        let args = ["pull", "--quiet", name];
        let out = self.run(&args, authfile)?;
        match out.lines().rev().map(str::trim).find(|l| !l.is_empty()) {
            Some(id) => Ok(id.to_string()),
            None => self.local_image_id(name)?.ok_or_else(|| {
                let detail = "no image ID printed and no local image after the pull".to_string();
                self.output_error(&args, detail)
            }),
        }
    }

    fn tag(&self, image_id: &str, name: &str) -> Result<(), PodmanError> {
        self.run(&["tag", image_id, name], None).map(|_| ())
    }

    fn replace_pods(&self, app: &str, pods: &[String]) -> Result<String, String> {
        let request = crate::control::Request::Replace(pods.to_vec());
        crate::control::send(app, &request, &mut |_| {}).map_err(|e| e.to_string())
    }

    fn unit_containers(&self, unit: &str) -> Result<Vec<ContainerHealth>, PodmanError> {
        let filter = format!("label={LABEL_SYSTEMD_UNIT}={unit}");
        let args = [
            "ps",
            "--all",
            "--filter",
            filter.as_str(),
            "--format",
            "json",
        ];
        let out = self.run(&args, None)?;
        let ids = parse_non_infra_ids(&out).map_err(|e| self.output_error(&args, e))?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec!["container", "inspect", "--format", "json"];
        args.extend(ids.iter().map(String::as_str));
        // A container removed between the two calls makes inspect fail; the caller looks again.
        let out = self.run(&args, None)?;
        parse_health(&out).map_err(|e| self.output_error(&args, e))
    }
}

// Parsers of Podman's JSON, kept apart from running it so that real outputs are unit-tested.
// Fields are optional where Podman versions differ or print null (e.g. `"Labels": null`).

/// Podman's JSON output as `T`; a parse error as text, for the caller to name the command.
fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// A JSON list where an empty answer counts as `[]` (lenient where a listing may print nothing).
fn list_from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<Vec<T>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    from_json(text)
}

/// `podman ps --format json`: running containers (`ps` also lists paused ones; they are left out,
/// as are pod infra containers, which run no image of the user's).
fn parse_ps(text: &str) -> Result<Vec<Container>, String> {
    let entries: Vec<PsEntry> = list_from_json(text)?;
    Ok(entries
        .into_iter()
        .filter(|e| !e.is_infra && (e.state.is_empty() || e.state == "running"))
        .map(|e| Container {
            name: e.names.into_iter().next().unwrap_or_default(),
            id: e.id,
            image: e.image,
            image_id: e.image_id,
            labels: e.labels.unwrap_or_default(),
            pod: e.pod_name,
        })
        .collect())
}

/// `podman image inspect --format json`: the manifest digest and every repo digest's digest.
fn parse_image_digests(text: &str) -> Result<Vec<String>, String> {
    let images: Vec<ImageEntry> = from_json(text)?;
    let mut digests = Vec::new();
    for image in images {
        digests.push(image.digest);
        for repo_digest in image.repo_digests.unwrap_or_default() {
            if let Some((_, d)) = repo_digest.rsplit_once('@') {
                digests.push(d.to_string());
            }
        }
    }
    digests.retain(|d| !d.is_empty());
    digests.sort();
    digests.dedup();
    Ok(digests)
}

/// `podman manifest inspect LIST`: the digests of the list's entries.
fn parse_manifest_digests(text: &str) -> Result<Vec<String>, String> {
    let list: ManifestList = from_json(text)?;
    Ok(list.manifests.into_iter().map(|m| m.digest).collect())
}

/// `podman ps --all --format json`: IDs of the containers that are not pod infra containers.
fn parse_non_infra_ids(text: &str) -> Result<Vec<String>, String> {
    let listed: Vec<IdEntry> = list_from_json(text)?;
    Ok(listed
        .into_iter()
        .filter(|e| !e.is_infra)
        .map(|e| e.id)
        .collect())
}

/// `podman container inspect --format json`: state, exit code, restarts, start time.
fn parse_health(text: &str) -> Result<Vec<ContainerHealth>, String> {
    let inspected: Vec<InspectEntry> = from_json(text)?;
    Ok(inspected
        .into_iter()
        .map(|e| ContainerHealth {
            id: e.id,
            name: e.name,
            state: e.state.status,
            exit_code: e.state.exit_code,
            restarts: e.restart_count,
            started_at: e.state.started_at,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Abridged from Podman 4.3.1 on Debian 12 (this project's test machine).
    const PS: &str = r#"[
      {"AutoRemove": false, "Command": ["sleep", "100"], "Exited": false, "ExitCode": 0,
       "Id": "2a8720f7f399", "Image": "127.0.0.1:5000/demo/app:stable",
       "ImageID": "8024f79275b1b3fb", "IsInfra": false,
       "Labels": {"PODMAN_SYSTEMD_UNIT": "x.service", "io.containers.autoupdate": "registry"},
       "Names": ["probe-ctr"], "Pod": "", "State": "running", "Status": "Up 1 second"},
      {"Id": "cc33", "Image": "127.0.0.1:5000/demo/web:stable", "ImageID": "77aa", "IsInfra": false,
       "Labels": {"io.quadplay.app": "app.service", "io.containers.autoupdate": "registry"},
       "Names": ["web-pod-web"], "Pod": "5e1f0b2c", "PodName": "web-pod", "State": "running"},
      {"Id": "aa11", "Image": "localhost/busybox:latest", "ImageID": "8024", "IsInfra": false,
       "Labels": null, "Names": ["kp-anno-test2"], "State": "created"},
      {"Id": "bb22", "Image": "localhost/podman-pause:4.3.1-0", "ImageID": "ab53", "IsInfra": true,
       "Labels": {"PODMAN_SYSTEMD_UNIT": "x.service"}, "Names": ["4880257f6f23-infra"],
       "State": "running"}
    ]"#;

    #[test]
    fn ps_keeps_running_non_infra_containers_and_copes_with_null_labels() {
        let cs = parse_ps(PS).unwrap();
        let names: Vec<&str> = cs.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["probe-ctr", "web-pod-web"]);
        assert_eq!((cs[0].pod.as_str(), cs[1].pod.as_str()), ("", "web-pod"));
        assert_eq!(cs[0].image, "127.0.0.1:5000/demo/app:stable");
        assert_eq!(cs[0].image_id, "8024f79275b1b3fb");
        assert_eq!(cs[0].labels["io.containers.autoupdate"], "registry");
        assert!(parse_ps("").unwrap().is_empty());
        assert!(parse_ps("[]").unwrap().is_empty());
        assert!(parse_ps("{not json").is_err());
    }

    #[test]
    fn infra_containers_are_not_watched() {
        assert_eq!(
            parse_non_infra_ids(PS).unwrap(),
            ["2a8720f7f399", "cc33", "aa11"]
        );
        assert!(parse_non_infra_ids(" \n").unwrap().is_empty());
        assert!(parse_non_infra_ids("{not json").is_err());
    }

    #[test]
    fn image_digests_come_from_digest_and_repo_digests() {
        let text = r#"[{"Id": "8024f792", "Digest": "sha256:9285",
          "RepoDigests": ["localhost/busybox@sha256:9285", "127.0.0.1:5000/a/b@sha256:de6c"],
          "RepoTags": ["localhost/busybox:latest"]}]"#;
        assert_eq!(
            parse_image_digests(text).unwrap(),
            ["sha256:9285", "sha256:de6c"]
        );
        let bare = r#"[{"Id": "x", "Digest": "", "RepoDigests": null}]"#;
        assert!(parse_image_digests(bare).unwrap().is_empty());
    }

    #[test]
    fn probe_list_gives_the_platform_manifest_digest() {
        let text = r#"{"schemaVersion": 2,
          "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
          "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 348,
            "digest": "sha256:de6ce6cce980", "platform": {"architecture": "amd64", "os": "linux"}}]}"#;
        assert_eq!(
            parse_manifest_digests(text).unwrap(),
            ["sha256:de6ce6cce980"]
        );
        assert!(parse_manifest_digests(r#"{"schemaVersion": 2}"#)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn health_reads_state_exit_code_restarts() {
        let text = r#"[{"Id": "2abb", "Name": "qpau-web", "RestartCount": 2,
          "State": {"Status": "exited", "Running": false, "ExitCode": 3,
                    "StartedAt": "2026-11-23T04:51:51.540791503Z"}}]"#;
        let h = parse_health(text).unwrap();
        assert_eq!(h[0].name, "qpau-web");
        assert_eq!(
            (h[0].state.as_str(), h[0].exit_code, h[0].restarts),
            ("exited", 3, 2)
        );
    }

    #[test]
    fn failed_command_is_named_in_the_error() {
        let cli = PodmanCli::with_program("/nonexistent/podman");
        let err = cli.auto_update_containers().unwrap_err();
        assert!(
            err.to_string()
                .contains("/nonexistent/podman ps --pod --filter"),
            "{err}"
        );
    }
}
