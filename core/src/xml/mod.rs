//! An XML tree built from quick-xml events that keeps what canonicalization and signatures
//! need: prefixes, namespace declarations in order, attribute order, text exactly (entity
//! and character references resolved, but the raw span kept), and byte spans into the source.
//!
//! No DTDs and no entity expansion beyond the five predefined entities and character
//! references: a DOCTYPE is rejected (XML security processing must not expand entities).
//!
//! - `tree`: the node arena and navigation helpers.
//! - `parse`: bytes → [`Document`] (namespaces, normalisation, spans, limits).
//! - `decode`: UTF-8 / UTF-16 input → UTF-8 text.
//! - `c14n`: Canonical XML 1.0/1.1 and Exclusive XML Canonicalization.
//! - `pretty`: indented rendering for display.

mod c14n;
pub(crate) mod decode;
mod error;
mod parse;
mod pretty;
mod scope;
mod tree;

pub use c14n::{canonicalize, C14nError, C14nMethod};
pub use error::{XmlError, XmlErrorKind};
pub use parse::ParseLimits;
pub use pretty::pretty;
pub use tree::*;
