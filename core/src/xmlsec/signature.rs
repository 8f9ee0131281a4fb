//! XML Signature verification (core validation, XML Signature 1.1 §3.2) over an `xml` tree.
//!
//! For each `ds:Signature`: parse SignedInfo, resolve every Reference by same-document URI,
//! apply its transforms, digest, compare; canonicalize SignedInfo and check SignatureValue
//! with the key the [`KeyResolver`] supplies. The verdict is `Valid` only when every
//! reference resolved to exactly one element, every digest matched and the SignatureValue
//! verified. Every failure names the element, the algorithm URI and the reason.
//!
//! Supported: same-document URIs (`""`, `#id`, `#xpointer(/)`, `#xpointer(id('id'))`),
//! transforms enveloped-signature and c14n 1.0/1.1/exclusive (± comments), the digests and
//! SignatureMethods of [`super::algorithms`]. Anything else is reported as unsupported.

use std::cell::Cell;

use openssl::memcmp;

use super::algorithms::{
    C14nAlgorithm, DigestAlgorithm, SignatureMethod, Transform, NS_DSIG, NS_EXC_C14N,
    TRANSFORM_ENVELOPED, TRANSFORM_XPATH,
};
use super::canon::{canonicalize, NodeSet};
use super::crypto;
use super::resolver::{KeyResolveError, KeyResolver, VerificationKey};
use super::util::{children_named, decode_base64, describe, qname, text, IdIndex};
use crate::xml::{Document, NodeId};

/// At most this many References per SignedInfo (hostile input bound).
const MAX_REFERENCES: usize = 256;
/// At most this many signatures per document are checked.
pub const MAX_SIGNATURES: usize = 256;
/// Canonical bytes produced for References per document, at most (each URI="" reference
/// canonicalizes the whole document; this keeps a hostile document from multiplying that).
const C14N_BUDGET: usize = 256 << 20;
/// At most this many Transforms per Reference.
const MAX_TRANSFORMS: usize = 16;

/// The outcome of checking one signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureVerdict {
    /// Every reference resolved uniquely, every digest matched, the SignatureValue verified.
    Valid,
    /// Something was checked and found wrong (digest mismatch, bad SignatureValue, ambiguous
    /// or missing reference, refused HMAC truncation).
    Invalid { reason: String },
    /// Nothing was wrong as far as it could be checked, but no key was found.
    NoKey { reason: String },
    /// The signature could not be checked (unsupported algorithm or transform, malformed).
    Error { reason: String },
}

impl SignatureVerdict {
    pub fn is_valid(&self) -> bool {
        matches!(self, Self::Valid)
    }

    /// "valid" | "invalid" | "no-key" | "error" (the report vocabulary).
    pub fn label(&self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Invalid { .. } => "invalid",
            Self::NoKey { .. } => "no-key",
            Self::Error { .. } => "error",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Valid => None,
            Self::Invalid { reason } | Self::NoKey { reason } | Self::Error { reason } => {
                Some(reason)
            }
        }
    }
}

/// What happened to one Reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceResult {
    /// 1-based position in SignedInfo.
    pub index: usize,
    /// The Reference's own Id attribute, if any.
    pub reference_id: Option<String>,
    /// The URI attribute as written (None when absent).
    pub uri: Option<String>,
    /// The node the URI resolved to (the document node for `""`).
    pub resolved: Option<NodeId>,
    /// Qualified name of the resolved element ("#document" for the document node).
    pub element_name: Option<String>,
    /// Transform algorithm URIs, in order.
    pub transforms: Vec<String>,
    /// DigestMethod algorithm URI.
    pub digest_method: String,
    /// The octets that were digested (for display).
    pub canonical_bytes: Vec<u8>,
    pub computed_digest: Option<Vec<u8>>,
    pub claimed_digest: Vec<u8>,
    /// Some(true/false) when a digest was computed and compared, None otherwise.
    pub digest_valid: Option<bool>,
    /// Why the reference could not be checked or did not match.
    pub error: Option<String>,
    /// The kind of problem, when there is one.
    pub problem: Option<ReferenceProblem>,
}

/// Why a reference is not fine; decides whether the signature is invalid or unchecked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceProblem {
    /// The digest was computed and differs from DigestValue.
    DigestMismatch,
    /// No element carries the referenced ID.
    NotFound,
    /// Several elements carry the referenced ID (signature wrapping).
    Ambiguous,
    /// An algorithm, transform or URI form the engine does not support.
    Unsupported,
    /// Missing or undecodable parts of the Reference, or a processing failure.
    Malformed,
}

impl ReferenceProblem {
    /// Whether this problem proves the signed content is not intact (→ Invalid).
    pub fn is_invalidating(self) -> bool {
        matches!(
            self,
            Self::DigestMismatch | Self::NotFound | Self::Ambiguous
        )
    }
}

impl ReferenceResult {
    /// How the reference is named in messages: its Id when it has one, else its position.
    pub fn label(&self) -> String {
        match &self.reference_id {
            Some(id) => format!("#{id}"),
            None => format!("{}", self.index),
        }
    }
}

/// What happened to one `ds:Signature`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureResult {
    /// The Signature element.
    pub node: NodeId,
    /// Its Id attribute.
    pub id: Option<String>,
    /// CanonicalizationMethod algorithm URI.
    pub signed_info_method: String,
    /// SignatureMethod algorithm URI.
    pub signature_method_uri: String,
    pub verdict: SignatureVerdict,
    pub references: Vec<ReferenceResult>,
    /// The canonical SignedInfo that the SignatureValue covers (empty if not computed).
    pub canonical_signed_info: Vec<u8>,
    /// Where the verification key came from, when one was found.
    pub key_source: Option<String>,
    /// Whether the SignatureValue verified over the canonical SignedInfo (None when it could
    /// not be checked). True here alone does not make the signature valid.
    pub signature_value_valid: Option<bool>,
}

/// Every `ds:Signature` element in the document, in document order.
pub fn find_signatures(doc: &Document) -> Vec<NodeId> {
    super::util::all_elements_named(doc, NS_DSIG, "Signature")
}

/// Verifies every signature in the document (at most [`MAX_SIGNATURES`]; the rest are
/// reported as not checked).
pub fn verify_all(doc: &Document, resolver: &dyn KeyResolver) -> Vec<SignatureResult> {
    let cx = VerifyCtx::new(doc);
    cx.sigs
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            if i < MAX_SIGNATURES {
                verify_with_index(doc, s, resolver, &cx)
            } else {
                unchecked(
                    doc,
                    s,
                    format!("more than {MAX_SIGNATURES} signatures in the document"),
                )
            }
        })
        .collect()
}

/// Per-document state shared by all signatures: the ID index, the Signature elements and
/// the canonicalization budget that bounds the work a hostile document can cause.
struct VerifyCtx {
    ids: IdIndex,
    sigs: Vec<NodeId>,
    /// Canonical bytes still allowed to be produced for References in this document.
    budget: Cell<usize>,
}

impl VerifyCtx {
    fn new(doc: &Document) -> Self {
        VerifyCtx {
            ids: IdIndex::build(doc),
            sigs: find_signatures(doc),
            budget: Cell::new(C14N_BUDGET),
        }
    }

    /// Charges `n` canonical bytes; false once the budget is spent.
    fn charge(&self, n: usize) -> bool {
        let left = self.budget.get();
        self.budget.set(left.saturating_sub(n));
        n <= left
    }
}

fn unchecked(doc: &Document, sig: NodeId, reason: String) -> SignatureResult {
    SignatureResult {
        node: sig,
        id: doc.attribute(sig, None, "Id").map(str::to_string),
        signed_info_method: String::new(),
        signature_method_uri: String::new(),
        verdict: SignatureVerdict::Error {
            reason: format!("{}: {reason}", describe(doc, sig)),
        },
        references: Vec::new(),
        canonical_signed_info: Vec::new(),
        key_source: None,
        signature_value_valid: None,
    }
}

/// Verifies one `ds:Signature` element.
pub fn verify_signature(
    doc: &Document,
    signature: NodeId,
    resolver: &dyn KeyResolver,
) -> SignatureResult {
    verify_with_index(doc, signature, resolver, &VerifyCtx::new(doc))
}

/// Parsed `ds:SignedInfo` essentials.
struct SignedInfo {
    node: NodeId,
    c14n: Result<(C14nAlgorithm, Vec<String>), String>,
    c14n_uri: String,
    method: Result<SignatureMethod, String>,
    method_uri: String,
    hmac_output_bits: Result<Option<u64>, String>,
    references: Vec<NodeId>,
}

fn algorithm_attr(doc: &Document, node: Option<NodeId>) -> String {
    node.and_then(|n| doc.attribute(n, None, "Algorithm"))
        .unwrap_or("")
        .trim()
        .to_string()
}

/// The PrefixList of an `ec:InclusiveNamespaces` child (exc-c14n), split on whitespace.
fn prefix_list(doc: &Document, parent: NodeId) -> Vec<String> {
    children_named(doc, parent, NS_EXC_C14N, "InclusiveNamespaces")
        .first()
        .and_then(|&n| doc.attribute(n, None, "PrefixList"))
        .map(|p| p.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

fn parse_signed_info(doc: &Document, si: NodeId) -> SignedInfo {
    let cm = doc.find_child(si, Some(NS_DSIG), "CanonicalizationMethod");
    let c14n_uri = algorithm_attr(doc, cm);
    let c14n = match (cm, C14nAlgorithm::from_uri(&c14n_uri)) {
        (None, _) => Err("SignedInfo has no CanonicalizationMethod".to_string()),
        (Some(n), Some(a)) => Ok((a, prefix_list(doc, n))),
        (Some(_), None) => Err(format!("unsupported CanonicalizationMethod {c14n_uri}")),
    };
    let sm = doc.find_child(si, Some(NS_DSIG), "SignatureMethod");
    let method_uri = algorithm_attr(doc, sm);
    let method = match (sm, SignatureMethod::from_uri(&method_uri)) {
        (None, _) => Err("SignedInfo has no SignatureMethod".to_string()),
        (Some(_), Some(m)) => Ok(m),
        (Some(_), None) => Err(format!("unsupported SignatureMethod {method_uri}")),
    };
    let hmac_output_bits =
        match sm.and_then(|n| doc.find_child(n, Some(NS_DSIG), "HMACOutputLength")) {
            None => Ok(None),
            Some(n) => {
                let t = text(doc, n);
                t.parse::<u64>().map(Some).map_err(|_| {
                    format!("HMACOutputLength '{t}' is not a non-negative integer ({method_uri})")
                })
            }
        };
    SignedInfo {
        node: si,
        c14n,
        c14n_uri,
        method,
        method_uri,
        hmac_output_bits,
        references: children_named(doc, si, NS_DSIG, "Reference"),
    }
}

fn verify_with_index(
    doc: &Document,
    sig: NodeId,
    resolver: &dyn KeyResolver,
    cx: &VerifyCtx,
) -> SignatureResult {
    let mut result = SignatureResult {
        node: sig,
        id: doc.attribute(sig, None, "Id").map(str::to_string),
        signed_info_method: String::new(),
        signature_method_uri: String::new(),
        verdict: SignatureVerdict::Error {
            reason: String::new(),
        },
        references: Vec::new(),
        canonical_signed_info: Vec::new(),
        key_source: None,
        signature_value_valid: None,
    };
    let what = describe(doc, sig);
    let Some(si_node) = doc.find_child(sig, Some(NS_DSIG), "SignedInfo") else {
        result.verdict = SignatureVerdict::Error {
            reason: format!("{what} has no SignedInfo"),
        };
        return result;
    };
    let si = parse_signed_info(doc, si_node);
    result.signed_info_method = si.c14n_uri.clone();
    result.signature_method_uri = si.method_uri.clone();

    // Problems sorted by severity; the verdict takes the worst.
    let mut invalid: Vec<String> = Vec::new();
    let mut errors: Vec<String> = Vec::new();

    if si.references.is_empty() {
        errors.push(format!("{what}: SignedInfo has no Reference"));
    }
    if si.references.len() > MAX_REFERENCES {
        errors.push(format!("{what}: more than {MAX_REFERENCES} References"));
    }
    for (i, &r) in si.references.iter().take(MAX_REFERENCES).enumerate() {
        let rr = check_reference(doc, sig, r, i + 1, cx);
        let msg = rr
            .error
            .clone()
            .unwrap_or_else(|| format!("reference {} was not checked", rr.label()));
        match (rr.digest_valid, rr.problem) {
            (Some(true), None) => {}
            // Missing, ambiguous or changed content: the document is not what was signed.
            (_, Some(p)) if p.is_invalidating() => invalid.push(msg),
            _ => errors.push(msg),
        }
        result.references.push(rr);
    }

    // SignatureValue over the canonical SignedInfo.
    let signature_value = doc
        .find_child(sig, Some(NS_DSIG), "SignatureValue")
        .ok_or_else(|| format!("{what} has no SignatureValue"))
        .and_then(|n| {
            decode_base64(&doc.text_content(n)).map_err(|e| format!("SignatureValue is {e}"))
        });
    let mut no_key: Option<String> = None;
    match (&si.c14n, &si.method, &si.hmac_output_bits, &signature_value) {
        (Err(e), _, _, _) | (_, Err(e), _, _) | (_, _, Err(e), _) | (_, _, _, Err(e)) => {
            errors.push(e.clone())
        }
        (Ok((c14n, prefixes)), Ok(method), Ok(bits), Ok(value)) => {
            let set = NodeSet::subtree(si.node, c14n.with_comments());
            match canonicalize(doc, &set, *c14n, prefixes) {
                Err(e) => errors.push(format!(
                    "canonicalizing SignedInfo with {}: {e}",
                    si.c14n_uri
                )),
                Ok(bytes) => {
                    result.canonical_signed_info = bytes;
                    let key_info = doc.find_child(sig, Some(NS_DSIG), "KeyInfo");
                    match resolver.signing_key(doc, key_info, *method) {
                        Err(KeyResolveError::NotFound(e)) => no_key = Some(e),
                        Err(e) => errors.push(format!("key for {what} ({}): {e}", si.method_uri)),
                        Ok(key) => {
                            result.key_source = Some(key.source.clone());
                            match check_signature_value(
                                *method,
                                &key.key,
                                *bits,
                                &result.canonical_signed_info,
                                value,
                                &si.method_uri,
                            ) {
                                Ok(true) => result.signature_value_valid = Some(true),
                                Ok(false) => {
                                    result.signature_value_valid = Some(false);
                                    invalid.push(format!(
                                        "SignatureValue does not verify ({}, key: {})",
                                        si.method_uri, key.source
                                    ))
                                }
                                Err(SigCheck::Refused(e)) => invalid.push(e),
                                Err(SigCheck::Error(e)) => errors.push(e),
                            }
                        }
                    }
                }
            }
        }
    }

    result.verdict = if !invalid.is_empty() {
        SignatureVerdict::Invalid {
            reason: format!("{what}: {}", invalid.join("; ")),
        }
    } else if !errors.is_empty() {
        SignatureVerdict::Error {
            reason: format!("{what}: {}", errors.join("; ")),
        }
    } else if let Some(e) = no_key {
        SignatureVerdict::NoKey {
            reason: format!("{what} ({}): {e}", si.method_uri),
        }
    } else {
        SignatureVerdict::Valid
    };
    result
}

enum SigCheck {
    /// The signature is refused on principle (e.g. HMAC truncated below the minimum).
    Refused(String),
    /// It could not be checked.
    Error(String),
}

fn check_signature_value(
    method: SignatureMethod,
    key: &VerificationKey,
    hmac_bits: Option<u64>,
    data: &[u8],
    value: &[u8],
    uri: &str,
) -> Result<bool, SigCheck> {
    match (method, key) {
        (SignatureMethod::Hmac(d), VerificationKey::Hmac(k)) => {
            crypto::verify_hmac(d, k, data, value, hmac_bits).map_err(|e| match e {
                crypto::CryptoError::HmacOutputLength { .. } => {
                    SigCheck::Refused(format!("{e} ({uri})"))
                }
                other => SigCheck::Error(format!("{other} ({uri})")),
            })
        }
        (SignatureMethod::RsaPkcs1(_) | SignatureMethod::RsaPss(_), VerificationKey::Public(p)) => {
            if hmac_bits.is_some() {
                return Err(SigCheck::Error(format!(
                    "HMACOutputLength given for non-HMAC method {uri}"
                )));
            }
            crypto::verify_rsa(method, p, data, value)
                .map_err(|e| SigCheck::Error(format!("{e} ({uri})")))
        }
        (SignatureMethod::Hmac(_), VerificationKey::Public(_)) => Err(SigCheck::Error(format!(
            "{uri} needs a symmetric key, but the key found is a public key"
        ))),
        (_, VerificationKey::Hmac(_)) => Err(SigCheck::Error(format!(
            "{uri} needs a public key, but the key found is a symmetric key"
        ))),
    }
}

/// How a Reference URI dereferences (XML Signature §4.4.3.3).
struct Dereferenced {
    node: NodeId,
    /// Bare-name `#id` and `""` remove comments; the XPointer forms keep them.
    keep_comments: bool,
}

fn dereference(
    doc: &Document,
    uri: &str,
    ids: &IdIndex,
) -> Result<Option<Dereferenced>, (ReferenceProblem, String)> {
    use ReferenceProblem::{Ambiguous, Unsupported};
    if uri.is_empty() {
        return Ok(Some(Dereferenced {
            node: Document::DOCUMENT,
            keep_comments: false,
        }));
    }
    let Some(frag) = uri.strip_prefix('#') else {
        return Err((
            Unsupported,
            format!("unsupported external URI {uri} (only same-document references)"),
        ));
    };
    if frag == "xpointer(/)" {
        return Ok(Some(Dereferenced {
            node: Document::DOCUMENT,
            keep_comments: true,
        }));
    }
    if let Some(inner) = frag
        .strip_prefix("xpointer(id(")
        .and_then(|s| s.strip_suffix("))"))
    {
        let id = inner
            .strip_prefix('\'')
            .and_then(|s| s.strip_suffix('\''))
            .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
            .ok_or_else(|| (Unsupported, format!("unsupported XPointer {uri}")))?;
        let node = ids.get(doc, id).map_err(|e| (Ambiguous, e))?;
        return Ok(node.map(|node| Dereferenced {
            node,
            keep_comments: true,
        }));
    }
    if frag.starts_with("xpointer(") || frag.is_empty() {
        return Err((Unsupported, format!("unsupported XPointer {uri}")));
    }
    let node = ids.get(doc, frag).map_err(|e| (Ambiguous, e))?;
    Ok(node.map(|node| Dereferenced {
        node,
        keep_comments: false,
    }))
}

fn parse_transforms(
    doc: &Document,
    reference: NodeId,
) -> (Vec<String>, Result<Vec<Transform>, String>) {
    let nodes = doc
        .find_child(reference, Some(NS_DSIG), "Transforms")
        .map(|t| children_named(doc, t, NS_DSIG, "Transform"))
        .unwrap_or_default();
    let uris: Vec<String> = nodes
        .iter()
        .map(|&n| algorithm_attr(doc, Some(n)))
        .collect();
    if nodes.len() > MAX_TRANSFORMS {
        return (uris, Err(format!("more than {MAX_TRANSFORMS} transforms")));
    }
    let mut out = Vec::new();
    for (&n, uri) in nodes.iter().zip(&uris) {
        if uri == TRANSFORM_ENVELOPED {
            out.push(Transform::EnvelopedSignature);
        } else if uri == TRANSFORM_XPATH && is_not_signature_xpath(doc, n) {
            out.push(Transform::XPathNotSignature);
        } else if let Some(algorithm) = C14nAlgorithm::from_uri(uri) {
            let inclusive_prefixes = if algorithm.is_exclusive() {
                prefix_list(doc, n)
            } else {
                Vec::new()
            };
            out.push(Transform::C14n {
                algorithm,
                inclusive_prefixes,
            });
        } else {
            return (uris.clone(), Err(format!("unsupported transform {uri}")));
        }
    }
    (uris, Ok(out))
}

/// Whether an XPath Transform holds exactly `not(ancestor-or-self::P:Signature)` (spaces
/// ignored) with P bound to the XML Signature namespace where the XPath element is.
fn is_not_signature_xpath(doc: &Document, transform: NodeId) -> bool {
    let Some(xp) = doc.find_child(transform, Some(NS_DSIG), "XPath") else {
        return false;
    };
    let expr: String = doc
        .text_content(xp)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let Some(prefix) = expr
        .strip_prefix("not(ancestor-or-self::")
        .and_then(|s| s.strip_suffix(":Signature)"))
    else {
        return false;
    };
    doc.in_scope_namespaces(xp)
        .iter()
        .any(|d| d.prefix.as_deref() == Some(prefix) && d.uri == NS_DSIG)
}

fn check_reference(
    doc: &Document,
    sig: NodeId,
    r: NodeId,
    index: usize,
    cx: &VerifyCtx,
) -> ReferenceResult {
    let uri = doc.attribute(r, None, "URI").map(str::to_string);
    let dm = doc.find_child(r, Some(NS_DSIG), "DigestMethod");
    let digest_method = algorithm_attr(doc, dm);
    let (transforms, parsed) = parse_transforms(doc, r);
    let claimed = doc
        .find_child(r, Some(NS_DSIG), "DigestValue")
        .map(|n| decode_base64(&doc.text_content(n)));
    let mut rr = ReferenceResult {
        index,
        reference_id: doc.attribute(r, None, "Id").map(str::to_string),
        uri: uri.clone(),
        resolved: None,
        element_name: None,
        transforms,
        digest_method: digest_method.clone(),
        canonical_bytes: Vec::new(),
        computed_digest: None,
        claimed_digest: Vec::new(),
        digest_valid: None,
        error: None,
        problem: None,
    };
    let label = rr.label();
    let uri_text = uri.as_deref().unwrap_or("(none)").to_string();
    use ReferenceProblem::{Malformed, NotFound, Unsupported};
    let fail = |rr: &mut ReferenceResult, kind: ReferenceProblem, msg: String| {
        rr.problem = Some(kind);
        rr.error = Some(if kind == Unsupported {
            format!("{msg} in reference {label} (URI {uri_text})")
        } else {
            format!("reference {label} (URI {uri_text}): {msg}")
        });
    };

    let Some(uri) = uri else {
        fail(
            &mut rr,
            Unsupported,
            "unsupported Reference without URI (application-defined)".into(),
        );
        return rr;
    };
    let deref = match dereference(doc, &uri, &cx.ids) {
        Ok(Some(d)) => d,
        Ok(None) => {
            fail(&mut rr, NotFound, "no element carries this ID".into());
            return rr;
        }
        Err((kind, e)) => {
            fail(&mut rr, kind, e);
            return rr;
        }
    };
    rr.resolved = Some(deref.node);
    rr.element_name = Some(if deref.node == Document::DOCUMENT {
        "#document".to_string()
    } else {
        qname(doc, deref.node)
    });

    let digest = match (dm, DigestAlgorithm::from_uri(&digest_method)) {
        (None, _) => {
            fail(&mut rr, Malformed, "no DigestMethod".into());
            return rr;
        }
        (Some(_), None) => {
            fail(
                &mut rr,
                Unsupported,
                format!("unsupported DigestMethod {digest_method}"),
            );
            return rr;
        }
        (Some(_), Some(d)) => d,
    };
    match claimed {
        None => {
            fail(&mut rr, Malformed, "no DigestValue".into());
            return rr;
        }
        Some(Err(e)) => {
            fail(&mut rr, Malformed, format!("DigestValue is {e}"));
            return rr;
        }
        Some(Ok(c)) => rr.claimed_digest = c,
    }
    let transforms = match parsed {
        Ok(t) => t,
        Err(e) => {
            let kind = if e.starts_with("unsupported") {
                Unsupported
            } else {
                Malformed
            };
            fail(&mut rr, kind, e);
            return rr;
        }
    };

    // Apply the transforms: the data stays a node-set until a canonicalization turns it into
    // octets; a canonicalization must therefore be last (nothing here parses octets back).
    let mut set = NodeSet::subtree(deref.node, deref.keep_comments);
    let mut octets: Option<Vec<u8>> = None;
    for (i, t) in transforms.iter().enumerate() {
        if octets.is_some() {
            fail(
                &mut rr,
                Unsupported,
                format!("unsupported transform {} after canonicalization", t.uri()),
            );
            return rr;
        }
        match t {
            Transform::EnvelopedSignature => {
                // Removes the Signature containing the transform from the node-set.
                set.exclude = Some(sig);
            }
            Transform::XPathNotSignature => {
                // Drops every ds:Signature subtree; the node-set model holds one exclusion,
                // which suffices when the referenced subtree contains at most one
                // (outermost) Signature.
                let in_set: Vec<NodeId> = cx
                    .sigs
                    .iter()
                    .copied()
                    .filter(|&s| s == set.apex || doc.is_ancestor(set.apex, s))
                    .collect();
                // Only outermost ones matter (an inner one goes with its ancestor).
                let inside: Vec<NodeId> = in_set
                    .iter()
                    .copied()
                    .filter(|&s| !in_set.iter().any(|&o| o != s && doc.is_ancestor(o, s)))
                    .collect();
                match inside.as_slice() {
                    [] => {}
                    [one] if set.exclude.is_none_or(|e| e == *one) => set.exclude = Some(*one),
                    _ => {
                        fail(
                            &mut rr,
                            Unsupported,
                            format!("unsupported transform {TRANSFORM_XPATH} (the XPath removes several Signature elements)"),
                        );
                        return rr;
                    }
                }
            }
            Transform::C14n {
                algorithm,
                inclusive_prefixes,
            } => {
                let mut s = set.clone();
                // A with-comments algorithm cannot bring back comments the URI removed.
                s.with_comments = set.with_comments && algorithm.with_comments();
                match canonicalize(doc, &s, *algorithm, inclusive_prefixes) {
                    Ok(b) => octets = Some(b),
                    Err(e) => {
                        fail(
                            &mut rr,
                            Malformed,
                            format!("transform {} ({}): {e}", i + 1, algorithm.uri()),
                        );
                        return rr;
                    }
                }
            }
        }
    }
    let bytes = match octets {
        Some(b) => b,
        // A node-set left over is converted with Canonical XML 1.0 (§4.4.3.2).
        None => {
            let alg = C14nAlgorithm::Inclusive10 {
                with_comments: set.with_comments,
            };
            match canonicalize(doc, &set, alg, &[]) {
                Ok(b) => b,
                Err(e) => {
                    fail(
                        &mut rr,
                        Malformed,
                        format!("default canonicalization ({}): {e}", alg.uri()),
                    );
                    return rr;
                }
            }
        }
    };
    if !cx.charge(bytes.len()) {
        fail(
            &mut rr,
            Malformed,
            format!("canonicalization budget of {C14N_BUDGET} bytes per document exhausted"),
        );
        return rr;
    }
    rr.canonical_bytes = bytes;
    match crypto::digest(digest, &rr.canonical_bytes) {
        Ok(d) => {
            let ok = d.len() == rr.claimed_digest.len() && memcmp::eq(&d, &rr.claimed_digest);
            rr.computed_digest = Some(d);
            rr.digest_valid = Some(ok);
            if !ok {
                rr.problem = Some(ReferenceProblem::DigestMismatch);
                rr.error = Some(format!(
                    "digest mismatch at reference {label} (URI {uri_text}, {})",
                    digest.name()
                ));
            }
        }
        Err(e) => fail(&mut rr, Malformed, e.to_string()),
    }
    rr
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::xmlsec::resolver::NoKeys;

    fn sig_doc(references: &str) -> Document {
        let xml = format!(
            "<r xmlns=\"urn:r\"><!-- c --><a Id=\"a\">x<!-- in --></a>\
             <ds:Signature xmlns:ds=\"{NS_DSIG}\"><ds:SignedInfo>\
             <ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>\
             <ds:SignatureMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#hmac-sha1\"/>\
             {references}</ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature></r>"
        );
        Document::parse(xml.as_bytes()).unwrap()
    }

    fn reference(uri: &str, transforms: &[&str]) -> String {
        let t: String = transforms
            .iter()
            .map(|a| format!("<ds:Transform Algorithm=\"{a}\"/>"))
            .collect();
        format!(
            "<ds:Reference URI=\"{uri}\"><ds:Transforms>{t}</ds:Transforms>\
             <ds:DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/>\
             <ds:DigestValue>AAAAAAAAAAAAAAAAAAAAAAAAAAA=</ds:DigestValue></ds:Reference>"
        )
    }

    const WITH_COMMENTS: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";

    #[test]
    fn uri_forms_decide_comments_and_targets() {
        let refs = [
            reference("#a", &[WITH_COMMENTS]),
            reference("#xpointer(id('a'))", &[WITH_COMMENTS]),
            reference("", &[TRANSFORM_ENVELOPED]),
            reference("#xpointer(/)", &[TRANSFORM_ENVELOPED, WITH_COMMENTS]),
        ]
        .concat();
        let doc = sig_doc(&refs);
        let r = verify_all(&doc, &NoKeys);
        assert_eq!(r.len(), 1);
        let bytes: Vec<String> = r[0]
            .references
            .iter()
            .map(|x| String::from_utf8(x.canonical_bytes.clone()).unwrap())
            .collect();
        // Bare-name: comments removed even under #WithComments.
        assert_eq!(bytes[0], "<a xmlns=\"urn:r\" Id=\"a\">x</a>");
        // XPointer id(): comments kept.
        assert_eq!(bytes[1], "<a xmlns=\"urn:r\" Id=\"a\">x<!-- in --></a>");
        // "": whole document, no comments, Signature removed.
        assert_eq!(bytes[2], "<r xmlns=\"urn:r\"><a Id=\"a\">x</a></r>");
        // xpointer(/): comments kept.
        assert_eq!(
            bytes[3],
            "<r xmlns=\"urn:r\"><!-- c --><a Id=\"a\">x<!-- in --></a></r>"
        );
        // Every digest was computed (and the fake DigestValue does not match).
        assert!(r[0]
            .references
            .iter()
            .all(|x| x.digest_valid == Some(false)));
        assert!(matches!(r[0].verdict, SignatureVerdict::Invalid { .. }));
    }

    #[test]
    fn unsupported_and_missing_references_are_classified() {
        let refs = [
            reference("http://example.com/x", &[]),
            reference("#nothing", &[]),
            reference("#a", &["http://www.w3.org/2000/09/xmldsig#base64"]),
            reference("#xpointer(//a)", &[]),
        ]
        .concat();
        let r = verify_all(&sig_doc(&refs), &NoKeys);
        let p: Vec<_> = r[0].references.iter().map(|x| x.problem).collect();
        assert_eq!(
            p,
            [
                Some(ReferenceProblem::Unsupported),
                Some(ReferenceProblem::NotFound),
                Some(ReferenceProblem::Unsupported),
                Some(ReferenceProblem::Unsupported),
            ]
        );
        let e = r[0].references[2].error.clone().unwrap();
        assert_eq!(
            e,
            "unsupported transform http://www.w3.org/2000/09/xmldsig#base64 in reference 3 (URI #a)"
        );
        // A missing target makes the signature invalid, not merely unchecked.
        assert!(matches!(r[0].verdict, SignatureVerdict::Invalid { .. }));
    }

    #[test]
    fn no_key_and_unsupported_method_verdicts() {
        // Digest correct (computed here with openssl over the literal canonical form).
        let digest = openssl::sha::sha1(b"<a xmlns=\"urn:r\" Id=\"a\">x</a>");
        let b64 = openssl::base64::encode_block(&digest);
        let r = reference("#a", &[]).replace("AAAAAAAAAAAAAAAAAAAAAAAAAAA=", &b64);
        let res = verify_all(&sig_doc(&r), &NoKeys);
        assert!(
            matches!(res[0].verdict, SignatureVerdict::NoKey { .. }),
            "{:?}",
            res[0].verdict
        );
        assert_eq!(res[0].references[0].digest_valid, Some(true));
        let doc = sig_doc(&r);
        let text = String::from_utf8(doc.source.clone()).unwrap().replace(
            "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
            "http://www.w3.org/2000/09/xmldsig#dsa-sha1",
        );
        let res = verify_all(&Document::parse(text.as_bytes()).unwrap(), &NoKeys);
        match &res[0].verdict {
            SignatureVerdict::Error { reason } => assert!(
                reason.contains(
                    "unsupported SignatureMethod http://www.w3.org/2000/09/xmldsig#dsa-sha1"
                ),
                "{reason}"
            ),
            v => panic!("{v:?}"),
        }
    }
}
