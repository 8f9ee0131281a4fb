//! Exclusive c14n of single elements, checked against xmlsec1 (libxmlsec1 over libxml2, an
//! independent implementation): for many generated namespace-heavy documents, xmlsec1
//! signs a template whose Reference points at an inner element (`URI="#target"`, exc-c14n
//! transform, with and without an InclusiveNamespaces PrefixList, SHA-1 and SHA-256), and
//! the DigestValue it writes must equal the digest of
//! `wcfscope_core::xml::c14n::canonicalize` of that element. Lxml's own subtree
//! canonicalisation is not used: the vectors README explains why it is no oracle.
//!
//! Negative tests on the signed documents: every byte of the signed element's text and
//! attribute values, flipped one at a time, makes the signature invalid (or the document
//! unparsable) — never valid; a wrong HMAC key, a wrong RSA key and a truncated key fail
//! cleanly with a reason.
//!
//! Without xmlsec1 (or the openssl command for the RSA key) the test says so and passes.

use std::process::Command;

use openssl::base64;
use openssl::hash::{hash, MessageDigest};
use openssl::x509::X509;
use wcfscope_core::xml::{canonicalize, C14nMethod, Document};
use wcfscope_core::xmlsec::{verify_all, SignatureVerdict, StandaloneResolver};
use wcfscope_e2e::Rng;
use zeroize::Zeroizing;

const EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const EXC_C: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
const HMAC_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
/// The namespace of the referenced element (xmlsec1's `--id-attr` names it).
const TARGET_NS: &str = "urn:target";

fn tool(name: &str, arg: &str) -> bool {
    Command::new(name).arg(arg).output().is_ok()
}

/// A random namespace-heavy document generator: prefixes bound, rebound and left unused,
/// default namespaces declared and undeclared, attributes in foreign namespaces, xml:lang
/// and xml:space, comments, CDATA, character and entity references, CR/LF and tabs.
struct Gen {
    rng: Rng,
    out: String,
    /// Whether the target element was written.
    placed: bool,
}

const PREFIXES: [&str; 5] = ["a", "b", "c", "p", "soap"];
const URIS: [&str; 5] = [
    "urn:x",
    "urn:y",
    "http://example.com/ns#",
    "http://www.w3.org/2003/05/soap-envelope",
    "urn:z:deep/path?q=1",
];
const TEXTS: [&str; 12] = [
    "plain text",
    "  leading and trailing  ",
    "line\r\nbreak\rcr\nlf",
    "&lt;&gt;&amp;&quot;&apos;",
    "&#xD;&#xA;&#9;&#x20AC;&#169;",
    "<![CDATA[cdata <b>&amp; ]]]]><![CDATA[> end]]>",
    "tab\there",
    "ünïcödé ✓ 日本",
    "]]&gt;",
    "a > b",
    "\n    ",
    "",
];
const ATTR_VALUES: [&str; 8] = [
    "v",
    "with space",
    "tab\tand\nnewline\r\nboth",
    "&lt;&amp;&quot;&#x9;&#xA;&#xD;",
    "'single' \"double\"",
    "ünï",
    "",
    "  padded  ",
];

impl Gen {
    fn new(seed: u64) -> Gen {
        Gen {
            rng: Rng::new(seed),
            out: String::new(),
            placed: false,
        }
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.rng.below(xs.len())]
    }

    /// Writes one element. `scope`: (prefix, uri) in scope, "" for the default namespace.
    fn element(&mut self, depth: usize, scope: &mut Vec<(String, String)>, is_target: bool) {
        let mark = scope.len();
        let mut decls = String::new();
        // Namespace declarations: new bindings, rebindings, default (un)declarations.
        for _ in 0..self.rng.below(3) {
            let p = self.pick(&PREFIXES).to_string();
            let u = self.pick(&URIS).to_string();
            if !decls.contains(&format!("xmlns:{p}=")) {
                decls.push_str(&format!(" xmlns:{p}=\"{u}\""));
                scope.push((p, u));
            }
        }
        match self.rng.below(5) {
            0 => {
                decls.push_str(" xmlns=\"\"");
                scope.push((String::new(), String::new()));
            }
            1 => {
                let u = self.pick(&URIS).to_string();
                decls.push_str(&format!(" xmlns=\"{u}\""));
                scope.push((String::new(), u));
            }
            _ => {}
        }
        // The element's name: the target is in TARGET_NS under a prefix of its own or as
        // the default namespace; others use a bound prefix or the default namespace.
        let name = if is_target {
            if self.rng.below(2) == 0 || decls.contains(" xmlns=") {
                decls.push_str(&format!(" xmlns:t=\"{TARGET_NS}\""));
                scope.push(("t".into(), TARGET_NS.into()));
                "t:Target".to_string()
            } else {
                decls.push_str(&format!(" xmlns=\"{TARGET_NS}\""));
                scope.push((String::new(), TARGET_NS.into()));
                "Target".to_string()
            }
        } else {
            let bound: Vec<String> = bound_prefixes(scope);
            if !bound.is_empty() && self.rng.below(2) == 0 {
                format!("{}:e{depth}", bound[self.rng.below(bound.len())])
            } else {
                format!("e{depth}")
            }
        };
        let mut attrs = String::new();
        if is_target {
            attrs.push_str(" Id=\"target\"");
        }
        for k in 0..self.rng.below(4) {
            let bound = bound_prefixes(scope);
            let v = self.pick(&ATTR_VALUES);
            let q = if self.rng.below(2) == 0 { '"' } else { '\'' };
            let v = if q == '"' {
                v.replace('"', "&quot;")
            } else {
                v.replace('\'', "&apos;")
            };
            let name = match self.rng.below(4) {
                0 if !bound.is_empty() => format!("{}:at{k}", bound[self.rng.below(bound.len())]),
                1 => {
                    // An attribute in a namespace declared just for it (foreign namespace).
                    let u = self.pick(&URIS);
                    attrs.push_str(&format!(" xmlns:f{k}=\"{u}\""));
                    format!("f{k}:at{k}")
                }
                _ => format!("at{k}"),
            };
            attrs.push_str(&format!(" {name}={q}{v}{q}"));
        }
        match self.rng.below(6) {
            0 => attrs.push_str(" xml:lang=\"en-GB\""),
            1 => attrs.push_str(" xml:space=\"preserve\""),
            _ => {}
        }
        self.out.push_str(&format!("<{name}{decls}{attrs}"));
        let children = if depth >= 4 { 0 } else { self.rng.below(4) };
        if children == 0 && !is_target && self.rng.below(2) == 0 {
            self.out.push_str("/>");
        } else {
            self.out.push('>');
            // The target sits at depth 2 or 3: with ancestors that declare things.
            let target_here = !self.placed && (depth == 2 || depth == 3) && self.rng.below(2) == 0;
            let target_child = if target_here || (!self.placed && depth == 3) {
                self.placed = true;
                Some(self.rng.below(children.max(1)))
            } else {
                None
            };
            for i in 0..children.max(usize::from(target_child.is_some())) {
                self.content();
                self.element(depth + 1, scope, target_child == Some(i));
            }
            self.content();
            self.out.push_str(&format!("</{name}>"));
        }
        scope.truncate(mark);
    }

    fn content(&mut self) {
        match self.rng.below(5) {
            0 => {
                let c = ["<!-- a comment -->", "<!--\r\n multi-line -->", "<!---->"];
                let c = self.pick(&c);
                self.out.push_str(c);
            }
            1 | 2 => {
                let t = self.pick(&TEXTS);
                self.out.push_str(t);
            }
            3 => self.out.push_str("<?pi some data?>"),
            _ => {}
        }
    }
}

/// Prefixes currently bound to a non-empty URI (innermost binding wins).
fn bound_prefixes(scope: &[(String, String)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (p, _) in scope.iter().rev() {
        if !p.is_empty() && !out.contains(p) {
            out.push(p.clone());
        }
    }
    out
}

/// A generated document with the Signature template as the root's last child.
fn document(
    seed: u64,
    c14n: &str,
    prefix_list: Option<&str>,
    method: &str,
    digest: &str,
) -> String {
    let mut g = Gen::new(seed);
    while !g.placed {
        g.out.clear();
        g.placed = false;
        let mut scope = Vec::new();
        g.out.push_str(
            "<root xmlns:a=\"urn:x\" xmlns:b=\"urn:y\" xml:lang=\"fr\" xml:space=\"preserve\">",
        );
        g.content();
        for _ in 0..2 {
            g.element(1, &mut scope, false);
            g.content();
        }
    }
    let inclusive = prefix_list
        .map(|l| format!("<ec:InclusiveNamespaces xmlns:ec=\"{EXC}\" PrefixList=\"{l}\"/>"))
        .unwrap_or_default();
    let key_info = if method.contains("rsa") {
        "<KeyInfo><X509Data/></KeyInfo>"
    } else {
        ""
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><SignedInfo>\
         <CanonicalizationMethod Algorithm=\"{EXC}\"/><SignatureMethod Algorithm=\"{method}\"/>\
         <Reference URI=\"#target\"><Transforms><Transform Algorithm=\"{c14n}\">{inclusive}</Transform></Transforms>\
         <DigestMethod Algorithm=\"{digest}\"/><DigestValue/></Reference></SignedInfo><SignatureValue/>{key_info}</Signature></root>\n",
        g.out
    )
}

struct Keys {
    dir: tempfile::TempDir,
}

impl Keys {
    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn sign(keys: &Keys, template: &str, rsa: bool) -> Vec<u8> {
    let tmpl = keys.path("tmpl.xml");
    std::fs::write(&tmpl, template).unwrap();
    let mut cmd = Command::new("xmlsec1");
    cmd.arg("--sign");
    if rsa {
        cmd.arg("--privkey-pem").arg(format!(
            "{},{}",
            keys.path("key.pem").display(),
            keys.path("cert.pem").display()
        ));
    } else {
        cmd.arg("--hmackey").arg(keys.path("hmac.bin"));
    }
    cmd.args(["--id-attr:Id", &format!("{TARGET_NS}:Target")])
        .args(["--output", "-"])
        .arg(&tmpl);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "xmlsec1 --sign failed on\n{template}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> &'a str {
    let a = s.find(open).unwrap() + open.len();
    let b = a + s[a..].find(close).unwrap();
    &s[a..b]
}

/// The element named Target in TARGET_NS.
fn target(doc: &Document) -> usize {
    doc.descendants(Document::DOCUMENT)
        .find(|&n| {
            doc.element(n)
                .is_some_and(|e| e.name.is(Some(TARGET_NS), "Target"))
        })
        .expect("target element")
}

fn keys() -> Option<Keys> {
    if !tool("xmlsec1", "--version") || !tool("openssl", "version") {
        println!("xmlsec1 or openssl not installed: xmlsec1 c14n/digest differential test skipped");
        return None;
    }
    let keys = Keys {
        dir: tempfile::tempdir().unwrap(),
    };
    run(Command::new("openssl")
        .args(["genrsa", "-out"])
        .arg(keys.path("key.pem"))
        .arg("2048"));
    run(Command::new("openssl")
        .args([
            "req",
            "-new",
            "-x509",
            "-subj",
            "/CN=c14n-diff",
            "-days",
            "2",
            "-key",
        ])
        .arg(keys.path("key.pem"))
        .arg("-out")
        .arg(keys.path("cert.pem")));
    run(Command::new("openssl")
        .args(["genrsa", "-out"])
        .arg(keys.path("other.pem"))
        .arg("2048"));
    run(Command::new("openssl")
        .args([
            "req",
            "-new",
            "-x509",
            "-subj",
            "/CN=c14n-diff",
            "-days",
            "2",
            "-key",
        ])
        .arg(keys.path("other.pem"))
        .arg("-out")
        .arg(keys.path("other-cert.pem")));
    std::fs::write(keys.path("hmac.bin"), b"0123456789abcdef0123456789abcdef").unwrap();
    Some(keys)
}

fn hmac_resolver(key: &[u8]) -> StandaloneResolver {
    let mut r = StandaloneResolver::new();
    r.add_symmetric(None, Zeroizing::new(key.to_vec()));
    r
}

#[test]
fn exclusive_c14n_of_an_element_matches_xmlsec1_digest_values() {
    let Some(keys) = keys() else { return };
    let resolver = hmac_resolver(b"0123456789abcdef0123456789abcdef");
    let lists = [
        None,
        Some("#default"),
        Some("a b"),
        Some("soap p #default"),
        Some("c"),
    ];
    let mut checked = 0;
    for seed in 1..=120u64 {
        let c14n = if seed % 3 == 0 { EXC_C } else { EXC };
        let list = lists[(seed as usize) % lists.len()];
        let (digest, md) = if seed % 2 == 0 {
            (SHA256, MessageDigest::sha256())
        } else {
            (SHA1, MessageDigest::sha1())
        };
        let tmpl = document(seed, c14n, list, HMAC_SHA256, digest);
        let signed = sign(&keys, &tmpl, false);
        let text = String::from_utf8(signed.clone()).unwrap();
        let theirs =
            base64::decode_block(between(&text, "<DigestValue>", "</DigestValue>").trim()).unwrap();
        let doc = Document::parse(&signed).unwrap_or_else(|e| {
            panic!("seed {seed}: our parser refused xmlsec1's output: {e}\n{text}")
        });
        let t = target(&doc);
        let prefixes: Vec<String> = list
            .map(|l| l.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        // A bare "#id" reference removes comments whatever the transform says (XMLDSig
        // §4.3.3.3), so the comment-less method is the oracle's equal in both cases.
        let ours = canonicalize(&doc, t, C14nMethod::Exclusive, &prefixes, None).unwrap();
        let mine = hash(md, &ours).unwrap();
        assert_eq!(
            mine.to_vec(),
            theirs,
            "seed {seed} ({c14n}, PrefixList {list:?}): digest of our canonical form differs from xmlsec1's\n\
             document:\n{text}\nour canonical form:\n{}",
            String::from_utf8_lossy(&ours)
        );
        // The whole signature verifies with ours too.
        let v = verify_all(&doc, &resolver);
        assert_eq!(v.len(), 1);
        assert!(v[0].verdict.is_valid(), "seed {seed}: {:?}", v[0].verdict);
        checked += 1;
    }
    assert_eq!(checked, 120);
}

/// Byte positions inside the signed element holding text or (non-namespace) attribute
/// values; comments and markup are left alone (a comment is outside the signed node-set,
/// and exclusive c14n drops unused namespace declarations, so changes there are rightly
/// not detected).
fn content_positions(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let find = |from: usize, pat: &str| -> usize {
        from + b[from..]
            .windows(pat.len())
            .position(|w| w == pat.as_bytes())
            .unwrap()
    };
    let id = find(0, " Id=\"target\"");
    let start = text[..id].rfind('<').unwrap();
    let close = if b[start..].starts_with(b"<t:Target") {
        "</t:Target>"
    } else {
        "</Target>"
    };
    let end = find(start, close);
    let mut out = Vec::new();
    let mut i = start;
    while i < end {
        if b[i..].starts_with(b"<!--") {
            i = find(i, "-->") + 3;
        } else if b[i..].starts_with(b"<![CDATA[") {
            let stop = find(i, "]]>");
            out.extend(i + 9..stop);
            i = stop + 3;
        } else if b[i..].starts_with(b"<?") {
            i = find(i, "?>") + 2;
        } else if b[i] == b'<' {
            // A tag: record the values of attributes other than xmlns declarations.
            let mut j = i + 1;
            let mut attr_name_start = j;
            while j < end && b[j] != b'>' {
                if b[j] == b'"' || b[j] == b'\'' {
                    let q = b[j];
                    let name = String::from_utf8_lossy(&b[attr_name_start..j]);
                    let name = name.trim().trim_end_matches('=');
                    let vend = j + 1 + b[j + 1..].iter().position(|&c| c == q).unwrap();
                    if !name.starts_with("xmlns") {
                        out.extend(j + 1..vend);
                    }
                    j = vend + 1;
                    attr_name_start = j;
                } else {
                    if b[j] == b' ' {
                        attr_name_start = j;
                    }
                    j += 1;
                }
            }
            i = j + 1;
        } else {
            out.push(i);
            i += 1;
        }
    }
    out
}

fn verdict(bytes: &[u8], r: &StandaloneResolver) -> Option<SignatureVerdict> {
    let doc = Document::parse(bytes).ok()?;
    let mut v = verify_all(&doc, r);
    (v.len() == 1).then(|| v.remove(0).verdict)
}

#[test]
fn any_changed_byte_of_signed_content_is_detected() {
    let Some(keys) = keys() else { return };
    let hmac = hmac_resolver(b"0123456789abcdef0123456789abcdef");
    let cert = X509::from_pem(&std::fs::read(keys.path("cert.pem")).unwrap()).unwrap();
    let mut rsa = StandaloneResolver::new();
    rsa.add_certificate(cert, "cert.pem").unwrap();
    let mut flipped = 0;
    for seed in [3u64, 17, 29, 42, 77, 101] {
        let use_rsa = seed % 2 == 1;
        let (method, r) = if use_rsa {
            (RSA_SHA256, &rsa)
        } else {
            (HMAC_SHA256, &hmac)
        };
        let tmpl = document(
            seed,
            EXC,
            if seed > 50 { Some("a #default") } else { None },
            method,
            SHA256,
        );
        let signed = sign(&keys, &tmpl, use_rsa);
        assert_eq!(
            verdict(&signed, r),
            Some(SignatureVerdict::Valid),
            "seed {seed}"
        );
        let text = String::from_utf8(signed.clone()).unwrap();
        let positions = content_positions(&text);
        assert!(
            positions.len() >= 5,
            "seed {seed}: little signed content\n{text}"
        );
        for &pos in &positions {
            let mut m = signed.clone();
            m[pos] ^= 0x01;
            match verdict(&m, r) {
                None => {}
                Some(SignatureVerdict::Valid) => panic!(
                    "seed {seed}: byte {pos} ({:?}) flipped and the signature still verifies\n{text}",
                    signed[pos] as char
                ),
                Some(SignatureVerdict::Invalid { reason } | SignatureVerdict::Error { reason }) => {
                    assert!(!reason.is_empty())
                }
                Some(SignatureVerdict::NoKey { reason }) => {
                    panic!("seed {seed}: byte {pos}: no key? {reason}")
                }
            }
            flipped += 1;
        }
    }
    assert!(flipped > 100, "only {flipped} bytes flipped");
}

#[test]
fn a_wrong_key_fails_cleanly_with_a_reason() {
    let Some(keys) = keys() else { return };
    // HMAC: the right length, wrong bytes; a much shorter key; an empty one.
    let tmpl = document(5, EXC, None, HMAC_SHA256, SHA256);
    let signed = sign(&keys, &tmpl, false);
    for wrong in [&b"0123456789abcdef0123456789abcdeF"[..], b"k", b""] {
        match verdict(&signed, &hmac_resolver(wrong)) {
            Some(SignatureVerdict::Invalid { reason }) => {
                assert!(
                    reason.to_lowercase().contains("signaturevalue")
                        || reason.to_lowercase().contains("signature value"),
                    "names what failed: {reason}"
                )
            }
            Some(SignatureVerdict::Error { reason } | SignatureVerdict::NoKey { reason })
                if wrong.is_empty() =>
            {
                assert!(!reason.is_empty())
            }
            other => panic!("wrong HMAC key {wrong:?}: {other:?}"),
        }
    }
    // RSA: verified with another certificate's key.
    let tmpl = document(6, EXC, None, RSA_SHA256, SHA256);
    let signed = sign(&keys, &tmpl, true);
    let text = String::from_utf8(signed.clone()).unwrap();
    // Drop the embedded certificate so only the wrong key can be used.
    let start = text.find("<KeyInfo>").unwrap();
    let end = text.find("</KeyInfo>").unwrap() + "</KeyInfo>".len();
    let stripped = format!("{}{}", &text[..start], &text[end..]);
    let other = X509::from_pem(&std::fs::read(keys.path("other-cert.pem")).unwrap()).unwrap();
    let mut wrong = StandaloneResolver::new();
    wrong.add_certificate(other, "other-cert.pem").unwrap();
    match verdict(stripped.as_bytes(), &wrong) {
        Some(SignatureVerdict::Invalid { reason }) => assert!(!reason.is_empty()),
        other => panic!("wrong RSA key: {other:?}"),
    }
    // And with the right one it verifies (the stripping did not break the document).
    let cert = X509::from_pem(&std::fs::read(keys.path("cert.pem")).unwrap()).unwrap();
    let mut right = StandaloneResolver::new();
    right.add_certificate(cert, "cert.pem").unwrap();
    assert_eq!(
        verdict(stripped.as_bytes(), &right),
        Some(SignatureVerdict::Valid)
    );
}

#[test]
fn inclusive_c14n_10_and_11_of_an_element_match_xmlsec1_digest_values() {
    // Inclusive methods render every namespace in scope and (1.0: all, 1.1: lang/space/
    // base) xml:* attributes inherited from the ancestors: the element-in-context case.
    let Some(keys) = keys() else { return };
    let methods = [
        (
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
            C14nMethod::Inclusive10,
        ),
        (
            "http://www.w3.org/2006/12/xml-c14n11",
            C14nMethod::Inclusive11,
        ),
    ];
    for seed in 200..=260u64 {
        let (uri, method) = methods[(seed % 2) as usize];
        let tmpl = document(seed, uri, None, HMAC_SHA256, SHA256);
        let signed = sign(&keys, &tmpl, false);
        let text = String::from_utf8(signed.clone()).unwrap();
        let theirs =
            base64::decode_block(between(&text, "<DigestValue>", "</DigestValue>").trim()).unwrap();
        let doc = Document::parse(&signed).unwrap();
        let ours = canonicalize(&doc, target(&doc), method, &[], None).unwrap();
        assert_eq!(
            hash(MessageDigest::sha256(), &ours).unwrap().to_vec(),
            theirs,
            "seed {seed} ({uri}): digest differs from xmlsec1's\ndocument:\n{text}\nour canonical form:\n{}",
            String::from_utf8_lossy(&ours)
        );
    }
}
