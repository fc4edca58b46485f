//! Any bytes as an envelope: a typed error or a message that re-encodes to exactly the input (mycel_fuzz::wire).
#![no_main]

use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| mycel_fuzz::check_envelope(data));
