//! The command line, in one clap definition (it also feeds completions and the man page).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Exit codes, shared by every command. Documented in `--help` and docs/cli.md.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// An unexpected internal error.
    pub const INTERNAL: u8 = 1;
    /// Bad command line (clap's own code).
    pub const USAGE: u8 = 2;
    /// The input is a valid document but not a sops file (no sops metadata).
    pub const NOT_SOPS: u8 = 3;
    /// No identity opens the file (or an identity could not be loaded).
    pub const NO_IDENTITY: u8 = 4;
    /// The MAC or a value's authentication tag does not match: the file was altered.
    pub const INTEGRITY: u8 = 5;
    /// The file has only master keys keyward does not support (PGP, cloud KMS).
    pub const UNSUPPORTED_KEY: u8 = 6;
    /// Reading or writing a file failed.
    pub const IO: u8 = 7;
    /// `--extract` names a key that is not in the file.
    pub const KEY_NOT_FOUND: u8 = 8;
    /// The file is damaged: it cannot be parsed, is truncated, or its metadata or a value is
    /// malformed.
    pub const DAMAGED: u8 = 9;
    /// `install`/`check`: the plan is missing, unreadable, of an unknown version, or invalid.
    pub const PLAN: u8 = 10;
    /// `install`: secrets failed (decryption, key, owner…); the old generation was kept.
    pub const SECRETS_FAILED: u8 = 11;
    /// `install` with the `partial` policy: some secrets were installed, some failed.
    pub const PARTIAL: u8 = 12;
    /// `install`: a system error (mount, write, full mount, symlink, restart); see the message
    /// for whether the new generation was switched in.
    pub const SYSTEM: u8 = 13;
    /// `install`: another run held the lock on the mount point for longer than the timeout.
    pub const LOCK_TIMEOUT: u8 = 14;
}

/// The exit-code table shown by every `--help`.
macro_rules! exit_codes_help {
    () => {
        "\
Exit status:
  0  success
  1  internal error
  2  usage error (bad arguments)
  3  not a sops file (no sops metadata)
  4  no identity opens the file (or an identity could not be loaded)
  5  integrity failure: MAC or value authentication mismatch (the file was altered)
  6  unsupported master keys only (keyward is age-only: PGP, KMS…)
  7  I/O error
  8  --extract names a key that is not in the file
  9  the file is damaged: syntax error, truncated, malformed metadata or value
 10  install/check: the plan is missing, unreadable, of an unknown version, or invalid
 11  install: secrets failed (old generation kept)
 12  install: partial install (policy `partial`: some secrets failed)
 13  install: system error (mount, write, full mount, links, restarts)
 14  install: timed out waiting for another run's lock"
    };
}

pub const EXIT_CODES_HELP: &str = exit_codes_help!();

#[derive(Parser, Debug)]
#[command(
    name = "keyward",
    version,
    about = "Secrets and SSH-key management for NixOS: reads sops files natively and installs them atomically",
    long_about = None,
    after_help = EXIT_CODES_HELP,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Decrypt a sops file and print it (like `sops decrypt`).
    #[command(after_long_help = DECRYPT_HELP)]
    Decrypt(DecryptArgs),
    /// Install a plan's secrets as a new generation (what runs at activation and boot).
    #[command(after_long_help = INSTALL_HELP)]
    Install(InstallArgs),
    /// Validate a plan (the build-time check): no private key and no root needed.
    #[command(after_long_help = CHECK_HELP)]
    Check(CheckArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on standard output.
    Man,
}

const INSTALL_HELP: &str = "\
Accepts a keyward plan (\"version\": 1) or a sops-nix manifest unchanged.

Environment:
  NIXOS_ACTION=dry-activate          print what would change (\"would add secret: …\"), write nothing
  SOPS_RESTART_UNITS_VIA_SYSTEMCTL=1 restart units with systemctl --no-block try-restart /
                                     try-reload-or-restart instead of /run/nixos/activation-*-list
  KEYWARD_SYSTEMCTL                  the systemctl program (default: systemctl)
  XDG_RUNTIME_DIR                    %r in user-mode plans
  KEYWARD_FAULT_AT=STEP              tests only: SIGKILL itself at STEP (see docs/plan.md)

Without root privileges nothing is mounted and files keep the caller's uid/gid (said on stderr).

Examples:
  keyward install /run/current-system/sops-plan.json
  keyward install --root /tmp/demo --identity tests/keys/host.txt hosts/example/plan.json

Exit status:
  0  installed, or unchanged
 10  the plan is missing, unreadable, of an unknown version, or invalid
 11  secrets failed; the old generation was kept (all-or-nothing)
 12  partial install (failurePolicy \"partial\"): some secrets failed
 13  system error (mount, write, full mount, links, restarts)
 14  timed out waiting for another run's lock";

const CHECK_HELP: &str = "\
Checks formats, modes, duplicate names and paths, names or paths that escape the mount, unit
names, placeholders and templates; with --sops-files also that every sops file parses, every key
exists and is a value, and that the secrets of one file agree on its format.

Exit status:
  0  the plan is valid (warnings may be printed)
 10  the plan is missing, unreadable, of an unknown version, or invalid";

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// The plan (or sops-nix manifest) to install.
    pub plan: PathBuf,
    /// Write everything below DIR instead of / (mount point, links, metrics): for tests and
    /// demos. Inputs (sops files, key files, template files) are read where they are.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// An extra identity file to try (repeatable), before the plan's.
    #[arg(long, short = 'i', value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    /// Mount the ramfs/tmpfs even with --root (as root; tests in a private mount namespace).
    #[arg(long)]
    pub mount: bool,
    /// Numeric uid/gid only, no passwd lookup (sops-nix's -ignore-passwd; the neededForUsers plan).
    #[arg(long, alias = "ignore-passwd")]
    pub numeric_ids: bool,
    /// Seconds to wait for another run's lock (default: the plan's lockTimeoutSeconds, 60).
    #[arg(long, value_name = "SECONDS")]
    pub lock_timeout: Option<u64>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The plan (or sops-nix manifest) to check.
    pub plan: PathBuf,
    /// Also open every sops file (ciphertext only: no key needed).
    #[arg(long)]
    pub sops_files: bool,
}

const DECRYPT_HELP: &str = concat!(
    "\
Identities are loaded like sops loads them, all combined:
  --identity FILE (age key file, passphrase-protected age identity file, or OpenSSH key)
  SOPS_AGE_SSH_PRIVATE_KEY_FILE (else ~/.ssh/id_ed25519 and ~/.ssh/id_rsa)
  SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD
  $XDG_CONFIG_HOME/sops/age/keys.txt (default ~/.config/sops/age/keys.txt)
OpenSSH ed25519 keys open both ssh-ed25519 recipients and their ssh-to-age conversion
(how NixOS hosts are enrolled). Passphrases are read from KEYWARD_PASSPHRASE_FILE or the terminal.

Examples:
  keyward decrypt secrets.yaml
  SOPS_AGE_KEY_FILE=key.txt keyward decrypt --extract '[\"db\"][\"password\"]' secrets.yaml
  keyward decrypt --identity /etc/ssh/ssh_host_ed25519_key --output-type json secrets.yaml


",
    exit_codes_help!()
);

#[derive(Args, Debug)]
pub struct DecryptArgs {
    /// The sops file (`-` reads standard input).
    pub file: PathBuf,
    /// Print only this value or subtree, in sops syntax: '["a"]["b"][0]'. A leaf prints its
    /// value with nothing added; a subtree prints in the output type.
    #[arg(long, value_name = "EXPR")]
    pub extract: Option<String>,
    /// The file's format (default: from the extension; binary if unknown; yaml or json for stdin).
    #[arg(long, value_name = "TYPE", value_parser = ["yaml", "json", "dotenv", "ini", "binary"])]
    pub input_type: Option<String>,
    /// The output format (default: the input type).
    #[arg(long, value_name = "TYPE", value_parser = ["yaml", "json", "dotenv", "ini", "binary"])]
    pub output_type: Option<String>,
    /// Write the plaintext to FILE (created with mode 0600) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// An identity file to try (repeatable): age key file, encrypted age identity, or OpenSSH key.
    #[arg(long, short = 'i', value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    /// Decrypt even if the MAC is missing or does not match (dangerous: the file may be forged).
    #[arg(long)]
    pub ignore_mac: bool,
}
