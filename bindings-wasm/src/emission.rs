//! The Yuma epoch (spec/emission.md), bit-exact with the subtensor chain.

use mycel_protocol::emission::{EpochInput, epoch};
use wasm_bindgen::prelude::*;

use crate::error::Fail;

/// One Yuma epoch on a JS object with the fields of `mycel epoch --input` (snake_case); every
/// list may be a typed array (`BigUint64Array` or numbers for u64 fields, `Uint16Array` for
/// u16 rows). Returns the output with 64-bit values as `BigInt`s.
#[wasm_bindgen(js_name = yumaEpoch, unchecked_return_type = "EpochOutput")]
pub fn yuma_epoch(
    #[wasm_bindgen(unchecked_param_type = "EpochInput")] input: JsValue,
) -> core::result::Result<JsValue, Fail> {
    if !input.is_object() {
        return Err(Fail::input_type("input must be an object"));
    }
    let input: EpochInput = serde_wasm_bindgen::from_value(input)
        .map_err(|e| Fail::input_value(format!("input: {e}")))?;
    let output = epoch(&input)?;
    let ser = serde_wasm_bindgen::Serializer::new()
        .serialize_large_number_types_as_bigints(true)
        .serialize_maps_as_objects(true);
    serde::Serialize::serialize(&output, &ser)
        .map_err(|e| Fail::input_value(format!("output: {e}")))
}

/// [`yuma_epoch`] on JSON text, returning JSON text exactly as `mycel epoch --input` prints it.
#[wasm_bindgen(js_name = yumaEpochJson)]
pub fn yuma_epoch_json(input: &str) -> core::result::Result<String, Fail> {
    epoch_json(input)
}

/// The Rust core of [`yuma_epoch_json`].
pub fn epoch_json(input: &str) -> core::result::Result<String, Fail> {
    let input: EpochInput =
        serde_json::from_str(input).map_err(|e| Fail::input_value(format!("input: {e}")))?;
    let output = epoch(&input)?;
    serde_json::to_string(&output).map_err(|e| Fail::input_value(format!("output: {e}")))
}
