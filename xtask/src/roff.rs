//! The markdown subset of `man/*.md` converted to roff, for `make man`.
//!
//! Why our own small converter instead of pandoc: building the pages then needs nothing but cargo
//! (no pandoc on CI machines or in package build dependencies), and the subset the sources use
//! (front matter, headings, paragraphs, definition lists, lists, indented code, bold and italic)
//! is small. It lives in this build tool, not in the shipped library.

use std::fmt::Write as _;

/// Converts the markdown subset of `man/*.md` to a man page.
///
/// Front matter (`title`, `section`, `header`, `footer`) gives `.TH`; `#`/`##` give `.SH`/`.SS`;
/// a line followed by `:   text` is a definition (`.TP`); `1. ` and `* ` items are `.IP`;
/// lines indented by four spaces after a blank line are literal; `**bold**`, `*italic*` and
/// backslash escapes work inline.
pub fn markdown_to_roff(md: &str) -> String {
    let (meta, body) = front_matter(md);
    let mut out = title(&meta);
    out.push_str(&body_to_roff(body));
    out
}

/// `.TH` from the front matter (`title`, `section`, `header`, `footer`), and the page settings.
pub fn title(meta: &[(String, String)]) -> String {
    let get = |k: &str| {
        meta.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let mut out = format!(
        ".TH \"{}\" \"{}\" \"\" \"{}\" \"{}\"\n",
        esc(get("title")),
        esc(get("section")),
        esc(get("footer")),
        esc(get("header"))
    );
    // No hyphenation and a ragged right margin: paths and option names stay whole, and lines
    // need no stretching (groff warns when it cannot adjust a line).
    out.push_str(".nh\n.ad l\n");
    out
}

/// The markdown body (no front matter) as roff.
pub fn body_to_roff(body: &str) -> String {
    let mut out = String::new();
    let lines: Vec<&str> = body.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() {
            i += 1;
        } else if let Some(h) = line.strip_prefix("## ") {
            let _ = writeln!(out, ".SS \"{}\"", esc(h.trim()));
            i += 1;
        } else if let Some(h) = line.strip_prefix("# ") {
            let _ = writeln!(out, ".SH \"{}\"", esc(h.trim()));
            i += 1;
        } else if line.starts_with("    ") {
            // Literal block: until a non-indented, non-blank line.
            out.push_str(".PP\n.RS 4\n.nf\n");
            while i < lines.len() && (lines[i].starts_with("    ") || lines[i].trim().is_empty()) {
                let next_literal = lines[i..].iter().find(|l| !l.trim().is_empty());
                if lines[i].trim().is_empty()
                    && !next_literal.is_some_and(|l| l.starts_with("    "))
                {
                    break;
                }
                let _ = writeln!(out, "{}", esc_line(lines[i].get(4..).unwrap_or("")));
                i += 1;
            }
            out.push_str(".fi\n.RE\n");
        } else if lines.get(i + 1).is_some_and(|l| l.starts_with(":   ")) {
            let _ = writeln!(out, ".TP\n{}", inline(line.trim()));
            i += 1;
            let mut def = vec![lines[i][4..].trim()];
            i += 1;
            while i < lines.len() && lines[i].starts_with("    ") && !lines[i].trim().is_empty() {
                def.push(lines[i].trim());
                i += 1;
            }
            let _ = writeln!(out, "{}", inline(&def.join(" ")));
        } else if let Some((marker, first)) = list_item(line) {
            let mut text = vec![first];
            i += 1;
            while i < lines.len()
                && !lines[i].trim().is_empty()
                && list_item(lines[i]).is_none()
                && lines[i].starts_with(' ')
            {
                text.push(lines[i].trim());
                i += 1;
            }
            let _ = writeln!(out, ".IP {marker} 4\n{}", inline(&text.join(" ")));
        } else {
            let mut text = Vec::new();
            while i < lines.len()
                && !lines[i].trim().is_empty()
                && !lines[i].starts_with('#')
                && !lines.get(i + 1).is_some_and(|l| l.starts_with(":   "))
            {
                text.push(lines[i].trim());
                i += 1;
            }
            if text.is_empty() {
                // A stray line the rules above do not take: keep it as a paragraph of its own.
                text.push(lines[i].trim());
                i += 1;
            }
            let _ = writeln!(out, ".PP\n{}", inline(&text.join(" ")));
        }
    }
    out
}

/// `---\nkey: value\n---\n` at the start: its pairs and the rest.
pub fn front_matter(md: &str) -> (Vec<(String, String)>, &str) {
    let Some(rest) = md.strip_prefix("---\n") else {
        return (Vec::new(), md);
    };
    let Some(end) = rest.find("\n---\n") else {
        return (Vec::new(), md);
    };
    let meta = rest[..end]
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    (meta, &rest[end + 5..])
}

/// `1. text` → ("1.", "text"); `* text` → ("\\(bu", "text").
fn list_item(line: &str) -> Option<(String, &str)> {
    if let Some(t) = line.strip_prefix("* ") {
        return Some(("\\(bu".to_string(), t.trim()));
    }
    let (num, t) = line.split_once(". ")?;
    if !num.is_empty() && num.chars().all(|c| c.is_ascii_digit()) {
        return Some((format!("{num}."), t.trim()));
    }
    None
}

/// Inline markdown: `**bold**`, `*italic*`, `\\x` escapes; roff-escaped, fonts closed at the end.
fn inline(text: &str) -> String {
    let mut out = String::new();
    let (mut bold, mut italic) = (false, false);
    let mut chars = text.chars().peekable();
    let font = |bold: bool, italic: bool| match (bold, italic) {
        (true, true) => "\\f(BI",
        (true, false) => "\\fB",
        (false, true) => "\\fI",
        (false, false) => "\\fR",
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(x) => push_escaped(&mut out, x),
                None => out.push_str("\\e"),
            },
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                bold = !bold;
                out.push_str(font(bold, italic));
            }
            '*' => {
                italic = !italic;
                out.push_str(font(bold, italic));
            }
            _ => push_escaped(&mut out, c),
        }
    }
    if bold || italic {
        out.push_str("\\fR");
    }
    esc_line_start(out)
}

/// A literal line: escaped, and protected when it starts with a roff control character.
fn esc_line(line: &str) -> String {
    esc(line)
}

/// One character of running text, roff-escaped: backslash, `-` as a real minus (options copy and
/// paste), and anything outside ASCII as a groff Unicode escape (`→` is `\\[u2192]`), since
/// troff reads Latin-1 input.
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\e"),
        '-' => out.push_str("\\-"),
        c if c.is_ascii() => out.push(c),
        c => {
            let _ = write!(out, "\\[u{:04X}]", u32::from(c));
        }
    }
}

/// Protects a line that would start with a roff control character after inline conversion.
fn esc_line_start(line: String) -> String {
    if line.starts_with('.') || line.starts_with('\'') {
        format!("\\&{line}")
    } else {
        line
    }
}

/// Escapes text for roff: backslashes, dashes (so they stay ASCII hyphen-minus and copy-paste
/// works), and control characters at the start of a line.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split('\n') {
        if !out.is_empty() {
            out.push('\n');
        }
        let line = line.trim_end();
        if line.starts_with('.') || line.starts_with('\'') {
            out.push_str("\\&");
        }
        for c in line.chars() {
            push_escaped(&mut out, c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_subset_becomes_roff() {
        let md = "---\ntitle: X\nsection: 5\nheader: H\nfooter: F\n---\n\n# NAME\n\nx - y\n\n## Sub\n\nSome **bold** and *it* and **b-***i*\\*.\nmore\n\n**Key=**\n:   What it\n    does.\n\n1. one\n2. two\n   cont\n\n* bullet\n\n    code -x\n    .dot\n\nafter\n";
        let roff = markdown_to_roff(md);
        let want = ".TH \"X\" \"5\" \"\" \"F\" \"H\"\n.nh\n.ad l\n.SH \"NAME\"\n.PP\nx \\- y\n.SS \"Sub\"\n.PP\nSome \\fBbold\\fR and \\fIit\\fR and \\fBb\\-\\fR\\fIi\\fR*. more\n.TP\n\\fBKey=\\fR\nWhat it does.\n.IP 1. 4\none\n.IP 2. 4\ntwo cont\n.IP \\(bu 4\nbullet\n.PP\n.RS 4\n.nf\ncode \\-x\n\\&.dot\n.fi\n.RE\n.PP\nafter\n";
        assert_eq!(roff, want);
    }

    #[test]
    fn escapes_roff_controls() {
        assert_eq!(esc(".x\n'y\na\\b-c"), "\\&.x\n\\&'y\na\\eb\\-c");
        assert_eq!(esc("a → b"), "a \\[u2192] b");
    }
}
