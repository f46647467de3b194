//! What an auto-update run did, per container, rendered as a table or as JSON.
//!
//! The JSON is an array of objects with Podman's `auto-update --format json` keys (`Unit`,
//! `Container`, `ContainerName`, `ContainerID`, `Image`, `Policy`, `Updated`) plus quadplay's
//! `Message`, `ImageID` and `PreviousImageID`, so scripts written for Podman keep working.

use std::fmt::Write as _;

use serde::Serialize;

/// What happened to one container. The strings are Podman's `Updated` column values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// Checked: nothing newer.
    #[serde(rename = "false")]
    UpToDate,
    /// A newer image was found and the unit runs it now.
    #[serde(rename = "true")]
    Updated,
    /// Dry run: a newer image exists; nothing was changed.
    #[serde(rename = "pending")]
    Pending,
    /// The unit failed on the new image and runs the previous one again.
    #[serde(rename = "rolled back")]
    RolledBack,
    /// The check, the pull or the restart failed (see the message).
    #[serde(rename = "failed")]
    Failed,
    /// The label says `disabled`.
    #[serde(rename = "disabled")]
    Disabled,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::UpToDate => "false",
            Outcome::Updated => "true",
            Outcome::Pending => "pending",
            Outcome::RolledBack => "rolled back",
            Outcome::Failed => "failed",
            Outcome::Disabled => "disabled",
        }
    }

    /// Outcomes that make the run exit non-zero: the operator has something to look at.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Failed | Outcome::RolledBack)
    }
}

/// One container's line in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Entry {
    /// The unit that runs the container (empty when the label is missing).
    pub unit: String,
    /// `ID12 (name)`, as Podman prints it.
    pub container: String,
    pub container_name: String,
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    pub image: String,
    pub policy: String,
    pub updated: Outcome,
    pub message: String,
    /// The image the container runs after this run (the new one when updated).
    #[serde(rename = "ImageID")]
    pub image_id: String,
    /// The image it ran before, when it changed or was rolled back.
    #[serde(rename = "PreviousImageID", skip_serializing_if = "String::is_empty")]
    pub previous_image_id: String,
}

/// The whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub dry_run: bool,
    pub entries: Vec<Entry>,
    /// How systemd was reached, when a unit had to be restarted (empty otherwise).
    pub via: String,
}

impl Report {
    /// True when any container failed or was rolled back: the run's exit status is non-zero.
    pub fn failed(&self) -> bool {
        self.entries.iter().any(|e| e.updated.is_failure())
    }

    fn count(&self, o: Outcome) -> usize {
        self.entries.iter().filter(|e| e.updated == o).count()
    }

    /// JSON that parses: an array, one object per container.
    pub fn to_json(&self) -> String {
        // Serializing plain strings and enums cannot fail; fall back to an empty array regardless.
        serde_json::to_string_pretty(&self.entries).unwrap_or_else(|_| "[]".to_string())
    }

    /// A table in Podman's column order, then a one-line summary.
    pub fn to_table(&self) -> String {
        let header = ["UNIT", "CONTAINER", "IMAGE", "POLICY", "UPDATED", "MESSAGE"];
        let rows: Vec<[String; 6]> = self
            .entries
            .iter()
            .map(|e| {
                [
                    e.unit.clone(),
                    e.container.clone(),
                    e.image.clone(),
                    e.policy.clone(),
                    e.updated.as_str().to_string(),
                    e.message.clone(),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let mut line = |cells: [&str; 6]| {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i + 1 == cells.len() {
                    text.push_str(cell);
                } else {
                    let _ = write!(text, "{cell:<width$}  ", width = widths[i]);
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(header);
        for row in &rows {
            line([&row[0], &row[1], &row[2], &row[3], &row[4], &row[5]]);
        }
        let units: std::collections::BTreeSet<&str> =
            self.entries.iter().map(|e| e.unit.as_str()).collect();
        let _ = writeln!(
            out,
            "{}checked {} container(s) in {} unit(s): {} updated, {} pending, {} rolled back, {} failed",
            if self.dry_run { "dry run, nothing changed: " } else { "" },
            self.entries.len(),
            units.len(),
            self.count(Outcome::Updated),
            self.count(Outcome::Pending),
            self.count(Outcome::RolledBack),
            self.count(Outcome::Failed),
        );
        if !self.via.is_empty() {
            let _ = writeln!(out, "systemd reached through {}", self.via);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(updated: Outcome) -> Entry {
        Entry {
            unit: "app.service".into(),
            container: "0123456789ab (web)".into(),
            container_name: "web".into(),
            container_id: "0123456789abcdef".into(),
            image: "127.0.0.1:5000/demo/app:stable".into(),
            policy: "registry".into(),
            updated,
            message: "restarted; unit active/running".into(),
            image_id: "new".into(),
            previous_image_id: "old".into(),
        }
    }

    #[test]
    fn json_uses_podman_keys_and_values() {
        let r = Report {
            dry_run: false,
            entries: vec![entry(Outcome::RolledBack)],
            via: "unix:path=/run/user/1001/bus".into(),
        };
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v[0]["Unit"], "app.service");
        assert_eq!(v[0]["ContainerID"], "0123456789abcdef");
        assert_eq!(v[0]["Updated"], "rolled back");
        assert_eq!(v[0]["PreviousImageID"], "old");
        assert!(r.failed());
        assert!(r
            .to_table()
            .ends_with("systemd reached through unix:path=/run/user/1001/bus\n"));
    }

    #[test]
    fn table_has_header_rows_and_summary() {
        let r = Report {
            dry_run: true,
            entries: vec![entry(Outcome::Pending), entry(Outcome::UpToDate)],
            via: String::new(),
        };
        let t = r.to_table();
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("UNIT"), "{t}");
        assert!(lines[1].contains("pending"), "{t}");
        assert!(lines[2].contains("false"), "{t}");
        assert!(
            lines[3].starts_with("dry run, nothing changed: checked 2 container(s) in 1 unit(s)"),
            "{t}"
        );
        assert_eq!(
            lines.len(),
            4,
            "no 'reached through' line without a connection: {t}"
        );
        assert!(!r.failed());
    }

    #[test]
    fn empty_report_is_an_empty_json_array() {
        let r = Report::default();
        assert_eq!(r.to_json(), "[]");
        assert!(r.to_table().contains("checked 0 container(s)"));
    }
}
