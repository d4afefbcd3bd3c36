//! `keyward install`, rule by rule, on a temporary root with a sops test double.

mod common;

use common::*;
use serde_json::json;

fn db(env: &Env) -> String {
    env.write(
        "secrets/db.yaml",
        "#lastmodified 2024-05-06T07:08:09Z\ndb/password: hunter2\ndb/port: int:5432\ntoken: abc\n",
    )
}

#[test]
fn installs_nested_keys_in_both_syntaxes_with_exact_bytes_modes_and_generation_1() {
    let env = Env::new();
    let f = db(&env);
    let out = env.install(&plan(json!([
        {"name": "db/password", "sopsFile": f, "key": "db/password", "mode": "0440"},
        {"name": "port", "sopsFile": f, "key": "[\"db\"][\"port\"]"},
        {"name": "token", "sopsFile": f},
    ])));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(env.current().as_deref(), Some("run/secrets.d/1"));
    let g = env.r("/run/secrets.d/1");
    assert_eq!(std::fs::read(g.join("db/password")).unwrap(), b"hunter2");
    assert_eq!(std::fs::read(g.join("port")).unwrap(), b"5432");
    assert_eq!(std::fs::read(g.join("token")).unwrap(), b"abc");
    assert_eq!(mode(&g.join("db/password")), 0o440);
    assert_eq!(mode(&g.join("token")), 0o400);
    assert_eq!(mode(&g.join("db")), 0o751);
    assert_eq!(mode(&g), 0o751);
    assert_eq!(owner(&g.join("token")), expect_owner((0, 0)));
    assert!(
        out.stderr.contains("installed generation 1"),
        "{}",
        out.stderr
    );
}

#[test]
fn decrypts_each_sops_file_exactly_once() {
    let env = Env::new();
    let f = db(&env);
    let g = env.write("secrets/other.yaml", "x: 1\n");
    let out = env.install(&plan(json!([
        {"name": "a", "sopsFile": f, "key": "token"},
        {"name": "b", "sopsFile": f, "key": "db/password"},
        {"name": "c", "sopsFile": f, "key": "db/port"},
        {"name": "d", "sopsFile": g, "key": "x"},
    ])));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(env.fake.calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert!(env.fake.per_file.lock().unwrap().values().all(|n| *n == 1));
}

#[test]
fn unchanged_input_decrypts_nothing_and_keeps_the_generation() {
    let env = Env::new();
    let f = db(&env);
    let p = plan(json!([{"name": "token", "sopsFile": f}]));
    assert_eq!(env.install(&p).code, 0);
    let before = env.fake.calls.load(std::sync::atomic::Ordering::SeqCst);
    let out = env.install(&p);
    assert_eq!(out.code, 0);
    assert_eq!(
        env.fake.calls.load(std::sync::atomic::Ordering::SeqCst),
        before
    );
    assert!(
        out.stderr.contains("unchanged (generation 1"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
    assert_eq!(env.current().as_deref(), Some("run/secrets.d/1"));
    assert!(!env.r("/run/secrets.d/2").exists());
}

#[test]
fn a_damaged_current_generation_is_not_unchanged() {
    let env = Env::new();
    let f = db(&env);
    let p = plan(json!([{"name": "token", "sopsFile": f}]));
    assert_eq!(env.install(&p).code, 0);
    std::fs::remove_file(env.r("/run/secrets.d/1/token")).unwrap();
    let out = env.install(&p);
    assert_eq!(out.code, 0);
    assert_eq!(env.current().as_deref(), Some("run/secrets.d/2"));
    assert_eq!(out.stdout, "adding secret: token\n");
}

/// sops-nix rewrites every file on every activation: a secret emptied or edited by hand (same
/// mode and owner) is repaired by a new generation and reported as modified.
#[test]
fn a_secret_edited_in_place_is_not_unchanged() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let f = db(&env);
    let p = plan(json!([{"name": "token", "sopsFile": f}]));
    assert_eq!(env.install(&p).code, 0);
    let file = env.r("/run/secrets.d/1/token");
    let want = std::fs::read(&file).unwrap();
    let m = mode(&file);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&file, b"").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(m)).unwrap();
    let out = env.install(&p);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(env.current().as_deref(), Some("run/secrets.d/2"));
    assert_eq!(std::fs::read(env.r("/run/secrets/token")).unwrap(), want);
    assert_eq!(out.stdout, "modifying secret: token\n");
    // and then it is unchanged again
    let out = env.install(&p);
    assert!(
        out.stderr.contains("unchanged (generation 2"),
        "{}",
        out.stderr
    );
}

#[test]
fn change_lines_use_sops_nix_wording_and_first_boot_prints_none() {
    let env = Env::new();
    let f = db(&env);
    let p1 = json!({"version": 1, "secrets": [
        {"name": "token", "sopsFile": f},
        {"name": "old", "sopsFile": f, "key": "token"}],
        "placeholderBySecretName": {"token": "<TOKEN>", "old": "<OLD>"},
        "templates": [{"name": "gone.conf", "content": "x"}, {"name": "app.conf", "content": "t=<TOKEN>\n"}]});
    let out = env.install(&p1);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""));
    env.write("secrets/db.yaml", "token: new\nnew: 1\n");
    let p2 = json!({"version": 1, "secrets": [
        {"name": "token", "sopsFile": f},
        {"name": "b-new", "sopsFile": f, "key": "new"},
        {"name": "a-new", "sopsFile": f, "key": "new"}],
        "placeholderBySecretName": {"token": "<TOKEN>", "a-new": "<A>", "b-new": "<B>"},
        "templates": [{"name": "app.conf", "content": "t=<TOKEN>\n"}, {"name": "added.conf", "content": "y"}]});
    let out = env.install(&p2);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "adding secret: a-new, b-new\nmodifying secret: token\nremoving secret: old\n\
         adding rendered secret: added.conf\nmodifying rendered secret: app.conf\nremoving rendered secret: gone.conf\n"
    );
    assert_eq!(
        std::fs::read(env.r("/run/secrets/rendered/app.conf")).unwrap(),
        b"t=new\n"
    );
}

#[test]
fn all_or_nothing_keeps_the_old_generation_and_names_every_failed_secret() {
    let env = Env::new();
    let f = db(&env);
    assert_eq!(
        env.install(&plan(json!([{"name": "token", "sopsFile": f}])))
            .code,
        0
    );
    let bad = env.write("secrets/bad.yaml", "CORRUPT\n");
    let other = env.write("secrets/other.yaml", "OTHER-KEY\nk: v\n");
    let out = env.install(&plan(json!([
        {"name": "token", "sopsFile": f},
        {"name": "missing-key", "sopsFile": f, "key": "db/nope"},
        {"name": "corrupt", "sopsFile": bad},
        {"name": "foreign", "sopsFile": other, "key": "k"},
        {"name": "absent", "sopsFile": env.path("secrets/absent.yaml")},
    ])));
    assert_eq!(out.code, 11, "{}", out.stderr);
    for name in ["missing-key", "corrupt", "foreign", "absent"] {
        assert!(
            out.stderr.contains(&format!("secret \"{name}\": ")),
            "{name}: {}",
            out.stderr
        );
    }
    assert!(
        out.stderr.contains(&format!(
            "secret \"missing-key\": {f}: key [\"db\"][\"nope\"] not found"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("no identity matches this file"),
        "{}",
        out.stderr
    );
    assert!(out
        .stderr
        .contains("4 secret(s) or template(s) failed; generation 1 stays current"));
    assert_eq!(env.current().as_deref(), Some("run/secrets.d/1"));
    assert!(!env.r("/run/secrets.d/2").exists());
}

#[test]
fn partial_policy_installs_what_decrypts_and_exits_12() {
    let env = Env::new();
    let f = db(&env);
    let bad = env.write("secrets/bad.yaml", "CORRUPT\n");
    let mut p = plan(json!([
        {"name": "token", "sopsFile": f},
        {"name": "corrupt", "sopsFile": bad},
    ]));
    p["failurePolicy"] = json!("partial");
    let out = env.install(&p);
    assert_eq!(out.code, 12, "{}", out.stderr);
    assert!(out.stderr.contains("secret \"corrupt\": "));
    assert_eq!(std::fs::read(env.r("/run/secrets/token")).unwrap(), b"abc");
    assert!(!env.r("/run/secrets/corrupt").exists());
    // A partial generation is never "unchanged": the next run tries again.
    let again = env.install(&p);
    assert_eq!(again.code, 12);
    assert_eq!(env.current().as_deref(), Some("run/secrets.d/2"));
}

#[test]
fn a_non_string_leaf_is_written_as_sops_prints_it_and_a_mapping_is_refused_by_name() {
    let env = Env::new();
    let f = db(&env);
    let out = env.install(&plan(
        json!([{"name": "whole-db", "sopsFile": f, "key": "db"}]),
    ));
    assert_eq!(out.code, 11);
    assert!(
        out.stderr.contains(&format!(
            "secret \"whole-db\": {f}: key [\"db\"] is a mapping, not a value"
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn an_unknown_owner_fails_naming_the_secret() {
    let env = Env::new();
    let f = db(&env);
    env.write(
        "root/etc/passwd",
        "root:x:0:0::/root:/bin/sh\nalice:x:1000:100::/home/alice:/bin/sh\n",
    );
    env.write("root/etc/group", "root:x:0:\nusers:x:100:\nkeys:x:96:\n");
    let out = env.install(&plan(json!([
        {"name": "ok", "sopsFile": f, "key": "token", "owner": "alice", "group": "users"},
        {"name": "t", "sopsFile": f, "key": "token", "owner": "mallory"},
    ])));
    assert_eq!(out.code, 11);
    assert!(
        out.stderr
            .contains("secret \"t\": owner \"mallory\" does not exist"),
        "{}",
        out.stderr
    );
    assert!(env.current().is_none());
}

#[test]
fn owners_by_name_and_number_and_the_keys_group_on_directories() {
    let env = Env::new();
    let f = db(&env);
    env.write(
        "root/etc/passwd",
        "root:x:0:0::/root:/bin/sh\nalice:x:1000:100::/home/alice:/bin/sh\n",
    );
    env.write("root/etc/group", "root:x:0:\nusers:x:100:\nkeys:x:96:\n");
    let out = env.install(&plan(json!([
        {"name": "named/x", "sopsFile": f, "key": "token", "owner": "alice", "group": "users"},
        {"name": "numeric", "sopsFile": f, "key": "token", "uid": 1001, "gid": 1001},
        {"name": "uid-only", "sopsFile": f, "key": "token", "owner": "alice"},
    ])));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let g = env.r("/run/secrets.d/1");
    assert_eq!(owner(&g.join("named/x")), expect_owner((1000, 100)));
    assert_eq!(owner(&g.join("numeric")), expect_owner((1001, 1001)));
    assert_eq!(owner(&g.join("uid-only")), expect_owner((1000, 0)));
    assert_eq!(owner(&g.join("named")), expect_owner((0, 96)));
}

#[test]
fn path_links_point_through_the_stable_symlink_and_stale_links_are_removed() {
    let env = Env::new();
    let f = db(&env);
    std::fs::create_dir_all(env.r("/etc/app")).unwrap();
    std::fs::write(env.r("/etc/app/existing"), "old file").unwrap();
    let out = env.install(&plan(json!([
        {"name": "token", "sopsFile": f, "path": "/etc/app/existing"},
        {"name": "pw", "sopsFile": f, "key": "db/password", "path": "/var/lib/svc/pw"},
    ])));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let link = |p: &str| std::fs::read_link(env.r(p)).unwrap();
    assert_eq!(link("/etc/app/existing"), env.r("/run/secrets/token"));
    assert_eq!(link("/var/lib/svc/pw"), env.r("/run/secrets/pw"));
    assert_eq!(mode(&env.r("/var/lib/svc")), 0o755);
    assert_eq!(std::fs::read(env.r("/var/lib/svc/pw")).unwrap(), b"hunter2");
    let out = env.install(&plan(
        json!([{"name": "token", "sopsFile": f, "path": "/etc/app/existing"}]),
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        std::fs::symlink_metadata(env.r("/var/lib/svc/pw")).is_err(),
        "stale link removed"
    );
    assert_eq!(link("/etc/app/existing"), env.r("/run/secrets/token"));
}

#[test]
fn path_directories_get_the_planned_mode() {
    let env = Env::new();
    let f = db(&env);
    let mut p =
        plan(json!([{"name": "token", "sopsFile": f, "path": "/home/alice/.config/app/token"}]));
    p["pathDirectories"] = json!({"mode": "0700"});
    assert_eq!(env.install(&p).code, 0);
    assert_eq!(mode(&env.r("/home/alice/.config/app")), 0o700);
    assert_eq!(mode(&env.r("/home/alice")), 0o700);
}

#[test]
fn a_path_through_a_symlink_is_refused_and_the_generation_untouched() {
    let env = Env::new();
    let f = db(&env);
    assert_eq!(
        env.install(&plan(json!([{"name": "token", "sopsFile": f}])))
            .code,
        0
    );
    let elsewhere = env.path("someone-elses-home");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::create_dir_all(env.r("/home")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, env.r("/home/bob")).unwrap();
    let out = env.install(&plan(
        json!([{"name": "token", "sopsFile": f, "path": "/home/bob/token"}]),
    ));
    assert_eq!(out.code, 11, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("secret \"token\": path /home/bob/token: ")
            && out.stderr.contains("is a symlink"),
        "{}",
        out.stderr
    );
    assert_eq!(env.current().as_deref(), Some("run/secrets.d/1"));
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn a_directory_at_symlink_path_is_replaced_by_the_link() {
    let env = Env::new();
    let f = db(&env);
    std::fs::create_dir_all(env.r("/run/secrets/stale")).unwrap();
    assert_eq!(
        env.install(&plan(json!([{"name": "token", "sopsFile": f}])))
            .code,
        0
    );
    assert_eq!(env.current().as_deref(), Some("run/secrets.d/1"));
}

#[test]
fn pruning_follows_keep_generations() {
    let env = Env::new();
    let f = db(&env);
    for g in 2..=99 {
        std::fs::create_dir_all(env.r(&format!("/run/secrets.d/{g}"))).unwrap();
    }
    std::fs::create_dir_all(env.r("/run/secrets.d/non-numeric")).unwrap();
    std::fs::create_dir_all(env.r("/run")).unwrap();
    std::os::unix::fs::symlink(env.r("/run/secrets.d/99"), env.r("/run/secrets")).unwrap();
    let mut p = plan(json!([{"name": "token", "sopsFile": f}]));
    p["keepGenerations"] = json!(0);
    assert_eq!(env.install(&p).code, 0);
    assert!(env.r("/run/secrets.d/100").is_dir());
    assert!(env.r("/run/secrets.d/2").is_dir());
    p["keepGenerations"] = json!(10);
    p["secrets"][0]["mode"] = json!("0440");
    assert_eq!(env.install(&p).code, 0);
    assert_eq!(env.current().as_deref(), Some("run/secrets.d/101"));
    assert!(!env.r("/run/secrets.d/91").exists());
    assert!(env.r("/run/secrets.d/92").is_dir());
    assert!(env.r("/run/secrets.d/non-numeric").is_dir());
}

#[test]
fn default_keep_generations_leaves_only_the_current_one() {
    let env = Env::new();
    let f = db(&env);
    let mut p = plan(json!([{"name": "token", "sopsFile": f}]));
    assert_eq!(env.install(&p).code, 0);
    p["secrets"][0]["mode"] = json!("0440");
    assert_eq!(env.install(&p).code, 0);
    let names: Vec<String> = std::fs::read_dir(env.r("/run/secrets.d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["2".to_string()]);
}

#[test]
fn a_leftover_half_written_generation_is_removed_first() {
    let env = Env::new();
    let f = db(&env);
    std::fs::create_dir_all(env.r("/run/secrets.d/1/junk")).unwrap();
    assert_eq!(
        env.install(&plan(json!([{"name": "token", "sopsFile": f}])))
            .code,
        0
    );
    assert!(!env.r("/run/secrets.d/1/junk").exists());
    assert_eq!(std::fs::read(env.r("/run/secrets/token")).unwrap(), b"abc");
}

#[test]
fn dry_activate_prints_would_lines_and_writes_nothing() {
    let mut env = Env::new();
    let f = db(&env);
    std::fs::create_dir_all(env.r("/run/nixos")).unwrap();
    let mut p = plan(json!([{"name": "token", "sopsFile": f, "restartUnits": ["a.service"]}]));
    p["metrics"] = json!({"directory": "/var/lib/prom"});
    assert_eq!(env.install(&p).code, 0);
    std::fs::remove_dir_all(env.r("/var/lib/prom")).unwrap();
    env.write("secrets/db.yaml", "token: changed\nnew: x\n");
    p["secrets"] = json!([{"name": "token", "sopsFile": f, "restartUnits": ["a.service"]}, {"name": "new", "sopsFile": f}]);
    let before = env.tree();
    env.dry_run = true;
    let out = env.install(&p);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "would add secret: new\nwould modify secret: token\nwould restart a.service\n"
    );
    assert_eq!(env.tree(), before);
}

#[test]
fn units_are_queued_only_for_changed_entries_after_the_switch_and_never_at_first_boot() {
    let env = Env::new();
    let f = db(&env);
    std::fs::create_dir_all(env.r("/run/nixos")).unwrap();
    let p = json!({"version": 1, "secrets": [
        {"name": "token", "sopsFile": f, "restartUnits": ["web.service", "web.service"], "reloadUnits": ["nginx.service"]},
        {"name": "pw", "sopsFile": f, "key": "db/password", "restartUnits": ["db.service"]}]});
    assert_eq!(env.install(&p).code, 0);
    assert!(
        !env.r("/run/nixos/activation-restart-list").exists(),
        "nothing at first boot"
    );
    env.write("secrets/db.yaml", "token: rotated\ndb/password: hunter2\n");
    assert_eq!(env.install(&p).code, 0);
    assert_eq!(
        std::fs::read_to_string(env.r("/run/nixos/activation-restart-list")).unwrap(),
        "web.service\n"
    );
    assert_eq!(
        std::fs::read_to_string(env.r("/run/nixos/activation-reload-list")).unwrap(),
        "nginx.service\n"
    );
    assert_eq!(mode(&env.r("/run/nixos/activation-restart-list")), 0o600);
}

#[test]
fn with_systemctl_units_are_try_restarted_no_block() {
    let mut env = Env::new();
    let f = db(&env);
    let log = env.path("systemctl.log");
    let script = env.write(
        "systemctl",
        &format!("#!/bin/sh\necho \"$@\" >> {}\n", log.display()),
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    env.systemctl = Some(script);
    let p = plan(
        json!([{"name": "token", "sopsFile": f, "restartUnits": ["a.service"], "reloadUnits": ["b.service"]}]),
    );
    assert_eq!(env.install(&p).code, 0);
    assert!(!log.exists());
    env.write("secrets/db.yaml", "token: rotated\n");
    assert_eq!(env.install(&p).code, 0);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "--no-block try-restart a.service\n--no-block try-reload-or-restart b.service\n"
    );
}

#[test]
fn metrics_are_a_0644_textfile_without_secret_names() {
    let env = Env::new();
    let f = db(&env);
    let mut p = plan(json!([{"name": "very-secret-name", "sopsFile": f, "key": "token"}]));
    p["metrics"] = json!({"directory": "/var/lib/prometheus-node-exporter"});
    assert_eq!(env.install(&p).code, 0);
    let m = env.r("/var/lib/prometheus-node-exporter/keyward.prom");
    assert_eq!(mode(&m), 0o644);
    let text = std::fs::read_to_string(&m).unwrap();
    assert!(!text.contains("very-secret-name"));
    for line in [
        "keyward_last_run_success{plan=\"/run/secrets\"} 1",
        "keyward_secrets_installed{plan=\"/run/secrets\"} 1",
        "keyward_files_decrypted{plan=\"/run/secrets\"} 1",
        "keyward_generation{plan=\"/run/secrets\"} 1",
        "keyward_failures{plan=\"/run/secrets\",reason=\"no_identity\"} 0",
        &format!("keyward_sops_file_lastmodified_timestamp_seconds{{plan=\"/run/secrets\",file=\"{f}\"}} 1714979289"),
        "# TYPE keyward_stage_duration_seconds gauge",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    let names: Vec<_> = std::fs::read_dir(m.parent().unwrap()).unwrap().collect();
    assert_eq!(names.len(), 1, "no temporary file left behind");
}

#[test]
fn an_unchanged_run_still_exports_each_sops_files_lastmodified() {
    let env = Env::new();
    let f = db(&env);
    let mut p = plan(json!([{"name": "x", "sopsFile": f, "key": "token"}]));
    p["metrics"] = json!({"directory": "/prom"});
    assert_eq!(env.install(&p).code, 0);
    let out = env.install(&p);
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("unchanged"), "{}", out.stderr);
    let text = std::fs::read_to_string(env.r("/prom/keyward.prom")).unwrap();
    for line in [
        "keyward_last_run_unchanged{plan=\"/run/secrets\"} 1",
        "keyward_files_decrypted{plan=\"/run/secrets\"} 0",
        &format!("keyward_sops_file_lastmodified_timestamp_seconds{{plan=\"/run/secrets\",file=\"{f}\"}} 1714979289"),
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn metrics_count_failures_by_reason() {
    let env = Env::new();
    let bad = env.write("secrets/bad.yaml", "CORRUPT\n");
    let mut p = plan(json!([{"name": "x", "sopsFile": bad}]));
    p["metrics"] = json!({"directory": "/prom", "secretNames": true});
    assert_eq!(env.install(&p).code, 11);
    let text = std::fs::read_to_string(env.r("/prom/keyward.prom")).unwrap();
    assert!(text.contains("keyward_last_run_success{plan=\"/run/secrets\"} 0\n"));
    assert!(
        text.contains("keyward_failures{plan=\"/run/secrets\",reason=\"not_sops\"} 1\n"),
        "{text}"
    );
}

#[test]
fn audit_events_go_to_the_journal_socket_with_a_message_id_per_event() {
    let env = Env::new();
    let f = db(&env);
    std::fs::create_dir_all(env.r("/run/systemd/journal")).unwrap();
    let sock =
        std::os::unix::net::UnixDatagram::bind(env.r("/run/systemd/journal/socket")).unwrap();
    sock.set_nonblocking(true).unwrap();
    let out = env.install(&plan(json!([{"name": "token", "sopsFile": f}])));
    assert_eq!(out.code, 0);
    assert!(
        !out.stderr.contains("audit:"),
        "no stderr fallback when the journal is there"
    );
    let mut events = Vec::new();
    let mut buf = [0u8; 65536];
    while let Ok(n) = sock.recv(&mut buf) {
        events.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| {
            e.lines()
                .find_map(|l| l.strip_prefix("KEYWARD_EVENT="))
                .unwrap()
        })
        .collect();
    assert_eq!(
        kinds,
        vec!["run-started", "generation-switched", "secret-added"]
    );
    assert!(events[2].contains("MESSAGE_ID=8d3e6a1c0f2b4c5e9a7d1b3f5e7c9a02\n"));
    assert!(events[2].contains("KEYWARD_SECRET=token\n"));
    assert!(events[0].contains("KEYWARD_PLAN_DIGEST="));
}

#[test]
fn without_a_journal_audit_events_are_stderr_lines() {
    let env = Env::new();
    let f = db(&env);
    let out = env.install(&plan(json!([{"name": "token", "sopsFile": f}])));
    assert!(
        out.stderr
            .contains("keyward: audit: event=secret-added secret=token template=0 path="),
        "{}",
        out.stderr
    );
}

#[test]
fn the_plaintext_appears_only_inside_the_generation() {
    let poison = "P0ISON-7f3a9c1e-value";
    let env = Env::new();
    let f = env.write("secrets/p.yaml", &format!("p: {poison}\nq: other\n"));
    let mut p = json!({"version": 1, "secrets": [
        {"name": "p", "sopsFile": f, "path": "/etc/p", "restartUnits": ["p.service"]},
        {"name": "missing", "sopsFile": f, "key": "p/deeper"}],
        "failurePolicy": "partial",
        "placeholderBySecretName": {"p": "<P>", "missing": "<M>"},
        "templates": [{"name": "t", "content": "v=<P>"}],
        "metrics": {"directory": "/prom", "secretNames": true}});
    std::fs::create_dir_all(env.r("/run/nixos")).unwrap();
    let o1 = env.install(&p);
    p["templates"][0]["content"] = json!("w=<P>");
    let o2 = env.install(&p);
    let grep = |dir: &std::path::Path, skip_gen: bool| -> Vec<String> {
        let mut hits = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let path = e.path();
                let t = e.file_type().unwrap();
                if t.is_dir() {
                    if !(skip_gen && path.parent() == Some(env.r("/run/secrets.d").as_path())) {
                        stack.push(path);
                    }
                } else if t.is_file()
                    && path != std::path::Path::new(&f)
                    && String::from_utf8_lossy(&std::fs::read(&path).unwrap()).contains(poison)
                {
                    hits.push(path.display().to_string());
                }
            }
        }
        hits
    };
    // Positive control: the grep finds the value where it belongs.
    let inside = grep(&env.r("/run/secrets.d"), false);
    assert_eq!(inside.len(), 2, "{inside:?}");
    assert_eq!(grep(env.dir.path(), true), Vec::<String>::new());
    for o in [&o1, &o2] {
        assert!(!o.stdout.contains(poison) && !o.stderr.contains(poison));
    }
    assert!(o1.stderr.contains("audit:"));
}

#[test]
fn user_mode_expands_percent_r_and_needs_no_root() {
    let mut env = Env::new();
    let f = db(&env);
    let xdg = env.r("/run/user/1000");
    std::fs::create_dir_all(&xdg).unwrap();
    env.xdg = Some("/run/user/1000".into());
    let p = json!({"version": 1, "userMode": true, "secretsMountPoint": "%r/secrets.d",
        "symlinkPath": "%r/secrets", "secrets": [{"name": "token", "sopsFile": f, "path": "%r/cfg/token"}]});
    let out = env.install(&p);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(std::fs::read(xdg.join("secrets/token")).unwrap(), b"abc");
    assert_eq!(
        std::fs::read_link(xdg.join("secrets")).unwrap(),
        xdg.join("secrets.d/1")
    );
    assert_eq!(
        std::fs::read_link(xdg.join("cfg/token")).unwrap(),
        xdg.join("secrets/token")
    );
    let (u, g) = (
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    );
    assert_eq!(owner(&xdg.join("secrets.d/1/token")), (u, g));
}

#[test]
fn user_mode_without_xdg_runtime_dir_is_a_plan_error() {
    let env = Env::new();
    let p = json!({"userMode": true, "secretsMountPoint": "%r/secrets.d", "symlinkPath": "%r/secrets", "secrets": []});
    let out = env.install(&p);
    assert_eq!(out.code, 10);
    assert!(
        out.stderr
            .contains("the plan uses %r but XDG_RUNTIME_DIR is not set"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_second_run_waits_for_the_lock_then_times_out_with_a_clear_message() {
    let env = Env::new();
    let f = db(&env);
    let p = plan(json!([{"name": "token", "sopsFile": f}]));
    assert_eq!(env.install(&p).code, 0);
    let held = std::fs::File::open(env.r("/run/secrets.d")).unwrap();
    rustix::fs::flock(&held, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let out = env.install(&p);
    assert_eq!(out.code, 14);
    assert!(
        out.stderr
            .contains("another keyward install holds the lock on"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("(waited 1s)"));
}

#[test]
fn missing_plan_and_unknown_version_are_plan_errors() {
    let env = Env::new();
    let out = env.install_file(&env.path("nope.json"));
    assert_eq!(out.code, 10);
    assert!(out.stderr.starts_with(&format!(
        "keyward: {}: cannot read the plan: No such file",
        env.path("nope.json").display()
    )));
    let out = env.install(&json!({"version": 2, "secrets": []}));
    assert_eq!(out.code, 10);
    assert!(
        out.stderr
            .contains("unknown plan version 2 (this keyward reads version 1"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_dotdot_name_is_refused_before_anything_is_written() {
    let env = Env::new();
    let f = db(&env);
    assert_eq!(
        env.install(&plan(json!([{"name": "token", "sopsFile": f}])))
            .code,
        0
    );
    let out = env.install(&plan(
        json!([{"name": "../../etc/shadow", "sopsFile": f, "key": "token"}]),
    ));
    assert_eq!(out.code, 10);
    assert!(
        out.stderr
            .contains("secret \"../../etc/shadow\": the name has a `..` component"),
        "{}",
        out.stderr
    );
    assert_eq!(env.current().as_deref(), Some("run/secrets.d/1"));
    assert!(!env.r("/run/secrets.d/2").exists());
}

#[test]
fn a_sops_nix_manifest_is_accepted_unchanged() {
    let env = Env::new();
    let f = db(&env);
    let manifest = json!({
        "ageKeyFile": null, "ageSshKeyPaths": [], "gnupgHome": null, "keepGenerations": 1,
        "logging": {"keyImport": true, "secretChanges": true},
        "placeholderBySecretName": {"token": "<SOPS:abc:PLACEHOLDER>"},
        "secrets": [{"format": "yaml", "gid": 0, "group": null, "key": "token", "mode": "0400",
            "name": "token", "neededForUsers": false, "owner": null, "path": "/run/secrets/token",
            "reloadUnits": [], "restartUnits": [], "sopsFile": f, "sopsFileHash": "x", "uid": 0,
            "somethingNew": 1}],
        "secretsMountPoint": "/run/secrets.d", "sshKeyPaths": ["/etc/ssh/ssh_host_rsa_key"],
        "symlinkPath": "/run/secrets",
        "templates": [{"content": "T=<SOPS:abc:PLACEHOLDER>\n", "file": "/nonexistent", "gid": 0,
            "group": null, "mode": "0400", "name": "app.env", "owner": null,
            "path": "/run/secrets/rendered/app.env", "reloadUnits": [], "restartUnits": [], "uid": 0}],
        "useTmpfs": false, "userMode": false});
    let out = env.install(&manifest);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("keyward: warning: skipping sshKeyPaths (/etc/ssh/ssh_host_rsa_key): RSA ssh keys for GPG are not supported, keyward is age-only\n"));
    assert!(out
        .stderr
        .contains("warning: ignoring unknown manifest field secrets[0] (\"token\").somethingNew"));
    assert_eq!(
        std::fs::read(env.r("/run/secrets/rendered/app.env")).unwrap(),
        b"T=abc\n"
    );
}
