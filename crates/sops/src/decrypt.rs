//! The decrypt algorithm: unwrap the data key once (key groups and Shamir included), walk the
//! tree decrypting every leaf that the selection rule says is encrypted, verify the MAC.

use zeroize::Zeroizing;

use crate::cipher::{self, CipherError};
use crate::mac::MacHasher;
use crate::metadata::{Metadata, SelectionRule};
use crate::stores::{self, Format, RawFile};
use crate::tree::{Branch, Comment, Item, SecretBytes, Value};
use crate::{Error, Identities, Result};

/// A file's 32-byte data key, zeroized on drop.
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    pub fn from_bytes(b: &[u8]) -> Option<DataKey> {
        let arr: [u8; 32] = b.try_into().ok()?;
        Some(DataKey(Zeroizing::new(arr)))
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

/// Options of a decryption.
#[derive(Debug, Clone, Default)]
pub struct DecryptOptions {
    /// Do not fail on a missing or mismatching MAC (sops `--ignore-mac`).
    pub ignore_mac: bool,
}

/// A parsed, still encrypted sops file.
#[derive(Debug, Clone)]
pub struct EncryptedFile {
    pub format: Format,
    pub branches: Vec<Branch>,
    pub metadata: Metadata,
    /// The metadata tree as read (for re-emission).
    pub metadata_tree: Branch,
}

impl EncryptedFile {
    /// Parse the bytes of a sops file in `format`.
    pub fn parse(format: Format, bytes: &[u8]) -> Result<EncryptedFile> {
        let RawFile { branches, metadata } = stores::load_encrypted(format, bytes)?;
        let parsed = Metadata::from_tree(&metadata)?;
        Ok(EncryptedFile {
            format,
            branches,
            metadata: parsed,
            metadata_tree: metadata,
        })
    }

    /// Unwrap the data key with `ids`: one key per group, Shamir-combined across groups.
    pub fn data_key(&self, ids: &Identities) -> Result<DataKey> {
        let m = &self.metadata;
        let recipients = m.age_recipients();
        if recipients.is_empty() {
            return Err(Error::UnsupportedMasterKeys(
                m.unsupported_keys().join(", "),
            ));
        }
        let mut parts: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        for group in &m.groups {
            for key in &group.age {
                if let Some(part) = ids.unwrap(&key.enc)? {
                    parts.push(part);
                    break;
                }
            }
        }
        let no_identity = || Error::NoIdentity {
            recipients: recipients.clone(),
            tried: ids.tried(),
        };
        if m.groups.len() == 1 {
            let part = parts.pop().ok_or_else(no_identity)?;
            return DataKey::from_bytes(&part).ok_or_else(|| {
                Error::Metadata(format!(
                    "the unwrapped data key is {} bytes, not 32",
                    part.len()
                ))
            });
        }
        let needed = if m.shamir_threshold == 0 {
            m.groups.len()
        } else {
            m.shamir_threshold
        };
        if parts.is_empty() {
            return Err(no_identity());
        }
        if parts.len() < needed {
            return Err(Error::NotEnoughGroups {
                got: parts.len(),
                needed,
                recipients,
                tried: ids.tried(),
            });
        }
        let plain: Vec<Vec<u8>> = parts.iter().map(|p| p.to_vec()).collect();
        let secret =
            Zeroizing::new(crate::shamir::combine(&plain).map_err(|e| {
                Error::Metadata(format!("cannot combine the key-group shares: {e}"))
            })?);
        for mut p in plain {
            zeroize::Zeroize::zeroize(&mut p);
        }
        DataKey::from_bytes(&secret).ok_or_else(|| {
            Error::Metadata(format!(
                "the combined data key is {} bytes, not 32",
                secret.len()
            ))
        })
    }

    /// Decrypt every value with `key` and verify the MAC. Returns the plaintext documents.
    pub fn decrypt(&self, key: &DataKey, opts: &DecryptOptions) -> Result<Vec<Branch>> {
        let m = &self.metadata;
        let mut walker = Walker {
            key: key.as_bytes(),
            rule: &m.rule,
            mac: MacHasher::new(m.mac_only_encrypted),
            path: Vec::new(),
            stack: Vec::new(),
        };
        let mut out = Vec::with_capacity(self.branches.len());
        for branch in &self.branches {
            out.push(walker.branch(branch)?);
        }
        let computed = walker.mac.finish();
        match &m.mac {
            None if !opts.ignore_mac => {
                return Err(Error::Mac(
                    "the file has no MAC, so its integrity cannot be checked (use --ignore-mac to decrypt it anyway)".into(),
                ))
            }
            None => {}
            Some(stored) => {
                let aad = mac_aad(&m.lastmodified)?;
                let stored = match cipher::decrypt_raw(stored.as_bytes(), key.as_bytes(), aad.as_bytes()) {
                    Ok((pt, _)) => pt,
                    Err(_) if opts.ignore_mac => SecretBytes::default(),
                    Err(CipherError::Auth) => {
                        return Err(Error::Mac(
                            "the MAC does not authenticate: the file, its `lastmodified` or its MAC was altered".into(),
                        ))
                    }
                    Err(e) => {
                        return Err(Error::Metadata(format!(
                            "the MAC is damaged ({}): the file may be truncated",
                            short(&e)
                        )))
                    }
                };
                if stored.as_bytes() != computed.as_bytes() && !opts.ignore_mac {
                    return Err(Error::Mac(
                        "MAC mismatch: the file's values do not match its MAC (it was altered after encryption)".into(),
                    ));
                }
            }
        }
        Ok(out)
    }
}

fn short(e: &CipherError) -> &'static str {
    match e {
        CipherError::Format(_) => "malformed",
        CipherError::Auth => "authentication failed",
        CipherError::BadPlaintext(_) => "bad plaintext",
    }
}

/// Decrypt a whole file: parse, unwrap the data key, decrypt, verify.
pub fn decrypt_file(
    bytes: &[u8],
    format: Format,
    ids: &Identities,
    opts: &DecryptOptions,
) -> Result<Vec<Branch>> {
    let f = EncryptedFile::parse(format, bytes)?;
    let key = f.data_key(ids)?;
    f.decrypt(&key, opts)
}

/// The MAC's AAD: `lastmodified` re-formatted as Go's RFC 3339 (fraction dropped, `Z` for a
/// zero offset).
pub fn mac_aad(lastmodified: &str) -> Result<String> {
    let bad = || {
        Error::Metadata(format!(
            "`lastmodified` is not an RFC 3339 time: {lastmodified:?}"
        ))
    };
    let s = lastmodified.trim();
    if s.len() < 20 || !s.is_char_boundary(19) {
        return Err(bad());
    }
    let (base, rest) = s.split_at(19);
    let b = base.as_bytes();
    let digits_at = |idx: &[usize]| idx.iter().all(|&i| b[i].is_ascii_digit());
    if !digits_at(&[0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let rest = match rest.strip_prefix('.') {
        Some(r) => {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return Err(bad());
            }
            &r[n..]
        }
        None => rest,
    };
    let zone = match rest {
        "Z" | "z" => "Z".to_string(),
        z if z.len() == 6
            && (z.starts_with('+') || z.starts_with('-'))
            && z.as_bytes()[3] == b':' =>
        {
            if &z[1..] == "00:00" {
                "Z".to_string()
            } else {
                z.to_string()
            }
        }
        _ => return Err(bad()),
    };
    let mut base = base.to_string();
    base.replace_range(10..11, "T");
    Ok(format!("{base}{zone}"))
}

struct Walker<'a> {
    key: &'a [u8; 32],
    rule: &'a SelectionRule,
    mac: MacHasher,
    path: Vec<String>,
    /// One frame of comments per mapping/sequence level.
    stack: Vec<Vec<Vec<u8>>>,
}

impl Walker<'_> {
    fn aad(&self) -> Vec<u8> {
        let mut a = Vec::new();
        for p in &self.path {
            a.extend_from_slice(p.as_bytes());
            a.push(b':');
        }
        if self.path.is_empty() {
            a.push(b':');
        }
        a
    }

    fn display_path(&self) -> String {
        self.path.iter().map(|p| format!("[{p:?}]")).collect()
    }

    fn should_encrypt(&self, is_comment: bool) -> bool {
        let path = &self.path;
        match self.rule {
            SelectionRule::UnencryptedSuffix(s) => !path.iter().any(|p| p.ends_with(s.as_str())),
            SelectionRule::EncryptedSuffix(s) => path.iter().any(|p| p.ends_with(s.as_str())),
            SelectionRule::UnencryptedRegex(r) => !path.iter().any(|p| r.is_match(p)),
            SelectionRule::EncryptedRegex(r) => path.iter().any(|p| r.is_match(p)),
            SelectionRule::UnencryptedCommentRegex(r) => {
                !self.stacked(is_comment).any(|c| r.is_match(&c))
            }
            SelectionRule::EncryptedCommentRegex(r) => {
                self.stacked(is_comment).any(|c| r.is_match(&c))
            }
        }
    }

    /// Comments on the stack, as text; when testing a comment, itself (the innermost last
    /// one) is left out.
    fn stacked(&self, is_comment: bool) -> impl Iterator<Item = String> + '_ {
        let n = self.stack.len();
        self.stack.iter().enumerate().flat_map(move |(i, frame)| {
            let take = if is_comment && i + 1 == n {
                frame.len().saturating_sub(1)
            } else {
                frame.len()
            };
            frame[..take]
                .iter()
                .map(|c| String::from_utf8_lossy(c).into_owned())
        })
    }

    fn branch(&mut self, branch: &[Item]) -> Result<Branch> {
        self.stack.push(Vec::new());
        let mut out = Vec::with_capacity(branch.len());
        for item in branch {
            match item {
                Item::Comment(c) => {
                    if let Some(frame) = self.stack.last_mut() {
                        frame.push(c.text.as_bytes().to_vec());
                    }
                    out.push(Item::Comment(self.comment(c)));
                }
                Item::Pair(k, v) => {
                    self.path.push(k.clone());
                    let nv = self.value(v);
                    self.path.pop();
                    out.push(Item::Pair(k.clone(), nv?));
                    if let Some(frame) = self.stack.last_mut() {
                        frame.clear();
                    }
                }
            }
        }
        self.stack.pop();
        Ok(out)
    }

    fn seq(&mut self, seq: &[Value]) -> Result<Vec<Value>> {
        self.stack.push(Vec::new());
        let mut out = Vec::with_capacity(seq.len());
        for v in seq {
            match v {
                Value::Comment(c) => {
                    if let Some(frame) = self.stack.last_mut() {
                        frame.push(c.text.as_bytes().to_vec());
                    }
                    out.push(Value::Comment(self.comment(c)));
                }
                other => {
                    out.push(self.value(other)?);
                    if let Some(frame) = self.stack.last_mut() {
                        frame.clear();
                    }
                }
            }
        }
        self.stack.pop();
        Ok(out)
    }

    /// Decrypt a comment if it is encrypted; a comment that is not, or does not authenticate
    /// under any enclosing path, is kept as it is (files from before comment encryption).
    fn comment(&self, c: &Comment) -> Comment {
        let text = c.text.as_bytes();
        if !cipher::is_encrypted(text) || !self.should_encrypt(true) {
            return c.clone();
        }
        // The AAD is the path of the mapping that holds the comment; YAML attachment rules
        // can move a comment between levels, so try the enclosing paths innermost first.
        for depth in (0..=self.path.len()).rev() {
            let mut aad = Vec::new();
            for p in &self.path[..depth] {
                aad.extend_from_slice(p.as_bytes());
                aad.push(b':');
            }
            if depth == 0 {
                aad.push(b':');
            }
            if let Ok((pt, _)) = cipher::decrypt_raw(text, self.key, &aad) {
                return Comment {
                    text: pt,
                    inline: false,
                };
            }
        }
        c.clone()
    }

    fn value(&mut self, v: &Value) -> Result<Value> {
        match v {
            Value::Map(m) => return Ok(Value::Map(self.branch(m)?)),
            Value::Seq(s) => return Ok(Value::Seq(self.seq(s)?)),
            Value::Null => return Ok(Value::Null),
            Value::Comment(c) => return Ok(Value::Comment(self.comment(c))),
            _ => {}
        }
        let encrypted = self.should_encrypt(false);
        let plain = if encrypted {
            let Value::Str(s) = v else {
                return Err(Error::Malformed {
                    path: self.display_path(),
                    reason: format!(
                        "expected an encrypted value, found a plaintext {}",
                        v.kind()
                    ),
                });
            };
            if !s.is_empty() && !cipher::is_encrypted(s.as_bytes()) {
                return Err(Error::Malformed {
                    path: self.display_path(),
                    reason: "expected an encrypted value (ENC[…]), found a plaintext string".into(),
                });
            }
            cipher::decrypt_value(s.as_bytes(), self.key, &self.aad()).map_err(|e| match e {
                CipherError::Auth => Error::Value {
                    path: self.display_path(),
                    reason: e.to_string(),
                },
                _ => Error::Malformed {
                    path: self.display_path(),
                    reason: e.to_string(),
                },
            })?
        } else {
            v.clone()
        };
        if let Some(bytes) = plain.to_sops_bytes() {
            let bytes = Zeroizing::new(bytes);
            self.mac.leaf(&bytes, encrypted);
        }
        Ok(plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_aad_is_go_rfc3339() {
        assert_eq!(
            mac_aad("2021-09-30T19:49:41Z").unwrap(),
            "2021-09-30T19:49:41Z"
        );
        assert_eq!(
            mac_aad("2021-09-30T19:49:41.123456Z").unwrap(),
            "2021-09-30T19:49:41Z"
        );
        assert_eq!(
            mac_aad("2021-09-30T19:49:41+00:00").unwrap(),
            "2021-09-30T19:49:41Z"
        );
        assert_eq!(
            mac_aad("2021-09-30T19:49:41+02:00").unwrap(),
            "2021-09-30T19:49:41+02:00"
        );
        assert!(mac_aad("yesterday").is_err());
        assert!(mac_aad("2021-09-30T19:49:41").is_err());
    }
}
