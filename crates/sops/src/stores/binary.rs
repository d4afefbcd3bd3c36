//! Binary store: the plaintext is the raw file, held as one `data` string; encrypted, it is a
//! JSON envelope `{"data": "ENC[…]", "sops": {…}}`.

use crate::tree::{Branch, Item, Value};
use crate::{Error, Result};

/// The tree of a plaintext binary file.
pub fn from_bytes(bytes: &[u8]) -> Vec<Branch> {
    vec![vec![Item::Pair("data".into(), Value::str(bytes.to_vec()))]]
}

/// Check that an encrypted envelope has a `data` string.
pub fn check_envelope(branches: &[Branch]) -> Result<()> {
    match branches.first().and_then(|b| crate::tree::get(b, "data")) {
        Some(Value::Str(_)) => Ok(()),
        _ => Err(Error::NotSops(
            "a binary sops file must have a string `data` key".into(),
        )),
    }
}

/// The decrypted bytes of a binary file.
pub fn emit_plain(branches: &[Branch]) -> Result<Vec<u8>> {
    match branches.first().and_then(|b| crate::tree::get(b, "data")) {
        Some(Value::Str(s)) => Ok(s.as_bytes().to_vec()),
        _ => Err(Error::Emit(
            "binary output needs a tree with a single string `data` key".into(),
        )),
    }
}
