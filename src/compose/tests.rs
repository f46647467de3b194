//! Conversion tests over the whole pipeline (load → translate), on compose files shaped like
//! vendors write them, each in a project directory of its own (`…/shop/compose.yaml`).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::translate::{duration_secs, sanitize_name, split_shell};
use super::{convert, convert_file, write, ComposeError, Converted, Options};

/// A project directory `shop` in a fresh temporary directory; kept alive by the returned guard.
fn project(text: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path().join("shop");
    std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("compose.yaml");
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
    (tmp, file)
}

fn opts(file: &Path, name: Option<&str>) -> Options {
    Options {
        files: vec![file.to_path_buf()],
        name: name.map(str::to_string),
        ..Options::default()
    }
}

fn convert_str(
    path: &Path,
    text: &str,
    name: Option<&str>,
) -> Result<Converted, super::ComposeError> {
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new("/")))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
    convert(&opts(path, name))
}

fn conv(text: &str) -> Converted {
    let (_tmp, file) = project(text);
    convert(&opts(&file, None)).unwrap_or_else(|e| panic!("convert: {e}"))
}

fn docs(c: &Converted) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(&c.yaml).unwrap_or_else(|e| panic!("{e}\n{}", c.yaml))
}

/// Asserts that one of the conversion's warnings contains `needle`.
#[track_caller]
fn assert_warns(c: &Converted, needle: &str) {
    assert!(
        c.warnings.iter().any(|w| w.contains(needle)),
        "no warning contains {needle:?}: {:?}",
        c.warnings
    );
}

/// The error converting `text`, with the temporary directory written as `/srv`.
fn err(text: &str) -> String {
    let (tmp, file) = project(text);
    match convert(&opts(&file, None)) {
        Ok(c) => panic!("expected an error, got\n{}", c.yaml),
        Err(e) => e
            .to_string()
            .replace(&tmp.path().display().to_string(), "/srv"),
    }
}

const SEED: &str = "\
services:
  web:
    image: localhost/busybox:latest
    command: httpd -f -p 80 -h /srv
    ports:
      - \"8081:80\"
    restart: unless-stopped
  api:
    image: localhost/busybox:latest
    command: [\"sh\", \"-c\", \"echo api > /srv/index.html && httpd -f -p 80 -h /srv\"]
    environment:
      GREETING: hello
      EMPTY: \"\"
    ports:
      - 127.0.0.1:8082:80/tcp
    depends_on: [web]
";

#[test]
fn seed_app_becomes_two_pods_with_ports_and_args() {
    let c = conv(SEED);
    assert_eq!(c.name, "shop");
    let d = docs(&c);
    assert_eq!(d.len(), 2);
    assert_eq!(d[0]["kind"], "Pod");
    assert_eq!(d[0]["metadata"]["name"], "shop-web");
    assert_eq!(d[0]["spec"]["containers"][0]["name"], "web");
    assert_eq!(d[0]["spec"]["restartPolicy"], "Always");
    let web = &d[0]["spec"]["containers"][0];
    assert_eq!(
        web["args"],
        json!(["httpd", "-f", "-p", "80", "-h", "/srv"])
    );
    assert_eq!(
        web["ports"],
        json!([{"containerPort": 80, "hostPort": 8081, "protocol": "TCP"}])
    );
    let api = &d[1]["spec"]["containers"][0];
    assert_eq!(d[1]["spec"]["restartPolicy"], "Never");
    assert_eq!(
        api["args"][2],
        "echo api > /srv/index.html && httpd -f -p 80 -h /srv"
    );
    assert_eq!(
        api["env"],
        json!([{"name": "GREETING", "value": "hello"}, {"name": "EMPTY", "value": ""}])
    );
    assert_eq!(api["ports"][0]["hostIP"], "127.0.0.1");
    assert_eq!(d[1]["metadata"]["labels"]["app"], "shop");
    assert!(c.kube.contains("[Kube]\nYaml=shop.yaml\n"));
    assert!(c.kube.contains("[Install]\nWantedBy=default.target\n"));
    // depends_on → quadplay's ordering annotation (Kubernetes ignores it).
    assert_eq!(
        d[1]["metadata"]["annotations"],
        json!({"io.quadplay.after": "shop-web"})
    );
    assert!(d[0]["metadata"].get("annotations").is_none());
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn dependency_order_puts_dependencies_first() {
    let c = conv("services:\n  a:\n    image: x/a\n    depends_on: [b]\n  b:\n    image: x/b\n    depends_on:\n      c:\n        condition: service_healthy\n  c:\n    image: x/c\n");
    let names: Vec<Value> = docs(&c)
        .iter()
        .map(|d| d["metadata"]["name"].clone())
        .collect();
    assert_eq!(
        names,
        vec![json!("shop-c"), json!("shop-b"), json!("shop-a")]
    );
    assert_eq!(
        docs(&c)[1]["metadata"]["annotations"]["io.quadplay.after"],
        "shop-c"
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

/// `service_completed_successfully` → `io.quadplay.after-completed` (the executor waits for the
/// job's exit status 0), kept apart from the ready-only dependencies; a job that restarts
/// always could never complete, which is said where the condition is written.
#[test]
fn completed_dependency_is_awaited_not_only_started() {
    let text = "services:\n  app:\n    image: x\n    depends_on:\n      migrate:\n        condition: service_completed_successfully\n      db:\n        condition: service_healthy\n  migrate:\n    image: x\n    depends_on: [db]\n  db:\n    image: x\n";
    let c = conv(text);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let d = docs(&c);
    let names: Vec<&Value> = d.iter().map(|d| &d["metadata"]["name"]).collect();
    assert_eq!(
        names,
        [
            &json!("shop-db"),
            &json!("shop-migrate"),
            &json!("shop-app")
        ]
    );
    let notes = &d[2]["metadata"]["annotations"];
    assert_eq!(notes["io.quadplay.after"], "shop-db");
    assert_eq!(notes["io.quadplay.after-completed"], "shop-migrate");
    assert_eq!(d[1]["spec"]["restartPolicy"], "Never");
    let e = err(&text.replace(
        "  migrate:\n    image: x\n",
        "  migrate:\n    image: x\n    restart: always\n",
    ));
    assert!(
        e.starts_with("/srv/shop/compose.yaml:5:7: services.app.depends_on.migrate: service_completed_successfully: that service restarts always"),
        "{e}"
    );
}

/// Compose cannot start a second replica on a host port the first one holds; neither can
/// quadplay: refused where the port is written, in both port syntaxes and with `scale`.
#[test]
fn replicas_with_a_published_host_port_are_refused_where_the_port_is() {
    let e = err("services:\n  web:\n    image: x\n    ports: [\"80\", \"8080:80\"]\n    deploy: {replicas: 3}\n");
    assert!(
        e.starts_with("/srv/shop/compose.yaml:4:19: services.web.ports[1]: 3 replicas would each bind host port 8080"),
        "{e}"
    );
    let e = err("services:\n  web:\n    image: x\n    scale: 2\n    ports:\n      - {target: 80, published: \"9000\"}\n");
    assert!(
        e.starts_with("/srv/shop/compose.yaml:6:9: services.web.ports[0]: 2 replicas would each bind host port 9000"),
        "{e}"
    );
    // Without a host port the replicas are reached by name: a Deployment, no error.
    let c =
        conv("services:\n  web:\n    image: x\n    ports: [\"80\"]\n    deploy: {replicas: 3}\n");
    assert_eq!(docs(&c)[0]["kind"], "Deployment");
}

/// Issue 9: a host range over one container port with as many ports as replicas gives each
/// replica one port (compose binds one port of the range per container); quadplay's executor
/// then plans replica i on the i-th port. Before, the range was refused ("ranges differ").
#[test]
fn a_host_range_gives_each_replica_one_port() {
    let text = "services:\n  web:\n    image: x\n    ports: [\"8081-8083:80\", {target: 53, published: \"9053-9055\", protocol: udp}]\n    deploy: {replicas: 3}\n";
    let (tmp, file) = project(text);
    let c = convert(&opts(&file, None)).unwrap_or_else(|e| panic!("{e}"));
    let d = &docs(&c)[0];
    assert_eq!(d["kind"], "Deployment");
    let notes = &d["metadata"]["annotations"];
    assert_eq!(notes["io.quadplay.replica-host-ports/80"], "8081,8082,8083");
    assert_eq!(notes["io.quadplay.replica-host-ports/53"], "9053,9054,9055");
    let yaml = tmp.path().join("shop.yaml");
    std::fs::write(&yaml, &c.yaml).unwrap_or_else(|e| panic!("{e}"));
    let docs = crate::kube::load(&[yaml], &[]).unwrap_or_else(|e| panic!("{e}\n{}", c.yaml));
    let opts = crate::play::plan::PlanOptions::default();
    let plan = crate::play::plan::plan(&docs, &opts).unwrap_or_else(|e| panic!("{e}\n{}", c.yaml));
    let ports: Vec<Vec<(u16, u16, &str)>> = plan
        .pods
        .iter()
        .map(|p| {
            p.ports
                .iter()
                .map(|m| (m.host_port, m.container_port, m.protocol.as_str()))
                .collect()
        })
        .collect();
    assert_eq!(
        ports,
        [
            [(8081, 80, "tcp"), (9053, 53, "udp")],
            [(8082, 80, "tcp"), (9054, 53, "udp")],
            [(8083, 80, "tcp"), (9055, 53, "udp")]
        ]
    );
}

/// A range whose length is not the number of replicas, two ranges for one container port, and
/// a range another service publishes from are errors where they are written.
#[test]
fn a_host_range_must_hold_one_port_per_replica() {
    let e = err("services:\n  web:\n    image: x\n    ports: [\"8081-8083:80\"]\n    deploy: {replicas: 2}\n");
    assert_eq!(e, "/srv/shop/compose.yaml:4:13: services.web.ports[0]: host ports 8081-8083 are 3 ports for 2 replica(s): each replica binds one port of the range; give as many ports as replicas (deploy.replicas or scale), or one host port");
    let e = err("services:\n  web:\n    image: x\n    ports:\n      - target: 80\n        published: 8081-8082\n");
    assert!(e.starts_with("/srv/shop/compose.yaml:5:9: services.web.ports[0]: host ports 8081-8082 are 2 ports for 1 replica(s)"), "{e}");
    let e = err("services:\n  web:\n    image: x\n    scale: 2\n    ports: [\"8081-8082:80\", \"127.0.0.1:9081-9082:80\"]\n");
    assert!(e.starts_with("/srv/shop/compose.yaml:5:29: services.web.ports[1]: container port 80 already takes host ports 8081-8082 per replica (services.web.ports[0])"), "{e}");
    let e = err("services:\n  web:\n    image: x\n    scale: 2\n    ports: [\"8081-8082:80\"]\n  api:\n    image: x\n    ports: [\"8082:80\"]\n");
    assert_eq!(e, "/srv/shop/compose.yaml:8:13: services.api.ports[0]: host port 8082/tcp: service web already publishes it");
}

#[test]
fn dependency_cycle_and_unknown_service_are_errors_with_lines() {
    let e = err("services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n");
    assert!(e.contains("dependency cycle"), "{e}");
    let e = err("services:\n  a:\n    image: x\n    depends_on:\n      - nope\n");
    assert_eq!(
        e,
        "/srv/shop/compose.yaml:5:9: services.a.depends_on.nope: unknown service \"nope\""
    );
}

#[test]
fn unsupported_keys_warn_with_line_and_path() {
    let c = conv("version: '3'\nx-custom: 1\nservices:\n  web:\n    image: x\n    init: true\n    mem_limit: 1g\n    networks: [front]\n    frobnicate: 1\nsurprise: {}\n");
    let w = c.warnings.join("\n");
    assert!(
        !w.contains("x-custom"),
        "extension fields are compose's own: {w}"
    );
    assert!(
            w.contains("compose.yaml:6:5: services.web.init: not kept: Kubernetes YAML has no init process option"),
            "{w}"
        );
    assert!(
        w.contains(
            "compose.yaml:9:5: services.web.frobnicate: frobnicate is not supported; ignored"
        ),
        "{w}"
    );
    assert!(
        w.contains("compose.yaml:10:1: surprise: not supported"),
        "{w}"
    );
    assert!(!w.contains("mem_limit"), "mem_limit is translated: {w}");
    assert_eq!(c.notes.len(), 1, "{:?}", c.notes);
    assert!(c.notes[0].contains("compose.yaml:8:15: services.web.networks: every pod joins"));
    assert!(!w.contains("version"), "version is silently obsolete: {w}");
    let limits = &docs(&c)[0]["spec"]["containers"][0]["resources"]["limits"];
    assert_eq!(limits["memory"], "1Gi");
}

/// Fuzz finding: `mem_limit: "files*"` passed through convert and failed only at planning
/// ("is not a Kubernetes quantity"); sizes and CPU counts are now checked where they are written.
#[test]
fn sizes_and_cpus_that_make_no_quantity_are_refused_where_written() {
    for (key, value, message) in [
        ("mem_limit", "files*", "\"files*\" is not a size"),
        ("mem_reservation", "-1g", "\"-1g\" is not a size"),
        ("shm_size", "lots", "\"lots\" is not a size"),
        ("cpus", "two", "\"two\" is not a number of CPUs"),
    ] {
        let e = err(&format!(
            "services:\n  web:\n    image: x\n    {key}: \"{value}\"\n"
        ));
        let want = format!(
            "/srv/shop/compose.yaml:4:{}: services.web.{key}: {message}",
            key.len() + 7
        );
        assert!(e.starts_with(&want), "{e}\nwant {want}");
    }
    let e = err("services:\n  web:\n    image: x\n    deploy:\n      resources:\n        limits: {memory: 1x, cpus: \"0.5\"}\n");
    assert!(
        e.contains(
            "compose.yaml:6:26: services.web.deploy.resources.limits.memory: \"1x\" is not a size"
        ),
        "{e}"
    );
    let c = conv("services:\n  web:\n    image: x\n    mem_limit: 1.5G\n    cpus: 0.25\n    shm_size: 64mb\n    mem_reservation: 1048576\n");
    let d = &docs(&c)[0]["spec"];
    let r = &d["containers"][0]["resources"];
    assert_eq!(r["limits"]["memory"], "1.5Gi");
    assert_eq!(r["limits"]["cpu"], "0.25");
    assert_eq!(r["requests"]["memory"], "1048576");
    assert_eq!(d["volumes"][0]["emptyDir"]["sizeLimit"], "64Mi");
}

/// Fuzz finding: an environment key holding `=` (`TZ=X: UTC`) passed through convert and was
/// refused only by the executor's planner; empty names likewise. Now refused where written.
#[test]
fn variable_names_no_runtime_can_set_are_refused_where_written() {
    let e = err("services:\n  web:\n    image: x\n    environment:\n      TZ=X: UTC\n");
    assert_eq!(e, "/srv/shop/compose.yaml:5:7: services.web.environment.TZ=X: \"TZ=X\" is not a valid variable name (empty, or holds =)");
    let e = err("services:\n  web:\n    image: x\n    environment: [A=1, =2]\n");
    assert_eq!(e, "/srv/shop/compose.yaml:4:24: services.web.environment[1]: \"\" is not a valid variable name (empty, or holds =)");
    let (tmp, file) =
        project("services:\n  web:\n    image: x\n    env_file: {path: raw.env, format: raw}\n");
    std::fs::write(file.with_file_name("raw.env"), "A=1\n=2\n").unwrap_or_else(|e| panic!("{e}"));
    let e = convert(&opts(&file, None))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let dir = tmp.path().display().to_string();
    assert_eq!(e.replace(&dir, "/srv"), "/srv/shop/compose.yaml:4:15: services.web.env_file[0] (/srv/shop/raw.env): \"\" is not a valid variable name (empty, or holds =)");
}

/// Fuzz finding: `image: >` (a folded scalar with nothing in it) gave `image: ""`, which the
/// executor refuses ("has no image"); now an error where it is written.
#[test]
fn an_empty_image_is_refused_where_written() {
    for image in ["\"\"", "\" \"", ">\n"] {
        let e = err(&format!("services:\n  web:\n    image: {image}\n"));
        assert!(
            e.starts_with("/srv/shop/compose.yaml:3:12: services.web.image: empty image name"),
            "{image}: {e}"
        );
    }
}

#[test]
fn missing_image_and_bad_values_are_errors() {
    assert_eq!(err("services:\n  web:\n    command: x\n"), "/srv/shop/compose.yaml:2:3: services.web: no image: name one with image:, or give build: to build it");
    let e = err("services:\n  web:\n    image: x\n    ports:\n      - \"80:abc\"\n");
    assert!(
        e.starts_with("/srv/shop/compose.yaml:5:9: services.web.ports[0]: cannot read port"),
        "{e}"
    );
    assert!(
        err("services:\n  web:\n    image: x\n    restart: sometimes\n")
            .contains(":4:14: services.web.restart: unknown restart policy")
    );
    assert!(err("services: {}\n").contains("no services"));
    assert!(err("services:\n  web: [\n").starts_with("/srv/shop/compose.yaml:"));
}

#[test]
fn port_forms() {
    let c = conv("services:\n  w:\n    image: x\n    ports:\n      - \"9000-9001:8000-8001/udp\"\n      - 53\n      - target: 443\n        published: \"8443\"\n        host_ip: 0.0.0.0\n");
    let p = &docs(&c)[0]["spec"]["containers"][0]["ports"];
    assert_eq!(
        p[0],
        json!({"containerPort": 8000, "hostPort": 9000, "protocol": "UDP"})
    );
    assert_eq!(
        p[1],
        json!({"containerPort": 8001, "hostPort": 9001, "protocol": "UDP"})
    );
    assert_eq!(p[2], json!({"containerPort": 53, "protocol": "TCP"}));
    assert_eq!(
        p[3],
        json!({"containerPort": 443, "hostPort": 8443, "hostIP": "0.0.0.0", "protocol": "TCP"})
    );
    assert_warns(
        &c,
        ":6:9: services.w.ports[1]: a container port without a host port",
    );
}

#[test]
fn volumes_named_bind_anonymous_and_long() {
    let (tmp, file) = project("services:\n  db:\n    image: x\n    volumes:\n      - data:/var/lib/db\n      - ./conf:/etc/db:ro\n      - /cache\n      - type: bind\n        source: ./logs\n        target: /logs\n        read_only: true\n      - ./nginx.conf:/etc/nginx/nginx.conf:ro\n      - ./new:/new\nvolumes:\n  data: {}\n  unused:\n");
    let dir = tmp.path().join("shop");
    std::fs::create_dir(dir.join("conf")).unwrap();
    std::fs::create_dir(dir.join("logs")).unwrap();
    std::fs::write(dir.join("nginx.conf"), "events {}\n").unwrap();
    let c = convert(&opts(&file, None)).unwrap_or_else(|e| panic!("{e}"));
    let d = docs(&c);
    assert_eq!(d.len(), 2, "one PVC (only used volumes) and the pod");
    assert_eq!(d[0]["kind"], "PersistentVolumeClaim");
    assert_eq!(d[0]["metadata"]["name"], "shop-data");
    let vols = &d[1]["spec"]["volumes"];
    assert_eq!(
        vols[0],
        json!({"name": "db-vol-0", "persistentVolumeClaim": {"claimName": "shop-data"}})
    );
    let host = |i: usize| {
        (
            vols[i]["hostPath"]["path"]
                .as_str()
                .unwrap()
                .replace(&dir.display().to_string(), "."),
            vols[i]["hostPath"]["type"].clone(),
        )
    };
    assert_eq!(host(1), ("./conf".into(), json!("Directory")));
    assert_eq!(vols[2], json!({"name": "db-vol-2", "emptyDir": {}}));
    assert_eq!(host(3), ("./logs".into(), json!("Directory")));
    // A bind-mounted file is a File: DirectoryOrCreate would make Podman fail (EEXIST).
    assert_eq!(host(4), ("./nginx.conf".into(), json!("File")));
    // Missing, short syntax: compose creates a directory, so does DirectoryOrCreate.
    assert_eq!(host(5), ("./new".into(), json!("DirectoryOrCreate")));
    let mounts = &d[1]["spec"]["containers"][0]["volumeMounts"];
    assert_eq!(
        mounts[1],
        json!({"name": "db-vol-1", "mountPath": "/etc/db", "readOnly": true})
    );
    assert_eq!(mounts[3]["readOnly"], true);
    assert!(
        err("services:\n  db:\n    image: x\n    volumes: [\"nope:/x\"]\n")
            .contains(":4:15: services.db.volumes[0]: named volume \"nope\" is not declared")
    );
    // Long syntax without create_host_path: the source must exist.
    let e = err("services:\n  db:\n    image: x\n    volumes:\n      - type: bind\n        source: ./missing\n        target: /m\n");
    assert_eq!(e, "/srv/shop/compose.yaml:5:9: services.db.volumes[0]: bind source /srv/shop/missing does not exist (and bind.create_host_path is not true)");
    let c = conv("services:\n  db:\n    image: x\n    volumes:\n      - type: bind\n        source: ./missing\n        target: /m\n        bind: {create_host_path: true}\n");
    assert_eq!(
        docs(&c)[0]["spec"]["volumes"][0]["hostPath"]["type"],
        "DirectoryOrCreate"
    );
}

#[test]
fn external_and_renamed_volumes_keep_their_names() {
    let c = conv("services:\n  a:\n    image: x\n    volumes: [\"e:/e\", \"n:/n\"]\nvolumes:\n  e:\n    external: true\n  n:\n    name: My_Data\n");
    let claims: Vec<Value> = docs(&c)
        .iter()
        .filter(|d| d["kind"] == "PersistentVolumeClaim")
        .map(|d| d["metadata"]["name"].clone())
        .collect();
    assert_eq!(claims, vec![json!("e"), json!("my-data")]);
}

#[test]
fn entrypoint_command_env_list_and_k8s_escaping() {
    std::env::remove_var("QUADPLAY_TEST_UNSET");
    let c = conv("services:\n  a:\n    image: x\n    entrypoint: /bin/sh -c\n    command: 'echo \"$$(date)\" done'\n    environment:\n      - A=1=2\n      - QUADPLAY_TEST_UNSET\n      - B=$$(x)\n");
    let ctr = &docs(&c)[0]["spec"]["containers"][0];
    assert_eq!(ctr["command"], json!(["/bin/sh", "-c"]));
    assert_eq!(ctr["args"], json!(["echo", "$$(date)", "done"]));
    assert_eq!(
        ctr["env"],
        json!([{"name": "A", "value": "1=2"}, {"name": "B", "value": "$$(x)"}])
    );
    assert_warns(
        &c,
        ":8:9: services.a.environment[1]: QUADPLAY_TEST_UNSET has no value",
    );
}

#[test]
fn env_file_is_read_and_environment_overrides_it() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("app.env"),
        "# c\nA=from-file\nexport B=\"quoted\" # note\nC=${QUADPLAY_T_NOPE:-dflt}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("compose.yml");
    let c = convert_str(
        &path,
        "services:\n  a:\n    image: x\n    env_file: app.env\n    environment: {A: inline}\n",
        Some("t"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let env = &docs(&c)[0]["spec"]["containers"][0]["env"];
    assert_eq!(
        env,
        &json!([{"name": "A", "value": "inline"}, {"name": "B", "value": "quoted"}, {"name": "C", "value": "dflt"}])
    );
    std::fs::write(dir.path().join("bad.env"), "A=1\nbad line\n").unwrap();
    let bad = convert_str(
        &path,
        "services:\n  a:\n    image: x\n    env_file: bad.env\n",
        Some("t"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        bad.contains("compose.yml:4:15: services.a.env_file[0]: ")
            && bad.ends_with("bad.env:2: a variable name cannot contain a space"),
        "{bad}"
    );
    let optional = convert_str(&path, "services:\n  a:\n    image: x\n    env_file:\n      - path: nope.env\n        required: false\n", Some("t"));
    assert!(optional.is_ok(), "{optional:?}");
    let missing = convert_str(
        &path,
        "services:\n  a:\n    image: x\n    env_file: [nope.env]\n",
        Some("t"),
    );
    assert!(
        matches!(
            missing,
            Err(ComposeError::Invalid {
                line: crate::compose::At { line: 4, .. },
                ..
            })
        ),
        "{missing:?}"
    );
}

#[test]
fn restart_user_security_healthcheck_and_replicas() {
    let c = conv("services:\n  a:\n    image: x\n    restart: on-failure:3\n    user: \"1000:100\"\n    privileged: true\n    read_only: true\n    cap_add: [NET_ADMIN]\n    healthcheck:\n      test: [\"CMD-SHELL\", \"wget -q -O- localhost\"]\n      interval: 1m30s\n      retries: 5\n  b:\n    image: x\n    restart: always\n    deploy:\n      replicas: 3\n");
    let d = docs(&c);
    assert_eq!(d[0]["spec"]["restartPolicy"], "OnFailure");
    let a = &d[0]["spec"]["containers"][0];
    assert_eq!(
        a["securityContext"],
        json!({"runAsUser": 1000, "runAsGroup": 100, "privileged": true, "readOnlyRootFilesystem": true, "capabilities": {"add": ["NET_ADMIN"]}})
    );
    let test = json!({"command": ["/bin/sh", "-c", "wget -q -O- localhost"]});
    assert_eq!(
        a["readinessProbe"],
        json!({"exec": test, "periodSeconds": 90, "timeoutSeconds": 30, "failureThreshold": 5})
    );
    // Checked every 5 s (start_interval) for as long as compose would wait: 5 × 90 s.
    assert_eq!(
        a["startupProbe"],
        json!({"exec": test, "periodSeconds": 5, "timeoutSeconds": 30, "failureThreshold": 90})
    );
    assert_eq!(d[1]["kind"], "Deployment");
    assert_eq!(d[1]["spec"]["replicas"], 3);
    assert_eq!(
        d[1]["spec"]["template"]["spec"]["containers"][0]["name"],
        "b"
    );
    assert_eq!(
        d[1]["spec"]["selector"]["matchLabels"],
        d[1]["spec"]["template"]["metadata"]["labels"]
    );
    assert_warns(&c, ":4:5: services.a.restart: the retry limit");
}

#[test]
fn names_are_dns_labels_and_name_option_wins() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("My_Project").join("compose.yaml");
    let c = convert_str(
        &file,
        "name: From File\nservices:\n  Web_1:\n    image: x\n",
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.name, "from-file");
    assert_eq!(docs(&c)[0]["metadata"]["name"], "from-file-web-1");
    assert_eq!(
        docs(&c)[0]["metadata"]["annotations"]["io.quadplay.aliases"],
        "Web_1"
    );
    let c = convert_str(&file, "services:\n  w:\n    image: x\n", None).unwrap();
    assert_eq!(c.name, "my-project");
    let c = convert_str(&file, "services:\n  w:\n    image: x\n", Some("Override"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.name, "override");
    assert_eq!(sanitize_name("--a..b--"), "a-b");
}

#[test]
fn ambiguous_scalars_stay_strings_both_ways() {
    let c = conv("services:\n  a:\n    image: x\n    restart: no\n    environment:\n      A: \"yes\"\n      B: \"on\"\n      C: \"0755\"\n      D: \"1e3\"\n      E: \"null\"\n      F: \"~\"\n      G: \"true\"\n");
    let d = docs(&c);
    assert_eq!(d[0]["spec"]["restartPolicy"], "Never");
    let env = &d[0]["spec"]["containers"][0]["env"];
    for (i, want) in ["yes", "on", "0755", "1e3", "null", "~", "true"]
        .iter()
        .enumerate()
    {
        assert_eq!(env[i]["value"], json!(want), "{}", c.yaml);
    }
    // YAML 1.1 readers (Go's yaml.v2 in Kubernetes tools) must see strings too.
    for word in ["yes", "on", "0755", "true"] {
        assert!(
            c.yaml.contains(&format!("'{word}'")) || c.yaml.contains(&format!("\"{word}\"")),
            "{word} unquoted:\n{}",
            c.yaml
        );
    }
}

#[test]
fn interpolation_follows_compose() {
    std::env::set_var("QUADPLAY_TEST_TAG", "1.2");
    std::env::remove_var("QUADPLAY_TEST_NONE");
    let c = conv("services:\n  a:\n    image: \"x:${QUADPLAY_TEST_TAG}\"\n    environment:\n      A: \"$$HOME ${QUADPLAY_TEST_NONE:-dflt} $QUADPLAY_TEST_TAG-x\"\n      B: \"[${QUADPLAY_TEST_NONE}]\"\n");
    let ctr = &docs(&c)[0]["spec"]["containers"][0];
    assert_eq!(ctr["image"], "x:1.2");
    assert_eq!(ctr["env"][0]["value"], "$HOME dflt 1.2-x");
    assert_eq!(ctr["env"][1]["value"], "[]");
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("QUADPLAY_TEST_TAG (the environment)")),
        "{:?}",
        c.notes
    );
    assert_warns(&c, "variable QUADPLAY_TEST_NONE is not set");
    let e = err("services:\n  a:\n    image: \"${QUADPLAY_TEST_NONE:?set the image}\"\n");
    assert_eq!(
            e,
            "/srv/shop/compose.yaml:3:12: services.a.image: required variable QUADPLAY_TEST_NONE is missing a value: set the image"
        );
    let e = err("services:\n  a:\n    image: \"a${}\"\n");
    assert!(
        e.contains(":3:12: services.a.image: invalid interpolation"),
        "{e}"
    );
}

/// Everything the converter writes is understood by quadplay's own loader and planner (no
/// field ignored but a claim's size), and the pods are reachable by service name.
#[test]
fn output_loads_and_plans_in_quadplays_executor() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let compose = dir.path().join("compose.yaml");
    let text = "name: full\nservices:\n  db:\n    image: docker.io/library/postgres:16\n    environment: {POSTGRES_PASSWORD: pw}\n    volumes: [\"data:/var/lib/postgresql/data\", \"./init:/docker-entrypoint-initdb.d:ro\", /scratch]\n    tmpfs: [/run]\n    healthcheck:\n      test: [\"CMD\", \"pg_isready\"]\n      interval: 2s\n      timeout: 1s\n      retries: 3\n      start_period: 5s\n    restart: on-failure\n    user: \"999:999\"\n  web:\n    image: docker.io/library/nginx:latest\n    entrypoint: [/docker-entrypoint.sh]\n    command: nginx -g 'daemon off;'\n    ports: [\"8080:80\", \"127.0.0.1:8443:443/tcp\"]\n    depends_on: {db: {condition: service_healthy}}\n    working_dir: /usr/share/nginx\n    hostname: www\n    cap_add: [NET_ADMIN]\n    cap_drop: [MKNOD]\n    read_only: true\n    privileged: false\n    tty: true\n    labels: {tier: front}\n    restart: always\n  worker:\n    image: docker.io/library/busybox:latest\n    command: [sleep, infinity]\n    deploy: {replicas: 2}\n    restart: unless-stopped\nvolumes:\n  data: {}\n";
    std::fs::write(&compose, text).unwrap_or_else(|e| panic!("{e}"));
    let c = convert_file(&compose, None).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let yaml = dir.path().join("full.yaml");
    std::fs::write(&yaml, &c.yaml).unwrap_or_else(|e| panic!("{e}"));
    let docs = crate::kube::load(&[yaml], &[]).unwrap_or_else(|e| panic!("{e}\n{}", c.yaml));
    // A claim's access modes and size are required by Kubernetes and meaningless for a
    // Podman volume: the loader says so, and that is all it may say.
    let unexpected: Vec<_> = docs
        .findings
        .iter()
        .filter(|f| {
            !(f.object == "PersistentVolumeClaim/full-data"
                && (f.field == "spec.accessModes" || f.field == "spec.resources"))
        })
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}\n{}", c.yaml);
    let opts = crate::play::plan::PlanOptions::default();
    let plan = crate::play::plan::plan(&docs, &opts).unwrap_or_else(|e| panic!("{e}\n{}", c.yaml));
    assert!(
        plan.warnings.len() <= docs.findings.len(),
        "{:?}",
        plan.warnings
    );
    let pod = |n: &str| {
        plan.pods.iter().find(|p| p.name == n).unwrap_or_else(|| {
            panic!(
                "no pod {n}: {:?}",
                plan.pods.iter().map(|p| &p.name).collect::<Vec<_>>()
            )
        })
    };
    assert!(
        pod("full-db").aliases.contains(&"db".to_string()),
        "{:?}",
        pod("full-db").aliases
    );
    assert!(pod("full-web").aliases.contains(&"web".to_string()));
    assert_eq!(pod("full-web").after, vec!["full-db".to_string()]);
    let workers: Vec<&String> = plan
        .pods
        .iter()
        .filter(|p| p.workload.starts_with("Deployment/full-worker"))
        .map(|p| &p.name)
        .collect();
    assert_eq!(workers.len(), 2, "{workers:?}");
}

#[test]
fn dot_env_feeds_interpolation_below_the_process_environment() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join(".env"),
        "QUADPLAY_T_TAG=from-dotenv\nQUADPLAY_T_WIN=dotenv\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::env::set_var("QUADPLAY_T_WIN", "process");
    let path = dir.path().join("compose.yaml");
    let c = convert_str(
        &path,
        "services:\n  a:\n    image: \"x:${QUADPLAY_T_TAG}\"\n    environment: [QUADPLAY_T_WIN]\n",
        Some("t"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ctr = &docs(&c)[0]["spec"]["containers"][0];
    assert_eq!(ctr["image"], "x:from-dotenv");
    assert_eq!(ctr["env"][0]["value"], "process");
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("QUADPLAY_T_TAG (the .env file)")),
        "{:?}",
        c.notes
    );
}

#[test]
fn durations_and_shell_words() {
    assert_eq!(duration_secs("1m30s"), Some(90));
    assert_eq!(duration_secs("500ms"), Some(1));
    assert_eq!(duration_secs("2h"), Some(7200));
    assert_eq!(duration_secs("10"), Some(10));
    assert_eq!(duration_secs("x"), None);
    assert_eq!(
        split_shell(r#"a 'b c' "d \"e\"" f\ g"#),
        Ok(vec![
            "a".into(),
            "b c".into(),
            "d \"e\"".into(),
            "f g".into()
        ])
    );
    assert!(split_shell("'open").is_err());
}

#[test]
fn write_puts_both_files_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let c = conv(SEED);
    let written = write(&c, &dir.path().join("units")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(written.len(), 2);
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("units"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    assert_eq!(names, vec!["shop.kube", "shop.yaml"]);
    assert_eq!(
        std::fs::read_to_string(&written[0]).unwrap_or_default(),
        c.yaml
    );
}

/// Writes `files` (relative path → text) under a fresh `shop` project directory.
fn tree_of(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path().join("shop");
    for (rel, text) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap_or(&dir)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
    }
    (tmp, dir)
}

fn container(c: &Converted, workload: &str) -> Value {
    let d = docs(c);
    let doc = d
        .iter()
        .find(|d| d["metadata"]["name"] == json!(workload))
        .unwrap_or_else(|| panic!("no {workload} in\n{}", c.yaml));
    doc["spec"]["containers"][0].clone()
}

/// Issue 9: a vendor file with 142 aliases over 10 anchors and `<<` merge keys was refused.
#[test]
fn many_aliases_and_merge_keys_convert() {
    let mut text = String::from(
        "x-base: &base\n  image: localhost/busybox:latest\n  restart: unless-stopped\n",
    );
    for i in 0..9 {
        text.push_str(&format!("x-env{i}: &env{i}\n  TIER: t{i}\n"));
    }
    text.push_str("services:\n");
    for i in 0..71 {
        text.push_str(&format!(
            "  s{i}:\n    <<: *base\n    environment:\n      <<: *env{}\n      N: \"{i}\"\n",
            i % 9
        ));
    }
    assert_eq!(text.matches('*').count(), 142);
    let c = conv(&text);
    assert_eq!(docs(&c).len(), 71);
    let s5 = container(&c, "shop-s5");
    assert_eq!(s5["image"], "localhost/busybox:latest");
    assert_eq!(
        s5["env"],
        json!([{"name": "N", "value": "5"}, {"name": "TIER", "value": "t5"}])
    );
}

/// Issue 9: a service whose image comes through `extends` gave "no image".
#[test]
fn extends_same_file_and_other_file_keep_the_image() {
    let (_tmp, dir) = tree_of(&[
        (
            "compose.yaml",
            "services:\n  base:\n    image: localhost/busybox:latest\n    environment: {A: \"1\", B: \"1\"}\n    volumes: [\"./conf:/conf\"]\n  web:\n    extends: base\n    environment: {B: \"2\"}\n  worker:\n    extends:\n      file: common/services.yaml\n      service: monitored\n    command: [sleep, \"3600\"]\n",
        ),
        (
            "common/services.yaml",
            "services:\n  monitored:\n    extends: {service: root}\n    healthcheck: {test: [CMD, \"true\"]}\n    volumes: [\"./probe.sh:/probe.sh:ro\"]\n  root:\n    image: localhost/monitor:1\n",
        ),
        ("common/probe.sh", "#!/bin/sh\n"),
    ]);
    let c = convert(&opts(&dir.join("compose.yaml"), None)).unwrap_or_else(|e| panic!("{e}"));
    let web = container(&c, "shop-web");
    assert_eq!(web["image"], "localhost/busybox:latest");
    assert_eq!(
        web["env"],
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
    );
    let worker = container(&c, "shop-worker");
    assert_eq!(worker["image"], "localhost/monitor:1");
    assert_eq!(worker["args"], json!(["sleep", "3600"]));
    assert!(worker["startupProbe"].is_object());
    // The base's relative bind source is relative to the file that wrote it.
    let d = docs(&c);
    let w = d
        .iter()
        .find(|d| d["metadata"]["name"] == "shop-worker")
        .unwrap();
    let host = &w["spec"]["volumes"][0]["hostPath"];
    assert_eq!(
        host["path"],
        json!(dir.join("common/probe.sh").display().to_string())
    );
    assert_eq!(host["type"], "File");
    let e = err("services:\n  a:\n    extends: b\n  b:\n    extends: a\n    image: x\n");
    assert!(e.contains("extends cycle"), "{e}");
    let e = err("services:\n  a:\n    extends: {service: nope}\n");
    assert!(
        e.contains(":3:14: services.a.extends: service \"nope\" not found"),
        "{e}"
    );
}

/// Issue 13: `a-b`, `a_b`, `A-B` and `!!!` all became `a-b` (or ""), and two were dropped.
/// Fuzz findings: names distinct in compose that the YAML would merge, each refused by the
/// executor's planner before: long service names whose pod names (`<app>-<name>`, cut to 63
/// characters) are equal; a service whose pod is a replicated service's `<name>-pod-<i>`; two
/// secrets that sanitize to one Secret (the second got the first's content).
#[test]
fn names_that_meet_past_the_app_prefix_are_distinct_or_refused() {
    let long = "a".repeat(60);
    let c = conv(&format!(
        "services:\n  {long}-x: {{image: x}}\n  {long}-y: {{image: x}}\n  {long}_z: {{image: x}}\n"
    ));
    let names: Vec<String> = docs(&c)
        .iter()
        .map(|d| {
            d["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let cut = "a".repeat(56);
    assert_eq!(
        names,
        [
            format!("shop-{}", "a".repeat(58)),
            format!("shop-{cut}"),
            format!("shop-{cut}-2")
        ]
    );
    let (tmp, file) = project(&format!(
        "services:\n  {long}-x: {{image: x}}\n  {long}-y: {{image: x}}\n"
    ));
    std::fs::write(
        &file,
        format!("services:\n  {long}-x: {{image: x}}\n  {long}-y: {{image: x}}\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let name = "n".repeat(60);
    let e = convert(&opts(&file, Some(&name)))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let e = e.replace(&tmp.path().display().to_string(), "/srv");
    assert!(e.starts_with(&format!("/srv/shop/compose.yaml:3:3: services.{long}-y: the application name {name} leaves no room")), "{e}");

    let e = err("services:\n  web: {image: x, scale: 2}\n  web-pod-1: {image: x}\n");
    assert_eq!(e, "/srv/shop/compose.yaml:3:3: services.web-pod-1: its pod shop-web-pod-1 would also be a pod of service \"web\" (a Deployment's pods are <name>-pod-<i>); rename one");

    let e = err("services:\n  web: {image: x, secrets: [a-b, a_b]}\nsecrets:\n  a-b: {content: one}\n  a_b: {content: two}\n");
    assert_eq!(e, "/srv/shop/compose.yaml:2:34: services.web.secrets[1]: \"a_b\" and \"a-b\" would both be the Secret shop-a-b; rename one");

    let e = err("services:\n  web: {image: x, volumes: [\"a-b:/a\", \"a_b:/b\"]}\nvolumes:\n  a-b: {}\n  a_b: {}\n");
    assert_eq!(e, "/srv/shop/compose.yaml:5:3: volumes.a_b: volumes \"a-b\" and \"a_b\" would both be the volume shop-a-b; rename one, or give both name: shop-a-b to share it");
    let e = err("services:\n  web: {image: x}\nvolumes:\n  data: {name: \"!!!\"}\n");
    assert!(
        e.starts_with("/srv/shop/compose.yaml:4:3: volumes.data: no volume name is left"),
        "{e}"
    );
    // Two volumes named alike on purpose are one volume, as in compose: one claim.
    let c = conv("services:\n  web: {image: x, volumes: [\"a:/a\", \"b:/b\"]}\nvolumes:\n  a: {name: shared}\n  b: {name: shared}\n");
    let claims = docs(&c)
        .iter()
        .filter(|d| d["kind"] == "PersistentVolumeClaim")
        .count();
    assert_eq!(claims, 1);
}

#[test]
fn colliding_names_get_distinct_names_and_keep_theirs_as_aliases() {
    let c = conv("services:\n  a-b: {image: x}\n  a_b: {image: x}\n  A-B: {image: x}\n  '!!!': {image: x}\n  plausible_db: {image: x}\n");
    let d = docs(&c);
    let names: Vec<&str> = d
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "shop-a-b",
            "shop-a-b-2",
            "shop-a-b-3",
            "shop-service-4",
            "shop-plausible-db"
        ]
    );
    let aliases: Vec<Value> = d
        .iter()
        .map(|d| d["metadata"]["annotations"]["io.quadplay.aliases"].clone())
        .collect();
    assert_eq!(
        aliases,
        [
            json!(null),
            json!("a_b"),
            json!("A-B"),
            json!("!!!"),
            json!("plausible_db")
        ]
    );
    // The executor answers the compose name on the network (a name DNS can carry).
    let tmp = tempfile::tempdir().unwrap();
    let yaml = tmp.path().join("app.yaml");
    std::fs::write(&yaml, &c.yaml).unwrap();
    let docs = crate::kube::load(&[yaml], &[]).unwrap_or_else(|e| panic!("{e}"));
    let plan = crate::play::plan::plan(&docs, &crate::play::plan::PlanOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let pod = plan
        .pods
        .iter()
        .find(|p| p.name == "shop-plausible-db")
        .unwrap();
    assert!(
        pod.aliases.contains(&"plausible_db".to_string()),
        "{:?}",
        pod.aliases
    );
    let pod = plan
        .pods
        .iter()
        .find(|p| p.name == "shop-service-4")
        .unwrap();
    assert!(
        !pod.aliases.iter().any(|a| a.contains('!')),
        "{:?}",
        pod.aliases
    );
}

/// Issue 13: a FIFO or /dev/zero as the compose file or an env_file blocked or ran out of memory.
#[test]
fn fifos_and_devices_are_refused_without_blocking() {
    let (_tmp, dir) = tree_of(&[(
        "compose.yaml",
        "services:\n  a:\n    image: x\n    env_file: pipe.env\n",
    )]);
    let fifo = dir.join("pipe.env");
    let c = std::ffi::CString::new(fifo.display().to_string()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let start = std::time::Instant::now();
    let e = convert(&opts(&dir.join("compose.yaml"), None))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(":4:15: services.a.env_file[0]: ")
            && e.ends_with("pipe.env: not a regular file"),
        "{e}"
    );
    let e = convert(&opts(&fifo, None)).unwrap_err().to_string();
    assert!(e.ends_with("pipe.env: not a regular file"), "{e}");
    let e = convert(&opts(Path::new("/dev/zero"), None))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "/dev/zero: not a regular file");
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
}

/// Issue 13: `deploy.replicas: 1000000000` passed through with exit 0.
#[test]
fn huge_replicas_are_a_located_error() {
    let e = err("services:\n  a:\n    image: x\n    deploy:\n      replicas: 1000000000\n");
    assert_eq!(e, "/srv/shop/compose.yaml:5:17: services.a.deploy.replicas: 1000000000 replicas: expected 0 to 1000");
    let e = err("services:\n  a:\n    image: x\n    scale: -1\n");
    assert!(e.contains(":4:12: services.a.scale: -1 replicas"), "{e}");
}

#[test]
fn profiles_include_several_files_and_env_file() {
    let (_tmp, dir) = tree_of(&[
        (
            "compose.yaml",
            "name: ${APP_NAME:-shop}\ninclude:\n  - infra/compose.yaml\nservices:\n  web:\n    image: localhost/web:${TAG}\n    depends_on: [db]\n    command: [a, c]\n    environment: {KEEP: \"1\"}\n  debug:\n    image: x\n    profiles: [debug]\n  admin:\n    image: x\n    profiles: [debug, ops]\n    depends_on:\n      debug: {condition: service_started, required: false}\n",
        ),
        ("compose.override.yaml", "services:\n  web:\n    environment: [MODE=prod]\n    ports: [\"8080:80\"]\n    command: [b]\n"),
        ("infra/compose.yaml", "services:\n  db:\n    image: localhost/db:${DB_TAG}\n"),
        ("infra/.env", "DB_TAG=16\n"),
        (".env", "TAG=from-dotenv\n"),
        ("prod.env", "TAG=prod\nAPP_NAME=store\n"),
    ]);
    let base = Options {
        files: vec![dir.join("compose.yaml"), dir.join("compose.override.yaml")],
        ..Options::default()
    };
    let c = convert(&base).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.name, "shop");
    let names: Vec<Value> = docs(&c)
        .iter()
        .map(|d| d["metadata"]["name"].clone())
        .collect();
    assert_eq!(names, [json!("shop-db"), json!("shop-web")]);
    assert_eq!(container(&c, "shop-db")["image"], "localhost/db:16");
    let web = container(&c, "shop-web");
    assert_eq!(web["image"], "localhost/web:from-dotenv");
    // The later file: command replaced, environment merged by name.
    assert_eq!(web["args"], json!(["b"]));
    assert_eq!(
        web["env"],
        json!([{"name": "KEEP", "value": "1"}, {"name": "MODE", "value": "prod"}])
    );
    assert_eq!(web["ports"][0]["hostPort"], 8080);
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("services left out") && n.contains("debug, admin")),
        "{:?}",
        c.notes
    );
    // --profile ops: admin runs; its dependency on debug (still off) is not required.
    let c = convert(&Options {
        profiles: vec!["ops".into()],
        ..base.clone()
    })
    .unwrap();
    assert_eq!(docs(&c).len(), 3);
    // --env-file replaces .env.
    let c = convert(&Options {
        env_files: vec![dir.join("prod.env")],
        ..base.clone()
    })
    .unwrap();
    assert_eq!(c.name, "store");
    assert_eq!(container(&c, "store-web")["image"], "localhost/web:prod");
    // A dependency on a service no profile enables is an error, located.
    std::fs::write(
        dir.join("dep.yaml"),
        "services:\n  web:\n    depends_on: [debug]\n",
    )
    .unwrap();
    let e = convert(&Options {
        files: vec![dir.join("compose.yaml"), dir.join("dep.yaml")],
        ..Options::default()
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("dep.yaml:3:18: services.web.depends_on.debug: debug is not enabled by any active profile"), "{e}");
}

/// `uid`/`gid` cannot own a mounted file in Kubernetes; what compose means by them (that user
/// can read it) is kept through the mode, with one warning; without a mode only a note.
#[test]
fn secret_owner_is_kept_as_read_permission() {
    let text = "services:\n  db:\n    image: x\n    secrets:\n      - source: pw\n        uid: \"999\"\n        gid: \"999\"\n        mode: 0400\n      - source: pw\n        target: /etc/pw2\n        uid: \"999\"\n      - source: pw\n        target: /etc/pw3\n        uid: \"0\"\n        mode: 0400\nsecrets:\n  pw:\n    content: hunter2\n";
    let c = conv(&text.replace("content: hunter2", "environment: HOME"));
    let d = docs(&c);
    let pod = d.iter().find(|d| d["kind"] == "Pod").unwrap();
    let mode = |i: usize| pod["spec"]["volumes"][i]["secret"]["items"][0]["mode"].clone();
    assert_eq!(
        mode(0),
        json!(0o404),
        "the owner's read bit goes to every user"
    );
    assert_eq!(
        mode(1),
        Value::Null,
        "no mode: Kubernetes' 0644, readable already"
    );
    assert_eq!(mode(2), json!(0o400), "uid 0 owns it anyway");
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert_warns(
        &c,
        "compose.yaml:8:15: services.db.secrets[0].mode: 0400 becomes 0404",
    );
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("services.db.secrets[1].uid: the file belongs to root")),
        "{:?}",
        c.notes
    );
    let e = err(&text.replace("uid: \"999\"\n        gid", "uid: postgres\n        gid"));
    assert!(
        e.contains("services.db.secrets[0].uid: expected a numeric id, found \"postgres\""),
        "{e}"
    );
}

#[test]
fn secrets_configs_build_and_resources() {
    let (_tmp, dir) = tree_of(&[
        (
            "compose.yaml",
            "services:\n  db:\n    build: ./db\n    secrets:\n      - db_password\n      - source: api_key\n        target: /etc/api.key\n        mode: 0400\n    configs: [app_conf]\n    deploy:\n      resources:\n        limits: {cpus: \"0.5\", memory: 512M}\n        reservations: {memory: 128m}\n    stop_grace_period: 1m\n    stop_signal: SIGINT\nsecrets:\n  db_password:\n    file: ./secrets/db_password.txt\n  api_key:\n    environment: QUADPLAY_TEST_API_KEY\nconfigs:\n  app_conf:\n    content: \"debug = false\"\n",
        ),
        ("secrets/db_password.txt", "s3cret\n"),
    ]);
    std::env::set_var("QUADPLAY_TEST_API_KEY", "k-123");
    let c = convert(&opts(&dir.join("compose.yaml"), None)).unwrap_or_else(|e| panic!("{e}"));
    let d = docs(&c);
    let secret = d
        .iter()
        .find(|d| d["metadata"]["name"] == "shop-db-password")
        .unwrap();
    assert_eq!(secret["data"]["db_password"], "czNjcmV0Cg==");
    let config = d.iter().find(|d| d["kind"] == "ConfigMap").unwrap();
    assert_eq!(config["data"]["app_conf"], "debug = false");
    let db = container(&c, "shop-db");
    assert_eq!(db["image"], "localhost/shop-db");
    assert_eq!(db["imagePullPolicy"], "Never");
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("podman build -t localhost/shop-db ")),
        "{:?}",
        c.warnings
    );
    let mounts: Vec<&str> = db["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    assert_eq!(
        mounts,
        ["/run/secrets/db_password", "/etc/api.key", "/app_conf"]
    );
    assert_eq!(
        db["resources"],
        json!({"limits": {"cpu": "0.5", "memory": "512Mi"}, "requests": {"memory": "128Mi"}})
    );
    assert_eq!(db["lifecycle"]["stopSignal"], "SIGINT");
    let pod = d
        .iter()
        .find(|d| d["metadata"]["name"] == "shop-db")
        .unwrap();
    assert_eq!(pod["spec"]["terminationGracePeriodSeconds"], 60);
    assert_eq!(
        pod["spec"]["volumes"][1]["secret"]["items"][0]["mode"],
        0o400
    );
    // No secret value in any message; a missing secret file is a located error.
    assert!(!c
        .warnings
        .iter()
        .chain(&c.notes)
        .any(|m| m.contains("s3cret") || m.contains("k-123")));
    std::fs::remove_file(dir.join("secrets/db_password.txt")).unwrap();
    let e = convert(&opts(&dir.join("compose.yaml"), None))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("compose.yaml:18:11: secrets.db_password.file: ")
            && e.contains("db_password.txt: No such file"),
        "{e}"
    );
}

/// examples/vendor (the app e2e 56 runs) converts and plans: 21 pods, the 22nd service behind a
/// profile, bind-mounted files as File, the router after its 17 backends, legacy_db by name.
#[test]
fn vendor_example_converts_and_plans() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/vendor/compose.yaml");
    let c = convert(&opts(&file, None)).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let pods = docs(&c).iter().filter(|d| d["kind"] == "Pod").count();
    assert_eq!(pods, 21);
    let files = c.yaml.matches("type: File\n").count();
    assert_eq!(
        files, 17,
        "15 backends' config files and the router's two files\n{}",
        c.yaml
    );
    let tmp = tempfile::tempdir().unwrap();
    let yaml = tmp.path().join("vendor.yaml");
    std::fs::write(&yaml, &c.yaml).unwrap();
    let docs = crate::kube::load(&[yaml], &[]).unwrap_or_else(|e| panic!("{e}"));
    let plan = crate::play::plan::plan(&docs, &crate::play::plan::PlanOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let pod = |n: &str| {
        plan.pods
            .iter()
            .find(|p| p.name == n)
            .unwrap_or_else(|| panic!("no {n}"))
    };
    assert_eq!(pod("vendor-router").after.len(), 17);
    assert!(pod("vendor-legacy-db")
        .aliases
        .contains(&"legacy_db".to_string()));
    assert!(pod("vendor-catalog")
        .aliases
        .contains(&"catalog".to_string()));
    assert!(plan.pods.iter().all(|p| p.name != "vendor-debug"));
}

/// Found by the `compose` fuzz target: a container path that is not absolute (here after a
/// space, as a folded flow scalar gives it) converted into a mountPath the executor refuses.
#[test]
fn relative_container_paths_are_refused_where_they_are() {
    let e = err("services:\n  db:\n    image: x\n    volumes: [\"./data: /srv\"]\n");
    assert!(
        e.contains(":4:15: services.db.volumes[0]: container path \" /srv\" is not absolute"),
        "{e}"
    );
    let e = err("services:\n  db:\n    image: x\n    volumes:\n      - type: volume\n        target: var/lib\n");
    assert!(
        e.contains("services.db.volumes[0]: container path \"var/lib\" is not absolute"),
        "{e}"
    );
    let e = err("services:\n  db:\n    image: x\n    tmpfs: [run]\n");
    assert!(
        e.contains("services.db.tmpfs: container path \"run\" is not absolute"),
        "{e}"
    );
}

/// Found by the `compose` fuzz target: two services publishing one host port converted into
/// YAML our executor refuses ("both publish host port 8082/tcp").
#[test]
fn a_host_port_published_twice_is_refused_where_it_is() {
    let e = err("services:\n  a:\n    image: x\n    ports: [\"8082:80\"]\n  b:\n    image: x\n    ports: [\"9000:90\", \"8082:81\"]\n");
    assert!(
        e.contains(":7:")
            && e.contains(
                "services.b.ports[1]: host port 8082/tcp: service a already publishes it"
            ),
        "{e}"
    );
    let e = err("services:\n  a:\n    image: x\n    ports: [\"8082:80\", \"8082:81\"]\n");
    assert!(
        e.contains("host port 8082/tcp: this service already publishes it"),
        "{e}"
    );
    // Other protocol or other address: no clash.
    conv("services:\n  a:\n    image: x\n    ports: [\"8082:80\", \"8082:80/udp\"]\n  b:\n    image: x\n    ports: [\"127.0.0.2:8082:80\"]\n");
}

#[test]
fn an_external_secret_becomes_a_reference_to_the_podman_secret() {
    let c = conv("services:\n  api:\n    image: x\n    secrets:\n      - vendor_token\n      - source: tls\n        target: /etc/tls.key\n        mode: 0400\nsecrets:\n  vendor_token:\n    external: true\n  tls:\n    external: true\n    name: shop-tls-key\n");
    let d = docs(&c);
    let secret = |name: &str| {
        d.iter()
            .find(|o| o["kind"] == "Secret" && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no Secret {name}: {}", c.yaml))
            .clone()
    };
    let token = secret("shop-vendor-token");
    assert_eq!(
        token["metadata"]["annotations"]["io.quadplay.podman-secrets"],
        "vendor_token=vendor_token"
    );
    assert!(
        token["data"].as_object().is_none_or(|m| m.is_empty()),
        "no value in the YAML"
    );
    assert_eq!(
        secret("shop-tls")["metadata"]["annotations"]["io.quadplay.podman-secrets"],
        "tls=shop-tls-key",
        "`name:` is the engine's name"
    );
    // Planned as play plans it: mounted from the Podman secrets, never created or removed.
    let mut loaded = crate::kube::Documents::default();
    crate::kube::load_text(&mut loaded, Path::new("/apps/shop.yaml"), &c.yaml, false)
        .unwrap_or_else(|e| panic!("{e}"));
    let plan = crate::play::plan::plan(&loaded, &crate::play::plan::PlanOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let refs: Vec<&str> = plan
        .podman_secrets
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(refs, ["shop-tls-key", "vendor_token"]);
    assert!(plan.secrets.is_empty(), "{:?}", plan.secrets);
    let mounts: Vec<(String, String, u32)> = plan.pods[0].containers[0]
        .secret_mounts
        .iter()
        .map(|m| (m.secret.clone(), m.target.clone(), m.mode))
        .collect();
    assert_eq!(
        mounts,
        [
            (
                "vendor_token".to_string(),
                "/run/secrets/vendor_token".to_string(),
                0o644
            ),
            (
                "shop-tls-key".to_string(),
                "/etc/tls.key".to_string(),
                0o400
            ),
        ]
    );
}

/// Issue 9: `convert --check` problems point back at the compose file: the key of the service
/// that produced the field (`volumes`, `ports`, `image`), else the service; the converted
/// YAML's own location follows. A message naming no converted object is left as it is.
#[test]
fn check_problems_point_at_the_compose_key_that_made_the_field() {
    let (tmp, file) = project("services:\n  web:\n    image: localhost/web:1\n    ports: [\"8080:80\"]\n    volumes: [\"./conf/app.conf:/etc/app.conf\"]\n  job:\n    image: localhost/job:1\n    scale: 2\n");
    let c = convert(&opts(&file, None)).unwrap_or_else(|e| panic!("{e}"));
    let yaml = tmp.path().join("shop.yaml");
    std::fs::write(&yaml, &c.yaml).unwrap_or_else(|e| panic!("{e}"));
    let docs =
        crate::kube::load(std::slice::from_ref(&yaml), &[]).unwrap_or_else(|e| panic!("{e}"));
    let plan = crate::play::plan::plan(&docs, &crate::play::plan::PlanOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    // The hostPath problem as `play --dry-run` states it, from the plan's own origin.
    let hp = &plan.host_paths[0];
    let problem = format!(
        "{}hostPath {}: does not exist",
        hp.origin,
        hp.path.display()
    );
    let compose = file.display().to_string();
    assert_eq!(
        c.relocate(&problem),
        format!("{compose}:5:5: services.web.volumes: {problem}")
    );
    let port = format!(
        "{}: Pod/shop-web: spec.containers[0].ports[0].hostPort: host port 8080/tcp is in use",
        yaml.display()
    );
    assert_eq!(
        c.relocate(&port),
        format!("{compose}:4:5: services.web.ports: {port}")
    );
    let image = "Deployment/shop-job[1]: container job: image localhost/job:1 is not present and its pull policy is Never";
    assert_eq!(
        c.relocate(image),
        format!("{compose}:7:5: services.job.image: {image}")
    );
    let other = "Pod/shop-web: container web: probe failed";
    assert_eq!(
        c.relocate(other),
        format!("{compose}:2:3: services.web: {other}")
    );
    assert_eq!(
        c.relocate("network quadplay: gone"),
        "network quadplay: gone"
    );
}
