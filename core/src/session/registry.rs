//! State the security stage keeps across messages (and TCP connections): SCT keys by
//! Identifier and Instance, and the ephemeral keys of EncryptedKeys by EncryptedKeySHA1
//! (the response of a bootstrap, or of a sessions-off exchange, names the request's key so).

use crate::model::KeySource;
use std::collections::HashMap;
use zeroize::Zeroizing;

/// Most SCT keys / ephemeral keys remembered (a hostile capture cannot grow us unbounded).
const MAX_ENTRIES: usize = 100_000;

/// One SCT key generation.
pub struct SctEntry {
    pub identifier: String,
    pub instance: Option<String>,
    pub key: Zeroizing<Vec<u8>>,
    pub source: KeySource,
    /// The message whose RSTR issued it (None for manual keys).
    pub issued_by: Option<usize>,
}

/// An EncryptedKey's key, remembered by the SHA-1 of its ciphertext.
pub struct EphemeralKey {
    pub key: Zeroizing<Vec<u8>>,
    /// The message that carried the EncryptedKey.
    pub msg: usize,
    pub id: Option<String>,
}

#[derive(Default)]
pub struct Registry {
    /// Identifier → its generations in the order learned (a map: captures may hold many
    /// sessions, and every message looks its SCT up).
    scts: HashMap<String, Vec<SctEntry>>,
    sct_count: usize,
    ephemeral: HashMap<Vec<u8>, EphemeralKey>,
}

impl Registry {
    /// Adds (or replaces) the key of (identifier, instance).
    pub fn add_sct(&mut self, entry: SctEntry) {
        let gens = self.scts.entry(entry.identifier.clone()).or_default();
        if let Some(e) = gens.iter_mut().find(|e| e.instance == entry.instance) {
            *e = entry;
        } else if self.sct_count < MAX_ENTRIES {
            self.sct_count += 1;
            gens.push(entry);
        }
    }

    /// The key for an SCT reference: the exact (identifier, instance) when an instance is
    /// given; otherwise the first generation issued (references without Instance precede
    /// any renewal).
    pub fn sct(&self, identifier: &str, instance: Option<&str>) -> Option<&SctEntry> {
        let gens = self.scts.get(identifier)?;
        match instance {
            Some(i) => gens.iter().find(|e| e.instance.as_deref() == Some(i)),
            None => gens.iter().find(|e| e.instance.is_none()).or(gens.first()),
        }
    }

    /// Every generation of one SCT, in the order learned.
    pub fn generations(&self, identifier: &str) -> impl Iterator<Item = &SctEntry> {
        self.scts.get(identifier).into_iter().flatten()
    }

    pub fn add_ephemeral(&mut self, sha1: Vec<u8>, key: EphemeralKey) {
        if self.ephemeral.len() < MAX_ENTRIES {
            self.ephemeral.insert(sha1, key);
        }
    }

    pub fn ephemeral(&self, sha1: &[u8]) -> Option<&EphemeralKey> {
        self.ephemeral.get(sha1)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn entry(id: &str, inst: Option<&str>, k: u8) -> SctEntry {
        SctEntry {
            identifier: id.into(),
            instance: inst.map(str::to_string),
            key: Zeroizing::new(vec![k; 4]),
            source: KeySource::Computed,
            issued_by: Some(1),
        }
    }

    #[test]
    fn instances() {
        let mut r = Registry::default();
        r.add_sct(entry("urn:uuid:a", None, 1));
        r.add_sct(entry("urn:uuid:a", Some("urn:uuid:i2"), 2));
        assert_eq!(r.sct("urn:uuid:a", None).unwrap().key[0], 1);
        assert_eq!(r.sct("urn:uuid:a", Some("urn:uuid:i2")).unwrap().key[0], 2);
        assert!(r.sct("urn:uuid:a", Some("urn:uuid:i3")).is_none());
        assert!(r.sct("urn:uuid:b", None).is_none());
        assert_eq!(r.generations("urn:uuid:a").count(), 2);
        r.add_ephemeral(
            vec![9; 20],
            EphemeralKey {
                key: Zeroizing::new(vec![5]),
                msg: 0,
                id: None,
            },
        );
        assert_eq!(r.ephemeral(&[9; 20]).unwrap().key[0], 5);
    }
}
