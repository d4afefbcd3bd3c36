//! dotenv store: `KEY=value` lines, `#` comments, `\n` escapes; no quoting, no trimming.

use crate::tree::Branch;
use crate::{Error, Result};

pub fn parse(_bytes: &[u8]) -> Result<Branch> {
    Err(Error::syntax("dotenv", "not implemented yet"))
}

pub fn emit(_branch: &Branch) -> Result<Vec<u8>> {
    Err(Error::Emit("dotenv output not implemented yet".into()))
}
