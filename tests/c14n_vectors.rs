//! Canonicalization against third-party expected outputs (see tests/vectors/ORIGIN.md):
//! the merlin-exc-c14n-one interop set and the exclusive-c14n spec examples from santuario.

use std::path::PathBuf;

use wcfscope_core::xml::{canonicalize, C14nMethod, Document, NodeId};

const MERLIN: &str =
    "santuario-xml-security-java/src/test/resources/ie/baltimore/merlin-examples/merlin-exc-c14n-one";
const INEXCL: &str =
    "santuario-xml-security-java/src/test/resources/org/apache/xml/security/c14n/inExcl";

fn vector(dir: &str, name: &str) -> Vec<u8> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "vectors", dir, name]
        .iter()
        .collect();
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(dir: &str, name: &str) -> Document {
    Document::parse(&vector(dir, name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The first element (document order) named `{ns}local`.
fn find(doc: &Document, ns: &str, local: &str) -> NodeId {
    doc.descendants(Document::DOCUMENT)
        .find(|&n| doc.element(n).is_some_and(|e| e.name.is(Some(ns), local)))
        .unwrap_or_else(|| panic!("no {{{ns}}}{local}"))
}

fn c14n(doc: &Document, node: NodeId, method: C14nMethod, prefixes: &[&str]) -> String {
    let prefixes: Vec<String> = prefixes.iter().map(|s| s.to_string()).collect();
    let bytes = canonicalize(doc, node, method, &prefixes, None).unwrap();
    String::from_utf8(bytes).unwrap()
}

fn expect(dir: &str, name: &str) -> String {
    String::from_utf8(vector(dir, name)).unwrap()
}

#[test]
fn merlin_exc_c14n_one_four_references() {
    let doc = parse(MERLIN, "exc-signature.xml");
    let target = doc
        .find_by_id("to-be-signed")
        .unwrap()
        .expect("id('to-be-signed')");
    let cases: [(&str, C14nMethod, &[&str]); 4] = [
        ("c14n-0.txt", C14nMethod::Exclusive, &[]),
        ("c14n-1.txt", C14nMethod::Exclusive, &["bar", "#default"]),
        ("c14n-2.txt", C14nMethod::ExclusiveWithComments, &[]),
        (
            "c14n-3.txt",
            C14nMethod::ExclusiveWithComments,
            &["bar", "#default"],
        ),
    ];
    for (file, method, prefixes) in cases {
        assert_eq!(
            c14n(&doc, target, method, prefixes),
            expect(MERLIN, file),
            "{file}"
        );
    }
}

#[test]
fn merlin_exc_c14n_one_signed_info() {
    let doc = parse(MERLIN, "exc-signature.xml");
    let si = find(&doc, "http://www.w3.org/2000/09/xmldsig#", "SignedInfo");
    assert_eq!(
        c14n(&doc, si, C14nMethod::Exclusive, &[]),
        expect(MERLIN, "c14n-4.txt")
    );
}

#[test]
fn inexcl_example2_2_1() {
    let doc = parse(INEXCL, "example2_2_1.xml");
    let elem2 = find(&doc, "http://example.net", "elem2");
    assert_eq!(
        c14n(&doc, elem2, C14nMethod::Inclusive10WithComments, &[]),
        expect(INEXCL, "example2_2_1_c14nized.xml")
    );
    assert_eq!(
        c14n(&doc, elem2, C14nMethod::ExclusiveWithComments, &[]),
        expect(INEXCL, "example2_2_c14nized_exclusive.xml")
    );
}

#[test]
fn inexcl_example2_2_2() {
    let doc = parse(INEXCL, "example2_2_2.xml");
    let elem2 = find(&doc, "http://example.net", "elem2");
    assert_eq!(
        c14n(&doc, elem2, C14nMethod::Inclusive10WithComments, &[]),
        expect(INEXCL, "example2_2_2_c14nized.xml")
    );
    // Same output as for 2_2_1: exclusive c14n does not depend on the enclosing context.
    assert_eq!(
        c14n(&doc, elem2, C14nMethod::ExclusiveWithComments, &[]),
        expect(INEXCL, "example2_2_c14nized_exclusive.xml")
    );
}

#[test]
#[ignore = "XPath node-set transforms out of scope (example2_2_3 selects a node-set by XPath)"]
fn inexcl_example2_2_3() {}

#[test]
fn inexcl_example2_4() {
    let doc = parse(INEXCL, "example2_4.xml");
    let elem2 = find(&doc, "http://example.net", "elem2");
    assert_eq!(
        c14n(&doc, elem2, C14nMethod::ExclusiveWithComments, &[]),
        expect(INEXCL, "example2_4_c14nized.xml")
    );
}

#[test]
fn plain_soap_body_subtree() {
    let doc = parse(INEXCL, "plain-soap-1.1.xml");
    let body = find(&doc, "http://schemas.xmlsoap.org/soap/envelope/", "Body");
    assert_eq!(
        c14n(&doc, body, C14nMethod::ExclusiveWithComments, &[]),
        expect(INEXCL, "plain-soap-c14nized.xml")
    );
}
