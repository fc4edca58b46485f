//! CPU backends: the scalar reference (normative) and SIMD variants, chosen at run time.
//!
//! No `target-cpu=native` anywhere: the binary runs on any x86-64 and picks the best code path
//! it finds with `is_x86_feature_detected!` (once per call; the standard library caches the
//! CPUID result). Every SIMD path produces the same bits as the scalar reference
//! (spec/kernels.md).

use crate::error::{Error, Result};

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2_packed;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;
pub mod pool;
pub mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(crate) mod simd128;

/// Weight rows the SIMD kernels process per pass (one accumulator lane each).
pub const NR: usize = 8;

/// A CPU instruction set a kernel actually runs with (what a [`crate::Backend`] resolves to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Portable scalar Rust: the normative reference.
    Scalar,
    /// x86-64 AVX2 with FMA and F16C (every CPU with AVX2 since 2013 has all three).
    Avx2,
}

impl Isa {
    /// A short lowercase label (`"scalar"`, `"avx2"`), for logs and receipts' backend field.
    pub fn label(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
        }
    }
}

/// Whether this CPU runs the [`Isa::Avx2`] paths: AVX2, FMA and F16C all detected at run time.
/// Always `false` off x86-64.
pub fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether this CPU also has AVX-VNNI (`vpdpbusd` on 256-bit registers, VEX-encoded): CPUID
/// leaf 7 sub-leaf 1, EAX bit 4, on top of [`avx2_available`]. `Backend::Auto` then uses it in
/// the matmul (same bits: the integer sums it computes are exact).
pub fn avx_vnni_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if !avx2_available() {
            return false;
        }
        // SAFETY: CPUID exists on every x86-64 CPU; leaf 7 is read only if the CPU reports it.
        #[allow(unused_unsafe)]
        let (max_leaf, eax71) = unsafe {
            let max = core::arch::x86_64::__cpuid(0).eax;
            (
                max,
                if max >= 7 {
                    core::arch::x86_64::__cpuid_count(7, 1).eax
                } else {
                    0
                },
            )
        };
        max_leaf >= 7 && eax71 & (1 << 4) != 0
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether decode (M = 1) should prefetch the next weight-row group as one linear range while
/// the current one runs (AMD CPUs), rather than only each row a few blocks ahead (others). A
/// hint for speed only, the bits do not depend on it. Measured: on the AMD EPYC of
/// benches/README.md the linear prefetch took plain-AVX2 Q8_0 decode from 23.2 to 36.7 GB/s;
/// on its "Intel(R) Xeon(R) Processor" it cost a third (the next group goes into L1, which it
/// overflows on the AVX-512 path). Read from CPUID once per process.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) fn linear_decode_prefetch() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static AMD: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *AMD.get_or_init(|| {
            // SAFETY: CPUID leaf 0 exists on every x86-64 CPU.
            #[allow(unused_unsafe)]
            let r = unsafe { core::arch::x86_64::__cpuid(0) };
            let mut vendor = [0u8; 12];
            for (dst, v) in vendor.chunks_exact_mut(4).zip([r.ebx, r.edx, r.ecx]) {
                dst.copy_from_slice(&v.to_le_bytes());
            }
            &vendor == b"AuthenticAMD" || &vendor == b"HygonGenuine"
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether this is an AMD CPU with AVX-512 (Zen 4 and later; read from CPUID once per process),
/// where decode's software prefetch differs: the linear prefetch of the next group requests into L2
/// (`prefetcht1`) instead of L1, on the AVX2 and AVX-512 loops, and the packed loops add a second
/// prefetch into L2, farther ahead than their L1 one. A next group in L1 beside the one being read
/// (18 KiB for Q4_0 at K = 4096, 34 KiB for Q8_0, twice that on the 16-row AVX-512 loop) evicts
/// lines before they are used there: measured on an AMD EPYC Zen 4 (family 25 model 17), one
/// thread, cold weights, the `t1` hint took the AVX2 loop from 14–15 to 19–20 GB/s for Q4_0 and
/// from 13 to 22–27 for Q8_0, the AVX-512 loop from 10.5 to 21–23 (benches/README.md, ggml
/// section). Hints only: the bits do not depend on them. AMD CPUs without AVX-512 (Zen 3) keep what
/// they were tuned with; Zen 5 takes this path too but was not measured here.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) fn amd_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static AMD512: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *AMD512.get_or_init(|| {
            linear_decode_prefetch() && std::arch::is_x86_feature_detected!("avx512f")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether this CPU also has AVX-512 F, BW and VNNI (512-bit `vpdpbusd`), on top of
/// [`avx2_available`]. `Backend::Auto` then uses them in the Q8_0 matmul (same bits).
pub fn avx512_vnni_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        avx512::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether this build runs the WASM SIMD128 matmul: compiled for `wasm32` with
/// `-C target-feature=+simd128` (WebAssembly has no run-time feature detection: a module using
/// SIMD128 does not load without it). `Backend::Auto` then uses it in the matmul (same bits).
pub fn simd128_available() -> bool {
    cfg!(all(target_arch = "wasm32", target_feature = "simd128"))
}

/// The best CPU instruction set available on this machine.
pub fn best_isa() -> Isa {
    if avx2_available() {
        Isa::Avx2
    } else {
        Isa::Scalar
    }
}

/// Resolve a requested AVX2 backend: an error when the CPU lacks it.
pub(crate) fn require_avx2() -> Result<Isa> {
    if avx2_available() {
        Ok(Isa::Avx2)
    } else {
        Err(Error::BackendUnavailable(
            "avx2: this CPU lacks AVX2, FMA or F16C",
        ))
    }
}

/// How many worker threads to use when the caller passes `threads = 0`: the number of CPUs
/// this process may run on (`std::thread::available_parallelism`), 1 if unknown.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, core::num::NonZeroUsize::get)
}

/// Turn a caller's thread request into a count ≥ 1 (`0` means [`default_threads`]).
///
/// The count is how many ways a call splits its work, not how many OS threads it starts: the
/// pieces run on the calling thread and the persistent pool ([`pool`]), which never holds more
/// than [`pool::max_workers`] threads (the machine's parallelism minus the caller, at least
/// one), whatever count is asked for. Any count gives the same bits.
pub fn resolve_threads(threads: usize) -> usize {
    if threads == 0 {
        default_threads()
    } else {
        threads
    }
}
