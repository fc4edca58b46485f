// Tiled quantized matmul for M >= 16 with int8 tensor cores (mma.sync.m16n8k32, sm_80+).
//
// The contract is the one matvec.cu states: per output, blocks in ascending order,
// acc = fmaf(f32(d_w) * f32(d_x), (float)sumi, acc). One m16n8k32 int8 mma with a zero
// accumulator computes exactly one 32-element block's int32 dot for a 16 x 8 tile of outputs
// (k = 32 = one block), so every thread keeps one f32 accumulator per output it owns and
// applies the block's FMA right after the mma, block after block. The tile shape therefore
// never changes a result. The int32 -> f32 conversion of sumi uses mycel_small_i2f (exact,
// equal to __int2float_rn) because the conversion unit's lower throughput would otherwise
// bound the epilogue that follows every mma.
//
// Tiles: a 128-thread block (4 warps as 2 x 2) computes a 64 x 64 output tile; each warp
// computes 32 x 32 (2 m16 x 4 n8 fragments, 32 accumulators per thread). K is staged through
// shared memory MM_KC blocks at a time. Q4_0 weights are unpacked to signed bytes
// (nibble - 8) when staged.
//
// Operand layout for mma.m16n8k32.row.col.s32.s8.s8.s32 (PTX ISA, "Matrix fragments for
// mma.m16n8k32"): with g = lane / 4 and t = lane % 4, counting K in 32-bit words of 4 int8,
//   A (16 x 32, row): a0 = A[g][t], a1 = A[g+8][t], a2 = A[g][t+4], a3 = A[g+8][t+4]
//   B (32 x 8, col):  b0 = B[t][g], b1 = B[t+4][g]        (B stored n-major: W[n][k])
//   C (16 x 8):       c0 = C[g][2t], c1 = C[g][2t+1], c2 = C[g+8][2t], c3 = C[g+8][2t+1]
//
// gridDim = (ceil(N / 64), ceil(M / 64)).

#define MM_BM 64
#define MM_BN 64
#define MM_KC 4                     // blocks of 32 per shared-memory stage
#define MM_WORDS (MM_KC * 8)        // 32-bit words per row per stage
#define MM_LD (MM_WORDS + 4)        // padded row stride: conflict-free fragment loads
#define MM_THREADS 128

__device__ __forceinline__ void mycel_mma_s8(i32 (&c)[4], const i32 (&a)[4], const i32 (&b)[2]) {
#ifdef MYCEL_EMU
    emu_mma_s8(c, a, b);
#else
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};\n"
        : "=r"(c[0]), "=r"(c[1]), "=r"(c[2]), "=r"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]),
          "r"(0), "r"(0), "r"(0), "r"(0));
#endif
}

template <bool Q4>
__device__ __forceinline__ void mycel_matmul(const u8* __restrict__ wq,
                                             const u16* __restrict__ wd,
                                             const i8* __restrict__ xq,
                                             const u16* __restrict__ xd,
                                             float* __restrict__ out,
                                             u32 m_rows, u32 n_rows, u32 k) {
    __shared__ __align__(16) i32 s_a[MM_BM][MM_LD];
    __shared__ __align__(16) i32 s_b[MM_BN][MM_LD];
    __shared__ float s_da[MM_BM][MM_KC];
    __shared__ float s_db[MM_BN][MM_KC];

    const u32 nb = k / MYCEL_QK;
    const u32 tid = threadIdx.x;
    const u32 lane = tid & 31u;
    const u32 warp = tid >> 5;
    const u32 g = lane >> 2;
    const u32 t = lane & 3u;
    const u32 wm = (warp >> 1) * 32;  // warp's row offset in the tile
    const u32 wn = (warp & 1u) * 32;  // warp's column offset in the tile
    const u32 m0 = blockIdx.y * MM_BM;
    const u32 n0 = blockIdx.x * MM_BN;

    float acc[2][4][4];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;

    for (u32 c0 = 0; c0 < nb; c0 += MM_KC) {
        const u32 cb = min((u32)MM_KC, nb - c0);

        // Stage activations: MM_BM rows x cb blocks, 16 bytes per load, zeros outside.
        for (u32 i = tid; i < MM_BM * MM_KC * 2; i += MM_THREADS) {
            const u32 r = i / (MM_KC * 2);
            const u32 q = i % (MM_KC * 2);  // 16-byte quarter: block q/2, half q%2
            const u32 m = m0 + r;
            uint4 v = make_uint4(0u, 0u, 0u, 0u);
            if (m < m_rows && q / 2 < cb) {
                v = ((const uint4*)(xq + (u64)m * k))[(u64)(c0 + q / 2) * 2 + (q % 2)];
            }
            *(uint4*)&s_a[r][q * 4] = v;
        }
        for (u32 i = tid; i < MM_BM * MM_KC; i += MM_THREADS) {
            const u32 r = i / MM_KC;
            const u32 b = i % MM_KC;
            const u32 m = m0 + r;
            s_da[r][b] = (m < m_rows && b < cb) ? mycel_f16_to_f32(xd[(u64)m * nb + c0 + b]) : 0.0f;
        }
        // Stage weights: MM_BN rows x cb blocks.
        if (Q4) {
            for (u32 i = tid; i < MM_BN * MM_KC; i += MM_THREADS) {
                const u32 r = i / MM_KC;
                const u32 b = i % MM_KC;
                const u32 n = n0 + r;
                uint4 v = make_uint4(0x88888888u, 0x88888888u, 0x88888888u, 0x88888888u);
                if (n < n_rows && b < cb) {
                    v = ((const uint4*)wq)[(u64)n * nb + c0 + b];
                }
                int4 lo = make_int4(mycel_q4_lo(v.x), mycel_q4_lo(v.y), mycel_q4_lo(v.z), mycel_q4_lo(v.w));
                int4 hi = make_int4(mycel_q4_hi(v.x), mycel_q4_hi(v.y), mycel_q4_hi(v.z), mycel_q4_hi(v.w));
                *(int4*)&s_b[r][b * 8] = lo;
                *(int4*)&s_b[r][b * 8 + 4] = hi;
            }
        } else {
            for (u32 i = tid; i < MM_BN * MM_KC * 2; i += MM_THREADS) {
                const u32 r = i / (MM_KC * 2);
                const u32 q = i % (MM_KC * 2);
                const u32 n = n0 + r;
                uint4 v = make_uint4(0u, 0u, 0u, 0u);
                if (n < n_rows && q / 2 < cb) {
                    v = ((const uint4*)(wq + (u64)n * k))[(u64)(c0 + q / 2) * 2 + (q % 2)];
                }
                *(uint4*)&s_b[r][q * 4] = v;
            }
        }
        for (u32 i = tid; i < MM_BN * MM_KC; i += MM_THREADS) {
            const u32 r = i / MM_KC;
            const u32 b = i % MM_KC;
            const u32 n = n0 + r;
            s_db[r][b] = (n < n_rows && b < cb) ? mycel_f16_to_f32(wd[(u64)n * nb + c0 + b]) : 0.0f;
        }
        __syncthreads();

        for (u32 b = 0; b < cb; ++b) {
            i32 af[2][4];
            i32 bf[4][2];
#pragma unroll
            for (int i = 0; i < 2; ++i) {
                const u32 r = wm + i * 16 + g;
                af[i][0] = s_a[r][b * 8 + t];
                af[i][1] = s_a[r + 8][b * 8 + t];
                af[i][2] = s_a[r][b * 8 + t + 4];
                af[i][3] = s_a[r + 8][b * 8 + t + 4];
            }
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const u32 c = wn + j * 8 + g;
                bf[j][0] = s_b[c][b * 8 + t];
                bf[j][1] = s_b[c][b * 8 + t + 4];
            }
            float da[2][2];
            float db[4][2];
#pragma unroll
            for (int i = 0; i < 2; ++i) {
                da[i][0] = s_da[wm + i * 16 + g][b];
                da[i][1] = s_da[wm + i * 16 + g + 8][b];
            }
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                db[j][0] = s_db[wn + j * 8 + 2 * t][b];
                db[j][1] = s_db[wn + j * 8 + 2 * t + 1][b];
            }
#pragma unroll
            for (int i = 0; i < 2; ++i) {
#pragma unroll
                for (int j = 0; j < 4; ++j) {
                    i32 c[4];
                    mycel_mma_s8(c, af[i], bf[j]);
                    // c0: (g, 2t)  c1: (g, 2t+1)  c2: (g+8, 2t)  c3: (g+8, 2t+1)
                    acc[i][j][0] = __fmaf_rn(__fmul_rn(db[j][0], da[i][0]), mycel_small_i2f(c[0]), acc[i][j][0]);
                    acc[i][j][1] = __fmaf_rn(__fmul_rn(db[j][1], da[i][0]), mycel_small_i2f(c[1]), acc[i][j][1]);
                    acc[i][j][2] = __fmaf_rn(__fmul_rn(db[j][0], da[i][1]), mycel_small_i2f(c[2]), acc[i][j][2]);
                    acc[i][j][3] = __fmaf_rn(__fmul_rn(db[j][1], da[i][1]), mycel_small_i2f(c[3]), acc[i][j][3]);
                }
            }
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 2; ++i) {
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const u32 r = m0 + wm + i * 16 + g;
            const u32 c = n0 + wn + j * 8 + 2 * t;
            if (r < m_rows && c < n_rows) out[(u64)r * n_rows + c] = mycel_canonical_nan(acc[i][j][0]);
            if (r < m_rows && c + 1 < n_rows) out[(u64)r * n_rows + c + 1] = mycel_canonical_nan(acc[i][j][1]);
            if (r + 8 < m_rows && c < n_rows) out[(u64)(r + 8) * n_rows + c] = mycel_canonical_nan(acc[i][j][2]);
            if (r + 8 < m_rows && c + 1 < n_rows) out[(u64)(r + 8) * n_rows + c + 1] = mycel_canonical_nan(acc[i][j][3]);
        }
    }
}

// Q8_0 weights (layout as in matvec.cu); out is [M][N] row-major.
extern "C" __global__ void __launch_bounds__(MM_THREADS)
mycel_matmul_q8_0(const u8* __restrict__ wq, const u16* __restrict__ wd,
                  const i8* __restrict__ xq, const u16* __restrict__ xd,
                  float* __restrict__ out, u32 m_rows, u32 n_rows, u32 k) {
    mycel_matmul<false>(wq, wd, xq, xd, out, m_rows, n_rows, k);
}

// Q4_0 weights (layout as in matvec.cu); out is [M][N] row-major.
extern "C" __global__ void __launch_bounds__(MM_THREADS)
mycel_matmul_q4_0(const u8* __restrict__ wq, const u16* __restrict__ wd,
                  const i8* __restrict__ xq, const u16* __restrict__ xd,
                  float* __restrict__ out, u32 m_rows, u32 n_rows, u32 k) {
    mycel_matmul<true>(wq, wd, xq, xd, out, m_rows, n_rows, k);
}
