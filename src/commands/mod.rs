//! One module per subcommand.

pub mod check;
pub mod decrypt;
pub mod install;
