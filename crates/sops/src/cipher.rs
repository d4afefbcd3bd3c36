//! The sops value cipher: AES-256-GCM with a 32-byte IV and a 16-byte tag, written as
//! `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`, the AAD being the leaf's key path.

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::AesGcm;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::tree::{Comment, SecretBytes, Value};

/// AES-256-GCM with the 32-byte nonce sops uses.
type SopsGcm = AesGcm<Aes256, U32>;

const TAG_LEN: usize = 16;

/// The `type:` of an encrypted value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    Str,
    Int,
    Float,
    Bool,
    Time,
    Comment,
    Bytes,
}

impl ValueType {
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Str => "str",
            ValueType::Int => "int",
            ValueType::Float => "float",
            ValueType::Bool => "bool",
            ValueType::Time => "time",
            ValueType::Comment => "comment",
            ValueType::Bytes => "bytes",
        }
    }
    fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "str" => ValueType::Str,
            "int" => ValueType::Int,
            "float" => ValueType::Float,
            "bool" => ValueType::Bool,
            "time" => ValueType::Time,
            "comment" => ValueType::Comment,
            "bytes" => ValueType::Bytes,
            _ => return None,
        })
    }
}

/// The parts of an `ENC[…]` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncValue {
    pub data: Vec<u8>,
    pub iv: Vec<u8>,
    pub tag: Vec<u8>,
    pub vtype: ValueType,
}

/// Why a value could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    #[error("the value does not match sops' data format (ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]): {0}")]
    Format(String),
    #[error("authentication failed: the value, its IV or tag, the data key, or its key path was altered (AES-GCM tag mismatch)")]
    Auth,
    #[error("the decrypted {0} value is not valid for its type")]
    BadPlaintext(&'static str),
}

/// True if `s` looks like an encrypted value (starts with `ENC[AES256_GCM,`).
pub fn is_encrypted(s: &[u8]) -> bool {
    s.starts_with(b"ENC[AES256_GCM,")
}

/// Parse `ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<t>]`, as sops' regex does
/// (anchored at the start; greedy groups).
pub fn parse_enc(s: &[u8]) -> Result<EncValue, CipherError> {
    let s = std::str::from_utf8(s).map_err(|_| CipherError::Format("not UTF-8".into()))?;
    let rest = s
        .strip_prefix("ENC[AES256_GCM,data:")
        .ok_or_else(|| CipherError::Format("missing the ENC[AES256_GCM,data: prefix".into()))?;
    // Greedy: the last occurrence of each marker wins, like Go's `(.+)` groups.
    let type_at = rest
        .rfind(",type:")
        .ok_or_else(|| CipherError::Format("missing type".into()))?;
    let (head, ty) = rest.split_at(type_at);
    let ty = &ty[",type:".len()..];
    let close = ty
        .rfind(']')
        .ok_or_else(|| CipherError::Format("missing the closing ]".into()))?;
    let ty = &ty[..close];
    let tag_at = head
        .rfind(",tag:")
        .ok_or_else(|| CipherError::Format("missing tag".into()))?;
    let (head, tag) = head.split_at(tag_at);
    let tag = &tag[",tag:".len()..];
    let iv_at = head
        .rfind(",iv:")
        .ok_or_else(|| CipherError::Format("missing iv".into()))?;
    let (data, iv) = head.split_at(iv_at);
    let iv = &iv[",iv:".len()..];
    let vtype = ValueType::from_name(ty)
        .ok_or_else(|| CipherError::Format(format!("unknown type {ty:?}")))?;
    let dec = |what: &str, v: &str| {
        // Go's decoder skips CR and LF; do the same.
        let cleaned: String = v.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        STANDARD
            .decode(cleaned.as_bytes())
            .map_err(|e| CipherError::Format(format!("bad base64 in {what}: {e}")))
    };
    let data = dec("data", data)?;
    let iv = dec("iv", iv)?;
    let tag = dec("tag", tag)?;
    if iv.len() != 32 {
        return Err(CipherError::Format(format!(
            "the IV is {} bytes, sops writes 32",
            iv.len()
        )));
    }
    if tag.len() != TAG_LEN {
        return Err(CipherError::Format(format!(
            "the tag is {} bytes, not 16",
            tag.len()
        )));
    }
    Ok(EncValue {
        data,
        iv,
        tag,
        vtype,
    })
}

/// Decrypt the raw bytes of an `ENC[…]` string. Returns the plaintext bytes and the type.
pub fn decrypt_raw(
    enc: &[u8],
    key: &[u8; 32],
    aad: &[u8],
) -> Result<(SecretBytes, ValueType), CipherError> {
    let v = parse_enc(enc)?;
    let cipher = SopsGcm::new(key.into());
    let mut ct = Vec::with_capacity(v.data.len() + TAG_LEN);
    ct.extend_from_slice(&v.data);
    ct.extend_from_slice(&v.tag);
    let nonce = aes_gcm::Nonce::<U32>::from_slice(&v.iv);
    let pt = cipher
        .decrypt(nonce, Payload { msg: &ct, aad })
        .map_err(|_| CipherError::Auth)?;
    Ok((SecretBytes::new(pt), v.vtype))
}

/// Decrypt an `ENC[…]` string into a typed value. `""` decrypts to `""`.
pub fn decrypt_value(enc: &[u8], key: &[u8; 32], aad: &[u8]) -> Result<Value, CipherError> {
    if enc.is_empty() {
        return Ok(Value::str(""));
    }
    let (pt, vtype) = decrypt_raw(enc, key, aad)?;
    typed(pt, vtype)
}

/// Turn decrypted bytes into the value of their `type:`, as Go sops parses them.
pub fn typed(pt: SecretBytes, vtype: ValueType) -> Result<Value, CipherError> {
    let text = || pt.as_str().ok_or(CipherError::BadPlaintext(vtype.name()));
    Ok(match vtype {
        ValueType::Str | ValueType::Bytes => Value::Str(pt),
        ValueType::Int => {
            Value::Int(parse_go_int(text()?).ok_or(CipherError::BadPlaintext("int"))?)
        }
        ValueType::Float => {
            Value::Float(parse_go_float(text()?).ok_or(CipherError::BadPlaintext("float"))?)
        }
        ValueType::Bool => Value::Bool(match text()? {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
            "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
            _ => return Err(CipherError::BadPlaintext("bool")),
        }),
        ValueType::Time => Value::Time(text()?.to_string()),
        ValueType::Comment => Value::Comment(Comment {
            text: pt,
            inline: false,
        }),
    })
}

/// Go `strconv.Atoi`: optional sign, decimal digits.
fn parse_go_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Go `strconv.ParseFloat` for the forms sops writes (decimal, exponent, `+Inf`, `-Inf`, `NaN`).
fn parse_go_float(s: &str) -> Option<f64> {
    match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => return Some(f64::INFINITY),
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    s.replace('_', "").parse().ok()
}

/// Encrypt `plaintext` under `key` with `aad`, as sops does (empty plaintext → `""`).
pub fn encrypt_raw(
    plaintext: &[u8],
    vtype: ValueType,
    key: &[u8; 32],
    aad: &[u8],
    iv: &[u8; 32],
) -> String {
    if plaintext.is_empty() {
        return String::new();
    }
    let cipher = SopsGcm::new(key.into());
    let nonce = aes_gcm::Nonce::<U32>::from_slice(iv);
    // AES-GCM encryption with a valid key and nonce cannot fail for inputs under 64 GiB.
    let out = match cipher.encrypt(
        nonce,
        Payload {
            msg: plaintext,
            aad,
        },
    ) {
        Ok(o) => o,
        Err(_) => return String::new(),
    };
    let (data, tag) = out.split_at(out.len() - TAG_LEN);
    format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]",
        STANDARD.encode(data),
        STANDARD.encode(iv),
        STANDARD.encode(tag),
        vtype.name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7u8; 32];
    const IV: [u8; 32] = [9u8; 32];

    #[test]
    fn round_trip_each_type() {
        for (pt, ty) in [
            (&b"hello"[..], ValueType::Str),
            (b"-42", ValueType::Int),
            (b"25.4", ValueType::Float),
            (b"True", ValueType::Bool),
            (b"2024-01-01T00:00:00Z", ValueType::Time),
            (b" a comment", ValueType::Comment),
            (b"\xff\x00\xfe", ValueType::Str),
        ] {
            let enc = encrypt_raw(pt, ty, &KEY, b"a:b:", &IV);
            let (back, t) = decrypt_raw(enc.as_bytes(), &KEY, b"a:b:").unwrap();
            assert_eq!(back.as_bytes(), pt);
            assert_eq!(t, ty);
        }
    }

    #[test]
    fn wrong_aad_or_key_fails() {
        let enc = encrypt_raw(b"x", ValueType::Str, &KEY, b"a:", &IV);
        assert_eq!(
            decrypt_raw(enc.as_bytes(), &KEY, b"b:").unwrap_err(),
            CipherError::Auth
        );
        assert_eq!(
            decrypt_raw(enc.as_bytes(), &[1u8; 32], b"a:").unwrap_err(),
            CipherError::Auth
        );
    }

    #[test]
    fn empty_is_empty() {
        assert_eq!(encrypt_raw(b"", ValueType::Str, &KEY, b"a:", &IV), "");
        assert_eq!(decrypt_value(b"", &KEY, b"a:").unwrap(), Value::str(""));
    }

    #[test]
    fn malformed() {
        for bad in [
            &b"ENC[AES256_GCM,data:,iv:,tag:,type:str"[..],
            b"ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]",
            b"ENC[AES256_GCM,data:AA==,iv:AA==,type:str]",
            b"plain",
        ] {
            assert!(
                matches!(parse_enc(bad), Err(CipherError::Format(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn typed_values() {
        assert_eq!(
            typed("-42".into(), ValueType::Int).unwrap(),
            Value::Int(-42)
        );
        assert_eq!(
            typed("True".into(), ValueType::Bool).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            typed("+Inf".into(), ValueType::Float).unwrap(),
            Value::Float(f64::INFINITY)
        );
        assert!(typed("4x".into(), ValueType::Int).is_err());
    }
}
