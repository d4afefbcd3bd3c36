//! keyward: secrets and SSH-key management for NixOS.
//!
//! The SOPS format lives in the `sops` crate (crates/sops); this crate holds the commands and
//! the install pipeline: `plan` → `install` (which uses `source` and `sys`) → `report`.

pub mod cli;
pub mod commands;
pub mod error;
pub mod install;
pub mod plan;
pub mod report;
pub mod source;
pub mod sys;

pub use sops;
