//! `quadplay-generator`: the systemd generator (system and user), Quadlet-compatible.

fn main() {
    // Filled in by the generator work (src/quadlet).
    std::process::exit(0);
}
