//! Identities that open sops files (filled in below).

/// The identities loaded for a run.
#[derive(Default)]
pub struct Identities {}
