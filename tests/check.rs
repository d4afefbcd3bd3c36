//! `keyward check`: the build-time validation, and the plan schema.

mod common;

use common::*;
use keyward::cli::CheckArgs;
use serde_json::json;

fn check(env: &Env, plan: &serde_json::Value, sops_files: bool) -> (u8, String) {
    let p = env.write("plan.json", &plan.to_string());
    let mut err = Vec::new();
    let code = keyward::commands::check::check(
        &CheckArgs {
            plan: p.into(),
            sops_files,
        },
        &env.fake,
        &mut err,
    );
    (code, String::from_utf8(err).unwrap())
}

fn errors(plan: serde_json::Value) -> String {
    let env = Env::new();
    let (code, err) = check(&env, &plan, false);
    assert_eq!(code, 10, "expected a failure: {err}");
    err
}

#[test]
fn a_valid_plan_passes_without_keys_or_root() {
    let env = Env::new();
    let (code, err) = check(
        &env,
        &plan(json!([{"name": "a/b", "sopsFile": "/nix/store/x.yaml"}])),
        false,
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.ends_with(": ok (1 secrets, 0 templates)\n"), "{err}");
}

#[test]
fn unknown_fields_are_errors_in_a_v1_plan() {
    let err = errors(json!({"version": 1, "secretz": []}));
    assert!(err.contains(": plan: unknown field secretz\n"), "{err}");
}

#[test]
fn names_escaping_the_mount_are_refused() {
    for (name, why) in [
        ("../x", "the name has a `..` component"),
        ("/etc/x", "the name is absolute"),
        ("a//b", "the name has an empty component"),
        ("a\u{0}b", "the name contains a NUL byte"),
        ("", "the name is empty"),
    ] {
        let err = errors(plan(json!([{"name": name, "sopsFile": "/s.yaml"}])));
        assert!(err.contains(why), "{name:?}: {err}");
    }
}

#[test]
fn bad_modes_and_formats_are_refused() {
    let err = errors(plan(
        json!([{"name": "a", "sopsFile": "/s", "mode": "0999"}]),
    ));
    assert!(
        err.contains("secret \"a\": mode \"0999\" is not an octal mode"),
        "{err}"
    );
    let err = errors(plan(
        json!([{"name": "a", "sopsFile": "/s", "format": "toml"}]),
    ));
    assert!(
        err.contains("format \"toml\" is not one of yaml, json, binary, dotenv, ini"),
        "{err}"
    );
}

#[test]
fn duplicate_names_and_paths_are_refused() {
    let err = errors(plan(json!([
        {"name": "a", "sopsFile": "/s"}, {"name": "a", "sopsFile": "/s"},
        {"name": "b", "sopsFile": "/s", "path": "/etc/x"}, {"name": "c", "sopsFile": "/s", "path": "/etc/x"}])));
    assert!(
        err.contains("secret \"a\": a secret with this name is declared twice"),
        "{err}"
    );
    assert!(
        err.contains("secret \"c\": path \"/etc/x\" is also the path of secret \"b\""),
        "{err}"
    );
}

#[test]
fn a_secret_that_is_also_a_directory_is_refused() {
    let err = errors(plan(
        json!([{"name": "a", "sopsFile": "/s"}, {"name": "a/b", "sopsFile": "/s"}]),
    ));
    assert!(
        err.contains("secret \"a\": it is a file, but secret \"a/b\" needs it to be a directory"),
        "{err}"
    );
}

#[test]
fn a_unit_without_a_suffix_is_refused() {
    let err = errors(plan(
        json!([{"name": "a", "sopsFile": "/s", "restartUnits": ["nginx"]}]),
    ));
    assert!(
        err.contains("unit \"nginx\" has no unit suffix (did you mean \"nginx.service\"?)"),
        "{err}"
    );
}

#[test]
fn secrets_of_one_file_must_agree_on_its_format() {
    let err = errors(plan(
        json!([{"name": "a", "sopsFile": "/s", "format": "yaml"}, {"name": "b", "sopsFile": "/s", "format": "json"}]),
    ));
    assert!(err.contains("secret \"b\": format json disagrees with secret \"a\" (yaml) for the same sops file /s"), "{err}");
}

#[test]
fn templates_need_placeholders_and_content_or_a_file() {
    let err = errors(
        json!({"version": 1, "secrets": [{"name": "a", "sopsFile": "/s"}], "templates": [{"name": "t"}]}),
    );
    assert!(
        err.contains("secret \"a\": the plan has templates but no placeholder for this secret"),
        "{err}"
    );
    assert!(
        err.contains("template \"t\": the template has neither content nor file"),
        "{err}"
    );
}

#[test]
fn needed_for_users_secrets_take_numeric_ids_only() {
    let err = errors(
        json!({"version": 1, "neededForUsers": true, "secrets": [{"name": "a", "sopsFile": "/s", "owner": "alice"}]}),
    );
    assert!(err.contains("secret \"a\": a neededForUsers secret is installed before users exist: use numeric uid/gid, not names"), "{err}");
}

#[test]
fn a_path_inside_the_mount_is_refused() {
    let err = errors(plan(
        json!([{"name": "a", "sopsFile": "/s", "path": "/run/secrets.d/x"}]),
    ));
    assert!(
        err.contains("path \"/run/secrets.d/x\" is inside the secrets mount /run/secrets.d"),
        "{err}"
    );
}

#[test]
fn with_sops_files_every_file_parses_and_every_key_is_a_value() {
    let env = Env::new();
    let f = env.write("s.yaml", "db/password: x\ntoken: y\n");
    let bad = env.write("bad.yaml", "CORRUPT");
    let (code, err) = check(
        &env,
        &plan(json!([
            {"name": "ok", "sopsFile": f, "key": "db/password"},
            {"name": "map", "sopsFile": f, "key": "db"},
            {"name": "nokey", "sopsFile": f, "key": "nope"},
            {"name": "corrupt", "sopsFile": bad},
            {"name": "absent", "sopsFile": env.path("absent.yaml")},
        ])),
        true,
    );
    assert_eq!(code, 10);
    assert!(!err.contains("secret \"ok\""), "{err}");
    assert!(
        err.contains(&format!(
            "secret \"map\": key \"db\" in {f} is a mapping or list, not a value"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("secret \"nokey\": {f}: key [\"nope\"] not found")),
        "{err}"
    );
    assert!(
        err.contains(&format!("secret \"corrupt\": {bad}: not a sops file")),
        "{err}"
    );
    assert!(
        err.contains("secret \"absent\": cannot read the sops file"),
        "{err}"
    );
    // Without --sops-files the files are not opened.
    assert_eq!(
        check(
            &env,
            &plan(json!([{"name": "absent", "sopsFile": env.path("absent.yaml")}])),
            false
        )
        .0,
        0
    );
}

#[test]
fn schema_lists_exactly_the_fields_of_the_types() {
    use keyward::plan::schema::definitions;
    use std::collections::BTreeSet;
    let full = json!({"version": 1,
        "secrets": [{"name": "a", "sopsFile": "/s"}],
        "templates": [{"name": "t", "content": "x"}],
        "metrics": {"directory": "/m"}});
    let plan: keyward::plan::Plan = serde_json::from_value(full).unwrap();
    let v = serde_json::to_value(&plan).unwrap();
    let keys = |v: &serde_json::Value| -> BTreeSet<String> {
        v.as_object().unwrap().keys().cloned().collect()
    };
    let objects = [
        ("plan", v.clone()),
        ("secret", v["secrets"][0].clone()),
        ("template", v["templates"][0].clone()),
        ("logging", v["logging"].clone()),
        ("pathDirectories", v["pathDirectories"].clone()),
        ("metrics", v["metrics"].clone()),
        ("audit", v["audit"].clone()),
    ];
    let defs = definitions();
    for (name, obj) in objects {
        let (_, fields, _) = defs.iter().find(|(n, _, _)| *n == name).unwrap();
        let schema: BTreeSet<String> = fields.iter().map(|(f, _, _)| f.to_string()).collect();
        assert_eq!(keys(&obj), schema, "{name}");
    }
}

#[test]
fn the_checked_in_schema_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/plan.schema.json");
    let want = keyward::plan::schema::render();
    if std::env::var_os("KEYWARD_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/plan.schema.json is stale: run KEYWARD_UPDATE_SCHEMA=1 cargo test --test check"
    );
}
