//! Stable-toolchain property test of compose conversion (the fuzz target `compose` checks the
//! same property, tests/props/compose.rs): whatever `convert` accepts loads, plans and
//! converts as our own input. Compose files are built the way people write them (anchors and
//! merge keys, port and volume forms, replicas), with odd service names and values mixed in.

#[path = "props/compose.rs"]
mod compose;

use proptest::prelude::*;

fn service_name() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::string::string_regex("[a-z][a-z0-9]{0,6}").unwrap(),
        proptest::string::string_regex("[a-zA-Z0-9_.!-]{1,8}").unwrap(),
    ]
}

fn service_body() -> impl Strategy<Value = String> {
    let port = prop::sample::select(vec![
        "\"8080:80\"",
        "\"127.0.0.1:8081:80/udp\"",
        "\"80\"",
        "\"9000-9001:9000-9001\"",
        "{target: 80, published: \"8082\"}",
    ]);
    let volume = prop::sample::select(vec![
        "\"data:/var/lib/data\"",
        "\"./conf:/etc/app:ro\"",
        "\"/srv:/srv:a:b\"",
        "{type: tmpfs, target: /tmp}",
    ]);
    let replicas = prop::sample::select(vec!["1", "3", "0", "1000000000", "-1"]);
    (port, volume, replicas, any::<bool>()).prop_map(|(port, volume, replicas, common)| {
        let base = if common { "    <<: *common\n" } else { "    image: localhost/busybox:latest\n" };
        format!(
            "{base}    ports: [{port}]\n    volumes: [{volume}]\n    deploy: {{replicas: {replicas}}}\n    \
             environment: {{A: \"1\", B: \"$$x\"}}\n"
        )
    })
}

fn compose_file() -> impl Strategy<Value = String> {
    prop::collection::vec((service_name(), service_body()), 1..4).prop_map(|services| {
        let mut text = String::from(
            "x-common: &common\n  image: localhost/busybox:latest\n  restart: unless-stopped\nservices:\n",
        );
        for (name, body) in services {
            text.push_str(&format!("  \"{name}\":\n{body}"));
        }
        text.push_str("volumes:\n  data: {}\n");
        text
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn accepted_compose_is_valid_input(text in compose_file()) {
        compose::check(&text);
    }
}

/// The shipped example converts into valid input (the property on a real file, not only on
/// generated ones).
#[test]
fn example_converts_into_valid_input() {
    compose::check(&std::fs::read_to_string("examples/compose.yaml").unwrap());
}
