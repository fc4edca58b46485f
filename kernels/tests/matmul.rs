//! Integration tests for formats, Philox, matmul and task execution (one test binary).
mod common;
mod matmul {
    mod exec;
    mod parity;
    mod philox;
    mod quant;
}
