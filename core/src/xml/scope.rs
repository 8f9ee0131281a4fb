//! Namespace bindings in effect while walking a tree: prefix → stack of URIs, with an undo log
//! so leaving an element restores the outer bindings. Lookups are O(1) however many
//! declarations hostile input piles up (a list scanned backwards would be quadratic).

use std::collections::HashMap;

/// `None` is the default namespace; an empty URI means "no namespace".
#[derive(Debug, Default, Clone)]
pub(crate) struct Bindings {
    map: HashMap<Option<String>, Vec<String>>,
    log: Vec<Option<String>>,
}

impl Bindings {
    pub(crate) fn push(&mut self, prefix: Option<String>, uri: String) {
        self.map.entry(prefix.clone()).or_default().push(uri);
        self.log.push(prefix);
    }

    /// A position to [`Bindings::truncate`] back to.
    pub(crate) fn mark(&self) -> usize {
        self.log.len()
    }

    /// Undoes every push made since `mark`.
    pub(crate) fn truncate(&mut self, mark: usize) {
        while self.log.len() > mark {
            if let Some(p) = self.log.pop() {
                if let Some(stack) = self.map.get_mut(&p) {
                    stack.pop();
                }
            }
        }
    }

    pub(crate) fn get(&self, prefix: Option<&str>) -> Option<&str> {
        // HashMap<Option<String>> cannot be queried with Option<&str> without allocating.
        self.map
            .get(&prefix.map(str::to_owned))
            .and_then(|s| s.last())
            .map(String::as_str)
    }

    /// Every prefix currently bound (the innermost binding of each).
    pub(crate) fn prefixes(&self) -> impl Iterator<Item = &Option<String>> {
        self.map
            .iter()
            .filter(|(_, s)| !s.is_empty())
            .map(|(p, _)| p)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn push_lookup_and_undo() {
        let mut b = Bindings::default();
        b.push(Some("p".into()), "u1".into());
        let m = b.mark();
        b.push(Some("p".into()), "u2".into());
        b.push(None, "d".into());
        assert_eq!(b.get(Some("p")), Some("u2"));
        assert_eq!(b.get(None), Some("d"));
        b.truncate(m);
        assert_eq!(b.get(Some("p")), Some("u1"));
        assert_eq!(b.get(None), None);
        assert_eq!(b.prefixes().count(), 1);
    }
}
