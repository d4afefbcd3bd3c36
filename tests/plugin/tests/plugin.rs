//! Hardware identities (age plugins) through keyward, with the test plugin standing in for a
//! token: `keyward decrypt` opens a file with a plugin identity found on PATH, and `keyward
//! install` uses a plugin for one file at a time (never two touches at once), each file once.

use std::path::{Path, PathBuf};
use std::process::Command;

fn plugin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_age-plugin-keywardtest"))
}

/// keyward, built beside the plugin by `cargo test --workspace`.
fn keyward() -> Option<PathBuf> {
    let k = plugin().parent()?.join("keyward");
    if k.is_file() {
        Some(k)
    } else if std::env::var_os("CI").is_some() {
        panic!(
            "{} is missing: run the workspace's tests (cargo test --workspace)",
            k.display()
        );
    } else {
        eprintln!(
            "SKIPPED: {} not built (run cargo test --workspace)",
            k.display()
        );
        None
    }
}

fn fx(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(p)
}

/// A plugin identity file for the corpus key `key1.txt`.
fn identity_file(dir: &Path) -> PathBuf {
    let key = std::fs::read_to_string(fx("keys/age/key1.txt")).unwrap();
    let secret = key
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap();
    let o = Command::new(plugin())
        .args(["--from-age", secret])
        .output()
        .unwrap();
    assert!(o.status.success());
    let id = String::from_utf8(o.stdout).unwrap();
    assert!(id.starts_with("AGE-PLUGIN-KEYWARDTEST-1"), "{id}");
    let p = dir.join("token.txt");
    std::fs::write(&p, format!("# a hardware token (test plugin)\n{id}")).unwrap();
    p
}

fn path_with_plugin() -> String {
    format!(
        "{}:{}",
        plugin().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// (start, end) of each use of the plugin, from its log.
fn uses(log: &Path) -> Vec<(u128, u128)> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut starts = std::collections::BTreeMap::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let (pid, t) = (f[1].to_string(), f[2].parse::<u128>().unwrap());
        match f[0] {
            "start" => {
                starts.insert(pid, t);
            }
            _ => out.push((starts.remove(&pid).unwrap(), t)),
        }
    }
    out.sort();
    out
}

#[test]
fn decrypt_opens_a_file_with_a_plugin_identity_on_path() {
    let Some(kw) = keyward() else { return };
    let dir = tempfile::tempdir().unwrap();
    let id = identity_file(dir.path());
    let file = fx("corpus/yaml/nested.enc.yaml");
    let o = Command::new(&kw)
        .args(["decrypt", "--identity"])
        .arg(&id)
        .arg(&file)
        .env_clear()
        .env("PATH", path_with_plugin())
        .env("HOME", dir.path())
        .env("KEYWARD_TEST_PLUGIN_LOG", dir.path().join("log"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = std::fs::read(fx("corpus/yaml/nested.enc.yaml.decrypted")).unwrap();
    assert_eq!(o.stdout, want);
    assert_eq!(
        uses(&dir.path().join("log")).len(),
        1,
        "one unwrap for one file"
    );
}

#[test]
fn a_missing_plugin_is_named_in_the_error() {
    let Some(kw) = keyward() else { return };
    let dir = tempfile::tempdir().unwrap();
    let id = identity_file(dir.path());
    let o = Command::new(&kw)
        .args(["decrypt", "--identity"])
        .arg(&id)
        .arg(fx("corpus/yaml/nested.enc.yaml"))
        .env_clear()
        .env("PATH", "/nonexistent")
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(4));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("age-plugin-keywardtest is not on PATH"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn install_uses_a_hardware_identity_for_one_file_at_a_time() {
    let Some(kw) = keyward() else { return };
    let dir = tempfile::tempdir().unwrap();
    let id = identity_file(dir.path());
    let files = [
        ("y", "corpus/yaml/nested.enc.yaml", "yaml", "top/sibling"),
        ("j", "corpus/json/types.enc.json", "json", "nested/map/deep"),
        ("e", "corpus/dotenv/basic.enc.env", "dotenv", ""),
        ("i", "corpus/ini/sections.enc.ini", "ini", ""),
    ];
    let secrets: Vec<serde_json::Value> = files
        .iter()
        .map(|(n, f, fmt, key)| {
            serde_json::json!({"name": n, "key": key, "format": fmt,
                "sopsFile": fx(f), "path": format!("/run/secrets/{n}"), "mode": "0400"})
        })
        .collect();
    let plan = serde_json::json!({"version": 1, "ageKeyFile": id, "secrets": secrets});
    let plan_path = dir.path().join("plan.json");
    std::fs::write(&plan_path, serde_json::to_vec(&plan).unwrap()).unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let log = dir.path().join("log");
    let o = Command::new(&kw)
        .args(["install", "--root"])
        .arg(&root)
        .arg(&plan_path)
        .env_clear()
        .env("PATH", path_with_plugin())
        .env("HOME", dir.path())
        .env("KEYWARD_TEST_PLUGIN_LOG", &log)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(root.join("run/secrets/y")).unwrap(), b"s");
    assert_eq!(std::fs::read(root.join("run/secrets/j")).unwrap(), b"value");

    let uses = uses(&log);
    assert_eq!(
        uses.len(),
        files.len(),
        "each file unwrapped exactly once: {uses:?}"
    );
    for w in uses.windows(2) {
        assert!(w[0].1 <= w[1].0, "two plugin uses overlapped: {w:?}");
    }
}
