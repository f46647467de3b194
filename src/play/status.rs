//! `quadplay status` and `quadplay logs`: one view of a running app, through the engine.
//!
//! The app is named by its unit (`web` or `web.service`: the containers labelled
//! `io.quadplay.app=web.service`) or by its YAML (the containers the YAML plans, whatever unit
//! runs them; their readiness probes are run once, as the executor runs them at start). Restarts
//! are Podman's own plus the supervisor's, which the executor records in
//! `$XDG_RUNTIME_DIR/quadplay/<app>/restarts` ([`RESTARTS_FILE`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::engine::{ContainerInfo, Engine};
use crate::plan::{Plan, Probe, LABEL_APP};

use super::probe;
use super::PlayError;

/// The file, in the app's runtime directory, where the supervisor keeps restart counts.
pub const RESTARTS_FILE: &str = "restarts";

/// What `status`/`logs` were asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A unit name, `.service` added when it has no suffix.
    Unit(String),
    /// Kubernetes YAML files.
    Yaml(PathBuf),
}

impl Target {
    /// A path to an existing file, or a name ending in `.yaml`/`.yml`/`.json`, is YAML.
    pub fn parse(arg: &str) -> Target {
        let path = Path::new(arg);
        let yaml_name = [".yaml", ".yml", ".json"].iter().any(|e| arg.ends_with(e));
        if path.is_file() || yaml_name {
            return Target::Yaml(path.to_path_buf());
        }
        if arg.contains('.') {
            Target::Unit(arg.to_string())
        } else {
            Target::Unit(format!("{arg}.service"))
        }
    }
}

/// One container of the app, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// `pod/container`.
    pub label: String,
    pub info: Option<ContainerInfo>,
    pub ready: bool,
    pub restarts: u32,
}

/// The app's containers: those found, plus those its YAML plans that are missing.
pub fn rows(
    engine: &dyn Engine,
    target: &Target,
    plan: Option<&Plan>,
    executor_restarts: &BTreeMap<String, u32>,
) -> Result<Vec<Row>, PlayError> {
    let filter = match target {
        Target::Unit(unit) => format!("{LABEL_APP}={unit}"),
        Target::Yaml(_) => LABEL_APP.to_string(),
    };
    let mut found = engine.describe(&filter)?;
    let Some(plan) = plan else {
        found.sort_by(|a, b| (&a.pod, &a.name).cmp(&(&b.pod, &b.name)));
        return Ok(found
            .into_iter()
            .map(|info| {
                let short = info
                    .name
                    .strip_prefix(&format!("{}-", info.pod))
                    .unwrap_or(&info.name)
                    .to_string();
                let restarts = info.restarts + executor_restarts.get(&info.name).unwrap_or(&0);
                Row {
                    label: format!("{}/{short}", info.pod),
                    ready: info.status == "running",
                    restarts,
                    info: Some(info),
                }
            })
            .collect());
    };
    let mut out = Vec::new();
    for pod in &plan.pods {
        for c in &pod.containers {
            let info = found
                .iter()
                .position(|i| i.name == c.name)
                .map(|i| found.swap_remove(i));
            let ready = ready(engine, info.as_ref(), c.readiness.as_ref());
            let restarts = info.as_ref().map_or(0, |i| i.restarts)
                + executor_restarts.get(&c.name).unwrap_or(&0);
            out.push(Row {
                label: format!("{}/{}", pod.name, c.short_name),
                info,
                ready,
                restarts,
            });
        }
    }
    Ok(out)
}

/// Kubernetes' readiness: running, and its readiness probe (if any) passes now.
fn ready(engine: &dyn Engine, info: Option<&ContainerInfo>, probe: Option<&Probe>) -> bool {
    match info {
        Some(i) if i.status == "running" => {
            probe.map_or(true, |p| probe::check(engine, &i.name, p))
        }
        _ => false,
    }
}

/// The rows as a table with a header.
pub fn table(rows: &[Row]) -> String {
    let mut lines = vec![[
        "POD/CONTAINER".to_string(),
        "STATE".into(),
        "READY".into(),
        "RESTARTS".into(),
        "PORTS".into(),
        "IMAGE".into(),
        "DIGEST".into(),
    ]];
    for r in rows {
        let (state, ports, image, digest) = match &r.info {
            Some(i) => (
                match i.status.as_str() {
                    "exited" | "stopped" => format!("{} ({})", i.status, i.exit_code),
                    s => s.to_string(),
                },
                i.ports.join(","),
                i.image.clone(),
                short_digest(&i.image_digest),
            ),
            None => (
                "missing".into(),
                String::new(),
                String::new(),
                String::new(),
            ),
        };
        let ready = if r.ready { "yes" } else { "no" };
        lines.push([
            r.label.clone(),
            state,
            ready.into(),
            r.restarts.to_string(),
            or_dash(ports),
            or_dash(image),
            or_dash(digest),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for l in &lines {
        let cells: Vec<String> = l
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn or_dash(s: String) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s
    }
}

/// `sha256:` and the first 12 hex digits, as `podman images` shortens IDs.
fn short_digest(d: &str) -> String {
    match d.split_once(':') {
        Some((alg, hex)) => format!("{alg}:{}", &hex[..hex.len().min(12)]),
        None => d.to_string(),
    }
}

/// Reads the supervisor's restart counts (`NAME COUNT` lines); missing file → none.
pub fn read_restarts(path: &Path) -> BTreeMap<String, u32> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let (name, n) = l.split_once(' ')?;
            Some((name.to_string(), n.trim().parse().ok()?))
        })
        .collect()
}

/// Writes the supervisor's restart counts atomically (a reader never sees half a file).
pub fn write_restarts(path: &Path, counts: &BTreeMap<String, u32>) -> std::io::Result<()> {
    let text: String = counts.iter().map(|(n, c)| format!("{n} {c}\n")).collect();
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, path)
}

/// Whether `row` is selected by `workload`: its pod (`web`, `web-pod-1`), its `pod/container`,
/// or a controller's name (`web` selects `web-pod`, `web-pod-0`, ...).
pub fn selects(workload: &str, label: &str) -> bool {
    let pod = label.split('/').next().unwrap_or_default();
    label == workload
        || pod == workload
        || pod
            .strip_prefix(workload)
            .is_some_and(|rest| rest == "-pod" || rest.starts_with("-pod-"))
}

/// A sortable key of Podman's RFC 3339 timestamps: the fraction padded to nanoseconds (Podman
/// trims trailing zeros, which would misorder `…42.89Z` and `…42.8908Z` as text).
fn time_key(ts: &str) -> String {
    // `YYYY-MM-DDTHH:MM:SS`, then an optional fraction, then the zone.
    let Some(end) = ts
        .find('T')
        .map(|t| t + 9)
        .filter(|e| ts.is_char_boundary(*e))
    else {
        return ts.to_string();
    };
    let (head, rest) = ts.split_at(end.min(ts.len()));
    let fraction = rest.strip_prefix('.').unwrap_or("");
    let digits: String = fraction.chars().take_while(char::is_ascii_digit).collect();
    let zone = if rest.starts_with('.') {
        &fraction[digits.len()..]
    } else {
        rest
    };
    format!("{head}.{digits:0<9}{zone}")
}

/// Prints the logs of `rows`, each line prefixed with its `pod/container`: merged in time order,
/// or, with `follow`, as they come until every container's stream ends.
pub fn print_logs(
    engine: &dyn Engine,
    rows: &[Row],
    follow: bool,
    out: &Mutex<Box<dyn Write + Send>>,
) -> Result<(), PlayError> {
    let width = rows.iter().map(|r| r.label.len()).max().unwrap_or(0);
    let named: Vec<(&str, &str)> = rows
        .iter()
        .filter_map(|r| Some((r.label.as_str(), r.info.as_ref()?.name.as_str())))
        .collect();
    if follow {
        return std::thread::scope(|s| {
            let handles: Vec<_> = named
                .iter()
                .map(|(label, name)| {
                    s.spawn(move || {
                        engine.logs(name, true, &mut |line| {
                            let text = line.split_once(' ').map_or(line, |(_, t)| t);
                            let mut o = out.lock().unwrap_or_else(|p| p.into_inner());
                            writeln!(o, "{label:<width$} | {text}").is_ok() && o.flush().is_ok()
                        })
                    })
                })
                .collect();
            for h in handles {
                h.join()
                    .map_err(|_| PlayError::Internal("log reader panicked".into()))??;
            }
            Ok(())
        });
    }
    let mut lines: Vec<(String, usize, &str, String)> = Vec::new();
    for (label, name) in &named {
        engine.logs(name, false, &mut |line| {
            let (ts, text) = line.split_once(' ').unwrap_or((line, ""));
            lines.push((time_key(ts), lines.len(), label, text.to_string()));
            true
        })?;
    }
    lines.sort();
    let mut o = out.lock().unwrap_or_else(|p| p.into_inner());
    for (_, _, label, text) in lines {
        writeln!(o, "{label:<width$} | {text}")
            .map_err(|e| PlayError::Internal(format!("writing the logs: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fake::Fake;
    use crate::plan::{ContainerPlan, PodPlan};

    #[test]
    fn targets_are_units_or_yaml() {
        assert_eq!(Target::parse("web"), Target::Unit("web.service".into()));
        assert_eq!(
            Target::parse("web@1.service"),
            Target::Unit("web@1.service".into())
        );
        assert_eq!(
            Target::parse("x/app.yaml"),
            Target::Yaml("x/app.yaml".into())
        );
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let p = tmp.path().to_str().unwrap();
        assert_eq!(Target::parse(p), Target::Yaml(p.into()));
    }

    #[test]
    fn workloads_select_their_pods_and_containers() {
        assert!(selects("web", "web/app"));
        assert!(selects("web", "web-pod-1/app"));
        assert!(selects("web", "web-pod/app"));
        assert!(selects("web-pod-1/app", "web-pod-1/app"));
        assert!(!selects("web", "webhook/app"));
        assert!(!selects("web", "web-cache/app"));
    }

    #[test]
    fn timestamps_sort_by_time_not_text() {
        let mut v = [
            time_key("2026-12-03T23:38:42.89Z"),
            time_key("2026-12-03T23:38:42.8908Z"),
            time_key("2026-12-03T23:38:42Z"),
        ];
        v.sort();
        assert_eq!(v[0], "2026-12-03T23:38:42.000000000Z");
        assert_eq!(v[1], "2026-12-03T23:38:42.890000000Z");
    }

    fn app(fake: &Fake) -> Plan {
        let c = |pod: &str, short: &str| ContainerPlan {
            name: format!("{pod}-{short}"),
            short_name: short.into(),
            image: "localhost/busybox:latest".into(),
            labels: [(LABEL_APP.to_string(), "app.service".to_string())].into(),
            ..ContainerPlan::default()
        };
        let plan = Plan {
            app: "app.service".into(),
            pods: vec![
                PodPlan {
                    name: "web".into(),
                    containers: vec![c("web", "app"), c("web", "proxy")],
                    ..PodPlan::default()
                },
                PodPlan {
                    name: "db".into(),
                    containers: vec![c("db", "pg")],
                    ..PodPlan::default()
                },
            ],
            ..Plan::default()
        };
        for pod in &plan.pods {
            fake.create_pod(pod).unwrap();
        }
        for (pod, ctr) in [("web", 0), ("db", 0)] {
            let p = plan.pods.iter().find(|p| p.name == pod).unwrap();
            fake.run_container(pod, &p.containers[ctr]).unwrap();
        }
        plan
    }

    #[test]
    fn status_shows_found_and_missing_containers_with_restarts() {
        let fake = Fake::new();
        let plan = app(&fake);
        fake.exit("db-pg", 2);
        let counts = [("web-app".to_string(), 3)].into();
        let target = Target::Yaml("app.yaml".into());
        let rows = rows(&fake, &target, Some(&plan), &counts).unwrap();
        let text = table(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("POD/CONTAINER  STATE"), "{text}");
        assert!(
            lines[1].starts_with("web/app        running     yes    3"),
            "{text}"
        );
        assert!(
            lines[2].starts_with("web/proxy      missing     no     0"),
            "{text}"
        );
        assert!(
            lines[3].starts_with("db/pg          exited (2)  no     0"),
            "{text}"
        );
        // By unit: what runs under its label, sorted by pod.
        let rows = rows_by_unit(&fake);
        let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["db/pg", "web/app"]);
    }

    fn rows_by_unit(fake: &Fake) -> Vec<Row> {
        rows(
            fake,
            &Target::Unit("app.service".into()),
            None,
            &BTreeMap::new(),
        )
        .unwrap()
    }

    #[test]
    fn logs_are_merged_in_time_order_with_prefixes() {
        let fake = Fake::new();
        let _plan = app(&fake);
        fake.lock().log_lines = [
            (
                "web-app".to_string(),
                vec![
                    "2026-12-03T10:00:01.5Z listening".to_string(),
                    "2026-12-03T10:00:03Z GET /".to_string(),
                ],
            ),
            (
                "db-pg".to_string(),
                vec!["2026-12-03T10:00:02.25Z ready to accept connections".to_string()],
            ),
        ]
        .into();
        let rows = rows_by_unit(&fake);
        let buf = std::sync::Arc::new(Mutex::new(Vec::new()));
        let out: Mutex<Box<dyn Write + Send>> = Mutex::new(Box::new(Shared(buf.clone())));
        print_logs(&fake, &rows, false, &out).unwrap();
        let text = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "web/app | listening\ndb/pg   | ready to accept connections\nweb/app | GET /\n"
        );
    }

    struct Shared(std::sync::Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn restart_counts_round_trip_through_their_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(RESTARTS_FILE);
        assert!(read_restarts(&path).is_empty());
        let counts = [("web-app".to_string(), 4), ("db-pg".to_string(), 0)].into();
        write_restarts(&path, &counts).unwrap();
        assert_eq!(read_restarts(&path), counts);
    }
}
