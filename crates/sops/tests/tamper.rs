//! Tampering is always detected: flipping any single byte of a value's data, IV or tag, of
//! the MAC, of `lastmodified`, or of an age stanza makes decryption fail — it never returns
//! altered or partial plaintext. (The CLI test checks that nothing reaches stdout.)

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sops::{DecryptOptions, EncryptedFile, Format, Identities};

fn corpus(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(p)
}

fn ids() -> Identities {
    let mut ids = Identities::new();
    ids.add_key_file(&corpus("keys/age/key1.txt")).unwrap();
    ids
}

fn decrypts(text: &str, ids: &Identities) -> bool {
    let Ok(f) = EncryptedFile::parse(Format::Yaml, text.as_bytes()) else {
        return false;
    };
    let Ok(k) = f.data_key(ids) else { return false };
    f.decrypt(&k, &DecryptOptions::default()).is_ok()
}

/// Every `ENC[…]` string of the file that is not a comment, with its byte range.
fn enc_values(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("ENC[AES256_GCM,") {
        let start = from + i;
        let end = start + text[start..].find(']').unwrap() + 1;
        if !text[start..end].ends_with("type:comment]") {
            out.push((start, end));
        }
        from = end;
    }
    out
}

/// Replace the base64 field `field` of the ENC string at `range` with `f(decoded)`.
fn with_field(
    text: &str,
    range: (usize, usize),
    field: &str,
    f: impl Fn(&mut Vec<u8>),
) -> Option<String> {
    let enc = &text[range.0..range.1];
    let key = format!("{field}:");
    let s = enc.find(&key)? + key.len();
    let e = s + enc[s..].find([',', ']'])?;
    let mut bytes = STANDARD.decode(&enc[s..e]).ok()?;
    f(&mut bytes);
    let new_enc = format!("{}{}{}", &enc[..s], STANDARD.encode(&bytes), &enc[e..]);
    Some(format!(
        "{}{}{}",
        &text[..range.0],
        new_enc,
        &text[range.1..]
    ))
}

#[test]
fn flipping_any_byte_of_any_value_or_the_mac_fails() {
    let text = std::fs::read_to_string(corpus("corpus/yaml/simple.enc.yaml")).unwrap();
    let ids = ids();
    assert!(decrypts(&text, &ids), "positive control");
    let values = enc_values(&text);
    assert_eq!(values.len(), 4, "three values and the MAC");
    let mut flips = 0;
    for range in values {
        for field in ["data", "iv", "tag"] {
            let len = with_field(&text, range, field, |_| {}).map(|t| {
                let enc = &t[range.0..];
                let s = enc.find(&format!("{field}:")).unwrap() + field.len() + 1;
                let e = s + enc[s..].find([',', ']']).unwrap();
                STANDARD.decode(&enc[s..e]).unwrap().len()
            });
            for i in 0..len.unwrap() {
                for bit in [0x01u8, 0x80] {
                    let t = with_field(&text, range, field, |b| b[i] ^= bit).unwrap();
                    assert!(
                        !decrypts(&t, &ids),
                        "{field} byte {i} bit {bit:#x} of value at {range:?} went unnoticed"
                    );
                    flips += 1;
                }
            }
        }
    }
    assert!(flips > 500, "{flips}");
}

#[test]
fn changing_lastmodified_fails() {
    let text = std::fs::read_to_string(corpus("corpus/yaml/simple.enc.yaml")).unwrap();
    let ids = ids();
    let at = text.find("lastmodified: \"").unwrap() + "lastmodified: \"".len();
    for i in 0..20 {
        let c = text.as_bytes()[at + i];
        if !c.is_ascii_digit() {
            continue;
        }
        let other = if c == b'0' { '1' } else { '0' };
        let mut t = text.clone();
        t.replace_range(at + i..at + i + 1, &other.to_string());
        assert!(!decrypts(&t, &ids), "lastmodified char {i}");
    }
}

#[test]
fn flipping_any_byte_of_the_age_stanza_fails() {
    let text = std::fs::read_to_string(corpus("corpus/yaml/simple.enc.yaml")).unwrap();
    let ids = ids();
    let begin = text.find("-----BEGIN AGE ENCRYPTED FILE-----\n").unwrap() + 35;
    let end = text
        .find("            -----END AGE ENCRYPTED FILE-----")
        .unwrap();
    let body: String = text[begin..end].split_whitespace().collect();
    let raw = STANDARD.decode(&body).unwrap();
    assert_eq!(raw.len(), 232);
    for i in 0..raw.len() {
        let mut r = raw.clone();
        r[i] ^= 0x01;
        let b64 = STANDARD.encode(&r);
        let lines: Vec<String> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| format!("            {}\n", std::str::from_utf8(c).unwrap()))
            .collect();
        let t = format!("{}{}{}", &text[..begin], lines.concat(), &text[end..]);
        assert!(!decrypts(&t, &ids), "age file byte {i}");
    }
}
