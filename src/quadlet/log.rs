//! The generator's log: `quadplay-generator[PID]: message` lines to `/dev/kmsg` or stderr.
//!
//! Generators run before journald exists, so Quadlet (and we) write to the kernel log when it can
//! be opened for writing; a failed kmsg write falls back to stderr so that nothing is lost.
//! The log also counts errors: the generator's exit status is "did any error get logged".

use std::fs::{File, OpenOptions};
use std::io::Write;

/// Where log lines go and which of them are shown.
pub struct Log {
    kmsg: Option<File>,
    debug: bool,
    prefix: String,
    errors: usize,
    /// Every line logged, kept when `capture` is on (for tests and `quadplay generate`).
    captured: Option<Vec<String>>,
}

impl Log {
    /// A log that writes to `/dev/kmsg` when `use_kmsg` and it can be opened, else to stderr.
    pub fn new(use_kmsg: bool, debug: bool) -> Log {
        let kmsg = if use_kmsg {
            OpenOptions::new().write(true).open("/dev/kmsg").ok()
        } else {
            None
        };
        Log {
            kmsg,
            debug,
            prefix: format!("quadplay-generator[{}]: ", std::process::id()),
            errors: 0,
            captured: None,
        }
    }

    /// The same log with another line prefix (e.g. for `quadplay generate`).
    pub fn with_prefix(mut self, prefix: &str) -> Log {
        self.prefix = prefix.to_string();
        self
    }

    /// A log that only records its lines (nothing is written anywhere).
    pub fn capturing(debug: bool) -> Log {
        Log {
            kmsg: None,
            debug,
            prefix: String::new(),
            errors: 0,
            captured: Some(Vec::new()),
        }
    }

    /// Whether debug lines are shown (`-v`, `-dryrun`).
    pub fn debug_enabled(&self) -> bool {
        self.debug
    }

    /// An informational line (warnings included): never changes the exit status.
    pub fn info(&mut self, msg: &str) {
        self.write(msg);
    }

    /// A line shown only with `-v`.
    pub fn debug(&mut self, msg: &str) {
        if self.debug {
            self.write(msg);
        }
    }

    /// A debug line made only when debug lines are shown (for lines logged per unit file: a
    /// thousand formatted paths nobody reads cost more than the lookups they describe).
    pub fn debug_with(&mut self, msg: impl FnOnce() -> String) {
        if self.debug {
            self.write(&msg());
        }
    }

    /// An error: logged, and the run will exit with status 1.
    pub fn error(&mut self, msg: &str) {
        self.errors += 1;
        self.write(msg);
    }

    /// How many errors were logged.
    pub fn error_count(&self) -> usize {
        self.errors
    }

    /// The lines recorded by a capturing log.
    pub fn captured(&self) -> &[String] {
        self.captured.as_deref().unwrap_or(&[])
    }

    fn write(&mut self, msg: &str) {
        let msg = &capped(msg);
        if let Some(lines) = self.captured.as_mut() {
            lines.push(msg.to_string());
            return;
        }
        let line = format!("{}{}\n", self.prefix, msg);
        if let Some(kmsg) = self.kmsg.as_mut() {
            // One write per line: /dev/kmsg takes each write as one record.
            if kmsg.write_all(line.as_bytes()).is_ok() {
                return;
            }
        }
        // Nothing better to do when stderr itself is gone.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

/// The longest message written. Messages quote values (cut at 80 characters where they are
/// made); this is the last guard, so that no input can make one log line megabytes long.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// `msg` as one line of at most [`MAX_MESSAGE_BYTES`]: control characters (a newline in a file
/// name, say) are escaped, so that no input can forge further log lines.
fn capped(msg: &str) -> std::borrow::Cow<'_, str> {
    if msg.chars().any(|c| c.is_control() && c != '\t') {
        let escaped: String = msg
            .chars()
            .map(|c| match c {
                '\t' => c.to_string(),
                c if c.is_control() => c.escape_default().to_string(),
                c => c.to_string(),
            })
            .collect();
        return capped(&escaped).into_owned().into();
    }
    if msg.len() <= MAX_MESSAGE_BYTES {
        return msg.into();
    }
    let mut cut = MAX_MESSAGE_BYTES;
    while !msg.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes cut)", &msg[..cut], msg.len() - cut).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_stay_one_line() {
        let mut log = Log::capturing(false);
        log.error("/etc/x\nquadplay-generator[1]: forged.kube: ok\r\u{85}");
        assert_eq!(
            log.captured(),
            ["/etc/x\\nquadplay-generator[1]: forged.kube: ok\\r\\u{85}"]
        );
    }

    #[test]
    fn long_messages_are_cut() {
        let mut log = Log::capturing(false);
        log.error(&"é".repeat(5_000_000));
        let line = &log.captured()[0];
        assert!(line.len() < MAX_MESSAGE_BYTES + 40, "{}", line.len());
        assert!(
            line.ends_with("… (9995904 bytes cut)"),
            "{}",
            &line[line.len() - 40..]
        );
    }

    #[test]
    fn counts_errors_and_hides_debug_unless_asked() {
        let mut log = Log::capturing(false);
        log.debug("hidden");
        log.info("shown");
        log.error("bad");
        assert_eq!(log.captured(), ["shown", "bad"]);
        assert_eq!(log.error_count(), 1);

        let mut verbose = Log::capturing(true);
        verbose.debug("now shown");
        assert_eq!(verbose.captured(), ["now shown"]);
        assert_eq!(verbose.error_count(), 0);
    }
}
