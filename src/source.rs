//! How the pipeline reads sops files: the native `sops` crate in production, a test double in
//! tests (the plan check and the install engine take a `&dyn SopsSource`).

use sops::{Branch, DecryptOptions, EncryptedFile, Format, Identities};

/// A parsed, still encrypted file: what `keyward check --sops-files` needs.
pub struct Parsed {
    /// The documents with their leaves still encrypted.
    pub branches: Vec<Branch>,
    /// The file's `sops.lastmodified`.
    pub lastmodified: String,
}

/// A decrypted file: plaintext documents (zeroized on drop) and metadata for the metrics.
pub struct Decrypted {
    pub branches: Vec<Branch>,
    pub lastmodified: String,
}

pub trait SopsSource: Sync {
    /// Parse without decrypting (no identity needed).
    fn parse(&self, format: Format, bytes: &[u8]) -> sops::Result<Parsed>;
    /// Parse, unwrap the data key with `ids`, decrypt and verify the MAC.
    fn decrypt(&self, format: Format, bytes: &[u8], ids: &Identities) -> sops::Result<Decrypted>;
}

/// The real thing: the `sops` crate.
pub struct Native;

impl SopsSource for Native {
    fn parse(&self, format: Format, bytes: &[u8]) -> sops::Result<Parsed> {
        let f = EncryptedFile::parse(format, bytes)?;
        Ok(Parsed {
            branches: f.branches,
            lastmodified: f.metadata.lastmodified,
        })
    }

    fn decrypt(&self, format: Format, bytes: &[u8], ids: &Identities) -> sops::Result<Decrypted> {
        let f = EncryptedFile::parse(format, bytes)?;
        let key = f.data_key(ids)?;
        let branches = f.decrypt(&key, &DecryptOptions::default())?;
        Ok(Decrypted {
            branches,
            lastmodified: f.metadata.lastmodified,
        })
    }
}
