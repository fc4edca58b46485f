//! Helpers shared by the kernel test binaries (`matmul.rs`, `packed.rs`): the matmul contract
//! written out independently of the crate's kernels, bit views and generated weight bytes.

use half::f16;
use mycel_kernels::philox::generate_uniform;
use mycel_kernels::quant::{BlockQ8_0, QuantFormat, quantize_q4_0, quantize_q8_0};

/// The bit patterns of `v` (comparisons that tell −0.0 and NaN payloads apart).
pub fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The contract on Q8_0 activation blocks `xq`, written out independently of the crate's
/// kernels: dequantized integers from the plain GGML blocks' documented layout, one `mul_add`
/// per block in ascending order, NaN canonical.
pub fn contract(
    xq: &[BlockQ8_0],
    m: usize,
    k: usize,
    w_bytes: &[u8],
    format: QuantFormat,
) -> Vec<f32> {
    let nb = k / 32;
    let bb = format.block_bytes();
    let n = w_bytes.len() / (nb * bb);
    let mut out = vec![0.0f32; m * n];
    for mi in 0..m {
        for ni in 0..n {
            let mut acc = 0.0f32;
            for b in 0..nb {
                let blk = &w_bytes[(ni * nb + b) * bb..(ni * nb + b + 1) * bb];
                let dw = f16::from_le_bytes([blk[0], blk[1]]).to_f32();
                let wq: Vec<i32> = match format {
                    QuantFormat::Q8_0 => blk[2..].iter().map(|&v| i32::from(v as i8)).collect(),
                    QuantFormat::Q4_0 => (0..32)
                        .map(|j| {
                            let byte = blk[2 + j % 16];
                            i32::from(if j < 16 { byte & 15 } else { byte >> 4 }) - 8
                        })
                        .collect(),
                };
                let xb = &xq[mi * nb + b];
                let sumi: i32 = wq.iter().zip(&xb.qs).map(|(a, &q)| a * i32::from(q)).sum();
                acc = (dw * xb.d().to_f32()).mul_add(sumi as f32, acc);
            }
            out[mi * n + ni] = if acc.is_nan() {
                f32::from_bits(0x7FC0_0000)
            } else {
                acc
            };
        }
    }
    out
}

/// Plain Q8_0 block bytes holding `vals` (32 per block) as they are, block `b` with the f16 scale
/// `scale(b)`: weights or activations with chosen integers (−128 included).
pub fn q8_bytes(vals: &[i8], scale: impl Fn(usize) -> f32) -> Vec<u8> {
    let mut out = Vec::new();
    for (b, c) in vals.chunks(32).enumerate() {
        out.extend_from_slice(&f16::from_f32(scale(b)).to_le_bytes());
        out.extend(c.iter().map(|&v| v as u8));
    }
    out
}

/// Weight bytes (plain GGML blocks) of an `n × k` matrix of Philox uniforms from `seed`.
pub fn weights_bytes(format: QuantFormat, n: usize, k: usize, seed: u8) -> Vec<u8> {
    let w = generate_uniform(&[seed; 32], 9, n * k).unwrap();
    match format {
        QuantFormat::Q8_0 => bytemuck::cast_slice(&quantize_q8_0(&w, k).unwrap()).to_vec(),
        QuantFormat::Q4_0 => bytemuck::cast_slice(&quantize_q4_0(&w, k).unwrap()).to_vec(),
    }
}
