//! The reference vectors in `../shared/fixtures` (real sops files from sops 3.3 to 3.13 and
//! sops-nix, with their data keys and every leaf recorded): keyward reads them exactly.
//!
//! PGP-only files are opened by injecting the recorded data key, so they still exercise the
//! stores, value decryption, comments and the MAC.

use std::path::{Path, PathBuf};

use serde_json::Value as J;
use sops::decrypt::DataKey;
use sops::{DecryptOptions, EncryptedFile, Format, Identities, Item, Value};

fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    if p.is_dir() {
        Some(p)
    } else if std::env::var_os("CI").is_some() {
        panic!("../shared/fixtures is missing in CI");
    } else {
        eprintln!("SKIPPED: ../shared/fixtures not found");
        None
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn format_of(name: &str) -> Format {
    Format::from_name(name).unwrap()
}

/// Every leaf in MAC order: (key path without indices, value).
fn leaves(items: &[Item], path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
    for item in items {
        if let Item::Pair(k, v) = item {
            path.push(k.clone());
            leaf_value(v, path, out);
            path.pop();
        }
    }
}

fn leaf_value(v: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
    match v {
        Value::Map(m) => leaves(m, path, out),
        Value::Seq(s) => s.iter().for_each(|e| leaf_value(e, path, out)),
        Value::Null | Value::Comment(_) => {}
        other => out.push((path.clone(), other.clone())),
    }
}

fn comments(items: &[Item], out: &mut Vec<Vec<u8>>) {
    for item in items {
        match item {
            Item::Comment(c) => out.push(c.text.as_bytes().to_vec()),
            Item::Pair(_, v) => value_comments(v, out),
        }
    }
}

fn value_comments(v: &Value, out: &mut Vec<Vec<u8>>) {
    match v {
        Value::Map(m) => comments(m, out),
        Value::Seq(s) => s.iter().for_each(|e| value_comments(e, out)),
        Value::Comment(c) => out.push(c.text.as_bytes().to_vec()),
        _ => {}
    }
}

fn check_file(root: &Path, name: &str, exp: &J) {
    let bytes = std::fs::read(root.join(name)).unwrap();
    let format = format_of(exp["format"].as_str().unwrap());
    let file = EncryptedFile::parse(format, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    let key = DataKey::from_bytes(&hex(exp["data_key_hex"].as_str().unwrap())).unwrap();
    let no_mac = exp["mac_plaintext"].is_null();
    let opts = DecryptOptions { ignore_mac: no_mac };
    let docs = file
        .decrypt(&key, &opts)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    if no_mac {
        let err = file.decrypt(&key, &DecryptOptions::default()).unwrap_err();
        assert!(err.to_string().contains("no MAC"), "{name}: {err}");
    }

    let mut got = Vec::new();
    for d in &docs {
        leaves(d, &mut Vec::new(), &mut got);
    }
    let want = exp["values_in_mac_order"].as_array().unwrap();
    assert_eq!(got.len(), want.len(), "{name}: number of leaves");
    for ((path, value), w) in got.iter().zip(want) {
        let wpath: Vec<String> = w["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect();
        assert_eq!(path, &wpath, "{name}: leaf path");
        let bytes = value.to_sops_bytes().unwrap();
        let text = String::from_utf8_lossy(&bytes);
        if w["encrypted"].as_bool().unwrap() {
            assert_eq!(text, w["plaintext"].as_str().unwrap(), "{name}: {wpath:?}");
            assert_eq!(
                value.kind(),
                match w["type"].as_str().unwrap() {
                    "str" => "string",
                    other => other,
                },
                "{name}: {wpath:?} type"
            );
        } else {
            let wv = &w["value"];
            let expected = match wv {
                J::String(s) => s.clone(),
                J::Bool(true) => "True".into(),
                J::Bool(false) => "False".into(),
                other => other.to_string(),
            };
            assert_eq!(text, expected, "{name}: {wpath:?} (unencrypted)");
        }
    }

    let mut got_comments = Vec::new();
    for d in &docs {
        comments(d, &mut got_comments);
    }
    for c in exp["encrypted_comments_in_file_order"].as_array().unwrap() {
        let text = c["plaintext"].as_str().unwrap().as_bytes().to_vec();
        assert!(
            got_comments
                .iter()
                .any(|g| g == &text || g.trim_ascii() == text.trim_ascii()),
            "{name}: decrypted comment {:?} missing",
            c["plaintext"]
        );
    }

    if let Some(stdout) = exp.get("expected_sops_decrypt_stdout").and_then(J::as_str) {
        let out = sops::stores::emit_plain(format, &docs).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out),
            stdout,
            "{name}: decrypt output"
        );
    }
}

fn run_expected(dir: &str) {
    let Some(root) = shared() else { return };
    let root = root.join(dir);
    let expected: J =
        serde_json::from_slice(&std::fs::read(root.join("expected.json")).unwrap()).unwrap();
    let mut n = 0;
    for (name, exp) in expected.as_object().unwrap() {
        if exp.get("data_key_hex").is_some() {
            check_file(&root, name, exp);
            n += 1;
        }
    }
    assert!(n >= 4, "only {n} files checked");
}

#[test]
fn sops_upstream_vectors_decrypt_with_their_recorded_data_keys() {
    run_expected("sops-upstream");
}

#[test]
fn sops_nix_vectors_decrypt_with_their_recorded_data_keys() {
    run_expected("sops-nix");
}

fn data_key_with(root: &Path, file: &str, ids: &Identities) -> Vec<u8> {
    let bytes = std::fs::read(root.join(file)).unwrap();
    let f = EncryptedFile::parse(Format::from_path(file), &bytes).unwrap();
    f.data_key(ids)
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .as_bytes()
        .to_vec()
}

#[test]
fn age_key_files_unwrap_the_recorded_data_keys() {
    let Some(root) = shared() else { return };
    let up = root.join("sops-upstream");
    let exp: J = serde_json::from_slice(&std::fs::read(up.join("expected.json")).unwrap()).unwrap();
    for (ids_file, which) in [
        ("pr1031-age-examples/age/keys.txt", "first key"),
        ("age/keys.txt", "both keys"),
    ] {
        let mut ids = Identities::new();
        ids.add_key_file(&up.join(ids_file)).unwrap();
        for f in ["example.yaml", "example.json", "example.ini", "example.txt"] {
            let name = format!("pr1031-age-examples/{f}");
            assert_eq!(
                data_key_with(&up, &name, &ids),
                hex(exp[&name]["data_key_hex"].as_str().unwrap()),
                "{name} with {which}"
            );
        }
    }
}

#[test]
fn an_ssh_ed25519_host_key_opens_its_ssh_to_age_stanza() {
    let Some(root) = shared() else { return };
    let nix = root.join("sops-nix");
    let exp: J =
        serde_json::from_slice(&std::fs::read(nix.join("expected.json")).unwrap()).unwrap();
    let mut ids = Identities::new();
    ids.add_ssh_key_file(&nix.join("ssh-ed25519-key")).unwrap();
    assert!(ids
        .tried()
        .iter()
        .any(|t| t.contains("age1a8pk4akrdamj7nvqy3zywgtny8dxz7t5xzu7u8v9mhrayp9freqsqatyrs")));
    assert_eq!(
        data_key_with(&nix, "secrets.yaml", &ids),
        hex(exp["secrets.yaml"]["data_key_hex"].as_str().unwrap())
    );
    let pubkey = std::fs::read_to_string(nix.join("ssh-ed25519-key.pub")).unwrap();
    assert_eq!(
        sops::keys::ssh_public_to_age(&pubkey).unwrap(),
        "age1a8pk4akrdamj7nvqy3zywgtny8dxz7t5xzu7u8v9mhrayp9freqsqatyrs"
    );
}

#[test]
fn a_file_for_other_keys_names_its_recipients_and_what_was_tried() {
    let Some(root) = shared() else { return };
    let v = root.join("sops-upstream/age-keysource-test-vectors");
    let mut ids = Identities::new();
    ids.add_key_file(&v.join("mock-other-identity.txt"))
        .unwrap();
    let bytes = std::fs::read(root.join("sops-nix/secrets.yaml")).unwrap();
    let f = EncryptedFile::parse(Format::Yaml, &bytes).unwrap();
    let msg = f.data_key(&ids).unwrap_err().to_string();
    assert!(msg.starts_with("no identity matches this file (recipients: age1yt3tfqlfrwdwx0z0ynwplcr6qxcxfaqycuprpmy89nr83ltx74tqdpszlw, age1a8pk4"), "{msg}");
    assert!(msg.contains("tried: ") && msg.contains("mock-other-identity.txt (age1afnrdrkyvy0sl5e08t9ffs4c7g5e5npc8luf7hjc77syewg5gajsls4r90)"), "{msg}");
    assert!(!msg.contains("AGE-SECRET-KEY"), "{msg}");
}

#[test]
fn a_pgp_only_file_says_keyward_is_age_only() {
    let Some(root) = shared() else { return };
    let bytes = std::fs::read(root.join("sops-nix/secrets.json")).unwrap();
    let f = EncryptedFile::parse(Format::Json, &bytes).unwrap();
    let msg = f.data_key(&Identities::new()).unwrap_err().to_string();
    assert_eq!(
        msg,
        "keyward is age-only, and this file has no age recipient; its master keys are: pgp 7FB89715AADA920D65D25E63F9BA9DEBD03F57C0"
    );
}

#[test]
fn age_keysource_vectors_x25519_ssh_and_passphrase_identities() {
    let Some(root) = shared() else { return };
    let v = root.join("sops-upstream/age-keysource-test-vectors");
    let enc = std::fs::read_to_string(v.join("mock-encrypted-key.age")).unwrap();
    let ssh_enc = std::fs::read_to_string(v.join("mock-encrypted-ssh-key.age")).unwrap();

    let mut ids = Identities::new();
    ids.add_key_file(&v.join("mock-identity.txt")).unwrap();
    assert_eq!(ids.unwrap(&enc).unwrap().unwrap().as_slice(), b"data");
    // Leading whitespace in `enc` is tolerated, as Go's armor reader does.
    assert_eq!(
        ids.unwrap(&format!("\n  {enc}"))
            .unwrap()
            .unwrap()
            .as_slice(),
        b"data"
    );
    assert!(ids.unwrap(&ssh_enc).unwrap().is_none());

    let mut ssh = Identities::new();
    ssh.add_ssh_key_file(&v.join("mock-ssh-identity")).unwrap();
    assert_eq!(ssh.unwrap(&ssh_enc).unwrap().unwrap().as_slice(), b"data");
    assert!(ssh
        .tried()
        .iter()
        .any(|t| t.contains("age1csmf6palnf8uaa6rrun229d85lz5s8lygpegpd530swfck76k43snrhyf9")));

    let other = {
        let mut o = Identities::new();
        o.add_key_file(&v.join("mock-other-identity.txt")).unwrap();
        o
    };
    assert!(other.unwrap(&enc).unwrap().is_none());
}

#[test]
fn a_passphrase_protected_identity_file_opens_with_its_passphrase() {
    let Some(root) = shared() else { return };
    let v = root.join("sops-upstream/age-keysource-test-vectors");
    let enc = std::fs::read_to_string(v.join("mock-encrypted-key.age")).unwrap();
    // The only test that sets this variable.
    std::env::set_var(
        "KEYWARD_PASSPHRASE_FILE",
        v.join("mock-encrypted-identity.passphrase"),
    );
    let mut ids = Identities::new();
    ids.add_key_file(&v.join("mock-encrypted-identity.age"))
        .unwrap();
    assert_eq!(ids.unwrap(&enc).unwrap().unwrap().as_slice(), b"data");

    let wrong = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(wrong.path(), "not the passphrase\n").unwrap();
    std::env::set_var("KEYWARD_PASSPHRASE_FILE", wrong.path());
    let err = Identities::new()
        .add_key_file(&v.join("mock-encrypted-identity.age"))
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("mock-encrypted-identity.age: wrong passphrase"),
        "{err}"
    );
    std::env::remove_var("KEYWARD_PASSPHRASE_FILE");
}

#[test]
fn a_post_quantum_identity_is_reported_not_fatal() {
    let Some(root) = shared() else { return };
    let v = root.join("sops-upstream/age-keysource-test-vectors");
    let mut ids = Identities::new();
    ids.add_key_file(&v.join("mock-hybrid-identity.txt"))
        .unwrap();
    assert!(ids.is_empty());
    assert!(ids.tried()[0].contains("post-quantum"), "{:?}", ids.tried());
}
