//! keyward: secrets and SSH-key management for NixOS.
//!
//! The SOPS format lives in the `sops` crate (crates/sops); this crate holds the commands.

pub mod cli;
pub mod commands;
pub mod error;

pub use sops;
