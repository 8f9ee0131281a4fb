//! Shared support for the end-to-end tests: paths to the repository's files and a
//! deterministic mutator for robustness tests.

use std::path::PathBuf;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A path under the repository root.
pub fn repo_path(rel: &str) -> PathBuf {
    repo_root().join(rel)
}

/// xorshift64*: a tiny deterministic generator so failures reproduce from the seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// One random corruption of `data`: bit flips, a truncation, an inserted or removed run,
/// or a field overwritten with an extreme value.
pub fn mutate(data: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = data.to_vec();
    if out.is_empty() {
        return out;
    }
    match rng.below(6) {
        0 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
        }
        1 => {
            let cut = rng.below(out.len());
            out.truncate(cut);
        }
        2 => {
            let at = rng.below(out.len());
            let n = 1 + rng.below(64);
            let junk: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            out.splice(at..at, junk);
        }
        3 => {
            let at = rng.below(out.len());
            let end = (at + 1 + rng.below(256)).min(out.len());
            out.drain(at..end);
        }
        4 => {
            let at = rng.below(out.len().saturating_sub(4).max(1));
            let v: [u8; 4] = match rng.below(3) {
                0 => [0xff; 4],
                1 => [0; 4],
                _ => [0x7f, 0xff, 0xff, 0xff],
            };
            for (k, b) in v.iter().enumerate() {
                if let Some(x) = out.get_mut(at + k) {
                    *x = *b;
                }
            }
        }
        _ => {
            // Duplicate a region: looks like retransmitted or repeated records.
            let at = rng.below(out.len());
            let end = (at + 1 + rng.below(512)).min(out.len());
            let copy = out[at..end].to_vec();
            let to = rng.below(out.len());
            out.splice(to..to, copy);
        }
    }
    out
}
pub mod whitespace;
