//! Plan validation: what `keyward check` runs at build time, and `install` before anything else.

use std::collections::{BTreeMap, BTreeSet};

use sops::Format;

use super::{unknown_fields, Plan};
use crate::source::SopsSource;

/// One problem, about one secret or template or the plan itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `secret "db/password"`, `template "app.env"`, or `plan`.
    pub subject: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.subject, self.message)
    }
}

/// The outcome of a check: errors fail it, warnings are printed.
#[derive(Debug, Default)]
pub struct Report {
    pub errors: Vec<Problem>,
    pub warnings: Vec<String>,
}

pub struct CheckOptions<'a> {
    /// Also open every sops file (ciphertext only): it parses, keys exist and are leaves.
    pub sops_files: bool,
    pub source: &'a dyn SopsSource,
}

/// Parse an octal mode string (`"0400"`, `"400"`); at most 0o7777.
pub fn parse_mode(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    u32::from_str_radix(s, 8).ok().filter(|m| *m <= 0o7777)
}

/// A secret or template name: relative, `/`-separated, no empty, `.` or `..` component, no NUL,
/// not keyward's own metadata file.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if name.contains('\0') {
        return Err("the name contains a NUL byte".into());
    }
    if name.starts_with('/') {
        return Err("the name is absolute (it must stay inside the secrets mount)".into());
    }
    for part in name.split('/') {
        match part {
            "" => return Err("the name has an empty component (`//` or a trailing `/`)".into()),
            "." | ".." => {
                return Err(format!(
                    "the name has a `{part}` component (it must stay inside the secrets mount)"
                ))
            }
            _ => {}
        }
    }
    if name == crate::install::META_FILE {
        return Err(format!("`{name}` is reserved for keyward's own metadata"));
    }
    Ok(())
}

/// An absolute path without NUL, `.` or `..` components.
fn check_abs_path(p: &str, user_mode: bool) -> Result<(), String> {
    if p.contains('\0') {
        return Err("contains a NUL byte".into());
    }
    if !(p.starts_with('/') || (user_mode && p.starts_with("%r"))) {
        return Err("must be an absolute path".into());
    }
    if p.split('/').any(|c| c == ".." || c == ".") {
        return Err("must not contain `.` or `..` components".into());
    }
    Ok(())
}

const UNIT_SUFFIXES: [&str; 11] = [
    ".service",
    ".socket",
    ".target",
    ".timer",
    ".path",
    ".mount",
    ".automount",
    ".swap",
    ".slice",
    ".scope",
    ".device",
];

fn check_unit(u: &str) -> Result<(), String> {
    if u.is_empty() || u.contains(char::is_whitespace) || u.contains('/') {
        return Err(format!("{u:?} is not a unit name"));
    }
    if !UNIT_SUFFIXES
        .iter()
        .any(|s| u.ends_with(s) && u.len() > s.len())
    {
        return Err(format!(
            "unit {u:?} has no unit suffix (did you mean \"{u}.service\"?)"
        ));
    }
    Ok(())
}

fn normalise(p: &str) -> String {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        "/".into()
    } else {
        t.to_string()
    }
}

/// Validate a plan. `is_manifest`: a sops-nix manifest (unknown fields only warn).
pub fn check(plan: &Plan, is_manifest: bool, opts: &CheckOptions) -> Report {
    let mut r = Report::default();
    let plan_err = |r: &mut Report, m: String| {
        r.errors.push(Problem {
            subject: "plan".into(),
            message: m,
        })
    };

    for f in unknown_fields(plan) {
        if is_manifest {
            r.warnings
                .push(format!("ignoring unknown manifest field {f}"));
        } else {
            plan_err(&mut r, format!("unknown field {f}"));
        }
    }
    if !plan.ssh_key_paths.is_empty() {
        r.warnings.push(format!(
            "skipping sshKeyPaths ({}): RSA ssh keys for GPG are not supported, keyward is age-only",
            plan.ssh_key_paths.join(", ")
        ));
    }
    if plan.gnupg_home.as_deref().is_some_and(|g| !g.is_empty()) {
        r.warnings.push(
            "skipping gnupgHome: keyward is age-only (files encrypted only to PGP keys will fail)"
                .into(),
        );
    }
    let um = plan.user_mode;
    for (field, v) in [
        ("secretsMountPoint", &plan.secrets_mount_point),
        ("symlinkPath", &plan.symlink_path),
    ] {
        if let Err(e) = check_abs_path(v, um) {
            plan_err(&mut r, format!("{field} {v:?} {e}"));
        }
    }
    let mount = normalise(&plan.secrets_mount_point);
    let link = normalise(&plan.symlink_path);
    if mount == "/" || link == "/" || mount == link {
        plan_err(
            &mut r,
            "secretsMountPoint and symlinkPath must be two different paths below /".into(),
        );
    }
    if parse_mode(&plan.path_directories.mode).is_none() {
        plan_err(
            &mut r,
            format!(
                "pathDirectories.mode {:?} is not an octal mode",
                plan.path_directories.mode
            ),
        );
    }
    if let Some(m) = &plan.metrics {
        if let Err(e) = check_abs_path(&m.directory, um) {
            plan_err(&mut r, format!("metrics.directory {:?} {e}", m.directory));
        }
        if m.file_name.is_empty()
            || m.file_name.contains('/')
            || m.file_name.starts_with('.')
            || !m.file_name.ends_with(".prom")
        {
            plan_err(
                &mut r,
                format!(
                    "metrics.fileName {:?} must be a plain file name ending in .prom",
                    m.file_name
                ),
            );
        }
    }

    // Names, modes, owners, paths, units.
    let mut names: BTreeSet<&str> = BTreeSet::new();
    let mut paths: BTreeMap<String, String> = BTreeMap::new();
    let mut formats: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for s in &plan.secrets {
        let subject = format!("secret {:?}", s.name);
        let mut err = |m: String| {
            r.errors.push(Problem {
                subject: subject.clone(),
                message: m,
            })
        };
        if let Err(e) = check_name(&s.name) {
            err(e);
        }
        if (s.name == "rendered" || s.name.starts_with("rendered/")) && !plan.templates.is_empty() {
            err("the name collides with the `rendered/` directory of templates".into());
        }
        if !names.insert(&s.name) {
            err("a secret with this name is declared twice".into());
        }
        if parse_mode(&s.mode).is_none() {
            err(format!("mode {:?} is not an octal mode", s.mode));
        }
        let Some(format) = Format::from_name(s.format_name()) else {
            err(format!(
                "format {:?} is not one of yaml, json, binary, dotenv, ini",
                s.format_name()
            ));
            continue;
        };
        match formats.get(s.sops_file.as_str()) {
            Some((other, f)) if *f != format.name() => err(format!(
                "format {} disagrees with secret {other:?} ({f}) for the same sops file {}",
                format.name(),
                s.sops_file
            )),
            Some(_) => {}
            None => {
                formats.insert(&s.sops_file, (&s.name, format.name()));
            }
        }
        if s.sops_file.is_empty() {
            err("sopsFile is empty".into());
        }
        if let Some(k) = &s.key {
            if k.starts_with('[') {
                if let Err(e) = sops::path::parse_key(k) {
                    err(e.to_string());
                }
            }
        }
        owner_rules(plan, &s.owner, s.uid, &s.group, s.gid, &mut err);
        for u in s.restart_units.iter().chain(&s.reload_units) {
            if let Err(e) = check_unit(u) {
                err(e);
            }
        }
        let default = format!("{link}/{}", s.name);
        path_rules(
            plan,
            s.path.as_deref(),
            &default,
            &mount,
            &mut paths,
            &subject,
            &mut err,
        );
        if !plan.templates.is_empty() && !plan.placeholder_by_secret_name.contains_key(&s.name) {
            err("the plan has templates but no placeholder for this secret".into());
        }
    }
    let mut tnames: BTreeSet<&str> = BTreeSet::new();
    for t in &plan.templates {
        let subject = format!("template {:?}", t.name);
        let mut err = |m: String| {
            r.errors.push(Problem {
                subject: subject.clone(),
                message: m,
            })
        };
        if let Err(e) = check_name(&t.name) {
            err(e);
        }
        if !tnames.insert(&t.name) {
            err("a template with this name is declared twice".into());
        }
        if parse_mode(&t.mode).is_none() {
            err(format!("mode {:?} is not an octal mode", t.mode));
        }
        owner_rules(plan, &t.owner, t.uid, &t.group, t.gid, &mut err);
        for u in t.restart_units.iter().chain(&t.reload_units) {
            if let Err(e) = check_unit(u) {
                err(e);
            }
        }
        let default = format!("{link}/rendered/{}", t.name);
        path_rules(
            plan,
            t.path.as_deref(),
            &default,
            &mount,
            &mut paths,
            &subject,
            &mut err,
        );
        if t.content.is_empty() {
            match t.file.as_deref() {
                None | Some("") => err("the template has neither content nor file".into()),
                Some(f) => {
                    if let Err(e) = std::fs::metadata(f) {
                        err(format!("cannot read the template file {f}: {e}"));
                    }
                }
            }
        }
    }
    // A secret that is a directory of another ("a" and "a/b"). The names are sorted, so the
    // first name at or after "a/" is the only candidate: O(n log n), not O(n²).
    for (kind, set) in [("secret", &names), ("template", &tnames)] {
        for a in set.iter() {
            let prefix = format!("{a}/");
            if let Some(b) = set
                .range(prefix.as_str()..)
                .next()
                .filter(|b| b.starts_with(&prefix))
            {
                r.errors.push(Problem {
                    subject: format!("{kind} {a:?}"),
                    message: format!("it is a file, but {kind} {b:?} needs it to be a directory"),
                });
            }
        }
    }
    if opts.sops_files && r.errors.is_empty() {
        check_sops_files(plan, opts.source, &mut r);
    }
    r
}

fn owner_rules(
    plan: &Plan,
    owner: &Option<String>,
    uid: Option<u32>,
    group: &Option<String>,
    gid: Option<u32>,
    err: &mut dyn FnMut(String),
) {
    if plan.needed_for_users {
        let named = |n: &Option<String>| n.as_deref().is_some_and(|n| n != "root");
        if named(owner) || named(group) {
            err("a neededForUsers secret is installed before users exist: use numeric uid/gid, not names".into());
        }
    }
    if owner.is_some() && uid.is_some_and(|u| u != 0) {
        err("owner and a non-zero uid are both set; set one".into());
    }
    if group.is_some() && gid.is_some_and(|g| g != 0) {
        err("group and a non-zero gid are both set; set one".into());
    }
}

#[allow(clippy::too_many_arguments)]
fn path_rules(
    plan: &Plan,
    path: Option<&str>,
    default: &str,
    mount: &str,
    seen: &mut BTreeMap<String, String>,
    subject: &str,
    err: &mut dyn FnMut(String),
) {
    let p = path.unwrap_or(default);
    if let Err(e) = check_abs_path(p, plan.user_mode) {
        err(format!("path {p:?} {e}"));
        return;
    }
    let n = normalise(p);
    if n != default && (n == mount || n.starts_with(&format!("{mount}/"))) {
        err(format!("path {p:?} is inside the secrets mount {mount}"));
    }
    if let Some(other) = seen.insert(n, subject.to_string()) {
        err(format!("path {p:?} is also the path of {other}"));
    }
}

fn check_sops_files(plan: &Plan, source: &dyn SopsSource, r: &mut Report) {
    let mut by_file: BTreeMap<&str, Vec<&super::Secret>> = BTreeMap::new();
    for s in &plan.secrets {
        by_file.entry(&s.sops_file).or_default().push(s);
    }
    for (file, secrets) in by_file {
        let format = Format::from_name(secrets[0].format_name()).unwrap_or(Format::Yaml);
        let fail = |r: &mut Report, m: String| {
            for s in &secrets {
                r.errors.push(Problem {
                    subject: format!("secret {:?}", s.name),
                    message: m.clone(),
                });
            }
        };
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                fail(r, format!("cannot read the sops file {file}: {e}"));
                continue;
            }
        };
        let parsed = match source.parse(format, &bytes) {
            Ok(p) => p,
            Err(e) => {
                fail(r, format!("{file}: {e}"));
                continue;
            }
        };
        if !matches!(format, Format::Yaml | Format::Json) {
            continue;
        }
        let doc = parsed.branches.first().map(|b| b.as_slice()).unwrap_or(&[]);
        for s in secrets {
            let key = s.key();
            if key.is_empty() {
                continue;
            }
            let res = sops::path::parse_key(key)
                .and_then(|p| sops::path::lookup(doc, &p).map(|v| v.is_container()));
            let message = match res {
                Ok(false) => continue,
                Ok(true) => format!("key {key:?} in {file} is a mapping or list, not a value (use key \"\" for the whole file)"),
                Err(e) => format!("{file}: {e}"),
            };
            r.errors.push(Problem {
                subject: format!("secret {:?}", s.name),
                message,
            });
        }
    }
}
