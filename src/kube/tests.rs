use std::path::{Path, PathBuf};

use super::*;

fn load_str(text: &str) -> Result<Documents, KubeError> {
    let mut docs = Documents::default();
    load_text(&mut docs, Path::new("/apps/app.yaml"), text, false)?;
    check_unique_names(&docs)?;
    Ok(docs)
}

#[test]
fn multi_document_stream_with_list_and_empty_documents() {
    let docs = load_str(
        "---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {A: '1'}\n\
         ---\n---\n\
         apiVersion: v1\nkind: List\nitems:\n\
         - apiVersion: v1\n  kind: Pod\n  metadata: {name: one}\n  spec:\n    containers: [{name: c, image: busybox}]\n\
         - apiVersion: v1\n  kind: Secret\n  metadata: {name: s}\n  stringData: {k: v}\n",
    )
    .unwrap();
    let kinds: Vec<String> = docs.objects.iter().map(Object::describe).collect();
    assert_eq!(kinds, ["ConfigMap/cfg", "Pod/one", "Secret/s"]);
    assert_eq!(docs.objects[1].source.pos.line, 11);
    assert_eq!(docs.objects[1].source.dir, PathBuf::from("/apps"));
    assert!(docs.findings.is_empty(), "{:?}", docs.findings);
}

#[test]
fn unknown_and_host_ignored_fields_become_findings_with_positions() {
    let docs = load_str(
        "kind: Deployment\nmetadata:\n  name: web\nspec:\n  strategy: {type: Recreate}\n  template:\n    spec:\n      nodeSelector: {a: b}\n      containers:\n      - name: app\n        image: busybox\n        workdir: /srv\n        lifecycle:\n          preStop: {exec: {command: [x]}}\n",
    )
    .unwrap();
    let f: Vec<(String, String, String)> = docs
        .findings
        .iter()
        .map(|f| (f.location.clone(), f.field.clone(), f.message.clone()))
        .collect();
    assert_eq!(f.len(), 4, "{f:#?}");
    assert_eq!(f[0].0, "/apps/app.yaml:5:13");
    assert_eq!(f[0].1, "spec.strategy");
    assert_eq!(f[0].2, "ignored on a single host");
    assert_eq!(f[1].1, "spec.template.spec.nodeSelector");
    assert_eq!(f[2].1, "spec.template.spec.containers[0].workdir");
    assert!(f[2].2.contains("did you mean `workingDir`"), "{}", f[2].2);
    assert_eq!(f[3].1, "spec.template.spec.containers[0].lifecycle.preStop");
    assert_eq!(f[3].0, "/apps/app.yaml:14:20");
    assert!(docs.findings.iter().all(|x| x.object == "Deployment/web"));
}

#[test]
fn unsupported_kinds_are_findings_not_silence() {
    let docs = load_str("kind: Ingress\nmetadata: {name: in}\nspec: {rules: []}\n").unwrap();
    assert_eq!(docs.findings.len(), 1);
    assert_eq!(docs.findings[0].object, "Ingress/in");
    assert!(docs.findings[0].message.contains("not supported"));
    assert!(docs.findings[0]
        .message
        .ends_with("(publish with a hostPort or --publish instead)"));
}

#[test]
fn errors_name_file_line_object_and_field() {
    let err = load_str("kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    ports:\n    - containerPort: http\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "/apps/app.yaml:7:22: Pod/p: spec.containers[0].ports[0].containerPort: expected an integer, found `http`"
    );
    let err = load_str("kind: Pod\nmetadata: {labels: {a: b}}\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("/apps/app.yaml:2:11: Pod: metadata.name: missing name"),
        "{err}"
    );
    let err = load_str("kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - image: x\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("spec.containers[0]: missing field `name`"),
        "{err}"
    );
    let err = load_str("metadata: {name: p}\n").unwrap_err().to_string();
    assert!(err.contains("missing `kind`"), "{err}");
    let err = load_str("kind: Pod\nmetadata: {name: p\n")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("/apps/app.yaml:"), "{err}");
    assert!(err.contains("invalid YAML"), "{err}");
}

#[test]
fn configmap_files_hold_only_configmaps_and_names_are_unique() {
    let mut docs = Documents::default();
    let err = load_text(
        &mut docs,
        Path::new("/c/extra.yaml"),
        "kind: Secret\nmetadata: {name: s}\n",
        true,
    )
    .unwrap_err();
    assert!(err.to_string().contains("only ConfigMaps"), "{err}");
    let err = load_str(
        "kind: ConfigMap\nmetadata: {name: a}\n---\nkind: ConfigMap\nmetadata: {name: a}\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("/apps/app.yaml:5:"), "{err}");
    assert!(
        err.contains("defined twice (first at /apps/app.yaml:2:"),
        "{err}"
    );
}

#[test]
fn load_reads_files_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.yaml");
    let b = dir.path().join("b.yaml");
    let c = dir.path().join("cm.yaml");
    std::fs::write(
        &a,
        "kind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: x, image: i}]}\n",
    )
    .unwrap();
    std::fs::write(
        &b,
        "kind: Pod\nmetadata: {name: b}\nspec: {containers: [{name: x, image: i}]}\n",
    )
    .unwrap();
    std::fs::write(&c, "kind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\n").unwrap();
    let docs = load(&[a.clone(), b], &[c]).unwrap();
    let names: Vec<&str> = docs.objects.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert!(docs.objects[2].source.configmap_file);
    assert_eq!(docs.files[0], a);
    let err = load(&[dir.path().join("missing.yaml")], &[]).unwrap_err();
    assert!(
        err.to_string().contains("missing.yaml: cannot read"),
        "{err}"
    );
}

#[test]
fn kubectl_dry_run_output_gives_no_noise() {
    // `kubectl create deployment web --image=busybox --dry-run=client -o yaml`, verbatim.
    let docs = load_str(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  creationTimestamp: null\n  labels:\n    app: web\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: web\n  strategy: {}\n  template:\n    metadata:\n      creationTimestamp: null\n      labels:\n        app: web\n    spec:\n      containers:\n      - image: busybox\n        name: busybox\n        resources: {}\nstatus: {}\n",
    )
    .unwrap();
    assert!(docs.findings.is_empty(), "{:?}", docs.findings);
    // A non-empty strategy is still reported.
    let docs =
        load_str("kind: Deployment\nmetadata: {name: w}\nspec:\n  strategy: {type: Recreate}\n")
            .unwrap();
    assert_eq!(docs.findings.len(), 1);
}

#[test]
fn crlf_and_byte_order_mark_are_fine() {
    let docs = load_str("\u{feff}kind: Pod\r\nmetadata:\r\n  name: p\r\nspec:\r\n  containers: [{name: c, image: i}]\r\n").unwrap();
    assert_eq!(docs.objects[0].describe(), "Pod/p");
    assert_eq!(docs.objects[0].tree.locate("spec.containers").line, 5);
}

#[test]
fn an_ordinary_claim_spec_is_ignored_on_a_single_host_not_unknown() {
    let docs = load_str(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec:\n  accessModes: [ReadWriteOnce]\n  storageClassName: standard\n  volumeMode: Filesystem\n  resources: {requests: {storage: 1Gi}}\n",
    )
    .unwrap();
    let f: Vec<(&str, &str)> = docs
        .findings
        .iter()
        .map(|f| (f.field.as_str(), f.message.as_str()))
        .collect();
    assert_eq!(
        f,
        [
            ("spec.accessModes", "ignored on a single host"),
            ("spec.storageClassName", "ignored on a single host"),
            ("spec.volumeMode", "ignored on a single host"),
            (
                "spec.resources",
                "ignored on a single host (a claim is a Podman named volume)"
            ),
        ]
    );
    assert!(docs
        .findings
        .iter()
        .all(|x| x.object == "PersistentVolumeClaim/data"));
}

#[test]
fn replicas_beyond_one_host_are_refused_where_they_stand() {
    let yaml = |n: u64| {
        format!(
            "kind: Deployment\nmetadata: {{name: web}}\nspec:\n  replicas: {n}\n  template:\n    spec:\n      containers: [{{name: c, image: i}}]\n"
        )
    };
    let err = load_str(&yaml(1_000_000_000)).unwrap_err().to_string();
    assert_eq!(
        err,
        "/apps/app.yaml:4:13: Deployment/web: spec.replicas: 1000000000 replicas is more than the 1000 one host can run"
    );
    let err = load_str(&yaml(1001)).unwrap_err().to_string();
    assert!(err.contains("spec.replicas: 1001 replicas"), "{err}");
    assert!(load_str(&yaml(u64::from(MAX_REPLICAS))).is_ok());
}

#[test]
fn an_alias_bomb_is_refused_at_the_alias_that_crosses_the_bound() {
    let mut y = String::from("kind: ConfigMap\nmetadata: {name: big}\ndata:\n  a: &big ");
    y.push_str(&"x".repeat(1 << 20));
    y.push_str("\n  list:\n");
    for _ in 0..40 {
        y.push_str("  - *big\n");
    }
    let err = load_str(&y).unwrap_err().to_string();
    // The anchor (1 MiB) and 30 aliases fit in 32 MiB with the keys; the 31st (line 36) does not.
    assert_eq!(
        err,
        "/apps/app.yaml:36:5: invalid YAML: the YAML expands to more than 32 MiB of text (aliases included)"
    );
}

#[test]
fn duplicate_keys_are_found_among_many_and_point_at_the_first() {
    let mut y = String::from("kind: ConfigMap\nmetadata: {name: keys}\ndata:\n");
    for i in 0..5000 {
        y.push_str(&format!("  k{i}: v\n"));
    }
    y.push_str("  k17: again\n");
    let err = load_str(&y).unwrap_err().to_string();
    assert_eq!(
        err,
        "/apps/app.yaml:5004:3: invalid YAML: data.k17: duplicate key `k17` (first at line 21, column 3)"
    );
}

#[test]
fn only_regular_files_of_bounded_size_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("app.yaml");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo has no other precondition.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    // Nobody writes to the FIFO: a blocking open or read would hang this test.
    let err = load(std::slice::from_ref(&fifo), &[])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "{}: is a FIFO; only regular files are read (not a FIFO, device or directory)",
            fifo.display()
        )
    );
    let err = load(&[], &[PathBuf::from("/dev/zero")])
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("/dev/zero: is a device;"), "{err}");
    let err = load(&[dir.path().to_path_buf()], &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains(": is a directory;"), "{err}");

    // A sparse file just over the bound is refused from its size, before any read.
    let big = dir.path().join("big.yaml");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(MAX_FILE_BYTES + 1)
        .unwrap();
    let err = load(std::slice::from_ref(&big), &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("larger than 16 MiB"), "{err}");

    let latin1 = dir.path().join("latin1.yaml");
    std::fs::write(&latin1, b"kind: Pod\nmetadata:\n  name: caf\xe9\n").unwrap();
    let err = load(std::slice::from_ref(&latin1), &[])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!("{}:3:12: invalid YAML: not UTF-8 text", latin1.display())
    );
}
