//! Reading unit-file text as systemd reads it: line breaks, continuations, comments, group
//! headers and key names (the parser behind [`super::UnitFile::parse`]).

use std::path::Path;

use super::*;

/// systemd's `WHITESPACE`: what it strips from lines, keys and values (Rust's `trim` would also
/// strip Unicode spaces such as U+0085 and U+00A0, which systemd keeps).
pub const WHITESPACE: [char; 4] = [' ', '\t', '\n', '\r'];

pub(super) fn trim_ws(s: &str) -> &str {
    s.trim_matches(WHITESPACE)
}

/// How many backslashes `s` ends with.
pub(super) fn trailing_backslashes(s: &str) -> usize {
    s.bytes().rev().take_while(|&b| b == b'\\').count()
}

/// The line without its continuation backslash, if it has one: systemd continues a line that
/// ends in an odd number of backslashes (`a\\` is an escaped backslash, not a continuation).
pub(super) fn continuation_body(line: &str) -> Option<&str> {
    (trailing_backslashes(line) % 2 == 1).then(|| &line[..line.len() - 1])
}

/// At most [`EXCERPT_CHARS`] characters of `text` for a message, marked when cut: a 10 MB line
/// must not be copied into the log whole.
pub fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}… ({} bytes in all)", &text[..cut], text.len()),
    }
}

/// How much of an offending line or value a message quotes.
pub const EXCERPT_CHARS: usize = 80;

/// NUL bytes anywhere and carriage returns inside a line (not before a newline or at the end)
/// are refused with their line and column.
pub(super) fn check_line_breaks(path: &Path, text: &str) -> Result<(), ParseError> {
    let bytes = text.as_bytes();
    let bad = bytes
        .iter()
        .enumerate()
        .find(|&(i, &b)| b == 0 || (b == b'\r' && !matches!(bytes.get(i + 1), None | Some(b'\n'))));
    let Some((offset, &byte)) = bad else {
        return Ok(());
    };
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before, |nl| &before[nl + 1..])
        .chars()
        .count()
        + 1;
    let kind = if byte == 0 {
        ParseErrorKind::Nul
    } else {
        ParseErrorKind::CarriageReturn
    };
    Err(ParseError {
        path: path.to_path_buf(),
        line,
        column,
        kind,
    })
}

pub(super) fn is_comment(line: &str) -> bool {
    line.is_empty() || line.starts_with('#') || line.starts_with(';')
}

/// `[name]` followed by nothing but blanks; returns the name.
pub(super) fn group_header(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('[')?;
    let end = rest.find(']')?;
    let after = rest.get(end + 1..)?;
    if after.chars().all(|c| c == ' ' || c == '\t') {
        rest.get(..end)
    } else {
        None
    }
}

pub(super) fn group_name_is_valid(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c == '[' || c == ']' || c.is_control())
}

pub(super) fn key_name_is_valid(key: &str) -> bool {
    !key.is_empty() && !key.contains('=') && !key.starts_with(' ') && !key.ends_with(' ')
}

pub(super) struct Parser<'a> {
    pub(super) file: UnitFile,
    pub(super) current: Option<usize>,
    pub(super) pending_comments: Vec<String>,
    pub(super) path: &'a Path,
}

impl Parser<'_> {
    pub(super) fn error(&self, line: usize, kind: ParseErrorKind) -> ParseError {
        ParseError {
            path: self.path.to_path_buf(),
            line,
            column: 0,
            kind,
        }
    }

    pub(super) fn flush_comments(&mut self, as_group_comments: bool) {
        let pending = std::mem::take(&mut self.pending_comments);
        let Some(g) = self.current.and_then(|i| self.file.groups.get_mut(i)) else {
            return;
        };
        if as_group_comments {
            g.comments.extend(pending);
        } else {
            g.lines.extend(pending.into_iter().map(Line::Comment));
        }
    }

    pub(super) fn parse_line(&mut self, text: &str, line: usize) -> Result<(), ParseError> {
        if is_comment(text) {
            self.pending_comments.push(text.to_string());
            return Ok(());
        }
        if let Some(name) = group_header(text) {
            if !group_name_is_valid(name) {
                return Err(self.error(line, ParseErrorKind::InvalidGroupName(excerpt(name))));
            }
            self.current = Some(self.file.ensure_group(name));
            // One blank line between groups is re-added when rendering; drop it here.
            if self.pending_comments.first().is_some_and(|c| c.is_empty()) {
                self.pending_comments.remove(0);
            }
            self.flush_comments(true);
            return Ok(());
        }
        match text.find('=') {
            Some(eq) if eq > 0 => {
                let key = text[..eq].trim_end_matches(WHITESPACE);
                if self.current.is_none() {
                    return Err(self.error(line, ParseErrorKind::KeyBeforeGroup));
                }
                if !key_name_is_valid(key) {
                    return Err(self.error(line, ParseErrorKind::InvalidKeyName(excerpt(key))));
                }
                let value = text[eq + 1..].trim_start_matches(WHITESPACE).to_string();
                self.flush_comments(false);
                let origin = Origin {
                    path: self.file.path.clone(),
                    line,
                };
                if let Some(g) = self.current.and_then(|i| self.file.groups.get_mut(i)) {
                    g.lines.push(Line::Entry {
                        key: key.to_string(),
                        value: Value { value, origin },
                    });
                }
                Ok(())
            }
            _ => Err(self.error(
                line,
                ParseErrorKind::NotKeyValue {
                    line,
                    text: excerpt(text),
                },
            )),
        }
    }
}
