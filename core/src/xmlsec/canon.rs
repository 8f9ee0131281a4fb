//! The one place where the engine calls the `xml` canonicalizer: a Reference's node-set
//! (an apex node, optionally minus one subtree for enveloped-signature, with or without
//! comments) canonicalized with a [`C14nAlgorithm`].

use super::algorithms::C14nAlgorithm;
use crate::xml::{Document, NodeId};

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

/// Canonicalizes `set`. `inclusive_prefixes` is the exc-c14n PrefixList (ignored otherwise).
pub fn canonicalize(
    _doc: &Document,
    _set: &NodeSet,
    algorithm: C14nAlgorithm,
    _inclusive_prefixes: &[String],
) -> Result<Vec<u8>, String> {
    Err(format!(
        "canonicalization {} is not available yet",
        algorithm.uri()
    ))
}
