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
pub mod signature;
pub mod task;
pub mod wire;

pub use wire::check_envelope;

/// Whether the inputs that reach known, still-open bugs owned by other work are generated too
/// (`MYCEL_FUZZ_UNMASK=1`): −128 Q8_0 activations (issue #20 item 1), tensor element counts
/// near `usize::MAX` (issue #20 item 3) and stake sums of 2^62 and more (issue #19 hole 6).
/// Off by default, so that `scripts/test` stays green until those fixes land; each masked place
/// says what it avoids.
pub fn unmasked() -> bool {
    static UNMASK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *UNMASK.get_or_init(|| std::env::var_os("MYCEL_FUZZ_UNMASK").is_some_and(|v| v == "1"))
}
