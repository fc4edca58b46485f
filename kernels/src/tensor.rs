//! Tensors that know their element type and shape.
//!
//! A [`Tensor`] owns its elements in a typed buffer (so f32/f16/bf16 data is always aligned),
//! row-major, last dimension fastest. Construction checks the shape against the data:
//! [`Tensor::from_le_bytes`] copies from any byte buffer (alignment does not matter),
//! [`TensorView::from_bytes`] borrows without copying and fails with [`Error::Misaligned`]
//! when the bytes are not aligned for the element type. Quantized tensors (Q8_0, Q4_0) hold
//! GGML blocks along the last dimension, which must be a multiple of 32.
//!
//! Multi-byte elements are little-endian on the wire and in memory: this crate supports
//! little-endian targets only (x86-64, aarch64, wasm32, and CUDA devices all are).

#[cfg(target_endian = "big")]
compile_error!(
    "mycel-kernels supports little-endian targets only (tensor bytes are little-endian)"
);

use half::{bf16, f16};
use mycel_protocol::commit::{TensorDtype, tensor_commitment};
use mycel_protocol::ids::Digest;

use crate::error::{Error, Result};
use crate::quant::{BLOCK_LEN, BlockQ4_0, BlockQ8_0};

/// Most dimensions a tensor may have.
pub const MAX_RANK: usize = 8;

/// Element types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DType {
    /// IEEE binary32.
    F32,
    /// IEEE binary16.
    F16,
    /// bfloat16.
    BF16,
    /// GGML Q8_0 blocks along the last dimension.
    Q8_0,
    /// GGML Q4_0 blocks along the last dimension.
    Q4_0,
}

impl DType {
    /// The lowercase name, as the tensor commitment header and the CLI spell it.
    pub const fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::Q8_0 => "q8_0",
            DType::Q4_0 => "q4_0",
        }
    }

    /// The protocol's dtype code for tensor commitments.
    pub const fn commit_dtype(self) -> TensorDtype {
        match self {
            DType::F32 => TensorDtype::F32,
            DType::F16 => TensorDtype::F16,
            DType::BF16 => TensorDtype::Bf16,
            DType::Q8_0 => TensorDtype::Q8_0,
            DType::Q4_0 => TensorDtype::Q4_0,
        }
    }

    /// Whether the type stores 32-element blocks along the last dimension.
    pub const fn is_quantized(self) -> bool {
        matches!(self, DType::Q8_0 | DType::Q4_0)
    }

    /// The storage alignment a borrowed byte buffer must have.
    pub const fn align(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F16 | DType::BF16 => 2,
            DType::Q8_0 | DType::Q4_0 => 1,
        }
    }

    /// Bytes for `numel` elements (quantized: `numel / 32` blocks), checked: no overflow, and
    /// at most `isize::MAX` (the most any buffer can hold).
    fn bytes_for(self, numel: usize) -> Result<usize> {
        let bytes = match self {
            DType::F32 => numel.checked_mul(4),
            DType::F16 | DType::BF16 => numel.checked_mul(2),
            DType::Q8_0 => (numel / BLOCK_LEN).checked_mul(34),
            DType::Q4_0 => (numel / BLOCK_LEN).checked_mul(18),
        };
        bytes
            .filter(|&b| isize::try_from(b).is_ok())
            .ok_or(Error::SizeOverflow("tensor byte length"))
    }
}

/// A vector of `len` copies of `value`, or [`Error::SizeOverflow`] (naming `what`) when the
/// byte size overflows or the allocation is refused: a size computed from input never panics
/// or aborts the process.
pub(crate) fn try_filled<T: Clone>(len: usize, value: T, what: &'static str) -> Result<Vec<T>> {
    let fits = len
        .checked_mul(core::mem::size_of::<T>())
        .is_some_and(|b| isize::try_from(b).is_ok());
    if !fits {
        return Err(Error::SizeOverflow(what));
    }
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| Error::SizeOverflow(what))?;
    v.resize(len, value);
    Ok(v)
}

/// Checks a shape: rank 1..=[`MAX_RANK`], no zero dimension, the element count fits `usize`,
/// and for quantized types a last dimension that is a multiple of 32. Returns the element count.
pub fn check_shape(dtype: DType, shape: &[usize]) -> Result<usize> {
    if shape.is_empty() || shape.len() > MAX_RANK {
        return Err(Error::ShapeMismatch(format!(
            "rank {} is outside 1..={MAX_RANK}",
            shape.len()
        )));
    }
    if shape.contains(&0) {
        return Err(Error::ShapeMismatch(format!(
            "shape {shape:?} has a zero dimension"
        )));
    }
    let numel = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or(Error::SizeOverflow("tensor element count"))?;
    if dtype.is_quantized() && shape.last().is_some_and(|k| !k.is_multiple_of(BLOCK_LEN)) {
        return Err(Error::ShapeMismatch(format!(
            "{} tensor's last dimension must be a multiple of {BLOCK_LEN}, shape {shape:?}",
            dtype.name()
        )));
    }
    Ok(numel)
}

/// The byte length a tensor of this dtype and shape has, checked (see [`check_shape`]).
pub fn byte_len(dtype: DType, shape: &[usize]) -> Result<usize> {
    dtype.bytes_for(check_shape(dtype, shape)?)
}

/// Typed element storage.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Data {
    /// f32 elements.
    F32(Vec<f32>),
    /// f16 elements.
    F16(Vec<f16>),
    /// bf16 elements.
    BF16(Vec<bf16>),
    /// Q8_0 blocks.
    Q8_0(Vec<BlockQ8_0>),
    /// Q4_0 blocks.
    Q4_0(Vec<BlockQ4_0>),
}

impl Data {
    fn dtype(&self) -> DType {
        match self {
            Data::F32(_) => DType::F32,
            Data::F16(_) => DType::F16,
            Data::BF16(_) => DType::BF16,
            Data::Q8_0(_) => DType::Q8_0,
            Data::Q4_0(_) => DType::Q4_0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Data::F32(v) => bytemuck::cast_slice(v),
            Data::F16(v) => bytemuck::cast_slice(v),
            Data::BF16(v) => bytemuck::cast_slice(v),
            Data::Q8_0(v) => bytemuck::cast_slice(v),
            Data::Q4_0(v) => bytemuck::cast_slice(v),
        }
    }
}

/// An owned tensor: dtype, shape and elements, consistent by construction.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Data,
}

impl Tensor {
    /// Build from typed data; checks that the shape matches the element (or block) count.
    pub fn new(shape: &[usize], data: Data) -> Result<Tensor> {
        let dtype = data.dtype();
        let expected = byte_len(dtype, shape)?;
        let actual = data.as_bytes().len();
        if expected != actual {
            return Err(Error::BufferLength { expected, actual });
        }
        Ok(Tensor {
            shape: shape.to_vec(),
            data,
        })
    }

    /// An f32 tensor.
    pub fn from_f32(shape: &[usize], values: Vec<f32>) -> Result<Tensor> {
        Tensor::new(shape, Data::F32(values))
    }

    /// Copy a tensor out of little-endian bytes of any alignment. The length is checked
    /// against dtype and shape before anything is allocated.
    pub fn from_le_bytes(dtype: DType, shape: &[usize], bytes: &[u8]) -> Result<Tensor> {
        let expected = byte_len(dtype, shape)?;
        if bytes.len() != expected {
            return Err(Error::BufferLength {
                expected,
                actual: bytes.len(),
            });
        }
        fn copy<T: bytemuck::Pod>(bytes: &[u8]) -> Vec<T> {
            let n = bytes
                .len()
                .checked_div(core::mem::size_of::<T>())
                .unwrap_or(0);
            let mut v = vec![T::zeroed(); n];
            bytemuck::cast_slice_mut::<T, u8>(&mut v).copy_from_slice(bytes);
            v
        }
        let data = match dtype {
            DType::F32 => Data::F32(copy(bytes)),
            DType::F16 => Data::F16(copy(bytes)),
            DType::BF16 => Data::BF16(copy(bytes)),
            DType::Q8_0 => Data::Q8_0(copy(bytes)),
            DType::Q4_0 => Data::Q4_0(copy(bytes)),
        };
        Ok(Tensor {
            shape: shape.to_vec(),
            data,
        })
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    /// The shape, outermost dimension first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The typed elements.
    pub fn data(&self) -> &Data {
        &self.data
    }

    /// Take the typed elements out.
    pub fn into_data(self) -> Data {
        self.data
    }

    /// The elements as little-endian bytes (zero copy).
    pub fn as_bytes(&self) -> &[u8] {
        self.data.as_bytes()
    }

    /// The tensor commitment (spec/commitments.md, computed by `mycel-protocol`): SHA-256 over
    /// the domain tag, the dtype code, the shape and the little-endian bytes.
    pub fn commitment(&self) -> Result<Digest> {
        self.view().commitment()
    }

    /// A borrowed view of this tensor.
    pub fn view(&self) -> TensorView<'_> {
        TensorView {
            dtype: self.dtype(),
            shape: &self.shape,
            bytes: self.as_bytes(),
        }
    }
}

/// A borrowed tensor: dtype, shape and little-endian bytes, checked against each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorView<'a> {
    dtype: DType,
    shape: &'a [usize],
    bytes: &'a [u8],
}

impl<'a> TensorView<'a> {
    /// Borrow `bytes` as a tensor. Checks the shape, the length, and the alignment the dtype
    /// needs ([`Error::Misaligned`] otherwise: use [`Tensor::from_le_bytes`] to copy instead).
    pub fn from_bytes(dtype: DType, shape: &'a [usize], bytes: &'a [u8]) -> Result<TensorView<'a>> {
        let expected = byte_len(dtype, shape)?;
        if bytes.len() != expected {
            return Err(Error::BufferLength {
                expected,
                actual: bytes.len(),
            });
        }
        if !(bytes.as_ptr() as usize).is_multiple_of(dtype.align()) {
            return Err(Error::Misaligned {
                dtype: dtype.name(),
                align: dtype.align(),
            });
        }
        Ok(TensorView {
            dtype,
            shape,
            bytes,
        })
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The shape.
    pub fn shape(&self) -> &'a [usize] {
        self.shape
    }

    /// The little-endian bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The tensor commitment (see [`Tensor::commitment`]).
    pub fn commitment(&self) -> Result<Digest> {
        let shape: Vec<u64> = self.shape.iter().map(|&d| d as u64).collect();
        tensor_commitment(self.dtype.commit_dtype(), &shape, self.bytes).map_err(Error::from)
    }

    /// The elements as f32 (zero copy); [`Error::DtypeMismatch`] for another dtype.
    pub fn as_f32(&self) -> Result<&'a [f32]> {
        self.cast(DType::F32)
    }

    /// The elements as f16 (zero copy).
    pub fn as_f16(&self) -> Result<&'a [f16]> {
        self.cast(DType::F16)
    }

    /// The elements as bf16 (zero copy).
    pub fn as_bf16(&self) -> Result<&'a [bf16]> {
        self.cast(DType::BF16)
    }

    /// The Q8_0 blocks (zero copy).
    pub fn as_q8_0(&self) -> Result<&'a [BlockQ8_0]> {
        self.cast(DType::Q8_0)
    }

    /// The Q4_0 blocks (zero copy).
    pub fn as_q4_0(&self) -> Result<&'a [BlockQ4_0]> {
        self.cast(DType::Q4_0)
    }

    fn cast<T: bytemuck::Pod>(&self, want: DType) -> Result<&'a [T]> {
        if self.dtype != want {
            return Err(Error::DtypeMismatch {
                expected: want.name(),
                actual: self.dtype.name(),
            });
        }
        bytemuck::try_cast_slice(self.bytes).map_err(|_| Error::Misaligned {
            dtype: want.name(),
            align: want.align(),
        })
    }
}
