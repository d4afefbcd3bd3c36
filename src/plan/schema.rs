//! The plan's JSON Schema (draft 2020-12), written out beside the serde types. A test checks
//! that every object here lists exactly the fields serde reads and writes, and another that
//! docs/plan.schema.json is the output of [`json_schema`].

use serde_json::{json, Map, Value};

type Field = (&'static str, Value, &'static str);

fn string() -> Value {
    json!({"type": "string"})
}
fn nullable_string() -> Value {
    json!({"type": ["string", "null"]})
}
fn nullable_id() -> Value {
    json!({"type": ["integer", "null"], "minimum": 0, "maximum": 4294967295u64})
}
fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}
fn boolean() -> Value {
    json!({"type": "boolean"})
}
fn mode() -> Value {
    json!({"type": "string", "pattern": "^[0-7]{1,5}$"})
}

fn object(fields: Vec<Field>, required: &[&str], closed: bool) -> Value {
    let mut props = Map::new();
    for (name, mut schema, doc) in fields {
        if let Value::Object(o) = &mut schema {
            o.insert("description".into(), Value::String(doc.into()));
        }
        props.insert(name.into(), schema);
    }
    let mut o = json!({"type": "object", "properties": props, "required": required});
    if closed {
        o["additionalProperties"] = Value::Bool(false);
    }
    o
}

/// The fields of each object of the plan, by definition name.
pub fn definitions() -> Vec<(&'static str, Vec<Field>, Vec<&'static str>)> {
    let owner = |what: &'static str| -> Vec<Field> {
        vec![
            (
                "owner",
                nullable_string(),
                if what == "dir" {
                    "user name owning the directories (default root)"
                } else {
                    "user name of the owner (wins over uid)"
                },
            ),
            (
                "uid",
                nullable_id(),
                "numeric owner when owner is null (default 0)",
            ),
            ("group", nullable_string(), "group name (wins over gid)"),
            (
                "gid",
                nullable_id(),
                "numeric group when group is null (default 0)",
            ),
        ]
    };
    let mut secret: Vec<Field> = vec![
        (
            "name",
            string(),
            "file name under the generation; may contain / (subdirectories)",
        ),
        (
            "key",
            nullable_string(),
            "key path: a/b/c or [\"a\"][\"b\"][0]; \"\" = whole file; default: name",
        ),
        (
            "path",
            nullable_string(),
            "where a symlink to the secret is made (default <symlinkPath>/<name>: no link)",
        ),
        ("sopsFile", string(), "the sops file"),
        (
            "format",
            json!({"type": ["string", "null"], "enum": ["yaml", "json", "binary", "dotenv", "ini", "", null]}),
            "format of the sops file (\"\" or null = yaml)",
        ),
        ("mode", mode(), "octal mode of the file (default 0400)"),
        (
            "restartUnits",
            strings(),
            "units restarted when the bytes change",
        ),
        (
            "reloadUnits",
            strings(),
            "units reloaded when the bytes change",
        ),
        (
            "sopsFileHash",
            nullable_string(),
            "emitted by the NixOS module; informational",
        ),
        (
            "neededForUsers",
            boolean(),
            "emitted by the NixOS module; informational",
        ),
    ];
    secret.extend(owner("file"));
    let mut template: Vec<Field> = vec![
        ("name", string(), "file name under rendered/"),
        (
            "content",
            string(),
            "template text with placeholders (wins over file when non-empty)",
        ),
        (
            "file",
            nullable_string(),
            "template file, placeholders replaced in it too",
        ),
        (
            "path",
            nullable_string(),
            "where a symlink is made (default <symlinkPath>/rendered/<name>: no link)",
        ),
        ("mode", mode(), "octal mode (default 0400)"),
        (
            "restartUnits",
            strings(),
            "units restarted when the rendered bytes change",
        ),
        (
            "reloadUnits",
            strings(),
            "units reloaded when the rendered bytes change",
        ),
    ];
    template.extend(owner("file"));
    let mut dirs: Vec<Field> = vec![(
        "mode",
        mode(),
        "octal mode of created directories (default 0755)",
    )];
    dirs.extend(owner("dir"));
    vec![
        ("plan", vec![
            ("version", json!({"type": ["integer", "null"], "enum": [1, null]}), "1 for a keyward plan; absent for a sops-nix manifest"),
            ("secrets", json!({"type": "array", "items": {"$ref": "#/$defs/secret"}}), "secrets to install"),
            ("templates", json!({"type": "array", "items": {"$ref": "#/$defs/template"}}), "templates to render under rendered/"),
            ("placeholderBySecretName", json!({"type": "object", "additionalProperties": {"type": "string"}}), "secret name -> placeholder string in templates"),
            ("secretsMountPoint", string(), "ramfs/tmpfs mount point holding the generations (default /run/secrets.d)"),
            ("symlinkPath", string(), "symlink to the current generation (default /run/secrets)"),
            ("keepGenerations", json!({"type": "integer", "minimum": 0}), "generations kept (default 1; 0 keeps all)"),
            ("sshKeyPaths", strings(), "sops-nix RSA keys for GPG: skipped with a notice (age-only)"),
            ("gnupgHome", nullable_string(), "sops-nix GnuPG home: skipped with a notice (age-only)"),
            ("ageKeyFile", nullable_string(), "age identity file"),
            ("ageSshKeyPaths", strings(), "OpenSSH ed25519 keys (native and ssh-to-age converted, in memory)"),
            ("useTmpfs", boolean(), "tmpfs with noswap instead of ramfs"),
            ("userMode", boolean(), "home-manager: no mount, no chown, %r = $XDG_RUNTIME_DIR"),
            ("logging", json!({"$ref": "#/$defs/logging"}), "what is printed"),
            ("failurePolicy", json!({"type": "string", "enum": ["all-or-nothing", "partial"]}), "all-or-nothing (default) keeps the old generation on any failure; partial installs what it can"),
            ("neededForUsers", boolean(), "this is the plan installed before users exist: numeric ids only"),
            ("pathDirectories", json!({"$ref": "#/$defs/pathDirectories"}), "owner and mode of directories created for path links"),
            ("metrics", json!({"oneOf": [{"$ref": "#/$defs/metrics"}, {"type": "null"}]}), "Prometheus textfile metrics"),
            ("audit", json!({"$ref": "#/$defs/audit"}), "audit events"),
            ("lockTimeoutSeconds", json!({"type": "integer", "minimum": 0}), "how long to wait for another run's lock (default 60)"),
        ], vec![]),
        ("secret", secret, vec!["name", "sopsFile"]),
        ("template", template, vec!["name"]),
        ("logging", vec![
            ("keyImport", boolean(), "print one line per identity loaded (default true)"),
            ("secretChanges", boolean(), "print the change lines (default true)"),
        ], vec![]),
        ("pathDirectories", dirs, vec![]),
        ("metrics", vec![
            ("directory", string(), "node-exporter textfile directory"),
            ("fileName", string(), "file written there (default keyward.prom)"),
            ("secretNames", boolean(), "allow secret names as metric labels (default false)"),
        ], vec!["directory"]),
        ("audit", vec![
            ("enable", boolean(), "emit audit events (default true)"),
        ], vec![]),
    ]
}

/// The schema of a `"version": 1` plan.
pub fn json_schema() -> Value {
    let mut defs = Map::new();
    let mut root = Value::Null;
    for (name, fields, required) in definitions() {
        let o = object(fields, &required, true);
        if name == "plan" {
            root = o;
        } else {
            defs.insert(name.into(), o);
        }
    }
    let mut out = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://keyward.invalid/plan.schema.json",
        "title": "keyward plan, version 1 (a superset of the sops-nix manifest)",
    });
    if let (Value::Object(o), Value::Object(r)) = (&mut out, root) {
        o.extend(r);
        o.insert("$defs".into(), Value::Object(defs));
    }
    out
}

/// The schema as checked in (pretty JSON with a trailing newline).
pub fn render() -> String {
    let mut s = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
    s.push('\n');
    s
}
