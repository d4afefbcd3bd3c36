//! The `keyward` binary: exit codes, umask independence, crash safety (KEYWARD_FAULT_AT), and
//! root-only cases in a private mount namespace. These plans use templates only, so they need
//! no sops store.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn keyward() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_keyward"));
    c.env_remove("NIXOS_ACTION")
        .env_remove("SOPS_RESTART_UNITS_VIA_SYSTEMCTL")
        .env_remove("KEYWARD_FAULT_AT");
    c
}

fn plan(dir: &Path, content: &str) -> PathBuf {
    let p = dir.join("plan.json");
    let plan = serde_json::json!({"version": 1, "templates": [
        {"name": "a.conf", "content": content, "mode": "0640"},
        {"name": "sub/b.conf", "content": content, "mode": "0400"}]});
    std::fs::write(&p, plan.to_string()).unwrap();
    p
}

fn current(root: &Path) -> Option<String> {
    std::fs::read_link(root.join("run/secrets"))
        .ok()
        .map(|t| t.file_name().unwrap().to_string_lossy().into_owned())
}

#[test]
fn modes_are_exact_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let p = plan(dir.path(), "x");
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 0777; exec {} install --root {} {}",
            env!("CARGO_BIN_EXE_keyward"),
            root.display(),
            p.display()
        ))
        .status()
        .unwrap();
    assert!(st.success());
    let m = |rel: &str| std::fs::symlink_metadata(root.join(rel)).unwrap().mode() & 0o7777;
    assert_eq!(m("run/secrets.d/1/rendered/a.conf"), 0o640);
    assert_eq!(m("run/secrets.d/1/rendered/sub/b.conf"), 0o400);
    assert_eq!(m("run/secrets.d/1/rendered/sub"), 0o751);
    assert_eq!(m("run/secrets.d/1"), 0o751);
    assert_eq!(m("run/secrets.d"), 0o751);
}

#[test]
fn exit_codes_are_documented_in_help() {
    let out = keyward().args(["install", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for line in [
        " 10  the plan is missing",
        " 11  secrets failed",
        " 12  partial install",
        " 13  system error",
        " 14  timed out",
    ] {
        assert!(help.contains(line), "{line}: {help}");
    }
    let out = keyward()
        .args(["install", "/nonexistent/plan.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10));
    let out = keyward()
        .args(["check", "/nonexistent/plan.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10));
}

/// SIGKILL at every step leaves /run/secrets at the old complete generation or the new one.
#[test]
fn a_kill_at_any_step_leaves_the_old_or_the_new_generation_never_a_mix() {
    for step in keyward::install::FAULT_STEPS {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let p = plan(dir.path(), "old");
        let r = |p: &Path, fault: Option<&str>| {
            let mut c = keyward();
            c.args(["install", "--root"]).arg(&root).arg(p);
            if let Some(f) = fault {
                c.env("KEYWARD_FAULT_AT", f);
            }
            c.output().unwrap()
        };
        assert!(r(&p, None).status.success());
        let p = plan(dir.path(), "new");
        let out = r(&p, Some(step));
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(9), "{step}: killed by SIGKILL");
        let gen = current(&root).unwrap();
        let a = std::fs::read_to_string(root.join("run/secrets/rendered/a.conf")).unwrap();
        let b = std::fs::read_to_string(root.join("run/secrets/rendered/sub/b.conf")).unwrap();
        let switched = keyward::install::FAULT_STEPS
            .iter()
            .position(|s| *s == step)
            >= keyward::install::FAULT_STEPS
                .iter()
                .position(|s| *s == "switched");
        if switched {
            assert_eq!(
                (gen.as_str(), a.as_str(), b.as_str()),
                ("2", "new", "new"),
                "{step}"
            );
        } else {
            assert_eq!(
                (gen.as_str(), a.as_str(), b.as_str()),
                ("1", "old", "old"),
                "{step}"
            );
        }
        // The next run repairs whatever was left.
        let out = r(&p, None);
        assert!(
            out.status.success(),
            "{step}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read_to_string(root.join("run/secrets/rendered/a.conf")).unwrap(),
            "new"
        );
    }
}

fn have_unshare() -> bool {
    rustix::process::geteuid().is_root()
        && Command::new("unshare")
            .args(["--mount", "--propagation", "private", "true"])
            .status()
            .is_ok_and(|s| s.success())
}

/// Run `script` as root in a private mount namespace; returns (status, stdout+stderr).
fn in_namespace(script: &str) -> (i32, String) {
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn as_root_a_ramfs_is_mounted_and_files_are_chowned_to_the_plan_owners() {
    if !have_unshare() {
        println!("SKIPPED: needs root and unshare --mount (runs in CI as root)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0::/root:/bin/sh\nsvc:x:4242:4343::/var/empty:/bin/false\n",
    )
    .unwrap();
    std::fs::write(
        root.join("etc/group"),
        "root:x:0:\nsvc:x:4343:\nkeys:x:96:\n",
    )
    .unwrap();
    let p = dir.path().join("plan.json");
    std::fs::write(&p, serde_json::json!({"version": 1, "templates": [
        {"name": "svc.conf", "content": "x", "owner": "svc", "group": "svc", "mode": "0440", "path": "/etc/svc/svc.conf"}]}).to_string()).unwrap();
    let k = env!("CARGO_BIN_EXE_keyward");
    let r = root.display();
    let (code, out) = in_namespace(&format!(
        "{k} install --mount --root {r} {p} && grep ' {r}/run/secrets.d ' /proc/self/mounts | cut -d' ' -f3,4 && \
         stat -c '%u %g %a' {r}/run/secrets.d/1/rendered/svc.conf {r}/run/secrets.d/1/rendered {r}/run/secrets.d && \
         stat -c '%u %g' -L {r}/etc/svc/svc.conf",
        p = p.display()
    ));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("ramfs rw,nosuid,nodev,noexec,relatime,mode=751\n"),
        "{out}"
    );
    assert!(
        out.contains("4242 4343 440\n0 96 751\n0 96 751\n4242 4343\n"),
        "{out}"
    );
    // Nothing leaked into the host's mount table.
    let host = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(!host.contains(&format!("{r}/run")));
}

#[test]
fn a_full_mount_fails_naming_the_entry_and_keeps_the_old_generation() {
    if !have_unshare() {
        println!("SKIPPED: needs root and unshare --mount (runs in CI as root)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("run/secrets.d")).unwrap();
    let small = dir.path().join("small.json");
    std::fs::write(&small, serde_json::json!({"version": 1, "useTmpfs": true, "templates": [{"name": "t", "content": "small"}]}).to_string()).unwrap();
    let big = dir.path().join("big.json");
    std::fs::write(&big, serde_json::json!({"version": 1, "useTmpfs": true, "templates": [{"name": "t", "content": "x".repeat(1 << 20)}]}).to_string()).unwrap();
    let k = env!("CARGO_BIN_EXE_keyward");
    let r = root.display();
    let (code, out) = in_namespace(&format!(
        "mount -t tmpfs -o size=64k,mode=0751 tmpfs {r}/run/secrets.d && {k} install --mount --root {r} {s} && \
         {{ {k} install --mount --root {r} {b}; echo \"exit=$?\"; }}; readlink {r}/run/secrets; cat {r}/run/secrets/rendered/t; echo; ls {r}/run/secrets.d",
        s = small.display(),
        b = big.display()
    ));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("keyward: template \"t\": cannot write "),
        "{out}"
    );
    assert!(out.contains("No space left on device"), "{out}");
    assert!(out.contains("exit=13\n"), "{out}");
    assert!(
        out.contains(&format!("{r}/run/secrets.d/1\nsmall\n1\n")),
        "{out}"
    );
}

/// End to end with the native JSON store and a real age key: nested JSON keys in both
/// syntaxes, list indices, non-string leaves written as sops prints them.
#[test]
fn real_json_sops_file_nested_keys_lists_and_typed_leaves() {
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let file = fx.join("corpus/json/types.enc.json");
    let key = fx.join("keys/age/key1.txt");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let f = file.display().to_string();
    let secret = |name: &str, k: &str| serde_json::json!({"name": name, "key": k, "sopsFile": f, "format": "json"});
    let p = dir.path().join("plan.json");
    std::fs::write(
        &p,
        serde_json::json!({"version": 1, "ageKeyFile": key, "secrets": [
            secret("deep", "nested/map/deep"),
            secret("list1", "[\"nested\"][\"list\"][1]"),
            secret("alice", "nested/list_of_maps/0/name"),
            secret("int", "int"),
            secret("float", "float"),
            secret("bool", "bool_true"),
        ]})
        .to_string(),
    )
    .unwrap();
    let out = keyward()
        .args(["install", "--root"])
        .arg(&root)
        .arg(&p)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |n: &str| std::fs::read_to_string(root.join("run/secrets").join(n)).unwrap();
    assert_eq!(
        [
            read("deep"),
            read("list1"),
            read("alice"),
            read("int"),
            read("float"),
            read("bool")
        ],
        ["value", "two", "alice", "42", "3.14159", "true"]
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("keyward: imported {} (age1", key.display())),
        "{stderr}"
    );

    // A missing key names the key and the file; the generation stays.
    std::fs::write(&p, serde_json::json!({"version": 1, "ageKeyFile": key, "secrets": [secret("x", "nested/nope")]}).to_string()).unwrap();
    let out = keyward()
        .args(["install", "--root"])
        .arg(&root)
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(11));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "keyward: secret \"x\": {f}: key [\"nested\"][\"nope\"] not found"
        )),
        "{stderr}"
    );
    assert_eq!(current(&root).as_deref(), Some("1"));

    // Another key: no identity matches, old generation kept.
    std::fs::write(&p, serde_json::json!({"version": 1, "ageKeyFile": fx.join("keys/age/key2.txt"), "secrets": [secret("deep", "nested/map/deep")]}).to_string()).unwrap();
    let out = keyward()
        .args(["install", "--root"])
        .arg(&root)
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(11));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("secret \"deep\": ")
            && String::from_utf8_lossy(&out.stderr).contains("no identity matches this file")
    );
    assert_eq!(current(&root).as_deref(), Some("1"));
}
