//! The `keyward` binary: parse the command line, run the command, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;
use keyward::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decrypt(args) => keyward::commands::decrypt::run(&args),
        Command::Install(args) => return ExitCode::from(keyward::commands::install::run(&args)),
        Command::Check(args) => return ExitCode::from(keyward::commands::check::run(&args)),
        Command::Completions { shell } => keyward::commands::docs::completions(shell),
        Command::Man => keyward::commands::docs::man(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keyward: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
