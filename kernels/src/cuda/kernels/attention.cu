// Verifiable-mode attention (spec/kernels.md "Attention", steps S-F), bit for bit the scalar
// reference (kernels/src/attention/scalar.rs). One warp per query row (head h, position i);
// rows never interact, so how rows map to warps and blocks changes no bit.
//
// Per row: running max m, eight sum lanes sigma_0..7 (held by lanes 0..7), the output
// accumulator o (lane owns columns lane + 32 j). Keys are taken in tiles of 64 in order:
//   T1  s_u = RN(dot(q, k_j) * scale)   dot: 8 sequential FMA lanes + the tree8 of step D,
//                                       computed entirely by the lane that owns key u
//   T2  m_t = largest non-NaN s_u; m' = m_t > m ? m_t : m     (exact; order-free)
//   T3  alpha = expv(RN(m - m')); sigma_r = RN(sigma_r * alpha); o_c = RN(o_c * alpha)
//   T4  p_u = expv(RN(s_u - m')); sigma_{u mod 8} = RN(sigma_{u mod 8} + p_u), u ascending
//   T5  o_c = fma(p_u, v_j[c], o_c), u ascending
//   F   l = tree8(sigma); out_c = canonical(RN(o_c / l))
// expv is step E: range reduction with LN2_HI/LN2_LO and a degree-7 polynomial, every step an
// explicit round-to-nearest operation.
//
// Inputs are f32 (f16/bf16 inputs are widened exactly by mycel_widen_* first).
// Layout: q [n_heads][q_len][d], k and v [n_kv_heads][kv_len][d], out [n_heads][q_len][d].
// Block: ATT_WARPS warps; grid.x = ceil(rows / ATT_WARPS) with rows = n_heads * q_len.

#define ATT_TILE 64
#define ATT_WARPS 4
#define ATT_MAX_D 128

#define EXP_LOG2E 0x3FB8AA3B
#define EXP_LN2_HI 0x3F318000
#define EXP_LN2_LO 0xB95E8083

__device__ __forceinline__ float mycel_expv(float x) {
    const float t = __fmul_rn(x, __int_as_float(EXP_LOG2E));
    const float n = rintf(t);  // round half to even (the default rounding mode)
    if (n < -126.0f) {
        return 0.0f;
    }
    if (n > 127.0f) {
        return __int_as_float(0x7f800000);
    }
    float r = __fmaf_rn(-n, __int_as_float(EXP_LN2_HI), x);
    r = __fmaf_rn(-n, __int_as_float((i32)EXP_LN2_LO), r);
    float p = __int_as_float(0x39506967);                 // C7
    p = __fmaf_rn(p, r, __int_as_float(0x3AB743CE));      // C6
    p = __fmaf_rn(p, r, __int_as_float(0x3C088908));      // C5
    p = __fmaf_rn(p, r, __int_as_float(0x3D2AA9C1));      // C4
    p = __fmaf_rn(p, r, __int_as_float(0x3E2AAAAA));      // C3
    p = __fmaf_rn(p, r, __int_as_float(0x3F000000));      // C2
    p = __fmaf_rn(p, r, 1.0f);                            // C1
    p = __fmaf_rn(p, r, 1.0f);                            // C0
    // n is integer-valued in [-126, 127] here, or NaN (then p is NaN and so is the result;
    // the reference turns NaN into exponent 0, 2^0 = 1, which gives the same NaN outcome).
    const i32 ni = (n == n) ? (i32)n : 0;
    return __fmul_rn(p, __int_as_float((ni + 127) << 23));
}

__device__ __forceinline__ float mycel_tree8(const float (&a)[8]) {
    return __fadd_rn(__fadd_rn(__fadd_rn(a[0], a[1]), __fadd_rn(a[2], a[3])),
                     __fadd_rn(__fadd_rn(a[4], a[5]), __fadd_rn(a[6], a[7])));
}

template <int D>
__device__ __forceinline__ void mycel_attention_row(const float* __restrict__ q,
                                                    const float* __restrict__ k,
                                                    const float* __restrict__ v,
                                                    float* __restrict__ out,
                                                    u32 n_valid, float scale,
                                                    float* s_q, float* s_p) {
    const u32 lane = threadIdx.x & 31u;
    const unsigned full = MYCEL_FULL_MASK;
    for (u32 c = lane; c < (u32)D; c += 32) {
        s_q[c] = q[c];
    }
    __syncwarp(full);

    float m = __int_as_float((i32)0xff800000u);  // -inf
    float sigma = 0.0f;                          // lanes 0..7: sigma_lane
    float o[D / 32];
#pragma unroll
    for (int j = 0; j < D / 32; ++j) o[j] = 0.0f;

    for (u32 t0 = 0; t0 < n_valid; t0 += ATT_TILE) {
        const u32 nt = min((u32)ATT_TILE, n_valid - t0);
        // T1: scores, two keys per lane
        float mt = __int_as_float((i32)0xff800000u);
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const u32 u = lane + 32u * h;
            if (u < nt) {
                const float* kr = k + (u64)(t0 + u) * D;
                float lam[8];
#pragma unroll
                for (int r = 0; r < 8; ++r) lam[r] = 0.0f;
                for (int c = 0; c < D / 8; ++c) {
#pragma unroll
                    for (int r = 0; r < 8; ++r) {
                        lam[r] = __fmaf_rn(s_q[8 * c + r], kr[8 * c + r], lam[r]);
                    }
                }
                const float s = __fmul_rn(mycel_tree8(lam), scale);
                s_p[u] = s;
                if (s > mt) mt = s;
            }
        }
        // T2: tile max over the warp (exact), then the new running max
#pragma unroll
        for (int off = 16; off > 0; off >>= 1) {
            const float other = __shfl_xor_sync(full, mt, off);
            if (other > mt) mt = other;
        }
        const float m_new = (mt > m) ? mt : m;
        // T3: rescale
        const float alpha = mycel_expv(__fsub_rn(m, m_new));
        sigma = __fmul_rn(sigma, alpha);
#pragma unroll
        for (int j = 0; j < D / 32; ++j) o[j] = __fmul_rn(o[j], alpha);
        __syncwarp(full);
        // T4: weights, then the eight sum lanes in key order
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const u32 u = lane + 32u * h;
            if (u < nt) {
                s_p[u] = mycel_expv(__fsub_rn(s_p[u], m_new));
            }
        }
        __syncwarp(full);
        if (lane < 8) {
            for (u32 u = lane; u < nt; u += 8) {
                sigma = __fadd_rn(sigma, s_p[u]);
            }
        }
        // T5: values, keys in order
        for (u32 u = 0; u < nt; ++u) {
            const float p = s_p[u];
            const float* vr = v + (u64)(t0 + u) * D;
#pragma unroll
            for (int j = 0; j < D / 32; ++j) {
                o[j] = __fmaf_rn(p, vr[lane + 32 * j], o[j]);
            }
        }
        m = m_new;
        __syncwarp(full);
    }
    // F: l = tree8(sigma_0..7), correctly rounded division, canonical NaN
    float lam[8];
#pragma unroll
    for (int r = 0; r < 8; ++r) lam[r] = __shfl_sync(full, sigma, r);
    const float l = mycel_tree8(lam);
#pragma unroll
    for (int j = 0; j < D / 32; ++j) {
        out[lane + 32 * j] = mycel_canonical_nan(__fdiv_rn(o[j], l));
    }
}

extern "C" __global__ void __launch_bounds__(ATT_WARPS * 32)
mycel_attention_verifiable(const float* __restrict__ q, const float* __restrict__ k,
                           const float* __restrict__ v, float* __restrict__ out,
                           u32 n_heads, u32 group, u32 q_len, u32 kv_len, u32 d,
                           u32 causal, float scale) {
    __shared__ float s_q[ATT_WARPS][ATT_MAX_D];
    __shared__ float s_p[ATT_WARPS][ATT_TILE];
    const u32 warp = threadIdx.x >> 5;
    const u64 row = (u64)blockIdx.x * ATT_WARPS + warp;
    if (row >= (u64)n_heads * q_len) {
        return;  // warp-uniform
    }
    // rows ordered (kv head, position, head in group): warps of a block share K/V rows
    const u32 g = (u32)(row % group);
    const u64 rest = row / group;
    const u32 i = (u32)(rest % q_len);
    const u32 kvh = (u32)(rest / q_len);
    const u32 h = kvh * group + g;
    u32 n_valid = kv_len;
    if (causal) {
        n_valid = min(kv_len - q_len + i + 1, kv_len);
    }
    const u64 qo = ((u64)h * q_len + i) * d;
    const u64 kvo = (u64)kvh * kv_len * d;
    if (d == 64) {
        mycel_attention_row<64>(q + qo, k + kvo, v + kvo, out + qo, n_valid, scale,
                                s_q[warp], s_p[warp]);
    } else {
        mycel_attention_row<128>(q + qo, k + kvo, v + kvo, out + qo, n_valid, scale,
                                 s_q[warp], s_p[warp]);
    }
}

// Exact widening of binary16 / bfloat16 inputs to f32.
extern "C" __global__ void mycel_widen_f16(const u16* __restrict__ in, float* __restrict__ out, u64 n) {
    const u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = mycel_f16_to_f32(in[i]);
}

extern "C" __global__ void mycel_widen_bf16(const u16* __restrict__ in, float* __restrict__ out, u64 n) {
    const u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = __int_as_float((i32)((u32)in[i] << 16));
}

// ---------------------------------------------------------------------------------------------
// Fast mode (spec/kernels.md "Fast mode (not bit-specified)"): free to reorder, checked against
// verifiable mode with the spec's tolerance. FlashAttention-style on CUDA cores in f32 (a
// tensor-core version needs P rounded to f16/bf16, which breaks the spec's tolerance; see the
// "CUDA backend" section). A block owns FA_ROWS query rows of one KV head and streams K and V
// through shared memory in tiles of FA_KT keys, so each K/V element is read from memory once
// per FA_ROWS rows. Four threads share a row: thread `part` owns the float4 column chunks
// part, part + 4, ... of the query, of K/V and of the output; partial dot products are summed
// with two XOR shuffles. Online softmax in base 2 with exp2f.
//
// grid = (ceil(q_len * group / FA_ROWS), n_kv_heads), block = FA_ROWS * 4 threads.

#define FA_ROWS 32
#define FA_KT 32
#define FA_THREADS (FA_ROWS * 4)

template <int D>
__device__ __forceinline__ void mycel_attention_fast_d(const float* __restrict__ q,
                                                       const float* __restrict__ k,
                                                       const float* __restrict__ v,
                                                       float* __restrict__ out,
                                                       u32 group, u32 q_len, u32 kv_len,
                                                       u32 causal, float scale,
                                                       float (*s_k)[ATT_MAX_D],
                                                       float (*s_v)[ATT_MAX_D]) {
    constexpr int CH = D / 16;  // float4 chunks per thread

    const u32 tid = threadIdx.x;
    const u32 part = tid & 3u;
    const u32 rows_per_kv = q_len * group;
    const u32 kvh = blockIdx.y;
    const u32 r = blockIdx.x * FA_ROWS + tid / 4;
    const bool row_ok = r < rows_per_kv;
    const u32 rr = row_ok ? r : rows_per_kv - 1;  // out-of-range rows shadow the last one
    const u32 i = rr / group;
    const u32 h = kvh * group + rr % group;
    const u32 n_valid = causal ? min(kv_len - q_len + i + 1, kv_len) : kv_len;
    // the block's last row sees the most keys
    const u32 r_last = min(blockIdx.x * FA_ROWS + FA_ROWS, rows_per_kv) - 1;
    const u32 i_last = r_last / group;
    const u32 n_block = causal ? min(kv_len - q_len + i_last + 1, kv_len) : kv_len;

    const float* qr = q + ((u64)h * q_len + i) * D;
    const float* kb = k + (u64)kvh * kv_len * D;
    const float* vb = v + (u64)kvh * kv_len * D;
    const float log2e_scale = __fmul_rn(scale, 1.4426950408889634f);

    float4 qv[CH];
    float4 o[CH];
#pragma unroll
    for (int j = 0; j < CH; ++j) {
        qv[j] = ((const float4*)qr)[j * 4 + part];
        o[j] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    }
    const float neg_inf = __int_as_float((i32)0xff800000u);
    float m = neg_inf;  // running max of scores in log2 units
    float l = 0.0f;

    for (u32 t0 = 0; t0 < n_block; t0 += FA_KT) {
        const u32 nt = min((u32)FA_KT, n_block - t0);
        __syncthreads();
        for (u32 e = tid; e < FA_KT * (D / 4); e += FA_THREADS) {
            const u32 u = e / (D / 4);
            const u32 c4 = e % (D / 4);
            float4 kk = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            float4 vv = kk;
            if (u < nt) {
                kk = ((const float4*)(kb + (u64)(t0 + u) * D))[c4];
                vv = ((const float4*)(vb + (u64)(t0 + u) * D))[c4];
            }
            ((float4*)s_k[u])[c4] = kk;
            ((float4*)s_v[u])[c4] = vv;
        }
        __syncthreads();

        float s[FA_KT];
#pragma unroll
        for (int u = 0; u < FA_KT; ++u) {
            float acc = 0.0f;
#pragma unroll
            for (int j = 0; j < CH; ++j) {
                const float4 kk = ((const float4*)s_k[u])[j * 4 + part];
                acc = __fmaf_rn(qv[j].x, kk.x, acc);
                acc = __fmaf_rn(qv[j].y, kk.y, acc);
                acc = __fmaf_rn(qv[j].z, kk.z, acc);
                acc = __fmaf_rn(qv[j].w, kk.w, acc);
            }
            s[u] = acc;
        }
        float mt = neg_inf;
#pragma unroll
        for (int u = 0; u < FA_KT; ++u) {
            float x = s[u];
            x = __fadd_rn(x, __shfl_xor_sync(MYCEL_FULL_MASK, x, 1));
            x = __fadd_rn(x, __shfl_xor_sync(MYCEL_FULL_MASK, x, 2));
            x = (t0 + u < n_valid) ? __fmul_rn(x, log2e_scale) : neg_inf;
            s[u] = x;
            mt = fmaxf(mt, x);
        }
        const float m_new = fmaxf(m, mt);
        if (m_new == neg_inf) {
            continue;  // no visible key yet for this row (cannot happen for t0 = 0)
        }
        const float alpha = exp2f(__fsub_rn(m, m_new));
        l = __fmul_rn(l, alpha);
#pragma unroll
        for (int j = 0; j < CH; ++j) {
            o[j].x = __fmul_rn(o[j].x, alpha);
            o[j].y = __fmul_rn(o[j].y, alpha);
            o[j].z = __fmul_rn(o[j].z, alpha);
            o[j].w = __fmul_rn(o[j].w, alpha);
        }
#pragma unroll
        for (int u = 0; u < FA_KT; ++u) {
            const float p = exp2f(__fsub_rn(s[u], m_new));  // masked keys: exp2(-inf) = 0
            l = __fadd_rn(l, p);
#pragma unroll
            for (int j = 0; j < CH; ++j) {
                const float4 vv = ((const float4*)s_v[u])[j * 4 + part];
                o[j].x = __fmaf_rn(p, vv.x, o[j].x);
                o[j].y = __fmaf_rn(p, vv.y, o[j].y);
                o[j].z = __fmaf_rn(p, vv.z, o[j].z);
                o[j].w = __fmaf_rn(p, vv.w, o[j].w);
            }
        }
        m = m_new;
    }
    if (row_ok) {
        const float inv = __fdiv_rn(1.0f, l);
        float* orow = out + ((u64)h * q_len + i) * D;
#pragma unroll
        for (int j = 0; j < CH; ++j) {
            float4 y;
            y.x = mycel_canonical_nan(__fmul_rn(o[j].x, inv));
            y.y = mycel_canonical_nan(__fmul_rn(o[j].y, inv));
            y.z = mycel_canonical_nan(__fmul_rn(o[j].z, inv));
            y.w = mycel_canonical_nan(__fmul_rn(o[j].w, inv));
            ((float4*)orow)[j * 4 + part] = y;
        }
    }
}

extern "C" __global__ void __launch_bounds__(FA_THREADS)
mycel_attention_fast(const float* __restrict__ q, const float* __restrict__ k,
                     const float* __restrict__ v, float* __restrict__ out,
                     u32 group, u32 q_len, u32 kv_len, u32 d, u32 causal, float scale) {
    __shared__ __align__(16) float s_k[FA_KT][ATT_MAX_D];
    __shared__ __align__(16) float s_v[FA_KT][ATT_MAX_D];
    if (d == 64) {
        mycel_attention_fast_d<64>(q, k, v, out, group, q_len, kv_len, causal, scale, s_k, s_v);
    } else {
        mycel_attention_fast_d<128>(q, k, v, out, group, q_len, kv_len, causal, scale, s_k, s_v);
    }
}

// ---------------------------------------------------------------------------------------------
// Fast-mode decode (q_len = 1) with the keys split across blocks (flash-decoding): block
// (h, s) handles keys [s * FD_CHUNK, min((s + 1) * FD_CHUNK, kv_len)) of query head h and writes
// its partial max m_s (log2 units), sum l_s and unnormalised output o_s; a second kernel merges
// the splits of each head: M = max m_s, out = (sum o_s 2^(m_s - M)) / (sum l_s 2^(m_s - M)).
// Fast mode only: the merge order differs from the spec's sequential tiles.
//
// mycel_attention_decode_split: grid = (n_splits, n_heads), block = FD_THREADS.
// mycel_attention_decode_merge: grid = (n_heads), block = D threads.
// partial layout: [n_heads][n_splits][D + 2] floats (o_s[0..D], m_s, l_s).

#define FD_CHUNK 256
#define FD_THREADS 128

extern "C" __global__ void __launch_bounds__(FD_THREADS)
mycel_attention_decode_split(const float* __restrict__ q, const float* __restrict__ k,
                             const float* __restrict__ v, float* __restrict__ partial,
                             u32 group, u32 kv_len, u32 d, u32 n_splits, float scale) {
    __shared__ __align__(16) float s_q[ATT_MAX_D];
    __shared__ float s_p[FD_CHUNK];
    __shared__ float s_red[FD_THREADS / 32];
    const u32 tid = threadIdx.x;
    const u32 lane = tid & 31u;
    const u32 warp = tid >> 5;
    const u32 split = blockIdx.x;
    const u32 h = blockIdx.y;
    const u32 kvh = h / group;
    const u32 k0 = split * FD_CHUNK;
    const u32 nk = min((u32)FD_CHUNK, kv_len - k0);
    const float* kb = k + ((u64)kvh * kv_len + k0) * d;
    const float* vb = v + ((u64)kvh * kv_len + k0) * d;
    const float neg_inf = __int_as_float((i32)0xff800000u);
    const float log2e_scale = __fmul_rn(scale, 1.4426950408889634f);

    for (u32 c = tid; c < d; c += FD_THREADS) s_q[c] = q[(u64)h * d + c];
    __syncthreads();

    // scores: one key per thread per pass
    float mloc = neg_inf;
    for (u32 u = tid; u < FD_CHUNK; u += FD_THREADS) {
        float s = neg_inf;
        if (u < nk) {
            const float4* kr = (const float4*)(kb + (u64)u * d);
            float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
            for (u32 c4 = 0; c4 < d / 4; ++c4) {
                const float4 kk = kr[c4];
                const float4 qq = ((const float4*)s_q)[c4];
                a0 = __fmaf_rn(qq.x, kk.x, a0);
                a1 = __fmaf_rn(qq.y, kk.y, a1);
                a2 = __fmaf_rn(qq.z, kk.z, a2);
                a3 = __fmaf_rn(qq.w, kk.w, a3);
            }
            s = __fmul_rn(__fadd_rn(__fadd_rn(a0, a1), __fadd_rn(a2, a3)), log2e_scale);
        }
        s_p[u] = s;
        mloc = fmaxf(mloc, s);
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) mloc = fmaxf(mloc, __shfl_xor_sync(MYCEL_FULL_MASK, mloc, off));
    if (lane == 0) s_red[warp] = mloc;
    __syncthreads();
    float m = s_red[0];
    for (u32 w = 1; w < FD_THREADS / 32; ++w) m = fmaxf(m, s_red[w]);
    __syncthreads();  // everyone has read s_red before it is reused for the sum

    // weights and their sum
    float lloc = 0.0f;
    for (u32 u = tid; u < FD_CHUNK; u += FD_THREADS) {
        const float p = (u < nk) ? exp2f(__fsub_rn(s_p[u], m)) : 0.0f;
        s_p[u] = p;
        lloc = __fadd_rn(lloc, p);
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) lloc = __fadd_rn(lloc, __shfl_xor_sync(MYCEL_FULL_MASK, lloc, off));
    if (lane == 0) s_red[warp] = lloc;
    __syncthreads();

    float* pout = partial + ((u64)h * n_splits + split) * (d + 2);
    // values: one output column per thread, keys in order (coalesced rows of V)
    for (u32 c = tid; c < d; c += FD_THREADS) {
        float acc = 0.0f;
        for (u32 u = 0; u < nk; ++u) {
            acc = __fmaf_rn(s_p[u], vb[(u64)u * d + c], acc);
        }
        pout[c] = acc;
    }
    if (tid == 0) {
        float l = 0.0f;
        for (u32 w = 0; w < FD_THREADS / 32; ++w) l = __fadd_rn(l, s_red[w]);
        pout[d] = m;
        pout[d + 1] = l;
    }
}

extern "C" __global__ void mycel_attention_decode_merge(const float* __restrict__ partial,
                                                        float* __restrict__ out, u32 d,
                                                        u32 n_splits) {
    const u32 h = blockIdx.x;
    const u32 c = threadIdx.x;
    const float* ph = partial + (u64)h * n_splits * (d + 2);
    float mmax = __int_as_float((i32)0xff800000u);
    for (u32 s = 0; s < n_splits; ++s) mmax = fmaxf(mmax, ph[(u64)s * (d + 2) + d]);
    float l = 0.0f;
    float o = 0.0f;
    for (u32 s = 0; s < n_splits; ++s) {
        const float* p = ph + (u64)s * (d + 2);
        const float w = exp2f(__fsub_rn(p[d], mmax));
        l = __fmaf_rn(p[d + 1], w, l);
        o = __fmaf_rn(p[c], w, o);
    }
    if (c < d) {
        out[(u64)h * d + c] = mycel_canonical_nan(__fdiv_rn(o, l));
    }
}
