//! Task execution from arbitrary TaskSpecs, allocations counted (mycel_fuzz::task).
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOC: mycel_fuzz::alloc::Counting = mycel_fuzz::alloc::Counting;

fuzz_target!(|data: &[u8]| {
    let _ = mycel_fuzz::task::run(&mut Unstructured::new(data));
});
