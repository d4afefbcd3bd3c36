//! The SOPS encrypted-file format, natively: the five stores (YAML, JSON, dotenv, INI, binary),
//! the AES-256-GCM value cipher, the MAC, the metadata of every sops version from 3.3 to 3.13,
//! key groups with Shamir secret sharing, and age identities (X25519, ssh-ed25519, ssh-rsa,
//! ssh-to-age converted host keys, passphrase-protected identity files, plugins).
//!
//! This crate knows nothing of keyward: it reads and writes sops files.

pub mod bytes;
pub mod cipher;
pub mod decrypt;
pub mod error;
pub mod keys;
pub mod mac;
pub mod metadata;
pub mod num;
pub mod path;
pub mod shamir;
pub mod stores;
pub mod tree;

pub use decrypt::{decrypt_file, DataKey, DecryptOptions, EncryptedFile};
pub use error::{Error, Result};
pub use keys::Identities;
pub use path::PathElem;
pub use stores::Format;
pub use tree::{Branch, Comment, Item, SecretBytes, Value};
