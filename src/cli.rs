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
  9  the file is damaged: syntax error, truncated, malformed metadata or value"
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
