//! A tiny XML template tree with two serialisers: the bytes we put on the wire, and the
//! exclusive canonical form (Exclusive XML C14N 1.0, no comments, no InclusiveNamespaces)
//! of any element of it.
//!
//! Why a second c14n when the analyzer has one: the generator must not share code with the
//! thing it tests. This one only ever sees trees *we* built (no comments, no PIs, no DTDs, no
//! `xml:` attributes, no entity references), so it needs only the few rules that apply to
//! them, and the integration tests check its output against libxml2's (python3-lxml).
//!
//! The rules implemented, from the Exc-C14N and C14N 1.0 recommendations:
//! - an element renders the declaration of each namespace prefix it *visibly uses* (its own
//!   prefix, or the default namespace when unprefixed; the prefixes of its attributes) unless
//!   its nearest output ancestor already rendered the same prefix with the same URI. The apex
//!   of the subtree has no output ancestor, so it renders every prefix it uses, wherever on
//!   the wire that prefix was declared (in-scope declarations from ancestors count);
//! - declarations that are not visibly used are dropped; `xmlns=""` is rendered only when
//!   an unprefixed element sits under an output ancestor that rendered a non-empty default;
//! - namespace nodes are sorted by prefix (default first), attributes by (namespace URI,
//!   local name) with unqualified attributes (empty URI) first;
//! - empty elements become start/end tag pairs; text escapes `& < > CR`, attribute values
//!   escape `& < " TAB LF CR`; no XML declaration, no whitespace outside what we wrote.
//!
//! The wire form is written by [`El::wire`] exactly as the tree says (declarations and
//! attributes in insertion order, self-closing empty elements), so it differs from the
//! canonical form only by what c14n normalises away.

use std::collections::BTreeMap;

/// One attribute or namespace declaration, in the order the wire form writes them.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `xmlns:prefix="uri"`, or `xmlns="uri"` when the prefix is empty.
    Ns(String, String),
    /// `qname="value"`.
    Attr(String, String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    El(El),
    Text(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct El {
    pub qname: String,
    pub items: Vec<Item>,
    pub children: Vec<Node>,
}

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Prefix → namespace URI bindings in scope ("" = default namespace).
pub type NsMap = BTreeMap<String, String>;

impl El {
    pub fn new(qname: &str) -> El {
        El {
            qname: qname.to_string(),
            items: Vec::new(),
            children: Vec::new(),
        }
    }
    /// Adds a namespace declaration.
    pub fn ns(mut self, prefix: &str, uri: &str) -> El {
        self.items
            .push(Item::Ns(prefix.to_string(), uri.to_string()));
        self
    }
    pub fn attr(mut self, qname: &str, value: &str) -> El {
        self.items
            .push(Item::Attr(qname.to_string(), value.to_string()));
        self
    }
    pub fn child(mut self, c: El) -> El {
        self.children.push(Node::El(c));
        self
    }
    pub fn children(mut self, cs: impl IntoIterator<Item = El>) -> El {
        self.children.extend(cs.into_iter().map(Node::El));
        self
    }
    pub fn text(mut self, t: &str) -> El {
        self.children.push(Node::Text(t.to_string()));
        self
    }
    /// `<qname>text</qname>` in one call.
    pub fn leaf(qname: &str, t: &str) -> El {
        El::new(qname).text(t)
    }

    pub fn get_attr(&self, qname: &str) -> Option<&str> {
        self.items.iter().find_map(|i| match i {
            Item::Attr(q, v) if q == qname => Some(v.as_str()),
            _ => None,
        })
    }
    pub fn set_attr(&mut self, qname: &str, value: &str) {
        for i in &mut self.items {
            if let Item::Attr(q, v) = i {
                if q == qname {
                    *v = value.to_string();
                    return;
                }
            }
        }
        self.items
            .push(Item::Attr(qname.to_string(), value.to_string()));
    }
    /// The WS-Security style Id of this element: `u:Id` or plain `Id`.
    pub fn id(&self) -> Option<&str> {
        self.get_attr("u:Id").or_else(|| self.get_attr("Id"))
    }
    pub fn child_els(&self) -> impl Iterator<Item = &El> {
        self.children.iter().filter_map(|n| match n {
            Node::El(e) => Some(e),
            Node::Text(_) => None,
        })
    }
    pub fn child_els_mut(&mut self) -> impl Iterator<Item = &mut El> {
        self.children.iter_mut().filter_map(|n| match n {
            Node::El(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// This element's own declarations added to `scope`.
    pub fn scope_with(&self, scope: &NsMap) -> NsMap {
        let mut s = scope.clone();
        for i in &self.items {
            if let Item::Ns(p, u) = i {
                s.insert(p.clone(), u.clone());
            }
        }
        s
    }

    /// The wire bytes of this element, exactly as built.
    pub fn wire(&self) -> String {
        let mut out = String::new();
        self.write_wire(&mut out);
        out
    }
    fn write_wire(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.qname);
        for i in &self.items {
            match i {
                Item::Ns(p, u) if p.is_empty() => push_attr(out, "xmlns", u),
                Item::Ns(p, u) => push_attr(out, &format!("xmlns:{p}"), u),
                Item::Attr(q, v) => push_attr(out, q, v),
            }
        }
        if self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        write_children_wire(&self.children, out);
        out.push_str("</");
        out.push_str(&self.qname);
        out.push('>');
    }

    /// Exclusive c14n of this element as the apex of a subtree, given the namespace
    /// bindings in scope at its parent on the wire. Fails only when the template uses a
    /// prefix nobody declared (a bug in a template, reported rather than panicking).
    pub fn exc_c14n(&self, parent_scope: &NsMap) -> Result<String, String> {
        let mut out = String::new();
        self.write_c14n(parent_scope, &NsMap::new(), &mut out)?;
        Ok(out)
    }
    fn write_c14n(
        &self,
        parent_scope: &NsMap,
        rendered: &NsMap,
        out: &mut String,
    ) -> Result<(), String> {
        let scope = self.scope_with(parent_scope);
        // Visibly used prefixes: the element's own, then its attributes' (unqualified
        // attributes are in no namespace and use no prefix).
        let mut used: Vec<String> = vec![prefix_of(&self.qname).to_string()];
        for i in &self.items {
            if let Item::Attr(q, _) = i {
                // `xml:` is bound by definition and never declared (e.g. `xml:lang`).
                if q.contains(':') && prefix_of(q) != "xml" {
                    used.push(prefix_of(q).to_string());
                }
            }
        }
        let mut decls = NsMap::new();
        for p in used {
            let uri = scope.get(&p).cloned().unwrap_or_default();
            if p.is_empty() {
                let inherited = rendered.get("").cloned().unwrap_or_default();
                if uri != inherited {
                    decls.insert(p, uri);
                }
            } else {
                if uri.is_empty() {
                    return Err(format!(
                        "template bug: prefix '{p}' of <{}> is not declared",
                        self.qname
                    ));
                }
                if rendered.get(&p) != Some(&uri) {
                    decls.insert(p, uri);
                }
            }
        }
        // Attributes sorted by (namespace URI, local name); unqualified ones have URI "".
        let mut attrs: Vec<(String, String, &str, &str)> = Vec::new();
        for i in &self.items {
            if let Item::Attr(q, v) = i {
                let (uri, local) = if q.contains(':') {
                    let p = prefix_of(q);
                    let uri = if p == "xml" {
                        XML_NS.to_string()
                    } else {
                        scope.get(p).cloned().unwrap_or_default()
                    };
                    (uri, local_of(q).to_string())
                } else {
                    (String::new(), q.clone())
                };
                attrs.push((uri, local, q.as_str(), v.as_str()));
            }
        }
        attrs.sort_by(|a, b| (a.0.as_str(), a.1.as_str()).cmp(&(b.0.as_str(), b.1.as_str())));

        out.push('<');
        out.push_str(&self.qname);
        // BTreeMap iterates prefixes in order; "" (the default namespace) comes first.
        for (p, u) in &decls {
            if p.is_empty() {
                push_attr_c14n(out, "xmlns", u);
            } else {
                push_attr_c14n(out, &format!("xmlns:{p}"), u);
            }
        }
        for (_, _, q, v) in &attrs {
            push_attr_c14n(out, q, v);
        }
        out.push('>');
        let mut now_rendered = rendered.clone();
        now_rendered.extend(decls);
        for c in &self.children {
            match c {
                Node::El(e) => e.write_c14n(&scope, &now_rendered, out)?,
                Node::Text(t) => push_text(out, t),
            }
        }
        out.push_str("</");
        out.push_str(&self.qname);
        out.push('>');
        Ok(())
    }

    /// Depth-first search for the element whose `u:Id`/`Id` is `id`; returns it with the
    /// namespace scope of its parent.
    pub fn find_id(&self, id: &str, parent_scope: &NsMap) -> Option<(&El, NsMap)> {
        if self.id() == Some(id) {
            return Some((self, parent_scope.clone()));
        }
        let scope = self.scope_with(parent_scope);
        self.child_els().find_map(|c| c.find_id(id, &scope))
    }
    pub fn find_id_mut(&mut self, id: &str) -> Option<&mut El> {
        if self.id() == Some(id) {
            return Some(self);
        }
        self.child_els_mut().find_map(|c| c.find_id_mut(id))
    }
    /// First descendant-or-self with this qualified name.
    pub fn find_mut(&mut self, qname: &str) -> Option<&mut El> {
        if self.qname == qname {
            return Some(self);
        }
        self.child_els_mut().find_map(|c| c.find_mut(qname))
    }
}

/// Wire bytes of a list of nodes (used for the Body's content).
pub fn children_wire(children: &[Node]) -> String {
    let mut out = String::new();
    write_children_wire(children, &mut out);
    out
}
fn write_children_wire(children: &[Node], out: &mut String) {
    for c in children {
        match c {
            Node::El(e) => e.write_wire(out),
            Node::Text(t) => push_text(out, t),
        }
    }
}

fn prefix_of(qname: &str) -> &str {
    qname.split_once(':').map(|(p, _)| p).unwrap_or("")
}
fn local_of(qname: &str) -> &str {
    qname.split_once(':').map(|(_, l)| l).unwrap_or(qname)
}

fn push_text(out: &mut String, t: &str) {
    for ch in t.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}
/// Wire attribute: escapes what XML requires inside a double-quoted value.
fn push_attr(out: &mut String, name: &str, v: &str) {
    push_attr_c14n(out, name, v)
}
fn push_attr_c14n(out: &mut String, name: &str, v: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    for ch in v.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn scope(pairs: &[(&str, &str)]) -> NsMap {
        pairs
            .iter()
            .map(|(p, u)| (p.to_string(), u.to_string()))
            .collect()
    }

    #[test]
    fn apex_renders_inherited_prefixes_and_sorts_attributes() {
        let body = El::new("s:Body").attr("u:Id", "_1").child(
            El::new("t:X")
                .ns("t", "urn:t")
                .attr("u:Id", "b")
                .attr("Type", "n")
                .child(El::new("t:Y")),
        );
        let c = body
            .exc_c14n(&scope(&[("s", "urn:s"), ("u", "urn:u"), ("a", "urn:a")]))
            .unwrap();
        assert_eq!(
            c,
            r#"<s:Body xmlns:s="urn:s" xmlns:u="urn:u" u:Id="_1"><t:X xmlns:t="urn:t" Type="n" u:Id="b"><t:Y></t:Y></t:X></s:Body>"#
        );
        assert_eq!(
            body.wire(),
            r#"<s:Body u:Id="_1"><t:X xmlns:t="urn:t" u:Id="b" Type="n"><t:Y/></t:X></s:Body>"#
        );
    }

    #[test]
    fn default_namespace_rendered_once_and_unused_declarations_dropped() {
        let sig = El::new("Signature")
            .ns("", "urn:d")
            .ns("z", "urn:unused")
            .child(
                El::new("KeyInfo").child(
                    El::new("o:STR")
                        .ns("o", "urn:o")
                        .child(El::new("o:Reference").attr("URI", "#a")),
                ),
            );
        let c = sig.exc_c14n(&NsMap::new()).unwrap();
        assert_eq!(
            c,
            r##"<Signature xmlns="urn:d"><KeyInfo><o:STR xmlns:o="urn:o"><o:Reference URI="#a"></o:Reference></o:STR></KeyInfo></Signature>"##
        );
    }

    #[test]
    fn xml_prefix_needs_no_declaration() {
        let t = El::leaf("s:Text", "x")
            .attr("xml:lang", "en-US")
            .attr("Id", "1");
        let c = t.exc_c14n(&scope(&[("s", "urn:s")])).unwrap();
        assert_eq!(
            c,
            r#"<s:Text xmlns:s="urn:s" Id="1" xml:lang="en-US">x</s:Text>"#
        );
    }

    #[test]
    fn undeclared_prefix_is_an_error() {
        assert!(El::new("q:X").exc_c14n(&NsMap::new()).is_err());
    }
}
