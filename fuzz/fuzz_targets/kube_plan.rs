//! Fuzz target: Kubernetes YAML load + plan without Podman. Property: no secret value in any
//! message (../../tests/props/kube.rs). Inputs of odd length are planned with --strict.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/props/kube.rs"]
mod kube;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        kube::check(text, data.len() % 2 == 1);
    }
});
