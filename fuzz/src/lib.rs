//! Shared checks of mycel's cargo-fuzz targets (issue #15).
//!
//! Each target in `fuzz_targets/` is a thin `fuzz_target!` around one function here, so the
//! oracles are written once: the envelope and per-kind decoders share [`check_envelope`], the
//! allocation-bound checks share [`alloc`]. A check panics exactly when it found a bug: a
//! decoder that panicked or accepted a non-canonical encoding, a batch verdict differing from
//! the single one, an emission epoch paying more than it emits, and so on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod alloc;
pub mod emission;
pub mod ggml;
pub mod merkle;
pub mod node;
pub mod npy;
pub mod signature;
pub mod task;
pub mod wire;

pub use wire::check_envelope;
