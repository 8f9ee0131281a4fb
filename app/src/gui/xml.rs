//! The XML viewer's model: a forgiving tokenizer that pretty-prints a SOAP envelope one tag
//! per line (an element holding only text stays on one line), remembers which lines open
//! an element with children (for folding), and colours a line by token kind.
//!
//! It never fails: malformed input is shown as text. Input beyond [`MAX_INPUT`] bytes is
//! cut (with a note) so a hostile message cannot stall the UI.

use std::collections::BTreeSet;
use std::ops::Range;

pub const MAX_INPUT: usize = 8 * 1024 * 1024;
const MAX_DEPTH: usize = 256;

#[derive(Debug, Clone, PartialEq)]
pub struct XmlLine {
    pub depth: usize,
    pub text: String,
    /// For a line opening an element with children: the line index of its end tag.
    pub fold_end: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    Punct,
    Name,
    AttrName,
    AttrValue,
    Text,
    Comment,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece<'a> {
    Open {
        text: &'a str,
        name: &'a str,
        empty: bool,
    },
    Close {
        text: &'a str,
    },
    Text(&'a str),
    Other(&'a str),
}

fn tokenize(s: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    let b = s.as_bytes();
    while i < b.len() {
        if b[i] == b'<' {
            let rest = &s[i..];
            let end = if rest.starts_with("<!--") {
                rest.find("-->").map(|e| e + 3)
            } else if rest.starts_with("<![CDATA[") {
                rest.find("]]>").map(|e| e + 3)
            } else if rest.starts_with("<?") {
                rest.find("?>").map(|e| e + 2)
            } else {
                tag_end(rest)
            };
            let end = end.unwrap_or(rest.len());
            let text = &rest[..end];
            if text.starts_with("</") {
                out.push(Piece::Close { text });
            } else if text.starts_with("<!") || text.starts_with("<?") {
                out.push(Piece::Other(text));
            } else {
                let name_end = text[1..]
                    .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
                    .map(|e| e + 1)
                    .unwrap_or(text.len());
                out.push(Piece::Open {
                    text,
                    name: &text[1..name_end],
                    empty: text.ends_with("/>"),
                });
            }
            i += end;
        } else {
            let end = s[i..].find('<').map(|e| i + e).unwrap_or(s.len());
            let t = s[i..end].trim();
            if !t.is_empty() {
                out.push(Piece::Text(t));
            }
            i = end;
        }
    }
    out
}

/// The end of a tag starting at `rest[0] == '<'`, skipping '>' inside quoted attributes.
fn tag_end(rest: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (k, c) in rest.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(k + 1),
            (None, '<') => return Some(k),
            _ => {}
        }
    }
    None
}

/// Pretty-prints `xml` into lines. The bool says whether the input was cut.
pub fn pretty(xml: &str) -> (Vec<XmlLine>, bool) {
    let cut = xml.len() > MAX_INPUT;
    let mut end = xml.len().min(MAX_INPUT);
    while !xml.is_char_boundary(end) {
        end -= 1;
    }
    let toks = tokenize(&xml[..end]);
    let mut lines: Vec<XmlLine> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let mut k = 0;
    while k < toks.len() {
        let depth = stack.len().min(MAX_DEPTH);
        match &toks[k] {
            Piece::Open {
                text,
                name,
                empty: false,
            } => {
                // <a>text</a> stays on one line.
                if let (Some(Piece::Text(t)), Some(Piece::Close { text: c })) =
                    (toks.get(k + 1), toks.get(k + 2))
                {
                    if c.get(2..)
                        .is_some_and(|r| r.trim_end_matches('>').trim() == *name)
                    {
                        lines.push(XmlLine {
                            depth,
                            text: format!("{text}{t}{c}"),
                            fold_end: None,
                        });
                        k += 3;
                        continue;
                    }
                }
                if let Some(Piece::Close { text: c }) = toks.get(k + 1) {
                    lines.push(XmlLine {
                        depth,
                        text: format!("{text}{c}"),
                        fold_end: None,
                    });
                    k += 2;
                    continue;
                }
                stack.push(lines.len());
                lines.push(XmlLine {
                    depth,
                    text: (*text).to_owned(),
                    fold_end: None,
                });
            }
            Piece::Open { text, .. } | Piece::Other(text) => lines.push(XmlLine {
                depth,
                text: (*text).to_owned(),
                fold_end: None,
            }),
            Piece::Text(t) => lines.push(XmlLine {
                depth,
                text: (*t).to_owned(),
                fold_end: None,
            }),
            Piece::Close { text } => {
                let open = stack.pop();
                let depth = stack.len().min(MAX_DEPTH);
                let here = lines.len();
                lines.push(XmlLine {
                    depth,
                    text: (*text).to_owned(),
                    fold_end: None,
                });
                if let Some(o) = open {
                    lines[o].fold_end = Some(here);
                }
            }
        }
        k += 1;
    }
    (lines, cut)
}

/// Indices of the lines to show given the folded opening lines.
pub fn visible_lines(lines: &[XmlLine], folded: &BTreeSet<usize>) -> Vec<usize> {
    let mut out = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        out.push(i);
        match lines[i].fold_end {
            Some(e) if folded.contains(&i) => i = e + 1,
            _ => i += 1,
        }
    }
    out
}

/// Token kinds over one pretty line, for colouring.
pub fn highlight(line: &str) -> Vec<(Range<usize>, Tok)> {
    let mut out = Vec::new();
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if line[i..].starts_with("<!--") {
            let e = line[i..].find("-->").map(|e| i + e + 3).unwrap_or(b.len());
            out.push((i..e, Tok::Comment));
            i = e;
        } else if b[i] == b'<' {
            // Punctuation, name, then attributes until '>'.
            let mut j = i + 1;
            while j < b.len() && matches!(b[j], b'/' | b'?' | b'!') {
                j += 1;
            }
            out.push((i..j, Tok::Punct));
            let ns = j;
            while j < b.len() && !b[j].is_ascii_whitespace() && !matches!(b[j], b'>' | b'/') {
                j += 1;
            }
            out.push((ns..j, Tok::Name));
            loop {
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j >= b.len() {
                    break;
                }
                if matches!(b[j], b'>' | b'/' | b'?') {
                    let s = j;
                    while j < b.len() && matches!(b[j], b'>' | b'/' | b'?') {
                        j += 1;
                        if b[j - 1] == b'>' {
                            break;
                        }
                    }
                    out.push((s..j, Tok::Punct));
                    break;
                }
                let s = j;
                while j < b.len()
                    && !matches!(b[j], b'=' | b'>' | b'/')
                    && !b[j].is_ascii_whitespace()
                {
                    j += 1;
                }
                out.push((s..j, Tok::AttrName));
                if j < b.len() && b[j] == b'=' {
                    out.push((j..j + 1, Tok::Punct));
                    j += 1;
                    if j < b.len() && (b[j] == b'"' || b[j] == b'\'') {
                        let q = b[j];
                        let s = j;
                        j += 1;
                        while j < b.len() && b[j] != q {
                            j += 1;
                        }
                        j = (j + 1).min(b.len());
                        out.push((s..j, Tok::AttrValue));
                    }
                }
                if j == s {
                    j += 1;
                }
            }
            i = j;
        } else {
            let e = line[i..].find('<').map(|e| i + e).unwrap_or(b.len());
            out.push((i..e, Tok::Text));
            i = e;
        }
    }
    // Keep ranges on char boundaries (the scanner works on ASCII delimiters, so they are),
    // and give the gaps between tokens (spaces inside tags) to plain text.
    out.retain(|(r, _)| {
        !r.is_empty() && line.is_char_boundary(r.start) && line.is_char_boundary(r.end)
    });
    let mut full = Vec::with_capacity(out.len() * 2);
    let mut at = 0;
    for (r, t) in out {
        if r.start < at {
            continue;
        }
        if r.start > at {
            full.push((at..r.start, Tok::Text));
        }
        at = r.end;
        full.push((r, t));
    }
    if at < line.len() {
        full.push((at..line.len(), Tok::Text));
    }
    full
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const DOC: &str = r#"<s:Envelope xmlns:s="urn:s"><s:Header><a:Action a="x>y">urn:Add</a:Action><!-- c --></s:Header><s:Body><Add><n1>1</n1><e/></Add></s:Body></s:Envelope>"#;

    #[test]
    fn pretty_prints_and_folds() {
        let (lines, cut) = pretty(DOC);
        assert!(!cut);
        let text: Vec<String> = lines
            .iter()
            .map(|l| format!("{}{}", "  ".repeat(l.depth), l.text))
            .collect();
        assert_eq!(
            text,
            vec![
                r#"<s:Envelope xmlns:s="urn:s">"#,
                "  <s:Header>",
                r#"    <a:Action a="x>y">urn:Add</a:Action>"#,
                "    <!-- c -->",
                "  </s:Header>",
                "  <s:Body>",
                "    <Add>",
                "      <n1>1</n1>",
                "      <e/>",
                "    </Add>",
                "  </s:Body>",
                "</s:Envelope>",
            ]
        );
        assert_eq!(lines[0].fold_end, Some(11));
        assert_eq!(lines[5].fold_end, Some(10));
        let folded: BTreeSet<usize> = [1, 6].into_iter().collect();
        assert_eq!(visible_lines(&lines, &folded), vec![0, 1, 5, 6, 10, 11]);
    }

    #[test]
    fn hostile_input_does_not_panic() {
        for s in [
            "<",
            "<<<>>>",
            "</a></b>",
            "<a b=\"unterminated>",
            "text only",
            "<a>é</a>",
            "<!--",
            "<![CDATA[x",
        ] {
            let (lines, _) = pretty(s);
            for l in &lines {
                let _ = highlight(&l.text);
            }
        }
        let deep = "<a>".repeat(10_000);
        let (lines, _) = pretty(&deep);
        assert!(lines.iter().all(|l| l.depth <= MAX_DEPTH));
    }

    #[test]
    fn highlight_covers_every_byte() {
        for line in [
            r#"<a  b="1"   c='2'/>"#,
            "<é x=\"é\">é</é>",
            "<!-- c --> t",
            "<",
        ] {
            let joined: String = highlight(line).into_iter().map(|(r, _)| &line[r]).collect();
            assert_eq!(joined, line);
        }
    }

    #[test]
    fn highlights_tokens() {
        let h = highlight(r#"<a:Action x="1">urn:Add</a:Action>"#);
        let kinds: Vec<Tok> = h.iter().map(|(_, t)| *t).collect();
        assert_eq!(
            kinds,
            vec![
                Tok::Punct,
                Tok::Name,
                Tok::Text,
                Tok::AttrName,
                Tok::Punct,
                Tok::AttrValue,
                Tok::Punct,
                Tok::Text,
                Tok::Punct,
                Tok::Name,
                Tok::Punct
            ]
        );
    }
}
