//! Select: pick each secret's bytes out of its decrypted file; render templates.

use std::collections::BTreeMap;

use sops::{Format, SecretBytes, Value};

use crate::plan::{Secret, Template};
use crate::source::Decrypted;

/// The bytes of `secret` from its decrypted file. `manifest`: a sops-nix manifest, where
/// dotenv/ini/binary secrets are always the whole file (their `key` is ignored there).
pub fn select(secret: &Secret, file: &Decrypted, manifest: bool) -> Result<SecretBytes, String> {
    let format = Format::from_name(secret.format_name()).unwrap_or(Format::Yaml);
    let key = secret.key();
    let whole = key.is_empty()
        || format == Format::Binary
        || (manifest && matches!(format, Format::Dotenv | Format::Ini));
    if whole {
        return sops::stores::emit_plain(format, &file.branches)
            .map(SecretBytes::new)
            .map_err(|e| format!("{}: {e}", secret.sops_file));
    }
    let path = sops::path::parse_key(key).map_err(|e| e.to_string())?;
    let doc = file.branches.first().map(|b| b.as_slice()).unwrap_or(&[]);
    let v = sops::path::lookup(doc, &path).map_err(|e| format!("{}: {e}", secret.sops_file))?;
    match v {
        Value::Str(s) => Ok(s.clone()),
        Value::Map(_) | Value::Seq(_) | Value::Comment(_) => Err(format!(
            "{}: key {} is a {}, not a value (use key \"\" for the whole file)",
            secret.sops_file,
            sops::path::display(&path),
            v.kind()
        )),
        other => leaf_text(format, other).map_err(|e| format!("{}: {e}", secret.sops_file)),
    }
}

/// A non-string leaf as `sops decrypt --extract` prints it (`true`, `42`, `1e+21`, `.inf`,
/// `2024-01-01T00:00:00Z`), without the newline that ends its YAML document: a secret file holds
/// the value alone.
fn leaf_text(format: Format, v: &Value) -> Result<SecretBytes, sops::Error> {
    let store = if format == Format::Json {
        Format::Json
    } else {
        Format::Yaml
    };
    let mut out = sops::stores::emit_value(store, v)?;
    if out.last() == Some(&b'\n') {
        out.pop();
    }
    Ok(SecretBytes::new(out))
}

/// Render a template: its content (or file) with every placeholder replaced by its secret's
/// bytes. A placeholder of a secret that failed makes the template fail.
pub fn render(
    t: &Template,
    placeholders: &BTreeMap<String, String>,
    values: &BTreeMap<String, SecretBytes>,
    failed: &[String],
) -> Result<SecretBytes, String> {
    let text: Vec<u8> = if !t.content.is_empty() {
        t.content.as_bytes().to_vec()
    } else {
        let f = t.file.as_deref().unwrap_or("");
        std::fs::read(f).map_err(|e| format!("cannot read the template file {f}: {e}"))?
    };
    let mut out = text;
    for (name, ph) in placeholders {
        if ph.is_empty() || sops::bytes::find(&out, ph.as_bytes()).is_none() {
            continue;
        }
        match values.get(name) {
            Some(v) => out = sops::bytes::replace_all(&out, ph.as_bytes(), v.as_bytes()),
            None if failed.contains(name) => {
                return Err(format!("it uses secret {name:?}, which failed"))
            }
            None => {} // a secret of another plan (neededForUsers): stays literal, as in sops-nix
        }
    }
    Ok(SecretBytes::new(out))
}
