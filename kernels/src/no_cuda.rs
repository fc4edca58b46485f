//! The CUDA backend's public API in a build without the `cuda` feature (candle's dummy backend
//! pattern): the same types and functions exist, nothing can be constructed, and every call
//! returns [`Error::BackendUnavailable`]. Code written against the CUDA API therefore compiles
//! in every build and fails at run time with a typed error.

use core::convert::Infallible;

use crate::attention::{AttentionMode, AttentionParams, AttnInput};
use crate::error::{Error, Result};
use crate::quant::{BlockQ8_0, QuantFormat};

/// Activation rows up to this count run the matrix-vector kernel in CUDA builds.
pub const MATVEC_MAX_M: usize = 8;

const UNAVAILABLE: &str = "cuda: not compiled into this build (enable the `cuda` feature)";

fn unavailable<T>() -> Result<T> {
    Err(Error::BackendUnavailable(UNAVAILABLE))
}

/// Always [`Error::BackendUnavailable`] in this build.
pub(crate) fn probe(_ordinal: u32) -> Result<()> {
    unavailable()
}

/// Always `false`: this build has no CUDA backend.
pub fn driver_available() -> bool {
    false
}

/// Always [`Error::BackendUnavailable`] in this build.
pub fn device_count() -> Result<u32> {
    unavailable()
}

/// Always `false` in this build.
pub fn available() -> bool {
    false
}

/// Always [`Error::BackendUnavailable`] in this build.
pub fn matmul(
    _ordinal: u32,
    _x: &[f32],
    _m: usize,
    _w: &crate::matmul::Weights<'_>,
) -> Result<Vec<f32>> {
    unavailable()
}

/// Always [`Error::BackendUnavailable`] in this build.
pub fn attention(
    _ordinal: u32,
    _params: &AttentionParams,
    _q: AttnInput<'_>,
    _k: AttnInput<'_>,
    _v: AttnInput<'_>,
    _mode: AttentionMode,
) -> Result<Vec<f32>> {
    unavailable()
}

/// Always [`Error::BackendUnavailable`] in this build.
pub fn matmul_q8(
    _ordinal: u32,
    _xq: &[BlockQ8_0],
    _m: usize,
    _w: &crate::matmul::Weights<'_>,
) -> Result<Vec<f32>> {
    unavailable()
}

/// A CUDA device handle; cannot exist in this build ([`CudaDevice::open`] always fails).
#[derive(Debug, Clone)]
pub struct CudaDevice {
    never: Infallible,
}

/// Quantized weights on a device; cannot exist in this build.
#[derive(Debug)]
pub struct DeviceWeights {
    never: Infallible,
}

/// An f32 tensor on a device; cannot exist in this build.
#[derive(Debug)]
pub struct DeviceTensor {
    never: Infallible,
}

/// Q8_0 activations on a device; cannot exist in this build.
#[derive(Debug)]
pub struct DeviceActivations {
    never: Infallible,
}

impl DeviceWeights {
    /// The weight format.
    pub fn format(&self) -> QuantFormat {
        match self.never {}
    }
    /// Rows.
    pub fn n(&self) -> usize {
        match self.never {}
    }
    /// Columns.
    pub fn k(&self) -> usize {
        match self.never {}
    }
    /// Bytes of quantized weight data.
    pub fn bytes(&self) -> usize {
        match self.never {}
    }
}

impl DeviceTensor {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self.never {}
    }
    /// Whether it holds no element.
    pub fn is_empty(&self) -> bool {
        match self.never {}
    }
}

impl DeviceActivations {
    /// Rows.
    pub fn m(&self) -> usize {
        match self.never {}
    }
    /// Columns.
    pub fn k(&self) -> usize {
        match self.never {}
    }
}

impl CudaDevice {
    /// Always [`Error::BackendUnavailable`] in this build.
    pub fn open(_ordinal: u32) -> Result<CudaDevice> {
        unavailable()
    }
    /// The device ordinal.
    pub fn ordinal(&self) -> u32 {
        match self.never {}
    }
    /// The device name.
    pub fn name(&self) -> &str {
        match self.never {}
    }
    /// Compute capability.
    pub fn compute_capability(&self) -> (u32, u32) {
        match self.never {}
    }
    /// Compile every kernel.
    pub fn warm_up(&self) -> Result<()> {
        match self.never {}
    }
    /// Wait for the device.
    pub fn synchronize(&self) -> Result<()> {
        match self.never {}
    }
    /// Upload GGML-block weights.
    pub fn upload_weights(
        &self,
        _format: QuantFormat,
        _n: usize,
        _k: usize,
        _bytes: &[u8],
    ) -> Result<DeviceWeights> {
        match self.never {}
    }
    /// Upload f32 data.
    pub fn upload_f32(&self, _data: &[f32]) -> Result<DeviceTensor> {
        match self.never {}
    }
    /// A zero-filled tensor.
    pub fn zeros_f32(&self, _len: usize) -> Result<DeviceTensor> {
        match self.never {}
    }
    /// Copy a tensor to the host.
    pub fn download_f32(&self, _t: &DeviceTensor) -> Result<Vec<f32>> {
        match self.never {}
    }
    /// Device-to-device copy.
    pub fn copy_f32(&self, _src: &DeviceTensor, _dst: &mut DeviceTensor) -> Result<()> {
        match self.never {}
    }
    /// Philox generation on device.
    pub fn generate_uniform(
        &self,
        _seed: &[u8; 32],
        _stream: u32,
        _offset: u64,
        _len: usize,
    ) -> Result<DeviceTensor> {
        match self.never {}
    }
    /// Q8_0 activation quantization on device.
    pub fn quantize_q8_0(
        &self,
        _x: &DeviceTensor,
        _m: usize,
        _k: usize,
    ) -> Result<DeviceActivations> {
        match self.never {}
    }
    /// Q8_0 activation quantization into existing activations.
    pub fn quantize_q8_0_into(&self, _x: &DeviceTensor, _a: &mut DeviceActivations) -> Result<()> {
        match self.never {}
    }
    /// Upload Q8_0 activations.
    pub fn upload_q8_0(
        &self,
        _blocks: &[BlockQ8_0],
        _m: usize,
        _k: usize,
    ) -> Result<DeviceActivations> {
        match self.never {}
    }
    /// Download activations as GGML Q8_0 blocks.
    pub fn download_q8_0(&self, _a: &DeviceActivations) -> Result<Vec<u8>> {
        match self.never {}
    }
    /// Quantized matmul into an existing output.
    pub fn matmul_into(
        &self,
        _w: &DeviceWeights,
        _a: &DeviceActivations,
        _out: &mut DeviceTensor,
    ) -> Result<()> {
        match self.never {}
    }
    /// Quantized matmul.
    pub fn matmul(&self, _w: &DeviceWeights, _a: &DeviceActivations) -> Result<DeviceTensor> {
        match self.never {}
    }
    /// Attention on device-resident inputs.
    pub fn attention_into(
        &self,
        _params: &AttentionParams,
        _q: &DeviceTensor,
        _k: &DeviceTensor,
        _v: &DeviceTensor,
        _mode: AttentionMode,
        _out: &mut DeviceTensor,
    ) -> Result<()> {
        match self.never {}
    }
    /// Attention, host in and host out.
    pub fn attention(
        &self,
        _params: &AttentionParams,
        _q: AttnInput<'_>,
        _k: AttnInput<'_>,
        _v: AttnInput<'_>,
        _mode: AttentionMode,
    ) -> Result<Vec<f32>> {
        match self.never {}
    }
    /// Host in, host out matmul.
    pub fn matmul_f32(&self, _w: &DeviceWeights, _x: &[f32], _m: usize) -> Result<Vec<f32>> {
        match self.never {}
    }
}
