//! The plan's schema: a superset of sops-nix's manifest. Every sops-nix field keeps its JSON
//! name and meaning; keyward's own fields sit beside them. `version` absent = a sops-nix
//! manifest (unknown fields warn); `"version": 1` = a keyward plan (unknown fields are errors).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

fn default_mount_point() -> String {
    "/run/secrets.d".into()
}
fn default_symlink_path() -> String {
    "/run/secrets".into()
}
fn default_keep() -> u64 {
    1
}
fn default_mode() -> String {
    "0400".into()
}
fn default_true() -> bool {
    true
}
fn default_lock_timeout() -> u64 {
    60
}
fn default_dir_mode() -> String {
    "0755".into()
}
fn default_metrics_file() -> String {
    "keyward.prom".into()
}

/// Fields a JSON object had that the schema does not know (kept to report them).
pub type Unknown = BTreeMap<String, serde_json::Value>;

/// A whole plan (or a sops-nix manifest).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// Schema version: absent = sops-nix manifest, 1 = keyward plan.
    #[serde(default)]
    pub version: Option<u64>,
    #[serde(default)]
    pub secrets: Vec<Secret>,
    #[serde(default)]
    pub templates: Vec<Template>,
    /// Secret name → the placeholder string templates contain for it.
    #[serde(default)]
    pub placeholder_by_secret_name: BTreeMap<String, String>,
    /// Where the ramfs/tmpfs is mounted; generations are its numbered subdirectories.
    #[serde(default = "default_mount_point")]
    pub secrets_mount_point: String,
    /// The symlink that points at the current generation.
    #[serde(default = "default_symlink_path")]
    pub symlink_path: String,
    /// Generations to keep (0 keeps all).
    #[serde(default = "default_keep")]
    pub keep_generations: u64,
    /// sops-nix's RSA ssh keys for GPG: keyward is age-only and skips them with a notice.
    #[serde(default)]
    pub ssh_key_paths: Vec<String>,
    /// GnuPG home: keyward is age-only and skips it with a notice.
    #[serde(default)]
    pub gnupg_home: Option<String>,
    /// An age identity file.
    #[serde(default)]
    pub age_key_file: Option<String>,
    /// OpenSSH ed25519 keys, used natively and as their ssh-to-age conversion (never written).
    #[serde(default)]
    pub age_ssh_key_paths: Vec<String>,
    /// tmpfs (with `noswap`, retried without on old kernels) instead of ramfs.
    #[serde(default)]
    pub use_tmpfs: bool,
    /// home-manager: no mount, no chown, `%r` = `$XDG_RUNTIME_DIR`, no unit restarts.
    #[serde(default)]
    pub user_mode: bool,
    #[serde(default)]
    pub logging: Logging,

    // ---- keyward's own fields ----
    /// `all-or-nothing` (default) or `partial`.
    #[serde(default)]
    pub failure_policy: FailurePolicy,
    /// The `neededForUsers` plan: installed before users exist, numeric ids only.
    #[serde(default)]
    pub needed_for_users: bool,
    /// Owner and mode of the directories keyward creates for `path` links.
    #[serde(default)]
    pub path_directories: PathDirectories,
    /// Prometheus textfile metrics (absent: none).
    #[serde(default)]
    pub metrics: Option<Metrics>,
    #[serde(default)]
    pub audit: Audit,
    /// Seconds to wait for another run's lock on the mount point.
    #[serde(default = "default_lock_timeout")]
    pub lock_timeout_seconds: u64,

    #[serde(flatten, skip_serializing)]
    pub unknown: Unknown,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Logging {
    #[serde(default = "default_true")]
    pub key_import: bool,
    #[serde(default = "default_true")]
    pub secret_changes: bool,
    #[serde(flatten, skip_serializing)]
    pub unknown: Unknown,
}

impl Default for Logging {
    fn default() -> Self {
        Logging {
            key_import: true,
            secret_changes: true,
            unknown: Unknown::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailurePolicy {
    /// Any failure keeps the old generation.
    #[default]
    AllOrNothing,
    /// Install what decrypts, report the rest, exit non-zero.
    Partial,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PathDirectories {
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub uid: Option<u32>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub gid: Option<u32>,
    #[serde(default = "default_dir_mode")]
    pub mode: String,
    #[serde(flatten, skip_serializing)]
    pub unknown: Unknown,
}

impl Default for PathDirectories {
    fn default() -> Self {
        PathDirectories {
            owner: None,
            uid: None,
            group: None,
            gid: None,
            mode: default_dir_mode(),
            unknown: Unknown::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    /// The node-exporter textfile directory.
    pub directory: String,
    /// The file written there (atomically replaced).
    #[serde(default = "default_metrics_file")]
    pub file_name: String,
    /// Label per-secret metrics with secret names (off by default).
    #[serde(default)]
    pub secret_names: bool,
    #[serde(flatten, skip_serializing)]
    pub unknown: Unknown,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Audit {
    /// Emit audit events (journald when its socket exists, else stderr lines).
    #[serde(default = "default_true")]
    pub enable: bool,
    #[serde(flatten, skip_serializing)]
    pub unknown: Unknown,
}

impl Default for Audit {
    fn default() -> Self {
        Audit {
            enable: true,
            unknown: Unknown::new(),
        }
    }
}

/// One secret: a value (or a whole file) of a sops file, installed as a file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    /// File name under the generation (may contain `/`).
    pub name: String,
    /// Key path: `a/b/c` or `["a"]["b"][0]`; `""` = the whole file. Default: `name`.
    #[serde(default)]
    pub key: Option<String>,
    /// Where a symlink is made if it is not `<symlinkPath>/<name>`.
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub uid: Option<u32>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub gid: Option<u32>,
    pub sops_file: String,
    /// yaml, json, binary, dotenv, ini (`""` = yaml).
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default = "default_mode")]
    pub mode: String,
    #[serde(default)]
    pub restart_units: Vec<String>,
    #[serde(default)]
    pub reload_units: Vec<String>,
    /// Emitted by the NixOS module; informational.
    #[serde(default)]
    pub sops_file_hash: Option<String>,
    /// Emitted by the NixOS module; informational (the split is the module's job).
    #[serde(default)]
    pub needed_for_users: bool,
    #[serde(flatten, skip_serializing)]
    pub unknown: Unknown,
}

/// A template rendered under `rendered/`, placeholders replaced by secret values.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    pub name: String,
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default = "default_mode")]
    pub mode: String,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub uid: Option<u32>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub gid: Option<u32>,
    #[serde(default)]
    pub restart_units: Vec<String>,
    #[serde(default)]
    pub reload_units: Vec<String>,
    #[serde(flatten, skip_serializing)]
    pub unknown: Unknown,
}

impl Secret {
    /// The key path in sops-nix's meaning: default the name; `""` = whole file.
    pub fn key(&self) -> &str {
        self.key.as_deref().unwrap_or(&self.name)
    }
    /// The format name (`""`/absent = yaml).
    pub fn format_name(&self) -> &str {
        match self.format.as_deref() {
            None | Some("") => "yaml",
            Some(f) => f,
        }
    }
}
