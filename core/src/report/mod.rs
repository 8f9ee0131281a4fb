//! JSON and text renderings of a [`Report`].
//!
//! JSON follows the report contract (ARCHITECTURE.md) field for field. Text is a readable
//! timeline: one line per message, then sessions and diagnostics.

use crate::analyzer::Summary;
use crate::model::{
    Decryption, Level, MessageDirection, MessageInfo, MessageKind, Report, SessionInfo,
    SignatureSummary, Timestamp,
};
use std::fmt::Write as _;
use std::io::{self, Write};

mod json_string;

/// The report as pretty-printed JSON (contract version 1).
pub fn to_json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Sets every session key to null and masks UsernameToken passwords (`--redact-keys`).
pub fn redact(report: &mut Report) {
    redact_sessions(&mut report.sessions);
    for m in &mut report.messages {
        redact_message(m);
    }
}

/// Replaces the content of every `<…Password …>…</…Password>` and `<…BinarySecret …>…`
/// element by `****`. A text search, for bodies that did not parse as XML (the security
/// stage masks parsed ones by their element spans, `session::redact`).
fn mask_passwords(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(start) = find_password_start(rest) {
        let Some(gt) = rest[start..].find('>') else {
            break;
        };
        let content_start = start + gt + 1;
        let Some(end) = rest[content_start..].find("</") else {
            break;
        };
        out.push_str(&rest[..content_start]);
        out.push_str("****");
        rest = &rest[content_start + end..];
    }
    out.push_str(rest);
    out
}

fn find_password_start(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find('<') {
        let at = from + i;
        let name_end = s[at + 1..]
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .map(|e| at + 1 + e)?;
        let name = &s[at + 1..name_end];
        let local = name.rsplit(':').next().unwrap_or(name);
        if local == "Password" || local == "BinarySecret" {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// A short name for a message, as the timeline labels arrows.
pub fn short_name(m: &MessageInfo) -> String {
    match m.kind {
        MessageKind::SctIssue => "RST/SCT Issue".into(),
        MessageKind::SctIssueResponse => "RSTR/SCT".into(),
        MessageKind::SctCancel => "SCT Cancel".into(),
        MessageKind::SctCancelResponse => "SCT Cancel Response".into(),
        MessageKind::SctRenew => "SCT Renew".into(),
        MessageKind::SctRenewResponse => "SCT Renew Response".into(),
        MessageKind::SctAmend => "SCT Amend".into(),
        MessageKind::SctAmendResponse => "SCT Amend Response".into(),
        MessageKind::Negotiation => "Negotiation".into(),
        MessageKind::Fault => "Fault".into(),
        MessageKind::Application => m
            .action
            .as_deref()
            .and_then(|a| a.rsplit(['/', ':', '#']).find(|s| !s.is_empty()))
            .map(str::to_string)
            .unwrap_or_else(|| match m.direction {
                MessageDirection::Request => "request".into(),
                MessageDirection::Response => "response".into(),
            }),
    }
}

fn decryption_word(d: Decryption) -> &'static str {
    match d {
        Decryption::Ok => "decrypted",
        Decryption::Failed => "DECRYPT-FAILED",
        Decryption::NoKey => "encrypted(no key)",
        Decryption::NotEncrypted => "clear",
    }
}

fn signature_word(s: SignatureSummary) -> &'static str {
    match s {
        SignatureSummary::Valid => "sig valid",
        SignatureSummary::Invalid => "SIG INVALID",
        SignatureSummary::NoKey => "sig no-key",
        SignatureSummary::Unsigned => "unsigned",
        SignatureSummary::Error => "SIG ERROR",
    }
}

/// The readable timeline.
pub fn to_text(report: &Report) -> String {
    let mut out = String::new();
    let c = &report.capture;
    let _ = writeln!(
        out,
        "{} ({:?}, {} packets{})",
        c.path,
        c.format,
        c.packets,
        match (c.first_ts, c.last_ts) {
            (Some(a), Some(b)) => format!(", {a} .. {b}"),
            _ => String::new(),
        }
    );
    let _ = writeln!(
        out,
        "{} streams, {} messages, {} sessions",
        report.streams.len(),
        report.messages.len(),
        report.sessions.len()
    );
    let _ = writeln!(out);
    let first = report.messages.iter().find_map(|m| m.ts);
    for m in &report.messages {
        out.push_str(&message_line(m, first));
    }
    let verdicts: Vec<SignatureSummary> = report.messages.iter().map(|m| m.signature).collect();
    out.push_str(&sessions_text(
        &report.sessions,
        &report.diagnostics,
        &verdicts,
    ));
    out
}

/// One timeline line (plus its error lines) for a message.
fn message_line(m: &MessageInfo, first: Option<Timestamp>) -> String {
    let when = match (m.ts, first) {
        (Some(t), Some(f)) => format!("{:>+10.6}s", (t.0 - f.0) as f64 / 1e9),
        _ => format!("{:>11}", "-"),
    };
    let arrow = match m.direction {
        MessageDirection::Request => "->",
        MessageDirection::Response => "<-",
    };
    let stream = m
        .stream
        .map(|s| format!("s{s}"))
        .unwrap_or_else(|| "-".into());
    let mut line = format!(
        "#{:<4} {when} {stream:>4} {arrow} {:<22} {:<18} {:<10}",
        m.index,
        short_name(m),
        decryption_word(m.decryption),
        signature_word(m.signature),
    );
    if let Some(s) = &m.session {
        let _ = write!(line, " session {s}");
    }
    if !m.complete {
        line.push_str(" [incomplete]");
    }
    let mut out = format!("{}\n", line.trim_end());
    for e in &m.errors {
        let _ = writeln!(out, "        ! {e}");
    }
    out
}

/// The sessions and diagnostics sections; `verdicts` holds each message's signature
/// verdict by index.
fn sessions_text(
    sessions: &[SessionInfo],
    diagnostics: &[crate::model::Diagnostic],
    verdicts: &[SignatureSummary],
) -> String {
    let mut out = String::new();
    if !sessions.is_empty() {
        let _ = writeln!(out, "\nSessions:");
        for s in sessions {
            let _ = writeln!(
                out,
                "  {} ({}), key: {}, {} messages: {}",
                s.id,
                s.version
                    .map(|v| format!("{v:?}"))
                    .unwrap_or_else(|| "version unknown".into()),
                match (&s.key_source, &s.key_hex) {
                    (Some(src), Some(k)) => format!("{k} ({src:?})"),
                    (Some(src), None) => format!("redacted ({src:?})"),
                    _ => "not recovered".into(),
                },
                s.messages.len(),
                verdict_counts(verdicts, &s.messages),
            );
        }
    }
    if !diagnostics.is_empty() {
        let _ = writeln!(out, "\nDiagnostics:");
        for d in diagnostics {
            let level = match d.level {
                Level::Info => "info",
                Level::Warning => "warning",
                Level::Error => "error",
            };
            let at = d
                .msg
                .map(|m| format!(" (message #{m})"))
                .unwrap_or_default();
            let _ = writeln!(out, "  {level}: {}{at}", d.message);
        }
    }
    out
}

fn verdict_counts(verdicts: &[SignatureSummary], indices: &[usize]) -> String {
    let mut valid = 0;
    let mut invalid = 0;
    let mut no_key = 0;
    let mut other = 0;
    for v in indices.iter().filter_map(|&i| verdicts.get(i)) {
        match v {
            SignatureSummary::Valid => valid += 1,
            SignatureSummary::Invalid | SignatureSummary::Error => invalid += 1,
            SignatureSummary::NoKey => no_key += 1,
            SignatureSummary::Unsigned => other += 1,
        }
    }
    format!("{valid} valid, {invalid} failed, {no_key} no key, {other} unsigned")
}

/// Writes the JSON report while the analysis runs: messages as they settle, then the
/// rest. The object's keys come in a different order than in [`to_json`] (messages first),
/// which JSON readers do not see.
pub struct JsonReportWriter<W: Write> {
    /// None only once [`JsonReportWriter::end`] took it.
    out: Option<W>,
    count: usize,
    redact: bool,
    /// Messages written here and not yet handed to `out`: a message's JSON is built in
    /// place (its body escaped straight into it), and `out` gets large writes. Through a
    /// small `BufWriter` every message had been copied once more, and every message larger
    /// than its buffer had cost a system call of its own.
    pending: Vec<u8>,
    /// What follows a message's body field, set aside while the body goes in.
    tail: Vec<u8>,
}

/// `pending` goes to `out` once it holds this much.
const PENDING_FLUSH: usize = 256 * 1024;

impl<W: Write> JsonReportWriter<W> {
    pub fn begin(out: W, redact: bool) -> io::Result<Self> {
        let mut w = JsonReportWriter {
            out: Some(out),
            count: 0,
            redact,
            pending: Vec::new(),
            tail: Vec::new(),
        };
        w.pending
            .extend_from_slice(b"{\"report_version\":1,\"messages\":[");
        Ok(w)
    }

    /// Writes one message. `m` is only borrowed mutably to lift its body out while the rest
    /// is serialized; it is unchanged on return.
    pub fn message(&mut self, m: &mut MessageInfo) -> io::Result<()> {
        self.pending
            .extend_from_slice(if self.count == 0 { b"\n" } else { b",\n" });
        if self.redact {
            let mut m = m.clone();
            // Redaction works on text.
            m.undefer_body();
            redact_message(&mut m);
            self.write_message(&mut m)?;
        } else {
            self.write_message(m)?;
        }
        self.count += 1;
        if self.pending.len() >= PENDING_FLUSH {
            self.flush_pending()?;
        }
        Ok(())
    }

    /// Drops the report without writing anything, for a run that read nothing: no lone
    /// opening brace on the output. Messages already written stay written.
    pub fn abandon(mut self) {
        if self.count == 0 {
            self.pending.clear();
        }
    }

    fn flush_pending(&mut self) -> io::Result<()> {
        if let Some(out) = &mut self.out {
            out.write_all(&self.pending)?;
        }
        self.pending.clear();
        Ok(())
    }

    /// serde_json writes the message with `"body":null`; the body goes into that place
    /// through [`json_string::write_json_utf8`] (the same bytes serde_json would write,
    /// much faster). `"body":null` can only be that field: no other object in a message
    /// has a `body` key, and inside JSON strings a quote is always escaped.
    ///
    /// A deferred body (`body_deferred`, used only when `body` is None) is escaped straight
    /// from the message's bytes.
    fn write_message(&mut self, m: &mut MessageInfo) -> io::Result<()> {
        const PLACEHOLDER: &[u8] = b"\"body\":null";
        let start = self.pending.len();
        let body = m.body.take();
        let serialized = serde_json::to_writer(&mut self.pending, &*m);
        m.body = body;
        if let Err(e) = serialized {
            self.pending.truncate(start);
            return Err(io::Error::other(e));
        }
        let text = match (&m.body, &m.body_deferred) {
            (Some(body), _) => body.as_bytes(),
            // UTF-8: the source of a document the XML parser accepted (DeferredBody).
            (None, Some(deferred)) => deferred.bytes(),
            (None, None) => return Ok(()),
        };
        let Some(at) = memchr::memmem::find(&self.pending[start..], PLACEHOLDER) else {
            self.pending.truncate(start);
            return Err(io::Error::other(
                "internal error: no body field in a message",
            ));
        };
        let field_end = start + at + PLACEHOLDER.len();
        self.tail.clear();
        self.tail.extend_from_slice(&self.pending[field_end..]);
        self.pending.truncate(field_end - b"null".len());
        json_string::write_json_utf8(&mut self.pending, text);
        self.pending.extend_from_slice(&self.tail);
        Ok(())
    }

    pub fn end(mut self, summary: &Summary) -> io::Result<W> {
        let mut sessions = summary.sessions.clone();
        if self.redact {
            redact_sessions(&mut sessions);
        }
        self.flush_pending()?;
        let Some(mut out) = self.out.take() else {
            return Err(io::Error::other(
                "internal error: the report was ended twice",
            ));
        };
        out.write_all(b"\n],\n\"capture\":")?;
        serde_json::to_writer(&mut out, &summary.capture).map_err(io::Error::other)?;
        out.write_all(b",\n\"streams\":")?;
        serde_json::to_writer(&mut out, &summary.streams).map_err(io::Error::other)?;
        out.write_all(b",\n\"sessions\":")?;
        serde_json::to_writer(&mut out, &sessions).map_err(io::Error::other)?;
        out.write_all(b",\n\"diagnostics\":")?;
        serde_json::to_writer(&mut out, &summary.diagnostics).map_err(io::Error::other)?;
        out.write_all(b"}\n")?;
        out.flush()?;
        Ok(out)
    }
}

/// A writer dropped before its end (the analysis failed) still hands over the messages it
/// has, as the output stream would have had them.
impl<W: Write> Drop for JsonReportWriter<W> {
    fn drop(&mut self) {
        let _ = self.flush_pending();
        if let Some(out) = &mut self.out {
            let _ = out.flush();
        }
    }
}

/// Writes the text timeline while the analysis runs: one line per message as it settles,
/// then sessions and diagnostics.
pub struct TextReportWriter<W: Write> {
    out: W,
    /// The title line, written with the first message or at the end: a run that reads
    /// nothing writes nothing.
    title: Option<String>,
    first_ts: Option<Timestamp>,
    /// Each message's signature verdict by index, for the sessions' verdict counts.
    verdicts: Vec<SignatureSummary>,
    redact: bool,
}

impl<W: Write> TextReportWriter<W> {
    pub fn begin(out: W, title: &str, redact: bool) -> io::Result<Self> {
        Ok(TextReportWriter {
            out,
            title: Some(title.to_owned()),
            first_ts: None,
            verdicts: Vec::new(),
            redact,
        })
    }

    fn write_title(&mut self) -> io::Result<()> {
        match self.title.take() {
            Some(title) => writeln!(self.out, "{title}"),
            None => Ok(()),
        }
    }

    pub fn message(&mut self, m: &MessageInfo) -> io::Result<()> {
        self.write_title()?;
        if self.first_ts.is_none() {
            self.first_ts = m.ts;
        }
        if self.verdicts.len() <= m.index {
            self.verdicts
                .resize(m.index + 1, SignatureSummary::Unsigned);
        }
        self.verdicts[m.index] = m.signature;
        write!(self.out, "{}", message_line(m, self.first_ts))
    }

    pub fn end(mut self, summary: &Summary) -> io::Result<W> {
        let mut sessions = summary.sessions.clone();
        if self.redact {
            redact_sessions(&mut sessions);
        }
        self.write_title()?;
        let c = &summary.capture;
        writeln!(
            self.out,
            "\n{:?}, {} packets{}; {} streams, {} messages, {} sessions",
            c.format,
            c.packets,
            match (c.first_ts, c.last_ts) {
                (Some(a), Some(b)) => format!(", {a} .. {b}"),
                _ => String::new(),
            },
            summary.streams.len(),
            self.verdicts.len(),
            sessions.len()
        )?;
        write!(
            self.out,
            "{}",
            sessions_text(&sessions, &summary.diagnostics, &self.verdicts)
        )?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn redact_message(m: &mut MessageInfo) {
    if let Some(body) = &mut m.body {
        *body = mask_passwords(body);
    }
}

fn redact_sessions(sessions: &mut [SessionInfo]) {
    for s in sessions {
        s.key_hex = None;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn message(index: usize, body: Option<&str>, action: Option<&str>) -> MessageInfo {
        MessageInfo {
            index,
            ts: Some(Timestamp(1_700_000_000_123_456)),
            stream: Some(0),
            direction: MessageDirection::Request,
            http: None,
            soap_version: None,
            action: action.map(str::to_owned),
            message_id: None,
            relates_to: None,
            to: None,
            kind: MessageKind::Application,
            session: None,
            encrypted: false,
            decryption: Decryption::NotEncrypted,
            signature: SignatureSummary::Unsigned,
            body: body.map(str::to_owned),
            body_deferred: None,
            security: Default::default(),
            errors: vec!["\"body\":null".into()],
            complete: true,
            paired_with: None,
        }
    }

    /// Each message the streaming writer emits is exactly serde_json's serialization of
    /// it, whatever the body holds (the body is spliced in by a faster escaper), and the
    /// message is unchanged afterwards.
    #[test]
    fn streamed_messages_are_serde_json_s_bytes() {
        let bodies = [
            None,
            Some(""),
            Some("<a x=\"1\">\"body\":null</a>\r\n\t\u{1}\\ é 𝄞"),
            Some("\"body\":null"),
            Some("plain <b:Order><b:Id>1</b:Id></b:Order> text long enough to span blocks"),
        ];
        let actions = [None, Some("\"body\":null"), Some("urn:a")];
        let mut expected = Vec::new();
        let mut writer = JsonReportWriter::begin(Vec::new(), false).unwrap();
        for (i, body) in bodies.iter().enumerate() {
            for action in actions {
                let mut m = message(i, *body, action);
                let before = m.clone();
                expected.push(serde_json::to_string(&m).unwrap());
                writer.message(&mut m).unwrap();
                assert_eq!(m, before);
            }
        }
        writer.flush_pending().unwrap();
        let out = String::from_utf8(writer.out.take().unwrap()).unwrap();
        let lines: Vec<&str> = out
            .lines()
            .skip(1)
            .map(|l| l.trim_end_matches(','))
            .take(expected.len())
            .collect();
        assert_eq!(lines, expected);
    }

    #[test]
    fn masks_binary_secrets_in_unparsed_bodies() {
        let xml = r#"<t:Entropy><t:BinarySecret Type="n">LvNYXcA6HKhPIAzUrsswYA==</t:BinarySecret></t:Entropy><BinarySecret>x"#;
        let masked = mask_passwords(xml);
        assert!(!masked.contains("LvNYXcA6HKhPIAzUrsswYA=="));
        assert!(masked.contains("<t:BinarySecret Type=\"n\">****</t:BinarySecret>"));
    }

    #[test]
    fn masks_username_token_passwords() {
        let xml = r#"<o:UsernameToken><o:Username>bob</o:Username><o:Password Type="x">s3cret</o:Password></o:UsernameToken>"#;
        let masked = mask_passwords(xml);
        assert!(!masked.contains("s3cret"));
        assert!(masked.contains("<o:Password Type=\"x\">****</o:Password>"));
        assert!(masked.contains("<o:Username>bob</o:Username>"));
    }

    /// Messages past the point where the writer hands its buffer over come out whole and in
    /// order; a writer dropped before its end still hands over every message it took.
    #[test]
    fn streamed_messages_survive_buffer_hand_overs_and_an_early_drop() {
        let big = "<x>".repeat(40_000) + &"</x>".repeat(40_000);
        let mut expected = Vec::new();
        let mut out = Vec::new();
        {
            let mut writer = JsonReportWriter::begin(&mut out, false).unwrap();
            for i in 0..12 {
                let body = if i % 3 == 0 {
                    Some(big.as_str())
                } else {
                    Some("<a/>")
                };
                let mut m = message(i, body, Some("urn:a"));
                expected.push(serde_json::to_string(&m).unwrap());
                writer.message(&mut m).unwrap();
            }
            // Dropped without end(): the analysis failed after these messages.
        }
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("{\"report_version\":1,\"messages\":["));
        let lines: Vec<&str> = out
            .lines()
            .skip(1)
            .map(|l| l.trim_end_matches(','))
            .collect();
        assert_eq!(lines, expected);
    }
}
