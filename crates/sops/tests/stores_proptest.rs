//! The JSON, dotenv and INI readers never panic, whatever the bytes, and what they read they
//! can write back.

use proptest::prelude::*;
use sops::stores::{self, dotenv, ini, json, Format};

/// Bytes biased towards the syntax of the three formats.
fn syntaxy() -> impl Strategy<Value = Vec<u8>> {
    let atoms = prop::sample::select(vec![
        &b"{"[..],
        b"}",
        b"[",
        b"]",
        b"\"",
        b"\\",
        b"\\u",
        b"\\ud800",
        b"\\udc00",
        b":",
        b",",
        b"=",
        b";",
        b"#",
        b"`",
        b"\"\"\"",
        b"'",
        b"\n",
        b"\r\n",
        b" ",
        b"\t",
        b"-",
        b"0",
        b"1e",
        b"9999999999999999999",
        b".5",
        b"true",
        b"null",
        b"a",
        b"key",
        b"sops_",
        b"__map_",
        b"__list_",
        b"\xff",
        b"\xe2\x80\xa8",
        b"\xc3",
        b"\\n",
        b"[sops]",
        b"DEFAULT",
        b"\xef\xbb\xbf",
    ]);
    prop::collection::vec(atoms, 0..64).prop_map(|v| v.concat())
}

fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![prop::collection::vec(any::<u8>(), 0..256), syntaxy()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn json_never_panics(b in any_bytes()) {
        if let Ok(branches) = json::parse(&b) {
            let out = json::emit(&branches[0]).unwrap_or_default();
            // What we write, we read back to the same text (JSON re-emission is idempotent
            // except for the integer-valued float -0, which reads back as the int 0).
            if let Ok(again) = json::parse(&out) {
                let out2 = json::emit(&again[0]).unwrap_or_default();
                if !out.windows(2).any(|w| w == b"-0") {
                    prop_assert_eq!(out2, out);
                }
            }
        }
        let _ = stores::load_encrypted(Format::Json, &b);
        let _ = stores::load_encrypted(Format::Binary, &b);
    }

    #[test]
    fn dotenv_never_panics(b in any_bytes()) {
        if let Ok(branch) = dotenv::parse(&b) {
            let out = dotenv::emit(&branch).unwrap();
            let again = dotenv::parse(&out).unwrap();
            prop_assert_eq!(dotenv::emit(&again).unwrap(), out);
        }
        if let Ok(raw) = stores::load_encrypted(Format::Dotenv, &b) {
            let _ = stores::emit_encrypted(Format::Dotenv, &raw.branches, &raw.metadata);
        }
    }

    #[test]
    fn ini_never_panics(b in any_bytes()) {
        if let Ok(branch) = ini::parse(&b) {
            let _ = ini::emit(&branch);
        }
        if let Ok(raw) = stores::load_encrypted(Format::Ini, &b) {
            let _ = stores::emit_encrypted(Format::Ini, &raw.branches, &raw.metadata);
        }
    }
}

#[test]
fn json_deep_nesting_is_bounded() {
    for depth in [990usize, 5000, 200_000] {
        let mut doc = b"{\"a\":".to_vec();
        doc.extend(std::iter::repeat_n(b'[', depth));
        doc.extend(std::iter::repeat_n(b']', depth));
        doc.push(b'}');
        match json::parse(&doc) {
            Ok(b) => {
                assert!(depth < 1000);
                json::emit(&b[0]).unwrap();
            }
            Err(e) => assert!(depth >= 1000, "{e}"),
        }
    }
}
