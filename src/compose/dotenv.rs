//! `.env` and `env_file:` files parsed by compose's dotenv rules (compose-go's `dotenv` package).
//!
//! Why not a crate: `dotenvy` (the maintained Rust dotenv) substitutes only `$VAR`/`${VAR}`, not
//! compose's `${VAR:-default}` family, and treats a bare `KEY` line as an error where compose takes
//! the value from the environment; compose files rely on both.
//!
//! Rules: blank lines and `#` lines are skipped; `export ` is dropped; `KEY=VALUE` or `KEY: VALUE`
//! (names of letters, digits, `_ . - [ ]`); a line with only `KEY` takes the value from the
//! environment (left out when unset). Unquoted values end at the line's end, lose an inline
//! ` # comment` and trailing spaces, and are interpolated. Single-quoted values are literal (and
//! may span lines). Double-quoted values may span lines, take the escapes `\n \t \r \\ \" \$ …`
//! and are interpolated. Interpolation sees the environment first, then the keys set above.

use std::collections::BTreeMap;

use super::interpolate::{self, Vars};

/// A parse error: 1-based line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvError {
    pub line: usize,
    pub message: String,
}

/// Parses `text`; `env` is what bare keys and interpolation read before the file's own keys.
/// Keys keep the order of their first appearance.
pub fn parse(
    text: &str,
    env: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, DotenvError> {
    let mut p = Parser {
        rest: text.strip_prefix('\u{feff}').unwrap_or(text),
        line: 1,
        out: Vec::new(),
    };
    while p.statement_start() {
        p.statement(env)?;
    }
    Ok(p.out)
}

struct Parser<'a> {
    rest: &'a str,
    line: usize,
    out: Vec<(String, String)>,
}

fn is_space(c: char) -> bool {
    matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ' | '\u{85}' | '\u{a0}')
}

impl Parser<'_> {
    fn advance(&mut self, n: usize) {
        self.line += self.rest[..n].matches('\n').count();
        self.rest = &self.rest[n..];
    }

    /// Skips white space and comment lines; false at the end of the text.
    fn statement_start(&mut self) -> bool {
        loop {
            let n = self.rest.len() - self.rest.trim_start().len();
            self.advance(n);
            if self.rest.is_empty() {
                return false;
            }
            if !self.rest.starts_with('#') {
                return true;
            }
            let n = self.rest.find('\n').unwrap_or(self.rest.len());
            self.advance(n);
        }
    }

    fn error(&self, message: String) -> DotenvError {
        DotenvError {
            line: self.line,
            message,
        }
    }

    fn statement(&mut self, env: &BTreeMap<String, String>) -> Result<(), DotenvError> {
        if let Some(r) = self.rest.strip_prefix("export") {
            if r.starts_with(is_space) {
                let n = self.rest.len() - r.trim_start_matches(is_space).len();
                self.advance(n);
            }
        }
        let (key, sep) = self.key()?;
        if sep != Some('=') && sep != Some(':') {
            // A bare key: the value comes from the environment.
            if let Some(v) = env.get(&key) {
                self.set(key, v.clone());
            }
            return Ok(());
        }
        let n = self.rest.len() - self.rest.trim_start_matches(is_space).len();
        self.advance(n);
        let value = match self.rest.chars().next() {
            Some(q @ ('"' | '\'')) => self.quoted(q, env)?,
            _ => self.unquoted(env)?,
        };
        self.set(key, value);
        Ok(())
    }

    fn set(&mut self, key: String, value: String) {
        match self.out.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.out.push((key, value)),
        }
    }

    /// The key and what ended it (`=`, `:`, a newline, or the end of the text).
    fn key(&mut self) -> Result<(String, Option<char>), DotenvError> {
        let mut end = None;
        for (i, c) in self.rest.char_indices() {
            match c {
                '=' | ':' | '\n' => {
                    end = Some((i, c));
                    break;
                }
                c if is_space(c) => {}
                '_' | '.' | '-' | '[' | ']' => {}
                c if c.is_alphanumeric() => {}
                c => {
                    let first = self.rest.lines().next().unwrap_or("");
                    return Err(self.error(format!(
                        "unexpected character {c:?} in variable name {first:?}"
                    )));
                }
            }
        }
        let (key, sep, len) = match end {
            Some((i, c)) => (&self.rest[..i], Some(c), i + c.len_utf8()),
            None => (self.rest, None, self.rest.len()),
        };
        let key = key.trim_end().to_string();
        if key.contains(char::is_whitespace) {
            return Err(self.error("a variable name cannot contain a space".into()));
        }
        if key.is_empty() {
            return Err(self.error("a line without a variable name".into()));
        }
        self.advance(len);
        Ok((key, sep))
    }

    fn unquoted(&mut self, env: &BTreeMap<String, String>) -> Result<String, DotenvError> {
        let end = self.rest.find('\n').unwrap_or(self.rest.len());
        let raw = &self.rest[..end];
        let value = raw.split(" #").next().unwrap_or("").trim_end();
        let value = self.expand(value, env)?;
        self.advance((end + 1).min(self.rest.len()));
        Ok(value)
    }

    fn quoted(
        &mut self,
        quote: char,
        env: &BTreeMap<String, String>,
    ) -> Result<String, DotenvError> {
        let start_line = self.line;
        let mut chars = String::new();
        let mut escaped = false;
        for (i, c) in self.rest.char_indices().skip(1) {
            if c != quote || escaped {
                if c == '\\' && !escaped {
                    escaped = true;
                    continue;
                }
                if escaped && c != quote {
                    chars.push('\\');
                }
                escaped = false;
                chars.push(c);
                continue;
            }
            self.advance(i + 1);
            return if quote == '"' {
                self.expand(&unescape(&chars), env)
            } else {
                Ok(chars)
            };
        }
        Err(DotenvError {
            line: start_line,
            message: format!("unterminated quoted value (opened with {quote})"),
        })
    }

    /// Interpolation of a value: the environment first, then the keys set above.
    fn expand(&self, value: &str, env: &BTreeMap<String, String>) -> Result<String, DotenvError> {
        let mut vars = Vars {
            env: env.clone(),
            dotenv: self.out.iter().cloned().collect(),
            ..Vars::default()
        };
        interpolate::substitute(value, &mut vars).map_err(|m| self.error(m))
    }
}

/// Double-quoted escapes: `\a \b \f \n \r \t \v \\ \"`, `\$` (a literal `$`, kept as `$$` for
/// the interpolation that follows) and `\0NNN` octal; any other backslash stays.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('a') => out.push('\x07'),
            Some('b') => out.push('\x08'),
            Some('f') => out.push('\x0c'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('v') => out.push('\x0b'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('$') => out.push_str("$$"),
            Some('0') => {
                let mut digits = String::new();
                while digits.len() < 3 && it.peek().is_some_and(|d| ('0'..='7').contains(d)) {
                    digits.extend(it.next());
                }
                match u8::from_str_radix(if digits.is_empty() { "0" } else { &digits }, 8) {
                    Ok(b) => out.push(char::from(b)),
                    Err(_) => {
                        out.push_str("\\0");
                        out.push_str(&digits);
                    }
                }
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> BTreeMap<String, String> {
        [
            ("HOME".to_string(), "/home/u".to_string()),
            ("SET".into(), "s".into()),
        ]
        .into_iter()
        .collect()
    }

    fn get(text: &str) -> Vec<(String, String)> {
        parse(text, &env()).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn compose_dotenv_rules() {
        let text = "\u{feff}# a comment\n\nexport A=1\nB = two words  # note\nC='lit $HOME #x'\n\
            D=\"line1\\nline2 \\$HOME ${HOME}\"\nE: yaml-style\nF=${UNSET:-def}/${A}\nSET\nNOPE\n\
            G=\"multi\nline\"\nH=a#b\nI=\n";
        assert_eq!(
            get(text),
            pairs(&[
                ("A", "1"),
                ("B", "two words"),
                ("C", "lit $HOME #x"),
                ("D", "line1\nline2 $HOME /home/u"),
                ("E", "yaml-style"),
                ("F", "def/1"),
                ("SET", "s"),
                ("G", "multi\nline"),
                ("H", "a#b"),
                ("I", ""),
            ])
        );
    }

    #[test]
    fn later_keys_win_and_escaped_quotes_stay() {
        assert_eq!(
            get("A=1\nA=2\nQ='it\\'s'\nR=\"say \\\"hi\\\"\"\n"),
            pairs(&[("A", "2"), ("Q", "it's"), ("R", "say \"hi\"")])
        );
    }

    #[test]
    fn errors_have_lines() {
        let e = parse("A=1\nB C=2\n", &env()).unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse("A=1\nB=\"open\n\n", &env()).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("unterminated"));
        let e = parse("A=1\nB$=2\n", &env()).unwrap_err();
        assert!(e.message.contains("unexpected character"), "{e:?}");
        let e = parse("A=${X:?needed}\n", &env()).unwrap_err();
        assert!(e.message.contains("required variable X"), "{e:?}");
    }
}
