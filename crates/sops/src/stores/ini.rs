//! INI store: gopkg.in/ini.v1 semantics on input and its pretty format on output.

use crate::tree::Branch;
use crate::{Error, Result};

/// Parse into one branch whose items are sections (`DEFAULT` first), each a mapping.
pub fn parse(_bytes: &[u8]) -> Result<Branch> {
    Err(Error::syntax("ini", "not implemented yet"))
}

pub fn emit(_branch: &Branch) -> Result<Vec<u8>> {
    Err(Error::Emit("ini output not implemented yet".into()))
}
