//! INI store: gopkg.in/ini.v1 semantics on input and its pretty format on output.
//!
//! Reading follows `ini.LoadSources(ini.LoadOptions{AllowNonUniqueSections: true}, …)` of
//! gopkg.in/ini.v1 v1.67 and sops' `treeBranchesFromIni`:
//! - a UTF-8 or UTF-16 byte-order mark is skipped; lines are left-trimmed and empty ones skipped;
//! - a line starting with `#` or `;` is a comment, accumulated until the next section or key;
//! - `[name]` starts a section (the name runs to the **last** `]`), text after it from the first
//!   `#`/`;` is part of the section's comment; keys before any section are in `DEFAULT`, which is
//!   always the first section; sections may repeat;
//! - `key = value` or `key: value`; keys are trimmed and may be quoted with `"`, `"""` or a
//!   backtick; a key `-` is auto-numbered `#1`, `#2`, …; a repeated key keeps its place and takes
//!   the last value and comment;
//! - values are trimmed; `"""…"""` and backtick values are taken raw and may span lines; a
//!   trailing `\` continues a value on the next line; otherwise the first `#` or `;` starts an
//!   inline comment, then one pair of surrounding `"…"` or `'…'` is removed.
//!
//! In the tree each section is an [`Item::Pair`] whose value is a [`Value::Map`]: the section's
//! comment first (if any), then each key followed by its comment (if any). Comment texts have
//! their leading `;`/`#` and spaces removed as sops' `stripCommentChar` does.
//!
//! Writing reproduces ini.v1's `WriteTo` with its default `PrettyFormat`, as sops' `encodeTree`
//! drives it.

use crate::stores::json::decode_rune;
use crate::tree::{Branch, Comment, Item, Value};
use crate::{Error, Result};

const FORMAT: &str = "ini";
const DEFAULT_SECTION: &str = "DEFAULT";
const KEY_DELIMITERS: &[u8] = b"=:";

/// Parse into one branch whose items are sections (`DEFAULT` first), each a mapping.
///
/// Errors name a line number, never a line's content.
pub fn parse(bytes: &[u8]) -> Result<Branch> {
    let mut p = Parser {
        src: skip_bom(bytes),
        pos: 0,
        line: 0,
        eof: false,
        comment: Vec::new(),
    };
    let sections = p.parse()?;
    let mut branch = Branch::with_capacity(sections.len());
    for sec in sections {
        let mut items = Branch::new();
        if !sec.comment.is_empty() {
            items.push(Item::Comment(Comment::new(strip_comment_char(
                &sec.comment,
            ))));
        }
        for key in sec.keys {
            items.push(Item::Pair(key.name, Value::str(key.value)));
            if !key.comment.is_empty() {
                items.push(Item::Comment(Comment::new(strip_comment_char(
                    &key.comment,
                ))));
            }
        }
        branch.push(Item::Pair(sec.name, Value::Map(items)));
    }
    Ok(branch)
}

/// Emit sections as sops writes INI: `; comment` lines, `[name]` headers (none for a leading
/// `DEFAULT`, which is skipped when it has no keys), keys padded to the longest key of their
/// section then ` = ` and the value, a blank line between sections.
///
/// Every top-level item must be a section (a mapping); top-level comments are skipped. In a
/// section, a leading comment is the section's comment, and a comment after a key is that key's
/// comment (written above it; the last one wins); comments before the first key are dropped.
pub fn emit(branch: &Branch) -> Result<Vec<u8>> {
    let mut sections: Vec<Section> = Vec::new();
    for item in branch {
        let Item::Pair(name, value) = item else {
            continue;
        };
        if name.is_empty() {
            return Err(Error::Emit(
                "cannot write an INI section with an empty name".into(),
            ));
        }
        let Value::Map(items) = value else {
            return Err(Error::Emit(format!(
                "INI section values must be mappings, but `{name}` is a {}",
                value.kind()
            )));
        };
        let mut sec = Section {
            name: name.clone(),
            comment: Vec::new(),
            keys: Vec::new(),
        };
        let mut rest = &items[..];
        if let Some((Item::Comment(c), tail)) = items.split_first() {
            sec.comment = c.text.as_bytes().to_vec();
            rest = tail;
        }
        let mut last: Option<usize> = None;
        for it in rest {
            match it {
                Item::Comment(c) => {
                    if let Some(l) = last {
                        sec.keys[l].comment = c.text.as_bytes().to_vec();
                    }
                }
                Item::Pair(k, v) => {
                    if k.is_empty() {
                        return Err(Error::Emit(format!(
                            "cannot write an empty key name in INI section `{name}`"
                        )));
                    }
                    let val = super::dotenv::val_to_string(v).map_err(|_| {
                        Error::Emit(format!(
                            "the value of `{k}` in INI section `{name}` is a {}, not a scalar",
                            v.kind()
                        ))
                    })?;
                    if let Some(idx) = sec.keys.iter().position(|key| key.name == *k) {
                        sec.keys[idx].value = val;
                        last = Some(idx);
                    } else {
                        sec.keys.push(Key {
                            name: k.clone(),
                            value: val,
                            comment: Vec::new(),
                        });
                        last = Some(sec.keys.len() - 1);
                    }
                }
            }
        }
        sections.push(sec);
    }
    Ok(write(&sections))
}

struct Section {
    name: String,
    /// Raw comment text (parser: as ini.v1 keeps it; writer: the tree's comment text).
    comment: Vec<u8>,
    keys: Vec<Key>,
}

struct Key {
    name: String,
    value: Vec<u8>,
    comment: Vec<u8>,
}

// ---------------------------------------------------------------------------------------------
// Writing

fn write(sections: &[Section]) -> Vec<u8> {
    let mut out = Vec::new();
    let last_idx = sections.len().saturating_sub(1);
    for (i, sec) in sections.iter().enumerate() {
        if !sec.comment.is_empty() {
            for line in sec.comment.split(|&b| b == b'\n') {
                write_comment_line(&mut out, line, false);
            }
        }
        if i > 0 || sec.name.to_uppercase() != DEFAULT_SECTION {
            out.push(b'[');
            out.extend_from_slice(sec.name.as_bytes());
            out.extend_from_slice(b"]\n");
        } else if sec.keys.is_empty() {
            // An empty DEFAULT section is not written.
            continue;
        }
        let align = sec
            .keys
            .iter()
            .map(|k| k.name.len() + key_quote_extra(&k.name))
            .max()
            .unwrap_or(0);
        for key in &sec.keys {
            if !key.comment.is_empty() {
                for line in key.comment.split(|&b| b == b'\n') {
                    write_comment_line(&mut out, line, true);
                }
            }
            let kname = quote_key(&key.name);
            out.extend_from_slice(kname.as_bytes());
            out.extend(std::iter::repeat_n(b' ', align.saturating_sub(kname.len())));
            out.extend_from_slice(b" = ");
            let val = &key.value[..];
            if val.iter().any(|&b| b == b'\n' || b == b'`') {
                out.extend_from_slice(b"\"\"\"");
                out.extend_from_slice(val);
                out.extend_from_slice(b"\"\"\"");
            } else if val.iter().any(|&b| b == b'#' || b == b';') {
                out.push(b'`');
                out.extend_from_slice(val);
                out.push(b'`');
            } else if trim_space(val).len() != val.len() {
                out.push(b'"');
                out.extend_from_slice(val);
                out.push(b'"');
            } else {
                out.extend_from_slice(val);
            }
            out.push(b'\n');
        }
        if i != last_idx {
            out.push(b'\n');
        }
    }
    out
}

/// One comment line as ini.v1 writes it: `; text`, or the line's own `#`/`;` followed by one
/// space and the trimmed rest. Section comment lines without a marker are not trimmed.
fn write_comment_line(out: &mut Vec<u8>, line: &[u8], trim: bool) {
    match line.first() {
        Some(&c @ (b'#' | b';')) => {
            out.push(c);
            out.push(b' ');
            out.extend_from_slice(trim_space(&line[1..]));
        }
        // ini.v1 panics on an empty comment line; write an empty comment instead.
        _ => {
            out.extend_from_slice(b"; ");
            out.extend_from_slice(if trim { trim_space(line) } else { line });
        }
    }
    out.push(b'\n');
}

/// How many bytes quoting adds to a key name (for alignment).
fn key_quote_extra(name: &str) -> usize {
    if name.contains('"') || name.bytes().any(|b| KEY_DELIMITERS.contains(&b)) {
        2
    } else if name.contains('`') {
        6
    } else {
        0
    }
}

fn quote_key(name: &str) -> String {
    if name.contains('"') || name.bytes().any(|b| KEY_DELIMITERS.contains(&b)) {
        format!("`{name}`")
    } else if name.contains('`') {
        format!("\"\"\"{name}\"\"\"")
    } else {
        name.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

fn skip_bom(b: &[u8]) -> &[u8] {
    if b.starts_with(&[0xfe, 0xff]) || b.starts_with(&[0xff, 0xfe]) {
        &b[2..]
    } else if b.starts_with(&[0xef, 0xbb, 0xbf]) {
        &b[3..]
    } else {
        b
    }
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
    /// 1-based number of the line last read.
    line: usize,
    eof: bool,
    /// Comment text accumulated for the next section or key.
    comment: Vec<u8>,
}

impl<'a> Parser<'a> {
    fn err(&self, what: &str) -> Error {
        Error::syntax(FORMAT, format!("line {}: {what}", self.line))
    }

    /// The next line including its `\n` (Go `ReadBytes('\n')`); at the end, the rest (possibly
    /// empty) and `eof` set.
    fn read_line(&mut self) -> &'a [u8] {
        let rest = &self.src[self.pos..];
        self.line += 1;
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.pos += i + 1;
                &rest[..=i]
            }
            None => {
                self.pos = self.src.len();
                self.eof = true;
                rest
            }
        }
    }

    fn parse(&mut self) -> Result<Vec<Section>> {
        let mut sections = vec![Section {
            name: DEFAULT_SECTION.into(),
            comment: Vec::new(),
            keys: Vec::new(),
        }];
        let mut count = 1usize;
        while !self.eof {
            let line = trim_left_space(self.read_line());
            let Some(&first) = line.first() else {
                continue;
            };
            if first == b'#' || first == b';' {
                self.comment.extend_from_slice(line);
                continue;
            }
            if first == b'[' {
                let Some(close) = line.iter().rposition(|&b| b == b']') else {
                    return Err(self.err("unclosed section header"));
                };
                let name = &line[1..close];
                if name.is_empty() {
                    return Err(self.err("empty section name"));
                }
                let name = String::from_utf8(name.to_vec())
                    .map_err(|_| self.err("the section name is not valid UTF-8"))?;
                if let Some(c) = clean_comment(&line[close + 1..]) {
                    self.comment.extend_from_slice(c);
                }
                sections.push(Section {
                    name,
                    comment: trim_space(&self.comment).to_vec(),
                    keys: Vec::new(),
                });
                self.comment.clear();
                count = 1;
                continue;
            }
            let (kname, offset) = self.read_key_name(line)?;
            let mut kname = kname.to_vec();
            if kname == b"-" {
                kname = format!("#{count}").into_bytes();
                count += 1;
            }
            let value = self.read_value(&line[offset..])?;
            if kname.is_empty() {
                return Err(self.err("empty key name"));
            }
            let name = String::from_utf8(kname)
                .map_err(|_| self.err("the key name is not valid UTF-8"))?;
            let comment = trim_space(&self.comment).to_vec();
            self.comment.clear();
            let Some(sec) = sections.last_mut() else {
                return Err(self.err("internal error: no section"));
            };
            if let Some(key) = sec.keys.iter_mut().find(|k| k.name == name) {
                key.value = value;
                key.comment = comment;
            } else {
                sec.keys.push(Key {
                    name,
                    value,
                    comment,
                });
            }
        }
        Ok(sections)
    }

    /// The key name of a (left-trimmed, non-empty) line and the offset just past the delimiter.
    fn read_key_name<'l>(&self, line: &'l [u8]) -> Result<(&'l [u8], usize)> {
        let quote: &[u8] = match line.first() {
            Some(b'"') if line.len() > 6 && line.starts_with(b"\"\"\"") => b"\"\"\"",
            Some(b'"') => b"\"",
            Some(b'`') => b"`",
            _ => b"",
        };
        if !quote.is_empty() {
            let start = quote.len();
            let Some(pos) = find(&line[start..], quote) else {
                return Err(self.err("missing closing key quote"));
            };
            let pos = pos + start;
            let Some(i) = line[pos + start..]
                .iter()
                .position(|b| KEY_DELIMITERS.contains(b))
            else {
                return Err(self.err("key-value delimiter ('=' or ':') not found"));
            };
            let end = pos + i;
            return Ok((trim_space(&line[start..pos]), end + start + 1));
        }
        match line.iter().position(|b| KEY_DELIMITERS.contains(b)) {
            None => Err(self.err("key-value delimiter ('=' or ':') not found")),
            Some(0) => Err(self.err("empty key name")),
            Some(end) => Ok((trim_space(&line[..end]), end + 1)),
        }
    }

    fn read_value(&mut self, input: &[u8]) -> Result<Vec<u8>> {
        let line = trim_left_space(input);
        if line.is_empty() {
            return Ok(Vec::new());
        }
        let quote: &[u8] = if line.len() > 3 && line.starts_with(b"\"\"\"") {
            b"\"\"\""
        } else if line[0] == b'`' {
            b"`"
        } else {
            b""
        };
        if !quote.is_empty() {
            let start = quote.len();
            return match rfind(&line[start..], quote) {
                None => self.read_multilines(line[start..].to_vec(), quote),
                Some(pos) => Ok(line[start..start + pos].to_vec()),
            };
        }
        let mut line = trim_space(line);
        if line.last() == Some(&b'\\') {
            return self.read_continuation_lines(line[..line.len() - 1].to_vec());
        }
        if let Some(i) = line.iter().position(|&b| b == b'#' || b == b';') {
            self.comment.extend_from_slice(&line[i..]);
            line = trim_space(&line[..i]);
        }
        if has_surrounded_quote(line, b'\'') || has_surrounded_quote(line, b'"') {
            line = &line[1..line.len() - 1];
        }
        Ok(line.to_vec())
    }

    fn read_multilines(&mut self, mut val: Vec<u8>, quote: &[u8]) -> Result<Vec<u8>> {
        let start_line = self.line;
        loop {
            let next = self.read_line();
            if let Some(pos) = rfind(next, quote) {
                let rest = trim_right_bytes(&next[pos + quote.len()..], b"\r\n");
                if trim_space(rest).last() == Some(&b'\\') {
                    val.extend_from_slice(next);
                    if self.eof {
                        break;
                    }
                    continue;
                }
                val.extend_from_slice(&next[..pos]);
                if let Some(c) = clean_comment(&next[pos..]) {
                    self.comment.extend_from_slice(trim_space(c));
                }
                return Ok(val);
            }
            val.extend_from_slice(next);
            if self.eof {
                break;
            }
        }
        Err(Error::syntax(
            FORMAT,
            format!("line {start_line}: missing closing quote of a multi-line value"),
        ))
    }

    fn read_continuation_lines(&mut self, mut val: Vec<u8>) -> Result<Vec<u8>> {
        loop {
            if self.eof {
                break;
            }
            let next = trim_space(self.read_line());
            if next.is_empty() {
                break;
            }
            val.extend_from_slice(next);
            if val.last() != Some(&b'\\') {
                break;
            }
            val.pop();
        }
        Ok(val)
    }
}

/// From the first `#` or `;` on (ini.v1 `cleanComment`).
fn clean_comment(s: &[u8]) -> Option<&[u8]> {
    s.iter()
        .position(|&b| b == b'#' || b == b';')
        .map(|i| &s[i..])
}

/// True when `s` is `q…q` with no other `q` inside (ini.v1 `hasSurroundedQuote`).
fn has_surrounded_quote(s: &[u8], q: u8) -> bool {
    s.len() >= 2
        && s[0] == q
        && s[s.len() - 1] == q
        && s[1..].iter().position(|&b| b == q) == Some(s.len() - 2)
}

/// sops `stripCommentChar`: drop a leading run of `;`/spaces (if it starts with `;`) or
/// `#`/spaces (if it starts with `#`).
fn strip_comment_char(c: &[u8]) -> Vec<u8> {
    let set: &[u8] = match c.first() {
        Some(b';') => b"; ",
        Some(b'#') => b"# ",
        _ => return c.to_vec(),
    };
    let n = c.iter().take_while(|b| set.contains(b)).count();
    c[n..].to_vec()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

fn trim_right_bytes<'s>(s: &'s [u8], set: &[u8]) -> &'s [u8] {
    let n = s.iter().rev().take_while(|b| set.contains(b)).count();
    &s[..s.len() - n]
}

/// Go `unicode.IsSpace` on the character at the start of `s` (invalid UTF-8 is not space);
/// returns its width.
fn leading_space(s: &[u8]) -> Option<usize> {
    match decode_rune(s) {
        Some((c, n)) if c.is_whitespace() => Some(n),
        _ => None,
    }
}

/// Go `unicode.IsSpace` on the last character of `s`; returns its width.
fn trailing_space(s: &[u8]) -> Option<usize> {
    (1..=4.min(s.len())).find(
        |&n| matches!(decode_rune(&s[s.len() - n..]), Some((c, w)) if w == n && c.is_whitespace()),
    )
}

fn trim_left_space(mut s: &[u8]) -> &[u8] {
    while let Some(n) = leading_space(s) {
        s = &s[n..];
    }
    s
}

/// Go `strings.TrimSpace` on bytes.
fn trim_space(s: &[u8]) -> &[u8] {
    let mut s = trim_left_space(s);
    while let Some(n) = trailing_space(s) {
        s = &s[..s.len() - n];
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(src: &str) -> String {
        String::from_utf8(emit(&parse(src.as_bytes()).unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn simple() {
        assert_eq!(roundtrip("[foo]\nbar=baz\n"), "[foo]\nbar = baz\n");
        assert_eq!(
            roundtrip("top: 1\n; c1\n[a] # sc\nk = v ; inline\nlonger='q'\n\n[b]\n"),
            "top = 1\n\n; c1\n# sc\n[a]\n; inline\nk      = v\nlonger = q\n\n[b]\n"
        );
    }

    #[test]
    fn quoting() {
        let b = parse(b"[s]\na = `x # y`\nb = \"\"\"l1\nl2\"\"\"\nc = \" sp \"\nd = \\\n  more\n")
            .unwrap();
        let Some(Value::Map(s)) = crate::tree::get(&b, "s") else {
            panic!("{b:?}")
        };
        assert_eq!(crate::tree::get(s, "a"), Some(&Value::str("x # y")));
        assert_eq!(crate::tree::get(s, "b"), Some(&Value::str("l1\nl2")));
        assert_eq!(crate::tree::get(s, "c"), Some(&Value::str(" sp ")));
        assert_eq!(crate::tree::get(s, "d"), Some(&Value::str("more")));
        assert_eq!(
            String::from_utf8(emit(&b).unwrap()).unwrap(),
            "[s]\na = `x # y`\nb = \"\"\"l1\nl2\"\"\"\nc = \" sp \"\nd = more\n"
        );
    }

    #[test]
    fn errors_do_not_leak() {
        for src in [
            &b"[s]\nsecretline\n"[..],
            b"[s]\nk = \"\"\"secret\n",
            b"[secret\n",
        ] {
            let e = parse(src).unwrap_err().to_string();
            assert!(!e.contains("secret"), "{e}");
            assert!(e.contains("line"), "{e}");
        }
    }
}
