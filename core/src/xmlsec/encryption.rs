//! XML Encryption decryption over an `xml` tree: EncryptedKey (RSA key transport, AES and
//! Triple-DES key wrap) and EncryptedData (CBC and GCM block ciphers; Type Element, Content
//! or opaque data), producing a decrypted copy of the document.
//!
//! Key resolution for an EncryptedData or EncryptedKey, in order:
//! 1. `xenc:EncryptedKey` elements inside its KeyInfo;
//! 2. `ds:RetrievalMethod` (Type EncryptedKey) pointing at an EncryptedKey by `#id`;
//! 3. `ds:KeyName` matched against the `CarriedKeyName` of EncryptedKeys in the document
//!    (each tried in turn: the one "for someone else" fails with "no key" and the next is
//!    tried);
//! 4. a WS-Security `SecurityTokenReference/Reference URI="#id"` naming an EncryptedKey;
//!    and, only when the element has no KeyInfo, EncryptedKeys whose `ReferenceList` names
//!    it (`DataReference URI="#id"`);
//! 5. the [`KeyResolver`] (KeyName → named key, SecurityTokenReference, …).
//!
//! The decrypted view: the original [`Document`] is never changed. The decrypted document is
//! built by splicing each plaintext into the original *source bytes* in place of its
//! EncryptedData element's byte span, and re-parsing the result. Each plaintext of Type
//! Element/Content is first parsed on its own with
//! [`Document::parse_fragment_in_context`] in the namespace context of the EncryptedData's
//! parent, so a plaintext that is not well-formed there is reported against its EncryptedData
//! instead of spoiling the whole document. Spans in the decrypted document point into its own
//! source (the spliced bytes). Opaque (non-XML) plaintexts are spliced as escaped text when
//! they are UTF-8, and left encrypted in the view otherwise (the result still holds them).
//! EncryptedData found inside decrypted content is not opened again (one pass).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;

use zeroize::Zeroizing;

use super::algorithms::{
    mgf1_from_uri, BlockCipher, DigestAlgorithm, EncryptionAlgorithm, KeyEncryption, KeyTransport,
    KeyWrap, KT_RSA_1_5, KT_RSA_OAEP_11, KT_RSA_OAEP_MGF1P, NS_DSIG, NS_XENC, NS_XENC11,
    TYPE_CONTENT, TYPE_ELEMENT, TYPE_ENCRYPTED_KEY,
};
use super::crypto;
use super::resolver::{KeyResolveError, KeyResolver, Resolved};
use super::util::{all_elements_named, children_named, decode_base64, describe, text, IdIndex};
use crate::xml::{Document, NodeId, NodeKind};

/// How deep EncryptedKeys may wrap each other (and RetrievalMethods chain) before giving up.
const MAX_KEY_DEPTH: usize = 4;
/// WS-Security 1.0 secext namespace (SecurityTokenReference).
const NS_WSSE: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
/// At most this many EncryptedKey candidates are tried for one element.
const MAX_CANDIDATES: usize = 64;

/// What an EncryptedData's `Type` says the plaintext is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncryptedType {
    /// `xenc#Element`: one element, replacing the EncryptedData.
    Element,
    /// `xenc#Content`: element content, replacing the EncryptedData.
    Content,
    /// Anything else or no Type: opaque octets (the Type URI, if any).
    Data(Option<String>),
}

impl EncryptedType {
    fn from_attr(t: Option<&str>) -> Self {
        match t.map(str::trim) {
            Some(TYPE_ELEMENT) => Self::Element,
            Some(TYPE_CONTENT) => Self::Content,
            other => Self::Data(other.map(str::to_string)),
        }
    }

    pub fn is_xml(&self) -> bool {
        matches!(self, Self::Element | Self::Content)
    }

    /// "Element" | "Content" | "Data".
    pub fn label(&self) -> &'static str {
        match self {
            Self::Element => "Element",
            Self::Content => "Content",
            Self::Data(_) => "Data",
        }
    }
}

/// The outcome for one EncryptedData.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecryptOutcome {
    Decrypted { plaintext: Vec<u8> },
    Failed { reason: String },
    NoKey { reason: String },
}

/// What happened to one EncryptedData.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedDataResult {
    /// The EncryptedData element in the original document.
    pub node: NodeId,
    pub id: Option<String>,
    pub data_type: EncryptedType,
    /// EncryptionMethod algorithm URI ("" when missing).
    pub algorithm: String,
    /// Where the key came from, when one was found.
    pub key_source: Option<String>,
    pub outcome: DecryptOutcome,
}

impl EncryptedDataResult {
    pub fn is_decrypted(&self) -> bool {
        matches!(self.outcome, DecryptOutcome::Decrypted { .. })
    }
}

/// Where an opened EncryptedData went in the decrypted document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// The EncryptedData element in the original document.
    pub original: NodeId,
    /// Byte range of the spliced plaintext in the decrypted document's source.
    pub new_span: Range<usize>,
    /// Top-level nodes of the plaintext in the decrypted document.
    pub new_nodes: Vec<NodeId>,
}

/// The decrypted view of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptedDocument {
    /// The re-parsed spliced document; `doc.source` is its serialized bytes.
    pub doc: Document,
    pub replacements: Vec<Replacement>,
}

/// Everything a decryption pass produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decryption {
    pub results: Vec<EncryptedDataResult>,
    /// The decrypted view (None when nothing could be spliced in, or when re-parsing failed).
    pub decrypted: Option<DecryptedDocument>,
    /// Why there is no decrypted view although something was opened.
    pub splice_error: Option<String>,
}

/// Why a key could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyFailure {
    /// Nothing usable was found.
    NoKey(String),
    /// A key was found but did not work (wrong key, integrity failure, malformed element).
    Failed(String),
}

impl KeyFailure {
    pub fn reason(&self) -> &str {
        match self {
            Self::NoKey(r) | Self::Failed(r) => r,
        }
    }
}

impl From<KeyResolveError> for KeyFailure {
    fn from(e: KeyResolveError) -> Self {
        match e {
            KeyResolveError::NotFound(r) => Self::NoKey(r),
            other => Self::Failed(other.to_string()),
        }
    }
}

/// Per-document state: the ID index, every EncryptedKey (found once, not per
/// EncryptedData), and the outcome of each EncryptedKey already opened, so a hostile
/// document cannot make the same RSA or unwrap operation run once per EncryptedData.
struct Ctx<'a> {
    doc: &'a Document,
    ids: IdIndex,
    resolver: &'a dyn KeyResolver,
    /// CarriedKeyName → EncryptedKeys carrying it.
    by_carried_name: HashMap<String, Vec<NodeId>>,
    /// `ReferenceList/DataReference|KeyReference@URI` → EncryptedKeys listing it.
    by_reference: HashMap<String, Vec<NodeId>>,
    opened: RefCell<HashMap<NodeId, KeyResult>>,
}

type KeyResult = Result<Resolved<Zeroizing<Vec<u8>>>, KeyFailure>;

impl<'a> Ctx<'a> {
    fn new(doc: &'a Document, resolver: &'a dyn KeyResolver) -> Self {
        let mut by_carried_name: HashMap<String, Vec<NodeId>> = HashMap::new();
        let mut by_reference: HashMap<String, Vec<NodeId>> = HashMap::new();
        for ek in all_elements_named(doc, NS_XENC, "EncryptedKey") {
            if let Some(c) = doc.find_child(ek, Some(NS_XENC), "CarriedKeyName") {
                by_carried_name.entry(text(doc, c)).or_default().push(ek);
            }
            if let Some(rl) = doc.find_child(ek, Some(NS_XENC), "ReferenceList") {
                for r in doc.children_elements(rl) {
                    let is_ref = super::util::is_element(doc, r, NS_XENC, "DataReference")
                        || super::util::is_element(doc, r, NS_XENC, "KeyReference");
                    if let (true, Some(uri)) = (is_ref, doc.attribute(r, None, "URI")) {
                        by_reference
                            .entry(uri.trim().to_string())
                            .or_default()
                            .push(ek);
                    }
                }
            }
        }
        Ctx {
            doc,
            ids: IdIndex::build(doc),
            resolver,
            by_carried_name,
            by_reference,
            opened: RefCell::new(HashMap::new()),
        }
    }
}

/// Decrypts every EncryptedData in `doc` and builds the decrypted view.
pub fn decrypt_document(doc: &Document, resolver: &dyn KeyResolver) -> Decryption {
    let ctx = Ctx::new(doc, resolver);
    let results: Vec<EncryptedDataResult> = all_elements_named(doc, NS_XENC, "EncryptedData")
        .into_iter()
        .map(|ed| decrypt_data(&ctx, ed))
        .collect();
    let mut results = results;
    let (decrypted, splice_error) = match splice(doc, &results) {
        Ok(d) => (d, None),
        // One plaintext that fits its fragment parse but not the whole document (nesting
        // depth added by its context, …) must not take every other plaintext's view with
        // it: splice them one by one, keep those that fit, fail the others.
        Err(e) => match splice_what_fits(doc, &mut results) {
            Some(d) => (Some(d), None),
            None => (None, Some(e)),
        },
    };
    Decryption {
        results,
        decrypted,
        splice_error,
    }
}

/// Decrypts one EncryptedData element.
pub fn decrypt_encrypted_data(
    doc: &Document,
    encrypted_data: NodeId,
    resolver: &dyn KeyResolver,
) -> EncryptedDataResult {
    let ctx = Ctx::new(doc, resolver);
    decrypt_data(&ctx, encrypted_data)
}

/// Decrypts one EncryptedKey element to the key it carries (used by resolvers whose KeyInfo
/// points at an EncryptedKey, e.g. an HMAC signature keyed by one).
pub fn decrypt_encrypted_key(
    doc: &Document,
    encrypted_key: NodeId,
    resolver: &dyn KeyResolver,
) -> Result<Resolved<Zeroizing<Vec<u8>>>, KeyFailure> {
    let ctx = Ctx::new(doc, resolver);
    open_encrypted_key(&ctx, encrypted_key, 0)
}

/// The EncryptionMethod Algorithm and CipherValue bytes of an EncryptedData/EncryptedKey.
fn method_and_cipher(
    doc: &Document,
    node: NodeId,
) -> (Option<NodeId>, String, Result<Vec<u8>, String>) {
    let what = describe(doc, node);
    let em = doc.find_child(node, Some(NS_XENC), "EncryptionMethod");
    let uri = em
        .and_then(|m| doc.attribute(m, None, "Algorithm"))
        .unwrap_or("")
        .trim()
        .to_string();
    let cipher = match doc.find_child(node, Some(NS_XENC), "CipherData") {
        None => Err(format!("{what} has no CipherData")),
        Some(cd) => match doc.find_child(cd, Some(NS_XENC), "CipherValue") {
            Some(cv) => decode_base64(&doc.text_content(cv))
                .map_err(|e| format!("{what}: CipherValue is {e}")),
            None if doc
                .find_child(cd, Some(NS_XENC), "CipherReference")
                .is_some() =>
            {
                Err(format!(
                    "{what}: unsupported CipherReference (only inline CipherValue)"
                ))
            }
            None => Err(format!("{what}: CipherData has no CipherValue")),
        },
    };
    (em, uri, cipher)
}

fn decrypt_data(ctx: &Ctx<'_>, ed: NodeId) -> EncryptedDataResult {
    let doc = ctx.doc;
    let what = describe(doc, ed);
    let (_, algorithm, cipher_value) = method_and_cipher(doc, ed);
    let mut result = EncryptedDataResult {
        node: ed,
        id: doc.attribute(ed, None, "Id").map(str::to_string),
        data_type: EncryptedType::from_attr(doc.attribute(ed, None, "Type")),
        algorithm: algorithm.clone(),
        key_source: None,
        outcome: DecryptOutcome::Failed {
            reason: String::new(),
        },
    };
    let fail = |reason: String| DecryptOutcome::Failed { reason };
    let Some(cipher) = BlockCipher::from_uri(&algorithm) else {
        result.outcome = fail(if algorithm.is_empty() {
            format!("{what} has no EncryptionMethod Algorithm (none agreed out of band)")
        } else {
            format!("{what}: unsupported EncryptionMethod {algorithm}")
        });
        return result;
    };
    let data = match cipher_value {
        Ok(d) => d,
        Err(e) => {
            result.outcome = fail(e);
            return result;
        }
    };
    let key_info = doc.find_child(ed, Some(NS_DSIG), "KeyInfo");
    let key = match key_for(ctx, ed, key_info, &EncryptionAlgorithm::Data(cipher), 0) {
        Ok(k) => k,
        Err(KeyFailure::NoKey(r)) => {
            result.outcome = DecryptOutcome::NoKey {
                reason: format!("{what} ({algorithm}): {r}"),
            };
            return result;
        }
        Err(KeyFailure::Failed(r)) => {
            result.outcome = fail(format!("{what} ({algorithm}): {r}"));
            return result;
        }
    };
    result.key_source = Some(key.source.clone());
    result.outcome = match crypto::decrypt_block(cipher, &key.key, &data) {
        Ok(pt) => DecryptOutcome::Decrypted {
            plaintext: pt.to_vec(),
        },
        Err(e) => fail(format!("{what}: {e} (key: {})", key.source)),
    };
    // An XML plaintext must be well-formed where it goes; otherwise the key was wrong (CBC
    // padding passes by chance about once in 16) or the sender encrypted garbage.
    if let (DecryptOutcome::Decrypted { plaintext }, true) =
        (&result.outcome, result.data_type.is_xml())
    {
        let parent = doc
            .nodes
            .get(ed)
            .and_then(|n| n.parent)
            .unwrap_or(Document::DOCUMENT);
        match Document::parse_fragment_in_context(plaintext, &doc.in_scope_namespaces(parent)) {
            Err(e) => {
                result.outcome = fail(format!(
                    "{what} ({algorithm}): decrypted {} is not well-formed XML in context (wrong key?): {e}",
                    result.data_type.label()
                ));
            }
            Ok(fragment) => {
                if let Some(why) = fragment_problem(&fragment, plaintext, &result.data_type) {
                    result.outcome = fail(format!(
                        "{what} ({algorithm}): decrypted {} {why}",
                        result.data_type.label()
                    ));
                }
            }
        }
    }
    result
}

/// Why a well-formed decrypted fragment still cannot replace its EncryptedData: an XML
/// declaration (only allowed at the very start of a document, so the spliced document would
/// not parse), or for Type Element anything but exactly one element (XML Encryption §3.5:
/// the plaintext of an Element is the serialized element).
fn fragment_problem(fragment: &Document, plaintext: &[u8], ty: &EncryptedType) -> Option<String> {
    let head = plaintext.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(plaintext);
    if head.starts_with(b"<?xml")
        && head
            .get(5)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'?'))
    {
        return Some("starts with an XML declaration, which cannot stand inside a document".into());
    }
    if *ty != EncryptedType::Element {
        return None;
    }
    let top = fragment.children(Document::DOCUMENT);
    let mut elements = 0usize;
    let mut other = false;
    for &c in &top {
        match fragment.nodes.get(c).map(|n| &n.kind) {
            Some(NodeKind::Element(_)) => elements += 1,
            Some(NodeKind::Text(t)) if t.trim().is_empty() => {}
            Some(NodeKind::Comment(_) | NodeKind::ProcessingInstruction { .. }) => {}
            _ => other = true,
        }
    }
    if elements != 1 || other {
        return Some(format!(
            "is not one element ({elements} element(s){}); the Type says Element",
            if other { " and text" } else { "" }
        ));
    }
    None
}

/// Finds and uses the key for `owner` (an EncryptedData or EncryptedKey) whose KeyInfo is
/// `key_info`, following the order in the module documentation.
fn key_for(
    ctx: &Ctx<'_>,
    owner: NodeId,
    key_info: Option<NodeId>,
    algorithm: &EncryptionAlgorithm,
    depth: usize,
) -> Result<Resolved<Zeroizing<Vec<u8>>>, KeyFailure> {
    let doc = ctx.doc;
    let mut no_key: Vec<String> = Vec::new();
    let mut failed: Vec<String> = Vec::new();

    for ek in candidate_encrypted_keys(ctx, owner, key_info, &mut failed) {
        if depth >= MAX_KEY_DEPTH {
            failed.push(format!("EncryptedKey nesting deeper than {MAX_KEY_DEPTH}"));
            break;
        }
        match open_encrypted_key(ctx, ek, depth + 1) {
            Ok(k) => return Ok(k),
            Err(KeyFailure::NoKey(r)) => no_key.push(r),
            Err(KeyFailure::Failed(r)) => failed.push(r),
        }
    }
    match ctx.resolver.decryption_key(doc, key_info, algorithm) {
        Ok(k) => return Ok(k),
        Err(KeyResolveError::NotFound(r)) => no_key.push(r),
        Err(e) => failed.push(e.to_string()),
    }
    if !failed.is_empty() {
        Err(KeyFailure::Failed(failed.join("; ")))
    } else {
        Err(KeyFailure::NoKey(no_key.join("; ")))
    }
}

/// EncryptedKey elements that may carry the key for `owner`, in the order to try them.
fn candidate_encrypted_keys(
    ctx: &Ctx<'_>,
    owner: NodeId,
    key_info: Option<NodeId>,
    failed: &mut Vec<String>,
) -> Vec<NodeId> {
    let doc = ctx.doc;
    let mut out: Vec<NodeId> = Vec::new();
    let push = |n: NodeId, out: &mut Vec<NodeId>| {
        if n != owner && !out.contains(&n) && out.len() < MAX_CANDIDATES {
            out.push(n);
        }
    };
    if let Some(ki) = key_info {
        for ek in children_named(doc, ki, NS_XENC, "EncryptedKey") {
            push(ek, &mut out);
        }
        for rm in children_named(doc, ki, NS_DSIG, "RetrievalMethod") {
            let ty = doc.attribute(rm, None, "Type").map(str::trim);
            let uri = doc.attribute(rm, None, "URI").unwrap_or("").trim();
            if ty.is_some_and(|t| t != TYPE_ENCRYPTED_KEY) {
                continue;
            }
            match uri.strip_prefix('#').map(|id| ctx.ids.get(doc, id)) {
                Some(Ok(Some(n))) if super::util::is_element(doc, n, NS_XENC, "EncryptedKey") => {
                    push(n, &mut out)
                }
                Some(Ok(Some(_))) if ty.is_none() => {}
                Some(Ok(Some(n))) => failed.push(format!(
                    "RetrievalMethod URI {uri} points at {}, not an EncryptedKey",
                    describe(doc, n)
                )),
                Some(Ok(None)) => failed.push(format!(
                    "RetrievalMethod URI {uri}: no element carries this ID"
                )),
                Some(Err(e)) => failed.push(format!("RetrievalMethod URI {uri}: {e}")),
                None => failed.push(format!(
                    "unsupported RetrievalMethod URI '{uri}' (only #id)"
                )),
            }
        }
        // WS-Security: <wsse:SecurityTokenReference><wsse:Reference URI="#ek"/> naming an
        // EncryptedKey directly (other token references are the resolver's business).
        for str_ in children_named(doc, ki, NS_WSSE, "SecurityTokenReference") {
            for r in children_named(doc, str_, NS_WSSE, "Reference") {
                let uri = doc.attribute(r, None, "URI").unwrap_or("").trim();
                if let Some(Ok(Some(n))) = uri.strip_prefix('#').map(|id| ctx.ids.get(doc, id)) {
                    if super::util::is_element(doc, n, NS_XENC, "EncryptedKey") {
                        push(n, &mut out);
                    }
                }
            }
        }
        for kn in children_named(doc, ki, NS_DSIG, "KeyName") {
            let name = text(doc, kn);
            for &ek in ctx
                .by_carried_name
                .get(&name)
                .into_iter()
                .flatten()
                .take(MAX_CANDIDATES)
            {
                push(ek, &mut out);
            }
        }
    }
    // The ReferenceList link is used only when the element has no KeyInfo at all: with a
    // KeyInfo (e.g. a token reference to a key derived from that EncryptedKey), the
    // EncryptedKey's own key is not necessarily the data key.
    if let (None, Some(id)) = (key_info, doc.attribute(owner, None, "Id")) {
        let target = format!("#{id}");
        for &ek in ctx
            .by_reference
            .get(&target)
            .into_iter()
            .flatten()
            .take(MAX_CANDIDATES)
        {
            push(ek, &mut out);
        }
    }
    out
}

/// The key-transport or key-wrap algorithm of an EncryptedKey's EncryptionMethod.
fn key_encryption(doc: &Document, em: Option<NodeId>, uri: &str) -> Result<KeyEncryption, String> {
    if let Some(w) = KeyWrap::from_uri(uri) {
        return Ok(KeyEncryption::Wrap(w));
    }
    let oaep_11 = uri == KT_RSA_OAEP_11;
    if uri == KT_RSA_1_5 {
        return Ok(KeyEncryption::Transport(KeyTransport::RsaPkcs1v15));
    }
    if uri != KT_RSA_OAEP_MGF1P && !oaep_11 {
        return Err(if uri.is_empty() {
            "EncryptedKey has no EncryptionMethod Algorithm".to_string()
        } else {
            format!("unsupported EncryptionMethod {uri}")
        });
    }
    let em = em.ok_or("EncryptedKey has no EncryptionMethod")?;
    let digest = match doc.find_child(em, Some(NS_DSIG), "DigestMethod") {
        None => DigestAlgorithm::Sha1,
        Some(d) => {
            let du = doc.attribute(d, None, "Algorithm").unwrap_or("").trim();
            DigestAlgorithm::from_uri(du)
                .ok_or_else(|| format!("unsupported OAEP DigestMethod {du} ({uri})"))?
        }
    };
    // rsa-oaep-mgf1p fixes MGF1 with SHA-1; xmlenc11#rsa-oaep names it (default SHA-1).
    let mgf1_digest = match doc
        .find_child(em, Some(NS_XENC11), "MGF")
        .filter(|_| oaep_11)
    {
        None => DigestAlgorithm::Sha1,
        Some(m) => {
            let mu = doc.attribute(m, None, "Algorithm").unwrap_or("").trim();
            mgf1_from_uri(mu).ok_or_else(|| format!("unsupported MGF {mu} ({uri})"))?
        }
    };
    let label = match doc.find_child(em, Some(NS_XENC), "OAEPparams") {
        None => Vec::new(),
        Some(p) => {
            decode_base64(&doc.text_content(p)).map_err(|e| format!("OAEPparams is {e} ({uri})"))?
        }
    };
    Ok(KeyEncryption::Transport(KeyTransport::RsaOaep {
        digest,
        mgf1_digest,
        label,
    }))
}

/// Opens an EncryptedKey once per document (later calls get the remembered outcome).
fn open_encrypted_key(ctx: &Ctx<'_>, ek: NodeId, depth: usize) -> KeyResult {
    if let Some(done) = ctx.opened.borrow().get(&ek) {
        return done.clone();
    }
    let result = open_encrypted_key_uncached(ctx, ek, depth);
    // A failure caused by the nesting limit depends on the path taken; don't remember it.
    if depth < MAX_KEY_DEPTH {
        ctx.opened.borrow_mut().insert(ek, result.clone());
    }
    result
}

fn open_encrypted_key_uncached(
    ctx: &Ctx<'_>,
    ek: NodeId,
    depth: usize,
) -> Result<Resolved<Zeroizing<Vec<u8>>>, KeyFailure> {
    let doc = ctx.doc;
    let what = describe(doc, ek);
    let (em, uri, cipher_value) = method_and_cipher(doc, ek);
    let method =
        key_encryption(doc, em, &uri).map_err(|e| KeyFailure::Failed(format!("{what}: {e}")))?;
    let ct = cipher_value.map_err(KeyFailure::Failed)?;
    let key_info = doc.find_child(ek, Some(NS_DSIG), "KeyInfo");
    let recipient = doc
        .attribute(ek, None, "Recipient")
        .map(|r| format!(" for Recipient '{r}'"))
        .unwrap_or_default();
    match method {
        KeyEncryption::Transport(t) => {
            let r = ctx
                .resolver
                .decrypt_key_transport(doc, key_info, &t, &ct)
                .map_err(|e| {
                    prefix_failure(KeyFailure::from(e), &format!("{what}{recipient} ({uri})"))
                })?;
            Ok(Resolved {
                key: r.key,
                source: format!("{what} ({uri}) with {}", r.source),
            })
        }
        KeyEncryption::Wrap(w) => {
            let kek = key_for(
                ctx,
                ek,
                key_info,
                &EncryptionAlgorithm::Key(KeyEncryption::Wrap(w)),
                depth,
            )
            .map_err(|e| {
                prefix_failure(e, &format!("{what}{recipient} ({uri}) key-encryption key"))
            })?;
            let key = crypto::key_unwrap(w, &kek.key, &ct).map_err(|e| {
                KeyFailure::Failed(format!("{what}{recipient}: {e} (KEK: {})", kek.source))
            })?;
            Ok(Resolved {
                key,
                source: format!("{what} ({uri}) with {}", kek.source),
            })
        }
    }
}

fn prefix_failure(f: KeyFailure, prefix: &str) -> KeyFailure {
    match f {
        KeyFailure::NoKey(r) => KeyFailure::NoKey(format!("{prefix}: {r}")),
        KeyFailure::Failed(r) => KeyFailure::Failed(format!("{prefix}: {r}")),
    }
}

/// Escapes text for splicing into character content.
fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// At most this many plaintexts are tried one by one when splicing them all at once failed
/// (each try re-parses the document).
const MAX_SPLICE_TRIES: usize = 32;

/// Splices the opened plaintexts one at a time, keeping each that leaves the document
/// parseable; those that do not become failures naming the reason. None when none fits or
/// there are too many to try.
fn splice_what_fits(
    doc: &Document,
    results: &mut [EncryptedDataResult],
) -> Option<DecryptedDocument> {
    let opened: Vec<usize> = (0..results.len())
        .filter(|&i| results[i].is_decrypted())
        .collect();
    if opened.is_empty() || opened.len() > MAX_SPLICE_TRIES {
        return None;
    }
    let mut keep: Vec<usize> = Vec::new();
    for &i in &opened {
        let trial: Vec<EncryptedDataResult> = keep
            .iter()
            .chain(std::iter::once(&i))
            .map(|&k| results[k].clone())
            .collect();
        match splice(doc, &trial) {
            Ok(_) => keep.push(i),
            Err(e) => {
                results[i].outcome = DecryptOutcome::Failed {
                    reason: format!(
                        "{}: the decrypted content does not fit in the document: {e}",
                        describe(doc, results[i].node)
                    ),
                }
            }
        }
    }
    let kept: Vec<EncryptedDataResult> = keep.iter().map(|&k| results[k].clone()).collect();
    splice(doc, &kept).ok().flatten()
}

/// Builds the decrypted view (see the module documentation). Ok(None) when nothing was
/// opened.
fn splice(
    doc: &Document,
    results: &[EncryptedDataResult],
) -> Result<Option<DecryptedDocument>, String> {
    // (original node, span to replace, replacement bytes)
    let mut edits: Vec<(NodeId, Range<usize>, Vec<u8>)> = Vec::new();
    for r in results {
        let DecryptOutcome::Decrypted { plaintext } = &r.outcome else {
            continue;
        };
        let Some(node) = doc.nodes.get(r.node) else {
            continue;
        };
        let bytes = match (&r.data_type, std::str::from_utf8(plaintext)) {
            (t, _) if t.is_xml() => plaintext.clone(),
            // Opaque data: the root cannot become text, and non-UTF-8 cannot be spliced.
            (_, Ok(_)) if node.parent == Some(Document::DOCUMENT) => continue,
            (_, Ok(s)) => escape_text(s).into_bytes(),
            (_, Err(_)) => continue,
        };
        edits.push((r.node, node.span.clone(), bytes));
    }
    if edits.is_empty() {
        return Ok(None);
    }
    edits.sort_by_key(|e| e.1.start);
    let mut out = Vec::with_capacity(doc.source.len());
    let mut pos = 0usize;
    let mut placed: Vec<(NodeId, Range<usize>)> = Vec::new();
    for (node, span, bytes) in &edits {
        if span.start < pos || span.end > doc.source.len() {
            // Overlapping spans cannot happen for sibling EncryptedData; skip defensively.
            continue;
        }
        out.extend_from_slice(&doc.source[pos..span.start]);
        let start = out.len();
        out.extend_from_slice(bytes);
        placed.push((*node, start..out.len()));
        pos = span.end;
    }
    out.extend_from_slice(&doc.source[pos..]);
    let new_doc =
        Document::parse(&out).map_err(|e| format!("the spliced document does not parse: {e}"))?;
    let replacements = placed
        .into_iter()
        .map(|(original, new_span)| {
            let new_nodes = (0..new_doc.nodes.len())
                .filter(|&i| {
                    let n = &new_doc.nodes[i];
                    let inside =
                        |s: &Range<usize>| s.start >= new_span.start && s.end <= new_span.end;
                    inside(&n.span)
                        && !matches!(n.kind, NodeKind::Document)
                        && n.parent.is_none_or(|p| {
                            !inside(&new_doc.nodes[p].span) || p == Document::DOCUMENT
                        })
                })
                .collect();
            Replacement {
                original,
                new_span,
                new_nodes,
            }
        })
        .collect();
    Ok(Some(DecryptedDocument {
        doc: new_doc,
        replacements,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::cell::Cell;

    use openssl::pkey::PKey;
    use openssl::symm::{encrypt, Cipher};

    use super::*;
    use crate::xmlsec::algorithms::SignatureMethod;
    use crate::xmlsec::resolver::VerificationKey;
    use crate::xmlsec::util::b64;

    /// Hands out one KEK by KeyName and counts how often it is asked.
    struct CountingKek {
        kek: Vec<u8>,
        asked: Cell<usize>,
    }

    impl KeyResolver for CountingKek {
        fn signing_key(
            &self,
            _: &Document,
            _: Option<NodeId>,
            _: SignatureMethod,
        ) -> Result<Resolved<VerificationKey>, KeyResolveError> {
            Err(KeyResolveError::NotFound("none".into()))
        }
        fn decryption_key(
            &self,
            doc: &Document,
            key_info: Option<NodeId>,
            _: &EncryptionAlgorithm,
        ) -> Result<Resolved<Zeroizing<Vec<u8>>>, KeyResolveError> {
            let named = key_info
                .and_then(|k| doc.find_child(k, Some(NS_DSIG), "KeyName"))
                .is_some_and(|n| text(doc, n) == "kek");
            if !named {
                return Err(KeyResolveError::NotFound("not kek".into()));
            }
            self.asked.set(self.asked.get() + 1);
            Ok(Resolved {
                key: Zeroizing::new(self.kek.clone()),
                source: "kek".into(),
            })
        }
    }

    #[test]
    fn shared_encrypted_key_is_opened_once_and_each_data_decrypts() {
        let kek = b"0123456789abcdef".to_vec();
        let cek = b"fedcba9876543210";
        // Wrap with OpenSSL's own RFC 3394 implementation (not ours).
        let aes = openssl::aes::AesKey::new_encrypt(&kek).unwrap();
        let mut wrapped = vec![0u8; 24];
        openssl::aes::wrap_key(&aes, None, &mut wrapped, cek).unwrap();
        let mut datas = String::new();
        for i in 0..3 {
            let iv = [i as u8; 16];
            let mut cv = iv.to_vec();
            let plain = format!("<p:v>{i}</p:v>");
            cv.extend(encrypt(Cipher::aes_128_cbc(), cek, Some(&iv), plain.as_bytes()).unwrap());
            datas.push_str(&format!(
                "<x:EncryptedData Id=\"d{i}\" Type=\"{TYPE_ELEMENT}\"><x:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#aes128-cbc\"/>\
                 <ds:KeyInfo><ds:RetrievalMethod Type=\"{TYPE_ENCRYPTED_KEY}\" URI=\"#ek\"/></ds:KeyInfo>\
                 <x:CipherData><x:CipherValue>{}</x:CipherValue></x:CipherData></x:EncryptedData>",
                b64(&cv)
            ));
        }
        let xml = format!(
            "<r xmlns:p=\"urn:p\" xmlns:x=\"{NS_XENC}\" xmlns:ds=\"{NS_DSIG}\">{datas}\
             <x:EncryptedKey Id=\"ek\"><x:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#kw-aes128\"/>\
             <ds:KeyInfo><ds:KeyName>kek</ds:KeyName></ds:KeyInfo>\
             <x:CipherData><x:CipherValue>{}</x:CipherValue></x:CipherData></x:EncryptedKey></r>",
            b64(&wrapped)
        );
        let doc = Document::parse(xml.as_bytes()).unwrap();
        let r = CountingKek {
            kek,
            asked: Cell::new(0),
        };
        let d = decrypt_document(&doc, &r);
        assert_eq!(d.results.len(), 3);
        assert!(
            d.results.iter().all(|x| x.is_decrypted()),
            "{:?}",
            d.results
        );
        assert_eq!(r.asked.get(), 1, "the EncryptedKey must be opened once");
        let view = d.decrypted.unwrap();
        let text = String::from_utf8(view.doc.source.clone()).unwrap();
        assert!(
            text.contains("<p:v>0</p:v><p:v>1</p:v><p:v>2</p:v><x:EncryptedKey"),
            "{text}"
        );
        // Each replacement maps to exactly its element, which resolved the p: prefix.
        for rep in &view.replacements {
            assert_eq!(rep.new_nodes.len(), 1);
            let e = view.doc.element(rep.new_nodes[0]).unwrap();
            assert_eq!(e.name.ns.as_deref(), Some("urn:p"));
        }
    }

    #[test]
    fn malformed_cipher_values_and_methods_are_named() {
        let xml = format!(
            "<r xmlns:x=\"{NS_XENC}\">\
             <x:EncryptedData Id=\"a\"><x:EncryptionMethod Algorithm=\"urn:unknown\"/><x:CipherData><x:CipherValue>AAAA</x:CipherValue></x:CipherData></x:EncryptedData>\
             <x:EncryptedData Id=\"b\"><x:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#aes128-cbc\"/><x:CipherData><x:CipherValue>AA*A</x:CipherValue></x:CipherData></x:EncryptedData>\
             <x:EncryptedData Id=\"c\"><x:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#aes128-cbc\"/><x:CipherData><x:CipherReference URI=\"http://x\"/></x:CipherData></x:EncryptedData>\
             </r>"
        );
        let doc = Document::parse(xml.as_bytes()).unwrap();
        let r = CountingKek {
            kek: vec![],
            asked: Cell::new(0),
        };
        let d = decrypt_document(&doc, &r);
        let reason = |i: usize| match &d.results[i].outcome {
            DecryptOutcome::Failed { reason } => reason.clone(),
            o => panic!("{o:?}"),
        };
        assert!(
            reason(0).contains("unsupported EncryptionMethod urn:unknown"),
            "{}",
            reason(0)
        );
        assert!(
            reason(1).contains("not valid base64") && reason(1).contains("Id=\"b\""),
            "{}",
            reason(1)
        );
        assert!(
            reason(2).contains("unsupported CipherReference"),
            "{}",
            reason(2)
        );
        assert!(d.decrypted.is_none());
    }

    #[test]
    fn xmlenc11_rsa_oaep_with_mgf_and_gcm_data() {
        use openssl::encrypt::Encrypter;
        use openssl::hash::MessageDigest;
        use openssl::rsa::{Padding, Rsa};
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let cek = [7u8; 32];
        let mut e = Encrypter::new(&key).unwrap();
        e.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
        e.set_rsa_oaep_md(MessageDigest::sha256()).unwrap();
        e.set_rsa_mgf1_md(MessageDigest::sha384()).unwrap();
        e.set_rsa_oaep_label(b"label").unwrap();
        let mut wrapped = vec![0u8; e.encrypt_len(&cek).unwrap()];
        let n = e.encrypt(&cek, &mut wrapped).unwrap();
        wrapped.truncate(n);
        // AES-256-GCM: IV || ciphertext || tag, made with openssl directly.
        let iv = [9u8; 12];
        let mut tag = [0u8; 16];
        let ct = openssl::symm::encrypt_aead(
            Cipher::aes_256_gcm(),
            &cek,
            Some(&iv),
            &[],
            b"<v>gcm</v>",
            &mut tag,
        )
        .unwrap();
        let mut cv = iv.to_vec();
        cv.extend(ct);
        cv.extend(tag);
        let xml = format!(
            "<r xmlns:x=\"{NS_XENC}\" xmlns:ds=\"{NS_DSIG}\"><x:EncryptedData Type=\"{TYPE_ELEMENT}\">\
             <x:EncryptionMethod Algorithm=\"http://www.w3.org/2009/xmlenc11#aes256-gcm\"/><ds:KeyInfo>\
             <x:EncryptedKey><x:EncryptionMethod Algorithm=\"http://www.w3.org/2009/xmlenc11#rsa-oaep\">\
             <ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\
             <m:MGF xmlns:m=\"{NS_XENC11}\" Algorithm=\"http://www.w3.org/2009/xmlenc11#mgf1sha384\"/>\
             <x:OAEPparams>{}</x:OAEPparams></x:EncryptionMethod>\
             <x:CipherData><x:CipherValue>{}</x:CipherValue></x:CipherData></x:EncryptedKey></ds:KeyInfo>\
             <x:CipherData><x:CipherValue>{}</x:CipherValue></x:CipherData></x:EncryptedData></r>",
            b64(b"label"),
            b64(&wrapped),
            b64(&cv)
        );
        let doc = Document::parse(xml.as_bytes()).unwrap();
        let mut r = crate::xmlsec::StandaloneResolver::new();
        drop(e);
        r.add_private_key(key, None, "generated");
        let d = decrypt_document(&doc, &r);
        assert_eq!(
            d.results[0].outcome,
            DecryptOutcome::Decrypted {
                plaintext: b"<v>gcm</v>".to_vec()
            }
        );
        assert_eq!(String::from_utf8(d.decrypted.unwrap().doc.source).unwrap(), "<r xmlns:x=\"http://www.w3.org/2001/04/xmlenc#\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><v>gcm</v></r>");
        // The wrong MGF digest: OAEP decoding fails, and the message says RSA.
        let bad = xml.replace("mgf1sha384", "mgf1sha256");
        let d = decrypt_document(&Document::parse(bad.as_bytes()).unwrap(), &r);
        match &d.results[0].outcome {
            DecryptOutcome::Failed { reason } => {
                assert!(reason.contains("RSA decryption failed"), "{reason}")
            }
            o => panic!("{o:?}"),
        }
    }
}
