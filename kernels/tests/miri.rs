//! Small enough for Miri (`scripts/test` step `miri`: `cargo +nightly miri test -p
//! mycel-kernels --lib --test miri`): the worker pool's unsafe lifetime erasure under
//! concurrency, nesting and panics, and the scalar paths (quantizer, matmul, attention, Philox,
//! tensors) on tiny shapes, each against values computed here. Also runs in the normal suite.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use core::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use half::f16;
use mycel_kernels::Backend;
use mycel_kernels::attention::{AttentionMode, AttentionParams, AttnInput, attention};
use mycel_kernels::cpu::pool;
use mycel_kernels::matmul::{QWeights, Weights, matmul, matmul_q8};
use mycel_kernels::philox::{fill_uniform, generate_uniform};
use mycel_kernels::quant::{BlockQ8_0, dequantize_q8_0, quantize_q4_0, quantize_q8_0};
use mycel_kernels::tensor::{DType, Tensor};

/// Borrowed data written by every index, from several threads, nested and with a panic.
#[test]
fn pool_borrows_nesting_and_panics() {
    let cells: Vec<Mutex<usize>> = (0..6).map(|_| Mutex::new(0)).collect();
    pool::for_each(6, &|i| {
        let inner = AtomicUsize::new(0);
        pool::for_each(3, &|j| {
            inner.fetch_add(j + 1, Ordering::SeqCst);
        })
        .unwrap();
        *cells[i].lock().unwrap() = i * 10 + inner.load(Ordering::SeqCst);
    })
    .unwrap();
    let got: Vec<usize> = cells.into_iter().map(|c| c.into_inner().unwrap()).collect();
    assert_eq!(got, vec![6, 16, 26, 36, 46, 56]);
    let r = pool::for_each(3, &|i| {
        if i == 1 {
            panic!("one");
        }
    });
    assert_eq!(r.unwrap_err().code(), "worker_panicked");
    // Concurrent callers share the pool.
    let total = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                pool::for_each(4, &|i| {
                    total.fetch_add(i, Ordering::SeqCst);
                })
                .unwrap();
            });
        }
    });
    assert_eq!(total.load(Ordering::SeqCst), 12);
}

/// The scalar matmul (1 and 2 threads) against §4.2 written out here, with a −128 activation.
#[test]
fn scalar_matmul_tiny() {
    let (m, n, k) = (2usize, 3usize, 32usize);
    let x: Vec<f32> = (0..m * k).map(|i| (i as f32 - 20.0) / 8.0).collect();
    let w: Vec<f32> = (0..n * k).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
    let wq = quantize_q8_0(&w, k).unwrap();
    let ww = Weights::new(QWeights::Q8_0(&wq), n, k).unwrap();
    let mut xq = quantize_q8_0(&x, k).unwrap();
    xq[1].qs[3] = i8::MIN;
    let mut want = vec![0.0f32; m * n];
    for r in 0..m {
        for c in 0..n {
            let sumi: i32 = (0..32)
                .map(|j| i32::from(xq[r].qs[j]) * i32::from(wq[c].qs[j]))
                .sum();
            want[r * n + c] = (wq[c].d().to_f32() * xq[r].d().to_f32()).mul_add(sumi as f32, 0.0);
        }
    }
    for t in [1, 2] {
        assert_eq!(matmul_q8(&xq, m, &ww, Backend::Scalar, t).unwrap(), want);
    }
    let y = matmul(&x, m, &ww, Backend::Scalar, 2).unwrap();
    assert_eq!(y.len(), m * n);
    let q4 = quantize_q4_0(&w, k).unwrap();
    assert_eq!(q4.len(), n);
    // Dequantize: d · q exactly.
    let dq = dequantize_q8_0(&wq[..1]);
    assert_eq!(dq[5], wq[0].d().to_f32() * f32::from(wq[0].qs[5]));
}

/// Scalar attention on one head, one query, three keys: equal keys weight the values equally.
#[test]
fn scalar_attention_tiny() {
    let p = AttentionParams::new(1, 1, 1, 3, 64);
    let q = vec![0.5f32; 64];
    let k = vec![0.25f32; 3 * 64];
    let v: Vec<f32> = (0..3 * 64).map(|i| (i / 64) as f32).collect();
    for t in [1, 2] {
        let y = attention(
            &p,
            AttnInput::F32(&q),
            AttnInput::F32(&k),
            AttnInput::F32(&v),
            AttentionMode::Verifiable,
            Backend::Scalar,
            t,
        )
        .unwrap();
        // (0 + 1 + 2) / 3 with equal weights w: (w·0 + w·1 + w·2) / (3w) = 1 exactly.
        assert!(y.iter().all(|&o| o == 1.0), "{y:?}");
    }
    let h: Vec<f16> = q.iter().map(|&x| f16::from_f32(x)).collect();
    let kh: Vec<f16> = k.iter().map(|&x| f16::from_f32(x)).collect();
    let vh: Vec<f16> = v.iter().map(|&x| f16::from_f32(x)).collect();
    let y = attention(
        &p,
        AttnInput::F16(&h),
        AttnInput::F16(&kh),
        AttnInput::F16(&vh),
        AttentionMode::Verifiable,
        Backend::Scalar,
        2,
    )
    .unwrap();
    assert!(y.iter().all(|&o| o == 1.0));
}

/// Philox in parts equals at once; tensors check their bytes.
#[test]
fn philox_and_tensors_tiny() {
    let all = generate_uniform(&[9; 32], 3, 10).unwrap();
    let mut part = vec![0.0f32; 6];
    fill_uniform(&[9; 32], 3, 4, &mut part).unwrap();
    assert_eq!(&all[4..], &part[..]);
    assert!(all.iter().all(|x| (-1.0..1.0).contains(x)));
    let blocks = [BlockQ8_0 {
        d: f16::from_f32(1.0).to_le_bytes(),
        qs: [1; 32],
    }];
    let t = Tensor::from_le_bytes(DType::Q8_0, &[32], bytemuck::cast_slice(&blocks)).unwrap();
    assert_eq!(t.as_bytes().len(), 34);
    assert!(Tensor::from_le_bytes(DType::Q8_0, &[32], &[0; 33]).is_err());
}
