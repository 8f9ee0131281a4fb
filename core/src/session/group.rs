//! Groups messages into sessions by SecurityContextToken Identifier, incrementally: each
//! message is added once it is settled (its pairing known), in index order.

use crate::model::{MessageDirection, MessageInfo, MessageKind, ScVersion, SessionInfo};
use std::collections::HashMap;

/// What the earlier stages saw of a message that ties it to a session.
#[derive(Debug, Clone, Default)]
pub struct SessionClues {
    /// SCT Identifiers the message refers to, most relevant first.
    pub scts: Vec<String>,
    /// The WS-Trust/SC version its namespaces or action use, when it says.
    pub version: Option<ScVersion>,
    /// "ip:port" of the client and server of its stream.
    pub client: Option<String>,
    pub server: Option<String>,
}

/// The sessions seen so far, in order of first appearance.
#[derive(Debug, Default)]
pub struct SessionRegistry {
    sessions: Vec<SessionInfo>,
    by_id: HashMap<String, usize>,
}

impl SessionRegistry {
    /// Records a settled message. Its `session` must already be set (see
    /// [`session_of`]); messages of no session are ignored.
    pub fn add(&mut self, m: &MessageInfo, clue: &SessionClues) {
        let Some(id) = m.session.clone() else {
            return;
        };
        let pos = match self.by_id.get(&id) {
            Some(&p) => p,
            None => {
                self.sessions.push(SessionInfo {
                    id: id.clone(),
                    instance: None,
                    version: None,
                    key_hex: None,
                    key_source: None,
                    client: None,
                    server: None,
                    issued_by_msg: None,
                    cancelled_by_msg: None,
                    messages: Vec::new(),
                });
                self.by_id.insert(id, self.sessions.len() - 1);
                self.sessions.len() - 1
            }
        };
        let s = &mut self.sessions[pos];
        s.messages.push(m.index);
        if s.version.is_none() {
            s.version = clue.version;
        }
        if s.client.is_none() && m.stream.is_some() {
            s.client = clue.client.clone();
            s.server = clue.server.clone();
        }
        match (m.kind, m.direction) {
            (MessageKind::SctIssue, MessageDirection::Request) if s.issued_by_msg.is_none() => {
                s.issued_by_msg = Some(m.index)
            }
            (MessageKind::SctCancel, MessageDirection::Request) if s.cancelled_by_msg.is_none() => {
                s.cancelled_by_msg = Some(m.index)
            }
            _ => {}
        }
    }

    pub fn into_sessions(self) -> Vec<SessionInfo> {
        self.sessions
    }
}

/// The session a message belongs to: the first SCT it refers to; for an RST/SCT request
/// (which carries no SCT yet), the SCT its paired response issued.
pub fn session_of(
    clue: &SessionClues,
    kind: MessageKind,
    paired_response_clue: Option<&SessionClues>,
) -> Option<String> {
    clue.scts.first().cloned().or_else(|| {
        (kind == MessageKind::SctIssue)
            .then(|| paired_response_clue.and_then(|c| c.scts.first().cloned()))
            .flatten()
    })
}
