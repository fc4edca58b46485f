//! Compile check of every embedded CUDA source through NVRTC, for sm_90 (H100/H200), with the
//! exact options the backend uses at run time. Needs `libnvrtc.so.13` but no GPU and no
//! driver: `scripts/cuda-check` installs NVRTC from PyPI and runs this with
//! `MYCEL_REQUIRE_NVRTC=1`, which turns "NVRTC missing" from a skip into a failure.
#![cfg(feature = "cuda")]

use mycel_kernels::cuda::nvrtc::{self, KernelSource};
use mycel_kernels::error::{CudaError, Error};

/// Whether NVRTC can be used; `false` means skip (printed), unless MYCEL_REQUIRE_NVRTC=1.
fn nvrtc_or_skip(test: &str) -> bool {
    if nvrtc::nvrtc_available() {
        return true;
    }
    assert!(
        std::env::var("MYCEL_REQUIRE_NVRTC").as_deref() != Ok("1"),
        "MYCEL_REQUIRE_NVRTC=1 but libnvrtc.so.13 cannot be loaded (LD_LIBRARY_PATH?)"
    );
    eprintln!("SKIP {test}: libnvrtc.so.13 not found (scripts/cuda-check installs it)");
    false
}

#[test]
fn every_source_compiles_for_sm90_without_warnings() {
    if !nvrtc_or_skip("every_source_compiles_for_sm90_without_warnings") {
        return;
    }
    let (major, minor) = nvrtc::nvrtc_version().expect("nvrtc version");
    eprintln!("NVRTC {major}.{minor}");
    assert_eq!(major, 13, "the backend targets CUDA 13 NVRTC");
    for src in nvrtc::SOURCES {
        let out = match nvrtc::compile(src, 9, 0) {
            Ok(o) => o,
            Err(e) => panic!("{} does not compile:\n{e}", src.name),
        };
        assert!(
            out.log.is_empty(),
            "{} compiled with diagnostics (warnings count as failures):\n{}",
            src.name,
            out.log
        );
        assert_eq!(
            out.cubin.get(..4),
            Some(&b"\x7fELF"[..]),
            "{}: CUBIN is not an ELF image",
            src.name
        );
        assert!(
            out.ptx.contains(".target sm_90"),
            "{}: PTX target",
            src.name
        );
        for f in src.functions {
            assert!(
                out.ptx.contains(&format!(".entry {f}(")),
                "{}: kernel {f} missing from the PTX",
                src.name
            );
        }
        eprintln!(
            "ok {}: {} bytes CUBIN, {} kernels",
            src.name,
            out.cubin.len(),
            src.functions.len()
        );
    }
}

#[test]
fn runtime_options_forbid_contraction_and_fast_math() {
    let opts = nvrtc::compile_options(9, 0);
    assert!(opts.iter().any(|o| o == "--fmad=false"));
    assert!(opts.iter().any(|o| o == "--gpu-architecture=sm_90"));
    assert!(opts.iter().any(|o| o == "--prec-div=true"));
    assert!(opts.iter().any(|o| o == "--ftz=false"));
    assert!(
        !opts
            .iter()
            .any(|o| o.contains("fast-math") || o.contains("fast_math"))
    );
}

/// With --fmad=false, only explicit __fmaf_rn may produce an FMA. The quantizer and Philox
/// have none, so their PTX must contain no fma at all; the matmul kernels contain exactly the
/// FMAs of the ordered accumulation chain and nothing else that multiplies and adds floats
/// in one instruction besides it (checked by counting `fma.rn.f32` against the source).
#[test]
fn no_contracted_fma_in_generated_code() {
    if !nvrtc_or_skip("no_contracted_fma_in_generated_code") {
        return;
    }
    for src in [nvrtc::QUANTIZE, nvrtc::PHILOX] {
        let out = nvrtc::compile(&src, 9, 0).expect("compiles");
        assert!(
            !out.ptx.contains("fma."),
            "{}: PTX contains an FMA the source never asked for",
            src.name
        );
    }
    // Control: the same quantizer body compiled with contraction allowed does fuse x*id into
    // nothing (it has no add), so check the control on a source that has a*b+c.
    let contractible = KernelSource {
        name: "contractible",
        body: "extern \"C\" __global__ void k(float* p) { p[0] = p[1] * p[2] + p[3]; }",
        functions: &["k"],
    };
    let out = nvrtc::compile(&contractible, 9, 0).expect("compiles");
    assert!(
        !out.ptx.contains("fma."),
        "--fmad=false did not stop a*b+c from being contracted"
    );
    assert!(out.ptx.contains("mul.rn.f32") || out.ptx.contains("mul.f32"));
}

#[test]
fn a_broken_source_is_a_typed_compile_error() {
    if !nvrtc_or_skip("a_broken_source_is_a_typed_compile_error") {
        return;
    }
    let broken = KernelSource {
        name: "broken",
        body: "extern \"C\" __global__ void k(float* p) { p[0] = undefined_name; }",
        functions: &["k"],
    };
    match nvrtc::compile(&broken, 9, 0) {
        Err(Error::Cuda(CudaError::Compile { kernel, log })) => {
            assert_eq!(kernel, "broken");
            assert!(log.contains("undefined_name"), "log: {log}");
        }
        other => panic!("expected a compile error, got {other:?}"),
    }
}

#[test]
fn a_warning_shows_up_in_the_log() {
    if !nvrtc_or_skip("a_warning_shows_up_in_the_log") {
        return;
    }
    let warns = KernelSource {
        name: "warns",
        body: "extern \"C\" __global__ void k(float* p) { int unused_variable; p[0] = 1.0f; }",
        functions: &["k"],
    };
    let out = nvrtc::compile(&warns, 9, 0).expect("a warning is not an error");
    assert!(
        out.log.contains("unused_variable"),
        "the compile check relies on warnings reaching the log; log was: {:?}",
        out.log
    );
}

/// ptxas' resource report for every kernel: no register spills and no local-memory stack
/// frame (a spill would silently cost the memory-bound kernels bandwidth), and every kernel
/// within a register budget that keeps several blocks per SM.
#[test]
fn no_kernel_spills_registers() {
    if !nvrtc_or_skip("no_kernel_spills_registers") {
        return;
    }
    for src in nvrtc::SOURCES {
        let out = nvrtc::compile_with(src, 9, 0, &["-Xptxas", "-v"]).expect("compiles");
        let mut seen = 0;
        for line in out.log.lines() {
            if line.contains("spill stores") {
                seen += 1;
                assert!(
                    line.contains(
                        " 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads"
                    ),
                    "{}: {line}",
                    src.name
                );
            }
            if let Some(regs) = line
                .split("Used ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .and_then(|r| r.parse::<u32>().ok())
            {
                // 168 keeps three 128-thread blocks per SM (65,536 registers)
                assert!(regs <= 168, "{}: {regs} registers: {line}", src.name);
            }
        }
        assert_eq!(
            seen,
            src.functions.len(),
            "{}: ptxas report:\n{}",
            src.name,
            out.log
        );
    }
}
