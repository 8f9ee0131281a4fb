//! Parse errors: every error names the byte offset (into [`crate::xml::Document::source`],
//! i.e. after BOM removal / UTF-16 transcoding) and the line:column it falls on.

use std::fmt;

/// Why a document was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlErrorKind {
    #[error("DOCTYPE not allowed")]
    DoctypeNotAllowed,
    #[error("undefined entity &{0};")]
    UndefinedEntity(String),
    #[error("invalid character reference &{0};")]
    InvalidCharRef(String),
    #[error("undeclared namespace prefix '{0}'")]
    UndeclaredPrefix(String),
    #[error("invalid namespace declaration: {0}")]
    BadNamespaceDecl(String),
    #[error("mismatched end tag: expected </{expected}>, found </{found}>")]
    MismatchedTag { expected: String, found: String },
    #[error("end tag </{0}> without a start tag")]
    UnmatchedEndTag(String),
    #[error("element <{0}> is not closed")]
    UnclosedElement(String),
    #[error("more than one root element")]
    MultipleRoots,
    #[error("no root element")]
    NoRoot,
    #[error("non-whitespace content outside the root element")]
    ContentOutsideRoot,
    #[error("duplicate attribute '{0}'")]
    DuplicateAttribute(String),
    #[error("invalid name '{0}'")]
    InvalidName(String),
    #[error("character U+{0:04X} is not allowed in XML")]
    IllegalChar(u32),
    #[error("nesting deeper than {0} elements")]
    TooDeep(usize),
    #[error("more than {0} nodes")]
    TooManyNodes(usize),
    #[error("more than {0} attributes on one element")]
    TooManyAttributes(usize),
    #[error("encoding: {0}")]
    Encoding(String),
    #[error("syntax: {0}")]
    Syntax(String),
}

/// A parse error at a position in the (decoded) source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    pub kind: XmlErrorKind,
    /// Byte offset into the decoded UTF-8 source.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in bytes.
    pub column: usize,
}

impl XmlError {
    /// Builds an error at `offset` in `source`, computing line and column.
    pub(crate) fn at(source: &[u8], offset: usize, kind: XmlErrorKind) -> Self {
        let offset = offset.min(source.len());
        let before = &source[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        XmlError {
            kind,
            offset,
            line,
            column: offset - line_start + 1,
        }
    }
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "XML error at {}:{} (byte {}): {}",
            self.line, self.column, self.offset, self.kind
        )
    }
}

impl std::error::Error for XmlError {}
