//! Distinguished names: parse the text forms found in `X509IssuerName` (RFC 4514/2253, and the
//! RFC 1779 style .NET writes: `CN=Alice, OU=Unit, O="Org, Inc."`) and compare them with a
//! certificate's name robustly.
//!
//! Comparison is on the multiset of (attribute type OID, value) pairs: order-insensitive (RFC
//! 2253 strings run most-specific first, the DER least-specific first, and tools disagree),
//! RDN grouping ignored (`+` multi-valued RDNs are rare), values compared case-insensitively
//! after trimming and collapsing whitespace. Type aliases (E/EMAIL/EMAILADDRESS, S/ST,
//! OID.2.5.4.3 …) map to one OID.

use openssl::x509::X509NameRef;

use super::der::{oid_to_dotted, read_tlv};
use super::spec::to_hex;

/// Longest DN text accepted (characters); real names are a few hundred.
const MAX_DN_LEN: usize = 16 * 1024;
/// Most attributes accepted in one DN.
const MAX_ATTRIBUTES: usize = 256;

/// (aliases, OID, preferred short name for display). Sources: RFC 4514 §3, RFC 4519, PKCS#9,
/// and the extra keywords .NET's X500DistinguishedName writes (E, S, T, G, I, SERIALNUMBER).
const ATTRIBUTES: &[(&[&str], &str, &str)] = &[
    (&["CN", "COMMONNAME"], "2.5.4.3", "CN"),
    (&["SN", "SURNAME"], "2.5.4.4", "SN"),
    (&["SERIALNUMBER"], "2.5.4.5", "SERIALNUMBER"),
    (&["C", "COUNTRYNAME"], "2.5.4.6", "C"),
    (&["L", "LOCALITYNAME"], "2.5.4.7", "L"),
    (&["ST", "S", "STATEORPROVINCENAME"], "2.5.4.8", "ST"),
    (&["STREET", "STREETADDRESS"], "2.5.4.9", "STREET"),
    (&["O", "ORGANIZATIONNAME"], "2.5.4.10", "O"),
    (&["OU", "ORGANIZATIONALUNITNAME"], "2.5.4.11", "OU"),
    (&["T", "TITLE"], "2.5.4.12", "T"),
    (&["DESCRIPTION"], "2.5.4.13", "DESCRIPTION"),
    (&["POSTALCODE"], "2.5.4.17", "POSTALCODE"),
    (&["NAME"], "2.5.4.41", "NAME"),
    (&["G", "GN", "GIVENNAME"], "2.5.4.42", "G"),
    (&["I", "INITIALS"], "2.5.4.43", "I"),
    (&["GENERATIONQUALIFIER"], "2.5.4.44", "GENERATIONQUALIFIER"),
    (&["DNQUALIFIER"], "2.5.4.46", "DNQUALIFIER"),
    (&["PSEUDONYM"], "2.5.4.65", "PSEUDONYM"),
    (
        &["DC", "DOMAINCOMPONENT"],
        "0.9.2342.19200300.100.1.25",
        "DC",
    ),
    (&["UID", "USERID"], "0.9.2342.19200300.100.1.1", "UID"),
    (&["E", "EMAIL", "EMAILADDRESS"], "1.2.840.113549.1.9.1", "E"),
];

/// A distinguished name reduced to comparable form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dn {
    /// Sorted (OID, normalised value) pairs.
    attributes: Vec<(String, String)>,
}

impl Dn {
    /// Parses a DN string. Accepts ',' or ';' between RDNs, '+' inside one, spaces around
    /// separators, quoted values, backslash escapes (`\,` and `\4C`) and `#hex` BER values.
    pub fn parse(text: &str) -> Result<Dn, String> {
        if text.len() > MAX_DN_LEN {
            return Err(format!("DN of {} characters is too long", text.len()));
        }
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let mut attributes = Vec::new();
        p.skip_spaces();
        while !p.at_end() {
            if attributes.len() >= MAX_ATTRIBUTES {
                return Err(format!("more than {MAX_ATTRIBUTES} attributes"));
            }
            let ty = p.attribute_type()?;
            p.skip_spaces();
            if !p.eat(b'=') {
                return Err(format!("expected '=' after '{ty}' at offset {}", p.i));
            }
            p.skip_spaces();
            let value = p.value()?;
            attributes.push((type_to_oid(&ty)?, normalise(&value)));
            p.skip_spaces();
            if p.at_end() {
                break;
            }
            if !(p.eat(b',') || p.eat(b';') || p.eat(b'+')) {
                return Err(format!("expected ',' or '+' at offset {}", p.i));
            }
            p.skip_spaces();
        }
        attributes.sort();
        Ok(Dn { attributes })
    }

    /// The comparable form of a certificate's name.
    pub fn from_x509(name: &X509NameRef) -> Dn {
        let mut attributes: Vec<(String, String)> = name
            .entries()
            .take(MAX_ATTRIBUTES)
            .map(|e| (object_oid(e.object()), normalise(&entry_value(e.data()))))
            .collect();
        attributes.sort();
        Dn { attributes }
    }

    /// True when no attribute was given.
    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty()
    }
}

/// RFC 4514 text of a certificate name, most-specific RDN first (the order .NET and Java
/// print), e.g. `CN=Alice, OU=OASIS Interop Test Cert, O=OASIS`.
pub fn x509_name_to_string(name: &X509NameRef) -> String {
    let parts: Vec<String> = name
        .entries()
        .take(MAX_ATTRIBUTES)
        .map(|e| {
            let oid = object_oid(e.object());
            let ty = ATTRIBUTES
                .iter()
                .find(|(_, o, _)| *o == oid)
                .map_or(oid.clone(), |(_, _, short)| (*short).to_string());
            format!("{ty}={}", escape_value(&entry_value(e.data())))
        })
        .collect();
    parts.into_iter().rev().collect::<Vec<_>>().join(", ")
}

fn object_oid(obj: &openssl::asn1::Asn1ObjectRef) -> String {
    oid_to_dotted(obj.to_owned().as_slice()).unwrap_or_else(|| obj.to_string())
}

fn entry_value(data: &openssl::asn1::Asn1StringRef) -> String {
    match data.to_string() {
        Ok(s) => s,
        Err(_) => format!("#{}", to_hex(data.as_slice())),
    }
}

fn escape_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let last = v.chars().count().saturating_sub(1);
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn type_to_oid(ty: &str) -> Result<String, String> {
    let upper = ty.to_ascii_uppercase();
    let numeric = upper.strip_prefix("OID.").unwrap_or(&upper);
    if numeric.starts_with(|c: char| c.is_ascii_digit()) {
        let ok = numeric
            .split('.')
            .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()));
        return if ok {
            Ok(numeric.to_string())
        } else {
            Err(format!("bad attribute OID '{ty}'"))
        };
    }
    ATTRIBUTES
        .iter()
        .find(|(aliases, _, _)| aliases.contains(&upper.as_str()))
        .map(|(_, oid, _)| (*oid).to_string())
        .ok_or_else(|| format!("unknown attribute type '{ty}'"))
}

/// Trim, collapse whitespace runs, lower-case.
fn normalise(v: &str) -> String {
    v.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    fn attribute_type(&mut self) -> Result<String, String> {
        let start = self.i;
        while matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            self.i += 1;
        }
        if start == self.i {
            return Err(format!("expected an attribute type at offset {start}"));
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn value(&mut self) -> Result<String, String> {
        match self.peek() {
            Some(b'#') => self.hex_value(),
            Some(b'"') => {
                self.i += 1;
                self.string_value(true)
            }
            _ => self.string_value(false),
        }
    }

    /// `#` followed by the hex of a BER-encoded value: decode string types to text.
    fn hex_value(&mut self) -> Result<String, String> {
        let start = self.i;
        self.i += 1;
        while matches!(self.peek(), Some(b) if b.is_ascii_hexdigit()) {
            self.i += 1;
        }
        let hex = &self.s[start + 1..self.i];
        let text = String::from_utf8_lossy(hex);
        let bytes = super::spec::decode_hex(&text, "DN #value")
            .map_err(|e| format!("{e} at offset {start}"))?;
        let decoded = read_tlv(&bytes).and_then(|t| match t.tag {
            // UTF8String, PrintableString, T61String, IA5String, VisibleString
            0x0c | 0x13 | 0x14 | 0x16 | 0x1a => {
                Some(String::from_utf8_lossy(t.content).into_owned())
            }
            // BMPString: UTF-16BE
            0x1e if t.content.len() % 2 == 0 => {
                let units: Vec<u16> = t
                    .content
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                Some(String::from_utf16_lossy(&units))
            }
            _ => None,
        });
        Ok(decoded.unwrap_or_else(|| format!("#{}", to_hex(&bytes))))
    }

    fn string_value(&mut self, quoted: bool) -> Result<String, String> {
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                if quoted {
                    return Err("unterminated quoted value".into());
                }
                break;
            };
            match b {
                b'"' if quoted => {
                    self.i += 1;
                    break;
                }
                b',' | b';' | b'+' if !quoted => break,
                b'\\' => {
                    self.i += 1;
                    let Some(n) = self.peek() else {
                        return Err("DN ends with a lone '\\'".into());
                    };
                    let pair = self.s.get(self.i..self.i + 2);
                    match pair {
                        Some([h, l]) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                            let hex = [*h, *l];
                            let v = std::str::from_utf8(&hex)
                                .ok()
                                .and_then(|s| u8::from_str_radix(s, 16).ok())
                                .ok_or_else(|| "bad \\XX escape".to_string())?;
                            out.push(v);
                            self.i += 2;
                        }
                        _ => {
                            out.push(n);
                            self.i += 1;
                        }
                    }
                }
                _ => {
                    out.push(b);
                    self.i += 1;
                }
            }
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn dn(s: &str) -> Dn {
        Dn::parse(s).unwrap()
    }

    #[test]
    fn order_case_aliases_and_spaces() {
        let a = dn("CN=Alice, OU=OASIS Interop Test Cert, O=OASIS");
        assert_eq!(a, dn("O=OASIS,OU=OASIS Interop Test Cert,CN=Alice"));
        assert_eq!(a, dn("cn=alice;ou=oasis  interop test cert ; o = OASIS"));
        assert_eq!(
            a,
            dn("OID.2.5.4.3=Alice, 2.5.4.11=OASIS Interop Test Cert, O=OASIS")
        );
        assert_ne!(a, dn("CN=Alice, O=OASIS"));
        assert_ne!(a, dn("CN=Bob, OU=OASIS Interop Test Cert, O=OASIS"));
        assert_eq!(
            dn("E=a@b.c, S=Wash, CN=x"),
            dn("EMAILADDRESS=a@b.c,ST=Wash,CN=x")
        );
        assert_eq!(dn("E=a@b.c"), dn("emailAddress=A@B.C"));
    }

    #[test]
    fn quoting_and_escapes() {
        assert_eq!(dn(r#"O="Foo, Inc.", CN=x"#), dn(r"O=Foo\, Inc.,CN=x"));
        assert_eq!(dn(r"CN=Sm\C3\B6rg\2C x"), dn("CN=Smörg\\, x"));
        assert_eq!(dn("CN=a+O=b"), dn("O=b, CN=a"));
        // #hex BER: PrintableString "Alice".
        assert_eq!(dn("CN=#1305416c696365"), dn("CN=Alice"));
    }

    #[test]
    fn errors_do_not_panic() {
        for bad in [
            "CN",
            "=x",
            "CN=\"open",
            "CN=x\\",
            "FOO=bar",
            "1.2.x=3",
            "CN=#zz",
            "CN=a,,",
        ] {
            assert!(Dn::parse(bad).is_err(), "{bad}");
        }
        assert!(Dn::parse(&"CN=a,".repeat(10_000)).is_err());
        assert!(dn("").is_empty());
    }

    #[test]
    fn escape_round_trip() {
        let v = " #a,b+c\"d\\e ";
        let s = format!("CN={}", escape_value(v));
        let expected = Dn {
            attributes: vec![("2.5.4.3".to_string(), normalise(v))],
        };
        assert_eq!(dn(&s), expected);
    }
}
