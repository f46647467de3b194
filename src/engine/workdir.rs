//! A container's working directory that its image lacks (issue 13, item 10).
//!
//! Kubernetes runtimes (runc under containerd or CRI-O) create a `workingDir` that is missing from
//! the image; Podman (4.3 and 5.4 alike) refuses to start such a container with
//! `workdir "/srv/app" does not exist on container ID` and leaves it created. This module
//! recognises that refusal and builds what [`super::Engine::make_dir`] hands to `podman cp`: a tar
//! stream holding the one directory entry (its missing parents are made by the extraction).

use std::path::{Component, Path};

use super::EngineError;

/// The working directory Podman refused to start a container in, if `err` is that refusal.
pub fn missing_workdir(err: &EngineError) -> Option<&str> {
    let EngineError::Failed { message, .. } = err else {
        return None;
    };
    let start = message.find("workdir \"")? + "workdir \"".len();
    let len = message[start..].find("\" does not exist")?;
    Some(&message[start..start + len])
}

/// A tar stream with one directory entry for the absolute path `dir` (mode 0755, owned by root;
/// `podman cp` gives it to the container's user). None for a path that is not absolute and plain
/// (`.`, `..`), which no refusal of Podman's names for a valid plan.
pub fn dir_archive(dir: &str) -> Option<Vec<u8>> {
    let path = Path::new(dir);
    let mut parts = path.components();
    if parts.next() != Some(Component::RootDir) {
        return None;
    }
    let rel: Vec<&str> = parts
        .map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect::<Option<_>>()?;
    if rel.is_empty() {
        return None;
    }
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o755);
    header.set_uid(0);
    header.set_gid(0);
    header.set_size(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    header.set_mtime(now);
    let mut builder = tar::Builder::new(Vec::new());
    builder
        .append_data(&mut header, format!("{}/", rel.join("/")), std::io::empty())
        .ok()?;
    builder.into_inner().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(message: &str) -> EngineError {
        EngineError::Failed {
            action: "run container web-app".into(),
            message: message.into(),
            code: Some(126),
        }
    }

    #[test]
    fn podman_refusals_are_recognised() {
        // Podman 4.3.1 (`start`) and 5.4.2 (`run --detach`), as seen on Debian 12 and 13.
        let start = failed("unable to start container 95707025d0ee: workdir \"/srv/app/data\" does not exist on container 95707025d0ee");
        assert_eq!(missing_workdir(&start), Some("/srv/app/data"));
        let run = failed("workdir \"/srv/x y\" does not exist on container 7a7972435632");
        assert_eq!(missing_workdir(&run), Some("/srv/x y"));
        assert_eq!(missing_workdir(&failed("image not known")), None);
        let timeout = EngineError::Timeout {
            action: "workdir \"/a\" does not exist".into(),
            seconds: 1,
        };
        assert_eq!(missing_workdir(&timeout), None);
    }

    fn entries(archive: &[u8]) -> Vec<(String, tar::EntryType, u32, u64)> {
        let mut reader = tar::Archive::new(archive);
        reader
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.entry_type(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn the_archive_holds_one_directory_entry() {
        let archive = dir_archive("/srv/app/data").unwrap();
        assert_eq!(
            entries(&archive),
            vec![("srv/app/data/".into(), tar::EntryType::Directory, 0o755, 0)]
        );
        let long = format!("/{}", vec!["d".repeat(60); 5].join("/"));
        assert_eq!(
            entries(&dir_archive(&long).unwrap())[0].0,
            format!("{}/", &long[1..])
        );
        let tidy = entries(&dir_archive("/srv//app/./x/").unwrap());
        assert_eq!(tidy[0].0, "srv/app/x/");
    }

    #[test]
    fn paths_that_are_not_absolute_and_plain_get_no_archive() {
        for bad in ["srv/app", "/", "", "/srv/../etc", "/.."] {
            assert_eq!(dir_archive(bad), None, "{bad}");
        }
    }
}
