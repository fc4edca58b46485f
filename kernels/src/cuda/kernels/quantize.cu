// Activation quantization to Q8_0 on device: GGML's quantize_row_q8_0_ref, bit for bit.
//
//   amax = max |x_j|                       (exact, order-free)
//   d    = amax / 127                      (__fdiv_rn: IEEE division)
//   id   = d != 0 ? 1 / d : 0              (__fdiv_rn)
//   q_j  = roundf(x_j * id)                (__fmul_rn, then roundf: half away from zero)
//   d is stored as binary16, round to nearest even.
//
// One warp per 32-element block (lane j holds x_j). Inputs must be finite (the host checks
// data it uploads; generated data is finite by construction).
//
// Output layout: xq[b*32 + j] (int8, one row of K after another, 4-byte aligned rows because
// K is a multiple of 32) and xd[b] (binary16 bits).

extern "C" __global__ void mycel_quantize_q8_0(const float* __restrict__ x,
                                               i8* __restrict__ xq,
                                               u16* __restrict__ xd,
                                               u32 nblocks) {
    const u32 warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const u32 lane = threadIdx.x & 31u;
    if (warp >= nblocks) {
        return;  // warp-uniform: whole warps leave together
    }
    const float v = x[(u64)warp * MYCEL_QK + lane];
    float amax = fabsf(v);
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) {
        amax = fmaxf(amax, __shfl_xor_sync(MYCEL_FULL_MASK, amax, off));
    }
    const float d = __fdiv_rn(amax, 127.0f);
    const float id = (d != 0.0f) ? __fdiv_rn(1.0f, d) : 0.0f;
    const float q = roundf(__fmul_rn(v, id));
    xq[(u64)warp * MYCEL_QK + lane] = (i8)(i32)q;
    if (lane == 0) {
        xd[warp] = mycel_f32_to_f16(d);
    }
}
