//! User and group lookup from passwd/group files (the host's, or a test root's): no NSS, so
//! the lookup is the same in a container, a chroot and the activation script.

use std::collections::BTreeMap;
use std::path::Path;

/// Users and groups by name.
#[derive(Debug, Default, Clone)]
pub struct Users {
    /// name → (uid, primary gid)
    pub users: BTreeMap<String, (u32, u32)>,
    /// name → gid
    pub groups: BTreeMap<String, u32>,
    /// Where they were read from, for messages.
    pub source: String,
}

fn parse_lines(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split(':').collect::<Vec<_>>())
}

impl Users {
    /// Read `<etc>/passwd` and `<etc>/group` (missing files give empty tables).
    pub fn load(etc: &Path) -> std::io::Result<Users> {
        let read = |name: &str| match std::fs::read_to_string(etc.join(name)) {
            Ok(s) => Ok(s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(e),
        };
        let mut u = Users {
            source: etc.display().to_string(),
            ..Users::default()
        };
        for f in parse_lines(&read("passwd")?) {
            if let (Some(name), Some(uid), Some(gid)) = (f.first(), f.get(2), f.get(3)) {
                if let (Ok(uid), Ok(gid)) = (uid.parse(), gid.parse()) {
                    u.users.entry(name.to_string()).or_insert((uid, gid));
                }
            }
        }
        for f in parse_lines(&read("group")?) {
            if let (Some(name), Some(gid)) = (f.first(), f.get(2)) {
                if let Ok(gid) = gid.parse() {
                    u.groups.entry(name.to_string()).or_insert(gid);
                }
            }
        }
        Ok(u)
    }
}
