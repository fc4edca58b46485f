//! Deterministic randomness for the simulation: every random choice is a SHA-256 of a domain
//! tag, the run seed (or a value derived from it) and the choice's coordinates. Nothing reads the
//! clock, the OS random source or thread timing, so a seed fixes the whole run.

use sha2::{Digest as _, Sha256};

/// The domain tag that prefixes every derivation.
const TAG: &[u8] = b"mycel/v1/sim";

/// SHA-256 of `TAG ‖ 0x00 ‖ label ‖ 0x00 ‖ parts…`, each part prefixed by its length (u32 LE),
/// so no two different inputs share a preimage.
pub fn derive(label: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(TAG);
    h.update([0u8]);
    h.update(label.as_bytes());
    h.update([0u8]);
    for p in parts {
        h.update((p.len() as u32).to_le_bytes());
        h.update(p);
    }
    h.finalize().into()
}

/// A stream of pseudo-random numbers: SHA-256 in counter mode over a 32-byte key.
#[derive(Debug, Clone)]
pub struct DetRng {
    key: [u8; 32],
    counter: u64,
    buf: [u8; 32],
    used: usize,
}

impl DetRng {
    /// The stream keyed by `derive(label, parts)`.
    pub fn new(label: &str, parts: &[&[u8]]) -> Self {
        Self {
            key: derive(label, parts),
            counter: 0,
            buf: [0; 32],
            used: 32,
        }
    }

    /// The next 8 bytes as a little-endian u64.
    pub fn next_u64(&mut self) -> u64 {
        if self.used + 8 > 32 {
            self.buf = derive("stream", &[&self.key, &self.counter.to_le_bytes()]);
            self.counter += 1;
            self.used = 0;
        }
        let mut b = [0u8; 8];
        if let Some(chunk) = self.buf.get(self.used..self.used + 8) {
            b.copy_from_slice(chunk);
        }
        self.used += 8;
        u64::from_le_bytes(b)
    }

    /// A uniform integer in `0..bound` (0 when `bound` is 0), without modulo bias.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        // Reject the top partial range so every residue is equally likely.
        let zone = u64::MAX - (u64::MAX % bound + 1) % bound;
        loop {
            let x = self.next_u64();
            if x <= zone {
                return x % bound;
            }
        }
    }

    /// 32 fresh bytes.
    pub fn bytes32(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for chunk in out.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        out
    }

    /// Picks an index with probability proportional to `weights` (`None` if all are zero).
    pub fn weighted(&mut self, weights: &[u64]) -> Option<usize> {
        let total: u64 = weights.iter().fold(0u64, |a, w| a.saturating_add(*w));
        if total == 0 {
            return None;
        }
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return Some(i);
            }
            x -= w;
        }
        None
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}
