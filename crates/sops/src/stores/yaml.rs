//! YAML store: yaml.v3 semantics on input, yaml.v3's style (as sops configures it) on output.
//!
//! - [`parse`] reads a YAML stream into one [`Branch`] per document, typing scalars with
//!   yaml.v3's rules (§1.3 of the format notes), expanding aliases, and placing comments where
//!   sops 3.13 places yaml.v3's head, line and foot comments.
//! - [`emit`] and [`emit_value`] write what `sops decrypt` prints: go-yaml v3's encoder with an
//!   indentation of 4, reproduced through a port of its emitter.

mod emit;
mod parse;
mod resolve;

use crate::tree::{Branch, Value};
use crate::Result;

/// Parse a YAML stream into one branch per document.
///
/// Errors are [`crate::Error::Syntax`] with a line number; they never contain scalar text.
pub fn parse(bytes: &[u8]) -> Result<Vec<Branch>> {
    parse::parse_stream(bytes)
}

/// Emit documents as sops does (4-space indent, `---\n` between documents).
pub fn emit(docs: &[Branch]) -> Result<Vec<u8>> {
    emit::emit_docs(docs)
}

/// Emit a single value (a sequence or scalar; a mapping works too) as a YAML document, as
/// sops' `EmitValue` does (`yaml.Marshal` of the node).
pub fn emit_value(value: &Value) -> Result<Vec<u8>> {
    let mut out = emit::emit_single(value)?;
    // `yaml.Marshal` of a scalar (what `sops decrypt --extract` prints for a non-string leaf)
    // ends the document without the `...` marker the streaming encoder adds.
    if !value.is_container() && out.ends_with(b"\n...\n") {
        out.truncate(out.len() - 4);
    }
    Ok(out)
}
