//! WS-Security header model: tokens, SecurityTokenReference resolution, DerivedKeyToken,
//! Timestamp, signatures.
//!
//! `inventory` lists what a message's security header carries in clear, without judging
//! it; `tokens` and `trust` parse the token and WS-Trust structures; `psha1` derives keys.
//! The `session` stage adds decryption and verification on top.

pub mod inventory;
pub mod ns;
pub mod psha1;
pub mod tokens;
pub mod trust;

pub use inventory::{inventory, sct_references};
