//! sops' metadata flattening for dotenv and INI (`stores/flatten.go`): a map child is
//! `parent__map_key`, a list element `parent__list_N`.
//!
//! Reading ([`split_prefixed`], [`split_section`]) rebuilds the nested tree exactly as sops'
//! `unflattenTreeBranch` does: map keys sorted (byte order), lists rebuilt from their indices
//! (which must be `0..n`), a key given twice or used both as a leaf and a parent is an error.
//! Leaves keep the type they were read with (strings for dotenv and INI); converting them to
//! ints or bools is the metadata reader's job, as mapstructure's weak typing is in sops.
//!
//! Writing ([`flatten_prefixed`]) walks the tree with every map's keys sorted, as sops 3.13 does
//! (`goToSops` sorts, then `flattenTreeBranch` walks depth-first).

use std::collections::BTreeMap;

use crate::tree::{Branch, Item, Value};
use crate::{Error, Result};

const MAP_SEPARATOR: &str = "__map_";
const LIST_SEPARATOR: &str = "__list_";

/// Deepest flattened path accepted (metadata is at most four levels deep).
const MAX_TOKENS: usize = 64;

/// Remove every top-level `prefix*` pair from `branch` and unflatten them into a tree.
/// `Ok(None)` when there is none.
///
/// This is the dotenv reader (`prefix` = `sops_`): every top-level key starting with the prefix
/// is metadata, the prefix is stripped, the rest is unflattened.
pub fn split_prefixed(branch: &mut Branch, prefix: &str) -> Result<Option<Branch>> {
    let mut found = Vec::new();
    branch.retain(|item| match item {
        Item::Pair(k, v) if k.starts_with(prefix) => {
            found.push((k[prefix.len()..].to_string(), v.clone()));
            false
        }
        _ => true,
    });
    if found.is_empty() {
        return Ok(None);
    }
    unflatten(found).map(Some)
}

/// Remove the section `name` from an INI tree and unflatten its keys.
///
/// Backslash-n sequences in string values are turned back into newlines first (sops 3.13.2 and
/// ≤ 3.12 write them so; 3.13.0/3.13.1 wrote `"""` multi-line values instead, which the INI
/// reader has already decoded). `Ok(None)` when there is no such section or it is empty, as in
/// sops; two such sections are an error.
pub fn split_section(branch: &mut Branch, name: &str) -> Result<Option<Branch>> {
    let mut sections = Vec::new();
    branch.retain(|item| match item {
        Item::Pair(k, v) if k == name => {
            sections.push(v.clone());
            false
        }
        _ => true,
    });
    if sections.len() > 1 {
        return Err(Error::Metadata(format!("found duplicate `{name}` section")));
    }
    let Some(section) = sections.pop() else {
        return Ok(None);
    };
    let Value::Map(items) = section else {
        return Err(Error::Metadata(format!(
            "the `{name}` entry is a {}, not a section",
            section.kind()
        )));
    };
    if items.is_empty() {
        return Ok(None);
    }
    let mut found = Vec::new();
    for item in items {
        if let Item::Pair(k, v) = item {
            let v = match v {
                Value::Str(s) => Value::str(crate::bytes::replace_all(s.as_bytes(), b"\\n", b"\n")),
                other => other,
            };
            found.push((k, v));
        }
    }
    unflatten(found).map(Some)
}

/// Flatten a metadata tree into `prefix`ed string pairs, sorted as sops 3.13 writes them.
/// With `escape_newlines`, newlines in values are written as backslash-n (INI).
///
/// Every map is walked with its keys in byte order; list elements keep their order (comments in
/// lists are skipped and not counted). Empty maps and lists produce no pair. A path produced
/// twice is an error, as in sops.
pub fn flatten_prefixed(meta: &Branch, prefix: &str, escape_newlines: bool) -> Result<Vec<Item>> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    flatten_map(meta, prefix, &mut out, &mut seen, escape_newlines)?;
    Ok(out)
}

fn flatten_map(
    branch: &[Item],
    prefix: &str,
    out: &mut Vec<Item>,
    seen: &mut std::collections::HashSet<String>,
    esc: bool,
) -> Result<()> {
    let mut pairs: Vec<(&String, &Value)> = branch
        .iter()
        .filter_map(|i| match i {
            Item::Pair(k, v) => Some((k, v)),
            Item::Comment(_) => None,
        })
        .collect();
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for (k, v) in pairs {
        flatten_value(v, format!("{prefix}{k}"), out, seen, esc)?;
    }
    Ok(())
}

fn flatten_value(
    value: &Value,
    key: String,
    out: &mut Vec<Item>,
    seen: &mut std::collections::HashSet<String>,
    esc: bool,
) -> Result<()> {
    match value {
        Value::Map(m) => flatten_map(m, &format!("{key}{MAP_SEPARATOR}"), out, seen, esc),
        Value::Seq(items) => {
            let mut i = 0usize;
            for item in items {
                if matches!(item, Value::Comment(_)) {
                    continue;
                }
                flatten_value(item, format!("{key}{LIST_SEPARATOR}{i}"), out, seen, esc)?;
                i += 1;
            }
            Ok(())
        }
        leaf => {
            if !seen.insert(key.clone()) {
                return Err(Error::Metadata(format!(
                    "found key collision {key:?} while flattening"
                )));
            }
            let leaf = match leaf {
                Value::Str(s) if esc => {
                    Value::str(crate::bytes::replace_all(s.as_bytes(), b"\n", b"\\n"))
                }
                other => other.clone(),
            };
            out.push(Item::Pair(key, leaf));
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Unflatten

enum Token {
    Map(String),
    List(i64),
}

/// Go `strconv.Atoi` as `tokenize` uses it: a syntax error gives 0, a range error the clamped
/// extreme.
fn go_atoi(s: &str) -> i64 {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    let mut v: i64 = 0;
    for b in digits.bytes() {
        let d = i64::from(b - b'0');
        let next = v.checked_mul(10).and_then(|x| {
            if neg {
                x.checked_sub(d)
            } else {
                x.checked_add(d)
            }
        });
        match next {
            Some(n) => v = n,
            None => return if neg { i64::MIN } else { i64::MAX },
        }
    }
    v
}

/// Split a flattened key into its tokens (sops `tokenize`).
fn tokenize(path: &str) -> Vec<Token> {
    #[derive(Clone, Copy)]
    enum State {
        Normal,
        Map,
        List,
    }
    let mut tokens = Vec::new();
    let mut state = State::Normal;
    let mut last = 0usize;
    let mut i = 0usize;
    let finish = |state: State, last: usize, i: usize, tokens: &mut Vec<Token>| {
        // The separators are ASCII, so these offsets are on character boundaries.
        let t = match state {
            State::Normal => Token::Map(path[last..i].to_string()),
            State::Map => Token::Map(path[last + MAP_SEPARATOR.len()..i].to_string()),
            State::List => Token::List(go_atoi(&path[last + LIST_SEPARATOR.len()..i])),
        };
        tokens.push(t);
    };
    while i < path.len() {
        if path[i..].starts_with(MAP_SEPARATOR) {
            finish(state, last, i, &mut tokens);
            last = i;
            state = State::Map;
            i += MAP_SEPARATOR.len();
        } else if path[i..].starts_with(LIST_SEPARATOR) {
            finish(state, last, i, &mut tokens);
            last = i;
            state = State::List;
            i += LIST_SEPARATOR.len();
        } else {
            i += path[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    finish(state, last, i, &mut tokens);
    tokens
}

#[derive(Default)]
struct Node {
    value: Option<Value>,
    subkeys: BTreeMap<String, Node>,
    indices: BTreeMap<i64, Node>,
}

fn unflatten(pairs: Vec<(String, Value)>) -> Result<Branch> {
    let mut root = Node::default();
    for (key, value) in pairs {
        let tokens = tokenize(&key);
        if tokens.len() > MAX_TOKENS {
            return Err(Error::Metadata(format!(
                "metadata key {key:?} is nested too deeply"
            )));
        }
        let mut node = &mut root;
        for t in tokens {
            node = match t {
                Token::Map(k) => node.subkeys.entry(k).or_default(),
                Token::List(i) => node.indices.entry(i).or_default(),
            };
        }
        if node.value.is_some() {
            return Err(Error::Metadata(format!(
                "error while unflattening {key:?}: duplicate value"
            )));
        }
        node.value = Some(value);
    }
    match convert(root)? {
        Value::Map(m) => Ok(m),
        _ => Err(Error::Metadata(
            "error while unflattening: cannot find root".into(),
        )),
    }
}

fn convert(node: Node) -> Result<Value> {
    let has_value = node.value.is_some();
    let has_sub = !node.subkeys.is_empty();
    let has_idx = !node.indices.is_empty();
    if usize::from(has_value) + usize::from(has_sub) + usize::from(has_idx) > 1 {
        return Err(Error::Metadata(
            "error while unflattening: type mismatch".into(),
        ));
    }
    if let Some(v) = node.value {
        return Ok(v);
    }
    if has_sub {
        let mut branch = Branch::with_capacity(node.subkeys.len());
        for (k, child) in node.subkeys {
            branch.push(Item::Pair(k, convert(child)?));
        }
        return Ok(Value::Map(branch));
    }
    if has_idx {
        // BTreeMap iterates in index order; the indices must be exactly 0..n.
        let complete = node
            .indices
            .keys()
            .enumerate()
            .all(|(pos, &idx)| i64::try_from(pos).is_ok_and(|p| p == idx));
        if !complete {
            return Err(Error::Metadata(
                "error while unflattening: incomplete list".into(),
            ));
        }
        let mut items = Vec::with_capacity(node.indices.len());
        for (_, child) in node.indices {
            items.push(convert(child)?);
        }
        return Ok(Value::Seq(items));
    }
    Ok(Value::Map(Branch::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::str(v)
    }

    #[test]
    fn round_trip() {
        let meta = vec![
            Item::Pair("version".into(), s("3.13.2")),
            Item::Pair(
                "age".into(),
                Value::Seq(vec![Value::Map(vec![
                    Item::Pair("recipient".into(), s("age1x")),
                    Item::Pair("enc".into(), s("a\nb\n")),
                ])]),
            ),
            Item::Pair("lastmodified".into(), s("2026-01-01T00:00:00Z")),
        ];
        let flat = flatten_prefixed(&meta, "sops_", false).unwrap();
        let keys: Vec<_> = flat
            .iter()
            .map(|i| match i {
                Item::Pair(k, _) => k.as_str(),
                _ => "",
            })
            .collect();
        assert_eq!(
            keys,
            [
                "sops_age__list_0__map_enc",
                "sops_age__list_0__map_recipient",
                "sops_lastmodified",
                "sops_version"
            ]
        );
        let mut branch = vec![Item::Pair("x".into(), s("y"))];
        branch.extend(flat);
        let back = split_prefixed(&mut branch, "sops_").unwrap().unwrap();
        assert_eq!(branch.len(), 1);
        assert_eq!(
            crate::tree::get(&back, "version"),
            Some(&s("3.13.2")),
            "{back:?}"
        );
        let Some(Value::Seq(ages)) = crate::tree::get(&back, "age") else {
            panic!("no age list");
        };
        let Value::Map(entry) = &ages[0] else {
            panic!("not a map")
        };
        assert_eq!(crate::tree::get(entry, "enc"), Some(&s("a\nb\n")));

        let flat = flatten_prefixed(&meta, "", true).unwrap();
        assert_eq!(
            flat[0],
            Item::Pair("age__list_0__map_enc".into(), s("a\\nb\\n"))
        );
        let mut ini = vec![Item::Pair("sops".into(), Value::Map(flat))];
        let back = split_section(&mut ini, "sops").unwrap().unwrap();
        assert!(ini.is_empty());
        let Some(Value::Seq(ages)) = crate::tree::get(&back, "age") else {
            panic!("no age list");
        };
        let Value::Map(entry) = &ages[0] else {
            panic!("not a map")
        };
        assert_eq!(crate::tree::get(entry, "enc"), Some(&s("a\nb\n")));
    }

    #[test]
    fn errors() {
        let mk = |pairs: &[(&str, &str)]| -> Branch {
            pairs
                .iter()
                .map(|(k, v)| Item::Pair(k.to_string(), s(v)))
                .collect()
        };
        for bad in [
            mk(&[("sops_a", "1"), ("sops_a", "2")]),
            mk(&[("sops_a", "1"), ("sops_a__map_b", "2")]),
            mk(&[("sops_a__list_1", "1")]),
            mk(&[("sops_a__list_99999999999999999999999", "1")]),
        ] {
            let mut b = bad;
            assert!(split_prefixed(&mut b, "sops_").is_err());
        }
        let mut none = mk(&[("a", "1")]);
        assert!(split_prefixed(&mut none, "sops_").unwrap().is_none());
        let mut deep = mk(&[(&format!("sops_a{}", "__map_b".repeat(1000)), "1")]);
        assert!(split_prefixed(&mut deep, "sops_").is_err());
    }

    #[test]
    fn atoi() {
        assert_eq!(go_atoi("12"), 12);
        assert_eq!(go_atoi("x"), 0);
        assert_eq!(go_atoi(""), 0);
        assert_eq!(go_atoi("-3"), -3);
        assert_eq!(go_atoi("99999999999999999999"), i64::MAX);
    }
}
