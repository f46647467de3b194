//! Crash-loop back-off, as the kubelet does it, kept apart from any clock or engine.
//!
//! Podman's own `--restart` restarts an exited container at once, forever: a container that
//! exits right after start spins, and systemd never hears of it. So the supervisor restarts
//! containers itself, and this module decides when, as the kubelet does: the first restart of a
//! loop at once, the next after [`Backoff::initial`] (10 s), each further one twice as long up to
//! [`Backoff::max`] (5 min); a container that ran [`Backoff::reset_after`] (10 min) before it
//! exited starts a new loop. After [`Backoff::max_restarts`] restarts in one loop the next exit
//! gives up: the executor tears the app down and fails, so that the unit's
//! `Restart=`/`OnFailure=` and monitoring see it.
//!
//! Every method takes the current time as an argument: tests drive it with made-up instants.

use std::time::{Duration, Instant};

/// The back-off parameters (kubelet's, with the give-up limit of `--max-restarts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    /// A container that ran this long before exiting starts a new loop.
    pub reset_after: Duration,
    /// Restarts allowed in one loop; the exit after the last of them fails the app.
    pub max_restarts: u32,
}

pub use crate::plan::DEFAULT_MAX_RESTARTS;

impl Backoff {
    /// The kubelet's figures with the given restart limit.
    pub fn kubelet(max_restarts: u32) -> Backoff {
        Backoff {
            initial: Duration::from_secs(10),
            max: Duration::from_secs(300),
            reset_after: Duration::from_secs(600),
            max_restarts,
        }
    }

    /// The delay before restart number `n` (0-based) of a loop: none for the first (a single
    /// crash is not a loop), then `initial` doubling up to `max`.
    pub fn delay(&self, n: u32) -> Duration {
        let Some(doublings) = n.checked_sub(1) else {
            return Duration::ZERO;
        };
        let factor = 1u32.checked_shl(doublings.min(31)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// What to do about a container that just exited and whose policy restarts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Start it again at this instant.
    RestartAt(Instant),
    /// The loop used up its restarts: fail the app.
    GiveUp,
}

/// One container's restart history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashLoop {
    /// Restarts since the app started (what `quadplay status` shows, as kubectl's RESTARTS).
    pub restarts: u32,
    /// Restarts in the current loop.
    pub streak: u32,
    /// When it was last started.
    pub started: Instant,
    /// When the pending restart is due, while backing off.
    pub due: Option<Instant>,
    /// The exit code of its last exit.
    pub last_exit: Option<i32>,
}

impl CrashLoop {
    pub fn new(started: Instant) -> CrashLoop {
        CrashLoop {
            restarts: 0,
            streak: 0,
            started,
            due: None,
            last_exit: None,
        }
    }

    /// The container exited at `now` with `code`, and its policy restarts it.
    pub fn exited(&mut self, now: Instant, code: i32, backoff: &Backoff) -> Decision {
        self.last_exit = Some(code);
        if now.saturating_duration_since(self.started) >= backoff.reset_after {
            self.streak = 0;
        }
        if self.streak >= backoff.max_restarts {
            self.due = None;
            return Decision::GiveUp;
        }
        let at = now + backoff.delay(self.streak);
        self.due = Some(at);
        Decision::RestartAt(at)
    }

    /// The pending restart was carried out at `now`.
    pub fn restarted(&mut self, now: Instant) {
        self.due = None;
        self.restarts += 1;
        self.streak += 1;
        self.started = now;
    }

    /// Waiting for a restart: Kubernetes calls this CrashLoopBackOff.
    pub fn backing_off(&self) -> bool {
        self.due.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn delays_double_from_ten_seconds_up_to_five_minutes() {
        let b = Backoff::kubelet(100);
        let delays: Vec<u64> = (0..9).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(delays, [0, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(b.delay(1000), secs(300));
    }

    #[test]
    fn a_container_that_exits_at_once_backs_off_then_gives_up() {
        let b = Backoff::kubelet(3);
        let t0 = Instant::now();
        let mut now = t0;
        let mut c = CrashLoop::new(now);
        let mut waits = Vec::new();
        while let Decision::RestartAt(at) = c.exited(now + secs(1), 1, &b) {
            assert!(c.backing_off());
            waits.push((at - now).as_secs());
            now = at;
            c.restarted(now);
        }
        // Each wait is the 1 s it ran plus the back-off.
        assert_eq!(waits, [1, 11, 21]);
        assert_eq!((c.restarts, c.streak, c.last_exit), (3, 3, Some(1)));
        assert!(!c.backing_off());
    }

    #[test]
    fn ten_minutes_of_running_start_a_new_loop() {
        let b = Backoff::kubelet(2);
        let t0 = Instant::now();
        let mut c = CrashLoop::new(t0);
        let Decision::RestartAt(at) = c.exited(t0, 2, &b) else {
            panic!("gave up at once")
        };
        c.restarted(at);
        let Decision::RestartAt(at) = c.exited(at + secs(5), 2, &b) else {
            panic!("gave up early")
        };
        assert_eq!(c.due, Some(at));
        c.restarted(at);
        // Two restarts used; running 10 minutes forgives them: the next restart is at once.
        let later = at + secs(600);
        assert_eq!(c.exited(later, 0, &b), Decision::RestartAt(later));
        assert_eq!((c.restarts, c.streak), (2, 0));
        // Without the reset the limit holds.
        let mut d = CrashLoop::new(t0);
        for _ in 0..2 {
            let Decision::RestartAt(at) = d.exited(t0, 1, &b) else {
                panic!("gave up early")
            };
            d.restarted(at);
        }
        assert_eq!(d.exited(t0 + secs(599), 1, &b), Decision::GiveUp);
    }

    #[test]
    fn zero_restarts_gives_up_at_the_first_exit() {
        let t0 = Instant::now();
        let mut c = CrashLoop::new(t0);
        assert_eq!(c.exited(t0, 1, &Backoff::kubelet(0)), Decision::GiveUp);
    }
}
