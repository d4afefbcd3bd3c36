//! Prometheus textfile metrics (classic text format), written to a temporary file in the same
//! directory and renamed over `keyward.prom`, mode 0644. No secret names unless allowed.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

/// Failure reasons, each always exported (0 when none).
pub const REASONS: [&str; 11] = [
    "plan",
    "no_identity",
    "not_sops",
    "damaged",
    "integrity",
    "unsupported_key",
    "key_not_found",
    "template",
    "owner",
    "io",
    "system",
];

/// Stages whose durations are exported.
pub const STAGES: [&str; 8] = [
    "plan",
    "identities",
    "decrypt",
    "select",
    "render",
    "stage",
    "switch",
    "report",
];

#[derive(Debug, Default, Clone)]
pub struct RunMetrics {
    /// Label value identifying the plan (its symlinkPath).
    pub plan: String,
    pub timestamp: f64,
    pub success: bool,
    pub unchanged: bool,
    pub durations: Vec<(&'static str, f64)>,
    pub secrets_installed: u64,
    pub templates_installed: u64,
    pub files_decrypted: u64,
    pub failures: Vec<(&'static str, u64)>,
    pub generation: u64,
    /// sops file path → its `lastmodified` as a Unix timestamp.
    pub sops_files: Vec<(String, f64)>,
    /// Per-secret installed gauge (only when the plan allows names).
    pub secret_names: Option<Vec<(String, bool)>>,
}

fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl RunMetrics {
    pub fn render(&self) -> String {
        let mut s = String::new();
        let p = esc(&self.plan);
        let gauge = |s: &mut String, name: &str, help: &str, rows: Vec<(String, String)>| {
            let _ = writeln!(s, "# HELP {name} {help}");
            let _ = writeln!(s, "# TYPE {name} gauge");
            for (labels, v) in rows {
                let _ = writeln!(s, "{name}{{plan=\"{p}\"{labels}}} {v}");
            }
        };
        let b = |v: bool| if v { "1".to_string() } else { "0".to_string() };
        gauge(
            &mut s,
            "keyward_last_run_timestamp_seconds",
            "Unix time of the last keyward install run.",
            vec![(String::new(), format!("{:.3}", self.timestamp))],
        );
        gauge(
            &mut s,
            "keyward_last_run_success",
            "1 if the last run installed every secret (or found them unchanged).",
            vec![(String::new(), b(self.success))],
        );
        gauge(
            &mut s,
            "keyward_last_run_unchanged",
            "1 if the last run found its inputs unchanged and did nothing.",
            vec![(String::new(), b(self.unchanged))],
        );
        let mut rows = Vec::new();
        for st in STAGES {
            let v = self
                .durations
                .iter()
                .find(|(n, _)| *n == st)
                .map(|(_, v)| *v)
                .unwrap_or(0.0);
            rows.push((format!(",stage=\"{st}\""), format!("{v:.6}")));
        }
        gauge(
            &mut s,
            "keyward_stage_duration_seconds",
            "Duration of each stage of the last run.",
            rows,
        );
        gauge(
            &mut s,
            "keyward_secrets_installed",
            "Secrets in the current generation after the last run.",
            vec![(String::new(), self.secrets_installed.to_string())],
        );
        gauge(
            &mut s,
            "keyward_templates_installed",
            "Rendered templates in the current generation after the last run.",
            vec![(String::new(), self.templates_installed.to_string())],
        );
        gauge(
            &mut s,
            "keyward_files_decrypted",
            "sops files decrypted by the last run.",
            vec![(String::new(), self.files_decrypted.to_string())],
        );
        let rows = REASONS
            .iter()
            .map(|r| {
                let v = self
                    .failures
                    .iter()
                    .filter(|(n, _)| n == r)
                    .map(|(_, v)| v)
                    .sum::<u64>();
                (format!(",reason=\"{r}\""), v.to_string())
            })
            .collect();
        gauge(
            &mut s,
            "keyward_failures",
            "Secrets or steps that failed in the last run, by reason.",
            rows,
        );
        gauge(
            &mut s,
            "keyward_generation",
            "Number of the current generation.",
            vec![(String::new(), self.generation.to_string())],
        );
        let rows = self
            .sops_files
            .iter()
            .map(|(f, t)| (format!(",file=\"{}\"", esc(f)), format!("{t:.0}")))
            .collect();
        gauge(
            &mut s,
            "keyward_sops_file_lastmodified_timestamp_seconds",
            "The lastmodified time of each sops file decrypted (for rotation alerts).",
            rows,
        );
        if let Some(names) = &self.secret_names {
            let rows = names
                .iter()
                .map(|(n, ok)| (format!(",secret=\"{}\"", esc(n)), b(*ok)))
                .collect();
            gauge(
                &mut s,
                "keyward_secret_installed",
                "1 per secret installed by the last run (names allowed by the plan).",
                rows,
            );
        }
        s
    }
}

/// Write `text` to `<dir>/<file>` atomically (temporary file, fsync, rename), mode 0644.
pub fn write_textfile(dir: &Path, file: &str, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{file}.{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&tmp)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o644))?;
    let r = f.write_all(text.as_bytes()).and_then(|_| f.sync_all());
    if let Err(e) = r.and_then(|_| std::fs::rename(&tmp, dir.join(file))) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

/// Seconds since the epoch of an RFC 3339 time (`2021-09-30T12:01:02Z`, offsets allowed).
pub fn rfc3339_to_unix(s: &str) -> Option<f64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    let mut rest = &s[19..];
    let mut frac = 0.0;
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        frac = format!("0.{}", &r[..n]).parse().ok()?;
        rest = &r[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        z if z.len() == 6 => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            sign * (z[1..3].parse::<i64>().ok()? * 3600 + z[4..6].parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some((days * 86400 + h * 3600 + mi * 60 + se - offset) as f64 + frac)
}
