//! The security stage: processes each message's WS-Security header in capture order with
//! the keyring, replays bootstraps, tracks SCT keys, and fills the message's verdicts.

use crate::analyzer::Options;
use crate::model::{Diagnostic, MessageDetail, MessageInfo, SessionInfo, Timestamp};
use crate::session::SessionClues;
use crate::soap::Envelope;

/// State carried across messages: the keyring, ephemeral keys by EncryptedKeySHA1,
/// SCT keys by Identifier (and Instance).
pub struct SecurityStage {
    #[allow(dead_code)]
    options: Options,
}

/// Context of one message for the security stage.
pub struct MessageContext<'a> {
    pub env: &'a Envelope,
    /// Capture time of the message (Timestamp checks), None for message files.
    pub ts: Option<Timestamp>,
    pub info: &'a mut MessageInfo,
    pub detail: &'a mut MessageDetail,
    pub clues: &'a mut SessionClues,
}

impl SecurityStage {
    /// Loads the keys named in `options`; problems loading them become diagnostics.
    pub fn new(options: &Options, diagnostics: &mut Vec<Diagnostic>) -> SecurityStage {
        let _ = diagnostics;
        SecurityStage { options: options.clone() }
    }

    /// Decrypts and verifies one message (called in capture order).
    pub fn process(&mut self, ctx: MessageContext<'_>, diagnostics: &mut Vec<Diagnostic>) {
        let _ = (ctx, diagnostics);
    }

    /// Fills what the stage learned about sessions (keys, their source, instances).
    pub fn finish(&mut self, sessions: &mut [SessionInfo], diagnostics: &mut Vec<Diagnostic>) {
        let _ = (sessions, diagnostics);
    }
}
