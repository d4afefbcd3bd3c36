//! YAML store: yaml.v3 semantics on input, yaml.v3's style (as sops configures it) on output.

use crate::tree::{Branch, Value};
use crate::{Error, Result};

/// Parse a YAML stream into one branch per document.
pub fn parse(_bytes: &[u8]) -> Result<Vec<Branch>> {
    Err(Error::syntax("yaml", "not implemented yet"))
}

/// Emit documents as sops does (4-space indent, `---\n` between documents).
pub fn emit(_docs: &[Branch]) -> Result<Vec<u8>> {
    Err(Error::Emit("yaml output not implemented yet".into()))
}

/// Emit a single non-mapping value (a sequence or scalar) as a YAML document.
pub fn emit_value(_value: &Value) -> Result<Vec<u8>> {
    Err(Error::Emit("yaml output not implemented yet".into()))
}
