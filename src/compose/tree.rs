//! The compose file as a tree whose every node knows its line and column, built on the shared
//! positioned YAML layer (`kube::yaml`) so that compose and Kubernetes input are parsed, bounded
//! and located the same way.
//!
//! What compose adds over that layer: scalars resolved by YAML 1.2's core schema as compose-go
//! reads them (`restart: no` stays a string, `0644` is octal), YAML merge keys (`<<: *base`, one
//! mapping or a list of them; explicit keys win, then the earlier merged mapping), and a bound on
//! the size a file has once its aliases are expanded (compose files use many aliases over a few
//! anchors, so the number of aliases is not limited — what they expand to is).

use std::fmt;

use crate::kube::yaml::{self, Resolved};

/// Where a node starts: which of the loaded files (an index into the loader's file list), and
/// 1-based line and column (0:0 when a node was made, not read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct At {
    pub file: u16,
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

impl At {
    fn of(file: u16, p: yaml::Pos) -> Self {
        At {
            file,
            line: p.line,
            column: p.column,
        }
    }
}

/// A YAML node's value, resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Item>),
    Map(Vec<Entry>),
}

/// A node and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub line: At,
    pub node: Node,
}

/// A mapping entry: the key, where the key stands, and the value.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub line: At,
    pub value: Item,
}

/// Bytes a compose file may expand to (aliases and merge keys included): the shared layer's
/// bound, charged again here because merge keys copy entries after that layer has counted them.
pub const MAX_EXPANDED_BYTES: usize = yaml::MAX_EXPANDED_BYTES;

impl Node {
    pub fn type_name(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Int(_) | Node::Float(_) => "a number",
            Node::Str(_) => "a string",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }

    /// A scalar as text (numbers and booleans as YAML writes them).
    pub fn scalar(&self) -> Option<String> {
        match self {
            Node::Str(s) => Some(s.clone()),
            Node::Int(i) => Some(i.to_string()),
            Node::Float(f) => Some(f.to_string()),
            Node::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

impl Item {
    pub fn new(node: Node) -> Self {
        Item {
            line: At::default(),
            node,
        }
    }

    pub fn entries(&self) -> &[Entry] {
        match &self.node {
            Node::Map(e) => e,
            _ => &[],
        }
    }

    pub fn get(&self, key: &str) -> Option<&Item> {
        self.entries()
            .iter()
            .find(|e| e.key == key)
            .map(|e| &e.value)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Item> {
        match &mut self.node {
            Node::Map(e) => e.iter_mut().find(|e| e.key == key).map(|e| &mut e.value),
            _ => None,
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Entry> {
        match &mut self.node {
            Node::Map(e) => {
                let i = e.iter().position(|e| e.key == key)?;
                Some(e.remove(i))
            }
            _ => None,
        }
    }

    /// The text of a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.node {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A syntax or structure error in a compose file.
#[derive(Debug, Clone)]
pub struct TreeError {
    pub line: At,
    pub message: String,
}

/// Parses one compose file's text (its first document) into a tree; `file` is the loader's
/// index of the file, kept in every position.
pub fn parse(text: &str, file: u16) -> Result<Item, TreeError> {
    let docs = yaml::parse_stream(text).map_err(|e| TreeError {
        line: At::of(file, e.pos),
        message: e.message,
    })?;
    let Some(root) = docs.into_iter().next() else {
        return Ok(Item::new(Node::Map(Vec::new())));
    };
    let mut b = Builder {
        file,
        budget: MAX_EXPANDED_BYTES,
    };
    b.convert(&root)
}

struct Builder {
    file: u16,
    budget: usize,
}

impl Builder {
    /// Converts a node of the shared layer, resolving merge keys and charging its size to `budget`.
    fn convert(&mut self, n: &yaml::Node) -> Result<Item, TreeError> {
        let line = At::of(self.file, n.pos);
        self.charge(16, line)?;
        let node = match &n.value {
            yaml::Value::Scalar(s) => {
                self.charge(s.text.len(), line)?;
                match s.resolve() {
                    Resolved::Null => Node::Null,
                    Resolved::Bool(b) => Node::Bool(b),
                    Resolved::Int(i) => Node::Int(i),
                    Resolved::Float(f) => Node::Float(f),
                    Resolved::Str(t) => Node::Str(t.to_string()),
                }
            }
            yaml::Value::Seq(items) => Node::Seq(
                items
                    .iter()
                    .map(|i| self.convert(i))
                    .collect::<Result<_, _>>()?,
            ),
            yaml::Value::Map(entries) => Node::Map(self.mapping(entries)?),
        };
        Ok(Item { line, node })
    }

    fn charge(&mut self, n: usize, line: At) -> Result<(), TreeError> {
        self.budget = self.budget.checked_sub(n).ok_or_else(|| TreeError {
            line,
            message: format!(
                "the file expands to more than {} MiB (aliases and merge keys included)",
                MAX_EXPANDED_BYTES >> 20
            ),
        })?;
        Ok(())
    }

    /// A mapping's entries with `<<` merge keys resolved (YAML's merge key type): explicit keys win
    /// over merged ones; of several merged mappings the earlier wins.
    fn mapping(&mut self, entries: &[yaml::Entry]) -> Result<Vec<Entry>, TreeError> {
        let mut own = Vec::with_capacity(entries.len());
        let mut merged: Vec<Entry> = Vec::new();
        for e in entries {
            let value = self.convert(&e.value)?;
            if e.key == "<<" {
                merged.extend(merge_sources(value)?);
                continue;
            }
            let at = At::of(self.file, e.key_pos);
            self.charge(e.key.len(), at)?;
            own.push(Entry {
                key: e.key.clone(),
                line: at,
                value,
            });
        }
        let mut seen: std::collections::HashSet<String> =
            own.iter().map(|e| e.key.clone()).collect();
        for e in merged {
            if seen.insert(e.key.clone()) {
                own.push(e);
            }
        }
        Ok(own)
    }
}

/// The entries a `<<` value brings: one mapping, or a list of mappings (earlier first).
fn merge_sources(value: Item) -> Result<Vec<Entry>, TreeError> {
    let bad = |line| TreeError {
        line,
        message: "a merge key (<<) takes a mapping or a list of mappings".into(),
    };
    match value.node {
        Node::Map(e) => Ok(e),
        Node::Seq(items) => {
            let mut out = Vec::new();
            for it in items {
                match it.node {
                    Node::Map(e) => out.extend(e),
                    _ => return Err(bad(it.line)),
                }
            }
            Ok(out)
        }
        _ => Err(bad(value.line)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(it: &Item) -> Vec<&str> {
        it.entries().iter().map(|e| e.key.as_str()).collect()
    }

    #[test]
    fn merge_keys_explicit_wins_then_earlier_source() {
        let t = parse(
            "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  x: 0\nd:\n  <<: *b\n",
            0,
        )
        .unwrap();
        let c = t.get("c").unwrap();
        assert_eq!(keys(c), ["x", "y", "z"]);
        assert_eq!(c.get("x").unwrap().node, Node::Int(0));
        assert_eq!(c.get("y").unwrap().node, Node::Int(1));
        assert_eq!(c.get("z").unwrap().node, Node::Int(2));
        assert_eq!(keys(t.get("d").unwrap()), ["y", "z"]);
        let err = parse("a:\n  <<: 3\n", 0).unwrap_err();
        assert_eq!((err.line.line, err.line.column), (2, 7));
    }

    #[test]
    fn many_aliases_are_fine_but_expanded_size_is_bounded() {
        // 150 aliases over 10 anchors, as vendor files have.
        let mut text = String::new();
        for i in 0..10 {
            text.push_str(&format!(
                "x-a{i}: &a{i} {{restart: always, logging: {{driver: local}}}}\n"
            ));
        }
        text.push_str("services:\n");
        for i in 0..150 {
            text.push_str(&format!(
                "  s{i}:\n    <<: *a{}\n    image: busybox\n",
                i % 10
            ));
        }
        let t = parse(&text, 0).unwrap();
        assert_eq!(t.get("services").unwrap().entries().len(), 150);
        // 2 MiB scalar aliased 40 times: 80 MiB after expansion (refused by either bound).
        let big = "v".repeat(2 << 20);
        let mut bomb = format!("a: &a {big}\nb: [");
        bomb.push_str(&vec!["*a"; 40].join(", "));
        bomb.push_str("]\n");
        let err = parse(&bomb, 0).unwrap_err();
        assert!(err.message.contains("expands to more than"), "{err:?}");
    }

    #[test]
    fn scalars_resolve_as_compose_go_reads_them() {
        let t = parse("a: no\nb: 0644\nc: '8080'\nd: ~\ne: true\n", 0).unwrap();
        assert_eq!(t.get("a").unwrap().node, Node::Str("no".into()));
        assert_eq!(t.get("b").unwrap().node, Node::Int(0o644));
        assert_eq!(t.get("c").unwrap().node, Node::Str("8080".into()));
        assert_eq!(t.get("d").unwrap().node, Node::Null);
        assert_eq!(t.get("e").unwrap().node, Node::Bool(true));
    }
}
