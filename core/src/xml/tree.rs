//! The tree types. Nodes live in one arena (`Document::nodes`) and refer to each other by
//! [`NodeId`], so a tree is cheap to clone and spans stay valid.

use std::collections::HashMap;
use std::ops::Range;

/// The namespace the `xml` prefix is bound to implicitly.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace of `xmlns` attributes (never declared).
pub const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";
/// WS-Security utility namespace (`wsu:Id`).
pub const WSU_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";

/// Index into [`Document::nodes`].
pub type NodeId = usize;

/// A qualified name as written, plus its resolved namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QName {
    /// The prefix as written (`None` for unprefixed names).
    pub prefix: Option<String>,
    pub local: String,
    /// Namespace URI the prefix (or default namespace, for elements) resolved to in scope.
    /// Unprefixed attributes are in no namespace. Shared (`Arc`) with every name the parser
    /// resolved to the same declaration: a document names few namespaces many times.
    pub ns: Option<std::sync::Arc<str>>,
}

/// A namespace declaration as written on an element: `xmlns="…"` (prefix None) or
/// `xmlns:p="…"`. An empty `uri` with prefix None is an undeclaration (`xmlns=""`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsDecl {
    pub prefix: Option<String>,
    pub uri: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: QName,
    /// The normalised value (references resolved, attribute-value normalisation applied).
    pub value: String,
    /// Byte span of the whole `name="value"` in the source.
    pub span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub name: QName,
    /// Namespace declarations in source order (not included in `attributes`).
    pub ns_decls: Vec<NsDecl>,
    /// Attributes in source order.
    pub attributes: Vec<Attribute>,
    pub children: Vec<NodeId>,
    /// Byte span from `<` of the start tag to `>` of the end tag (or of an empty-element tag).
    pub span: Range<usize>,
    /// Byte span of the content between the start and end tags (empty for `<a/>`).
    pub content_span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// The document node (always node 0); its children are the prolog, root and epilog.
    Document,
    Element(Element),
    /// Character data with references resolved and line ends normalised to LF.
    Text(String),
    /// A CDATA section's content (canonicalization renders it as text).
    CData(String),
    Comment(String),
    ProcessingInstruction {
        target: String,
        data: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: NodeKind,
    pub parent: Option<NodeId>,
    /// Byte span of this node in the source.
    pub span: Range<usize>,
}

/// A parsed XML document: the node arena and the source bytes the spans point into.
///
/// `source` is the decoded UTF-8 text: a UTF-8 BOM is dropped and UTF-16 input is transcoded,
/// so spans index `source`, not necessarily the original input bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub nodes: Vec<Node>,
    pub source: Vec<u8>,
    /// Namespace declarations in scope around the top-level nodes, outermost first: empty for a
    /// whole document, the host element's in-scope namespaces for a fragment parsed with
    /// [`Document::parse_fragment_in_context`].
    pub context: Vec<NsDecl>,
    /// True for content parsed with [`Document::parse_fragment_in_context`]: the document
    /// node's children are content (any number of elements, text), not a prolog/root/epilog.
    pub is_fragment: bool,
    /// Some element content got no nodes ([`Document::parse_shallow`],
    /// [`Document::parse_skimming`]): the tree is complete only down to the levels those
    /// functions name; [`Document::parse`] gives the whole tree of the same bytes.
    pub skimmed: bool,
}

/// Two elements carry the same ID value (an XML Signature reference to it is ambiguous, the
/// classic signature-wrapping set-up).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("duplicate ID '{id}' on elements <{first}> and <{second}>")]
pub struct DuplicateId {
    pub id: String,
    pub first: String,
    pub second: String,
}

/// The attributes that count as IDs: `wsu:Id`, `xml:id`, unqualified `Id` and `ID`.
fn is_id_attribute(name: &QName) -> bool {
    match name.ns.as_deref() {
        None => name.local == "Id" || name.local == "ID",
        Some(WSU_NS) => name.local == "Id",
        Some(XML_NS) => name.local == "id",
        Some(_) => false,
    }
}

impl QName {
    /// The name as written: `prefix:local` or `local`.
    pub fn qualified(&self) -> String {
        match &self.prefix {
            Some(p) => format!("{p}:{}", self.local),
            None => self.local.clone(),
        }
    }

    /// Whether the name is `{ns}local`.
    pub fn is(&self, ns: Option<&str>, local: &str) -> bool {
        self.ns.as_deref() == ns && self.local == local
    }
}

impl Document {
    /// The document node's id (always 0).
    pub const DOCUMENT: NodeId = 0;

    /// The first element child of the document node (the root for a whole document).
    pub fn root_element(&self) -> Option<NodeId> {
        self.children(Self::DOCUMENT)
            .iter()
            .copied()
            .find(|&c| self.element(c).is_some())
    }

    /// The element at `id`, if `id` is an element.
    pub fn element(&self, id: NodeId) -> Option<&Element> {
        match &self.nodes.get(id)?.kind {
            NodeKind::Element(e) => Some(e),
            _ => None,
        }
    }

    /// Child node ids of an element or the document node (empty for other nodes).
    pub fn children(&self, id: NodeId) -> Vec<NodeId> {
        match self.nodes.get(id).map(|n| &n.kind) {
            Some(NodeKind::Element(e)) => e.children.clone(),
            Some(NodeKind::Document) => self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.parent == Some(Self::DOCUMENT))
                .map(|(i, _)| i)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Element children of `id`, in document order.
    pub fn children_elements(&self, id: NodeId) -> Vec<NodeId> {
        self.child_elements_iter(id).collect()
    }

    /// [`Document::children_elements`] without collecting them (no allocation: the SOAP and
    /// WS-Security readers walk a message's children many times).
    pub fn child_elements_iter(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        let (own, top): (&[NodeId], bool) = match self.nodes.get(id).map(|n| &n.kind) {
            Some(NodeKind::Element(e)) => (&e.children, false),
            Some(NodeKind::Document) => (&[], true),
            _ => (&[], false),
        };
        // The document node's children are found by scanning (it has no child list).
        let scanned: &[Node] = if top { &self.nodes } else { &[] };
        let top_level = scanned
            .iter()
            .enumerate()
            .filter(|(_, n)| n.parent == Some(Self::DOCUMENT))
            .map(|(i, _)| i);
        own.iter()
            .copied()
            .chain(top_level)
            .filter(|&c| self.element(c).is_some())
    }

    /// The first child element of `id` named `{ns}local`.
    pub fn find_child(&self, id: NodeId, ns: Option<&str>, local: &str) -> Option<NodeId> {
        self.child_elements_iter(id)
            .find(|&c| self.element(c).is_some_and(|e| e.name.is(ns, local)))
    }

    /// All nodes below `id` (not `id` itself), in document order. Nodes are stored in document
    /// order, so a subtree is a contiguous run of ids after its root: the run is returned as
    /// a range, with no list allocated (the message readers walk every message's tree a few
    /// times).
    pub fn descendants(&self, id: NodeId) -> std::ops::Range<NodeId> {
        // Node i (> id) is in the subtree iff its parent is `id` or an earlier member of the
        // run, i.e. its parent id is >= `id` while the run is unbroken.
        let first = id.saturating_add(1).min(self.nodes.len());
        let len = self.nodes[first..]
            .iter()
            .position(|n| n.parent.is_none_or(|p| p < id))
            .unwrap_or(self.nodes.len() - first);
        first..first + len
    }

    /// Whether `ancestor` is a proper ancestor of `node`.
    pub fn is_ancestor(&self, ancestor: NodeId, node: NodeId) -> bool {
        let mut cur = self.nodes.get(node).and_then(|n| n.parent);
        while let Some(p) = cur {
            if p == ancestor {
                return true;
            }
            cur = self.nodes.get(p).and_then(|n| n.parent);
        }
        false
    }

    /// The value of attribute `{ns}local` on element `id`.
    pub fn attribute(&self, id: NodeId, ns: Option<&str>, local: &str) -> Option<&str> {
        self.element(id)?
            .attributes
            .iter()
            .find(|a| a.name.is(ns, local))
            .map(|a| a.value.as_str())
    }

    /// The concatenated text and CDATA content of `id` and its descendants.
    pub fn text_content(&self, id: NodeId) -> String {
        let mut out = String::new();
        let one = |n: &Node, out: &mut String| {
            if let NodeKind::Text(t) | NodeKind::CData(t) = &n.kind {
                out.push_str(t);
            }
        };
        if let Some(n) = self.nodes.get(id) {
            one(n, &mut out);
        }
        for d in self.descendants(id) {
            one(&self.nodes[d], &mut out);
        }
        out
    }

    /// Namespace declarations in scope at `id` (the innermost declaration of each prefix
    /// wins), including `xmlns=""` undeclarations and, for fragments, [`Document::context`].
    /// The implicit `xml` prefix is not listed. Sorted by prefix, default namespace first.
    pub fn in_scope_namespaces(&self, id: NodeId) -> Vec<NsDecl> {
        let mut seen: Vec<NsDecl> = Vec::new();
        let mut prefixes = std::collections::HashSet::new();
        let mut take = |d: &NsDecl| {
            if prefixes.insert(d.prefix.clone()) {
                seen.push(d.clone());
            }
        };
        let mut cur = Some(id);
        while let Some(n) = cur {
            if let Some(e) = self.element(n) {
                // Within one element a prefix is declared at most once.
                e.ns_decls.iter().for_each(&mut take);
            }
            cur = self.nodes.get(n).and_then(|x| x.parent);
        }
        self.context.iter().rev().for_each(&mut take);
        seen.sort_by(|a, b| a.prefix.cmp(&b.prefix));
        seen
    }

    /// The source bytes of a node (for an element: from `<` of the start tag to the end of
    /// the end tag).
    pub fn outer_xml_bytes(&self, id: NodeId) -> &[u8] {
        self.nodes
            .get(id)
            .and_then(|n| self.source.get(n.span.clone()))
            .unwrap_or_default()
    }

    /// The source bytes between an element's start and end tags (empty for other nodes).
    pub fn inner_xml_bytes(&self, id: NodeId) -> &[u8] {
        self.element(id)
            .and_then(|e| self.source.get(e.content_span.clone()))
            .unwrap_or_default()
    }

    /// [`Document::inner_xml_bytes`] as text. The source is UTF-8 (decoded at parse time) and
    /// element content starts and ends at markup, so this is a plain copy; the lossy
    /// conversion is only a guard.
    pub fn inner_xml_string(&self, id: NodeId) -> String {
        let bytes = self.inner_xml_bytes(id);
        match simdutf8::basic::from_utf8(bytes) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(bytes).into_owned(),
        }
    }

    /// Every ID value (`wsu:Id`, `xml:id`, `Id`, `ID`) mapped to its element; the same value on two
    /// different elements is an error.
    pub fn id_attribute_index(&self) -> Result<HashMap<String, NodeId>, DuplicateId> {
        let mut index: HashMap<String, NodeId> = HashMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let NodeKind::Element(e) = &n.kind else {
                continue;
            };
            for a in e.attributes.iter().filter(|a| is_id_attribute(&a.name)) {
                match index.get(&a.value) {
                    Some(&other) if other != i => {
                        let name = |id| {
                            self.element(id)
                                .map(|e| e.name.qualified())
                                .unwrap_or_default()
                        };
                        return Err(DuplicateId {
                            id: a.value.clone(),
                            first: name(other),
                            second: e.name.qualified(),
                        });
                    }
                    Some(_) => {}
                    None => {
                        index.insert(a.value.clone(), i);
                    }
                }
            }
        }
        Ok(index)
    }

    /// The element whose `wsu:Id`, `xml:id`, `Id` or `ID` is `id`. Errors if the value is on
    /// more than one element (anywhere in the document, not only for this value).
    pub fn find_by_id(&self, id: &str) -> Result<Option<NodeId>, DuplicateId> {
        Ok(self.id_attribute_index()?.get(id).copied())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const DOC: &str = r#"<s:Envelope xmlns:s="urn:s" xmlns:u="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><s:Header xmlns="urn:d"><x u:Id="a">1</x><y xmlns="">2<z/></y></s:Header><s:Body Id="b" xml:id="b"><w ID="c"/><v id="d"/></s:Body></s:Envelope>"#;

    /// The element children every node lists: exactly its children that are elements, the
    /// document node's (no child list) included, text, comments and PIs left out.
    #[test]
    fn child_elements_are_the_element_children_of_any_node() {
        let text = format!("<?pi a?><!--c-->{DOC}<!--d--><?pi b?>");
        let d = Document::parse(text.as_bytes()).unwrap();
        for id in 0..d.nodes.len() + 1 {
            let expected: Vec<NodeId> = d
                .children(id)
                .into_iter()
                .filter(|&c| d.element(c).is_some())
                .collect();
            assert_eq!(
                d.child_elements_iter(id).collect::<Vec<_>>(),
                expected,
                "{id}"
            );
            assert_eq!(d.children_elements(id), expected, "{id}");
        }
        let root = d.root_element().unwrap();
        assert_eq!(d.children_elements(Document::DOCUMENT), vec![root]);
    }

    #[test]
    fn navigation() {
        let d = Document::parse(DOC.as_bytes()).unwrap();
        let env = d.root_element().unwrap();
        let header = d.find_child(env, Some("urn:s"), "Header").unwrap();
        let body = d.find_child(env, Some("urn:s"), "Body").unwrap();
        assert!(d.find_child(env, Some("urn:x"), "Body").is_none());
        assert_eq!(d.children_elements(env), vec![header, body]);
        assert_eq!(d.text_content(header), "12");
        let desc = d.descendants(header);
        assert_eq!(desc.len(), 5); // x, "1", y, "2", z, and nothing from Body
        assert!(desc.clone().all(|n| d.is_ancestor(header, n)));
        // The document node's run is every other node; the last node's run is empty.
        assert_eq!(d.descendants(Document::DOCUMENT), 1..d.nodes.len());
        assert!(d.descendants(d.nodes.len() - 1).is_empty());
        assert!(d.descendants(d.nodes.len() + 7).is_empty());
        let y = d.children_elements(header)[1];
        let ns = d.in_scope_namespaces(y);
        assert_eq!(
            ns[0],
            NsDecl {
                prefix: None,
                uri: String::new()
            }
        );
        assert_eq!(ns.len(), 3);
        let x = d.children_elements(header)[0];
        assert_eq!(d.in_scope_namespaces(x)[0].uri, "urn:d");
    }

    #[test]
    fn ids() {
        let d = Document::parse(DOC.as_bytes()).unwrap();
        let x = d.find_by_id("a").unwrap().unwrap();
        assert_eq!(d.element(x).unwrap().name.local, "x");
        let body = d.find_by_id("b").unwrap().unwrap(); // Id and xml:id on one element: fine
        assert_eq!(d.element(body).unwrap().name.local, "Body");
        assert!(d.find_by_id("c").unwrap().is_some());
        assert_eq!(d.find_by_id("d").unwrap(), None); // lowercase id is not an ID
        let dup = Document::parse(br#"<a><b Id="k"/><c xml:id="k"/></a>"#).unwrap();
        let e = dup.find_by_id("k").unwrap_err();
        assert_eq!((e.first.as_str(), e.second.as_str()), ("b", "c"));
    }
}
