//! Builds a [`Document`] from bytes using quick-xml's event stream.
//!
//! quick-xml finds the markup boundaries; this module does everything XML security needs on
//! top: namespace resolution per scope, attribute-value normalisation (XML 1.0 §3.3.3, all
//! attributes CDATA since there is no DTD), line-end normalisation (§2.11), reference
//! resolution (only the five predefined entities and character references), byte spans, and
//! limits against hostile input. Start tags are re-scanned here (not through quick-xml's
//! attribute iterator) so every attribute gets an exact byte span.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use quick_xml::events::Event;
use quick_xml::reader::Reader;

mod skim;

use super::decode::{as_plain_utf8, check_declared, decode, InputEncoding};
use super::error::{XmlError, XmlErrorKind};
use super::tree::{
    Attribute, Document, Element, Node, NodeId, NodeKind, NsDecl, QName, XMLNS_NS, XML_NS,
};

/// Bounds that keep a hostile document from exhausting memory or stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLimits {
    /// Maximum element nesting depth.
    pub max_depth: usize,
    /// Maximum number of nodes (elements, text, comments, PIs) in the document.
    pub max_nodes: usize,
    /// Maximum attributes (namespace declarations included) on one element.
    pub max_attributes: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_depth: 256,
            max_nodes: 2_000_000,
            max_attributes: 1024,
        }
    }
}

impl Document {
    /// Parses a whole document (exactly one root element) with default limits.
    pub fn parse(bytes: &[u8]) -> Result<Document, XmlError> {
        Self::parse_with_limits(bytes, &ParseLimits::default())
    }

    /// Parses a whole document with explicit limits.
    pub fn parse_with_limits(bytes: &[u8], limits: &ParseLimits) -> Result<Document, XmlError> {
        let (text, enc) = decode(bytes)?;
        let built = Builder::new(&text, enc, limits, None).run()?;
        Ok(built.into_document(text))
    }

    /// Parses a whole document but builds nodes only for elements at most `depth` levels deep
    /// (the root is level 1) and the text, comments and PIs directly inside them: an element
    /// at level `depth` keeps its spans, so its inner XML is [`Document::inner_xml_bytes`],
    /// but has no child elements. For a SOAP envelope, depth 3 gives Envelope, Header, Body,
    /// the header blocks with their text, and the body's top element, without materialising
    /// a large body (no allocation for the skipped part).
    ///
    /// The skipped content is checked as thoroughly as [`Document::parse`] checks it (tags
    /// balance and match, names, attributes, namespace declarations and prefixes, references,
    /// `]]>` in text): a document is accepted exactly when `parse` accepts it. Callers that
    /// need the subtree (signature references, decryption) parse again with
    /// [`Document::parse`].
    pub fn parse_shallow(bytes: &[u8], depth: usize) -> Result<Document, XmlError> {
        let (text, enc) = decode(bytes)?;
        let limits = ParseLimits::default();
        let mut builder = Builder::new(&text, enc, &limits, None);
        builder.materialise_depth = depth;
        let built = builder.run()?;
        Ok(built.into_document(text))
    }

    /// Parses a whole document but, inside each child of the root whose expanded name is in
    /// `skim` (namespace, local name), builds nodes only for the child elements (with their
    /// attributes and the text directly inside them), not for what they contain. For a SOAP
    /// envelope with `skim` = the Body: the Header is a whole tree, the Body holds its top
    /// element(s), and a large payload costs a scan instead of a tree.
    ///
    /// `wanted(namespace, local name)` names elements whose presence anywhere means the
    /// caller needs the whole tree: met before anything was skipped, skimming stops there;
    /// met inside skipped content, the document is parsed again whole. [`Document::skimmed`]
    /// says whether anything was left out.
    ///
    /// Acceptance is exactly [`Document::parse`]'s (the skipped content is fully checked,
    /// see [`Document::parse_shallow`]); the nodes built are the ones `parse` builds, in the
    /// same order, minus the skipped ones, so spans and inner XML are unchanged.
    pub fn parse_skimming(
        bytes: &[u8],
        skim: &[(&str, &str)],
        wanted: &dyn Fn(Option<&str>, &str) -> bool,
    ) -> Result<Document, XmlError> {
        let (text, enc) = decode(bytes)?;
        let built = skim_text(&text, enc, skim, wanted)?;
        Ok(built.into_document(text))
    }

    /// [`Document::parse_skimming`] of bytes the caller hands over: UTF-8 without a byte
    /// order mark (nearly every SOAP message) becomes [`Document::source`] as it is, with
    /// no decoded copy. On an error the bytes come back with it.
    pub fn parse_skimming_owned(
        bytes: Vec<u8>,
        skim: &[(&str, &str)],
        wanted: &dyn Fn(Option<&str>, &str) -> bool,
    ) -> Result<Document, (XmlError, Vec<u8>)> {
        let built = match as_plain_utf8(&bytes) {
            None => return Self::parse_skimming(&bytes, skim, wanted).map_err(|e| (e, bytes)),
            Some(Ok(text)) => skim_text(text, InputEncoding::Utf8, skim, wanted),
            Some(Err(e)) => Err(e),
        };
        match built {
            Ok(built) => Ok(built.into_document_bytes(bytes)),
            Err(e) => Err((e, bytes)),
        }
    }

    /// Parses XML content (any number of top-level elements, text, comments, PIs) in the
    /// namespace context of the element it belongs in: `in_scope` lists the declarations in
    /// scope there, outermost first (later entries win). Used for decrypted XML Encryption
    /// content. The declarations are kept in [`Document::context`] so
    /// [`Document::in_scope_namespaces`] and canonicalization see them.
    pub fn parse_fragment_in_context(
        bytes: &[u8],
        in_scope: &[NsDecl],
    ) -> Result<Document, XmlError> {
        let (text, enc) = decode(bytes)?;
        let built = Builder::new(&text, enc, &ParseLimits::default(), Some(in_scope)).run()?;
        Ok(built.into_document(text))
    }
}

/// What [`Builder::run`] produces; the decoded text becomes [`Document::source`] without
/// a copy.
struct Built {
    nodes: Vec<Node>,
    skimmed: bool,
    context: Vec<NsDecl>,
    is_fragment: bool,
}

/// The skimming parse of decoded text ([`Document::parse_skimming`]).
fn skim_text(
    text: &str,
    enc: InputEncoding,
    skim: &[(&str, &str)],
    wanted: &dyn Fn(Option<&str>, &str) -> bool,
) -> Result<Built, XmlError> {
    let limits = ParseLimits::default();
    let restart = std::cell::Cell::new(false);
    // A skimmed tree is the Header and the Body's top: far fewer nodes than the '<'
    // count `Builder::new` sizes the arena by (for a large body, an allocation and page
    // faults the size of the whole tree).
    let mut builder = Builder::with_node_capacity(text, enc, &limits, None, SKIMMED_NODES);
    builder.skim = skim;
    builder.wanted = Some(wanted);
    builder.restart = Some(&restart);
    match builder.run() {
        Err(_) if restart.get() => Builder::new(text, enc, &limits, None).run(),
        other => other,
    }
}

impl Built {
    fn into_document(self, text: String) -> Document {
        self.into_document_bytes(text.into_bytes())
    }

    /// The document over `source`, the UTF-8 bytes the nodes' spans point into.
    fn into_document_bytes(self, source: Vec<u8>) -> Document {
        Document {
            nodes: self.nodes,
            source,
            context: self.context,
            is_fragment: self.is_fragment,
            skimmed: self.skimmed,
        }
    }
}

/// Says whether an element (namespace, local name) makes a skimming parse build the whole
/// tree ([`Document::parse_skimming`]).
type WantedFn<'a> = dyn Fn(Option<&str>, &str) -> bool + 'a;

/// Namespace bindings while parsing: prefix → stack of URIs, with an undo log so leaving an
/// element restores the outer bindings. Lookups run for every element and prefixed
/// attribute, so they allocate nothing: a real document uses a handful of prefixes, found by
/// a short linear scan; past [`FEW_PREFIXES`] distinct prefixes (hostile input) a hash index
/// keeps lookups O(1).
struct Scopes {
    /// The `xml` prefix's namespace, which no declaration binds, shared like the others.
    xml: Arc<str>,
    /// Every prefix ever declared, with its stack of URIs (empty when out of scope). URIs
    /// are shared with the names resolved to them ([`QName::ns`]), not copied per name.
    prefixed: Vec<(String, Vec<Arc<str>>)>,
    /// Position in `prefixed` by prefix; built once there are more than [`FEW_PREFIXES`].
    index: HashMap<String, usize>,
    default: Vec<Arc<str>>,
    log: Vec<Option<String>>,
    /// Changes whenever a binding is made or undone, so a name's resolution can be reused
    /// while it stays the same ([`KnownNames`]).
    generation: u64,
}

/// Initial node arena of a skimming parse: a SOAP Header and the Body's top elements.
const SKIMMED_NODES: usize = 64;

/// Up to this many distinct prefixes, [`Scopes`] finds a prefix by linear scan.
const FEW_PREFIXES: usize = 8;

impl Default for Scopes {
    fn default() -> Self {
        Scopes {
            xml: Arc::from(XML_NS),
            prefixed: Vec::new(),
            index: HashMap::new(),
            default: Vec::new(),
            log: Vec::new(),
            generation: 0,
        }
    }
}

impl Scopes {
    #[inline]
    fn slot(&self, prefix: &str) -> Option<usize> {
        if self.index.is_empty() {
            // Prefixes are a few bytes: compare inline rather than through memcmp.
            let want = prefix.as_bytes();
            self.prefixed.iter().position(|(p, _)| {
                p.len() == want.len() && p.bytes().zip(want).all(|(a, &b)| a == b)
            })
        } else {
            self.index.get(prefix).copied()
        }
    }

    fn push(&mut self, prefix: Option<String>, uri: Arc<str>) {
        self.generation += 1;
        match &prefix {
            Some(p) => match self.slot(p) {
                Some(i) => self.prefixed[i].1.push(uri),
                None => {
                    self.prefixed.push((p.clone(), vec![uri]));
                    if self.prefixed.len() > FEW_PREFIXES {
                        if self.index.is_empty() {
                            for (i, (q, _)) in self.prefixed.iter().enumerate() {
                                self.index.insert(q.clone(), i);
                            }
                        } else {
                            self.index.insert(p.clone(), self.prefixed.len() - 1);
                        }
                    }
                }
            },
            None => self.default.push(uri),
        }
        self.log.push(prefix);
    }

    #[inline]
    fn mark(&self) -> usize {
        self.log.len()
    }

    /// Unbinds the declarations made since `mark`.
    #[inline]
    fn truncate(&mut self, mark: usize) {
        // Most elements declare nothing: nothing to undo, no call.
        if self.log.len() > mark {
            self.unbind_to(mark);
        }
    }

    fn unbind_to(&mut self, mark: usize) {
        self.generation += 1;
        while self.log.len() > mark {
            match self.log.pop() {
                Some(Some(p)) => {
                    if let Some(i) = self.slot(&p) {
                        self.prefixed[i].1.pop();
                    }
                }
                Some(None) => {
                    self.default.pop();
                }
                None => {}
            }
        }
    }

    #[inline]
    fn get(&self, prefix: Option<&str>) -> Option<&Arc<str>> {
        match prefix {
            Some(p) => self.prefixed[self.slot(p)?].1.last(),
            None => self.default.last(),
        }
    }
}

/// An element whose end tag has not been seen yet.
struct Open<'s> {
    id: NodeId,
    /// The qualified name exactly as written, to match the end tag.
    raw_name: &'s str,
    /// Length of `Builder::scopes` before this element's declarations.
    scope_mark: usize,
    /// Deeper than the materialised depth: no node, `id` is meaningless.
    skipped: bool,
    /// Offset of the start tag's `<`.
    start: usize,
}

/// Character data being collected across quick-xml's Text / GeneralRef events.
struct PendingText {
    value: String,
    start: usize,
    end: usize,
}

/// One attribute as scanned from the start tag.
struct RawAttr<'s> {
    name: &'s str,
    value: &'s str,
    /// Offset of the value's first byte (after the quote).
    value_offset: usize,
    span: std::ops::Range<usize>,
}

struct Builder<'s> {
    src: &'s str,
    encoding: InputEncoding,
    limits: &'s ParseLimits,
    fragment: bool,
    nodes: Vec<Node>,
    stack: Vec<Open<'s>>,
    /// Namespace bindings, outermost first; `None` prefix is the default namespace and an
    /// empty URI means "no namespace".
    scopes: Scopes,
    context: Vec<NsDecl>,
    root_seen: bool,
    pending: Option<PendingText>,
    /// Elements nested deeper than this are checked but get no nodes.
    materialise_depth: usize,
    /// Expanded names of root children whose grandchildren are skipped
    /// ([`Document::parse_skimming`]).
    skim: &'s [(&'s str, &'s str)],
    /// Inside a root child named in `skim`: elements at level 4 and deeper get no nodes.
    skimming: bool,
    /// Elements that make the caller want the whole tree ([`Document::parse_skimming`]).
    wanted: Option<&'s WantedFn<'s>>,
    /// Set when a wanted element turned up in skipped content: `run` stops with an error
    /// and the caller parses again without skimming.
    restart: Option<&'s std::cell::Cell<bool>>,
    /// Some content got no nodes.
    skipped_any: bool,
}

impl<'s> Builder<'s> {
    fn new(
        src: &'s str,
        encoding: InputEncoding,
        limits: &'s ParseLimits,
        context: Option<&[NsDecl]>,
    ) -> Self {
        // Every node but the document starts at a '<' or follows an end tag's '>', so the
        // number of '<' bounds the count closely enough to size the arena once.
        let estimate = count_byte(src.as_bytes(), b'<').saturating_add(2);
        Self::with_node_capacity(src, encoding, limits, context, estimate)
    }

    /// [`Builder::new`] with the node arena sized for `capacity` nodes (it grows beyond).
    fn with_node_capacity(
        src: &'s str,
        encoding: InputEncoding,
        limits: &'s ParseLimits,
        context: Option<&[NsDecl]>,
        capacity: usize,
    ) -> Self {
        let context = context.map(<[NsDecl]>::to_vec);
        let mut scopes = Scopes::default();
        for d in context.iter().flatten() {
            scopes.push(d.prefix.clone(), Arc::from(d.uri.as_str()));
        }
        let mut nodes = Vec::with_capacity(capacity.min(limits.max_nodes.saturating_add(1)));
        nodes.push(Node {
            kind: NodeKind::Document,
            parent: None,
            span: 0..src.len(),
        });
        Builder {
            src,
            encoding,
            limits,
            fragment: context.is_some(),
            nodes,
            stack: Vec::new(),
            scopes,
            context: context.unwrap_or_default(),
            root_seen: false,
            pending: None,
            materialise_depth: usize::MAX,
            skim: &[],
            skimming: false,
            wanted: None,
            restart: None,
            skipped_any: false,
        }
    }

    fn err(&self, offset: usize, kind: XmlErrorKind) -> XmlError {
        XmlError::at(self.src.as_bytes(), offset, kind)
    }

    fn run(mut self) -> Result<Built, XmlError> {
        check_chars(self.src)?;
        // Offsets are `base` + quick-xml's position: `skip_subtree` moves quick-xml's input
        // past a skipped subtree (quick-xml is between markup there, as after any start
        // tag) and `base` counts the bytes quick-xml never saw.
        let mut base = 0;
        let mut reader = reader_at(self.src);
        loop {
            let start = base + pos(reader.buffer_position());
            let event = match reader.read_event() {
                Ok(e) => e,
                Err(e) => {
                    let at = base + pos(reader.error_position());
                    return Err(self.err(at, XmlErrorKind::Syntax(e.to_string())));
                }
            };
            let end = (base + pos(reader.buffer_position())).min(self.src.len());
            let skipping = self.stack.last().is_some_and(|o| o.skipped);
            match event {
                Event::Text(_) => {
                    let raw = slice(self.src, start, end);
                    if let Some(at) = memchr::memmem::find(raw.as_bytes(), b"]]>") {
                        return Err(self.err(
                            start + at,
                            XmlErrorKind::Syntax("']]>' is not allowed in character data".into()),
                        ));
                    }
                    if skipping {
                        continue;
                    }
                    if memchr::memchr(b'\r', raw.as_bytes()).is_some() {
                        self.push_text(&normalize_eol(raw), start, end);
                    } else {
                        self.push_text(raw, start, end);
                    }
                }
                Event::GeneralRef(r) => {
                    let name = r.into_inner();
                    let c = resolve_ref(&name).map_err(|k| self.err(start, k))?;
                    if !skipping {
                        self.push_text(c.encode_utf8(&mut [0u8; 4]), start, end);
                    }
                }
                other => {
                    self.flush_text()?;
                    match other {
                        Event::Start(_) => {
                            self.start_element(start, end, false)?;
                            if self.stack.last().is_some_and(|o| o.skipped) {
                                let skip = self.skip_subtree(end)? - end;
                                let input = reader.get_mut();
                                *input = input.get(skip..).unwrap_or_default();
                                base += skip;
                            }
                        }
                        Event::Empty(_) => self.start_element(start, end, true)?,
                        Event::End(_) => self.end_element(start, end)?,
                        Event::CData(_) | Event::Comment(_) | Event::PI(_) if skipping => {}
                        Event::CData(_) => {
                            if self.stack.is_empty() && !self.fragment {
                                return Err(self.err(start, XmlErrorKind::ContentOutsideRoot));
                            }
                            let body = slice(self.src, start + 9, end.saturating_sub(3));
                            let kind = NodeKind::CData(normalize_eol(body));
                            self.add_content(kind, start, end)?;
                        }
                        Event::Comment(_) => {
                            let body = slice(self.src, start + 4, end.saturating_sub(3));
                            let kind = NodeKind::Comment(normalize_eol(body));
                            self.add_content(kind, start, end)?;
                        }
                        Event::PI(_) => self.pi(start, end)?,
                        Event::Decl(decl) => {
                            if start != 0 {
                                return Err(self.err(
                                    start,
                                    XmlErrorKind::Syntax(
                                        "XML declaration is only allowed at the very start".into(),
                                    ),
                                ));
                            }
                            match decl.encoding() {
                                None => {}
                                Some(Ok(declared)) => {
                                    check_declared(&declared, self.encoding, self.src)
                                        .map_err(|m| self.err(start, XmlErrorKind::Encoding(m)))?;
                                }
                                Some(Err(e)) => {
                                    return Err(self.err(start, XmlErrorKind::Syntax(e.to_string())))
                                }
                            }
                        }
                        Event::DocType(_) => {
                            return Err(self.err(start, XmlErrorKind::DoctypeNotAllowed))
                        }
                        Event::Eof => break,
                        Event::Text(_) | Event::GeneralRef(_) => {}
                    }
                }
            }
        }
        if let Some(open) = self.stack.last() {
            let at = open.start;
            return Err(self.err(at, XmlErrorKind::UnclosedElement(open.raw_name.to_owned())));
        }
        if !self.fragment && !self.root_seen {
            return Err(self.err(self.src.len(), XmlErrorKind::NoRoot));
        }
        Ok(Built {
            skimmed: self.skipped_any,
            nodes: self.nodes,
            context: self.context,
            is_fragment: self.fragment,
        })
    }

    fn push_text(&mut self, s: &str, start: usize, end: usize) {
        match &mut self.pending {
            Some(p) => {
                p.value.push_str(s);
                p.end = end;
            }
            None => {
                self.pending = Some(PendingText {
                    value: s.to_owned(),
                    start,
                    end,
                })
            }
        }
    }

    fn flush_text(&mut self) -> Result<(), XmlError> {
        let Some(p) = self.pending.take() else {
            return Ok(());
        };
        if self.stack.is_empty() && !self.fragment {
            // Only whitespace may surround the root; it is not part of the infoset c14n sees.
            if !p.value.chars().all(is_xml_space) {
                return Err(self.err(p.start, XmlErrorKind::ContentOutsideRoot));
            }
            return Ok(());
        }
        if p.value.is_empty() {
            return Ok(());
        }
        self.add_content(NodeKind::Text(p.value), p.start, p.end)
    }

    /// Adds a non-element node under the current element (or the document node).
    fn add_content(&mut self, kind: NodeKind, start: usize, end: usize) -> Result<(), XmlError> {
        let parent = self.stack.last().map_or(0, |o| o.id);
        self.add_node(kind, parent, start, end).map(|_| ())
    }

    fn add_node(
        &mut self,
        kind: NodeKind,
        parent: NodeId,
        start: usize,
        end: usize,
    ) -> Result<NodeId, XmlError> {
        if self.nodes.len() >= self.limits.max_nodes {
            return Err(self.err(start, XmlErrorKind::TooManyNodes(self.limits.max_nodes)));
        }
        let id = self.nodes.len();
        self.nodes.push(Node {
            kind,
            parent: Some(parent),
            span: start..end,
        });
        if let NodeKind::Element(e) = &mut self.nodes[parent].kind {
            e.children.push(id);
        }
        Ok(id)
    }

    fn pi(&mut self, start: usize, end: usize) -> Result<(), XmlError> {
        let body = slice(self.src, start + 2, end.saturating_sub(2));
        let split = body.find(is_xml_space).unwrap_or(body.len());
        let target = &body[..split];
        let data = body[split..].trim_start_matches(is_xml_space);
        check_name(target).map_err(|k| self.err(start + 2, k))?;
        if target.eq_ignore_ascii_case("xml") {
            return Err(self.err(
                start,
                XmlErrorKind::Syntax("processing instruction target 'xml' is reserved".into()),
            ));
        }
        let kind = NodeKind::ProcessingInstruction {
            target: target.to_owned(),
            data: normalize_eol(data),
        };
        self.add_content(kind, start, end)
    }

    fn start_element(&mut self, start: usize, end: usize, empty: bool) -> Result<(), XmlError> {
        if self.stack.is_empty() && !self.fragment {
            if self.root_seen {
                return Err(self.err(start, XmlErrorKind::MultipleRoots));
            }
            self.root_seen = true;
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(self.err(start, XmlErrorKind::TooDeep(self.limits.max_depth)));
        }
        if self.stack.len() >= self.materialise_depth || (self.skimming && self.stack.len() >= 3) {
            return self.skip_element(start, end, empty);
        }
        let mut raw_attrs = Vec::new();
        let raw_name = self.scan_event_tag(start, end, empty, &mut raw_attrs)?;
        self.check_written_names(start, raw_name, &raw_attrs)?;

        let scope_mark = self.scopes.mark();
        // Few attributes (the usual case): compare pairwise, no hashing or allocation.
        let many = raw_attrs.len() > SMALL_ATTRS;
        let mut ns_decls = Vec::new();
        let mut plain = Vec::new();
        for a in &raw_attrs {
            let value =
                normalize_attr(a.value, a.value_offset).map_err(|(at, k)| self.err(at, k))?;
            match declared_prefix(a.name) {
                Some(prefix) => {
                    check_ns_decl(prefix, &value).map_err(|k| self.err(a.span.start, k))?;
                    let prefix = prefix.map(str::to_owned);
                    self.scopes.push(prefix.clone(), Arc::from(value.as_str()));
                    ns_decls.push(NsDecl { prefix, uri: value });
                }
                None => plain.push((a, value)),
            }
        }

        let name = self
            .resolve(raw_name, true)
            .map_err(|k| self.err(start + 1, k))?;
        if self
            .wanted
            .is_some_and(|w| w(name.ns.as_deref(), &name.local))
        {
            if self.skipped_any {
                return Err(self.want_restart(start));
            }
            // Nothing skipped yet: build the rest whole.
            self.skim = &[];
            self.skimming = false;
        }
        let mut attributes = Vec::with_capacity(plain.len());
        let mut seen_expanded = many.then(HashSet::new);
        for (a, value) in plain {
            let qn = self
                .resolve(a.name, false)
                .map_err(|k| self.err(a.span.start, k))?;
            let duplicate = if let Some(seen) = &mut seen_expanded {
                !seen.insert((qn.ns.clone(), qn.local.clone()))
            } else {
                attributes
                    .iter()
                    .any(|b: &Attribute| b.name.local == qn.local && b.name.ns == qn.ns)
            };
            if duplicate {
                return Err(self.err(
                    a.span.start,
                    XmlErrorKind::DuplicateAttribute(a.name.to_owned()),
                ));
            }
            attributes.push(Attribute {
                name: qn,
                value,
                span: a.span.clone(),
            });
        }

        let parent = self.stack.last().map_or(0, |o| o.id);
        let element = Element {
            name,
            ns_decls,
            attributes,
            children: Vec::new(),
            span: start..end,
            content_span: end..end,
        };
        let id = self.add_node(NodeKind::Element(element), parent, start, end)?;
        if empty {
            self.scopes.truncate(scope_mark);
        } else {
            if self.stack.len() == 1 && !self.fragment {
                self.skimming = self.nodes.get(id).is_some_and(|n| match &n.kind {
                    NodeKind::Element(e) => self.skim.iter().any(|&(ns, local)| {
                        e.name.ns.as_deref() == Some(ns) && e.name.local == local
                    }),
                    _ => false,
                });
            }
            self.stack.push(Open {
                id,
                raw_name,
                scope_mark,
                skipped: false,
                start,
            });
        }
        Ok(())
    }

    /// Name and attributes of the start tag quick-xml reported at `start..end` (`<…>`, or
    /// `<…/>` when `empty`).
    fn scan_event_tag(
        &self,
        start: usize,
        end: usize,
        empty: bool,
        attrs: &mut Vec<RawAttr<'s>>,
    ) -> Result<&'s str, XmlError> {
        let body_end = end.saturating_sub(if empty { 2 } else { 1 });
        scan_tag(self.src, start + 1, body_end, attrs).map_err(|(at, k)| self.err(at, k))
    }

    /// The names of a start tag (`<` at `start`) as written: not too many attributes, every
    /// name a QName, no attribute written twice.
    fn check_written_names(
        &self,
        start: usize,
        raw_name: &str,
        attrs: &[RawAttr<'_>],
    ) -> Result<(), XmlError> {
        if attrs.len() > self.limits.max_attributes {
            return Err(self.err(
                start,
                XmlErrorKind::TooManyAttributes(self.limits.max_attributes),
            ));
        }
        check_qname(raw_name).map_err(|k| self.err(start + 1, k))?;
        // Few attributes (the usual case): compare pairwise; a hash set only for many
        // (creating one seeds a hasher, not free).
        let mut seen = (attrs.len() > SMALL_ATTRS).then(HashSet::new);
        for (i, a) in attrs.iter().enumerate() {
            let duplicate = match &mut seen {
                Some(seen) => !seen.insert(a.name),
                None => attrs[..i].iter().any(|b| b.name == a.name),
            };
            if duplicate {
                return Err(self.err(
                    a.span.start,
                    XmlErrorKind::DuplicateAttribute(a.name.to_owned()),
                ));
            }
            check_qname(a.name).map_err(|k| self.err(a.span.start, k))?;
        }
        Ok(())
    }

    fn end_element(&mut self, start: usize, end: usize) -> Result<(), XmlError> {
        let found =
            slice(self.src, start + 2, end.saturating_sub(1)).trim_end_matches(is_xml_space);
        let Some(open) = self.stack.pop() else {
            return Err(self.err(start, XmlErrorKind::UnmatchedEndTag(found.to_owned())));
        };
        if open.raw_name != found {
            return Err(self.err(
                start,
                XmlErrorKind::MismatchedTag {
                    expected: open.raw_name.to_owned(),
                    found: found.to_owned(),
                },
            ));
        }
        self.scopes.truncate(open.scope_mark);
        if open.skipped {
            return Ok(());
        }
        if self.stack.len() == 1 {
            self.skimming = false;
        }
        let node = &mut self.nodes[open.id];
        node.span.end = end;
        if let NodeKind::Element(e) = &mut node.kind {
            e.content_span = e.span.end..start;
            e.span.end = end;
        }
        Ok(())
    }

    /// Resolves a qualified name in the current scope. Unprefixed attributes are in no
    /// namespace; unprefixed elements take the default namespace.
    fn resolve(&self, raw: &str, is_element: bool) -> Result<QName, XmlErrorKind> {
        let ns = self.namespace_shared(raw, is_element)?.cloned();
        let (prefix, local) = split_qname(raw);
        Ok(QName {
            prefix: prefix.map(str::to_owned),
            local: local.to_owned(),
            ns,
        })
    }

    /// The namespace a qualified name is in, in the current scope (see [`Builder::resolve`]).
    fn namespace_of(&self, raw: &str, is_element: bool) -> Result<Option<&str>, XmlErrorKind> {
        Ok(self.namespace_shared(raw, is_element)?.map(|u| &**u))
    }

    /// [`Builder::namespace_of`] as the binding's shared URI, which a [`QName`] keeps
    /// without copying it.
    fn namespace_shared(
        &self,
        raw: &str,
        is_element: bool,
    ) -> Result<Option<&Arc<str>>, XmlErrorKind> {
        match split_qname(raw).0 {
            Some("xml") => Ok(Some(&self.scopes.xml)),
            Some("xmlns") => Err(XmlErrorKind::BadNamespaceDecl(format!(
                "'{raw}': the xmlns prefix is reserved"
            ))),
            Some(p) => match self.lookup(Some(p)) {
                Some(uri) if !uri.is_empty() => Ok(Some(uri)),
                _ => Err(XmlErrorKind::UndeclaredPrefix(p.to_owned())),
            },
            None if is_element => Ok(self.lookup(None).filter(|u| !u.is_empty())),
            None => Ok(None),
        }
    }

    #[inline]
    fn lookup(&self, prefix: Option<&str>) -> Option<&Arc<str>> {
        self.scopes.get(prefix)
    }
}

/// For a namespace declaration attribute, the prefix it declares: `xmlns` → Some(None),
/// `xmlns:p` → Some(Some("p")); None for any other attribute.
#[inline]
fn declared_prefix(attr_name: &str) -> Option<Option<&str>> {
    if attr_name == "xmlns" {
        Some(None)
    } else {
        attr_name.strip_prefix("xmlns:").map(Some)
    }
}

/// (prefix, local part) of a qualified name as written.
#[inline]
fn split_qname(raw: &str) -> (Option<&str>, &str) {
    // Names are short: a plain loop beats a call into memchr here.
    match raw.bytes().position(|b| b == b':') {
        Some(i) => (raw.get(..i), raw.get(i + 1..).unwrap_or("")),
        None => (None, raw),
    }
}

/// How many times `needle` occurs in `hay` (counted in blocks of 255 so the per-block sum
/// fits a byte and the loop vectorises).
fn count_byte(hay: &[u8], needle: u8) -> usize {
    hay.chunks(255)
        .map(|c| usize::from(c.iter().map(|&b| u8::from(b == needle)).sum::<u8>()))
        .sum()
}

/// Up to this many attributes on an element, duplicates are found by pairwise comparison.
const SMALL_ATTRS: usize = 12;

/// A quick-xml reader over `src`, configured as the builder needs.
fn reader_at(src: &str) -> Reader<&[u8]> {
    let mut reader = Reader::from_str(src);
    let cfg = reader.config_mut();
    cfg.check_end_names = false; // matched here, with our own error
    cfg.check_comments = true;
    cfg.allow_dangling_amp = false;
    cfg.expand_empty_elements = false;
    cfg.trim_text(false);
    reader
}

fn pos(p: u64) -> usize {
    usize::try_from(p).unwrap_or(usize::MAX)
}

/// `src[a..b]`, or "" when the bounds are inconsistent (never panics).
#[inline]
fn slice(src: &str, a: usize, b: usize) -> &str {
    src.get(a..b).unwrap_or("")
}

pub(crate) fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// XML 1.0 §2.2 `Char`: rejects C0 controls other than tab/LF/CR, and U+FFFE/U+FFFF.
/// (Surrogates cannot occur in a Rust string.)
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'..)
}

fn check_chars(src: &str) -> Result<(), XmlError> {
    // In valid UTF-8 only two byte patterns start a non-Char: a C0 control byte other than
    // tab/LF/CR, or 0xEF 0xBF 0xBE/0xBF (U+FFFE / U+FFFF; 0xEF is always a lead byte). Blocks
    // holding no suspect byte are skipped in bulk (an OR-fold of byte flags over a fixed-size
    // array: whole-vector compares, about 1.7 times the speed of a map then `any` in a
    // stand-alone micro-benchmark); suspect blocks are checked byte by byte.
    const BLOCK: usize = 64;
    let suspect = |b: u8| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) | (b == 0xEF);
    let bytes = src.as_bytes();
    for (k, block) in bytes.chunks(BLOCK).enumerate() {
        let clean = match <&[u8; BLOCK]>::try_from(block) {
            Ok(full) => full.iter().fold(0u8, |any, &b| any | u8::from(suspect(b))) == 0,
            Err(_) => !block.iter().any(|&b| suspect(b)),
        };
        if clean {
            continue;
        }
        for (j, &b) in block.iter().enumerate() {
            let at = k * BLOCK + j;
            let illegal = if b == 0xEF {
                matches!(bytes.get(at + 1..at + 3), Some([0xBF, 0xBE | 0xBF]))
            } else {
                suspect(b)
            };
            if illegal {
                let c = src.get(at..).and_then(|r| r.chars().next()).unwrap_or('\0');
                debug_assert!(!is_xml_char(c));
                return Err(XmlError::at(bytes, at, XmlErrorKind::IllegalChar(c as u32)));
            }
        }
    }
    Ok(())
}

/// XML 1.0 §2.11: CRLF and lone CR become LF.
pub(crate) fn normalize_eol(s: &str) -> String {
    if !s.contains('\r') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    out
}

/// Resolves the body of a reference (`amp`, `#38`, `#x26`) to its character.
fn resolve_ref(name: &str) -> Result<char, XmlErrorKind> {
    let bad = || XmlErrorKind::InvalidCharRef(name.to_owned());
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix('x') {
            Some(hex) if !hex.is_empty() && hex.len() <= 8 => {
                u32::from_str_radix(hex, 16).map_err(|_| bad())?
            }
            None if !num.is_empty()
                && num.len() <= 10
                && num.bytes().all(|b| b.is_ascii_digit()) =>
            {
                num.parse::<u32>().map_err(|_| bad())?
            }
            _ => return Err(bad()),
        };
        return char::from_u32(code)
            .filter(|&c| is_xml_char(c))
            .ok_or_else(bad);
    }
    match name {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        _ => Err(XmlErrorKind::UndefinedEntity(name.to_owned())),
    }
}

/// Attribute-value normalisation for a CDATA attribute (XML 1.0 §3.3.3): after line-end
/// normalisation, each tab/CR/LF becomes a space; references are replaced by their character
/// without further normalisation (so `&#xA;` stays a line feed). `offset` locates `raw`.
fn normalize_attr(raw: &str, offset: usize) -> Result<String, (usize, XmlErrorKind)> {
    let mut out = String::with_capacity(raw.len());
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        let b = bytes[i];
        match b {
            b'&' => {
                let Some(semi) = raw[i..].find(';') else {
                    return Err((
                        offset + i,
                        XmlErrorKind::Syntax("unterminated reference".into()),
                    ));
                };
                let c = resolve_ref(&raw[i + 1..i + semi]).map_err(|k| (offset + i, k))?;
                out.push(c);
                i += semi + 1;
            }
            b'<' => {
                return Err((
                    offset + i,
                    XmlErrorKind::Syntax("'<' is not allowed in an attribute value".into()),
                ))
            }
            b'\r' => {
                out.push(' ');
                i += if bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
            }
            b'\n' | b'\t' => {
                out.push(' ');
                i += 1;
            }
            _ => {
                // Copy the run up to the next special byte (all ASCII, so char boundaries hold).
                let run = raw[i..]
                    .find(['&', '<', '\r', '\n', '\t'])
                    .map_or(raw.len(), |n| i + n);
                out.push_str(&raw[i..run]);
                i = run;
            }
        }
    }
    Ok(out)
}

/// Checks an attribute value as [`normalize_attr`] does, without building the normalised
/// value: no `<`, every reference terminated and defined.
fn check_attr_value(raw: &str, offset: usize) -> Result<(), (usize, XmlErrorKind)> {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while let Some(k) = memchr::memchr2(b'&', b'<', bytes.get(i..).unwrap_or_default()) {
        let at = i + k;
        if bytes[at] == b'<' {
            return Err((
                offset + at,
                XmlErrorKind::Syntax("'<' is not allowed in an attribute value".into()),
            ));
        }
        let Some(semi) = raw[at..].find(';') else {
            return Err((
                offset + at,
                XmlErrorKind::Syntax("unterminated reference".into()),
            ));
        };
        resolve_ref(&raw[at + 1..at + semi]).map_err(|k| (offset + at, k))?;
        i = at + semi + 1;
    }
    Ok(())
}

/// Splits the inside of a start tag (`src[from..to]`, between `<` and `>` or `/>`) into the
/// element name and attributes with absolute spans.
fn scan_tag<'s>(
    src: &'s str,
    from: usize,
    to: usize,
    attrs: &mut Vec<RawAttr<'s>>,
) -> Result<&'s str, (usize, XmlErrorKind)> {
    let syntax = |at: usize, msg: &str| (at, XmlErrorKind::Syntax(msg.to_owned()));
    let body = src
        .get(from..to)
        .ok_or_else(|| syntax(from, "malformed start tag"))?;
    let b = body.as_bytes();
    let is_ws = |c: u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let name_end = b.iter().position(|&c| is_ws(c)).unwrap_or(b.len());
    let name = &body[..name_end];
    attrs.clear();
    let mut i = name_end;
    loop {
        let ws_start = i;
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        if i == ws_start {
            return Err(syntax(from + i, "whitespace required between attributes"));
        }
        let name_start = i;
        while i < b.len() && !is_ws(b[i]) && b[i] != b'=' {
            i += 1;
        }
        let attr_name = &body[name_start..i];
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            return Err(syntax(
                from + name_start,
                "attribute without '=' and a value",
            ));
        }
        i += 1;
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        let quote = match b.get(i) {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => return Err(syntax(from + i, "attribute value must be quoted")),
        };
        let value_start = i + 1;
        let Some(len) = b[value_start..].iter().position(|&c| c == quote) else {
            return Err(syntax(from + name_start, "unterminated attribute value"));
        };
        let value_end = value_start + len;
        attrs.push(RawAttr {
            name: attr_name,
            value: &body[value_start..value_end],
            value_offset: from + value_start,
            span: from + name_start..from + value_end + 1,
        });
        i = value_end + 1;
    }
    Ok(name)
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == ':' || (c as u32) >= 0x80
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_ascii_digit() || c == '-' || c == '.'
}

/// ASCII bytes a name may hold after its first character: letters, digits, `_ : - .`
/// (non-ASCII names take the general check).
const ASCII_NAME_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        table[i] = c.is_ascii_alphanumeric() || matches!(c, b'_' | b':' | b'-' | b'.');
        i += 1;
    }
    table
};

fn check_name(s: &str) -> Result<(), XmlErrorKind> {
    // Fast path for the usual all-ASCII name; anything else takes the general check below.
    let b = s.as_bytes();
    if let Some((&first, rest)) = b.split_first() {
        if (first.is_ascii_alphabetic() || first == b'_' || first == b':')
            && rest.iter().all(|&c| ASCII_NAME_BYTE[usize::from(c)])
        {
            return Ok(());
        }
    }
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if is_name_start(c) && chars.all(is_name_char) => Ok(()),
        _ => Err(XmlErrorKind::InvalidName(s.to_owned())),
    }
}

/// A name that is also a namespace-well-formed QName: at most one colon, not at either end.
fn check_qname(s: &str) -> Result<(), XmlErrorKind> {
    check_name(s)?;
    let colons = s.bytes().filter(|&b| b == b':').count();
    if colons > 1 || s.starts_with(':') || s.ends_with(':') {
        return Err(XmlErrorKind::InvalidName(s.to_owned()));
    }
    Ok(())
}

/// Namespaces in XML 1.0 §3 constraints on declarations.
fn check_ns_decl(prefix: Option<&str>, uri: &str) -> Result<(), XmlErrorKind> {
    let bad = |m: String| Err(XmlErrorKind::BadNamespaceDecl(m));
    match prefix {
        Some("xmlns") => bad("the xmlns prefix must not be declared".into()),
        Some("xml") if uri != XML_NS => bad(format!("prefix xml must be bound to {XML_NS}")),
        Some(p) if p != "xml" && uri == XML_NS => bad(format!("only prefix xml may bind {XML_NS}")),
        Some(p) if uri.is_empty() => bad(format!("xmlns:{p}=\"\" (prefix undeclaring is XML 1.1)")),
        None if uri == XML_NS => bad(format!("{XML_NS} cannot be the default namespace")),
        _ if uri == XMLNS_NS => bad(format!("{XMLNS_NS} must not be declared")),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Document {
        Document::parse(s.as_bytes()).unwrap()
    }

    fn err(s: &str) -> XmlError {
        Document::parse(s.as_bytes()).unwrap_err()
    }

    #[test]
    fn shallow_parse_keeps_spans_and_checks_the_skipped_part() {
        let src = r#"<s:E xmlns:s="urn:s"><s:H><a>1</a></s:H><s:B Id="b"><op xmlns="urn:o"><x k='1'>t&amp;<!--c--><y/></x><![CDATA[z]]></op></s:B></s:E>"#;
        let full = parse(src);
        let shallow = Document::parse_shallow(src.as_bytes(), 3).unwrap();
        // Everything to depth 3 is the same node, in the same place, as in the full tree.
        let names = |d: &Document| -> Vec<(String, std::ops::Range<usize>)> {
            d.nodes
                .iter()
                .filter_map(|n| d_name(n).map(|q| (q, n.span.clone())))
                .collect()
        };
        fn d_name(n: &Node) -> Option<String> {
            match &n.kind {
                NodeKind::Element(e) => Some(e.name.qualified()),
                _ => None,
            }
        }
        assert_eq!(
            names(&shallow),
            vec![
                ("s:E".to_string(), 0..src.len()),
                ("s:H".to_string(), full.nodes[2].span.clone()),
                ("a".to_string(), full.nodes[3].span.clone()),
                ("s:B".to_string(), full.nodes[5].span.clone()),
                ("op".to_string(), full.nodes[6].span.clone()),
            ]
        );
        let (op, full_op) = (6, 6);
        assert!(shallow.children_elements(op).is_empty());
        assert_eq!(shallow.text_content(op), "z"); // the CDATA directly inside
        assert_eq!(shallow.inner_xml_bytes(op), full.inner_xml_bytes(full_op));
        assert_eq!(
            shallow.element(op).unwrap().name.ns.as_deref(),
            Some("urn:o")
        );
        assert_eq!(shallow.text_content(3), "1");
        assert_eq!(shallow.source, full.source);
        // Errors inside the skipped part are still found, at the same offset.
        for bad in [
            "<a><b><c><d></c></d></b></a>",
            "<a><b><c><d>x]]>y</d></c></b></a>",
            "<a><b><c><d>&nope;</d></c></b></a>",
            "<a><b><c><d e=1/></c></b></a>",
            "<a><b><c><d></d></c></b></a><e/>",
            "<a><b><c><d>",
        ] {
            let full = err(bad);
            let shallow = Document::parse_shallow(bad.as_bytes(), 2).unwrap_err();
            assert_eq!(
                (shallow.offset, shallow.kind),
                (full.offset, full.kind),
                "{bad}"
            );
        }
        // Other malformed skipped content is rejected too (offsets may differ from quick-xml's).
        for bad in [
            "<a><b><c><!-- x -- y --></c></b></a>",
            "<a><b><c><?xml version='1.0'?></c></b></a>",
            "<a><b><c><!DOCTYPE x></c></b></a>",
            "<a><b><c>&amp</c></b></a>",
            "<a><b><c><d a='1' a='2'/></c></b></a>",
            "<a><b><c><1d/></c></b></a>",
            "<a><b><c><d x='>'</c></b></a>",
        ] {
            assert!(Document::parse(bad.as_bytes()).is_err(), "{bad}");
            assert!(Document::parse_shallow(bad.as_bytes(), 2).is_err(), "{bad}");
        }
        // Every cut of the document: no panic, and whatever parses fully parses shallowly.
        for cut in 0..=src.len() {
            let Some(part) = src.get(..cut) else { continue };
            let shallow = Document::parse_shallow(part.as_bytes(), 3);
            if Document::parse(part.as_bytes()).is_ok() {
                assert!(shallow.is_ok(), "{part}");
            }
        }
    }

    /// `count` copies of `src`, each with 1 to `max_edits` random single-byte edits
    /// (replace, insert or delete, bytes from `alphabet`), from a xorshift seeded `seed`.
    fn mutations<'a>(
        src: &'a [u8],
        alphabet: &'a [u8],
        max_edits: u64,
        count: usize,
        seed: u64,
    ) -> impl Iterator<Item = Vec<u8>> + 'a {
        let mut state = seed;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..count).map(move |_| {
            let mut m = src.to_vec();
            for _ in 0..1 + next() % max_edits {
                let at = (next() % m.len() as u64) as usize;
                let b = alphabet[(next() % alphabet.len() as u64) as usize];
                match next() % 3 {
                    0 => m[at] = b,
                    1 => m.insert(at, b),
                    _ => {
                        m.remove(at);
                    }
                }
            }
            m
        })
    }

    /// A node without its links (children, parent), to compare trees whose ids differ.
    fn unlinked(n: &Node) -> (String, std::ops::Range<usize>) {
        let kind = match &n.kind {
            NodeKind::Element(e) => format!(
                "{:?} {:?} {:?} {:?}",
                e.name, e.ns_decls, e.attributes, e.content_span
            ),
            other => format!("{other:?}"),
        };
        (kind, n.span.clone())
    }

    const SKIM_BODY: [(&str, &str); 1] = [("urn:s", "B")];

    #[test]
    fn skimming_builds_the_same_nodes_minus_the_body_payload() {
        let src = r#"<s:E xmlns:s="urn:s"><s:H><a><deep k="v">1</deep></a></s:H><s:B Id="b" xmlns:p="urn:p"><op xmlns="urn:o"><x p:k='1&amp;'>t&amp;<!--c--><y/></x><![CDATA[z]]></op>tail<p:second/></s:B></s:E>"#;
        let full = parse(src);
        let skim = Document::parse_skimming(src.as_bytes(), &SKIM_BODY, &|_, _| false).unwrap();
        let full_nodes: Vec<_> = full.nodes.iter().map(unlinked).collect();
        let skim_nodes: Vec<_> = skim.nodes.iter().map(unlinked).collect();
        // The header keeps its whole tree; the body its top elements and direct text only.
        let kept = |(k, _): &(String, std::ops::Range<usize>)| {
            !["local: \"x\"", "local: \"y\"", "Comment", "Text(\"t&\")"]
                .iter()
                .any(|w| k.contains(w))
        };
        let expected: Vec<_> = full_nodes.iter().filter(|n| kept(n)).cloned().collect();
        assert_eq!(skim_nodes, expected);
        assert_eq!(skim.source, full.source);
        let op = skim
            .nodes
            .iter()
            .position(|n| matches!(&n.kind, NodeKind::Element(e) if e.name.local == "op"))
            .unwrap();
        assert!(skim.children_elements(op).is_empty());
        assert_eq!(skim.text_content(op), "z");
    }

    #[test]
    fn skimmed_content_is_checked_like_a_full_parse() {
        let wrap = |inner: &str| {
            format!(r#"<s:E xmlns:s="urn:s"><s:H/><s:B><op>{inner}</op></s:B></s:E>"#)
        };
        let accepted = [
            r#"<p:x xmlns:p="urn:p"><p:y p:a="1"/></p:x>"#,
            r#"<x xmlns="urn:d"><y xmlns=""/></x>"#,
            r#"<x a="&lt;&#x41;" xml:lang="en"/>"#,
            r#"<x xmlns:p="urn:p" xmlns:q="urn:q" p:a="1" q:a="2"/>"#,
            r#"<x xmlns:p="urn:p" xmlns:q="urn:q" a="" b="" c="" d="" e="" f="" g="" h="" i="" j="" p:a="1" q:a="2"/>"#,
            r#"<x xmlns:p="urn:p" xmlns:q="urn:q" a="" b="" c="" d="" e="" f="" g="" h="" i="" j="" k="" p:a="1" q:a="2"/>"#,
            // Tags written again, as a data payload repeats them (kept and matched whole),
            // also across a rebinding of their prefix.
            r#"<x xmlns:i="urn:i"><y i:nil="true"/><y i:nil="true"/><z xmlns:i="urn:j"><y i:nil="true"/><w a="1">t</w><w a="1">u</w></z><y i:nil="true"/></x>"#,
            // Bare tags (no attributes), which the skim matches without the general scan.
            r#"<x xmlns:p="urn:p"><p:y><p:z/><_q.r-1/></p:y><xml:s></xml:s></x>"#,
            "<x><y></y ><z\t/></x>",
        ];
        for inner in accepted {
            let doc = wrap(inner);
            assert!(Document::parse(doc.as_bytes()).is_ok(), "{inner}");
            assert!(
                Document::parse_skimming(doc.as_bytes(), &SKIM_BODY, &|_, _| false).is_ok(),
                "{inner}"
            );
        }
        let rejected = [
            "<p:x/>",
            r#"<x p:a="1"/>"#,
            r#"<x xmlns:p="urn:p"/><p:y/>"#,
            r#"<x a="<"/>"#,
            r#"<x a="&nope;"/>"#,
            r#"<x a="&amp"/>"#,
            r#"<x xmlns:p="urn:p" xmlns:q="urn:p" p:a="1" q:a="2"/>"#,
            // A tag accepted once, written again where a rebinding makes it a duplicate.
            r#"<x xmlns:p="urn:p" xmlns:q="urn:q"><y p:a="1" q:a="2"/><z xmlns:q="urn:p"><y p:a="1" q:a="2"/></z></x>"#,
            r#"<x xmlns:p="urn:p"><y p:a="1"/><z xmlns:p=""><y p:a="1"/></z></x>"#,
            // The same, the duplicate last of 12 (compared on the stack) and of 13 (hashed).
            r#"<x xmlns:p="urn:p" xmlns:q="urn:p" a="" b="" c="" d="" e="" f="" g="" h="" i="" j="" p:a="1" q:a="2"/>"#,
            r#"<x xmlns:p="urn:p" xmlns:q="urn:p" a="" b="" c="" d="" e="" f="" g="" h="" i="" j="" k="" p:a="1" q:a="2"/>"#,
            r#"<x xmlns:p=""/>"#,
            r#"<x xmlns:xmlns="urn:x"/>"#,
            "<xmlns:x/>",
            r#"<x xmlns:p="http://www.w3.org/XML/1998/namespace"/>"#,
            // Bare tags: every way the fast path must hand over to the general one.
            "<x><p:y></p:y></x>",
            "<x><xmlns:y></xmlns:y></x>",
            "<x><a:b:c/></x>",
            "<x><a:/></x>",
            "<x><:a/></x>",
            "<x><1a/></x>",
            "<x><-a></-a></x>",
            "<x><y></z></x>",
            "<x><y></yy></x>",
            "<x><yy></y></x>",
            "<x><y></y</x>",
            "<x><y/ ></x>",
            "<x><y>",
            "<x><y",
            "<x><y/",
            "<x></x ",
        ];
        let too_deep = "<a>".repeat(300) + &"</a>".repeat(300);
        for inner in rejected.into_iter().chain([too_deep.as_str()]) {
            let doc = wrap(inner);
            let full = Document::parse(doc.as_bytes()).unwrap_err();
            let skim =
                Document::parse_skimming(doc.as_bytes(), &SKIM_BODY, &|_, _| false).unwrap_err();
            assert_eq!(
                (skim.offset, skim.kind),
                (full.offset, full.kind),
                "{inner}"
            );
        }
    }

    #[test]
    fn skimming_accepts_exactly_what_parse_accepts_on_mutations() {
        let src = br#"<s:E xmlns:s="urn:s"><s:H><w:A xmlns:w="urn:w">act</w:A></s:H><s:B u:Id="_1" xmlns:u="urn:u"><op xmlns="urn:o"><p:x xmlns:p="urn:p" p:k="1&amp;2" k='&#x41;'>t&lt;<y xmlns=""/><![CDATA[c]]><!--m--><?pi d?></p:x><z a="1" b="2"/></op></s:B></s:E>"#;
        // A data payload repeating names and whole attributed tags, with a rebinding: what
        // the skim's tables of known names and tags shortcut.
        let repeats = br#"<s:E xmlns:s="urn:s"><s:B><op><r xmlns:b="urn:b" xmlns:i="urn:i"><b:O><b:Id>1</b:Id><b:D i:nil="true"/></b:O><b:O><b:Id>2</b:Id><b:D i:nil="true"/><b:N a="1" i:a="2">x</b:N></b:O><q xmlns:i="urn:b"><b:D i:nil="true"/><b:N a="1" i:a="2">y</b:N></q><b:D i:nil="true"/></r></op></s:B></s:E>"#;
        let alphabet = b"<>/&;#x:=\"' ]![-?pqsuxmlnbi";
        let mut both_ok = 0;
        let cases = mutations(src, alphabet, 3, 20_000, 0x9E37_79B9_7F4A_7C15).chain(mutations(
            repeats,
            alphabet,
            3,
            10_000,
            0x2545_F491_4F6C_DD1D,
        ));
        for m in cases {
            let full = Document::parse(&m);
            let skim = Document::parse_skimming(&m, &SKIM_BODY, &|_, _| false);
            assert_eq!(
                full.is_ok(),
                skim.is_ok(),
                "{}\nfull: {:?}\nskim: {:?}",
                String::from_utf8_lossy(&m),
                full.as_ref().err(),
                skim.as_ref().err()
            );
            // With a wanted element: the whole tree whenever one is present.
            let wanting = Document::parse_skimming(&m, &SKIM_BODY, &|_, local| local == "y");
            assert_eq!(
                full.is_ok(),
                wanting.is_ok(),
                "{}",
                String::from_utf8_lossy(&m)
            );
            if let (Ok(f), Ok(w)) = (&full, &wanting) {
                let has_y = f
                    .nodes
                    .iter()
                    .any(|n| matches!(&n.kind, NodeKind::Element(e) if e.name.local == "y"));
                if has_y {
                    assert!(!w.skimmed);
                    assert_eq!(w, f, "{}", String::from_utf8_lossy(&m));
                }
            }
            if let (Ok(f), Ok(s)) = (full, skim) {
                both_ok += 1;
                // Every skimmed node is the full parse's node, in the same order.
                let fs: Vec<_> = f.nodes.iter().map(unlinked).collect();
                let mut rest = fs.iter();
                for n in s.nodes.iter().map(unlinked) {
                    assert!(rest.any(|f| *f == n), "{}", String::from_utf8_lossy(&m));
                }
            }
        }
        assert!(both_ok > 1000, "too few mutations parsed: {both_ok}");
    }

    /// A name's resolution is reused only while the bindings are unchanged: the same name
    /// under a prefix rebound to another namespace (or unbound) is resolved again.
    #[test]
    fn skimmed_names_follow_rebinding() {
        let wanted = |ns: Option<&str>, _: &str| ns == Some("urn:wanted");
        let doc = r#"<s:E xmlns:s="urn:s"><s:B><op><x xmlns:p="urn:plain"><p:y/><p:y/><z xmlns:p="urn:wanted"><p:y/></z></x></op></s:B></s:E>"#;
        let skim = Document::parse_skimming(doc.as_bytes(), &SKIM_BODY, &wanted).unwrap();
        assert!(!skim.skimmed, "the wanted element must give the whole tree");
        let doc = r#"<s:E xmlns:s="urn:s"><s:B><op><x><q xmlns:p="urn:plain"><p:y/></q><p:y/></x></op></s:B></s:E>"#;
        let skim = Document::parse_skimming(doc.as_bytes(), &SKIM_BODY, &|_, _| false).unwrap_err();
        let full = Document::parse(doc.as_bytes()).unwrap_err();
        assert_eq!((skim.offset, skim.kind), (full.offset, full.kind));
    }

    #[test]
    fn namespaces_resolved_and_decls_kept_apart() {
        let d =
            parse(r#"<a:x xmlns:a="urn:a" xmlns="urn:d" b="1" a:c="2"><y xmlns=""/><z/></a:x>"#);
        let root = d.root_element().unwrap();
        let e = d.element(root).unwrap();
        assert_eq!(e.name.ns.as_deref(), Some("urn:a"));
        assert_eq!(e.name.prefix.as_deref(), Some("a"));
        assert_eq!(
            e.ns_decls,
            vec![
                NsDecl {
                    prefix: Some("a".into()),
                    uri: "urn:a".into()
                },
                NsDecl {
                    prefix: None,
                    uri: "urn:d".into()
                }
            ]
        );
        assert_eq!(e.attributes.len(), 2);
        assert_eq!(e.attributes[0].name.ns, None);
        assert_eq!(e.attributes[1].name.ns.as_deref(), Some("urn:a"));
        let kids = d.children_elements(root);
        assert_eq!(d.element(kids[0]).unwrap().name.ns, None);
        assert_eq!(
            d.element(kids[1]).unwrap().name.ns.as_deref(),
            Some("urn:d")
        );
    }

    #[test]
    fn xml_prefix_is_implicit() {
        let d = parse(r#"<a xml:lang="en"/>"#);
        let root = d.root_element().unwrap();
        assert_eq!(d.attribute(root, Some(XML_NS), "lang"), Some("en"));
    }

    #[test]
    fn attribute_value_normalisation() {
        let d = parse("<a v=\"x\ty\r\nz\rw\n&#xA;&#9;&#13;&amp;&lt;&quot;\"/>");
        let root = d.root_element().unwrap();
        assert_eq!(d.attribute(root, None, "v"), Some("x y z w \n\t\r&<\""));
    }

    #[test]
    fn text_references_and_line_ends() {
        let d = parse("<a>1\r\n2\r3&#13;&amp;&#x41;<![CDATA[<x>\r\n]]><!--c\r\n--><?p d\r\n?></a>");
        let root = d.root_element().unwrap();
        let e = d.element(root).unwrap();
        assert_eq!(
            d.nodes[e.children[0]].kind,
            NodeKind::Text("1\n2\n3\r&A".into())
        );
        assert_eq!(d.nodes[e.children[1]].kind, NodeKind::CData("<x>\n".into()));
        assert_eq!(d.nodes[e.children[2]].kind, NodeKind::Comment("c\n".into()));
        assert_eq!(
            d.nodes[e.children[3]].kind,
            NodeKind::ProcessingInstruction {
                target: "p".into(),
                data: "d\n".into()
            }
        );
    }

    #[test]
    fn spans() {
        let src = r#"<?xml version="1.0"?> <r><a  k = 'v' >t&amp;</a ><b/></r>"#;
        let d = parse(src);
        let root = d.root_element().unwrap();
        let kids = d.children_elements(root);
        let a = d.element(kids[0]).unwrap();
        assert_eq!(&src[a.span.clone()], "<a  k = 'v' >t&amp;</a >");
        assert_eq!(&src[a.content_span.clone()], "t&amp;");
        assert_eq!(&src[a.attributes[0].span.clone()], "k = 'v'");
        let t = a.children[0];
        assert_eq!(&src[d.nodes[t].span.clone()], "t&amp;");
        let b = d.element(kids[1]).unwrap();
        assert_eq!(&src[b.span.clone()], "<b/>");
        assert!(b.content_span.is_empty());
        assert_eq!(
            d.outer_xml_bytes(root),
            br#"<r><a  k = 'v' >t&amp;</a ><b/></r>"#
        );
        assert_eq!(d.inner_xml_bytes(kids[0]), b"t&amp;");
    }

    #[test]
    fn rejections_name_offsets() {
        let e = err("<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>");
        assert_eq!(e.kind, XmlErrorKind::DoctypeNotAllowed);
        assert_eq!(e.offset, 0);
        assert!(e.to_string().contains("DOCTYPE not allowed"));
        let e = err("<a>\n &foo;</a>");
        assert_eq!(e.kind, XmlErrorKind::UndefinedEntity("foo".into()));
        assert_eq!((e.offset, e.line, e.column), (5, 2, 2));
        assert_eq!(
            err("<p:a/>").kind,
            XmlErrorKind::UndeclaredPrefix("p".into())
        );
        assert_eq!(
            err("<a q:b='1'/>").kind,
            XmlErrorKind::UndeclaredPrefix("q".into())
        );
        assert!(matches!(
            err("<a><b></a></b>").kind,
            XmlErrorKind::MismatchedTag { .. }
        ));
        assert_eq!(err("<a/><b/>").kind, XmlErrorKind::MultipleRoots);
        assert_eq!(err("<a/>x").kind, XmlErrorKind::ContentOutsideRoot);
        assert_eq!(err("x<a/>").kind, XmlErrorKind::ContentOutsideRoot);
        assert_eq!(
            err("<a/><![CDATA[ ]]>").kind,
            XmlErrorKind::ContentOutsideRoot
        );
        assert_eq!(err("  ").kind, XmlErrorKind::NoRoot);
        assert!(matches!(err("<a>").kind, XmlErrorKind::UnclosedElement(_)));
        let e = err("<a></a></b>");
        assert!(
            matches!(
                e.kind,
                XmlErrorKind::UnmatchedEndTag(_) | XmlErrorKind::Syntax(_)
            ),
            "{e}"
        );
        assert_eq!(e.offset, 7, "{e}");
        assert!(matches!(
            err("<a b='1' b='2'/>").kind,
            XmlErrorKind::DuplicateAttribute(_)
        ));
        assert!(matches!(
            err("<a xmlns:p='u' xmlns:q='u' p:b='1' q:b='2'/>").kind,
            XmlErrorKind::DuplicateAttribute(_)
        ));
        assert!(matches!(err("<a b='<'/>").kind, XmlErrorKind::Syntax(_)));
        let e = err("<a>x]]>y</a>");
        assert!(
            matches!(e.kind, XmlErrorKind::Syntax(_)) && e.offset == 4,
            "{e}"
        );
        assert!(Document::parse(b"<a>]]&gt;]]</a>").is_ok());
        assert!(matches!(
            err("<a>&#0;</a>").kind,
            XmlErrorKind::InvalidCharRef(_)
        ));
        assert!(matches!(
            err("<a>\u{1}</a>").kind,
            XmlErrorKind::IllegalChar(1)
        ));
        assert!(matches!(
            err("<a xmlns:p=''/>").kind,
            XmlErrorKind::BadNamespaceDecl(_)
        ));
        assert!(matches!(
            err("<a/><?xml version='1.0'?>").kind,
            XmlErrorKind::Syntax(_)
        ));
    }

    /// A non-Char anywhere in a document, around and across the bulk check's 64-byte
    /// blocks and in the short last block, is found at its exact offset; the near misses
    /// (tab, LF, CR, other 0xEF sequences) are accepted.
    #[test]
    fn illegal_chars_found_at_every_offset() {
        for len in [0usize, 1, 60, 63, 64, 65, 127, 128, 129, 200] {
            for at in 0..len.max(1) {
                for (bad, code) in [
                    ("\u{0}", 0u32),
                    ("\u{1}", 1u32),
                    ("\u{1f}", 0x1f),
                    ("\u{fffe}", 0xfffe),
                    ("\u{ffff}", 0xffff),
                ] {
                    let mut text = "x".repeat(len);
                    if len > 0 {
                        text.replace_range(at..at + 1, bad);
                    } else {
                        text.push_str(bad);
                    }
                    let doc = format!("<a>{text}</a>");
                    let e = err(&doc);
                    assert_eq!(e.kind, XmlErrorKind::IllegalChar(code), "len {len} at {at}");
                    assert_eq!(e.offset, 3 + at, "len {len} at {at}");
                }
                let mut fine = "x".repeat(len);
                if len > 0 {
                    fine.replace_range(
                        at..at + 1,
                        ["\t", "\n", "\r", "\u{fffd}", "\u{f000}"][at % 5],
                    );
                }
                assert!(
                    Document::parse(format!("<a>{fine}</a>").as_bytes()).is_ok(),
                    "len {len} at {at}"
                );
            }
        }
    }

    #[test]
    fn markup_characters_inside_attribute_values() {
        let d = parse(r#"<a b="x>y/" c='"/>' d="/"/>"#);
        let root = d.root_element().unwrap();
        assert_eq!(d.attribute(root, None, "b"), Some("x>y/"));
        assert_eq!(d.attribute(root, None, "c"), Some("\"/>"));
        assert_eq!(d.attribute(root, None, "d"), Some("/"));
        let d = parse(r#"<a b=">"><c/></a>"#);
        assert_eq!(d.children_elements(d.root_element().unwrap()).len(), 1);
    }

    #[test]
    fn limits() {
        let deep = "<a>".repeat(300) + &"</a>".repeat(300);
        assert_eq!(err(&deep).kind, XmlErrorKind::TooDeep(256));
        let limits = ParseLimits {
            max_nodes: 10,
            ..ParseLimits::default()
        };
        let many = format!("<a>{}</a>", "<b/>".repeat(20));
        let e = Document::parse_with_limits(many.as_bytes(), &limits).unwrap_err();
        assert_eq!(e.kind, XmlErrorKind::TooManyNodes(10));
        let limits = ParseLimits {
            max_attributes: 3,
            ..ParseLimits::default()
        };
        let e = Document::parse_with_limits(b"<a a='' b='' c='' d=''/>", &limits).unwrap_err();
        assert_eq!(e.kind, XmlErrorKind::TooManyAttributes(3));
    }

    #[test]
    fn encodings() {
        let d = Document::parse(b"\xEF\xBB\xBF<a>\xC3\xA9</a>").unwrap();
        assert_eq!(d.text_content(d.root_element().unwrap()), "é");
        assert_eq!(d.source, "<a>é</a>".as_bytes());
        let utf16: Vec<u8> = [0xFEFFu16]
            .into_iter()
            .chain("<a>é</a>".encode_utf16())
            .flat_map(u16::to_le_bytes)
            .collect();
        let d = Document::parse(&utf16).unwrap();
        assert_eq!(d.text_content(d.root_element().unwrap()), "é");
        let be: Vec<u8> = [0xFEFFu16]
            .into_iter()
            .chain("<a/>".encode_utf16())
            .flat_map(u16::to_be_bytes)
            .collect();
        assert!(Document::parse(&be).is_ok());
        assert!(matches!(
            err_bytes(b"<a>\xFF</a>").kind,
            XmlErrorKind::Encoding(_)
        ));
    }

    fn err_bytes(b: &[u8]) -> XmlError {
        Document::parse(b).unwrap_err()
    }

    #[test]
    fn fragment_in_context() {
        let ctx = [
            NsDecl {
                prefix: Some("s".into()),
                uri: "urn:s".into(),
            },
            NsDecl {
                prefix: None,
                uri: "urn:d".into(),
            },
        ];
        let d = Document::parse_fragment_in_context(b" text <s:a/><b>x</b>", &ctx).unwrap();
        let top = d.children(0);
        assert_eq!(top.len(), 3);
        assert_eq!(d.nodes[top[0]].kind, NodeKind::Text(" text ".into()));
        assert_eq!(d.element(top[1]).unwrap().name.ns.as_deref(), Some("urn:s"));
        assert_eq!(d.element(top[2]).unwrap().name.ns.as_deref(), Some("urn:d"));
        assert_eq!(d.in_scope_namespaces(top[2]).len(), 2);
        assert!(Document::parse_fragment_in_context(b"<q:a/>", &ctx).is_err());
    }

    #[test]
    fn never_panics_on_random_mutations() {
        let src = br#"<?xml version="1.0"?><!--p--><s:E xmlns:s="urn:s" xmlns="urn:d" a="1&amp;&#x9;"><s:H xml:lang="en"><![CDATA[x]]></s:H><?p d?>t&#x41;&lt;<b xmlns="" c:d="2" xmlns:c="urn:c"/></s:E>"#;
        let alphabet = b"<>/&;#x:=\"' \r\n]![-?abcsxmlns\x80\xC3\xFF\x00";
        for m in mutations(src, alphabet, 4, 5000, 0x2545_F491_4F6C_DD1D) {
            if let Ok(d) = Document::parse(&m) {
                // Whatever parsed must be internally consistent.
                for n in &d.nodes {
                    assert!(n.span.start <= n.span.end && n.span.end <= d.source.len());
                }
                let _ = crate::xml::pretty(&d, 0);
                for m in crate::xml::C14nMethod::ALL {
                    crate::xml::canonicalize(&d, 0, m, &[], None).unwrap();
                }
            }
        }
    }

    #[test]
    fn never_panics_on_truncations() {
        let src = r#"<?xml version="1.0"?><s:E xmlns:s="urn:s" a="1&amp;"><!--c--><![CDATA[x]]><?p d?>t&#x41;</s:E>"#;
        for i in 0..src.len() {
            let _ = Document::parse(&src.as_bytes()[..i]);
            let mut m = src.as_bytes().to_vec();
            m[i] = b'<';
            let _ = Document::parse(&m);
            m[i] = b'&';
            let _ = Document::parse(&m);
        }
    }
}
