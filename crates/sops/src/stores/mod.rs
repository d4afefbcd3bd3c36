//! The five sops stores. Each store turns bytes into [`Branch`]es and back; this module splits
//! the `sops` metadata off (and flattens or unflattens it for dotenv and INI).
//!
//! Contract of every store module:
//! - `parse(bytes) -> Result<Vec<Branch>>`: the whole document as sops' tree, **including** the
//!   metadata as ordinary items (a `sops` key in YAML/JSON, `sops_*` keys in dotenv, a `[sops]`
//!   section in INI). Values are typed as sops types them (§1.3 of the format notes).
//! - `emit(branches) -> Result<Vec<u8>>`: the tree written exactly as sops 3.13 writes it.

pub mod binary;
pub mod dotenv;
pub mod flatten;
pub mod ini;
pub mod json;
pub mod yaml;

use crate::tree::{Branch, Item, Value};
use crate::{Error, Result};

/// A sops file format ("store").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Yaml,
    Json,
    Dotenv,
    Ini,
    Binary,
}

impl Format {
    /// The format sops infers from a file name: `.yaml`/`.yml`, `.json`, `.env`, `.ini`,
    /// anything else is binary. Case-sensitive, like sops.
    pub fn from_path(path: &str) -> Format {
        if path.ends_with(".yaml") || path.ends_with(".yml") {
            Format::Yaml
        } else if path.ends_with(".json") {
            Format::Json
        } else if path.ends_with(".env") {
            Format::Dotenv
        } else if path.ends_with(".ini") {
            Format::Ini
        } else {
            Format::Binary
        }
    }

    /// Parse a `--input-type`/`--output-type` or plan `format` name.
    pub fn from_name(name: &str) -> Option<Format> {
        Some(match name {
            "yaml" | "yml" => Format::Yaml,
            "json" => Format::Json,
            "dotenv" | "env" => Format::Dotenv,
            "ini" => Format::Ini,
            "binary" => Format::Binary,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Dotenv => "dotenv",
            Format::Ini => "ini",
            Format::Binary => "binary",
        }
    }

    pub const ALL: [Format; 5] = [
        Format::Yaml,
        Format::Json,
        Format::Dotenv,
        Format::Ini,
        Format::Binary,
    ];
}

/// A sops file as read from disk: its data and its metadata tree, still encrypted.
#[derive(Debug, Clone)]
pub struct RawFile {
    pub branches: Vec<Branch>,
    /// The `sops` metadata as a nested tree (unflattened for dotenv and INI), from the first
    /// document.
    pub metadata: Branch,
}

/// Parse an encrypted file and split the metadata off.
///
/// A file that holds encrypted values but no metadata is reported as damaged (truncated, or
/// its metadata removed), not as "not a sops file".
pub fn load_encrypted(format: Format, bytes: &[u8]) -> Result<RawFile> {
    load_encrypted_inner(format, bytes).map_err(|e| match e {
        Error::NotSops(_) if crate::bytes::find(bytes, b"ENC[AES256_GCM,").is_some() => Error::Metadata(
            "the file has encrypted values but no complete sops metadata: it is truncated, or its `sops` section was removed".into(),
        ),
        e => e,
    })
}

fn load_encrypted_inner(format: Format, bytes: &[u8]) -> Result<RawFile> {
    let mut branches = parse_plain(format, bytes)?;
    let metadata = match format {
        Format::Yaml | Format::Json | Format::Binary => {
            let mut meta = None;
            for branch in branches.iter_mut() {
                let mut found = None;
                branch.retain(|item| match item {
                    Item::Pair(k, v) if k == "sops" => {
                        if found.is_none() {
                            found = Some(v.clone());
                        }
                        false
                    }
                    _ => true,
                });
                if meta.is_none() {
                    meta = found;
                }
                // Metadata is read from the first document only.
                if meta.is_none() {
                    break;
                }
            }
            match meta {
                Some(Value::Map(m)) => m,
                Some(other) => {
                    return Err(Error::NotSops(format!(
                        "the `sops` key holds a {}, not the metadata mapping",
                        other.kind()
                    )))
                }
                None => {
                    return Err(Error::NotSops(
                        "it has no `sops` metadata (was it encrypted with sops?)".into(),
                    ))
                }
            }
        }
        Format::Dotenv => {
            let branch = branches.first_mut().ok_or_else(no_meta)?;
            flatten::split_prefixed(branch, "sops_")?.ok_or_else(no_meta)?
        }
        Format::Ini => {
            let branch = branches.first_mut().ok_or_else(no_meta)?;
            flatten::split_section(branch, "sops")?.ok_or_else(no_meta)?
        }
    };
    if format == Format::Binary {
        binary::check_envelope(&branches)?;
    }
    Ok(RawFile { branches, metadata })
}

fn no_meta() -> Error {
    Error::NotSops("it has no sops metadata (was it encrypted with sops?)".into())
}

/// Parse a plaintext (or encrypted, metadata included) document in `format`.
pub fn parse_plain(format: Format, bytes: &[u8]) -> Result<Vec<Branch>> {
    match format {
        Format::Yaml => yaml::parse(bytes),
        Format::Json => json::parse(bytes),
        Format::Dotenv => dotenv::parse(bytes).map(|b| vec![b]),
        Format::Ini => ini::parse(bytes).map(|b| vec![b]),
        Format::Binary => json::parse(bytes),
    }
}

/// Write decrypted branches as `sops decrypt` does (binary: the raw `data` bytes).
pub fn emit_plain(format: Format, branches: &[Branch]) -> Result<Vec<u8>> {
    match format {
        Format::Yaml => yaml::emit(branches),
        Format::Json => json::emit(first(branches)?),
        Format::Dotenv => dotenv::emit(first(branches)?),
        Format::Ini => ini::emit(first(branches)?),
        Format::Binary => binary::emit_plain(branches),
    }
}

/// Write encrypted branches with their metadata, as sops 3.13 lays a file out.
pub fn emit_encrypted(format: Format, branches: &[Branch], metadata: &Branch) -> Result<Vec<u8>> {
    match format {
        Format::Yaml => {
            let docs: Vec<Branch> = branches
                .iter()
                .map(|b| {
                    let mut b = b.clone();
                    b.push(Item::Pair("sops".into(), Value::Map(metadata.clone())));
                    b
                })
                .collect();
            yaml::emit(&docs)
        }
        Format::Json | Format::Binary => {
            let mut b = first(branches)?.clone();
            b.push(Item::Pair("sops".into(), Value::Map(metadata.clone())));
            json::emit(&b)
        }
        Format::Dotenv => {
            let mut b = first(branches)?.clone();
            b.extend(flatten::flatten_prefixed(metadata, "sops_", false)?);
            dotenv::emit(&b)
        }
        Format::Ini => {
            let mut b = first(branches)?.clone();
            b.push(Item::Pair(
                "sops".into(),
                Value::Map(flatten::flatten_prefixed(metadata, "", true)?),
            ));
            ini::emit(&b)
        }
    }
}

/// Write one value (a subtree picked by `--extract`) in `format`.
pub fn emit_value(format: Format, value: &Value) -> Result<Vec<u8>> {
    match value {
        Value::Map(m) => emit_plain(format, std::slice::from_ref(m)),
        other => match format {
            Format::Yaml => yaml::emit_value(other),
            Format::Json => json::emit_value(other),
            _ => Err(Error::Emit(format!(
                "a {} cannot be written as {}",
                other.kind(),
                format.name()
            ))),
        },
    }
}

fn first(branches: &[Branch]) -> Result<&Branch> {
    branches
        .first()
        .ok_or_else(|| Error::Emit("the document is empty".into()))
}
