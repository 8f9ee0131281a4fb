//! Differential test: our inclusive and exclusive canonicalization of whole documents against
//! libxml2's (through python3 lxml), over a few hundred random namespace-heavy documents.
//!
//! The generator below writes XML text directly; it shares no code with the parser or the
//! canonicalizer. Only whole documents are compared: lxml's subtree c14n is known to be wrong
//! for default-namespace cases (see the vectors README). Skipped, with a message, when no
//! python3 with lxml is installed.

use std::path::Path;
use std::process::Command;

use wcfscope_core::xml::{canonicalize, C14nMethod, Document};

const DOCS: usize = 400;

/// xorshift64*: deterministic, seedable, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const PREFIXES: &[&str] = &["a", "b", "c", "soap", "wsu"];
const URIS: &[&str] = &[
    "urn:x",
    "urn:y",
    "http://example.org/z",
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
    "http://www.w3.org/2003/05/soap-envelope",
];
const LOCALS: &[&str] = &["E", "Body", "item", "x", "Id", "n"];

/// Namespace state the generator tracks to emit only well-formed, namespace-valid XML.
#[derive(Clone, Default)]
struct Scope {
    prefixes: Vec<(String, String)>,
}

impl Scope {
    fn bound(&self) -> Vec<String> {
        let mut v: Vec<String> = self.prefixes.iter().map(|(p, _)| p.clone()).collect();
        v.sort();
        v.dedup();
        v
    }
    fn uri(&self, prefix: &str) -> Option<String> {
        self.prefixes
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| u.clone())
    }
}

fn text(rng: &mut Rng) -> String {
    let pieces = [
        "hello",
        " ",
        "  ",
        "\n",
        "\r\n",
        "\r",
        "\t",
        "&amp;",
        "&lt;",
        "&gt;",
        "&#13;",
        "&#xD;",
        "&#10;",
        "&#x9;",
        "\"",
        "'",
        ">",
        "é",
        "&#x1F600;",
        "ü",
        "&quot;",
        "&apos;",
        "]",
        "text with spaces",
    ];
    let t: String = (0..1 + rng.below(6)).map(|_| rng.pick(&pieces)).collect();
    // "]]>" is not allowed in character data (also across two adjacent text runs).
    let mut t = t.replace("]]>", "]]&gt;");
    if t.ends_with(']') {
        t.push('.');
    }
    t
}

fn attr_value(rng: &mut Rng) -> String {
    let pieces = [
        "v", " ", "\t", "\n", "\r\n", "&#9;", "&#10;", "&#13;", "&quot;", "'", ">", "&amp;",
        "&lt;", "é", "a b", "",
    ];
    (0..rng.below(5)).map(|_| rng.pick(&pieces)).collect()
}

fn misc(rng: &mut Rng, out: &mut String) {
    match rng.below(3) {
        0 => out.push_str(&format!(
            "<!--{}-->",
            rng.pick(&[" c ", "x", "", "a\r\nb", "<&>"])
        )),
        1 => out.push_str(&format!(
            "<?{}{}?>",
            rng.pick(&["pi", "target", "x-y"]),
            rng.pick(&["", " data", "  two  words ", " a\r\nb"])
        )),
        _ => out.push_str(rng.pick(&["\n", " ", "\r\n", "\t"])),
    }
}

fn element(rng: &mut Rng, scope: &Scope, depth: usize, defaults: bool, out: &mut String) {
    let mut scope = scope.clone();
    let mut decls = String::new();
    // Namespace declarations: new prefixes, redeclarations, redundant ones, default/undeclare.
    for _ in 0..rng.below(3) {
        let p = rng.pick(PREFIXES);
        if decls.contains(&format!("xmlns:{p}=")) {
            continue;
        }
        let u = rng.pick(URIS);
        decls.push_str(&format!(" xmlns:{p}=\"{u}\""));
        scope.prefixes.push((p.to_owned(), u.to_owned()));
    }
    if defaults && rng.chance(30) {
        let u = if rng.chance(35) { "" } else { rng.pick(URIS) };
        decls.push_str(&format!(" xmlns=\"{u}\""));
    }
    let bound = scope.bound();
    let name = if !bound.is_empty() && rng.chance(60) {
        format!("{}:{}", bound[rng.below(bound.len())], rng.pick(LOCALS))
    } else {
        rng.pick(LOCALS).to_owned()
    };

    // Attributes, keeping expanded names unique.
    let mut attrs = Vec::<String>::new();
    let mut expanded = Vec::<(String, String)>::new();
    for _ in 0..rng.below(4) {
        let local = rng.pick(&["Id", "k", "v", "mustUnderstand"]);
        let (qname, ns) = match rng.below(4) {
            0 if !bound.is_empty() => {
                let p = &bound[rng.below(bound.len())];
                (format!("{p}:{local}"), scope.uri(p).unwrap_or_default())
            }
            1 => {
                let l = rng.pick(&["lang", "space"]);
                let v = if l == "space" { "preserve" } else { "en" };
                if !expanded.contains(&("xml".into(), l.into())) {
                    expanded.push(("xml".into(), l.into()));
                    attrs.push(format!(" xml:{l}=\"{v}\""));
                }
                continue;
            }
            _ => (local.to_owned(), String::new()),
        };
        if expanded.contains(&(ns.clone(), local.to_owned())) {
            continue;
        }
        expanded.push((ns, local.to_owned()));
        let q = if rng.chance(50) { '"' } else { '\'' };
        let mut value = attr_value(rng);
        if q == '\'' {
            value = value.replace('\'', "&apos;");
        } else {
            value = value.replace('"', "&quot;");
        }
        attrs.push(format!(" {qname}={q}{value}{q}"));
    }
    // Interleave declarations and attributes in the start tag.
    let mut tag_items: Vec<String> = attrs;
    tag_items.insert(rng.below(tag_items.len() + 1), decls);
    out.push('<');
    out.push_str(&name);
    for item in &tag_items {
        out.push_str(item);
    }
    if depth >= 6 || rng.chance(15) {
        out.push_str(if rng.chance(50) { "/>" } else { "></" });
        if out.ends_with("></") {
            out.push_str(&name);
            out.push('>');
        }
        return;
    }
    out.push('>');
    for _ in 0..rng.below(6) {
        match rng.below(8) {
            0..=2 => element(rng, &scope, depth + 1, defaults, out),
            3 | 4 => out.push_str(&text(rng)),
            5 => out.push_str(&format!(
                "<![CDATA[{}]]>",
                rng.pick(&["<&>", "a\r\nb", "]", " x ", ""])
            )),
            _ => misc(rng, out),
        }
    }
    out.push_str(&format!("</{name}>"));
}

/// A random document; `defaults` allows default-namespace declarations and undeclarations.
fn document(rng: &mut Rng, defaults: bool) -> String {
    let mut out = String::new();
    if rng.chance(50) {
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    }
    for _ in 0..rng.below(3) {
        misc(rng, &mut out);
    }
    element(rng, &Scope::default(), 0, defaults, &mut out);
    for _ in 0..rng.below(3) {
        misc(rng, &mut out);
    }
    out
}

/// A python3 that can import lxml, if any.
fn python_with_lxml() -> Option<&'static str> {
    ["python3", "/usr/bin/python3"].into_iter().find(|py| {
        Command::new(py)
            .args(["-c", "import lxml.etree"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

const SCRIPT: &str = r#"
import sys, os
from lxml import etree
d = sys.argv[1]
n = int(sys.argv[2])
parser = etree.XMLParser(resolve_entities=False, remove_blank_text=False, huge_tree=False)
for i in range(n):
    tree = etree.parse(os.path.join(d, "%d.xml" % i), parser)
    for name, exc, com in (("inc", False, False), ("incc", False, True), ("exc", True, False), ("excc", True, True)):
        with open(os.path.join(d, "%d.%s" % (i, name)), "wb") as f:
            f.write(etree.tostring(tree, method="c14n", exclusive=exc, with_comments=com))
"#;

#[test]
fn whole_document_c14n_matches_libxml2() {
    let Some(python) = python_with_lxml() else {
        eprintln!("SKIPPED c14n differential test: no python3 with lxml found");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let docs: Vec<String> = (0..DOCS).map(|_| document(&mut rng, true)).collect();
    for (i, d) in docs.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{i}.xml")), d).unwrap();
    }
    let out = Command::new(python)
        .args(["-c", SCRIPT])
        .arg(dir.path())
        .arg(DOCS.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "lxml failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let methods = [
        ("inc", C14nMethod::Inclusive10),
        ("inc", C14nMethod::Inclusive11), // same as 1.0 for a whole document
        ("incc", C14nMethod::Inclusive10WithComments),
        ("exc", C14nMethod::Exclusive),
        ("excc", C14nMethod::ExclusiveWithComments),
    ];
    let mut compared = 0;
    for (i, src) in docs.iter().enumerate() {
        let doc = Document::parse(src.as_bytes())
            .unwrap_or_else(|e| panic!("doc {i} rejected: {e}\n{src}"));
        for (ext, method) in methods {
            let expected = read(&dir.path().join(format!("{i}.{ext}")));
            let ours = canonicalize(&doc, Document::DOCUMENT, method, &[], None).unwrap();
            assert!(
                ours == expected,
                "doc {i} {method:?}\ninput:\n{src}\nours:\n{}\nlibxml2:\n{}",
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&expected)
            );
            compared += 1;
        }
    }
    assert_eq!(compared, DOCS * methods.len());
}

const SUBTREE_SCRIPT: &str = r#"
import sys, os
from lxml import etree
d = sys.argv[1]
n = int(sys.argv[2])
parser = etree.XMLParser(resolve_entities=False, remove_blank_text=False)
for i in range(n):
    tree = etree.parse(os.path.join(d, "%d.xml" % i), parser)
    idx = int(open(os.path.join(d, "%d.idx" % i)).read())
    el = list(tree.getroot().iter(tag=etree.Element))[idx]
    for name, com, prefixes in (("exc", False, None), ("excc", True, None), ("excp", False, ["a", "c", "wsu"])):
        with open(os.path.join(d, "%d.%s" % (i, name)), "wb") as f:
            f.write(etree.tostring(el, method="c14n", exclusive=True, with_comments=com, inclusive_ns_prefixes=prefixes))
"#;

/// Exclusive c14n of a random element's subtree (with and without an InclusiveNamespaces
/// PrefixList). Documents here have no default-namespace declarations, where lxml's subtree
/// c14n is trustworthy.
#[test]
fn exclusive_subtree_c14n_matches_libxml2_without_default_namespaces() {
    let Some(python) = python_with_lxml() else {
        eprintln!("SKIPPED c14n differential subtree test: no python3 with lxml found");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut cases = Vec::new();
    for i in 0..DOCS {
        let src = document(&mut rng, false);
        let doc = Document::parse(src.as_bytes())
            .unwrap_or_else(|e| panic!("doc {i} rejected: {e}\n{src}"));
        let elements: Vec<_> = (0..doc.nodes.len())
            .filter(|&n| doc.element(n).is_some())
            .collect();
        let pick = rng.below(elements.len());
        std::fs::write(dir.path().join(format!("{i}.xml")), &src).unwrap();
        std::fs::write(dir.path().join(format!("{i}.idx")), pick.to_string()).unwrap();
        cases.push((src, doc, elements[pick]));
    }
    let out = Command::new(python)
        .args(["-c", SUBTREE_SCRIPT])
        .arg(dir.path())
        .arg(DOCS.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "lxml failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let prefix_list: Vec<String> = ["a", "c", "wsu"].iter().map(|s| s.to_string()).collect();
    for (i, (src, doc, node)) in cases.iter().enumerate() {
        let variants: [(&str, C14nMethod, &[String]); 3] = [
            ("exc", C14nMethod::Exclusive, &[]),
            ("excc", C14nMethod::ExclusiveWithComments, &[]),
            ("excp", C14nMethod::Exclusive, &prefix_list),
        ];
        for (ext, method, prefixes) in variants {
            let expected = read(&dir.path().join(format!("{i}.{ext}")));
            let ours = canonicalize(doc, *node, method, prefixes, None).unwrap();
            assert!(
                ours == expected,
                "doc {i} node {node} {ext}\ninput:\n{src}\nours:\n{}\nlibxml2:\n{}",
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&expected)
            );
        }
    }
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
