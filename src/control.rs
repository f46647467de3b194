//! The running executor's control protocol: how `systemctl reload` (through `quadplay reload`)
//! and `quadplay auto-update` ask a running `quadplay play` to change its app, and wait for the
//! verdict. Spelled once here, below both the server (`play::control`) and its clients.
//!
//! `ExecReload=/bin/kill -HUP` would return before anything happened and could not fail; a reload
//! must be synchronous and fail when it fails. So `play` listens on a unix socket,
//! `$XDG_RUNTIME_DIR/quadplay/<app>.control` (`/run/quadplay/…` as root), in a directory only its
//! user can enter. A client writes one request line and reads answer lines until the last one:
//!
//! ```text
//! → reload                      ← | a line of progress or of the error …
//! → replace web-pod db-pod      ← = ok: <summary>      or      ← = failed: <first line of the error>
//! ```

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

/// What a client asks of the running executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Re-read the YAML (and ConfigMap files), apply only the difference.
    Reload,
    /// Recreate these pods with the spec they have (auto-update: their image changed).
    Replace(Vec<String>),
}

impl Request {
    pub fn parse(line: &str) -> Result<Request, String> {
        let mut words = line.split_whitespace();
        match (words.next(), words.clone().next()) {
            (Some("reload"), None) => Ok(Request::Reload),
            (Some("replace"), Some(_)) => Ok(Request::Replace(words.map(String::from).collect())),
            _ => Err(format!("unknown request {line:?}")),
        }
    }

    pub fn line(&self) -> String {
        match self {
            Request::Reload => "reload".into(),
            Request::Replace(pods) => format!("replace {}", pods.join(" ")),
        }
    }
}

/// `$XDG_RUNTIME_DIR/quadplay/<app>.control` (or under `/run` as root). A unix socket path has
/// at most 107 bytes, and a unit name up to 255: a long app name is shortened to its first 40
/// bytes plus a hash of the whole (server and clients compute the same).
pub fn socket_path(app: &str) -> PathBuf {
    crate::engine::podman::runtime_dir()
        .join("quadplay")
        .join(format!("{}.control", short_name(app)))
}

fn short_name(app: &str) -> String {
    const KEEP: usize = 40;
    if app.len() <= KEEP + 17 {
        return app.to_string();
    }
    let mut cut = KEEP;
    while !app.is_char_boundary(cut) {
        cut -= 1;
    }
    // FNV-1a: stable across builds, which the server and an older or newer client must share.
    let hash = app.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{}-{hash:016x}", &app[..cut])
}

/// Why a client got no verdict.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no running `quadplay play` for {app} ({}: {source})", .path.display())]
    NotRunning {
        app: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The executor answered that it failed; the lines it sent were printed.
    #[error("{0}")]
    Failed(String),
}

/// Sends `request` to the executor of `app`, passes each progress line to `progress`, and
/// returns the summary of success.
pub fn send(
    app: &str,
    request: &Request,
    progress: &mut dyn FnMut(&str),
) -> Result<String, ClientError> {
    let path = socket_path(app);
    let io = |source| ClientError::Io {
        path: path.clone(),
        source,
    };
    let mut stream = UnixStream::connect(&path).map_err(|source| ClientError::NotRunning {
        app: app.to_string(),
        path: path.clone(),
        source,
    })?;
    writeln!(stream, "{}", request.line()).map_err(io)?;
    for line in BufReader::new(&stream).lines() {
        let line = line.map_err(io)?;
        if let Some(summary) = line.strip_prefix("= ok: ") {
            return Ok(summary.to_string());
        }
        if let Some(why) = line.strip_prefix("= failed: ") {
            return Err(ClientError::Failed(why.to_string()));
        }
        progress(line.strip_prefix("| ").unwrap_or(&line));
    }
    Err(ClientError::Failed(
        "the executor closed the connection without a verdict".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_app_names_fit_a_socket_path() {
        assert_eq!(short_name("app.service"), "app.service");
        let long = format!("{}.service", "x".repeat(240));
        let short = short_name(&long);
        assert_eq!(short.len(), 40 + 1 + 16);
        assert_ne!(short, short_name(&format!("{}y.service", "x".repeat(240))));
        assert!(short_name(&"é".repeat(100)).len() <= 57);
    }

    #[test]
    fn requests_round_trip() {
        assert_eq!(Request::parse("reload"), Ok(Request::Reload));
        let r = Request::parse("replace a-pod b-pod").unwrap();
        assert_eq!(r, Request::Replace(vec!["a-pod".into(), "b-pod".into()]));
        assert_eq!(Request::parse(&r.line()).unwrap(), r);
        assert!(Request::parse("replace").is_err());
        assert!(Request::parse("reload now").is_err());
        assert!(Request::parse("").is_err());
    }
}
