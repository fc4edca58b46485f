//! numpy arrays in: dtype, contiguity and shape checks that name the argument, and zero-copy
//! borrows of the data.

use half::{bf16, f16};
use mycel_kernels::AttnInput;
use numpy::prelude::*;
use numpy::{PyArrayDyn, PyReadonlyArrayDyn, PyUntypedArray, dtype};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors;

/// A description of `obj`'s type for error messages: the numpy dtype, or the Python type.
fn describe(obj: &Bound<'_, PyAny>) -> String {
    match obj.cast::<PyUntypedArray>() {
        Ok(a) => format!("a numpy array of dtype {}", a.dtype()),
        Err(_) => obj
            .get_type()
            .name()
            .map_or_else(|_| "an object".to_owned(), |n| format!("{n}")),
    }
}

/// Whether the array's dtype is ml_dtypes' `bfloat16` (checked by name, so that nothing is
/// imported when it is not).
fn is_bfloat16(a: &Bound<'_, PyUntypedArray>) -> bool {
    a.dtype()
        .getattr("name")
        .and_then(|n| n.extract::<String>())
        .is_ok_and(|n| n == "bfloat16")
}

/// A C-contiguous float32, float16 or bfloat16 array, borrowed read-only.
#[derive(Debug)]
pub enum FloatArray<'py> {
    /// float32.
    F32(PyReadonlyArrayDyn<'py, f32>),
    /// float16.
    F16(PyReadonlyArrayDyn<'py, f16>),
    /// bfloat16 (ml_dtypes).
    Bf16(PyReadonlyArrayDyn<'py, bf16>),
}

impl<'py> FloatArray<'py> {
    /// Borrows `obj` (argument `name`): a C-contiguous numpy array of float32, float16 or
    /// bfloat16; anything else raises `DtypeError` or `ShapeError` naming `name`.
    pub fn extract(name: &str, obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        let expected = "float32, float16 or bfloat16 numpy array";
        let arr = obj
            .cast::<PyUntypedArray>()
            .map_err(|_| errors::dtype(name, expected, &describe(obj)))?;
        let dt = arr.dtype();
        let out = if dt.is_equiv_to(&dtype::<f32>(py)) {
            FloatArray::F32(obj.cast::<PyArrayDyn<f32>>()?.readonly())
        } else if dt.is_equiv_to(&dtype::<f16>(py)) {
            FloatArray::F16(obj.cast::<PyArrayDyn<f16>>()?.readonly())
        } else if is_bfloat16(arr) {
            FloatArray::Bf16(obj.cast::<PyArrayDyn<bf16>>()?.readonly())
        } else {
            return Err(errors::dtype(name, expected, &describe(obj)));
        };
        if !arr.is_c_contiguous() {
            return Err(errors::not_contiguous(name));
        }
        Ok(out)
    }

    /// Borrows `obj` (argument `name`) as a C-contiguous float32 array.
    pub fn extract_f32(
        name: &str,
        obj: &Bound<'py, PyAny>,
    ) -> PyResult<PyReadonlyArrayDyn<'py, f32>> {
        let py = obj.py();
        let expected = "float32 numpy array";
        let arr = obj
            .cast::<PyUntypedArray>()
            .map_err(|_| errors::dtype(name, expected, &describe(obj)))?;
        if !arr.dtype().is_equiv_to(&dtype::<f32>(py)) {
            return Err(errors::dtype(name, expected, &describe(obj)));
        }
        if !arr.is_c_contiguous() {
            return Err(errors::not_contiguous(name));
        }
        Ok(obj.cast::<PyArrayDyn<f32>>()?.readonly())
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            FloatArray::F32(a) => a.shape(),
            FloatArray::F16(a) => a.shape(),
            FloatArray::Bf16(a) => a.shape(),
        }
    }

    /// The elements as a kernel input (zero copy).
    pub fn input(&self) -> PyResult<AttnInput<'_>> {
        let err = |_| {
            errors::error(
                "ShapeError",
                errors::NOT_CONTIGUOUS,
                "array is not contiguous",
            )
        };
        Ok(match self {
            FloatArray::F32(a) => AttnInput::F32(a.as_slice().map_err(err)?),
            FloatArray::F16(a) => AttnInput::F16(a.as_slice().map_err(err)?),
            FloatArray::Bf16(a) => AttnInput::Bf16(a.as_slice().map_err(err)?),
        })
    }

    /// The little-endian bytes of the elements (zero copy on little-endian hosts).
    pub fn le_bytes(&self) -> PyResult<&[u8]> {
        Ok(match self.input()? {
            AttnInput::F32(x) => bytemuck::cast_slice(x),
            AttnInput::F16(x) => bytemuck::cast_slice(x),
            AttnInput::Bf16(x) => bytemuck::cast_slice(x),
        })
    }
}

/// Block bytes given as `bytes` or as a C-contiguous uint8 numpy array, borrowed.
#[derive(Debug)]
pub enum ByteInput<'py> {
    /// A `bytes` object.
    Bytes(Bound<'py, PyBytes>),
    /// A uint8 array (any shape).
    Array(PyReadonlyArrayDyn<'py, u8>),
}

impl<'py> ByteInput<'py> {
    /// Borrows `obj` (argument `name`).
    pub fn extract(name: &str, obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(ByteInput::Bytes(b.clone()));
        }
        let expected = "bytes or a uint8 numpy array";
        let arr = obj
            .cast::<PyUntypedArray>()
            .map_err(|_| errors::dtype(name, expected, &describe(obj)))?;
        if !arr.dtype().is_equiv_to(&dtype::<u8>(py)) {
            return Err(errors::dtype(name, expected, &describe(obj)));
        }
        if !arr.is_c_contiguous() {
            return Err(errors::not_contiguous(name));
        }
        Ok(ByteInput::Array(obj.cast::<PyArrayDyn<u8>>()?.readonly()))
    }

    /// The bytes.
    pub fn as_slice(&self) -> PyResult<&[u8]> {
        match self {
            ByteInput::Bytes(b) => Ok(b.as_bytes()),
            ByteInput::Array(a) => a.as_slice().map_err(|_| {
                errors::error(
                    "ShapeError",
                    errors::NOT_CONTIGUOUS,
                    "array is not contiguous",
                )
            }),
        }
    }

    /// The array's shape (None for `bytes`).
    pub fn shape(&self) -> Option<&[usize]> {
        match self {
            ByteInput::Bytes(_) => None,
            ByteInput::Array(a) => Some(a.shape()),
        }
    }
}
