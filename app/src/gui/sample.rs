//! A realistic, hand-built [`Analysis`] of two WCF secure sessions, for tests and for
//! working on the GUI without a capture. Not used by the running app.
//!
//! Shape (times relative to 10:00:00 UTC on 2024-05-01):
//! a clear-text metadata exchange, then session A (client 10.0.0.5) and session B
//! (client 10.0.0.7) each bootstrapped with RST/SCT Issue → RSTR/SCT, calculator calls
//! (one with a broken signature digest), a message for a session whose key is unknown,
//! and both sessions cancelled.

use wcfscope_core::analyzer::Analysis;
use wcfscope_core::model::*;

pub const SESSION_A: &str = "urn:uuid:6a1d2c3e-0001-4a5b-9c8d-aaaaaaaaaaaa";
pub const SESSION_B: &str = "urn:uuid:7b2e3d4f-0002-4a5b-9c8d-bbbbbbbbbbbb";
pub const SESSION_UNKNOWN: &str = "urn:uuid:00000000-dead-beef-0000-cccccccccccc";

const CALC: &str = "http://Microsoft.ServiceModel.Samples/ICalculator";
const SC_ISSUE: &str = "http://schemas.xmlsoap.org/ws/2005/02/trust/RST/SCT";
const SC_ISSUE_R: &str = "http://schemas.xmlsoap.org/ws/2005/02/trust/RSTR/SCT";
const SC_CANCEL: &str = "http://schemas.xmlsoap.org/ws/2005/02/trust/RST/SCT/Cancel";
const SC_CANCEL_R: &str = "http://schemas.xmlsoap.org/ws/2005/02/trust/RSTR/SCT/Cancel";
const T0: i64 = 1_714_557_600_000_000_000; // 2024-05-01T10:00:00Z

struct Spec {
    ms: i64,
    stream: usize,
    dir: MessageDirection,
    action: &'static str,
    kind: MessageKind,
    session: Option<&'static str>,
    dec: Decryption,
    sig: SignatureSummary,
    errors: Vec<String>,
}

fn spec(
    ms: i64,
    stream: usize,
    dir: MessageDirection,
    action: &'static str,
    kind: MessageKind,
    session: Option<&'static str>,
) -> Spec {
    let protected = session.is_some() || kind == MessageKind::SctIssue;
    Spec {
        ms,
        stream,
        dir,
        action,
        kind,
        session,
        dec: if protected {
            Decryption::Ok
        } else {
            Decryption::NotEncrypted
        },
        sig: if protected {
            SignatureSummary::Valid
        } else {
            SignatureSummary::Unsigned
        },
        errors: Vec::new(),
    }
}

/// The two-session sample analysis described in the module comment.
pub fn analysis() -> Analysis {
    use MessageDirection::{Request as Rq, Response as Rs};
    use MessageKind::*;
    let a = Some(SESSION_A);
    let b = Some(SESSION_B);
    let mut specs = vec![
        spec(
            0,
            0,
            Rq,
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get",
            Application,
            None,
        ),
        spec(
            4,
            0,
            Rs,
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse",
            Application,
            None,
        ),
        spec(120, 1, Rq, SC_ISSUE, SctIssue, a),
        spec(161, 1, Rs, SC_ISSUE_R, SctIssueResponse, a),
        spec(190, 1, Rq, leak(format!("{CALC}/Add")), Application, a),
        spec(
            197,
            1,
            Rs,
            leak(format!("{CALC}/AddResponse")),
            Application,
            a,
        ),
        spec(240, 2, Rq, SC_ISSUE, SctIssue, b),
        spec(279, 2, Rs, SC_ISSUE_R, SctIssueResponse, b),
        spec(300, 1, Rq, leak(format!("{CALC}/Subtract")), Application, a),
        spec(
            306,
            1,
            Rs,
            leak(format!("{CALC}/SubtractResponse")),
            Application,
            a,
        ),
        spec(350, 2, Rq, leak(format!("{CALC}/Multiply")), Application, b),
        spec(
            358,
            2,
            Rs,
            leak(format!("{CALC}/MultiplyResponse")),
            Application,
            b,
        ),
        spec(
            400,
            3,
            Rq,
            leak(format!("{CALC}/Divide")),
            Application,
            Some(SESSION_UNKNOWN),
        ),
        spec(
            409,
            3,
            Rs,
            leak(format!("{CALC}/DivideResponse")),
            Application,
            Some(SESSION_UNKNOWN),
        ),
        spec(500, 1, Rq, SC_CANCEL, SctCancel, a),
        spec(507, 1, Rs, SC_CANCEL_R, SctCancelResponse, a),
        spec(520, 2, Rq, SC_CANCEL, SctCancel, b),
        spec(526, 2, Rs, SC_CANCEL_R, SctCancelResponse, b),
    ];
    // Multiply: the body digest does not match (the message was altered in transit).
    specs[10].sig = SignatureSummary::Invalid;
    specs[10].errors.push(
        "signature #_0: reference #_1 (s:Body): digest mismatch (expected 3q2+7w==, computed 9Yk1Ag==)"
            .into(),
    );
    // The unknown session's key never went by in this capture.
    for s in &mut specs[12..14] {
        s.dec = Decryption::NoKey;
        s.sig = SignatureSummary::NoKey;
    }

    let streams = vec![
        stream(0, "10.0.0.5:49200"),
        stream(1, "10.0.0.5:49201"),
        stream(2, "10.0.0.7:51000"),
        stream(3, "10.0.0.7:51004"),
    ];
    let mut messages = Vec::new();
    let mut details = Vec::new();
    for (i, s) in specs.into_iter().enumerate() {
        let (m, d) = build(i, s);
        messages.push(m);
        details.push(d);
    }
    let sessions = vec![
        session(
            SESSION_A,
            "10.0.0.5:49201",
            &messages,
            Some(2),
            Some(14),
            true,
        ),
        session(
            SESSION_B,
            "10.0.0.7:51000",
            &messages,
            Some(6),
            Some(16),
            true,
        ),
        session(
            SESSION_UNKNOWN,
            "10.0.0.7:51004",
            &messages,
            None,
            None,
            false,
        ),
    ];
    let report = Report {
        report_version: REPORT_VERSION,
        capture: CaptureInfo {
            path: "captures/sample-two-sessions.pcapng".into(),
            format: CaptureFormat::Pcapng,
            packets: 212,
            first_ts: Some(Timestamp(T0)),
            last_ts: Some(Timestamp(T0 + 526_000_000)),
        },
        streams,
        sessions,
        messages,
        diagnostics: vec![
            Diagnostic::warning("session urn:uuid:00000000-dead-beef-0000-cccccccccccc: no key (its Issue exchange is not in the capture)").for_msg(12),
            Diagnostic::error("signature #_0 failed: digest mismatch on s:Body").for_msg(10),
        ],
    };
    Analysis {
        security_diagnostics_from: report.diagnostics.len(),
        report,
        details,
    }
}

/// `n` messages cycling through the sample's shapes, for virtualisation tests.
pub fn large(n: usize) -> Analysis {
    let base = analysis();
    let len = base.report.messages.len();
    let mut report = base.report.clone();
    report.messages.clear();
    let mut details = Vec::with_capacity(n);
    for i in 0..n {
        let mut m = base.report.messages[i % len].clone();
        m.index = i;
        m.ts = Some(Timestamp(T0 + (i as i64) * 1_000_000));
        report.messages.push(m);
        details.push(MessageDetail::default());
    }
    for s in &mut report.sessions {
        s.messages.clear();
    }
    for m in &report.messages {
        if let Some(s) = report
            .sessions
            .iter_mut()
            .find(|s| Some(&s.id) == m.session.as_ref())
        {
            s.messages.push(m.index);
        }
    }
    Analysis {
        security_diagnostics_from: report.diagnostics.len(),
        report,
        details,
    }
}

fn leak(s: String) -> &'static str {
    // Test data only: a handful of short strings, built once per call.
    Box::leak(s.into_boxed_str())
}

fn stream(id: usize, client: &str) -> StreamInfo {
    StreamInfo {
        id,
        client: client.into(),
        server: "10.0.0.10:8000".into(),
        transport: TransportKind::Http,
        gaps: Vec::new(),
    }
}

fn session(
    id: &str,
    client: &str,
    messages: &[MessageInfo],
    issued: Option<usize>,
    cancelled: Option<usize>,
    key: bool,
) -> SessionInfo {
    SessionInfo {
        id: id.into(),
        instance: None,
        version: Some(ScVersion::Feb2005),
        key_hex: key.then(|| "4f3c2b1a00112233445566778899aabbccddeeff0011223344556677".into()),
        key_source: key.then_some(KeySource::Computed),
        client: Some(client.into()),
        server: Some("10.0.0.10:8000".into()),
        issued_by_msg: issued,
        cancelled_by_msg: cancelled,
        messages: messages
            .iter()
            .filter(|m| m.session.as_deref() == Some(id))
            .map(|m| m.index)
            .collect(),
    }
}

fn build(index: usize, s: Spec) -> (MessageInfo, MessageDetail) {
    let request = s.dir == MessageDirection::Request;
    let encrypted = s.dec != Decryption::NotEncrypted;
    let msg_id = format!("urn:uuid:0000{index:04}-1111-2222-3333-444444444444");
    let body_plain = match s.kind {
        MessageKind::SctIssue => "<t:RequestSecurityToken><t:TokenType>http://schemas.xmlsoap.org/ws/2005/02/sc/sct</t:TokenType><t:RequestType>http://schemas.xmlsoap.org/ws/2005/02/trust/Issue</t:RequestType><t:Entropy><t:BinarySecret Type=\"http://schemas.xmlsoap.org/ws/2005/02/trust/Nonce\">q83vEjRWeJA=</t:BinarySecret></t:Entropy><t:KeySize>256</t:KeySize></t:RequestSecurityToken>".to_string(),
        MessageKind::SctIssueResponse => format!("<t:RequestSecurityTokenResponse><t:TokenType>http://schemas.xmlsoap.org/ws/2005/02/sc/sct</t:TokenType><t:RequestedSecurityToken><c:SecurityContextToken u:Id=\"uuid-sct\"><c:Identifier>{}</c:Identifier></c:SecurityContextToken></t:RequestedSecurityToken><t:Entropy><t:BinarySecret>ESIzRFVmd4g=</t:BinarySecret></t:Entropy><t:ComputedKey>http://schemas.xmlsoap.org/ws/2005/02/trust/CK/PSHA1</t:ComputedKey></t:RequestSecurityTokenResponse>", s.session.unwrap_or("")),
        MessageKind::SctCancel => "<t:RequestSecurityToken><t:RequestType>http://schemas.xmlsoap.org/ws/2005/02/trust/Cancel</t:RequestType></t:RequestSecurityToken>".into(),
        MessageKind::SctCancelResponse => "<t:RequestSecurityTokenResponse><t:RequestedTokenCancelled/></t:RequestSecurityTokenResponse>".into(),
        _ => {
            let op = crate::gui::labels::action_tail(s.action).to_string();
            if request {
                format!("<{op} xmlns=\"http://Microsoft.ServiceModel.Samples\"><n1>100</n1><n2>15.99</n2></{op}>")
            } else {
                format!("<{op} xmlns=\"http://Microsoft.ServiceModel.Samples\"><{}Result>115.99</{}Result></{op}>", op.trim_end_matches("Response"), op.trim_end_matches("Response"))
            }
        }
    };
    let body_wire = if encrypted {
        "<e:EncryptedData Id=\"_2\" Type=\"http://www.w3.org/2001/04/xmlenc#Content\"><e:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#aes256-cbc\"/><KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><o:SecurityTokenReference><o:Reference URI=\"#_3\"/></o:SecurityTokenReference></KeyInfo><e:CipherData><e:CipherValue>mS1x0V2t8dJ2J0k3bH9uQ2F0b3IgZGVtbyBjaXBoZXJ0ZXh0</e:CipherValue></e:CipherData></e:EncryptedData>".to_string()
    } else {
        body_plain.clone()
    };
    let envelope = |body: &str| {
        format!(
            "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:a=\"http://www.w3.org/2005/08/addressing\" xmlns:u=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\" xmlns:o=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\" xmlns:e=\"http://www.w3.org/2001/04/xmlenc#\" xmlns:t=\"http://schemas.xmlsoap.org/ws/2005/02/trust\" xmlns:c=\"http://schemas.xmlsoap.org/ws/2005/02/sc\"><s:Header><a:Action s:mustUnderstand=\"1\" u:Id=\"_4\">{}</a:Action><a:MessageID u:Id=\"_5\">{msg_id}</a:MessageID><a:To s:mustUnderstand=\"1\">http://10.0.0.10:8000/calc</a:To>{}</s:Header><s:Body u:Id=\"_1\">{body}</s:Body></s:Envelope>",
            s.action,
            if encrypted { "<o:Security s:mustUnderstand=\"1\"><u:Timestamp u:Id=\"_0\"><u:Created>2024-05-01T10:00:00.120Z</u:Created><u:Expires>2024-05-01T10:05:00.120Z</u:Expires></u:Timestamp><c:DerivedKeyToken u:Id=\"_3\"><o:SecurityTokenReference><o:Reference URI=\"#uuid-sct\"/></o:SecurityTokenReference><c:Offset>0</c:Offset><c:Length>32</c:Length><c:Nonce>hW9vZC1ub25jZS0x</c:Nonce></c:DerivedKeyToken></o:Security>" } else { "" },
        )
    };
    let raw = envelope(&body_wire);
    let decrypted = (s.dec == Decryption::Ok).then(|| envelope(&body_plain));

    let mut security = SecurityInfo::default();
    let mut steps = Vec::new();
    let sct = s.session.unwrap_or("");
    if s.kind == MessageKind::SctIssue {
        security.tokens.push(TokenInfo {
            id: Some("_6".into()),
            token_type: "x509".into(),
            reference: Some("thumbprint 1D82E0A7…".into()),
        });
        security.tokens.push(TokenInfo {
            id: Some("_7".into()),
            token_type: "encrypted-key".into(),
            reference: Some("CN=calculator-service".into()),
        });
        steps.push(SecurityStep {
            title: "Opened EncryptedKey #_7 with CN=calculator-service (thumbprint 1d82e0a7…)"
                .into(),
            details: vec!["RSA-OAEP-MGF1P, 256-bit symmetric key".into()],
            derives: vec![(
                "cert CN=calculator-service".into(),
                "EncryptedKey _7".into(),
            )],
        });
        steps.push(SecurityStep {
            title: "Derived the signature and encryption keys from the EncryptedKey".into(),
            details: vec![
                "DKT _8: P_SHA1, label \"WS-SecureConversationWS-SecureConversation\", nonce 4a7f…, length 24".into(),
                "DKT _9: P_SHA1, label \"WS-SecureConversationWS-SecureConversation\", nonce 91c3…, length 32".into(),
            ],
            derives: vec![
                ("EncryptedKey _7".into(), "DKT _8 (signature)".into()),
                ("EncryptedKey _7".into(), "DKT _9 (encryption)".into()),
            ],
        });
        steps.push(SecurityStep {
            title: "Decrypted the body with DKT _9 (aes256-cbc)".into(),
            details: vec!["The client entropy is q83vEjRWeJA= (8 bytes)".into()],
            derives: vec![],
        });
        security.derived_keys.push(dk("_8", "_7", "signature"));
        security.derived_keys.push(dk("_9", "_7", "encryption"));
    } else if s.kind == MessageKind::SctIssueResponse {
        steps.push(SecurityStep {
            title: format!("Computed the session key of SCT {sct} from the two entropies"),
            details: vec![
                "client entropy q83vEjRWeJA= + server entropy ESIzRFVmd4g=".into(),
                "P_SHA1(client entropy, server entropy), 256 bits (CK/PSHA1)".into(),
            ],
            derives: vec![
                (
                    "client entropy".into(),
                    format!("SCT {}", crate::gui::labels::short_session(sct)),
                ),
                (
                    "server entropy".into(),
                    format!("SCT {}", crate::gui::labels::short_session(sct)),
                ),
            ],
        });
    } else if encrypted {
        security.tokens.push(TokenInfo {
            id: Some("uuid-sct".into()),
            token_type: "sct".into(),
            reference: Some(sct.into()),
        });
        security
            .derived_keys
            .push(dk("_3", "uuid-sct", "encryption"));
        security
            .derived_keys
            .push(dk("_10", "uuid-sct", "signature"));
        let opened = s.dec == Decryption::Ok;
        steps.push(SecurityStep {
            title: if opened {
                format!("Derived two keys from SCT {}", crate::gui::labels::short_session(sct))
            } else {
                format!("No key for SCT {}: the message stays encrypted", crate::gui::labels::short_session(sct))
            },
            details: vec!["DKT _3: label \"WS-SecureConversationWS-SecureConversation\", nonce hW9vZC1ub25jZS0x, length 32".into()],
            derives: if opened {
                vec![
                    (format!("SCT {}", crate::gui::labels::short_session(sct)), "DKT _3 (encryption)".into()),
                    (format!("SCT {}", crate::gui::labels::short_session(sct)), "DKT _10 (signature)".into()),
                ]
            } else {
                vec![]
            },
        });
    }
    if encrypted {
        let body_ok = s.sig == SignatureSummary::Valid;
        let verdict = match s.sig {
            SignatureSummary::Valid => SignatureVerdict::Valid,
            SignatureSummary::NoKey => SignatureVerdict::NoKey,
            _ => SignatureVerdict::Invalid,
        };
        let known = s.sig != SignatureSummary::NoKey;
        security.signatures.push(SignatureInfo {
            id: Some("_0sig".into()),
            role: SignatureRole::Primary,
            algorithm: Some("http://www.w3.org/2000/09/xmldsig#hmac-sha1".into()),
            verdict,
            references: vec![
                ReferenceInfo {
                    uri: "#_0".into(),
                    element: Some("u:Timestamp".into()),
                    digest_valid: known.then_some(true),
                },
                ReferenceInfo {
                    uri: "#_1".into(),
                    element: Some("s:Body".into()),
                    digest_valid: known.then_some(body_ok),
                },
                ReferenceInfo {
                    uri: "#_4".into(),
                    element: Some("a:Action".into()),
                    digest_valid: known.then_some(true),
                },
            ],
        });
        if known {
            steps.push(SecurityStep {
                title: if body_ok {
                    "Verified the signature: 3 of 3 references match".into()
                } else {
                    "The signature failed: the digest of s:Body does not match".into()
                },
                details: if body_ok {
                    vec!["hmac-sha1 with the signature key".into()]
                } else {
                    vec!["canonical bytes digested: <s:Body xmlns:s=\"…\" u:Id=\"_1\"><Multiply …><n1>100</n1><n2>15.98</n2></Multiply></s:Body>".into()]
                },
                derives: vec![],
            });
        }
        security.checks.push(CheckInfo {
            name: "timestamp".into(),
            status: CheckStatus::Ok,
            detail: "within 300 s of capture time".into(),
        });
    }

    let http = if request {
        HttpInfo {
            method: Some("POST".into()),
            path: Some("/calc".into()),
            status: None,
            content_type: Some("application/soap+xml; charset=utf-8".into()),
        }
    } else {
        HttpInfo {
            method: None,
            path: None,
            status: Some(if s.kind == MessageKind::Fault {
                500
            } else {
                200
            }),
            content_type: Some("application/soap+xml; charset=utf-8".into()),
        }
    };
    let headers = vec![
        (
            "Content-Type".to_string(),
            "application/soap+xml; charset=utf-8".to_string(),
        ),
        ("Content-Length".to_string(), raw.len().to_string()),
        ("Host".to_string(), "10.0.0.10:8000".to_string()),
    ];
    let info = MessageInfo {
        index,
        ts: Some(Timestamp(T0 + s.ms * 1_000_000)),
        stream: Some(s.stream),
        direction: s.dir,
        http: Some(http),
        soap_version: Some(SoapVersion::Soap12),
        action: Some(s.action.into()),
        message_id: request.then(|| msg_id.clone()),
        relates_to: (!request).then(|| {
            format!(
                "urn:uuid:0000{:04}-1111-2222-3333-444444444444",
                index.saturating_sub(1)
            )
        }),
        to: request.then(|| "http://10.0.0.10:8000/calc".into()),
        kind: s.kind,
        session: s.session.map(Into::into),
        encrypted,
        decryption: s.dec,
        signature: s.sig,
        body: Some(body_plain),
        body_deferred: None,
        security,
        errors: s.errors,
        complete: true,
        // Requests and responses alternate in the sample.
        paired_with: Some(if request {
            index + 1
        } else {
            index.saturating_sub(1)
        }),
    };
    let detail = MessageDetail {
        raw: raw.into_bytes(),
        frame_errors: Vec::new(),
        http_start_line: Some(if request {
            "POST /calc HTTP/1.1".into()
        } else {
            "HTTP/1.1 200 OK".into()
        }),
        http_headers: headers,
        decrypted_xml: decrypted,
        steps,
    };
    (info, detail)
}

fn dk(id: &str, base: &str, usage: &str) -> DerivedKeyInfo {
    DerivedKeyInfo {
        id: Some(id.into()),
        base: Some(base.into()),
        label: Some("WS-SecureConversationWS-SecureConversation".into()),
        nonce: Some("hW9vZC1ub25jZS0x".into()),
        offset: Some(0),
        length: Some(if usage == "signature" { 24 } else { 32 }),
        usage: Some(usage.into()),
    }
}
