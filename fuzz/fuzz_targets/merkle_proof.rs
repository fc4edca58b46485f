//! Merkle inclusion proofs (mycel_fuzz::merkle).
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mycel_fuzz::merkle::run(&mut Unstructured::new(data));
});
