//! Planner tests of Secret keys taken from the host: systemd credentials
//! (`io.quadplay.credentials`) and existing Podman secrets (`io.quadplay.podman-secrets`).

use std::path::{Path, PathBuf};

use super::*;
use crate::kube::{self, Documents};
use crate::plan::*;

const VALUE: &[u8] = b"pa55-from-credential";

/// A Secret with one YAML key, one credential key and one Podman-secret key, used as env,
/// envFrom and a volume (one key of it also by subPath).
const APP: &str = r#"apiVersion: v1
kind: Secret
metadata:
  name: db
  annotations:
    io.quadplay.credentials: "password=db-password"
    io.quadplay.podman-secrets: "token=vendor-token"
stringData:
  user: app
---
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: app
    image: localhost/busybox:latest
    env:
    - name: DB_PASSWORD
      valueFrom: {secretKeyRef: {name: db, key: password}}
    - name: TOKEN
      valueFrom: {secretKeyRef: {name: db, key: token}}
    envFrom:
    - {secretRef: {name: db}, prefix: ALL_}
    volumeMounts:
    - {name: creds, mountPath: /etc/app}
    - {name: creds, mountPath: /run/token, subPath: token}
  volumes:
  - name: creds
    secret: {secretName: db, defaultMode: 0400}
"#;

fn docs(yaml: &str) -> Documents {
    let mut d = Documents::default();
    kube::load_text(&mut d, Path::new("/apps/app.yaml"), yaml, false).expect("load");
    d
}

fn opts(creds: &[(&str, &[u8])]) -> PlanOptions {
    PlanOptions {
        unit: Some("app.service".into()),
        runtime_dir: PathBuf::from("/run/user/1001/quadplay/app.service"),
        credentials: Credentials {
            dir: Some(PathBuf::from("/run/user/1001/credentials/app.service")),
            values: creds
                .iter()
                .map(|(n, v)| (n.to_string(), Ok(v.to_vec())))
                .collect(),
        },
        ..PlanOptions::default()
    }
}

fn err_of(yaml: &str, o: &PlanOptions) -> String {
    plan(&docs(yaml), o).expect_err("should fail").to_string()
}

#[test]
fn credential_keys_become_owned_secrets_and_podman_keys_references() {
    let p = plan(&docs(APP), &opts(&[("db-password", VALUE)])).expect("plan");
    let names: Vec<(&str, &SecretSource)> = p
        .secrets
        .iter()
        .map(|s| (s.name.as_str(), &s.source))
        .collect();
    let cred = SecretSource::Credential("db-password".into());
    assert_eq!(
        names,
        [("db-password", &cred), ("db-user", &SecretSource::Yaml)],
        "the Podman-secret key is not created (nor removed) by quadplay"
    );
    assert_eq!(p.secrets[0].data, VALUE);
    assert_eq!(p.podman_secrets.len(), 1);
    let r = &p.podman_secrets[0];
    assert_eq!(r.name, "vendor-token");
    assert_eq!(
        r.origin.location, "/apps/app.yaml:7:33",
        "the annotation's value"
    );
    assert_eq!(
        r.origin.field,
        "metadata.annotations[\"io.quadplay.podman-secrets\"]"
    );

    let c = &p.pods[0].containers[0];
    let env: Vec<(&str, &str)> = c
        .secret_env
        .iter()
        .map(|s| (s.variable.as_str(), s.secret.as_str()))
        .collect();
    assert_eq!(
        env,
        [
            ("ALL_password", "db-password"),
            ("ALL_token", "vendor-token"),
            ("ALL_user", "db-user"),
            ("DB_PASSWORD", "db-password"),
            ("TOKEN", "vendor-token"),
        ]
    );
    assert!(c.env.is_empty(), "no secret value as a plain variable");
}

#[test]
fn secret_volume_gets_credential_files_and_podman_secret_mounts() {
    let p = plan(&docs(APP), &opts(&[("db-password", VALUE)])).expect("plan");
    let set = &p.files[0];
    assert!(set.secret);
    assert_eq!(set.files["password"], (VALUE.to_vec(), 0o400));
    assert_eq!(set.files["user"], (b"app".to_vec(), 0o400));
    assert_eq!(
        set.files["token"],
        (Vec::new(), 0o400),
        "an empty mount point for the Podman secret, never its value"
    );
    let c = &p.pods[0].containers[0];
    assert_eq!(
        c.secret_mounts,
        [
            SecretMount {
                secret: "vendor-token".into(),
                target: "/etc/app/token".into(),
                mode: 0o400,
            },
            SecretMount {
                secret: "vendor-token".into(),
                target: "/run/token".into(),
                mode: 0o400,
            },
        ]
    );
    let binds: Vec<&str> = c
        .mounts
        .iter()
        .map(|m| match m {
            Mount::Bind { target, .. } => target.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        binds,
        ["/etc/app"],
        "subPath of a Podman-secret key mounts only the secret"
    );
}

#[test]
fn a_missing_credential_is_located_and_says_what_to_add() {
    let unset = PlanOptions {
        credentials: Credentials::default(),
        ..opts(&[])
    };
    let e = err_of(APP, &unset);
    assert!(
        e.starts_with(
            "/apps/app.yaml:6:30: Secret/db: metadata.annotations[\"io.quadplay.credentials\"]: "
        ),
        "{e}"
    );
    assert!(
        e.contains("key `password`: credential `db-password`"),
        "{e}"
    );
    assert!(e.contains("$CREDENTIALS_DIRECTORY is unset"), "{e}");
    assert!(e.contains("LoadCredential=db-password:"), "{e}");
    assert!(e.contains("[Service]"), "{e}");

    let e = err_of(APP, &opts(&[("other", VALUE)]));
    assert!(
        e.contains("/run/user/1001/credentials/app.service has no `db-password`"),
        "{e}"
    );
    let mut unreadable = opts(&[]);
    unreadable.credentials.values.insert(
        "db-password".into(),
        Err("/x/db-password is not a regular file".into()),
    );
    let e = err_of(APP, &unreadable);
    assert!(e.contains("is not a regular file"), "{e}");
}

#[test]
fn down_plans_names_without_reading_credentials() {
    let o = PlanOptions {
        down: true,
        credentials: Credentials::default(),
        ..opts(&[])
    };
    let p = plan(&docs(APP), &o).expect("down plans without credentials");
    assert!(p.secrets.iter().any(|s| s.name == "db-password"));
    assert!(!p.secrets.iter().any(|s| s.name == "vendor-token"));
}

#[test]
fn bad_annotations_are_located_errors_without_values() {
    let with = |annotations: &str, data: &str| {
        APP.replace(
            "    io.quadplay.credentials: \"password=db-password\"\n    io.quadplay.podman-secrets: \"token=vendor-token\"\nstringData:\n  user: app\n",
            &format!("{annotations}{data}"),
        )
    };
    let o = opts(&[("db-password", VALUE), ("user", VALUE)]);
    // A key both in stringData and from a credential.
    let yaml = with(
        "    io.quadplay.credentials: \"password=db-password,user\"\n    io.quadplay.podman-secrets: token=vendor-token\n",
        "stringData:\n  user: hunter2-inline\n",
    );
    let e = err_of(&yaml, &o);
    assert!(e.contains("Secret/db: metadata.annotations[\"io.quadplay.credentials\"]: key `user` is also given in data/stringData"), "{e}");
    assert!(!e.contains("hunter2") && !e.contains("pa55"), "{e}");
    // The same key from both annotations.
    let yaml = with(
        "    io.quadplay.credentials: password=db-password\n    io.quadplay.podman-secrets: password=vendor-token\n",
        "",
    );
    let e = err_of(&yaml, &o);
    assert!(e.contains("key `password` is given twice"), "{e}");
    // Names that cannot be a credential file or a `--secret` value.
    for (bad, what) in [
        ("password=../etc/passwd", "credential"),
        ("password=a b", "credential"),
    ] {
        let yaml = with(
            &format!("    io.quadplay.credentials: \"{bad}\"\n    io.quadplay.podman-secrets: token=vendor-token\n"),
            "",
        );
        let e = err_of(&yaml, &o);
        assert!(
            e.contains(&format!("is not a valid {what} name")),
            "{bad}: {e}"
        );
    }
    let yaml = with(
        "    io.quadplay.credentials: password=db-password\n    io.quadplay.podman-secrets: \"token=a=b\"\n",
        "",
    );
    let e = err_of(&yaml, &o);
    assert!(e.contains("`a=b` is not a valid Podman secret name"), "{e}");
    let yaml = with(
        "    io.quadplay.credentials: \"pass/word=db-password\"\n    io.quadplay.podman-secrets: token=vendor-token\n",
        "",
    );
    assert!(err_of(&yaml, &o).contains("`pass/word` is not a valid key"));
}

#[test]
fn a_podman_secret_named_like_an_owned_one_is_refused() {
    // `down` removes `db-password` (key password of Secret db): it must not be the user's.
    let yaml = APP.replace(
        "io.quadplay.podman-secrets: \"token=vendor-token\"",
        "io.quadplay.podman-secrets: \"token=db-password\"",
    );
    let e = err_of(&yaml, &opts(&[("db-password", VALUE)]));
    assert!(
        e.contains("Podman secret `db-password` is also the name quadplay gives key db/password"),
        "{e}"
    );
}

#[test]
fn a_changed_credential_changes_the_digest_of_the_pods_using_it() {
    use crate::play::diff::pod_digest;
    let digest = |value: &[u8]| {
        let p = plan(&docs(APP), &opts(&[("db-password", value)])).expect("plan");
        pod_digest(&p.pods[0], &p)
    };
    assert_eq!(digest(VALUE), digest(VALUE));
    assert_ne!(digest(VALUE), digest(b"rotated"));
}

#[test]
fn credential_names_are_found_for_reading_before_planning() {
    let d = docs(&APP.replace(
        "password=db-password",
        " password=db-password , tls.key=tls,ca ",
    ));
    assert_eq!(credential_names(&d.objects), ["db-password", "tls", "ca"]);
}

#[test]
fn a_reload_after_a_credential_change_replaces_only_the_pods_using_it() {
    use crate::play::diff::{diff, stamp};
    let yaml = format!(
        "{APP}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: other\nspec:\n  containers:\n  - name: app\n    image: localhost/busybox:latest\n"
    );
    let running = |value: &[u8]| {
        let mut p = plan(&docs(&yaml), &opts(&[("db-password", value)])).expect("plan");
        stamp(&mut p);
        p.pods
            .into_iter()
            .map(|p| (p.name, p.labels))
            .collect::<crate::engine::PodLabels>()
    };
    let new = plan(&docs(&yaml), &opts(&[("db-password", b"rotated")])).expect("plan");
    let d = diff(&running(VALUE), &new);
    assert_eq!(d.replace, ["web"]);
    assert_eq!(d.keep, ["other"]);
    assert!(diff(&running(b"rotated"), &new).is_empty());
}
