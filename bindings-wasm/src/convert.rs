//! Checked conversions of JS arguments: every typed array is checked with `instanceof` and
//! every fixed-size value by length, so a wrong argument is a [`Fail`] with an `input.*` code,
//! never a silent coercion.

use js_sys::{Array, Float32Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Fail, Result};

/// The bytes of a `Uint8Array` argument.
pub fn bytes(v: &JsValue, name: &str) -> Result<Vec<u8>> {
    v.dyn_ref::<Uint8Array>()
        .map(Uint8Array::to_vec)
        .ok_or_else(|| Fail::input_type(format!("{name} must be a Uint8Array")))
}

/// A `Uint8Array` argument of exactly `N` bytes.
pub fn array<const N: usize>(v: &JsValue, name: &str) -> Result<[u8; N]> {
    let b = bytes(v, name)?;
    let len = b.len();
    b.try_into()
        .map_err(|_| Fail::input_length(format!("{name} must be {N} bytes, got {len}")))
}

/// The values of a `Float32Array` argument.
pub fn floats(v: &JsValue, name: &str) -> Result<Vec<f32>> {
    v.dyn_ref::<Float32Array>()
        .map(Float32Array::to_vec)
        .ok_or_else(|| Fail::input_type(format!("{name} must be a Float32Array")))
}

/// The elements of a JS `Array` argument.
pub fn list(v: &JsValue, name: &str) -> Result<Vec<JsValue>> {
    if !Array::is_array(v) {
        return Err(Fail::input_type(format!("{name} must be an Array")));
    }
    Ok(Array::from(v).iter().collect())
}

/// An array of `Uint8Array`s.
pub fn byte_list(v: &JsValue, name: &str) -> Result<Vec<Vec<u8>>> {
    list(v, name)?
        .iter()
        .enumerate()
        .map(|(i, x)| bytes(x, &format!("{name}[{i}]")))
        .collect()
}

/// A `Uint8Array` to JS.
pub fn to_js_bytes(b: &[u8]) -> JsValue {
    Uint8Array::from(b).into()
}

/// A non-negative integer that fits `u32` (JS numbers are f64).
pub fn dim(v: f64, name: &str) -> Result<usize> {
    if v.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&v) {
        return Err(Fail::input_value(format!(
            "{name} must be an integer in 0..=2^32-1, got {v}"
        )));
    }
    Ok(v as usize)
}

/// A property of an options object (`undefined` when absent or when `obj` is not an object).
pub fn prop(obj: &JsValue, key: &str) -> JsValue {
    if obj.is_object() {
        Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// An optional options object: `undefined`/`null`, or a plain object.
pub fn options(v: &JsValue, name: &str) -> Result<JsValue> {
    if v.is_undefined() || v.is_null() {
        Ok(Object::new().into())
    } else if v.is_object() {
        Ok(v.clone())
    } else {
        Err(Fail::input_type(format!("{name} must be an object")))
    }
}

/// An optional string property.
pub fn opt_string(obj: &JsValue, key: &str) -> Result<Option<String>> {
    let v = prop(obj, key);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_string()
        .map(Some)
        .ok_or_else(|| Fail::input_type(format!("{key} must be a string")))
}

/// A required number property.
pub fn num(obj: &JsValue, key: &str) -> Result<f64> {
    prop(obj, key)
        .as_f64()
        .ok_or_else(|| Fail::input_type(format!("{key} must be a number")))
}

/// An optional boolean property (default `false`).
pub fn opt_bool(obj: &JsValue, key: &str) -> Result<bool> {
    let v = prop(obj, key);
    if v.is_undefined() || v.is_null() {
        return Ok(false);
    }
    v.as_bool()
        .ok_or_else(|| Fail::input_type(format!("{key} must be a boolean")))
}

/// A JS value through `JSON.stringify` into a serde type (a message's JSON form).
pub fn from_json<T: serde::de::DeserializeOwned>(v: &JsValue, name: &str) -> Result<T> {
    let text: String = if let Some(s) = v.as_string() {
        s
    } else if v.is_object() {
        js_sys::JSON::stringify(v)
            .map_err(|_| Fail::input_value(format!("{name}: not JSON-serialisable")))?
            .into()
    } else {
        return Err(Fail::input_type(format!(
            "{name} must be an object or a JSON string"
        )));
    };
    serde_json::from_str(&text).map_err(|e| Fail::input_value(format!("{name}: {e}")))
}

/// A serde value to a JS value through its JSON form (`JSON.parse`).
pub fn to_json<T: serde::Serialize>(v: &T) -> Result<JsValue> {
    let text = serde_json::to_string(v).map_err(|e| Fail::input_value(e.to_string()))?;
    js_sys::JSON::parse(&text).map_err(|_| Fail::input_value("output is not JSON"))
}

/// Sets `obj[key] = value` (a fresh object: cannot fail).
pub fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value.into());
}
