//! The converter's state and its typed readers of the positioned compose tree: every value read
//! through here fails with the file, line, column and key path of what was wrong.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use super::super::objects::Object;
use super::super::tree::{At, Entry, Item, Node};
use super::super::ComposeError;

/// The converter's state: the project's files, its variables and what it has warned about.
pub(super) struct Ctx<'a> {
    pub files: &'a [PathBuf],
    pub dir: PathBuf,
    pub env: &'a BTreeMap<String, String>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
    /// Named volumes some service mounts (their claims are emitted).
    pub used_volumes: BTreeSet<String>,
    /// Secrets and ConfigMaps, emitted before the pods.
    pub extra: Vec<Object>,
    /// Each host binding (IP, port, protocol) published so far, with the service that did.
    pub host_ports: BTreeMap<(String, u16, String), String>,
    /// Each Secret/ConfigMap object (`Kind/name`) made so far, with the compose name it was made
    /// from (two names that sanitize alike must not share one object).
    pub data_sources: BTreeMap<String, String>,
}

impl Ctx<'_> {
    pub fn path(&self, at: At) -> PathBuf {
        self.files
            .get(usize::from(at.file))
            .cloned()
            .unwrap_or_default()
    }

    pub fn warn(&mut self, line: At, key: &str, message: impl fmt::Display) {
        let path = self.path(line);
        self.warnings
            .push(format!("{}:{line}: {key}: {message}", path.display()));
    }

    pub fn note(&mut self, line: At, key: &str, message: impl fmt::Display) {
        let path = self.path(line);
        self.notes
            .push(format!("{}:{line}: {key}: {message}", path.display()));
    }

    pub fn invalid(&self, line: At, key: &str, message: impl fmt::Display) -> ComposeError {
        ComposeError::Invalid {
            path: self.path(line),
            line,
            key: key.to_string(),
            message: message.to_string(),
        }
    }

    /// A scalar as text (interpolation was done when the file was loaded).
    pub fn string(&mut self, item: &Item, key: &str) -> Result<String, ComposeError> {
        item.node.scalar().ok_or_else(|| {
            self.invalid(
                item.line,
                key,
                format!("expected a string, found {}", item.node.type_name()),
            )
        })
    }

    /// A whole number (compose casts strings such as an interpolated `"3"`).
    pub fn int(&mut self, item: &Item, key: &str) -> Result<i64, ComposeError> {
        match &item.node {
            Node::Int(i) => Ok(*i),
            Node::Str(s) => s.trim().parse().map_err(|_| {
                self.invalid(
                    item.line,
                    key,
                    format!("expected a whole number, found {s:?}"),
                )
            }),
            other => Err(self.invalid(
                item.line,
                key,
                format!("expected a whole number, found {}", other.type_name()),
            )),
        }
    }

    pub fn map<'n>(&self, item: &'n Item, key: &str) -> Result<&'n [Entry], ComposeError> {
        match &item.node {
            Node::Map(entries) => Ok(entries),
            Node::Null => Ok(&[]),
            other => Err(self.invalid(
                item.line,
                key,
                format!("expected a mapping, found {}", other.type_name()),
            )),
        }
    }

    pub fn bool(&self, item: &Item, key: &str) -> Result<bool, ComposeError> {
        match &item.node {
            Node::Bool(b) => Ok(*b),
            Node::Str(s) if s == "true" || s == "false" => Ok(s == "true"),
            other => Err(self.invalid(
                item.line,
                key,
                format!("expected true or false, found {}", other.type_name()),
            )),
        }
    }

    /// A string or a list of strings (compose accepts both for many keys).
    pub fn strings(&mut self, item: &Item, key: &str) -> Result<Vec<String>, ComposeError> {
        match &item.node {
            Node::Seq(items) => items
                .iter()
                .enumerate()
                .map(|(i, it)| self.string(it, &format!("{key}[{i}]")))
                .collect(),
            Node::Null => Ok(Vec::new()),
            _ => Ok(vec![self.string(item, key)?]),
        }
    }
}
