//! The tree types. Nodes live in one arena (`Document::nodes`) and refer to each other by
//! [`NodeId`], so a tree is cheap to clone and spans stay valid.

use std::ops::Range;

/// Index into [`Document::nodes`].
pub type NodeId = usize;

/// A qualified name as written, plus its resolved namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QName {
    /// The prefix as written (`None` for unprefixed names).
    pub prefix: Option<String>,
    pub local: String,
    /// Namespace URI the prefix (or default namespace, for elements) resolved to in scope.
    /// Unprefixed attributes are in no namespace.
    pub ns: Option<String>,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub nodes: Vec<Node>,
    pub source: Vec<u8>,
}
