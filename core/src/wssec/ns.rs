//! Namespace URIs of WS-Security, WS-Trust and WS-SecureConversation (see
//! shared/spec/wcf-secure-conversation.md §2–§3). Match on these, never on prefixes.

pub const WSSE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
pub const WSSE11: &str = "http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd";
pub const WSU: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
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
