//! Planner tests: each YAML feature → assertions on the Plan.

use std::path::{Path, PathBuf};

use super::*;
use crate::kube::{self, Documents};
use crate::plan::*;

fn docs(yaml: &str) -> Documents {
    let mut d = Documents::default();
    kube::load_text(&mut d, Path::new("/apps/app.yaml"), yaml, false).expect("load");
    d
}

fn opts() -> PlanOptions {
    PlanOptions {
        unit: Some("app.service".into()),
        runtime_dir: PathBuf::from("/run/user/1001/quadplay/app.service"),
        ..PlanOptions::default()
    }
}

fn plan_of(yaml: &str) -> Plan {
    plan(&docs(yaml), &opts()).expect("plan")
}

fn err_of(yaml: &str) -> String {
    plan(&docs(yaml), &opts())
        .expect_err("should fail")
        .to_string()
}

fn seed_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kube/seed.yaml")
}

fn seed() -> Plan {
    let d = kube::load(&[seed_path()], &[]).expect("load seed");
    plan(&d, &opts()).expect("plan seed")
}

#[test]
fn seed_app_two_pods_on_the_default_network() {
    let p = seed();
    assert_eq!(p.app, "app.service");
    assert_eq!(
        p.networks,
        vec![NetworkPlan {
            name: DEFAULT_NETWORK.into(),
            create_if_missing: true
        }]
    );
    let names: Vec<&str> = p.pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["back-pod", "front"]);
    let back = &p.pods[0];
    assert_eq!(back.workload, "Deployment/back");
    assert_eq!(back.networks, vec![DEFAULT_NETWORK.to_string()]);
    assert_eq!(
        back.ports,
        vec![PortMapping {
            host_ip: None,
            host_port: 8082,
            container_port: 80,
            protocol: "tcp".into(),
            origin: PortOrigin {
                // The value of `hostPort: 8082`.
                location: format!("{}:60:21", seed_path().display()),
                field: "spec.template.spec.containers[0].ports[0].hostPort".into(),
            },
        }]
    );
    assert_eq!(back.aliases, ["back-pod", "back", "backend", "httpd"]);
    let front = &p.pods[1];
    assert_eq!(front.ports[0].host_port, 8081);
    assert_eq!(front.aliases, ["front", "web"]);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn seed_app_containers_env_secrets_and_files() {
    let p = seed();
    let web = &p.pods[1].containers[0];
    assert_eq!(web.name, "front-web");
    assert_eq!(web.short_name, "web");
    assert_eq!(
        web.env,
        vec![
            ("GREETING".to_string(), "hello".to_string()),
            ("UPSTREAM".to_string(), "backend".to_string()),
            (
                "URL".to_string(),
                "http://backend:80/index.html".to_string()
            ),
        ]
    );
    assert_eq!(
        web.secret_env,
        vec![SecretEnv {
            variable: "TOKEN".into(),
            secret: "creds-token".into()
        }]
    );
    assert!(web.args.as_ref().unwrap()[0]
        .contains("wget -q -O /www/index.html http://backend:80/index.html"));
    assert_eq!(
        p.secrets,
        vec![SecretPlan {
            name: "creds-token".into(),
            data: b"s3cr3t".to_vec(),
            source: SecretSource::Yaml,
        }]
    );
    assert_eq!(
        web.labels.get(LABEL_SYSTEMD_UNIT).map(String::as_str),
        Some("app.service")
    );
    assert_eq!(
        web.labels.get(LABEL_UNIT).map(String::as_str),
        Some("app.service")
    );
    assert_eq!(web.labels.get(LABEL_AUTOUPDATE), None);

    let httpd = &p.pods[0].containers[0];
    assert_eq!(
        httpd.labels.get(LABEL_AUTOUPDATE).map(String::as_str),
        Some("registry")
    );
    assert_eq!(httpd.labels.get("app").map(String::as_str), Some("back"));
    let dir = PathBuf::from("/run/user/1001/quadplay/app.service/back-pod/site");
    assert_eq!(
        httpd.mounts,
        vec![Mount::Bind {
            source: dir.clone(),
            target: "/www".into(),
            read_only: true,
            options: vec![]
        }]
    );
    assert_eq!(p.files.len(), 1);
    assert_eq!(p.files[0].dir, dir);
    assert_eq!(
        p.files[0].app_dir,
        PathBuf::from("/run/user/1001/quadplay/app.service")
    );
    assert!(!p.files[0].secret);
    assert_eq!(
        p.files[0].files.get("index.html"),
        Some(&(b"<h1>hello from back</h1>\n".to_vec(), 0o644))
    );
    let probe = httpd.readiness.as_ref().unwrap();
    assert_eq!(
        probe.action,
        ProbeAction::TcpSocket {
            host: None,
            port: 80
        }
    );
    assert_eq!(probe.period_seconds, 2);
    assert_eq!(probe.failure_threshold, 3);
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n";

#[test]
fn env_precedence_envfrom_then_env_and_prefix() {
    let p = plan_of(&format!(
        "kind: ConfigMap\nmetadata: {{name: cm}}\ndata: {{A: from-cm, B: from-cm}}\n---\n{POD}  - name: c\n    image: i\n    envFrom:\n    - configMapRef: {{name: cm}}\n    - configMapRef: {{name: cm}}\n      prefix: X_\n    env:\n    - {{name: B, value: from-env}}\n    - {{name: C, value: '$(B)/$(A)/$(NOPE)'}}\n    - name: D\n      valueFrom:\n        configMapKeyRef: {{name: cm, key: missing, optional: true}}\n"
    ));
    let env = &p.pods[0].containers[0].env;
    let pairs: Vec<(&str, &str)> = env.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("A", "from-cm"),
            ("B", "from-env"),
            ("X_A", "from-cm"),
            ("X_B", "from-cm"),
            ("C", "from-env/from-cm/$(NOPE)"),
        ]
    );
}

#[test]
fn secret_values_never_become_plain_env() {
    let p = plan_of(&format!(
        "kind: Secret\nmetadata: {{name: db}}\ndata: {{password: aHVudGVyMg==}}\nstringData: {{user: admin}}\n---\n{POD}  - name: c\n    image: i\n    envFrom:\n    - secretRef: {{name: db}}\n      prefix: DB_\n    command: [echo, '$(DB_PASSWORD)']\n"
    ));
    let c = &p.pods[0].containers[0];
    assert!(c.env.is_empty());
    let vars: Vec<(&str, &str)> = c
        .secret_env
        .iter()
        .map(|s| (s.variable.as_str(), s.secret.as_str()))
        .collect();
    assert_eq!(
        vars,
        [("DB_password", "db-password"), ("DB_user", "db-user")]
    );
    assert_eq!(c.command.as_ref().unwrap()[1], "$(DB_PASSWORD)");
    let mut secrets: Vec<(String, Vec<u8>)> = p
        .secrets
        .iter()
        .map(|s| (s.name.clone(), s.data.clone()))
        .collect();
    secrets.sort();
    assert_eq!(
        secrets,
        [
            ("db-password".into(), b"hunter2".to_vec()),
            ("db-user".into(), b"admin".to_vec())
        ]
    );
}

#[test]
fn missing_references_are_errors_with_positions() {
    let e = err_of(&format!(
        "{POD}  - name: c\n    image: i\n    env:\n    - name: X\n      valueFrom:\n        secretKeyRef: {{name: nope, key: k}}\n"
    ));
    assert_eq!(
        e,
        "/apps/app.yaml:12:30: Pod/p: spec.containers[0].env[0].valueFrom.secretKeyRef.name: no Secret `nope` in the YAML"
    );
    let e = err_of(&format!("{POD}  - name: c\n"));
    assert!(
        e.starts_with(
            "/apps/app.yaml:7:5: Pod/p: spec.containers[0].image: container `c` has no image"
        ),
        "{e}"
    );
    let e = err_of(&format!(
        "{POD}  - name: c\n    image: i\n    env:\n    - name: IP\n      valueFrom: {{fieldRef: {{fieldPath: status.podIP}}}}\n"
    ));
    assert!(
        e.contains("fieldRef.fieldPath: `status.podIP` is not known"),
        "{e}"
    );
}

#[test]
fn field_refs_known_before_start() {
    let p = plan_of(
        "kind: Deployment\nmetadata: {name: d, namespace: prod}\nspec:\n  template:\n    metadata: {labels: {tier: web}, annotations: {note: hi}}\n    spec:\n      containers:\n      - name: c\n        image: i\n        env:\n        - {name: N, valueFrom: {fieldRef: {fieldPath: metadata.name}}}\n        - {name: NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}\n        - {name: T, valueFrom: {fieldRef: {fieldPath: \"metadata.labels['tier']\"}}}\n        - {name: A, valueFrom: {fieldRef: {fieldPath: \"metadata.annotations['note']\"}}}\n        - {name: M, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}\n        resources: {limits: {memory: 1.5Gi, cpu: 500m}, requests: {memory: 256Mi}}\n",
    );
    let c = &p.pods[0].containers[0];
    let env: Vec<(&str, &str)> = c
        .env
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        env,
        [
            ("N", "d-pod"),
            ("NS", "prod"),
            ("T", "web"),
            ("A", "hi"),
            ("M", "1536")
        ]
    );
    assert_eq!(c.memory_limit, Some(1536 * 1024 * 1024));
    assert_eq!(c.cpu_limit_millis, Some(500));
    assert_eq!(c.memory_reservation, Some(256 * 1024 * 1024));
}

#[test]
fn bad_quantity_is_an_error_at_its_position() {
    let e = err_of(&format!(
        "{POD}  - name: c\n    image: i\n    resources:\n      limits: {{memory: lots}}\n"
    ));
    assert!(e.starts_with("/apps/app.yaml:10:"), "{e}");
    assert!(
        e.contains("resources.limits.memory: `lots` is not a Kubernetes quantity"),
        "{e}"
    );
}

const DEPLOY3: &str = "kind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: app\n        image: i\n        ports:\n        - {containerPort: 80, hostPort: 8080}\n";

#[test]
fn replicas_with_a_host_port_need_one_port_each() {
    let e = err_of(DEPLOY3);
    assert!(e.starts_with("/apps/app.yaml:13:"), "{e}");
    assert!(
        e.contains("3 replicas would each bind host port 8080"),
        "{e}"
    );
    assert!(
        e.contains("io.quadplay.replica-host-ports/80: \"8080,8081,8082\""),
        "{e}"
    );

    let yaml = DEPLOY3.replace(
        "  name: web\n",
        "  name: web\n  annotations:\n    io.quadplay.replica-host-ports/80: \"8081, 8082,8083\"\n",
    );
    let p = plan_of(&yaml);
    let pods: Vec<(&str, &str, u16)> = p
        .pods
        .iter()
        .map(|p| (p.name.as_str(), p.workload.as_str(), p.ports[0].host_port))
        .collect();
    assert_eq!(
        pods,
        [
            ("web-pod-0", "Deployment/web[0]", 8081),
            ("web-pod-1", "Deployment/web[1]", 8082),
            ("web-pod-2", "Deployment/web[2]", 8083)
        ]
    );
    // A taken replica port is reported against the annotation that gave it.
    let origin = &p.pods[1].ports[0].origin;
    assert_eq!(
        origin.field,
        "metadata.annotations.io.quadplay.replica-host-ports/80"
    );
    assert_eq!(origin.location, "/apps/app.yaml:5:5");
    // The workload name resolves to every replica; the shared container name to none.
    assert_eq!(p.pods[1].aliases, ["web-pod-1", "web"]);
    assert_eq!(p.pods[2].containers[0].name, "web-pod-2-app");

    let short = DEPLOY3.replace(
        "  name: web\n",
        "  name: web\n  annotations:\n    io.quadplay.replica-host-ports/80: \"8081\"\n",
    );
    assert!(err_of(&short).contains("lists 1 port(s) for 3 replicas"));
}

#[test]
fn replicas_without_host_ports_just_multiply() {
    let p = plan_of(&DEPLOY3.replace("hostPort: 8080", "name: http"));
    assert_eq!(p.pods.len(), 3);
    assert!(p.pods.iter().all(|p| p.ports.is_empty()));
}

#[test]
fn host_port_conflicts_between_pods_are_refused_early() {
    let e = err_of(&format!(
        "{POD}  - {{name: a, image: i, ports: [{{containerPort: 80, hostPort: 8080}}]}}\n---\nkind: Pod\nmetadata: {{name: q}}\nspec:\n  containers:\n  - {{name: b, image: i, ports: [{{containerPort: 81, hostPort: 8080}}]}}\n"
    ));
    assert!(
        e.contains("pods p and q both publish host port 8080/tcp"),
        "{e}"
    );
}

#[test]
fn publish_overrides_by_container_port_and_protocol() {
    let d = docs(&format!(
        "{POD}  - name: a\n    image: i\n    ports:\n    - {{containerPort: 80, hostPort: 8080}}\n    - {{containerPort: 53, hostPort: 5353, protocol: UDP}}\n"
    ));
    let o = PlanOptions {
        publish: vec![
            "127.0.0.1:9090:80".into(),
            "[::1]:5354:53/udp".into(),
            "7000".into(),
        ],
        ..opts()
    };
    let p = plan(&d, &o).unwrap();
    let ports: Vec<(Option<&str>, u16, u16, &str)> = p.pods[0]
        .ports
        .iter()
        .map(|m| {
            (
                m.host_ip.as_deref(),
                m.host_port,
                m.container_port,
                m.protocol.as_str(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        [
            (Some("127.0.0.1"), 9090, 80, "tcp"),
            (Some("::1"), 5354, 53, "udp"),
            (None, 7000, 7000, "tcp")
        ]
    );
    // A taken port is reported against the option that asked for it.
    assert_eq!(
        p.pods[0].ports[0].origin.location,
        "--publish 127.0.0.1:9090:80"
    );
    assert_eq!(p.pods[0].ports[0].origin.field, "");
    assert_eq!(p.warnings.len(), 1);
    assert_eq!(p.warnings[0].location, "--publish");
    assert!(
        p.warnings[0]
            .message
            .contains("published on host port 7000"),
        "{:?}",
        p.warnings
    );
    let bad = PlanOptions {
        publish: vec!["1:2:3:4".into()],
        ..opts()
    };
    assert!(plan(&d, &bad)
        .unwrap_err()
        .to_string()
        .starts_with("--publish \"1:2:3:4\""));
}

#[test]
fn volumes_of_every_kind() {
    let p = plan_of(
        "kind: PersistentVolumeClaim\nmetadata:\n  name: data\n  labels: {keep: yes}\n  annotations:\n    volume.podman.io/driver: local\n    volume.podman.io/mount-options: noexec\n    volume.podman.io/uid: '1000'\n---\nkind: Secret\nmetadata: {name: tls}\nstringData: {key.pem: KEY, cert.pem: CERT}\n---\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes:\n  - {name: data, persistentVolumeClaim: {claimName: data}}\n  - {name: scratch, emptyDir: {}}\n  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 64Mi}}\n  - {name: html, hostPath: {path: ./html, type: DirectoryOrCreate}}\n  - {name: sock, hostPath: {path: /run/app.sock, type: Socket}}\n  - {name: tty, hostPath: {path: /dev/ttyUSB0, type: CharDevice}}\n  - name: tls\n    secret:\n      secretName: tls\n      defaultMode: 0400\n      items: [{key: key.pem, path: private/key.pem}]\n  - {name: opt, configMap: {name: absent, optional: true}}\n  containers:\n  - name: c\n    image: i\n    volumeMounts:\n    - {name: data, mountPath: /data, subPath: db}\n    - {name: scratch, mountPath: /tmp/s}\n    - {name: mem, mountPath: /cache}\n    - {name: html, mountPath: /www, readOnly: true, mountPropagation: HostToContainer}\n    - {name: sock, mountPath: /run/app.sock}\n    - {name: tty, mountPath: /dev/ttyUSB0}\n    - {name: tls, mountPath: /tls}\n    - {name: opt, mountPath: /opt/x}\n",
    );
    let vols: Vec<(&str, bool)> = p
        .volumes
        .iter()
        .map(|v| (v.name.as_str(), v.keep_on_down))
        .collect();
    assert_eq!(vols, [("data", true), ("p-scratch", false)]);
    assert_eq!(p.volumes[0].driver.as_deref(), Some("local"));
    assert_eq!(p.volumes[0].options, ["o=noexec,uid=1000"]);
    assert_eq!(
        p.volumes[0].labels.get("keep").map(String::as_str),
        Some("yes")
    );
    assert_eq!(
        p.volumes[0].labels.get(LABEL_APP).map(String::as_str),
        Some("app.service")
    );
    let c = &p.pods[0].containers[0];
    assert_eq!(
        c.mounts,
        vec![
            Mount::Volume {
                name: "data".into(),
                target: "/data".into(),
                read_only: false,
                sub_path: Some("db".into())
            },
            Mount::Volume {
                name: "p-scratch".into(),
                target: "/tmp/s".into(),
                read_only: false,
                sub_path: None
            },
            Mount::Tmpfs {
                target: "/cache".into(),
                size: Some("67108864".into())
            },
            Mount::Bind {
                source: "/apps/html".into(),
                target: "/www".into(),
                read_only: true,
                options: vec!["rslave".into()]
            },
            Mount::Bind {
                source: "/run/app.sock".into(),
                target: "/run/app.sock".into(),
                read_only: false,
                options: vec![]
            },
            Mount::Bind {
                source: "/run/user/1001/quadplay/app.service/p/tls".into(),
                target: "/tls".into(),
                read_only: true,
                options: vec![]
            },
        ]
    );
    assert_eq!(c.devices, ["/dev/ttyUSB0:/dev/ttyUSB0"]);
    let hp: Vec<(&str, HostPathType)> = p
        .host_paths
        .iter()
        .map(|h| (h.path.to_str().unwrap(), h.kind))
        .collect();
    assert_eq!(
        hp,
        [
            ("/apps/html", HostPathType::DirectoryOrCreate),
            ("/run/app.sock", HostPathType::Socket),
            ("/dev/ttyUSB0", HostPathType::CharDevice)
        ]
    );
    assert_eq!(p.files.len(), 1);
    assert!(p.files[0].secret);
    assert_eq!(
        p.files[0].files.get("private/key.pem"),
        Some(&(b"KEY".to_vec(), 0o400))
    );
    assert_eq!(p.files[0].files.len(), 1);
}

#[test]
fn volume_errors_name_the_field() {
    let e = err_of(&format!(
        "{POD}  - {{name: c, image: i, volumeMounts: [{{name: nope, mountPath: /x}}]}}\n"
    ));
    assert!(
        e.contains("volumeMounts[0].name: no volume `nope` in this pod"),
        "{e}"
    );
    let e = err_of(
        "kind: ConfigMap\nmetadata: {name: cm}\ndata: {a: b}\n---\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes:\n  - {name: v, configMap: {name: cm, defaultMode: 01000}}\n  containers: [{name: c, image: i}]\n",
    );
    assert!(
        e.contains("configMap.defaultMode: mode 512 (01000) is out of range"),
        "{e}"
    );
    let e = err_of(
        "kind: Pod\nmetadata: {name: p}\nspec:\n  volumes:\n  - {name: v, nfs: {server: x, path: /}}\n  containers: [{name: c, image: i}]\n",
    );
    assert!(e.contains("spec.volumes[0]: no supported source"), "{e}");
    let e = err_of(
        "kind: Pod\nmetadata: {name: p}\nspec:\n  volumes:\n  - {name: v, hostPath: {path: /x, type: Weird}}\n  containers: [{name: c, image: i}]\n",
    );
    assert!(
        e.contains("hostPath.type: `Weird` is not a hostPath type"),
        "{e}"
    );
    let e = err_of(
        "kind: ConfigMap\nmetadata: {name: cm}\ndata: {a: b}\n---\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes:\n  - {name: v, configMap: {name: cm, items: [{key: a, path: ../../etc/passwd}]}}\n  containers: [{name: c, image: i}]\n",
    );
    assert!(e.contains("must be a relative path without `..`"), "{e}");
}

#[test]
fn security_context_pod_defaults_and_container_overrides() {
    let p = plan_of(
        "kind: Pod\nmetadata: {name: p}\nspec:\n  securityContext:\n    runAsUser: 1000\n    runAsGroup: 1000\n    supplementalGroups: [5, 6]\n    sysctls: [{name: net.core.somaxconn, value: '1024'}]\n    seLinuxOptions: {type: spc_t}\n  containers:\n  - name: a\n    image: i\n  - name: b\n    image: i\n    securityContext:\n      runAsUser: 0\n      privileged: true\n      allowPrivilegeEscalation: false\n      readOnlyRootFilesystem: true\n      capabilities: {add: [NET_ADMIN], drop: [ALL]}\n      seLinuxOptions: {level: 's0:c1,c2'}\n      procMount: Unmasked\n",
    );
    let pod = &p.pods[0];
    assert_eq!(pod.sysctls, ["net.core.somaxconn=1024"]);
    let a = &pod.containers[0];
    assert_eq!(a.user.as_deref(), Some("1000:1000"));
    assert_eq!(a.supplemental_groups, [5, 6]);
    assert_eq!(a.selinux_opts, ["type:spc_t"]);
    assert!(!a.privileged && !a.no_new_privileges && !a.read_only_root);
    let b = &pod.containers[1];
    assert_eq!(b.user.as_deref(), Some("0:1000"));
    assert!(b.privileged && b.no_new_privileges && b.read_only_root && b.unmask_all);
    assert_eq!(b.cap_add, ["NET_ADMIN"]);
    assert_eq!(b.cap_drop, ["ALL"]);
    assert_eq!(b.selinux_opts, ["level:s0:c1,c2"]);
}

#[test]
fn job_init_containers_probes_and_stop() {
    let p = plan_of(
        "kind: Job\nmetadata: {name: migrate}\nspec:\n  template:\n    spec:\n      restartPolicy: OnFailure\n      terminationGracePeriodSeconds: 300\n      initContainers:\n      - {name: wait, image: i, command: [sleep, '1']}\n      - {name: prep, image: i}\n      containers:\n      - name: run\n        image: i\n        imagePullPolicy: Always\n        tty: true\n        lifecycle: {stopSignal: SIGINT}\n        ports: [{name: http, containerPort: 8080}]\n        livenessProbe:\n          httpGet: {path: /healthz, port: http}\n          initialDelaySeconds: 5\n        startupProbe:\n          exec: {command: [cat, /ready]}\n",
    );
    let pod = &p.pods[0];
    assert_eq!(pod.name, "migrate-pod");
    assert_eq!(pod.restart_policy, RestartPolicy::OnFailure);
    let init: Vec<(&str, RestartPolicy)> = pod
        .init_containers
        .iter()
        .map(|c| (c.name.as_str(), c.restart_policy))
        .collect();
    assert_eq!(
        init,
        [
            ("migrate-pod-wait", RestartPolicy::Never),
            ("migrate-pod-prep", RestartPolicy::Never)
        ]
    );
    let c = &pod.containers[0];
    assert_eq!(c.restart_policy, RestartPolicy::OnFailure);
    assert_eq!(c.pull_policy, PullPolicy::Always);
    assert_eq!(c.stop_timeout, Some(80), "bounded by --stop-timeout");
    assert_eq!(c.stop_signal.as_deref(), Some("SIGINT"));
    assert!(c.tty);
    let l = c.liveness.as_ref().unwrap();
    assert_eq!(
        l.action,
        ProbeAction::HttpGet {
            host: None,
            port: 8080,
            path: "/healthz".into(),
            scheme: "http".into()
        }
    );
    assert_eq!(
        (l.initial_delay_seconds, l.period_seconds, l.timeout_seconds),
        (5, 10, 1)
    );
    assert_eq!(
        c.startup.as_ref().unwrap().action,
        ProbeAction::Exec(vec!["cat".into(), "/ready".into()])
    );

    let e = err_of("kind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      restartPolicy: Always\n      containers: [{name: c, image: i}]\n");
    assert!(
        e.contains("a Job's restartPolicy must be Never or OnFailure"),
        "{e}"
    );
    let e = err_of(&format!(
        "{POD}  - name: c\n    image: i\n    livenessProbe: {{httpGet: {{port: web}}}}\n"
    ));
    assert!(e.contains("no port named `web`"), "{e}");
}

#[test]
fn auto_update_from_cli_annotations_and_templates() {
    let yaml = "kind: Deployment\nmetadata:\n  name: d\n  annotations:\n    io.containers.autoupdate/b: local\nspec:\n  template:\n    metadata:\n      annotations: {io.containers.autoupdate: registry}\n    spec:\n      containers: [{name: a, image: i}, {name: b, image: i}, {name: c, image: i}]\n";
    let p = plan_of(yaml);
    let policy = |p: &Plan, i: usize| {
        p.pods[0].containers[i]
            .labels
            .get(LABEL_AUTOUPDATE)
            .cloned()
    };
    assert_eq!(policy(&p, 0).as_deref(), Some("registry"));
    assert_eq!(policy(&p, 1).as_deref(), Some("local"));
    let o = PlanOptions {
        auto_update: vec!["c/disabled".into(), "local".into()],
        ..opts()
    };
    let p = plan(&docs(yaml), &o).unwrap();
    assert_eq!(policy(&p, 0).as_deref(), Some("local"));
    assert_eq!(policy(&p, 2), None);
    let bad = PlanOptions {
        auto_update: vec!["sometimes".into()],
        ..opts()
    };
    assert!(plan(&docs(yaml), &bad).is_err());
}

#[test]
fn options_reach_every_container_and_pod() {
    let d = docs(&format!("{POD}  - {{name: a, image: i}}\n"));
    let o = PlanOptions {
        network: vec!["systemd-net:ip=10.0.0.5".into()],
        userns: Some("keep-id".into()),
        log_driver: Some("journald".into()),
        log_opts: vec!["tag=x".into()],
        podman_args: vec!["--pids-limit=100".into()],
        exit_code_propagation: ExitCodePropagation::Any,
        ..opts()
    };
    let p = plan(&d, &o).unwrap();
    assert_eq!(
        p.networks,
        vec![NetworkPlan {
            name: "systemd-net".into(),
            create_if_missing: false
        }]
    );
    assert_eq!(p.pods[0].networks, ["systemd-net:ip=10.0.0.5"]);
    assert_eq!(p.pods[0].userns.as_deref(), Some("keep-id"));
    let c = &p.pods[0].containers[0];
    assert_eq!(c.log_driver.as_deref(), Some("journald"));
    assert_eq!(c.log_opts, ["tag=x"]);
    assert_eq!(c.extra_args, ["--pids-limit=100"]);
    assert_eq!(p.exit_code_propagation, ExitCodePropagation::Any);
}

#[test]
fn host_network_pods_join_no_network() {
    let p = plan_of("kind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n  hostname: ignored\n  containers: [{name: a, image: i}]\n");
    assert!(p.pods[0].host_network);
    assert!(p.pods[0].networks.is_empty());
    assert!(p.networks.is_empty());
    assert_eq!(p.pods[0].hostname, None);
}

#[test]
fn warnings_and_strict() {
    let yaml = "kind: Pod\nmetadata: {name: p}\nspec:\n  nodeSelector: {disk: ssd}\n  containers:\n  - name: a\n    image: i\n    lifecycle:\n      preStop: {exec: {command: [x]}}\n---\nkind: Ingress\nmetadata: {name: ing}\n";
    let p = plan_of(yaml);
    let w: Vec<String> = p.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        [
            "/apps/app.yaml:4:17: Pod/p: spec.nodeSelector: ignored on a single host",
            "/apps/app.yaml:9:16: Pod/p: spec.containers[0].lifecycle.preStop: unknown or unsupported field, ignored",
            "/apps/app.yaml:11:1: Ingress/ing: kind Ingress is not supported; the object is skipped (publish with a hostPort or --publish instead)",
        ]
    );
    let strict = PlanOptions {
        strict: true,
        ..opts()
    };
    let e = plan(&docs(yaml), &strict).unwrap_err().to_string();
    assert!(e.starts_with("--strict: 3 unsupported"), "{e}");
    assert!(
        e.contains("\n  /apps/app.yaml:9:16: Pod/p: spec.containers[0].lifecycle.preStop"),
        "{e}"
    );
}

#[test]
fn services_give_dns_names_and_warn_about_what_they_cannot_do() {
    let p = plan_of(&format!(
        "{POD}  - {{name: a, image: i}}\n---\nkind: Service\nmetadata: {{name: api}}\nspec:\n  type: NodePort\n  selector: {{app: none}}\n  ports: [{{port: 80, targetPort: 8080}}]\n"
    ));
    assert_eq!(p.pods[0].aliases, ["p", "a"]);
    let fields: Vec<&str> = p.warnings.iter().map(|w| w.field.as_str()).collect();
    assert_eq!(fields, ["spec.selector", "spec.type", "spec.ports[0]"]);
}

#[test]
fn app_name_is_a_stable_hash_without_a_unit() {
    let d = docs(&format!("{POD}  - {{name: a, image: i}}\n"));
    let mut d2 = d.clone();
    d2.files = vec![PathBuf::from("/apps/app.yaml")];
    let o = PlanOptions {
        unit: None,
        ..opts()
    };
    let p = plan(&d2, &o).unwrap();
    assert_eq!(
        p.app,
        build::app_name(None, &[PathBuf::from("/apps/app.yaml")])
    );
    assert!(p.app.starts_with("yaml-") && p.app.len() == 17, "{}", p.app);
    assert_ne!(
        p.app,
        build::app_name(None, &[PathBuf::from("/apps/other.yaml")])
    );
    assert!(!p.pods[0].containers[0]
        .labels
        .contains_key(LABEL_SYSTEMD_UNIT));
}

#[test]
fn no_workload_and_duplicate_containers() {
    let e = err_of("kind: ConfigMap\nmetadata: {name: c}\n");
    assert_eq!(e, "the YAML defines no Pod, Deployment, DaemonSet or Job");
    let e = err_of(&format!(
        "{POD}  - {{name: a, image: i}}\n  - {{name: a, image: j}}\n"
    ));
    assert!(
        e.contains("spec.containers[1].name: a second container named `a`"),
        "{e}"
    );
}

#[test]
fn after_completed_annotation_orders_pods_and_refuses_what_never_completes() {
    // A one-shot migration before the app: what compose's service_completed_successfully becomes.
    let yaml = "kind: Pod\nmetadata: {name: db}\nspec: {containers: [{name: pg, image: i}]}\n---\nkind: Pod\nmetadata:\n  name: migrate\n  annotations: {io.quadplay.after: db}\nspec:\n  restartPolicy: OnFailure\n  containers: [{name: m, image: i}]\n---\nkind: Pod\nmetadata:\n  name: app\n  annotations: {io.quadplay.after: db, io.quadplay.after-completed: migrate}\nspec: {containers: [{name: a, image: i}]}\n";
    let p = plan_of(yaml);
    let app = p.pods.iter().find(|p| p.name == "app").expect("app");
    assert_eq!(app.after, ["db", "migrate"]);
    assert_eq!(app.after_completed, ["migrate"]);
    let migrate = p
        .pods
        .iter()
        .find(|p| p.name == "migrate")
        .expect("migrate");
    assert!(migrate.after_completed.is_empty());
    // A pod that restarts always never completes: refused where the annotation is.
    let e = err_of(&yaml.replace("  restartPolicy: OnFailure\n", ""));
    assert!(
        e.contains("Pod/app: metadata.annotations: io.quadplay.after-completed: `migrate` restarts its containers always"),
        "{e}"
    );
    let e = err_of(&yaml.replace("after-completed: migrate", "after-completed: nope"));
    assert!(
        e.contains(
            "io.quadplay.after-completed: no Pod, Deployment, DaemonSet or Job named `nope`"
        ),
        "{e}"
    );
    let cyclic = yaml.replace("io.quadplay.after: db}", "io.quadplay.after: app}");
    assert!(
        err_of(&cyclic).contains("forms a cycle"),
        "{}",
        err_of(&cyclic)
    );
}

#[test]
fn after_annotation_orders_pods_and_refuses_cycles() {
    let yaml = "kind: Pod\nmetadata: {name: db}\nspec: {containers: [{name: pg, image: i}]}\n---\nkind: Deployment\nmetadata:\n  name: api\n  annotations: {io.quadplay.after: db}\nspec:\n  replicas: 2\n  template:\n    spec: {containers: [{name: a, image: i}]}\n---\nkind: Pod\nmetadata:\n  name: web\n  annotations: {io.quadplay.after: 'api, db'}\nspec: {containers: [{name: w, image: i}]}\n";
    let p = plan_of(yaml);
    let after: Vec<(&str, Vec<&str>)> = p
        .pods
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.after.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        after,
        [
            ("db", vec![]),
            ("api-pod-0", vec!["db"]),
            ("api-pod-1", vec!["db"]),
            ("web", vec!["api-pod-0", "api-pod-1", "db"]),
        ]
    );
    let cyclic = yaml.replace(
        "kind: Pod\nmetadata: {name: db}\n",
        "kind: Pod\nmetadata: {name: db, annotations: {io.quadplay.after: web}}\n",
    );
    let e = err_of(&cyclic);
    assert!(e.contains("forms a cycle: api → db → web → api"), "{e}");
    let e = err_of(&yaml.replace("after: db}", "after: nope}"));
    assert!(
        e.contains("no Pod, Deployment, DaemonSet or Job named `nope`"),
        "{e}"
    );
}

#[test]
fn podman_annotations_map_to_flags_or_warnings() {
    let p = plan_of(
        "kind: Pod\nmetadata:\n  name: p\n  annotations:\n    io.podman.annotations.ulimit: nofile=1024:2048,nproc=64\n    io.podman.annotations.pids-limit/a: '100'\n    io.podman.annotations.init/a: 'true'\n    io.containers.autoupdate.authfile: /etc/auth.json\n    io.containers.sdnotify: healthy\nspec:\n  containers: [{name: a, image: i}, {name: b, image: i}]\n",
    );
    let a = &p.pods[0].containers[0];
    assert_eq!(
        a.extra_args,
        [
            "--ulimit=nofile=1024:2048",
            "--ulimit=nproc=64",
            "--pids-limit=100",
            "--init"
        ]
    );
    assert_eq!(
        a.labels
            .get("io.containers.autoupdate.authfile")
            .map(String::as_str),
        Some("/etc/auth.json")
    );
    assert_eq!(
        p.pods[0].containers[1].extra_args,
        ["--ulimit=nofile=1024:2048", "--ulimit=nproc=64"]
    );
    let w: Vec<&str> = p.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(
        w,
        ["annotation `io.containers.sdnotify` is not supported by quadplay, ignored"]
    );
}

#[test]
fn pod_and_volume_name_collisions_are_refused() {
    let e = err_of("kind: Pod\nmetadata: {name: web-pod}\nspec: {containers: [{name: a, image: i}]}\n---\nkind: Deployment\nmetadata: {name: web}\nspec: {template: {spec: {containers: [{name: a, image: i}]}}}\n");
    assert!(e.contains("Deployment/web: metadata.name: its pod would be named web-pod, as the pod of Pod/web-pod is"), "{e}");
    let e = err_of("kind: PersistentVolumeClaim\nmetadata: {name: p-data}\n---\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes: [{name: data, emptyDir: {}}]\n  containers: [{name: a, image: i}]\n");
    assert!(
        e.contains("would be named p-data, like another volume"),
        "{e}"
    );
}

#[test]
fn down_plans_survive_missing_configmap_files_and_port_conflicts() {
    // `--configmap` files are not given to `down`; replicas' ports do not matter to it.
    let yaml = format!(
        "{POD}  - name: c\n    image: i\n    envFrom: [{{configMapRef: {{name: from-file}}}}]\n    env:\n    - {{name: K, valueFrom: {{configMapKeyRef: {{name: from-file, key: k}}}}}}\n  volumes:\n  - {{name: v, configMap: {{name: from-file}}}}\n---\n{}",
        DEPLOY3
    );
    assert!(err_of(&yaml).contains("no ConfigMap `from-file`"));
    let down = PlanOptions {
        down: true,
        ..opts()
    };
    let p = plan(&docs(&yaml), &down).unwrap();
    let names: Vec<&str> = p.pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["p", "web-pod-0", "web-pod-1", "web-pod-2"]);
    assert!(p.pods[0].containers[0].env.is_empty());
}

/// Bad input must give errors, never panics: mutate the seed YAML thousands of ways
/// (deterministically) and run load + plan on each.
#[test]
fn mutated_yaml_never_panics() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kube/seed.yaml");
    let seed = std::fs::read_to_string(path).unwrap();
    let bytes: Vec<char> = seed.chars().collect();
    let alphabet: Vec<char> = " :-\n[]{}'\"&*!|>#0123456789abcxyz~.,/$()%@`\t"
        .chars()
        .collect();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let (mut ok, mut errors) = (0, 0);
    for _ in 0..1500 {
        let mut text = bytes.clone();
        for _ in 0..1 + next(4) {
            let at = next(text.len());
            match next(4) {
                0 => {
                    text.remove(at);
                }
                1 => text.insert(at, alphabet[next(alphabet.len())]),
                2 => text[at] = alphabet[next(alphabet.len())],
                _ => {
                    let end = (at + next(40)).min(text.len());
                    let chunk: Vec<char> = text[at..end].to_vec();
                    let to = next(text.len());
                    text.splice(to..to, chunk);
                }
            }
        }
        let text: String = text.into_iter().collect();
        let mut d = Documents::default();
        match kube::load_text(&mut d, Path::new("/apps/app.yaml"), &text, false)
            .map_err(|e| e.to_string())
            .and_then(|()| plan(&d, &opts()).map_err(|e| e.to_string()))
        {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(!e.is_empty());
                errors += 1;
            }
        }
    }
    // Both outcomes must occur, or the mutations test nothing.
    assert!(ok > 100 && errors > 100, "ok {ok}, errors {errors}");
}

#[test]
fn host_network_drops_published_ports_and_duplicates_in_a_pod_fail() {
    let p = plan_of("kind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n  containers: [{name: a, image: i, ports: [{containerPort: 80, hostPort: 8080}]}]\n");
    assert!(p.pods[0].ports.is_empty());
    assert_eq!(p.warnings.len(), 1);
    assert_eq!(p.warnings[0].field, "spec.hostNetwork");
    let e = err_of(&format!("{POD}  - {{name: a, image: i, ports: [{{containerPort: 80, hostPort: 8080}}]}}\n  - {{name: b, image: i, ports: [{{containerPort: 81, hostPort: 8080}}]}}\n"));
    assert!(
        e.contains("pod p publishes host port 8080/tcp twice"),
        "{e}"
    );
}

#[test]
fn replicas_report_each_warning_once() {
    let p = plan_of("kind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - {name: c, image: i, resources: {requests: {cpu: 100m}}}\n");
    assert_eq!(p.pods.len(), 3);
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert!(p.warnings[0]
        .message
        .contains("only limits.cpu is enforced"));
}

/// A real-world manifest runs unchanged, and every Kubernetes-only field is named once.
#[test]
fn wordpress_manifest_plans_with_honest_warnings() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kube/wordpress.yaml");
    let d = kube::load(&[path], &[]).unwrap();
    let p = plan(&d, &opts()).unwrap();
    let pods: Vec<(&str, Vec<&str>)> = p
        .pods
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.aliases.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        pods,
        [
            (
                "wordpress-mysql-pod",
                vec!["wordpress-mysql-pod", "wordpress-mysql", "mysql"]
            ),
            ("wordpress-pod", vec!["wordpress-pod", "wordpress"]),
        ]
    );
    let db = &p.pods[0].containers[0];
    assert_eq!(
        db.secret_env,
        vec![SecretEnv {
            variable: "MYSQL_ROOT_PASSWORD".into(),
            secret: "mysql-pass-password".into()
        }]
    );
    assert_eq!(
        db.liveness.as_ref().unwrap().action,
        ProbeAction::TcpSocket {
            host: None,
            port: 3306
        }
    );
    assert_eq!(
        db.mounts,
        vec![Mount::Volume {
            name: "mysql-pv-claim".into(),
            target: "/var/lib/mysql".into(),
            read_only: false,
            sub_path: None
        }]
    );
    let wp = &p.pods[1].containers[0];
    assert_eq!(
        wp.env[0],
        (
            "WORDPRESS_DB_HOST".to_string(),
            "wordpress-mysql".to_string()
        )
    );
    assert_eq!(wp.memory_limit, Some(512 * 1024 * 1024));
    assert_eq!(p.pods[1].ports[0].host_port, 8080);
    let vols: Vec<&str> = p.volumes.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(vols, ["mysql-pv-claim", "wp-pv-claim"]);
    let w: Vec<String> = p
        .warnings
        .iter()
        .map(|w| format!("{} {} {}", w.object, w.field, w.message))
        .collect();
    assert_eq!(
        w,
        [
            "Service/wordpress-mysql spec.clusterIP ignored on a single host",
            "PersistentVolumeClaim/mysql-pv-claim spec.accessModes ignored on a single host",
            "PersistentVolumeClaim/mysql-pv-claim spec.resources ignored on a single host (a claim is a Podman named volume)",
            "Deployment/wordpress-mysql spec.strategy ignored on a single host",
            "PersistentVolumeClaim/wp-pv-claim spec.accessModes ignored on a single host",
            "PersistentVolumeClaim/wp-pv-claim spec.resources ignored on a single host (a claim is a Podman named volume)",
            "Deployment/wordpress spec.strategy ignored on a single host",
            "Deployment/wordpress spec.template.spec.nodeSelector ignored on a single host",
            "Ingress/wordpress  kind Ingress is not supported; the object is skipped (publish with a hostPort or --publish instead)",
            "Deployment/wordpress spec.template.spec.containers[0].resources.requests.cpu ignored on a single host (only limits.cpu is enforced)",
            "Service/wordpress spec.type type LoadBalancer publishes nothing on a single host; use a hostPort or --publish",
        ]
    );
}

#[test]
fn podman_mount_path_options_apply_to_binds_and_are_reported_elsewhere() {
    let p = plan_of("kind: Pod\nmetadata: {name: p}\nspec:\n  volumes:\n  - {name: h, hostPath: {path: /srv}}\n  - {name: n, emptyDir: {}}\n  containers:\n  - name: c\n    image: i\n    volumeMounts:\n    - {name: h, mountPath: '/srv:z,ro'}\n    - {name: n, mountPath: '/n:Z'}\n");
    let c = &p.pods[0].containers[0];
    assert_eq!(
        c.mounts[0],
        Mount::Bind {
            source: "/srv".into(),
            target: "/srv".into(),
            read_only: true,
            options: vec!["z".into()]
        }
    );
    assert_eq!(
        c.mounts[1],
        Mount::Volume {
            name: "p-n".into(),
            target: "/n".into(),
            read_only: false,
            sub_path: None
        }
    );
    assert_eq!(p.warnings.len(), 1);
    assert_eq!(
        p.warnings[0].message,
        "mount options `Z` ignored for a named volume"
    );
}

#[test]
fn colons_that_would_break_the_volume_syntax_are_located_errors() {
    let pod = |mount: &str, host: &str| {
        format!(
            "kind: Pod\nmetadata: {{name: p}}\nspec:\n  volumes:\n  - {{name: h, hostPath: {{path: '{host}'}}}}\n  containers:\n  - name: c\n    image: i\n    volumeMounts:\n    - {{name: h, mountPath: '{mount}'}}\n"
        )
    };
    assert_eq!(
        err_of(&pod("/data:8080", "/srv")),
        "/apps/app.yaml:10:28: Pod/p: spec.containers[0].volumeMounts[0].mountPath: `8080` after the colon is not a volume option (ro, z, Z, U, …): a colon in mountPath starts Podman's options, so a path cannot hold one"
    );
    assert!(err_of(&pod("/a:ro:z", "/srv")).contains("`ro:z` after the colon"));
    assert_eq!(
        err_of(&pod("/data", "/srv/a:b")),
        "/apps/app.yaml:5:32: Pod/p: spec.volumes[0].hostPath.path: `/srv/a:b` holds a colon, which Podman's --volume syntax cannot carry"
    );
    let err = err_of(&pod("/da\\0ta", "/srv").replace('\'', "\""));
    assert!(
        err.contains("mountPath: `/da\\0ta` holds a NUL byte"),
        "{err}"
    );
    let sub =
        pod("/data", "/srv").replace("mountPath: '/data'", "mountPath: /data, subPath: 'x:y'");
    assert!(err_of(&sub).contains("volumeMounts[0].subPath: `x:y` holds a colon"));
    // Podman's own options still pass.
    let p = plan_of(&pod("/data:ro,Z,idmap=uids=0-1000-10", "/srv"));
    assert_eq!(p.pods[0].containers[0].mounts.len(), 1);
}

#[test]
fn a_long_after_chain_is_ordered_and_its_cycle_found_without_recursion() {
    let pod = |i: usize, after: usize| {
        format!(
            "---\nkind: Pod\nmetadata:\n  name: p{i}\n  annotations: {{io.quadplay.after: p{after}}}\nspec:\n  containers: [{{name: c, image: i}}]\n"
        )
    };
    let n = 5000;
    let chain: String = (1..n).map(|i| pod(i, i - 1)).collect();
    let head = "---\nkind: Pod\nmetadata: {name: p0}\nspec:\n  containers: [{name: c, image: i}]\n";
    let p = plan_of(&format!("{head}{chain}"));
    assert_eq!(p.pods.len(), n);
    assert_eq!(p.pods[n - 1].after, [format!("p{}", n - 2)]);
    // Closing the chain into a ring: found, named, from its first workload.
    let ring = format!("{}{chain}", pod(0, n - 1));
    let e = err_of(&ring);
    assert!(e.starts_with("/apps/app.yaml:5:16: Pod/p0: metadata.annotations: io.quadplay.after forms a cycle: p0 → p4999 → p4998"), "{}", &e[..200]);
    assert!(e.ends_with("p1 → p0"), "{}", &e[e.len() - 100..]);
}
