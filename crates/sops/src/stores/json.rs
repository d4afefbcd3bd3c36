//! JSON store (and the envelope of the binary store): order and duplicates kept, Go's
//! `json.Marshal` escaping and float format, tab indentation, trailing newline.
//!
//! Reading mirrors sops' token-stream reader (`stores/json/store.go` over Go's
//! `encoding/json.Decoder`): the top level must be an object, keys keep their order and
//! duplicates, strings are decoded as Go decodes them (invalid UTF-8 and lone surrogates become
//! U+FFFD), an integer literal that fits an `i64` is an [`Value::Int`] and every other number a
//! [`Value::Float`]. Like Go's decoder, bytes after the closing `}` of the top-level object are
//! not read.
//!
//! Writing reproduces `json.Marshal` of every scalar followed by `json.Indent` with a tab, then a
//! trailing newline, which is what sops 3.13 writes.

use crate::tree::{Branch, Item, Value};
use crate::{Error, Result};

const FORMAT: &str = "json";

/// Deepest nesting of objects and arrays accepted when reading. Go allows 10000; a smaller bound
/// keeps the recursive reader, writer and tree walkers far from the thread's stack limit.
const MAX_DEPTH: usize = 1000;

/// Parse a JSON document whose top level is an object.
///
/// Returns exactly one branch. Errors name a line and column, never the text of a value.
pub fn parse(bytes: &[u8]) -> Result<Vec<Branch>> {
    let mut p = Parser { b: bytes, pos: 0 };
    p.skip_ws();
    match p.peek() {
        None => Err(p.err("the document is empty")),
        Some(b'{') => {
            p.pos += 1;
            let branch = p.object(1)?;
            // Like Go's json.Decoder, whatever follows the top-level object is never read.
            Ok(vec![branch])
        }
        Some(_) => Err(
            p.err("sops only supports JSON files whose top level is an object (starting with '{')")
        ),
    }
}

/// Emit an object as sops does: tab indentation, `"key": value`, a trailing newline.
/// Comments are skipped.
pub fn emit(branch: &Branch) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    write_map(&mut out, branch, 0)?;
    out.push(b'\n');
    Ok(out)
}

/// Emit a single value picked by `sops decrypt --extract`.
///
/// A string is returned as its raw bytes (sops prints an extracted string as is, whatever the
/// output format); any other value is written like sops' `EmitValue`: indented JSON with **no**
/// trailing newline (`[\n\t1,\n\t2\n]`, `42`, `true`, `null`).
pub fn emit_value(value: &Value) -> Result<Vec<u8>> {
    if let Value::Str(s) = value {
        return Ok(s.as_bytes().to_vec());
    }
    let mut out = Vec::new();
    write_value(&mut out, value, 0)?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Reading

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// A syntax error at the current position (line and column, 1-based).
    fn err(&self, what: &str) -> Error {
        self.err_at(self.pos, what)
    }

    fn err_at(&self, pos: usize, what: &str) -> Error {
        let upto = &self.b[..pos.min(self.b.len())];
        let line = upto.iter().filter(|&&c| c == b'\n').count() + 1;
        let col = upto.iter().rev().take_while(|&&c| c != b'\n').count() + 1;
        Error::syntax(FORMAT, format!("line {line}, column {col}: {what}"))
    }

    /// Describe the byte at the current position without quoting the document's text.
    fn unexpected(&self, wanted: &str) -> Error {
        match self.peek() {
            None => self.err(&format!("unexpected end of input, expected {wanted}")),
            Some(_) => self.err(&format!("unexpected character, expected {wanted}")),
        }
    }

    fn expect(&mut self, c: u8, wanted: &str) -> Result<()> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(wanted))
        }
    }

    /// The members of an object whose `{` has been consumed.
    fn object(&mut self, depth: usize) -> Result<Branch> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting is too deep"));
        }
        let mut branch = Branch::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(branch);
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.unexpected("an object key string"));
            }
            let key_bytes = self.string()?;
            // Decoded strings are always valid UTF-8 (invalid input became U+FFFD).
            let key = String::from_utf8(key_bytes)
                .map_err(|_| self.err("internal error: key is not UTF-8"))?;
            self.expect(b':', "':' after an object key")?;
            let value = self.value(depth)?;
            branch.push(Item::Pair(key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(branch);
                }
                _ => return Err(self.unexpected("',' or '}' after an object value")),
            }
        }
    }

    /// The elements of an array whose `[` has been consumed.
    fn array(&mut self, depth: usize) -> Result<Vec<Value>> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting is too deep"));
        }
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(items);
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(items);
                }
                _ => return Err(self.unexpected("',' or ']' after an array element")),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value> {
        self.skip_ws();
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                Ok(Value::Map(self.object(depth + 1)?))
            }
            Some(b'[') => {
                self.pos += 1;
                Ok(Value::Seq(self.array(depth + 1)?))
            }
            Some(b'"') => Ok(Value::str(self.string()?)),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.unexpected("a value")),
        }
    }

    fn literal(&mut self, word: &[u8], v: Value) -> Result<Value> {
        if self.b[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.err("invalid literal (expected true, false or null)"))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// A number, as sops 3.13.2 types it: an integer literal that fits `i64` is an int, anything
    /// else a float; a float out of range is an error (Go's `ParseFloat` range error).
    fn number(&mut self) -> Result<Value> {
        let start = self.pos;
        let mut integral = true;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            integral = false;
            if self.digits() == 0 {
                return Err(self.err("invalid number: no digit after the decimal point"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            integral = false;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("invalid number: no digit in the exponent"));
            }
        }
        // The slice is ASCII by construction.
        let text = std::str::from_utf8(&self.b[start..self.pos])
            .map_err(|_| self.err_at(start, "invalid number"))?;
        if integral {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Value::Int(i));
            }
        }
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => Err(self.err_at(start, "number out of range")),
        }
    }

    /// A string starting at the current `"`, decoded as Go decodes it.
    fn string(&mut self) -> Result<Vec<u8>> {
        let start = self.pos;
        self.pos += 1; // the opening quote
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err_at(start, "unterminated string"));
            };
            match c {
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.pos += 1;
                    let Some(e) = self.peek() else {
                        return Err(self.err_at(start, "unterminated string"));
                    };
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let r = self.hex4()?;
                            let ch = if (0xD800..0xE000).contains(&r) {
                                // A surrogate: combine with a following \uDC00-\uDFFF escape, as
                                // Go does; otherwise U+FFFD and leave the next escape alone.
                                let low = if self.b[self.pos..].starts_with(b"\\u") {
                                    let save = self.pos;
                                    self.pos += 2;
                                    match self.hex4() {
                                        Ok(lo) => Some((save, lo)),
                                        Err(_) => {
                                            self.pos = save;
                                            None
                                        }
                                    }
                                } else {
                                    None
                                };
                                match low {
                                    Some((_, lo))
                                        if (0xD800..0xDC00).contains(&r)
                                            && (0xDC00..0xE000).contains(&lo) =>
                                    {
                                        let c = 0x10000 + ((r - 0xD800) << 10) + (lo - 0xDC00);
                                        char::from_u32(c).unwrap_or('\u{FFFD}')
                                    }
                                    Some((save, _)) => {
                                        self.pos = save;
                                        '\u{FFFD}'
                                    }
                                    None => '\u{FFFD}',
                                }
                            } else {
                                char::from_u32(r).unwrap_or('\u{FFFD}')
                            };
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(self.err_at(self.pos - 2, "invalid escape in string")),
                    }
                }
                0x00..=0x1f => return Err(self.err("control character in string")),
                0x20..=0x7f => {
                    out.push(c);
                    self.pos += 1;
                }
                _ => match decode_rune(&self.b[self.pos..]) {
                    Some((_, n)) => {
                        out.extend_from_slice(&self.b[self.pos..self.pos + n]);
                        self.pos += n;
                    }
                    None => {
                        out.extend_from_slice("\u{FFFD}".as_bytes());
                        self.pos += 1;
                    }
                },
            }
        }
    }

    /// Four hex digits after `\u`.
    fn hex4(&mut self) -> Result<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.err("invalid \\u escape in string")),
            };
            v = v * 16 + u32::from(d);
            self.pos += 1;
        }
        Ok(v)
    }
}

/// Decode one UTF-8 character at the start of `s` as Go's `utf8.DecodeRune` does; `None` when
/// the bytes there are not a valid encoding (Go returns `RuneError` of width 1).
pub(crate) fn decode_rune(s: &[u8]) -> Option<(char, usize)> {
    let first = *s.first()?;
    let len = match first {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let chunk = s.get(..len)?;
    let st = std::str::from_utf8(chunk).ok()?;
    st.chars().next().map(|c| (c, len))
}

// ---------------------------------------------------------------------------------------------
// Writing

fn newline(out: &mut Vec<u8>, depth: usize) {
    out.push(b'\n');
    out.extend(std::iter::repeat_n(b'\t', depth));
}

fn write_map(out: &mut Vec<u8>, branch: &[Item], depth: usize) -> Result<()> {
    out.push(b'{');
    let mut empty = true;
    for item in branch {
        let Item::Pair(k, v) = item else { continue };
        if !empty {
            out.push(b',');
        }
        newline(out, depth + 1);
        write_string(out, k.as_bytes());
        out.extend_from_slice(b": ");
        write_value(out, v, depth + 1)?;
        empty = false;
    }
    if !empty {
        newline(out, depth);
    }
    out.push(b'}');
    Ok(())
}

fn write_value(out: &mut Vec<u8>, v: &Value, depth: usize) -> Result<()> {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Float(f) => out.extend_from_slice(format_float_es6(*f)?.as_bytes()),
        Value::Str(s) => write_string(out, s.as_bytes()),
        Value::Time(t) => write_string(out, t.as_bytes()),
        Value::Map(m) => write_map(out, m, depth)?,
        Value::Seq(items) => {
            out.push(b'[');
            let mut empty = true;
            for item in items {
                if matches!(item, Value::Comment(_)) {
                    continue;
                }
                if !empty {
                    out.push(b',');
                }
                newline(out, depth + 1);
                write_value(out, item, depth + 1)?;
                empty = false;
            }
            if !empty {
                newline(out, depth);
            }
            out.push(b']');
        }
        Value::Comment(_) => {
            return Err(Error::Emit(
                "a comment cannot be written as a JSON value".into(),
            ))
        }
    }
    Ok(())
}

/// A JSON string as Go's `json.Marshal` writes it (HTML-safe escaping, `\u2028`/`\u2029`
/// escaped, each invalid UTF-8 byte written as `\ufffd`).
pub(crate) fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c < 0x80 {
            match c {
                b'"' | b'\\' => out.extend_from_slice(&[b'\\', c]),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                0x00..=0x1f | b'<' | b'>' | b'&' => {
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(c >> 4)]);
                    out.push(HEX[usize::from(c & 0xf)]);
                }
                _ => out.push(c),
            }
            i += 1;
            continue;
        }
        match decode_rune(&s[i..]) {
            Some(('\u{2028}', n)) => {
                out.extend_from_slice(b"\\u2028");
                i += n;
            }
            Some(('\u{2029}', n)) => {
                out.extend_from_slice(b"\\u2029");
                i += n;
            }
            Some((_, n)) => {
                out.extend_from_slice(&s[i..i + n]);
                i += n;
            }
            None => {
                out.extend_from_slice(b"\\ufffd");
                i += 1;
            }
        }
    }
    out.push(b'"');
}

/// The shortest round-trip decimal digits of a finite, non-zero `|f|` and its decimal exponent
/// in scientific notation: `1.5e-7` gives `("15", -7)`.
pub(crate) fn shortest_digits(f: f64) -> (String, i32) {
    // `{:e}` prints the shortest round-trip digits as `d.ddde<exp>`.
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    (digits, exp.parse().unwrap_or(0))
}

/// Go `strconv.FormatFloat(f, fmt, -1, 64)` for `fmt` `'e'` or `'E'`: `1e+21`, `1.5e-07`.
pub(crate) fn format_float_e(f: f64, upper: bool) -> String {
    let (digits, exp) = shortest_digits(f);
    let mut s = String::new();
    if f.is_sign_negative() {
        s.push('-');
    }
    let (first, rest) = digits.split_at(1.min(digits.len()));
    s.push_str(first);
    if !rest.is_empty() {
        s.push('.');
        s.push_str(rest);
    }
    s.push(if upper { 'E' } else { 'e' });
    s.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        s.push('0');
    }
    s.push_str(&a.to_string());
    s
}

/// A float as Go's `encoding/json` writes it (ES6 style): `'f'` unless `|f| < 1e-6` or
/// `|f| >= 1e21`, then `'e'` with a one-digit negative exponent cleaned (`1e-7`, `1e+21`).
/// Non-finite values cannot be written.
pub(crate) fn format_float_es6(f: f64) -> Result<String> {
    if !f.is_finite() {
        return Err(Error::Emit(
            "a non-finite float (NaN or infinity) cannot be written as JSON".into(),
        ));
    }
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let mut s = format_float_e(f, false);
        // Go: clean up e-09 to e-9.
        let n = s.len();
        if n >= 4 && s.as_bytes()[n - 4] == b'e' && &s[n - 3..n - 1] == "-0" {
            s.remove(n - 2);
        }
        Ok(s)
    } else {
        Ok(crate::num::format_float_f(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats() {
        let cases = [
            (1e21, "1e+21"),
            (1.5e-7, "1.5e-7"),
            (2.0, "2"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (1.2345678901234567e19, "12345678901234567000"),
            (1e100, "1e+100"),
            (-2.5e-10, "-2.5e-10"),
            (25.4, "25.4"),
        ];
        for (f, want) in cases {
            assert_eq!(format_float_es6(f).unwrap(), want, "{f}");
        }
        assert!(format_float_es6(f64::NAN).is_err());
        assert_eq!(format_float_e(1234568000.0, true), "1.234568E+09");
        assert_eq!(format_float_e(1e-5, true), "1E-05");
    }

    #[test]
    fn strings() {
        let mut out = Vec::new();
        write_string(&mut out, b"<a>&\x08\x0c\x01\x7f\xe2\x80\xa8\xff\"\\");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"\\u003ca\\u003e\\u0026\\b\\f\\u0001\x7f\\u2028\\ufffd\\\"\\\\\""
        );
    }

    #[test]
    fn parse_basic() {
        let b =
            parse(br#" {"a": [1, 2.0, -0, 1e2, "x\ud83d\ude00\ud800"], "a": null, "b": {}} junk"#)
                .unwrap();
        assert_eq!(b.len(), 1);
        let out = emit(&b[0]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\n\t\"a\": [\n\t\t1,\n\t\t2,\n\t\t0,\n\t\t100,\n\t\t\"x\u{1F600}\u{FFFD}\"\n\t],\n\t\"a\": null,\n\t\"b\": {}\n}\n"
        );
        assert!(parse(b"[1]").is_err());
        assert!(parse(b"").is_err());
        assert!(parse(b"{\"a\": 1e400}").is_err());
        assert!(parse(b"{\"a\": 1,}").is_err());
    }

    #[test]
    fn errors_do_not_leak() {
        let e = parse(b"{\"a\": \"secret\x01value\"}")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn extract_value() {
        assert_eq!(emit_value(&Value::str("x")).unwrap(), b"x");
        assert_eq!(
            emit_value(&Value::Seq(vec![Value::Int(1), Value::Bool(true)])).unwrap(),
            b"[\n\t1,\n\ttrue\n]"
        );
        assert_eq!(emit_value(&Value::Seq(vec![])).unwrap(), b"[]");
    }
}
