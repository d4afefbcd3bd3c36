//! YAML store against sops 3.13.2 output: inputs and the `sops decrypt` output they produce
//! are under `tests/data/yaml/` (`NAME.in.yaml` → `NAME.out.yaml`; `NAME.enc.yaml` are files
//! written by sops that must round-trip byte for byte).

use std::path::Path;

use sops::stores::yaml;

fn data_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/yaml")
}

fn roundtrip(bytes: &[u8]) -> Vec<u8> {
    let docs = yaml::parse(bytes).expect("parse");
    yaml::emit(&docs).expect("emit")
}

#[test]
fn inputs_normalize_like_sops() {
    let mut n = 0;
    for entry in std::fs::read_dir(data_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let Some(stem) = name.strip_suffix(".in.yaml") else {
            continue;
        };
        let input = std::fs::read(&path).unwrap();
        let expected = std::fs::read(data_dir().join(format!("{stem}.out.yaml"))).unwrap();
        let got = roundtrip(&input);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected),
            "{stem}: emit(parse(input))"
        );
        let again = roundtrip(&expected);
        assert_eq!(
            String::from_utf8_lossy(&again),
            String::from_utf8_lossy(&expected),
            "{stem}: emit(parse(expected))"
        );
        n += 1;
    }
    assert!(n > 0);
}

#[test]
fn encrypted_files_roundtrip() {
    let mut n = 0;
    for entry in std::fs::read_dir(data_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".enc.yaml") {
            continue;
        }
        let input = std::fs::read(&path).unwrap();
        let got = roundtrip(&input);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&input),
            "{name}"
        );
        n += 1;
    }
    assert!(n > 0);
}

/// A development helper: `YAML_IN=file cargo test --test yaml_roundtrip dump -- --ignored`.
#[test]
#[ignore]
fn dump() {
    let path = std::env::var("YAML_IN").unwrap();
    let input = std::fs::read(path).unwrap();
    match yaml::parse(&input) {
        Ok(docs) => {
            if std::env::var("YAML_TREE").is_ok() {
                eprintln!("{docs:#?}");
            }
            let out = yaml::emit(&docs).unwrap();
            std::fs::write("/tmp/yt/ours.out", out).unwrap();
        }
        Err(e) => {
            std::fs::write("/tmp/yt/ours.out", format!("ERROR: {e}\n")).unwrap();
        }
    }
}
