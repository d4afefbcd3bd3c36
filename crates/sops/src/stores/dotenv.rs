//! dotenv store: `KEY=value` lines, `#` comments, `\n` escapes; no quoting, no trimming.
//!
//! This is sops' own dotenv dialect (`stores/dotenv/store.go`), not the shell-like one of other
//! tools: the file is split on `\n`, empty lines are skipped, a line starting with `#` is a
//! comment (its text is the rest of the line), every other line is the bytes before the first
//! `=` as key and the rest as value, with backslash-n turned into a newline. Nothing is trimmed,
//! unquoted or interpolated, and a CR stays in the value.

use crate::tree::{Branch, Comment, Item, Value};
use crate::{Error, Result};

const FORMAT: &str = "dotenv";

/// Parse a dotenv file into one flat branch of strings and comments.
///
/// A line without `=` is an error naming its line number, never its content.
pub fn parse(bytes: &[u8]) -> Result<Branch> {
    let mut branch = Branch::new();
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        if line[0] == b'#' {
            branch.push(Item::Comment(Comment::new(line[1..].to_vec())));
            continue;
        }
        let Some(pos) = line.iter().position(|&b| b == b'=') else {
            return Err(Error::syntax(
                FORMAT,
                format!(
                    "line {}: expected KEY=value, but the line has no '='",
                    n + 1
                ),
            ));
        };
        let key = String::from_utf8(line[..pos].to_vec()).map_err(|_| {
            Error::syntax(
                FORMAT,
                format!("line {}: the key is not valid UTF-8", n + 1),
            )
        })?;
        let value = crate::bytes::replace_all(&line[pos + 1..], b"\\n", b"\n");
        branch.push(Item::Pair(key, Value::str(value)));
    }
    Ok(branch)
}

/// Emit a flat branch as sops does: `KEY=value\n` with newlines in strings written as `\n`,
/// comments as `#text\n`, other scalars as sops' `ValToString` writes them. A mapping or
/// sequence value is an error.
pub fn emit(branch: &Branch) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for item in branch {
        match item {
            Item::Comment(c) => {
                out.push(b'#');
                out.extend_from_slice(c.text.as_bytes());
                out.push(b'\n');
            }
            Item::Pair(k, v) => {
                if v.is_container() {
                    return Err(Error::Emit(format!(
                        "cannot use complex value in dotenv file; offending key {k}"
                    )));
                }
                out.extend_from_slice(k.as_bytes());
                out.push(b'=');
                match v {
                    Value::Str(s) => out.extend_from_slice(&crate::bytes::replace_all(
                        s.as_bytes(),
                        b"\n",
                        b"\\n",
                    )),
                    other => out.extend_from_slice(&val_to_string(other)?),
                }
                out.push(b'\n');
            }
        }
    }
    Ok(out)
}

/// sops' `stores.ValToString`: strings raw, ints in decimal, floats with Go's `'G'` format and
/// at least one decimal (`2.0`, `1.5E-07`), bools `true`/`false`, times RFC 3339 without
/// fraction, null as Go prints nil (`<nil>`). Containers and comments are errors.
pub(crate) fn val_to_string(v: &Value) -> Result<Vec<u8>> {
    Ok(match v {
        Value::Str(s) => s.as_bytes().to_vec(),
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Float(f) => {
            let g = format_float_g_upper(*f);
            if g.contains('.') || g.contains('E') {
                g.into_bytes()
            } else if f.is_finite() {
                format!("{f:.1}").into_bytes()
            } else {
                g.into_bytes()
            }
        }
        Value::Bool(b) => b.to_string().into_bytes(),
        Value::Time(t) => strip_fraction(t).into_bytes(),
        Value::Null => b"<nil>".to_vec(),
        Value::Map(_) | Value::Seq(_) | Value::Comment(_) => {
            return Err(Error::Emit(format!(
                "a {} cannot be written as a flat value",
                v.kind()
            )))
        }
    })
}

/// Go `strconv.FormatFloat(f, 'G', -1, 64)`.
fn format_float_g_upper(f: f64) -> String {
    if !f.is_finite() || f == 0.0 {
        return crate::num::format_float_f(f);
    }
    let (_, exp) = super::json::shortest_digits(f);
    if !(-4..6).contains(&exp) {
        super::json::format_float_e(f, true)
    } else {
        crate::num::format_float_f(f)
    }
}

/// RFC 3339 without fractional seconds (Go `Format(time.RFC3339)`) from the RFC 3339 text sops
/// keeps for a timestamp.
fn strip_fraction(t: &str) -> String {
    match t.find('.') {
        Some(dot) => {
            let rest = &t[dot + 1..];
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            format!("{}{}", &t[..dot], &rest[digits..])
        }
        None => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let src = b"#comment\nA=b=c\n\nfoo = bar \nE=\nM=one\\ntwo\nH=x # y\r\n";
        let b = parse(src).unwrap();
        assert_eq!(b.len(), 6);
        assert_eq!(
            crate::tree::get(&b, "M"),
            Some(&Value::str("one\ntwo")),
            "{b:?}"
        );
        assert_eq!(crate::tree::get(&b, "foo "), Some(&Value::str(" bar ")));
        let out = emit(&b).unwrap();
        assert_eq!(
            out,
            b"#comment\nA=b=c\nfoo = bar \nE=\nM=one\\ntwo\nH=x # y\r\n"
        );
    }

    #[test]
    fn bad_line() {
        let e = parse(b"A=1\nsecretvalue\n").unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        assert!(!e.contains("secretvalue"), "{e}");
    }

    #[test]
    fn scalars() {
        let s = |v: Value| String::from_utf8(val_to_string(&v).unwrap()).unwrap();
        assert_eq!(s(Value::Float(2.0)), "2.0");
        assert_eq!(s(Value::Float(1234568000.0)), "1.234568E+09");
        assert_eq!(s(Value::Float(0.5)), "0.5");
        assert_eq!(s(Value::Float(1e-5)), "1E-05");
        assert_eq!(s(Value::Float(123456.0)), "123456.0");
        assert_eq!(s(Value::Float(f64::INFINITY)), "+Inf");
        assert_eq!(s(Value::Int(-3)), "-3");
        assert_eq!(s(Value::Bool(true)), "true");
        assert_eq!(s(Value::Null), "<nil>");
        assert_eq!(
            s(Value::Time("2024-01-01T00:00:00.123+02:00".into())),
            "2024-01-01T00:00:00+02:00"
        );
        assert!(emit(&vec![Item::Pair("a".into(), Value::Seq(vec![]))]).is_err());
    }
}
