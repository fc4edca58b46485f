//! The CUDA backend (feature `cuda`): quantized matmul and input generation on an NVIDIA GPU,
//! producing the same bits as the CPU scalar reference (spec/kernels.md, "CUDA backend").
//!
//! Nothing about CUDA is needed to build: cudarc loads the driver (`libcuda.so.1`) and NVRTC
//! (`libnvrtc.so.13`) at run time. Without a driver or a device every call returns a typed
//! [`Error::BackendUnavailable`]; the CPU backends are unaffected. The kernels are CUDA C++ sources embedded in
//! the crate, compiled by NVRTC on first use for the device's exact architecture (a CUBIN) with
//! the options in [`crate::cuda::nvrtc::compile_options`], and cached per device.
//!
//! ```no_run
//! # fn main() -> mycel_kernels::Result<()> {
//! use mycel_kernels::cuda::CudaDevice;
//! use mycel_kernels::quant::{QuantFormat, quantize_q8_0};
//!
//! let (n, k) = (64, 256);
//! let w: Vec<f32> = (0..n * k).map(|i| ((i % 17) as f32 - 8.0) / 8.0).collect();
//! let wq = quantize_q8_0(&w, k)?;
//! let dev = CudaDevice::open(0)?; // Error::BackendUnavailable on a machine without one
//! let weights = dev.upload_weights(QuantFormat::Q8_0, n, k, bytemuck::cast_slice(&wq))?;
//! let x = vec![0.5f32; k];
//! let y = dev.matmul_f32(&weights, &x, 1)?; // [1, n], the same bits as the CPU reference
//! # let _ = y; Ok(()) }
//! ```

pub mod nvrtc;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DeviceRepr, DriverError,
    LaunchConfig, PushKernelArg, sys,
};
use cudarc::nvrtc::Ptx;

use crate::attention::{AttentionMode, AttentionParams, AttnInput};
use crate::error::{CudaError, Error, Result};
use crate::philox::StreamKey;
use crate::quant::{BLOCK_LEN, BlockQ4_0, BlockQ8_0, QuantFormat};

use self::nvrtc::KernelSource;

/// Activation rows up to this count run the matrix-vector kernel; more run the tiled int8
/// tensor-core kernel. Both give identical bits (the order of the per-output FMA chain is the
/// same), so this only affects speed.
pub const MATVEC_MAX_M: usize = 8;

/// Keys per block in the fast-mode split-KV decode kernel (`FD_CHUNK` in attention.cu); decode
/// calls with at least twice as many keys take that path.
const FD_CHUNK: usize = 256;

/// Largest generated stream index (exclusive), as on the CPU (`philox::fill_uniform`).
const MAX_GENERATED: u64 = 1 << 62;

/// Whether the CUDA driver library can be loaded on this machine (no device is touched).
pub fn driver_available() -> bool {
    static PRESENT: OnceLock<bool> = OnceLock::new();
    // SAFETY: is_culib_present only tries to dlopen the driver library by its candidate names.
    *PRESENT.get_or_init(|| unsafe { sys::is_culib_present() })
}

/// The message of [`Error::BackendUnavailable`] when no CUDA driver can be loaded.
pub(crate) const NO_DRIVER: &str =
    "cuda: no CUDA driver on this machine (libcuda could not be loaded)";
/// The message of [`Error::BackendUnavailable`] for an ordinal past the device count.
pub(crate) const NO_DEVICE: &str = "cuda: no CUDA device with this ordinal on this machine";

/// The number of CUDA devices (0 for a driver that sees none); [`Error::BackendUnavailable`]
/// without a driver.
pub fn device_count() -> Result<u32> {
    if !driver_available() {
        return Err(Error::BackendUnavailable(NO_DRIVER));
    }
    match CudaContext::device_count() {
        Ok(n) => Ok(u32::try_from(n).unwrap_or(0)),
        // a driver without any device (cuInit reports it) is a machine with zero devices
        Err(e) if e.0 == sys::CUresult::CUDA_ERROR_NO_DEVICE => Ok(0),
        Err(e) => Err(drv("cuInit/cuDeviceGetCount")(e)),
    }
}

/// Whether at least one CUDA device is usable (driver present, one or more devices).
pub fn available() -> bool {
    device_count().is_ok_and(|n| n > 0)
}

/// `Ok` when device `ordinal` exists; otherwise the one "no device" error,
/// [`Error::BackendUnavailable`] (no driver, or no device with that ordinal).
pub(crate) fn probe(ordinal: u32) -> Result<()> {
    if ordinal >= device_count()? {
        return Err(Error::BackendUnavailable(NO_DEVICE));
    }
    Ok(())
}

fn drv(call: &'static str) -> impl Fn(DriverError) -> Error {
    move |e| {
        let code = e.0;
        match code {
            sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY => CudaError::OutOfMemory { bytes: 0 }.into(),
            _ => CudaError::Driver {
                call,
                code: format!("{code:?}"),
            }
            .into(),
        }
    }
}

fn alloc_err(bytes: usize) -> impl Fn(DriverError) -> Error {
    move |e| match e.0 {
        sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY => CudaError::OutOfMemory { bytes }.into(),
        code => CudaError::Driver {
            call: "cuMemAlloc",
            code: format!("{code:?}"),
        }
        .into(),
    }
}

struct Inner {
    ordinal: u32,
    name: String,
    cc: (u32, u32),
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    /// The lazy module table: a source is compiled and loaded on first use, then kept.
    modules: Mutex<HashMap<&'static str, Arc<CudaModule>>>,
}

fn devices() -> &'static Mutex<HashMap<u32, Arc<Inner>>> {
    static DEVICES: OnceLock<Mutex<HashMap<u32, Arc<Inner>>>> = OnceLock::new();
    DEVICES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// An open CUDA device: its context, stream and compiled-kernel cache. Cheap to clone; every
/// handle to the same ordinal shares one context and one cache.
#[derive(Clone)]
pub struct CudaDevice {
    inner: Arc<Inner>,
}

impl core::fmt::Debug for CudaDevice {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CudaDevice")
            .field("ordinal", &self.inner.ordinal)
            .field("name", &self.inner.name)
            .field("compute_capability", &self.inner.cc)
            .finish()
    }
}

/// A quantized weight matrix `[n, k]` resident on a device, split into an aligned array of
/// quantized values and an array of binary16 scales (the kernels' layout). Made by
/// [`CudaDevice::upload_weights`].
pub struct DeviceWeights {
    ordinal: u32,
    format: QuantFormat,
    n: usize,
    k: usize,
    wq: CudaSlice<u8>,
    wd: CudaSlice<u16>,
}

impl core::fmt::Debug for DeviceWeights {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeviceWeights")
            .field("ordinal", &self.ordinal)
            .field("format", &self.format)
            .field("n", &self.n)
            .field("k", &self.k)
            .finish()
    }
}

impl DeviceWeights {
    /// The weight format.
    pub fn format(&self) -> QuantFormat {
        self.format
    }
    /// Rows (output features).
    pub fn n(&self) -> usize {
        self.n
    }
    /// Columns (the reduction length, a multiple of 32).
    pub fn k(&self) -> usize {
        self.k
    }
    /// Bytes of quantized weight data a product reads (values plus scales): the GGML size.
    pub fn bytes(&self) -> usize {
        self.wq
            .len()
            .saturating_add(self.wd.len().saturating_mul(2))
    }
}

/// An f32 vector resident on a device.
pub struct DeviceTensor {
    ordinal: u32,
    buf: CudaSlice<f32>,
}

impl core::fmt::Debug for DeviceTensor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeviceTensor")
            .field("ordinal", &self.ordinal)
            .field("len", &self.buf.len())
            .finish()
    }
}

impl DeviceTensor {
    /// Number of f32 elements.
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    /// Whether it holds no element.
    pub fn is_empty(&self) -> bool {
        self.buf.len() == 0
    }
}

/// Activations `[m, k]` quantized to Q8_0 on a device (int8 values and binary16 scales).
pub struct DeviceActivations {
    ordinal: u32,
    m: usize,
    k: usize,
    xq: CudaSlice<i8>,
    xd: CudaSlice<u16>,
}

impl core::fmt::Debug for DeviceActivations {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeviceActivations")
            .field("ordinal", &self.ordinal)
            .field("m", &self.m)
            .field("k", &self.k)
            .finish()
    }
}

impl DeviceActivations {
    /// Rows.
    pub fn m(&self) -> usize {
        self.m
    }
    /// Columns (a multiple of 32).
    pub fn k(&self) -> usize {
        self.k
    }
}

fn to_u32(v: usize, what: &'static str) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::SizeOverflow(what))
}

fn check_dims(m: usize, n: usize, k: usize) -> Result<()> {
    if m == 0 || n == 0 {
        return Err(Error::ShapeMismatch(format!(
            "matmul dimensions must be positive, got m={m} n={n}"
        )));
    }
    crate::quant::check_k(k)
}

impl CudaDevice {
    /// Open device `ordinal` (or return the already open handle).
    ///
    /// Errors: [`Error::BackendUnavailable`] when no driver can be loaded (checked before
    /// touching cudarc, whose context constructor would panic) or for an ordinal past the
    /// device count (the same "no device" error as every other entry point),
    /// [`CudaError::UnsupportedDevice`] below compute capability 8.0, [`CudaError::Driver`] for
    /// anything else the driver reports.
    pub fn open(ordinal: u32) -> Result<CudaDevice> {
        probe(ordinal)?;
        let mut table = devices().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(inner) = table.get(&ordinal) {
            return Ok(CudaDevice {
                inner: inner.clone(),
            });
        }
        let idx = usize::try_from(ordinal).map_err(|_| Error::SizeOverflow("device ordinal"))?;
        let ctx = CudaContext::new(idx).map_err(drv("cuCtxCreate"))?;
        let (major, minor) = ctx
            .compute_capability()
            .map_err(drv("cuDeviceGetAttribute"))?;
        let cc = (
            u32::try_from(major).unwrap_or(0),
            u32::try_from(minor).unwrap_or(0),
        );
        if cc.0 < 8 {
            return Err(CudaError::UnsupportedDevice {
                major: cc.0,
                minor: cc.1,
            }
            .into());
        }
        let name = ctx.name().map_err(drv("cuDeviceGetName"))?;
        // SAFETY: every buffer and launch of this device goes through its one stream (below),
        // so stream order alone sequences all uses and frees; cudarc's per-buffer events are
        // only needed across streams, and would add event records to every launch.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.default_stream();
        let inner = Arc::new(Inner {
            ordinal,
            name,
            cc,
            ctx,
            stream,
            modules: Mutex::new(HashMap::new()),
        });
        table.insert(ordinal, inner.clone());
        Ok(CudaDevice { inner })
    }

    /// The device ordinal.
    pub fn ordinal(&self) -> u32 {
        self.inner.ordinal
    }

    /// The device's name as the driver reports it (e.g. `NVIDIA H100 80GB HBM3`).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Compute capability `(major, minor)`; kernels are compiled for exactly `sm_{major}{minor}`.
    pub fn compute_capability(&self) -> (u32, u32) {
        self.inner.cc
    }

    /// Compile and load every embedded kernel now (otherwise each is compiled on first use).
    pub fn warm_up(&self) -> Result<()> {
        for src in nvrtc::SOURCES {
            self.module(src)?;
        }
        Ok(())
    }

    /// Wait until all queued work on the device has finished.
    pub fn synchronize(&self) -> Result<()> {
        self.inner
            .stream
            .synchronize()
            .map_err(drv("cuStreamSynchronize"))
    }

    fn module(&self, src: &KernelSource) -> Result<Arc<CudaModule>> {
        let mut table = self.inner.modules.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = table.get(src.name) {
            return Ok(m.clone());
        }
        let (major, minor) = self.inner.cc;
        let compiled = nvrtc::compile(src, major, minor)?;
        let module = self
            .inner
            .ctx
            .load_module(Ptx::from_binary(compiled.cubin))
            .map_err(drv("cuModuleLoadData"))?;
        table.insert(src.name, module.clone());
        Ok(module)
    }

    fn function(&self, src: &KernelSource, name: &'static str) -> Result<CudaFunction> {
        self.module(src)?
            .load_function(name)
            .map_err(drv("cuModuleGetFunction"))
    }

    fn same_device(&self, ordinal: u32) -> Result<()> {
        if ordinal == self.inner.ordinal {
            Ok(())
        } else {
            Err(Error::ShapeMismatch(format!(
                "buffer lives on CUDA device {ordinal}, not on device {}",
                self.inner.ordinal
            )))
        }
    }

    fn upload<T: DeviceRepr>(&self, data: &[T]) -> Result<CudaSlice<T>> {
        let bytes = core::mem::size_of_val(data);
        // SAFETY: the buffer is fully written by the copy right after, before any read.
        let mut dst =
            unsafe { self.inner.stream.alloc::<T>(data.len()) }.map_err(alloc_err(bytes))?;
        self.inner
            .stream
            .memcpy_htod(data, &mut dst)
            .map_err(drv("cuMemcpyHtoD"))?;
        Ok(dst)
    }

    fn alloc<T: DeviceRepr>(&self, len: usize) -> Result<CudaSlice<T>> {
        let bytes = len
            .checked_mul(core::mem::size_of::<T>())
            .ok_or(Error::SizeOverflow("device allocation"))?;
        // SAFETY: every kernel that receives this buffer writes each element it covers before
        // anything reads it (callers only hand it to such kernels).
        unsafe { self.inner.stream.alloc::<T>(len) }.map_err(alloc_err(bytes))
    }

    /// Upload a quantized `[n, k]` weight matrix given as GGML blocks (`n * k / 32` blocks of
    /// 34 bytes for Q8_0, 18 bytes for Q4_0, row after row): the bytes a GGUF file stores.
    ///
    /// Errors: [`Error::ShapeMismatch`] for a zero `n` or a bad `k`, [`Error::BufferLength`] when
    /// the bytes do not match, [`CudaError::OutOfMemory`] when the device is full.
    pub fn upload_weights(
        &self,
        format: QuantFormat,
        n: usize,
        k: usize,
        bytes: &[u8],
    ) -> Result<DeviceWeights> {
        check_dims(1, n, k)?;
        let expected = format.matrix_bytes(n, k)?;
        if bytes.len() != expected {
            return Err(Error::BufferLength {
                expected,
                actual: bytes.len(),
            });
        }
        let nblocks = n.saturating_mul(k / BLOCK_LEN);
        let (qs, ds): (Vec<u8>, Vec<u16>) = match format {
            QuantFormat::Q8_0 => {
                let blocks: &[BlockQ8_0] =
                    bytemuck::try_cast_slice(bytes).map_err(|_| Error::BufferLength {
                        expected,
                        actual: bytes.len(),
                    })?;
                let mut qs = Vec::with_capacity(nblocks.saturating_mul(32));
                let mut ds = Vec::with_capacity(nblocks);
                for b in blocks {
                    qs.extend_from_slice(bytemuck::cast_slice(&b.qs));
                    ds.push(u16::from_le_bytes(b.d));
                }
                (qs, ds)
            }
            QuantFormat::Q4_0 => {
                let blocks: &[BlockQ4_0] =
                    bytemuck::try_cast_slice(bytes).map_err(|_| Error::BufferLength {
                        expected,
                        actual: bytes.len(),
                    })?;
                let mut qs = Vec::with_capacity(nblocks.saturating_mul(16));
                let mut ds = Vec::with_capacity(nblocks);
                for b in blocks {
                    qs.extend_from_slice(&b.qs);
                    ds.push(u16::from_le_bytes(b.d));
                }
                (qs, ds)
            }
        };
        Ok(DeviceWeights {
            ordinal: self.inner.ordinal,
            format,
            n,
            k,
            wq: self.upload(&qs)?,
            wd: self.upload(&ds)?,
        })
    }

    /// Upload f32 data.
    pub fn upload_f32(&self, data: &[f32]) -> Result<DeviceTensor> {
        if data.is_empty() {
            return Err(Error::ShapeMismatch("empty tensor".to_owned()));
        }
        Ok(DeviceTensor {
            ordinal: self.inner.ordinal,
            buf: self.upload(data)?,
        })
    }

    /// A zero-filled f32 tensor of `len` elements.
    pub fn zeros_f32(&self, len: usize) -> Result<DeviceTensor> {
        if len == 0 {
            return Err(Error::ShapeMismatch("empty tensor".to_owned()));
        }
        let bytes = len
            .checked_mul(4)
            .ok_or(Error::SizeOverflow("device allocation"))?;
        let buf = self
            .inner
            .stream
            .alloc_zeros::<f32>(len)
            .map_err(alloc_err(bytes))?;
        Ok(DeviceTensor {
            ordinal: self.inner.ordinal,
            buf,
        })
    }

    /// Copy a device tensor back to the host.
    pub fn download_f32(&self, t: &DeviceTensor) -> Result<Vec<f32>> {
        self.same_device(t.ordinal)?;
        let v = self
            .inner
            .stream
            .clone_dtoh(&t.buf)
            .map_err(drv("cuMemcpyDtoH"))?;
        self.synchronize()?;
        Ok(v)
    }

    /// Device-to-device copy of `src` into `dst` (same length): the reference for memory
    /// bandwidth in the benchmarks.
    pub fn copy_f32(&self, src: &DeviceTensor, dst: &mut DeviceTensor) -> Result<()> {
        self.same_device(src.ordinal)?;
        self.same_device(dst.ordinal)?;
        if src.len() != dst.len() {
            return Err(Error::BufferLength {
                expected: dst.len().saturating_mul(4),
                actual: src.len().saturating_mul(4),
            });
        }
        self.inner
            .stream
            .memcpy_dtod(&src.buf, &mut dst.buf)
            .map_err(drv("cuMemcpyDtoD"))
    }

    /// Generate elements `offset .. offset + len` of Philox stream `stream` for `seed` on the
    /// device: the same bits as `philox::fill_uniform` on the CPU.
    pub fn generate_uniform(
        &self,
        seed: &[u8; 32],
        stream: u32,
        offset: u64,
        len: usize,
    ) -> Result<DeviceTensor> {
        let len64 = u64::try_from(len).map_err(|_| Error::SizeOverflow("generated length"))?;
        let end = offset
            .checked_add(len64)
            .filter(|e| *e <= MAX_GENERATED)
            .ok_or(Error::SizeOverflow("generated element index"))?;
        if len == 0 {
            return Err(Error::ShapeMismatch("empty tensor".to_owned()));
        }
        let mut out = DeviceTensor {
            ordinal: self.inner.ordinal,
            buf: self.alloc::<f32>(len)?,
        };
        let sk = StreamKey::derive(seed, stream);
        let blocks = (end.saturating_sub(1) / 4)
            .saturating_sub(offset / 4)
            .saturating_add(1);
        let grid =
            u32::try_from(blocks.div_ceil(256)).map_err(|_| Error::SizeOverflow("philox grid"))?;
        let f = self.function(&nvrtc::PHILOX, "mycel_philox_f32")?;
        let cfg = LaunchConfig {
            grid_dim: (grid, 1, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        let mut launch = self.inner.stream.launch_builder(&f);
        launch
            .arg(&mut out.buf)
            .arg(&offset)
            .arg(&len64)
            .arg(&sk.key[0])
            .arg(&sk.key[1])
            .arg(&sk.hi[0])
            .arg(&sk.hi[1]);
        // SAFETY: the argument list matches mycel_philox_f32's signature (f32*, u64, u64, 4 x
        // u32); the kernel writes out[0..len) only, and out holds len elements.
        unsafe { launch.launch(cfg) }.map_err(drv("cuLaunchKernel"))?;
        Ok(out)
    }

    /// Quantize `[m, k]` f32 activations to Q8_0 on the device (GGML's reference quantizer,
    /// bit for bit). The values must be finite (device-generated data always is; use
    /// [`CudaDevice::matmul_f32`] for host data, which checks).
    pub fn quantize_q8_0(&self, x: &DeviceTensor, m: usize, k: usize) -> Result<DeviceActivations> {
        self.same_device(x.ordinal)?;
        check_dims(m, 1, k)?;
        let len = m
            .checked_mul(k)
            .ok_or(Error::SizeOverflow("activation length"))?;
        if x.len() != len {
            return Err(Error::BufferLength {
                expected: len.saturating_mul(4),
                actual: x.len().saturating_mul(4),
            });
        }
        let mut a = DeviceActivations {
            ordinal: self.inner.ordinal,
            m,
            k,
            xq: self.alloc::<i8>(len)?,
            xd: self.alloc::<u16>(len / BLOCK_LEN)?,
        };
        self.quantize_q8_0_into(x, &mut a)?;
        Ok(a)
    }

    /// [`CudaDevice::quantize_q8_0`] into existing activations of the same shape (no allocation).
    pub fn quantize_q8_0_into(&self, x: &DeviceTensor, a: &mut DeviceActivations) -> Result<()> {
        self.same_device(x.ordinal)?;
        self.same_device(a.ordinal)?;
        if x.len() != a.m.saturating_mul(a.k) {
            return Err(Error::BufferLength {
                expected: a.m.saturating_mul(a.k).saturating_mul(4),
                actual: x.len().saturating_mul(4),
            });
        }
        let nblocks = to_u32(x.len() / BLOCK_LEN, "activation blocks")?;
        let f = self.function(&nvrtc::QUANTIZE, "mycel_quantize_q8_0")?;
        let cfg = LaunchConfig {
            grid_dim: (nblocks.div_ceil(8), 1, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        let mut launch = self.inner.stream.launch_builder(&f);
        launch
            .arg(&x.buf)
            .arg(&mut a.xq)
            .arg(&mut a.xd)
            .arg(&nblocks);
        // SAFETY: arguments match mycel_quantize_q8_0 (const f32*, i8*, u16*, u32); the kernel
        // reads nblocks * 32 floats of x and writes as many bytes of xq and nblocks scales,
        // which are exactly the buffers' lengths (checked above).
        unsafe { launch.launch(cfg) }.map_err(drv("cuLaunchKernel"))?;
        Ok(())
    }

    /// Upload activations already quantized to Q8_0 (`m` rows of `k / 32` GGML blocks).
    pub fn upload_q8_0(
        &self,
        blocks: &[BlockQ8_0],
        m: usize,
        k: usize,
    ) -> Result<DeviceActivations> {
        check_dims(m, 1, k)?;
        let nb = m
            .checked_mul(k / BLOCK_LEN)
            .ok_or(Error::SizeOverflow("activation blocks"))?;
        if blocks.len() != nb {
            return Err(Error::ShapeMismatch(format!(
                "{} activation blocks, expected m × k / 32 = {nb}",
                blocks.len()
            )));
        }
        let mut qs: Vec<i8> = Vec::with_capacity(nb.saturating_mul(BLOCK_LEN));
        let mut ds: Vec<u16> = Vec::with_capacity(nb);
        for b in blocks {
            qs.extend_from_slice(&b.qs);
            ds.push(u16::from_le_bytes(b.d));
        }
        Ok(DeviceActivations {
            ordinal: self.inner.ordinal,
            m,
            k,
            xq: self.upload(&qs)?,
            xd: self.upload(&ds)?,
        })
    }

    /// Download quantized activations as GGML Q8_0 blocks (34 bytes each), for comparison
    /// with the CPU quantizer.
    pub fn download_q8_0(&self, a: &DeviceActivations) -> Result<Vec<u8>> {
        self.same_device(a.ordinal)?;
        let qs = self
            .inner
            .stream
            .clone_dtoh(&a.xq)
            .map_err(drv("cuMemcpyDtoH"))?;
        let ds = self
            .inner
            .stream
            .clone_dtoh(&a.xd)
            .map_err(drv("cuMemcpyDtoH"))?;
        self.synchronize()?;
        let mut out = Vec::with_capacity(ds.len().saturating_mul(34));
        for (d, q) in ds.iter().zip(qs.chunks_exact(BLOCK_LEN)) {
            out.extend_from_slice(&d.to_le_bytes());
            out.extend(q.iter().map(|&v| v.to_le_bytes()[0]));
        }
        Ok(out)
    }

    /// `out[m, n] = Σ_b d_w[n, b] · d_x[m, b] · sumi` under the determinism contract
    /// (spec/kernels.md): the same bits as the CPU scalar reference. `out` must hold `m * n`
    /// elements (row-major `[m, n]`).
    pub fn matmul_into(
        &self,
        w: &DeviceWeights,
        a: &DeviceActivations,
        out: &mut DeviceTensor,
    ) -> Result<()> {
        self.same_device(w.ordinal)?;
        self.same_device(a.ordinal)?;
        self.same_device(out.ordinal)?;
        if a.k != w.k {
            return Err(Error::ShapeMismatch(format!(
                "activations have k={}, weights k={}",
                a.k, w.k
            )));
        }
        let len =
            a.m.checked_mul(w.n)
                .ok_or(Error::SizeOverflow("output length"))?;
        if out.len() != len {
            return Err(Error::BufferLength {
                expected: len.saturating_mul(4),
                actual: out.len().saturating_mul(4),
            });
        }
        let m = to_u32(a.m, "m")?;
        let n = to_u32(w.n, "n")?;
        let k = to_u32(w.k, "k")?;
        let small = a.m <= MATVEC_MAX_M;
        let (src, name, cfg) = match (small, w.format) {
            (true, fmt) => (
                &nvrtc::MATVEC,
                if fmt == QuantFormat::Q8_0 {
                    "mycel_matvec_q8_0"
                } else {
                    "mycel_matvec_q4_0"
                },
                LaunchConfig {
                    grid_dim: (n.div_ceil(32), m, 1),
                    block_dim: (256, 1, 1),
                    shared_mem_bytes: 0,
                },
            ),
            (false, fmt) => {
                let gy = m.div_ceil(64);
                if gy > 65_535 {
                    return Err(Error::SizeOverflow("m exceeds the CUDA grid"));
                }
                (
                    &nvrtc::MATMUL_MMA,
                    if fmt == QuantFormat::Q8_0 {
                        "mycel_matmul_q8_0"
                    } else {
                        "mycel_matmul_q4_0"
                    },
                    LaunchConfig {
                        grid_dim: (n.div_ceil(64), gy, 1),
                        block_dim: (128, 1, 1),
                        shared_mem_bytes: 0,
                    },
                )
            }
        };
        let f = self.function(src, name)?;
        let mut launch = self.inner.stream.launch_builder(&f);
        launch
            .arg(&w.wq)
            .arg(&w.wd)
            .arg(&a.xq)
            .arg(&a.xd)
            .arg(&mut out.buf);
        if !small {
            launch.arg(&m);
        }
        launch.arg(&n).arg(&k);
        // SAFETY: arguments match the kernels' signatures (matvec: wq, wd, xq, xd, out, n, k;
        // matmul: the same with m before n). Buffer lengths were fixed at creation from the
        // same m, n, k and checked above; the kernels read and write within them.
        unsafe { launch.launch(cfg) }.map_err(drv("cuLaunchKernel"))?;
        Ok(())
    }

    /// [`CudaDevice::matmul_into`] into a new output tensor.
    pub fn matmul(&self, w: &DeviceWeights, a: &DeviceActivations) -> Result<DeviceTensor> {
        let len =
            a.m.checked_mul(w.n)
                .ok_or(Error::SizeOverflow("output length"))?;
        let mut out = DeviceTensor {
            ordinal: self.inner.ordinal,
            buf: self.alloc::<f32>(len)?,
        };
        self.matmul_into(w, a, &mut out)?;
        Ok(out)
    }

    /// Host in, host out: quantize `x` (`[m, k]`, finite) on the device and multiply by `w`.
    /// Returns the `[m, n]` output, bit-identical to the CPU reference.
    pub fn matmul_f32(&self, w: &DeviceWeights, x: &[f32], m: usize) -> Result<Vec<f32>> {
        check_dims(m, w.n, w.k)?;
        let len = m
            .checked_mul(w.k)
            .ok_or(Error::SizeOverflow("activation length"))?;
        if x.len() != len {
            return Err(Error::BufferLength {
                expected: len.saturating_mul(4),
                actual: x.len().saturating_mul(4),
            });
        }
        crate::quant::check_finite(x)?;
        let xt = self.upload_f32(x)?;
        let a = self.quantize_q8_0(&xt, m, w.k)?;
        let out = self.matmul(w, &a)?;
        self.download_f32(&out)
    }
}

impl CudaDevice {
    /// Upload one attention input, widening f16/bf16 to f32 exactly on the device.
    fn upload_attn_input(&self, x: AttnInput<'_>) -> Result<DeviceTensor> {
        let bits: &[u16] = match x {
            AttnInput::F32(v) => return self.upload_f32(v),
            AttnInput::F16(v) => bytemuck::cast_slice(v),
            AttnInput::Bf16(v) => bytemuck::cast_slice(v),
        };
        let name = if matches!(x, AttnInput::F16(_)) {
            "mycel_widen_f16"
        } else {
            "mycel_widen_bf16"
        };
        if bits.is_empty() {
            return Err(Error::ShapeMismatch("empty tensor".to_owned()));
        }
        let src = self.upload(bits)?;
        let mut out = DeviceTensor {
            ordinal: self.inner.ordinal,
            buf: self.alloc::<f32>(bits.len())?,
        };
        let n = u64::try_from(bits.len()).map_err(|_| Error::SizeOverflow("tensor length"))?;
        let grid = u32::try_from(n.div_ceil(256)).map_err(|_| Error::SizeOverflow("grid"))?;
        let f = self.function(&nvrtc::ATTENTION, name)?;
        let mut launch = self.inner.stream.launch_builder(&f);
        launch.arg(&src).arg(&mut out.buf).arg(&n);
        let cfg = LaunchConfig {
            grid_dim: (grid, 1, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        // SAFETY: (const u16*, f32*, u64) as the kernel declares; both buffers hold n elements
        // and the kernel touches indices below n only.
        unsafe { launch.launch(cfg) }.map_err(drv("cuLaunchKernel"))?;
        Ok(out)
    }

    /// Attention on device-resident f32 inputs into `out` (`[n_heads, q_len, head_dim]`).
    /// Verifiable mode runs spec/kernels.md "Attention" steps S–F, bit for bit the scalar
    /// reference; fast mode runs a FlashAttention-style f32 kernel (K/V tiles shared by 32 query
    /// rows in shared memory, free reordering, `exp2f`), or for decode (`q_len = 1`, at least
    /// 512 keys) a split-KV kernel plus a merge, only within the spec's tolerance of
    /// verifiable mode.
    pub fn attention_into(
        &self,
        params: &AttentionParams,
        q: &DeviceTensor,
        k: &DeviceTensor,
        v: &DeviceTensor,
        mode: AttentionMode,
        out: &mut DeviceTensor,
    ) -> Result<()> {
        for t in [q, k, v, &*out] {
            self.same_device(t.ordinal)?;
        }
        let scale = params.validate()?;
        let (qn, kn) = (params.q_elems()?, params.kv_elems()?);
        for (t, n) in [(q, qn), (k, kn), (v, kn), (&*out, qn)] {
            if t.len() != n {
                return Err(Error::BufferLength {
                    expected: n.saturating_mul(4),
                    actual: t.len().saturating_mul(4),
                });
            }
        }
        let rows = params
            .n_heads
            .checked_mul(params.q_len)
            .ok_or(Error::SizeOverflow("attention rows"))?;
        let n_heads = to_u32(params.n_heads, "n_heads")?;
        let group = to_u32(
            params.n_heads.checked_div(params.n_kv_heads).unwrap_or(0),
            "group",
        )?;
        let q_len = to_u32(params.q_len, "q_len")?;
        let kv_len = to_u32(params.kv_len, "kv_len")?;
        let d = to_u32(params.head_dim, "head_dim")?;
        let causal = u32::from(params.causal);
        if mode == AttentionMode::Fast && params.q_len == 1 && params.kv_len >= 2 * FD_CHUNK {
            // decode: keys split across blocks, then merged (flash-decoding)
            let n_splits = params.kv_len.div_ceil(FD_CHUNK);
            let plen = params
                .n_heads
                .checked_mul(n_splits)
                .and_then(|x| x.checked_mul(params.head_dim.saturating_add(2)))
                .ok_or(Error::SizeOverflow("attention partials"))?;
            let mut partial = self.alloc::<f32>(plen)?;
            if n_heads > 65_535 {
                return Err(Error::SizeOverflow("n_heads exceeds the CUDA grid"));
            }
            let splits = to_u32(n_splits, "attention splits")?;
            let f = self.function(&nvrtc::ATTENTION, "mycel_attention_decode_split")?;
            let mut launch = self.inner.stream.launch_builder(&f);
            launch
                .arg(&q.buf)
                .arg(&k.buf)
                .arg(&v.buf)
                .arg(&mut partial)
                .arg(&group)
                .arg(&kv_len)
                .arg(&d)
                .arg(&splits)
                .arg(&scale);
            let cfg = LaunchConfig {
                grid_dim: (splits, n_heads, 1),
                block_dim: (128, 1, 1),
                shared_mem_bytes: 0,
            };
            // SAFETY: arguments match mycel_attention_decode_split; partial holds
            // n_heads * n_splits * (d + 2) floats, the shape was validated above.
            unsafe { launch.launch(cfg) }.map_err(drv("cuLaunchKernel"))?;
            let f = self.function(&nvrtc::ATTENTION, "mycel_attention_decode_merge")?;
            let mut launch = self.inner.stream.launch_builder(&f);
            launch.arg(&partial).arg(&mut out.buf).arg(&d).arg(&splits);
            let cfg = LaunchConfig {
                grid_dim: (n_heads, 1, 1),
                block_dim: (d, 1, 1),
                shared_mem_bytes: 0,
            };
            // SAFETY: arguments match mycel_attention_decode_merge; out holds n_heads * d.
            unsafe { launch.launch(cfg) }.map_err(drv("cuLaunchKernel"))?;
            return Ok(());
        }
        if mode == AttentionMode::Fast {
            let per_kv = params
                .n_heads
                .checked_div(params.n_kv_heads)
                .unwrap_or(0)
                .checked_mul(params.q_len)
                .ok_or(Error::SizeOverflow("attention rows"))?;
            to_u32(per_kv, "attention rows per KV head")?; // the kernel indexes rows in u32
            let gy = to_u32(params.n_kv_heads, "n_kv_heads")?;
            if gy > 65_535 {
                return Err(Error::SizeOverflow("n_kv_heads exceeds the CUDA grid"));
            }
            let f = self.function(&nvrtc::ATTENTION, "mycel_attention_fast")?;
            let mut launch = self.inner.stream.launch_builder(&f);
            launch
                .arg(&q.buf)
                .arg(&k.buf)
                .arg(&v.buf)
                .arg(&mut out.buf)
                .arg(&group)
                .arg(&q_len)
                .arg(&kv_len)
                .arg(&d)
                .arg(&causal)
                .arg(&scale);
            let cfg = LaunchConfig {
                grid_dim: (to_u32(per_kv.div_ceil(32), "attention grid")?, gy, 1),
                block_dim: (128, 1, 1),
                shared_mem_bytes: 0,
            };
            // SAFETY: arguments match mycel_attention_fast's signature; the shape was
            // validated and the buffer lengths checked above.
            unsafe { launch.launch(cfg) }.map_err(drv("cuLaunchKernel"))?;
            return Ok(());
        }
        let f = self.function(&nvrtc::ATTENTION, "mycel_attention_verifiable")?;
        let mut launch = self.inner.stream.launch_builder(&f);
        launch
            .arg(&q.buf)
            .arg(&k.buf)
            .arg(&v.buf)
            .arg(&mut out.buf)
            .arg(&n_heads)
            .arg(&group)
            .arg(&q_len)
            .arg(&kv_len)
            .arg(&d)
            .arg(&causal)
            .arg(&scale);
        let cfg = LaunchConfig {
            grid_dim: (to_u32(rows.div_ceil(4), "attention grid")?, 1, 1),
            block_dim: (128, 1, 1),
            shared_mem_bytes: 0,
        };
        // SAFETY: arguments match mycel_attention_verifiable's signature; params.validate()
        // guarantees head_dim ∈ {64, 128}, n_kv_heads | n_heads and (causal) q_len ≤ kv_len,
        // and the buffer lengths were checked against the shape above.
        unsafe { launch.launch(cfg) }.map_err(drv("cuLaunchKernel"))?;
        Ok(())
    }

    /// Attention, host in and host out: f32/f16/bf16 inputs (each independently), f32 output
    /// `[n_heads, q_len, head_dim]`, the same bits as `attention::attention` in verifiable mode.
    pub fn attention(
        &self,
        params: &AttentionParams,
        q: AttnInput<'_>,
        k: AttnInput<'_>,
        v: AttnInput<'_>,
        mode: AttentionMode,
    ) -> Result<Vec<f32>> {
        params.validate()?;
        let (qn, kn) = (params.q_elems()?, params.kv_elems()?);
        for (t, n) in [(&q, qn), (&k, kn), (&v, kn)] {
            if t.len() != n {
                return Err(Error::BufferLength {
                    expected: n.saturating_mul(t.elem_bytes()),
                    actual: t.len().saturating_mul(t.elem_bytes()),
                });
            }
        }
        let qd = self.upload_attn_input(q)?;
        let kd = self.upload_attn_input(k)?;
        let vd = self.upload_attn_input(v)?;
        let mut out = DeviceTensor {
            ordinal: self.inner.ordinal,
            buf: self.alloc::<f32>(qn)?,
        };
        self.attention_into(params, &qd, &kd, &vd, mode, &mut out)?;
        self.download_f32(&out)
    }
}

/// Attention on CUDA device `ordinal`, host in and host out: what `attention::attention` with
/// `Backend::Cuda(ordinal)` runs (see [`CudaDevice::attention`]).
pub fn attention(
    ordinal: u32,
    params: &AttentionParams,
    q: AttnInput<'_>,
    k: AttnInput<'_>,
    v: AttnInput<'_>,
    mode: AttentionMode,
) -> Result<Vec<f32>> {
    CudaDevice::open(ordinal)?.attention(params, q, k, v, mode)
}

/// `Y = X · Wᵀ` for activations already quantized to Q8_0, on CUDA device `ordinal`: what
/// `matmul::matmul_q8(xq, m, w, Backend::Cuda(ordinal), _)` runs.
pub fn matmul_q8(
    ordinal: u32,
    xq: &[BlockQ8_0],
    m: usize,
    w: &crate::matmul::Weights<'_>,
) -> Result<Vec<f32>> {
    let dev = CudaDevice::open(ordinal)?;
    let a = dev.upload_q8_0(xq, m, w.k())?;
    let dw = dev.upload_weights(w.format(), w.n(), w.k(), w.as_bytes())?;
    let out = dev.matmul(&dw, &a)?;
    dev.download_f32(&out)
}

/// `Y = X · Wᵀ` on CUDA device `ordinal`, host in and host out: what
/// `matmul::matmul(x, m, w, Backend::Cuda(ordinal), _)` runs. Uploads the weights for this one
/// call; keep a [`DeviceWeights`] with [`CudaDevice::upload_weights`] to reuse them.
pub fn matmul(
    ordinal: u32,
    x: &[f32],
    m: usize,
    w: &crate::matmul::Weights<'_>,
) -> Result<Vec<f32>> {
    let dev = CudaDevice::open(ordinal)?;
    let dw = dev.upload_weights(w.format(), w.n(), w.k(), w.as_bytes())?;
    dev.matmul_f32(&dw, x, m)
}
