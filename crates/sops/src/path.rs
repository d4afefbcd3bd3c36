//! Key paths: sops' `--extract` syntax (`["a"]["b"][0]`) and sops-nix's `a/b/c`, and lookup.

use crate::tree::{Item, Value};
use crate::{Error, Result};

/// One step of a key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathElem {
    Key(String),
    Index(usize),
}

impl std::fmt::Display for PathElem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathElem::Key(k) => write!(f, "[{}]", quote(k)),
            PathElem::Index(i) => write!(f, "[{i}]"),
        }
    }
}

fn quote(k: &str) -> String {
    let mut s = String::from("\"");
    for c in k.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Format a path the way sops writes it: `["a"]["b"][0]`.
pub fn display(path: &[PathElem]) -> String {
    path.iter().map(|p| p.to_string()).collect()
}

/// Parse sops' `--extract` syntax: a sequence of `["key"]`, `['key']` or `[N]`.
pub fn parse_sops(expr: &str) -> Result<Vec<PathElem>> {
    let bad = |why: &str| {
        Error::KeyNotFound(format!(
            "invalid path {expr:?}: {why} (expected the form [\"a\"][\"b\"][0])"
        ))
    };
    let mut out = Vec::new();
    let mut chars = expr.trim().chars().peekable();
    while let Some(c) = chars.next() {
        if c != '[' {
            return Err(bad("each step must start with ["));
        }
        match chars.peek().copied() {
            Some(q @ ('"' | '\'')) => {
                chars.next();
                let mut key = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some(e) => key.push(e),
                            None => return Err(bad("unterminated string")),
                        },
                        Some(c) if c == q => break,
                        Some(c) => key.push(c),
                        None => return Err(bad("unterminated string")),
                    }
                }
                if chars.next() != Some(']') {
                    return Err(bad("missing ]"));
                }
                out.push(PathElem::Key(key));
            }
            _ => {
                let mut num = String::new();
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                    num.push(c);
                }
                let n = num
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| bad("an index must be a non-negative integer"))?;
                out.push(PathElem::Index(n));
            }
        }
    }
    if out.is_empty() {
        return Err(bad("empty path"));
    }
    Ok(out)
}

/// Parse a plan key: sops syntax when it starts with `[`, else sops-nix's `a/b/c` (each part a
/// mapping key; a part that is all digits indexes a sequence when the value there is one).
pub fn parse_key(key: &str) -> Result<Vec<PathElem>> {
    if key.starts_with('[') {
        return parse_sops(key);
    }
    Ok(key
        .split('/')
        .map(|p| PathElem::Key(p.to_string()))
        .collect())
}

/// Follow `path` through a document. Numeric `Key` steps index sequences (sops-nix `a/0`).
pub fn lookup<'a>(branch: &'a [Item], path: &[PathElem]) -> Result<&'a Value> {
    let missing = |upto: usize| {
        Error::KeyNotFound(format!(
            "key {} not found (no {} in the file)",
            display(path),
            display(&path[..=upto])
        ))
    };
    let mut cur: Option<&Value> = None;
    for (i, step) in path.iter().enumerate() {
        let items: &[Item] = match cur {
            None => branch,
            Some(Value::Map(m)) => m,
            Some(Value::Seq(seq)) => {
                let idx = match step {
                    PathElem::Index(n) => Some(*n),
                    PathElem::Key(k) => k.parse::<usize>().ok(),
                };
                let elems: Vec<&Value> = seq
                    .iter()
                    .filter(|v| !matches!(v, Value::Comment(_)))
                    .collect();
                cur = Some(
                    idx.and_then(|n| elems.get(n).copied())
                        .ok_or_else(|| missing(i))?,
                );
                continue;
            }
            Some(other) => {
                return Err(Error::KeyNotFound(format!(
                    "key {} not found: {} is a {}, not a mapping",
                    display(path),
                    display(&path[..i]),
                    other.kind()
                )))
            }
        };
        let PathElem::Key(k) = step else {
            return Err(missing(i));
        };
        cur = Some(crate::tree::get(items, k).ok_or_else(|| missing(i))?);
    }
    cur.ok_or_else(|| Error::KeyNotFound("empty key path".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::Value;

    #[test]
    fn parses_sops_paths() {
        assert_eq!(
            parse_sops(r#"["a"]['b'][0]["c\"d"]"#).unwrap(),
            vec![
                PathElem::Key("a".into()),
                PathElem::Key("b".into()),
                PathElem::Index(0),
                PathElem::Key("c\"d".into())
            ]
        );
        assert!(parse_sops("a").is_err());
        assert!(parse_sops("[\"a\"").is_err());
        assert!(parse_sops("[-1]").is_err());
        assert!(parse_sops("").is_err());
    }

    #[test]
    fn looks_up_nested_and_lists() {
        let doc = vec![Item::Pair(
            "a".into(),
            Value::Map(vec![Item::Pair(
                "l".into(),
                Value::Seq(vec![Value::str("x"), Value::str("y")]),
            )]),
        )];
        assert_eq!(
            lookup(&doc, &parse_key("a/l/1").unwrap()).unwrap(),
            &Value::str("y")
        );
        assert_eq!(
            lookup(&doc, &parse_key(r#"["a"]["l"][0]"#).unwrap()).unwrap(),
            &Value::str("x")
        );
        let e = lookup(&doc, &parse_key("a/m").unwrap())
            .unwrap_err()
            .to_string();
        assert_eq!(e, r#"key ["a"]["m"] not found (no ["a"]["m"] in the file)"#);
    }
}
