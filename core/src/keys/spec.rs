//! The command-line key grammar: `--key KEY` and `--sct-key ID=HEX`.
//!
//! ```text
//! KEY = PATH[:PASSWORD]       a .pfx/.p12, PEM or DER file, optionally with its password
//!     | hex:HEX               an anonymous raw symmetric key
//!     | name:NAME=hex:HEX     a raw symmetric key with a name (matched against ds:KeyName)
//! SCT = ID=HEX                the key of the SecurityContextToken whose Identifier is ID
//! ```
//!
//! Paths may contain ':' (Windows drive letters such as `C:\keys\a.pfx`, or odd Unix names):
//! the longest prefix that names an existing file is the path and the rest is the password.
//! When no prefix exists on disk a leading drive letter is kept and the first other ':'
//! splits (the load then fails with "cannot read PATH", naming the path the user meant).

use std::fmt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::KeyError;

/// Longest hex key accepted on the command line (bytes). Symmetric and SCT keys are 16–64 bytes.
const MAX_HEX_KEY_BYTES: usize = 1024;

/// One parsed `--key` argument.
#[derive(Clone)]
pub enum KeySpec {
    /// A key/certificate file and the password given with it, if any.
    File {
        path: PathBuf,
        password: Option<Zeroizing<String>>,
    },
    /// A raw symmetric key, with an optional name.
    Symmetric {
        name: Option<String>,
        key: Zeroizing<Vec<u8>>,
    },
}

impl KeySpec {
    /// Parses a `--key` argument, looking at the file system to find where a path ends.
    pub fn parse(arg: &str) -> Result<KeySpec, KeyError> {
        Self::parse_with(arg, |p| p.is_file())
    }

    /// Parses with a caller-supplied "does this file exist" test (for tests and for front ends
    /// whose files live elsewhere).
    pub fn parse_with(arg: &str, exists: impl Fn(&Path) -> bool) -> Result<KeySpec, KeyError> {
        if arg.is_empty() {
            return Err(KeyError::BadSpec("empty key argument".into()));
        }
        // An existing file wins over every prefix interpretation, even one named "hex:…".
        if exists(Path::new(arg)) {
            return Ok(KeySpec::File {
                path: PathBuf::from(arg),
                password: None,
            });
        }
        if let Some(hex) = arg.strip_prefix("hex:") {
            let key = decode_hex(hex, "hex: key")?;
            return Ok(KeySpec::Symmetric { name: None, key });
        }
        if let Some(rest) = arg.strip_prefix("name:") {
            let Some((name, hex)) = rest.split_once("=hex:") else {
                return Err(KeyError::BadSpec(format!(
                    "'name:' key argument must read name:NAME=hex:HEX (got name:{})",
                    preview(rest)
                )));
            };
            if name.is_empty() {
                return Err(KeyError::BadSpec("empty NAME in name:NAME=hex:HEX".into()));
            }
            let key = decode_hex(hex, &format!("key '{name}'"))?;
            return Ok(KeySpec::Symmetric {
                name: Some(name.to_string()),
                key,
            });
        }
        // Longest existing prefix before a ':' is the path.
        let drive = has_drive_prefix(arg);
        for (i, _) in arg.char_indices().rev().filter(|&(_, c)| c == ':') {
            if drive && i == 1 {
                continue; // "C:\…": never the file "C" with a password
            }
            let prefix = &arg[..i];
            if !prefix.is_empty() && exists(Path::new(prefix)) {
                return Ok(KeySpec::File {
                    path: PathBuf::from(prefix),
                    password: Some(Zeroizing::new(arg[i + 1..].to_string())),
                });
            }
        }
        // Nothing exists: keep a drive letter, split at the first other ':'.
        let skip = if drive { 2 } else { 0 };
        match arg[skip..].find(':') {
            Some(j) if skip + j > 0 => Ok(KeySpec::File {
                path: PathBuf::from(&arg[..skip + j]),
                password: Some(Zeroizing::new(arg[skip + j + 1..].to_string())),
            }),
            Some(_) => Err(KeyError::BadSpec("key argument starts with ':'".into())),
            None => Ok(KeySpec::File {
                path: PathBuf::from(arg),
                password: None,
            }),
        }
    }
}

impl fmt::Debug for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySpec::File { path, password } => f
                .debug_struct("File")
                .field("path", path)
                .field("password", &password.as_ref().map(|_| "<hidden>"))
                .finish(),
            KeySpec::Symmetric { name, key } => f
                .debug_struct("Symmetric")
                .field("name", name)
                .field("len", &key.len())
                .finish(),
        }
    }
}

/// Parses `--sct-key ID=HEX`. The split is at the last '=' because Identifiers are URIs
/// (`urn:uuid:…`) that may hold '=' in a query, while hex never does.
pub fn parse_sct_key_arg(arg: &str) -> Result<(String, Zeroizing<Vec<u8>>), KeyError> {
    let Some((id, hex)) = arg.rsplit_once('=') else {
        return Err(KeyError::BadSpec(format!(
            "--sct-key must read ID=HEX (got '{}')",
            preview(arg)
        )));
    };
    let id = id.trim();
    if id.is_empty() {
        return Err(KeyError::BadSpec("--sct-key has an empty ID".into()));
    }
    let key = decode_hex(hex.trim(), &format!("--sct-key {id}"))?;
    Ok((id.to_string(), key))
}

/// Decodes hex (either case; no separators), refusing empty, odd-length or oversized input.
pub fn decode_hex(hex: &str, what: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let bad = |reason: String| KeyError::BadHex {
        what: what.to_string(),
        reason,
    };
    let bytes = hex.as_bytes();
    if bytes.is_empty() {
        return Err(bad("empty".into()));
    }
    if bytes.len() & 1 == 1 {
        return Err(bad(format!("odd number of digits ({})", bytes.len())));
    }
    if bytes.len() / 2 > MAX_HEX_KEY_BYTES {
        return Err(bad(format!(
            "{} bytes, more than the {MAX_HEX_KEY_BYTES}-byte limit",
            bytes.len() / 2
        )));
    }
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len() / 2));
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi =
            nibble(pair[0]).ok_or_else(|| bad(format!("non-hex character at offset {}", 2 * i)))?;
        let lo = nibble(pair[1])
            .ok_or_else(|| bad(format!("non-hex character at offset {}", 2 * i + 1)))?;
        out.push(hi << 4 | lo);
    }
    Ok(out)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Lower-case hex of bytes (thumbprints, SKIs).
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

fn has_drive_prefix(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/')
}

/// The first characters of an argument for an error message; never the part after a
/// '=' or ':' that could be a secret.
fn preview(s: &str) -> String {
    let head: String = s
        .chars()
        .take_while(|&c| c != '=' && c != ':')
        // Short: without its '=' the argument may be nothing but key material.
        .take(12)
        .collect();
    format!("{head}…")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn file(spec: &KeySpec) -> (String, Option<String>) {
        match spec {
            KeySpec::File { path, password } => (
                path.display().to_string(),
                password.as_ref().map(|p| p.to_string()),
            ),
            other => panic!("not a file spec: {other:?}"),
        }
    }

    #[test]
    fn plain_path_and_password() {
        let none = |_: &Path| false;
        assert_eq!(
            file(&KeySpec::parse_with("keys/a.pfx", none).unwrap()),
            ("keys/a.pfx".into(), None)
        );
        assert_eq!(
            file(&KeySpec::parse_with("keys/a.pfx:pw:with:colons", none).unwrap()),
            ("keys/a.pfx".into(), Some("pw:with:colons".into()))
        );
        assert_eq!(
            file(&KeySpec::parse_with("keys/a.pfx:", none).unwrap()),
            ("keys/a.pfx".into(), Some(String::new()))
        );
    }

    #[test]
    fn drive_letter_is_never_a_path_of_its_own() {
        let exists = |p: &Path| p == Path::new("C");
        assert_eq!(
            file(&KeySpec::parse_with(r"C:\k.pfx:pw", exists).unwrap()),
            (r"C:\k.pfx".into(), Some("pw".into()))
        );
    }

    #[test]
    fn windows_paths() {
        let none = |_: &Path| false;
        assert_eq!(
            file(&KeySpec::parse_with(r"C:\keys\a.pfx", none).unwrap()),
            (r"C:\keys\a.pfx".into(), None)
        );
        assert_eq!(
            file(&KeySpec::parse_with(r"C:\keys\a.pfx:secret", none).unwrap()),
            (r"C:\keys\a.pfx".into(), Some("secret".into()))
        );
    }

    #[test]
    fn longest_existing_prefix_wins() {
        let exists = |p: &Path| p == Path::new("dir:x/a:b.pem") || p == Path::new("dir:x/a");
        assert_eq!(
            file(&KeySpec::parse_with("dir:x/a:b.pem:pw", exists).unwrap()),
            ("dir:x/a:b.pem".into(), Some("pw".into()))
        );
        assert_eq!(
            file(&KeySpec::parse_with("dir:x/a:b.pem", exists).unwrap()),
            ("dir:x/a:b.pem".into(), None)
        );
        // A password that itself contains ':' after an existing path.
        let exists = |p: &Path| p == Path::new("k.pfx");
        assert_eq!(
            file(&KeySpec::parse_with("k.pfx:a:b", exists).unwrap()),
            ("k.pfx".into(), Some("a:b".into()))
        );
    }

    #[test]
    fn symmetric_keys() {
        let none = |_: &Path| false;
        match KeySpec::parse_with("hex:00A1ff", none).unwrap() {
            KeySpec::Symmetric { name, key } => {
                assert_eq!(name, None);
                assert_eq!(&key[..], &[0x00, 0xa1, 0xff]);
            }
            other => panic!("{other:?}"),
        }
        match KeySpec::parse_with("name:job=hex:6162", none).unwrap() {
            KeySpec::Symmetric { name, key } => {
                assert_eq!(name.as_deref(), Some("job"));
                assert_eq!(&key[..], b"ab");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            KeySpec::parse_with("hex:abc", none),
            Err(KeyError::BadHex { .. })
        ));
        assert!(matches!(
            KeySpec::parse_with("hex:zz", none),
            Err(KeyError::BadHex { .. })
        ));
        assert!(matches!(
            KeySpec::parse_with("name:=hex:00", none),
            Err(KeyError::BadSpec(_))
        ));
        assert!(matches!(
            KeySpec::parse_with("name:x", none),
            Err(KeyError::BadSpec(_))
        ));
        // A file literally named like a hex key is a file.
        let exists = |p: &Path| p == Path::new("hex:00");
        assert!(matches!(
            KeySpec::parse_with("hex:00", exists).unwrap(),
            KeySpec::File { .. }
        ));
    }

    #[test]
    fn debug_hides_secrets() {
        let none = |_: &Path| false;
        let s = format!("{:?}", KeySpec::parse_with("a.pfx:hunter2", none).unwrap());
        assert!(!s.contains("hunter2"), "{s}");
        let s = format!("{:?}", KeySpec::parse_with("hex:deadbeef", none).unwrap());
        assert!(!s.contains("deadbeef") && !s.contains("222, 173"), "{s}");
    }

    #[test]
    fn sct_key_argument() {
        let (id, key) =
            parse_sct_key_arg("urn:uuid:20189D76AA5794EBCA12142275347662=596af1b3").unwrap();
        assert_eq!(id, "urn:uuid:20189D76AA5794EBCA12142275347662");
        assert_eq!(&key[..], &[0x59, 0x6a, 0xf1, 0xb3]);
        assert!(parse_sct_key_arg("urn:uuid:x").is_err());
        assert!(parse_sct_key_arg("=00").is_err());
        assert!(parse_sct_key_arg("id=0").is_err());
    }

    #[test]
    fn hex_round_trip_and_limits() {
        assert_eq!(to_hex(&decode_hex("00fF10", "t").unwrap()), "00ff10");
        assert!(decode_hex("", "t").is_err());
        assert!(decode_hex(&"00".repeat(MAX_HEX_KEY_BYTES + 1), "t").is_err());
        // Multi-byte UTF-8 never panics (pairs are bytes, not chars).
        assert!(decode_hex("é0", "t").is_err());
    }
}
