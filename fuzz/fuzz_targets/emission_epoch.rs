//! The Yuma emission epoch on random inputs (mycel_fuzz::emission).
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mycel_fuzz::emission::run(&mut Unstructured::new(data));
});
