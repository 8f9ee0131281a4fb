//! Key renewal and the diagnostics for keys the tool cannot have: a clear-text (transport
//! security style) SCT Issue, then Renew giving the same Identifier a new Instance and a new
//! ComputedKey; messages signed with each generation verify with the right one. Negotiated
//! (TLSNego/SPNEGO) bootstraps and cookie-mode SCTs are explained.
//!
//! Signed parts are written by hand in exclusive-c14n form; digests, HMACs and P_SHA1 are
//! computed here with openssl, independently of the analyzer.

use openssl::hash::{hash, MessageDigest};
use openssl::pkey::PKey;
use openssl::sign::Signer;
use wcfscope_core::analyzer::{Analyzer, Options};
use wcfscope_core::model::{CaptureFormat, KeySource, Report, SignatureSummary};

const S: &str = "http://www.w3.org/2003/05/soap-envelope";
const A: &str = "http://www.w3.org/2005/08/addressing";
const U: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
const O: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
const T: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512";
const SC: &str = "http://docs.oasis-open.org/ws-sx/ws-secureconversation/200512";
const ID: &str = "urn:uuid:11111111-2222-3333-4444-555555555555";
const INST2: &str = "urn:uuid:99999999-0000-0000-0000-000000000002";

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let k = PKey::hmac(key).unwrap();
    let mut s = Signer::new(MessageDigest::sha1(), &k).unwrap();
    s.update(data).unwrap();
    s.sign_to_vec().unwrap()
}

/// RFC 2246 P_SHA1, written out here for the test.
fn p_sha1(secret: &[u8], seed: &[u8], n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut a = seed.to_vec();
    while out.len() < n {
        a = hmac(secret, &a);
        out.extend(hmac(secret, &[a.as_slice(), seed].concat()));
    }
    out.truncate(n);
    out
}

fn b64(b: &[u8]) -> String {
    openssl::base64::encode_block(b)
}

fn envelope(
    action: &str,
    relates: Option<&str>,
    msg_id: &str,
    security: &str,
    body: &str,
) -> String {
    let rel = relates
        .map(|r| format!("<a:RelatesTo>{r}</a:RelatesTo>"))
        .unwrap_or_default();
    format!(
        r#"<s:Envelope xmlns:s="{S}" xmlns:a="{A}" xmlns:u="{U}"><s:Header><a:Action s:mustUnderstand="1">{action}</a:Action><a:MessageID>{msg_id}</a:MessageID>{rel}<o:Security xmlns:o="{O}" s:mustUnderstand="1">{security}</o:Security></s:Header>{body}</s:Envelope>"#
    )
}

fn rst(kind: &str, entropy: &[u8]) -> String {
    let renew = if kind == "Renew" {
        format!(
            r#"<t:RenewTarget><o:SecurityTokenReference xmlns:o="{O}"><o:Reference URI="{ID}" ValueType="{SC}/sct"/></o:SecurityTokenReference></t:RenewTarget>"#
        )
    } else {
        String::new()
    };
    format!(
        r#"<s:Body><t:RequestSecurityToken xmlns:t="{T}"><t:TokenType>{SC}/sct</t:TokenType><t:RequestType>{T}/{kind}</t:RequestType><t:Entropy><t:BinarySecret Type="{T}/Nonce">{}</t:BinarySecret></t:Entropy><t:KeySize>256</t:KeySize>{renew}</t:RequestSecurityToken></s:Body>"#,
        b64(entropy)
    )
}

fn rstr(instance: Option<&str>, entropy: &[u8]) -> String {
    let inst = instance
        .map(|i| format!("<sc:Instance>{i}</sc:Instance>"))
        .unwrap_or_default();
    format!(
        r#"<s:Body><t:RequestSecurityTokenResponseCollection xmlns:t="{T}" xmlns:sc="{SC}"><t:RequestSecurityTokenResponse><t:TokenType>{SC}/sct</t:TokenType><t:RequestedSecurityToken><sc:SecurityContextToken u:Id="sct-x"><sc:Identifier>{ID}</sc:Identifier>{inst}</sc:SecurityContextToken></t:RequestedSecurityToken><t:RequestedProofToken><t:ComputedKey>{T}/CK/PSHA1</t:ComputedKey></t:RequestedProofToken><t:Entropy><t:BinarySecret Type="{T}/Nonce">{}</t:BinarySecret></t:Entropy><t:KeySize>256</t:KeySize></t:RequestSecurityTokenResponse></t:RequestSecurityTokenResponseCollection></s:Body>"#,
        b64(entropy)
    )
}

/// An application message whose Body is signed with `key`; the KeyInfo names the SCT in the
/// header (with `instance` as its Instance) or, when `external`, by URI with an Instance attribute.
fn app(key: &[u8], instance: Option<&str>, external: bool, text: &str, msg_id: &str) -> String {
    let canon_body = format!(
        r#"<s:Body xmlns:s="{S}" xmlns:u="{U}" u:Id="b"><m:Echo xmlns:m="urn:m">{text}</m:Echo></s:Body>"#
    );
    let digest = hash(MessageDigest::sha1(), canon_body.as_bytes()).unwrap();
    let si = format!(
        r##"<SignedInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></CanonicalizationMethod><SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"></SignatureMethod><Reference URI="#b"><Transforms><Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></Transform></Transforms><DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"></DigestMethod><DigestValue>{}</DigestValue></Reference></SignedInfo>"##,
        b64(&digest)
    );
    let value = hmac(key, si.as_bytes());
    let si_doc = si.replacen(
        r#"<SignedInfo xmlns="http://www.w3.org/2000/09/xmldsig#">"#,
        "<SignedInfo>",
        1,
    );
    let (sct, str_ref) = if external {
        let inst = instance
            .map(|i| format!(r#" sc:Instance="{i}""#))
            .unwrap_or_default();
        (
            String::new(),
            format!(r#"<o:Reference xmlns:sc="{SC}" URI="{ID}"{inst} ValueType="{SC}/sct"/>"#),
        )
    } else {
        let inst = instance
            .map(|i| format!("<sc:Instance>{i}</sc:Instance>"))
            .unwrap_or_default();
        (
            format!(
                r#"<sc:SecurityContextToken xmlns:sc="{SC}" u:Id="sct"><sc:Identifier>{ID}</sc:Identifier>{inst}</sc:SecurityContextToken>"#
            ),
            r##"<o:Reference URI="#sct"/>"##.to_string(),
        )
    };
    let sig = format!(
        r#"{sct}<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">{si_doc}<SignatureValue>{}</SignatureValue><KeyInfo><o:SecurityTokenReference>{str_ref}</o:SecurityTokenReference></KeyInfo></Signature>"#,
        b64(&value)
    );
    let body = format!(r#"<s:Body u:Id="b"><m:Echo xmlns:m="urn:m">{text}</m:Echo></s:Body>"#);
    envelope("urn:echo", None, msg_id, &sig, &body)
}

fn analyse(msgs: &[String], options: Options) -> Report {
    let mut a = Analyzer::new("renew".into(), CaptureFormat::Xml, options);
    for (i, m) in msgs.iter().enumerate() {
        a.push_xml_message(&format!("m{i}"), m.as_bytes().to_vec());
    }
    a.finish().report
}

#[test]
fn renewal_gives_a_new_instance_and_key() {
    let (c1, s1, c2, s2) = ([1u8; 32], [2u8; 32], [3u8; 32], [4u8; 32]);
    let k1 = p_sha1(&c1, &s1, 32);
    let k2 = p_sha1(&c2, &s2, 32);
    let msgs = vec![
        envelope(
            &format!("{T}/RST/SCT"),
            None,
            "urn:m:1",
            "",
            &rst("Issue", &c1),
        ),
        envelope(
            &format!("{T}/RSTR/SCT"),
            Some("urn:m:1"),
            "urn:m:2",
            "",
            &rstr(None, &s1),
        ),
        app(&k1, None, false, "gen one", "urn:m:3"),
        envelope(
            &format!("{T}/RST/SCT/Renew"),
            None,
            "urn:m:4",
            "",
            &rst("Renew", &c2),
        ),
        envelope(
            &format!("{T}/RSTR/SCT/Renew"),
            Some("urn:m:4"),
            "urn:m:5",
            "",
            &rstr(Some(INST2), &s2),
        ),
        app(&k2, Some(INST2), false, "gen two", "urn:m:6"),
        app(&k2, Some(INST2), true, "gen two, by reference", "urn:m:7"),
        // The old generation is still usable by a reference without Instance (rollover).
        app(&k1, None, true, "gen one again", "urn:m:8"),
        // A message claiming generation two but signed with generation one's key fails.
        app(&k1, Some(INST2), false, "wrong key", "urn:m:9"),
    ];
    let r = analyse(&msgs, Options::default());
    for i in [2, 5, 6, 7] {
        assert_eq!(
            r.messages[i].signature,
            SignatureSummary::Valid,
            "message {i}: {:#?}",
            r.messages[i].errors
        );
    }
    assert_eq!(r.messages[8].signature, SignatureSummary::Invalid);
    let s = r.sessions.iter().find(|s| s.id == ID).unwrap();
    assert_eq!(s.instance.as_deref(), Some(INST2));
    let hex: String = k2.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(s.key_hex.as_deref(), Some(hex.as_str()));
    assert_eq!(s.key_source, Some(KeySource::Computed));
    // --redact-keys keeps the key out of the report.
    let r = analyse(
        &msgs,
        Options {
            redact_keys: true,
            ..Options::default()
        },
    );
    assert!(r.sessions.iter().all(|s| s.key_hex.is_none()));
}

#[test]
fn negotiated_bootstraps_are_explained() {
    for (vt, word) in [
        (
            " http://schemas.xmlsoap.org/ws/2005/02/trust/tlsnego",
            "TLS",
        ),
        (
            "http://schemas.xmlsoap.org/ws/2005/02/trust/spnego",
            "Kerberos",
        ),
    ] {
        let body = format!(
            r#"<s:Body><t:RequestSecurityToken xmlns:t="http://schemas.xmlsoap.org/ws/2005/02/trust" Context="uuid-1"><t:TokenType>http://schemas.xmlsoap.org/ws/2005/02/sc/sct</t:TokenType><t:RequestType>http://schemas.xmlsoap.org/ws/2005/02/trust/Issue</t:RequestType><t:KeySize>256</t:KeySize><t:BinaryExchange ValueType="{vt}" EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">FgMBAAE=</t:BinaryExchange></t:RequestSecurityToken></s:Body>"#
        );
        let m = envelope(
            "http://schemas.xmlsoap.org/ws/2005/02/trust/RST/Issue",
            None,
            "urn:n:1",
            "",
            &body,
        );
        let r = analyse(&[m], Options::default());
        let d = r
            .diagnostics
            .iter()
            .find(|d| d.message.contains("bootstrap"))
            .expect("negotiation diagnostic");
        assert!(
            d.message.contains(word) && d.message.contains("--sct-key"),
            "{}",
            d.message
        );
    }
}

#[test]
fn cookie_mode_sct_is_explained() {
    let sec = format!(
        r#"<sc:SecurityContextToken xmlns:sc="{SC}" u:Id="sct"><sc:Identifier>{ID}</sc:Identifier><dnse:Cookie xmlns:dnse="http://schemas.microsoft.com/ws/2006/05/security">AQAAANCMnd8BFdERjHoAwE/Cl+s=</dnse:Cookie></sc:SecurityContextToken>"#
    );
    let m = envelope(
        "urn:echo",
        None,
        "urn:c:1",
        &sec,
        r#"<s:Body><x/></s:Body>"#,
    );
    let r = analyse(&[m], Options::default());
    let d = r
        .diagnostics
        .iter()
        .find(|d| d.message.contains("cookie-mode"))
        .expect("cookie diagnostic");
    assert!(
        d.message.contains("DPAPI") && d.message.contains(&format!("--sct-key {ID}=HEX")),
        "{}",
        d.message
    );
    assert_eq!(r.messages[0].session.as_deref(), Some(ID));
}
