//! Commands and environment: `entrypoint`/`command` as words (a string is split as a POSIX shell
//! would, without expansion), `environment` (mapping or list; a bare name from convert's own
//! environment), `env_file` by compose's dotenv rules, and their merge in compose's precedence.

use super::super::load::{normalize, read_regular, MAX_FILE_BYTES};
use super::super::tree::{At, Item, Node};
use super::super::{dotenv, ComposeError};
use super::ctx::Ctx;

/// Kubernetes expands `$(VAR)` in env values, command and args; compose does not.
pub(super) fn escape_k8s_vars(s: &str) -> String {
    s.replace("$(", "$$(")
}

pub(super) fn command_words(
    ctx: &mut Ctx,
    v: &Item,
    key: &str,
) -> Result<Vec<String>, ComposeError> {
    let words = match &v.node {
        Node::Seq(_) => ctx.strings(v, key)?,
        Node::Null => Vec::new(),
        _ => {
            let s = ctx.string(v, key)?;
            split_shell(&s).map_err(|m| ctx.invalid(v.line, key, m))?
        }
    };
    Ok(words.iter().map(|w| escape_k8s_vars(w)).collect())
}

/// Splits a command string as compose does (POSIX shell words: quotes and backslashes, no
/// expansion).
pub(crate) fn split_shell(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\' | '$' | '`')) => cur.push(x),
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(x) => cur.push(x),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(x) => cur.push(x),
                    None => return Err("trailing backslash".into()),
                }
            }
            _ => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// `environment:` as a mapping or a list of `K=V`/`K`. A bare `K` takes the value from the
/// environment of `quadplay convert` (as compose does at `up`), with a warning.
pub(super) fn environment(
    ctx: &mut Ctx,
    v: &Item,
    key: &str,
) -> Result<Vec<(String, String)>, ComposeError> {
    let mut out = Vec::new();
    match &v.node {
        Node::Map(entries) => {
            for e in entries {
                let k = format!("{key}.{}", e.key);
                env_name(ctx, &e.key, e.line, &k)?;
                match &e.value.node {
                    Node::Null => out.extend(from_host_env(ctx, &e.key, e.line, &k)),
                    _ => out.push((e.key.clone(), ctx.string(&e.value, &k)?)),
                }
            }
        }
        Node::Seq(items) => {
            for (i, it) in items.iter().enumerate() {
                let k = format!("{key}[{i}]");
                let s = ctx.string(it, &k)?;
                match s.split_once('=') {
                    Some((name, val)) => {
                        env_name(ctx, name, it.line, &k)?;
                        out.push((name.to_string(), val.to_string()))
                    }
                    None => out.extend(from_host_env(ctx, &s, it.line, &k)),
                }
            }
        }
        Node::Null => {}
        other => {
            return Err(ctx.invalid(
                v.line,
                key,
                format!("expected a mapping or a list, found {}", other.type_name()),
            ))
        }
    }
    Ok(out)
}

/// A variable name no container runtime can set (empty, or holding `=`) is an error where it
/// is written (a mapping key `A=B` would otherwise reach the executor, which refuses it).
fn env_name(ctx: &Ctx, name: &str, line: At, key: &str) -> Result<(), ComposeError> {
    if name.is_empty() || name.contains('=') {
        return Err(ctx.invalid(
            line,
            key,
            format!("{name:?} is not a valid variable name (empty, or holds =)"),
        ));
    }
    Ok(())
}

fn from_host_env(ctx: &mut Ctx, name: &str, line: At, key: &str) -> Option<(String, String)> {
    match ctx.env.get(name).cloned() {
        Some(val) => {
            ctx.note(
                line,
                key,
                format!("{name} has no value: took it from the environment or .env"),
            );
            Some((name.to_string(), val))
        }
        None => {
            ctx.warn(
                line,
                key,
                format!("{name} has no value and is not set here; left out"),
            );
            None
        }
    }
}

/// `env_file:` entries read now, by compose's dotenv rules (`format: raw` takes lines as they
/// are); a missing file is an error unless `required: false`.
pub(super) fn env_files(
    ctx: &mut Ctx,
    v: &Item,
    key: &str,
) -> Result<Vec<(String, String)>, ComposeError> {
    let items: Vec<Item> = match &v.node {
        Node::Seq(items) => items.clone(),
        _ => vec![v.clone()],
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let k = format!("{key}[{i}]");
        let (mut path, mut required, mut raw) = (None, true, false);
        match &it.node {
            Node::Map(entries) => {
                for e in entries {
                    let ek = format!("{k}.{}", e.key);
                    match e.key.as_str() {
                        "path" => path = Some(ctx.string(&e.value, &ek)?),
                        "required" => required = ctx.bool(&e.value, &ek)?,
                        "format" => raw = ctx.string(&e.value, &ek)? == "raw",
                        _ => ctx.warn(e.line, &ek, "not supported; ignored"),
                    }
                }
            }
            _ => path = Some(ctx.string(it, &k)?),
        }
        let path = path.ok_or_else(|| ctx.invalid(it.line, &k, "no path"))?;
        let file = normalize(&ctx.dir.join(&path));
        if !required && !file.exists() {
            ctx.note(
                it.line,
                &k,
                format!(
                    "{} does not exist; skipped (required: false)",
                    file.display()
                ),
            );
            continue;
        }
        let text = read_regular(&file, MAX_FILE_BYTES)
            .map_err(|e| ctx.invalid(it.line, &k, format!("{}: {e}", file.display())))?;
        let pairs = if raw {
            text.lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .filter_map(|l| {
                    l.split_once('=')
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                })
                .collect()
        } else {
            dotenv::parse(&text, ctx.env).map_err(|e| {
                ctx.invalid(
                    it.line,
                    &k,
                    format!("{}:{}: {}", file.display(), e.line, e.message),
                )
            })?
        };
        for (name, _) in &pairs {
            env_name(ctx, name, it.line, &format!("{k} ({})", file.display()))?;
        }
        out.extend(pairs);
    }
    Ok(out)
}

/// Kubernetes precedence is "later wins"; compose's `environment` overrides `env_file`.
pub(super) fn merge_env(
    file: Vec<(String, String)>,
    inline: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in file.into_iter().chain(inline) {
        if let Some(slot) = out.iter_mut().find(|(name, _)| *name == k) {
            slot.1 = v;
        } else {
            out.push((k, v));
        }
    }
    out
}
