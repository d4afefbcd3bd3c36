//! The `sops` metadata block: master keys and key groups, MAC, last-modified time, the
//! encryption-selection rule. Read leniently (every layout from 3.3 to 3.13, flattened or not,
//! field names case-insensitive, strings weakly converted), as sops 3.13 does.

use regex::Regex;

use crate::tree::{Branch, Item, Value};
use crate::{Error, Result};

/// Which leaves are encrypted. Exactly one rule applies; `_unencrypted` suffix by default.
#[derive(Debug, Clone)]
pub enum SelectionRule {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(Regex),
    EncryptedRegex(Regex),
    UnencryptedCommentRegex(Regex),
    EncryptedCommentRegex(Regex),
}

/// An age master key: a recipient and the armored age file wrapping the data key (or share).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeKey {
    pub recipient: String,
    pub enc: String,
}

/// One key group: every key in it wraps the same data key (or Shamir share).
#[derive(Debug, Clone, Default)]
pub struct KeyGroup {
    pub age: Vec<AgeKey>,
    /// Master keys keyward cannot use, described for messages (`pgp 7FB8…`, `kms arn:…`).
    pub unsupported: Vec<String>,
}

/// The parsed metadata.
#[derive(Debug, Clone)]
pub struct Metadata {
    pub lastmodified: String,
    pub mac: Option<String>,
    pub version: Option<String>,
    pub rule: SelectionRule,
    pub mac_only_encrypted: bool,
    pub shamir_threshold: usize,
    pub groups: Vec<KeyGroup>,
}

const LISTS: [&str; 7] = [
    "age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms",
];

fn field<'a>(m: &'a [Item], name: &str) -> Option<&'a Value> {
    m.iter().find_map(|i| match i {
        Item::Pair(k, v) if k.eq_ignore_ascii_case(name) => Some(v),
        _ => None,
    })
}

fn as_string(v: &Value, name: &str) -> Result<Option<String>> {
    Ok(match v {
        Value::Null => None,
        Value::Str(s) => Some(
            s.as_str()
                .ok_or_else(|| Error::Metadata(format!("`{name}` is not UTF-8")))?
                .to_string(),
        ),
        Value::Time(t) => Some(t.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(crate::num::format_float_f(*f)),
        Value::Bool(b) => Some(b.to_string()),
        other => {
            return Err(Error::Metadata(format!(
                "`{name}` must be a string, not a {}",
                other.kind()
            )))
        }
    })
}

fn string_field(m: &[Item], name: &str) -> Result<Option<String>> {
    match field(m, name) {
        None => Ok(None),
        Some(v) => Ok(as_string(v, name)?.filter(|s| !s.is_empty())),
    }
}

fn bool_field(m: &[Item], name: &str) -> Result<bool> {
    Ok(match field(m, name) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => match as_string(v, name)?.as_deref() {
            Some("1" | "t" | "T" | "true" | "TRUE" | "True") => true,
            Some("0" | "f" | "F" | "false" | "FALSE" | "False") | None => false,
            Some(s) => return Err(Error::Metadata(format!("`{name}` is not a bool: {s:?}"))),
        },
    })
}

fn int_field(m: &[Item], name: &str) -> Result<usize> {
    let bad = |s: &str| Error::Metadata(format!("`{name}` is not a non-negative integer: {s:?}"));
    Ok(match field(m, name) {
        None | Some(Value::Null) => 0,
        Some(Value::Int(i)) => usize::try_from(*i).map_err(|_| bad(&i.to_string()))?,
        Some(v) => {
            let s = as_string(v, name)?.unwrap_or_default();
            if s.is_empty() {
                0
            } else if let Ok(n) = s.parse::<usize>() {
                n
            } else {
                // Writers before 3.11 could emit `2.000000` in flat formats.
                let f: f64 = s.parse().map_err(|_| bad(&s))?;
                if f.fract() != 0.0 || !(0.0..=255.0).contains(&f) {
                    return Err(bad(&s));
                }
                f as usize
            }
        }
    })
}

fn list<'a>(m: &'a [Item], name: &str) -> Result<Vec<&'a [Item]>> {
    match field(m, name) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Seq(items)) => items
            .iter()
            .filter(|v| !matches!(v, Value::Comment(_)))
            .map(|v| match v {
                Value::Map(e) => Ok(e.as_slice()),
                other => Err(Error::Metadata(format!(
                    "an entry of `{name}` is a {}, not a mapping",
                    other.kind()
                ))),
            })
            .collect(),
        Some(Value::Str(s)) if s.is_empty() => Ok(vec![]),
        Some(other) => Err(Error::Metadata(format!(
            "`{name}` must be a list, not a {}",
            other.kind()
        ))),
    }
}

fn describe_unsupported(kind: &str, entry: &[Item]) -> String {
    let id_field = match kind {
        "pgp" => "fp",
        "kms" => "arn",
        "gcp_kms" => "resource_id",
        "azure_kv" => "vault_url",
        "hc_vault" => "vault_address",
        "hckms" => "key_id",
        _ => "",
    };
    match string_field(entry, id_field).ok().flatten() {
        Some(id) => format!("{kind} {id}"),
        None => kind.to_string(),
    }
}

fn group(m: &[Item]) -> Result<KeyGroup> {
    let mut g = KeyGroup::default();
    for kind in LISTS {
        for entry in list(m, kind)? {
            if kind == "age" {
                let recipient = string_field(entry, "recipient")?.unwrap_or_default();
                let enc = string_field(entry, "enc")?.ok_or_else(|| {
                    Error::Metadata(format!("the age key {recipient} has no `enc`"))
                })?;
                g.age.push(AgeKey { recipient, enc });
            } else {
                g.unsupported.push(describe_unsupported(kind, entry));
            }
        }
    }
    Ok(g)
}

fn regex_field(m: &[Item], name: &str) -> Result<Option<Regex>> {
    string_field(m, name)?
        .map(|r| {
            Regex::new(&r)
                .map_err(|e| Error::Metadata(format!("`{name}` is not a valid regex: {e}")))
        })
        .transpose()
}

/// `x.y.z` with an optional `-pre`/`+build` suffix, as sops' version check requires.
fn is_semver(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

impl Metadata {
    /// Read the metadata tree of a file.
    pub fn from_tree(m: &Branch) -> Result<Metadata> {
        let lastmodified = string_field(m, "lastmodified")?
            .ok_or_else(|| Error::Metadata("`lastmodified` is missing".into()))?;
        let mac = string_field(m, "mac")?;
        // sops itself refuses a file without a version; it is also what a cut after the MAC
        // loses, so requiring it catches that truncation.
        let version = string_field(m, "version")?.ok_or_else(|| {
            Error::Metadata("`version` is missing (the file may be truncated)".into())
        })?;
        if !is_semver(&version) {
            return Err(Error::Metadata(format!(
                "`version` is not a sops version (x.y.z): {version:?} (the file may be truncated)"
            )));
        }
        let version = Some(version);
        let mac_only_encrypted = bool_field(m, "mac_only_encrypted")?;
        let shamir_threshold = int_field(m, "shamir_threshold")?;

        let mut rules = Vec::new();
        if let Some(s) = string_field(m, "unencrypted_suffix")? {
            rules.push(SelectionRule::UnencryptedSuffix(s));
        }
        if let Some(s) = string_field(m, "encrypted_suffix")? {
            rules.push(SelectionRule::EncryptedSuffix(s));
        }
        if let Some(r) = regex_field(m, "unencrypted_regex")? {
            rules.push(SelectionRule::UnencryptedRegex(r));
        }
        if let Some(r) = regex_field(m, "encrypted_regex")? {
            rules.push(SelectionRule::EncryptedRegex(r));
        }
        if let Some(r) = regex_field(m, "unencrypted_comment_regex")? {
            rules.push(SelectionRule::UnencryptedCommentRegex(r));
        }
        if let Some(r) = regex_field(m, "encrypted_comment_regex")? {
            rules.push(SelectionRule::EncryptedCommentRegex(r));
        }
        if rules.len() > 1 {
            return Err(Error::Metadata(
                "more than one of unencrypted_suffix, encrypted_suffix, unencrypted_regex, encrypted_regex, unencrypted_comment_regex, encrypted_comment_regex is set".into(),
            ));
        }
        let rule = rules
            .pop()
            .unwrap_or_else(|| SelectionRule::UnencryptedSuffix("_unencrypted".into()));

        // Top-level key lists, if any is non-empty, form the one group; else key_groups.
        let top = group(m)?;
        let groups = if !top.age.is_empty() || !top.unsupported.is_empty() {
            vec![top]
        } else {
            list(m, "key_groups")?
                .into_iter()
                .map(group)
                .collect::<Result<Vec<_>>>()?
        };
        if groups
            .iter()
            .all(|g| g.age.is_empty() && g.unsupported.is_empty())
        {
            return Err(Error::Metadata("no master keys found in the file".into()));
        }
        Ok(Metadata {
            lastmodified,
            mac,
            version,
            rule,
            mac_only_encrypted,
            shamir_threshold,
            groups,
        })
    }

    /// Every age recipient of the file, in file order.
    pub fn age_recipients(&self) -> Vec<String> {
        self.groups
            .iter()
            .flat_map(|g| g.age.iter().map(|k| k.recipient.clone()))
            .collect()
    }

    /// Every master key keyward cannot use.
    pub fn unsupported_keys(&self) -> Vec<String> {
        self.groups
            .iter()
            .flat_map(|g| g.unsupported.iter().cloned())
            .collect()
    }
}
