//! Test helpers for the emission tests: a random input generator, a literal port of the chain's
//! epoch in `substrate-fixed` types, and a float64 re-derivation.
pub mod float;
pub mod inputs;
pub mod literal;
