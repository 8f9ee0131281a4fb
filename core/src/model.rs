//! What the front ends consume: the analysis of a capture, shaped exactly like the JSON
//! report contract (`ARCHITECTURE.md`, "JSON report"). Every field name here is part of
//! that contract: add fields freely, never rename one.

use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A capture timestamp: nanoseconds since the Unix epoch, UTC.
/// Serialised as RFC 3339 with microseconds, as the report contract says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_secs_nanos(secs: i64, nanos: u32) -> Self {
        Timestamp(
            secs.saturating_mul(1_000_000_000)
                .saturating_add(i64::from(nanos)),
        )
    }
    pub fn as_nanos(self) -> i64 {
        self.0
    }
    /// RFC 3339, microsecond precision, `Z` suffix: `2024-05-01T10:00:00.123456Z`.
    pub fn to_rfc3339(self) -> String {
        self.rfc3339_text().as_str().to_owned()
    }

    /// [`Timestamp::to_rfc3339`]'s text, written digit by digit on the stack: every message
    /// of a report has one, and `format!` cost about 3,600 instructions each (1 % of
    /// `analyze`). Every `i64` of nanoseconds (years 1677 to 2262) has digits; the
    /// `@…ns` form is kept for a date the calendar library would refuse.
    fn rfc3339_text(self) -> Rfc3339Text {
        self.rfc3339_digits().map_or_else(
            || Rfc3339Text::Other(format!("@{}ns", self.0)),
            Rfc3339Text::Digits,
        )
    }

    fn rfc3339_digits(self) -> Option<[u8; 27]> {
        let secs = self.0.div_euclid(1_000_000_000);
        let micros = self.0.rem_euclid(1_000_000_000) / 1000;
        let t = time::OffsetDateTime::from_unix_timestamp(secs).ok()?;
        let year = u32::try_from(t.year()).ok().filter(|&y| y <= 9999)?;
        let mut text = *b"0000-00-00T00:00:00.000000Z";
        let fields: [(usize, usize, u32); 7] = [
            (0, 4, year),
            (5, 2, u32::from(u8::from(t.month()))),
            (8, 2, u32::from(t.day())),
            (11, 2, u32::from(t.hour())),
            (14, 2, u32::from(t.minute())),
            (17, 2, u32::from(t.second())),
            (20, 6, u32::try_from(micros).ok()?),
        ];
        for (at, width, mut value) in fields {
            for slot in text[at..at + width].iter_mut().rev() {
                // `value % 10` is a single decimal digit.
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        Some(text)
    }

    /// Parses an xsd:dateTime as WS-Security Timestamps carry it (`2024-01-01T00:00:00.123Z`,
    /// or with a numeric offset). Returns None for anything else.
    pub fn parse_xsd_datetime(s: &str) -> Option<Self> {
        let s = s.trim();
        let t =
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
        let nanos = t.unix_timestamp_nanos();
        i64::try_from(nanos).ok().map(Timestamp)
    }
}

/// A timestamp's report text: `YYYY-MM-DDThh:mm:ss.ffffffZ` in ASCII digits, or another
/// form for a date without them.
enum Rfc3339Text {
    Digits([u8; 27]),
    Other(String),
}

impl Rfc3339Text {
    fn as_str(&self) -> &str {
        match self {
            // Only ASCII digits and separators were written; the fallback is never taken.
            Rfc3339Text::Digits(d) => std::str::from_utf8(d).unwrap_or_default(),
            Rfc3339Text::Other(s) => s,
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rfc3339_text().as_str())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.rfc3339_text().as_str())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse_xsd_datetime(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptureFormat {
    Pcap,
    Pcapng,
    Xml,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureInfo {
    pub path: String,
    pub format: CaptureFormat,
    pub packets: u64,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
}

/// Which way bytes flow in a TCP stream: client to server or server to client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FlowDirection {
    #[serde(rename = "c2s")]
    ClientToServer,
    #[serde(rename = "s2c")]
    ServerToClient,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    pub direction: FlowDirection,
    /// Byte offset in that direction's stream where the missing bytes start.
    pub offset: u64,
    pub length: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    Http,
    Nettcp,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamInfo {
    pub id: usize,
    /// "ip:port" (IPv6 as "[addr]:port").
    pub client: String,
    pub server: String,
    pub transport: TransportKind,
    pub gaps: Vec<Gap>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScVersion {
    #[serde(rename = "2005-02")]
    Feb2005,
    #[serde(rename = "1.3")]
    V13,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeySource {
    Computed,
    EncryptedKey,
    BinarySecret,
    Manual,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: String,
    pub instance: Option<String>,
    pub version: Option<ScVersion>,
    pub key_hex: Option<String>,
    pub key_source: Option<KeySource>,
    pub client: Option<String>,
    pub server: Option<String>,
    pub issued_by_msg: Option<usize>,
    pub cancelled_by_msg: Option<usize>,
    pub messages: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageDirection {
    Request,
    Response,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpInfo {
    pub method: Option<String>,
    pub path: Option<String>,
    pub status: Option<u16>,
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SoapVersion {
    #[serde(rename = "1.1")]
    Soap11,
    #[serde(rename = "1.2")]
    Soap12,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MessageKind {
    SctIssue,
    SctIssueResponse,
    SctCancel,
    SctCancelResponse,
    SctRenew,
    SctRenewResponse,
    SctAmend,
    SctAmendResponse,
    Negotiation,
    Application,
    Fault,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decryption {
    Ok,
    Failed,
    NoKey,
    NotEncrypted,
}

/// Verdict over a whole message's signatures (the worst one wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureSummary {
    Valid,
    Invalid,
    NoKey,
    Unsigned,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureVerdict {
    Valid,
    Invalid,
    NoKey,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureRole {
    Primary,
    Endorsing,
    Supporting,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub id: Option<String>,
    /// e.g. "x509", "encrypted-key", "sct", "derived-key", "username".
    #[serde(rename = "type")]
    pub token_type: String,
    /// How the token was referenced or what it refers to (thumbprint, #id, urn:uuid:…).
    #[serde(rename = "ref")]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DerivedKeyInfo {
    pub id: Option<String>,
    pub base: Option<String>,
    pub label: Option<String>,
    pub nonce: Option<String>,
    pub offset: Option<u64>,
    pub length: Option<u64>,
    /// "signature", "encryption" or null when unused.
    pub usage: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceInfo {
    pub uri: String,
    /// The element the reference resolved to ("{ns}local" or "prefix:local"), null if unresolved.
    pub element: Option<String>,
    pub digest_valid: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignatureInfo {
    pub id: Option<String>,
    pub role: SignatureRole,
    pub algorithm: Option<String>,
    pub verdict: SignatureVerdict,
    pub references: Vec<ReferenceInfo>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Ok,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckInfo {
    pub name: String,
    pub status: CheckStatus,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SecurityInfo {
    pub tokens: Vec<TokenInfo>,
    pub derived_keys: Vec<DerivedKeyInfo>,
    pub signatures: Vec<SignatureInfo>,
    pub checks: Vec<CheckInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageInfo {
    pub index: usize,
    pub ts: Option<Timestamp>,
    pub stream: Option<usize>,
    pub direction: MessageDirection,
    pub http: Option<HttpInfo>,
    pub soap_version: Option<SoapVersion>,
    pub action: Option<String>,
    pub message_id: Option<String>,
    pub relates_to: Option<String>,
    pub to: Option<String>,
    pub kind: MessageKind,
    pub session: Option<String>,
    pub encrypted: bool,
    pub decryption: Decryption,
    pub signature: SignatureSummary,
    pub body: Option<String>,
    /// The body not yet copied out, for a report that only ever writes it as JSON
    /// (`analyze --format json`, see `analyzer::Options::json_bodies`): then `body` is None
    /// for a plain message and this carries it. Not part of the report contract: it is the
    /// `body` field, written later. Whenever `body` is set, `body` wins.
    #[serde(skip)]
    pub body_deferred: Option<DeferredBody>,
    pub security: SecurityInfo,
    pub errors: Vec<String>,
    /// False when a gap or the end of the capture cut the message (`body` has what was seen).
    pub complete: bool,
    /// The index of the response to this request, or of the request this response answers.
    pub paired_with: Option<usize>,
}

/// A message body the report has not copied out: the message's bytes as the SOAP stage
/// parsed them and where the Body's content lies in them. Made only from the source of a
/// document the XML parser accepted, so the bytes are UTF-8 (the writer relies on it).
/// The JSON report writer escapes the body straight from here into its output, so the
/// body is neither copied nor held twice on its way into a report that only ever writes
/// it as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeferredBody {
    pub(crate) source: Vec<u8>,
    pub(crate) content: std::ops::Range<usize>,
}

impl DeferredBody {
    /// The body's bytes (its text in UTF-8).
    pub fn bytes(&self) -> &[u8] {
        self.source.get(self.content.clone()).unwrap_or_default()
    }

    /// The body as text, as `MessageInfo::body` would hold it.
    pub fn to_text(&self) -> String {
        String::from_utf8_lossy(self.bytes()).into_owned()
    }
}

impl MessageInfo {
    /// Copies a deferred body out as `body` text (when nothing set `body`), for a consumer
    /// that needs the text: a whole report, redaction.
    pub fn undefer_body(&mut self) {
        if let Some(deferred) = self.body_deferred.take() {
            if self.body.is_none() {
                self.body = Some(deferred.to_text());
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub level: Level,
    pub message: String,
    pub msg: Option<usize>,
}

impl Diagnostic {
    pub fn info(message: impl Into<String>) -> Self {
        Diagnostic {
            level: Level::Info,
            message: message.into(),
            msg: None,
        }
    }
    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic {
            level: Level::Warning,
            message: message.into(),
            msg: None,
        }
    }
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            level: Level::Error,
            message: message.into(),
            msg: None,
        }
    }
    pub fn for_msg(mut self, index: usize) -> Self {
        self.msg = Some(index);
        self
    }
}

pub const REPORT_VERSION: u32 = 1;

/// The whole analysis of one capture (or one conversation of .xml files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub report_version: u32,
    pub capture: CaptureInfo,
    pub streams: Vec<StreamInfo>,
    pub sessions: Vec<SessionInfo>,
    pub messages: Vec<MessageInfo>,
    pub diagnostics: Vec<Diagnostic>,
}

/// What a front end shows beyond the report contract for one message: the bytes as
/// received, HTTP headers, the decrypted XML and the plain-words account of what the
/// security stage computed. Indexed like `Report::messages`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MessageDetail {
    /// The transport payload as received (de-chunked and decompressed HTTP body).
    pub raw: Vec<u8>,
    /// Problems the transport stage met framing this message (kept apart so the security
    /// stage can re-run over `raw` without re-reading the capture).
    #[serde(default)]
    pub frame_errors: Vec<String>,
    /// HTTP start line, e.g. "POST /calc HTTP/1.1" or "HTTP/1.1 200 OK".
    pub http_start_line: Option<String>,
    pub http_headers: Vec<(String, String)>,
    /// The whole envelope with every EncryptedData that was opened replaced by its
    /// plaintext; None when nothing was decrypted.
    pub decrypted_xml: Option<String>,
    /// What the security stage did, in order, in plain words (for the walkthrough).
    pub steps: Vec<SecurityStep>,
}

/// One thing the security stage did for a message, told in plain words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityStep {
    /// Short title, e.g. "Opened EncryptedKey #_0 with CN=calculator (thumbprint 1d82…)".
    pub title: String,
    /// Details: algorithms, inputs and outputs (derived key lengths, labels, nonces…).
    pub details: Vec<String>,
    /// Key derivation edges drawn by the GUI: (from, to) labels, e.g. ("SCT urn:uuid:…", "DKT _3").
    pub derives: Vec<(String, String)>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// The report's timestamp text as the `time` crate's own formatter writes it, as an
    /// independent reference (`@…ns` where it has no date).
    fn formatted(ns: i64) -> String {
        let text = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns)).map(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
            ))
        });
        match text {
            Ok(Ok(text)) => text,
            _ => format!("@{ns}ns"),
        }
    }

    /// The digit-by-digit text equals the reference's over the whole range of nanosecond
    /// timestamps (years 1677 to 2262).
    #[test]
    fn rfc3339_digits_match_the_formatted_text() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut cases: Vec<i64> = vec![
            0,
            -1,
            1,
            999,
            1_000,
            -1_000,
            1_767_225_630_123_456_789,
            951_782_400_000_000_000,   // 2000-02-29
            7_258_118_400_000_000_000, // 2200-01-01
            i64::MAX,
            i64::MIN,
        ];
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            cases.push(seed as i64);
            // Around now, where captures are.
            cases.push(1_700_000_000_000_000_000 + (seed % 400_000_000_000_000_000) as i64);
        }
        for ns in cases {
            let t = Timestamp(ns);
            let general = formatted(ns);
            assert_eq!(t.to_rfc3339(), general, "{ns}");
            assert_eq!(t.to_string(), general, "{ns}");
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                serde_json::to_string(&general).unwrap(),
                "{ns}"
            );
            if let Rfc3339Text::Digits(_) = t.rfc3339_text() {
                assert_eq!(t.rfc3339_text().as_str().len(), 27, "{ns}");
            }
        }
        assert_eq!(
            Timestamp(1_767_225_630_123_456_789).to_rfc3339(),
            "2026-01-01T00:00:30.123456Z"
        );
        assert_eq!(Timestamp(-1).to_rfc3339(), "1969-12-31T23:59:59.999999Z");
    }
}
