//! Stable-toolchain property test of compose conversion (the fuzz target `compose` checks the
//! same property, tests/props/compose.rs): whatever `convert` accepts loads, plans and
//! converts as our own input. Compose files are built the way people write them (anchors and
//! merge keys, port and volume forms, replicas, secrets carrying the marker), with odd service
//! names and values mixed in.

#[path = "props/compose.rs"]
mod compose;

use proptest::prelude::*;

/// `odd` adds names that collapse to nothing or to each other.
fn service_name(odd: bool) -> impl Strategy<Value = String> {
    if odd {
        proptest::string::string_regex("[a-zA-Z0-9_.!-]{1,8}").unwrap()
    } else {
        proptest::string::string_regex("[a-z][a-z0-9]{0,6}").unwrap()
    }
}

/// `odd` adds replica counts that convert must refuse (out of range, or several replicas
/// with one published host port).
fn service_body(odd: bool) -> impl Strategy<Value = String> {
    // `@P`, `@Q` and `@R` become host ports of this service's own (two services never share
    // one); `@P-@R:80` is a host range of one port per replica for 3 replicas.
    let port = prop::sample::select(vec![
        "\"@P:80\"",
        "\"127.0.0.1:@P:80/udp\"",
        "\"80\"",
        "\"@P-@Q:9000-9001\"",
        "\"@P-@R:80\"",
        "{target: 80, published: \"@P\"}",
    ]);
    let volume = prop::sample::select(vec![
        "\"data:/var/lib/data\"",
        "\"./conf:/etc/app:ro\"",
        "\"/srv:/srv:a:b\"",
        "{type: tmpfs, target: /tmp}",
    ]);
    let replicas = if odd {
        prop::sample::select(vec!["3", "1000000000", "-1"])
    } else {
        prop::sample::select(vec!["1", "0"])
    };
    // A secret reference as people write it, or one that is wrong (undeclared, bad mode).
    let secret = prop::sample::select(vec![
        "db_password",
        "{source: db_password, target: pw, mode: 0400}",
        "{source: db_password, mode: \"x\"}",
        "missing",
    ]);
    (port, volume, replicas, any::<bool>(), secret).prop_map(|(port, volume, replicas, common, secret)| {
        let base = if common { "    <<: *common\n" } else { "    image: localhost/busybox:latest\n" };
        format!(
            "{base}    ports: [{port}]\n    volumes: [{volume}]\n    deploy: {{replicas: {replicas}}}\n    \
             environment: {{A: \"1\", B: \"$$x\"}}\n    secrets: [{secret}]\n"
        )
    })
}

fn compose_file(odd: bool) -> impl Strategy<Value = String> {
    prop::collection::vec((service_name(odd), service_body(odd)), 1..4).prop_map(|services| {
        let mut text = String::from(
            "x-common: &common\n  image: localhost/busybox:latest\n  restart: unless-stopped\nservices:\n",
        );
        for (i, (name, body)) in services.iter().enumerate() {
            let body = body
                .replace("@P", &(8000 + 10 * i).to_string())
                .replace("@Q", &(8001 + 10 * i).to_string())
                .replace("@R", &(8002 + 10 * i).to_string());
            text.push_str(&format!("  \"{name}\":\n{body}"));
        }
        text.push_str("volumes:\n  data: {}\n");
        text.push_str(&format!(
            "secrets:\n  db_password:\n    content: \"{}-hunter2\"\n",
            compose::MARKER
        ));
        text
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn accepted_compose_is_valid_input(text in compose_file(false)) {
        prop_assert!(compose::check(&text), "scratch file not written");
    }

    #[test]
    fn accepted_compose_with_odd_names_and_replicas_is_valid_input(text in compose_file(true)) {
        prop_assert!(compose::check(&text), "scratch file not written");
    }
}

/// The shipped example converts into valid input (the property on a real file, not only on
/// generated ones).
#[test]
fn example_converts_into_valid_input() {
    assert!(compose::check(
        &std::fs::read_to_string("examples/compose.yaml").unwrap()
    ));
}

/// Secret contents that conversion refuses or warns about: the messages name the key, never
/// the value (the property on hand-made shapes, not only on generated ones).
#[test]
fn secret_content_stays_out_of_messages() {
    let m = compose::MARKER;
    for secrets in [
        format!("  s: {{content: \"{m}\", bogus: 1}}"),
        format!("  s: {{content: \"{m}\", file: [x]}}"),
        format!("  s: {{content: \"{m}\", environment: {{a: b}}}}"),
        format!("  s:\n    content: \"{m}\"\n    external: maybe"),
    ] {
        let text = format!(
            "services:\n  web:\n    image: busybox\n    secrets: [s, {{source: s, mode: \"x\"}}]\nsecrets:\n{secrets}\n"
        );
        assert!(compose::check(&text), "scratch file not written");
    }
}
