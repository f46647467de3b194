//! Stable-toolchain property tests of the generator on one unit of each kind with a drop-in
//! (the fuzz target `generator` checks the same properties, tests/props/generator.rs): nothing
//! lands outside the output dir, written units read back as written, converted units re-parse
//! to the same values. Values come from the keys real units use, with hostile characters and
//! names (`../`, backslashes at line ends, NUL, C1 controls) mixed in.

#[path = "props/generator.rs"]
mod generator;
#[path = "props/unit.rs"]
mod unit;

use proptest::prelude::*;

fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::string::string_regex("[a-z0-9.:/=_-]{1,12}").unwrap(),
        proptest::string::string_regex(
            "[a-z ]{0,6}(\\\\|\\\\\\\\|\u{0}|\u{85}|\"|'|%|\\$|\t)[a-z ]{0,6}"
        )
        .unwrap(),
        prop::sample::select(vec![
            "../../../../escape",
            "../x.service",
            "a/b",
            "default.target",
            "multi-user.target",
            "x@y",
            "-",
            "",
        ])
        .prop_map(str::to_string),
    ]
}

/// `(group, key)` pairs that every kind reads, plus `[Install]` and `[Service]` keys whose
/// values become file names.
fn entry(group: &'static str) -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        (group, "Image"),
        (group, "Exec"),
        (group, "Environment"),
        (group, "Label"),
        (group, "PodmanArgs"),
        (group, "PublishPort"),
        (group, "Volume"),
        (group, "Network"),
        (group, "Yaml"),
        (group, "ContainerName"),
        (group, "ServiceName"),
        ("Install", "WantedBy"),
        ("Install", "RequiredBy"),
        ("Install", "UpheldBy"),
        ("Install", "Alias"),
        ("Install", "DefaultInstance"),
        ("Service", "Environment"),
        ("Unit", "Description"),
    ]);
    (key, hostile()).prop_map(|((g, k), v)| format!("[{g}]\n{k}={v}\n"))
}

fn group_of(kind: &str) -> &'static str {
    match kind {
        "container" => "Container",
        "volume" => "Volume",
        "network" => "Network",
        "kube" => "Kube",
        "pod" => "Pod",
        "image" => "Image",
        "build" => "Build",
        _ => "Artifact",
    }
}

fn case() -> impl Strategy<Value = (String, String, String, String, bool)> {
    prop::sample::select(generator::KINDS.to_vec()).prop_flat_map(|kind| {
        let group = group_of(kind);
        let name = prop_oneof![
            proptest::string::string_regex("[a-z]{1,6}").unwrap(),
            proptest::string::string_regex("[a-z]{1,4}@[a-z.]{0,4}").unwrap(),
            proptest::string::string_regex("[a-z\\\\ %:-]{1,8}").unwrap(),
        ];
        let base = format!("[{group}]\nImage=localhost/busybox:latest\nYaml=app.yaml\n");
        let unit = prop::collection::vec(entry(group), 0..5)
            .prop_map(move |entries| format!("{base}{}", entries.concat()));
        let dropin = prop::collection::vec(entry(group), 0..3).prop_map(|e| e.concat());
        (Just(kind.to_string()), name, unit, dropin, any::<bool>())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn generator_stays_in_its_output_dir((kind, name, unit, dropin, user) in case()) {
        generator::check(&generator::Case { name: &name, kind: &kind, unit: &unit, dropin: &dropin, user });
    }
}
