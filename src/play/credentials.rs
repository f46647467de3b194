//! Reads the systemd credentials the YAML's Secrets name (`io.quadplay.credentials`) from
//! `$CREDENTIALS_DIRECTORY`, before each plan (start, reload, dry run): the planner does no
//! I/O, so it gets the values, or why one could not be read, in [`Credentials`].
//!
//! systemd puts `LoadCredential=`/`SetCredential=`/`SetCredentialEncrypted=` credentials of the
//! `.kube` unit's `[Service]` there, decrypted, readable by the service only. Only regular files
//! are read, up to the size of any input quadplay reads; messages name the file, never the value.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::kube::{Documents, Object};
use crate::play::plan::{credential_names, Credentials, PlanOptions};

/// The largest credential read (systemd itself caps credentials at 1 MiB before v256).
const MAX_CREDENTIAL: u64 = 16 << 20;

/// The environment variable systemd sets for a service with credentials.
pub const CREDENTIALS_DIRECTORY: &str = "CREDENTIALS_DIRECTORY";

/// Reads the credentials `objects` name from `dir` (`$CREDENTIALS_DIRECTORY`; `None` when unset).
pub fn read<'a>(dir: Option<&Path>, objects: impl IntoIterator<Item = &'a Object>) -> Credentials {
    let names = credential_names(objects);
    let mut creds = Credentials {
        dir: dir.map(Path::to_path_buf),
        ..Credentials::default()
    };
    let Some(dir) = dir else {
        return creds;
    };
    for name in names {
        let value = read_one(&dir.join(&name));
        creds.values.insert(name, value);
    }
    creds
}

/// `options` with the credentials the documents name, read now: at every plan, so that a
/// reload sees a credential's new value.
pub fn options_for(options: &PlanOptions, docs: &Documents) -> PlanOptions {
    PlanOptions {
        credentials: read(from_environment().as_deref(), &docs.objects),
        ..options.clone()
    }
}

/// For `--dry-run` from a shell, where no credential may be readable: those that are not are
/// planned as empty, and the note says so (the sources are shown, never the values).
pub fn options_for_dry_run(
    options: &PlanOptions,
    docs: &Documents,
) -> (PlanOptions, Option<String>) {
    let dir = directory(options.unit.as_deref());
    let mut options = PlanOptions {
        credentials: read(dir.as_deref(), &docs.objects),
        ..options.clone()
    };
    let creds = &mut options.credentials;
    let mut unread = Vec::new();
    for name in credential_names(&docs.objects) {
        let value = creds.values.entry(name.clone()).or_insert(Ok(Vec::new()));
        if value.is_err() || creds.dir.is_none() {
            *value = Ok(Vec::new());
            unread.push(name);
        }
    }
    let note = (!unread.is_empty()).then(|| {
        let whence = match &creds.dir {
            Some(dir) => format!("not in {}", dir.display()),
            None => "$CREDENTIALS_DIRECTORY is unset and the unit's credentials are not in \
                     $XDG_RUNTIME_DIR/credentials/"
                .to_string(),
        };
        format!(
            "credential(s) {} not readable here ({whence}): planned without their values, so a \
             pod using one may show as replaced; the unit reads them at start",
            unread.join(", ")
        )
    });
    (options, note)
}

/// The directory a dry run reads from: `$CREDENTIALS_DIRECTORY`, else (`play --dry-run --unit U`
/// run from a shell) the running unit's own, `$XDG_RUNTIME_DIR/credentials/U`, when it exists. A
/// start or reload reads `$CREDENTIALS_DIRECTORY` only: a directory systemd left behind must not
/// stand in for a credential the unit no longer passes.
fn directory(unit: Option<&str>) -> Option<PathBuf> {
    if let Some(dir) = from_environment() {
        return Some(dir);
    }
    let unit = unit?;
    let dir = crate::engine::podman::runtime_dir()
        .join("credentials")
        .join(unit);
    dir.is_dir().then_some(dir)
}

/// `$CREDENTIALS_DIRECTORY`, if set and not empty.
fn from_environment() -> Option<PathBuf> {
    std::env::var_os(CREDENTIALS_DIRECTORY)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

/// One credential's value, or why not (the path and the reason, never content).
fn read_one(path: &Path) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = path.parent().unwrap_or(path).display();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            return Err(format!("{dir} has no `{name}`"));
        }
        Err(e) => return Err(format!("{shown}: {e}")),
    };
    if !meta.is_file() {
        return Err(format!("{shown} is not a regular file"));
    }
    if meta.len() > MAX_CREDENTIAL {
        return Err(format!(
            "{shown} is larger than {} MiB",
            MAX_CREDENTIAL >> 20
        ));
    }
    let mut value = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CREDENTIAL + 1).read_to_end(&mut value))
        .map_err(|e| format!("{shown}: {e}"))?;
    if value.len() as u64 > MAX_CREDENTIAL {
        return Err(format!(
            "{shown} grew larger than {} MiB",
            MAX_CREDENTIAL >> 20
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_named_credentials_and_says_which_are_missing_without_values() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("db-password"), b"hunter2-value").unwrap();
        std::fs::create_dir(dir.path().join("a-dir")).unwrap();
        let yaml = dir.path().join("app.yaml");
        std::fs::write(
            &yaml,
            "kind: Secret\nmetadata:\n  name: db\n  annotations:\n    io.quadplay.credentials: \"password=db-password, tls, dir=a-dir\"\n",
        )
        .unwrap();
        let docs = crate::kube::load(&[yaml], &[]).unwrap();
        let creds = read(Some(dir.path()), &docs.objects);
        assert_eq!(creds.values["db-password"], Ok(b"hunter2-value".to_vec()));
        let missing = creds.values["tls"].clone().unwrap_err();
        assert!(missing.ends_with("has no `tls`"), "{missing}");
        assert!(creds.values["a-dir"]
            .clone()
            .unwrap_err()
            .ends_with("is not a regular file"));
        assert!(
            !format!("{creds:?}").contains("hunter2"),
            "Debug shows no value"
        );
        let unset = read(None, &docs.objects);
        assert!(unset.values.is_empty() && unset.dir.is_none());
    }

    #[test]
    fn a_dry_run_without_credentials_plans_them_empty_and_says_so_in_one_clean_line() {
        if std::env::var_os(CREDENTIALS_DIRECTORY).is_some() {
            return; // run under a unit that passes credentials: the unset case cannot be seen
        }
        let dir = tempfile::tempdir().unwrap();
        let yaml = dir.path().join("app.yaml");
        std::fs::write(
            &yaml,
            "kind: Secret\nmetadata:\n  name: db\n  annotations:\n    io.quadplay.credentials: \"password=db-password\"\n",
        )
        .unwrap();
        let docs = crate::kube::load(&[yaml], &[]).unwrap();
        let (options, note) = options_for_dry_run(&PlanOptions::default(), &docs);
        assert_eq!(options.credentials.values["db-password"], Ok(Vec::new()));
        let note = note.expect("a note for the unread credential");
        assert!(note.starts_with("credential(s) db-password not readable here ($CREDENTIALS_DIRECTORY is unset and the unit's credentials are not in $XDG_RUNTIME_DIR/credentials/): "), "{note}");
        assert!(
            !note.contains("  "),
            "no run of spaces from a broken line continuation: {note}"
        );
    }
}
