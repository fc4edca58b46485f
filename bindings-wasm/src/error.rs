//! Errors as JS sees them: an `Error` whose `name` is `"MycelError"` and whose `code` is the
//! stable code string of the Rust error (`"decode.trailing_bytes"`, `"shape_mismatch"`, …) or
//! one of this crate's input codes ([`codes`]).

use wasm_bindgen::JsValue;

/// This crate's own error codes: input that never reached a Rust API because its JS type or
/// length was wrong.
pub mod codes {
    /// An argument of the wrong JS type (e.g. a string where a `Uint8Array` is required).
    pub const INPUT_TYPE: &str = "input.type";
    /// An argument of the wrong length (e.g. a 31-byte seed).
    pub const INPUT_LENGTH: &str = "input.length";
    /// An argument with a wrong value (an unknown format name, a negative size, bad JSON).
    pub const INPUT_VALUE: &str = "input.value";
}

/// A failure on its way to JS: a stable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail {
    /// The stable code (what JS code should branch on).
    pub code: String,
    /// The message.
    pub message: String,
}

/// `Result` with [`Fail`].
pub type Result<T> = core::result::Result<T, Fail>;

impl Fail {
    /// A failure with this code and message.
    pub fn new(code: &str, message: impl Into<String>) -> Fail {
        Fail {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// A wrong JS type.
    pub fn input_type(message: impl Into<String>) -> Fail {
        Fail::new(codes::INPUT_TYPE, message)
    }

    /// A wrong length.
    pub fn input_length(message: impl Into<String>) -> Fail {
        Fail::new(codes::INPUT_LENGTH, message)
    }

    /// A wrong value.
    pub fn input_value(message: impl Into<String>) -> Fail {
        Fail::new(codes::INPUT_VALUE, message)
    }
}

impl From<mycel_protocol::Error> for Fail {
    fn from(e: mycel_protocol::Error) -> Fail {
        Fail::new(e.code(), e.to_string())
    }
}

impl From<mycel_protocol::error::SignatureError> for Fail {
    fn from(e: mycel_protocol::error::SignatureError) -> Fail {
        Fail::new(e.code(), e.to_string())
    }
}

impl From<mycel_protocol::emission::EmissionError> for Fail {
    fn from(e: mycel_protocol::emission::EmissionError) -> Fail {
        Fail::new(e.code(), e.to_string())
    }
}

impl From<mycel_kernels::Error> for Fail {
    fn from(e: mycel_kernels::Error) -> Fail {
        Fail::new(e.code(), e.to_string())
    }
}

impl From<Fail> for JsValue {
    fn from(f: Fail) -> JsValue {
        let e = js_sys::Error::new(&f.message);
        e.set_name("MycelError");
        // Setting a property on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(&e, &JsValue::from_str("code"), &JsValue::from_str(&f.code));
        e.into()
    }
}
