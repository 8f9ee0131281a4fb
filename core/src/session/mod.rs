//! Secure sessions: the security stage (per-message WS-Security processing in capture
//! order, bootstrap replay, SCT key registry) and the grouping of messages into sessions.
//! The security stage refines grouping with what decryption reveals.

pub mod checks;
pub mod group;
pub mod keystore;
pub mod registry;
pub mod resolver;
pub mod security;

pub use group::{session_of, SessionClues, SessionRegistry};
pub use security::{MessageContext, SecurityStage};
