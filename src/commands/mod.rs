//! One module per subcommand; each exposes `run(&Args) -> Result<(), CliError>`.

pub mod decrypt;
