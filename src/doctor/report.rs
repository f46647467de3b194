//! doctor's verdicts: one [`Check`] per question, gathered in a [`Report`] rendered as a table
//! or as JSON.

use std::fmt::Write as _;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

/// One check's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub status: Status,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn new(id: &'static str, status: Status, summary: String, fix: Option<String>) -> Self {
        Self {
            id,
            status,
            summary,
            fix,
        }
    }
    pub(crate) fn ok(id: &'static str, summary: impl Into<String>) -> Self {
        Self::new(id, Status::Ok, summary.into(), None)
    }
    pub(crate) fn skip(id: &'static str, summary: impl Into<String>) -> Self {
        Self::new(id, Status::Skip, summary.into(), None)
    }
    /// A warning, with the fix to print.
    pub(crate) fn warn(
        id: &'static str,
        summary: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(id, Status::Warn, summary.into(), Some(fix.into()))
    }
    /// A failure, with the fix to print.
    pub(crate) fn fail(
        id: &'static str,
        summary: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(id, Status::Fail, summary.into(), Some(fix.into()))
    }
}

/// Every check's verdict, for one user.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub user: String,
    pub uid: u32,
    pub failed: usize,
    pub warnings: usize,
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether any check failed (warnings do not count): the exit status.
    pub fn has_failures(&self) -> bool {
        self.failed > 0
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// One line per check, the fix indented below a warning or failure.
    pub fn to_table(&self) -> String {
        let width = self.checks.iter().map(|c| c.id.len()).max().unwrap_or(5);
        let mut out = String::new();
        for c in &self.checks {
            let status = match c.status {
                Status::Ok => "ok",
                Status::Warn => "WARN",
                Status::Fail => "FAIL",
                Status::Skip => "skip",
            };
            let _ = writeln!(out, "{status:<4}  {:<width$}  {}", c.id, c.summary);
            if let Some(fix) = &c.fix {
                let _ = writeln!(out, "      {:<width$}  fix: {fix}", "");
            }
        }
        let _ = writeln!(
            out,
            "{} checks for {} (uid {}): {} failed, {} warnings",
            self.checks.len(),
            self.user,
            self.uid,
            self.failed,
            self.warnings
        );
        out
    }
}
