//! quadplay: a Quadlet-compatible systemd generator and a kube-play executor for rootless Podman.
//!
//! Two flows run through this library:
//!
//! * the generator (`quadplay-generator`): unit files → [`unit::UnitFile`] → typed Quadlet kinds →
//!   `.service` units (see [`quadlet`]); it never touches D-Bus or the network;
//! * the executor (`quadplay play` / `quadplay down`): Kubernetes YAML → [`kube`] model →
//!   [`plan::Plan`] → applied through an [`engine::Engine`] (the `podman` CLI), then
//!   supervised under systemd.
//!
//! Nothing below the binaries prints to stdout; reports are returned to the caller.

// Every dependency of the library is used by it (the binaries, tests and benches see more
// crates than they use, so the lint is on for the library build only).
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod autoupdate;
pub mod cli;
pub mod compose;
pub mod control;
pub mod docs;
pub mod doctor;
pub mod engine;
pub mod kube;
pub mod plan;
pub mod play;
pub mod quadlet;
pub mod systemd;
pub mod unit;
