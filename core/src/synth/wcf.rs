//! WCF message templates and the one routine that secures a message the way WCF's
//! SymmetricSecurityBindingElement does with the default settings (spec §8–§9): Strict
//! header layout, SignBeforeEncryptAndEncryptSignature, exc-c14n, Body signed+encrypted,
//! WS-Addressing headers and Timestamp signed, primary signature encrypted when anything is.
//!
//! How the signed bytes and the wire bytes agree: each message is first assembled as a
//! *clear* envelope tree (Body with its plaintext children, SignatureConfirmations and
//! UsernameToken unencrypted) exactly as WCF would have it when it computes digests. Every
//! digest is taken over [`El::exc_c14n`] of the referenced element in that tree, with the
//! namespace scope of its real ancestors. The wire envelope is then made from the *same*
//! element values: the signed headers and Timestamp are written byte-for-byte as in the clear
//! tree (so a verifier's exc-c14n of the wire element reproduces the digested string — the
//! c14n rules only look at the element's own subtree plus the URIs of prefixes it uses, which
//! the wire ancestors declare identically), and the encrypted parts carry the clear tree's
//! serialisation as plaintext (Body content written in the Body's context, element
//! plaintexts self-contained), so decrypting and splicing them back restores the clear tree.

use openssl::pkey::{PKey, Private};

use super::crypto::{self, b64, Rng};
use super::scenario::{AlgorithmSuite, BlockPadding, TamperKind, XMLDSIG, XMLENC};
use super::xmlt::{children_wire, El, Node, NsMap};
use super::SynthError;
use crate::model::ScVersion;

pub const S12: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const WSA: &str = "http://www.w3.org/2005/08/addressing";
pub const WSA_ANON: &str = "http://www.w3.org/2005/08/addressing/anonymous";
pub const WSSE: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
pub const WSU: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
pub const WSSE11: &str = "http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd";
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub const X509V3: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3";
pub const THUMBPRINT: &str =
    "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#ThumbprintSHA1";
pub const EK_TOKEN: &str =
    "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#EncryptedKey";
pub const EK_SHA1: &str =
    "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#EncryptedKeySHA1";
pub const B64_ENC: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary";
pub const PASSWORD_TEXT: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";
pub const ED_CONTENT: &str = "http://www.w3.org/2001/04/xmlenc#Content";
pub const ED_ELEMENT: &str = "http://www.w3.org/2001/04/xmlenc#Element";
pub const RSA_OAEP: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
pub const RSA_15: &str = "http://www.w3.org/2001/04/xmlenc#rsa-1_5";

/// WS-Trust / WS-SecureConversation names for one version (spec §2, §3).
#[derive(Clone, Copy, Debug)]
pub struct Wst {
    pub version: ScVersion,
    pub sc_ns: &'static str,
    pub trust_ns: &'static str,
    /// Prefixes WCF writes for the SC and Trust namespaces.
    pub c: &'static str,
    pub t: &'static str,
}

impl Wst {
    pub fn new(v: ScVersion) -> Wst {
        match v {
            ScVersion::Feb2005 => Wst {
                version: v,
                sc_ns: "http://schemas.xmlsoap.org/ws/2005/02/sc",
                trust_ns: "http://schemas.xmlsoap.org/ws/2005/02/trust",
                c: "c",
                t: "t",
            },
            ScVersion::V13 => Wst {
                version: v,
                sc_ns: "http://docs.oasis-open.org/ws-sx/ws-secureconversation/200512",
                trust_ns: "http://docs.oasis-open.org/ws-sx/ws-trust/200512",
                c: "sc",
                t: "trust",
            },
        }
    }
    /// `<trust ns>/<suffix>`, e.g. `action("RST/SCT")`, `action("Issue")`.
    pub fn trust_uri(&self, suffix: &str) -> String {
        format!("{}/{suffix}", self.trust_ns)
    }
    pub fn sct_type(&self) -> String {
        format!("{}/sct", self.sc_ns)
    }
    pub fn dk_type(&self) -> String {
        format!("{}/dk", self.sc_ns)
    }
    pub fn cq(&self, local: &str) -> String {
        format!("{}:{local}", self.c)
    }
    pub fn tq(&self, local: &str) -> String {
        format!("{}:{local}", self.t)
    }
}

/// Per-message `_n` Ids (WCF's header/part counter).
#[derive(Default)]
pub struct IdCounter(usize);
impl IdCounter {
    pub fn next(&mut self) -> String {
        let s = format!("_{}", self.0);
        self.0 += 1;
        s
    }
}

/// A process's `uuid-<guid>-<n>` Ids (WCF's SecurityUniqueId).
pub struct UuidGen {
    guid: String,
    n: u64,
}
impl UuidGen {
    pub fn new(rng: &mut Rng) -> UuidGen {
        UuidGen {
            guid: rng.guid(),
            n: 0,
        }
    }
    pub fn next(&mut self) -> String {
        self.n += 1;
        format!("uuid-{}-{}", self.guid, self.n)
    }
}

/// `yyyy-MM-ddTHH:mm:ss.fffZ` as WCF writes Timestamp and Lifetime values.
pub fn xsd_time(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let millis = nanos.rem_euclid(1_000_000_000) / 1_000_000;
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            millis
        ),
        Err(_) => "1970-01-01T00:00:00.000Z".to_string(),
    }
}

// ---- token templates -------------------------------------------------------------------

/// STR naming an EncryptedKey in the same message (BSP form: TokenType + ValueType).
pub fn str_ek_local(ek_id: &str) -> El {
    El::new("o:SecurityTokenReference")
        .attr("k:TokenType", EK_TOKEN)
        .ns("k", WSSE11)
        .child(
            El::new("o:Reference")
                .attr("ValueType", EK_TOKEN)
                .attr("URI", &format!("#{ek_id}")),
        )
}
/// STR naming the request's EncryptedKey by EncryptedKeySHA1 (server → client).
pub fn str_ek_sha1(sha1_b64: &str) -> El {
    El::new("o:SecurityTokenReference")
        .attr("k:TokenType", EK_TOKEN)
        .ns("k", WSSE11)
        .child(
            El::new("o:KeyIdentifier")
                .attr("ValueType", EK_SHA1)
                .attr("EncodingType", B64_ENC)
                .text(sha1_b64),
        )
}
/// Client → server: local reference to the SCT carried in the same message.
pub fn str_sct_local(w: &Wst, sct_wsu_id: &str) -> El {
    El::new("o:SecurityTokenReference").child(
        El::new("o:Reference")
            .attr("ValueType", &w.sct_type())
            .attr("URI", &format!("#{sct_wsu_id}")),
    )
}
/// Server → client (and Cancel/RenewTarget): external reference by the SCT Identifier, with
/// the `Instance` attribute (SC namespace) once the key was renewed (spec §9.2).
pub fn str_sct_external(w: &Wst, identifier: &str, instance: Option<&str>) -> El {
    let r = El::new("o:Reference").attr("URI", identifier);
    let r = match instance {
        Some(i) => r.attr(&w.cq("Instance"), i).ns(w.c, w.sc_ns),
        None => r,
    };
    El::new("o:SecurityTokenReference").child(r.attr("ValueType", &w.sct_type()))
}

/// `c:DerivedKeyToken` as WCF writes it (§6): Offset/Length only when Length ≠ 32.
pub fn dkt(w: &Wst, id: &str, base: El, len: usize, nonce: &[u8]) -> El {
    let mut e = El::new(&w.cq("DerivedKeyToken"))
        .attr("u:Id", id)
        .ns(w.c, w.sc_ns)
        .child(base);
    if len != 32 {
        e = e
            .child(El::leaf(&w.cq("Offset"), "0"))
            .child(El::leaf(&w.cq("Length"), &len.to_string()));
    }
    e.child(El::leaf(&w.cq("Nonce"), &b64(nonce)))
}

/// A DerivedKeyToken with its key: what a sender holds to sign or encrypt.
pub struct Dkt {
    pub id: String,
    pub el: El,
    pub key: zeroize::Zeroizing<Vec<u8>>,
}

impl Dkt {
    pub fn derive(
        w: &Wst,
        id: String,
        base_ref: El,
        base_key: &[u8],
        len: usize,
        rng: &mut Rng,
    ) -> Result<Dkt, SynthError> {
        let nonce = rng.bytes(16);
        let key = crypto::derive_key(base_key, &nonce, len)?;
        Ok(Dkt {
            el: dkt(w, &id, base_ref, len, &nonce),
            id,
            key,
        })
    }
}

/// `e:EncryptedKey` wrapping `key` for the service certificate, named by ThumbprintSHA1.
/// The EncryptionMethod has the SHA-1 DigestMethod child only for OAEP (spec §8.2).
pub fn encrypted_key(id: &str, thumbprint: &[u8], cipher: &[u8], oaep: bool) -> El {
    let method = if oaep {
        El::new("e:EncryptionMethod")
            .attr("Algorithm", RSA_OAEP)
            .child(
                El::new("DigestMethod")
                    .attr("Algorithm", &format!("{XMLDSIG}sha1"))
                    .ns("", XMLDSIG),
            )
    } else {
        El::new("e:EncryptionMethod").attr("Algorithm", RSA_15)
    };
    El::new("e:EncryptedKey")
        .attr("Id", id)
        .ns("e", XMLENC)
        .child(method)
        .child(
            El::new("KeyInfo").ns("", XMLDSIG).child(
                El::new("o:SecurityTokenReference").child(
                    El::new("o:KeyIdentifier")
                        .attr("ValueType", THUMBPRINT)
                        .attr("EncodingType", B64_ENC)
                        .text(&b64(thumbprint)),
                ),
            ),
        )
        .child(El::new("e:CipherData").child(El::leaf("e:CipherValue", &b64(cipher))))
}

/// `o:UsernameToken`, self-contained (it is encrypted as an element).
pub fn username_token(id: &str, user: &str, password: &str) -> El {
    El::new("o:UsernameToken")
        .attr("u:Id", id)
        .ns("o", WSSE)
        .ns("u", WSU)
        .child(El::leaf("o:Username", user))
        .child(El::leaf("o:Password", password).attr("Type", PASSWORD_TEXT))
}

// ---- securing a message --------------------------------------------------------------

/// WS-Addressing headers of one message.
pub struct Addressing {
    pub action: String,
    /// Request: MessageID, ReplyTo anonymous and To. Response: RelatesTo.
    pub message_id: Option<String>,
    pub to: Option<String>,
    pub relates_to: Option<String>,
}

/// A supporting token that endorses (signs) the primary signature.
pub enum Endorser<'a> {
    /// The client certificate (MutualCertificate): a BinarySecurityToken and an RSA signature.
    Certificate {
        der: Vec<u8>,
        key: &'a PKey<Private>,
        bst_id: String,
    },
    /// The session SCT on a renewal (spec §10): the SCT and a DKT from its key travel in the
    /// header, and an HMAC signature keyed by that DKT endorses the primary signature.
    Sct {
        tokens: Vec<El>,
        key: &'a [u8],
        dkt_id: String,
    },
}

/// What protects one message.
pub struct Protection<'a> {
    pub suite: AlgorithmSuite,
    pub padding: BlockPadding,
    /// Security tokens written right after the Timestamp (EncryptedKey or SCT, then DKTs).
    pub tokens: Vec<El>,
    pub sig_key: &'a [u8],
    pub sig_dkt_id: String,
    /// None: signed only (Cancel and its response).
    pub enc: Option<(&'a [u8], String)>,
    /// Supporting tokens that endorse the primary signature, in header order.
    pub endorsing: Vec<Endorser<'a>>,
    /// Signed and encrypted supporting UsernameToken.
    pub username: Option<El>,
    /// SignatureConfirmation values (base64 of the request's SignatureValues).
    pub confirmations: Vec<String>,
    pub tamper: Option<TamperKind>,
    /// Message time (nanoseconds since the epoch) for the Timestamp.
    pub now: i64,
}

pub struct Built {
    pub xml: String,
    /// Base64 SignatureValues, primary first then endorsing.
    pub signature_values: Vec<String>,
    pub signed_ids: Vec<String>,
    /// The Body's inner XML as shown (for a wrapped message: the fake Body's).
    pub plaintext_body: String,
    pub body_encrypted: bool,
}

fn scope_of(pairs: &[(&str, &str)]) -> NsMap {
    pairs
        .iter()
        .map(|(p, u)| (p.to_string(), u.to_string()))
        .collect()
}

fn envelope(headers: Vec<El>, security: Vec<El>, body: El) -> El {
    let sec = El::new("o:Security")
        .attr("s:mustUnderstand", "1")
        .ns("o", WSSE)
        .children(security);
    El::new("s:Envelope")
        .ns("s", S12)
        .ns("a", WSA)
        .ns("u", WSU)
        .child(El::new("s:Header").children(headers).child(sec))
        .child(body)
}

fn reference(uri: &str, suite: AlgorithmSuite, digest: &[u8]) -> El {
    El::new("Reference")
        .attr("URI", &format!("#{uri}"))
        .child(El::new("Transforms").child(El::new("Transform").attr("Algorithm", EXC_C14N)))
        .child(El::new("DigestMethod").attr("Algorithm", &suite.digest_uri()))
        .child(El::leaf("DigestValue", &b64(digest)))
}

fn signed_info(method: &str, refs: Vec<El>) -> El {
    El::new("SignedInfo")
        .child(El::new("CanonicalizationMethod").attr("Algorithm", EXC_C14N))
        .child(El::new("SignatureMethod").attr("Algorithm", method))
        .children(refs)
}

/// `<Signature>` with a KeyInfo STR pointing at `key_ref` (ValueType `vt`). When
/// `self_contained`, the STR redeclares `o` (the element is going to be encrypted and was
/// written by a fresh writer, spec §14.3).
fn signature_el(
    id: &str,
    si: El,
    value: &[u8],
    key_ref: &str,
    vt: &str,
    self_contained: bool,
) -> El {
    let mut str_el = El::new("o:SecurityTokenReference");
    if self_contained {
        str_el = str_el.ns("o", WSSE);
    }
    let str_el = str_el.child(
        El::new("o:Reference")
            .attr("ValueType", vt)
            .attr("URI", &format!("#{key_ref}")),
    );
    El::new("Signature")
        .attr("Id", id)
        .ns("", XMLDSIG)
        .child(si)
        .child(El::leaf("SignatureValue", &b64(value)))
        .child(El::new("KeyInfo").child(str_el))
}

fn encrypted_data(
    id: &str,
    ty: &str,
    suite: AlgorithmSuite,
    key_ref: &str,
    dk_type: &str,
    cipher: &[u8],
    declare_o: bool,
) -> El {
    let mut str_el = El::new("o:SecurityTokenReference");
    if declare_o {
        str_el = str_el.ns("o", WSSE);
    }
    El::new("e:EncryptedData")
        .attr("Id", id)
        .attr("Type", ty)
        .ns("e", XMLENC)
        .child(El::new("e:EncryptionMethod").attr("Algorithm", &suite.block_uri()))
        .child(
            El::new("KeyInfo").ns("", XMLDSIG).child(
                str_el.child(
                    El::new("o:Reference")
                        .attr("ValueType", dk_type)
                        .attr("URI", &format!("#{key_ref}")),
                ),
            ),
        )
        .child(El::new("e:CipherData").child(El::leaf("e:CipherValue", &b64(cipher))))
}

/// Builds one secured SOAP 1.2 message. `body` is the Body's plaintext content.
pub fn secure(
    w: &Wst,
    ids: &mut IdCounter,
    uuids: &mut UuidGen,
    rng: &mut Rng,
    addr: &Addressing,
    body: Vec<El>,
    p: Protection<'_>,
) -> Result<Built, SynthError> {
    let suite = p.suite;
    // Addressing headers, each signed and so given a u:Id.
    let mut headers = vec![El::leaf("a:Action", &addr.action)
        .attr("s:mustUnderstand", "1")
        .attr("u:Id", &ids.next())];
    if let Some(mid) = &addr.message_id {
        headers.push(El::leaf("a:MessageID", mid).attr("u:Id", &ids.next()));
        headers.push(
            El::new("a:ReplyTo")
                .attr("u:Id", &ids.next())
                .child(El::leaf("a:Address", WSA_ANON)),
        );
    }
    if let Some(rel) = &addr.relates_to {
        headers.push(El::leaf("a:RelatesTo", rel).attr("u:Id", &ids.next()));
    }
    if let Some(to) = &addr.to {
        headers.push(
            El::leaf("a:To", to)
                .attr("s:mustUnderstand", "1")
                .attr("u:Id", &ids.next()),
        );
    }
    let body_id = ids.next();
    let body_el = El::new("s:Body").attr("u:Id", &body_id).children(body);
    let ts_id = uuids.next();
    let timestamp = El::new("u:Timestamp")
        .attr("u:Id", &ts_id)
        .child(El::leaf("u:Created", &xsd_time(p.now)))
        .child(El::leaf("u:Expires", &xsd_time(p.now + 300_000_000_000)));
    let confirmations: Vec<El> = p
        .confirmations
        .iter()
        .map(|v| {
            let mut e = El::new("k:SignatureConfirmation")
                .attr("u:Id", &ids.next())
                .attr("Value", v)
                .ns("k", WSSE11);
            if p.enc.is_some() {
                e = e.ns("u", WSU); // encrypted as an element: self-contained
            }
            e
        })
        .collect();
    // Supporting tokens, written after the ReferenceList (spec §8.1 rows 6/6').
    let mut supporting: Vec<El> = Vec::new();
    for e in &p.endorsing {
        match e {
            Endorser::Certificate { der, bst_id, .. } => supporting.push(
                El::new("o:BinarySecurityToken")
                    .attr("u:Id", bst_id)
                    .attr("ValueType", X509V3)
                    .attr("EncodingType", B64_ENC)
                    .text(&b64(der)),
            ),
            Endorser::Sct { tokens, .. } => supporting.extend(tokens.iter().cloned()),
        }
    }

    // 1. Digests over the clear envelope, in the scope of each part's real ancestors.
    let mut clear_sec = vec![timestamp.clone()];
    clear_sec.extend(p.tokens.iter().cloned());
    clear_sec.extend(p.username.iter().cloned());
    clear_sec.extend(confirmations.iter().cloned());
    let clear = envelope(headers.clone(), clear_sec, body_el.clone());
    let mut signed_ids = vec![body_id.clone()];
    signed_ids.extend(headers.iter().filter_map(|h| h.id().map(str::to_string)));
    signed_ids.push(ts_id.clone());
    signed_ids.extend(
        confirmations
            .iter()
            .filter_map(|h| h.id().map(str::to_string)),
    );
    if let Some(ut) = &p.username {
        signed_ids.extend(ut.id().map(str::to_string));
    }
    let mut refs = Vec::new();
    for id in &signed_ids {
        let (el, scope) = clear
            .find_id(id, &NsMap::new())
            .ok_or_else(|| SynthError::Template(format!("signed part #{id} missing")))?;
        let c14n = el.exc_c14n(&scope).map_err(SynthError::Template)?;
        let mut d = crypto::digest(suite.hash(), c14n.as_bytes())?;
        if p.tamper == Some(TamperKind::WrongDigest) && *id == body_id {
            d = crypto::digest(suite.hash(), format!("{c14n} tampered").as_bytes())?;
        }
        refs.push(reference(id, suite, &d));
    }

    // 2. Primary signature: HMAC over exc-c14n(SignedInfo); SignedInfo inherits the default
    //    xmldsig namespace from <Signature>, so that is its only in-scope binding that matters.
    let dsig_scope = scope_of(&[("", XMLDSIG)]);
    let si = signed_info(&suite.hmac_uri(), refs);
    let si_c14n = si.exc_c14n(&dsig_scope).map_err(SynthError::Template)?;
    let sig_value = crypto::hmac(suite.hash(), p.sig_key, si_c14n.as_bytes())?;
    let encrypting = p.enc.is_some();
    let sig_id = ids.next();
    let primary = signature_el(
        &sig_id,
        si,
        &sig_value,
        &p.sig_dkt_id,
        &w.dk_type(),
        encrypting,
    );
    let mut signature_values = vec![b64(&sig_value)];

    // 3. Endorsing signatures over the primary Signature as it is before encryption.
    let mut endorsing_sigs = Vec::new();
    let sec_scope = scope_of(&[("s", S12), ("a", WSA), ("u", WSU), ("o", WSSE)]);
    for e in &p.endorsing {
        let c14n = primary.exc_c14n(&sec_scope).map_err(SynthError::Template)?;
        let d = crypto::digest(suite.hash(), c14n.as_bytes())?;
        let refs = vec![reference(&sig_id, suite, &d)];
        let (si, v, key_ref, vt) = match e {
            Endorser::Certificate { key, bst_id, .. } => {
                let si = signed_info(&suite.rsa_sig_uri(), refs);
                let si_c14n = si.exc_c14n(&dsig_scope).map_err(SynthError::Template)?;
                let v = crypto::rsa_sign(suite.hash(), key, si_c14n.as_bytes())?;
                (si, v, bst_id.as_str(), X509V3.to_string())
            }
            Endorser::Sct { key, dkt_id, .. } => {
                let si = signed_info(&suite.hmac_uri(), refs);
                let si_c14n = si.exc_c14n(&dsig_scope).map_err(SynthError::Template)?;
                let v = crypto::hmac(suite.hash(), key, si_c14n.as_bytes())?;
                (si, v, dkt_id.as_str(), w.dk_type())
            }
        };
        signature_values.push(b64(&v));
        endorsing_sigs.push(signature_el(&ids.next(), si, &v, key_ref, &vt, encrypting));
    }

    // 4. Header text changed after signing.
    if p.tamper == Some(TamperKind::SignedHeaderAltered) {
        let pos = headers.iter().position(|h| h.qname == "a:To").unwrap_or(0);
        if let Some(h) = headers.get_mut(pos) {
            if let Some(Node::Text(t)) = h.children.first_mut() {
                t.push_str("/admin");
            }
        }
    }

    // 5. Encryption, then the wire layout.
    let plaintext_body = children_wire(&body_el.children);
    let mut security = vec![timestamp];
    security.extend(p.tokens);
    let wire_body;
    let mut body_encrypted = false;
    match p.enc {
        Some((enc_key, enc_dkt_id)) => {
            let dk = w.dk_type();
            let enc = |plain: &[u8], rng: &mut Rng| {
                crypto::cbc_encrypt(suite.block(), enc_key, plain, p.padding, rng)
            };
            let mut body_cv = enc(plaintext_body.as_bytes(), rng)?;
            if p.tamper == Some(TamperKind::BodyCiphertextFlip) {
                let i = suite.block().block_len();
                if let Some(b) = body_cv.get_mut(i) {
                    *b ^= 0x5a;
                }
            }
            let body_ed_id = ids.next();
            let body_ed = encrypted_data(
                &body_ed_id,
                ED_CONTENT,
                suite,
                &enc_dkt_id,
                &dk,
                &body_cv,
                true,
            );
            wire_body = El::new("s:Body").attr("u:Id", &body_id).child(body_ed);
            body_encrypted = true;
            let mut refs = vec![body_ed_id];
            let mut eds = Vec::new();
            let mut seal =
                |el: &El, rng: &mut Rng, refs: &mut Vec<String>| -> Result<El, SynthError> {
                    let cv = enc(el.wire().as_bytes(), rng)?;
                    let id = ids.next();
                    refs.push(id.clone());
                    Ok(encrypted_data(
                        &id,
                        ED_ELEMENT,
                        suite,
                        &enc_dkt_id,
                        &dk,
                        &cv,
                        false,
                    ))
                };
            let ut_ed = match &p.username {
                Some(ut) => Some(seal(ut, rng, &mut refs)?),
                None => None,
            };
            for c in &confirmations {
                eds.push(seal(c, rng, &mut refs)?);
            }
            eds.push(seal(&primary, rng, &mut refs)?);
            for e in &endorsing_sigs {
                eds.push(seal(e, rng, &mut refs)?);
            }
            security.push(
                El::new("e:ReferenceList").ns("e", XMLENC).children(
                    refs.iter()
                        .map(|r| El::new("e:DataReference").attr("URI", &format!("#{r}"))),
                ),
            );
            security.extend(ut_ed);
            security.extend(supporting);
            security.extend(eds);
        }
        None => {
            wire_body = body_el;
            security.extend(p.username);
            security.extend(supporting);
            security.extend(confirmations);
            security.push(primary);
            security.extend(endorsing_sigs);
        }
    }

    // 6. Signature wrapping: the signed Body goes into a header, a forged Body replaces it.
    let (wire_body, plaintext_body, body_encrypted) = if p.tamper
        == Some(TamperKind::SignatureWrapping)
    {
        let forged = vec![El::new("Add")
            .ns("", "http://Microsoft.ServiceModel.Samples")
            .child(El::leaf("n1", "1000000"))
            .child(El::leaf("n2", "1"))];
        let forged_text = children_wire(&forged.iter().cloned().map(Node::El).collect::<Vec<_>>());
        headers.push(
            El::new("x:Wrapper")
                .ns("x", "urn:wcfscope:synth:attack")
                .child(wire_body),
        );
        (El::new("s:Body").children(forged), forged_text, false)
    } else {
        (wire_body, plaintext_body, body_encrypted)
    };

    let xml = envelope(headers, security, wire_body).wire();
    Ok(Built {
        xml,
        signature_values,
        signed_ids,
        plaintext_body,
        body_encrypted,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dkt_writes_offset_and_length_only_when_not_32() {
        let w = Wst::new(ScVersion::Feb2005);
        let short = dkt(&w, "_0", str_sct_local(&w, "x"), 24, &[0u8; 16]).wire();
        assert!(short.contains("<c:Offset>0</c:Offset><c:Length>24</c:Length><c:Nonce>AAAAAAAAAAAAAAAAAAAAAA==</c:Nonce>"));
        let full = dkt(&w, "_1", str_sct_local(&w, "x"), 32, &[0u8; 16]).wire();
        assert!(!full.contains("Length") && !full.contains("Offset"));
        let w13 = Wst::new(ScVersion::V13);
        assert!(dkt(&w13, "_2", str_sct_local(&w13, "x"), 32, &[1]).wire().starts_with(
            r#"<sc:DerivedKeyToken u:Id="_2" xmlns:sc="http://docs.oasis-open.org/ws-sx/ws-secureconversation/200512">"#
        ));
    }

    #[test]
    fn external_sct_reference_carries_instance_after_renewal() {
        let w = Wst::new(ScVersion::Feb2005);
        let plain = str_sct_external(&w, "urn:uuid:1", None).wire();
        assert_eq!(
            plain,
            r#"<o:SecurityTokenReference><o:Reference URI="urn:uuid:1" ValueType="http://schemas.xmlsoap.org/ws/2005/02/sc/sct"/></o:SecurityTokenReference>"#
        );
        let renewed = str_sct_external(&w, "urn:uuid:1", Some("urn:uuid:2")).wire();
        assert!(renewed.contains(
            r#"c:Instance="urn:uuid:2" xmlns:c="http://schemas.xmlsoap.org/ws/2005/02/sc""#
        ));
    }

    #[test]
    fn times_have_milliseconds() {
        assert_eq!(
            xsd_time(1_714_557_600_123_456_789),
            "2024-05-01T10:00:00.123Z"
        );
    }
}
