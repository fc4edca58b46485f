//! Integration tests for formats, Philox, matmul and task execution (one test binary).
mod matmul {
    mod philox;
    mod quant;
}
