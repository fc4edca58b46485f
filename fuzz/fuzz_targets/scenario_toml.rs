//! Arbitrary bytes through mycel_fuzz::node::check_scenario (see its module docs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mycel_fuzz::node::check_scenario(data));
