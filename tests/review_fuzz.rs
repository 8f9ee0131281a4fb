//! Review: structure-aware mutation fuzz of secured messages through the whole analyzer with
//! keys (the generated WCF conversation and the Rampart sample04 exchange). The mutations
//! are the ones an attacker or a broken peer makes: algorithm URIs swapped, reference URIs
//! pointed elsewhere (XPointer forms, the empty URI, another Id, another letter case), Ids
//! duplicated or moved, HMACOutputLength inserted, base64 damaged, security elements
//! duplicated or moved into other parts, EncryptedData Type swapped, DerivedKeyToken numbers
//! made extreme, deep nesting.
//!
//! Properties: nothing panics, and a message reported with every signature valid and no
//! "Body not covered" note shows exactly the Body it showed before the mutation (the
//! generated messages sign every Body, so a different Body shown as valid is a wrapping
//! hole). Deterministic seeds; a failure names the seed and the mutations.

use wcfscope_core::analyzer::{Analyzer, Options};
use wcfscope_core::model::{CaptureFormat, Report, SignatureSummary};
use wcfscope_core::synth::{generate, Pki, Scenario};
use wcfscope_e2e::{repo_path, Rng};

const ALGORITHMS: &[&str] = &[
    "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
    "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2000/09/xmldsig#sha1",
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/2006/12/xml-c14n11",
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    "http://www.w3.org/TR/1999/REC-xpath-19991116",
    "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
    "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
    "http://www.w3.org/2009/xmlenc11#aes256-gcm",
    "http://www.w3.org/2001/04/xmlenc#tripledes-cbc",
    "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
    "http://www.w3.org/2001/04/xmlenc#rsa-1_5",
    "http://www.w3.org/2001/04/xmlenc#kw-aes256",
    "",
    "urn:nonsense",
];

const ELEMENTS: &[&str] = &[
    "Timestamp",
    "Body",
    "Signature",
    "SignedInfo",
    "Reference",
    "EncryptedData",
    "EncryptedKey",
    "DerivedKeyToken",
    "SecurityContextToken",
    "BinarySecurityToken",
    "ReferenceList",
    "KeyInfo",
    "SecurityTokenReference",
];

/// Byte offsets of every occurrence of `pat`.
fn find_all(s: &str, pat: &str) -> Vec<usize> {
    s.match_indices(pat).map(|(i, _)| i).collect()
}

fn pick<'a, T>(v: &'a [T], rng: &mut Rng) -> Option<&'a T> {
    (!v.is_empty()).then(|| &v[rng.below(v.len())])
}

/// The value of the attribute whose `name="` starts at `at` (range of the value).
fn attr_value(s: &str, at: usize, name_len: usize) -> Option<std::ops::Range<usize>> {
    let start = at + name_len;
    let end = start + s[start..].find('"')?;
    Some(start..end)
}

/// Every Id value in the document (`Id="…"`, any prefix).
fn ids(s: &str) -> Vec<String> {
    find_all(s, "Id=\"")
        .into_iter()
        .filter_map(|i| attr_value(s, i, 4).map(|r| s[r].to_string()))
        .collect()
}

/// Start and end (exclusive) of an element `<p:Name …>…</p:Name>` starting at `at`
/// (first matching end tag; good enough for the security elements).
fn element_at(s: &str, at: usize) -> Option<std::ops::Range<usize>> {
    let name_end =
        at + 1 + s[at + 1..].find(|c: char| c.is_whitespace() || c == '>' || c == '/')?;
    let qname = &s[at + 1..name_end];
    let tag_end = at + s[at..].find('>')?;
    if s[..tag_end].ends_with('/') {
        return Some(at..tag_end + 1);
    }
    let close = format!("</{qname}>");
    let c = tag_end + s[tag_end..].find(&close)?;
    Some(at..c + close.len())
}

/// Start offsets of `<prefix:Name` / `<Name` for a local name.
fn starts_of(s: &str, local: &str) -> Vec<usize> {
    let mut v = Vec::new();
    for (i, _) in s.match_indices('<') {
        let rest = &s[i + 1..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .unwrap_or(rest.len());
        let q = &rest[..end];
        let l = q.rsplit(':').next().unwrap_or(q);
        if l == local && !q.is_empty() {
            v.push(i);
        }
    }
    v
}

/// One structural mutation; returns its description.
fn mutate_once(s: &mut String, rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => {
            let Some(&at) = pick(&find_all(s, "Algorithm=\""), rng) else {
                return "none".into();
            };
            let Some(r) = attr_value(s, at, 11) else {
                return "none".into();
            };
            let new = ALGORITHMS[rng.below(ALGORITHMS.len())];
            s.replace_range(r, new);
            format!("algorithm at {at} -> {new}")
        }
        1 => {
            let Some(&at) = pick(&find_all(s, "URI=\""), rng) else {
                return "none".into();
            };
            let Some(r) = attr_value(s, at, 5) else {
                return "none".into();
            };
            let all = ids(s);
            let other = pick(&all, rng).cloned().unwrap_or_default();
            let old = s[r.clone()].trim_start_matches('#').to_string();
            let new = match rng.below(6) {
                0 => String::new(),
                1 => "#xpointer(/)".into(),
                2 => format!("#xpointer(id('{old}'))"),
                3 => format!("#{other}"),
                4 => format!("#{}", old.to_uppercase()),
                _ => format!("#{old} "),
            };
            s.replace_range(r, &new);
            format!("URI at {at} -> {new:?}")
        }
        2 => {
            let Some(&at) = pick(&find_all(s, "SignatureMethod "), rng) else {
                return "none".into();
            };
            let Some(gt) = s[at..].find('>').map(|g| at + g) else {
                return "none".into();
            };
            let n = [
                "0",
                "1",
                "8",
                "79",
                "80",
                "128",
                "159",
                "160",
                "161",
                "256",
                "-1",
                "18446744073709551616",
                " 160 ",
            ][rng.below(13)];
            let el = format!("<HMACOutputLength xmlns=\"http://www.w3.org/2000/09/xmldsig#\">{n}</HMACOutputLength>");
            if s[..gt].ends_with('/') {
                // <SignatureMethod …/> → <SignatureMethod …>el</SignatureMethod>
                let q = s[at - 1..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("<SignatureMethod")
                    .trim_start_matches('<')
                    .to_string();
                s.replace_range(gt - 1..gt + 1, &format!(">{el}</{q}>"));
            } else {
                s.insert_str(gt + 1, &el);
            }
            format!("HMACOutputLength {n} at {at}")
        }
        3 => {
            // Copy an Id attribute onto another element (duplicate Id), or rename/recase it.
            let all = find_all(s, "Id=\"");
            let Some(&at) = pick(&all, rng) else {
                return "none".into();
            };
            let Some(r) = attr_value(s, at, 4) else {
                return "none".into();
            };
            let val = s[r.clone()].to_string();
            let attr_start = s[..at]
                .rfind(char::is_whitespace)
                .map(|p| p + 1)
                .unwrap_or(at);
            let attr = s[attr_start..r.end + 1].to_string();
            match rng.below(3) {
                0 => {
                    let tags: Vec<usize> = find_all(s, "<")
                        .into_iter()
                        .filter(|&i| !s[i + 1..].starts_with(['/', '?', '!']))
                        .collect();
                    let Some(&t) = pick(&tags, rng) else {
                        return "none".into();
                    };
                    let Some(sp) = s[t..]
                        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
                        .map(|x| t + x)
                    else {
                        return "none".into();
                    };
                    s.insert_str(sp, &format!(" {attr}"));
                    format!("duplicate {attr} onto tag at {t}")
                }
                1 => {
                    s.replace_range(attr_start..at, "");
                    format!("Id prefix dropped at {at} ({val})")
                }
                _ => {
                    s.replace_range(r, &val.to_uppercase());
                    format!("Id value upper-cased at {at}")
                }
            }
        }
        4 => {
            let names = [
                "CipherValue",
                "SignatureValue",
                "DigestValue",
                "BinarySecret",
                "Nonce",
                "BinarySecurityToken",
                "KeyIdentifier",
            ];
            let name = names[rng.below(names.len())];
            let Some(&at) = pick(&starts_of(s, name), rng) else {
                return "none".into();
            };
            let Some(gt) = s[at..].find('>').map(|g| at + g + 1) else {
                return "none".into();
            };
            let Some(lt) = s[gt..].find('<').map(|l| gt + l) else {
                return "none".into();
            };
            if lt <= gt {
                return "none".into();
            }
            let pos = gt + rng.below(lt - gt);
            let junk = [" \r\n\t", "=", "!", "====", "A", "&#65;"][rng.below(6)];
            match rng.below(3) {
                0 => s.insert_str(pos, junk),
                1 => s.replace_range(pos..lt, ""),
                _ => {
                    let v = s[gt..lt].to_string();
                    s.insert_str(lt, &v);
                }
            }
            format!("base64 of {name} at {at} damaged")
        }
        5 | 6 => {
            // Duplicate a security element somewhere else (or right after itself).
            let name = ELEMENTS[rng.below(ELEMENTS.len())];
            let Some(&at) = pick(&starts_of(s, name), rng) else {
                return "none".into();
            };
            let Some(r) = element_at(s, at) else {
                return "none".into();
            };
            let copy = s[r.clone()].to_string();
            let targets: Vec<usize> = find_all(s, ">").into_iter().map(|i| i + 1).collect();
            let to = if rng.below(2) == 0 {
                r.end
            } else {
                *pick(&targets, rng).unwrap_or(&r.end)
            };
            // Insert only between tags (after a '>').
            s.insert_str(to, &copy);
            format!("copy of {name} at {at} inserted at {to}")
        }
        7 => {
            let a = "http://www.w3.org/2001/04/xmlenc#Content";
            let b = "http://www.w3.org/2001/04/xmlenc#Element";
            let all: Vec<usize> = find_all(s, a).into_iter().chain(find_all(s, b)).collect();
            let Some(&at) = pick(&all, rng) else {
                return "none".into();
            };
            let new = if s[at..].starts_with(a) { b } else { a };
            s.replace_range(at..at + a.len(), new);
            format!("Type swapped at {at}")
        }
        8 => {
            let names = ["Length", "Offset", "Generation", "Label", "Nonce"];
            let name = names[rng.below(names.len())];
            let Some(&at) = pick(&starts_of(s, name), rng) else {
                return "none".into();
            };
            let Some(gt) = s[at..].find('>').map(|g| at + g + 1) else {
                return "none".into();
            };
            let Some(lt) = s[gt..].find('<').map(|l| gt + l) else {
                return "none".into();
            };
            let v = [
                "0",
                "-1",
                "4294967296",
                "99999999999999999999",
                "",
                "16",
                "1000000000",
            ][rng.below(7)];
            s.replace_range(gt..lt, v);
            format!("{name} at {at} -> {v:?}")
        }
        _ => {
            let Some(&at) = pick(&starts_of(s, "Body"), rng) else {
                return "none".into();
            };
            let Some(gt) = s[at..].find('>').map(|g| at + g + 1) else {
                return "none".into();
            };
            let depth = 200 + rng.below(3000);
            s.insert_str(
                gt,
                &format!("{}{}", "<n>".repeat(depth), "</n>".repeat(depth)),
            );
            format!("nesting {depth} in Body at {at}")
        }
    }
}

fn run(msgs: &[Vec<u8>], options: &Options) -> Report {
    let mut a = Analyzer::new("fuzz".into(), CaptureFormat::Xml, options.clone());
    for m in msgs {
        a.push_xml_message("m", m.clone());
    }
    a.finish().report
}

fn fuzz(msgs: &[Vec<u8>], options: &Options, seeds: std::ops::RangeInclusive<u64>) -> usize {
    let baseline = run(msgs, options);
    let mut cases = 0;
    for seed in seeds {
        let mut rng = Rng::new(seed);
        let victim = rng.below(msgs.len());
        let mut text = String::from_utf8(msgs[victim].clone()).unwrap();
        let mut done = Vec::new();
        for _ in 0..1 + rng.below(3) {
            done.push(mutate_once(&mut text, &mut rng));
        }
        let mut mutated = msgs.to_vec();
        mutated[victim] = text.into_bytes();
        let r = run(&mutated, options);
        cases += 1;
        if r.messages.len() != baseline.messages.len() {
            continue;
        }
        for (m, b) in r.messages.iter().zip(&baseline.messages) {
            let unauthenticated = m
                .errors
                .iter()
                .any(|e| e.contains("not covered by any signature"));
            if m.signature == SignatureSummary::Valid && !unauthenticated {
                assert_eq!(
                    m.body, b.body,
                    "seed {seed}, victim {victim}, mutations {done:?}: message {} is valid but shows another Body; errors {:#?}",
                    m.index, m.errors
                );
            }
        }
    }
    cases
}

#[test]
fn mutated_wcf_conversation_never_panics_and_never_shows_another_body_as_valid() {
    let out = generate(&Scenario::default().calls(1), &Pki::demo().unwrap()).unwrap();
    let msgs: Vec<Vec<u8>> = out.messages.iter().map(|m| m.soap_xml.clone()).collect();
    let options = Options {
        keys: vec![format!(
            "{}:wcfscope-demo",
            repo_path("assets/demo-pki/service.pfx").display()
        )],
        ..Options::default()
    };
    // The baseline: every message valid (the oracle needs the Body to be signed).
    let base = run(&msgs, &options);
    assert!(base
        .messages
        .iter()
        .all(|m| m.signature == SignatureSummary::Valid));
    assert_eq!(fuzz(&msgs, &options, 1..=1500), 1500);
}

#[test]
fn mutated_rampart_exchange_never_panics() {
    let k = |f: &str| {
        repo_path(&format!(
            "tests/vectors/apache-rampart-samples/keys/2007-2008/pem-derived/{f}"
        ))
        .display()
        .to_string()
    };
    let msgs: Vec<Vec<u8>> = ["rst04", "rstr04", "req04", "res04", "creq04", "cres04"]
        .iter()
        .map(|n| {
            let s = std::fs::read_to_string(repo_path(&format!(
                "tests/vectors/apache-rampart-samples/msgs/{n}.xml"
            )))
            .unwrap();
            let s = s.replacen("\ne9d\n", "\n", 1);
            wcfscope_e2e::whitespace::normalise(&s, true).into_bytes()
        })
        .collect();
    let options = Options {
        keys: vec![k("service.cert.pem"), k("service.key.pem")],
        ..Options::default()
    };
    assert_eq!(fuzz(&msgs, &options, 1..=1000), 1000);
}
