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

/// `$XDG_RUNTIME_DIR/quadplay/<app>.control` (or under `/run` as root).
pub fn socket_path(app: &str) -> PathBuf {
    crate::engine::podman::runtime_dir()
        .join("quadplay")
        .join(format!("{app}.control"))
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
