//! WS-Security header model: tokens, SecurityTokenReference resolution, DerivedKeyToken,
//! Timestamp, signatures.
//!
//! `inventory` lists what a message's security header carries in clear, without judging
//! it; the `session` stage adds decryption and verification on top.

pub mod inventory;
pub mod ns;

pub use inventory::{inventory, sct_references};
