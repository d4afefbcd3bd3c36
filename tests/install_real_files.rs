//! `keyward install` end to end with real sops files (the corpus made by the real sops) and a
//! real age key, through the binary, into a temporary root: nested keys in YAML and JSON in
//! both syntaxes, list indices, typed leaves, whole files of every store, and the messages of
//! a missing key and a wrong key.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fx(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(p)
        .display()
        .to_string()
}

struct Run {
    code: i32,
    stderr: String,
    root: tempfile::TempDir,
}

impl Run {
    fn file(&self, abs: &str) -> Vec<u8> {
        std::fs::read(self.root.path().join(abs.trim_start_matches('/')))
            .unwrap_or_else(|e| panic!("{abs}: {e}\n{}", self.stderr))
    }
    fn exists(&self, abs: &str) -> bool {
        self.root.path().join(abs.trim_start_matches('/')).exists()
    }
}

fn install(secrets: serde_json::Value, key: &str) -> Run {
    let root = tempfile::tempdir().unwrap();
    let plan = serde_json::json!({
        "version": 1,
        "secretsMountPoint": "/run/secrets.d",
        "symlinkPath": "/run/secrets",
        "ageKeyFile": fx(key),
        "secrets": secrets,
    });
    let plan_path: PathBuf = root.path().join("plan.json");
    std::fs::write(&plan_path, serde_json::to_vec(&plan).unwrap()).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["install", "--root"])
        .arg(root.path())
        .arg(&plan_path)
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY")
        .env("HOME", root.path())
        .output()
        .unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        root,
    }
}

fn secret(name: &str, file: &str, format: &str, key: &str) -> serde_json::Value {
    serde_json::json!({
        "name": name, "key": key, "format": format, "sopsFile": fx(file),
        "path": format!("/run/secrets/{name}"), "mode": "0400",
    })
}

#[test]
fn nested_yaml_keys_lists_and_typed_leaves_in_both_syntaxes() {
    let y = "corpus/yaml/nested.enc.yaml";
    let t = "corpus/yaml/types.enc.yaml";
    let r = install(
        serde_json::json!([
            secret("slash", y, "yaml", "top/middle/bottom"),
            secret("brackets", y, "yaml", r#"["top"]["middle"]["bottom"]"#),
            secret("index", y, "yaml", r#"["list_of_lists"][1][1][0]"#),
            secret("slash-index", y, "yaml", "list/0"),
            secret("int", y, "yaml", "top/middle/number"),
            secret("float", y, "yaml", r#"["list"][2]"#),
            secret("bool", y, "yaml", r#"["list"][3]"#),
            secret("empty", y, "yaml", r#"["list"][5]"#),
            secret("big-float", t, "yaml", "float_exp"),
            secret("time", t, "yaml", "timestamp_date"),
        ]),
        "keys/age/key1.txt",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for (name, want) in [
        ("slash", "deep value"),
        ("brackets", "deep value"),
        ("index", "nested1"),
        ("slash-index", "one"),
        ("int", "7"),
        ("float", "3.5"),
        ("bool", "true"),
        ("empty", ""),
        ("big-float", "1e+21"),
        ("time", "2024-01-01T00:00:00Z"),
    ] {
        assert_eq!(
            String::from_utf8(r.file(&format!("/run/secrets/{name}"))).unwrap(),
            want,
            "{name}"
        );
    }
    assert_eq!(r.stderr.matches("imported").count(), 1, "{}", r.stderr);
}

#[test]
fn nested_json_keys_work_where_sops_nix_fails() {
    let j = "corpus/json/types.enc.json";
    let r = install(
        serde_json::json!([
            secret("deep", j, "json", "nested/map/deep"),
            secret("deep2", j, "json", r#"["nested"]["map"]["deep"]"#),
            secret("float", j, "json", "float_1234568000"),
            secret("bool", j, "json", "bool_true"),
        ]),
        "keys/age/key1.txt",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let deep = r.file("/run/secrets/deep");
    assert_eq!(deep, b"value");
    assert_eq!(deep, r.file("/run/secrets/deep2"));
    assert_eq!(r.file("/run/secrets/float"), b"1234568000");
    assert_eq!(r.file("/run/secrets/bool"), b"true");
}

#[test]
fn whole_files_of_every_store_equal_sops_decrypt() {
    let cases = [
        ("y", "corpus/yaml/nested.enc.yaml", "yaml"),
        ("j", "corpus/json/types.enc.json", "json"),
        ("e", "corpus/dotenv/basic.enc.env", "dotenv"),
        ("i", "corpus/ini/sections.enc.ini", "ini"),
        ("b", "corpus/binary/allbytes.enc.bin", "binary"),
    ];
    let r = install(
        serde_json::Value::Array(
            cases
                .iter()
                .map(|(n, f, fmt)| secret(n, f, fmt, ""))
                .collect(),
        ),
        "keys/age/key1.txt",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for (n, f, _) in cases {
        let want = std::fs::read(fx(&format!("{f}.decrypted"))).unwrap();
        assert_eq!(r.file(&format!("/run/secrets/{n}")), want, "{f}");
    }
}

#[test]
fn a_missing_key_names_the_key_and_the_file_and_installs_nothing() {
    let y = "corpus/yaml/nested.enc.yaml";
    let r = install(
        serde_json::json!([
            secret("ok", y, "yaml", "top/sibling"),
            secret("bad", y, "yaml", "top/nope"),
        ]),
        "keys/age/key1.txt",
    );
    assert_eq!(r.code, 11, "{}", r.stderr);
    assert!(r.stderr.contains("nested.enc.yaml"), "{}", r.stderr);
    assert!(r.stderr.contains(r#"["top"]["nope"]"#), "{}", r.stderr);
    assert!(
        r.stderr.contains("\"bad\"") || r.stderr.contains("bad:"),
        "{}",
        r.stderr
    );
    assert!(!r.exists("/run/secrets"), "all-or-nothing: no generation");
}

#[test]
fn a_file_for_another_key_lists_its_recipients() {
    let r = install(
        serde_json::json!([secret(
            "x",
            "corpus/yaml/nested.enc.yaml",
            "yaml",
            "top/sibling"
        )]),
        "keys/age/key2.txt",
    );
    assert_eq!(r.code, 11, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("no identity matches this file (recipients: age1"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("deep value") && !r.stderr.contains("AGE-SECRET-KEY"),
        "{}",
        r.stderr
    );
}

/// The metrics file passes `promtool check metrics` (Prometheus' own linter), after a success
/// and after a failure. CI installs promtool; elsewhere the test says it skipped.
#[test]
fn metrics_pass_promtool() {
    let promtool = match Command::new("promtool").arg("--version").output() {
        Ok(o) if o.status.success() => "promtool",
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI must have promtool (.ci/run installs prometheus)")
        }
        _ => {
            eprintln!("SKIPPED: promtool not installed");
            return;
        }
    };
    let y = "corpus/yaml/nested.enc.yaml";
    for (secrets, key, code) in [
        (
            serde_json::json!([secret("a", y, "yaml", "top/sibling")]),
            "keys/age/key1.txt",
            0,
        ),
        (
            serde_json::json!([secret("a", y, "yaml", "top/sibling")]),
            "keys/age/key2.txt",
            11,
        ),
    ] {
        let root = tempfile::tempdir().unwrap();
        let plan = serde_json::json!({
            "version": 1, "ageKeyFile": fx(key), "metrics": {"directory": "/prom", "secretNames": true},
            "secrets": secrets,
        });
        let p = root.path().join("plan.json");
        std::fs::write(&p, serde_json::to_vec(&plan).unwrap()).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(["install", "--root"])
            .arg(root.path())
            .arg(&p)
            .env_remove("SOPS_AGE_KEY_FILE")
            .env("HOME", root.path())
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let prom = std::fs::read(root.path().join("prom/keyward.prom")).unwrap();
        let mut child = Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&prom).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Without root privileges (as the README's demo runs), install still works into a temporary
/// root: nothing is mounted, every file belongs to the caller, modes are exact. As root, the
/// test drops to uid/gid 65534 with `setpriv` to prove it.
#[test]
fn a_user_without_root_privileges_installs_into_a_temporary_root() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let plan = serde_json::json!({
        "version": 1, "ageKeyFile": fx("keys/age/key1.txt"),
        "secrets": [secret("deep", "corpus/yaml/nested.enc.yaml", "yaml", "top/middle/bottom")],
    });
    let p = dir.path().join("plan.json");
    std::fs::write(&p, serde_json::to_vec(&plan).unwrap()).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777)).unwrap();
    let is_root = rustix::process::geteuid().is_root();
    let mut cmd = if is_root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_keyward"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_keyward"))
    };
    let o = cmd
        .args(["install", "--root"])
        .arg(&root)
        .arg(&p)
        .env_remove("SOPS_AGE_KEY_FILE")
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("not running as root: nothing is mounted"),
        "{stderr}"
    );
    let f = root.join("run/secrets/deep");
    assert_eq!(std::fs::read(&f).unwrap(), b"deep value");
    let m = std::fs::metadata(&f).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o400);
    let me = if is_root {
        65534
    } else {
        rustix::process::geteuid().as_raw()
    };
    assert_eq!(m.uid(), me);
    let gen = std::fs::metadata(root.join("run/secrets.d/1")).unwrap();
    assert_eq!(gen.mode() & 0o7777, 0o751);
}
