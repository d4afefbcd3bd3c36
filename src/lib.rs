//! keyward: secrets and SSH-key management for NixOS.
pub use sops;
