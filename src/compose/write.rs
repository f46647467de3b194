//! Writing a conversion's two files so that a reader finds both or neither: each goes to a
//! temporary file in the target directory first, and only when both are complete on disk are
//! they renamed into place (the `.yaml` first, since the `.kube` names it). A failure removes
//! the temporary files and, if the `.kube` rename fails, puts back the `.yaml` that was there.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::{ComposeError, Converted};

/// Writes `<name>.yaml` and `<name>.kube` into `dir` (created if missing).
pub fn write(conv: &Converted, dir: &Path) -> Result<Vec<PathBuf>, ComposeError> {
    std::fs::create_dir_all(dir).map_err(err(dir))?;
    let yaml = dir.join(format!("{}.yaml", conv.name));
    let kube = dir.join(format!("{}.kube", conv.name));
    let tmp_yaml = staged(dir, &yaml, &conv.yaml)?;
    let tmp_kube = match staged(dir, &kube, &conv.kube) {
        Ok(t) => t,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp_yaml);
            return Err(e);
        }
    };
    let old_yaml = std::fs::read(&yaml).ok();
    if let Err(e) = std::fs::rename(&tmp_yaml, &yaml) {
        let _ = std::fs::remove_file(&tmp_yaml);
        let _ = std::fs::remove_file(&tmp_kube);
        return Err(err(&yaml)(e));
    }
    if let Err(e) = std::fs::rename(&tmp_kube, &kube) {
        let _ = std::fs::remove_file(&tmp_kube);
        match old_yaml {
            Some(old) => {
                let _ = std::fs::write(&yaml, old);
            }
            None => {
                let _ = std::fs::remove_file(&yaml);
            }
        }
        return Err(err(&kube)(e));
    }
    Ok(vec![yaml, kube])
}

fn err(path: &Path) -> impl FnOnce(std::io::Error) -> ComposeError {
    let path = path.to_path_buf();
    move |source| ComposeError::Write { path, source }
}

/// `text` in a new temporary file of `dir`, synced; its path.
fn staged(dir: &Path, target: &Path, text: &str) -> Result<PathBuf, ComposeError> {
    let (path, mut file) = tempfile_in(dir).map_err(err(target))?;
    let done = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(e) = done {
        let _ = std::fs::remove_file(&path);
        return Err(err(target)(e));
    }
    Ok(path)
}

/// A new file `.quadplay-convert-<pid>-<n>` in `dir`, opened exclusively.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    for n in 0..100 {
        let path = dir.join(format!(".quadplay-convert-{}-{n}", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free temporary file name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv() -> Converted {
        Converted {
            name: "shop".into(),
            yaml: "kind: Pod\n".into(),
            objects: Vec::new(),
            kube: "[Kube]\nYaml=shop.yaml\n".into(),
            warnings: Vec::new(),
            notes: Vec::new(),
            origins: Default::default(),
        }
    }

    #[test]
    fn both_files_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("units");
        let written = write(&conv(), &out).unwrap();
        assert_eq!(written, [out.join("shop.yaml"), out.join("shop.kube")]);
        let mut names: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["shop.kube", "shop.yaml"]);
    }

    #[test]
    fn a_kube_that_cannot_be_placed_leaves_the_old_yaml() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("shop.yaml"), "old\n").unwrap();
        // A directory where the .kube goes: its rename fails after the .yaml's succeeded.
        std::fs::create_dir(dir.path().join("shop.kube")).unwrap();
        std::fs::write(dir.path().join("shop.kube").join("x"), "").unwrap();
        assert!(write(&conv(), dir.path()).is_err());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("shop.yaml")).unwrap(),
            "old\n"
        );
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
