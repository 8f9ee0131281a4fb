//! An XML tree built from quick-xml events that keeps what canonicalization and signatures
//! need: prefixes, namespace declarations in order, attribute order, text exactly (entity
//! and character references resolved, but the raw span kept), and byte spans into the source.
//!
//! No DTDs and no entity expansion beyond the five predefined entities and character
//! references: a DOCTYPE is rejected (XML security processing must not expand entities).

mod tree;

pub use tree::*;
