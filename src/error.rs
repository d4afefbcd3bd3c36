//! The CLI's error: a message with context and an exit code.

use crate::cli::exit;

/// An error as the CLI reports it: `keyward: <message>`, exit status `code`.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub code: u8,
}

impl CliError {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code,
        }
    }

    /// A sops library error about `file`, with the exit code of its kind.
    pub fn sops(file: &str, e: sops::Error) -> Self {
        CliError::new(sops_exit_code(&e), format!("{file}: {e}"))
    }

    pub fn exit_code(&self) -> u8 {
        self.code
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// The exit code for a library error.
pub fn sops_exit_code(e: &sops::Error) -> u8 {
    use sops::Error as E;
    match e {
        E::NotSops(_) => exit::NOT_SOPS,
        E::Syntax { .. } | E::Metadata(_) | E::Malformed { .. } => exit::DAMAGED,
        E::NoIdentity { .. } | E::NotEnoughGroups { .. } | E::Identity(_) => exit::NO_IDENTITY,
        E::Mac(_) | E::Value { .. } => exit::INTEGRITY,
        E::UnsupportedMasterKeys(_) => exit::UNSUPPORTED_KEY,
        E::Io { .. } => exit::IO,
        E::KeyNotFound(_) => exit::KEY_NOT_FOUND,
        E::Emit(_) => exit::INTERNAL,
    }
}
