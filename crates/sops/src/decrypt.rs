//! The decrypt algorithm (filled in below).

pub struct DataKey;
pub struct DecryptOptions;
pub struct EncryptedFile;
pub fn decrypt_file() {}
