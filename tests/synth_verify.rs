//! Independent validation of the synth generator's output: every digest, HMAC and RSA
//! signature it wrote is recomputed by libxml2's exclusive c14n (python3-lxml), Python's
//! `hashlib`/`hmac` (our own 10-line P_SHA1 there) and the `openssl` CLI (AES/3DES-CBC
//! decryption, RSA-OAEP unwrap, RSA signature verification) from the WIRE bytes only.
//! Nothing here uses the generator's or the analyzer's XML or crypto code.
//! Tests skip with a message when python3+lxml or openssl is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use wcfscope_core::model::{MessageDirection, MessageKind};
use wcfscope_core::synth::{
    generate, AlgorithmSuite, BlockPadding, ClientCredential, Pki, Scenario, SynthMessage,
    SynthOutput, SynthSession, TamperKind,
};

/// The verifier, run by python3 with lxml. Input: a manifest JSON
/// `[{"file", "key_hex", "extra_keys": {"#id": hex}}]`; output: one JSON result per message.
const VERIFIER: &str = r#####"
import sys, json, base64, hashlib, hmac, subprocess, copy, os, tempfile
from lxml import etree

WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
S12 = "http://www.w3.org/2003/05/soap-envelope"
SC = ["http://schemas.xmlsoap.org/ws/2005/02/sc", "http://docs.oasis-open.org/ws-sx/ws-secureconversation/200512"]
LABEL = b"WS-SecureConversationWS-SecureConversation"

def psha1(secret, seed, n):
    out, a = b"", seed
    while len(out) < n:
        a = hmac.new(secret, a, hashlib.sha1).digest()
        out += hmac.new(secret, a + seed, hashlib.sha1).digest()
    return out[:n]

def c14n(el):
    # A deep copy becomes the root of its own document carrying the in-scope namespaces,
    # which avoids libxml2's subtree quirk with default namespaces on ancestors.
    return etree.tostring(copy.deepcopy(el), method="c14n", exclusive=True, with_comments=False)

def elem_id(el):
    return el.get("{%s}Id" % WSU) or el.get("Id")

def decrypt(alg, key, cv):
    cipher = {"aes128-cbc": "aes-128-cbc", "aes256-cbc": "aes-256-cbc", "tripledes-cbc": "des-ede3-cbc"}[alg.split("#")[1]]
    bl = 8 if cipher == "des-ede3-cbc" else 16
    iv, ct = cv[:bl], cv[bl:]
    r = subprocess.run(["openssl", "enc", "-d", "-" + cipher, "-K", key.hex(), "-iv", iv.hex(), "-nopad"],
                       input=ct, capture_output=True)
    if r.returncode != 0:
        raise Exception("openssl enc failed: " + r.stderr.decode())
    p = r.stdout
    n = p[-1]
    if n < 1 or n > bl:
        raise Exception("bad padding length %d" % n)
    return p[:-n]

def rsa_verify(cert_b64, alg, data, sig):
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "c.der"), "wb").write(base64.b64decode(cert_b64))
        subprocess.run(["openssl", "x509", "-inform", "DER", "-in", os.path.join(d, "c.der"), "-pubkey", "-noout",
                        "-out", os.path.join(d, "pub.pem")], check=True, capture_output=True)
        open(os.path.join(d, "data"), "wb").write(data)
        open(os.path.join(d, "sig"), "wb").write(sig)
        md = "-sha256" if alg.endswith("rsa-sha256") else "-sha1"
        r = subprocess.run(["openssl", "dgst", md, "-verify", os.path.join(d, "pub.pem"), "-signature",
                            os.path.join(d, "sig"), os.path.join(d, "data")], capture_output=True)
        return r.returncode == 0

def verify(item):
    res = {"file": item["file"], "errors": [], "references": [], "signatures": [], "dkt_keys": {}, "decrypted_body": None}
    root = etree.parse(item["file"]).getroot()
    extra = item.get("extra_keys", {})
    keys = {}
    for ns in SC:
        for d in root.iter("{%s}DerivedKeyToken" % ns):
            bref = d.find("{%s}SecurityTokenReference/{%s}Reference" % (WSSE, WSSE))
            buri = bref.get("URI") if bref is not None else None
            base = bytes.fromhex(extra.get(buri, item["key_hex"]))
            nonce = base64.b64decode(d.findtext("{%s}Nonce" % ns))
            length = int(d.findtext("{%s}Length" % ns) or 32)
            offset = int(d.findtext("{%s}Offset" % ns) or 0)
            keys[elem_id(d)] = psha1(base, LABEL + nonce, offset + length)[offset:]
    res["dkt_keys"] = {k: v.hex() for k, v in keys.items()}
    def key_of(parent):
        ref = parent.find(".//{%s}KeyInfo/{%s}SecurityTokenReference/{%s}Reference" % (DS, WSSE, WSSE))
        return ref.get("URI")[1:] if ref is not None else None
    for ed in list(root.iter("{%s}EncryptedData" % XENC)):
        try:
            alg = ed.find("{%s}EncryptionMethod" % XENC).get("Algorithm")
            key = keys[key_of(ed)]
            plain = decrypt(alg, key, base64.b64decode(ed.findtext("{%s}CipherData/{%s}CipherValue" % (XENC, XENC))))
            parent = ed.getparent()
            if ed.get("Type").endswith("#Content"):
                res["decrypted_body"] = plain.decode("utf-8")
                decls = " ".join('xmlns%s="%s"' % (":" + p if p else "", u) for p, u in parent.nsmap.items())
                wrapper = etree.fromstring(("<w %s>" % decls).encode() + plain + b"</w>")
                parent.remove(ed)
                for c in list(wrapper):
                    parent.append(c)
            else:
                new = etree.fromstring(plain)
                parent.replace(ed, new)
        except Exception as e:
            res["errors"].append("decrypt %s: %s" % (ed.get("Id"), e))
    ids = {}
    for el in root.iter():
        i = elem_id(el)
        if i is not None:
            ids.setdefault(i, []).append(el)
    res["confirmations"] = [c.get("Value") for c in root.iter("{http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd}SignatureConfirmation")]
    body = root.find("{%s}Body" % S12)
    for sig in root.iter("{%s}Signature" % DS):
        si = sig.find("{%s}SignedInfo" % DS)
        for ref in si.findall("{%s}Reference" % DS):
            uri = ref.get("URI")[1:]
            targets = ids.get(uri, [])
            r = {"signature": sig.get("Id"), "uri": uri, "count": len(targets), "ok": False, "is_envelope_body": False}
            if len(targets) == 1:
                dm = ref.find("{%s}DigestMethod" % DS).get("Algorithm")
                h = hashlib.sha256 if dm.endswith("sha256") else hashlib.sha1
                r["ok"] = base64.b64encode(h(c14n(targets[0])).digest()).decode() == ref.findtext("{%s}DigestValue" % DS)
                r["is_envelope_body"] = targets[0] is body
                r["element"] = etree.QName(targets[0]).localname
            res["references"].append(r)
        method = si.find("{%s}SignatureMethod" % DS).get("Algorithm")
        value = base64.b64decode(sig.findtext("{%s}SignatureValue" % DS))
        kid = key_of(sig)
        s = {"id": sig.get("Id"), "method": method, "ok": False}
        if "hmac" in method:
            h = hashlib.sha256 if method.endswith("sha256") else hashlib.sha1
            s["ok"] = kid in keys and hmac.compare_digest(hmac.new(keys[kid], c14n(si), h).digest(), value)
        else:
            bst = ids.get(kid, [None])[0]
            s["ok"] = bst is not None and rsa_verify(bst.text, method, c14n(si), value)
        res["signatures"].append(s)
    return res

print(json.dumps([verify(i) for i in json.load(open(sys.argv[1]))]))
"#####;

fn python_with_lxml() -> Option<String> {
    for p in ["python3", "/usr/bin/python3"] {
        let ok = Command::new(p)
            .args(["-c", "import lxml.etree"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if ok {
            return Some(p.to_string());
        }
    }
    None
}

fn have(tool: &str, arg: &str) -> bool {
    Command::new(tool)
        .arg(arg)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn tools() -> Option<String> {
    let py = python_with_lxml();
    if py.is_none() {
        eprintln!("SKIP: python3 with lxml not found");
        return None;
    }
    if !have("openssl", "version") {
        eprintln!("SKIP: openssl CLI not found");
        return None;
    }
    py
}

fn session_key<'a>(out: &'a SynthOutput, m: &SynthMessage) -> Option<&'a SynthSession> {
    out.sessions
        .iter()
        .find(|s| Some(&s.sct_id) == m.session.as_ref() && s.instance == m.session_instance)
}

/// The base key every message's DKTs derive from: the SCT key (of the right key generation)
/// in a session, the request's EncryptedKey key for bootstrap, renew and sessionless
/// exchanges; plus, for a renew request, the old SCT key by the SCT's `#u:Id`.
fn base_keys(out: &SynthOutput, i: usize) -> (Vec<u8>, Value) {
    let m = &out.messages[i];
    if m.kind == MessageKind::Fault {
        return (Vec::new(), serde_json::json!({})); // unsecured
    }
    if matches!(
        m.kind,
        MessageKind::Application | MessageKind::SctCancel | MessageKind::SctCancelResponse
    ) {
        if let Some(s) = session_key(out, m) {
            return (s.key.to_vec(), serde_json::json!({}));
        }
    }
    let mut extra = serde_json::json!({});
    if m.kind == MessageKind::SctRenew {
        let old = session_key(out, m).expect("renewed session");
        extra[format!("#{}", old.sct_wsu_id)] = hex(&old.key).into();
    }
    let req = match m.direction {
        MessageDirection::Request => i,
        MessageDirection::Response => i - 1,
    };
    let k = out
        .ephemeral_keys
        .iter()
        .find(|k| k.message == req)
        .expect("ephemeral key of request");
    (k.key.to_vec(), extra)
}

/// Runs the verifier over every message of `out`.
fn run_verifier(py: &str, out: &SynthOutput, dir: &Path) -> Vec<Value> {
    let files = out.write_xml_files(dir).unwrap();
    let manifest: Vec<Value> = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (key, extra) = base_keys(out, i);
            serde_json::json!({"file": f, "key_hex": hex(&key), "extra_keys": extra})
        })
        .collect();
    verify_manifest(py, &manifest, dir)
}

fn verify_manifest(py: &str, manifest: &[Value], dir: &Path) -> Vec<Value> {
    let mpath = dir.join("manifest.json");
    std::fs::write(&mpath, serde_json::to_vec(manifest).unwrap()).unwrap();
    let script = dir.join("verify.py");
    std::fs::write(&script, VERIFIER).unwrap();
    let o = Command::new(py).arg(&script).arg(&mpath).output().unwrap();
    assert!(
        o.status.success(),
        "verifier failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&o.stdout).unwrap()
}

/// Asserts every message decrypts to its plaintext and every signature verifies.
fn assert_all_valid(out: &SynthOutput, results: &[Value]) {
    assert_eq!(results.len(), out.messages.len());
    for (m, r) in out.messages.iter().zip(results) {
        let what = format!(
            "message {} ({} {})",
            m.index,
            m.kind_str(),
            m.direction_str()
        );
        assert_eq!(
            r["errors"].as_array().unwrap().len(),
            0,
            "{what}: {}",
            r["errors"]
        );
        if m.encrypted {
            assert_eq!(
                r["decrypted_body"].as_str(),
                Some(m.plaintext_body.as_str()),
                "{what}"
            );
        } else {
            let wire = String::from_utf8(m.soap_xml.clone()).unwrap();
            assert!(
                wire.contains(&format!(">{}</s:Body>", m.plaintext_body)),
                "{what}: clear body"
            );
        }
        let refs = r["references"].as_array().unwrap();
        assert!(!refs.is_empty(), "{what}: no references");
        for rf in refs {
            assert_eq!(rf["count"], 1, "{what}: {rf}");
            assert_eq!(rf["ok"], true, "{what}: digest of {rf}");
        }
        let sigs = r["signatures"].as_array().unwrap();
        assert!(!sigs.is_empty());
        for s in sigs {
            assert_eq!(s["ok"], true, "{what}: signature {s}");
        }
        // Every signed id the generator reports is covered by a verified primary reference.
        for id in &m.signed_ids {
            assert!(
                refs.iter().any(|rf| rf["uri"] == id.as_str()),
                "{what}: {id} not referenced"
            );
        }
        // The Body reference points at the envelope's real Body.
        assert!(
            refs.iter().any(|rf| rf["is_envelope_body"] == true),
            "{what}: Body not signed"
        );
    }
}

fn check(sc: Scenario) -> (SynthOutput, Vec<Value>) {
    let out = generate(&sc, &Pki::demo().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let py = tools().expect("tools checked by caller");
    let r = run_verifier(&py, &out, dir.path());
    (out, r)
}

#[test]
fn basic256_feb2005_anonymous_session_verifies() {
    if tools().is_none() {
        return;
    }
    let (out, r) = check(Scenario::default());
    assert_all_valid(&out, &r);
    assert_eq!(out.messages.len(), 12);
    // Signature confirmation: the RSTR confirms the RST's primary SignatureValue, encrypted.
    let resp = String::from_utf8(out.messages[1].soap_xml.clone()).unwrap();
    assert!(
        !resp.contains("SignatureConfirmation"),
        "confirmations travel encrypted"
    );
    assert_eq!(
        r[1]["confirmations"],
        serde_json::json!(out.messages[0].signature_values)
    );
}

#[test]
fn certificate_client_basic256sha256_ws_trust_13_verifies() {
    if tools().is_none() {
        return;
    }
    let sc = Scenario::default()
        .credential(ClientCredential::Certificate)
        .suite(AlgorithmSuite::Basic256Sha256)
        .version(wcfscope_core::model::ScVersion::V13);
    let (out, r) = check(sc);
    assert_all_valid(&out, &r);
    // The bootstrap request carries a primary HMAC and an endorsing RSA signature.
    let methods: Vec<&str> = r[0]["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["method"].as_str().unwrap())
        .collect();
    assert_eq!(
        methods,
        [
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
        ]
    );
    assert!(out.messages[1]
        .plaintext_body
        .starts_with("<trust:RequestSecurityTokenResponseCollection"));
    assert_eq!(
        out.messages[0].action,
        "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/SCT"
    );
    // MutualCertificate: both request signatures are confirmed.
    assert_eq!(r[1]["confirmations"].as_array().unwrap().len(), 2);
    assert_eq!(
        r[1]["confirmations"],
        serde_json::json!(out.messages[0].signature_values)
    );
}

#[test]
fn username_basic128_random_padding_verifies() {
    if tools().is_none() {
        return;
    }
    let sc = Scenario::default()
        .credential(ClientCredential::UserName {
            username: "alice".into(),
            password: "p@ss<word>".into(),
        })
        .suite(AlgorithmSuite::Basic128)
        .padding(BlockPadding::Random)
        .calls(2);
    let (out, r) = check(sc);
    assert_all_valid(&out, &r);
    // The UsernameToken is signed (a reference to it) and not visible on the wire.
    let wire = String::from_utf8(out.messages[0].soap_xml.clone()).unwrap();
    assert!(!wire.contains("UsernameToken") && !wire.contains("alice"));
    assert!(r[0]["references"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["element"] == "UsernameToken"));
}

#[test]
fn sessionless_tripledes_certificate_verifies() {
    if tools().is_none() {
        return;
    }
    let sc = Scenario::default()
        .secure_session(false)
        .suite(AlgorithmSuite::TripleDes)
        .credential(ClientCredential::Certificate)
        .calls(3);
    let (out, r) = check(sc);
    assert_all_valid(&out, &r);
    assert_eq!(out.messages.len(), 6);
    assert!(out.sessions.is_empty());
    assert_eq!(out.ephemeral_keys.len(), 3);
}

#[test]
fn two_interleaved_sessions_over_ipv6_verify() {
    if tools().is_none() {
        return;
    }
    let (out, r) = check(
        Scenario::default()
            .sessions(2)
            .ipv6(true)
            .expect_continue(true)
            .calls(2),
    );
    assert_all_valid(&out, &r);
    assert_eq!(out.sessions.len(), 2);
    assert_ne!(out.sessions[0].sct_id, out.sessions[1].sct_id);
    let streams: Vec<usize> = out.messages.iter().map(|m| m.stream).collect();
    assert_eq!(&streams[..6], &[0, 0, 1, 1, 0, 0]);
}

#[test]
fn tampered_requests_fail_as_labelled() {
    if tools().is_none() {
        return;
    }
    let sc = Scenario::default()
        .tamper(0, 0, TamperKind::BodyCiphertextFlip)
        .tamper(0, 1, TamperKind::SignedHeaderAltered)
        .tamper(0, 2, TamperKind::WrongDigest)
        .tamper(0, 3, TamperKind::SignatureWrapping);
    let (out, r) = check(sc);
    let tampered: Vec<&_> = out.messages.iter().filter(|m| m.tampered).collect();
    assert_eq!(tampered.len(), 4);
    for m in &tampered {
        // The service answers each with an unsecured InvalidSecurity fault.
        let f = &out.messages[m.index + 1];
        assert_eq!(f.kind, MessageKind::Fault);
        assert!(f.plaintext_body.contains("a:InvalidSecurity"));
        assert!(f.signed_ids.is_empty() && !f.encrypted);
    }
    for m in out.messages.iter().filter(|m| !m.tampered) {
        let res = &r[m.index];
        assert!(
            res["references"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["ok"] == true),
            "untampered {}",
            m.index
        );
    }
    for m in tampered {
        let res = &r[m.index];
        let refs = res["references"].as_array().unwrap();
        let body_ref = refs
            .iter()
            .find(|x| x["uri"] == m.signed_ids[0].as_str())
            .unwrap();
        match m.tamper.unwrap() {
            TamperKind::BodyCiphertextFlip => {
                // Either the plaintext no longer parses, or it does and the digest fails.
                assert!(!res["errors"].as_array().unwrap().is_empty() || body_ref["ok"] == false);
            }
            TamperKind::SignedHeaderAltered => {
                assert!(refs
                    .iter()
                    .any(|x| x["element"] == "To" && x["ok"] == false));
                assert!(res["signatures"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|s| s["ok"] == true));
            }
            TamperKind::WrongDigest => {
                assert_eq!(body_ref["ok"], false);
                assert!(res["signatures"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|s| s["ok"] == true));
            }
            TamperKind::SignatureWrapping => {
                // Everything verifies, but against an element that is not the envelope's Body.
                assert!(refs.iter().all(|x| x["ok"] == true));
                assert_eq!(body_ref["is_envelope_body"], false);
                assert!(m.plaintext_body.contains("<n1>1000000</n1>"));
            }
        }
    }
}

/// Key renewal: the renew request is endorsed by the old SCT (HMAC) and the client
/// certificate (RSA); later messages use the new key generation, named by `Instance`.
#[test]
fn renewal_with_certificate_verifies() {
    if tools().is_none() {
        return;
    }
    let sc = Scenario::default()
        .credential(ClientCredential::Certificate)
        .calls(3)
        .renew_after(Some(1));
    let (out, r) = check(sc);
    assert_all_valid(&out, &r);
    let kinds: Vec<String> = out.messages.iter().map(|m| m.kind_str()).collect();
    assert_eq!(kinds[4], "sct-renew");
    assert_eq!(kinds[5], "sct-renew-response");
    assert_eq!(out.sessions.len(), 2);
    assert_eq!(out.sessions[0].sct_id, out.sessions[1].sct_id);
    assert_ne!(out.sessions[0].key.to_vec(), out.sessions[1].key.to_vec());
    assert!(out.sessions[0].instance.is_none() && out.sessions[1].instance.is_some());
    // Renew request: primary HMAC, RSA by the client certificate, HMAC by the old SCT's DKT.
    let methods: Vec<&str> = r[4]["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods.len(), 3, "{methods:?}");
    assert_eq!(r[5]["confirmations"].as_array().unwrap().len(), 3);
    assert!(out.messages[4].plaintext_body.contains("RenewTarget"));
    // After the renewal the calls use the new generation; the service names it by Instance.
    assert_eq!(out.messages[6].session_instance, out.sessions[1].instance);
    let resp = String::from_utf8(out.messages[7].soap_xml.clone()).unwrap();
    assert!(resp.contains(&format!(
        "c:Instance=\"{}\"",
        out.sessions[1].instance.as_ref().unwrap()
    )));
    assert!(
        out.messages[10].plaintext_body.contains("c:Instance="),
        "Cancel names the generation"
    );
}

/// Sessionless (EncryptedKey per request) tampering, with normal responses instead of faults.
#[test]
fn sessionless_tampering_without_faults() {
    if tools().is_none() {
        return;
    }
    let sc = Scenario::default()
        .secure_session(false)
        .calls(2)
        .fault_on_tamper(false)
        .tamper(0, 1, TamperKind::WrongDigest);
    let (out, r) = check(sc);
    assert_eq!(out.messages.len(), 4);
    assert!(out.messages[2].tampered);
    assert_eq!(out.messages[3].kind, MessageKind::Application);
    let body_ref = r[2]["references"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["is_envelope_body"] == true)
        .unwrap()
        .clone();
    assert_eq!(body_ref["ok"], false);
    for i in [0, 1, 3] {
        assert!(
            r[i]["references"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["ok"] == true),
            "message {i}"
        );
        assert!(
            r[i]["signatures"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["ok"] == true),
            "message {i}"
        );
    }
}

/// Decrypts the first calculator request's Body with the `openssl enc` CLI, using the DKT
/// key libxml2/python derived, and unwraps the bootstrap EncryptedKey with `openssl pkeyutl`.
#[test]
fn openssl_cli_decrypts_body_and_unwraps_encrypted_key() {
    let Some(py) = tools() else { return };
    let out = generate(&Scenario::default(), &Pki::demo().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let r = run_verifier(&py, &out, dir.path());
    let m = &out.messages[2];
    let wire = String::from_utf8(m.soap_xml.clone()).unwrap();
    let body = &wire[wire.find("<s:Body").unwrap()..];
    let cv = between(body, "<e:CipherValue>", "</e:CipherValue>");
    let dkt = between(between(body, "<o:Reference", "/>"), "URI=\"#", "\"");
    let key = r[2]["dkt_keys"][dkt].as_str().unwrap();
    let raw = b64d(cv);
    let (iv, ct) = raw.split_at(16);
    std::fs::write(dir.path().join("ct"), ct).unwrap();
    let o = Command::new("openssl")
        .args([
            "enc",
            "-d",
            "-aes-256-cbc",
            "-K",
            key,
            "-iv",
            &hex(iv),
            "-in",
        ])
        .arg(dir.path().join("ct"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8(o.stdout).unwrap(), m.plaintext_body);

    // RSA-OAEP unwrap of the RST's EncryptedKey with the service key from the demo .pfx.
    let pfx = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo-pki/service.pfx");
    let pem = dir.path().join("service.key.pem");
    let o = Command::new("openssl")
        .args([
            "pkcs12",
            "-nocerts",
            "-nodes",
            "-passin",
            "pass:wcfscope-demo",
            "-in",
        ])
        .arg(&pfx)
        .arg("-out")
        .arg(&pem)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    unwrap_with_openssl(&out, &pem, dir.path(), "oaep");

    // The rsa-1_5 variant (sessionless, so every request has one) with PKCS#1 v1.5 padding.
    let out = generate(
        &Scenario::default()
            .secure_session(false)
            .calls(2)
            .rsa15(true),
        &Pki::demo().unwrap(),
    )
    .unwrap();
    let rq = String::from_utf8(out.messages[2].soap_xml.clone()).unwrap();
    assert!(rq
        .contains(r#"<e:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-1_5"/>"#));
    unwrap_with_openssl(&out, &pem, dir.path(), "pkcs1");
}

/// Unwraps every request's EncryptedKey with `openssl pkeyutl` and compares the keys.
fn unwrap_with_openssl(out: &SynthOutput, pem: &Path, dir: &Path, padding: &str) {
    assert!(!out.ephemeral_keys.is_empty());
    for k in &out.ephemeral_keys {
        let msg = String::from_utf8(out.messages[k.message].soap_xml.clone()).unwrap();
        let ek = between(&msg, "<e:EncryptedKey", "</e:EncryptedKey>");
        let f = dir.join(format!("ek{}", k.message));
        std::fs::write(&f, b64d(between(ek, "<e:CipherValue>", "</e:CipherValue>"))).unwrap();
        let o = Command::new("openssl")
            .args([
                "pkeyutl",
                "-decrypt",
                "-pkeyopt",
                &format!("rsa_padding_mode:{padding}"),
                "-inkey",
            ])
            .arg(pem)
            .arg("-in")
            .arg(&f)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(o.stdout, k.key.to_vec(), "message {}", k.message);
    }
}

/// The SCT key is P_SHA1(client entropy, server entropy), recomputed by Python from the
/// decrypted RST and RSTR bodies.
#[test]
fn sct_key_is_the_combined_entropy() {
    let Some(py) = tools() else { return };
    for version in [
        wcfscope_core::model::ScVersion::Feb2005,
        wcfscope_core::model::ScVersion::V13,
    ] {
        let out = generate(
            &Scenario::default().version(version).calls(0),
            &Pki::demo().unwrap(),
        )
        .unwrap();
        let ce = between(
            between(&out.messages[0].plaintext_body, "BinarySecret", "</"),
            ">",
            "\0",
        );
        let se = between(
            between(&out.messages[1].plaintext_body, "BinarySecret", "</"),
            ">",
            "\0",
        );
        let code = "import hmac,hashlib,base64,sys\n\
            s=base64.b64decode(sys.argv[1]); seed=base64.b64decode(sys.argv[2]); o=b''; a=seed\n\
            while len(o)<32:\n    a=hmac.new(s,a,hashlib.sha1).digest(); o+=hmac.new(s,a+seed,hashlib.sha1).digest()\n\
            print(o[:32].hex())";
        let o = Command::new(&py)
            .args(["-c", code, ce, se])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(
            String::from_utf8(o.stdout).unwrap().trim(),
            hex(&out.sessions[0].key)
        );
    }
}

/// xmlsec1 verifies the clear (signed-only) Cancel and Cancel response signatures with the
/// signature DKT key as a raw HMAC key.
#[test]
fn xmlsec1_verifies_cancel_signatures() {
    let Some(py) = tools() else { return };
    if !have("xmlsec1", "--version") {
        eprintln!("SKIP: xmlsec1 not found");
        return;
    }
    let out = generate(&Scenario::default().calls(1), &Pki::demo().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let r = run_verifier(&py, &out, dir.path());
    let files = out.write_xml_files(dir.path()).unwrap();
    const WSU: &str =
        "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
    for i in [4, 5] {
        let m = &out.messages[i];
        assert!(!m.encrypted);
        let wire = String::from_utf8(m.soap_xml.clone()).unwrap();
        let sig = between(&wire, "<Signature", "</Signature>");
        let dkt = between(between(sig, "<KeyInfo>", "</KeyInfo>"), "URI=\"#", "\"");
        let key_hex = r[i]["dkt_keys"][dkt].as_str().unwrap();
        let key: Vec<u8> = (0..key_hex.len())
            .step_by(2)
            .map(|j| u8::from_str_radix(&key_hex[j..j + 2], 16).unwrap())
            .collect();
        let kf = dir.path().join(format!("hmac{i}.bin"));
        std::fs::write(&kf, key).unwrap();
        let mut cmd = Command::new("xmlsec1");
        cmd.arg("--verify").arg("--hmackey").arg(&kf);
        for node in [
            format!("{WSU}:Timestamp"),
            "http://www.w3.org/2003/05/soap-envelope:Body".to_string(),
            "http://www.w3.org/2005/08/addressing:Action".to_string(),
            "http://www.w3.org/2005/08/addressing:MessageID".to_string(),
            "http://www.w3.org/2005/08/addressing:ReplyTo".to_string(),
            "http://www.w3.org/2005/08/addressing:To".to_string(),
            "http://www.w3.org/2005/08/addressing:RelatesTo".to_string(),
        ] {
            cmd.arg("--id-attr:Id").arg(node);
        }
        let o = cmd.arg(&files[i]).output().unwrap();
        let text =
            String::from_utf8_lossy(&o.stderr).to_string() + &String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "message {i}: {text}");
        let n = m.signed_ids.len();
        assert!(
            text.contains(&format!("SignedInfo References (ok/all): {n}/{n}")),
            "message {i}: {text}"
        );
    }
}

/// tshark sees one HTTP POST per request message, in pcapng and in classic pcap.
#[test]
fn tshark_decodes_http_requests() {
    if !have("tshark", "--version") {
        eprintln!("SKIP: tshark not found");
        return;
    }
    for ipv6 in [false, true] {
        let sc = Scenario::default().sessions(2).calls(3).ipv6(ipv6).tamper(
            1,
            0,
            TamperKind::WrongDigest,
        );
        let out = generate(&sc, &Pki::demo().unwrap()).unwrap();
        tshark_check(&out);
    }
}

fn tshark_check(out: &SynthOutput) {
    let dir = tempfile::tempdir().unwrap();
    let requests = out
        .messages
        .iter()
        .filter(|m| m.direction_str() == "request")
        .count();
    for (name, bytes) in [("c.pcapng", &out.pcapng), ("c.pcap", &out.pcap)] {
        let p: PathBuf = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let o = Command::new("tshark")
            .arg("-r")
            .arg(&p)
            .args([
                "-o",
                "tcp.check_checksum:TRUE",
                "-Y",
                "http.request",
                "-T",
                "fields",
                "-e",
                "http.request.method",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let methods: Vec<String> = String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(methods.len(), requests, "{name}");
        assert!(methods.iter().all(|m| m == "POST"));
        let o = Command::new("tshark")
            .arg("-r")
            .arg(&p)
            .args([
                "-Y",
                "http.response",
                "-T",
                "fields",
                "-e",
                "http.response.code",
            ])
            .output()
            .unwrap();
        let codes: Vec<String> = String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        let faults = out
            .messages
            .iter()
            .filter(|m| m.kind == MessageKind::Fault)
            .count();
        assert_eq!(codes.len(), requests, "{name}");
        assert_eq!(
            codes.iter().filter(|c| *c == "500").count(),
            faults,
            "{name}"
        );
        assert_eq!(faults, 1);
        let o = Command::new("tshark")
            .arg("-r")
            .arg(&p)
            .args([
                "-o",
                "tcp.check_checksum:TRUE",
                "-o",
                "ip.check_checksum:TRUE",
                "-Y",
            ])
            .arg("tcp.checksum.status == 0 || ip.checksum.status == 0 || tcp.analysis.flags")
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(o.stdout).unwrap().trim(),
            "",
            "{name}: bad checksums or TCP anomalies"
        );
    }
}

/// The committed demo capture still matches its committed expectations and the committed
/// demo PKI: the SOAP bodies tshark extracts decrypt (with the expected keys) to the expected
/// plaintexts, every signature verifies, and the EncryptedKey names the demo service cert.
#[test]
fn committed_demo_capture_matches_expectations() {
    let Some(py) = tools() else { return };
    if !have("tshark", "--version") {
        eprintln!("SKIP: tshark not found");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let expected: Value = serde_json::from_slice(
        &std::fs::read(root.join("captures/demo-calculator.expected.json")).unwrap(),
    )
    .unwrap();
    let o = Command::new("tshark")
        .arg("-r")
        .arg(root.join("captures/demo-calculator.pcapng"))
        .args([
            "-Y",
            "http.request || http.response",
            "-T",
            "fields",
            "-e",
            "http.file_data",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let bodies: Vec<String> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            // Newer tshark versions print bytes fields as hex.
            if l.bytes().all(|c| c.is_ascii_hexdigit()) {
                let b: Vec<u8> = (0..l.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&l[i..i + 2], 16).unwrap())
                    .collect();
                String::from_utf8(b).unwrap()
            } else {
                l.to_string()
            }
        })
        .collect();
    let msgs = expected["messages"].as_array().unwrap();
    assert_eq!(bodies.len(), msgs.len());
    let session_key = expected["sessions"][0]["key_hex"].as_str().unwrap();
    let ek = &expected["ephemeral_keys"][0];
    assert_eq!(ek["msg"], 0);
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = Vec::new();
    for (i, (m, b)) in msgs.iter().zip(&bodies).enumerate() {
        let f = dir.path().join(format!("{i}.xml"));
        std::fs::write(&f, b).unwrap();
        let key = if i < 2 {
            ek["key_hex"].as_str().unwrap()
        } else {
            session_key
        };
        manifest.push(serde_json::json!({"file": f, "key_hex": key}));
        assert!(b.contains(&format!(">{}</a:Action>", m["action"].as_str().unwrap())));
    }
    let r = verify_manifest(&py, &manifest, dir.path());
    for (i, (m, res)) in msgs.iter().zip(&r).enumerate() {
        assert_eq!(
            res["errors"].as_array().unwrap().len(),
            0,
            "demo message {i}: {}",
            res["errors"]
        );
        if m["encrypted"] == true {
            assert_eq!(res["decrypted_body"], m["body"], "demo message {i}");
        } else {
            assert!(
                bodies[i].contains(&format!(">{}</s:Body>", m["body"].as_str().unwrap())),
                "demo message {i}"
            );
        }
        assert!(
            res["references"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["ok"] == true),
            "demo message {i}"
        );
        let sigs = res["signatures"].as_array().unwrap();
        assert!(
            !sigs.is_empty() && sigs.iter().all(|x| x["ok"] == true),
            "demo message {i}"
        );
    }
    // The certificate named by ThumbprintSHA1 is the committed demo service certificate.
    let tp = std::fs::read_to_string(root.join("assets/demo-pki/thumbprints-sha1.txt")).unwrap();
    let service_hex = tp
        .lines()
        .find(|l| l.ends_with("service.pem"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let b64tp = between(
        between(&bodies[0], "#ThumbprintSHA1", "</o:KeyIdentifier>"),
        ">",
        "\0",
    );
    assert_eq!(hex(&b64d(b64tp)), service_hex);
}

fn between<'a>(s: &'a str, a: &str, b: &str) -> &'a str {
    let start = s
        .find(a)
        .map(|i| i + a.len())
        .unwrap_or_else(|| panic!("{a} not found"));
    let rest = &s[start..];
    let end = rest.find(b).unwrap_or(rest.len());
    &rest[..end]
}

fn b64d(s: &str) -> Vec<u8> {
    // A tiny base64 decoder, so this file needs no extra dependency.
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("bad base64"),
        }
    };
    let clean: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let n = chunk.iter().filter(|&&c| c != b'=').count();
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= if c == b'=' { 0 } else { val(c) } << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..n]);
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
