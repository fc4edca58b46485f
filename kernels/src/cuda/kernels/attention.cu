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
