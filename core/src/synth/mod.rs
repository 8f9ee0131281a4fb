//! Generator of WCF-faithful secure-conversation captures (tests and the demo). Shares no
//! canonicalization, signature or decryption code with the analyzer: it writes every signed
//! part from its own templates ([`xmlt`]), does its crypto on the `openssl` crate directly
//! ([`crypto`]) and writes pcap/pcapng itself ([`pcap`]).
//!
//! What it produces (spec `wcf-secure-conversation.md` §0–§11): wsHttpBinding /
//! ws2007HttpBinding message security with an X.509 service certificate — the RST/SCT
//! bootstrap protected by an EncryptedKey (ThumbprintSHA1) and DerivedKeyTokens, the RSTR/SCT
//! with SignatureConfirmation and EncryptedKeySHA1, the SCT key from combined entropy,
//! calculator calls protected by session DKTs, and Cancel — or, without a session, one
//! EncryptedKey per request. Messages travel as HTTP/1.1 POSTs over TCP.
//!
//! ```no_run
//! use wcfscope_core::synth::{generate, Pki, Scenario, ClientCredential};
//! let out = generate(&Scenario::default().credential(ClientCredential::Certificate), &Pki::demo()?)?;
//! std::fs::write("demo.pcapng", &out.pcapng)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod calc;
pub mod crypto;
pub mod pcap;
mod scenario;
mod wcf;
pub mod xmlt;

pub use scenario::{
    load_pfx, AlgorithmSuite, BlockPadding, ClientCredential, Credential, Pki, Scenario, Tamper,
    TamperKind, DEMO_PFX_PASSWORD,
};

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::model::{MessageDirection, MessageKind, ScVersion};
use crypto::{b64, HashAlg, Rng};
use pcap::{Dir, Endpoint, Packet, TcpConn};
use wcf::{Addressing, Built, Dkt, Endorser, IdCounter, Protection, UuidGen, Wst};
use xmlt::El;

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("crypto: {0}")]
    Crypto(String),
    /// A template produced something inconsistent (a generator bug).
    #[error("template: {0}")]
    Template(String),
    #[error("scenario: {0}")]
    Scenario(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// One SOAP message of the generated conversation.
#[derive(Clone, Debug)]
pub struct SynthMessage {
    pub index: usize,
    /// TCP connection (stream) it travelled on, in order of first packet.
    pub stream: usize,
    /// Capture time of its first byte, nanoseconds since the Unix epoch.
    pub ts_nanos: i64,
    pub direction: MessageDirection,
    pub action: String,
    pub kind: MessageKind,
    /// SCT Identifier of its session (for the RST/SCT request: the SCT its response issued).
    pub session: Option<String>,
    /// `c:Instance` of the session key protecting it, once the key was renewed.
    pub session_instance: Option<String>,
    /// Exact inner XML of the Body before encryption (for Cancel, the clear Body content).
    pub plaintext_body: String,
    /// The envelope bytes as sent.
    pub soap_xml: Vec<u8>,
    /// Ids of the parts the primary signature references, in SignedInfo order.
    pub signed_ids: Vec<String>,
    /// Base64 SignatureValues (primary first).
    pub signature_values: Vec<String>,
    /// The Body's content was encrypted on the wire.
    pub encrypted: bool,
    pub tampered: bool,
    pub tamper: Option<TamperKind>,
}

impl SynthMessage {
    /// The report-contract string of `kind` (`sct-issue`, `application`, …).
    pub fn kind_str(&self) -> String {
        serde_json::to_value(self.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
    pub fn direction_str(&self) -> &'static str {
        match self.direction {
            MessageDirection::Request => "request",
            MessageDirection::Response => "response",
        }
    }
}

/// An issued security context.
pub struct SynthSession {
    /// SCT `Identifier` (`urn:uuid:…`).
    pub sct_id: String,
    /// SCT `u:Id`.
    pub sct_wsu_id: String,
    /// `c:Instance` of a renewed key (None for the key issued first).
    pub instance: Option<String>,
    pub key: Zeroizing<Vec<u8>>,
    pub version: ScVersion,
}

impl fmt::Debug for SynthSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SynthSession({}, {:?}, key {})",
            self.sct_id,
            self.version,
            key_print(&self.key)
        )
    }
}

/// A per-message EncryptedKey (bootstrap requests, or every request without a session).
pub struct EphemeralKey {
    pub message: usize,
    pub encrypted_key_id: String,
    /// Base64 SHA-1 of the RSA ciphertext (EncryptedKeySHA1).
    pub encrypted_key_sha1: String,
    pub key: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for EphemeralKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "EphemeralKey(msg {}, {}, key {})",
            self.message,
            self.encrypted_key_id,
            key_print(&self.key)
        )
    }
}

/// "sha1:<first 8 hex digits>" of a key: identifies it without showing it.
fn key_print(k: &[u8]) -> String {
    let d = crypto::digest(HashAlg::Sha1, k).unwrap_or_default();
    format!(
        "sha1:{}",
        d.iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

pub struct SynthOutput {
    pub pcapng: Vec<u8>,
    pub pcap: Vec<u8>,
    pub messages: Vec<SynthMessage>,
    pub sessions: Vec<SynthSession>,
    pub ephemeral_keys: Vec<EphemeralKey>,
}

impl fmt::Debug for SynthOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SynthOutput")
            .field("pcapng_bytes", &self.pcapng.len())
            .field("pcap_bytes", &self.pcap.len())
            .field("messages", &self.messages.len())
            .field("sessions", &self.sessions)
            .field("ephemeral_keys", &self.ephemeral_keys)
            .finish()
    }
}

impl SynthOutput {
    /// Writes each message as `NN-<kind>[-request|-response].xml` into `dir` (the direction
    /// is added when the kind does not say it); returns the paths.
    pub fn write_xml_files(&self, dir: &Path) -> Result<Vec<PathBuf>, SynthError> {
        let io = |p: &Path| {
            let path = p.display().to_string();
            move |source| SynthError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut paths = Vec::new();
        for m in &self.messages {
            let kind = m.kind_str();
            let name = if kind.ends_with("-response")
                || m.kind != MessageKind::Application && m.direction == MessageDirection::Request
            {
                format!("{:02}-{kind}.xml", m.index)
            } else {
                format!("{:02}-{kind}-{}.xml", m.index, m.direction_str())
            };
            let p = dir.join(name);
            std::fs::write(&p, &m.soap_xml).map_err(io(&p))?;
            paths.push(p);
        }
        Ok(paths)
    }

    /// What an analysis of the capture must find (for end-to-end tests): sessions with keys,
    /// and per message its action, kind, plaintext body and signed parts.
    pub fn expected_json(&self) -> serde_json::Value {
        let hex = |k: &[u8]| k.iter().map(|b| format!("{b:02x}")).collect::<String>();
        serde_json::json!({
            "generator": "wcfscope-core synth",
            "sessions": self.sessions.iter().map(|s| serde_json::json!({
                "id": s.sct_id, "instance": s.instance, "sct_wsu_id": s.sct_wsu_id, "key_hex": hex(&s.key),
                "version": s.version,
            })).collect::<Vec<_>>(),
            "ephemeral_keys": self.ephemeral_keys.iter().map(|k| serde_json::json!({
                "msg": k.message, "encrypted_key_id": k.encrypted_key_id,
                "encrypted_key_sha1": k.encrypted_key_sha1, "key_hex": hex(&k.key),
            })).collect::<Vec<_>>(),
            "messages": self.messages.iter().map(|m| serde_json::json!({
                "index": m.index, "stream": m.stream, "direction": m.direction, "action": m.action,
                "kind": m.kind, "session": m.session, "session_instance": m.session_instance, "encrypted": m.encrypted,
                "body": m.plaintext_body, "signed_ids": m.signed_ids,
                "tampered": m.tampered, "tamper": m.tamper,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Generates the whole conversation of `sc` with the certificates of `pki`.
pub fn generate(sc: &Scenario, pki: &Pki) -> Result<SynthOutput, SynthError> {
    if !(1..=2).contains(&sc.sessions) {
        return Err(SynthError::Scenario(format!(
            "sessions must be 1 or 2, not {}",
            sc.sessions
        )));
    }
    if !(0..=4_000_000_000).contains(&sc.start_unix_secs) {
        return Err(SynthError::Scenario(format!(
            "start time {} is outside 1970..2096",
            sc.start_unix_secs
        )));
    }
    if sc.calls > 1000 {
        return Err(SynthError::Scenario(format!(
            "at most 1000 calls per session, not {}",
            sc.calls
        )));
    }
    let (host, path) = split_url(&sc.service_url)?;
    let mut rng = Rng::new(sc.seed)?;
    let server_uuids = UuidGen::new(&mut rng);
    let mut g = Gen {
        sc,
        pki,
        w: Wst::new(sc.version),
        host,
        path,
        server_uuids,
        t: sc.start_unix_secs.saturating_mul(1_000_000_000),
        packets: Vec::new(),
        messages: Vec::new(),
        sessions: Vec::new(),
        ephemeral: Vec::new(),
        rng,
    };
    let mut lanes: Vec<Lane> = (0..sc.sessions).map(|i| g.lane(i)).collect();
    let max = lanes.iter().map(|l| l.plan.len()).max().unwrap_or(0);
    for step in 0..max {
        for lane in lanes.iter_mut() {
            if let Some(s) = lane.plan.get(step).copied() {
                g.run(lane, s)?;
            }
        }
    }
    for lane in lanes.iter_mut() {
        if lane.opened {
            g.t = lane.conn.close(&mut g.packets, g.t) + 1_000_000;
        }
    }
    Ok(SynthOutput {
        pcapng: pcap::write_pcapng(&g.packets),
        pcap: pcap::write_pcap(&g.packets),
        messages: g.messages,
        sessions: g.sessions,
        ephemeral_keys: g.ephemeral,
    })
}

fn split_url(url: &str) -> Result<(String, String), SynthError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| SynthError::Scenario(format!("service_url must be http://…, not {url}")))?;
    Ok(match rest.split_once('/') {
        Some((h, p)) => (h.to_string(), format!("/{p}")),
        None => (rest.to_string(), "/".to_string()),
    })
}

#[derive(Clone, Copy, Debug)]
enum Step {
    Renew,
    Bootstrap,
    Call(usize),
    Cancel,
}

/// Session-wide state: the SCT as issued, its key, and the four DKTs reused for every
/// message of the session (spec §9.3).
struct SctState {
    identifier: String,
    /// Key generation after a renewal (`c:Instance`).
    instance: Option<String>,
    wsu_id: String,
    key: Zeroizing<Vec<u8>>,
    el: El,
    client_sig: Dkt,
    client_enc: Dkt,
    server_sig: Dkt,
    server_enc: Dkt,
}

/// One client and its TCP connection (one session, or a series of sessionless calls).
struct Lane {
    index: usize,
    conn: TcpConn,
    opened: bool,
    requests_sent: usize,
    client_uuids: UuidGen,
    plan: Vec<Step>,
    sct: Option<SctState>,
}

/// The request's EncryptedKey as the server will refer to it.
struct EkState {
    key: Zeroizing<Vec<u8>>,
    sha1_b64: String,
    request_signatures: Vec<String>,
}

struct Gen<'a> {
    sc: &'a Scenario,
    pki: &'a Pki,
    w: Wst,
    host: String,
    path: String,
    rng: Rng,
    server_uuids: UuidGen,
    /// The clock, nanoseconds since the epoch.
    t: i64,
    packets: Vec<Packet>,
    messages: Vec<SynthMessage>,
    sessions: Vec<SynthSession>,
    ephemeral: Vec<EphemeralKey>,
}

/// A request or response ready to send.
struct Out {
    built: Built,
    action: String,
    kind: MessageKind,
    tamper: Option<TamperKind>,
}

impl Gen<'_> {
    fn lane(&mut self, i: usize) -> Lane {
        let (cip, sip) = if self.sc.ipv6 {
            (
                IpAddr::V6(Ipv6Addr::new(0xfd00, 0x56, 0, 0, 0, 0, 0, 0x20 + i as u16)),
                IpAddr::V6(Ipv6Addr::new(0xfd00, 0x56, 0, 0, 0, 0, 0, 0x10)),
            )
        } else {
            (
                IpAddr::V4(Ipv4Addr::new(192, 168, 56, 20 + i as u8)),
                IpAddr::V4(Ipv4Addr::new(192, 168, 56, 10)),
            )
        };
        let client = Endpoint {
            mac: [0x00, 0x15, 0x5d, 0x01, 0x02, 0x20 + i as u8],
            ip: cip,
            port: 49717 + i as u16,
        };
        let server = Endpoint {
            mac: [0x00, 0x15, 0x5d, 0x0a, 0x0b, 0x10],
            ip: sip,
            port: 80,
        };
        let conn = TcpConn::new(client, server, self.rng.u32(), self.rng.u32());
        let mut plan = Vec::new();
        if self.sc.secure_session {
            plan.push(Step::Bootstrap);
        }
        for c in 0..self.sc.calls {
            if self.sc.secure_session && self.sc.renew_after == Some(c) {
                plan.push(Step::Renew);
            }
            plan.push(Step::Call(c));
        }
        if self.sc.secure_session && self.sc.renew_after == Some(self.sc.calls) {
            plan.push(Step::Renew);
        }
        if self.sc.secure_session && self.sc.cancel {
            plan.push(Step::Cancel);
        }
        Lane {
            index: i,
            conn,
            opened: false,
            requests_sent: 0,
            client_uuids: UuidGen::new(&mut self.rng),
            plan,
            sct: None,
        }
    }

    fn request_addressing(&mut self, action: &str) -> Addressing {
        Addressing {
            action: action.to_string(),
            message_id: Some(format!("urn:uuid:{}", self.rng.guid())),
            to: Some(self.sc.service_url.clone()),
            relates_to: None,
        }
    }
    fn response_addressing(action: &str, req: &Addressing) -> Addressing {
        Addressing {
            action: action.to_string(),
            message_id: None,
            to: None,
            relates_to: req.message_id.clone(),
        }
    }

    fn run(&mut self, lane: &mut Lane, step: Step) -> Result<(), SynthError> {
        match step {
            Step::Bootstrap => self.bootstrap(lane),
            Step::Call(i) => self.call(lane, i),
            Step::Renew => self.renew(lane),
            Step::Cancel => self.cancel(lane),
        }
    }

    fn tamper_for(&self, lane: &Lane, call: usize) -> Option<TamperKind> {
        self.sc
            .tamper
            .iter()
            .find(|t| t.session == lane.index && t.call == call)
            .map(|t| t.kind)
    }

    /// A request protected by a fresh EncryptedKey for the service certificate (bootstrap,
    /// or any request without a session), spec §8.1–§8.4.
    fn ek_request(
        &mut self,
        lane: &mut Lane,
        addr: &Addressing,
        body: Vec<El>,
        tamper: Option<TamperKind>,
        renewing: Option<(&El, &Dkt)>,
    ) -> Result<(Built, EkState), SynthError> {
        let suite = self.sc.suite;
        let key = Zeroizing::new(self.rng.bytes(suite.key_len()));
        let wrapped = crypto::rsa_wrap(&self.pki.service.public_key()?, &key, !self.sc.rsa15)?;
        let sha1_b64 = b64(&crypto::digest(HashAlg::Sha1, &wrapped)?);
        let ek_id = lane.client_uuids.next();
        let mut ids = IdCounter::default();
        let sig = Dkt::derive(
            &self.w,
            ids.next(),
            wcf::str_ek_local(&ek_id),
            &key,
            suite.sig_dkt_len(),
            &mut self.rng,
        )?;
        let enc = Dkt::derive(
            &self.w,
            ids.next(),
            wcf::str_ek_local(&ek_id),
            &key,
            suite.enc_dkt_len(),
            &mut self.rng,
        )?;
        let ek = wcf::encrypted_key(
            &ek_id,
            &self.pki.service.thumbprint_sha1()?,
            &wrapped,
            !self.sc.rsa15,
        );
        let mut endorsing = Vec::new();
        if self.sc.credential == ClientCredential::Certificate {
            let der = self
                .pki
                .client
                .cert
                .to_der()
                .map_err(crypto::ossl("client certificate DER"))?;
            endorsing.push(Endorser::Certificate {
                der,
                key: &self.pki.client.key,
                bst_id: lane.client_uuids.next(),
            });
        }
        if let Some((sct, dkt)) = renewing {
            endorsing.push(Endorser::Sct {
                tokens: vec![sct.clone(), dkt.el.clone()],
                key: &dkt.key,
                dkt_id: dkt.id.clone(),
            });
        }
        let username = match &self.sc.credential {
            ClientCredential::UserName { username, password } => Some(wcf::username_token(
                &lane.client_uuids.next(),
                username,
                password,
            )),
            _ => None,
        };
        let p = Protection {
            suite,
            padding: self.sc.padding,
            tokens: vec![ek, sig.el.clone(), enc.el.clone()],
            sig_key: &sig.key,
            sig_dkt_id: sig.id.clone(),
            enc: Some((&enc.key, enc.id.clone())),
            endorsing,
            username,
            confirmations: Vec::new(),
            tamper,
            now: self.t,
        };
        let built = wcf::secure(
            &self.w,
            &mut ids,
            &mut lane.client_uuids,
            &mut self.rng,
            addr,
            body,
            p,
        )?;
        self.ephemeral.push(EphemeralKey {
            message: self.messages.len(),
            encrypted_key_id: ek_id,
            encrypted_key_sha1: sha1_b64.clone(),
            key: key.clone(),
        });
        let request_signatures = built.signature_values.clone();
        Ok((
            built,
            EkState {
                key,
                sha1_b64,
                request_signatures,
            },
        ))
    }

    /// The server's answer reusing the request's key (EncryptedKeySHA1), spec §8.6.
    fn ek_response(
        &mut self,
        ek: &EkState,
        addr: &Addressing,
        body: Vec<El>,
    ) -> Result<Built, SynthError> {
        let suite = self.sc.suite;
        let mut ids = IdCounter::default();
        let sig = Dkt::derive(
            &self.w,
            ids.next(),
            wcf::str_ek_sha1(&ek.sha1_b64),
            &ek.key,
            suite.sig_dkt_len(),
            &mut self.rng,
        )?;
        let enc = Dkt::derive(
            &self.w,
            ids.next(),
            wcf::str_ek_sha1(&ek.sha1_b64),
            &ek.key,
            suite.enc_dkt_len(),
            &mut self.rng,
        )?;
        // UserNameForCertificate does not require signature confirmation (spec §7).
        let confirmations = match self.sc.credential {
            ClientCredential::UserName { .. } => Vec::new(),
            _ => ek.request_signatures.clone(),
        };
        let p = Protection {
            suite,
            padding: self.sc.padding,
            tokens: vec![sig.el.clone(), enc.el.clone()],
            sig_key: &sig.key,
            sig_dkt_id: sig.id.clone(),
            enc: Some((&enc.key, enc.id.clone())),
            endorsing: Vec::new(),
            username: None,
            confirmations,
            tamper: None,
            now: self.t,
        };
        wcf::secure(
            &self.w,
            &mut ids,
            &mut self.server_uuids,
            &mut self.rng,
            addr,
            body,
            p,
        )
    }

    fn bootstrap(&mut self, lane: &mut Lane) -> Result<(), SynthError> {
        let w = self.w;
        let client_entropy = self.rng.bytes(self.sc.suite.key_len());
        let rst = self.rst(lane, "Issue", &client_entropy, None);
        let action = w.trust_uri("RST/SCT");
        let addr = self.request_addressing(&action);
        let (req, ek) = self.ek_request(lane, &addr, vec![rst], None, None)?;
        let req_at = self.send_request(lane, &req, &action)?;
        let identifier = format!("urn:uuid:{}", self.rng.guid());
        let (rstr, sct) = self.issue(lane, &client_entropy, identifier.clone(), None)?;
        let resp_action = w.trust_uri("RSTR/SCT");
        let raddr = Self::response_addressing(&resp_action, &addr);
        let resp = self.ek_response(&ek, &raddr, vec![rstr])?;
        lane.sct = Some(sct);
        let session = Some(identifier);
        let out = Out {
            built: req,
            action,
            kind: MessageKind::SctIssue,
            tamper: None,
        };
        self.record(
            lane,
            req_at,
            out,
            MessageDirection::Request,
            session.clone(),
        );
        self.send_response(
            lane,
            resp,
            resp_action,
            MessageKind::SctIssueResponse,
            session,
        )
    }

    /// Key renewal (spec §10): the bootstrap protection again (new EncryptedKey), plus the
    /// current SCT endorsing the primary signature; the answer issues a new `Instance`.
    fn renew(&mut self, lane: &mut Lane) -> Result<(), SynthError> {
        let w = self.w;
        let Some(old) = lane.sct.take() else {
            return Ok(());
        };
        let client_entropy = self.rng.bytes(self.sc.suite.key_len());
        let target =
            wcf::str_sct_external(&w, &old.identifier, old.instance.as_deref()).ns("o", wcf::WSSE);
        let rst = self.rst(lane, "Renew", &client_entropy, Some(target));
        let action = w.trust_uri("RST/SCT/Renew");
        let addr = self.request_addressing(&action);
        let id = lane.client_uuids.next();
        let sct_dkt = Dkt::derive(
            &w,
            id,
            wcf::str_sct_local(&w, &old.wsu_id),
            &old.key,
            self.sc.suite.sig_dkt_len(),
            &mut self.rng,
        )?;
        let (req, ek) = self.ek_request(lane, &addr, vec![rst], None, Some((&old.el, &sct_dkt)))?;
        let req_at = self.send_request(lane, &req, &action)?;
        let instance = format!("urn:uuid:{}", self.rng.guid());
        let (rstr, sct) = self.issue(
            lane,
            &client_entropy,
            old.identifier.clone(),
            Some(instance),
        )?;
        let resp_action = w.trust_uri("RSTR/SCT/Renew");
        let raddr = Self::response_addressing(&resp_action, &addr);
        let resp = self.ek_response(&ek, &raddr, vec![rstr])?;
        // The request was protected by the old key generation, the response by the EncryptedKey.
        let session = Some(old.identifier.clone());
        let out = Out {
            built: req,
            action,
            kind: MessageKind::SctRenew,
            tamper: None,
        };
        self.record_in(
            lane,
            req_at,
            out,
            MessageDirection::Request,
            session.clone(),
            old.instance.clone(),
        );
        lane.sct = Some(sct);
        self.send_response(
            lane,
            resp,
            resp_action,
            MessageKind::SctRenewResponse,
            session,
        )
    }

    /// The RST body for Issue or Renew (spec §8.5, §10).
    fn rst(
        &mut self,
        lane: &mut Lane,
        request_type: &str,
        entropy: &[u8],
        renew_target: Option<El>,
    ) -> El {
        let w = self.w;
        let mut rst = El::new(&w.tq("RequestSecurityToken"))
            .ns(w.t, w.trust_ns)
            .child(El::leaf(&w.tq("TokenType"), &w.sct_type()))
            .child(El::leaf(&w.tq("RequestType"), &w.trust_uri(request_type)))
            .child(
                El::new(&w.tq("Entropy")).child(
                    El::leaf(&w.tq("BinarySecret"), &b64(entropy))
                        .attr("u:Id", &lane.client_uuids.next())
                        .attr("Type", &w.trust_uri("Nonce")),
                ),
            )
            .child(El::leaf(
                &w.tq("KeySize"),
                &(self.sc.suite.key_len() * 8).to_string(),
            ));
        if let Some(t) = renew_target {
            rst = rst.child(El::new(&w.tq("RenewTarget")).child(t));
        }
        rst
    }

    /// Service side of Issue/Renew: server entropy, the combined key (spec §5.3), the SCT and
    /// the RSTR body; both sides' session DKTs for the new key (spec §9.3).
    fn issue(
        &mut self,
        lane: &mut Lane,
        client_entropy: &[u8],
        identifier: String,
        instance: Option<String>,
    ) -> Result<(El, SctState), SynthError> {
        let w = self.w;
        let suite = self.sc.suite;
        let klen = suite.key_len();
        let server_entropy = self.rng.nonzero_bytes(klen);
        let key = crypto::p_sha1(client_entropy, &server_entropy, 0, klen)?;
        let wsu_id = self.server_uuids.next();
        let mut sct = El::new(&w.cq("SecurityContextToken"))
            .attr("u:Id", &wsu_id)
            .ns(w.c, w.sc_ns)
            .child(El::leaf(&w.cq("Identifier"), &identifier));
        if let Some(i) = &instance {
            sct = sct.child(El::leaf(&w.cq("Instance"), i));
        }
        let o = |e: El| e.ns("o", wcf::WSSE);
        let mut rstr = El::new(&w.tq("RequestSecurityTokenResponse"));
        if w.version == ScVersion::Feb2005 {
            rstr = rstr.ns(w.t, w.trust_ns);
        }
        let rstr =
            rstr.ns("u", wcf::WSU)
                .child(El::leaf(&w.tq("TokenType"), &w.sct_type()))
                .child(El::new(&w.tq("RequestedSecurityToken")).child(sct.clone()))
                .child(
                    El::new(&w.tq("RequestedAttachedReference"))
                        .child(o(wcf::str_sct_local(&w, &wsu_id))),
                )
                .child(El::new(&w.tq("RequestedUnattachedReference")).child(o(
                    wcf::str_sct_external(&self.w, &identifier, instance.as_deref()),
                )))
                .child(
                    El::new(&w.tq("RequestedProofToken"))
                        .child(El::leaf(&w.tq("ComputedKey"), &w.trust_uri("CK/PSHA1"))),
                )
                .child(
                    El::new(&w.tq("Entropy")).child(
                        El::leaf(&w.tq("BinarySecret"), &b64(&server_entropy))
                            .attr("u:Id", &self.server_uuids.next())
                            .attr("Type", &w.trust_uri("Nonce")),
                    ),
                )
                .child(
                    El::new(&w.tq("Lifetime"))
                        .child(El::leaf("u:Created", &wcf::xsd_time(self.t)))
                        .child(El::leaf(
                            "u:Expires",
                            &wcf::xsd_time(self.t + 15 * 3600 * 1_000_000_000),
                        )),
                )
                .child(El::leaf(&w.tq("KeySize"), &(klen * 8).to_string()));
        let body = self.wrap_collection(rstr);

        let (sl, el) = (suite.sig_dkt_len(), suite.enc_dkt_len());
        let local = wcf::str_sct_local(&w, &wsu_id);
        let external = wcf::str_sct_external(&self.w, &identifier, instance.as_deref());
        let id = lane.client_uuids.next();
        let client_sig = Dkt::derive(&w, id, local.clone(), &key, sl, &mut self.rng)?;
        let id = lane.client_uuids.next();
        let client_enc = Dkt::derive(&w, id, local, &key, el, &mut self.rng)?;
        let id = self.server_uuids.next();
        let server_sig = Dkt::derive(&w, id, external.clone(), &key, sl, &mut self.rng)?;
        let id = self.server_uuids.next();
        let server_enc = Dkt::derive(&w, id, external, &key, el, &mut self.rng)?;
        self.sessions.push(SynthSession {
            sct_id: identifier.clone(),
            sct_wsu_id: wsu_id.clone(),
            instance: instance.clone(),
            key: key.clone(),
            version: w.version,
        });
        let state = SctState {
            identifier,
            instance,
            wsu_id,
            key,
            el: sct,
            client_sig,
            client_enc,
            server_sig,
            server_enc,
        };
        Ok((body, state))
    }

    /// WS-Trust 1.3 answers always wrap the RSTR in a collection (spec §8.7).
    fn wrap_collection(&self, rstr: El) -> El {
        match self.w.version {
            ScVersion::Feb2005 => rstr,
            ScVersion::V13 => El::new(&self.w.tq("RequestSecurityTokenResponseCollection"))
                .ns(self.w.t, self.w.trust_ns)
                .child(rstr),
        }
    }

    fn call(&mut self, lane: &mut Lane, i: usize) -> Result<(), SynthError> {
        let (op, req_body, resp_body) = calc::call(i);
        let action = calc::action(op);
        let resp_action = calc::response_action(op);
        let tamper = self.tamper_for(lane, i);
        let addr = self.request_addressing(&action);
        let raddr = Self::response_addressing(&resp_action, &addr);
        let (req, ek) = if lane.sct.is_none() {
            let (req, ek) = self.ek_request(lane, &addr, vec![req_body], tamper, None)?;
            (req, Some(ek))
        } else {
            let req = self.session_message(lane, true, &addr, vec![req_body], true, tamper)?;
            (req, None)
        };
        let at = self.send_request(lane, &req, &action)?;
        let session = lane.sct.as_ref().map(|s| s.identifier.clone());
        let out = Out {
            built: req,
            action,
            kind: MessageKind::Application,
            tamper,
        };
        self.record(lane, at, out, MessageDirection::Request, session.clone());
        if tamper.is_some() && self.sc.fault_on_tamper {
            let fault = security_fault(addr.message_id.as_deref());
            return self.send_http_response(
                lane,
                fault,
                FAULT_ACTION.to_string(),
                MessageKind::Fault,
                session,
                500,
            );
        }
        let resp = match ek {
            Some(ek) => self.ek_response(&ek, &raddr, vec![resp_body])?,
            None => self.session_message(lane, false, &raddr, vec![resp_body], true, None)?,
        };
        self.send_response(lane, resp, resp_action, MessageKind::Application, session)
    }

    fn cancel(&mut self, lane: &mut Lane) -> Result<(), SynthError> {
        let w = self.w;
        let (identifier, instance) = match &lane.sct {
            Some(s) => (s.identifier.clone(), s.instance.clone()),
            None => return Ok(()),
        };
        let rst = El::new(&w.tq("RequestSecurityToken"))
            .ns(w.t, w.trust_ns)
            .child(El::leaf(&w.tq("RequestType"), &w.trust_uri("Cancel")))
            .child(El::new(&w.tq("CancelTarget")).child(
                wcf::str_sct_external(&self.w, &identifier, instance.as_deref()).ns("o", wcf::WSSE),
            ));
        let mut rstr = El::new(&w.tq("RequestSecurityTokenResponse"));
        if w.version == ScVersion::Feb2005 {
            rstr = rstr.ns(w.t, w.trust_ns);
        }
        let rstr = rstr
            .ns("u", wcf::WSU)
            .child(El::new(&w.tq("RequestedTokenCancelled")));
        let resp_body = self.wrap_collection(rstr);
        let action = w.trust_uri("RST/SCT/Cancel");
        let resp_action = w.trust_uri("RSTR/SCT/Cancel");
        let addr = self.request_addressing(&action);
        let req = self.session_message(lane, true, &addr, vec![rst], false, None)?;
        let at = self.send_request(lane, &req, &action)?;
        let raddr = Self::response_addressing(&resp_action, &addr);
        let resp = self.session_message(lane, false, &raddr, vec![resp_body], false, None)?;
        let session = Some(identifier);
        self.record(
            lane,
            at,
            Out {
                built: req,
                action,
                kind: MessageKind::SctCancel,
                tamper: None,
            },
            MessageDirection::Request,
            session.clone(),
        );
        self.send_response(
            lane,
            resp,
            resp_action,
            MessageKind::SctCancelResponse,
            session,
        )
    }

    /// A message protected by the session's DKTs (spec §9; Cancel: signed only, §11).
    fn session_message(
        &mut self,
        lane: &mut Lane,
        from_client: bool,
        addr: &Addressing,
        body: Vec<El>,
        encrypt: bool,
        tamper: Option<TamperKind>,
    ) -> Result<Built, SynthError> {
        let sct = lane
            .sct
            .as_ref()
            .ok_or_else(|| SynthError::Template("session message without an SCT".into()))?;
        let (sig, enc) = if from_client {
            (&sct.client_sig, &sct.client_enc)
        } else {
            (&sct.server_sig, &sct.server_enc)
        };
        let mut tokens = Vec::new();
        if from_client {
            tokens.push(sct.el.clone());
        }
        tokens.push(sig.el.clone());
        if encrypt {
            tokens.push(enc.el.clone());
        }
        let p = Protection {
            suite: self.sc.suite,
            padding: self.sc.padding,
            tokens,
            sig_key: &sig.key,
            sig_dkt_id: sig.id.clone(),
            enc: if encrypt {
                Some((&enc.key, enc.id.clone()))
            } else {
                None
            },
            endorsing: Vec::new(),
            username: None,
            confirmations: Vec::new(),
            tamper,
            now: self.t,
        };
        let mut ids = IdCounter::default();
        let uuids = if from_client {
            &mut lane.client_uuids
        } else {
            &mut self.server_uuids
        };
        wcf::secure(&self.w, &mut ids, uuids, &mut self.rng, addr, body, p)
    }

    // ---- HTTP over TCP -----------------------------------------------------------------

    /// Sends a request; returns the time of its first byte.
    fn send_request(
        &mut self,
        lane: &mut Lane,
        b: &Built,
        action: &str,
    ) -> Result<i64, SynthError> {
        if !lane.opened {
            self.t = lane.conn.handshake(&mut self.packets, self.t);
            lane.opened = true;
        }
        let at = self.t;
        let mut head = format!(
            "POST {} HTTP/1.1\r\nContent-Type: application/soap+xml; charset=utf-8",
            self.path
        );
        if self.sc.http_action_param {
            head.push_str(&format!("; action=\"{action}\""));
        }
        head.push_str(&format!(
            "\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.host,
            b.xml.len()
        ));
        let first = lane.requests_sent == 0;
        let expect = first && self.sc.expect_continue;
        if expect {
            head.push_str("Expect: 100-continue\r\n");
        }
        if first {
            head.push_str("Connection: Keep-Alive\r\n");
        }
        head.push_str("\r\n");
        lane.requests_sent += 1;
        if expect {
            self.t = lane
                .conn
                .send(&mut self.packets, self.t, Dir::ToServer, head.as_bytes());
            self.t += 1_000_000;
            self.t = lane.conn.send(
                &mut self.packets,
                self.t,
                Dir::ToClient,
                b"HTTP/1.1 100 Continue\r\n\r\n",
            );
            self.t = lane
                .conn
                .send(&mut self.packets, self.t, Dir::ToServer, b.xml.as_bytes());
        } else {
            let mut bytes = head.into_bytes();
            bytes.extend_from_slice(b.xml.as_bytes());
            self.t = lane
                .conn
                .send(&mut self.packets, self.t, Dir::ToServer, &bytes);
        }
        // Service processing time (4–16 ms) before the response's Timestamp.
        self.t += 4_000_000 + i64::from(self.rng.u32() % 12_000_000);
        Ok(at)
    }

    fn send_response(
        &mut self,
        lane: &mut Lane,
        built: Built,
        action: String,
        kind: MessageKind,
        session: Option<String>,
    ) -> Result<(), SynthError> {
        self.send_http_response(lane, built, action, kind, session, 200)
    }

    fn send_http_response(
        &mut self,
        lane: &mut Lane,
        built: Built,
        action: String,
        kind: MessageKind,
        session: Option<String>,
        status: u16,
    ) -> Result<(), SynthError> {
        let at = self.t;
        let reason = if status == 200 {
            "OK"
        } else {
            "Internal Server Error"
        };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nContent-Type: application/soap+xml; charset=utf-8\r\nServer: Microsoft-IIS/10.0\r\nX-Powered-By: ASP.NET\r\nDate: {}\r\n\r\n",
            built.xml.len(),
            http_date(self.t)
        );
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(built.xml.as_bytes());
        self.t = lane
            .conn
            .send(&mut self.packets, self.t, Dir::ToClient, &bytes);
        self.record(
            lane,
            at,
            Out {
                built,
                action,
                kind,
                tamper: None,
            },
            MessageDirection::Response,
            session,
        );
        // Client think time (0.25–0.75 s) before the next call.
        self.t += 250_000_000 + i64::from(self.rng.u32() % 500_000_000);
        Ok(())
    }

    fn record(
        &mut self,
        lane: &Lane,
        at: i64,
        o: Out,
        direction: MessageDirection,
        session: Option<String>,
    ) {
        let instance = lane.sct.as_ref().and_then(|s| s.instance.clone());
        self.record_in(lane, at, o, direction, session, instance);
    }

    fn record_in(
        &mut self,
        lane: &Lane,
        at: i64,
        o: Out,
        direction: MessageDirection,
        session: Option<String>,
        session_instance: Option<String>,
    ) {
        self.messages.push(SynthMessage {
            index: self.messages.len(),
            stream: lane.index,
            ts_nanos: at,
            direction,
            action: o.action,
            kind: o.kind,
            session_instance: if session.is_some() {
                session_instance
            } else {
                None
            },
            session,
            plaintext_body: o.built.plaintext_body,
            soap_xml: o.built.xml.into_bytes(),
            signed_ids: o.built.signed_ids,
            signature_values: o.built.signature_values,
            encrypted: o.built.body_encrypted,
            tampered: o.tamper.is_some(),
            tamper: o.tamper,
        });
    }
}

/// Action of SOAP faults (WS-Addressing 1.0).
const FAULT_ACTION: &str = "http://www.w3.org/2005/08/addressing/soap/fault";

/// The unsecured fault a WCF service returns when a request fails security processing.
/// WCF really does rebind the prefix `a` to the WSS namespace on the subcode value.
fn security_fault(relates_to: Option<&str>) -> Built {
    let mut header =
        El::new("s:Header").child(El::leaf("a:Action", FAULT_ACTION).attr("s:mustUnderstand", "1"));
    if let Some(r) = relates_to {
        header = header.child(El::leaf("a:RelatesTo", r));
    }
    let fault = El::new("s:Fault")
        .child(
            El::new("s:Code")
                .child(El::leaf("s:Value", "s:Sender"))
                .child(
                    El::new("s:Subcode")
                        .child(El::leaf("s:Value", "a:InvalidSecurity").ns("a", wcf::WSSE)),
                ),
        )
        .child(
            El::new("s:Reason").child(
                El::leaf(
                    "s:Text",
                    "An error occurred when verifying security for the message.",
                )
                .attr("xml:lang", "en-US"),
            ),
        );
    let body_text = fault.wire();
    let env = El::new("s:Envelope")
        .ns("s", wcf::S12)
        .ns("a", wcf::WSA)
        .child(header)
        .child(El::new("s:Body").child(fault));
    Built {
        xml: env.wire(),
        signature_values: Vec::new(),
        signed_ids: Vec::new(),
        plaintext_body: body_text,
        body_encrypted: false,
    }
}

/// RFC 7231 IMF-fixdate.
fn http_date(nanos: i64) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    match time::OffsetDateTime::from_unix_timestamp(nanos.div_euclid(1_000_000_000)) {
        Ok(t) => format!(
            "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
            DAYS[t.weekday().number_days_from_monday() as usize],
            t.day(),
            MONTHS[(u8::from(t.month()) - 1) as usize],
            t.year(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => "Thu, 01 Jan 1970 00:00:00 GMT".to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn default_scenario_has_the_expected_messages() {
        let out = generate(&Scenario::default(), &Pki::demo().unwrap()).unwrap();
        let kinds: Vec<String> = out.messages.iter().map(|m| m.kind_str()).collect();
        assert_eq!(kinds[0], "sct-issue");
        assert_eq!(kinds[1], "sct-issue-response");
        assert_eq!(kinds.iter().filter(|k| *k == "application").count(), 8);
        assert_eq!(kinds[10], "sct-cancel");
        assert_eq!(kinds[11], "sct-cancel-response");
        assert_eq!(out.sessions.len(), 1);
        assert_eq!(out.sessions[0].key.len(), 32);
        assert!(out.messages[2].encrypted);
        assert!(!out.messages[10].encrypted);
        assert!(out.messages[2]
            .plaintext_body
            .starts_with("<Add xmlns=\"http://Microsoft.ServiceModel.Samples\">"));
        // Same seed, same conversation (RSA-OAEP padding aside, which is random).
        let again = generate(&Scenario::default(), &Pki::demo().unwrap()).unwrap();
        assert_eq!(again.messages[3].soap_xml, out.messages[3].soap_xml);
    }

    #[test]
    fn debug_never_shows_keys() {
        let out = generate(&Scenario::default().calls(0), &Pki::demo().unwrap()).unwrap();
        let d = format!("{:?}", out.sessions[0]);
        let hex: String = out.sessions[0]
            .key
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(!d.contains(&hex[..16]));
        assert!(d.contains("sha1:"));
    }

    #[test]
    fn bad_scenarios_are_errors() {
        let pki = Pki::demo().unwrap();
        assert!(generate(&Scenario::default().sessions(3), &pki).is_err());
        assert!(generate(&Scenario::default().sessions(0), &pki).is_err());
        assert!(generate(&Scenario::default().calls(1001), &pki).is_err());
        assert!(generate(&Scenario::default().start(i64::MAX), &pki).is_err());
        let sc = Scenario {
            service_url: "https://x/".into(),
            ..Default::default()
        };
        assert!(generate(&sc, &pki).is_err());
    }
}
