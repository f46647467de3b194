//! Compose's variable interpolation, as compose-go's `template` package does it, applied to every
//! string value of a compose file before anything else reads it.
//!
//! `$$` is a literal `$`; `$NAME` and `${NAME}` substitute (names `[_A-Za-z][_A-Za-z0-9]*`);
//! `${NAME:-default}` / `${NAME-default}` default when unset-or-empty / unset; `${NAME:+alt}` /
//! `${NAME+alt}` give `alt` when set-and-non-empty / set; `${NAME:?msg}` / `${NAME?msg}` are
//! errors when unset-or-empty / unset. Defaults, alternatives and messages are themselves
//! interpolated (nesting), and braces are matched by counting. A `$` followed by anything else
//! (`$5`, `$ `) stays as it is; `${` that does not form a valid expression is an error.

use std::collections::BTreeMap;

use super::tree::{Item, Node};

/// Where variables come from: the environment of `quadplay convert`, then the project's
/// `.env` file (or `--env-file`), which the environment overrides as in compose.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    pub env: BTreeMap<String, String>,
    pub dotenv: BTreeMap<String, String>,
    /// Which variables were used and from where ("environment", ".env"); unset ones as "unset".
    pub used: BTreeMap<String, &'static str>,
}

impl Vars {
    pub fn from_process() -> Self {
        Vars {
            env: std::env::vars().collect(),
            ..Vars::default()
        }
    }

    /// A variable's value, recording where it came from ("unset" when it is not set).
    pub fn lookup(&mut self, name: &str) -> Option<String> {
        self.lookup_as(name, "unset")
    }

    /// Like `lookup`, for a form that says what to do when the variable is unset (`${V:-d}`,
    /// `${V+x}`, `${V?msg}`): unset is then recorded as "defaulted", not as a problem.
    fn lookup_as(&mut self, name: &str, unset: &'static str) -> Option<String> {
        let (value, from) = if let Some(v) = self.env.get(name) {
            (Some(v.clone()), "the environment")
        } else if let Some(v) = self.dotenv.get(name) {
            (Some(v.clone()), "the .env file")
        } else {
            (None, unset)
        };
        let slot = self.used.entry(name.to_string()).or_insert(from);
        if *slot == "defaulted" && from == "unset" {
            *slot = from;
        }
        value
    }
}

/// Interpolates every string value of `item` (not mapping keys) in place. Errors name the
/// position and key path.
pub fn tree(
    item: &mut Item,
    vars: &mut Vars,
    path: &str,
) -> Result<(), (super::tree::At, String, String)> {
    match &mut item.node {
        Node::Str(s) if s.contains('$') => {
            *s = substitute(s, vars).map_err(|m| (item.line, path.to_string(), m))?;
        }
        Node::Seq(items) => {
            for (i, it) in items.iter_mut().enumerate() {
                tree(it, vars, &format!("{path}[{i}]"))?;
            }
        }
        Node::Map(entries) => {
            for e in entries {
                let p = if path.is_empty() {
                    e.key.clone()
                } else {
                    format!("{path}.{}", e.key)
                };
                tree(&mut e.value, vars, &p)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Interpolates one string.
pub fn substitute(s: &str, vars: &mut Vars) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if after.starts_with('{') {
            let close = closing_brace(after)
                .ok_or_else(|| format!("invalid interpolation {s:?}: unterminated ${{"))?;
            out.push_str(&braced(&after[1..close], s, vars)?);
            rest = &after[close + 1..];
        } else {
            let n = name_len(after);
            if n == 0 {
                out.push('$');
            } else {
                out.push_str(&vars.lookup(&after[..n]).unwrap_or_default());
            }
            rest = &after[n..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Length of the variable name at the start of `s` (0 if none).
fn name_len(s: &str) -> usize {
    let b = s.as_bytes();
    if !b
        .first()
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
    {
        return 0;
    }
    b.iter()
        .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
        .unwrap_or(b.len())
}

/// Index of the `}` closing the `{` at the start of `s`, counting nested braces as compose-go
/// does (the character right after an opening brace is skipped).
fn closing_brace(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut open = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'}' => {
                open = open.saturating_sub(1);
                if open == 0 {
                    return Some(i);
                }
            }
            b'{' => {
                open += 1;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The value of one `${...}` expression (`expr` is what stands between the braces).
fn braced(expr: &str, whole: &str, vars: &mut Vars) -> Result<String, String> {
    let n = name_len(expr);
    let invalid = || format!("invalid interpolation {whole:?}: ${{{expr}}}");
    if n == 0 {
        return Err(invalid());
    }
    let (name, rest) = expr.split_at(n);
    if rest.is_empty() {
        return Ok(vars.lookup(name).unwrap_or_default());
    }
    let (colon, rest) = match rest.strip_prefix(':') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let mut chars = rest.chars();
    let op = chars.next().ok_or_else(invalid)?;
    let arg = chars.as_str();
    let value = vars.lookup_as(name, "defaulted");
    let set = value.as_ref().is_some_and(|v| !(colon && v.is_empty()));
    match op {
        '-' if set => Ok(value.unwrap_or_default()),
        '-' => substitute(arg, vars),
        '+' if set => substitute(arg, vars),
        '+' => Ok(value.unwrap_or_default()),
        '?' if set => Ok(value.unwrap_or_default()),
        '?' => {
            let msg = substitute(arg, vars)?;
            Err(if msg.is_empty() {
                format!("required variable {name} is missing a value")
            } else {
                format!("required variable {name} is missing a value: {msg}")
            })
        }
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let mut v = Vars::default();
        v.env.insert("SET".into(), "on".into());
        v.env.insert("EMPTY".into(), String::new());
        v.dotenv.insert("SET".into(), "from-dotenv".into());
        v.dotenv.insert("TAG".into(), "1.2".into());
        v
    }

    fn sub(s: &str) -> Result<String, String> {
        substitute(s, &mut vars())
    }

    #[test]
    fn every_form_of_compose_go() {
        let cases = [
            ("$SET ${SET}", "on on"),
            ("img:${TAG}", "img:1.2"),
            ("${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d}", "d d  d"),
            (
                "${SET:+alt}|${EMPTY:+alt}|${EMPTY+alt}|${UNSET+alt}",
                "alt||alt|",
            ),
            ("${UNSET:-${TAG:-x}}-suffix", "1.2-suffix"),
            ("${UNSET:-a-${UNSET2:-b}}", "a-b"),
            ("$$SET $${SET}", "$SET ${SET}"),
            ("cost $5 and $ sign", "cost $5 and $ sign"),
            ("${EMPTY?}x", "x"),
            ("${lower_case:-ok}", "ok"),
        ];
        for (input, want) in cases {
            assert_eq!(sub(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn required_and_invalid_forms_are_errors() {
        assert_eq!(
            sub("${UNSET:?set it in .env}").unwrap_err(),
            "required variable UNSET is missing a value: set it in .env"
        );
        assert!(sub("${EMPTY:?}").unwrap_err().contains("EMPTY is missing"));
        assert!(sub("${UNSET?}").is_err());
        assert!(sub("${}").unwrap_err().contains("invalid interpolation"));
        assert!(sub("${1X}").is_err());
        assert!(sub("${A:x}").is_err());
        assert!(sub("${UNCLOSED").unwrap_err().contains("unterminated"));
    }

    #[test]
    fn environment_wins_over_dotenv_and_use_is_recorded() {
        let mut v = vars();
        assert_eq!(substitute("$SET $TAG $NOPE", &mut v).unwrap(), "on 1.2 ");
        assert_eq!(v.used["SET"], "the environment");
        assert_eq!(v.used["TAG"], "the .env file");
        assert_eq!(v.used["NOPE"], "unset");
        substitute("${DFLT:-x} ${NOPE:-y}", &mut v).unwrap();
        assert_eq!(v.used["DFLT"], "defaulted");
        assert_eq!(v.used["NOPE"], "unset", "a bare use elsewhere still warns");
    }
}
