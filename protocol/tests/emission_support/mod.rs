//! Test helpers for the emission tests.
