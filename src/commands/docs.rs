//! `keyward completions SHELL` and `keyward man`: generated from the one clap definition, so
//! they never drift from `--help`.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{exit, Cli};
use crate::error::CliError;

fn stdout_err(e: std::io::Error) -> CliError {
    CliError::new(exit::IO, format!("cannot write standard output: {e}"))
}

pub fn completions(shell: clap_complete::Shell) -> Result<(), CliError> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "keyward", &mut out);
    std::io::stdout().write_all(&out).map_err(stdout_err)
}

pub fn man() -> Result<(), CliError> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(stdout_err)?;
    std::io::stdout().write_all(&out).map_err(stdout_err)
}
