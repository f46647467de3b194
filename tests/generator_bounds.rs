//! The generator binary against hostile and huge search dirs (issue 13, items 4 and 6).
//!
//! The generator runs as root at every boot: one bad file must cost one error, never the run.
//! Each case builds its tree in a temporary dir (a 1.5 GB file is sparse, so it takes no disk)
//! and checks the exit status, the message naming the file, and that the good units are still
//! written. Time is not asserted here (figures live in `benches/generator-hostile.sh`), but a
//! walk into `/proc` or a full read of a huge file would make these tests hang, not pass.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn generator(unit_dirs: &str, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quadplay-generator"))
        .arg("-no-kmsg-log")
        .arg(out)
        .env_clear()
        .env("QUADLET_UNIT_DIRS", unit_dirs)
        .env("QUADPLAY_PODMAN_VERSION", "4.3.1")
        .output()
        .unwrap()
}

fn good_kube(dir: &Path) {
    fs::write(dir.join("good.kube"), "[Kube]\nYaml=app.yaml\n").unwrap();
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_huge_file_is_refused_by_name_and_the_others_are_written() {
    let t = tempfile::tempdir().unwrap();
    let units = t.path().join("units");
    fs::create_dir(&units).unwrap();
    good_kube(&units);
    let big = fs::File::create(units.join("big.container")).unwrap();
    big.set_len(1_500_000_000).unwrap();
    let out = t.path().join("out");
    let run = generator(&units.to_string_lossy(), &out);
    assert_eq!(run.status.code(), Some(1));
    let said = stderr(&run);
    assert!(
        said.contains(&format!(
            "error loading {}/big.container: 1500000000 bytes: unit files larger than 1024 KiB are refused",
            units.display()
        )),
        "{said}"
    );
    assert!(said.len() < 2000, "{} bytes of messages", said.len());
    assert!(out.join("good.service").is_file());
}

#[test]
fn a_10_mb_bad_line_is_quoted_in_part() {
    let t = tempfile::tempdir().unwrap();
    let units = t.path().join("units");
    fs::create_dir(&units).unwrap();
    good_kube(&units);
    // Under the size limit only as one line among a few: write 900 KB of garbage on line 2.
    let line = "x".repeat(900_000);
    fs::write(units.join("bad.kube"), format!("[Kube]\n{line}\n")).unwrap();
    let out = t.path().join("out");
    let run = generator(&units.to_string_lossy(), &out);
    assert_eq!(run.status.code(), Some(1));
    let said = stderr(&run);
    assert!(
        said.contains("bad.kube:2: file contains line 2: “xxxx"),
        "{said}"
    );
    assert!(said.contains("… (900000 bytes in all)"), "{said}");
    assert!(said.len() < 2000, "{} bytes of messages", said.len());
    assert!(out.join("good.service").is_file());
}

#[test]
fn proc_as_a_unit_dir_ends_at_once_with_a_clear_message() {
    let t = tempfile::tempdir().unwrap();
    let units = t.path().join("units");
    fs::create_dir(&units).unwrap();
    good_kube(&units);
    std::os::unix::fs::symlink("/sys", units.join("sys")).unwrap();
    let out = t.path().join("out");
    let run = generator(&format!("/proc:{}", units.display()), &out);
    let said = stderr(&run);
    assert!(
        said.contains("Warning: not searching /proc: it is on a proc pseudo file system"),
        "{said}"
    );
    assert!(
        said.contains("Warning: not searching /sys: it is on a sysfs pseudo file system"),
        "{said}"
    );
    assert_eq!(run.status.code(), Some(0), "{said}");
    assert!(out.join("good.service").is_file(), "{said}");
}

#[test]
fn a_unit_with_100000_groups_converts() {
    let t = tempfile::tempdir().unwrap();
    let units = t.path().join("units");
    fs::create_dir(&units).unwrap();
    let mut text = String::from("[Kube]\nYaml=app.yaml\n");
    for i in 0..100_000 {
        text.push_str(&format!("[X-{i}]\n"));
    }
    fs::write(units.join("many.kube"), text).unwrap();
    let out = t.path().join("out");
    let run = generator(&units.to_string_lossy(), &out);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let service = fs::read_to_string(out.join("many.service")).unwrap();
    assert!(service.contains("\n[X-99999]\n"));
}
