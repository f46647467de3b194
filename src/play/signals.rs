//! Stop requests: SIGTERM/SIGINT become a [`StopFlag`] that every waiting thread can sleep on,
//! plus a message to the supervisor, so nothing polls to notice a stop.

use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::supervise::Msg;

/// A flag that can be waited on with a timeout; set once, never cleared.
#[derive(Debug, Default)]
pub struct StopFlag {
    set: Mutex<bool>,
    changed: Condvar,
}

impl StopFlag {
    pub fn new() -> StopFlag {
        StopFlag::default()
    }

    pub fn set(&self) {
        let mut set = match self.set.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *set = true;
        self.changed.notify_all();
    }

    pub fn is_set(&self) -> bool {
        match self.set.lock() {
            Ok(g) => *g,
            Err(p) => *p.into_inner(),
        }
    }

    /// Sleeps up to `duration`; true if the flag is (or became) set.
    pub fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let mut set = match self.set.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        while !*set {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            set = match self.changed.wait_timeout(set, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }
}

/// Routes SIGTERM and SIGINT to `stop` and to the supervisor's channel, from a small thread.
pub fn install(stop: Arc<StopFlag>, tx: Sender<Msg>) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGTERM, SIGINT])?;
    std::thread::Builder::new()
        .name("signals".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            for signal in signals.forever() {
                stop.set();
                if tx.send(Msg::Signal(signal)).is_err() {
                    return;
                }
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_returns_early_once_set() {
        let flag = StopFlag::new();
        assert!(!flag.sleep(Duration::from_millis(10)));
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                flag.set();
            });
            let start = Instant::now();
            assert!(flag.sleep(Duration::from_secs(10)));
            assert!(start.elapsed() < Duration::from_secs(5));
        });
        assert!(flag.is_set());
    }
}
