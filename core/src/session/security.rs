//! The security stage: processes each message's WS-Security header in capture order with
//! the keyring, replays bootstraps, tracks SCT keys, and fills the message's verdicts.
//!
//! Per message: read the header's tokens in document order (BinarySecurityTokens,
//! EncryptedKeys — opened with the keyring and remembered by EncryptedKeySHA1 —,
//! DerivedKeyTokens, SCTs); decrypt every EncryptedData (the primary Signature first
//! among them when it was encrypted) into a decrypted view; verify every header Signature
//! on that view; refuse any reference whose element is not the one the message shows;
//! then learn from the Body (RST entropy, RSTR proof token → SCT key) and run the checks.
//! A message reformatted after signing is verified as received; a whitespace-normalised
//! copy is tried only to say so in a `whitespace` check — the verdict stays as received.

use super::checks::{self, Coverage, Whitespace};
use super::keystore::{to_hex, KeyStore};
use super::registry::{EphemeralKey, Registry, SctEntry};
use super::resolver::{encrypted_key_sha1, MsgTokens, WsResolver};
use crate::analyzer::Options;
use crate::model::{
    CheckStatus, Decryption, Diagnostic, KeySource, MessageDetail, MessageDirection, MessageInfo,
    MessageKind, ReferenceInfo, SecurityStep, SessionInfo, SignatureInfo, SignatureRole,
    SignatureSummary, SignatureVerdict, Timestamp,
};
use crate::session::SessionClues;
use crate::soap::Envelope;
use crate::wssec::ns::{is_sc, DSIG, WSSE, XENC};
use crate::wssec::tokens::{parse_dkt, parse_sct, wsu_id};
use crate::wssec::trust::{self, ProofToken, Rst};
use crate::xml::{Document, NodeId, NodeKind};
use crate::xmlsec::{self, DecryptOutcome, KeyFailure, KeyResolveError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use openssl::x509::X509;
use std::collections::{HashMap, HashSet};
use zeroize::Zeroizing;

/// Most header children looked at (hostile input bound).
const MAX_HEADER_ITEMS: usize = 10_000;
/// EncryptedKeys opened per message (each costs an RSA private-key operation).
const MAX_ENCRYPTED_KEYS: usize = 16;
/// Requests remembered for pairing RSTRs and SignatureConfirmations.
const MAX_REMEMBERED: usize = 10_000;

/// State carried across messages: the keyring, ephemeral keys by EncryptedKeySHA1,
/// SCT keys by Identifier (and Instance).
pub struct SecurityStage {
    options: Options,
    keys: KeyStore,
    registry: Registry,
    /// RSTs seen: (message index, MessageID, what it asked).
    rsts: Vec<(usize, Option<String>, Rst)>,
    /// SignatureValues of requests by MessageID (for SignatureConfirmation), and the last one.
    request_sigs: HashMap<String, Vec<Vec<u8>>>,
    last_request_sigs: Option<Vec<Vec<u8>>>,
    /// Diagnostics already given (deduplication key).
    said: HashSet<String>,
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

/// What `learn` reads: the (decrypted) envelope, its header tokens, and whether the message
/// had no Security header (its Body is then reported as is).
struct Seen<'a> {
    view: &'a Envelope,
    tokens: &'a MsgTokens,
    in_clear: bool,
}

/// An SCT key learned from an RSTR: the key, where it came from, and how (plain words).
type Learned = (Zeroizing<Vec<u8>>, KeySource, Vec<String>);

/// Everything one pass over one form of the message produced.
struct Pass {
    /// The header's tokens (for a proof token that refers to them).
    tokens: MsgTokens,
    view: Envelope,
    decrypted_any: bool,
    decryption: Decryption,
    /// An EncryptedData inside the Security header could not be opened.
    closed_header_data: bool,
    errors: Vec<String>,
    signatures: Vec<SignatureInfo>,
    signature_values: Vec<Vec<u8>>,
    signed_nodes: Vec<NodeId>,
    encrypted_names: Vec<String>,
    body_encrypted: bool,
    usage: HashMap<String, &'static str>,
    steps: Vec<SecurityStep>,
    missing_scts: Vec<String>,
    ephemeral: Vec<(Vec<u8>, EphemeralKey)>,
    cookie_scts: Vec<String>,
    header_scts: Vec<String>,
}

fn verdict_rank(v: SignatureVerdict) -> u8 {
    match v {
        SignatureVerdict::Valid => 0,
        SignatureVerdict::NoKey => 1,
        SignatureVerdict::Error => 2,
        SignatureVerdict::Invalid => 3,
    }
}

impl SecurityStage {
    /// Loads the keys named in `options`; problems loading them become diagnostics.
    pub fn new(options: &Options, diagnostics: &mut Vec<Diagnostic>) -> SecurityStage {
        let (keys, problems) = KeyStore::load(&options.keys, &options.sct_keys);
        diagnostics.extend(problems.into_iter().map(Diagnostic::error));
        let mut registry = Registry::default();
        for (id, key) in keys.sct_keys() {
            registry.add_sct(SctEntry {
                identifier: id,
                instance: None,
                key,
                source: KeySource::Manual,
                issued_by: None,
            });
        }
        SecurityStage {
            options: options.clone(),
            keys,
            registry,
            rsts: Vec::new(),
            request_sigs: HashMap::new(),
            last_request_sigs: None,
            said: HashSet::new(),
        }
    }

    /// The Body's inner XML as the report shows it: with `--redact-keys`, BinarySecret
    /// (entropies, proof keys) and Password contents masked — the two entropies of an RST/RSTR
    /// pair give the SCT key by one P_SHA1, so they are key material too.
    fn body_text(&self, view: &Envelope) -> String {
        if self.options.redact_keys {
            super::redact::redacted_inner(&view.doc, view.body)
        } else {
            view.body_inner_xml()
        }
    }

    fn say(&mut self, diagnostics: &mut Vec<Diagnostic>, key: String, d: Diagnostic) {
        if self.said.insert(key) {
            diagnostics.push(d);
        }
    }

    /// Decrypts and verifies one message (called in capture order).
    pub fn process(&mut self, ctx: MessageContext<'_>, diagnostics: &mut Vec<Diagnostic>) {
        let MessageContext {
            env,
            ts,
            info,
            detail,
            clues,
        } = ctx;
        let index = info.index;
        // Message files get their direction after this stage runs: judge it here the same
        // way (RelatesTo or a response kind).
        let is_response = info.direction == MessageDirection::Response
            || (info.stream.is_none()
                && (info.relates_to.is_some()
                    || matches!(
                        info.kind,
                        MessageKind::SctIssueResponse
                            | MessageKind::SctCancelResponse
                            | MessageKind::SctRenewResponse
                            | MessageKind::SctAmendResponse
                            | MessageKind::Fault
                    )));
        if env.security_header().is_none() {
            // No WS-Security: WS-Trust bodies in clear (transport security) still teach keys.
            let tokens = MsgTokens::default();
            let seen = Seen {
                view: env,
                tokens: &tokens,
                in_clear: true,
            };
            self.learn(seen, info, clues, detail, diagnostics);
            return;
        }
        let pass = self.analyse(env, index, is_response);

        // Reformatted after signing? Verify a normalised copy only to say so.
        let mut whitespace_check = None;
        if pass
            .signatures
            .iter()
            .any(|s| s.verdict == SignatureVerdict::Invalid)
        {
            for mode in [Whitespace::Strip, Whitespace::StripKeepSignedInfoNewlines] {
                let Some(bytes) = checks::normalise_whitespace(&env.doc, mode) else {
                    break;
                };
                let Ok(norm) = Envelope::parse(&bytes) else {
                    continue;
                };
                let alt = self.analyse(&norm, index, is_response);
                if !alt.signatures.is_empty()
                    && alt
                        .signatures
                        .iter()
                        .all(|s| s.verdict == SignatureVerdict::Valid)
                {
                    let how = match mode {
                        Whitespace::Strip => "after removing every whitespace-only text node",
                        Whitespace::StripKeepSignedInfoNewlines => {
                            "after removing whitespace-only text nodes (one newline kept between SignedInfo children)"
                        }
                    };
                    whitespace_check = Some(checks::check(
                        "whitespace",
                        CheckStatus::Warning,
                        format!(
                            "as received the signature(s) do not verify; they all verify {how}: the message was reformatted (pretty-printed) after it was signed. The verdict stays the one for the message as received."
                        ),
                    ));
                    break;
                }
            }
        }

        // Fill the report.
        let view = &pass.view;
        info.body = Some(self.body_text(view));
        info.decryption = pass.decryption;
        let mut security = crate::wssec::inventory(view);
        for dk in &mut security.derived_keys {
            dk.usage = dk
                .id
                .as_ref()
                .and_then(|i| pass.usage.get(i))
                .map(|u| u.to_string());
        }
        for t in &mut security.tokens {
            if t.token_type == "x509" && t.reference.is_none() {
                t.reference =
                    t.id.as_ref()
                        .and_then(|i| pass.tokens.bsts.get(i))
                        .map(super::keystore::cert_label);
            }
        }
        security.signatures = pass.signatures.clone();
        info.signature = if pass.signatures.is_empty() {
            // A Security-header EncryptedData left closed may hold the signature.
            match (pass.closed_header_data, pass.decryption) {
                (true, Decryption::Failed) => SignatureSummary::Error,
                (true, _) => SignatureSummary::NoKey,
                (false, _) => SignatureSummary::Unsigned,
            }
        } else {
            match pass
                .signatures
                .iter()
                .map(|s| s.verdict)
                .max_by_key(|v| verdict_rank(*v))
            {
                Some(SignatureVerdict::Valid) => SignatureSummary::Valid,
                Some(SignatureVerdict::NoKey) => SignatureSummary::NoKey,
                Some(SignatureVerdict::Error) => SignatureSummary::Error,
                _ => SignatureSummary::Invalid,
            }
        };
        info.errors.extend(pass.errors.iter().cloned());
        // Every signature valid says nothing about a Body none of them references.
        if info.signature == SignatureSummary::Valid
            && !pass.signed_nodes.contains(&view.body)
            && has_content(&view.doc, view.body)
        {
            info.errors.push(
                "the Body shown is not covered by any signature (every signature verified, but none references the Body as a whole): its content is not authenticated".into(),
            );
        }
        if pass.decrypted_any {
            detail.decrypted_xml = Some(if self.options.redact_keys {
                super::redact::redacted(&view.doc, 0..view.doc.source.len())
            } else {
                String::from_utf8_lossy(&view.doc.source).into_owned()
            });
        }
        detail.steps.extend(pass.steps.iter().cloned());

        // Checks.
        let view_sec = view.security_header();
        if let Some(vs) = view_sec {
            let skew = self.options.clock_skew_secs.unwrap_or(300);
            security
                .checks
                .extend(checks::timestamp(&view.doc, vs, ts, skew));
            let found = checks::confirmations(&view.doc, vs);
            let request = if is_response {
                info.relates_to
                    .as_ref()
                    .and_then(|r| self.request_sigs.get(r))
                    .or(self.last_request_sigs.as_ref())
            } else {
                None
            };
            security
                .checks
                .extend(checks::signature_confirmation(&found, request));
            let closed_items = view
                .doc
                .children_elements(vs)
                .into_iter()
                .filter(|&n| {
                    view.doc
                        .element(n)
                        .is_some_and(|e| e.name.is(Some(crate::wssec::ns::XENC), "EncryptedData"))
                })
                .count();
            let unchecked = security
                .signatures
                .iter()
                .filter(|s| matches!(s.verdict, SignatureVerdict::NoKey | SignatureVerdict::Error))
                .count();
            security.checks.push(checks::coverage(&Coverage {
                env: view,
                sec: vs,
                signed: &pass.signed_nodes,
                body_encrypted: pass.body_encrypted,
                encrypted_names: &pass.encrypted_names,
                kind: info.kind,
                unread: closed_items + unchecked,
            }));
        }
        security.checks.extend(whitespace_check);
        info.security = security;

        // Cross-message state.
        for (h, k) in pass.ephemeral {
            self.registry.add_ephemeral(h, k);
        }
        if !is_response && self.request_sigs.len() < MAX_REMEMBERED {
            if let Some(id) = &info.message_id {
                self.request_sigs
                    .insert(id.clone(), pass.signature_values.clone());
            }
            self.last_request_sigs = Some(pass.signature_values.clone());
        }
        for id in &pass.header_scts {
            if !clues.scts.contains(id) {
                clues.scts.insert(0, id.clone());
            }
        }
        for id in &pass.cookie_scts {
            if self.registry.sct(id, None).is_none() {
                self.say(
                    diagnostics,
                    format!("cookie:{id}"),
                    Diagnostic::warning(format!(
                        "SCT {id} is a cookie-mode token: its key travels inside a dnse:Cookie protected with Windows DPAPI, which the service certificate cannot open (that would need the service account's DPAPI master key). Its key comes from the RST/SCT and RSTR/SCT bootstrap, which is not in this capture or was not opened — give the key with --sct-key {id}=HEX, or capture the bootstrap"
                    ))
                    .for_msg(index),
                );
            }
        }
        for id in &pass.missing_scts {
            if pass.cookie_scts.contains(id) {
                continue;
            }
            self.say(
                diagnostics,
                format!("missing:{id}"),
                Diagnostic::warning(format!(
                    "session {id}: the SCT key is unknown — the bootstrap (RST/SCT and RSTR/SCT) is not in the capture, or was negotiated (TLSNego/SPNEGO), or could not be opened; give the session key with --sct-key {id}=HEX"
                ))
                .for_msg(index),
            );
        }
        if info.decryption == Decryption::NoKey || info.decryption == Decryption::Failed {
            for e in pass
                .errors
                .iter()
                .filter(|e| e.contains("client's private key"))
                .take(1)
            {
                self.say(
                    diagnostics,
                    format!("client-key:{index}"),
                    Diagnostic::warning(e.clone()).for_msg(index),
                );
            }
        }
        let Pass { view, tokens, .. } = pass;
        self.learn(
            Seen {
                view: &view,
                tokens: &tokens,
                in_clear: false,
            },
            info,
            clues,
            detail,
            diagnostics,
        );
    }

    /// One pass over a form of the message: tokens, decryption, signatures.
    fn analyse(&self, env: &Envelope, index: usize, is_response: bool) -> Pass {
        let doc = &env.doc;
        let mut errors = Vec::new();
        let mut tokens = MsgTokens::default();
        let mut eks: Vec<(String, NodeId)> = Vec::new();
        let mut too_many_eks = false;
        let mut cookie_scts = Vec::new();
        let mut header_scts = Vec::new();
        let sec = env.security_header();
        if let Some(sec) = sec {
            for item in doc
                .children_elements(sec)
                .into_iter()
                .take(MAX_HEADER_ITEMS)
            {
                let Some(el) = doc.element(item) else {
                    continue;
                };
                let (ns, local) = (el.name.ns.as_deref(), el.name.local.as_str());
                match (ns, local) {
                    (Some(WSSE), "BinarySecurityToken") => {
                        let vt = doc.attribute(item, None, "ValueType").unwrap_or("");
                        if vt.contains("X509") {
                            let text: String = doc
                                .text_content(item)
                                .chars()
                                .filter(|c| !c.is_whitespace())
                                .collect();
                            match STANDARD
                                .decode(text.as_bytes())
                                .ok()
                                .and_then(|d| X509::from_der(&d).ok())
                            {
                                Some(c) => {
                                    if let Some(id) = wsu_id(doc, item) {
                                        tokens.bsts.insert(id, c);
                                    }
                                }
                                None => errors.push(format!(
                                    "BinarySecurityToken #{}: not a base64 DER X.509 certificate",
                                    wsu_id(doc, item).unwrap_or_default()
                                )),
                            }
                        }
                    }
                    (Some(XENC), "EncryptedKey")
                        if eks.len() >= MAX_ENCRYPTED_KEYS && !too_many_eks =>
                    {
                        too_many_eks = true;
                        errors.push(format!(
                            "more than {MAX_ENCRYPTED_KEYS} EncryptedKeys in the Security header; the rest are ignored"
                        ));
                    }
                    (Some(XENC), "EncryptedKey") if eks.len() >= MAX_ENCRYPTED_KEYS => {}
                    (Some(XENC), "EncryptedKey") => {
                        let id = doc
                            .attribute(item, None, "Id")
                            .map(str::to_string)
                            .or_else(|| wsu_id(doc, item));
                        eks.push((id.unwrap_or_else(|| format!("(EncryptedKey {item})")), item));
                    }
                    (ns, "DerivedKeyToken") if is_sc(ns) => match parse_dkt(doc, item) {
                        Ok(d) => {
                            if let Some(id) = d.id.clone() {
                                tokens.dkts.insert(id, d);
                            }
                        }
                        Err(e) => errors.push(e),
                    },
                    (ns, "SecurityContextToken") if is_sc(ns) => match parse_sct(doc, item) {
                        Ok(s) => {
                            if s.cookie {
                                cookie_scts.push(s.identifier.clone());
                            }
                            header_scts.push(s.identifier.clone());
                            match s.id.clone() {
                                Some(id) => {
                                    tokens.scts.insert(id, s);
                                }
                                None => tokens.anonymous_scts.push(s),
                            }
                        }
                        Err(e) => errors.push(e),
                    },
                    _ => {}
                }
            }
        }
        // Open the EncryptedKeys (with the tokens read so far: BSTs for local references).
        let mut ek_steps = Vec::new();
        let mut ephemeral = Vec::new();
        {
            let mut opened = Vec::new();
            {
                let pre = WsResolver::new(&tokens, &self.registry, &self.keys, is_response);
                for (id, ek) in &eks {
                    let cipher = ek_cipher(doc, *ek);
                    let sha1 = cipher
                        .as_ref()
                        .map(|c| encrypted_key_sha1(c))
                        .unwrap_or_default();
                    let res = xmlsec::decrypt_encrypted_key(doc, *ek, &pre);
                    let method = trust::encrypted_key_method(doc, *ek).unwrap_or_default();
                    let r = match res {
                        Ok(k) => {
                            // The resolver's source reads "... private key of CN=…": keep that part.
                            let holder = k
                                .source
                                .find("private key of ")
                                .map(|i| k.source[i..].to_string())
                                .unwrap_or_else(|| k.source.clone());
                            ek_steps.push(SecurityStep {
                                title: format!("Opened EncryptedKey #{id} with the {holder}"),
                                details: vec![
                                    format!("algorithm: {method}"),
                                    format!("key length: {} bytes", k.key.len()),
                                    format!("EncryptedKeySHA1: {}", STANDARD.encode(&sha1)),
                                ],
                                derives: vec![(holder.clone(), format!("EncryptedKey #{id}"))],
                            });
                            ephemeral.push((
                                sha1.clone(),
                                EphemeralKey {
                                    key: k.key.clone(),
                                    msg: index,
                                    id: Some(id.clone()),
                                },
                            ));
                            Ok(k.key)
                        }
                        Err(KeyFailure::NoKey(r)) => {
                            errors.push(format!("EncryptedKey #{id} ({method}) not opened: {r}"));
                            Err(KeyResolveError::NotFound(format!(
                                "EncryptedKey #{id} not opened: {r}"
                            )))
                        }
                        Err(KeyFailure::Failed(r)) => {
                            errors.push(format!("EncryptedKey #{id} ({method}) failed: {r}"));
                            Err(KeyResolveError::Failed(format!("EncryptedKey #{id}: {r}")))
                        }
                    };
                    opened.push((id.clone(), sha1, r));
                }
            }
            for (id, sha1, r) in opened {
                tokens.ek_sha1.insert(id.clone(), sha1);
                tokens.ek_keys.insert(id, r);
            }
        }

        let resolver = WsResolver::new(&tokens, &self.registry, &self.keys, is_response);
        resolver.steps.borrow_mut().extend(ek_steps);
        let dec = xmlsec::decrypt_document(doc, &resolver);
        // What each opened EncryptedData turned into (its first element), for the steps.
        let mut replaced: HashMap<NodeId, String> = HashMap::new();
        if let Some(d) = &dec.decrypted {
            for rep in &d.replacements {
                if let Some(n) = rep.new_nodes.iter().find_map(|&n| d.doc.element(n)) {
                    replaced.insert(rep.original, n.name.qualified());
                }
            }
        }
        let mut encrypted_names = Vec::new();
        let mut body_encrypted = false;
        for r in &dec.results {
            let parent = doc.nodes.get(r.node).and_then(|n| n.parent);
            let what = match parent {
                Some(p) if p == env.body => {
                    body_encrypted = true;
                    "Body content".to_string()
                }
                Some(p) => match doc.element(p) {
                    Some(e) if e.name.local == "EncryptedHeader" => {
                        "a header (EncryptedHeader)".to_string()
                    }
                    _ => replaced
                        .get(&r.node)
                        .map(|n| format!("<{n}>"))
                        .unwrap_or_else(|| {
                            format!(
                                "{} in <{}>",
                                r.data_type.label(),
                                doc.element(p)
                                    .map(|e| e.name.qualified())
                                    .unwrap_or_default()
                            )
                        }),
                },
                None => "EncryptedData".into(),
            };
            let label = format!(
                "EncryptedData #{} ({what}, {})",
                r.id.clone().unwrap_or_default(),
                r.algorithm
            );
            match &r.outcome {
                DecryptOutcome::Decrypted { plaintext } => {
                    resolver.steps.borrow_mut().push(SecurityStep {
                        title: format!("Decrypted {label}"),
                        details: vec![
                            format!("key: {}", r.key_source.clone().unwrap_or_default()),
                            format!(
                                "{} plaintext bytes, type {}",
                                plaintext.len(),
                                r.data_type.label()
                            ),
                        ],
                        derives: Vec::new(),
                    });
                }
                DecryptOutcome::Failed { reason } => {
                    let hint = checks::chunk_artefact(doc, r.node)
                        .map(|l| format!("; its CipherValue contains a line '{l}' that looks like an HTTP chunk-size line (the message was copied from a chunked HTTP body without de-chunking)"))
                        .unwrap_or_default();
                    errors.push(format!("{label}: decryption failed: {reason}{hint}"));
                }
                DecryptOutcome::NoKey { reason } => {
                    errors.push(format!("{label}: not decrypted, no key: {reason}"))
                }
            }
        }
        if let Some(e) = &dec.splice_error {
            errors.push(format!("decrypted view could not be built: {e}"));
        }
        let status = if dec.results.is_empty() {
            Decryption::NotEncrypted
        } else if dec
            .results
            .iter()
            .any(|r| matches!(r.outcome, DecryptOutcome::Failed { .. }))
        {
            Decryption::Failed
        } else if dec
            .results
            .iter()
            .any(|r| matches!(r.outcome, DecryptOutcome::NoKey { .. }))
        {
            Decryption::NoKey
        } else {
            Decryption::Ok
        };
        let decrypted_any = dec.results.iter().any(|r| r.is_decrypted());
        let closed_header_data = sec.is_some_and(|sec| {
            dec.results
                .iter()
                .any(|r| !r.is_decrypted() && doc.is_ancestor(sec, r.node))
        });
        let view = match dec
            .decrypted
            .as_ref()
            .map(|d| Envelope::from_document(d.doc.clone()))
        {
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                errors.push(format!("decrypted message is not a SOAP envelope: {e}"));
                env.clone()
            }
            None => env.clone(),
        };
        // The elements that replaced an EncryptedData (for "encrypted:" in coverage).
        if let Some(d) = &dec.decrypted {
            for rep in &d.replacements {
                for &n in &rep.new_nodes {
                    if let Some(e) = d.doc.element(n) {
                        if !matches!(d.doc.nodes.get(n).and_then(|x| x.parent), Some(p) if p == view.body)
                        {
                            encrypted_names.push(e.name.qualified());
                        }
                    }
                }
            }
        }
        // An EncryptedData in the Body does not make the Body encrypted when clear content
        // sits beside it: that content reached the reader unprotected.
        let clear_beside: Vec<String> = if body_encrypted {
            clear_body_content(doc, env.body)
        } else {
            Vec::new()
        };
        if !clear_beside.is_empty() {
            body_encrypted = false;
            errors.push(format!(
                "the Body holds content in clear beside its EncryptedData: {}",
                clear_beside.join(", ")
            ));
            encrypted_names.insert(
                0,
                format!("Body partly ({} in clear)", clear_beside.join(", ")),
            );
        }
        if body_encrypted {
            encrypted_names.insert(0, "Body".into());
        }

        // Signatures in the (decrypted) Security header.
        let mut signatures = Vec::new();
        let mut signature_values = Vec::new();
        let mut signed_nodes = Vec::new();
        if let Some(vsec) = view.security_header() {
            let vdoc = &view.doc;
            let sig_nodes: Vec<NodeId> = vdoc
                .children_elements(vsec)
                .into_iter()
                .filter(|&c| {
                    vdoc.element(c)
                        .is_some_and(|e| e.name.is(Some(DSIG), "Signature"))
                })
                .collect();
            let mut results: Vec<_> = sig_nodes
                .iter()
                .map(|&s| xmlsec::verify_signature(vdoc, s, &resolver))
                .collect();
            // Encrypt-before-sign (WCF MessageProtectionOrder.EncryptBeforeSign): a clear
            // signature digests the ciphertext, so it is checked on the message as received.
            if let (Some(d), Some(sec)) = (&dec.decrypted, sec) {
                encrypt_before_sign(doc, sec, d, &sig_nodes, &mut results, &resolver);
            }
            let mut primary_seen = false;
            for r in &results {
                // Endorsing means covering *another* signature: a reference to itself covers
                // nothing (with enveloped-signature its node-set is empty).
                let covers_signature = r.references.iter().any(|rf| {
                    rf.resolved
                        .is_some_and(|n| n != r.node && sig_nodes.contains(&n))
                });
                let role = if covers_signature {
                    SignatureRole::Endorsing
                } else if !primary_seen {
                    primary_seen = true;
                    SignatureRole::Primary
                } else {
                    SignatureRole::Supporting
                };
                if let Some(sv) = vdoc.find_child(r.node, Some(DSIG), "SignatureValue") {
                    let t: String = vdoc
                        .text_content(sv)
                        .chars()
                        .filter(|c| !c.is_whitespace())
                        .collect();
                    if let Ok(v) = STANDARD.decode(t.as_bytes()) {
                        signature_values.push(v);
                    }
                }
                let sig_name = format!(
                    "{} Signature{}",
                    role_name(role),
                    r.id.as_ref().map(|i| format!(" #{i}")).unwrap_or_default()
                );
                let mut verdict = match r.verdict {
                    xmlsec::SignatureVerdict::Valid => SignatureVerdict::Valid,
                    xmlsec::SignatureVerdict::Invalid { .. } => SignatureVerdict::Invalid,
                    xmlsec::SignatureVerdict::NoKey { .. } => SignatureVerdict::NoKey,
                    xmlsec::SignatureVerdict::Error { .. } => SignatureVerdict::Error,
                };
                if let Some(reason) = r.verdict.reason() {
                    errors.push(format!(
                        "{sig_name} ({}): {} — {reason}",
                        r.signature_method_uri,
                        r.verdict.label()
                    ));
                }
                let mut refs = Vec::new();
                for rf in &r.references {
                    if let Some(n) = rf.resolved {
                        if n == r.node {
                            verdict = SignatureVerdict::Invalid;
                            errors.push(format!(
                                "{sig_name}: reference {} resolves to this Signature itself, so it covers nothing",
                                rf.uri.clone().unwrap_or_default()
                            ));
                        } else if let Err(why) = checks::shown(&view, Some(vsec), n) {
                            verdict = SignatureVerdict::Invalid;
                            errors.push(format!(
                                "{sig_name}: reference {} is not bound to what the message shows: {why}",
                                rf.uri.clone().unwrap_or_default()
                            ));
                        } else {
                            signed_nodes.push(n);
                        }
                    }
                    if let Some(e) = &rf.error {
                        let said = r.verdict.reason().is_some_and(|v| v.contains(e.as_str()));
                        if !matches!(r.verdict, xmlsec::SignatureVerdict::Valid) && !said {
                            errors.push(format!(
                                "{sig_name}: reference {} ({}): {e}",
                                rf.uri.clone().unwrap_or_default(),
                                rf.digest_method
                            ));
                        }
                    }
                    refs.push(ReferenceInfo {
                        uri: rf.uri.clone().unwrap_or_default(),
                        element: rf.element_name.clone(),
                        digest_valid: rf.digest_valid,
                    });
                }
                resolver.steps.borrow_mut().push(SecurityStep {
                    title: format!("Checked {sig_name}: {}", r.verdict.label()),
                    details: std::iter::once(format!("method: {}", r.signature_method_uri))
                        .chain(std::iter::once(format!(
                            "key: {}",
                            r.key_source.clone().unwrap_or_else(|| "(none)".into())
                        )))
                        .chain(r.references.iter().map(|rf| {
                            format!(
                                "reference {} → {}: digest {}",
                                rf.uri.clone().unwrap_or_default(),
                                rf.element_name
                                    .clone()
                                    .unwrap_or_else(|| "(unresolved)".into()),
                                match rf.digest_valid {
                                    Some(true) => "matches",
                                    Some(false) => "DIFFERS",
                                    None => "not checked",
                                }
                            )
                        }))
                        .collect(),
                    derives: Vec::new(),
                });
                signatures.push(SignatureInfo {
                    id: r.id.clone(),
                    role,
                    algorithm: Some(r.signature_method_uri.clone()),
                    verdict,
                    references: refs,
                });
            }
        }
        // A second Body directly under the Envelope: the one shown is the first.
        let bodies = doc
            .children_elements(env.envelope)
            .into_iter()
            .filter(|&c| doc.element(c).is_some_and(|e| e.name.local == "Body"))
            .count();
        if bodies > 1 {
            errors.push(format!(
                "the Envelope has {bodies} Body elements; the first one is shown"
            ));
        }
        let usage = resolver.usage.borrow().clone();
        let steps = resolver.steps.borrow().clone();
        let missing_scts = resolver.missing_scts.borrow().clone();
        drop(resolver);
        Pass {
            tokens,
            view,
            decrypted_any,
            decryption: status,
            closed_header_data,
            errors,
            signatures,
            signature_values,
            signed_nodes,
            encrypted_names,
            body_encrypted,
            usage,
            steps,
            missing_scts,
            ephemeral,
            cookie_scts,
            header_scts,
        }
    }

    /// Learns from the (decrypted) Body: RST entropy, RSTR → SCT key, negotiation.
    fn learn(
        &mut self,
        seen: Seen<'_>,
        info: &mut MessageInfo,
        clues: &mut SessionClues,
        detail: &mut MessageDetail,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        let Seen {
            view,
            tokens,
            in_clear,
        } = seen;
        let index = info.index;
        let doc = &view.doc;
        // In clear, `view` is the envelope the SOAP stage already took the body from; only
        // `--redact-keys` changes it.
        if in_clear && self.options.redact_keys {
            info.body = Some(self.body_text(view));
        }
        match trust::read_rst(doc, view.body) {
            Ok(Some(rst)) => {
                if let Some(vt) = &rst.binary_exchange {
                    self.explain_negotiation(vt, index, diagnostics);
                }
                if matches!(
                    info.kind,
                    MessageKind::SctIssue | MessageKind::SctRenew | MessageKind::SctAmend
                ) && self.rsts.len() < MAX_REMEMBERED
                {
                    if let Some(other) = &rst.entropy_other {
                        info.errors.push(format!("RST entropy is carried as <{other}>, which is not supported (only BinarySecret)"));
                    }
                    self.rsts.push((index, info.message_id.clone(), rst));
                }
            }
            Ok(None) => {}
            Err(e) => info.errors.push(format!("RequestSecurityToken: {e}")),
        }
        let rstr = match trust::read_rstr(doc, view.body) {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(e) => {
                info.errors
                    .push(format!("RequestSecurityTokenResponse: {e}"));
                return;
            }
        };
        if let Some(vt) = &rstr.binary_exchange {
            self.explain_negotiation(vt, index, diagnostics);
        }
        let Some(sct) = rstr.sct.clone() else { return };
        clues.scts.retain(|s| s != &sct.identifier);
        clues.scts.insert(0, sct.identifier.clone());
        // The RST this answers: by RelatesTo, else the latest one before it.
        let rst = info
            .relates_to
            .as_ref()
            .and_then(|r| {
                self.rsts
                    .iter()
                    .rev()
                    .find(|(_, id, _)| id.as_ref() == Some(r))
            })
            .or_else(|| self.rsts.iter().rev().find(|(i, _, _)| *i < index))
            .map(|(i, _, r)| (*i, r.clone()));
        let learned: Result<Learned, String> = match &rstr.proof {
            Some(ProofToken::ComputedKey(alg)) => {
                if !alg.ends_with("/CK/PSHA1") {
                    Err(format!(
                        "ComputedKey algorithm {alg} is not supported (only CK/PSHA1)"
                    ))
                } else {
                    match (rst.as_ref().and_then(|(_, r)| r.entropy.clone()), rstr.entropy.clone()) {
                        (Some(client), Some(server)) => {
                            let bits = rstr.key_size.or(rst.as_ref().and_then(|(_, r)| r.key_size)).unwrap_or(256);
                            if !(64..=131_072).contains(&bits) || bits % 8 != 0 {
                                Err(format!("KeySize {bits} bits is out of range"))
                            } else {
                                crate::wssec::psha1::p_sha1(&client, &server, 0, (bits / 8) as usize).map(|k| {
                                    (
                                        k,
                                        KeySource::Computed,
                                        vec![
                                            "key = P_SHA1(secret = client entropy, seed = server entropy)".into(),
                                            format!("client entropy from message {}", rst.as_ref().map(|r| r.0).unwrap_or(0)),
                                            format!("KeySize {bits} bits"),
                                        ],
                                    )
                                })
                            }
                        }
                        (None, _) => Err("ComputedKey needs the client entropy of the RST, which was not captured or not opened".into()),
                        (_, None) => Err("ComputedKey needs the server entropy, but the RSTR carries none".into()),
                    }
                }
            }
            Some(ProofToken::BinarySecret(k)) => Ok((
                k.clone(),
                KeySource::BinarySecret,
                vec!["RequestedProofToken/BinarySecret".into()],
            )),
            Some(ProofToken::EncryptedKey(ek)) => {
                let method = trust::encrypted_key_method(doc, *ek).unwrap_or_default();
                if method.contains("tlsnego")
                    || method.contains("spnego")
                    || !trust::has_key_info(doc, *ek)
                {
                    self.explain_negotiation(&method, index, diagnostics);
                    Err(format!("the proof key is wrapped by the negotiation ({method}), not with a key this tool can hold"))
                } else {
                    let resolver = WsResolver::new(tokens, &self.registry, &self.keys, true);
                    match xmlsec::decrypt_encrypted_key(doc, *ek, &resolver) {
                        Ok(k) => Ok((
                            k.key,
                            KeySource::EncryptedKey,
                            vec![format!(
                                "RequestedProofToken/EncryptedKey opened with {}",
                                k.source
                            )],
                        )),
                        Err(f) => Err(format!(
                            "RequestedProofToken/EncryptedKey not opened: {}",
                            f.reason()
                        )),
                    }
                }
            }
            None => match (
                rstr.entropy.clone(),
                rst.as_ref().and_then(|(_, r)| r.entropy.clone()),
            ) {
                (Some(server), _) => Ok((
                    server,
                    KeySource::BinarySecret,
                    vec!["no proof token: the server entropy is the key".into()],
                )),
                (None, Some(client)) => Ok((
                    client,
                    KeySource::BinarySecret,
                    vec!["no proof token: the client entropy is the key".into()],
                )),
                (None, None) => Err("the RSTR carries neither a proof token nor entropy".into()),
            },
        };
        match learned {
            Ok((key, source, details)) => {
                detail.steps.push(SecurityStep {
                    title: format!(
                        "Learned the key of SCT {} ({} bytes, {})",
                        sct.identifier,
                        key.len(),
                        source_name(source)
                    ),
                    details,
                    derives: match source {
                        KeySource::Computed => vec![
                            (
                                format!(
                                    "RST entropy (message {})",
                                    rst.as_ref().map(|r| r.0).unwrap_or(index)
                                ),
                                format!("SCT {}", sct.identifier),
                            ),
                            (
                                format!("RSTR entropy (message {index})"),
                                format!("SCT {}", sct.identifier),
                            ),
                        ],
                        _ => vec![(
                            format!("RSTR proof token (message {index})"),
                            format!("SCT {}", sct.identifier),
                        )],
                    },
                });
                let issued_by = rst.as_ref().map(|r| r.0).or(Some(index));
                self.registry.add_sct(SctEntry {
                    identifier: sct.identifier.clone(),
                    instance: sct.instance.clone(),
                    key,
                    source,
                    issued_by,
                });
            }
            Err(e) => {
                info.errors
                    .push(format!("SCT {}: key not learned: {e}", sct.identifier));
            }
        }
    }

    fn explain_negotiation(
        &mut self,
        value_type: &str,
        index: usize,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        let v = value_type.trim().to_ascii_lowercase();
        let text = if v.contains("tlsnego") {
            "TLSNego bootstrap (negotiateServiceCredential=true): the SCT's proof key is encrypted under the TLS session keys negotiated inside WS-Trust BinaryExchange. The service certificate's private key alone does not give them (only an RSA-key-exchange TLS suite could be replayed; ECDHE cannot). To decrypt the session, give the SCT key with --sct-key <Identifier>=HEX."
        } else if v.contains("spnego") {
            "SPNEGO bootstrap (Windows credentials, negotiateServiceCredential=true): the SCT's proof key is wrapped with Kerberos/NTLM session keys; the service certificate is irrelevant. Would be needed: the service account's Kerberos key or the user's NTLM secrets — or give the SCT key with --sct-key <Identifier>=HEX."
        } else {
            return;
        };
        self.say(
            diagnostics,
            format!("nego:{}", v.contains("tlsnego")),
            Diagnostic::warning(text).for_msg(index),
        );
    }

    /// Fills what the stage learned about sessions (keys, their source, instances).
    pub fn finish(&mut self, sessions: &mut [SessionInfo], diagnostics: &mut Vec<Diagnostic>) {
        let _ = diagnostics;
        for s in sessions.iter_mut() {
            let Some(last) = self.registry.generations(&s.id).last() else {
                // A manual key whose Identifier was typed in another letter case.
                if let Some(k) = self.keys.sct_key(&s.id) {
                    s.key_hex = (!self.options.redact_keys).then(|| to_hex(&k));
                    s.key_source = Some(KeySource::Manual);
                }
                continue;
            };
            s.key_hex = if self.options.redact_keys {
                None
            } else {
                Some(to_hex(&last.key))
            };
            s.key_source = Some(last.source);
            s.instance = last.instance.clone();
            if s.issued_by_msg.is_none() {
                s.issued_by_msg = last.issued_by;
            }
        }
    }
}

fn role_name(r: SignatureRole) -> &'static str {
    match r {
        SignatureRole::Primary => "primary",
        SignatureRole::Endorsing => "endorsing",
        SignatureRole::Supporting => "supporting",
    }
}

fn source_name(s: KeySource) -> &'static str {
    match s {
        KeySource::Computed => "computed from the two entropies",
        KeySource::EncryptedKey => "from an EncryptedKey proof token",
        KeySource::BinarySecret => "from a BinarySecret",
        KeySource::Manual => "given by the user",
    }
}

/// The decoded CipherValue of an EncryptedKey (for its EncryptedKeySHA1).
fn ek_cipher(doc: &Document, ek: NodeId) -> Option<Vec<u8>> {
    let cd = doc.find_child(ek, Some(XENC), "CipherData")?;
    let cv = doc.find_child(cd, Some(XENC), "CipherValue")?;
    let text: String = doc
        .text_content(cv)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(text.as_bytes()).ok()
}

/// Whether an element has element children or non-whitespace text.
fn has_content(doc: &Document, id: NodeId) -> bool {
    doc.element(id).is_some_and(|e| {
        e.children
            .iter()
            .any(|&c| match doc.nodes.get(c).map(|n| &n.kind) {
                Some(NodeKind::Element(_)) => true,
                Some(NodeKind::Text(t) | NodeKind::CData(t)) => !t.trim().is_empty(),
                _ => false,
            })
    })
}

/// What the Body holds besides EncryptedData elements (qualified names, "text"), i.e. what
/// travelled in clear.
fn clear_body_content(doc: &Document, body: NodeId) -> Vec<String> {
    let Some(e) = doc.element(body) else {
        return Vec::new();
    };
    e.children
        .iter()
        .filter_map(|&c| match doc.nodes.get(c).map(|n| &n.kind) {
            Some(NodeKind::Element(el)) if !el.name.is(Some(XENC), "EncryptedData") => {
                Some(format!("<{}>", el.name.qualified()))
            }
            Some(NodeKind::Text(t) | NodeKind::CData(t)) if !t.trim().is_empty() => {
                Some("text".to_string())
            }
            _ => None,
        })
        .collect()
}

/// Re-checks, on the message as received, each clear signature that failed on the decrypted
/// view because a reference changed or vanished with decryption (it covered ciphertext).
/// A signature that verifies there replaces the view's result, with its nodes mapped into
/// the view: the signed EncryptedData is shown as its plaintext, which the ciphertext's
/// integrity binds. A reference whose target cannot be mapped (inside a ciphertext) leaves
/// the view's result as it was.
fn encrypt_before_sign(
    doc: &Document,
    sec: NodeId,
    dec: &xmlsec::DecryptedDocument,
    view_sigs: &[NodeId],
    results: &mut [xmlsec::SignatureResult],
    resolver: &WsResolver<'_>,
) {
    let failed_on_ciphertext = |r: &xmlsec::SignatureResult| {
        r.references.iter().any(|rf| {
            matches!(
                rf.problem,
                Some(xmlsec::ReferenceProblem::DigestMismatch)
                    | Some(xmlsec::ReferenceProblem::NotFound)
            )
        })
    };
    if !results.iter().any(failed_on_ciphertext) {
        return;
    }
    let map = ViewMap::new(doc, dec);
    for orig_sig in doc.children_elements(sec) {
        if !doc
            .element(orig_sig)
            .is_some_and(|e| e.name.is(Some(DSIG), "Signature"))
        {
            continue;
        }
        let Some(view_sig) = map.to_view(orig_sig) else {
            continue;
        };
        let Some(i) = view_sigs.iter().position(|&v| v == view_sig) else {
            continue;
        };
        if !failed_on_ciphertext(&results[i]) {
            continue;
        }
        let mut alt = xmlsec::verify_signature(doc, orig_sig, resolver);
        if !alt.verdict.is_valid() {
            continue;
        }
        let mut mapped = true;
        for rf in &mut alt.references {
            rf.resolved = match rf.resolved.map(|n| map.to_view(n)) {
                Some(Some(v)) => Some(v),
                Some(None) => {
                    mapped = false;
                    None
                }
                None => None,
            };
        }
        if mapped {
            alt.node = view_sig;
            results[i] = alt;
        }
    }
}

/// Maps nodes of the message as received to the decrypted view: nodes outside every
/// replaced EncryptedData keep their place (their byte offset moves by the length changes of
/// the replacements before them); a replaced EncryptedData maps to the one element that
/// replaced it; nodes inside a ciphertext have no counterpart.
struct ViewMap<'a> {
    doc: &'a Document,
    dec: &'a xmlsec::DecryptedDocument,
    by_start: HashMap<usize, NodeId>,
}

impl<'a> ViewMap<'a> {
    fn new(doc: &'a Document, dec: &'a xmlsec::DecryptedDocument) -> Self {
        let by_start = dec
            .doc
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| matches!(n.kind, NodeKind::Element(_)))
            .map(|(i, n)| (n.span.start, i))
            .collect();
        ViewMap { doc, dec, by_start }
    }

    fn to_view(&self, n: NodeId) -> Option<NodeId> {
        if n == Document::DOCUMENT {
            return Some(n);
        }
        let span = self.doc.nodes.get(n)?.span.clone();
        let mut shift: isize = 0;
        for rep in &self.dec.replacements {
            let os = self.doc.nodes.get(rep.original)?.span.clone();
            if rep.original == n {
                let els: Vec<NodeId> = rep
                    .new_nodes
                    .iter()
                    .copied()
                    .filter(|&v| self.dec.doc.element(v).is_some())
                    .collect();
                return match els.as_slice() {
                    [one] => Some(*one),
                    _ => None,
                };
            }
            if os.start <= span.start && span.end <= os.end {
                return None;
            }
            if os.end <= span.start {
                shift += rep.new_span.len() as isize - os.len() as isize;
            }
        }
        let start = usize::try_from(span.start as isize + shift).ok()?;
        let v = *self.by_start.get(&start)?;
        let same = match (self.doc.element(n), self.dec.doc.element(v)) {
            (Some(a), Some(b)) => a.name == b.name,
            _ => false,
        };
        same.then_some(v)
    }
}
