//! quadplay's build tasks, run by `make`: `xtask man SRC OUT` writes every man page built from the
//! markdown sources in SRC (`man/`) into OUT. Kept out of the shipped library and binaries.

mod cli_page;
mod roff;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [task, src, out] if task == "man" => write_man_pages(Path::new(src), Path::new(out)),
        _ => Err("usage: xtask man SRC-DIR OUT-DIR".to_string()),
    };
    match result {
        Ok(written) => {
            for path in written {
                println!("wrote {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Every page as (file name, roff text), from the markdown sources `(file name, text)`:
/// `quadplay.1.md` gets its generated COMMANDS section; `footer: quadplay` names the version.
fn man_pages(sources: &[(String, String)]) -> Result<Vec<(String, String)>, String> {
    let version = quadplay::cli::Cli::command()
        .get_version()
        .unwrap_or_default()
        .to_string();
    let mut pages = Vec::new();
    for (file, md) in sources {
        let name = file.strip_suffix(".md").unwrap_or(file).to_string();
        let md = md.replacen(
            "\nfooter: quadplay\n",
            &format!("\nfooter: quadplay {version}\n"),
            1,
        );
        let roff = if name == "quadplay.1" {
            cli_page::quadplay_1(&md)?
        } else {
            roff::markdown_to_roff(&md)
        };
        pages.push((name, roff));
    }
    Ok(pages)
}

/// The `*.md` files of `dir`, by name, sorted.
fn read_sources(dir: &Path) -> Result<Vec<(String, String)>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut sources = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.ends_with(".md") {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            sources.push((name.to_string(), text));
        }
    }
    sources.sort();
    Ok(sources)
}

/// Writes every page built from `src` into `out` (created if missing); the paths written.
fn write_man_pages(src: &Path, out: &Path) -> Result<Vec<PathBuf>, String> {
    let pages = man_pages(&read_sources(src)?)?;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut written = Vec::new();
    for (name, text) in pages {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_pages() -> Vec<(String, String)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../man");
        let sources = read_sources(&dir).unwrap_or_else(|e| panic!("{e}"));
        man_pages(&sources).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn every_source_becomes_a_page_with_the_version() {
        let pages = all_pages();
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["quadplay-generator.8", "quadplay.1", "quadplay.unit.5"]
        );
        let version = quadplay::cli::Cli::command()
            .get_version()
            .unwrap_or_default()
            .to_string();
        for (name, text) in &pages {
            let th = text.lines().next().unwrap_or_default();
            assert!(th.contains(&format!("quadplay {version}")), "{name}: {th}");
        }
    }

    #[test]
    fn every_page_renders_without_groff_warnings() {
        // groff is what man uses; where it is not installed this test has nothing to run.
        let Ok(dir) = tempfile::tempdir() else { return };
        for (name, text) in all_pages() {
            let path = dir.path().join(&name);
            assert!(std::fs::write(&path, &text).is_ok());
            let Ok(out) = std::process::Command::new("groff")
                .args(["-ww", "-man", "-Tutf8"])
                .arg(&path)
                .output()
            else {
                return;
            };
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && stderr.is_empty(),
                "{name}: {stderr}"
            );
            assert!(out.stdout.len() > 1000, "{name} renders almost nothing");
        }
    }
}
