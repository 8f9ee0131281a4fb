//! The one place where the engine calls the `xml` canonicalizer: a Reference's node-set
//! (an apex node, optionally minus one subtree for enveloped-signature, with or without
//! comments) canonicalized with a [`C14nAlgorithm`].

use super::algorithms::C14nAlgorithm;
use crate::xml::{C14nMethod, Document, NodeId};

/// The node-sets the supported transforms produce: the subtree at `apex` (the document node
/// for `URI=""`), without the subtree at `exclude`, with or without comment nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSet {
    pub apex: NodeId,
    pub exclude: Option<NodeId>,
    pub with_comments: bool,
}

impl NodeSet {
    pub fn subtree(apex: NodeId, with_comments: bool) -> Self {
        NodeSet {
            apex,
            exclude: None,
            with_comments,
        }
    }
}

/// The `xml` method for an algorithm family, with comments as the node-set says (a node-set
/// without comments stays without them even under a #WithComments algorithm).
fn method(algorithm: C14nAlgorithm, with_comments: bool) -> C14nMethod {
    match (algorithm, with_comments) {
        (C14nAlgorithm::Inclusive10 { .. }, false) => C14nMethod::Inclusive10,
        (C14nAlgorithm::Inclusive10 { .. }, true) => C14nMethod::Inclusive10WithComments,
        (C14nAlgorithm::Inclusive11 { .. }, false) => C14nMethod::Inclusive11,
        (C14nAlgorithm::Inclusive11 { .. }, true) => C14nMethod::Inclusive11WithComments,
        (C14nAlgorithm::Exclusive { .. }, false) => C14nMethod::Exclusive,
        (C14nAlgorithm::Exclusive { .. }, true) => C14nMethod::ExclusiveWithComments,
    }
}

/// Canonicalizes `set`. `inclusive_prefixes` is the exc-c14n PrefixList (ignored otherwise).
pub fn canonicalize(
    doc: &Document,
    set: &NodeSet,
    algorithm: C14nAlgorithm,
    inclusive_prefixes: &[String],
) -> Result<Vec<u8>, String> {
    let m = method(algorithm, set.with_comments);
    crate::xml::canonicalize(doc, set.apex, m, inclusive_prefixes, set.exclude)
        .map_err(|e| e.to_string())
}
