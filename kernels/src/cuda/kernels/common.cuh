// mycel CUDA prelude: prepended to every kernel source before NVRTC compiles it.
//
// Determinism rules (spec/kernels.md, "CUDA backend"): every source is compiled with
// --fmad=false (no contraction of a*b+c into an FMA behind our back) and without fast math;
// every float operation whose rounding matters is written with an explicit round-to-nearest
// intrinsic (__fmul_rn, __fadd_rn, __fdiv_rn, __fmaf_rn). No headers are included: NVRTC
// needs none for what follows, so the sources compile the same with any CUDA 13 NVRTC.
// MYCEL_EMU is defined only by the host emulator (src/cuda/emu/emu.h), never by NVRTC.

typedef unsigned int u32;
typedef int i32;
typedef unsigned short u16;
typedef signed char i8;
typedef unsigned char u8;
typedef unsigned long long u64;

#define MYCEL_FULL_MASK 0xffffffffu
#define MYCEL_QK 32

// IEEE binary16 bits -> f32 (exact).
__device__ __forceinline__ float mycel_f16_to_f32(u16 h) {
#ifdef MYCEL_EMU
    return emu_f16_to_f32(h);
#else
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
#endif
}

// f32 -> IEEE binary16 bits, round to nearest even (the same as half::f16::from_f32).
__device__ __forceinline__ u16 mycel_f32_to_f16(float f) {
#ifdef MYCEL_EMU
    return emu_f32_to_f16(f);
#else
    u16 h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
#endif
}

// Q4_0 nibbles to signed bytes: the low nibbles of 4 packed bytes are elements j..j+3 (GGML
// order: low nibbles are elements 0..15 of the block, high nibbles 16..31); subtracting 8 from
// each byte with __vsub4 (per-byte, modulo 256) gives the values -8..7 as two's complement
// int8, ready for dp4a / int8 mma. Exact.
__device__ __forceinline__ i32 mycel_q4_lo(u32 v) {
    return (i32)__vsub4(v & 0x0f0f0f0fu, 0x08080808u);
}
__device__ __forceinline__ i32 mycel_q4_hi(u32 v) {
    return (i32)__vsub4((v >> 4) & 0x0f0f0f0fu, 0x08080808u);
}

// The canonical NaN every backend writes for a NaN output (0x7FC00000; CUDA's own arithmetic
// produces 0x7FFFFFFF). Only a weight scale that is an f16 infinity or NaN can lead here.
__device__ __forceinline__ float mycel_canonical_nan(float v) {
    return (v != v) ? __int_as_float(0x7fc00000) : v;
}

// int32 -> f32 for |v| < 2^22, exact, on the full-rate integer-add and float-add pipes instead
// of the slower conversion unit: 0x4B400000 is 1.5 * 2^23, so its bits plus v encode
// 1.5 * 2^23 + v exactly, and subtracting 1.5 * 2^23 is exact. Equal to __int2float_rn(v) for
// every such v (zero gives +0). A block's sumi satisfies |sumi| <= 32 * 128 * 127 < 2^22.
__device__ __forceinline__ float mycel_small_i2f(i32 v) {
    return __fsub_rn(__int_as_float(0x4B400000 + v), 12582912.0f);
}
