//! The CLI's `.npy` reader (cli/src/npy.rs, compiled here from the same file): any bytes give
//! an error or an array whose element count matches its shape, never a panic, and never an
//! allocation sized by a header the bytes cannot back (the reader checks the data size against
//! the input's length before allocating; `scripts/fuzz` caps single allocations at 512 MiB).

#[path = "../../cli/src/npy.rs"]
#[allow(dead_code, unreachable_pub, clippy::all)]
mod reader;

/// A `.npy` file from arbitrary bytes.
pub fn check(data: &[u8]) {
    let Ok((shape, array)) = reader::parse(data, data.len() as u64) else {
        return;
    };
    let count: usize = shape.iter().product();
    let (len, bytes) = match &array {
        reader::NpyArray::F32(v) => (v.len(), v.len() * 4),
        reader::NpyArray::F16(v) => (v.len(), v.len() * 2),
    };
    assert_eq!(
        len, count,
        "data length differs from the shape's element count"
    );
    assert!(
        bytes as u64 <= data.len() as u64,
        "more data than input bytes"
    );
    assert!(len as u64 <= reader::MAX_ELEMENTS);
}
