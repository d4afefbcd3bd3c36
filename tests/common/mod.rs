//! Test harness: a temporary root, a test double for sops files, and runners for the install
//! engine (in-process) and the binary.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use keyward::install::{self, Options};
use keyward::source::{Decrypted, Parsed, SopsSource};
use sops::{Branch, Format, Identities, Item, Value};

/// A stand-in for sops files while the stores are being written: the "file" is lines of
/// `a/b/c: value` (nested mappings), `int:N` values become ints, `#lastmodified T` sets the
/// metadata; a file containing `CORRUPT` does not parse, one containing `OTHER-KEY` is for
/// another key. Counts decryptions per file.
#[derive(Default)]
pub struct Fake {
    pub calls: AtomicUsize,
    pub per_file: Mutex<BTreeMap<Vec<u8>, usize>>,
}

fn insert(branch: &mut Branch, path: &[&str], v: Value) {
    let (first, rest) = (path[0], &path[1..]);
    if rest.is_empty() {
        branch.push(Item::Pair(first.into(), v));
        return;
    }
    let pos = branch
        .iter()
        .position(|i| matches!(i, Item::Pair(k, Value::Map(_)) if k == first));
    let idx = match pos {
        Some(i) => i,
        None => {
            branch.push(Item::Pair(first.into(), Value::Map(Vec::new())));
            branch.len() - 1
        }
    };
    if let Item::Pair(_, Value::Map(m)) = &mut branch[idx] {
        insert(m, rest, v);
    }
}

fn parse_fake(bytes: &[u8], encrypted: bool) -> sops::Result<(Vec<Branch>, String)> {
    let text = std::str::from_utf8(bytes).map_err(|_| sops::Error::syntax("yaml", "not UTF-8"))?;
    if text.contains("CORRUPT") {
        return Err(sops::Error::NotSops(
            "it has no `sops` metadata (was it encrypted with sops?)".into(),
        ));
    }
    let mut b = Branch::new();
    let mut lm = "2024-01-02T03:04:05Z".to_string();
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("#lastmodified ") {
            lm = t.to_string();
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some((k, v)) = line.split_once(": ") else {
            continue;
        };
        let value = if encrypted {
            Value::str("ENC[AES256_GCM,data:xx,iv:yy,tag:zz,type:str]")
        } else if let Some(n) = v.strip_prefix("int:") {
            Value::Int(n.parse().unwrap_or(0))
        } else {
            Value::str(v)
        };
        insert(&mut b, &k.split('/').collect::<Vec<_>>(), value);
    }
    Ok((vec![b], lm))
}

impl SopsSource for Fake {
    fn parse(&self, _format: Format, bytes: &[u8]) -> sops::Result<Parsed> {
        let (branches, lastmodified) = parse_fake(bytes, true)?;
        Ok(Parsed {
            branches,
            lastmodified,
        })
    }
    fn decrypt(&self, _format: Format, bytes: &[u8], ids: &Identities) -> sops::Result<Decrypted> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        *self
            .per_file
            .lock()
            .unwrap()
            .entry(bytes.to_vec())
            .or_default() += 1;
        let (branches, lastmodified) = parse_fake(bytes, false)?;
        if std::str::from_utf8(bytes)
            .unwrap_or("")
            .contains("OTHER-KEY")
        {
            return Err(sops::Error::NoIdentity {
                recipients: vec!["age1other".into()],
                tried: ids.tried(),
            });
        }
        Ok(Decrypted {
            branches,
            lastmodified,
        })
    }
}

/// A temporary directory with `root/` (the install root) and space for plans and sops files.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub fake: Fake,
    pub dry_run: bool,
    pub systemctl: Option<String>,
    pub xdg: Option<String>,
}

pub struct Out {
    pub code: u8,
    pub stdout: String,
    pub stderr: String,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        Env {
            dir,
            root,
            fake: Fake::default(),
            dry_run: false,
            systemctl: None,
            xdg: None,
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A path below the install root.
    pub fn r(&self, abs: &str) -> PathBuf {
        self.root.join(abs.trim_start_matches('/'))
    }

    pub fn write(&self, rel: &str, text: &str) -> String {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    /// Write a plan (JSON text) and install it with the fake sops source.
    pub fn install(&self, plan: &serde_json::Value) -> Out {
        let p = self.write("plan.json", &serde_json::to_string_pretty(plan).unwrap());
        self.install_file(Path::new(&p))
    }

    pub fn install_file(&self, plan: &Path) -> Out {
        let opts = Options {
            plan: plan.to_path_buf(),
            root: self.root.clone(),
            dry_run: self.dry_run,
            ignore_passwd: false,
            systemctl: self.systemctl.clone(),
            xdg_runtime_dir: self.xdg.clone(),
            fault_at: None,
            lock_timeout: Some(std::time::Duration::from_secs(1)),
            mount: false,
            identities: vec![],
            source: &self.fake,
        };
        let (mut o, mut e) = (Vec::new(), Vec::new());
        let code = install::run(&opts, &mut o, &mut e);
        Out {
            code,
            stdout: String::from_utf8(o).unwrap(),
            stderr: String::from_utf8(e).unwrap(),
        }
    }

    /// Where `/run/secrets` points, relative to the root.
    pub fn current(&self) -> Option<String> {
        std::fs::read_link(self.r("/run/secrets"))
            .ok()
            .map(|t| t.strip_prefix(&self.root).unwrap().display().to_string())
    }

    /// Every entry below the root: `mode uid path [-> target]`, sorted.
    pub fn tree(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.root, &self.root, &mut out);
        out.sort();
        out
    }
}

fn walk(root: &Path, d: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(d).unwrap().flatten() {
        let p = e.path();
        let m = std::fs::symlink_metadata(&p).unwrap();
        let rel = p.strip_prefix(root).unwrap().display().to_string();
        if m.file_type().is_symlink() {
            out.push(format!(
                "l {rel} -> {}",
                std::fs::read_link(&p).unwrap().display()
            ));
        } else if m.is_dir() {
            out.push(format!("d {:o} {rel}", m.mode() & 0o7777));
            walk(root, &p, out);
        } else {
            out.push(format!(
                "f {:o} {rel} {}",
                m.mode() & 0o7777,
                std::fs::read(&p).unwrap().len()
            ));
        }
    }
}

/// Mode bits of a path (not following symlinks).
pub fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

pub fn owner(p: &Path) -> (u32, u32) {
    let m = std::fs::symlink_metadata(p).unwrap();
    (m.uid(), m.gid())
}

/// What owner to expect for a file the plan gives `want`: the plan's when root, else ours.
pub fn expect_owner(want: (u32, u32)) -> (u32, u32) {
    if rustix::process::geteuid().is_root() {
        want
    } else {
        (
            rustix::process::geteuid().as_raw(),
            rustix::process::getegid().as_raw(),
        )
    }
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A minimal v1 plan for the root of `env`.
pub fn plan(secrets: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "version": 1,
        "secretsMountPoint": "/run/secrets.d",
        "symlinkPath": "/run/secrets",
        "secrets": secrets,
    })
}
