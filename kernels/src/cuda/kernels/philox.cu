// Philox4x32-10 input generation (spec/kernels.md §3, kernels/src/philox.rs): element i of a
// stream is u32_to_f32(word i % 4 of Philox block i / 4), with block j's counter
// (lo32(j), hi32(j), hi0, hi1) and the stream's key (k0, k1). The host derives the key and the
// counter-high words from the seed (SHA-256); the device only runs Philox and the mapping.
//
//   u32_to_f32(u) = ((u >> 8) - 2^23) * 2^-23     (exact in f32: no rounding anywhere)
//
// One thread per Philox block; elements [offset, offset + len) are written to out[0 .. len).

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

__device__ __forceinline__ uint4 mycel_philox4x32_10(uint4 c, u32 k0, u32 k1) {
#pragma unroll
    for (int r = 0; r < 10; ++r) {
        if (r > 0) {
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        const u32 hi0 = __umulhi(PHILOX_M0, c.x);
        const u32 lo0 = PHILOX_M0 * c.x;
        const u32 hi1 = __umulhi(PHILOX_M1, c.z);
        const u32 lo1 = PHILOX_M1 * c.z;
        c = make_uint4(hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0);
    }
    return c;
}

__device__ __forceinline__ float mycel_u32_to_f32(u32 u) {
    return __fmul_rn(__int2float_rn((i32)(u >> 8) - (1 << 23)), 1.1920928955078125e-07f);
}

extern "C" __global__ void mycel_philox_f32(float* __restrict__ out, u64 offset, u64 len,
                                            u32 k0, u32 k1, u32 hi0, u32 hi1) {
    if (len == 0) {
        return;
    }
    const u64 first = offset / 4;
    const u64 j = first + (u64)blockIdx.x * blockDim.x + threadIdx.x;
    const u64 end = offset + len;  // exclusive; the host keeps it below 2^62
    if (j > (end - 1) / 4) {
        return;
    }
    const uint4 w = mycel_philox4x32_10(make_uint4((u32)j, (u32)(j >> 32), hi0, hi1), k0, k1);
    const u32 words[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
    for (u32 e = 0; e < 4; ++e) {
        const u64 i = j * 4 + e;
        if (i >= offset && i < end) {
            out[i - offset] = mycel_u32_to_f32(words[e]);
        }
    }
}
