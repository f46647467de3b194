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
