//! `keyward install`: plan → identities → decrypt → select → render → stage → switch → report.
//!
//! Every sops file is decrypted once (in parallel across files, one at a time when an
//! identity needs a person or a device); the new generation is written complete into
//! `<mount>/<N+1>` and switched in with one `rename(2)` of `symlinkPath`.

mod select;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use rayon::prelude::*;
use sha2::{Digest, Sha256};
use sops::{Format, Identities, SecretBytes};

use crate::cli::exit;
use crate::plan::{self, FailurePolicy, Plan};
use crate::report::audit::{Audit, Event, Kind};
use crate::report::metrics::{self, RunMetrics};
use crate::report::{self, Changes, UnitAction, Units};
use crate::source::{Decrypted, SopsSource};
use crate::sys::{self, DirSpec, Owner, Users};

pub use select::{render, select};

/// keyward's metadata file in each generation: the inputs digest and the `path` links made.
pub const META_FILE: &str = ".keyward.json";

/// The steps `KEYWARD_FAULT_AT` can abort at (SIGKILL), in pipeline order.
pub const FAULT_STEPS: [&str; 10] = [
    "plan-loaded",
    "locked",
    "identities-loaded",
    "decrypted",
    "staging",
    "staged",
    "switched",
    "linked",
    "pruned",
    "reported",
];

/// How to run.
pub struct Options<'a> {
    pub plan: PathBuf,
    /// Every path the plan writes to is taken below this directory (`/` normally).
    pub root: PathBuf,
    /// `NIXOS_ACTION=dry-activate`: print what would change, write nothing.
    pub dry_run: bool,
    /// sops-nix's `-ignore-passwd`: numeric ids only (also implied by a neededForUsers plan).
    pub ignore_passwd: bool,
    /// `Some(program)` when `SOPS_RESTART_UNITS_VIA_SYSTEMCTL=1`.
    pub systemctl: Option<String>,
    /// `$XDG_RUNTIME_DIR`, for `%r` in user mode.
    pub xdg_runtime_dir: Option<String>,
    /// `KEYWARD_FAULT_AT`.
    pub fault_at: Option<String>,
    /// Overrides the plan's `lockTimeoutSeconds`.
    pub lock_timeout: Option<Duration>,
    /// Mount the secrets filesystem (as root, not in user mode). Off by default under `--root`.
    pub mount: bool,
    /// Extra identity files (tried before the plan's).
    pub identities: Vec<PathBuf>,
    pub source: &'a dyn SopsSource,
}

/// One secret or template that failed, or a step.
#[derive(Debug, Clone)]
pub struct Failure {
    pub subject: String,
    pub message: String,
    pub reason: &'static str,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.subject, self.message)
    }
}

fn reason_of(e: &sops::Error) -> &'static str {
    use sops::Error as E;
    match e {
        E::NotSops(_) => "not_sops",
        E::Syntax { .. } | E::Metadata(_) | E::Malformed { .. } => "damaged",
        E::NoIdentity { .. } | E::NotEnoughGroups { .. } | E::Identity(_) => "no_identity",
        E::Mac(_) | E::Value { .. } => "integrity",
        E::UnsupportedMasterKeys(_) => "unsupported_key",
        E::KeyNotFound(_) => "key_not_found",
        E::Io { .. } => "io",
        E::Emit(_) => "system",
    }
}

/// `path` below `root` (`/run/x` under `/tmp/r` → `/tmp/r/run/x`).
pub fn under(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

fn rel(abs: &str) -> &str {
    abs.trim_start_matches('/').trim_end_matches('/')
}

fn split(rel: &str) -> (&str, &str) {
    rel.rsplit_once('/').unwrap_or(("", rel))
}

/// An entry to install: a secret or a rendered template.
struct Entry {
    /// Name relative to the generation (`db/pw`, `rendered/app.env`).
    rel: String,
    name: String,
    template: bool,
    mode: u32,
    owner: (u32, u32),
    link: Option<String>,
    restart: Vec<String>,
    reload: Vec<String>,
}

impl Entry {
    fn subject(&self) -> String {
        if self.template {
            format!("template {:?}", self.name)
        } else {
            format!("secret {:?}", self.name)
        }
    }
}

struct Run<'a, 'o> {
    o: &'a Options<'o>,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    audit: Audit,
    metrics: RunMetrics,
    stage_started: Instant,
}

enum Stop {
    /// Exit with this code; the message(s) were printed.
    Exit(u8),
}

impl<'a, 'o> Run<'a, 'o> {
    fn fault(&mut self, step: &str) {
        if self.o.fault_at.as_deref() == Some(step) {
            let _ = self.err.flush();
            sys::kill_self();
        }
    }

    fn stage_done(&mut self, stage: &'static str) {
        let now = Instant::now();
        self.metrics
            .durations
            .push((stage, (now - self.stage_started).as_secs_f64()));
        self.stage_started = now;
    }

    fn say(&mut self, line: &str) {
        let _ = writeln!(self.err, "keyward: {line}");
    }

    fn fail(&mut self, failures: &[Failure], code: u8, what: &str) -> Stop {
        for f in failures {
            self.say(&f.to_string());
            self.audit.emit(
                Event::new(Kind::Failure, f.to_string())
                    .field("KEYWARD_SUBJECT", f.subject.clone())
                    .field("KEYWARD_REASON", f.reason),
                self.err,
            );
            self.metrics.failures.push((f.reason, 1));
        }
        self.say(what);
        Stop::Exit(code)
    }
}

/// Run an install; prints to `out`/`err`; returns the exit status.
pub fn run(o: &Options, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let now = Instant::now();
    let mut r = Run {
        o,
        out,
        err,
        audit: Audit::disabled(),
        metrics: RunMetrics::default(),
        stage_started: now,
    };
    let loaded = match plan::load(&o.plan) {
        Ok(l) => l,
        Err(e) => {
            r.say(&e.to_string());
            return match e {
                plan::LoadError::Unreadable { .. }
                | plan::LoadError::Syntax { .. }
                | plan::LoadError::UnknownVersion { .. } => exit::PLAN,
            };
        }
    };
    let mut plan = loaded.plan.clone();
    let manifest = loaded.is_manifest();
    let mut metrics_dir = None;
    let code = match run_plan(&mut r, &loaded, &mut plan, manifest, &mut metrics_dir) {
        Ok(code) => code,
        Err(Stop::Exit(code)) => code,
    };
    r.metrics.success = code == exit::OK;
    if let (Some((dir, file)), false) = (metrics_dir, o.dry_run) {
        r.metrics.timestamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let text = r.metrics.render();
        if let Err(e) = metrics::write_textfile(&dir, &file, &text) {
            r.say(&format!("cannot write metrics to {}: {e}", dir.display()));
        }
    }
    r.fault("reported");
    code
}

fn run_plan(
    r: &mut Run,
    loaded: &plan::Loaded,
    plan: &mut Plan,
    manifest: bool,
    metrics_dir: &mut Option<(PathBuf, String)>,
) -> Result<u8, Stop> {
    let o = r.o;
    // ---- plan ----
    if plan.user_mode {
        let xdg = o.xdg_runtime_dir.clone();
        let expand = |s: &mut String| -> Result<(), String> {
            if !s.contains('%') {
                return Ok(());
            }
            let mut out = String::new();
            let mut chars = s.chars();
            while let Some(c) = chars.next() {
                if c != '%' {
                    out.push(c);
                    continue;
                }
                match chars.next() {
                    Some('%') => out.push('%'),
                    Some('r') => out.push_str(
                        xdg.as_deref()
                            .ok_or("the plan uses %r but XDG_RUNTIME_DIR is not set")?,
                    ),
                    other => {
                        return Err(format!(
                            "unknown escape %{} in {s:?} (only %r and %% are known)",
                            other.map(String::from).unwrap_or_default()
                        ))
                    }
                }
            }
            *s = out;
            Ok(())
        };
        let mut errs = Vec::new();
        let mut go = |s: &mut String| {
            if let Err(e) = expand(s) {
                errs.push(e);
            }
        };
        go(&mut plan.secrets_mount_point);
        go(&mut plan.symlink_path);
        for s in &mut plan.secrets {
            if let Some(p) = &mut s.path {
                go(p);
            }
        }
        for t in &mut plan.templates {
            if let Some(p) = &mut t.path {
                go(p);
            }
        }
        if let Some(m) = &mut plan.metrics {
            go(&mut m.directory);
        }
        if let Some(e) = errs.into_iter().next() {
            r.say(&format!("{}: {e}", loaded.path));
            return Err(Stop::Exit(exit::PLAN));
        }
    }
    if let Some(m) = &plan.metrics {
        *metrics_dir = Some((under(&o.root, &m.directory), m.file_name.clone()));
        r.metrics.secret_names = m.secret_names.then(Vec::new);
    }
    r.metrics.plan = plan.symlink_path.clone();
    let report = plan::check(
        plan,
        manifest,
        &plan::CheckOptions {
            sops_files: false,
            source: o.source,
        },
    );
    for w in &report.warnings {
        r.say(&format!("warning: {w}"));
    }
    if !report.errors.is_empty() {
        let failures: Vec<Failure> = report
            .errors
            .iter()
            .map(|p| Failure {
                subject: p.subject.clone(),
                message: p.message.clone(),
                reason: "plan",
            })
            .collect();
        return Err(r.fail(
            &failures,
            exit::PLAN,
            &format!("{}: the plan is invalid; nothing was changed", loaded.path),
        ));
    }
    r.audit = Audit::new(
        plan.audit.enable && !o.dry_run,
        under(&o.root, "/run/systemd/journal/socket"),
    );
    let plan_digest = hex(&Sha256::digest(&loaded.bytes));
    r.audit.emit(
        Event::new(Kind::RunStarted, format!("keyward install {}", loaded.path))
            .field("KEYWARD_PLAN", loaded.path.clone())
            .field("KEYWARD_PLAN_DIGEST", plan_digest),
        r.err,
    );
    r.stage_done("plan");
    r.fault("plan-loaded");

    // ---- owners ----
    let privileged = sys::is_root() && !plan.user_mode;
    if !sys::is_root() && !plan.user_mode && !o.dry_run {
        let (u, g) = sys::current_ids();
        r.say(&format!("not running as root: nothing is mounted, and files are owned by uid {u} gid {g}, not by the owners the plan names"));
    } else if privileged && !o.mount && !o.dry_run {
        r.say(&format!(
            "--root {}: nothing is mounted (use --mount to mount the secrets filesystem there)",
            o.root.display()
        ));
    }
    let numeric_only = o.ignore_passwd || plan.needed_for_users || plan.user_mode;
    let etc = if under(&o.root, "/etc/passwd").exists() {
        under(&o.root, "/etc")
    } else {
        PathBuf::from("/etc")
    };
    let users = if numeric_only {
        Users::default()
    } else {
        Users::load(&etc).map_err(|e| {
            r.say(&format!(
                "cannot read {}/passwd or group: {e}",
                etc.display()
            ));
            Stop::Exit(exit::SYSTEM)
        })?
    };
    let keys_gid = users.groups.get("keys").copied().unwrap_or(0);
    let resolve = |owner: &Option<String>,
                   uid: Option<u32>,
                   group: &Option<String>,
                   gid: Option<u32>|
     -> Result<(u32, u32), String> {
        let u = match owner.as_deref() {
            None => uid.unwrap_or(0),
            Some("root") if numeric_only => 0,
            Some(n) if numeric_only => {
                return Err(format!("owner {n:?}: names cannot be looked up at this stage (neededForUsers / -ignore-passwd); use a numeric uid"))
            }
            Some(n) => users.users.get(n).map(|x| x.0).ok_or_else(|| {
                format!("owner {n:?} does not exist (looked up in {}/passwd)", users.source)
            })?,
        };
        let g = match group.as_deref() {
            None => gid.unwrap_or(0),
            Some("root") if numeric_only => 0,
            Some(n) if numeric_only => {
                return Err(format!("group {n:?}: names cannot be looked up at this stage (neededForUsers / -ignore-passwd); use a numeric gid"))
            }
            Some(n) => users.groups.get(n).copied().ok_or_else(|| {
                format!("group {n:?} does not exist (looked up in {}/group)", users.source)
            })?,
        };
        Ok((u, g))
    };
    let mut failures: Vec<Failure> = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    let link_default = |rel: &str| format!("{}/{rel}", plan.symlink_path.trim_end_matches('/'));
    for s in &plan.secrets {
        let owner = resolve(&s.owner, s.uid, &s.group, s.gid);
        let owner = match owner {
            Ok(x) => x,
            Err(m) => {
                failures.push(Failure {
                    subject: format!("secret {:?}", s.name),
                    message: m,
                    reason: "owner",
                });
                (0, 0)
            }
        };
        entries.push(Entry {
            rel: s.name.clone(),
            name: s.name.clone(),
            template: false,
            mode: plan::parse_mode(&s.mode).unwrap_or(0o400),
            owner,
            link: s.path.clone().filter(|p| *p != link_default(&s.name)),
            restart: s.restart_units.clone(),
            reload: s.reload_units.clone(),
        });
    }
    for t in &plan.templates {
        let owner = match resolve(&t.owner, t.uid, &t.group, t.gid) {
            Ok(x) => x,
            Err(m) => {
                failures.push(Failure {
                    subject: format!("template {:?}", t.name),
                    message: m,
                    reason: "owner",
                });
                (0, 0)
            }
        };
        let rel = format!("rendered/{}", t.name);
        entries.push(Entry {
            link: t.path.clone().filter(|p| *p != link_default(&rel)),
            rel,
            name: t.name.clone(),
            template: true,
            mode: plan::parse_mode(&t.mode).unwrap_or(0o400),
            owner,
            restart: t.restart_units.clone(),
            reload: t.reload_units.clone(),
        });
    }
    let pd = &plan.path_directories;
    let path_dir_owner = match resolve(&pd.owner, pd.uid, &pd.group, pd.gid) {
        Ok(x) => x,
        Err(m) => {
            return Err(r.fail(
                &[Failure {
                    subject: "plan".into(),
                    message: format!("pathDirectories: {m}"),
                    reason: "owner",
                }],
                exit::PLAN,
                "nothing was changed",
            ))
        }
    };
    let own = |o: (u32, u32)| -> Owner { privileged.then_some(o) };
    let dir_owner = own((0, keys_gid));

    // ---- paths, lock, mount ----
    let root_fd = sys::open_dir(&o.root).map_err(|e| {
        r.say(&format!("{}: {e}", o.root.display()));
        Stop::Exit(exit::SYSTEM)
    })?;
    let mount_rel = rel(&plan.secrets_mount_point).to_string();
    let mount_abs = under(&o.root, &plan.secrets_mount_point);
    let link_rel = rel(&plan.symlink_path).to_string();
    let link_abs = under(&o.root, &plan.symlink_path);
    // Refuse a `path` whose existing directories go through a symlink, before anything.
    for e in &entries {
        if let Some(p) = &e.link {
            let (parent, _) = split(rel(p));
            match sys::walk_dirs(&root_fd, &o.root, Path::new(parent), None) {
                Ok(_) => {}
                Err(sys::WalkError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound => {}
                Err(we) => failures.push(Failure {
                    subject: e.subject(),
                    message: format!("path {p}: {we}"),
                    reason: "io",
                }),
            }
        }
    }
    let _lock;
    let mount_fd: Option<OwnedFd>;
    if o.dry_run {
        mount_fd = sys::walk_dirs(&root_fd, &o.root, Path::new(&mount_rel), None).ok();
    } else {
        let (mparent, mbase) = split(&mount_rel);
        let sysfail = |r: &mut Run, m: String| {
            r.say(&m);
            Stop::Exit(exit::SYSTEM)
        };
        let pfd = match sys::walk_dirs(
            &root_fd,
            &o.root,
            Path::new(mparent),
            Some(DirSpec {
                mode: 0o755,
                owner: own((0, 0)),
            }),
        ) {
            Ok(fd) => fd,
            Err(e) => return Err(sysfail(r, format!("secretsMountPoint: {e}"))),
        };
        if sys::kind_at(&pfd, mbase).ok().flatten().is_none() {
            if let Err(e) = sys::mkdir_exact(&pfd, mbase, 0o751, own((0, 0))) {
                if e.kind() != std::io::ErrorKind::AlreadyExists {
                    return Err(sysfail(r, format!("{}: {e}", mount_abs.display())));
                }
            }
        }
        let timeout = o
            .lock_timeout
            .unwrap_or(Duration::from_secs(plan.lock_timeout_seconds));
        let deadline = Instant::now() + timeout;
        let lock_err = |r: &mut Run| {
            r.say(&format!(
                "another keyward install holds the lock on {} (waited {}s); is a previous activation stuck? Nothing was changed",
                mount_abs.display(),
                timeout.as_secs()
            ));
            Stop::Exit(exit::LOCK_TIMEOUT)
        };
        let mut held = Vec::new();
        let first = sys::lock_dir(&mount_abs, timeout)
            .map_err(|e| sysfail(r, format!("cannot lock {}: {e}", mount_abs.display())))?
            .ok_or_else(|| lock_err(r))?;
        let first_id = sys::dev_ino(&first).ok();
        held.push(first);
        if privileged && o.mount {
            let mounted = sys::is_mounted(&mount_abs, plan.use_tmpfs).unwrap_or(false);
            if !mounted {
                sys::mount_secret_fs(&mount_abs, plan.use_tmpfs).map_err(|e| {
                    sysfail(
                        r,
                        format!(
                            "cannot mount a {} at {}: {e}",
                            if plan.use_tmpfs { "tmpfs" } else { "ramfs" },
                            mount_abs.display()
                        ),
                    )
                })?;
            }
            // The mounted root is what later runs open: lock it too.
            let probe = sys::open_dir(&mount_abs)
                .map_err(|e| sysfail(r, format!("{}: {e}", mount_abs.display())))?;
            if sys::dev_ino(&probe).ok() != first_id {
                drop(probe);
                let left = deadline.saturating_duration_since(Instant::now());
                match sys::lock_dir(&mount_abs, left)
                    .map_err(|e| sysfail(r, format!("cannot lock {}: {e}", mount_abs.display())))?
                {
                    Some(fd) => held.push(fd),
                    None => return Err(lock_err(r)),
                }
            }
            if let Some(fd) = held.last() {
                let _ = sys::set_dir_owner_mode(fd, 0o751, own((0, keys_gid)));
            }
        }
        _lock = sys::Lock::new(held.iter().filter_map(|f| f.try_clone().ok()).collect());
        mount_fd = held.pop();
        r.fault("locked");
    }

    // ---- current generation ----
    let (link_parent_rel, link_base) = split(&link_rel);
    let link_parent = sys::walk_dirs(&root_fd, &o.root, Path::new(link_parent_rel), None).ok();
    let current_target = link_parent
        .as_ref()
        .and_then(|p| sys::read_link_at(p, link_base).ok().flatten());
    let link_existed = link_parent
        .as_ref()
        .and_then(|p| sys::kind_at(p, link_base).ok().flatten())
        .is_some();
    let current: Option<u64> = match &current_target {
        Some(t) if t.parent() == Some(mount_abs.as_path()) => {
            match t
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::parse::<u64>)
            {
                Some(Ok(n)) => Some(n),
                _ => {
                    r.say(&format!(
                        "{} points at {}, which is not a numbered generation; a new generation 1 will replace it",
                        link_abs.display(),
                        t.display()
                    ));
                    None
                }
            }
        }
        _ => None,
    };
    let old_gen: Option<OwnedFd> = match (current, &mount_fd) {
        (Some(n), Some(m)) => sys::open_subdir(m, &n.to_string()).ok(),
        _ => None,
    };
    let old_meta: Option<serde_json::Value> = old_gen.as_ref().and_then(|g| {
        let b = sys::read_file_rel(g, META_FILE).ok().flatten()?;
        serde_json::from_slice(&b).ok()
    });

    // ---- identities ----
    let mut ids = Identities::new();
    let mut id_fail = Vec::new();
    let mut sources: Vec<(PathBuf, bool)> =
        o.identities.iter().map(|p| (p.clone(), false)).collect();
    if let Some(k) = plan.age_key_file.as_deref().filter(|k| !k.is_empty()) {
        sources.push((PathBuf::from(k), false));
    }
    for k in &plan.age_ssh_key_paths {
        sources.push((PathBuf::from(k), true));
    }
    for (p, ssh) in &sources {
        let before = ids.tried().len();
        let res = if *ssh {
            ids.add_ssh_key_file(p)
        } else {
            ids.add_file(p)
        };
        match res {
            Ok(()) => {
                if plan.logging.key_import {
                    let tried = ids.tried();
                    for d in tried.iter().skip(before) {
                        r.say(&format!("imported {d}"));
                    }
                }
            }
            Err(e) => id_fail.push(format!("{}: {e}", p.display())),
        }
    }
    if !id_fail.is_empty() && !plan.secrets.is_empty() {
        let failures: Vec<Failure> = id_fail
            .into_iter()
            .map(|m| Failure {
                subject: "identity".into(),
                message: m,
                reason: "no_identity",
            })
            .collect();
        return Err(r.fail(
            &failures,
            exit::SECRETS_FAILED,
            "no secret was decrypted; the current generation is unchanged",
        ));
    }
    r.stage_done("identities");
    r.fault("identities-loaded");

    // ---- inputs digest and the unchanged check ----
    let mut files: Vec<(&str, Format)> = Vec::new();
    for s in &plan.secrets {
        if !files.iter().any(|(f, _)| *f == s.sops_file) {
            files.push((
                &s.sops_file,
                Format::from_name(s.format_name()).unwrap_or(Format::Yaml),
            ));
        }
    }
    let mut file_bytes: BTreeMap<&str, Result<Vec<u8>, String>> = BTreeMap::new();
    for (f, _) in &files {
        file_bytes.insert(
            f,
            std::fs::read(f).map_err(|e| format!("cannot read the sops file {f}: {e}")),
        );
    }
    let mut h = Sha256::new();
    h.update(b"keyward-inputs-v1\0");
    h.update((loaded.bytes.len() as u64).to_le_bytes());
    h.update(&loaded.bytes);
    for (f, b) in &file_bytes {
        h.update(f.as_bytes());
        h.update([0]);
        match b {
            Ok(b) => {
                h.update((b.len() as u64).to_le_bytes());
                h.update(b);
            }
            Err(_) => h.update(b"unreadable"),
        }
    }
    for t in &plan.templates {
        if t.content.is_empty() {
            if let Some(Ok(b)) = t.file.as_deref().map(std::fs::read) {
                h.update(&b);
            }
        }
    }
    for d in ids.tried() {
        h.update(d.as_bytes());
        h.update([0]);
    }
    for e in &entries {
        h.update(format!("{}:{}:{}:{}\0", e.rel, e.owner.0, e.owner.1, e.mode).as_bytes());
    }
    h.update(format!("privileged={privileged} root={}", o.root.display()).as_bytes());
    let digest = hex(&h.finalize());
    // Intact: every file there with its mode and owner, and not written to since it was
    // staged (sops-nix rewrites every file on every activation, so a secret edited or emptied
    // by hand is repaired, and its units restarted, on the next switch).
    let intact = |g: &OwnedFd, m: &serde_json::Value| {
        entries.iter().all(|e| match sys::stat_rel(g, &e.rel) {
            Ok(Some((mode, u, gid, 'f'))) => {
                mode == e.mode
                    && (!privileged || (u, gid) == e.owner)
                    && sys::fingerprint_rel(g, &e.rel).ok().flatten().as_deref()
                        == m["files"][e.rel.as_str()].as_str()
            }
            _ => false,
        })
    };
    let links_ok = || {
        entries.iter().all(|e| match &e.link {
            None => true,
            Some(p) => std::fs::read_link(under(&o.root, p)).ok() == Some(link_abs.join(&e.rel)),
        })
    };
    if let (Some(n), Some(g), Some(m)) = (current, &old_gen, &old_meta) {
        if m["inputs"].as_str() == Some(&digest)
            && failures.is_empty()
            && intact(g, m)
            && links_ok()
        {
            r.say(&format!(
                "unchanged (generation {n} at {})",
                link_abs.display()
            ));
            r.audit.emit(
                Event::new(
                    Kind::Unchanged,
                    format!("secrets unchanged, generation {n}"),
                )
                .field("KEYWARD_GENERATION", n.to_string()),
                r.err,
            );
            r.metrics.unchanged = true;
            r.metrics.generation = n;
            if let Some(files) = m["sopsFiles"].as_object() {
                r.metrics.sops_files = files
                    .iter()
                    .filter_map(|(f, t)| Some((f.clone(), t.as_f64()?)))
                    .collect();
            }
            r.metrics.secrets_installed = plan.secrets.len() as u64;
            r.metrics.templates_installed = plan.templates.len() as u64;
            return Ok(exit::OK);
        }
    }

    // ---- decrypt: each distinct file once ----
    let work: Vec<(&str, Format, &Vec<u8>)> = files
        .iter()
        .filter_map(|(f, fmt)| match file_bytes.get(f) {
            Some(Ok(b)) => Some((*f, *fmt, b)),
            _ => None,
        })
        .collect();
    let decrypt_one =
        |(f, fmt, b): &(&str, Format, &Vec<u8>)| (f.to_string(), o.source.decrypt(*fmt, b, &ids));
    let results: Vec<(String, sops::Result<Decrypted>)> = if ids.has_plugins() {
        work.iter().map(decrypt_one).collect()
    } else {
        work.par_iter().map(decrypt_one).collect()
    };
    r.metrics.files_decrypted = results.iter().filter(|(_, x)| x.is_ok()).count() as u64;
    let mut decrypted: BTreeMap<String, Result<Decrypted, (String, &'static str)>> =
        BTreeMap::new();
    for (f, res) in results {
        let v = res.map_err(|e| (format!("{f}: cannot be decrypted: {e}"), reason_of(&e)));
        if let Ok(d) = &v {
            if let Some(t) = metrics::rfc3339_to_unix(&d.lastmodified) {
                r.metrics.sops_files.push((f.clone(), t));
            }
        }
        decrypted.insert(f, v);
    }
    for (f, b) in &file_bytes {
        if let Err(m) = b {
            decrypted.insert(f.to_string(), Err((m.clone(), "io")));
        }
    }
    r.stage_done("decrypt");
    r.fault("decrypted");

    // ---- select ----
    let mut values: BTreeMap<String, SecretBytes> = BTreeMap::new();
    let mut bytes_by_rel: BTreeMap<String, SecretBytes> = BTreeMap::new();
    let mut failed_names: Vec<String> = failures.iter().map(|f| f.subject.clone()).collect();
    for s in &plan.secrets {
        let subject = format!("secret {:?}", s.name);
        if failed_names.contains(&subject) {
            continue;
        }
        let res = match decrypted.get(&s.sops_file) {
            Some(Ok(d)) => select(s, d, manifest).map_err(|m| (m, "key_not_found")),
            Some(Err((m, reason))) => Err((m.clone(), *reason)),
            None => Err(("not decrypted".into(), "system")),
        };
        match res {
            Ok(v) => {
                bytes_by_rel.insert(s.name.clone(), v.clone());
                values.insert(s.name.clone(), v);
            }
            Err((message, reason)) => {
                failed_names.push(subject.clone());
                failures.push(Failure {
                    subject,
                    message,
                    reason,
                });
            }
        }
    }
    drop(decrypted);
    r.stage_done("select");
    let failed_secret_names: Vec<String> = plan
        .secrets
        .iter()
        .filter(|s| !values.contains_key(&s.name))
        .map(|s| s.name.clone())
        .collect();
    for t in &plan.templates {
        let subject = format!("template {:?}", t.name);
        if failed_names.contains(&subject) {
            continue;
        }
        match render(
            t,
            &plan.placeholder_by_secret_name,
            &values,
            &failed_secret_names,
        ) {
            Ok(v) => {
                bytes_by_rel.insert(format!("rendered/{}", t.name), v);
            }
            Err(message) => {
                failed_names.push(subject.clone());
                failures.push(Failure {
                    subject,
                    message,
                    reason: "template",
                });
            }
        }
    }
    drop(values);
    r.stage_done("render");
    let policy = plan.failure_policy;
    if !failures.is_empty() && policy == FailurePolicy::AllOrNothing {
        let what = if current.is_some() {
            format!(
                "{} secret(s) or template(s) failed; generation {} stays current",
                failures.len(),
                current.unwrap_or(0)
            )
        } else {
            format!(
                "{} secret(s) or template(s) failed; nothing was installed",
                failures.len()
            )
        };
        r.metrics.generation = current.unwrap_or(0);
        return Err(r.fail(&failures, exit::SECRETS_FAILED, &what));
    }
    let entries: Vec<Entry> = entries
        .into_iter()
        .filter(|e| bytes_by_rel.contains_key(&e.rel))
        .collect();

    // ---- changes ----
    let mut changes = Changes::default();
    let mut units = Units::default();
    let new_set: BTreeSet<&str> = entries.iter().map(|e| e.rel.as_str()).collect();
    for e in &entries {
        let new = &bytes_by_rel[&e.rel];
        let old = old_gen
            .as_ref()
            .and_then(|g| sys::read_file_rel(g, &e.rel).ok().flatten());
        let list = match (&old, e.template) {
            (None, false) => &mut changes.added,
            (None, true) => &mut changes.added_rendered,
            (Some(o), false) if o.as_slice() != new.as_bytes() => &mut changes.modified,
            (Some(o), true) if o.as_slice() != new.as_bytes() => &mut changes.modified_rendered,
            _ => continue,
        };
        list.push(e.name.clone());
        units.add(&e.restart, &e.reload);
    }
    if let Some(n) = current {
        let old_dir = mount_abs.join(n.to_string());
        for f in list_files(&old_dir) {
            if f == META_FILE || new_set.contains(f.as_str()) {
                continue;
            }
            match f.strip_prefix("rendered/") {
                Some(t) => changes.removed_rendered.push(t.to_string()),
                None => changes.removed.push(f),
            }
        }
    }
    let show_changes = link_existed && plan.logging.secret_changes && !plan.user_mode;
    let restart = link_existed && !plan.user_mode;
    if o.dry_run {
        if show_changes {
            for l in changes.lines(true) {
                let _ = writeln!(r.out, "{l}");
            }
        }
        if restart {
            for u in &units.restart {
                let _ = writeln!(r.out, "would restart {u}");
            }
            for u in &units.reload {
                let _ = writeln!(r.out, "would reload {u}");
            }
        }
        for f in &failures {
            r.say(&f.to_string());
        }
        r.say("dry activation: nothing was written");
        return Ok(if failures.is_empty() {
            exit::OK
        } else {
            exit::PARTIAL
        });
    }

    // ---- stage ----
    let Some(mount_fd) = mount_fd else {
        r.say("internal error: the mount point is not open");
        return Err(Stop::Exit(exit::INTERNAL));
    };
    let new_n = current.unwrap_or(0) + 1;
    let new_name = new_n.to_string();
    if sys::kind_at(&mount_fd, &new_name).ok().flatten().is_some() {
        // A half-written generation left by a crash: never visible, remove it first.
        if let Err(e) = std::fs::remove_dir_all(mount_abs.join(&new_name)) {
            r.say(&format!(
                "cannot remove the leftover {}: {e}",
                mount_abs.join(&new_name).display()
            ));
            return Err(Stop::Exit(exit::SYSTEM));
        }
    }
    let gen_path = mount_abs.join(&new_name);
    let staged = (|| -> Result<(), Failure> {
        let sysf = |subject: String, m: String| Failure {
            subject,
            message: m,
            reason: "io",
        };
        let gen = sys::mkdir_exact(&mount_fd, &new_name, 0o751, dir_owner).map_err(|e| {
            sysf(
                "generation".into(),
                format!("cannot create {}: {e}", gen_path.display()),
            )
        })?;
        let mut first = true;
        for e in &entries {
            let (parent, base) = split(&e.rel);
            let pfd = sys::walk_dirs(
                &gen,
                &gen_path,
                Path::new(parent),
                Some(DirSpec {
                    mode: 0o751,
                    owner: dir_owner,
                }),
            )
            .map_err(|we| {
                sysf(
                    e.subject(),
                    format!("cannot write {}: {we}", gen_path.join(&e.rel).display()),
                )
            })?;
            sys::create_file(
                &pfd,
                base,
                bytes_by_rel[&e.rel].as_bytes(),
                e.mode,
                own(e.owner),
            )
            .map_err(|err| {
                sysf(
                    e.subject(),
                    format!("cannot write {}: {err}", gen_path.join(&e.rel).display()),
                )
            })?;
            if first {
                first = false;
                r.fault("staging");
            }
        }
        let links: Vec<&str> = entries.iter().filter_map(|e| e.link.as_deref()).collect();
        let inputs = if failures.is_empty() {
            digest.clone()
        } else {
            String::new()
        };
        let files: serde_json::Map<String, serde_json::Value> = entries
            .iter()
            .filter_map(|e| {
                let f = sys::fingerprint_rel(&gen, &e.rel).ok().flatten()?;
                Some((e.rel.clone(), f.into()))
            })
            .collect();
        // Each sops file's lastmodified, so an unchanged run still exports it (rotation alerts
        // must not lose their series when nothing changes).
        let sops_files: serde_json::Map<String, serde_json::Value> = r
            .metrics
            .sops_files
            .iter()
            .map(|(f, t)| (f.clone(), serde_json::json!(t)))
            .collect();
        let meta = serde_json::json!({"keyward": 1, "generation": new_n, "inputs": inputs, "links": links, "files": files, "sopsFiles": sops_files});
        let mut text = serde_json::to_vec_pretty(&meta).unwrap_or_default();
        text.push(b'\n');
        sys::create_file(&gen, META_FILE, &text, 0o400, own((0, 0))).map_err(|err| {
            sysf(
                "generation".into(),
                format!("cannot write {}: {err}", gen_path.join(META_FILE).display()),
            )
        })?;
        Ok(())
    })();
    drop(bytes_by_rel);
    if let Err(f) = staged {
        let _ = std::fs::remove_dir_all(&gen_path);
        let what = match current {
            Some(n) => format!("generation {n} stays current"),
            None => "nothing was installed".into(),
        };
        return Err(r.fail(&[f], exit::SYSTEM, &what));
    }
    r.stage_done("stage");
    r.fault("staged");

    // ---- switch ----
    let target = mount_abs.join(&new_name);
    let switched = (|| -> Result<(), String> {
        let pfd = sys::walk_dirs(
            &root_fd,
            &o.root,
            Path::new(link_parent_rel),
            Some(DirSpec {
                mode: 0o755,
                owner: own((0, 0)),
            }),
        )
        .map_err(|e| format!("symlinkPath: {e}"))?;
        let mut aside = None;
        if sys::kind_at(&pfd, link_base).map_err(|e| e.to_string())? == Some('d') {
            // A directory where the link goes (from before keyward): move it aside, then remove.
            let name = format!(".{link_base}.keyward-old-{}", std::process::id());
            sys::rename_at(&pfd, link_base, &name)
                .map_err(|e| format!("{}: {e}", link_abs.display()))?;
            aside = Some(link_abs.with_file_name(name));
        }
        sys::replace_symlink(&pfd, link_base, &target, None)
            .map_err(|e| format!("{}: {e}", link_abs.display()))?;
        if let Some(a) = aside {
            let _ = std::fs::remove_dir_all(a);
        }
        Ok(())
    })();
    if let Err(m) = switched {
        let _ = std::fs::remove_dir_all(&gen_path);
        return Err(r.fail(
            &[Failure {
                subject: "switch".into(),
                message: m,
                reason: "system",
            }],
            exit::SYSTEM,
            "the current generation is unchanged",
        ));
    }
    r.metrics.generation = new_n;
    r.metrics.secrets_installed = entries.iter().filter(|e| !e.template).count() as u64;
    r.metrics.templates_installed = entries.iter().filter(|e| e.template).count() as u64;
    if let Some(names) = &mut r.metrics.secret_names {
        for s in &plan.secrets {
            names.push((
                s.name.clone(),
                entries.iter().any(|e| !e.template && e.name == s.name),
            ));
        }
    }
    r.audit.emit(
        Event::new(
            Kind::GenerationSwitched,
            format!("{} -> {}", link_abs.display(), target.display()),
        )
        .field("KEYWARD_GENERATION", new_n.to_string())
        .field(
            "KEYWARD_PREVIOUS_GENERATION",
            current.map(|n| n.to_string()).unwrap_or_default(),
        )
        .field("KEYWARD_PATH", link_abs.display().to_string()),
        r.err,
    );
    r.fault("switched");
    r.stage_done("switch");

    // ---- path links ----
    let mut late: Vec<Failure> = Vec::new();
    let pd_mode = plan::parse_mode(&plan.path_directories.mode).unwrap_or(0o755);
    let mut new_links: BTreeSet<String> = BTreeSet::new();
    for e in &entries {
        let Some(p) = &e.link else { continue };
        new_links.insert(p.clone());
        let (parent, base) = split(rel(p));
        let res = sys::walk_dirs(
            &root_fd,
            &o.root,
            Path::new(parent),
            Some(DirSpec {
                mode: pd_mode,
                owner: own(path_dir_owner),
            }),
        )
        .map_err(|we| we.to_string())
        .and_then(|pfd| {
            if sys::kind_at(&pfd, base).map_err(|x| x.to_string())? == Some('d') {
                return Err(format!(
                    "{p} is a directory; keyward replaces only files and links"
                ));
            }
            sys::replace_symlink(&pfd, base, &link_abs.join(&e.rel), own(e.owner))
                .map_err(|x| format!("{p}: {x}"))
        });
        if let Err(m) = res {
            late.push(Failure {
                subject: e.subject(),
                message: format!("path link: {m}"),
                reason: "io",
            });
        }
    }
    if let Some(old) = old_meta.as_ref().and_then(|m| m["links"].as_array()) {
        for p in old.iter().filter_map(|v| v.as_str()) {
            if new_links.contains(p) {
                continue;
            }
            let (parent, base) = split(rel(p));
            if let Ok(pfd) = sys::walk_dirs(&root_fd, &o.root, Path::new(parent), None) {
                if let Ok(Some(t)) = sys::read_link_at(&pfd, base) {
                    if t.starts_with(&link_abs) {
                        let _ = sys::unlink_at(&pfd, base);
                    }
                }
            }
        }
    }
    r.fault("linked");

    // ---- prune ----
    if plan.keep_generations > 0 {
        if let Ok(rd) = std::fs::read_dir(&mount_abs) {
            for d in rd.flatten() {
                let Some(g) = d.file_name().to_str().and_then(|n| n.parse::<u64>().ok()) else {
                    continue;
                };
                if g != new_n && new_n.saturating_sub(plan.keep_generations) >= g {
                    let _ = std::fs::remove_dir_all(d.path());
                }
            }
        }
    }
    r.fault("pruned");

    // ---- report ----
    if show_changes {
        for l in changes.lines(false) {
            let _ = writeln!(r.out, "{l}");
        }
    }
    let audit_changes = [
        (&changes.added, Kind::SecretAdded, false),
        (&changes.modified, Kind::SecretChanged, false),
        (&changes.removed, Kind::SecretRemoved, false),
        (&changes.added_rendered, Kind::SecretAdded, true),
        (&changes.modified_rendered, Kind::SecretChanged, true),
        (&changes.removed_rendered, Kind::SecretRemoved, true),
    ];
    for (names, kind, tpl) in audit_changes {
        for n in names {
            let relp = if tpl {
                format!("rendered/{n}")
            } else {
                n.clone()
            };
            r.audit.emit(
                Event::new(kind, format!("{} {n}", kind.name()))
                    .field("KEYWARD_SECRET", n.clone())
                    .field("KEYWARD_TEMPLATE", if tpl { "1" } else { "0" })
                    .field("KEYWARD_PATH", link_abs.join(relp).display().to_string())
                    .field("KEYWARD_GENERATION", new_n.to_string()),
                r.err,
            );
        }
    }
    if restart && !units.is_empty() {
        let run_nixos = under(&o.root, "/run/nixos");
        let action = match &o.systemctl {
            Some(p) => UnitAction::Systemctl { program: p },
            None => UnitAction::Lists {
                run_nixos: &run_nixos,
            },
        };
        match report::apply_units(&units, &action) {
            Ok(done) => {
                if !done.is_empty() {
                    r.audit.emit(
                        Event::new(Kind::UnitsRestarted, done.join("; "))
                            .field("KEYWARD_RESTART_UNITS", units.restart.join(" "))
                            .field("KEYWARD_RELOAD_UNITS", units.reload.join(" ")),
                        r.err,
                    );
                }
            }
            Err(m) => late.push(Failure {
                subject: "units".into(),
                message: m,
                reason: "system",
            }),
        }
    }
    r.stage_done("report");
    if !late.is_empty() {
        return Err(r.fail(
            &late,
            exit::SYSTEM,
            &format!("generation {new_n} is current, but the steps above failed"),
        ));
    }
    if !failures.is_empty() {
        return Err(r.fail(
            &failures,
            exit::PARTIAL,
            &format!("partial install: generation {new_n} is current without the secrets above"),
        ));
    }
    r.say(&format!(
        "installed generation {new_n} at {} ({} secrets, {} templates)",
        link_abs.display(),
        r.metrics.secrets_installed,
        r.metrics.templates_installed
    ));
    Ok(exit::OK)
}

/// Every regular file below `dir`, as `/`-separated relative names (symlinks not followed).
fn list_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, prefix)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let relname = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push((e.path(), relname)),
                Ok(t) if t.is_file() => out.push(relname),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
