//! The machine as doctor's checks see it: a [`Host`] trait (paths below a root, commands that can
//! be canned, the user, a generator dry run) and [`RealHost`], this machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::engine::podman::process::run_process;

/// The user the checks are about (the one running `quadplay doctor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// What a command printed, or that it could not run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CmdOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// The machine as the checks see it.
pub trait Host {
    /// Where the absolute host path `abs` is (tests point this below a temporary root).
    fn path(&self, abs: &str) -> PathBuf;
    /// Runs a program; `None` when it cannot be started (not installed).
    fn run(&self, program: &str, args: &[&str]) -> Option<CmdOutput>;
    fn env(&self, name: &str) -> Option<String>;
    fn user(&self) -> User;
    /// Whether the file has file capabilities (`security.capability`), for newuidmap without setuid.
    fn has_file_caps(&self, path: &Path) -> bool;
    /// A dry run of the generator over the user's (or root's) unit files.
    fn generate(&self, user: bool) -> Generated;
}

/// What a generator dry run found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generated {
    /// Services the unit files became.
    pub services: usize,
    /// Errors (each unit with one gets no service).
    pub errors: usize,
    /// What the generator logged: errors and warnings, `file:line: key: what`.
    pub lines: Vec<String>,
}

/// This machine. The generator's dry run comes from the caller (the binary), so that doctor does
/// not depend on the generator, a module of its own level.
#[derive(Debug, Clone, Copy)]
pub struct RealHost {
    generate: fn(bool) -> Generated,
}

impl RealHost {
    /// `generate(user)` runs the generator over the user's (or root's) unit files, dry.
    pub fn new(generate: fn(bool) -> Generated) -> Self {
        RealHost { generate }
    }
}

impl Host for RealHost {
    fn path(&self, abs: &str) -> PathBuf {
        PathBuf::from(abs)
    }

    fn run(&self, program: &str, args: &[&str]) -> Option<CmdOutput> {
        run_with_deadline(program, args, COMMAND_TIMEOUT)
    }

    fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }

    fn user(&self) -> User {
        // SAFETY: getuid/getgid cannot fail; getpwuid returns NULL or a pointer valid until the next
        // getpw* call, read at once into an owned String.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let name = unsafe {
            let pw = libc::getpwuid(uid);
            if pw.is_null() || (*pw).pw_name.is_null() {
                None
            } else {
                Some(
                    std::ffi::CStr::from_ptr((*pw).pw_name)
                        .to_string_lossy()
                        .into_owned(),
                )
            }
        };
        let name = name
            .or_else(|| self.env("USER"))
            .unwrap_or_else(|| uid.to_string());
        User { name, uid, gid }
    }

    fn has_file_caps(&self, path: &Path) -> bool {
        use std::os::unix::ffi::OsStrExt;
        let (Ok(p), Ok(attr)) = (
            std::ffi::CString::new(path.as_os_str().as_bytes()),
            std::ffi::CString::new("security.capability"),
        ) else {
            return false;
        };
        // SAFETY: both pointers are valid NUL-terminated strings; a NULL buffer of size 0 only asks
        // for the attribute's size.
        let size = unsafe { libc::getxattr(p.as_ptr(), attr.as_ptr(), std::ptr::null_mut(), 0) };
        size > 0
    }

    fn generate(&self, user: bool) -> Generated {
        (self.generate)(user)
    }
}

/// How long one probed command may take: a wedged `podman info` (a stuck pause process, a dead
/// NFS home) must not hang the doctor, whose job is to say what is wrong.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs a program with its output captured (see [`run_process`]); kills it at the deadline and
/// reports that as a failed run. `None` when it cannot be started.
pub fn run_with_deadline(program: &str, args: &[&str], limit: Duration) -> Option<CmdOutput> {
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    let out = run_process(cmd, None, Some(limit)).ok()?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Some(match out.status {
        Some(status) => CmdOutput {
            success: status.success(),
            stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
        None => CmdOutput {
            success: false,
            stdout,
            stderr: format!(
                "{program} did not finish within {} s; killed",
                limit.as_secs()
            ),
        },
    })
}
