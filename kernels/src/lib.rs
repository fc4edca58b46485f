//! # mycel-kernels
//!
//! The work that mycel miners sell and validators re-check: GGML-compatible Q8_0/Q4_0
//! quantized matmul and scaled-dot-product attention, with a scalar reference and SIMD
//! backends that produce **identical bits** (spec/kernels.md is the contract).
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod error;

pub use error::{Error, Result};
