//! The server side of the executor's control socket (the protocol and its client are
//! [`crate::control`]): a thread accepts one client at a time, reads its request line and hands it
//! to the supervisor, then relays the answer lines until the verdict.
//!
//! Requests reach the supervisor as a [`Msg::Control`]; it applies them between two looks at the
//! app, one at a time, so a reload never races a stop or another reload.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::time::Duration;

use super::supervise::Msg;
use super::PlayError;
pub use crate::control::{send, socket_path, ClientError, Request};

/// A request waiting for the supervisor, with the way back to its client.
#[derive(Debug, Clone)]
pub struct Pending {
    pub request: Request,
    reply: Sender<String>,
}

impl Pending {
    /// A request and the receiver of its answer lines (what the socket thread relays).
    pub fn new(request: Request) -> (Pending, mpsc::Receiver<String>) {
        let (reply, answers) = mpsc::channel();
        (Pending { request, reply }, answers)
    }

    /// A progress or warning line for the client (lost if it went away).
    pub fn say(&self, text: &str) {
        for line in text.lines() {
            let _ = self.reply.send(format!("| {line}"));
        }
    }

    /// The verdict; ends the exchange.
    pub fn finish(self, result: &Result<String, PlayError>) {
        let last = match result {
            Ok(summary) => format!("= ok: {summary}"),
            Err(e) => {
                self.say(&e.to_string());
                let first = e.to_string().lines().next().unwrap_or_default().to_string();
                format!("= failed: {first}")
            }
        };
        let _ = self.reply.send(last);
    }
}

/// The listening socket; removed when dropped (the executor exits).
#[derive(Debug)]
pub struct Server {
    path: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Listens at `path` (replacing a socket a killed run left) and forwards each request to `tx`.
pub fn listen(path: &Path, tx: Sender<Msg>) -> std::io::Result<Server> {
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = UnixListener::bind(path)?;
    std::thread::Builder::new()
        .name("control".into())
        .stack_size(128 * 1024)
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                if let Err(e) = serve(stream, &tx) {
                    eprintln!("quadplay: control socket: {e}");
                }
            }
        })?;
    Ok(Server {
        path: path.to_path_buf(),
    })
}

/// One client: read its request, hand it to the supervisor, relay the answer lines.
fn serve(stream: UnixStream, tx: &Sender<Msg>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut line = String::new();
    BufReader::new((&stream).take(4096)).read_line(&mut line)?;
    let mut out = &stream;
    let request = match Request::parse(line.trim()) {
        Ok(r) => r,
        Err(e) => return writeln!(out, "= failed: {e}"),
    };
    let (pending, answers) = Pending::new(request);
    if tx.send(Msg::Control(pending)).is_err() {
        return writeln!(out, "= failed: the executor is stopping");
    }
    for answer in answers {
        writeln!(out, "{answer}")?;
        if answer.starts_with("= ") {
            return Ok(());
        }
    }
    writeln!(out, "= failed: the executor stopped before it answered")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real socket: the server relays the supervisor's lines, the client returns the verdict.
    #[test]
    fn a_client_waits_for_the_verdict() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q/app.control");
        let (tx, rx) = mpsc::channel();
        let server = listen(&path, tx).unwrap();
        let supervisor = std::thread::spawn(move || {
            for msg in rx.iter().take(2) {
                let Msg::Control(pending) = msg else {
                    panic!("not a request")
                };
                match pending.request.clone() {
                    Request::Reload => {
                        pending.say("replacing web-pod");
                        pending.finish(&Ok("1 pod(s) replaced".into()));
                    }
                    Request::Replace(_) => {
                        pending.finish(&Err(PlayError::Internal("web: boom\nsecond line".into())))
                    }
                }
            }
        });
        let connect = |request: &Request, seen: &mut Vec<String>| {
            let stream = UnixStream::connect(&path).unwrap();
            let mut w = &stream;
            writeln!(w, "{}", request.line()).unwrap();
            let mut verdict = Err(String::new());
            for line in BufReader::new(&stream).lines() {
                let line = line.unwrap();
                if let Some(s) = line.strip_prefix("= ok: ") {
                    verdict = Ok(s.to_string());
                } else if let Some(s) = line.strip_prefix("= failed: ") {
                    verdict = Err(s.to_string());
                } else {
                    seen.push(line);
                }
            }
            verdict
        };
        let mut seen = Vec::new();
        assert_eq!(
            connect(&Request::Reload, &mut seen),
            Ok("1 pod(s) replaced".into())
        );
        assert_eq!(seen, ["| replacing web-pod"]);
        seen.clear();
        let failed = connect(&Request::Replace(vec!["web".into()]), &mut seen);
        assert_eq!(failed, Err("internal error: web: boom".into()));
        assert_eq!(seen, ["| internal error: web: boom", "| second line"]);
        supervisor.join().unwrap();
        drop(server);
        assert!(!path.exists());
    }
}
