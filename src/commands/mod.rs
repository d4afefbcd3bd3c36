//! One module per subcommand.

pub mod check;
pub mod decrypt;
pub mod docs;
pub mod install;
