//! WS-Trust / WS-SecureConversation: the SCT registry, bootstrap replay and per-message
//! processing in capture order.
//!
//! `group` ties messages to the sessions (SCTs) they belong to from what is visible in
//! clear; the security stage refines this with what decryption reveals.

pub mod group;
pub mod security;

pub use group::{group_sessions, session_of, SessionClues, SessionRegistry};
pub use security::{MessageContext, SecurityStage};
