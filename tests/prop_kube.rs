//! Stable-toolchain property test of YAML load + plan (no Podman): no secret value in any
//! message or planned pod, whatever shape the Secret has and however pods refer to it (the
//! fuzz target `kube_plan` checks the same property, tests/props/kube.rs).

#[path = "props/kube.rs"]
mod kube;

use base64::Engine as _;
use proptest::prelude::*;

/// The Secret's data in one of the shapes people (and attackers) write; `all` adds the wrong
/// shapes (a scalar or a list where a mapping belongs), whose messages used to quote the value.
fn secret_data(all: bool) -> impl Strategy<Value = String> {
    let m = kube::MARKER;
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{m}-decoded"));
    let mut shapes = vec![
        format!("stringData:\n  password: {m}-plain\n"),
        format!("stringData:\n  password: \"{m}\\nsecond line\"\n"),
        format!("data:\n  token: {b64}\n"),
        format!("data:\n  token: {m}-not-base64\n"),
        format!("stringData:\n  nested: {{deep: {m}-nested}}\n"),
        format!("data:\n  bad key!: {b64}\n"),
        format!("stringData:\n  password: {m}\nimmutable: maybe\n"),
        format!("stringData:\n  password: &pw {m}-anchored\n"),
    ];
    if all {
        shapes.extend([
            format!("data: {m}-scalar\n"),
            format!("stringData: {m}-scalar\n"),
            format!("stringData: [{m}-in-a-list]\n"),
        ]);
    }
    prop::sample::select(shapes)
}

/// How the workload uses the Secret `db`.
fn usage() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "env: [{name: P, valueFrom: {secretKeyRef: {name: db, key: password}}}]",
        "env: [{name: P, valueFrom: {secretKeyRef: {name: db, key: missing}}}]",
        "env: [{name: P, valueFrom: {secretKeyRef: {name: nosuch, key: password}}}]",
        "envFrom: [{secretRef: {name: db}}]",
        "envFrom: [{secretRef: {name: db}, prefix: \"bad prefix \"}]",
        "volumeMounts: [{name: s, mountPath: /run/s}]",
        "volumeMounts: [{name: s, mountPath: \"/run/s:ro\"}]",
        "args: [\"$(P)\"]",
    ])
}

fn yaml(all: bool) -> impl Strategy<Value = String> {
    (secret_data(all), usage(), 0u32..4, any::<bool>()).prop_map(|(data, usage, replicas, list)| {
        let secret = format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n{data}");
        let pod = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  \
             replicas: {replicas}\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    \
             metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n        - name: web\n          \
             image: localhost/busybox:latest\n          {usage}\n      volumes:\n        - name: s\n          \
             secret: {{secretName: db}}\n"
        );
        if list {
            let indent = |doc: &str| doc.replace('\n', "\n    ");
            format!("apiVersion: v1\nkind: List\nitems:\n  - {}\n  - {}\n", indent(&secret), indent(&pod))
        } else {
            format!("{secret}---\n{pod}")
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_secret_in_any_message(text in yaml(false), strict in any::<bool>()) {
        kube::check(&text, strict);
    }

    #[test]
    fn no_secret_in_any_message_whatever_the_shape(text in yaml(true), strict in any::<bool>()) {
        kube::check(&text, strict);
    }
}
