// Quantized matrix-vector products (small M): out[m, n] = sum over blocks b, in ascending
// order, of d_w[n,b] * d_x[m,b] * sumi(n, m, b), evaluated exactly as the CPU reference does:
//
//   acc = +0.0f
//   for b in 0 .. K/32:                       (ascending, one chain per output)
//       sumi  = exact int32 dot of the block   (dp4a; Q4_0 nibbles minus 8 first)
//       scale = f32(d_w) * f32(d_x)           (__fmul_rn; exact: two binary16 significands)
//       acc   = fmaf(scale, (float)sumi, acc)  (__fmaf_rn: one rounding)
//
// Memory-bound layout: a thread block owns MV_ROWS weight rows and walks K in chunks of
// MV_CHUNK blocks. Phase A: each warp takes rows, lane j computes the exact block dot of
// block c0+j for that row (coalesced loads, lanes in parallel) and stores (scale, sumi) in
// shared memory. Phase B: thread r applies the chunk's FMAs for row r in ascending block
// order. So the expensive integer work runs 32-wide and only the ordered FMA chain is
// sequential, which keeps the result independent of the launch shape.
//
// gridDim.x = ceil(N / MV_ROWS), gridDim.y = M (one activation row per grid row).

#define MV_ROWS 32
#define MV_CHUNK 32
#define MV_THREADS 256
#define MV_WARPS (MV_THREADS / 32)
#define MV_ROWS_PER_WARP (MV_ROWS / MV_WARPS)

template <bool Q4>
__device__ __forceinline__ void mycel_matvec(const u8* __restrict__ wq,
                                             const u16* __restrict__ wd,
                                             const i8* __restrict__ xq,
                                             const u16* __restrict__ xd,
                                             float* __restrict__ out,
                                             u32 n_rows, u32 k) {
    __shared__ float s_scale[MV_ROWS][MV_CHUNK + 1];
    __shared__ float s_sumf[MV_ROWS][MV_CHUNK + 1];
    __shared__ __align__(16) i32 s_xq[MV_CHUNK * 8];
    __shared__ float s_xd[MV_CHUNK];

    const u32 nb = k / MYCEL_QK;
    const u32 tid = threadIdx.x;
    const u32 warp = tid >> 5;
    const u32 lane = tid & 31u;
    const u32 row0 = blockIdx.x * MV_ROWS;
    const u32 m = blockIdx.y;
    const i32* xrow = (const i32*)(xq + (u64)m * k);
    const u16* xdrow = xd + (u64)m * nb;

    float acc = 0.0f;  // owned by threads 0..MV_ROWS-1: row row0 + tid

    for (u32 c0 = 0; c0 < nb; c0 += MV_CHUNK) {
        const u32 cb = min((u32)MV_CHUNK, nb - c0);
        for (u32 i = tid; i < cb * 8; i += MV_THREADS) {
            s_xq[i] = xrow[(u64)c0 * 8 + i];
        }
        if (tid < cb) {
            s_xd[tid] = mycel_f16_to_f32(xdrow[c0 + tid]);
        }
        __syncthreads();

        // Phase A: issue every row's loads first, then compute.
        uint4 w0[MV_ROWS_PER_WARP];
        uint4 w1[MV_ROWS_PER_WARP];
        u16 dw[MV_ROWS_PER_WARP];
        const bool lane_ok = lane < cb;
#pragma unroll
        for (int i = 0; i < MV_ROWS_PER_WARP; ++i) {
            const u32 r = warp * MV_ROWS_PER_WARP + i;
            const u32 n = row0 + r;
            w0[i] = make_uint4(0u, 0u, 0u, 0u);
            w1[i] = make_uint4(0u, 0u, 0u, 0u);
            dw[i] = 0;
            if (lane_ok && n < n_rows) {
                const u64 blk = (u64)n * nb + c0 + lane;
                if (Q4) {
                    w0[i] = ((const uint4*)wq)[blk];
                } else {
                    w0[i] = ((const uint4*)wq)[blk * 2];
                    w1[i] = ((const uint4*)wq)[blk * 2 + 1];
                }
                dw[i] = wd[blk];
            }
        }
        if (lane_ok) {
            const int4 xa = ((const int4*)s_xq)[lane * 2];
            const int4 xb = ((const int4*)s_xq)[lane * 2 + 1];
            const float dx = s_xd[lane];
#pragma unroll
            for (int i = 0; i < MV_ROWS_PER_WARP; ++i) {
                const u32 r = warp * MV_ROWS_PER_WARP + i;
                i32 sumi = 0;
                if (Q4) {
                    // bytes 0..15 of the block: low nibbles = elements 0..15, high = 16..31
                    sumi = __dp4a(mycel_q4_lo(w0[i].x), xa.x, sumi);
                    sumi = __dp4a(mycel_q4_lo(w0[i].y), xa.y, sumi);
                    sumi = __dp4a(mycel_q4_lo(w0[i].z), xa.z, sumi);
                    sumi = __dp4a(mycel_q4_lo(w0[i].w), xa.w, sumi);
                    sumi = __dp4a(mycel_q4_hi(w0[i].x), xb.x, sumi);
                    sumi = __dp4a(mycel_q4_hi(w0[i].y), xb.y, sumi);
                    sumi = __dp4a(mycel_q4_hi(w0[i].z), xb.z, sumi);
                    sumi = __dp4a(mycel_q4_hi(w0[i].w), xb.w, sumi);
                } else {
                    sumi = __dp4a((i32)w0[i].x, xa.x, sumi);
                    sumi = __dp4a((i32)w0[i].y, xa.y, sumi);
                    sumi = __dp4a((i32)w0[i].z, xa.z, sumi);
                    sumi = __dp4a((i32)w0[i].w, xa.w, sumi);
                    sumi = __dp4a((i32)w1[i].x, xb.x, sumi);
                    sumi = __dp4a((i32)w1[i].y, xb.y, sumi);
                    sumi = __dp4a((i32)w1[i].z, xb.z, sumi);
                    sumi = __dp4a((i32)w1[i].w, xb.w, sumi);
                }
                s_scale[r][lane] = __fmul_rn(mycel_f16_to_f32(dw[i]), dx);
                s_sumf[r][lane] = __int2float_rn(sumi);
            }
        }
        __syncthreads();

        // Phase B: the ordered FMA chain, one thread per row.
        if (tid < MV_ROWS) {
            for (u32 j = 0; j < cb; ++j) {
                acc = __fmaf_rn(s_scale[tid][j], s_sumf[tid][j], acc);
            }
        }
        __syncthreads();
    }

    if (tid < MV_ROWS && row0 + tid < n_rows) {
        out[(u64)m * n_rows + row0 + tid] = mycel_canonical_nan(acc);
    }
}

// Q8_0 weights: wq = int8 [N][K] (the blocks' qs, 32 bytes per block), wd = binary16 [N][K/32].
extern "C" __global__ void __launch_bounds__(MV_THREADS)
mycel_matvec_q8_0(const u8* __restrict__ wq, const u16* __restrict__ wd,
                  const i8* __restrict__ xq, const u16* __restrict__ xd,
                  float* __restrict__ out, u32 n_rows, u32 k) {
    mycel_matvec<false>(wq, wd, xq, xd, out, n_rows, k);
}

// Q4_0 weights: wq = packed nibbles [N][K/2] (the blocks' qs, 16 bytes per block, GGML order),
// wd = binary16 [N][K/32].
extern "C" __global__ void __launch_bounds__(MV_THREADS)
mycel_matvec_q4_0(const u8* __restrict__ wq, const u16* __restrict__ wd,
                  const i8* __restrict__ xq, const u16* __restrict__ xd,
                  float* __restrict__ out, u32 n_rows, u32 k) {
    mycel_matvec<true>(wq, wd, xq, xd, out, n_rows, k);
}
