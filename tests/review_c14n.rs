//! Review: canonicalization on tricky inputs. Expected outputs are written by hand from the
//! W3C specifications (Canonical XML 1.0/1.1, Exclusive XML Canonicalization 1.0); the
//! xml:base cases were also checked against libxml2 (the DigestValue xmlsec1 computes for a
//! C14N 1.1 Reference to the element), never against our own canonicalizer.

use wcfscope_core::xml::{canonicalize, C14nMethod, Document, NodeKind};

fn by_id(doc: &Document, id: &str) -> usize {
    (0..doc.nodes.len())
        .find(|&i| match &doc.nodes[i].kind {
            NodeKind::Element(e) => e
                .attributes
                .iter()
                .any(|a| a.name.local == "Id" && a.value == id),
            _ => false,
        })
        .unwrap()
}

fn c14n(src: &str, id: Option<&str>, m: C14nMethod, prefixes: &[&str]) -> String {
    let doc = Document::parse(src.as_bytes()).unwrap();
    let node = id.map(|i| by_id(&doc, i)).unwrap_or(Document::DOCUMENT);
    let p: Vec<String> = prefixes.iter().map(|s| s.to_string()).collect();
    String::from_utf8(canonicalize(&doc, node, m, &p, None).unwrap()).unwrap()
}

#[test]
fn c14n11_fixes_up_xml_base_from_the_omitted_ancestors() {
    // (root xml:base, mid xml:base, apex's own xml:base) → value on the canonical apex.
    let cases = [
        (
            "http://a/b/c/",
            "../d/./e",
            Some("f/../g"),
            "http://a/b/d/g",
        ),
        ("http://a/b/c/", "../d/./e/", None, "http://a/b/d/e/"),
        ("http://a/b?q", "", Some("c#frag"), "http://a/c#frag"),
        ("http://a/b/c/d", "../../../../x", None, "http://a/x"),
        ("http://a/b/", "/abs/p/", Some("rel"), "http://a/abs/p/rel"),
        ("x/", "../../../y/", Some("z"), "../../y/z"),
        ("http://a/b/", "c/d/", None, "http://a/b/c/d/"),
    ];
    for (root, mid, own, want) in cases {
        let own_attr = own
            .map(|o| format!(r#" xml:base="{o}""#))
            .unwrap_or_default();
        let src = format!(
            r#"<root xml:base="{root}" xml:lang="en"><mid xml:base="{mid}"><t Id="T"{own_attr}/></mid></root>"#
        );
        assert_eq!(
            c14n(&src, Some("T"), C14nMethod::Inclusive11, &[]),
            format!(r#"<t Id="T" xml:base="{want}" xml:lang="en"></t>"#),
            "{src}"
        );
        // Canonical XML 1.0 copies the nearest value as is; exclusive copies nothing.
        let nearest = own.unwrap_or(mid);
        assert_eq!(
            c14n(&src, Some("T"), C14nMethod::Inclusive10, &[]),
            format!(r#"<t Id="T" xml:base="{nearest}" xml:lang="en"></t>"#),
            "{src}"
        );
        assert_eq!(
            c14n(&src, Some("T"), C14nMethod::Exclusive, &[]),
            format!(r#"<t Id="T"{own_attr}></t>"#)
        );
    }
}

#[test]
fn attribute_values_and_text_escape_per_the_spec() {
    // Literal tab/LF/CRLF in attributes are normalised to spaces by the parser (XML 1.0
    // §3.3.3); character references survive and are written as &#x9; &#xA; &#xD;.
    let src = "<a b=\"&#9;x&#13;&#10;y\" c=\"t\tu\nv\r\nw\" d=\"&lt;&amp;&gt;&quot;'\">x &#13; y &gt; \" ' &#xD;&#xA;\r\n<![CDATA[<&>\r\n]]></a>";
    let want = "<a b=\"&#x9;x&#xD;&#xA;y\" c=\"t u v w\" d=\"&lt;&amp;>&quot;'\">x &#xD; y &gt; \" ' &#xD;\n\n&lt;&amp;&gt;\n</a>";
    for m in C14nMethod::ALL {
        assert_eq!(c14n(src, None, m, &[]), want, "{m:?}");
    }
}

#[test]
fn prolog_epilog_comments_and_pis() {
    let src = "<?xml version=\"1.0\"?>\n<?pi   data  ?>\n<!-- c1 -->\n<a><?p?><!--in--></a>\n<!-- c2 -->\n<?q x?>";
    assert_eq!(
        c14n(src, None, C14nMethod::Inclusive10WithComments, &[]),
        "<?pi data  ?>\n<!-- c1 -->\n<a><?p?><!--in--></a>\n<!-- c2 -->\n<?q x?>"
    );
    assert_eq!(
        c14n(src, None, C14nMethod::Exclusive, &[]),
        "<?pi data  ?>\n<a><?p?></a>\n<?q x?>"
    );
}

#[test]
fn namespace_rendering_inclusive_and_exclusive() {
    let superfluous = r#"<a xmlns:p="urn:p" xmlns:q="urn:q"><p:b xmlns:p="urn:p"><c xmlns:q="urn:q" q:x="1"/></p:b></a>"#;
    assert_eq!(
        c14n(superfluous, None, C14nMethod::Inclusive10, &[]),
        r#"<a xmlns:p="urn:p" xmlns:q="urn:q"><p:b><c q:x="1"></c></p:b></a>"#
    );
    assert_eq!(
        c14n(superfluous, None, C14nMethod::Exclusive, &[]),
        r#"<a><p:b xmlns:p="urn:p"><c xmlns:q="urn:q" q:x="1"></c></p:b></a>"#
    );
    // Default namespace undeclared below a default: both methods write xmlns="".
    let undecl = r#"<a xmlns="urn:a"><b xmlns=""><c xmlns="urn:a"/></b></a>"#;
    for m in [C14nMethod::Inclusive10, C14nMethod::Exclusive] {
        assert_eq!(
            c14n(undecl, None, m, &[]),
            r#"<a xmlns="urn:a"><b xmlns=""><c xmlns="urn:a"></c></b></a>"#
        );
    }
    // Exclusive subtree of an element in no namespace under a default: nothing to undeclare
    // (no output ancestor declared a default), even with #default in the PrefixList.
    let src = r#"<r xmlns="urn:d" xmlns:p="urn:p"><m xmlns=""><t Id="T"><p:u/></t></m></r>"#;
    assert_eq!(
        c14n(src, Some("T"), C14nMethod::Exclusive, &["#default", "p"]),
        r#"<t xmlns:p="urn:p" Id="T"><p:u></p:u></t>"#
    );
    // #default with a default namespace in scope renders it on the apex.
    let src = r#"<r xmlns="urn:d"><t Id="T" xmlns:p="urn:p"><u/></t></r>"#;
    assert_eq!(
        c14n(src, Some("T"), C14nMethod::Exclusive, &["#default"]),
        r#"<t xmlns="urn:d" Id="T"><u></u></t>"#
    );
    // Inclusive subtree: every namespace in scope lands on the apex.
    assert_eq!(
        c14n(src, Some("T"), C14nMethod::Inclusive10, &[]),
        r#"<t xmlns="urn:d" xmlns:p="urn:p" Id="T"><u></u></t>"#
    );
}
