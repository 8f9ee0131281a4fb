//! Turns input bytes into the UTF-8 text the parser works on.
//!
//! UTF-8 (with or without BOM; the BOM is dropped) and UTF-16 LE/BE with a BOM (transcoded to
//! UTF-8) are accepted. Spans in the resulting [`crate::xml::Document`] refer to the *decoded*
//! bytes (`Document::source`), so for a UTF-16 input they are not offsets into the original
//! file, and for a UTF-8 input with a BOM they are shifted by 3.

use super::error::{XmlError, XmlErrorKind};

/// The encoding the input bytes were in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InputEncoding {
    Utf8,
    Utf16,
}

/// Decodes `bytes` to UTF-8. Errors name the offset of the first undecodable unit.
pub(crate) fn decode(bytes: &[u8]) -> Result<(String, InputEncoding), XmlError> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(rest).map(|s| (s, InputEncoding::Utf8));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, u16::from_le_bytes).map(|s| (s, InputEncoding::Utf16));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, u16::from_be_bytes).map(|s| (s, InputEncoding::Utf16));
    }
    // UTF-16 without a BOM starts with "<\0" or "\0<"; say so instead of a confusing error.
    if bytes.starts_with(&[b'<', 0]) || bytes.starts_with(&[0, b'<']) {
        return Err(XmlError::at(
            b"",
            0,
            XmlErrorKind::Encoding("UTF-16 without byte order mark is not supported".into()),
        ));
    }
    utf8(bytes).map(|s| (s, InputEncoding::Utf8))
}

/// True when [`decode`] would change `bytes` (a byte order mark to drop, UTF-16 to
/// transcode) or refuse them for their first bytes; the prefixes it tests, nothing more.
pub(crate) fn needs_decoding(bytes: &[u8]) -> bool {
    [
        &[0xEF, 0xBB, 0xBF][..],
        &[0xFF, 0xFE],
        &[0xFE, 0xFF],
        b"<\0",
        b"\0<",
    ]
    .iter()
    .any(|prefix| bytes.starts_with(prefix))
}

/// The text of `bytes` when they need no decoding (UTF-8 without a byte order mark, the
/// usual case), borrowed: Some(Ok) when valid, Some(Err) with [`decode`]'s error when not.
/// None when [`decode`] would transcode or strip a BOM (or refuse UTF-16 without one).
pub(crate) fn as_plain_utf8(bytes: &[u8]) -> Option<Result<&str, XmlError>> {
    if needs_decoding(bytes) {
        return None;
    }
    Some(match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(_) => Err(utf8(bytes).err().unwrap_or_else(|| {
            XmlError::at(bytes, 0, XmlErrorKind::Encoding("invalid UTF-8".into()))
        })),
    })
}

/// Checks the XML declaration's `encoding` against what the bytes were decoded as. Single-byte
/// ASCII-compatible encodings are accepted only when the text is pure ASCII (then the bytes
/// mean the same in UTF-8); anything else would need transcoding we do not do.
pub(crate) fn check_declared(
    declared: &str,
    input: InputEncoding,
    text: &str,
) -> Result<(), String> {
    let d = declared.to_ascii_lowercase();
    let ok = match d.as_str() {
        "utf-8" | "utf8" => input == InputEncoding::Utf8,
        "utf-16" | "utf-16le" | "utf-16be" | "ucs-2" => input == InputEncoding::Utf16,
        "us-ascii" | "ascii" | "iso-8859-1" | "latin1" | "iso-8859-15" | "windows-1252" => {
            input == InputEncoding::Utf8 && text.is_ascii()
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "declared encoding '{declared}' does not match the input ({input:?}); only UTF-8, \
             UTF-16 with a byte order mark, and ASCII-only text in ASCII-compatible encodings \
             are supported"
        ))
    }
}

fn utf8(bytes: &[u8]) -> Result<String, XmlError> {
    // The vectorised check settles the usual valid input; std's names the error offset.
    if let Ok(s) = simdutf8::basic::from_utf8(bytes) {
        return Ok(s.to_owned());
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => {
            let at = e.valid_up_to();
            Err(XmlError::at(
                bytes,
                at,
                XmlErrorKind::Encoding(format!("invalid UTF-8 at byte {at}")),
            ))
        }
    }
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, XmlError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(XmlError::at(
            b"",
            0,
            XmlErrorKind::Encoding("UTF-16 input has an odd number of bytes".into()),
        ));
    }
    let units = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]]));
    let mut out = String::with_capacity(bytes.len());
    for r in char::decode_utf16(units) {
        match r {
            Ok(c) => out.push(c),
            Err(e) => {
                return Err(XmlError::at(
                    out.as_bytes(),
                    out.len(),
                    XmlErrorKind::Encoding(format!(
                        "unpaired UTF-16 surrogate {:04X}",
                        e.unpaired_surrogate()
                    )),
                ))
            }
        }
    }
    Ok(out)
}
