//! GGML Q8_0/Q4_0 block buffers, tensors, dequantization and matmul (mycel_fuzz::ggml).
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mycel_fuzz::ggml::run(&mut Unstructured::new(data));
});
