//! A build without the `cuda` feature has the same CUDA API, and every call is a typed
//! `backend_unavailable` error (never a compile error, never a panic); the CPU path is intact.
#![cfg(not(feature = "cuda"))]

use mycel_kernels::attention::{AttentionMode, AttentionParams, AttnInput};
use mycel_kernels::cuda::{self, CudaDevice};
use mycel_kernels::matmul::{QWeights, Weights, matmul};
use mycel_kernels::quant::quantize_q8_0;
use mycel_kernels::{Backend, Error};

fn is_unavailable<T: core::fmt::Debug>(r: Result<T, Error>) -> bool {
    matches!(r, Err(Error::BackendUnavailable(_)))
}

#[test]
fn every_entry_point_is_backend_unavailable() {
    assert!(!cuda::driver_available());
    assert!(!cuda::available());
    assert!(is_unavailable(cuda::device_count()));
    let e = CudaDevice::open(0).unwrap_err();
    assert_eq!(e.code(), "backend_unavailable");

    let wq = quantize_q8_0(&[0.5f32; 64], 32).unwrap();
    let w = Weights::new(QWeights::Q8_0(&wq), 2, 32).unwrap();
    let x = [1.0f32; 32];
    assert!(is_unavailable(cuda::matmul(0, &x, 1, &w)));
    let xq = quantize_q8_0(&x, 32).unwrap();
    assert!(is_unavailable(cuda::matmul_q8(0, &xq, 1, &w)));
    let p = AttentionParams::new(1, 1, 1, 1, 64);
    let v = [0.0f32; 64];
    assert!(is_unavailable(cuda::attention(
        0,
        &p,
        AttnInput::F32(&v),
        AttnInput::F32(&v),
        AttnInput::F32(&v),
        AttentionMode::Verifiable
    )));
    // the CPU backends are unaffected
    assert_eq!(matmul(&x, 1, &w, Backend::Scalar, 1).unwrap().len(), 2);
}
