//! Report: change lines in sops-nix's wording, unit restarts and reloads, Prometheus textfile
//! metrics, audit events. Nothing here ever sees a secret's value.

pub mod audit;
pub mod metrics;

use std::io::Write;
use std::path::Path;

/// What changed between the old and the new generation, by name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<String>,
    pub modified: Vec<String>,
    pub removed: Vec<String>,
    pub added_rendered: Vec<String>,
    pub modified_rendered: Vec<String>,
    pub removed_rendered: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.modified.is_empty()
            && self.removed.is_empty()
            && self.added_rendered.is_empty()
            && self.modified_rendered.is_empty()
            && self.removed_rendered.is_empty()
    }

    /// sops-nix's lines: `adding secret: a, b`, … (`would add …` in a dry run), secrets first.
    pub fn lines(&self, dry: bool) -> Vec<String> {
        let mut out = Vec::new();
        let groups = [
            (&self.added, "adding", "would add", "secret"),
            (&self.modified, "modifying", "would modify", "secret"),
            (&self.removed, "removing", "would remove", "secret"),
            (
                &self.added_rendered,
                "adding",
                "would add",
                "rendered secret",
            ),
            (
                &self.modified_rendered,
                "modifying",
                "would modify",
                "rendered secret",
            ),
            (
                &self.removed_rendered,
                "removing",
                "would remove",
                "rendered secret",
            ),
        ];
        for (names, verb, dry_verb, what) in groups {
            if names.is_empty() {
                continue;
            }
            let mut sorted = names.clone();
            sorted.sort();
            let verb = if dry { dry_verb } else { verb };
            out.push(format!("{verb} {what}: {}", sorted.join(", ")));
        }
        out
    }
}

/// Units to restart and reload, in first-seen order, without duplicates.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Units {
    pub restart: Vec<String>,
    pub reload: Vec<String>,
}

impl Units {
    pub fn add(&mut self, restart: &[String], reload: &[String]) {
        for u in restart {
            if !self.restart.contains(u) {
                self.restart.push(u.clone());
            }
        }
        for u in reload {
            if !self.reload.contains(u) {
                self.reload.push(u.clone());
            }
        }
    }
    pub fn is_empty(&self) -> bool {
        self.restart.is_empty() && self.reload.is_empty()
    }
}

/// How units are restarted.
pub enum UnitAction<'a> {
    /// `systemctl --no-block try-restart …` / `try-reload-or-restart …` (the systemd unit).
    Systemctl { program: &'a str },
    /// Append to `<run_nixos>/activation-{restart,reload}-list` if that directory exists.
    Lists { run_nixos: &'a Path },
}

/// Restart and reload `units` after a switch. Returns a description of what was done.
pub fn apply_units(units: &Units, action: &UnitAction) -> Result<Vec<String>, String> {
    let mut done = Vec::new();
    match action {
        UnitAction::Systemctl { program } => {
            for (verb, list) in [
                ("try-restart", &units.restart),
                ("try-reload-or-restart", &units.reload),
            ] {
                if list.is_empty() {
                    continue;
                }
                let status = std::process::Command::new(program)
                    .arg("--no-block")
                    .arg(verb)
                    .args(list)
                    .env_clear()
                    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                    .stdin(std::process::Stdio::null())
                    .status()
                    .map_err(|e| format!("cannot run {program}: {e}"))?;
                if !status.success() {
                    return Err(format!(
                        "{program} --no-block {verb} {} failed ({status})",
                        list.join(" ")
                    ));
                }
                done.push(format!("systemctl {verb} {}", list.join(" ")));
            }
        }
        UnitAction::Lists { run_nixos } => {
            if !run_nixos.is_dir() {
                return Ok(done);
            }
            for (file, list) in [
                ("activation-restart-list", &units.restart),
                ("activation-reload-list", &units.reload),
            ] {
                if list.is_empty() {
                    continue;
                }
                use std::os::unix::fs::OpenOptionsExt;
                let p = run_nixos.join(file);
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .mode(0o600)
                    .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                    .open(&p)
                    .map_err(|e| format!("{}: {e}", p.display()))?;
                let mut text = list.join("\n");
                text.push('\n');
                f.write_all(text.as_bytes())
                    .map_err(|e| format!("{}: {e}", p.display()))?;
                done.push(format!("{file}: {}", list.join(" ")));
            }
        }
    }
    Ok(done)
}
