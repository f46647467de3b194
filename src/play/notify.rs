//! sd_notify messages to the service manager, only when it gave us `$NOTIFY_SOCKET`.
//!
//! The unit is `Type=notify` with `NotifyAccess=main`: we are the main process, so only our own
//! messages count, and Podman children get no `NOTIFY_SOCKET` (see `engine::podman`).

use std::time::Duration;

use sd_notify::NotifyState;

/// Sends sd_notify messages when running under a service manager; otherwise does nothing.
#[derive(Debug, Clone, Copy)]
pub struct Notifier {
    enabled: bool,
}

impl Notifier {
    pub fn from_env() -> Notifier {
        Notifier {
            enabled: std::env::var_os("NOTIFY_SOCKET").is_some_and(|s| !s.is_empty()),
        }
    }

    pub fn disabled() -> Notifier {
        Notifier { enabled: false }
    }

    fn send(&self, states: &[NotifyState]) {
        if self.enabled {
            // A lost status line must not stop the app; READY loss shows up as a start timeout.
            let _ = sd_notify::notify(false, states);
        }
    }

    /// A `STATUS=` line, shown by `systemctl status`.
    pub fn status(&self, text: &str) {
        self.send(&[NotifyState::Status(text)]);
    }

    /// `READY=1` with `MAINPID` = us: every container runs and its probes passed.
    pub fn ready(&self, status: &str) {
        self.send(&[
            NotifyState::MainPid(std::process::id()),
            NotifyState::Status(status),
            NotifyState::Ready,
        ]);
    }

    /// `RELOADING=1` (with the `MONOTONIC_USEC=` systemd ≥ 253 asks for): a reload began; the
    /// next [`Notifier::ready`] ends it.
    pub fn reloading(&self, status: &str) {
        let mut states = vec![NotifyState::Reloading, NotifyState::Status(status)];
        if let Ok(now) = NotifyState::monotonic_usec_now() {
            states.insert(1, now);
        }
        self.send(&states);
    }

    pub fn stopping(&self, status: &str) {
        self.send(&[NotifyState::Stopping, NotifyState::Status(status)]);
    }

    /// Asks for `extra` more time than the unit's start timeout from now (pulls are slow).
    pub fn extend_timeout(&self, extra: Duration) {
        let usec = u32::try_from(extra.as_micros()).unwrap_or(u32::MAX);
        self.send(&[NotifyState::ExtendTimeoutUsec(usec)]);
    }
}
