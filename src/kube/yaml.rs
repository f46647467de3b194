//! A YAML tree whose every node knows its line and column.
//!
//! serde-saphyr deserializes straight into types and forgets where things were; Kubernetes
//! validation needs the position of any node long after parsing (an unknown field, a bad
//! quantity, a missing ConfigMap key). So the stream is read event by event with the parser
//! serde-saphyr itself uses (`granit_parser`) into this small tree, and typed structs are
//! deserialized from the tree afterwards (see `de.rs`).
//!
//! Scalars keep their text and whether they were quoted: type resolution is left to the
//! consumer, so `value: 8080` can be a string where Kubernetes wants one and `defaultMode: 0644`
//! is octal as Kubernetes (YAML 1.1) reads it.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span};

/// 1-based line and column of a node in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl Pos {
    fn of(span: &Span) -> Self {
        Pos {
            line: u32::try_from(span.start.line()).unwrap_or(u32::MAX),
            column: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    pub text: String,
    /// Plain (unquoted, untagged) scalars are subject to type resolution; others are strings.
    pub plain: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value: Node,
}

/// What a plain scalar means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resolved<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
}

impl Scalar {
    /// Resolves a plain scalar the way Kubernetes' YAML reader does for the forms manifests
    /// use: `~`/`null`/empty, `true`/`false`, decimal, `0x` hex, `0o` and leading-zero octal
    /// (`0644`, YAML 1.1), floats. Quoted scalars are always strings.
    pub fn resolve(&self) -> Resolved<'_> {
        if !self.plain {
            return Resolved::Str(&self.text);
        }
        let t = self.text.as_str();
        match t {
            "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
            "true" | "True" | "TRUE" => return Resolved::Bool(true),
            "false" | "False" | "FALSE" => return Resolved::Bool(false),
            _ => {}
        }
        if let Some(i) = parse_int(t) {
            return Resolved::Int(i);
        }
        if looks_like_float(t) {
            if let Ok(f) = t.parse::<f64>() {
                return Resolved::Float(f);
            }
        }
        Resolved::Str(t)
    }

    /// YAML 1.1 booleans too (`yes`, `on`), for boolean fields only.
    pub fn as_bool(&self) -> Option<bool> {
        if !self.plain {
            return None;
        }
        match self.text.as_str() {
            "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => {
                Some(true)
            }
            "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n"
            | "N" => Some(false),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.resolve(), Resolved::Null)
    }
}

fn parse_int(t: &str) -> Option<i64> {
    let (neg, body) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if body.is_empty() {
        return None;
    }
    let magnitude = if let Some(hex) = body.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = body.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if body.len() > 1 && body.starts_with('0') && body.bytes().all(|b| b.is_ascii_digit()) {
        // YAML 1.1 octal, as Kubernetes reads `defaultMode: 0644`.
        i64::from_str_radix(&body[1..], 8).ok()?
    } else if body.bytes().all(|b| b.is_ascii_digit()) {
        body.parse::<i64>().ok()?
    } else {
        return None;
    };
    Some(if neg { -magnitude } else { magnitude })
}

fn looks_like_float(t: &str) -> bool {
    let body = t.trim_start_matches(['-', '+']);
    matches!(body, ".inf" | ".Inf" | ".INF")
        || (body.bytes().any(|b| b.is_ascii_digit())
            && body
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+')))
}

impl Node {
    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|e| e.key == key)
            .map(|e| &e.value)
    }

    /// The text of a scalar node that is not null.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) if !s.is_null() => Some(&s.text),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar(s) if s.is_null())
    }

    /// The position of the node at `path` (`spec.containers[0].image`), or of its nearest
    /// existing ancestor: messages about a missing field point at the object that lacks it.
    pub fn locate(&self, path: &str) -> Pos {
        let mut node = self;
        for step in split_path(path) {
            let next = match step {
                Step::Key(k) => node.get(k),
                Step::Index(i) => match &node.value {
                    Value::Seq(items) => items.get(i),
                    _ => None,
                },
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node.pos
    }
}

enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Splits `a.b[2].c` into steps; `metadata.annotations["io.quadplay.after"]` addresses a key
/// that holds dots (no escapes inside the quotes: keys with a `"` fall back to the parent).
fn split_path(path: &str) -> Vec<Step<'_>> {
    let mut steps = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            rest = after;
        } else if let Some(quoted) = rest.strip_prefix("[\"") {
            let Some(end) = quoted.find("\"]") else { break };
            steps.push(Step::Key(&quoted[..end]));
            rest = &quoted[end + 2..];
        } else if let Some(inner) = rest.strip_prefix('[') {
            let Some(end) = inner.find(']') else { break };
            if let Ok(i) = inner[..end].parse() {
                steps.push(Step::Index(i));
            }
            rest = &inner[end + 1..];
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            steps.push(Step::Key(&rest[..end]));
            rest = &rest[end..];
        }
    }
    steps
}

/// A YAML syntax or structure error at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: Pos,
    /// The path of the key at fault (`data.password` for a duplicate key); empty when the
    /// error is not about one key.
    pub field: String,
    pub message: String,
}

impl SyntaxError {
    fn at(pos: Pos, message: impl Into<String>) -> Self {
        SyntaxError {
            pos,
            field: String::new(),
            message: message.into(),
        }
    }
}

/// Nesting deeper than this is refused rather than risking the stack on hostile input.
const MAX_DEPTH: usize = 200;
/// Upper bound on nodes per stream, counting alias expansions ("billion laughs"). A large real
/// app (50 Deployments with their ConfigMaps and Services) has about 10,000; each node costs
/// ~100 bytes of tree, so this bounds the tree near 100 MiB.
pub const MAX_NODES: usize = 1_000_000;
/// Upper bound on the text of all scalars (keys included) per stream, counting alias
/// expansions: a 1 MiB scalar aliased 20,000 times would otherwise be copied into 20 GiB.
/// Twice the largest file `play` reads, so no alias-free input reaches it.
pub const MAX_EXPANDED_BYTES: usize = 32 << 20;

/// Parses a YAML stream into its documents, each with the position of its start.
/// Documents that are empty (or `null`) are dropped.
pub fn parse_stream(text: &str) -> Result<Vec<Node>, SyntaxError> {
    parse_stream_with(text, &|_| false)
}

/// [`parse_stream`], where `sensitive` says of a document's root whether its keys may be
/// secret: a duplicate key in such a document is reported by position and parent path only,
/// never by its text.
pub fn parse_stream_with(
    text: &str,
    sensitive: &dyn Fn(&Node) -> bool,
) -> Result<Vec<Node>, SyntaxError> {
    let mut builder = Builder {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
        size: Size::default(),
        path: Vec::new(),
        duplicate: None,
    };
    let mut docs = Vec::new();
    loop {
        let (event, span) = builder.next()?;
        match event {
            Event::StreamStart | Event::DocumentEnd => {}
            Event::StreamEnd => break,
            Event::DocumentStart(..) => {
                let (event, span) = builder.next()?;
                if matches!(event, Event::DocumentEnd) {
                    continue;
                }
                let node = builder.node(event, span, 0)?;
                if let Some(d) = builder.duplicate.take() {
                    return Err(d.error(sensitive(&node)));
                }
                if !node.is_null() {
                    docs.push(node);
                }
            }
            _ => return Err(SyntaxError::at(Pos::of(&span), "unexpected YAML structure")),
        }
    }
    Ok(docs)
}

/// Nodes and scalar bytes, counted with alias expansions.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    nodes: usize,
    bytes: usize,
}

/// The first duplicate key of the document being built: reported once the document is
/// complete, when it is known whether its keys may be secret.
struct Duplicate {
    pos: Pos,
    first: Pos,
    parent: String,
    key: String,
}

impl Duplicate {
    fn error(self, sensitive: bool) -> SyntaxError {
        let first = format!(
            "(first at line {}, column {})",
            self.first.line, self.first.column
        );
        if sensitive {
            SyntaxError {
                pos: self.pos,
                field: self.parent,
                message: format!("duplicate key {first}"),
            }
        } else {
            SyntaxError {
                pos: self.pos,
                field: join_segments(&self.parent, &self.key),
                message: format!("duplicate key `{}` {first}", self.key),
            }
        }
    }
}

fn join_segments(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// One step of the path from the document root to the node being built.
enum Seg {
    Key(String),
    Index(usize),
}

struct Builder<'a> {
    parser: Parser<'a, serde_saphyr::granit_parser::StrInput<'a>>,
    /// Each anchor's node with its size, so that an alias costs no walk of its target.
    anchors: HashMap<usize, (Node, Size)>,
    size: Size,
    path: Vec<Seg>,
    duplicate: Option<Duplicate>,
}

impl<'a> Builder<'a> {
    /// The next event that is not a comment.
    fn next(&mut self) -> Result<(Event<'a>, Span), SyntaxError> {
        loop {
            match self.parser.next_event() {
                None => return Err(SyntaxError::at(Pos::default(), "unexpected end of YAML")),
                Some(Err(e)) => {
                    let pos = Pos {
                        line: u32::try_from(e.marker().line()).unwrap_or(u32::MAX),
                        column: u32::try_from(e.marker().col() + 1).unwrap_or(u32::MAX),
                    };
                    return Err(SyntaxError::at(pos, scanner_message(e.info())));
                }
                Some(Ok((Event::Comment(..), _))) => continue,
                Some(Ok(pair)) => return Ok(pair),
            }
        }
    }

    /// Counts `add` against the stream's bounds, before anything of that size is built.
    fn bump(&mut self, add: Size, pos: Pos) -> Result<(), SyntaxError> {
        self.size.nodes += add.nodes;
        self.size.bytes += add.bytes;
        if self.size.nodes > MAX_NODES {
            return Err(SyntaxError::at(
                pos,
                format!("the YAML expands to more than {MAX_NODES} nodes (aliases included)"),
            ));
        }
        if self.size.bytes > MAX_EXPANDED_BYTES {
            return Err(SyntaxError::at(
                pos,
                format!(
                    "the YAML expands to more than {} MiB of text (aliases included)",
                    MAX_EXPANDED_BYTES >> 20
                ),
            ));
        }
        Ok(())
    }

    fn node(&mut self, event: Event<'a>, span: Span, depth: usize) -> Result<Node, SyntaxError> {
        let pos = Pos::of(&span);
        if depth > MAX_DEPTH {
            return Err(SyntaxError::at(
                pos,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        let before = self.size;
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                self.bump(
                    Size {
                        nodes: 1,
                        bytes: text.len(),
                    },
                    pos,
                )?;
                let tagged = tag.as_ref().is_some_and(|t| t.core_suffix() == Some("str"));
                let plain = style == ScalarStyle::Plain && !tagged;
                let value = Value::Scalar(Scalar {
                    text: text.into_owned(),
                    plain,
                });
                (Node { value, pos }, anchor)
            }
            Event::SequenceStart(_, anchor, _) => {
                self.bump(Size { nodes: 1, bytes: 0 }, pos)?;
                (self.sequence(pos, depth)?, anchor)
            }
            Event::MappingStart(_, anchor, _) => {
                self.bump(Size { nodes: 1, bytes: 0 }, pos)?;
                (self.mapping(pos, depth)?, anchor)
            }
            Event::Alias(id) => {
                let Some(size) = self.anchors.get(&id).map(|(_, size)| *size) else {
                    return Err(SyntaxError::at(pos, "alias to an unknown anchor"));
                };
                self.bump(size, pos)?;
                let target = self.anchors[&id].0.clone();
                // The alias is used where it stands: report that position.
                return Ok(Node { pos, ..target });
            }
            _ => return Err(SyntaxError::at(pos, "unexpected YAML structure")),
        };
        if anchor != 0 {
            let size = Size {
                nodes: self.size.nodes - before.nodes,
                bytes: self.size.bytes - before.bytes,
            };
            self.anchors.insert(anchor, (node.clone(), size));
        }
        Ok(node)
    }

    fn sequence(&mut self, pos: Pos, depth: usize) -> Result<Node, SyntaxError> {
        let mut items = Vec::new();
        loop {
            let (event, span) = self.next()?;
            if matches!(event, Event::SequenceEnd) {
                break;
            }
            self.path.push(Seg::Index(items.len()));
            let item = self.node(event, span, depth + 1);
            self.path.pop();
            items.push(item?);
        }
        items.shrink_to_fit();
        Ok(Node {
            value: Value::Seq(items),
            pos,
        })
    }

    /// Duplicate keys are found with a set (a mapping of 200,000 keys stays linear).
    fn mapping(&mut self, pos: Pos, depth: usize) -> Result<Node, SyntaxError> {
        let mut entries: Vec<Entry> = Vec::new();
        let mut seen: HashMap<String, Pos> = HashMap::new();
        loop {
            let (event, span) = self.next()?;
            if matches!(event, Event::MappingEnd) {
                break;
            }
            let key_node = self.node(event, span, depth + 1)?;
            let Value::Scalar(key) = key_node.value else {
                return Err(SyntaxError::at(
                    key_node.pos,
                    "mapping keys must be scalars",
                ));
            };
            let (event, span) = self.next()?;
            self.path.push(Seg::Key(key.text.clone()));
            let value = self.node(event, span, depth + 1);
            self.path.pop();
            let value = value?;
            if let Some(first) = seen.get(&key.text) {
                if self.duplicate.is_none() {
                    self.duplicate = Some(Duplicate {
                        pos: key_node.pos,
                        first: *first,
                        parent: self.path_text(),
                        key: key.text,
                    });
                }
                continue;
            }
            seen.insert(key.text.clone(), key_node.pos);
            entries.push(Entry {
                key: key.text,
                key_pos: key_node.pos,
                value,
            });
        }
        // The tree lives as long as the run (it locates errors): no growth slack in it.
        entries.shrink_to_fit();
        Ok(Node {
            value: Value::Map(entries),
            pos,
        })
    }

    /// The current path as `spec.containers[0]` (the notation of [`Node::locate`]).
    fn path_text(&self) -> String {
        let mut out = String::new();
        for seg in &self.path {
            match seg {
                Seg::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }
}

/// The scanner's message without the input character it may quote (`unexpected character:
/// `x'`): a syntax error is reported before it is known whether the document is a Secret.
/// A tab, the usual culprit, is named.
fn scanner_message(info: &str) -> String {
    match info.strip_prefix("unexpected character: `") {
        Some("\t'") => "unexpected tab character (YAML indents with spaces)".into(),
        Some(_) => "unexpected character".into(),
        None => info.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_keep_positions_and_skip_empty_ones() {
        let docs =
            parse_stream("---\n---\na: 1\nb:\n  - x\n---\n# only a comment\n---\nc: d\n").unwrap();
        assert_eq!(docs.len(), 2);
        let b = docs[0].get("b").unwrap();
        assert_eq!(b.pos.line, 5);
        assert_eq!(docs[0].locate("b[0]"), Pos { line: 5, column: 5 });
        assert_eq!(docs[1].get("c").unwrap().as_str(), Some("d"));
    }

    #[test]
    fn scalars_resolve_like_kubernetes() {
        let docs =
            parse_stream("a: 0644\nb: '0644'\nc: 1.5\nd: ~\ne: 0x1f\nf: web\ng: yes\n").unwrap();
        let s = |k: &str| match &docs[0].get(k).unwrap().value {
            Value::Scalar(s) => s.clone(),
            _ => panic!("not a scalar"),
        };
        assert_eq!(s("a").resolve(), Resolved::Int(0o644));
        assert_eq!(s("b").resolve(), Resolved::Str("0644"));
        assert_eq!(s("c").resolve(), Resolved::Float(1.5));
        assert_eq!(s("d").resolve(), Resolved::Null);
        assert_eq!(s("e").resolve(), Resolved::Int(31));
        assert_eq!(s("f").resolve(), Resolved::Str("web"));
        assert_eq!(s("g").resolve(), Resolved::Str("yes"));
        assert_eq!(s("g").as_bool(), Some(true));
    }

    #[test]
    fn aliases_expand_and_duplicates_are_refused() {
        let docs = parse_stream("base: &b {x: 1}\ncopy: *b\n").unwrap();
        assert_eq!(
            docs[0].get("copy").unwrap().get("x").unwrap().as_str(),
            Some("1")
        );
        let err = parse_stream("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.pos.line, 2);
        assert!(err.message.contains("duplicate key"));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse_stream("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.pos.line >= 1, "{err:?}");
    }
}
