//! Groups messages into sessions by SecurityContextToken Identifier.

use crate::model::{MessageDirection, MessageInfo, MessageKind, ScVersion, SessionInfo};

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

/// Sets each message's `session` and builds the session list, in order of first
/// appearance. An RST/SCT request belongs to the SCT its paired response issued.
pub fn group_sessions(messages: &mut [MessageInfo], clues: &[SessionClues]) -> Vec<SessionInfo> {
    for (i, m) in messages.iter_mut().enumerate() {
        m.session = clues.get(i).and_then(|c| c.scts.first().cloned());
    }
    // The RST carries no SCT yet: it belongs to the session its response created.
    for i in 0..messages.len() {
        if messages[i].kind != MessageKind::SctIssue || messages[i].session.is_some() {
            continue;
        }
        let Some(resp) = messages[i].paired_with else { continue };
        if let Some(s) = messages.get(resp).and_then(|r| r.session.clone()) {
            messages[i].session = Some(s);
        }
    }
    let mut sessions: Vec<SessionInfo> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let Some(id) = m.session.clone() else { continue };
        let clue = clues.get(i);
        let pos = match sessions.iter().position(|s| s.id == id) {
            Some(p) => p,
            None => {
                sessions.push(SessionInfo {
                    id,
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
                sessions.len() - 1
            }
        };
        let s = &mut sessions[pos];
        s.messages.push(i);
        if s.version.is_none() {
            s.version = clue.and_then(|c| c.version);
        }
        if s.client.is_none() && m.stream.is_some() {
            s.client = clue.and_then(|c| c.client.clone());
            s.server = clue.and_then(|c| c.server.clone());
        }
        match (m.kind, m.direction) {
            (MessageKind::SctIssue, MessageDirection::Request) if s.issued_by_msg.is_none() => {
                s.issued_by_msg = Some(i)
            }
            (MessageKind::SctCancel, MessageDirection::Request) if s.cancelled_by_msg.is_none() => {
                s.cancelled_by_msg = Some(i)
            }
            _ => {}
        }
    }
    sessions
}
