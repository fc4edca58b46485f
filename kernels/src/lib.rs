//! # mycel-kernels
//!
//! The work that mycel miners sell and validators re-check: GGML-compatible Q8_0/Q4_0
//! quantized matmul and scaled-dot-product attention, with a scalar reference and SIMD
//! backends that produce **identical bits** (spec/kernels.md is the contract).
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

//! ## Crate map
//!
//! | module | what it holds |
//! |---|---|
//! | [`error`] | the one [`Error`] enum, each variant with a stable `code()` |
//! | [`cpu`] | run-time CPU feature detection, the scalar reference, the AVX2, AVX-VNNI and AVX-512 VNNI matmul paths, and the worker pool ([`cpu::pool`]) |
//! | [`cuda`] | the CUDA backend (feature `cuda`; NVRTC at run time, no toolkit needed to build); without the feature the same API returns [`Error::BackendUnavailable`] |
//! | `quant` | GGML-compatible Q8_0 / Q4_0 blocks, quantize / dequantize |
//! | `tensor` | dtype + shape checked tensors and their commitment |
//! | `philox` | Philox4x32-10 and the normative `u32 → f32` mapping for task inputs |
//! | `matmul` | Q8_0-activation × Q8_0/Q4_0-weight matmul under the determinism contract |
//! | `attention` | scaled dot-product attention (verifiable and fast modes) |
//! | `exec` | executing a protocol `TaskSpec`: output tensor, commitment, tile root |
//! | `tile` | one output tile at a time: tile leaves, one recomputed tile (fraud proofs), weights generated row by row |
//!
//! Every operation takes a [`Backend`]. `Backend::Auto` picks the fastest CPU path found at run
//! time (AVX2 or scalar; the matmul also AVX-VNNI and AVX-512 VNNI where the CPU has them); all
//! paths, CUDA included, give identical bits, so the choice never changes a result.
//!
//! Whatever the host does, the results stay the same: every entry point runs with the default
//! floating-point environment (round to nearest even, no flush-to-zero, no denormals-are-zero)
//! and restores the caller's afterwards; the worker pool never holds more threads than
//! [`cpu::pool::max_workers`] (the machine's parallelism minus the caller), however many
//! threads a call asks for (the work is still split that many ways); and no input makes a
//! kernel panic: every failure is a typed [`Error`] with a stable `code()`.

pub mod attention;
pub mod cpu;
/// The CUDA backend (feature `cuda`); without the feature the same types exist and every call
/// returns [`Error::BackendUnavailable`].
#[cfg(feature = "cuda")]
pub mod cuda;
/// The CUDA backend is not compiled into this build: the same public types exist and every
/// call returns [`Error::BackendUnavailable`] (enable the `cuda` feature).
#[cfg(not(feature = "cuda"))]
#[path = "no_cuda.rs"]
pub mod cuda;
pub mod error;
pub mod exec;
pub(crate) mod fpenv;
pub mod matmul;
pub mod packed;
pub mod philox;
pub mod quant;
pub mod tensor;
pub mod tile;

pub use attention::{AttentionMode, AttentionParams, AttnInput, attention};
pub use cpu::Isa;
pub use error::{Error, Result};

/// Which implementation runs a kernel.
///
/// The same enum exists in every build: a backend that is not compiled in or not present on
/// this machine is reported by [`Backend::resolve`] as [`Error::BackendUnavailable`], never as
/// a compile error. Every backend produces the same output bits (spec/kernels.md), so the
/// choice is about speed only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Backend {
    /// The portable scalar reference implementation (normative).
    Scalar,
    /// x86-64 AVX2 + FMA + F16C, detected at run time (no `target-cpu=native` needed).
    Avx2,
    /// The fastest CPU backend this machine supports (AVX2 if detected, else scalar); the
    /// matmul additionally uses AVX-VNNI and AVX-512 VNNI when the CPU has them (same bits, see
    /// spec/kernels.md).
    #[default]
    Auto,
    /// The CUDA device with this ordinal (feature `cuda`). The matmul, attention and task
    /// entry points send the work to the device; without the feature, without a driver, or
    /// without a device of this ordinal, every one of them returns
    /// [`Error::BackendUnavailable`].
    Cuda(u32),
}

impl Backend {
    /// The CPU instruction set this backend runs with on this machine.
    ///
    /// `Auto` never fails; `Avx2` fails when the CPU lacks AVX2, FMA or F16C. `Cuda(i)` has
    /// no CPU instruction set: it fails with the same "no device" error as every CUDA entry
    /// point when the device is missing (no `cuda` feature, no driver, no device `i`), and,
    /// where the device exists, with a [`Error::BackendUnavailable`] saying that only the
    /// matmul, attention and task entry points run on it.
    pub fn resolve(self) -> Result<Isa> {
        match self {
            Backend::Scalar => Ok(Isa::Scalar),
            Backend::Avx2 => cpu::require_avx2(),
            Backend::Auto => Ok(cpu::best_isa()),
            Backend::Cuda(ordinal) => {
                cuda::probe(ordinal)?;
                Err(Error::BackendUnavailable(
                    "cuda: a device backend has no CPU instruction set; only matmul, attention and task execution run on it",
                ))
            }
        }
    }

    /// Parse a command-line style name: `scalar`, `avx2`, `auto`, `cuda` (device 0) or `cuda:N`.
    pub fn parse(name: &str) -> Option<Backend> {
        match name {
            "scalar" => Some(Backend::Scalar),
            "avx2" => Some(Backend::Avx2),
            "auto" => Some(Backend::Auto),
            "cuda" => Some(Backend::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Backend::Cuda),
        }
    }
}
