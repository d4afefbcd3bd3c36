//! Errors of the SOPS library. Messages never contain a plaintext value.

/// Everything that can go wrong reading, decrypting or writing a sops file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not valid in the store's syntax (YAML, JSON, dotenv, INI).
    #[error("cannot parse as {format}: {msg}")]
    Syntax { format: &'static str, msg: String },

    /// The document parsed, but it is not a sops file (no `sops` metadata).
    #[error("not a sops file: {0}")]
    NotSops(String),

    /// The `sops` metadata is present but malformed.
    #[error("invalid sops metadata: {0}")]
    Metadata(String),

    /// No loaded identity unwraps any master key of the file.
    #[error("no identity matches this file (recipients: {}; tried: {})", list_or_none(.recipients), list_or_none(.tried))]
    NoIdentity {
        recipients: Vec<String>,
        tried: Vec<String>,
    },

    /// Not enough key groups could be opened to combine the Shamir shares.
    #[error("only {got} of the {needed} key groups needed could be opened (recipients: {}; tried: {})", list_or_none(.recipients), list_or_none(.tried))]
    NotEnoughGroups {
        got: usize,
        needed: usize,
        recipients: Vec<String>,
        tried: Vec<String>,
    },

    /// The file has master keys only of types keyward does not support (PGP, cloud KMS…).
    #[error("keyward is age-only, and this file has no age recipient; its master keys are: {0}")]
    UnsupportedMasterKeys(String),

    /// An identity (key file, ssh key, plugin, key command) could not be loaded or used.
    #[error("{0}")]
    Identity(String),

    /// The MAC does not match the content, or the file has none.
    #[error("{0}")]
    Mac(String),

    /// A value does not authenticate (AES-GCM tag mismatch): the file was altered.
    #[error("{path}: {reason}")]
    Value { path: String, reason: String },

    /// A value is not a well-formed `ENC[…]` string, or is plaintext where sops would have
    /// encrypted it: the file is damaged.
    #[error("{path}: {reason}")]
    Malformed { path: String, reason: String },

    /// `--extract` or a plan key names something that is not in the file.
    #[error("{0}")]
    KeyNotFound(String),

    /// The tree cannot be written in the requested form.
    #[error("{0}")]
    Emit(String),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

impl Error {
    pub fn syntax(format: &'static str, msg: impl Into<String>) -> Self {
        Error::Syntax {
            format,
            msg: msg.into(),
        }
    }
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
