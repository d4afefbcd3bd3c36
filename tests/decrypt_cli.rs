//! `keyward decrypt`, end to end through the binary: exact output, distinct exit codes and
//! clear messages for each kind of failure, nothing on stdout when it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures");
    if p.is_dir() {
        Some(p)
    } else if std::env::var_os("CI").is_some() {
        panic!("../shared/fixtures is missing in CI");
    } else {
        eprintln!("SKIPPED: ../shared/fixtures not found");
        None
    }
}

/// Run keyward with a clean environment: no identities but those given.
fn keyward(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

struct Fx {
    nix: PathBuf,
    key: PathBuf,
}

fn fx() -> Option<Fx> {
    let root = shared()?;
    let nix = root.join("sops-nix");
    Some(Fx {
        key: nix.join("age-keys.txt"),
        nix,
    })
}

#[test]
fn extract_prints_exactly_the_value() {
    let Some(f) = fx() else { return };
    let file = f.nix.join("secrets.yaml");
    let o = keyward(
        &[
            "decrypt",
            "--extract",
            r#"["nested"]["test"]["file"]"#,
            file.to_str().unwrap(),
        ],
        &[("SOPS_AGE_KEY_FILE", &f.key)],
    );
    assert_eq!(stderr(&o), "");
    assert_eq!(o.stdout, b"another value");
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn an_ssh_host_key_given_with_identity_opens_the_file() {
    let Some(f) = fx() else { return };
    let file = f.nix.join("secrets.yaml");
    let o = keyward(
        &[
            "decrypt",
            "--identity",
            f.nix.join("ssh-ed25519-key").to_str().unwrap(),
            "--extract",
            r#"["test_key"]"#,
            file.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(stderr(&o), "");
    assert_eq!(o.stdout, b"test_value");
}

#[test]
fn a_missing_extract_key_exits_8_and_names_the_key() {
    let Some(f) = fx() else { return };
    let file = f.nix.join("secrets.yaml");
    let o = keyward(
        &[
            "decrypt",
            "--extract",
            r#"["nested"]["nope"]"#,
            file.to_str().unwrap(),
        ],
        &[("SOPS_AGE_KEY_FILE", &f.key)],
    );
    assert_eq!(o.status.code(), Some(8));
    assert!(o.stdout.is_empty());
    assert!(
        stderr(&o).contains(r#"key ["nested"]["nope"] not found"#),
        "{}",
        stderr(&o)
    );
}

fn tmp_with(bytes: &[u8], name: &str) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    (d, p)
}

#[test]
fn failures_have_distinct_exit_codes_and_clear_messages() {
    let Some(f) = fx() else { return };
    let good = std::fs::read_to_string(f.nix.join("secrets.yaml")).unwrap();

    // A wrong MAC: swap in the MAC of another file.
    let other_mac = {
        let json = std::fs::read_to_string(f.nix.join("secrets.json")).unwrap();
        let i = json.find("\"mac\": \"").unwrap() + 8;
        json[i..i + json[i..].find('"').unwrap()].to_string()
    };
    let mac_line = good
        .lines()
        .find(|l| l.trim_start().starts_with("mac: "))
        .unwrap();
    let bad_mac = good.replace(mac_line, &format!("    mac: {other_mac}"));

    let other_key = shared()
        .unwrap()
        .join("sops-upstream/age-keysource-test-vectors/mock-other-identity.txt");
    let (_d1, wrong_mac) = tmp_with(bad_mac.as_bytes(), "wrong-mac.yaml");
    let (_d2, truncated) = tmp_with(&good.as_bytes()[..good.len() / 2], "truncated.yaml");
    let (_d3, not_sops) = tmp_with(b"hello: world\n", "plain.yaml");
    let pgp_only = f.nix.join("secrets.json");
    let good_file = f.nix.join("secrets.yaml");

    let cases: Vec<(&str, &Path, &Path, i32, &str)> = vec![
        ("wrong MAC", &wrong_mac, &f.key, 5, "MAC"),
        (
            "another key",
            &good_file,
            &other_key,
            4,
            "no identity matches this file (recipients: age1yt3tf",
        ),
        ("PGP only", &pgp_only, &f.key, 6, "keyward is age-only"),
        ("truncated", &truncated, &f.key, 9, "truncated"),
        ("not sops", &not_sops, &f.key, 3, "not a sops file"),
        (
            "missing",
            Path::new("/nonexistent/x.yaml"),
            &f.key,
            7,
            "/nonexistent/x.yaml: cannot read",
        ),
    ];
    let mut codes = std::collections::BTreeSet::new();
    for (what, file, key, code, needle) in cases {
        let o = keyward(
            &["decrypt", file.to_str().unwrap()],
            &[("SOPS_AGE_KEY_FILE", key)],
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(code), "{what}: {err}");
        assert!(o.stdout.is_empty(), "{what}: stdout must be empty");
        assert!(err.starts_with("keyward: "), "{what}: {err}");
        assert!(
            err.contains(file.file_name().unwrap().to_str().unwrap()),
            "{what} names the file: {err}"
        );
        assert!(err.contains(needle), "{what}: {err}");
        assert!(
            !err.contains("test_value") && !err.contains("another value"),
            "{what}: plaintext in {err}"
        );
        codes.insert(code);
    }
    assert_eq!(
        codes.len(),
        6,
        "wrong MAC, other key, PGP-only, truncated, not sops and I/O are distinct"
    );
}

#[test]
fn help_documents_the_exit_codes() {
    let o = keyward(&["decrypt", "--help"], &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    for line in [
        "3  not a sops file",
        "9  the file is damaged",
        "4  no identity opens the file",
        "5  integrity failure",
        "6  unsupported master keys only",
        "7  I/O error",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
}

/// Every identity source sops reads opens the file (sops-nix's secrets.yaml, age key).
#[test]
fn every_sops_identity_source_is_read() {
    let Some(f) = fx() else { return };
    let file = f.nix.join("secrets.yaml");
    let args = [
        "decrypt",
        "--extract",
        r#"["test_key"]"#,
        file.to_str().unwrap(),
    ];
    let key_text = std::fs::read_to_string(&f.key).unwrap();

    let run = |setup: &dyn Fn(&Path, &mut Command)| {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path());
        setup(home.path(), &mut cmd);
        let o = cmd.output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr(&o),
        )
    };

    let ok = (Some(0), "test_value".to_string(), String::new());
    assert_eq!(
        run(&|_, c| {
            c.env("SOPS_AGE_KEY", &key_text);
        }),
        ok,
        "SOPS_AGE_KEY"
    );
    assert_eq!(
        run(&|_, c| {
            c.env("SOPS_AGE_KEY_CMD", format!("cat '{}'", f.key.display()));
        }),
        ok,
        "SOPS_AGE_KEY_CMD"
    );
    assert_eq!(
        run(&|home, c| {
            let d = home.join("xdg/sops/age");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::copy(&f.key, d.join("keys.txt")).unwrap();
            c.env("XDG_CONFIG_HOME", home.join("xdg"));
        }),
        ok,
        "$XDG_CONFIG_HOME/sops/age/keys.txt"
    );
    assert_eq!(
        run(&|home, _| {
            let d = home.join(".config/sops/age");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::copy(&f.key, d.join("keys.txt")).unwrap();
        }),
        ok,
        "~/.config/sops/age/keys.txt"
    );
    assert_eq!(
        run(&|home, _| {
            std::fs::create_dir_all(home.join(".ssh")).unwrap();
            std::fs::copy(f.nix.join("ssh-ed25519-key"), home.join(".ssh/id_ed25519")).unwrap();
        }),
        ok,
        "~/.ssh/id_ed25519 (ssh-to-age)"
    );
    assert_eq!(
        run(&|_, c| {
            c.env(
                "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
                f.nix.join("ssh-ed25519-key"),
            );
        }),
        ok,
        "SOPS_AGE_SSH_PRIVATE_KEY_FILE"
    );
    let (code, out, err) = run(&|_, c| {
        c.env("SOPS_AGE_KEY_CMD", "exit 3");
    });
    assert_eq!((code, out.as_str()), (Some(4), ""), "{err}");
    assert!(err.contains("SOPS_AGE_KEY_CMD failed"), "{err}");
}

#[test]
fn output_goes_to_an_owner_only_file_even_if_it_existed() {
    use std::os::unix::fs::PermissionsExt;
    let Some(f) = fx() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plain.yaml");
    std::fs::write(
        &out,
        "old contents that are longer than the new ones, to see truncation\n",
    )
    .unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
    let file = f.nix.join("secrets.yaml");
    let o = keyward(
        &[
            "decrypt",
            "--extract",
            r#"["test_key"]"#,
            "--output",
            out.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
        &[("SOPS_AGE_KEY_FILE", &f.key)],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read(&out).unwrap(), b"test_value");
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
}
