//! sops' metadata flattening for dotenv and INI (`stores/flatten.go`): a map child is
//! `parent__map_key`, a list element `parent__list_N`.

use crate::tree::{Branch, Item};
use crate::{Error, Result};

/// Remove every top-level `prefix*` pair from `branch` and unflatten them into a tree.
/// `Ok(None)` when there is none.
pub fn split_prefixed(_branch: &mut Branch, _prefix: &str) -> Result<Option<Branch>> {
    Err(Error::Metadata(
        "flattened metadata not implemented yet".into(),
    ))
}

/// Remove the section `name` from an INI tree and unflatten its keys.
pub fn split_section(_branch: &mut Branch, _name: &str) -> Result<Option<Branch>> {
    Err(Error::Metadata(
        "flattened metadata not implemented yet".into(),
    ))
}

/// Flatten a metadata tree into `prefix`ed string pairs, sorted as sops 3.13 writes them.
/// With `escape_newlines`, newlines in values are written as backslash-n (INI).
pub fn flatten_prefixed(
    _meta: &Branch,
    _prefix: &str,
    _escape_newlines: bool,
) -> Result<Vec<Item>> {
    Err(Error::Metadata(
        "flattened metadata not implemented yet".into(),
    ))
}
