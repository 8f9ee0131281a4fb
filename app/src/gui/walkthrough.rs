//! "Step through the handshake": a session's messages one at a time, each told in plain
//! words from the message info and what the security stage recorded
//! (`MessageDetail::steps`). The current step's arrow is highlighted on the timeline.

use super::facts::{fmt_rel, Loaded};
use super::labels::{short_session, Verdict};
use super::theme;
use super::Command;
use wcfscope_core::model::{Decryption, MessageDirection, MessageKind, SignatureSummary};

/// One step: a message and what to say about it.
#[derive(Debug, Clone, PartialEq)]
pub struct WalkStep {
    pub msg: usize,
    pub heading: String,
    /// What the message is for, in one sentence.
    pub meaning: String,
    /// What the tool computed, one entry per security step (title, details).
    pub computed: Vec<(String, Vec<String>)>,
    pub outcome: String,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Walkthrough {
    pub session: usize,
    pub steps: Vec<WalkStep>,
    pub current: usize,
}

fn meaning(kind: MessageKind, name: &str, request: bool) -> String {
    use MessageKind::*;
    match kind {
        SctIssue => "The client asks the service for a Security Context Token (WS-SecureConversation Issue). It sends its half of the key material (client entropy), encrypted for the service's certificate.".into(),
        SctIssueResponse => "The service issues the Security Context Token and sends its half of the key material (server entropy). Both sides now compute the same session key from the two entropies.".into(),
        SctCancel => "The client tells the service it is done with the session: the token is cancelled.".into(),
        SctCancelResponse => "The service confirms the token is cancelled; the session is over.".into(),
        SctRenew | SctRenewResponse => "The session token is renewed: new key material for the same session.".into(),
        SctAmend | SctAmendResponse => "The session token is amended with additional claims.".into(),
        Negotiation => "A negotiation leg (SPNEGO/TLSNego) that establishes the key used to protect the Issue exchange.".into(),
        Fault => "The other side answered with a SOAP fault.".into(),
        Application if request => format!("An application call ({name}), protected with keys derived from the session token."),
        Application => format!("The service's answer ({name}), protected with keys derived from the session token."),
    }
}

impl Walkthrough {
    /// The walkthrough of session `session` (position in `report.sessions`), None if the
    /// session has no messages.
    pub fn build(l: &Loaded, session: usize) -> Option<Walkthrough> {
        let report = &l.analysis.report;
        let s = report.sessions.get(session)?;
        let mut msgs: Vec<usize> = s
            .messages
            .iter()
            .copied()
            .filter(|&i| i < report.messages.len())
            .collect();
        msgs.sort_by_key(|&i| (report.messages[i].ts, i));
        if msgs.is_empty() {
            return None;
        }
        let total = msgs.len();
        let steps = msgs
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let m = &report.messages[i];
                let f = &l.facts[i];
                let request = m.direction == MessageDirection::Request;
                let who = if request {
                    "client to service"
                } else {
                    "service to client"
                };
                let computed = l
                    .analysis
                    .details
                    .get(i)
                    .map(|d| {
                        d.steps
                            .iter()
                            .map(|st| {
                                let mut details = st.details.clone();
                                details
                                    .extend(st.derives.iter().map(|(a, b)| format!("{a} -> {b}")));
                                (st.title.clone(), details)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                WalkStep {
                    msg: i,
                    heading: format!(
                        "Step {} of {total} · {} · {who} · {}",
                        k + 1,
                        f.name,
                        fmt_rel(f.rel_ns)
                    ),
                    meaning: meaning(m.kind, &f.name, request),
                    computed,
                    outcome: outcome(
                        m.decryption,
                        m.signature,
                        m.security
                            .signatures
                            .iter()
                            .flat_map(|s| s.references.iter())
                            .filter(|r| r.digest_valid == Some(true))
                            .count(),
                        m.security
                            .signatures
                            .iter()
                            .map(|s| s.references.len())
                            .sum(),
                        &m.errors,
                    ),
                    verdict: f.verdict,
                }
            })
            .collect();
        Some(Walkthrough {
            session,
            steps,
            current: 0,
        })
    }

    pub fn current_msg(&self) -> Option<usize> {
        self.steps.get(self.current).map(|s| s.msg)
    }

    pub fn next(&mut self) {
        if self.current + 1 < self.steps.len() {
            self.current += 1;
        }
    }

    pub fn previous(&mut self) {
        self.current = self.current.saturating_sub(1);
    }

    /// Follows a selection made elsewhere: if the message is in this session, jump to it.
    pub fn follow(&mut self, msg: usize) {
        if let Some(k) = self.steps.iter().position(|s| s.msg == msg) {
            self.current = k;
        }
    }
}

fn outcome(
    dec: Decryption,
    sig: SignatureSummary,
    refs_ok: usize,
    refs: usize,
    errors: &[String],
) -> String {
    let d = match dec {
        Decryption::Ok => "decrypted",
        Decryption::Failed => "decryption FAILED",
        Decryption::NoKey => "not decrypted (no key for it)",
        Decryption::NotEncrypted => "not encrypted",
    };
    let s = match sig {
        SignatureSummary::Valid => {
            format!("signature valid ({refs_ok} of {refs} references verified)")
        }
        SignatureSummary::Invalid => {
            format!("signature INVALID ({refs_ok} of {refs} references verified)")
        }
        SignatureSummary::NoKey => "signature not checked (no key)".into(),
        SignatureSummary::Unsigned => "not signed".into(),
        SignatureSummary::Error => "signature could not be checked".into(),
    };
    let mut out = format!("Result: {d}, {s}.");
    for e in errors {
        out.push_str(&format!("\nError: {e}"));
    }
    out
}

pub fn show(ui: &mut egui::Ui, w: &Walkthrough, l: &Loaded, dark: bool) -> Vec<Command> {
    let mut cmds = Vec::new();
    let sid = &l.analysis.report.sessions[w.session].id;
    ui.horizontal(|ui| {
        ui.strong(format!(
            "Step through the handshake · S{} {}",
            w.session + 1,
            short_session(sid)
        ));
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.small_button("× Close").clicked() {
                cmds.push(Command::EndWalkthrough);
            }
            if ui
                .add_enabled(w.current + 1 < w.steps.len(), egui::Button::new("Next ▶"))
                .clicked()
            {
                cmds.push(Command::WalkStep(w.current + 1));
            }
            if ui
                .add_enabled(w.current > 0, egui::Button::new("◀ Previous"))
                .clicked()
            {
                cmds.push(Command::WalkStep(w.current.saturating_sub(1)));
            }
        });
    });
    let Some(step) = w.steps.get(w.current) else {
        return cmds;
    };
    ui.separator();
    ui.colored_label(
        theme::verdict_color(step.verdict, dark),
        egui::RichText::new(&step.heading).strong(),
    );
    ui.label(&step.meaning);
    if !step.computed.is_empty() {
        ui.add_space(2.0);
        ui.label(egui::RichText::new("What wcfscope computed:").strong());
        for (title, details) in &step.computed {
            ui.label(format!("• {title}"));
            for d in details {
                ui.label(
                    egui::RichText::new(format!("      {d}"))
                        .monospace()
                        .small(),
                );
            }
        }
    }
    ui.add_space(2.0);
    ui.label(&step.outcome);
    cmds
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::gui::sample;

    #[test]
    fn session_a_walkthrough() {
        let l = Loaded::new(sample::analysis());
        let mut w = Walkthrough::build(&l, 0).unwrap();
        let msgs: Vec<usize> = w.steps.iter().map(|s| s.msg).collect();
        assert_eq!(msgs, vec![2, 3, 4, 5, 8, 9, 14, 15]);
        let first = &w.steps[0];
        assert!(
            first
                .heading
                .starts_with("Step 1 of 8 · RST/SCT Issue · client to service"),
            "{}",
            first.heading
        );
        assert!(first.meaning.contains("client entropy"));
        assert!(first.computed[0].0.contains("Opened EncryptedKey"));
        assert!(first.computed[1]
            .1
            .iter()
            .any(|d| d.contains("EncryptedKey _7 -> DKT _9")));
        assert!(w.steps[1].computed[0].0.contains("from the two entropies"));
        assert!(first.outcome.contains("3 of 3 references verified"));
        w.previous();
        assert_eq!(w.current, 0);
        w.next();
        assert_eq!(w.current_msg(), Some(3));
        w.follow(14);
        assert_eq!(w.current, 6);
        w.follow(10); // not in this session: stays
        assert_eq!(w.current, 6);
        for _ in 0..10 {
            w.next();
        }
        assert_eq!(w.current, 7);
    }

    #[test]
    fn failed_step_says_why() {
        let l = Loaded::new(sample::analysis());
        let w = Walkthrough::build(&l, 1).unwrap();
        let s = w.steps.iter().find(|s| s.msg == 10).unwrap();
        assert!(
            s.outcome
                .contains("signature INVALID (2 of 3 references verified)"),
            "{}",
            s.outcome
        );
        assert!(s.outcome.contains("digest mismatch"));
        assert_eq!(s.verdict, Verdict::Failed);
    }
}
