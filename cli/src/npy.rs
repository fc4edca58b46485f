//! The `.npy` reader of the kernel commands, over any reader, so that the fuzz target
//! `npy_reader` (fuzz/) runs exactly this code on arbitrary bytes. It uses nothing else of the
//! CLI.
//!
//! Limits, checked from the header before any data is allocated: a header length of at most
//! [`MAX_HEADER_LEN`] bytes that fits the input (checked here, before the npyz crate allocates
//! the header), C order, dtype float32 or float16 (either byte order), at most
//! [`MAX_ELEMENTS`] elements, and a data size that fits the input's length.

use std::io::Read;

/// Largest element count accepted: the kernels' tensor bound (`MAX_TASK_ELEMENTS`, 2^28).
pub const MAX_ELEMENTS: u64 = mycel_kernels::exec::MAX_TASK_ELEMENTS as u64;

/// Largest header accepted: numpy writes headers of a few hundred bytes; 64 KiB is generous.
pub const MAX_HEADER_LEN: u64 = 1 << 16;

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
pub fn parse<R: Read>(mut reader: R, len: u64) -> Result<(Vec<usize>, NpyArray), String> {
    // The preamble: magic (6 bytes), version (2), header length (u16 in version 1, u32 in 2
    // and 3). Read here so that the header length is checked before anything is allocated.
    let mut pre = [0u8; 12];
    let (magic, rest) = pre.split_at_mut(8);
    reader
        .read_exact(magic)
        .map_err(|_| "not a .npy file: shorter than its 8-byte preamble".to_string())?;
    if magic.get(..6) != Some(b"\x93NUMPY".as_slice()) {
        return Err("not a .npy file: no \\x93NUMPY magic".into());
    }
    let (field, pre_len) = match magic.get(6).copied() {
        Some(1) => (2, 10),
        Some(2 | 3) => (4, 12),
        other => {
            return Err(format!(
                ".npy format version {} is not supported (1, 2 or 3)",
                other.unwrap_or(0)
            ));
        }
    };
    let slot = rest.get_mut(..field).unwrap_or_default();
    reader
        .read_exact(slot)
        .map_err(|_| "truncated .npy preamble".to_string())?;
    // Little-endian u16 (version 1) or u32 (versions 2 and 3).
    let header_len = slot
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    if header_len > MAX_HEADER_LEN || header_len.saturating_add(pre_len as u64) > len {
        return Err(format!(
            "header of {header_len} bytes exceeds the {MAX_HEADER_LEN}-byte header limit or the \
             file ({len} bytes)"
        ));
    }
    // The header is read and checked here too: npyz's parser of the Python-literal header takes
    // time exponential in the nesting of brackets (a 285-byte file with a few dozen `{` ran for
    // minutes; found by the npy_reader fuzz target). A header numpy writes for a plain dtype is
    // one dict holding one shape tuple, so anything nested deeper is refused before parsing.
    let mut header = vec![0u8; usize::try_from(header_len).unwrap_or(0)];
    reader
        .read_exact(&mut header)
        .map_err(|_| format!("truncated .npy header: {header_len} bytes declared"))?;
    check_header_shape(&header)?;
    let preamble = pre.get(..pre_len).unwrap_or(&[]);
    let npy = npyz::NpyFile::new(preamble.chain(header.as_slice()).chain(reader))
        .map_err(|e| e.to_string())?;
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

/// Refuses headers that are not a flat dict with at most one tuple: non-ASCII text, more than
/// one `{`/`}` or `(`/`)`, or any list (structured dtypes, which are not supported anyway).
fn check_header_shape(header: &[u8]) -> Result<(), String> {
    let count = |c: u8| header.iter().filter(|&&b| b == c).count();
    if !header.is_ascii() {
        return Err(".npy header is not ASCII".into());
    }
    if count(b'{') != 1 || count(b'}') != 1 || count(b'(') > 1 || count(b')') > 1 {
        return Err(
            ".npy header is not one dict with one shape tuple (nested or repeated brackets)".into(),
        );
    }
    if count(b'[') > 0 || count(b']') > 0 {
        return Err(".npy header holds a list: structured dtypes are not supported".into());
    }
    // The one tuple is the shape: its element count must fit the bound before npyz multiplies
    // the dimensions (unchecked there: 2^64 - 1 times anything wraps, or panics with debug
    // assertions; found by the npy_reader fuzz target).
    let text = core::str::from_utf8(header).unwrap_or("");
    if let (Some(open), Some(close)) = (text.find('('), text.find(')')) {
        let inner = text.get(open.saturating_add(1)..close).unwrap_or("");
        let mut elements: u64 = 1;
        for dim in inner.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            let d: u64 = dim
                .parse()
                .map_err(|_| format!(".npy shape dimension {dim:?} is not an integer"))?;
            // npyz multiplies prefixes from both ends (the count, and the strides), so the
            // product of the nonzero dimensions is bounded: then every partial product fits.
            elements = elements.checked_mul(d.max(1)).ok_or_else(|| {
                format!(".npy shape ({inner}) overflows 64 bits: more than {MAX_ELEMENTS} elements")
            })?;
        }
        if elements > MAX_ELEMENTS {
            return Err(format!(
                ".npy shape ({inner}) has more than {MAX_ELEMENTS} elements, the tensor size limit"
            ));
        }
    }
    Ok(())
}
