//! serde deserialization of the typed model from the positioned tree.
//!
//! Two things come out besides the value: errors carry the YAML path and position of the node
//! that was wrong, and every field the typed structs do not know is recorded (serde's derive asks
//! for `deserialize_ignored_any` exactly for those), so nothing is dropped silently. The typed
//! structs are therefore the schema: a field is supported iff it is in a struct.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::yaml::{Entry, Node, Pos, Resolved, Scalar, Value};

/// A field present in the YAML that no typed struct consumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// `spec.containers[0].lifecycle.preStop`.
    pub path: String,
    pub pos: Pos,
    /// The known fields of the same object, for [`Unknown::suggestion`] (worked out only for
    /// the fields that get a message: 20,000 objects each with an ignored field stay cheap).
    pub fields: &'static [&'static str],
    /// The value is null, `{}` or `[]`: it asks for nothing (`kubectl` writes `strategy: {}`).
    pub empty: bool,
}

impl Unknown {
    /// A known field of the same object spelt almost the same (`workdir` → `workingDir`).
    pub fn suggestion(&self) -> Option<&'static str> {
        let key = self.path.rsplit('.').next().unwrap_or_default();
        closest(key, self.fields)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeError {
    pub message: String,
    pub path: String,
    pub pos: Option<Pos>,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            message: msg.to_string(),
            path: String::new(),
            pos: None,
        }
    }
}

impl DeError {
    /// The innermost node that failed is the one to report; outer layers keep it.
    fn at(mut self, path: &str, pos: Pos) -> Self {
        if self.pos.is_none() {
            self.pos = Some(pos);
            self.path = path.to_string();
        }
        self
    }
}

/// Deserializes `T` from `node`, whose YAML path is `path` (empty for a document root).
pub fn from_node<'a, T: Deserialize<'a>>(
    node: &'a Node,
    path: &str,
    unknown: &RefCell<Vec<Unknown>>,
) -> Result<T, DeError> {
    from_node_with(node, path, unknown, false)
}

/// [`from_node`]; with `redact`, no error message quotes any text of the input (a Secret's):
/// they say what was found ("a scalar", "a list") and where, never what it said.
pub fn from_node_with<'a, T: Deserialize<'a>>(
    node: &'a Node,
    path: &str,
    unknown: &RefCell<Vec<Unknown>>,
    redact: bool,
) -> Result<T, DeError> {
    T::deserialize(NodeDe {
        node,
        path: path.to_string(),
        unknown,
        siblings: &[],
        redact,
    })
}

/// What replaces a message of serde's that may quote the input (`invalid type: string "…"`)
/// when redacting; serde's messages that name only the schema are kept.
fn redacted(e: DeError) -> DeError {
    if e.pos.is_some() || e.message.starts_with("missing field `") {
        return e;
    }
    DeError {
        message: "invalid value (not shown: it may be secret)".into(),
        ..e
    }
}

struct NodeDe<'a, 'u> {
    node: &'a Node,
    path: String,
    unknown: &'u RefCell<Vec<Unknown>>,
    /// The fields of the struct this value belongs to, for spelling suggestions.
    siblings: &'static [&'static str],
    /// Messages must not quote the input (see [`from_node_with`]).
    redact: bool,
}

impl<'a, 'u> NodeDe<'a, 'u> {
    fn scalar(&self) -> Option<&'a Scalar> {
        match &self.node.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    fn what(&self) -> String {
        match &self.node.value {
            Value::Scalar(s) if s.is_null() => "null".into(),
            Value::Scalar(_) if self.redact => "a scalar (not shown: it may be secret)".into(),
            // A quoted `"80"` is a string to Kubernetes too; say so, or the message puzzles.
            Value::Scalar(s) if !s.plain => format!("the string \"{}\"", s.text),
            Value::Scalar(s) => format!("`{}`", s.text),
            Value::Seq(_) => "a list".into(),
            Value::Map(_) => "a mapping".into(),
        }
    }

    fn fail<T>(&self, expected: &str) -> Result<T, DeError> {
        Err(DeError {
            message: format!("expected {expected}, found {}", self.what()),
            path: self.path.clone(),
            pos: Some(self.node.pos),
        })
    }

    fn located<T>(&self, r: Result<T, DeError>) -> Result<T, DeError> {
        r.map_err(|e| self.settle(e))
    }

    /// An error from below or from a visitor, redacted if need be, located here unless a deeper
    /// node already claimed it.
    fn settle(&self, e: DeError) -> DeError {
        let e = if self.redact { redacted(e) } else { e };
        e.at(&self.path, self.node.pos)
    }

    /// A mapping (or null, as an empty one) visited entry by entry; `fields` are the struct's known
    /// fields (empty for a free-form map), against which unknown keys are recorded.
    fn visit_mapping<V: Visitor<'a>>(
        self,
        visitor: V,
        fields: &'static [&'static str],
    ) -> Result<V::Value, DeError> {
        let entries: &'a [Entry] = match &self.node.value {
            Value::Map(entries) => entries,
            Value::Scalar(s) if s.is_null() => &[],
            _ => return self.fail("a mapping"),
        };
        let r = visitor.visit_map(Map {
            entries: entries.iter(),
            current: None,
            path: &self.path,
            unknown: self.unknown,
            fields,
            redact: self.redact,
        });
        self.located(r)
    }

    fn int(&self) -> Result<i64, DeError> {
        match self.scalar().map(Scalar::resolve) {
            Some(Resolved::Int(i)) => Ok(i),
            Some(Resolved::Float(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
            _ => self.fail("an integer"),
        }
    }
}

macro_rules! int_method {
    ($name:ident, $visit:ident, $ty:ty) => {
        fn $name<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
            let i = self.int()?;
            #[allow(irrefutable_let_patterns)]
            let Ok(v) = <$ty>::try_from(i) else {
                return self.fail(concat!("an integer that fits ", stringify!($ty)));
            };
            let r = visitor.$visit(v);
            self.located(r)
        }
    };
}

impl<'a, 'u> de::Deserializer<'a> for NodeDe<'a, 'u> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Scalar(s) => match s.resolve() {
                Resolved::Null => visitor.visit_unit(),
                Resolved::Bool(b) => visitor.visit_bool(b),
                Resolved::Int(i) => visitor.visit_i64(i),
                Resolved::Float(f) => visitor.visit_f64(f),
                Resolved::Str(_) => visitor.visit_borrowed_str(&s.text),
            },
            Value::Seq(_) => return self.deserialize_seq(visitor),
            Value::Map(_) => return self.deserialize_map(visitor),
        };
        self.located(r)
    }

    fn deserialize_bool<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar().and_then(Scalar::as_bool) {
            Some(b) => {
                let r = visitor.visit_bool(b);
                self.located(r)
            }
            None => self.fail("true or false"),
        }
    }

    int_method!(deserialize_i8, visit_i8, i8);
    int_method!(deserialize_i16, visit_i16, i16);
    int_method!(deserialize_i32, visit_i32, i32);
    int_method!(deserialize_i64, visit_i64, i64);
    int_method!(deserialize_u8, visit_u8, u8);
    int_method!(deserialize_u16, visit_u16, u16);
    int_method!(deserialize_u32, visit_u32, u32);
    int_method!(deserialize_u64, visit_u64, u64);

    fn deserialize_f32<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let f = match self.scalar().map(Scalar::resolve) {
            Some(Resolved::Int(i)) => i as f64,
            Some(Resolved::Float(f)) => f,
            _ => return self.fail("a number"),
        };
        let r = visitor.visit_f64(f);
        self.located(r)
    }

    fn deserialize_char<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    /// Any non-null scalar is accepted as a string: `value: 8080` and `version: 1.0` mean
    /// the text the user wrote, which is what every Kubernetes user expects here.
    fn deserialize_str<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar() {
            Some(s) if !s.is_null() => {
                let r = visitor.visit_borrowed_str(&s.text);
                self.located(r)
            }
            _ => self.fail("a string"),
        }
    }

    fn deserialize_string<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.node.is_null() {
            let r = visitor.visit_none();
            return self.located(r);
        }
        let here = NodeDe {
            path: self.path.clone(),
            ..self
        };
        visitor.visit_some(self).map_err(|e| here.settle(e))
    }

    fn deserialize_unit<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.node.is_null() {
            let r = visitor.visit_unit();
            self.located(r)
        } else {
            self.fail("null")
        }
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let here = NodeDe {
            path: self.path.clone(),
            ..self
        };
        visitor
            .visit_newtype_struct(self)
            .map_err(|e| here.settle(e))
    }

    /// A null list (`env:` with nothing under it) is an empty list, as in Kubernetes.
    fn deserialize_seq<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let items: &'a [Node] = match &self.node.value {
            Value::Seq(items) => items,
            Value::Scalar(s) if s.is_null() => &[],
            _ => return self.fail("a list"),
        };
        let r = visitor.visit_seq(Seq {
            items: items.iter().enumerate(),
            path: &self.path,
            unknown: self.unknown,
            redact: self.redact,
        });
        self.located(r)
    }

    fn deserialize_tuple<V: Visitor<'a>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.visit_mapping(visitor, &[])
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.visit_mapping(visitor, fields)
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.scalar() {
            Some(s) if !s.is_null() => {
                let r = visitor.visit_enum(s.text.as_str().into_deserializer());
                self.located(r)
            }
            _ => self.fail("a name"),
        }
    }

    fn deserialize_identifier<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    /// serde's derive calls this for fields the struct does not have: record them.
    fn deserialize_ignored_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.unknown.borrow_mut().push(Unknown {
            path: self.path.clone(),
            pos: self.node.pos,
            fields: self.siblings,
            empty: match &self.node.value {
                Value::Scalar(s) => s.is_null(),
                Value::Seq(items) => items.is_empty(),
                Value::Map(entries) => entries.is_empty(),
            },
        });
        visitor.visit_unit()
    }
}

struct Seq<'a, 'p, 'u> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Node>>,
    path: &'p str,
    unknown: &'u RefCell<Vec<Unknown>>,
    redact: bool,
}

impl<'a> SeqAccess<'a> for Seq<'a, '_, '_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            None => Ok(None),
            Some((i, node)) => seed
                .deserialize(NodeDe {
                    node,
                    path: format!("{}[{i}]", self.path),
                    unknown: self.unknown,
                    siblings: &[],
                    redact: self.redact,
                })
                .map(Some),
        }
    }

    /// The exact length: a `Vec` is allocated once, not grown (and left with slack) item by item.
    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Map<'a, 'p, 'u> {
    entries: std::slice::Iter<'a, Entry>,
    current: Option<&'a Entry>,
    path: &'p str,
    unknown: &'u RefCell<Vec<Unknown>>,
    fields: &'static [&'static str],
    redact: bool,
}

impl<'a> MapAccess<'a> for Map<'a, '_, '_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.current = Some(entry);
        let key: de::value::BorrowedStrDeserializer<'a, DeError> =
            de::value::BorrowedStrDeserializer::new(&entry.key);
        let redact = self.redact;
        seed.deserialize(key).map(Some).map_err(|e| {
            let e = if redact { redacted(e) } else { e };
            e.at(&join(self.path, &entry.key), entry.key_pos)
        })
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some(entry) = self.current.take() else {
            return Err(de::Error::custom("value requested before key"));
        };
        seed.deserialize(NodeDe {
            node: &entry.value,
            path: join(self.path, &entry.key),
            unknown: self.unknown,
            siblings: self.fields,
            redact: self.redact,
        })
    }
}

/// The nearest field name to `key` (case-insensitively): within two edits, or three for
/// longer names (`workdir` → `workingDir`).
fn closest(key: &str, fields: &'static [&'static str]) -> Option<&'static str> {
    let key = key.to_ascii_lowercase();
    let mut best: Option<(&'static str, usize)> = None;
    for f in fields {
        let d = distance(&key, &f.to_ascii_lowercase());
        let limit = if key.len() >= 6 { 3 } else { 2 };
        if d <= limit && best.map_or(true, |(_, bd)| d < bd) {
            best = Some((f, d));
        }
    }
    best.map(|(f, _)| f)
}

/// Levenshtein distance; field names are short.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// `a.b` + `c` → `a.b.c`; keys that are not identifiers (annotation keys) are bracketed.
pub fn join(path: &str, key: &str) -> String {
    let plain = key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}['{key}']"),
    }
}

/// Accepts any value without recording its content as unknown: for fields Kubernetes requires
/// that mean nothing on one host and that we deliberately accept (a Deployment's `selector`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Opaque;

impl<'de> Deserialize<'de> for Opaque {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OpaqueVisitor)
    }
}

struct OpaqueVisitor;

impl<'de> Visitor<'de> for OpaqueVisitor {
    type Value = Opaque;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Opaque, E> {
        Ok(Opaque)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Opaque, E> {
        Ok(Opaque)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Opaque, E> {
        Ok(Opaque)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Opaque, E> {
        Ok(Opaque)
    }
    fn visit_str<E>(self, _: &str) -> Result<Opaque, E> {
        Ok(Opaque)
    }
    fn visit_unit<E>(self) -> Result<Opaque, E> {
        Ok(Opaque)
    }
    fn visit_none<E>(self) -> Result<Opaque, E> {
        Ok(Opaque)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Opaque, A::Error> {
        while seq.next_element::<Opaque>()?.is_some() {}
        Ok(Opaque)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Opaque, A::Error> {
        while map.next_entry::<Opaque, Opaque>()?.is_some() {}
        Ok(Opaque)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::yaml::parse_stream;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        name: String,
        #[serde(default)]
        ports: Vec<u16>,
        #[allow(dead_code)]
        read_only: Option<bool>,
    }

    fn parse<T: for<'a> Deserialize<'a>>(yaml: &str) -> (Result<T, DeError>, Vec<Unknown>) {
        let docs = parse_stream(yaml).unwrap();
        let unknown = RefCell::new(Vec::new());
        let r = from_node::<T>(&docs[0], "", &unknown);
        (r, unknown.into_inner())
    }

    #[test]
    fn unknown_fields_are_recorded_with_path_and_position() {
        let (r, unknown) = parse::<Probe>("name: a\nports: [80]\nextra:\n  deep: 1\n");
        let p = r.unwrap();
        assert_eq!(p.name, "a");
        assert_eq!(p.ports, vec![80]);
        assert_eq!(
            unknown,
            vec![Unknown {
                path: "extra".into(),
                pos: Pos { line: 4, column: 3 },
                fields: &["name", "ports", "readOnly"],
                empty: false,
            }]
        );
        let (_, unknown) = parse::<Probe>("name: a\nreadonly: true\n");
        assert_eq!(unknown[0].suggestion(), Some("readOnly"));
    }

    #[test]
    fn type_errors_name_the_path_and_position() {
        let (r, _) = parse::<Probe>("name: a\nports:\n  - 80\n  - http\n");
        let e = r.unwrap_err();
        assert_eq!(e.path, "ports[1]");
        assert_eq!(e.pos, Some(Pos { line: 4, column: 5 }));
        assert!(e.message.contains("integer"), "{e:?}");
        let (r, _) = parse::<Probe>("name: a\nports: ['80']\n");
        let e = r.unwrap_err();
        assert_eq!(e.message, "expected an integer, found the string \"80\"");
        let (r, _) = parse::<Probe>("name: a\nreadOnly: maybe\n");
        assert_eq!(r.unwrap_err().path, "readOnly");
        let (r, _) = parse::<Probe>("ports: []\n");
        let e = r.unwrap_err();
        assert!(e.message.contains("missing field `name`"), "{e:?}");
        assert_eq!(e.pos, Some(Pos { line: 1, column: 1 }));
    }
}
