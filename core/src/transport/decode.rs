//! Undoing content codings (and transfer codings other than chunked): gzip and deflate (both
//! zlib-wrapped and raw, since servers send either under the name "deflate"), with a bound on
//! the decompressed size so that a decompression bomb costs an error, not the machine.

use flate2::read::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};
use std::io::Read;

/// Bounds on decompression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecodeLimits {
    /// Largest decompressed body.
    pub max_output: usize,
    /// Largest expansion ratio (output / input), enforced once the output passes
    /// `ratio_floor` bytes: real XML compresses well, but not a thousandfold.
    pub max_ratio: usize,
    pub ratio_floor: usize,
}

/// Decodes `body` through the codings listed (in the order they were applied, as in the
/// header), last one first. On failure the problem is pushed to `errors` and the most useful
/// bytes are returned: a truncated stream keeps what was decompressed; an unknown coding or a
/// bound hit keeps the bytes as they were before that step.
pub(crate) fn decode_codings(
    body: Vec<u8>,
    codings: &[String],
    header: &str,
    limits: DecodeLimits,
    errors: &mut Vec<String>,
) -> Vec<u8> {
    let mut data = body;
    for coding in codings.iter().rev() {
        let coding = coding.trim().to_ascii_lowercase();
        let format = match coding.as_str() {
            "identity" | "" => continue,
            "gzip" | "x-gzip" => Format::Gzip,
            "deflate" => {
                if looks_like_zlib(&data) {
                    Format::Zlib
                } else {
                    Format::RawDeflate
                }
            }
            other => {
                errors.push(format!(
                    "{header} '{other}' is not supported; body kept as sent"
                ));
                return data;
            }
        };
        match inflate(&data, format, limits) {
            Ok(out) => data = out,
            Err(Failure::Bound(why)) => {
                errors.push(format!("{coding} body {why}; body kept compressed"));
                return data;
            }
            Err(Failure::Corrupt { partial, why }) => {
                if partial.is_empty() {
                    errors.push(format!(
                        "{coding} body cannot be decompressed ({why}); body kept compressed"
                    ));
                    return data;
                }
                errors.push(format!(
                    "{coding} body is truncated or corrupt after {} decompressed bytes ({why}); kept what was decompressed",
                    partial.len()
                ));
                return partial;
            }
        }
    }
    data
}

/// The codings named by the Content-Encoding header fields, in order.
pub(crate) fn content_codings(headers: &[(String, String)]) -> Vec<String> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-encoding"))
        .flat_map(|(_, v)| v.split(','))
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty())
        .collect()
}

#[derive(Debug, Clone, Copy)]
enum Format {
    Gzip,
    Zlib,
    RawDeflate,
}

enum Failure {
    Bound(String),
    Corrupt { partial: Vec<u8>, why: String },
}

/// RFC 1950 header: compression method 8, window ≤ 32 KiB, header checksum.
fn looks_like_zlib(data: &[u8]) -> bool {
    match data {
        [cmf, flg, ..] => {
            cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
        }
        _ => false,
    }
}

fn inflate(input: &[u8], format: Format, limits: DecodeLimits) -> Result<Vec<u8>, Failure> {
    let mut reader: Box<dyn Read + '_> = match format {
        Format::Gzip => Box::new(MultiGzDecoder::new(input)),
        Format::Zlib => Box::new(ZlibDecoder::new(input)),
        Format::RawDeflate => Box::new(DeflateDecoder::new(input)),
    };
    let ratio_cap = input
        .len()
        .saturating_mul(limits.max_ratio)
        .max(limits.ratio_floor);
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => {
                out.extend_from_slice(&chunk[..n]);
                if out.len() > limits.max_output {
                    return Err(Failure::Bound(format!(
                        "decompresses beyond the {} cap",
                        super::framer::size_text(limits.max_output)
                    )));
                }
                if out.len() > ratio_cap {
                    return Err(Failure::Bound(format!(
                        "expands more than {}:1 ({} compressed bytes gave over {} bytes): decompression bomb?",
                        limits.max_ratio,
                        input.len(),
                        out.len()
                    )));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(Failure::Corrupt {
                    partial: out,
                    why: e.to_string(),
                })
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;
    use std::io::Write;

    const LIMITS: DecodeLimits = DecodeLimits {
        max_output: 1 << 20,
        max_ratio: 100,
        ratio_floor: 1 << 16,
    };

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }
    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }
    fn raw(data: &[u8]) -> Vec<u8> {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }
    fn codings(s: &str) -> Vec<String> {
        content_codings(&[("Content-Encoding".into(), s.into())])
    }

    #[test]
    fn gzip_zlib_raw_and_stacked() {
        let text = b"<s:Envelope>hello hello hello</s:Envelope>".to_vec();
        let mut errors = Vec::new();
        assert_eq!(
            decode_codings(
                gzip(&text),
                &codings("gzip"),
                "Content-Encoding",
                LIMITS,
                &mut errors
            ),
            text
        );
        assert_eq!(
            decode_codings(
                zlib(&text),
                &codings("deflate"),
                "Content-Encoding",
                LIMITS,
                &mut errors
            ),
            text
        );
        assert_eq!(
            decode_codings(
                raw(&text),
                &codings("Deflate"),
                "Content-Encoding",
                LIMITS,
                &mut errors
            ),
            text
        );
        let stacked = gzip(&zlib(&text));
        assert_eq!(
            decode_codings(
                stacked,
                &codings("deflate, gzip"),
                "Content-Encoding",
                LIMITS,
                &mut errors
            ),
            text
        );
        assert_eq!(
            decode_codings(
                text.clone(),
                &codings("identity"),
                "Content-Encoding",
                LIMITS,
                &mut errors
            ),
            text
        );
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn unknown_coding_kept_raw() {
        let mut errors = Vec::new();
        let out = decode_codings(
            b"abc".to_vec(),
            &codings("br"),
            "Content-Encoding",
            LIMITS,
            &mut errors,
        );
        assert_eq!(out, b"abc");
        assert_eq!(
            errors,
            vec!["Content-Encoding 'br' is not supported; body kept as sent".to_owned()]
        );
    }

    #[test]
    fn bomb_is_bounded() {
        let bomb = gzip(&vec![0u8; 4 << 20]);
        let mut errors = Vec::new();
        let out = decode_codings(
            bomb.clone(),
            &codings("gzip"),
            "Content-Encoding",
            LIMITS,
            &mut errors,
        );
        assert_eq!(out, bomb, "kept compressed");
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains("expands more than 100:1") || errors[0].contains("cap"),
            "{errors:?}"
        );
        // Ratio cap off: the absolute cap fires.
        let lim = DecodeLimits {
            max_ratio: usize::MAX,
            ..LIMITS
        };
        let mut errors = Vec::new();
        decode_codings(bomb, &codings("gzip"), "Content-Encoding", lim, &mut errors);
        assert!(
            errors[0].contains("decompresses beyond the 1 MiB cap"),
            "{errors:?}"
        );
    }

    #[test]
    fn truncated_keeps_prefix() {
        let text: Vec<u8> = (0..20000u32)
            .flat_map(|i| i.to_string().into_bytes())
            .collect();
        let z = gzip(&text);
        let mut errors = Vec::new();
        let out = decode_codings(
            z[..z.len() / 2].to_vec(),
            &codings("gzip"),
            "Content-Encoding",
            LIMITS,
            &mut errors,
        );
        assert!(!out.is_empty() && out.len() < text.len());
        assert_eq!(out, text[..out.len()]);
        assert!(errors[0].contains("truncated or corrupt"), "{errors:?}");
        let mut errors = Vec::new();
        let out = decode_codings(
            b"not gzip".to_vec(),
            &codings("gzip"),
            "Content-Encoding",
            LIMITS,
            &mut errors,
        );
        assert_eq!(out, b"not gzip");
        assert!(errors[0].contains("cannot be decompressed"), "{errors:?}");
    }
}
