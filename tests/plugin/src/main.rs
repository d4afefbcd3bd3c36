//! TEST ONLY. `age-plugin-keywardtest` stands in for a hardware token (YubiKey, TPM) in
//! keyward's tests: its identity `AGE-PLUGIN-KEYWARDTEST-1…` carries an ordinary X25519 secret,
//! so it opens files encrypted to the matching `age1…` recipient through the age plugin
//! protocol. Each unwrap takes a while, as a token's touch does, and is logged (start and end
//! times) to `$KEYWARD_TEST_PLUGIN_LOG`, so tests can prove keyward never uses it for two files
//! at once.
//!
//! `age-plugin-keywardtest --from-age AGE-SECRET-KEY-1…` prints the plugin identity for a key.

use std::collections::HashMap;
use std::io::{self, Write};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use age::Identity as _;
use age_core::format::{FileKey, Stanza};
use age_plugin::identity::{self, IdentityPluginV1};
use age_plugin::{run_state_machine, Callbacks, PluginHandler};
use bech32::{Bech32, Hrp};

const NAME: &str = "keywardtest";

struct Handler;

impl PluginHandler for Handler {
    type RecipientV1 = std::convert::Infallible;
    type IdentityV1 = Plugin;

    fn identity_v1(self) -> io::Result<Plugin> {
        Ok(Plugin { keys: Vec::new() })
    }
}

struct Plugin {
    keys: Vec<age::x25519::Identity>,
}

fn x25519_from_bytes(bytes: &[u8]) -> Option<age::x25519::Identity> {
    let hrp = Hrp::parse("age-secret-key-").ok()?;
    let s = bech32::encode::<Bech32>(hrp, bytes).ok()?.to_uppercase();
    age::x25519::Identity::from_str(&s).ok()
}

fn log(event: &str) {
    if let Some(path) = std::env::var_os("KEYWARD_TEST_PLUGIN_LOG") {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{event} {} {t}", std::process::id());
        }
    }
}

impl IdentityPluginV1 for Plugin {
    fn add_identity(
        &mut self,
        index: usize,
        plugin_name: &str,
        bytes: &[u8],
    ) -> Result<(), identity::Error> {
        match (plugin_name == NAME)
            .then(|| x25519_from_bytes(bytes))
            .flatten()
        {
            Some(k) => {
                self.keys.push(k);
                Ok(())
            }
            None => Err(identity::Error::Identity {
                index,
                message: "not a keywardtest identity".to_owned(),
            }),
        }
    }

    fn unwrap_file_keys(
        &mut self,
        files: Vec<Vec<Stanza>>,
        _callbacks: impl Callbacks<identity::Error>,
    ) -> io::Result<HashMap<usize, Result<FileKey, Vec<identity::Error>>>> {
        log("start");
        // The touch of a token: long enough that overlapping uses would show in the log.
        std::thread::sleep(Duration::from_millis(100));
        let mut out = HashMap::new();
        for (i, stanzas) in files.iter().enumerate() {
            'file: for stanza in stanzas {
                for key in &self.keys {
                    if let Some(Ok(fk)) = key.unwrap_stanza(stanza) {
                        out.insert(i, Ok(fk));
                        break 'file;
                    }
                }
            }
        }
        log("end");
        Ok(out)
    }
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some(a) if a.starts_with("--age-plugin=") => {
            run_state_machine(&a["--age-plugin=".len()..], Handler)
        }
        Some("--age-plugin") => {
            run_state_machine(args.get(2).map(String::as_str).unwrap_or(""), Handler)
        }
        Some("--from-age") => {
            let key = args
                .get(2)
                .ok_or_else(|| io::Error::other("--from-age needs a key"))?;
            let (_, data) = bech32::decode(&key.to_lowercase()).map_err(io::Error::other)?;
            let hrp = Hrp::parse("age-plugin-keywardtest-").map_err(io::Error::other)?;
            let s = bech32::encode::<Bech32>(hrp, &data).map_err(io::Error::other)?;
            println!("{}", s.to_uppercase());
            Ok(())
        }
        _ => Err(io::Error::other(
            "usage: age-plugin-keywardtest --from-age AGE-SECRET-KEY-1…",
        )),
    }
}
