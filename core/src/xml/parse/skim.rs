//! The scan of content that gets no nodes ([`Document::parse_skimming`],
//! [`Document::parse_shallow`]): everything a full parse checks, at the same offsets, with
//! no tree built and a fast path for what data payloads are made of (start tags without
//! attributes, end tags written as their start tags, character data).

use super::{
    check_attr_value, check_name, check_ns_decl, declared_prefix, is_xml_space, normalize_attr,
    resolve_ref, scan_tag, slice, split_qname, Builder, Open, RawAttr, ASCII_NAME_BYTE,
    SMALL_ATTRS,
};
use crate::xml::error::{XmlError, XmlErrorKind};
use crate::xml::tree::XML_NS;
use std::collections::HashSet;
use std::sync::Arc;

impl<'s> Builder<'s> {
    /// A start tag below the materialised depth: checked, matched later, never a node.
    pub(super) fn skip_element(
        &mut self,
        start: usize,
        end: usize,
        empty: bool,
    ) -> Result<(), XmlError> {
        let mut raw_attrs = Vec::new();
        let raw_name = self.scan_event_tag(start, end, empty, &mut raw_attrs)?;
        let scope_mark = self.scopes.mark();
        self.check_skipped_tag(start, raw_name, &raw_attrs)?;
        if empty {
            self.scopes.truncate(scope_mark);
        } else {
            self.stack.push(Open {
                id: 0,
                raw_name,
                scope_mark,
                skipped: true,
                start,
            });
        }
        Ok(())
    }

    /// Consumes the content and end tag of the skipped element just opened (top of the
    /// stack), from `from`, with a scan much cheaper than quick-xml's events: only what
    /// well-formedness needs is checked (see [`Document::parse_shallow`]). Returns the offset
    /// after the end tag.
    #[inline(never)]
    pub(super) fn skip_subtree(&mut self, from: usize) -> Result<usize, XmlError> {
        let src = self.src;
        let b = src.as_bytes();
        let syntax = |m: &str| XmlErrorKind::Syntax(m.to_owned());
        // Open skipped elements: (raw name, start offset, scope mark before its namespace
        // declarations); the first is on `self.stack`.
        let mut open: Vec<(&'s str, usize, usize)> = Vec::new();
        // One attribute buffer for every tag of the subtree.
        let mut attrs: Vec<RawAttr<'s>> = Vec::new();
        let mut known = KnownNames::new(self.scopes.generation);
        let mut known_tags = KnownTags::new(self.scopes.generation);
        if let Some(o) = self.stack.pop() {
            open.push((o.raw_name, o.start, o.scope_mark));
        }
        let mut i = from;
        while let Some(&(name, name_start, scope_mark)) = open.last() {
            let Some(lt) = self.skip_text(i)? else {
                return Err(self.err(name_start, XmlErrorKind::UnclosedElement(name.to_owned())));
            };
            let rest = b.get(lt..).unwrap_or_default();
            let find =
                |pat: &[u8], at: usize| memchr::memmem::find(b.get(at..)?, pat).map(|k| at + k);
            // Dispatched on the byte after `<`: a start tag, the usual case, is known after
            // one test instead of failing four prefix comparisons.
            match rest.get(1) {
                Some(b'/') => {
                    // The usual end tag, `</name>` exactly as the start tag wrote it, is matched
                    // in place; anything else (space before `>`, a mismatch) takes the full path
                    // below, which reports it.
                    let n = name.len();
                    if rest.get(2 + n) == Some(&b'>')
                        && same_bytes(&rest[2..2 + n], name.as_bytes())
                    {
                        open.pop();
                        self.scopes.truncate(scope_mark);
                        i = lt + 3 + n;
                        continue;
                    }
                    let Some(gt) = find_byte3(b'>', b'>', b'>', rest).map(|k| lt + k) else {
                        return Err(self.err(lt, syntax("end tag not closed")));
                    };
                    let found = trim_xml_space_end(slice(src, lt + 2, gt));
                    if found != name {
                        return Err(self.err(
                            lt,
                            XmlErrorKind::MismatchedTag {
                                expected: name.to_owned(),
                                found: found.to_owned(),
                            },
                        ));
                    }
                    open.pop();
                    self.scopes.truncate(scope_mark);
                    i = gt + 1;
                }
                Some(b'!') if rest.starts_with(b"<!--") => {
                    let Some(close) = find(b"--", lt + 4) else {
                        return Err(self.err(lt, syntax("comment not closed")));
                    };
                    if b.get(close + 2) != Some(&b'>') {
                        return Err(self.err(close, syntax("'--' is not allowed in a comment")));
                    }
                    i = close + 3;
                }
                Some(b'!') if rest.starts_with(b"<![CDATA[") => {
                    let Some(close) = find(b"]]>", lt + 9) else {
                        return Err(self.err(lt, syntax("CDATA section not closed")));
                    };
                    i = close + 3;
                }
                Some(b'?') => {
                    let Some(close) = find(b"?>", lt + 2) else {
                        return Err(self.err(lt, syntax("processing instruction not closed")));
                    };
                    let body = slice(src, lt + 2, close);
                    let target = &body[..body.find(is_xml_space).unwrap_or(body.len())];
                    check_name(target).map_err(|k| self.err(lt + 2, k))?;
                    if target.eq_ignore_ascii_case("xml") {
                        return Err(self.err(
                            lt,
                            syntax("processing instruction target 'xml' is reserved"),
                        ));
                    }
                    i = close + 2;
                }
                Some(b'!') => {
                    return Err(self.err(lt, syntax("markup declaration not allowed in content")));
                }
                _ => {
                    known.follow(self.scopes.generation);
                    // A start tag repeating a name met before under the same bindings: only the
                    // depth is left to check.
                    if let Some((raw_name, empty)) = known.tag_at(b, lt + 1) {
                        if self.stack.len() + open.len() >= self.limits.max_depth {
                            return Err(self.err(lt, XmlErrorKind::TooDeep(self.limits.max_depth)));
                        }
                        let name_end = lt + 1 + raw_name.len();
                        if !empty {
                            open.push((raw_name, lt, self.scopes.mark()));
                        }
                        i = name_end + if empty { 2 } else { 1 };
                        continue;
                    }
                    if let Some(tag) = bare_tag(b, lt + 1) {
                        // `<name>` / `<name/>` with an ASCII QName and no attributes, the bulk of
                        // a data payload: no declarations to bind and nothing more to check than
                        // the depth and the prefix, so it skips the general scan. An undeclared
                        // or reserved prefix takes the general path, which reports it.
                        let raw_name = slice(src, lt + 1, tag.name_end);
                        // Some(wanted) once the name resolved (None: the general path reports).
                        let resolved = self.bare_tag_namespace(src, lt + 1, &tag).map(|ns| {
                            let local =
                                slice(src, tag.colon.map_or(lt + 1, |c| c + 1), tag.name_end);
                            self.wanted.is_some_and(|w| w(ns, local))
                        });
                        if let Some(wanted) = resolved {
                            if self.stack.len() + open.len() >= self.limits.max_depth {
                                return Err(
                                    self.err(lt, XmlErrorKind::TooDeep(self.limits.max_depth))
                                );
                            }
                            if wanted {
                                return Err(self.want_restart(lt));
                            }
                            known.insert(raw_name);
                            self.skipped_any = true;
                            if !tag.empty {
                                open.push((raw_name, lt, self.scopes.mark()));
                            }
                            i = tag.name_end + if tag.empty { 2 } else { 1 };
                            continue;
                        }
                    }
                    let Some(gt) = tag_end(b, lt + 1) else {
                        return Err(self.err(lt, syntax("start tag not closed")));
                    };
                    let empty = gt > lt + 1 && b.get(gt - 1) == Some(&b'/');
                    if self.stack.len() + open.len() >= self.limits.max_depth {
                        return Err(self.err(lt, XmlErrorKind::TooDeep(self.limits.max_depth)));
                    }
                    let tag = slice(src, lt, gt + 1);
                    known_tags.follow(self.scopes.generation);
                    // A tag written exactly as one already accepted under the same bindings.
                    if let Some(raw_name) = known_tags.get(tag) {
                        if !empty {
                            open.push((raw_name, lt, self.scopes.mark()));
                        }
                        i = gt + 1;
                        continue;
                    }
                    let body_end = if empty { gt - 1 } else { gt };
                    let raw_name = scan_tag(src, lt + 1, body_end, &mut attrs)
                        .map_err(|(at, k)| self.err(at, k))?;
                    let mark = self.scopes.mark();
                    self.check_skipped_tag(lt, raw_name, &attrs)?;
                    if self.scopes.mark() == mark {
                        known_tags.insert(tag, raw_name);
                    }
                    if empty {
                        self.scopes.truncate(mark);
                    } else {
                        open.push((raw_name, lt, mark));
                    }
                    i = gt + 1;
                }
            }
        }
        Ok(i)
    }

    /// The namespace of a [`bare_tag`] whose name starts at `from`, when the general path
    /// would accept it: `Some(ns)`; `None` when its prefix is `xmlns` or undeclared (the
    /// general path then reports the error).
    fn bare_tag_namespace(&self, src: &str, from: usize, tag: &BareTag) -> Option<Option<&str>> {
        match tag.colon {
            None => Some(self.lookup(None).map(|u| &**u).filter(|u| !u.is_empty())),
            Some(colon) => match slice(src, from, colon) {
                "xml" => Some(Some(XML_NS)),
                "xmlns" => None,
                prefix => match self.lookup(Some(prefix)) {
                    Some(uri) if !uri.is_empty() => Some(Some(&**uri)),
                    _ => None,
                },
            },
        }
    }

    /// Stops a skimming parse that met a wanted element after skipping content: the caller
    /// ([`Document::parse_skimming`]) sees `restart` set and parses again whole.
    pub(super) fn want_restart(&self, at: usize) -> XmlError {
        if let Some(restart) = self.restart {
            restart.set(true);
        }
        self.err(
            at,
            XmlErrorKind::Syntax("wanted element in skipped content".into()),
        )
    }

    /// A start tag inside a skipped subtree (`<` at `start`), checked for everything
    /// [`Builder::start_element`] checks without building anything: QNames, no attribute
    /// written twice (as written or as expanded name), attribute values (no `<`, references
    /// defined), namespace declarations, every prefix declared. The tag's declarations are
    /// bound in `scopes` (the caller unbinds them at the end tag), so prefixes inside resolve.
    fn check_skipped_tag(
        &mut self,
        start: usize,
        raw_name: &str,
        attrs: &[RawAttr<'_>],
    ) -> Result<(), XmlError> {
        self.check_written_names(start, raw_name, attrs)?;
        let mut plain = 0usize;
        for a in attrs {
            match declared_prefix(a.name) {
                Some(prefix) => {
                    let uri = normalize_attr(a.value, a.value_offset)
                        .map_err(|(at, k)| self.err(at, k))?;
                    check_ns_decl(prefix, &uri).map_err(|k| self.err(a.span.start, k))?;
                    self.scopes.push(prefix.map(str::to_owned), Arc::from(uri));
                }
                None => {
                    check_attr_value(a.value, a.value_offset).map_err(|(at, k)| self.err(at, k))?;
                    plain += 1;
                }
            }
        }
        self.skipped_any = true;
        let ns = self
            .namespace_of(raw_name, true)
            .map_err(|k| self.err(start + 1, k))?;
        if self.wanted.is_some_and(|w| w(ns, split_qname(raw_name).1)) {
            return Err(self.want_restart(start));
        }
        if plain == 0 {
            return Ok(());
        }
        // Expanded names of the attributes: declared prefixes, none twice. Few attributes
        // (the usual case) are compared pairwise in an array on the stack: a vector here was
        // an allocation for every skipped tag with an attribute (`i:nil="true"`).
        let mut few: [(Option<&str>, &str); SMALL_ATTRS] = [(None, ""); SMALL_ATTRS];
        let mut count = 0;
        let mut seen_expanded = (plain > SMALL_ATTRS).then(HashSet::new);
        for a in attrs {
            if declared_prefix(a.name).is_some() {
                continue;
            }
            let ns = self
                .namespace_of(a.name, false)
                .map_err(|k| self.err(a.span.start, k))?;
            let name = (ns, split_qname(a.name).1);
            let duplicate = match &mut seen_expanded {
                Some(seen) => !seen.insert(name),
                None => {
                    let earlier = few.get(..count).unwrap_or_default();
                    let duplicate = earlier.contains(&name);
                    if let Some(slot) = few.get_mut(count) {
                        *slot = name;
                        count += 1;
                    }
                    duplicate
                }
            };
            if duplicate {
                return Err(self.err(
                    a.span.start,
                    XmlErrorKind::DuplicateAttribute(a.name.to_owned()),
                ));
            }
        }
        Ok(())
    }

    /// Character data from `from` inside a skipped subtree, checked in one pass: no `]]>`,
    /// every reference terminated (before the next `<`) and defined. Returns the offset of
    /// the `<` that ends it, None at the end of the input.
    fn skip_text(&self, from: usize) -> Result<Option<usize>, XmlError> {
        let b = self.src.as_bytes();
        let mut i = from;
        loop {
            let Some(at) = find_text_stop(b.get(i..).unwrap_or_default()).map(|k| i + k) else {
                return Ok(None);
            };
            match b[at] {
                b'<' => return Ok(Some(at)),
                b']' => {
                    if b.get(at..at + 3) == Some(b"]]>") {
                        return Err(self.err(
                            at,
                            XmlErrorKind::Syntax("']]>' is not allowed in character data".into()),
                        ));
                    }
                    i = at + 1;
                }
                _ => {
                    let after = b.get(at + 1..).unwrap_or_default();
                    // References are a few bytes long: searched inline, not by a memchr call.
                    let semi = match find_byte3(b';', b'<', b'<', after) {
                        Some(k) if after[k] == b';' => at + 1 + k,
                        _ => {
                            return Err(
                                self.err(at, XmlErrorKind::Syntax("unterminated reference".into()))
                            )
                        }
                    };
                    resolve_ref(slice(self.src, at + 1, semi)).map_err(|k| self.err(at, k))?;
                    i = semi + 1;
                }
            }
        }
    }
}

/// Offset of the `>` closing the start tag whose name begins at `from` (quotes respected).
fn tag_end(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        let k = i + find_byte3(b'>', b'"', b'\'', b.get(i..)?)?;
        match b[k] {
            b'>' => return Some(k),
            q => i = k + 1 + memchr::memchr(q, b.get(k + 1..)?)? + 1,
        }
    }
}

/// Names of bare tags met in a skipped subtree that resolved to a namespace and are not
/// wanted, valid while the namespace bindings stay as they were ([`Scopes::generation`]): a
/// start tag repeating one needs neither the name scan, nor the prefix lookup, nor the
/// wanted test. A payload repeats a few names many times, so a small table indexed by a
/// name's first bytes catches nearly all. Each set holds two names (the newer first), so
/// two names sharing a set do not evict each other at every turn.
struct KnownNames<'s> {
    generation: u64,
    sets: [[&'s str; 2]; KNOWN_SETS],
}

const KNOWN_SETS: usize = 16;

impl<'s> KnownNames<'s> {
    fn new(generation: u64) -> Self {
        KnownNames {
            generation,
            sets: [["", ""]; KNOWN_SETS],
        }
    }

    /// Forgets everything once the bindings changed.
    #[inline]
    fn follow(&mut self, generation: u64) {
        if generation != self.generation {
            *self = KnownNames::new(generation);
        }
    }

    /// Table set for a name starting at `head`: a hash of its first four bytes, cut at a `>`
    /// or `/` (neither continues a name), so a name shorter than four bytes hashes the same
    /// in a tag (`<Id>…`) as alone (`Id`).
    #[inline]
    fn set(head: &[u8]) -> usize {
        // A fixed-size copy when four bytes are there (nearly always): a copy of a variable
        // length compiled to a call to memcpy, about 1 % of `analyze`.
        let word = u32::from_le_bytes(match head.first_chunk::<4>() {
            Some(first) => *first,
            None => {
                let mut word = [0u8; 4];
                word[..head.len()].copy_from_slice(head);
                word
            }
        });
        // The upper four bytes are zero, never `>` or `/`: only the name's bytes can stop.
        let wide = u64::from(word);
        let stops = bytes_equal(wide, b'>') | bytes_equal(wide, b'/');
        let name_bytes = match stops.trailing_zeros() {
            bit if bit >= 32 => word,
            bit => word & ((1u32 << (bit - 7)) - 1),
        };
        (name_bytes.wrapping_mul(0x9E37_79B1) >> 28) as usize % KNOWN_SETS
    }

    /// The start tag whose name begins at `from`, when it is `<known>` or `<known/>` for a
    /// name in the table: (name, empty). A known name followed by `>` or `/>` is the whole
    /// name, since neither can continue a name.
    #[inline]
    fn tag_at(&self, b: &[u8], from: usize) -> Option<(&'s str, bool)> {
        let rest = b.get(from..)?;
        self.sets[Self::set(rest)].iter().find_map(|&name| {
            let n = name.len();
            if n == 0
                || !rest
                    .get(..n)
                    .is_some_and(|r| same_bytes(r, name.as_bytes()))
            {
                return None;
            }
            match rest.get(n) {
                Some(b'>') => Some((name, false)),
                Some(b'/') if rest.get(n + 1) == Some(&b'>') => Some((name, true)),
                _ => None,
            }
        })
    }

    #[inline]
    fn insert(&mut self, name: &'s str) {
        let set = &mut self.sets[Self::set(name.as_bytes())];
        set[1] = set[0];
        set[0] = name;
    }
}

/// Start tags with attributes (and no namespace declarations) met in a skipped subtree and
/// accepted, valid while the namespace bindings stay as they were: a start tag written
/// byte for byte like one of them (a data payload's `<b:Discount i:nil="true"/>`) gets the
/// same verdict, since what [`Builder::check_skipped_tag`] checks depends only on the tag's
/// bytes and the bindings; it needs neither the attribute scan nor the checks. A tag that
/// declares a namespace changes the bindings and is never kept.
struct KnownTags<'s> {
    generation: u64,
    /// (the whole tag from `<` to `>`, its name), the newest first.
    tags: [(&'s str, &'s str); KNOWN_TAGS],
}

const KNOWN_TAGS: usize = 4;
/// Longer tags are not kept: comparing them would cost about what checking them does.
const KNOWN_TAG_MAX: usize = 128;

impl<'s> KnownTags<'s> {
    fn new(generation: u64) -> Self {
        KnownTags {
            generation,
            tags: [("", ""); KNOWN_TAGS],
        }
    }

    /// Forgets everything once the bindings changed.
    #[inline]
    fn follow(&mut self, generation: u64) {
        if generation != self.generation {
            *self = KnownTags::new(generation);
        }
    }

    /// The name of the kept tag written exactly as `tag`, if any.
    #[inline]
    fn get(&self, tag: &str) -> Option<&'s str> {
        self.tags
            .iter()
            .find(|(kept, _)| !kept.is_empty() && *kept == tag)
            .map(|&(_, name)| name)
    }

    fn insert(&mut self, tag: &'s str, name: &'s str) {
        if tag.len() <= KNOWN_TAG_MAX {
            self.tags.rotate_right(1);
            self.tags[0] = (tag, name);
        }
    }
}

/// A start tag without attributes: `<name>` or `<name/>`.
struct BareTag {
    /// Offset just past the name (of the `>` or `/`).
    name_end: usize,
    /// Offset of the name's colon, if prefixed.
    colon: Option<usize>,
    empty: bool,
}

/// The start tag whose name begins at `from`, when it is `<name>` or `<name/>` with an ASCII
/// name that is a well-formed QName (letter or `_` first, at most one colon, not last).
/// None for anything else (attributes, white space, non-ASCII, malformed), which the
/// general scan handles.
#[inline]
fn bare_tag(b: &[u8], from: usize) -> Option<BareTag> {
    let first = *b.get(from)?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let mut colon = None;
    let mut j = from + 1;
    while let Some(&c) = b.get(j) {
        if !ASCII_NAME_BYTE[usize::from(c)] {
            break;
        }
        if c == b':' {
            if colon.is_some() {
                return None;
            }
            colon = Some(j);
        }
        j += 1;
    }
    if colon == Some(j - 1) {
        return None;
    }
    let empty = match b.get(j) {
        Some(b'>') => false,
        Some(b'/') if b.get(j + 1) == Some(&b'>') => true,
        _ => return None,
    };
    Some(BareTag {
        name_end: j,
        colon,
        empty,
    })
}

/// Byte equality for short strings (names). Up to 16 bytes it compares two (overlapping)
/// words instead of calling memcmp, whose call costs more than the comparison here.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    fn word<const N: usize>(s: &[u8], at: usize) -> [u8; N] {
        let mut w = [0u8; N];
        if let Some(part) = s.get(at..at + N) {
            w.copy_from_slice(part);
        }
        w
    }
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4),
        8..=16 => word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, n - 8) == word::<8>(b, n - 8),
        _ => a == b,
    }
}

/// `s` without trailing XML white space (space, tab, CR, LF).
fn trim_xml_space_end(s: &str) -> &str {
    let end = s
        .bytes()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .map_or(0, |i| i + 1);
    s.get(..end).unwrap_or(s)
}

/// The first of three bytes in `hay`. Markup and the text between tags are mostly short, so
/// a plain loop over the first bytes finds most hits before memchr's vector scan would
/// have paid for its set-up; longer runs go to memchr.
fn find_byte3(a: u8, b: u8, c: u8, hay: &[u8]) -> Option<usize> {
    const HEAD: usize = 24;
    let head = hay.get(..HEAD).unwrap_or(hay);
    if let Some(i) = head.iter().position(|&x| x == a || x == b || x == c) {
        return Some(i);
    }
    memchr::memchr3(a, b, c, hay.get(head.len()..)?).map(|i| i + head.len())
}

/// High bit set in the lowest byte of `word` equal to `c` (higher bytes may be false
/// positives, the lowest never is: the classic "has zero byte" test on `word ^ c`), so
/// `trailing_zeros() / 8` is the first such byte, and zero means none.
#[inline]
fn bytes_equal(word: u64, c: u8) -> u64 {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    let x = word ^ (ONES * u64::from(c));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The first `<`, `&` or `]` in `hay`: where character data stops or needs a closer look.
/// Text between tags is mostly short, so the first bytes are tested a word (8 bytes) at a
/// time, before memchr's vector scan would have paid for its set-up; longer runs go to
/// memchr.
#[inline]
fn find_text_stop(hay: &[u8]) -> Option<usize> {
    const WORDS: usize = 4;
    // No text at all between two tags is the most common case in data payloads.
    if hay.first() == Some(&b'<') {
        return Some(0);
    }
    for (k, chunk) in hay.chunks_exact(8).take(WORDS).enumerate() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        let word = u64::from_le_bytes(bytes);
        let hits = bytes_equal(word, b'<') | bytes_equal(word, b'&') | bytes_equal(word, b']');
        if hits != 0 {
            return Some(k * 8 + (hits.trailing_zeros() / 8) as usize);
        }
    }
    let scanned = (hay.len() / 8).min(WORDS) * 8;
    memchr::memchr3(b'<', b'&', b']', hay.get(scanned..)?).map(|i| i + scanned)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn find_text_stop_finds_the_first_stop() {
        for len in 0..80 {
            for at in 0..=len {
                for stop in [b'<', b'&', b']'] {
                    // Bytes that differ from the stops by one bit (borrow and xor traps).
                    let mut hay: Vec<u8> = (0..len)
                        .map(|i| [b'=', b'%', b'\\', 0x80, 0xff][i % 5])
                        .collect();
                    let expected = (at < len).then_some(at);
                    if at < len {
                        hay[at] = stop;
                        // A later stop must not win.
                        if at + 3 < len {
                            hay[at + 3] = b'<';
                        }
                    }
                    assert_eq!(find_text_stop(&hay), expected, "len {len}, stop at {at}");
                }
            }
        }
    }

    #[test]
    fn a_known_name_is_found_in_its_tag_whatever_its_length() {
        let names = [
            "a",
            "Id",
            "b:I",
            "b:Id",
            "b:Order",
            "Customer",
            "b:Discount",
            "x",
        ];
        let mut known = KnownNames::new(0);
        for name in names {
            known.insert(name);
            for (tail, empty) in [(">6738175<", false), ("/>", true), (">", false)] {
                let tag = format!("{name}{tail}");
                assert_eq!(
                    KnownNames::set(tag.as_bytes()),
                    KnownNames::set(name.as_bytes())
                );
                assert_eq!(
                    known.tag_at(tag.as_bytes(), 0),
                    Some((name, empty)),
                    "{tag}"
                );
            }
            // A longer name sharing the first bytes is not taken for the known one.
            let longer = format!("{name}x>");
            assert_eq!(known.tag_at(longer.as_bytes(), 0), None, "{longer}");
        }
    }

    #[test]
    fn two_names_in_one_set_are_both_kept() {
        // Find two names that share a set, then insert both.
        let candidates: Vec<String> = (0..200).map(|i| format!("n:{i:03}")).collect();
        let first = &candidates[0];
        let second = candidates[1..]
            .iter()
            .find(|c| KnownNames::set(c.as_bytes()) == KnownNames::set(first.as_bytes()))
            .expect("a colliding name among 200");
        let mut known = KnownNames::new(0);
        known.insert(first);
        known.insert(second);
        for name in [first, second] {
            let tag = format!("{name}>");
            assert_eq!(
                known.tag_at(tag.as_bytes(), 0),
                Some((name.as_str(), false))
            );
        }
    }

    #[test]
    fn same_bytes_is_equality() {
        let base: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for n in 0..base.len() {
            let a = &base[..n];
            assert!(same_bytes(a, a));
            assert!(!same_bytes(a, &base[..n + 1]));
            for k in 0..n {
                let mut b = a.to_vec();
                b[k] ^= 0x20;
                assert!(!same_bytes(a, &b), "length {n}, differs at {k}");
            }
        }
    }
}
