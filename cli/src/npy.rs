//! The `.npy` reader of the kernel commands, over any reader, so that the fuzz target
//! `npy_reader` (fuzz/) runs exactly this code on arbitrary bytes. It uses nothing else of the
//! CLI.
//!
//! Limits, checked from the header before any data is allocated: C order, dtype float32 or
//! float16 (either byte order), at most [`MAX_ELEMENTS`] elements, and a data size that fits the
//! input's length.

use std::io::Read;

/// Largest element count accepted: the kernels' tensor bound (`MAX_TASK_ELEMENTS`, 2^28).
pub const MAX_ELEMENTS: u64 = mycel_kernels::exec::MAX_TASK_ELEMENTS as u64;

/// An array read from a `.npy` file.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyArray {
    /// float32 data.
    F32(Vec<f32>),
    /// float16 data.
    F16(Vec<half::f16>),
}

/// Parses a `.npy` of `len` bytes from `reader`: `(shape, data)`, or an error naming what is
/// wrong (the caller adds the file name).
pub fn parse<R: Read>(reader: R, len: u64) -> Result<(Vec<usize>, NpyArray), String> {
    let npy = npyz::NpyFile::new(reader).map_err(|e| e.to_string())?;
    if npy.order() != npyz::Order::C {
        return Err("Fortran-order arrays are not supported; save with C order".into());
    }
    let shape: Vec<usize> = npy
        .shape()
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| "dimension too large".to_string()))
        .collect::<Result<_, _>>()?;
    let count = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d as u64));
    if count.is_none_or(|c| c > MAX_ELEMENTS) {
        return Err(format!(
            "shape {shape:?} has more than {MAX_ELEMENTS} elements, the tensor size limit"
        ));
    }
    let dtype = npy.dtype().descr();
    let elem = match dtype.as_str() {
        "'<f4'" | "'>f4'" => 4,
        "'<f2'" | "'>f2'" => 2,
        _ => {
            return Err(format!(
                "dtype {dtype} is not supported (float32 or float16)"
            ));
        }
    };
    match count.and_then(|c| c.checked_mul(elem)) {
        Some(bytes) if bytes <= len => {}
        _ => {
            return Err(format!(
                "header shape {shape:?} does not fit the file ({len} bytes)"
            ));
        }
    }
    let data = if elem == 4 {
        NpyArray::F32(npy.into_vec::<f32>().map_err(|e| e.to_string())?)
    } else {
        NpyArray::F16(npy.into_vec::<half::f16>().map_err(|e| e.to_string())?)
    };
    Ok((shape, data))
}
