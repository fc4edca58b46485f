//! Q8_0 / Q4_0 quantization against an independent reference (tests/support/ggml_ref.py,
//! which follows ggml-quants.c line by line) and edge cases.

use half::f16;
use mycel_kernels::Error;
use mycel_kernels::quant::{
    BlockQ4_0, BlockQ8_0, dequantize_q4_0, dequantize_q8_0, quantize_q4_0, quantize_q8_0,
};
use mycel_kernels::tensor::{DType, Tensor, TensorView};

const GOLDEN: &str = include_str!("../data/ggml_golden.txt");

fn f32s(hex_str: &str) -> Vec<f32> {
    hex::decode(hex_str)
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn golden_vectors_match_the_independent_reference() {
    let mut checked = 0;
    for line in GOLDEN.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split(' ').collect();
        let [fmt, name, input, block, deq] = f[..] else {
            panic!("bad line {line}")
        };
        let x = f32s(input);
        let want_block = hex::decode(block).unwrap();
        let want_deq = f32s(deq);
        let (got_block, got_deq): (Vec<u8>, Vec<f32>) = match fmt {
            "q8_0" => {
                let b = quantize_q8_0(&x, 32).unwrap();
                (bytemuck::cast_slice(&b).to_vec(), dequantize_q8_0(&b))
            }
            "q4_0" => {
                let b = quantize_q4_0(&x, 32).unwrap();
                (bytemuck::cast_slice(&b).to_vec(), dequantize_q4_0(&b))
            }
            _ => panic!("bad format {fmt}"),
        };
        assert_eq!(got_block, want_block, "{fmt} {name}: block bytes");
        let got_bits: Vec<u32> = got_deq.iter().map(|v| v.to_bits()).collect();
        let want_bits: Vec<u32> = want_deq.iter().map(|v| v.to_bits()).collect();
        assert_eq!(got_bits, want_bits, "{fmt} {name}: dequantized bits");
        checked += 1;
    }
    assert_eq!(checked, 94, "every golden line was checked");
}

#[test]
fn block_sizes_are_ggml_sizes() {
    assert_eq!(size_of::<BlockQ8_0>(), 34);
    assert_eq!(size_of::<BlockQ4_0>(), 18);
}

#[test]
fn q8_0_ties_round_away_from_zero_by_hand() {
    // amax = 127 -> d = 1, id = 1: x*id = x exactly.
    let mut x = [0.0f32; 32];
    x[0] = 127.0;
    x[1] = 2.5;
    x[2] = -2.5;
    x[3] = 0.5;
    x[4] = -0.5;
    x[5] = 3.5;
    let b = quantize_q8_0(&x, 32).unwrap();
    assert_eq!(b[0].d(), f16::from_f32(1.0));
    assert_eq!(&b[0].qs[..6], &[127, 3, -3, 1, -1, 4]);
}

#[test]
fn q4_0_nibble_order_by_hand() {
    // max = -8 -> d = 1, id = 1: q = min(15, trunc(x + 8.5)).
    let mut x = [0.0f32; 32];
    x[0] = -8.0; // q 0
    x[1] = 7.0; // q 15
    x[16] = 1.0; // q 9 in the high nibble of byte 0
    x[17] = -0.5; // trunc(8.0) = 8
    x[2] = 0.5; // trunc(9.0) = 9
    let b = quantize_q4_0(&x, 32).unwrap();
    assert_eq!(b[0].d, f16::from_f32(1.0).to_le_bytes());
    assert_eq!(b[0].qs[0], 0x90);
    assert_eq!(b[0].qs[1], 0x8F);
    assert_eq!(b[0].qs[2], 0x89);
    assert_eq!(b[0].values()[16], 1);
}

#[test]
fn zeros_give_zero_scale_and_q4_0_negative_zero_scale() {
    let x = [0.0f32; 64];
    let q8 = quantize_q8_0(&x, 64).unwrap();
    assert!(q8.iter().all(|b| b.d == [0, 0] && b.qs == [0; 32]));
    // GGML: d = max / -8 = 0 / -8 = -0.0, stored as f16 0x8000; every nibble is 8.
    let q4 = quantize_q4_0(&x, 64).unwrap();
    assert!(q4.iter().all(|b| b.d == [0x00, 0x80] && b.qs == [0x88; 16]));
    assert!(dequantize_q4_0(&q4).iter().all(|v| *v == 0.0));
}

#[test]
fn non_finite_inputs_are_rejected() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut x = vec![1.0f32; 64];
        x[37] = bad;
        assert_eq!(quantize_q8_0(&x, 64), Err(Error::NonFinite { index: 37 }));
        assert_eq!(quantize_q4_0(&x, 32), Err(Error::NonFinite { index: 37 }));
        assert_eq!(Error::NonFinite { index: 0 }.code(), "non_finite");
    }
}

#[test]
fn bad_row_lengths_are_rejected() {
    let x = vec![1.0f32; 96];
    assert!(matches!(
        quantize_q8_0(&x, 48),
        Err(Error::ShapeMismatch(_))
    ));
    assert!(matches!(quantize_q8_0(&x, 0), Err(Error::ShapeMismatch(_))));
    assert!(matches!(
        quantize_q4_0(&x, 64),
        Err(Error::ShapeMismatch(_))
    ));
    assert!(quantize_q4_0(&x, 96).is_ok());
}

#[test]
fn round_trip_error_is_within_a_step() {
    let x: Vec<f32> = (0..4096)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    let q8 = quantize_q8_0(&x, 4096).unwrap();
    let q4 = quantize_q4_0(&x, 4096).unwrap();
    for ((blk8, blk4), xs) in q8.iter().zip(&q4).zip(x.chunks(32)) {
        let d8 = blk8.d().to_f32();
        let d4 = blk4.d().to_f32().abs();
        let y8 = dequantize_q8_0(core::slice::from_ref(blk8));
        let y4 = dequantize_q4_0(core::slice::from_ref(blk4));
        for ((a, b), c) in xs.iter().zip(&y8).zip(&y4) {
            // Half a step, plus the f16 rounding of the scale (2^-11 relative) times |q| <= 127.
            assert!((a - b).abs() <= d8 * (0.5 + 127.0 / 2048.0), "{a} {b}");
            // Q4_0 is asymmetric (-8..=7 steps): the side opposite the max clips at 7 steps,
            // so the bound there is one step, not half.
            assert!((a - c).abs() <= d4 * (1.0 + 8.0 / 2048.0), "{a} {c}");
        }
    }
}

#[test]
fn tensor_checks_shape_length_and_alignment() {
    let t = Tensor::from_f32(&[2, 3], vec![0.0; 6]).unwrap();
    assert_eq!(t.dtype(), DType::F32);
    assert_eq!(
        Tensor::from_f32(&[2, 3], vec![0.0; 5]),
        Err(Error::BufferLength {
            expected: 24,
            actual: 20
        })
    );
    assert!(matches!(
        Tensor::from_f32(&[2, 0], vec![]),
        Err(Error::ShapeMismatch(_))
    ));
    assert!(matches!(
        Tensor::from_f32(&[], vec![]),
        Err(Error::ShapeMismatch(_))
    ));
    assert!(matches!(
        Tensor::from_le_bytes(DType::F32, &[usize::MAX, 2], &[]),
        Err(Error::SizeOverflow(_))
    ));
    // Quantized: last dimension a multiple of 32, 34 bytes per Q8_0 block.
    assert!(matches!(
        Tensor::from_le_bytes(DType::Q8_0, &[2, 48], &[0; 102]),
        Err(Error::ShapeMismatch(_))
    ));
    let q = Tensor::from_le_bytes(DType::Q8_0, &[2, 64], &[0; 136]).unwrap();
    assert_eq!(q.view().as_q8_0().unwrap().len(), 4);
    assert_eq!(
        q.view().as_f32(),
        Err(Error::DtypeMismatch {
            expected: "f32",
            actual: "q8_0"
        })
    );
    // A misaligned borrow of f32 data is an error; copying works.
    let backing = vec![0u32; 5];
    let bytes: &[u8] = bytemuck::cast_slice(&backing);
    let shape = [4usize];
    assert_eq!(
        TensorView::from_bytes(DType::F32, &shape, &bytes[1..17]),
        Err(Error::Misaligned {
            dtype: "f32",
            align: 4
        })
    );
    let v = TensorView::from_bytes(DType::F32, &shape, &bytes[4..20]).unwrap();
    assert_eq!(v.as_f32().unwrap(), &[0.0; 4]);
    assert!(Tensor::from_le_bytes(DType::F32, &shape, &bytes[1..17]).is_ok());
}
