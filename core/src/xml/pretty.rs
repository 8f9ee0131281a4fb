//! Indented rendering of a subtree, for display only (never for signatures: it changes
//! whitespace). Elements go one per line; an element whose children are all text stays on one
//! line with its text verbatim; whitespace-only text between elements is dropped and other
//! text in mixed content goes on its own line, trimmed.

use super::tree::{Document, NodeId, NodeKind};

const INDENT: &str = "  ";

/// Renders `node` (an element, the document node, or any other node) as indented XML.
pub fn pretty(doc: &Document, node: NodeId) -> String {
    let mut out = String::new();
    match doc.nodes.get(node).map(|n| &n.kind) {
        Some(NodeKind::Document) => {
            for c in doc.children(node) {
                write_node(doc, c, 0, &mut out);
            }
        }
        Some(_) => write_node(doc, node, 0, &mut out),
        None => {}
    }
    out
}

fn write_node(doc: &Document, id: NodeId, depth: usize, out: &mut String) {
    let pad = INDENT.repeat(depth);
    let Some(node) = doc.nodes.get(id) else {
        return;
    };
    match &node.kind {
        NodeKind::Document => {}
        NodeKind::Element(e) => {
            out.push_str(&pad);
            out.push('<');
            out.push_str(&e.name.qualified());
            for d in &e.ns_decls {
                match &d.prefix {
                    Some(p) => out.push_str(&format!(" xmlns:{p}=\"")),
                    None => out.push_str(" xmlns=\""),
                }
                out.push_str(&escape(&d.uri, true));
                out.push('"');
            }
            for a in &e.attributes {
                out.push_str(&format!(
                    " {}=\"{}\"",
                    a.name.qualified(),
                    escape(&a.value, true)
                ));
            }
            if e.children.is_empty() {
                out.push_str("/>\n");
                return;
            }
            out.push('>');
            let text_only = e
                .children
                .iter()
                .all(|&c| matches!(doc.nodes[c].kind, NodeKind::Text(_) | NodeKind::CData(_)));
            if text_only {
                for &c in &e.children {
                    write_inline_text(doc, c, out);
                }
            } else {
                out.push('\n');
                for &c in &e.children {
                    write_node(doc, c, depth + 1, out);
                }
                out.push_str(&pad);
            }
            out.push_str(&format!("</{}>\n", e.name.qualified()));
        }
        NodeKind::Text(t) | NodeKind::CData(t) => {
            let t = t.trim();
            if !t.is_empty() {
                out.push_str(&pad);
                if matches!(node.kind, NodeKind::CData(_)) {
                    out.push_str(&format!("<![CDATA[{t}]]>"));
                } else {
                    out.push_str(&escape(t, false));
                }
                out.push('\n');
            }
        }
        NodeKind::Comment(c) => out.push_str(&format!("{pad}<!--{c}-->\n")),
        NodeKind::ProcessingInstruction { target, data } => {
            let sep = if data.is_empty() { "" } else { " " };
            out.push_str(&format!("{pad}<?{target}{sep}{data}?>\n"));
        }
    }
}

fn write_inline_text(doc: &Document, id: NodeId, out: &mut String) {
    match &doc.nodes[id].kind {
        NodeKind::Text(t) => out.push_str(&escape(t, false)),
        NodeKind::CData(t) => out.push_str(&format!("<![CDATA[{t}]]>")),
        _ => {}
    }
}

fn escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' if !attr => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\n' if attr => out.push_str("&#xA;"),
            '\t' if attr => out.push_str("&#x9;"),
            '\r' => out.push_str("&#xD;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn indents_elements_and_keeps_text() {
        let d = Document::parse(
            br#"<s:E xmlns:s="urn:s"><s:H a="x&quot;">  <t>one &amp; two</t><!--c--></s:H><s:B/></s:E>"#,
        )
        .unwrap();
        let expected = "<s:E xmlns:s=\"urn:s\">\n  <s:H a=\"x&quot;\">\n    <t>one &amp; two</t>\n    <!--c-->\n  </s:H>\n  <s:B/>\n</s:E>\n";
        assert_eq!(pretty(&d, 0), expected);
    }
}
