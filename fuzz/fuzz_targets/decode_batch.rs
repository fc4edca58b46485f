//! Any bytes as the body of a receipt-batch envelope (mycel_fuzz::wire::check_body).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mycel_protocol::wire::MessageKind;

fuzz_target!(|data: &[u8]| mycel_fuzz::wire::check_body(MessageKind::ReceiptBatch, data));
