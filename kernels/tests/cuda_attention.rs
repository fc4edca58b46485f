//! CUDA attention vs the CPU scalar reference, verifiable mode, bit for bit (spec/kernels.md
//! "Attention" and "CUDA backend"). Skips with a message without a device; with
//! `MYCEL_REQUIRE_GPU=1` (scripts/gpu-check) a missing device is a failure.
#![cfg(feature = "cuda")]

use half::{bf16, f16};
use mycel_kernels::attention::{AttentionMode, AttentionParams, AttnInput, attention};
use mycel_kernels::cuda::{self, CudaDevice};
use mycel_kernels::philox::generate_uniform;
use mycel_kernels::{Backend, Error};
use mycel_protocol::commit::{TensorDtype, tensor_commitment};

fn device_or_skip(test: &str) -> Option<CudaDevice> {
    let require = std::env::var("MYCEL_REQUIRE_GPU").as_deref() == Ok("1");
    match CudaDevice::open(0) {
        Ok(d) => Some(d),
        Err(e) => {
            assert!(
                !require,
                "MYCEL_REQUIRE_GPU=1 but no usable CUDA device: {e}"
            );
            eprintln!("SKIP {test}: no CUDA device ({e})");
            None
        }
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

fn commitment(v: &[f32], p: &AttentionParams) -> [u8; 32] {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let shape = [p.n_heads as u64, p.q_len as u64, p.head_dim as u64];
    tensor_commitment(TensorDtype::F32, &shape, &bytes)
        .unwrap()
        .0
}

enum Owned {
    F32(Vec<f32>),
    F16(Vec<f16>),
    Bf16(Vec<bf16>),
}
impl Owned {
    fn new(kind: usize, x: Vec<f32>) -> Owned {
        match kind {
            0 => Owned::F32(x),
            1 => Owned::F16(x.iter().map(|&v| f16::from_f32(v)).collect()),
            _ => Owned::Bf16(x.iter().map(|&v| bf16::from_f32(v)).collect()),
        }
    }
    fn input(&self) -> AttnInput<'_> {
        match self {
            Owned::F32(x) => AttnInput::F32(x),
            Owned::F16(x) => AttnInput::F16(x),
            Owned::Bf16(x) => AttnInput::Bf16(x),
        }
    }
}

/// ≥ 200 random configurations: head_dim 64/128, GQA ratios 1/2/4/8, causal or not, prefill
/// (q_len = kv_len), decode (q_len = 1) and q_len < kv_len, lengths that are not multiples of
/// the 64-key tile, f32/f16/bf16 inputs chosen independently for Q, K and V.
#[test]
fn random_configs_match_cpu_scalar_bit_for_bit() {
    let Some(dev) = device_or_skip("random_configs_match_cpu_scalar_bit_for_bit") else {
        return;
    };
    let mut rng = Rng(0x6375_6461_6174_746e);
    let cases = 220;
    for case in 0..cases {
        let d = if rng.below(2) == 0 { 64 } else { 128 };
        let n_kv = 1 + rng.below(3);
        let group = [1, 2, 4, 8][rng.below(4)];
        let kv_len = if rng.below(5) == 0 {
            500 + rng.below(1200)
        } else {
            1 + rng.below(300)
        };
        let q_len = match rng.below(3) {
            0 => 1,
            1 => kv_len.min(300),
            _ => 1 + rng.below(kv_len.min(300) as u64),
        };
        let mut p =
            AttentionParams::new(n_kv * group, n_kv, q_len, kv_len, d).causal(rng.below(2) == 0);
        if rng.below(6) == 0 {
            p = p.with_scale(0.5 / (1 + rng.below(9)) as f32);
        }
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&rng.next().to_le_bytes());
        let amp = [1.0f32, 4.0, 30.0][rng.below(3)];
        let make = |s: u32, n: usize| -> Vec<f32> {
            generate_uniform(&seed, s, n)
                .unwrap()
                .iter()
                .map(|v| v * amp)
                .collect()
        };
        let (qn, kn) = (p.q_elems().unwrap(), p.kv_elems().unwrap());
        let q = Owned::new(rng.below(3), make(1, qn));
        let k = Owned::new(rng.below(3), make(2, kn));
        let v = Owned::new(rng.below(3), make(3, kn));
        let want = attention(
            &p,
            q.input(),
            k.input(),
            v.input(),
            AttentionMode::Verifiable,
            Backend::Auto,
            0,
        )
        .unwrap();
        let got = dev
            .attention(
                &p,
                q.input(),
                k.input(),
                v.input(),
                AttentionMode::Verifiable,
            )
            .unwrap();
        if commitment(&got, &p) != commitment(&want, &p) {
            let i = got
                .iter()
                .zip(&want)
                .position(|(a, b)| a.to_bits() != b.to_bits())
                .unwrap();
            panic!(
                "case {case} {p:?}: output {i} is {:#010x}, CPU scalar {:#010x}",
                got[i].to_bits(),
                want[i].to_bits()
            );
        }
    }
    eprintln!("{cases} attention configurations equal");
}

/// The fast kernel is within the spec's fast-mode tolerance of verifiable mode.
#[test]
fn fast_mode_is_within_tolerance() {
    let Some(_dev) = device_or_skip("fast_mode_is_within_tolerance") else {
        return;
    };
    for (n, p) in [
        AttentionParams::new(8, 2, 100, 100, 128).causal(true),
        AttentionParams::new(8, 1, 1, 3000, 64),
        AttentionParams::new(4, 4, 33, 700, 128).causal(true),
        AttentionParams::new(32, 8, 300, 300, 128).causal(true),
    ]
    .into_iter()
    .enumerate()
    {
        let seed = [n as u8 + 1; 32];
        let q: Vec<f32> = generate_uniform(&seed, 1, p.q_elems().unwrap()).unwrap();
        let k: Vec<f32> = generate_uniform(&seed, 2, p.kv_elems().unwrap())
            .unwrap()
            .iter()
            .map(|x| x * 8.0)
            .collect();
        let v = generate_uniform(&seed, 3, p.kv_elems().unwrap()).unwrap();
        let (qi, ki, vi) = (AttnInput::F32(&q), AttnInput::F32(&k), AttnInput::F32(&v));
        let fast = cuda::attention(0, &p, qi, ki, vi, AttentionMode::Fast).unwrap();
        let exact = attention(&p, qi, ki, vi, AttentionMode::Verifiable, Backend::Auto, 0).unwrap();
        let vmax = v.iter().fold(0.0f32, |a, x| a.max(x.abs()));
        let tol = vmax * (2f32.powi(-13) + 4.0 * p.kv_len as f32 * 2f32.powi(-24));
        for (i, (a, b)) in fast.iter().zip(&exact).enumerate() {
            assert!(
                (a - b).abs() <= tol,
                "{p:?}: output {i}: fast {a:e}, verifiable {b:e}"
            );
        }
    }
}

#[test]
fn typed_errors() {
    let Some(dev) = device_or_skip("typed_errors") else {
        return;
    };
    let p = AttentionParams::new(2, 1, 4, 4, 64);
    let x = vec![0.5f32; 2 * 4 * 64];
    let kv = vec![0.5f32; 4 * 64];
    let r = dev.attention(
        &p,
        AttnInput::F32(&x[1..]),
        AttnInput::F32(&kv),
        AttnInput::F32(&kv),
        AttentionMode::Verifiable,
    );
    assert!(matches!(r, Err(Error::BufferLength { .. })));
    let bad = AttentionParams::new(2, 1, 4, 4, 96);
    assert!(matches!(
        dev.attention(
            &bad,
            AttnInput::F32(&x),
            AttnInput::F32(&kv),
            AttnInput::F32(&kv),
            AttentionMode::Verifiable
        ),
        Err(Error::UnsupportedHeadDim(96))
    ));
}
