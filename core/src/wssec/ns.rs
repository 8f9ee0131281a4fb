//! Namespace URIs of WS-Security, WS-Trust and WS-SecureConversation (see
//! shared/spec/wcf-secure-conversation.md §2–§3). Match on these, never on prefixes.

pub const WSSE: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
pub const WSSE11: &str = "http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd";
pub const WSU: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
pub const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
pub const SC_2005_02: &str = "http://schemas.xmlsoap.org/ws/2005/02/sc";
pub const SC_1_3: &str = "http://docs.oasis-open.org/ws-sx/ws-secureconversation/200512";
pub const TRUST_2005_02: &str = "http://schemas.xmlsoap.org/ws/2005/02/trust";
pub const TRUST_1_3: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512";

/// True for either WS-SecureConversation namespace.
pub fn is_sc(ns: Option<&str>) -> bool {
    matches!(ns, Some(SC_2005_02) | Some(SC_1_3))
}

/// True for either WS-Trust namespace.
pub fn is_trust(ns: Option<&str>) -> bool {
    matches!(ns, Some(TRUST_2005_02) | Some(TRUST_1_3))
}

/// Microsoft's namespace of the cookie-mode SCT `Cookie` element (spec sheet §12).
pub const DNSE: &str = "http://schemas.microsoft.com/ws/2006/05/security";

/// WSS X.509 token profile value types (BST ValueType / Reference ValueType).
pub const X509V3: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3";
/// KeyIdentifier value types (spec sheet §3.2).
pub const KI_THUMBPRINT: &str =
    "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#ThumbprintSHA1";
pub const KI_SKI: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509SubjectKeyIdentifier";
pub const KI_ENCRYPTED_KEY_SHA1: &str =
    "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#EncryptedKeySHA1";

/// The DerivedKeyToken label WCF (and WS-SC) use when none is written (spec sheet §5.2).
pub const DEFAULT_DKT_LABEL: &[u8] = b"WS-SecureConversationWS-SecureConversation";

/// The local name of the element, if it is in `ns`.
pub fn local_in<'a>(name: &'a crate::xml::QName, ns: &str) -> Option<&'a str> {
    (name.ns.as_deref() == Some(ns)).then_some(name.local.as_str())
}
