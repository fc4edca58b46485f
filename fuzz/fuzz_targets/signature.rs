//! Single and batch signature verification (mycel_fuzz::signature).
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mycel_fuzz::signature::run(&mut Unstructured::new(data));
});
