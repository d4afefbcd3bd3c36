//! `keyward install PLAN`: read the environment, run the install engine.

use std::time::Duration;

use crate::cli::InstallArgs;
use crate::install::{self, Options};
use crate::source::{Native, SopsSource};

/// Build the engine's options from the arguments and the environment.
pub fn options<'a>(args: &InstallArgs, source: &'a dyn SopsSource) -> Options<'a> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    Options {
        plan: args.plan.clone(),
        root: std::path::absolute(&args.root).unwrap_or_else(|_| args.root.clone()),
        mount: args.mount || args.root.as_os_str() == "/",
        dry_run: env("NIXOS_ACTION").as_deref() == Some("dry-activate"),
        ignore_passwd: args.numeric_ids,
        systemctl: (env("SOPS_RESTART_UNITS_VIA_SYSTEMCTL").as_deref() == Some("1"))
            .then(|| env("KEYWARD_SYSTEMCTL").unwrap_or_else(|| "systemctl".into())),
        xdg_runtime_dir: env("XDG_RUNTIME_DIR"),
        fault_at: env("KEYWARD_FAULT_AT"),
        lock_timeout: args.lock_timeout.map(Duration::from_secs),
        identities: args.identity.clone(),
        source,
    }
}

pub fn run(args: &InstallArgs) -> u8 {
    let opts = options(args, &Native);
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    install::run(&opts, &mut out, &mut err)
}
