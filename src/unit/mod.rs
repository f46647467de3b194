//! systemd unit-file syntax as Quadlet reads and writes it.
//!
//! Our own parser rather than an ini crate because Quadlet's output depends on details those
//! lose: comments are re-emitted where they were, repeated keys keep their order, backslash
//! continuations are joined without a separator, and every value must remember the file and
//! line it came from so errors can point at it (drop-in values keep their own file).
//!
//! The lookups mirror Quadlet's `Lookup*` family (reference §2.3); the mutators (`add`, `set`,
//! `unset`, `prepend`, `rename_group`) mirror the ones its converters use, so the rendered
//! output has the same line order as Quadlet's.

pub mod name;
mod parse;
pub mod split;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use self::parse::*;
pub use self::parse::{excerpt, WHITESPACE};
pub use split::{join_cmdline, quote_word, SplitError};

/// Where a value came from. `line == 0` marks a line the generator added itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub path: Arc<Path>,
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.path.display())
        } else {
            write!(f, "{}:{}", self.path.display(), self.line)
        }
    }
}

/// One value of a key with its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub value: String,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    /// A comment or blank line, kept verbatim (already trimmed).
    Comment(String),
    Entry {
        key: String,
        value: Value,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    /// Empty only for the pseudo-group holding the comments of a file without groups.
    name: String,
    /// Comment lines written before the `[name]` line.
    comments: Vec<String>,
    lines: Vec<Line>,
}

impl Group {
    fn new(name: &str) -> Group {
        Group {
            name: name.to_string(),
            comments: Vec::new(),
            lines: Vec::new(),
        }
    }

    fn entries(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.lines.iter().filter_map(|l| match l {
            Line::Entry { key, value } => Some((key.as_str(), value)),
            Line::Comment(_) => None,
        })
    }

    fn find_last_mut(&mut self, wanted: &str) -> Option<&mut Value> {
        self.lines.iter_mut().rev().find_map(|l| match l {
            Line::Entry { key, value } if key == wanted => Some(value),
            _ => None,
        })
    }

    fn merge(&mut self, other: &Group) {
        self.comments.extend(other.comments.iter().cloned());
        self.lines.extend(other.lines.iter().cloned());
    }
}

/// A parsed unit file (or a generated one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFile {
    path: Arc<Path>,
    groups: Vec<Group>,
    /// Group name → index in `groups`, once there are more than [`INDEXED_FROM`] groups: a unit
    /// with 100,000 groups must not cost 100,000²/2 string comparisons to parse. Real units have
    /// a handful, found faster by comparing names than by hashing them (every lookup of every
    /// key goes through here). `Some` exactly when there are more groups than that.
    index: Option<HashMap<String, usize>>,
}

/// The number of groups past which they are found through a hash map.
const INDEXED_FROM: usize = 16;

/// A syntax error; Display is `<path>:<line>: <message>` (`<path>:<line>:<column>: …` when the
/// column is known).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    pub path: PathBuf,
    pub line: usize,
    /// 1-based, in characters; 0 when the error is about the whole line.
    pub column: usize,
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)?;
        if self.column > 0 {
            write!(f, ":{}", self.column)?;
        }
        write!(f, ": {}", self.kind)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("invalid group name: {0}")]
    InvalidGroupName(String),
    #[error("invalid key name: {0}")]
    InvalidKeyName(String),
    #[error("key file does not start with a group")]
    KeyBeforeGroup,
    #[error(
        "file contains line {line}: “{text}” which is not a key-value pair, group, or comment"
    )]
    NotKeyValue { line: usize, text: String },
    #[error("NUL byte in a unit file (systemd would end the line here)")]
    Nul,
    #[error("carriage return inside a line (systemd would end the line here)")]
    CarriageReturn,
}

/// A unit that cannot be written as it is held; Display is `<origin>: <key>: <what>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {key}: {what}")]
pub struct RenderError {
    pub origin: Origin,
    pub key: String,
    pub what: String,
}

/// Why `text` cannot stand on one line of a unit file as it is, if it cannot.
fn line_problem(text: &str) -> Option<&'static str> {
    // One pass over the bytes for the common case (nothing wrong): every value of every
    // generated unit goes through here.
    let first = text
        .bytes()
        .position(|b| matches!(b, b'\0' | b'\n' | b'\r'))?;
    if text.as_bytes()[first..].contains(&b'\0') {
        Some("contains a NUL byte, which cannot be written into a unit file")
    } else {
        Some("contains a line break, which would start a new line in the unit")
    }
}

fn check_entry(group: &str, key: &str, value: &Value) -> Result<(), RenderError> {
    let fail = |what: String| {
        Err(RenderError {
            origin: value.origin.clone(),
            key: excerpt(key),
            what,
        })
    };
    if !key_name_is_valid(key)
        || key != trim_ws(key)
        || key.starts_with(['#', ';', '['])
        || line_problem(key).is_some()
    {
        return fail(format!(
            "not a key systemd can read in [{}]",
            excerpt(group)
        ));
    }
    let v = &value.value;
    if let Some(why) = line_problem(v) {
        return fail(format!("value {why}"));
    }
    if v != trim_ws(v) {
        return fail(format!(
            "value “{}” starts or ends with blanks, which systemd strips",
            excerpt(v)
        ));
    }
    if trailing_backslashes(v) % 2 == 1 {
        return fail(format!(
            "value “{}” ends in a backslash, which systemd reads as a line continuation \
             (glueing the next line onto it)",
            excerpt(v)
        ));
    }
    Ok(())
}

fn check_comment(path: &Arc<Path>, group: &str, comment: &str) -> Result<(), RenderError> {
    let bad_group = !group.is_empty() && !group_name_is_valid(group);
    match line_problem(comment) {
        None if !bad_group => Ok(()),
        why => Err(RenderError {
            origin: Origin {
                path: path.clone(),
                line: 0,
            },
            key: format!("[{}]", excerpt(group)),
            what: why.unwrap_or("not a valid group name").to_string(),
        }),
    }
}

impl UnitFile {
    /// An empty unit (no groups) that claims to come from `path`.
    pub fn new(path: &Path) -> UnitFile {
        UnitFile {
            path: Arc::from(path),
            groups: Vec::new(),
            index: None,
        }
    }

    /// Parses `text` read from `path` (§2.1–2.2 of the reference).
    ///
    /// Lines are read as systemd reads them: trimmed of systemd's whitespace (` \t\r\n`, not
    /// Unicode's), continued when they end in an odd number of backslashes (an even number is
    /// escaped backslashes, as in systemd; continued lines are joined without a separator, as
    /// Quadlet does). A NUL byte or a carriage return inside a line is an error: systemd would
    /// end the line there, so what it reads would differ from what we convert.
    pub fn parse(path: &Path, text: &str) -> Result<UnitFile, ParseError> {
        check_line_breaks(path, text)?;
        let mut p = Parser {
            file: UnitFile::new(path),
            current: None,
            pending_comments: Vec::new(),
            path,
        };
        let text = text.strip_suffix('\n').unwrap_or(text);
        // An empty file has no lines (upstream would keep one blank line; it only adds noise).
        let lines: Vec<&str> = if text.is_empty() {
            Vec::new()
        } else {
            text.split('\n').collect()
        };
        let count = lines.len();
        // A continued line: its text so far and the line number it started on (a line that
        // is not continued is parsed where it lies, without a copy).
        let mut pending: Option<(String, usize)> = None;
        for (idx, raw) in lines.iter().enumerate() {
            let number = idx + 1;
            let line = trim_ws(raw);
            if is_comment(line) {
                // Comments and blank lines inside a continuation are skipped, not ends.
                if pending.is_some() {
                    continue;
                }
                p.parse_line(line, number)?;
                continue;
            }
            let (body, continued) = match continuation_body(line) {
                Some(body) if number != count => (body, true),
                Some(body) => (body, false),
                None => (line, false),
            };
            match (pending.take(), continued) {
                (None, false) => p.parse_line(body, number)?,
                // Quadlet concatenates without a separator: whitespace before the `\` survives.
                (None, true) => pending = Some((body.to_string(), number)),
                (Some((mut joined, start)), true) => {
                    joined.push_str(body);
                    pending = Some((joined, start));
                }
                (Some((mut joined, start)), false) => {
                    joined.push_str(body);
                    p.parse_line(&joined, start)?;
                }
            }
        }
        // A continuation still pending at EOF is dropped, as Quadlet does.
        if p.current.is_none() {
            p.current = Some(p.file.ensure_group(""));
        }
        p.flush_comments(false);
        let mut file = p.file;
        // A file without groups and without comments has nothing to keep.
        let before = file.groups.len();
        file.groups
            .retain(|g| !(g.name.is_empty() && g.lines.is_empty() && g.comments.is_empty()));
        if file.groups.len() != before {
            file.reindex();
        }
        Ok(file)
    }

    /// The file this unit was read from (or will be written as).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Changes the path recorded for this unit (values keep their own origins).
    pub fn set_path(&mut self, path: &Path) {
        self.path = Arc::from(path);
    }

    fn group_index(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(name).copied(),
            None => self.groups.iter().position(|g| g.name == name),
        }
    }

    fn group(&self, name: &str) -> Option<&Group> {
        self.group_index(name).and_then(|i| self.groups.get(i))
    }

    fn ensure_group(&mut self, name: &str) -> usize {
        match self.group_index(name) {
            Some(i) => i,
            None => {
                self.groups.push(Group::new(name));
                let i = self.groups.len() - 1;
                match &mut self.index {
                    Some(index) => {
                        index.insert(name.to_string(), i);
                    }
                    None if self.groups.len() > INDEXED_FROM => self.reindex(),
                    None => {}
                }
                i
            }
        }
    }

    /// Rebuilds the name index after groups were removed or renamed.
    fn reindex(&mut self) {
        self.index = (self.groups.len() > INDEXED_FROM).then(|| {
            self.groups
                .iter()
                .enumerate()
                .map(|(i, g)| (g.name.clone(), i))
                .collect()
        });
    }

    fn group_mut(&mut self, name: &str) -> &mut Group {
        let i = self.ensure_group(name);
        &mut self.groups[i]
    }

    /// Quadlet's `Merge`: every group of `dropin` is appended to the same-named group here
    /// (new groups at the end); values keep the drop-in's origin.
    pub fn merge(&mut self, dropin: &UnitFile) {
        for g in &dropin.groups {
            self.group_mut(&g.name).merge(g);
        }
    }

    /// Serializes as Quadlet does (§2.7).
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (i, g) in self.groups.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            for c in &g.comments {
                out.push_str(c);
                out.push('\n');
            }
            if !g.name.is_empty() {
                out.push('[');
                out.push_str(&g.name);
                out.push_str("]\n");
            }
            for l in &g.lines {
                match l {
                    Line::Comment(c) => out.push_str(c),
                    Line::Entry { key, value } => {
                        out.push_str(key);
                        out.push('=');
                        out.push_str(&value.value);
                    }
                }
                out.push('\n');
            }
        }
        out
    }

    /// [`render`](Self::render), refusing a unit that systemd would not read back as it is held
    /// here: a value with a line break or NUL, one that ends in an odd number of backslashes
    /// (a continuation), blanks systemd strips, a key or group name that is not one. As a last
    /// guard the text is parsed again and must give the same groups, keys and values.
    pub fn render_checked(&self) -> Result<String, RenderError> {
        for g in &self.groups {
            for l in &g.lines {
                match l {
                    Line::Entry { key, value } => check_entry(&g.name, key, value)?,
                    Line::Comment(c) => check_comment(&self.path, &g.name, c)?,
                }
            }
            for c in &g.comments {
                check_comment(&self.path, &g.name, c)?;
            }
        }
        let text = self.render();
        let again = UnitFile::parse(&self.path, &text).map_err(|e| RenderError {
            origin: self.generated_origin(),
            key: String::new(),
            what: format!("the rendered unit does not parse: {e}"),
        })?;
        self.check_same_entries(&again)?;
        Ok(text)
    }

    /// Every group, key and value of `self` and `other` are the same, in order.
    fn check_same_entries(&self, other: &UnitFile) -> Result<(), RenderError> {
        let mut theirs = other.all_entries();
        let mut first_difference = None;
        for (group, key, value) in self.all_entries() {
            if theirs.next() != Some((group, key, value)) {
                first_difference = Some((group, key));
                break;
            }
        }
        let (group, key) = match first_difference {
            None if theirs.next().is_none() => return Ok(()),
            None => ("", ""),
            Some(at) => at,
        };
        let origin = self
            .lookup_last(group, key)
            .map_or_else(|| self.generated_origin(), |v| v.origin.clone());
        Err(RenderError {
            origin,
            key: key.to_string(),
            what: "the rendered unit reads back differently".to_string(),
        })
    }

    /// Every (group, key, value) in file order, without copying.
    fn all_entries(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.groups.iter().flat_map(|g| {
            g.entries()
                .map(move |(k, v)| (g.name.as_str(), k, v.value.as_str()))
        })
    }

    /// Names of the groups, in file order.
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.groups.iter().map(|g| g.name.as_str())
    }

    pub fn has_group(&self, group: &str) -> bool {
        self.group(group).is_some()
    }

    pub fn has_key(&self, group: &str, key: &str) -> bool {
        self.lookup_last(group, key).is_some()
    }

    /// Every key of a group with its value and origin, in order (for the unknown-key check).
    pub fn entries<'a>(&'a self, group: &str) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.group(group).into_iter().flat_map(|g| g.entries())
    }

    /// Quadlet `LookupLast`: the last value, raw, with its origin.
    pub fn lookup_last(&self, group: &str, key: &str) -> Option<&Value> {
        self.group(group)?
            .entries()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v)
            .last()
    }

    /// Quadlet `Lookup`: the last value, trailing whitespace trimmed and one outer pair of
    /// double quotes removed.
    pub fn lookup(&self, group: &str, key: &str) -> Option<String> {
        let v = self.lookup_last(group, key)?.value.trim_end();
        let unquoted = if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
            &v[1..v.len() - 1]
        } else {
            v
        };
        Some(unquoted.to_string())
    }

    /// All values of a key in order, an empty value resetting the list (Quadlet `LookupAll`),
    /// with their origins.
    pub fn lookup_all_values(&self, group: &str, key: &str) -> Vec<&Value> {
        let mut out = Vec::new();
        for (k, v) in self.entries(group) {
            if k != key {
                continue;
            }
            if v.value.is_empty() {
                out.clear();
            } else {
                out.push(v);
            }
        }
        out
    }

    /// Quadlet `LookupAll`.
    pub fn lookup_all(&self, group: &str, key: &str) -> Vec<String> {
        self.lookup_all_values(group, key)
            .into_iter()
            .map(|v| v.value.clone())
            .collect()
    }

    /// Quadlet `LookupAllStrv`: all values, whitespace-split, quotes removed, backslashes kept.
    pub fn lookup_all_strv(&self, group: &str, key: &str) -> Vec<String> {
        self.lookup_all_values(group, key)
            .into_iter()
            .flat_map(|v| split::split_strv(&v.value))
            .collect()
    }

    /// Like [`lookup_all_strv`](Self::lookup_all_strv) but every word keeps its origin.
    pub fn lookup_all_strv_values(&self, group: &str, key: &str) -> Vec<Value> {
        self.lookup_all_values(group, key)
            .into_iter()
            .flat_map(|v| {
                split::split_strv(&v.value).into_iter().map(|w| Value {
                    value: w,
                    origin: v.origin.clone(),
                })
            })
            .collect()
    }

    /// Quadlet `LookupAllArgs`: all values exec-split; a value that fails to split is dropped.
    pub fn lookup_all_args(&self, group: &str, key: &str) -> Vec<String> {
        self.lookup_all_values(group, key)
            .into_iter()
            .filter_map(|v| split::split_exec(&v.value).ok())
            .flatten()
            .collect()
    }

    /// Quadlet `LookupLastArgs`: the last value exec-split. `None` when the key is absent.
    pub fn lookup_last_args(
        &self,
        group: &str,
        key: &str,
    ) -> Option<Result<Vec<String>, (SplitError, &Value)>> {
        let v = self.lookup_last(group, key)?;
        Some(split::split_exec(&v.value).map_err(|e| (e, v)))
    }

    /// Quadlet `LookupAllKeyVal`: `k=v` words of all values into a map sorted by key
    /// (duplicates: last wins; bare `k` maps to `None`). Values that fail to split are
    /// skipped and returned as warnings `path:line: KEY: error`.
    pub fn lookup_all_key_val(
        &self,
        group: &str,
        key: &str,
    ) -> (BTreeMap<String, Option<String>>, Vec<String>) {
        let mut map = BTreeMap::new();
        let mut warnings = Vec::new();
        for v in self.lookup_all_values(group, key) {
            match split::split_exec(&v.value) {
                Ok(words) => {
                    for w in words {
                        match w.split_once('=') {
                            Some((k, val)) => map.insert(k.to_string(), Some(val.to_string())),
                            None => map.insert(w, None),
                        };
                    }
                }
                Err(e) => warnings.push(format!(
                    "{}: {key}: {e} in '{}'",
                    v.origin,
                    excerpt(&v.value)
                )),
            }
        }
        (map, warnings)
    }

    /// Quadlet `LookupBoolean`: `None` when absent, else true iff `1|yes|true|on`.
    pub fn lookup_bool(&self, group: &str, key: &str) -> Option<bool> {
        let v = self.lookup(group, key)?;
        Some(
            ["1", "yes", "true", "on"]
                .iter()
                .any(|t| v.eq_ignore_ascii_case(t)),
        )
    }

    /// Quadlet `LookupUint32` (strtol-like: `0x` hex, leading-`0` octal, else decimal);
    /// `None` when absent, `Some(default)` when unparsable or out of range.
    pub fn lookup_u32(&self, group: &str, key: &str, default: u32) -> Option<u32> {
        let v = self.lookup(group, key)?;
        Some(
            parse_c_int(&v)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(default),
        )
    }

    /// Appends `key=value` to the group (created at the end if missing).
    pub fn add(&mut self, group: &str, key: &str, value: &str) {
        let origin = self.generated_origin();
        self.group_mut(group).lines.push(Line::Entry {
            key: key.to_string(),
            value: Value {
                value: value.to_string(),
                origin,
            },
        });
    }

    /// Appends `key=<words joined and quoted as an exec line>`.
    pub fn add_cmdline<S: AsRef<str>>(&mut self, group: &str, key: &str, words: &[S]) {
        self.add(group, key, &join_cmdline(words));
    }

    /// Replaces the last line with this key in place, or appends one.
    pub fn set(&mut self, group: &str, key: &str, value: &str) {
        match self.group_mut(group).find_last_mut(key) {
            Some(v) => v.value = value.to_string(),
            None => self.add(group, key, value),
        }
    }

    /// Removes every line with this key.
    pub fn unset(&mut self, group: &str, key: &str) {
        if let Some(i) = self.group_index(group) {
            self.groups[i]
                .lines
                .retain(|l| !matches!(l, Line::Entry { key: k, .. } if k == key));
        }
    }

    /// Rewrites, with `f`, the values of `group` that were added here rather than read from a
    /// file (their origin has no line), for keys `wanted` accepts.
    pub fn rewrite_added(
        &mut self,
        group: &str,
        wanted: impl Fn(&str) -> bool,
        f: impl Fn(&str) -> String,
    ) {
        let Some(i) = self.group_index(group) else {
            return;
        };
        for line in &mut self.groups[i].lines {
            if let Line::Entry { key, value } = line {
                if value.origin.line == 0 && wanted(key) {
                    value.value = f(&value.value);
                }
            }
        }
    }

    /// Inserts `key=value` as the first line of the group.
    pub fn prepend(&mut self, group: &str, key: &str, value: &str) {
        let origin = self.generated_origin();
        self.group_mut(group).lines.insert(
            0,
            Line::Entry {
                key: key.to_string(),
                value: Value {
                    value: value.to_string(),
                    origin,
                },
            },
        );
    }

    /// Renames a group; renaming onto an existing group merges into it.
    pub fn rename_group(&mut self, from: &str, to: &str) {
        let Some(i) = self.group_index(from).filter(|_| from != to) else {
            return;
        };
        match self.group_index(to) {
            None => {
                self.groups[i].name = to.to_string();
                if let Some(index) = &mut self.index {
                    index.remove(from);
                    index.insert(to.to_string(), i);
                }
            }
            Some(j) => {
                let g = self.groups.remove(i);
                let j = if j > i { j - 1 } else { j };
                self.groups[j].merge(&g);
                self.reindex();
            }
        }
    }

    /// Puts comment lines before everything else (the generator's header).
    pub fn prepend_comments(&mut self, comments: &[&str]) {
        if let Some(g) = self.groups.first_mut() {
            let mut c: Vec<String> = comments.iter().map(|s| s.to_string()).collect();
            c.append(&mut g.comments);
            g.comments = c;
        }
    }

    fn generated_origin(&self) -> Origin {
        Origin {
            path: self.path.clone(),
            line: 0,
        }
    }
}

/// strtol with base 0 on a whole string (optional sign, `0x` hex, leading `0` octal).
fn parse_c_int(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let n = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i64::from_str_radix(h, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse::<i64>().ok()?
    };
    Some(if neg { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> UnitFile {
        UnitFile::parse(Path::new("/d/x.kube"), text).unwrap()
    }

    fn err(text: &str) -> String {
        UnitFile::parse(Path::new("/d/x.kube"), text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn round_trips_a_plain_file() {
        let text = "# top\n[Unit]\nDescription=x\n\n# before kube\n[Kube]\nYaml=a.yml\n; inside\nYaml=b.yml\n";
        assert_eq!(parse(text).render(), text);
    }

    #[test]
    fn first_blank_before_group_is_dropped_and_readded() {
        let text = "[A]\nk=v\n\n\n[B]\nx=y\n";
        assert_eq!(parse(text).render(), "[A]\nk=v\n\n\n[B]\nx=y\n");
    }

    #[test]
    fn trims_lines_and_key_value_blanks() {
        let u = parse("  [A]  \n  Key  =   value  \r\n");
        assert_eq!(u.lookup_last("A", "Key").unwrap().value, "value");
        assert_eq!(u.render(), "[A]\nKey=value\n");
    }

    #[test]
    fn repeated_groups_merge_into_first() {
        let u = parse("[A]\na=1\n[B]\nb=1\n[A]\na=2\n");
        assert_eq!(u.groups().collect::<Vec<_>>(), ["A", "B"]);
        assert_eq!(u.lookup_all("A", "a"), ["1", "2"]);
    }

    #[test]
    fn continuation_joins_without_separator() {
        let u = parse("[A]\nExec=a \\\n  b\nX=a\\\nb\n");
        assert_eq!(u.lookup("A", "Exec").unwrap(), "a b");
        assert_eq!(u.lookup("A", "X").unwrap(), "ab");
    }

    #[test]
    fn continuation_skips_comments_and_blanks() {
        let u = parse("[A]\nExec=a \\\n# c\n\n; d\n  b\nNext=1\n");
        assert_eq!(u.lookup("A", "Exec").unwrap(), "a b");
        assert_eq!(u.render(), "[A]\nExec=a b\nNext=1\n");
    }

    #[test]
    fn even_backslashes_are_not_a_continuation() {
        // systemd: `\\` is an escaped backslash; only an odd count continues the line.
        let u = parse("[A]\nk=bar\\\\\nn=1\nl=x\\\\\\\ny\nlast=bar\\\\");
        assert_eq!(u.lookup_last("A", "k").unwrap().value, "bar\\\\");
        assert_eq!(u.lookup_last("A", "n").unwrap().value, "1");
        assert_eq!(u.lookup_last("A", "l").unwrap().value, "x\\\\y");
        assert_eq!(u.lookup_last("A", "last").unwrap().value, "bar\\\\");
    }

    #[test]
    fn nul_and_lone_carriage_returns_are_errors_with_a_column() {
        assert_eq!(
            err("[A]\nImage=busy\0box\n"),
            "/d/x.kube:2:11: NUL byte in a unit file (systemd would end the line here)"
        );
        assert_eq!(
            err("[A]\nk=a\rOther=b\n"),
            "/d/x.kube:2:4: carriage return inside a line (systemd would end the line here)"
        );
        // CRLF line ends are fine.
        assert_eq!(parse("[A]\r\nk=v\r\n").lookup("A", "k").unwrap(), "v");
    }

    #[test]
    fn only_systemds_whitespace_is_trimmed() {
        let u = parse("[A]\nk=\u{a0}v\u{85}\n");
        assert_eq!(u.lookup_last("A", "k").unwrap().value, "\u{a0}v\u{85}");
    }

    #[test]
    fn a_huge_bad_line_is_quoted_in_part() {
        let line = "x".repeat(10_000_000);
        let e = err(&format!("[A]\n{line}\n"));
        assert!(e.len() < 300, "{} bytes", e.len());
        assert!(e.contains("… (10000000 bytes in all)"), "{e}");
    }

    #[test]
    fn many_groups_and_keys_keep_their_order() {
        let mut text = String::new();
        for i in 0..2000 {
            text.push_str(&format!("[G{}]\nk=1\n", i % 1000));
        }
        let u = parse(&text);
        assert_eq!(u.groups().count(), 1000);
        assert_eq!(u.lookup_all("G999", "k"), ["1", "1"]);
        let mut u = u;
        u.rename_group("G0", "G1");
        assert_eq!(u.lookup_all("G1", "k").len(), 4);
        assert_eq!(u.lookup_all("G999", "k").len(), 2);
        assert!(!u.has_group("G0"));
        // Renaming onto itself changes nothing (it used to merge into the next group).
        u.rename_group("G5", "G5");
        assert_eq!(u.lookup_all("G5", "k").len(), 2);
        assert_eq!(u.lookup_all("G6", "k").len(), 2);
        u.rename_group("G7", "New");
        assert_eq!(u.lookup_all("New", "k").len(), 2);
        assert!(!u.has_group("G7"));
    }

    #[test]
    fn groups_are_found_on_both_sides_of_the_index_threshold() {
        for n in [3, INDEXED_FROM, INDEXED_FROM + 1, INDEXED_FROM + 2] {
            let text: String = (0..n).map(|i| format!("[G{i}]\nk={i}\n")).collect();
            let mut u = parse(&text);
            assert_eq!(u.index.is_some(), n > INDEXED_FROM, "{n} groups");
            for i in 0..n {
                assert_eq!(u.lookup(&format!("G{i}"), "k"), Some(i.to_string()));
            }
            // A merge drops one group (below the threshold again for INDEXED_FROM + 1).
            u.rename_group("G0", "G1");
            assert_eq!(u.index.is_some(), n - 1 > INDEXED_FROM, "{n} groups");
            assert_eq!(u.lookup_all("G1", "k"), ["1", "0"]);
            u.rename_group(&format!("G{}", n - 1), "Last");
            assert_eq!(u.lookup("Last", "k"), Some((n - 1).to_string()));
            assert!(!u.has_group(&format!("G{}", n - 1)) && !u.has_group("G0"));
            // Adding groups crosses it upwards.
            u.add("New1", "k", "a");
            u.add("New2", "k", "b");
            assert_eq!(u.index.is_some(), n + 1 > INDEXED_FROM, "{n} groups");
            assert_eq!(u.lookup("New2", "k").as_deref(), Some("b"));
            assert_eq!(u.lookup("Last", "k"), Some((n - 1).to_string()));
        }
    }

    fn render_err(key: &str, value: &str) -> String {
        let mut u = parse("[Service]\nType=simple\n");
        u.add("Service", key, value);
        u.add("Service", "Environment", "PODMAN_SYSTEMD_UNIT=%n");
        u.render_checked().unwrap_err().to_string()
    }

    #[test]
    fn values_systemd_would_read_differently_are_refused() {
        assert!(render_err("ExecStart", "/bin/echo bar\\").contains(
            "/d/x.kube: ExecStart: value “/bin/echo bar\\” ends in a backslash, which systemd reads as a line continuation"
        ));
        assert!(render_err("X", "a\nEnvironment=EVIL=1").contains("X: value contains a line break"));
        assert!(render_err("X", "a\rb").contains("line break"));
        assert!(render_err("X", "busy\0box").contains("NUL"));
        assert!(render_err("X", "v ").contains("blanks"));
        assert!(render_err("X=Y", "v").contains("not a key"));
        assert!(render_err("#X", "v").contains("not a key"));
    }

    /// The last guard of render_checked: the first entry that differs is named, with its
    /// origin; an entry only one side has counts as a difference.
    #[test]
    fn a_unit_that_reads_back_differently_names_the_first_difference() {
        let mine = parse("[Unit]\nA=1\n[Service]\nB=2\nC=3\n");
        let why = |theirs: &str| {
            mine.check_same_entries(&parse(theirs))
                .map_err(|e| e.to_string())
        };
        assert_eq!(why("[Unit]\nA=1\n[Service]\nB=2\nC=3\n"), Ok(()));
        let changed = why("[Unit]\nA=1\n[Service]\nB=2x\nC=3\n").unwrap_err();
        assert!(changed.starts_with("/d/x.kube:4: B: "), "{changed}");
        assert!(changed.contains("reads back differently"), "{changed}");
        let regrouped = why("[Unit]\nA=1\nB=2\nC=3\n").unwrap_err();
        assert!(regrouped.starts_with("/d/x.kube:4: B: "), "{regrouped}");
        let shorter = why("[Unit]\nA=1\n[Service]\nB=2\n").unwrap_err();
        assert!(shorter.starts_with("/d/x.kube:5: C: "), "{shorter}");
        assert!(why("[Unit]\nA=1\n[Service]\nB=2\nC=3\nD=4\n").is_err());
    }

    #[test]
    fn render_then_parse_gives_back_every_value() {
        let values = [
            "plain",
            "a\\\\",
            "\\\\\\\\",
            "\"quoted \\\" \\\\\"",
            "x\u{85}y\u{a0}",
            "tab\there",
            "# not a comment",
            "[not a group]",
            "%n $HOME ;",
            "é😀",
            "",
        ];
        let mut u = parse("# head\n[Unit]\nDescription=d\n");
        for (i, v) in values.iter().enumerate() {
            u.add("Service", &format!("K{i}"), v);
        }
        let text = u.render_checked().unwrap();
        let again = UnitFile::parse(Path::new("/d/x.kube"), &text).unwrap();
        for (i, v) in values.iter().enumerate() {
            assert_eq!(
                again
                    .lookup_last("Service", &format!("K{i}"))
                    .unwrap()
                    .value,
                *v
            );
        }
        assert_eq!(again.render(), text);
    }

    #[test]
    fn backslash_on_last_line_is_dropped() {
        let u = parse("[A]\nk=v\\");
        assert_eq!(u.lookup("A", "k").unwrap(), "v");
    }

    #[test]
    fn pending_continuation_at_eof_is_lost() {
        let u = parse("[A]\nk=v\\\n# only a comment\n");
        assert_eq!(u.lookup("A", "k"), None);
    }

    #[test]
    fn continued_value_keeps_first_line_number() {
        let u = parse("[A]\n\nk=a \\\nb\nz=1\n");
        assert_eq!(u.lookup_last("A", "k").unwrap().origin.line, 3);
        assert_eq!(u.lookup_last("A", "z").unwrap().origin.line, 5);
    }

    #[test]
    fn errors_carry_path_and_line() {
        assert_eq!(err("[A]\nk=v\nbogus\n"), "/d/x.kube:3: file contains line 3: “bogus” which is not a key-value pair, group, or comment");
        assert_eq!(
            err("k=v\n"),
            "/d/x.kube:1: key file does not start with a group"
        );
        assert_eq!(err("[A]\n[]\n"), "/d/x.kube:2: invalid group name: ");
        assert_eq!(err("[A\x01]\n"), "/d/x.kube:1: invalid group name: A\x01");
        assert!(err("[A]\n=v\n").contains("not a key-value pair"));
    }

    #[test]
    fn group_with_trailing_garbage_is_error() {
        assert!(err("[A] x\n").contains("not a key-value pair"));
        assert!(err("[A]]\n").contains("not a key-value pair"));
    }

    #[test]
    fn file_without_group_is_valid() {
        assert_eq!(parse("").groups().count(), 0);
        let u = parse("# just a comment\n");
        assert_eq!(u.render(), "# just a comment\n");
    }

    #[test]
    fn lookup_trims_and_unquotes_once() {
        let u = parse("[A]\na=\"x y\"  \nb=\"x\nc=\"\"\"\n");
        assert_eq!(u.lookup("A", "a").unwrap(), "x y");
        assert_eq!(u.lookup("A", "b").unwrap(), "\"x");
        assert_eq!(u.lookup("A", "c").unwrap(), "\"");
    }

    #[test]
    fn lookup_all_resets_on_empty() {
        let u = parse("[A]\nE=1\nE=2\nE=\nE=3\n");
        assert_eq!(u.lookup_all("A", "E"), ["3"]);
        assert_eq!(u.lookup_last("A", "E").unwrap().value, "3");
    }

    #[test]
    fn strv_and_args() {
        let u = parse("[A]\nY=a.yml \"b c.yml\"\nY=d\\te\nP=--x \"a b\" c\\td\nP=bad\\.esc\n");
        assert_eq!(u.lookup_all_strv("A", "Y"), ["a.yml", "b c.yml", "d\\te"]);
        assert_eq!(u.lookup_all_args("A", "P"), ["--x", "a b", "c\td"]);
        let err = u.lookup_last_args("A", "P").unwrap().unwrap_err();
        assert_eq!(err.0, SplitError::UnsupportedEscape);
    }

    #[test]
    fn key_val_sorted_and_last_wins() {
        let u = parse("[A]\nL=b=2 a=1\nL=\"c=x y\" bare b=3\nL=bad\\q\n");
        let (m, w) = u.lookup_all_key_val("A", "L");
        let got: Vec<_> = m.into_iter().collect();
        assert_eq!(
            got,
            [
                ("a".to_string(), Some("1".to_string())),
                ("b".to_string(), Some("3".to_string())),
                ("bare".to_string(), None),
                ("c".to_string(), Some("x y".to_string())),
            ]
        );
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with("/d/x.kube:4: L: unsupported escape char"));
    }

    #[test]
    fn booleans() {
        let u = parse("[A]\na=YES\nb=On\nc=0\nd=maybe\ne=1\n");
        assert_eq!(u.lookup_bool("A", "a"), Some(true));
        assert_eq!(u.lookup_bool("A", "b"), Some(true));
        assert_eq!(u.lookup_bool("A", "c"), Some(false));
        assert_eq!(u.lookup_bool("A", "d"), Some(false));
        assert_eq!(u.lookup_bool("A", "e"), Some(true));
        assert_eq!(u.lookup_bool("A", "z"), None);
    }

    #[test]
    fn uint32_strtol_like() {
        let u = parse("[A]\na=0x10\nb=010\nc=root\nd=-1\ne=42\n");
        assert_eq!(u.lookup_u32("A", "a", 7), Some(16));
        assert_eq!(u.lookup_u32("A", "b", 7), Some(8));
        assert_eq!(u.lookup_u32("A", "c", 0), Some(0));
        assert_eq!(u.lookup_u32("A", "d", 0), Some(0));
        assert_eq!(u.lookup_u32("A", "e", 0), Some(42));
        assert_eq!(u.lookup_u32("A", "z", 0), None);
    }

    #[test]
    fn merge_appends_and_keeps_origins() {
        let mut u = parse("[Kube]\nYaml=a.yml\n");
        let d = UnitFile::parse(
            Path::new("/d/x.kube.d/10.conf"),
            "# dropin\n[Kube]\nYaml=\nYaml=b.yml\n[Service]\nRestart=always\n",
        )
        .unwrap();
        u.merge(&d);
        assert_eq!(u.lookup_all("Kube", "Yaml"), ["b.yml"]);
        let v = u.lookup_last("Kube", "Yaml").unwrap();
        assert_eq!(v.origin.to_string(), "/d/x.kube.d/10.conf:4");
        assert_eq!(
            u.render(),
            "# dropin\n[Kube]\nYaml=a.yml\nYaml=\nYaml=b.yml\n\n[Service]\nRestart=always\n"
        );
    }

    #[test]
    fn mutators_keep_quadlet_order() {
        let mut u = parse("[Unit]\nAfter=x\n[Service]\nKillMode=process\nType=simple\n");
        u.prepend("Unit", "Wants", "w");
        u.set("Service", "KillMode", "mixed");
        u.set("Service", "NotifyAccess", "all");
        u.add_cmdline("Service", "ExecStart", &["/bin/x", "a b"]);
        u.unset("Service", "Type");
        u.add("Install", "WantedBy", "default.target");
        assert_eq!(
            u.render(),
            "[Unit]\nWants=w\nAfter=x\n\n[Service]\nKillMode=mixed\nNotifyAccess=all\nExecStart=/bin/x \"a\\x20b\"\n\n[Install]\nWantedBy=default.target\n"
        );
    }

    #[test]
    fn rename_group_merges_into_existing() {
        let mut u = parse("[Kube]\na=1\n[X-Kube]\nb=2\n[Quadlet]\nq=1\n");
        u.rename_group("Kube", "X-Kube");
        u.rename_group("Quadlet", "X-Quadlet");
        assert_eq!(u.render(), "[X-Kube]\nb=2\na=1\n\n[X-Quadlet]\nq=1\n");
    }

    #[test]
    fn comments_among_keys_stay_in_place() {
        let text = "[A]\na=1\n# mid\nb=2\n# trailing\n";
        assert_eq!(parse(text).render(), text);
    }

    #[test]
    fn header_comments_prepended() {
        let mut u = parse("# c\n[A]\na=1\n");
        u.prepend_comments(&["# Automatically generated by x", "# "]);
        assert_eq!(
            u.render(),
            "# Automatically generated by x\n# \n# c\n[A]\na=1\n"
        );
    }

    #[test]
    fn entries_report_origins() {
        let u = parse("[Kube]\nYaml=a\nBogus=1\n");
        let keys: Vec<_> = u
            .entries("Kube")
            .map(|(k, v)| (k.to_string(), v.origin.line))
            .collect();
        assert_eq!(keys, [("Yaml".to_string(), 2), ("Bogus".to_string(), 3)]);
    }
}
