//! Test-side whitespace normaliser for pretty-printed vectors (written independently of
//! the analyzer's own): whitespace between a `>` and the next `<` is removed, or, inside a
//! `SignedInfo` element when `signed_info_newline` is set, replaced by one `\n` — the two
//! normalisations the vectors README describes (`strip` and `nl`).
pub fn normalise(xml: &str, signed_info_newline: bool) -> String {
    let bytes = xml.as_bytes();
    let mut out = String::with_capacity(xml.len());
    let mut in_signed_info = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'<' {
            let rest = &xml[i..];
            let open = rest.starts_with("<SignedInfo") || rest.starts_with("<ds:SignedInfo");
            let close = rest.starts_with("</SignedInfo") || rest.starts_with("</ds:SignedInfo");
            if open {
                in_signed_info = true;
            } else if close {
                in_signed_info = false;
            }
        }
        out.push(c as char);
        if c == b'>' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if j > i + 1 && j < bytes.len() && bytes[j] == b'<' {
                if signed_info_newline && in_signed_info {
                    out.push('\n');
                }
                i = j;
                continue;
            }
        }
        i += 1;
    }
    out
}
