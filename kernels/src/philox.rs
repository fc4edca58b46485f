//! Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11) and the
//! normative mapping from a task seed to f32 inputs (spec/kernels.md §3).
//!
//! Counter-based: element `i` of a generated tensor depends only on the seed, the stream and
//! `i`, so any host (a GPU thread per element, a browser) regenerates any part independently.

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// Philox multiplier for counter word 0.
pub const M0: u32 = 0xD251_1F53;
/// Philox multiplier for counter word 2.
pub const M1: u32 = 0xCD9E_8D57;
/// Weyl increment of key word 0 (golden ratio).
pub const W0: u32 = 0x9E37_79B9;
/// Weyl increment of key word 1 (sqrt(3) - 1).
pub const W1: u32 = 0xBB67_AE85;

/// The domain-separation prefix hashed with a seed to derive Philox key and counter words.
pub const DERIVE_TAG: &[u8] = b"mycel/v1/philox";

/// Stream number of a matmul task's activations `A[m, k]`.
pub const STREAM_MATMUL_A: u32 = 0;
/// Stream number of the attention query tensor.
pub const STREAM_ATTN_Q: u32 = 1;
/// Stream number of the attention key tensor.
pub const STREAM_ATTN_K: u32 = 2;
/// Stream number of the attention value tensor.
pub const STREAM_ATTN_V: u32 = 3;
/// Stream number of generated weights ([`crate::exec::generate_weights`]).
pub const STREAM_WEIGHTS: u32 = 0x5747_4854; // "WGHT"

#[inline]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    // (2^32 − 1)² < 2^64: no overflow.
    let p = u64::from(a).wrapping_mul(u64::from(b));
    ((p >> 32) as u32, p as u32)
}

/// Philox4x32 with `rounds` rounds (10 is the standard and the only one mycel uses).
#[inline]
pub fn philox4x32_rounds(rounds: u32, counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let [mut c0, mut c1, mut c2, mut c3] = counter;
    let [mut k0, mut k1] = key;
    for r in 0..rounds {
        if r > 0 {
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        let (hi0, lo0) = mulhilo(M0, c0);
        let (hi1, lo1) = mulhilo(M1, c2);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    [c0, c1, c2, c3]
}

/// Philox4x32-10: four 32-bit outputs for one 128-bit counter and a 64-bit key.
#[inline]
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    philox4x32_rounds(10, counter, key)
}

/// The normative `u32 → f32` mapping: `((u >> 8) − 2^23) · 2^-23`, uniform on the 2^24 values
/// `k · 2^-23` in `[-1, 1)`. Every step is exact in f32 (no rounding anywhere).
#[inline]
pub fn u32_to_f32(u: u32) -> f32 {
    // u >> 8 < 2^24, so the difference lies in −2^23..2^23: no overflow.
    ((u >> 8) as i32).wrapping_sub(1 << 23) as f32 * (1.0 / 8_388_608.0)
}

/// Key and counter-high words derived from a seed and a stream (spec/kernels.md §3):
/// `h = SHA-256(DERIVE_TAG || 0x00 || seed || stream as u32 LE)`, key = `h[0..4], h[4..8]`,
/// counter words 2 and 3 = `h[8..12], h[12..16]`, each read as a little-endian u32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamKey {
    /// The Philox key.
    pub key: [u32; 2],
    /// Counter words 2 and 3 (words 0 and 1 hold the block index).
    pub hi: [u32; 2],
}

impl StreamKey {
    /// Derive the stream key for `seed` and `stream`.
    pub fn derive(seed: &[u8; 32], stream: u32) -> StreamKey {
        let mut h = Sha256::new();
        h.update(DERIVE_TAG);
        h.update([0u8]);
        h.update(seed);
        h.update(stream.to_le_bytes());
        let h: [u8; 32] = h.finalize().into();
        let mut w = [0u32; 4];
        for (word, bytes) in w.iter_mut().zip(h.chunks_exact(4)) {
            *word = <[u8; 4]>::try_from(bytes).map_or(0, u32::from_le_bytes);
        }
        StreamKey {
            key: [w[0], w[1]],
            hi: [w[2], w[3]],
        }
    }

    /// The four u32 of Philox block `j` (elements `4j .. 4j+4`): counter = `(lo32(j), hi32(j),
    /// hi[0], hi[1])`.
    #[inline]
    pub fn block(&self, j: u64) -> [u32; 4] {
        philox4x32_10(
            [j as u32, (j >> 32) as u32, self.hi[0], self.hi[1]],
            self.key,
        )
    }
}

/// Fill `out` with elements `offset .. offset + out.len()` of the generated stream: element `i`
/// is `u32_to_f32(word i mod 4 of block i / 4)`. Filling a tensor in parts gives the same bits
/// as filling it at once.
pub fn fill_uniform(seed: &[u8; 32], stream: u32, offset: u64, out: &mut [f32]) -> Result<()> {
    let len = u64::try_from(out.len()).map_err(|_| Error::SizeOverflow("generated length"))?;
    offset
        .checked_add(len)
        .filter(|end| *end <= MAX_GENERATED)
        .ok_or(Error::SizeOverflow("generated element index"))?;
    let sk = StreamKey::derive(seed, stream);
    let mut cached: Option<(u64, [u32; 4])> = None;
    for (i, o) in (offset..).zip(out.iter_mut()) {
        let j = i / 4;
        let words = match cached {
            Some((cj, w)) if cj == j => w,
            _ => {
                let w = sk.block(j);
                cached = Some((j, w));
                w
            }
        };
        *o = u32_to_f32(words.get((i % 4) as usize).copied().unwrap_or(0));
    }
    Ok(())
}

/// Most elements one generated stream has (element indices are below 2^62).
pub const MAX_GENERATED: u64 = 1 << 62;

/// A freshly allocated generated tensor of `len` elements (see [`fill_uniform`]).
///
/// The length is checked before anything is allocated: more than [`MAX_GENERATED`] elements,
/// or more bytes than an allocation may hold, is [`Error::SizeOverflow`], and so is an
/// allocation the system refuses (nothing aborts or panics).
pub fn generate_uniform(seed: &[u8; 32], stream: u32, len: usize) -> Result<Vec<f32>> {
    if u64::try_from(len).is_ok_and(|l| l > MAX_GENERATED) {
        return Err(Error::SizeOverflow("generated length"));
    }
    let mut v = crate::tensor::try_filled(len, 0.0f32, "generated length")?;
    fill_uniform(seed, stream, 0, &mut v)?;
    Ok(v)
}
