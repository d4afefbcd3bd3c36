//! The SOPS document model: an ordered tree of mappings, sequences, scalars and comments.
//!
//! Every store parses into this model and emits from it. Mapping keys are never encrypted;
//! leaves may be `ENC[…]` strings (encrypted) or plaintext, depending on the stage.

use zeroize::Zeroize;

/// Bytes that may hold plaintext: zeroized when dropped.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub fn new(v: Vec<u8>) -> Self {
        SecretBytes(v)
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// The bytes as UTF-8, if they are.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for SecretBytes {
    // Never print contents: a Debug of a tree must not leak plaintext into logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBytes({} bytes)", self.0.len())
    }
}

impl From<&str> for SecretBytes {
    fn from(s: &str) -> Self {
        SecretBytes(s.as_bytes().to_vec())
    }
}
impl From<String> for SecretBytes {
    fn from(s: String) -> Self {
        SecretBytes(s.into_bytes())
    }
}
impl From<Vec<u8>> for SecretBytes {
    fn from(v: Vec<u8>) -> Self {
        SecretBytes(v)
    }
}

/// A comment: the text after the comment character (YAML `# foo` has text `" foo"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub text: SecretBytes,
    /// A YAML line comment (`key: v # c`), re-emitted on the same line (sops ≥ 3.13).
    pub inline: bool,
}

impl Comment {
    pub fn new(text: impl Into<SecretBytes>) -> Self {
        Comment {
            text: text.into(),
            inline: false,
        }
    }
}

/// One entry of a mapping: a key with its value, or a comment.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Pair(String, Value),
    Comment(Comment),
}

/// An ordered mapping (sops `TreeBranch`). A YAML document is one branch; other stores have one.
pub type Branch = Vec<Item>;

/// A value in the tree.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    /// A string; may be non-UTF-8 (the binary store) and may be an `ENC[…]` string.
    Str(SecretBytes),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A timestamp (YAML `!!timestamp`), kept as sops prints it: RFC 3339 with nanoseconds
    /// trimmed (`2024-01-01T00:00:00Z`).
    Time(String),
    Map(Branch),
    Seq(Vec<Value>),
    /// A comment inside a sequence (mapping comments are [`Item::Comment`]).
    Comment(Comment),
}

impl Value {
    pub fn str(s: impl Into<SecretBytes>) -> Value {
        Value::Str(s.into())
    }

    /// True for mappings and sequences.
    pub fn is_container(&self) -> bool {
        matches!(self, Value::Map(_) | Value::Seq(_))
    }

    /// The bytes sops feeds to the MAC and writes as a leaf's plaintext (`ToBytes` in sops):
    /// str raw, int decimal, float `'f',-1`, bool `True`/`False`, time as stored.
    /// `None` for null, comments and containers.
    pub fn to_sops_bytes(&self) -> Option<Vec<u8>> {
        Some(match self {
            Value::Str(b) => b.as_bytes().to_vec(),
            Value::Int(i) => i.to_string().into_bytes(),
            Value::Float(f) => crate::num::format_float_f(*f).into_bytes(),
            Value::Bool(true) => b"True".to_vec(),
            Value::Bool(false) => b"False".to_vec(),
            Value::Time(t) => t.as_bytes().to_vec(),
            Value::Null | Value::Map(_) | Value::Seq(_) | Value::Comment(_) => return None,
        })
    }

    /// A human name of the type, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Str(_) => "string",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::Time(_) => "time",
            Value::Map(_) => "mapping",
            Value::Seq(_) => "sequence",
            Value::Comment(_) => "comment",
        }
    }
}

/// Look a key up in a branch (first match, as sops does).
pub fn get<'a>(branch: &'a [Item], key: &str) -> Option<&'a Value> {
    branch.iter().find_map(|i| match i {
        Item::Pair(k, v) if k == key => Some(v),
        _ => None,
    })
}
