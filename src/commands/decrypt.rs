//! `keyward decrypt`: the equivalent of `sops decrypt`.

use std::io::{Read, Write};
use std::path::Path;

use sops::{DecryptOptions, EncryptedFile, Format, Identities, Value};
use zeroize::Zeroizing;

use crate::cli::{exit, DecryptArgs};
use crate::error::CliError;

pub fn run(args: &DecryptArgs) -> Result<(), CliError> {
    let name = args.file.display().to_string();
    let stdin = args.file.as_os_str() == "-";
    let bytes = if stdin {
        let mut b = Vec::new();
        std::io::stdin()
            .read_to_end(&mut b)
            .map_err(|e| CliError::new(exit::IO, format!("cannot read standard input: {e}")))?;
        b
    } else {
        std::fs::read(&args.file)
            .map_err(|e| CliError::new(exit::IO, format!("{name}: cannot read: {e}")))?
    };
    let input = match args.input_type.as_deref().and_then(Format::from_name) {
        Some(f) => f,
        None if stdin => {
            if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
                Format::Json
            } else {
                Format::Yaml
            }
        }
        None => Format::from_path(&name),
    };
    let output = args
        .output_type
        .as_deref()
        .and_then(Format::from_name)
        .unwrap_or(input);

    let file = EncryptedFile::parse(input, &bytes).map_err(|e| CliError::sops(&name, e))?;
    let ids = load_identities(&args.identity)?;
    let key = file.data_key(&ids).map_err(|e| CliError::sops(&name, e))?;
    let opts = DecryptOptions {
        ignore_mac: args.ignore_mac,
    };
    let branches = file
        .decrypt(&key, &opts)
        .map_err(|e| CliError::sops(&name, e))?;

    let out = Zeroizing::new(match &args.extract {
        None => {
            sops::stores::emit_plain(output, &branches).map_err(|e| CliError::sops(&name, e))?
        }
        Some(expr) => {
            let path = sops::path::parse_sops(expr)
                .map_err(|e| CliError::new(exit::USAGE, e.to_string()))?;
            let first = branches.first().map(|b| b.as_slice()).unwrap_or(&[]);
            let v = sops::path::lookup(first, &path).map_err(|e| CliError::sops(&name, e))?;
            match v {
                Value::Str(s) => s.as_bytes().to_vec(),
                other => {
                    sops::stores::emit_value(output, other).map_err(|e| CliError::sops(&name, e))?
                }
            }
        }
    });
    write_output(args.output.as_deref(), &out)
}

/// Identities from `--identity` files first, then every source sops reads.
pub fn load_identities(files: &[std::path::PathBuf]) -> Result<Identities, CliError> {
    let mut ids = Identities::new();
    for f in files {
        ids.add_file(f).map_err(|e| CliError::sops("identity", e))?;
    }
    ids.load_sops_defaults()
        .map_err(|e| CliError::sops("identity", e))?;
    Ok(ids)
}

fn write_output(path: Option<&Path>, bytes: &[u8]) -> Result<(), CliError> {
    match path {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)
                .and_then(|_| out.flush())
                .map_err(|e| CliError::new(exit::IO, format!("cannot write standard output: {e}")))
        }
        Some(p) => {
            use std::os::unix::fs::OpenOptionsExt;
            let err = |e: std::io::Error| {
                CliError::new(exit::IO, format!("{}: cannot write: {e}", p.display()))
            };
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(p)
                .map_err(err)?;
            // An existing file keeps its mode on open: make it owner-only before any plaintext
            // goes in.
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(err)?;
            f.write_all(bytes).and_then(|_| f.sync_all()).map_err(err)
        }
    }
}
