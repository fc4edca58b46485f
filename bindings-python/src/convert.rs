//! Small conversions shared by the modules: fixed-size byte arrays, bytes out, names of enums.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors;

/// `value` as exactly `N` bytes, or an `ArgumentError` naming `name`.
pub fn array<const N: usize>(name: &str, value: &[u8]) -> PyResult<[u8; N]> {
    value
        .try_into()
        .map_err(|_| errors::argument(format!("{name}: expected {N} bytes, got {}", value.len())))
}

/// Rust bytes as a Python `bytes` object.
pub fn bytes<'py>(py: Python<'py>, value: &[u8]) -> Bound<'py, PyBytes> {
    PyBytes::new(py, value)
}

/// A JSON text as Python objects (through the standard library's `json.loads`), so that dicts
/// from the bindings are exactly what the CLI prints.
pub fn json_to_py<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (text,))
}

/// A JSON value as Python objects.
pub fn json_value_to_py<'py>(
    py: Python<'py>,
    value: &serde_json::Value,
) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value)
        .map_err(|e| errors::error("EncodeError", "encode.serializer", e.to_string()))?;
    json_to_py(py, &text)
}
