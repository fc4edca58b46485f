//! GGML block buffers (spec/kernels.md §2, §4): untrusted Q8_0/Q4_0 bytes become tensors and
//! weight matrices or a typed error; dequantization and the matmul give exactly the bits of a
//! transcription of the spec's per-output contract, on every CPU path and thread count, in the
//! plain and the packed decode layout.

use half::f16;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use mycel_kernels::Backend;
use mycel_kernels::matmul::{CpuKernel, Weights, matmul, matmul_q8, matmul_q8_kernel};
use mycel_kernels::packed::{PackedWeights, matmul_packed, matmul_packed_q8};
use mycel_kernels::quant::{
    BLOCK_LEN, BlockQ4_0, BlockQ8_0, QuantFormat, dequantize_q4_0, dequantize_q8_0, quantize_q8_0,
};
use mycel_kernels::tensor::{DType, Data, Tensor, TensorView, byte_len};

/// The signed values of a weight block (Q4_0: nibble − 8, low nibbles first).
fn weight_values(format: QuantFormat, block: &[u8]) -> (f16, [i32; 32]) {
    let d = f16::from_le_bytes([block[0], block[1]]);
    let mut v = [0i32; 32];
    match format {
        QuantFormat::Q8_0 => {
            for (o, &b) in v.iter_mut().zip(&block[2..34]) {
                *o = i32::from(b as i8);
            }
        }
        QuantFormat::Q4_0 => {
            for (j, &b) in block[2..18].iter().enumerate() {
                v[j] = i32::from(b & 0x0f) - 8;
                v[j + 16] = i32::from(b >> 4) - 8;
            }
        }
    }
    (d, v)
}

/// A xorshift stream that favours the values the kernels treat specially: bytes −128, −127,
/// 127, 0, −1 and f16 scales ±0, ±∞, NaN, subnormal, largest finite, 1.
struct Edges(u64);

impl Edges {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn byte(&mut self) -> u8 {
        let r = self.next();
        match r % 8 {
            0 => 0x80,
            1 => 0x81,
            2 => 0x7f,
            3 => 0x00,
            4 => 0xff,
            _ => (r >> 8) as u8,
        }
    }

    fn scale(&mut self) -> [u8; 2] {
        let r = self.next();
        let bits: u16 = match r % 16 {
            0 => 0x0000,
            1 => 0x8000,
            2 => 0x7c00,
            3 => 0xfc00,
            4 => 0x7e00,
            5 => 0x0001,
            6 => 0x7bff,
            7 => 0x3c00,
            _ => (r >> 16) as u16,
        };
        bits.to_le_bytes()
    }
}

/// spec/kernels.md §4.2 transcribed: per output, `acc = fma(f32(d_w)·f32(d_x), f32(sumi), acc)`
/// over the blocks in order; a NaN result is written as `0x7FC00000`.
fn reference_matmul(
    xq: &[BlockQ8_0],
    m: usize,
    w: &[u8],
    format: QuantFormat,
    k: usize,
) -> Vec<u32> {
    let nb = k / BLOCK_LEN;
    let bb = format.block_bytes();
    let n = w.len() / (nb * bb);
    let mut out = Vec::with_capacity(m * n);
    for row in 0..m {
        for col in 0..n {
            let mut acc = 0.0f32;
            for b in 0..nb {
                let x = &xq[row * nb + b];
                let off = (col * nb + b) * bb;
                let (dw, wv) = weight_values(format, &w[off..off + bb]);
                let sumi: i32 = wv.iter().zip(&x.qs).map(|(&a, &q)| a * i32::from(q)).sum();
                let scale = dw.to_f32() * f16::from_le_bytes(x.d).to_f32();
                acc = scale.mul_add(sumi as f32, acc);
            }
            out.push(if acc.is_nan() {
                0x7FC0_0000
            } else {
                acc.to_bits()
            });
        }
    }
    out
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// `d · q` per element; NaN compared as NaN (dequantization does not canonicalise).
fn check_dequant(got: &[f32], format: QuantFormat, bytes: &[u8]) {
    let bb = format.block_bytes();
    assert_eq!(got.len(), bytes.len() / bb * BLOCK_LEN);
    for (i, block) in bytes.chunks_exact(bb).enumerate() {
        let (d, v) = weight_values(format, block);
        for (j, &q) in v.iter().enumerate() {
            let want = d.to_f32() * q as f32;
            let have = got[i * BLOCK_LEN + j];
            assert!(
                have.to_bits() == want.to_bits() || (have.is_nan() && want.is_nan()),
                "dequantize block {i} element {j}: {have} vs {want}"
            );
        }
    }
}

/// Tensors from arbitrary bytes and shapes: `from_le_bytes` accepts exactly the lengths
/// `byte_len` names, the copy keeps the bytes, views agree with owned tensors.
fn tensors(u: &mut Unstructured<'_>) -> Result<()> {
    let dtype = *u.choose(&[
        DType::F32,
        DType::F16,
        DType::BF16,
        DType::Q8_0,
        DType::Q4_0,
    ])?;
    let rank = u.int_in_range(0usize..=9)?;
    let mut shape = Vec::with_capacity(rank);
    for _ in 0..rank {
        shape.push(if u.ratio(1u8, 8)? {
            u.int_in_range(0usize..=1 << 20)?
        } else {
            u.int_in_range(0usize..=64)?
        });
    }
    // Dimensions up to 2^62: element counts near and past usize::MAX reach the overflow checks
    // of `byte_len` and `from_le_bytes` (issue #20 item 3, fixed: a typed error, no wrap).
    if u.ratio(1u8, 16)? {
        shape.push(u.int_in_range(1usize..=1 << 62)?);
    }
    let len = u.int_in_range(0usize..=u.len())?;
    let bytes = u.bytes(len)?;
    let expected = byte_len(dtype, &shape);
    let t = Tensor::from_le_bytes(dtype, &shape, bytes);
    match (&expected, &t) {
        (Ok(n), Ok(t)) => {
            assert_eq!(*n, bytes.len());
            assert_eq!(t.as_bytes(), bytes);
            assert_eq!(t.shape(), shape.as_slice());
            let c = t.commitment().expect("a tensor has a commitment");
            // A copy into aligned storage views without error and commits the same.
            let owned = t.as_bytes().to_vec();
            if let Ok(v) = TensorView::from_bytes(dtype, &shape, &owned) {
                assert_eq!(v.commitment().expect("commitment"), c);
            }
            match t.data() {
                Data::Q8_0(b) => check_dequant(&dequantize_q8_0(b), QuantFormat::Q8_0, bytes),
                Data::Q4_0(b) => check_dequant(&dequantize_q4_0(b), QuantFormat::Q4_0, bytes),
                _ => {}
            }
        }
        (Ok(n), Err(_)) => assert_ne!(*n, bytes.len(), "right length refused"),
        (Err(_), Ok(_)) => panic!("tensor built for a shape byte_len refuses"),
        (Err(_), Err(_)) => {}
    }
    Ok(())
}

/// The matmul on untrusted blocks against the reference, every CPU path, 1–4 threads.
fn matmuls(u: &mut Unstructured<'_>) -> Result<()> {
    let format = *u.choose(&[QuantFormat::Q8_0, QuantFormat::Q4_0])?;
    let nb = u.int_in_range(1usize..=6)?;
    let k = nb * BLOCK_LEN;
    let n = u.int_in_range(1usize..=40)?;
    let m = u.int_in_range(1usize..=9)?;
    let threads = u.int_in_range(1usize..=4)?;
    let wlen = n * nb * format.block_bytes();
    // Bytes straight from the input, or (denser in edge values) expanded from a seed.
    let mut edges = if u.arbitrary()? {
        None
    } else {
        Some(Edges(u.arbitrary::<u64>()? | 1))
    };
    let mut w = vec![0u8; wlen];
    match &mut edges {
        None => u.fill_buffer(&mut w)?,
        Some(g) => {
            for block in w.chunks_exact_mut(format.block_bytes()) {
                block[..2].copy_from_slice(&g.scale());
                for b in &mut block[2..] {
                    *b = g.byte();
                }
            }
        }
    }
    // Some bytes of weights cut short or too long: a typed error, never a panic.
    if u.ratio(1u8, 16)? {
        let cut = u.int_in_range(0usize..=wlen + 40)?;
        let mut odd = w.clone();
        odd.resize(cut, 0x55);
        let r = Weights::from_bytes(format, &odd, k);
        let row = nb * format.block_bytes();
        assert_eq!(
            r.is_ok(),
            cut > 0 && cut % row == 0,
            "weights of {cut} bytes"
        );
    }
    let weights = Weights::from_bytes(format, &w, k).expect("whole rows of blocks");
    assert_eq!((weights.n(), weights.k()), (n, k));
    let mut xq = Vec::with_capacity(m * nb);
    for _ in 0..m * nb {
        let mut b = BlockQ8_0 {
            d: match &mut edges {
                None => u.arbitrary()?,
                Some(g) => g.scale(),
            },
            qs: [0; 32],
        };
        for q in &mut b.qs {
            // −128 stands in activations as in weights (issue #20 item 1, fixed: every path
            // is exact for it).
            let q8 = match &mut edges {
                None => u.arbitrary::<i8>()?,
                Some(g) => g.byte() as i8,
            };
            *q = q8;
        }
        xq.push(b);
    }
    let want = reference_matmul(&xq, m, &w, format, k);
    for kernel in [
        CpuKernel::Scalar,
        CpuKernel::Avx2,
        CpuKernel::AvxVnni,
        CpuKernel::Avx512Vnni,
    ] {
        if !kernel.available() {
            continue;
        }
        let got = matmul_q8_kernel(&xq, m, &weights, kernel, threads).expect("matmul runs");
        assert_eq!(
            bits(&got),
            want,
            "{kernel:?}, {threads} threads, {format:?} m {m} n {n} k {k}"
        );
    }
    for backend in [Backend::Scalar, Backend::Auto] {
        let got = matmul_q8(&xq, m, &weights, backend, threads).expect("matmul runs");
        assert_eq!(bits(&got), want, "{backend:?}");
    }
    // The packed decode layout (spec/kernels.md §4.6): the same bytes reordered into groups of
    // eight rows plus a plain tail, the same bits on both of its loops (`Auto` resolves to one of
    // them; the f32 call below goes through it).
    let packed = PackedWeights::new(&weights).expect("packs");
    assert_eq!(packed.as_bytes().len(), wlen);
    for backend in [Backend::Scalar, Backend::Avx2] {
        if backend.resolve().is_err() {
            continue;
        }
        let got = matmul_packed_q8(&xq, m, &packed, backend, threads).expect("packed runs");
        assert_eq!(
            bits(&got),
            want,
            "packed {backend:?}, {threads} threads, {format:?} m {m} n {n} k {k}"
        );
    }
    assert!(matmul_packed_q8(&xq[..xq.len() - 1], m, &packed, Backend::Scalar, 1).is_err());
    // Wrong activation counts are refused.
    assert!(matmul_q8(&xq[..xq.len() - 1], m, &weights, Backend::Scalar, 1).is_err());

    // f32 activations (any bits): non-finite ones are refused; finite ones give the bits of
    // quantize-then-matmul_q8.
    let x: Vec<f32> = (0..m * k)
        .map(|_| {
            Ok(if u.ratio(1u8, 64)? {
                f32::from_bits(u.arbitrary()?)
            } else {
                f32::from(u.arbitrary::<i16>()?) / 256.0
            })
        })
        .collect::<Result<_>>()?;
    let r = matmul(&x, m, &weights, Backend::Auto, threads);
    if x.iter().all(|v| v.is_finite()) {
        let q = quantize_q8_0(&x, k).expect("finite values quantize");
        let want = reference_matmul(&q, m, &w, format, k);
        assert_eq!(bits(&r.expect("finite activations run")), want);
        let scalar = matmul(&x, m, &weights, Backend::Scalar, 1).expect("runs");
        assert_eq!(bits(&scalar), want);
        let p = matmul_packed(&x, m, &packed, Backend::Auto, threads).expect("packed runs");
        assert_eq!(bits(&p), want, "packed, f32 activations");
    } else {
        assert!(r.is_err(), "non-finite activations accepted");
        assert!(
            matmul_packed(&x, m, &packed, Backend::Auto, threads).is_err(),
            "non-finite activations accepted by the packed matmul"
        );
    }
    // The same blocks as Q4_0 blocks when the format is Q4_0: zero-copy reading agrees.
    if format == QuantFormat::Q4_0 {
        let blocks: Vec<BlockQ4_0> = w
            .chunks_exact(18)
            .map(|c| {
                let mut b = BlockQ4_0 {
                    d: [c[0], c[1]],
                    qs: [0; 16],
                };
                b.qs.copy_from_slice(&c[2..18]);
                b
            })
            .collect();
        check_dequant(&dequantize_q4_0(&blocks), format, &w);
    }
    Ok(())
}

/// One structured run; `Err` only when the input ran out.
pub fn run(u: &mut Unstructured<'_>) -> Result<()> {
    if u.arbitrary()? {
        tensors(u)
    } else {
        matmuls(u)
    }
}
