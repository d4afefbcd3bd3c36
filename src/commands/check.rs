//! `keyward check PLAN [--sops-files]`: the build-time validation.

use std::io::Write;

use crate::cli::{exit, CheckArgs};
use crate::plan;
use crate::source::{Native, SopsSource};

/// Check a plan; prints problems to `err`; returns the exit status.
pub fn check(args: &CheckArgs, source: &dyn SopsSource, err: &mut dyn Write) -> u8 {
    let loaded = match plan::load(&args.plan) {
        Ok(l) => l,
        Err(e) => {
            let _ = writeln!(err, "keyward: {e}");
            return exit::PLAN;
        }
    };
    let report = plan::check(
        &loaded.plan,
        loaded.is_manifest(),
        &plan::CheckOptions {
            sops_files: args.sops_files,
            source,
        },
    );
    for w in &report.warnings {
        let _ = writeln!(err, "keyward: warning: {w}");
    }
    for p in &report.errors {
        let _ = writeln!(err, "keyward: {}: {p}", loaded.path);
    }
    if report.errors.is_empty() {
        let _ = writeln!(
            err,
            "keyward: {}: ok ({} secrets, {} templates)",
            loaded.path,
            loaded.plan.secrets.len(),
            loaded.plan.templates.len()
        );
        exit::OK
    } else {
        let _ = writeln!(
            err,
            "keyward: {}: {} problem(s)",
            loaded.path,
            report.errors.len()
        );
        exit::PLAN
    }
}

pub fn run(args: &CheckArgs) -> u8 {
    check(args, &Native, &mut std::io::stderr().lock())
}
