//! XML canonicalization: W3C Canonical XML 1.0 (REC-xml-c14n-20010315), Canonical XML 1.1
//! (xml-c14n11) and Exclusive XML Canonicalization 1.0 (xml-exc-c14n), with and without
//! comments, over the node-sets XML Signature produces from same-document references: a
//! whole document, or one element's subtree in its document context, optionally minus one
//! subtree (the enveloped-signature transform). Arbitrary XPath node-sets are out of scope.
//!
//! Because the node-set is always "a subtree minus a subtree", the nearest *output* ancestor
//! of every output element except the apex is its parent, which keeps the namespace rules
//! simple: a namespace declaration is rendered when its value differs from what the output
//! ancestors already rendered (inclusive: every in-scope namespace; exclusive: only visibly
//! utilised prefixes and the InclusiveNamespaces PrefixList).
//!
//! `xml:*` attributes on ancestors of the apex: C14N 1.0 copies all of them onto the apex,
//! C14N 1.1 copies `xml:lang` and `xml:space` but not `xml:id`, and performs the xml:base
//! fix-up (C14N 1.1 §2.4: the omitted ancestors' xml:base values joined outermost first, then
//! the apex's own value, RFC 3986 §5.2 with C14N 1.1's dot-segment rule); exclusive copies
//! none.

use std::collections::HashSet;
use std::sync::Arc;

use super::scope::Bindings;
use super::tree::{Document, Element, NodeId, NodeKind, XML_NS};

/// A canonicalization algorithm, identified in XML Signature by its URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum C14nMethod {
    Inclusive10,
    Inclusive10WithComments,
    Inclusive11,
    Inclusive11WithComments,
    Exclusive,
    ExclusiveWithComments,
}

impl C14nMethod {
    pub const ALL: [C14nMethod; 6] = [
        C14nMethod::Inclusive10,
        C14nMethod::Inclusive10WithComments,
        C14nMethod::Inclusive11,
        C14nMethod::Inclusive11WithComments,
        C14nMethod::Exclusive,
        C14nMethod::ExclusiveWithComments,
    ];

    /// The method for an algorithm URI, or `None` if the URI is not a c14n method we know.
    pub fn from_uri(uri: &str) -> Option<C14nMethod> {
        Self::ALL.into_iter().find(|m| m.uri() == uri)
    }

    /// The W3C algorithm URI.
    pub fn uri(self) -> &'static str {
        match self {
            C14nMethod::Inclusive10 => "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
            C14nMethod::Inclusive10WithComments => {
                "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
            }
            C14nMethod::Inclusive11 => "http://www.w3.org/2006/12/xml-c14n11",
            C14nMethod::Inclusive11WithComments => {
                "http://www.w3.org/2006/12/xml-c14n11#WithComments"
            }
            C14nMethod::Exclusive => "http://www.w3.org/2001/10/xml-exc-c14n#",
            C14nMethod::ExclusiveWithComments => {
                "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
            }
        }
    }

    pub fn with_comments(self) -> bool {
        matches!(
            self,
            C14nMethod::Inclusive10WithComments
                | C14nMethod::Inclusive11WithComments
                | C14nMethod::ExclusiveWithComments
        )
    }

    pub fn is_exclusive(self) -> bool {
        matches!(
            self,
            C14nMethod::Exclusive | C14nMethod::ExclusiveWithComments
        )
    }

    /// Which `xml:*` attributes of the apex's ancestors are copied onto the apex.
    fn inherits_xml_attr(self, local: &str) -> bool {
        match self {
            C14nMethod::Inclusive10 | C14nMethod::Inclusive10WithComments => true,
            C14nMethod::Inclusive11 | C14nMethod::Inclusive11WithComments => {
                matches!(local, "lang" | "space" | "base")
            }
            C14nMethod::Exclusive | C14nMethod::ExclusiveWithComments => false,
        }
    }
}

/// Why canonicalization could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum C14nError {
    #[error("c14n: node {0} is neither the document node nor an element")]
    NotElementOrDocument(NodeId),
    #[error("c14n: element nesting deeper than {0}")]
    TooDeep(usize),
}

/// Guard for trees built by hand (the parser already limits depth to far less).
const MAX_DEPTH: usize = 4096;

/// Canonicalizes `node` (the document node = the whole document; an element = its subtree in
/// its document context), leaving out the subtree at `exclude` if given.
/// `inclusive_prefixes` is the exclusive method's InclusiveNamespaces PrefixList
/// (`#default` names the default namespace); inclusive methods ignore it.
pub fn canonicalize(
    doc: &Document,
    node: NodeId,
    method: C14nMethod,
    inclusive_prefixes: &[String],
    exclude: Option<NodeId>,
) -> Result<Vec<u8>, C14nError> {
    let prefix_list = inclusive_prefixes
        .iter()
        .map(|p| {
            if p == "#default" {
                None
            } else {
                Some(p.clone())
            }
        })
        .collect();
    let mut c = Canon {
        doc,
        method,
        prefix_list,
        exclude,
        out: Vec::new(),
        scope: Bindings::default(),
        rendered: Bindings::default(),
    };
    match doc.nodes.get(node).map(|n| &n.kind) {
        Some(NodeKind::Document) => c.document(node)?,
        Some(NodeKind::Element(_)) => {
            if exclude != Some(node) {
                // The apex sees every namespace in scope from its ancestors (its own
                // declarations are included here and applied again by `element`: harmless).
                for d in doc.in_scope_namespaces(node) {
                    if d.prefix.as_deref() != Some("xml") {
                        c.scope.push(d.prefix, d.uri);
                    }
                }
                c.element(node, true, 0)?;
            }
        }
        _ => return Err(C14nError::NotElementOrDocument(node)),
    }
    Ok(c.out)
}

struct Canon<'d> {
    doc: &'d Document,
    method: C14nMethod,
    /// InclusiveNamespaces PrefixList (`None` = `#default`).
    prefix_list: Vec<Option<String>>,
    exclude: Option<NodeId>,
    out: Vec<u8>,
    /// In-scope namespace bindings (`""` = no namespace).
    scope: Bindings,
    /// Namespace declarations rendered on output ancestors.
    rendered: Bindings,
}

impl Canon<'_> {
    fn document(&mut self, doc_node: NodeId) -> Result<(), C14nError> {
        let children = self.doc.children(doc_node);
        if self.doc.is_fragment {
            for d in &self.doc.context {
                if d.prefix.as_deref() != Some("xml") {
                    self.scope.push(d.prefix.clone(), d.uri.clone());
                }
            }
            for c in children {
                self.node(c, true, 0)?;
            }
            return Ok(());
        }
        // Comments and PIs outside the root: a LF after those before it, before those after.
        let mut after_root = false;
        for c in children {
            if Some(c) == self.exclude {
                continue;
            }
            match &self.doc.nodes[c].kind {
                NodeKind::Element(_) => {
                    self.element(c, false, 0)?;
                    after_root = true;
                }
                NodeKind::Comment(_) | NodeKind::ProcessingInstruction { .. } => {
                    if !self.method.with_comments()
                        && matches!(self.doc.nodes[c].kind, NodeKind::Comment(_))
                    {
                        continue;
                    }
                    if after_root {
                        self.out.push(b'\n');
                    }
                    self.node(c, false, 0)?;
                    if !after_root {
                        self.out.push(b'\n');
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Renders any node; `apex` marks an element whose parent is not in the node-set.
    fn node(&mut self, id: NodeId, apex: bool, depth: usize) -> Result<(), C14nError> {
        if Some(id) == self.exclude {
            return Ok(());
        }
        match &self.doc.nodes[id].kind {
            NodeKind::Element(_) => self.element(id, apex, depth)?,
            NodeKind::Text(t) | NodeKind::CData(t) => escape_text(t, &mut self.out),
            NodeKind::Comment(c) => {
                if self.method.with_comments() {
                    self.out.extend_from_slice(b"<!--");
                    self.out.extend_from_slice(c.as_bytes());
                    self.out.extend_from_slice(b"-->");
                }
            }
            NodeKind::ProcessingInstruction { target, data } => {
                self.out.extend_from_slice(b"<?");
                self.out.extend_from_slice(target.as_bytes());
                if !data.is_empty() {
                    self.out.push(b' ');
                    self.out.extend_from_slice(data.as_bytes());
                }
                self.out.extend_from_slice(b"?>");
            }
            NodeKind::Document => {}
        }
        Ok(())
    }

    fn element(&mut self, id: NodeId, apex: bool, depth: usize) -> Result<(), C14nError> {
        if depth > MAX_DEPTH {
            return Err(C14nError::TooDeep(MAX_DEPTH));
        }
        let Some(e) = self.doc.element(id) else {
            return Ok(());
        };
        let scope_mark = self.scope.mark();
        let rendered_mark = self.rendered.mark();
        for d in &e.ns_decls {
            if d.prefix.as_deref() != Some("xml") {
                self.scope.push(d.prefix.clone(), d.uri.clone());
            }
        }

        let decls = self.namespaces_to_render(e, apex);
        let attrs = self.attributes_to_render(id, e, apex);

        let qname = e.name.qualified();
        self.out.push(b'<');
        self.out.extend_from_slice(qname.as_bytes());
        for (prefix, uri) in &decls {
            match prefix {
                Some(p) => {
                    self.out.extend_from_slice(b" xmlns:");
                    self.out.extend_from_slice(p.as_bytes());
                }
                None => self.out.extend_from_slice(b" xmlns"),
            }
            self.out.extend_from_slice(b"=\"");
            escape_attr(uri, &mut self.out);
            self.out.push(b'"');
        }
        for (name, value) in &attrs {
            self.out.push(b' ');
            self.out.extend_from_slice(name.as_bytes());
            self.out.extend_from_slice(b"=\"");
            escape_attr(value, &mut self.out);
            self.out.push(b'"');
        }
        self.out.push(b'>');
        for (p, u) in decls {
            self.rendered.push(p, u);
        }

        for &c in &e.children {
            self.node(c, false, depth + 1)?;
        }

        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(qname.as_bytes());
        self.out.push(b'>');
        self.scope.truncate(scope_mark);
        self.rendered.truncate(rendered_mark);
        Ok(())
    }

    /// The namespace declarations to write on `e`, sorted (default first, then by prefix).
    fn namespaces_to_render(&self, e: &Element, apex: bool) -> Vec<(Option<String>, String)> {
        let mut candidates: Vec<Option<String>> = Vec::new();
        if self.method.is_exclusive() {
            // Visibly utilised: the element's own prefix (or the default namespace) and the
            // prefixes of its qualified attributes.
            candidates.push(e.name.prefix.clone());
            candidates.extend(
                e.attributes
                    .iter()
                    .filter_map(|a| a.name.prefix.clone())
                    .map(Some),
            );
            candidates.extend(self.prefix_list.iter().cloned());
        } else if apex {
            candidates.extend(self.scope.prefixes().cloned());
            // Values only change where they are declared, so below the apex the element's own
            // declarations are the only candidates.
        } else {
            candidates.extend(e.ns_decls.iter().map(|d| d.prefix.clone()));
        }
        candidates.sort();
        candidates.dedup();

        let mut out = Vec::new();
        for p in candidates {
            if p.as_deref() == Some("xml") {
                continue;
            }
            let in_scope = self.scope.get(p.as_deref());
            let value = match (&p, in_scope) {
                (_, Some(v)) => v,
                (None, None) => "",
                (Some(_), None) => continue, // a PrefixList entry not in scope
            };
            let already = self.rendered.get(p.as_deref()).unwrap_or("");
            // An empty value for a prefix cannot occur (XML 1.0 namespaces); for the default
            // namespace, "" vs nothing rendered means no xmlns="" is needed.
            if value != already {
                out.push((p, value.to_owned()));
            }
        }
        out
    }

    /// Attributes as (qualified name, value), sorted by (namespace URI, local name) with
    /// unqualified ones first; on the apex of an inclusive subtree, plus inherited `xml:*`.
    fn attributes_to_render(&self, id: NodeId, e: &Element, apex: bool) -> Vec<(String, String)> {
        let mut attrs: Vec<(Option<Arc<str>>, String, String, String)> = e
            .attributes
            .iter()
            .map(|a| {
                (
                    a.name.ns.clone(),
                    a.name.local.clone(),
                    a.name.qualified(),
                    a.value.clone(),
                )
            })
            .collect();
        if apex && !self.method.is_exclusive() && !self.doc.is_fragment {
            // Nearest ancestor wins; the apex's own xml:* attributes win over all.
            let mut have: HashSet<String> = e
                .attributes
                .iter()
                .filter(|a| a.name.ns.as_deref() == Some(XML_NS))
                .map(|a| a.name.local.clone())
                .collect();
            let mut cur = self.doc.nodes[id].parent;
            while let Some(p) = cur {
                if let Some(pe) = self.doc.element(p) {
                    for a in &pe.attributes {
                        if a.name.ns.as_deref() == Some(XML_NS)
                            && self.method.inherits_xml_attr(&a.name.local)
                            && have.insert(a.name.local.clone())
                        {
                            attrs.push((
                                a.name.ns.clone(),
                                a.name.local.clone(),
                                format!("xml:{}", a.name.local),
                                a.value.clone(),
                            ));
                        }
                    }
                }
                cur = self.doc.nodes[p].parent;
            }
        }
        if apex
            && matches!(
                self.method,
                C14nMethod::Inclusive11 | C14nMethod::Inclusive11WithComments
            )
            && !self.doc.is_fragment
        {
            self.fix_up_xml_base(id, e, &mut attrs);
        }
        attrs.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        attrs.into_iter().map(|(_, _, q, v)| (q, v)).collect()
    }

    /// C14N 1.1 §2.4 xml:base fix-up on the apex: the ancestors' xml:base values joined,
    /// outermost first, then the apex's own value (replacing the nearest-ancestor copy the
    /// inheritance above put there).
    fn fix_up_xml_base(
        &self,
        id: NodeId,
        e: &Element,
        attrs: &mut Vec<(Option<Arc<str>>, String, String, String)>,
    ) {
        let is_base = |ns: Option<&str>, local: &str| ns == Some(XML_NS) && local == "base";
        let mut bases: Vec<&str> = Vec::new();
        let mut cur = self.doc.nodes[id].parent;
        while let Some(p) = cur {
            if let Some(pe) = self.doc.element(p) {
                if let Some(a) = pe
                    .attributes
                    .iter()
                    .find(|a| is_base(a.name.ns.as_deref(), &a.name.local))
                {
                    bases.push(&a.value);
                }
            }
            cur = self.doc.nodes[p].parent;
        }
        if bases.is_empty() {
            return; // nothing inherited: the apex's own value (if any) stands as written
        }
        bases.reverse();
        let own = e
            .attributes
            .iter()
            .find(|a| is_base(a.name.ns.as_deref(), &a.name.local))
            .map(|a| a.value.as_str());
        let mut joined = bases[0].to_string();
        for b in bases.iter().skip(1).copied().chain(own) {
            joined = join_uri(&joined, b);
        }
        attrs.retain(|a| !is_base(a.0.as_deref(), &a.1));
        attrs.push((
            Some(Arc::from(XML_NS)),
            "base".into(),
            "xml:base".into(),
            joined,
        ));
    }
}

/// URI reference parts (RFC 3986 §3): scheme, authority, path, query; fragments are dropped
/// from bases (§5.2.1) and kept from references.
struct UriParts<'a> {
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

fn split_uri(u: &str) -> UriParts<'_> {
    let (rest, fragment) = match u.split_once('#') {
        Some((a, f)) => (a, Some(f)),
        None => (u, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let scheme_end = rest.find(':').filter(|&i| {
        i > 0
            && rest[..i].starts_with(|c: char| c.is_ascii_alphabetic())
            && rest[..i]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            && !rest[..i].contains('/')
    });
    let (scheme, rest) = match scheme_end {
        Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
        None => (None, rest),
    };
    let (authority, path) = match rest.strip_prefix("//") {
        Some(r) => {
            let end = r.find('/').unwrap_or(r.len());
            (Some(&r[..end]), &r[end..])
        }
        None => (None, rest),
    };
    UriParts {
        scheme,
        authority,
        path,
        query,
        fragment,
    }
}

/// RFC 3986 §5.2.4 remove_dot_segments, modified as C14N 1.1 §2.4 asks: in a relative path
/// a `..` that has nothing to remove is kept.
fn remove_dot_segments(path: &str) -> String {
    let absolute = path.starts_with('/');
    let segs: Vec<&str> = path.split('/').collect();
    let mut out: Vec<&str> = Vec::new();
    let n = segs.len();
    let mut trailing_slash = false;
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == n;
        if i == 0 && absolute {
            continue; // the empty segment before the leading '/'
        }
        match *seg {
            "." => trailing_slash = last,
            ".." => {
                if out.last().is_some_and(|s| *s != "..") {
                    out.pop();
                } else if !absolute {
                    out.push("..");
                }
                trailing_slash = last;
            }
            s => {
                out.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut r = String::new();
    if absolute {
        r.push('/');
    }
    r.push_str(&out.join("/"));
    if trailing_slash && !out.is_empty() {
        r.push('/');
    }
    r
}

/// Resolves `reference` against `base` (RFC 3986 §5.2.2, strict), with the modified
/// dot-segment removal; `base` may itself be relative (an ancestor's relative xml:base).
fn join_uri(base: &str, reference: &str) -> String {
    let b = split_uri(base);
    let r = split_uri(reference);
    let (scheme, authority, path, query);
    if r.scheme.is_some() {
        scheme = r.scheme;
        authority = r.authority;
        path = remove_dot_segments(r.path);
        query = r.query;
    } else {
        scheme = b.scheme;
        if r.authority.is_some() {
            authority = r.authority;
            path = remove_dot_segments(r.path);
            query = r.query;
        } else {
            authority = b.authority;
            if r.path.is_empty() {
                path = b.path.to_string();
                query = r.query.or(b.query);
            } else {
                let merged = if r.path.starts_with('/') {
                    r.path.to_string()
                } else if b.authority.is_some() && b.path.is_empty() {
                    format!("/{}", r.path)
                } else {
                    match b.path.rfind('/') {
                        Some(i) => format!("{}{}", &b.path[..=i], r.path),
                        None => r.path.to_string(),
                    }
                };
                path = remove_dot_segments(&merged);
                query = r.query;
            }
        }
    }
    let mut out = String::new();
    if let Some(s) = scheme {
        out.push_str(s);
        out.push(':');
    }
    if let Some(a) = authority {
        out.push_str("//");
        out.push_str(a);
    }
    out.push_str(&path);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = r.fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Text nodes: `&`, `<`, `>` and CR are escaped (C14N 1.0 §2.3 / 1.1 §2.3).
fn escape_text(s: &str, out: &mut Vec<u8>) {
    for b in s.bytes() {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'\r' => out.extend_from_slice(b"&#xD;"),
            _ => out.push(b),
        }
    }
}

/// Attribute values: `&`, `<`, `"`, TAB, LF and CR are escaped.
fn escape_attr(s: &str, out: &mut Vec<u8>) {
    for b in s.bytes() {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            b'\t' => out.extend_from_slice(b"&#x9;"),
            b'\n' => out.extend_from_slice(b"&#xA;"),
            b'\r' => out.extend_from_slice(b"&#xD;"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::xml::NsDecl;

    fn run(src: &str, node: Option<&str>, method: C14nMethod, prefixes: &[&str]) -> String {
        let doc = Document::parse(src.as_bytes()).unwrap();
        let id = match node {
            None => Document::DOCUMENT,
            Some(local) => doc
                .descendants(0)
                .find(|&n| doc.element(n).is_some_and(|e| e.name.local == local))
                .unwrap(),
        };
        let prefixes: Vec<String> = prefixes.iter().map(|s| s.to_string()).collect();
        String::from_utf8(canonicalize(&doc, id, method, &prefixes, None).unwrap()).unwrap()
    }

    #[test]
    fn uris_round_trip() {
        for m in C14nMethod::ALL {
            assert_eq!(C14nMethod::from_uri(m.uri()), Some(m));
        }
        assert_eq!(
            C14nMethod::from_uri("http://www.w3.org/2001/10/xml-exc-c14n"),
            None
        );
    }

    #[test]
    fn prolog_and_epilog() {
        let src = "<?xml version=\"1.0\"?>\r\n<?pi  x ?>\n<!--c-->\n<a/>\n<!--d--><?e?>\n";
        assert_eq!(
            run(src, None, C14nMethod::Inclusive10WithComments, &[]),
            "<?pi x ?>\n<!--c-->\n<a></a>\n<!--d-->\n<?e?>"
        );
        assert_eq!(
            run(src, None, C14nMethod::Exclusive, &[]),
            "<?pi x ?>\n<a></a>\n<?e?>"
        );
    }

    #[test]
    fn escaping_and_line_ends() {
        let src = "<a t=\"&quot;&#9;&#10;&#13;&lt;>'&amp;\r\n\">&amp;&lt;&gt;&#13;\"'\r\n<![CDATA[<&>]]></a>";
        assert_eq!(
            run(src, None, C14nMethod::Inclusive10, &[]),
            "<a t=\"&quot;&#x9;&#xA;&#xD;&lt;>'&amp; \">&amp;&lt;&gt;&#xD;\"'\n&lt;&amp;&gt;</a>"
        );
    }

    #[test]
    fn attribute_and_namespace_order() {
        let src = r#"<a xmlns:b="urn:b" xmlns:z="urn:a" b:x="1" z:y="2" c="3" xmlns="urn:d"/>"#;
        let want = r#"<a xmlns="urn:d" xmlns:b="urn:b" xmlns:z="urn:a" c="3" z:y="2" b:x="1"></a>"#;
        assert_eq!(run(src, None, C14nMethod::Inclusive10, &[]), want);
        assert_eq!(run(src, None, C14nMethod::Exclusive, &[]), want);
    }

    #[test]
    fn default_namespace_undeclaration() {
        let src = r#"<a xmlns="urn:d" xmlns:p="urn:p"><b xmlns=""><c xmlns=""/><p:d/></b><e xmlns="urn:d"/></a>"#;
        assert_eq!(
            run(src, None, C14nMethod::Inclusive10, &[]),
            r#"<a xmlns="urn:d" xmlns:p="urn:p"><b xmlns=""><c></c><p:d></p:d></b><e></e></a>"#
        );
        assert_eq!(
            run(src, None, C14nMethod::Exclusive, &[]),
            r#"<a xmlns="urn:d"><b xmlns=""><c></c><p:d xmlns:p="urn:p"></p:d></b><e></e></a>"#
        );
        // Subtree whose in-scope default namespace is empty: no xmlns="" on the apex.
        assert_eq!(
            run(src, Some("b"), C14nMethod::Exclusive, &[]),
            "<b><c></c><p:d xmlns:p=\"urn:p\"></p:d></b>"
        );
        assert_eq!(
            run(src, Some("b"), C14nMethod::Inclusive10, &[]),
            "<b xmlns:p=\"urn:p\"><c></c><p:d></p:d></b>"
        );
    }

    #[test]
    fn exclusive_prefix_list() {
        let src = r#"<r xmlns="urn:d" xmlns:p="urn:p" xmlns:q="urn:q"><s><t q:a="1"/></s></r>"#;
        assert_eq!(
            run(src, Some("s"), C14nMethod::Exclusive, &[]),
            r#"<s xmlns="urn:d"><t xmlns:q="urn:q" q:a="1"></t></s>"#
        );
        assert_eq!(
            run(
                src,
                Some("s"),
                C14nMethod::Exclusive,
                &["p", "q", "missing"]
            ),
            r#"<s xmlns="urn:d" xmlns:p="urn:p" xmlns:q="urn:q"><t q:a="1"></t></s>"#
        );
    }

    #[test]
    fn xml_attributes_on_the_apex() {
        let src = r#"<r xml:lang="en" xml:base="http://x/" xml:id="i" xml:space="preserve"><m xml:lang="de"><a/></m></r>"#;
        assert_eq!(
            run(src, Some("a"), C14nMethod::Inclusive10, &[]),
            r#"<a xml:base="http://x/" xml:id="i" xml:lang="de" xml:space="preserve"></a>"#
        );
        assert_eq!(
            run(src, Some("a"), C14nMethod::Inclusive11, &[]),
            r#"<a xml:base="http://x/" xml:lang="de" xml:space="preserve"></a>"#
        );
        assert_eq!(run(src, Some("a"), C14nMethod::Exclusive, &[]), "<a></a>");
    }

    #[test]
    fn excluded_subtree_is_left_out() {
        let src = r#"<r xmlns:ds="urn:ds"><x>1</x><ds:Signature><ds:V/></ds:Signature><y/></r>"#;
        let doc = Document::parse(src.as_bytes()).unwrap();
        let sig = doc.children_elements(doc.root_element().unwrap())[1];
        let out = canonicalize(&doc, 0, C14nMethod::Exclusive, &[], Some(sig)).unwrap();
        assert_eq!(out, b"<r><x>1</x><y></y></r>");
        let out = canonicalize(&doc, 0, C14nMethod::Inclusive10, &[], Some(sig)).unwrap();
        assert_eq!(out, b"<r xmlns:ds=\"urn:ds\"><x>1</x><y></y></r>");
    }

    #[test]
    fn fragment_in_context() {
        let ctx = [
            NsDecl {
                prefix: None,
                uri: "urn:d".into(),
            },
            NsDecl {
                prefix: Some("p".into()),
                uri: "urn:p".into(),
            },
        ];
        let doc = Document::parse_fragment_in_context(b" <a>x</a><p:b/> ", &ctx).unwrap();
        let out = canonicalize(&doc, 0, C14nMethod::Exclusive, &[], None).unwrap();
        assert_eq!(
            out,
            b" <a xmlns=\"urn:d\">x</a><p:b xmlns:p=\"urn:p\"></p:b> "
        );
    }

    #[test]
    fn rejects_non_element_nodes() {
        let doc = Document::parse(b"<a>t</a>").unwrap();
        assert_eq!(
            canonicalize(&doc, 2, C14nMethod::Exclusive, &[], None),
            Err(C14nError::NotElementOrDocument(2))
        );
        assert!(canonicalize(&doc, 99, C14nMethod::Exclusive, &[], None).is_err());
    }
}
