//! The YAML store on real sops files (3.3–3.13 layouts) and on arbitrary input.

use proptest::prelude::*;
use sops::stores::yaml;
use sops::{Item, Value};

const FIXTURES: &str = "/work/shared/fixtures";

fn sops_map(doc: &[Item]) -> &[Item] {
    match sops::tree::get(doc, "sops") {
        Some(Value::Map(m)) => m,
        other => panic!("no sops mapping: {other:?}"),
    }
}

fn check_file(path: &std::path::Path, needs_sops: bool) {
    let Ok(bytes) = std::fs::read(path) else {
        eprintln!("skipping missing fixture {}", path.display());
        return;
    };
    let docs = yaml::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(!docs.is_empty(), "{}", path.display());
    if needs_sops {
        let meta = sops_map(&docs[0]);
        assert!(
            sops::tree::get(meta, "version").is_some(),
            "{}",
            path.display()
        );
    }
    // Whatever was read can be written and read back to the same tree.
    let out = yaml::emit(&docs).unwrap();
    let again = yaml::parse(&out).unwrap();
    assert_eq!(docs.len(), again.len());
}

#[test]
fn sops_nix_secrets() {
    let path = std::path::Path::new(FIXTURES).join("sops-nix/secrets.yaml");
    check_file(&path, true);
    if let Ok(bytes) = std::fs::read(&path) {
        let docs = yaml::parse(&bytes).unwrap();
        let meta = sops_map(&docs[0]);
        let Some(Value::Seq(age)) = sops::tree::get(meta, "age") else {
            panic!("age list")
        };
        let Some(Value::Map(entry)) = age.first() else {
            panic!("age entry")
        };
        let Some(Value::Str(enc)) = sops::tree::get(entry, "enc") else {
            panic!("enc")
        };
        let enc = enc.as_str().unwrap();
        assert!(enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
        assert!(enc.ends_with("-----END AGE ENCRYPTED FILE-----\n"));
        // Data values are ENC strings.
        let enc_values = docs[0]
            .iter()
            .filter(|i| matches!(i, Item::Pair(k, Value::Str(s)) if k != "sops" && s.as_bytes().starts_with(b"ENC[")))
            .count();
        assert!(enc_values > 0);
    }
}

#[test]
fn upstream_example() {
    check_file(
        &std::path::Path::new(FIXTURES).join("sops-upstream/pr1031-age-examples/example.yaml"),
        true,
    );
}

#[test]
fn upstream_functional_tests() {
    let dir = std::path::Path::new(FIXTURES).join("sops-upstream/pgp-head/functional-tests/res");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in entries {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".yaml") {
            continue;
        }
        let encrypted = !matches!(
            name.as_str(),
            "comments.yaml" | "comments_list.yaml" | "plainfile.yaml"
        );
        check_file(&path, encrypted);
    }
    // Comments come back as comment items.
    if let Ok(bytes) = std::fs::read(dir.join("comments.enc.yaml")) {
        let docs = yaml::parse(&bytes).unwrap();
        assert!(docs[0].iter().any(|i| matches!(i, Item::Comment(_))));
    }
}

#[test]
fn errors_do_not_leak_values() {
    for input in [
        "a: \"secretvalue\n",
        "a: !!int secretvalue\n",
        "a: !!binary secretvalue!\n",
        "a: [secretvalue\n",
        "secretvalue: x\n  bad: 1\n",
        "a: 18446744073709551615\n",
    ] {
        let err = yaml::parse(input.as_bytes()).unwrap_err().to_string();
        assert!(!err.contains("secretvalue"), "{err}");
        assert!(err.contains("line"), "{err}");
    }
}

#[test]
fn non_string_keys_are_errors() {
    for input in [
        "1: x\n",
        "true: x\n",
        "~: x\n",
        "2024-01-01: x\n",
        "{1.5: x}\n",
    ] {
        assert!(yaml::parse(input.as_bytes()).is_err(), "{input}");
    }
}

#[test]
fn emit_value_sequence() {
    let v = Value::Seq(vec![Value::str("a"), Value::Int(1)]);
    assert_eq!(yaml::emit_value(&v).unwrap(), b"- a\n- 1\n");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = yaml::parse(&bytes);
    }

    #[test]
    fn parse_never_panics_on_yamlish(s in "[ a-z0-9:#\\-\\[\\]{},'\"|>&*!\\n\\t.?%@`\\\\]{0,120}") {
        if let Ok(docs) = yaml::parse(s.as_bytes()) {
            let _ = yaml::emit(&docs);
        }
    }
}
