//! The plan: loading (a keyward v1 plan or a sops-nix manifest unchanged) and validation
//! (`keyward check`). Nothing here needs a private key or root.

mod check;
pub mod schema;
mod types;

pub use check::{check, check_name, parse_mode, CheckOptions, Problem, Report as CheckReport};
pub use types::*;

use std::path::Path;

/// Why a plan could not be loaded at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read the plan: {source}")]
    Unreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a valid plan: {msg}")]
    Syntax { path: String, msg: String },
    #[error("{path}: unknown plan version {version} (this keyward reads version 1, or a sops-nix manifest without a version)")]
    UnknownVersion { path: String, version: String },
}

/// A loaded plan with its raw bytes (they go into the inputs digest).
pub struct Loaded {
    pub plan: Plan,
    pub bytes: Vec<u8>,
    pub path: String,
}

impl Loaded {
    /// True for a sops-nix manifest (no `version`).
    pub fn is_manifest(&self) -> bool {
        self.plan.version.is_none()
    }
}

/// Read and parse a plan file.
pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| LoadError::Unreadable {
        path: name.clone(),
        source,
    })?;
    let plan = parse(&name, &bytes)?;
    Ok(Loaded {
        plan,
        bytes,
        path: name,
    })
}

/// Parse plan bytes; `name` is used in messages.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Plan, LoadError> {
    let syntax = |msg: String| LoadError::Syntax {
        path: name.to_string(),
        msg,
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| syntax(e.to_string()))?;
    let obj = value
        .as_object()
        .ok_or_else(|| syntax("the top level must be a JSON object".into()))?;
    match obj.get("version") {
        None | Some(serde_json::Value::Null) => {}
        Some(v) if v.as_u64() == Some(1) => {}
        Some(v) => {
            return Err(LoadError::UnknownVersion {
                path: name.to_string(),
                version: v.to_string(),
            })
        }
    }
    serde_json::from_value(value).map_err(|e| syntax(e.to_string()))
}

/// Every unknown field in the plan, as `secrets[2].foo`-style paths.
pub fn unknown_fields(plan: &Plan) -> Vec<String> {
    let mut out: Vec<String> = plan.unknown.keys().cloned().collect();
    let mut sub = |prefix: String, u: &Unknown| {
        out.extend(u.keys().map(|k| format!("{prefix}.{k}")));
    };
    sub("logging".into(), &plan.logging.unknown);
    sub("pathDirectories".into(), &plan.path_directories.unknown);
    sub("audit".into(), &plan.audit.unknown);
    if let Some(m) = &plan.metrics {
        sub("metrics".into(), &m.unknown);
    }
    for (i, s) in plan.secrets.iter().enumerate() {
        sub(format!("secrets[{i}] ({:?})", s.name), &s.unknown);
    }
    for (i, t) in plan.templates.iter().enumerate() {
        sub(format!("templates[{i}] ({:?})", t.name), &t.unknown);
    }
    out
}
