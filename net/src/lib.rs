//! placeholder for the first build
