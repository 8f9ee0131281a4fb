//! How the GUI names and classifies messages: short arrow labels, the verdict colour class,
//! the session phase, and the endpoint lanes. Pure functions over `core::model`, shared by
//! every view so that the timeline, the table and the walkthrough always agree.

use wcfscope_core::model::{
    Decryption, MessageDirection, MessageInfo, MessageKind, SignatureSummary, StreamInfo,
};

/// What colour a message gets: the one-glance answer to "did the tool open and check it?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    /// Decrypted and/or every signature valid, no errors.
    Valid,
    /// Decryption failed, a signature failed, or the message carries errors.
    Failed,
    /// Protected, but no key was available to open or check it.
    NoKey,
    /// Neither encrypted nor signed.
    Clear,
}

impl Verdict {
    pub fn of(m: &MessageInfo) -> Verdict {
        let failed = m.decryption == Decryption::Failed
            || matches!(
                m.signature,
                SignatureSummary::Invalid | SignatureSummary::Error
            );
        if failed {
            return Verdict::Failed;
        }
        // A message the tool could not open carries errors saying which key is missing:
        // that is "no key", not a failure.
        if m.decryption == Decryption::NoKey || m.signature == SignatureSummary::NoKey {
            return Verdict::NoKey;
        }
        if !m.errors.is_empty() {
            return Verdict::Failed;
        }
        if m.decryption == Decryption::Ok || m.signature == SignatureSummary::Valid {
            return Verdict::Valid;
        }
        Verdict::Clear
    }

    /// The word used in the table, the filter and the legend.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Failed => "failed",
            Verdict::NoKey => "no key",
            Verdict::Clear => "clear",
        }
    }

    pub const ALL: [Verdict; 4] = [
        Verdict::Valid,
        Verdict::Failed,
        Verdict::NoKey,
        Verdict::Clear,
    ];
}

/// Where in a secure session's life a message belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Negotiation and the SCT Issue exchange (also Renew/Amend, which re-key).
    Bootstrap,
    /// Application messages protected with the session key.
    Session,
    /// The SCT Cancel exchange.
    Close,
}

impl Phase {
    pub fn of(kind: MessageKind) -> Phase {
        use MessageKind::*;
        match kind {
            SctIssue | SctIssueResponse | SctRenew | SctRenewResponse | SctAmend
            | SctAmendResponse | Negotiation => Phase::Bootstrap,
            SctCancel | SctCancelResponse => Phase::Close,
            Application | Fault => Phase::Session,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Phase::Bootstrap => "bootstrap",
            Phase::Session => "session",
            Phase::Close => "close",
        }
    }
}

/// The short label drawn on a timeline arrow: "RST/SCT Issue", "RSTR/SCT", "Add", …
pub fn short_name(m: &MessageInfo) -> String {
    use MessageKind::*;
    let fixed = match m.kind {
        SctIssue => "RST/SCT Issue",
        SctIssueResponse => "RSTR/SCT",
        SctCancel => "SCT Cancel",
        SctCancelResponse => "RSTR/SCT Cancel",
        SctRenew => "SCT Renew",
        SctRenewResponse => "RSTR/SCT Renew",
        SctAmend => "SCT Amend",
        SctAmendResponse => "RSTR/SCT Amend",
        Negotiation => "Negotiate",
        Fault => "Fault",
        Application => "",
    };
    if !fixed.is_empty() {
        return fixed.to_owned();
    }
    match m.action.as_deref().map(action_tail) {
        Some(tail) if !tail.is_empty() => tail.to_owned(),
        _ => match (&m.http, m.direction) {
            (Some(h), MessageDirection::Response) if h.status.is_some() => {
                format!("HTTP {}", h.status.unwrap_or_default())
            }
            _ => "(no action)".to_owned(),
        },
    }
}

/// The last path segment of a WS-Addressing action URI ("…/ICalculator/Add" → "Add").
pub fn action_tail(action: &str) -> &str {
    let trimmed = action.trim().trim_end_matches('/');
    trimmed.rsplit(['/', ':']).next().unwrap_or(trimmed)
}

/// A session id shortened for tight spaces: "urn:uuid:1c0e…" → "1c0e5a2b".
pub fn short_session(id: &str) -> String {
    let tail = id.strip_prefix("urn:uuid:").unwrap_or(id);
    tail.chars().take(8).collect()
}

/// The host part of "ip:port" or "[v6]:port" (clients use a new port per connection,
/// so a client lane is a host, not a socket).
pub fn host_of(endpoint: &str) -> &str {
    if let Some(rest) = endpoint.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match endpoint.rsplit_once(':') {
        Some((host, _port)) => host,
        None => endpoint,
    }
}

/// (client lane name, server lane name) for a message.
pub fn endpoints_of(m: &MessageInfo, streams: &[StreamInfo]) -> (String, String) {
    match m.stream.and_then(|s| streams.iter().find(|st| st.id == s)) {
        Some(st) => (
            format!("client {}", host_of(&st.client)),
            format!("service {}", st.server),
        ),
        None => ("client".to_owned(), "service".to_owned()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn action_tail_takes_last_segment() {
        assert_eq!(
            action_tail("http://Microsoft.ServiceModel.Samples/ICalculator/Add"),
            "Add"
        );
        assert_eq!(action_tail("urn:foo:Bar"), "Bar");
        assert_eq!(action_tail("http://x/y/"), "y");
        assert_eq!(action_tail(""), "");
    }

    #[test]
    fn hosts_drop_ports() {
        assert_eq!(host_of("10.0.0.5:49152"), "10.0.0.5");
        assert_eq!(host_of("[fe80::1]:443"), "fe80::1");
        assert_eq!(host_of("nohost"), "nohost");
    }

    #[test]
    fn short_session_strips_urn() {
        assert_eq!(short_session("urn:uuid:1c0e5a2b-aaaa"), "1c0e5a2b");
    }

    #[test]
    fn verdict_precedence() {
        let a = crate::gui::sample::analysis();
        let mut m = a.report.messages[4].clone();
        assert_eq!(Verdict::of(&m), Verdict::Valid);
        m.errors.push("why the key is missing".into());
        assert_eq!(Verdict::of(&m), Verdict::Failed);
        m.decryption = Decryption::NoKey;
        assert_eq!(Verdict::of(&m), Verdict::NoKey);
        m.signature = SignatureSummary::Invalid;
        assert_eq!(Verdict::of(&m), Verdict::Failed);
        let clear = &a.report.messages[0];
        assert_eq!(Verdict::of(clear), Verdict::Clear);
    }

    #[test]
    fn phases_follow_kinds() {
        assert_eq!(Phase::of(MessageKind::SctIssue), Phase::Bootstrap);
        assert_eq!(Phase::of(MessageKind::SctCancelResponse), Phase::Close);
        assert_eq!(Phase::of(MessageKind::Application), Phase::Session);
    }
}
