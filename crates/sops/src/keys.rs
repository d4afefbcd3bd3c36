//! Identities that open sops files: age X25519 key files, OpenSSH keys (native `ssh-ed25519`
//! and `ssh-rsa` recipients, and ed25519 keys converted to X25519 as ssh-to-age does),
//! passphrase-protected age identity files, and age plugins. Loaded from the same sources as
//! sops (`SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY_CMD`,
//! `SOPS_AGE_SSH_PRIVATE_KEY_FILE`, `$XDG_CONFIG_HOME/sops/age/keys.txt`) plus explicit files.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::SecretString;
use zeroize::{Zeroize, Zeroizing};

use crate::{Error, Result};

/// One usable identity, with a description safe to print (never the private part).
pub struct Identity {
    /// Where it came from and its public part: `/etc/keys.txt (age1…)`.
    pub description: String,
    inner: Box<dyn age::Identity + Send + Sync>,
    /// A plugin (hardware) identity: use it for one file at a time.
    pub plugin: bool,
}

/// The identities loaded for a run, in the order they are tried.
#[derive(Default)]
pub struct Identities {
    list: Vec<Identity>,
    /// Sources that were looked at but gave nothing usable, for "tried:" in messages.
    skipped: Vec<String>,
}

/// Asks for passphrases: from the file named by `KEYWARD_PASSPHRASE_FILE`, else on the terminal.
#[derive(Clone, Copy)]
pub struct PassphraseCallbacks;

impl age::Callbacks for PassphraseCallbacks {
    fn display_message(&self, message: &str) {
        eprintln!("{message}");
    }
    fn confirm(&self, _message: &str, _yes: &str, _no: Option<&str>) -> Option<bool> {
        None
    }
    fn request_public_string(&self, _description: &str) -> Option<String> {
        None
    }
    fn request_passphrase(&self, description: &str) -> Option<SecretString> {
        read_passphrase(description).map(SecretString::from)
    }
}

fn read_passphrase(description: &str) -> Option<String> {
    if let Some(path) = std::env::var_os("KEYWARD_PASSPHRASE_FILE") {
        let mut s = std::fs::read_to_string(path).ok()?;
        let trimmed = s.trim_end_matches(['\n', '\r']).to_string();
        s.zeroize();
        return Some(trimmed);
    }
    tty_prompt(description)
}

/// Prompt on the controlling terminal with echo off (via `stty`, so no raw terminal code here).
fn tty_prompt(description: &str) -> Option<String> {
    use std::io::{BufRead, Write};
    let mut tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    let tty_in = tty.try_clone().ok()?;
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(tty_in.try_clone().ok()?)
            .status()
            .ok()
    };
    write!(tty, "{description}: ").ok()?;
    stty("-echo");
    let mut line = String::new();
    let read = BufReader::new(tty.try_clone().ok()?).read_line(&mut line);
    stty("echo");
    let _ = writeln!(tty);
    read.ok()?;
    let out = line.trim_end_matches(['\n', '\r']).to_string();
    line.zeroize();
    Some(out)
}

fn x25519_from_scalar(scalar: &[u8]) -> Result<age::x25519::Identity> {
    use bech32::{Bech32, Hrp};
    let hrp = Hrp::parse("age-secret-key-").map_err(|e| Error::Identity(e.to_string()))?;
    let mut s = Zeroizing::new(
        bech32::encode::<Bech32>(hrp, scalar)
            .map_err(|e| Error::Identity(format!("cannot encode the converted key: {e}")))?,
    );
    s.make_ascii_uppercase();
    age::x25519::Identity::from_str(&s)
        .map_err(|e| Error::Identity(format!("cannot use the converted key: {e}")))
}

/// Convert an OpenSSH ed25519 private key to the age X25519 identity ssh-to-age makes
/// (SHA-512 of the 32-byte seed, first 32 bytes). `None` if the key is not ed25519.
pub fn ssh_to_age(pem: &[u8], passphrase: Option<&str>) -> Result<Option<age::x25519::Identity>> {
    use sha2::{Digest, Sha512};
    let key = ssh_key::PrivateKey::from_openssh(pem)
        .map_err(|e| Error::Identity(format!("not an OpenSSH private key: {e}")))?;
    let key = if key.is_encrypted() {
        let Some(p) = passphrase else {
            return Err(Error::Identity(
                "the ssh key is passphrase-protected".into(),
            ));
        };
        key.decrypt(p)
            .map_err(|_| Error::Identity("wrong passphrase for the ssh key".into()))?
    } else {
        key
    };
    let Some(kp) = key.key_data().ed25519() else {
        return Ok(None);
    };
    let digest = Sha512::digest(kp.private.as_ref());
    let mut scalar = Zeroizing::new([0u8; 32]);
    scalar.copy_from_slice(&digest[..32]);
    x25519_from_scalar(scalar.as_ref()).map(Some)
}

/// The age recipient (`age1…`) of an OpenSSH ed25519 public key line, as ssh-to-age computes it.
pub fn ssh_public_to_age(line: &str) -> Result<String> {
    let pk = ssh_key::PublicKey::from_openssh(line.trim())
        .map_err(|e| Error::Identity(format!("not an OpenSSH public key: {e}")))?;
    let ed = pk
        .key_data()
        .ed25519()
        .ok_or_else(|| Error::Identity("only ssh-ed25519 keys convert to age".into()))?;
    let point = curve25519_dalek::edwards::CompressedEdwardsY(ed.0)
        .decompress()
        .ok_or_else(|| Error::Identity("invalid ed25519 public key".into()))?;
    let u = point.to_montgomery().to_bytes();
    use bech32::{Bech32, Hrp};
    let hrp = Hrp::parse("age").map_err(|e| Error::Identity(e.to_string()))?;
    bech32::encode::<Bech32>(hrp, &u).map_err(|e| Error::Identity(e.to_string()))
}

impl Identities {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True if any identity needs a person or a device (age plugins).
    pub fn has_plugins(&self) -> bool {
        self.list.iter().any(|i| i.plugin)
    }

    /// What was tried, public parts only, for error messages.
    pub fn tried(&self) -> Vec<String> {
        self.list
            .iter()
            .map(|i| i.description.clone())
            .chain(self.skipped.iter().cloned())
            .collect()
    }

    fn push(
        &mut self,
        description: String,
        inner: Box<dyn age::Identity + Send + Sync>,
        plugin: bool,
    ) {
        self.list.push(Identity {
            description,
            inner,
            plugin,
        });
    }

    /// Load the identity sources sops reads, all combined, in sops' order.
    pub fn load_sops_defaults(&mut self) -> Result<()> {
        if let Some(p) = std::env::var_os("SOPS_AGE_SSH_PRIVATE_KEY_FILE") {
            self.add_ssh_key_file(Path::new(&p))?;
        } else if let Some(home) = std::env::var_os("HOME") {
            for name in ["id_ed25519", "id_rsa"] {
                let p = Path::new(&home).join(".ssh").join(name);
                if p.is_file() {
                    // A default ssh key that cannot be read is not fatal, as in sops.
                    if let Err(e) = self.add_ssh_key_file(&p) {
                        self.skipped.push(format!("{} ({e})", p.display()));
                    }
                }
            }
        }
        if let Ok(v) = std::env::var("SOPS_AGE_KEY") {
            let v = Zeroizing::new(v);
            // Since 3.13 a (non-comment) line may hold several whitespace-separated keys.
            let joined = Zeroizing::new(
                v.lines()
                    .flat_map(|l| {
                        if l.starts_with('#') {
                            vec![l]
                        } else {
                            l.split_whitespace().collect()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
            self.add_key_text(joined.as_bytes(), "SOPS_AGE_KEY")?;
        }
        if let Some(p) = std::env::var_os("SOPS_AGE_KEY_FILE") {
            self.add_key_file(Path::new(&p))?;
        }
        if let Ok(cmd) = std::env::var("SOPS_AGE_KEY_CMD") {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(&cmd)
                .stderr(std::process::Stdio::inherit())
                .output()
                .map_err(|e| Error::Identity(format!("SOPS_AGE_KEY_CMD could not run: {e}")))?;
            let stdout = Zeroizing::new(out.stdout);
            if !out.status.success() {
                return Err(Error::Identity(format!(
                    "SOPS_AGE_KEY_CMD failed ({})",
                    out.status
                )));
            }
            self.add_key_text(&stdout, "SOPS_AGE_KEY_CMD")?;
        }
        if let Some(p) = default_key_file() {
            if p.is_file() {
                self.add_key_file(&p)?;
            }
        }
        Ok(())
    }

    /// Add a file: an age identity file (plain or passphrase-protected), or an OpenSSH
    /// private key (detected by its header).
    pub fn add_file(&mut self, path: &Path) -> Result<()> {
        let bytes = read_secret(path)?;
        if looks_like_ssh(&bytes) {
            self.add_ssh_key(&bytes, &path.display().to_string())
        } else {
            self.add_key_text(&bytes, &path.display().to_string())
        }
    }

    /// Add an age identity file.
    pub fn add_key_file(&mut self, path: &Path) -> Result<()> {
        let bytes = read_secret(path)?;
        self.add_key_text(&bytes, &path.display().to_string())
    }

    /// Add an OpenSSH private key file.
    pub fn add_ssh_key_file(&mut self, path: &Path) -> Result<()> {
        let bytes = read_secret(path)?;
        self.add_ssh_key(&bytes, &path.display().to_string())
    }

    /// Add identities from the text of an age identity file (or a passphrase-protected one).
    pub fn add_key_text(&mut self, text: &[u8], source: &str) -> Result<()> {
        let trimmed = trim_start(text);
        if trimmed.starts_with(b"age-encryption.org/") || trimmed.starts_with(b"-----BEGIN AGE") {
            return self.add_encrypted_identity_file(trimmed, source);
        }
        let text = std::str::from_utf8(text)
            .map_err(|_| Error::Identity(format!("{source}: not a text identity file")))?;
        let before = self.list.len();
        for (n, line) in text.lines().enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |why: &str| Error::Identity(format!("{source}: line {}: {why}", n + 1));
            if line.starts_with("AGE-SECRET-KEY-PQ-1") {
                self.skipped.push(format!(
                    "{source} (a post-quantum AGE-SECRET-KEY-PQ identity, which keyward cannot use yet)"
                ));
            } else if line.starts_with("AGE-SECRET-KEY-1") {
                let id = age::x25519::Identity::from_str(line)
                    .map_err(|_| bad("invalid AGE-SECRET-KEY"))?;
                let public = id.to_public().to_string();
                self.push(format!("{source} ({public})"), Box::new(id), false);
            } else if line.starts_with("AGE-PLUGIN-") {
                let id = age::plugin::Identity::from_str(line)
                    .map_err(|_| bad("invalid AGE-PLUGIN identity"))?;
                let name = id.plugin().to_string();
                let plugin = age::plugin::IdentityPluginV1::new(&name, &[id], PassphraseCallbacks)
                    .map_err(|_| bad(&format!("age-plugin-{name} is not on PATH")))?;
                self.push(
                    format!("{source} (age-plugin-{name})"),
                    Box::new(plugin),
                    true,
                );
            } else {
                return Err(bad(
                    "not an age identity (expected AGE-SECRET-KEY-1…, AGE-PLUGIN-…, or a # comment)",
                ));
            }
        }
        if self.list.len() == before && !self.skipped.iter().any(|s| s.starts_with(source)) {
            self.skipped.push(format!("{source} (no identities in it)"));
        }
        Ok(())
    }

    fn add_encrypted_identity_file(&mut self, bytes: &[u8], source: &str) -> Result<()> {
        let reader = age::armor::ArmoredReader::new(bytes);
        let dec = age::Decryptor::new(reader)
            .map_err(|e| Error::Identity(format!("{source}: not a valid age file: {e}")))?;
        if !dec.is_scrypt() {
            return Err(Error::Identity(format!(
                "{source}: an encrypted identity file must be passphrase-protected"
            )));
        }
        let pass = read_passphrase(&format!("Passphrase for {source}")).ok_or_else(|| {
            Error::Identity(format!(
                "{source} is passphrase-protected and no passphrase was given (set KEYWARD_PASSPHRASE_FILE or run on a terminal)"
            ))
        })?;
        let mut id = age::scrypt::Identity::new(SecretString::from(pass));
        // Go age accepts work factors up to 22; the Rust default depends on this machine's speed.
        id.set_max_work_factor(22);
        let mut r = dec
            .decrypt(std::iter::once(&id as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::ExcessiveWork { .. } => Error::Identity(format!(
                    "{source}: the passphrase's scrypt work factor is above 22; re-encrypt the identity"
                )),
                _ => Error::Identity(format!("{source}: wrong passphrase")),
            })?;
        let mut inner = Zeroizing::new(Vec::new());
        r.read_to_end(&mut inner)
            .map_err(|e| Error::io(source.to_string(), e))?;
        self.add_key_text(&inner, source)
    }

    /// Add an OpenSSH private key: as a native `ssh-ed25519`/`ssh-rsa` identity and, for
    /// ed25519, also converted to X25519 (how NixOS hosts are enrolled with ssh-to-age).
    pub fn add_ssh_key(&mut self, pem: &[u8], source: &str) -> Result<()> {
        let public = ssh_key::PrivateKey::from_openssh(pem)
            .ok()
            .and_then(|k| k.public_key().to_openssh().ok())
            .map(|s| s.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| "ssh key".into());
        let native = age::ssh::Identity::from_buffer(BufReader::new(pem), Some(source.to_string()))
            .map_err(|e| Error::Identity(format!("{source}: cannot read the ssh key: {e}")))?;
        let encrypted = matches!(native, age::ssh::Identity::Encrypted(_));
        if let age::ssh::Identity::Unsupported(k) = &native {
            return Err(Error::Identity(format!(
                "{source}: unsupported ssh key ({k:?}); use an ed25519 or RSA key"
            )));
        }
        self.push(
            format!("{source} ({public})"),
            Box::new(native.with_callbacks(PassphraseCallbacks)),
            false,
        );
        let pass = if encrypted {
            read_passphrase(&format!("Passphrase for {source}")).map(Zeroizing::new)
        } else {
            None
        };
        if let Some(id) = ssh_to_age(pem, pass.as_deref().map(|s| s.as_str()))? {
            let public = id.to_public().to_string();
            self.push(format!("{source} as age ({public})"), Box::new(id), false);
        }
        Ok(())
    }

    /// Try to open one age `enc` entry (an armored age file) with every identity.
    /// `Ok(None)` when no identity matches.
    pub fn unwrap(&self, enc: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        self.unwrap_with(enc, self.list.iter())
    }

    fn unwrap_with<'a>(
        &'a self,
        enc: &str,
        ids: impl Iterator<Item = &'a Identity>,
    ) -> Result<Option<Zeroizing<Vec<u8>>>> {
        // Rust's armor reader rejects leading whitespace that Go's tolerates.
        let enc = enc.trim_start();
        let reader = age::armor::ArmoredReader::new(enc.as_bytes());
        let dec = age::Decryptor::new(reader).map_err(|e| {
            Error::Metadata(format!("an age `enc` entry is not a valid age file: {e}"))
        })?;
        let ids: Vec<&dyn age::Identity> = ids
            .map(|i| i.inner.as_ref() as &dyn age::Identity)
            .collect();
        match dec.decrypt(ids.into_iter()) {
            Ok(mut r) => {
                let mut out = Zeroizing::new(Vec::new());
                r.read_to_end(&mut out)
                    .map_err(|e| Error::Metadata(format!("an age `enc` entry is corrupt: {e}")))?;
                Ok(Some(out))
            }
            Err(age::DecryptError::NoMatchingKeys) => Ok(None),
            Err(e) => Err(Error::Metadata(format!(
                "an age `enc` entry could not be opened: {e}"
            ))),
        }
    }
}

fn looks_like_ssh(bytes: &[u8]) -> bool {
    let t = trim_start(bytes);
    t.starts_with(b"-----BEGIN OPENSSH PRIVATE KEY-----")
        || t.starts_with(b"-----BEGIN RSA PRIVATE KEY-----")
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

fn read_secret(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| Error::io(format!("cannot read identity {}", path.display()), e))
}

/// `$XDG_CONFIG_HOME/sops/age/keys.txt`, or `~/.config/sops/age/keys.txt`.
pub fn default_key_file() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(x) if !x.is_empty() => PathBuf::from(x),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("sops").join("age").join("keys.txt"))
}
