//! No Secret value in any error or warning, whatever shape the Secret has (issue 13, item 3).
//!
//! Each case is a Secret written wrong the way people get it wrong (a scalar or a list where a
//! mapping belongs, a nested mapping, wrong types, bad base64, a duplicate key, a tab); loading
//! and planning must fail (or warn) with a message that names file:line:column and the field,
//! and that never contains the value.

use std::path::Path;

use quadplay::kube::{self, Documents};
use quadplay::play::plan::{plan, PlanOptions};

const VALUE: &str = "hunter2-Tr0ub4dor";
/// base64 of VALUE with a `!` in the middle: invalid, and still recognisable in a message.
const BAD_BASE64: &str = "aHVudGVy!Mi1UcjB1YjRkb3I=";

const POD: &str = "---\napiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  \
    - name: web\n    image: localhost/busybox:latest\n    env:\n    - name: TOKEN\n      valueFrom: \
    {secretKeyRef: {name: creds, key: token}}\n";

fn secret(body: &str) -> String {
    format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n{body}{POD}")
}

/// Loads and plans `yaml`; every message that comes out (the error, or the warnings).
fn messages(yaml: &str) -> (bool, Vec<String>) {
    let mut docs = Documents::default();
    if let Err(e) = kube::load_text(&mut docs, Path::new("/apps/app.yaml"), yaml, false) {
        return (false, vec![e.to_string()]);
    }
    let mut out: Vec<String> = docs.findings.iter().map(ToString::to_string).collect();
    match plan(&docs, &PlanOptions::default()) {
        Ok(p) => {
            out.extend(p.warnings.iter().map(|w| format!("{w:?}")));
            (true, out)
        }
        Err(e) => {
            out.push(e.to_string());
            (false, out)
        }
    }
}

/// The input is refused with a message at `location` (`line:column`, or a prefix of it) naming
/// `field`, and no message holds
/// the value (nor the bad base64 text).
fn refused_without_value(case: &str, yaml: &str, location: &str, field: &str) {
    let (ok, msgs) = messages(yaml);
    assert!(!ok, "{case}: accepted: {msgs:?}");
    let error = msgs.last().map(String::as_str).unwrap_or_default();
    assert!(
        error.starts_with(&format!("/apps/app.yaml:{location}")),
        "{case}: {error}"
    );
    assert!(error.contains(field), "{case}: no field `{field}`: {error}");
    for m in &msgs {
        assert!(!m.contains(VALUE), "{case}: value in {m}");
        assert!(!m.contains(BAD_BASE64), "{case}: base64 text in {m}");
        assert!(!m.contains("hunter2"), "{case}: part of the value in {m}");
    }
}

#[test]
fn data_or_string_data_as_a_scalar() {
    refused_without_value(
        "data scalar",
        &secret(&format!("data: {VALUE}\n")),
        "5:7",
        "data",
    );
    refused_without_value(
        "stringData quoted scalar",
        &secret(&format!("stringData: \"{VALUE}\"\n")),
        "5:13",
        "stringData",
    );
    refused_without_value(
        "stringData block scalar",
        &secret(&format!("stringData: |\n  token={VALUE}\n")),
        "6:3",
        "stringData",
    );
}

#[test]
fn data_as_a_list_or_nested() {
    refused_without_value(
        "list",
        &secret(&format!("stringData:\n- token: {VALUE}\n")),
        "6:",
        "stringData",
    );
    refused_without_value(
        "nested mapping",
        &secret(&format!("stringData:\n  token:\n    value: {VALUE}\n")),
        "7:5",
        "stringData.token",
    );
    refused_without_value(
        "value as a list",
        &secret(&format!("stringData:\n  token: [{VALUE}]\n")),
        "6:10",
        "stringData.token",
    );
}

#[test]
fn wrong_types_elsewhere_in_the_secret() {
    refused_without_value(
        "immutable",
        &secret(&format!("immutable: {VALUE}\nstringData: {{token: x}}\n")),
        "5:12",
        "immutable",
    );
    refused_without_value(
        "metadata",
        &format!("apiVersion: v1\nkind: Secret\nmetadata: {VALUE}\n{POD}"),
        "3:11",
        "metadata",
    );
    refused_without_value(
        "type",
        &secret(&format!("type: [{VALUE}]\nstringData: {{token: x}}\n")),
        "5:7",
        "type",
    );
}

#[test]
fn bad_base64_names_the_key_not_the_text() {
    let yaml = secret(&format!("data:\n  token: {BAD_BASE64}\n"));
    refused_without_value("bad base64", &yaml, "6:10", "data.token");
    let (_, msgs) = messages(&yaml);
    assert!(
        msgs.last().is_some_and(|m| m.ends_with(
            "not valid base64: character 9 is not a base64 character (whitespace skipped)"
        )),
        "{msgs:?}"
    );
}

#[test]
fn duplicate_keys_are_located_without_their_text() {
    // Someone wrote the values as a set: the "keys" are the secret.
    refused_without_value(
        "values as a set",
        &secret(&format!("stringData: {{{VALUE}, {VALUE}}}\n")),
        "5:33: ",
        "stringData",
    );
    refused_without_value(
        "duplicate in a List item",
        &format!(
            "apiVersion: v1\nkind: List\nitems:\n- kind: Secret\n  metadata: {{name: creds}}\n  \
             stringData:\n    {VALUE}: a\n    {VALUE}: b\n"
        ),
        "8:5",
        "items[0].stringData",
    );
    // Elsewhere a duplicate key is named: it helps and it is not secret.
    let (_, msgs) = messages(&format!("{POD}    env: []\n"));
    assert!(msgs[0].contains("duplicate key `env`"), "{msgs:?}");
}

#[test]
fn scanner_errors_do_not_quote_input() {
    refused_without_value(
        "tab",
        &secret(&format!("stringData:\n  token: x\n\t{VALUE}: y\n")),
        "6:",
        "tab",
    );
    refused_without_value(
        "odd character",
        &secret(&format!("stringData:\n  token: x\n  @{VALUE}: y\n")),
        "7:",
        "unexpected character",
    );
}

#[test]
fn a_good_secret_gives_no_message_holding_its_value() {
    let (ok, msgs) = messages(&secret(&format!(
        "stringData:\n  token: {VALUE}\n  bad=key: {VALUE}\nextra: {VALUE}\n"
    )));
    // `bad=key` is not a valid key: refused, by name (a key is not secret).
    assert!(!ok, "{msgs:?}");
    for m in &msgs {
        assert!(!m.contains(VALUE), "value in {m}");
    }
}
