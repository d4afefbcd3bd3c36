//! The benchmark's floor (bench/README.md): the least work that installs the secrets of a
//! sops-nix manifest, to measure keyward against.
//!
//! `keyward-bench-floor AGE_KEY_FILE MANIFEST OUT_DIR`
//!
//! For each distinct sops file, in parallel across files (rayon, like keyward): read and parse
//! it, unwrap its data key once with the age crate (X25519), then for each secret of the manifest
//! taken from it decrypt that one value with AES-256-GCM and write it to `OUT_DIR/<name>`
//! (mode 0400, `O_EXCL`). Nothing else: no MAC check, no owners, no digest, no lock, no
//! generation bookkeeping, no symlink switch, no fsync. The values it does not need are not
//! decrypted. Exit 1 on any error.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::str::FromStr;

use rayon::prelude::*;
use sops::path::{lookup, parse_key, PathElem};
use sops::{EncryptedFile, Format, Value};

fn die(msg: String) -> ! {
    eprintln!("floor: {msg}");
    std::process::exit(1)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        die("usage: keyward-bench-floor AGE_KEY_FILE MANIFEST OUT_DIR".into());
    }
    let key_text =
        std::fs::read_to_string(&args[1]).unwrap_or_else(|e| die(format!("{}: {e}", args[1])));
    let identity = key_text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .map(|l| {
            age::x25519::Identity::from_str(l.trim())
                .unwrap_or_else(|e| die(format!("bad key: {e}")))
        })
        .unwrap_or_else(|| die("no AGE-SECRET-KEY- line".into()));
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&args[2]).unwrap_or_else(|e| die(format!("{}: {e}", args[2]))),
    )
    .unwrap_or_else(|e| die(format!("manifest: {e}")));
    let out = Path::new(&args[3]);

    // sops file -> [(name, key)]
    let mut by_file: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for s in manifest["secrets"]
        .as_array()
        .unwrap_or_else(|| die("no secrets".into()))
    {
        let name = s["name"]
            .as_str()
            .unwrap_or_else(|| die("secret without name".into()));
        let key = s["key"].as_str().unwrap_or(name);
        let file = s["sopsFile"]
            .as_str()
            .unwrap_or_else(|| die("secret without sopsFile".into()));
        by_file
            .entry(file.to_string())
            .or_default()
            .push((name.to_string(), key.to_string()));
    }
    let files: Vec<(&String, &Vec<(String, String)>)> = by_file.iter().collect();
    files.par_iter().for_each(|(file, secrets)| {
        let bytes = std::fs::read(file).unwrap_or_else(|e| die(format!("{file}: {e}")));
        let f = EncryptedFile::parse(Format::Yaml, &bytes)
            .unwrap_or_else(|e| die(format!("{file}: {e}")));
        let data_key =
            unwrap_data_key(&f, &identity).unwrap_or_else(|| die(format!("{file}: no identity")));
        for (name, key) in secrets.iter() {
            let path = parse_key(key).unwrap_or_else(|e| die(format!("{key}: {e}")));
            let Ok(Value::Str(enc)) = lookup(
                f.branches.first().map(|b| b.as_slice()).unwrap_or(&[]),
                &path,
            ) else {
                die(format!("{file}: {key} is not an encrypted string"))
            };
            let mut aad = Vec::new();
            for p in &path {
                if let PathElem::Key(k) = p {
                    aad.extend_from_slice(k.as_bytes());
                    aad.push(b':');
                }
            }
            let (plain, _) = sops::cipher::decrypt_raw(enc.as_bytes(), &data_key, &aad)
                .unwrap_or_else(|e| die(format!("{file}: {key}: {e}")));
            let mut w = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o400)
                .open(out.join(name))
                .unwrap_or_else(|e| die(format!("{name}: {e}")));
            w.write_all(plain.as_bytes())
                .unwrap_or_else(|e| die(format!("{name}: {e}")));
        }
    });
}

/// One X25519 unwrap of the file's age stanza (single key group, as in the benchmark).
fn unwrap_data_key(f: &EncryptedFile, id: &age::x25519::Identity) -> Option<[u8; 32]> {
    for group in &f.metadata.groups {
        for k in &group.age {
            let reader = age::armor::ArmoredReader::new(k.enc.trim_start().as_bytes());
            let Ok(dec) = age::Decryptor::new(reader) else {
                continue;
            };
            if let Ok(mut r) = dec.decrypt(std::iter::once(id as &dyn age::Identity)) {
                let mut key = Vec::with_capacity(32);
                r.read_to_end(&mut key).ok()?;
                return key.try_into().ok();
            }
        }
    }
    None
}
