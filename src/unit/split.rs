//! systemd-style word splitting and quoting.
//!
//! [`extract_first_word`] is a port of systemd's `extract_first_word()` as Quadlet carries it
//! (`pkg/systemd/parser/split.go`), including its quirks, because users' unit files are written
//! against that behaviour: an empty word (`""`) ends the split, `SplitRelax` accepts unbalanced
//! quotes, unsupported escapes are errors. The code works on bytes: every character it treats
//! specially is ASCII, so multi-byte UTF-8 passes through untouched.
//!
//! [`quote_word`] / [`join_cmdline`] are the reverse (Quadlet's `AddCmdline`/`AddEscaped`).

use std::fmt;

/// Flags of `extract_first_word`, as in systemd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SplitFlags(u16);

impl SplitFlags {
    /// Accept unbalanced quotes and a trailing lone backslash.
    pub const RELAX: SplitFlags = SplitFlags(1);
    /// Decode C escapes (`\n`, `\x41`, `\u00e9`, `\101`, ...).
    pub const CUNESCAPE: SplitFlags = SplitFlags(1 << 1);
    /// Keep an unquoted trailing backslash verbatim.
    pub const UNESCAPE_RELAX: SplitFlags = SplitFlags(1 << 2);
    /// Treat quote characters as ordinary characters.
    pub const KEEP_QUOTE: SplitFlags = SplitFlags(1 << 4);
    /// Remove the quotes.
    pub const UNQUOTE: SplitFlags = SplitFlags(1 << 5);
    /// Every separator ends a word (empty words possible).
    pub const DONT_COALESCE_SEPARATORS: SplitFlags = SplitFlags(1 << 6);
    /// Backslash is an ordinary character.
    pub const RETAIN_ESCAPE: SplitFlags = SplitFlags(1 << 7);
    /// Leave the separator at the start of the remainder.
    pub const RETAIN_SEPARATORS: SplitFlags = SplitFlags(1 << 8);

    /// The exec-line mode Quadlet uses for arguments (`LookupAllArgs`, `Exec=`).
    pub const EXEC: SplitFlags = SplitFlags(Self::RELAX.0 | Self::UNQUOTE.0 | Self::CUNESCAPE.0);
    /// The mode of `LookupAllStrv`: quotes removed, backslashes kept literally.
    pub const STRV: SplitFlags = SplitFlags(Self::RETAIN_ESCAPE.0 | Self::UNQUOTE.0);

    fn has(self, other: SplitFlags) -> bool {
        self.0 & other.0 != 0
    }
}

impl std::ops::BitOr for SplitFlags {
    type Output = SplitFlags;
    fn bitor(self, rhs: SplitFlags) -> SplitFlags {
        SplitFlags(self.0 | rhs.0)
    }
}

/// Whitespace separators of systemd (`WHITESPACE`).
pub const WHITESPACE: &str = " \t\n\r";

/// Why a value could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("unbalanced quotes")]
    UnbalancedQuotes,
    #[error("unexpected end of string")]
    EarlyEnd,
    #[error("unsupported escape char")]
    UnsupportedEscape,
}

/// Extracts the first word of `input`. Returns `Ok(None)` when there is no (non-empty) word;
/// otherwise the word and the remainder to continue from.
pub fn extract_first_word<'a>(
    input: &'a str,
    separators: &str,
    flags: SplitFlags,
) -> Result<Option<(String, &'a str)>, SplitError> {
    let bytes = input.as_bytes();
    let seps = separators.as_bytes();
    let end = bytes.len();
    let is_sep = |c: u8| c != 0 && seps.contains(&c);
    // systemd's C code ends strings with NUL; Quadlet's port mimics that with a 0 byte at
    // the end, which also makes an embedded NUL end the input. Keep that.
    let at = |p: usize| -> u8 { bytes.get(p).copied().unwrap_or(0) };

    let mut out: Vec<u8> = Vec::new();
    let mut quote: u8 = 0;
    let mut backslash = false;
    let mut p: usize = 0;

    if end == 0 {
        return Ok(None);
    }
    if !flags.has(SplitFlags::DONT_COALESCE_SEPARATORS) {
        while p < end && is_sep(bytes[p]) {
            p += 1;
        }
        if p >= end {
            return Ok(None);
        }
    }

    let mut c = at(p);
    // Each arm either continues scanning or jumps to one of the finish labels of the C code.
    enum Finish {
        /// `finish`: an empty word means "no word".
        Normal,
        /// `finish_force_next`: return what we have and the remainder at `p`.
        ForceNext,
        /// `finish_force_terminate`: nothing remains.
        ForceTerminate,
    }
    let finish = 'outer: loop {
        if backslash {
            if c == 0 {
                if flags.has(SplitFlags::UNESCAPE_RELAX)
                    && (quote == 0 || flags.has(SplitFlags::RELAX))
                {
                    out.push(b'\\');
                    break 'outer Finish::Normal;
                }
                if flags.has(SplitFlags::RELAX) {
                    break 'outer Finish::Normal;
                }
                return Err(SplitError::EarlyEnd);
            }
            if flags.has(SplitFlags::CUNESCAPE) {
                match cunescape_one(&bytes[p.min(end)..]) {
                    Some((len, decoded)) => {
                        decoded.push_to(&mut out);
                        p += len - 1;
                    }
                    None => return Err(SplitError::UnsupportedEscape),
                }
            } else if flags.has(SplitFlags::RETAIN_ESCAPE) {
                out.push(b'\\');
                out.push(c);
            } else {
                out.push(c);
            }
            backslash = false;
        } else if quote != 0 {
            loop {
                if c == 0 {
                    if flags.has(SplitFlags::RELAX) {
                        break 'outer Finish::Normal;
                    }
                    return Err(SplitError::UnbalancedQuotes);
                } else if c == quote {
                    quote = 0;
                    if flags.has(SplitFlags::UNQUOTE) {
                        break;
                    }
                } else if c == b'\\' && !flags.has(SplitFlags::RETAIN_ESCAPE) {
                    backslash = true;
                    break;
                }
                out.push(c);
                if quote == 0 {
                    break;
                }
                p += 1;
                c = at(p);
            }
        } else {
            loop {
                if c == 0 {
                    break 'outer Finish::ForceNext;
                } else if !flags.has(SplitFlags::KEEP_QUOTE) && (c == b'\'' || c == b'"') {
                    quote = c;
                    if flags.has(SplitFlags::UNQUOTE) {
                        break;
                    }
                } else if c == b'\\' && !flags.has(SplitFlags::RETAIN_ESCAPE) {
                    backslash = true;
                    break;
                } else if is_sep(c) {
                    if flags.has(SplitFlags::DONT_COALESCE_SEPARATORS) {
                        if !flags.has(SplitFlags::RETAIN_SEPARATORS) {
                            p += 1;
                        }
                        break 'outer Finish::ForceNext;
                    }
                    if !flags.has(SplitFlags::RETAIN_SEPARATORS) {
                        loop {
                            p += 1;
                            c = at(p);
                            if c == 0 {
                                break 'outer Finish::ForceTerminate;
                            }
                            if !is_sep(c) {
                                break;
                            }
                        }
                    }
                    break 'outer Finish::ForceNext;
                }
                out.push(c);
                if quote != 0 {
                    break;
                }
                p += 1;
                c = at(p);
            }
        }
        p += 1;
        c = at(p);
    };

    let word = String::from_utf8_lossy(&out).into_owned();
    let rest_at = |p: usize| input.get(p.min(end)..).unwrap_or("");
    match finish {
        Finish::Normal | Finish::ForceTerminate if out.is_empty() => Ok(None),
        Finish::ForceTerminate => Ok(Some((word, ""))),
        Finish::Normal | Finish::ForceNext => Ok(Some((word, rest_at(p)))),
    }
}

/// Splits a whole value; stops at the first empty word (the systemd/Quadlet quirk:
/// `a "" b` yields `[a]`).
pub fn split_words(input: &str, flags: SplitFlags) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut next = input;
    while let Some((word, rest)) = extract_first_word(next, WHITESPACE, flags)? {
        if word.is_empty() {
            break;
        }
        words.push(word);
        next = rest;
    }
    Ok(words)
}

/// Exec-style split (quotes removed, C escapes decoded, relaxed).
pub fn split_exec(input: &str) -> Result<Vec<String>, SplitError> {
    split_words(input, SplitFlags::EXEC)
}

/// Strv split (whitespace, quotes removed, backslashes literal). Cannot fail in practice,
/// but an error ends the list where it happened, as Quadlet does.
pub fn split_strv(input: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut next = input;
    while let Ok(Some((word, rest))) = extract_first_word(next, WHITESPACE, SplitFlags::STRV) {
        if word.is_empty() {
            break;
        }
        words.push(word);
        next = rest;
    }
    words
}

enum Decoded {
    Byte(u8),
    Char(char),
}

impl Decoded {
    fn push_to(self, out: &mut Vec<u8>) {
        match self {
            Decoded::Byte(b) => out.push(b),
            Decoded::Char(c) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

fn unhex(c: u8) -> Option<u32> {
    (c as char).to_digit(16)
}

fn unoct(c: u8) -> Option<u32> {
    (c as char).to_digit(8)
}

fn hex_number(digits: &[u8]) -> Option<u32> {
    digits
        .iter()
        .try_fold(0u32, |acc, &d| Some((acc << 4) | unhex(d)?))
}

/// Decodes one C escape starting right after the backslash. Returns the number of input bytes
/// used and the decoded unit; `None` for unsupported escapes and NUL.
fn cunescape_one(p: &[u8]) -> Option<(usize, Decoded)> {
    let first = *p.first()?;
    let simple = |c: char| Some((1, Decoded::Char(c)));
    match first {
        b'a' => simple('\x07'),
        b'b' => simple('\x08'),
        b'f' => simple('\x0c'),
        b'n' => simple('\n'),
        b'r' => simple('\r'),
        b't' => simple('\t'),
        b'v' => simple('\x0b'),
        b'\\' => simple('\\'),
        b'"' => simple('"'),
        b'\'' => simple('\''),
        b's' => simple(' '),
        b'x' => {
            let n = hex_number(p.get(1..3)?)?;
            if n == 0 {
                return None;
            }
            Some((3, Decoded::Byte(n as u8)))
        }
        b'u' => {
            let n = hex_number(p.get(1..5)?)?;
            if n == 0 {
                return None;
            }
            Some((5, Decoded::Char(char::from_u32(n)?)))
        }
        b'U' => {
            let n = hex_number(p.get(1..9)?)?;
            if n == 0 {
                return None;
            }
            Some((9, Decoded::Char(char::from_u32(n)?)))
        }
        b'0'..=b'7' => {
            let digits = p.get(0..3)?;
            let n = digits
                .iter()
                .try_fold(0u32, |acc, &d| Some((acc << 3) | unoct(d)?))?;
            if n == 0 || n > 255 {
                return None;
            }
            Some((3, Decoded::Byte(n as u8)))
        }
        _ => None,
    }
}

/// Whether a word must be quoted when written into an exec line.
fn needs_quoting(word: &str) -> bool {
    word.chars().any(|c| {
        (c as u32) <= 128
            && (c.is_whitespace() || c.is_control() || c == '"' || c == '\'' || c == '\\')
    })
}

/// Writes the escaped body of a quoted word (Quadlet's `escapeString`).
fn escape_into(out: &mut String, word: &str) {
    for c in word.chars() {
        match c {
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            '\x0c' => out.push_str("\\f"),
            '\\' => out.push_str("\\\\"),
            ' ' => out.push_str("\\x20"),
            '"' => out.push_str("\\\""),
            // `\xNN` is one raw byte to systemd: fine for ASCII controls, but U+0080–U+009F
            // would come back as a lone (invalid UTF-8) byte. `\uNNNN` is the character.
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
}

/// Quotes one word for an exec line or a path-list value; words without special characters are
/// returned unchanged. `%` and `$` are deliberately left alone: systemd expands them at runtime.
/// An empty word is written as `""` (systemd passes an empty argument); Quadlet writes nothing,
/// which silently shifts the following arguments (`LogDriver=` → `--log-driver --log-opt …`).
pub fn quote_word(word: &str) -> String {
    if word.is_empty() {
        return "\"\"".to_string();
    }
    if !needs_quoting(word) {
        return word.to_string();
    }
    let mut out = String::with_capacity(word.len() + 8);
    out.push('"');
    escape_into(&mut out, word);
    out.push('"');
    out
}

/// Joins words into one exec line (Quadlet's `AddCmdline`), each quoted by [`quote_word`].
pub fn join_cmdline<S: AsRef<str>>(words: &[S]) -> String {
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&quote_word(w.as_ref()));
    }
    out
}

/// A word list that displays as a joined command line (for messages).
pub struct Cmdline<'a>(pub &'a [String]);

impl fmt::Display for Cmdline<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&join_cmdline(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(s: &str) -> Vec<String> {
        split_exec(s).unwrap()
    }

    #[test]
    fn splits_on_whitespace_and_coalesces() {
        assert_eq!(exec("  a \t b\n\nc  "), ["a", "b", "c"]);
    }

    #[test]
    fn empty_and_blank_give_nothing() {
        assert!(exec("").is_empty());
        assert!(exec("   \t ").is_empty());
    }

    #[test]
    fn quotes_are_removed_and_glue() {
        assert_eq!(exec(r#"a"b c"d 'e f'"#), ["ab cd", "e f"]);
    }

    #[test]
    fn empty_word_ends_the_split() {
        assert_eq!(exec(r#"a "" b"#), ["a"]);
        assert_eq!(exec(r#"'' b"#), Vec::<String>::new());
    }

    #[test]
    fn c_escapes_decoded_in_and_out_of_quotes() {
        assert_eq!(
            exec(r#"a\tb "c\nd" 'e\x41' \s \101 \u00e9 \U0001F600"#),
            ["a\tb", "c\nd", "eA", " ", "A", "é", "😀"]
        );
    }

    #[test]
    fn escaped_quote_and_backslash() {
        assert_eq!(exec(r#"a\"b "c\"d" e\\f"#), ["a\"b", "c\"d", "e\\f"]);
    }

    #[test]
    fn unsupported_escape_is_an_error() {
        assert_eq!(split_exec(r"a \. b"), Err(SplitError::UnsupportedEscape));
        assert_eq!(split_exec(r"\$x"), Err(SplitError::UnsupportedEscape));
    }

    #[test]
    fn nul_escapes_rejected() {
        assert_eq!(split_exec(r"\x00"), Err(SplitError::UnsupportedEscape));
        assert_eq!(split_exec(r"\000"), Err(SplitError::UnsupportedEscape));
        assert_eq!(split_exec(r"\u0000"), Err(SplitError::UnsupportedEscape));
    }

    #[test]
    fn octal_above_255_rejected() {
        assert_eq!(split_exec(r"\777"), Err(SplitError::UnsupportedEscape));
        assert_eq!(exec(r"\377").len(), 1);
    }

    #[test]
    fn short_hex_rejected() {
        assert_eq!(split_exec(r"\x4"), Err(SplitError::UnsupportedEscape));
    }

    #[test]
    fn relax_accepts_unbalanced_quote() {
        assert_eq!(exec(r#"a "b c"#), ["a", "b c"]);
    }

    #[test]
    fn relax_drops_trailing_backslash() {
        assert_eq!(exec("a b\\"), ["a", "b"]);
    }

    #[test]
    fn strict_unbalanced_quote_is_error() {
        assert_eq!(
            split_words(r#""abc"#, SplitFlags::UNQUOTE),
            Err(SplitError::UnbalancedQuotes)
        );
    }

    #[test]
    fn strv_keeps_backslashes_and_removes_quotes() {
        assert_eq!(split_strv(r#"a\tb "c d" e\"#), ["a\\tb", "c d", "e\\"]);
    }

    #[test]
    fn keep_quote_keeps_quotes() {
        assert_eq!(
            split_words(r#"a"b c" d"#, SplitFlags::KEEP_QUOTE).unwrap(),
            ["a\"b", "c\"", "d"]
        );
    }

    #[test]
    fn quotes_without_unquote_are_kept() {
        assert_eq!(
            split_words(r#"a"b c"d e"#, SplitFlags::empty_for_test()).unwrap(),
            ["a\"b c\"d", "e"]
        );
    }

    #[test]
    fn utf8_passes_through() {
        assert_eq!(exec("héllo wörld"), ["héllo", "wörld"]);
    }

    #[test]
    fn extract_returns_remainder() {
        let (w, rest) = extract_first_word("  one two three", WHITESPACE, SplitFlags::EXEC)
            .unwrap()
            .unwrap();
        assert_eq!(w, "one");
        assert_eq!(rest, "two three");
    }

    #[test]
    fn dont_coalesce_gives_empty_fields() {
        let (w, rest) = extract_first_word("a,,b", ",", SplitFlags::DONT_COALESCE_SEPARATORS)
            .unwrap()
            .unwrap();
        assert_eq!((w.as_str(), rest), ("a", ",b"));
    }

    #[test]
    fn quote_plain_word_unchanged() {
        assert_eq!(quote_word("--name=x%N$HOME"), "--name=x%N$HOME");
        assert_eq!(quote_word("naïve"), "naïve");
    }

    #[test]
    fn quote_space_quote_backslash_controls() {
        assert_eq!(quote_word("an arg"), r#""an\x20arg""#);
        assert_eq!(quote_word("RemoveQuotes\"Name"), r#""RemoveQuotes\"Name""#);
        assert_eq!(quote_word("a'b"), r#""a'b""#);
        assert_eq!(quote_word("a\\nb"), r#""a\\nb""#);
        assert_eq!(quote_word("a\tb\nc"), r#""a\tb\nc""#);
        assert_eq!(quote_word("x\x1by\x7f"), r#""x\x1by\x7f""#);
    }

    #[test]
    fn c1_controls_round_trip_as_characters() {
        // NEL and CSI: quoted (the word has a space) as \u escapes, never as \xNN bytes.
        assert_eq!(quote_word("a b\u{85}\u{9b}"), r#""a\x20b\u0085\u009b""#);
        for word in ["a b\u{80}\u{85}\u{9f}", "\u{85}", "x\u{9f}\\"] {
            assert_eq!(exec(&join_cmdline(&[word])), [word]);
        }
    }

    #[test]
    fn join_round_trips_through_exec_split() {
        let words = [
            "/usr/bin/x",
            "an arg",
            "a;b\nc\td'e",
            "a\\nb",
            "q\"x",
            "é ü",
        ];
        let line = join_cmdline(&words);
        assert_eq!(exec(&line), words);
    }

    #[test]
    fn empty_word_is_kept_as_empty_quotes() {
        assert_eq!(
            join_cmdline(&["--log-driver", "", "img"]),
            r#"--log-driver "" img"#
        );
    }

    #[test]
    fn join_plain() {
        assert_eq!(join_cmdline(&["a", "b c"]), r#"a "b\x20c""#);
    }

    impl SplitFlags {
        fn empty_for_test() -> SplitFlags {
            SplitFlags(0)
        }
    }
}
