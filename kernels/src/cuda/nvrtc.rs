//! The embedded kernel sources and the one way they are compiled (NVRTC, at run time).
//!
//! Every source is the prelude (`kernels/common.cuh`) followed by its own `.cu` file, compiled
//! with [`compile_options`]: `--fmad=false` (nothing contracted into an FMA unless the source
//! says `__fmaf_rn`), IEEE division and square root, no flush-to-zero, no fast math. The
//! result is a CUBIN for the device's exact architecture (`sm_XY`), so no PTX is JIT-compiled
//! by the driver and the driver's version never changes the machine code that runs.
//! `scripts/cuda-check` compiles every source here for `sm_90` with these same options and
//! fails on any error or warning.

use core::ffi::c_char;
use std::ffi::CString;

use cudarc::nvrtc::{result, sys};

use crate::error::{CudaError, Result};

/// The prelude every kernel source starts with (types, binary16 conversions, Q4_0 unpacking).
pub const PRELUDE: &str = include_str!("kernels/common.cuh");

/// One embedded CUDA C++ source file and the kernels it defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KernelSource {
    /// A short name (the file name without `.cu`), used in errors and as the program name.
    pub name: &'static str,
    /// The file's text (without the prelude).
    pub body: &'static str,
    /// The `extern "C"` kernels it defines.
    pub functions: &'static [&'static str],
}

/// Q8_0 activation quantization on device.
pub const QUANTIZE: KernelSource = KernelSource {
    name: "quantize",
    body: include_str!("kernels/quantize.cu"),
    functions: &["mycel_quantize_q8_0"],
};

/// Small-M (matrix-vector) quantized matmul.
pub const MATVEC: KernelSource = KernelSource {
    name: "matvec",
    body: include_str!("kernels/matvec.cu"),
    functions: &["mycel_matvec_q8_0", "mycel_matvec_q4_0"],
};

/// Tiled quantized matmul on int8 tensor cores (M >= 16).
pub const MATMUL_MMA: KernelSource = KernelSource {
    name: "matmul_mma",
    body: include_str!("kernels/matmul_mma.cu"),
    functions: &["mycel_matmul_q8_0", "mycel_matmul_q4_0"],
};

/// Philox4x32-10 input generation on device.
pub const PHILOX: KernelSource = KernelSource {
    name: "philox",
    body: include_str!("kernels/philox.cu"),
    functions: &["mycel_philox_f32"],
};

/// Verifiable-mode attention and the exact f16/bf16 widening it reads through.
pub const ATTENTION: KernelSource = KernelSource {
    name: "attention",
    body: include_str!("kernels/attention.cu"),
    functions: &[
        "mycel_attention_verifiable",
        "mycel_attention_fast",
        "mycel_attention_decode_split",
        "mycel_attention_decode_merge",
        "mycel_widen_f16",
        "mycel_widen_bf16",
    ],
};

/// Every embedded source: the compile check walks this list.
pub const SOURCES: &[KernelSource] = &[QUANTIZE, MATVEC, MATMUL_MMA, PHILOX, ATTENTION];

impl KernelSource {
    /// The full text handed to NVRTC: the prelude, then the file.
    pub fn full_source(&self) -> String {
        let mut s = String::with_capacity(
            PRELUDE
                .len()
                .saturating_add(self.body.len())
                .saturating_add(1),
        );
        s.push_str(PRELUDE);
        s.push('\n');
        s.push_str(self.body);
        s
    }
}

/// The NVRTC options every source is compiled with, for compute capability `major.minor`.
/// These are normative for the determinism contract (spec/kernels.md, "CUDA backend").
pub fn compile_options(major: u32, minor: u32) -> Vec<String> {
    vec![
        format!("--gpu-architecture=sm_{major}{minor}"),
        "--fmad=false".to_owned(),
        "--ftz=false".to_owned(),
        "--prec-div=true".to_owned(),
        "--prec-sqrt=true".to_owned(),
        "--std=c++17".to_owned(),
    ]
}

/// What NVRTC produced for one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    /// The CUBIN (device machine code for exactly the requested architecture).
    pub cubin: Vec<u8>,
    /// The PTX NVRTC generated on the way (kept for inspection; the backend loads the CUBIN).
    pub ptx: String,
    /// The compiler log: empty when there was nothing to say. Warnings appear here.
    pub log: String,
}

/// Whether the NVRTC library (`libnvrtc.so.13`) can be loaded on this machine.
pub fn nvrtc_available() -> bool {
    // SAFETY: is_culib_present only tries to dlopen the library by its candidate names.
    unsafe { sys::is_culib_present() }
}

/// NVRTC's version, `(major, minor)`; [`CudaError::NvrtcUnavailable`] without the library.
pub fn nvrtc_version() -> Result<(i32, i32)> {
    if !nvrtc_available() {
        return Err(CudaError::NvrtcUnavailable.into());
    }
    let (mut major, mut minor) = (0, 0);
    // SAFETY: the library is present (checked above); both pointers are valid for writes.
    let r = unsafe { sys::nvrtcVersion(&mut major, &mut minor) };
    r.result().map_err(|e| nvrtc_err("nvrtcVersion", e))?;
    Ok((major, minor))
}

fn nvrtc_err(call: &'static str, e: result::NvrtcError) -> crate::error::Error {
    CudaError::Driver {
        call,
        code: format!("{:?}", e.0),
    }
    .into()
}

fn c_chars_to_string(v: &[c_char]) -> String {
    let bytes: Vec<u8> = v.iter().map(|&c| c as u8).take_while(|&b| b != 0).collect();
    String::from_utf8_lossy(&bytes).trim().to_owned()
}

/// A created NVRTC program, destroyed on drop.
struct Program(sys::nvrtcProgram);

impl Drop for Program {
    fn drop(&mut self) {
        // SAFETY: self.0 came from create_program and is destroyed exactly once, here. A
        // failure to free is ignored: nothing useful can be done with it in drop.
        let _ = unsafe { result::destroy_program(self.0) };
    }
}

/// Compile one source for compute capability `major.minor` with [`compile_options`].
///
/// Errors: [`CudaError::NvrtcUnavailable`] without `libnvrtc`, [`CudaError::Compile`] with
/// the compiler log when the source does not compile.
pub fn compile(src: &KernelSource, major: u32, minor: u32) -> Result<Compiled> {
    compile_with(src, major, minor, &[])
}

/// [`compile`] with extra NVRTC options appended (diagnostics such as `-Xptxas -v`, which
/// reports registers and spills in the log; the backend itself never adds any).
pub fn compile_with(
    src: &KernelSource,
    major: u32,
    minor: u32,
    extra: &[&str],
) -> Result<Compiled> {
    if !nvrtc_available() {
        return Err(CudaError::NvrtcUnavailable.into());
    }
    let text = CString::new(src.full_source()).map_err(|_| CudaError::Compile {
        kernel: src.name,
        log: "source contains a NUL byte".to_owned(),
    })?;
    let name = CString::new(format!("{}.cu", src.name)).map_err(|_| CudaError::Compile {
        kernel: src.name,
        log: "name contains a NUL byte".to_owned(),
    })?;
    let prog = Program(
        result::create_program(&text, Some(name.as_c_str()))
            .map_err(|e| nvrtc_err("nvrtcCreateProgram", e))?,
    );
    let mut options = compile_options(major, minor);
    options.extend(extra.iter().map(|o| (*o).to_owned()));
    if options.iter().any(|o| o.contains('\0')) {
        return Err(CudaError::Compile {
            kernel: src.name,
            log: "an option contains a NUL byte".to_owned(),
        }
        .into());
    }
    // SAFETY: prog.0 is a live program created above; the options contain no NUL bytes.
    let compiled = unsafe { result::compile_program(prog.0, &options) };
    // SAFETY: prog.0 is live.
    let log = unsafe { result::get_program_log(prog.0) }
        .map(|v| c_chars_to_string(&v))
        .unwrap_or_default();
    if compiled.is_err() {
        return Err(CudaError::Compile {
            kernel: src.name,
            log: if log.is_empty() {
                format!("{compiled:?}")
            } else {
                log
            },
        }
        .into());
    }
    // SAFETY: prog.0 is live and compiled.
    let ptx = unsafe { result::get_ptx(prog.0) }
        .map(|v| c_chars_to_string(&v))
        .map_err(|e| nvrtc_err("nvrtcGetPTX", e))?;
    let mut size = 0usize;
    // SAFETY: prog.0 is live and compiled; size is a valid out pointer.
    unsafe { sys::nvrtcGetCUBINSize(prog.0, &mut size) }
        .result()
        .map_err(|e| nvrtc_err("nvrtcGetCUBINSize", e))?;
    let mut cubin = vec![0u8; size];
    // SAFETY: cubin has exactly `size` writable bytes, as NVRTC asked for.
    unsafe { sys::nvrtcGetCUBIN(prog.0, cubin.as_mut_ptr().cast::<c_char>()) }
        .result()
        .map_err(|e| nvrtc_err("nvrtcGetCUBIN", e))?;
    Ok(Compiled { cubin, ptx, log })
}
