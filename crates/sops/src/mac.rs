//! The sops MAC: SHA-512 over the plaintext bytes of the leaves, in document order.

use sha2::{Digest, Sha512};

/// SHA-256("sops"): absorbed first when `mac_only_encrypted` is set.
pub const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// Accumulates leaf plaintexts into the MAC.
pub struct MacHasher {
    h: Sha512,
    only_encrypted: bool,
}

impl MacHasher {
    pub fn new(only_encrypted: bool) -> Self {
        let mut h = Sha512::new();
        if only_encrypted {
            h.update(MAC_ONLY_ENCRYPTED_INIT);
        }
        MacHasher { h, only_encrypted }
    }

    /// Absorb a leaf's bytes (`encrypted`: whether the leaf is encrypted in the file).
    pub fn leaf(&mut self, bytes: &[u8], encrypted: bool) {
        if !self.only_encrypted || encrypted {
            self.h.update(bytes);
        }
    }

    /// Upper-case hex of the digest, as sops writes it.
    pub fn finish(self) -> String {
        self.h
            .finalize()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_constant_is_sha256_of_sops() {
        let d = sha2::Sha256::digest(b"sops");
        assert_eq!(d.as_slice(), &MAC_ONLY_ENCRYPTED_INIT);
    }

    #[test]
    fn empty_mac_is_sha512_of_nothing() {
        assert!(MacHasher::new(false)
            .finish()
            .starts_with("CF83E1357EEFB8BD"));
    }
}
